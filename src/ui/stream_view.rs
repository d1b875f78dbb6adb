//! The task view: one session's picture with its state overlay, toolbar and status line.
//!
//! Each frame [`TaskView::ui`] drains the session's events (keeping the latest state), takes
//! what changed from the [`FrameSlot`](crate::core::frame::FrameSlot) and uploads it to one
//! egui texture — the whole picture on the first frame or a resize, then `set_partial` per
//! dirty rectangle — and draws it fitted or at 1:1 with the locally drawn cursor on top.
//! Nothing here repaints on its own except the once-a-second rate refresh while traffic is
//! shown: the core's waker repaints when something new arrives, so an idle view costs nothing.

use std::sync::Arc;
use std::time::Duration;

use eframe::glow;

use egui::{
    Align, CentralPanel, Color32, ColorImage, Context, Frame, Key, KeyboardShortcut, LayerId,
    Layout, Margin, Modifiers, Order, Painter, Panel, Rect, RichText, ScrollArea, Sense,
    TextureHandle, TextureOptions, Ui, pos2,
};

use super::audio::Speaker;
use super::control::{self, Availability, Control};
use super::layout::{self, Placement, ScaleMode};
use super::overlay::{self, OverlayText};
use super::picture::gl::GlPicture;
use super::picture::x11::{self as x11_present, Presenter};
use super::rates::{self, RateMeter};
use super::theme;
use crate::core::event::{
    Command, InputAccess, PictureFormat, SessionEvent, SessionState, StatsSample,
};
use crate::core::frame::{self, CursorShape, FrameView, Framebuffer};
use crate::core::session::SessionHandle;
use crate::core::source::rfb;

/// Switches between Fit and 1:1.
pub const SCALE_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Num1);
/// Sends Retry when the session has failed, ended or is backing off.
pub const RETRY_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
/// Jump to live (video streams).
pub const LIVE_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::L);

/// The whole texture, in texture coordinates.
const FULL_UV: Rect = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));

/// The remote picture as uploaded to the GPU.
struct Picture {
    texture: PictureTexture,
    size: [u32; 2],
    fit: TextureFit,
}

impl Picture {
    /// True when the texture holds the picture as `wanted` asks.
    fn fits(&self, wanted: TextureFit) -> bool {
        match &self.texture {
            PictureTexture::Gl(gl) => {
                self.fit.options == wanted.options && gl.shown_at() == wanted.shown_at
            }
            PictureTexture::Egui(_) => self.fit.options == wanted.options,
        }
    }
}

/// Where the picture lives: our own GL texture drawn by a paint callback when the window
/// renders with glow, else an egui texture (wgpu, UI tests).
enum PictureTexture {
    Gl(Box<GlPicture>),
    Egui(TextureHandle),
}

impl PictureTexture {
    fn upload_rect(&mut self, fb: &Framebuffer, r: frame::Rect, options: TextureOptions) {
        match self {
            PictureTexture::Gl(gl) => gl.upload_rect(fb, r),
            PictureTexture::Egui(texture) => {
                let pos = [r.x as usize, r.y as usize];
                texture.set_partial(pos, color_image(fb, r), options);
            }
        }
    }

    fn upload_whole(&mut self, fb: &Framebuffer, fit: TextureFit) {
        let TextureFit { options, shown_at } = fit;
        match self {
            PictureTexture::Gl(gl) => gl.upload_whole(fb, is_linear(options), shown_at),
            PictureTexture::Egui(texture) => {
                texture.set(color_image(fb, fb.full_rect()), options);
            }
        }
    }

    fn paint(&self, painter: &Painter, rect: Rect) {
        match self {
            PictureTexture::Gl(gl) => {
                painter.add(gl.paint_callback(rect));
            }
            PictureTexture::Egui(texture) => {
                painter.image(texture.id(), rect, FULL_UV, Color32::WHITE);
            }
        }
    }
}

/// How the texture should hold the picture for where it is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TextureFit {
    options: TextureOptions,
    /// The physical size the picture is drawn at, when smaller than the picture. Only the
    /// GL path uses it: it then keeps the picture averaged down to that size.
    shown_at: Option<[u32; 2]>,
}

impl TextureFit {
    fn for_placement(placement: &Placement, pixels_per_point: f32) -> Self {
        Self {
            options: layout::texture_options(placement.pixel_scale),
            shown_at: placement.downscaled_px(pixels_per_point),
        }
    }
}

fn is_linear(options: TextureOptions) -> bool {
    options.magnification == egui::TextureFilter::Linear
}

/// The remote cursor image, drawn over the picture at the pointer.
struct CursorImage {
    texture: TextureHandle,
    size: [u32; 2],
    hotspot: [u32; 2],
}

/// One session on screen: owns its [`SessionHandle`].
pub struct TaskView {
    handle: SessionHandle,
    state: SessionState,
    scale: ScaleMode,
    picture: Option<Picture>,
    /// A picture we cannot upload: bigger than the GPU's largest texture.
    too_large: Option<[u32; 2]>,
    cursor: Option<CursorImage>,
    pointer: Option<(u32, u32)>,
    rates: RateMeter,
    /// The picture area of the last frame, to choose filtering before the next upload.
    last_area: Option<Rect>,
    /// The window's GL context when it renders with glow: the picture is then drawn
    /// directly ([`GlPicture`]).
    gl: Option<Arc<glow::Context>>,
    /// Frames drawn and updates received since `since_s`, logged at debug level every few
    /// seconds (`LOOKOUT_LOG=lookout=debug`) to see how many repaints an update costs.
    frame_log: FrameLog,
    /// View-only or interactive, and the input translation.
    control: Control,
    /// Where the picture was drawn last frame and its size: input maps through it.
    last_placement: Option<(Placement, [u32; 2])>,
    /// Text the remote put on its clipboard (RFB ServerCutText), until copied or replaced.
    remote_clipboard: Option<String>,
    /// The page the remote browser shows, when the source says (already redacted).
    page_url: Option<String>,
    /// The stream's sound output, for sources with sound.
    speaker: Option<Arc<Speaker>>,
    /// Puts the picture straight into an X11 child window when it can
    /// ([`x11_present`]); the view then neither takes nor draws the pictures.
    presenter: Option<Presenter>,
    /// This frame's picture, when the presenter may show it: checked against egui's other
    /// layers once the whole window is built ([`TaskView::finish`]).
    candidate: Option<Candidate>,
}

/// Where the presenter would show the picture this frame.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    placement: Placement,
    px: x11_present::Placement,
    layer: LayerId,
}

#[derive(Debug, Default)]
struct FrameLog {
    since_s: f64,
    frames: u64,
    updates_before: u64,
}

impl FrameLog {
    const EVERY_S: f64 = 5.0;

    fn frame(&mut self, now_s: f64, updates: u64) {
        self.frames += 1;
        if now_s - self.since_s >= Self::EVERY_S {
            tracing::debug!(
                frames = self.frames,
                updates = updates.saturating_sub(self.updates_before),
                secs = format_args!("{:.1}", now_s - self.since_s),
                "frames drawn"
            );
            *self = Self {
                since_s: now_s,
                frames: 0,
                updates_before: updates,
            };
        }
    }
}

impl std::fmt::Debug for TaskView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskView")
            .field("label", &self.handle.label())
            .field("state", &self.state)
            .field("scale", &self.scale)
            .field("picture", &self.picture_size())
            .finish_non_exhaustive()
    }
}

impl TaskView {
    pub fn new(handle: SessionHandle) -> Self {
        Self {
            handle,
            state: SessionState::Loading,
            scale: ScaleMode::default(),
            picture: None,
            too_large: None,
            cursor: None,
            pointer: None,
            rates: RateMeter::default(),
            last_area: None,
            gl: None,
            frame_log: FrameLog::default(),
            control: Control::default(),
            last_placement: None,
            remote_clipboard: None,
            page_url: None,
            speaker: None,
            presenter: None,
            candidate: None,
        }
    }

    /// Lets the view present its pictures through X11 when it can ([`x11_present`]).
    pub fn with_presenter(mut self, presenter: Option<Presenter>) -> Self {
        self.presenter = presenter;
        self
    }

    /// True while the X11 presenter shows the pictures instead of this view.
    pub fn is_presenting(&self) -> bool {
        self.presenter
            .as_ref()
            .is_some_and(Presenter::is_presenting)
    }

    /// Takes the pictures back from the presenter: uploads the whole current picture and
    /// cursor, and repaints.
    fn stop_presenting(&mut self, ctx: &Context) {
        let Some(presenter) = &mut self.presenter else {
            return;
        };
        if !presenter.is_presenting() {
            return;
        }
        presenter.place(None);
        let max_side = ctx.input(|i| i.max_texture_side);
        let slot = self.handle.frames().clone();
        slot.take_all(|view| self.upload(ctx, &view, max_side));
        ctx.request_repaint();
    }

    /// Called once the whole window is built: hands the picture to the presenter when
    /// nothing of egui's lies over it, or takes it back (and draws it) when something does.
    pub fn finish(&mut self, ctx: &Context) {
        let Some(c) = self.candidate.take() else {
            return;
        };
        if covered(ctx, c.placement.rect, c.layer) {
            if self.is_presenting() {
                self.stop_presenting(ctx);
                let painter = ctx.layer_painter(c.layer);
                self.paint(&painter, &c.placement, false);
            }
        } else if let Some(presenter) = &mut self.presenter {
            presenter.place(Some(c.px));
        }
    }

    /// Gives the view the speaker its session plays sound on (mute and volume controls).
    pub fn with_speaker(mut self, speaker: Option<Arc<Speaker>>) -> Self {
        self.speaker = speaker;
        self
    }

    /// Whether the picture is a video stream that can fall behind live.
    fn is_video(&self, sample: &StatsSample) -> bool {
        sample.picture_format == Some(PictureFormat::H264)
    }

    /// Skips to the newest picture the stream allows.
    pub fn jump_to_live(&self) {
        self.handle.send(Command::JumpToLive);
    }

    /// True while the operator has control (input goes to the remote).
    pub fn is_interactive(&self) -> bool {
        self.control.is_interactive()
    }

    /// Whether control can be taken now, and if not, why.
    pub fn availability(&self) -> Availability {
        match &self.state {
            SessionState::Live(info) => match &info.input {
                InputAccess::Allowed => Availability::Available,
                InputAccess::Refused(why) => Availability::Disabled(why.clone()),
            },
            _ => Availability::NotLive,
        }
    }

    /// Switches to interactive mode, if the session takes input.
    pub fn take_control(&mut self, ctx: &Context) {
        if self.availability() == Availability::Available {
            self.control.take();
            // Ctrl+plus/minus belong to the remote now.
            ctx.options_mut(|o| o.zoom_with_keyboard = false);
        }
    }

    /// Back to view-only, letting go of every key and button held on the remote.
    pub fn release_control(&mut self, ctx: &Context) {
        for ev in self.control.release() {
            self.handle.send(Command::Input(ev));
        }
        ctx.options_mut(|o| o.zoom_with_keyboard = true);
    }

    /// The text the remote last put on its clipboard, if any.
    pub fn remote_clipboard(&self) -> Option<&str> {
        self.remote_clipboard.as_deref()
    }

    /// Draws the picture directly with this GL context (the window's, current while the
    /// UI is built) instead of through an egui texture.
    pub fn with_gl(mut self, gl: Option<Arc<glow::Context>>) -> Self {
        self.gl = gl;
        self
    }

    pub fn with_scale(mut self, scale: ScaleMode) -> Self {
        self.scale = scale;
        self
    }

    pub fn scale(&self) -> ScaleMode {
        self.scale
    }

    pub fn set_scale(&mut self, scale: ScaleMode) {
        self.scale = scale;
    }

    /// The latest state the core reported.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// The session's label (secrets already hidden).
    pub fn label(&self) -> &str {
        self.handle.label()
    }

    /// The size of the picture on screen, in remote pixels.
    pub fn picture_size(&self) -> Option<[u32; 2]> {
        if self.is_presenting() {
            return self.handle.frames().size();
        }
        self.picture.as_ref().map(|p| p.size)
    }

    /// Asks the core to end the session (the window is closing).
    pub fn stop(&self) {
        self.handle.send(Command::Stop);
    }

    /// Draws the view into `ui`: toolbar on top, status line at the bottom, picture between.
    pub fn ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        while let Some(event) = self.handle.try_recv_event() {
            match event {
                SessionEvent::State(state) => self.state = state,
                SessionEvent::Bell => {}
                SessionEvent::RemoteClipboard(text) => self.remote_clipboard = Some(text),
                SessionEvent::PageUrl(url) => self.page_url = Some(url),
                SessionEvent::AnswerSent { .. } | SessionEvent::AnswerFailed { .. } => {}
            }
        }
        if self.presenter.as_ref().is_some_and(|p| !p.is_working()) {
            self.stop_presenting(&ctx);
            self.presenter = None;
        }
        if let Some(presenter) = &self.presenter {
            presenter.ui_drew();
        }
        if !self.is_presenting() {
            self.pull_frames(&ctx);
        }
        if self.control.is_interactive() && self.availability() != Availability::Available {
            self.release_control(&ctx);
        }
        if ui.input_mut(|i| i.consume_shortcut(&control::CONTROL_SHORTCUT)) {
            if self.control.is_interactive() {
                self.release_control(&ctx);
            } else {
                self.take_control(&ctx);
            }
        }
        if self.control.is_interactive() {
            self.forward_input(ui);
        } else {
            if ui.input_mut(|i| i.consume_shortcut(&SCALE_SHORTCUT)) {
                self.scale = self.scale.toggled();
            }
            if self.can_retry() && ui.input_mut(|i| i.consume_shortcut(&RETRY_SHORTCUT)) {
                self.handle.send(Command::Retry);
            }
        }

        let now_s = ui.input(|i| i.time);
        let sample = self.handle.stats().sample();
        self.rates.observe(now_s, sample);
        self.frame_log.frame(now_s, sample.updates);
        if let Some(wait_s) = self.rates.next_reading_in_s(now_s, &sample) {
            ctx.request_repaint_after(
                Duration::try_from_secs_f64(wait_s).unwrap_or(Duration::from_secs(1)),
            );
        }
        // "Behind live" keeps counting while a video stream stalls.
        if self.is_video(&sample) && matches!(self.state, SessionState::Live(_)) {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        if self.is_video(&sample) && ui.input_mut(|i| i.consume_shortcut(&LIVE_SHORTCUT)) {
            self.jump_to_live();
        }

        let bar = Frame::new()
            .fill(theme::CHROME)
            .inner_margin(Margin::symmetric(10, 5));
        Panel::top("lookout_toolbar")
            .frame(bar)
            .show(ui, |ui| self.toolbar_ui(ui, &sample));
        if self.control.is_interactive() {
            let banner = Frame::new()
                .fill(theme::CONTROL)
                .inner_margin(Margin::symmetric(10, 4));
            Panel::top("lookout_control_banner")
                .frame(banner)
                .show(ui, |ui| {
                    let key = ui.ctx().format_shortcut(&control::CONTROL_SHORTCUT);
                    ui.label(
                        RichText::new(format!(
                            "You are in control: clicks and keys go to the remote. \
                             Release: {key}, or hold Esc."
                        ))
                        .color(theme::ON_CONTROL)
                        .strong(),
                    );
                });
        }
        Panel::bottom("lookout_status")
            .frame(bar)
            .show(ui, |ui| self.status_ui(ui, &sample));
        // No fill: the window's clear colour is the backdrop (`ViewerApp::clear_color`), so
        // software GL does not shade every pixel under the picture twice.
        CentralPanel::no_frame().show(ui, |ui| self.picture_ui(ui));
    }

    /// Interactive mode: sends this frame's input, mapped through last frame's placement
    /// (what the operator saw when they acted), and keeps keys away from our own widgets.
    fn forward_input(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let (events, modifiers, now) = ui.input(|i| (i.events.clone(), i.modifiers, i.time));
        let picture = self.last_placement.as_ref().map(|(p, size)| (p, *size));
        let t = self
            .control
            .translate(&events, modifiers, picture, ctx.pixels_per_point(), now);
        for ev in t.input {
            self.handle.send(Command::Input(ev));
        }
        if let Some(text) = t.paste {
            self.handle.send(Command::PasteText(text));
        }
        if t.released {
            ctx.options_mut(|o| o.zoom_with_keyboard = true);
            return;
        }
        if let Some(since) = self.control.escape_pending() {
            let left = (since + control::ESCAPE_HOLD_S - now).max(0.0);
            ctx.request_repaint_after(Duration::from_secs_f64(left + 0.01));
        }
        // Keys typed for the remote must not also press a focused button or move focus.
        ui.input_mut(|i| {
            i.events.retain(|e| {
                !matches!(
                    e,
                    egui::Event::Key { .. }
                        | egui::Event::Text(_)
                        | egui::Event::Copy
                        | egui::Event::Cut
                        | egui::Event::Paste(_)
                )
            });
        });
        if let Some(id) = ctx.memory(|m| m.focused()) {
            ctx.memory_mut(|m| m.surrender_focus(id));
        }
    }

    fn can_retry(&self) -> bool {
        self.state.is_final() || matches!(self.state, SessionState::Reconnecting { .. })
    }

    /// Uploads whatever the source published since the last frame.
    fn pull_frames(&mut self, ctx: &Context) {
        let max_side = ctx.input(|i| i.max_texture_side);
        let slot = self.handle.frames().clone();
        slot.take(|view| self.upload(ctx, &view, max_side));
    }

    fn upload(&mut self, ctx: &Context, view: &FrameView<'_>, max_side: usize) {
        let fb = view.frame;
        let size = [fb.width(), fb.height()];
        if let Some(cursor) = view.cursor {
            self.cursor = cursor.and_then(|c| cursor_image(ctx, c, max_side));
        }
        self.pointer = view.pointer;

        if size.iter().any(|&side| side as usize > max_side) {
            self.picture = None;
            self.too_large = Some(size);
            return;
        }
        self.too_large = None;
        match &mut self.picture {
            Some(pic) if !view.resized && pic.size == size => {
                for r in view.dirty {
                    if !r.is_empty() && fb.check_rect(*r).is_ok() {
                        pic.texture.upload_rect(fb, *r, pic.fit.options);
                    }
                }
            }
            _ => {
                let fit = self.fit_for(size, ctx.pixels_per_point());
                self.upload_whole(ctx, fb, fit);
            }
        }
    }

    /// Replaces the texture's content and filtering with the whole of `fb`.
    fn upload_whole(&mut self, ctx: &Context, fb: &Framebuffer, fit: TextureFit) {
        let size = [fb.width(), fb.height()];
        if let Some(pic) = &mut self.picture {
            pic.texture.upload_whole(fb, fit);
            pic.size = size;
            pic.fit = fit;
            return;
        }
        let options = fit.options;
        let gl_picture = self.gl.clone().and_then(|gl| {
            GlPicture::new(gl, fb, is_linear(options), fit.shown_at)
                .inspect_err(|err| {
                    tracing::warn!("drawing the picture through egui instead: {err}");
                    // Do not try again for every picture.
                    self.gl = None;
                })
                .ok()
        });
        let texture = match gl_picture {
            Some(gl) => PictureTexture::Gl(Box::new(gl)),
            None => PictureTexture::Egui(ctx.load_texture(
                "lookout-picture",
                color_image(fb, fb.full_rect()),
                options,
            )),
        };
        self.picture = Some(Picture { texture, size, fit });
    }

    /// How the picture will want its texture where it was last drawn.
    fn fit_for(&self, size: [u32; 2], pixels_per_point: f32) -> TextureFit {
        match (self.scale, self.last_area) {
            (ScaleMode::OneToOne, _) | (ScaleMode::Fit, None) => TextureFit {
                options: layout::texture_options(1.0),
                shown_at: None,
            },
            (ScaleMode::Fit, Some(area)) => TextureFit::for_placement(
                &layout::fit(area, size, pixels_per_point),
                pixels_per_point,
            ),
        }
    }

    /// Re-uploads the picture when where it is drawn calls for other filtering or another
    /// resampled size (on a mode switch or a window resize).
    fn refilter(&mut self, ctx: &Context, placement: &Placement) {
        let wanted = TextureFit::for_placement(placement, ctx.pixels_per_point());
        if self.picture.as_ref().is_some_and(|p| !p.fits(wanted))
            && let Some(fb) = self.handle.frames().snapshot()
        {
            self.upload_whole(ctx, &fb, wanted);
        }
    }

    fn toolbar_ui(&mut self, ui: &mut Ui, sample: &StatsSample) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Lookout").strong().color(theme::TEXT));
            ui.add_space(8.0);
            let tip = format!(
                "Toggle Fit / 1:1 ({})",
                ui.ctx().format_shortcut(&SCALE_SHORTCUT)
            );
            ui.scope(|ui| {
                ui.spacing_mut().item_spacing.x = 2.0;
                for mode in [ScaleMode::Fit, ScaleMode::OneToOne] {
                    let picked = ui
                        .selectable_label(self.scale == mode, mode.label())
                        .on_hover_text(&tip);
                    if picked.clicked() {
                        self.scale = mode;
                    }
                }
            });
            ui.add_space(8.0);
            self.control_button(ui);
            self.clipboard_menu(ui);
            self.sound_controls(ui);
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if self.is_video(sample) && matches!(self.state, SessionState::Live(_)) {
                    let tip = format!(
                        "Skip to the newest picture the stream has ({})",
                        ui.ctx().format_shortcut(&LIVE_SHORTCUT)
                    );
                    if ui.button("Jump to live").on_hover_text(tip).clicked() {
                        self.jump_to_live();
                    }
                }
                if self.can_retry() {
                    let tip = format!(
                        "Connect again now ({})",
                        ui.ctx().format_shortcut(&RETRY_SHORTCUT)
                    );
                    if ui.button("Reconnect").on_hover_text(tip).clicked() {
                        self.handle.send(Command::Retry);
                    }
                }
            });
        });
    }

    /// Mute and volume, for a stream with sound.
    fn sound_controls(&mut self, ui: &mut Ui) {
        let Some(speaker) = &self.speaker else { return };
        ui.add_space(8.0);
        if !speaker.has_output() {
            ui.add_enabled(false, egui::Button::new("No sound"))
                .on_disabled_hover_text("No sound output device: the picture plays silently");
            return;
        }
        let muted = speaker.is_muted();
        let (label, tip) = if muted {
            ("Muted", "Turn the sound on")
        } else {
            ("Sound", "Mute")
        };
        if ui
            .selectable_label(!muted, label)
            .on_hover_text(tip)
            .clicked()
        {
            speaker.set_muted(!muted);
        }
        let mut volume = speaker.volume() * 100.0;
        let slider = egui::Slider::new(&mut volume, 0.0..=100.0)
            .show_value(false)
            .trailing_fill(true);
        let changed = ui
            .add_enabled(!muted, slider)
            .on_hover_text(format!("Volume {volume:.0} %"))
            .changed();
        if changed {
            speaker.set_volume(volume / 100.0);
        }
    }

    /// "Take control" / "Release control", disabled (saying why) when input cannot be sent.
    fn control_button(&mut self, ui: &mut Ui) {
        let key = ui.ctx().format_shortcut(&control::CONTROL_SHORTCUT);
        if self.control.is_interactive() {
            let button =
                egui::Button::new(RichText::new("Release control").color(theme::ON_CONTROL))
                    .fill(theme::CONTROL);
            if ui
                .add(button)
                .on_hover_text(format!("Back to view-only ({key}, or hold Esc)"))
                .clicked()
            {
                self.release_control(ui.ctx());
            }
            return;
        }
        let availability = self.availability();
        let response = ui
            .add_enabled(
                availability == Availability::Available,
                egui::Button::new("Take control"),
            )
            .on_hover_text(format!(
                "Send your mouse, keyboard and touch to the remote ({key})"
            ));
        let response = match &availability {
            Availability::Available => response,
            Availability::NotLive => {
                response.on_disabled_hover_text("Control can be taken once the stream is live")
            }
            Availability::Disabled(why) => response.on_disabled_hover_text(why.as_str()),
        };
        if response.clicked() {
            self.take_control(ui.ctx());
        }
    }

    /// Copy what the remote copied; paste the local clipboard to the remote. Never
    /// automatic: each is one click.
    fn clipboard_menu(&mut self, ui: &mut Ui) {
        ui.menu_button("Clipboard", |ui| {
            let remote = self.remote_clipboard.clone();
            let copy = ui
                .add_enabled(remote.is_some(), egui::Button::new("Copy remote text"))
                .on_hover_text("Put the text the remote copied on this computer's clipboard")
                .on_disabled_hover_text("The remote has not copied any text");
            if copy.clicked()
                && let Some(text) = remote
            {
                ui.ctx().copy_text(text);
                ui.close();
            }
            let paste = ui
                .add_enabled(
                    self.control.is_interactive(),
                    egui::Button::new("Paste to remote"),
                )
                .on_hover_text("Send this computer's clipboard text to the remote")
                .on_disabled_hover_text("Take control first");
            if paste.clicked() {
                self.control.request_paste();
                ui.ctx()
                    .send_viewport_cmd(egui::ViewportCommand::RequestPaste);
                ui.close();
            }
        });
    }

    fn status_ui(&self, ui: &mut Ui, sample: &StatsSample) {
        ui.horizontal(|ui| {
            let (dot, _) = ui.allocate_exact_size(egui::vec2(8.0, 14.0), Sense::hover());
            ui.painter()
                .circle_filled(dot.center(), 3.5, theme::state_color(&self.state));
            ui.label(RichText::new(self.state.label()).color(theme::TEXT));
            ui.label(RichText::new(self.handle.label()).color(theme::TEXT_WEAK));
            if let Some(url) = &self.page_url {
                let shown: String = url.chars().take(96).collect();
                ui.label(RichText::new(shown).color(theme::TEXT))
                    .on_hover_text(url.as_str());
            }
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                let weak = |text: String| RichText::new(text).color(theme::TEXT_WEAK);
                if sample.skipped > 0 {
                    ui.label(
                        RichText::new(format!("{} bad frames skipped", sample.skipped))
                            .color(theme::WARN),
                    );
                }
                if let Some(format) = sample.picture_format {
                    ui.label(weak(format.name().to_owned()));
                } else if let Some(id) = sample.last_encoding {
                    let name = match rfb::encoding_name(id) {
                        "unknown" => format!("encoding {id}"),
                        known => known.to_owned(),
                    };
                    ui.label(weak(name));
                }
                ui.label(weak(rates::format_bandwidth(self.rates.bytes_per_s())));
                ui.label(weak(rates::format_update_rate(self.rates.updates_per_s())));
                match sample.captured_ms {
                    Some(captured) if self.is_video(sample) => {
                        let behind = format_behind(captured);
                        let late = behind.1 > LATE_BEHIND_MS;
                        let text = RichText::new(behind.0).color(if late {
                            theme::WARN
                        } else {
                            theme::TEXT_WEAK
                        });
                        ui.label(text).on_hover_text(
                            "How long ago the picture shown was captured: the stream's delay",
                        );
                    }
                    Some(captured) => {
                        ui.label(weak(format_age(captured)));
                    }
                    None => {}
                }
                if let Some([w, h]) = self.remote_size() {
                    ui.label(RichText::new(format!("{w}×{h}")).color(theme::TEXT));
                }
            });
        });
    }

    /// The remote picture size: what we hold, or else what the core announced.
    fn remote_size(&self) -> Option<[u32; 2]> {
        self.picture_size()
            .or(self.too_large)
            .or(match &self.state {
                SessionState::Live(info) => Some([info.width, info.height]),
                _ => None,
            })
    }

    fn picture_ui(&mut self, ui: &mut Ui) {
        let area = ui.max_rect();
        self.last_area = Some(area);
        self.candidate = None;
        let overlay = overlay::for_state(&self.state).or_else(|| self.too_large_text(ui.ctx()));
        let dimmed = overlay.is_some();
        let ppp = ui.pixels_per_point();
        if let Some(size) = self.picture_size() {
            match self.scale {
                ScaleMode::Fit => {
                    let placement = layout::fit(area, size, ppp);
                    ui.allocate_rect(area, Sense::hover());
                    self.show_picture(ui, placement, size, dimmed, true);
                }
                ScaleMode::OneToOne => {
                    // In control the wheel scrolls the remote, not this view.
                    let source = if self.control.is_interactive() {
                        egui::scroll_area::ScrollSource {
                            mouse_wheel: false,
                            drag: egui::scroll_area::DragScroll::Never,
                            ..Default::default()
                        }
                    } else {
                        egui::scroll_area::ScrollSource::default()
                    };
                    ScrollArea::both()
                        .auto_shrink(false)
                        .scroll_source(source)
                        .show(ui, |ui| {
                            let content =
                                layout::one_to_one_size(size, ppp).max(ui.available_size());
                            let (rect, _) = ui.allocate_exact_size(content, Sense::hover());
                            let placement = layout::one_to_one(rect, size, ppp);
                            // Presented only while no part of it is scrolled out of view.
                            let whole = ui.clip_rect().contains_rect(placement.rect);
                            self.show_picture(ui, placement, size, dimmed, whole);
                        });
                }
            }
            if self.control.is_interactive() {
                // The coloured frame: in control, the whole time.
                ui.painter().rect_stroke(
                    area.shrink(1.0),
                    0.0,
                    egui::Stroke::new(2.0, theme::CONTROL),
                    egui::StrokeKind::Inside,
                );
                if self.cursor.is_some() && ui.rect_contains_pointer(area) {
                    // The remote's cursor is drawn where the pointer is: one cursor, not two.
                    ui.ctx().set_cursor_icon(egui::CursorIcon::None);
                }
            }
        } else if overlay.is_none() {
            ui.painter().text(
                area.center(),
                egui::Align2::CENTER_CENTER,
                "Waiting for the first picture…",
                egui::FontId::proportional(14.0),
                theme::TEXT_WEAK,
            );
        }
        if let Some(text) = overlay
            && overlay::overlay_ui(ui, area, &text)
        {
            self.handle.send(Command::Retry);
        }
    }

    /// Shows the picture at `placement`: offers it to the presenter when `in_view` (nothing
    /// of it scrolled away) and it qualifies, else takes it back and paints it with GL.
    fn show_picture(
        &mut self,
        ui: &Ui,
        placement: Placement,
        size: [u32; 2],
        dimmed: bool,
        in_view: bool,
    ) {
        let ppp = ui.pixels_per_point();
        self.candidate = in_view
            .then(|| self.presentable(&placement, size, dimmed, ppp))
            .flatten()
            .map(|px| Candidate {
                placement,
                px,
                layer: ui.layer_id(),
            });
        if self.candidate.is_none() {
            self.stop_presenting(ui.ctx());
        }
        if !self.is_presenting() {
            self.refilter(ui.ctx(), &placement);
            self.paint(ui.painter(), &placement, dimmed);
        }
        self.last_placement = Some((placement, size));
    }

    /// Where the presenter may show the picture, in physical pixels: only a whole picture,
    /// at or below its size, not dimmed, not in control.
    fn presentable(
        &self,
        placement: &Placement,
        size: [u32; 2],
        dimmed: bool,
        ppp: f32,
    ) -> Option<x11_present::Placement> {
        let working = self.presenter.as_ref().is_some_and(Presenter::is_working);
        if !working || dimmed || self.control.is_interactive() || self.too_large.is_some() {
            return None;
        }
        let r = placement.rect;
        let px = |v: f32| (v * ppp).round();
        let (w, h) = (px(r.width()), px(r.height()));
        let fits = w >= 1.0 && h >= 1.0 && w <= size[0] as f32 && h <= size[1] as f32;
        fits.then(|| x11_present::Placement {
            x: px(r.min.x) as i32,
            y: px(r.min.y) as i32,
            width: w as u32,
            height: h as u32,
        })
    }

    fn too_large_text(&self, ctx: &Context) -> Option<OverlayText> {
        let [w, h] = self.too_large?;
        let max_side = ctx.input(|i| i.max_texture_side);
        Some(OverlayText {
            title: format!("The picture is {w}×{h}, larger than this GPU can show"),
            detail: Some(format!(
                "The largest texture here is {max_side} pixels on a side."
            )),
            retry: false,
            accent: theme::ERROR,
        })
    }

    /// Paints the picture, then either the dimming under an overlay or the cursor.
    fn paint(&self, painter: &Painter, placement: &Placement, dimmed: bool) {
        let Some(pic) = &self.picture else { return };
        pic.texture.paint(painter, placement.rect);
        if dimmed {
            painter.rect_filled(placement.rect, 0.0, theme::DIM);
            return;
        }
        // In control, the cursor follows what we sent: the server does not echo it back.
        let pointer = match self.control.last_pointer() {
            Some(at) if self.control.is_interactive() => Some((at.x, at.y)),
            _ => self.pointer,
        };
        if let (Some(cursor), Some((x, y))) = (&self.cursor, pointer) {
            let left = x as f32 - cursor.hotspot[0] as f32;
            let top = y as f32 - cursor.hotspot[1] as f32;
            let min = placement.to_view(pic.size, left, top);
            let max = placement.to_view(
                pic.size,
                left + cursor.size[0] as f32,
                top + cursor.size[1] as f32,
            );
            painter.with_clip_rect(placement.rect).image(
                cursor.texture.id(),
                Rect::from_min_max(min, max),
                FULL_UV,
                Color32::WHITE,
            );
        }
    }
}

/// True when a layer other than `own` (a menu, a tooltip, a window) is shown over `rect`.
fn covered(ctx: &Context, rect: Rect, own: LayerId) -> bool {
    let layers = ctx.memory(|m| m.areas().visible_layer_ids());
    layers.into_iter().any(|layer| {
        layer != own
            && layer.order != Order::Background
            && egui::AreaState::load(ctx, layer.id).is_some_and(|a| a.rect().intersects(rect))
    })
}

/// Past this, "behind live" is shown as a warning.
const LATE_BEHIND_MS: u64 = 5_000;

/// "2.4 s behind live", from the shown picture's capture time (ms since the Unix epoch),
/// and the delay in ms.
fn format_behind(captured_ms: u64) -> (String, u64) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let behind = now_ms.saturating_sub(captured_ms);
    let text = if behind < 60_000 {
        format!("{:.1} s behind live", behind as f64 / 1000.0)
    } else {
        format!("{} min behind live", behind / 60_000)
    };
    (text, behind)
}

/// How old the picture is, from its capture time (ms since the Unix epoch) to now. The
/// remote's clock may differ from ours; a picture "from the future" shows as fresh.
fn format_age(captured_ms: u64) -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let age = now_ms.saturating_sub(captured_ms);
    if age < 1_000 {
        format!("{age} ms old")
    } else if age < 60_000 {
        format!("{:.1} s old", age as f64 / 1000.0)
    } else {
        format!("{} min old", age / 60_000)
    }
}

/// The pixels of `r` (inside `fb`) as an egui image, in one pass.
fn color_image(fb: &Framebuffer, r: frame::Rect) -> ColorImage {
    let mut pixels = Vec::with_capacity(r.area() as usize);
    for dy in 0..r.h {
        // Alpha is always 255 in a Framebuffer, so premultiplied and straight agree.
        pixels.extend(
            fb.row(r, dy)
                .chunks_exact(4)
                .map(|p| Color32::from_rgba_premultiplied(p[0], p[1], p[2], p[3])),
        );
    }
    ColorImage::new([r.w as usize, r.h as usize], pixels)
}

/// The cursor as a texture; `None` (hidden) if its shape is empty or inconsistent.
fn cursor_image(ctx: &Context, c: &CursorShape, max_side: usize) -> Option<CursorImage> {
    let (w, h) = (c.width as usize, c.height as usize);
    let fits = w > 0 && h > 0 && w <= max_side && h <= max_side;
    if !fits || c.rgba.len() != w * h * 4 {
        return None;
    }
    let image = ColorImage::from_rgba_unmultiplied([w, h], &c.rgba);
    Some(CursorImage {
        texture: ctx.load_texture("lookout-cursor", image, TextureOptions::LINEAR),
        size: [c.width, c.height],
        hotspot: [c.hotspot_x, c.hotspot_y],
    })
}
