//! The task view: one session's picture with its state overlay, toolbar and status line.
//!
//! Each frame [`TaskView::ui`] drains the session's events (keeping the latest state), has
//! its [`Picture`] take what changed, draws the toolbar, control banner and status line,
//! lays the picture out fitted or at 1:1 (scrolled) and asks the [`Picture`] to show it
//! there; the picture module decides how it reaches the screen. In control, input goes to
//! the remote mapped through where the picture was last drawn ([`control`]).
//! Nothing here repaints on its own except the once-a-second rate refresh while traffic is
//! shown: the core's waker repaints when something new arrives, so an idle view costs nothing.

use std::sync::Arc;
use std::time::Duration;

use egui::{
    Align, CentralPanel, Context, Frame, Key, KeyboardShortcut, Layout, Margin, Modifiers, Panel,
    RichText, ScrollArea, Sense, Ui,
};

use super::audio::Speaker;
use super::control::{self, Availability, Control};
use super::layout::{self, Placement, ScaleMode};
use super::overlay;
use super::picture::{Backend, Picture, Showing};
use super::rates::{self, RateMeter};
use super::theme;
use crate::core::event::{
    Command, InputAccess, Note, PictureFormat, REPLAY_PROTOCOL, SessionEvent, SessionState,
    StatsSample, Waker, noop_waker,
};
use crate::core::session::SessionHandle;
use crate::core::source::rfb;

/// Switches between Fit and 1:1.
pub const SCALE_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Num1);
/// Sends Retry when the session has failed, ended or is backing off.
pub const RETRY_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
/// Jump to live (video streams).
pub const LIVE_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::L);

/// One session on screen: owns its [`SessionHandle`].
pub struct TaskView {
    handle: SessionHandle,
    state: SessionState,
    scale: ScaleMode,
    /// The remote picture on screen, through the backend chosen when the view was built.
    picture: Picture,
    rates: RateMeter,
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
    /// A view of `handle`'s session, its picture in an egui texture (the default backend).
    pub fn new(handle: SessionHandle) -> Self {
        let picture = Picture::new(handle.frames().clone(), Backend::Texture, &noop_waker());
        Self {
            handle,
            state: SessionState::Loading,
            scale: ScaleMode::default(),
            picture,
            rates: RateMeter::default(),
            frame_log: FrameLog::default(),
            control: Control::default(),
            last_placement: None,
            remote_clipboard: None,
            page_url: None,
            speaker: None,
        }
    }

    /// Drops a named marker into the session's recording.
    pub fn bookmark(&self, name: String) -> bool {
        self.handle.send(Command::Note(Note::Bookmark(name)))
    }

    /// Shows the picture through `backend` ([`Backend::choose`]); `ui_waker` repaints the
    /// window (the X11 backend wakes it for the status line).
    pub fn with_backend(mut self, backend: Backend, ui_waker: &Waker) -> Self {
        self.picture = Picture::new(self.handle.frames().clone(), backend, ui_waker);
        self
    }

    /// True while the X11 backend's child window shows the pictures instead of the window.
    pub fn is_presenting(&self) -> bool {
        self.picture.is_presenting()
    }

    /// Called once the whole window is built, so the picture knows what egui drew over it
    /// ([`Picture::finish`]).
    pub fn finish(&mut self, ctx: &Context) {
        self.picture.finish(ctx);
    }

    /// Mutes or unmutes the session's sound (the console lets only the task it shows be
    /// heard).
    pub fn set_heard(&self, heard: bool) {
        if let Some(speaker) = &self.speaker {
            speaker.set_muted(!heard);
        }
    }

    /// Gives the view the speaker its session plays sound on (mute and volume controls).
    pub fn with_speaker(mut self, speaker: Option<Arc<Speaker>>) -> Self {
        self.speaker = speaker;
        self
    }

    /// Whether the picture comes from a recording (a replay or time-shift).
    fn is_replay(&self) -> bool {
        matches!(&self.state, SessionState::Live(info) if info.protocol == REPLAY_PROTOCOL)
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
            if !self.control.is_interactive() {
                self.handle.send(Command::Note(Note::ControlTaken));
            }
            self.control.take();
            // Ctrl+plus/minus belong to the remote now.
            ctx.options_mut(|o| o.zoom_with_keyboard = false);
        }
    }

    /// Back to view-only, letting go of every key and button held on the remote.
    pub fn release_control(&mut self, ctx: &Context) {
        if self.control.is_interactive() {
            self.handle.send(Command::Note(Note::ControlReleased));
        }
        for ev in self.control.release() {
            self.handle.send(Command::Input(ev));
        }
        ctx.options_mut(|o| o.zoom_with_keyboard = true);
    }

    /// The text the remote last put on its clipboard, if any.
    pub fn remote_clipboard(&self) -> Option<&str> {
        self.remote_clipboard.as_deref()
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

    /// The pictures the session publishes (what this view shows).
    pub fn frames(&self) -> &Arc<crate::core::frame::FrameSlot> {
        self.handle.frames()
    }

    /// The size of the picture on screen, in remote pixels.
    pub fn picture_size(&self) -> Option<[u32; 2]> {
        self.picture.size()
    }

    /// Asks the core to end the session (the window is closing).
    pub fn stop(&self) {
        self.handle.send(Command::Stop);
    }

    /// Draws the view into `ui`: toolbar on top, status line at the bottom, picture between.
    pub fn ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.take_events();
        self.picture.pull(&ctx, self.scale);
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

    /// A frame in which another view takes this one's place (time-shift shows the past):
    /// the session's events are still taken, control is given back, and the picture's X11
    /// child window, if it shows the picture, is hidden.
    pub fn step_aside(&mut self, ctx: &Context) {
        self.take_events();
        if self.control.is_interactive() {
            self.release_control(ctx);
        }
        self.picture.step_aside(ctx);
    }

    fn take_events(&mut self) {
        while let Some(event) = self.handle.try_recv_event() {
            match event {
                SessionEvent::State(state) => self.state = state,
                SessionEvent::Bell => {}
                SessionEvent::RemoteClipboard => {
                    if let Some(text) = self.handle.take_remote_clipboard() {
                        self.remote_clipboard = Some(text);
                    }
                }
                SessionEvent::PageUrl(url) => self.page_url = Some(url),
                SessionEvent::AnswerSent { .. } | SessionEvent::AnswerFailed { .. } => {}
            }
        }
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
                    let what = match sample.picture_format {
                        Some(PictureFormat::H264) => "bad packets or segments",
                        _ => "bad frames",
                    };
                    ui.label(
                        RichText::new(format!("{} {what} skipped", sample.skipped))
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
                // A recording has no network: its rates would only say zero.
                if !self.is_replay() {
                    ui.label(weak(rates::format_bandwidth(self.rates.bytes_per_s())));
                    ui.label(weak(rates::format_update_rate(self.rates.updates_per_s())));
                }
                match sample.captured_ms {
                    Some(captured) if self.is_video(sample) => {
                        let behind = format_behind(captured, sample.behind_live_estimated);
                        let late = behind.1 > LATE_BEHIND_MS;
                        let text = RichText::new(behind.0).color(if late {
                            theme::WARN
                        } else {
                            theme::TEXT_WEAK
                        });
                        ui.label(text)
                            .on_hover_text(if sample.behind_live_estimated {
                                "How long ago the picture shown was captured, estimated from \
                             when its segment appeared: the stream does not date its \
                             pictures, so the producer's encoding delay is left out"
                            } else {
                                "How long ago the picture shown was captured: the stream's delay"
                            });
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
            .or(self.picture.too_large())
            .or(match &self.state {
                SessionState::Live(info) => Some([info.width, info.height]),
                _ => None,
            })
    }

    fn picture_ui(&mut self, ui: &mut Ui) {
        let area = ui.max_rect();
        self.picture.set_area(area);
        let overlay =
            overlay::for_state(&self.state).or_else(|| self.picture.too_large_text(ui.ctx()));
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
                if self.picture.has_cursor() && ui.rect_contains_pointer(area) {
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

    /// Shows the picture at `placement` (for a picture `size` big), dimmed or not, `whole`
    /// when nothing of it is scrolled away; input maps through it next frame.
    fn show_picture(
        &mut self,
        ui: &Ui,
        placement: Placement,
        size: [u32; 2],
        dimmed: bool,
        whole: bool,
    ) {
        let interactive = self.control.is_interactive();
        let pointer = match self.control.last_pointer() {
            Some(at) if interactive => Some((at.x, at.y)),
            _ => None,
        };
        let showing = Showing {
            placement,
            size,
            dimmed,
            whole,
            interactive,
            pointer,
        };
        self.picture.show(ui, &showing);
        self.last_placement = Some((placement, size));
    }
}

/// Past this, "behind live" is shown as a warning.
const LATE_BEHIND_MS: u64 = 5_000;

/// "2.4 s behind live" (or "≈2.4 s behind live (estimated)" when the stream does not say
/// when its pictures were captured), from the shown picture's capture time (ms since the
/// Unix epoch), and the delay in ms.
fn format_behind(captured_ms: u64, estimated: bool) -> (String, u64) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let behind = now_ms.saturating_sub(captured_ms);
    let (about, guessed) = if estimated {
        ("≈", " (estimated)")
    } else {
        ("", "")
    };
    let text = if behind < 60_000 {
        format!(
            "{about}{:.1} s behind live{guessed}",
            behind as f64 / 1000.0
        )
    } else {
        format!("{about}{} min behind live{guessed}", behind / 60_000)
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
