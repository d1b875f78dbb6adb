//! The remote picture on screen. A task view's [`Picture`] takes what the session published
//! to its [`FrameSlot`] and shows it where the view lays it out, through one backend chosen
//! once, when the view is built ([`Backend::choose`]):
//!
//! - **egui texture** ([`texture`]): egui's painter draws it and the GPU scales it. The
//!   default without a GL context, and the path every UI test draws with.
//! - **GL** ([`gl`]): with eframe's glow renderer, a GL texture of our own drawn in a paint
//!   callback on software GL's fast path; a picture shown smaller is kept at the size it
//!   is shown at by the one downscale ([`resample`]).
//! - **X11** ([`x11`]): on an X11 window, a child window over the picture's place that a
//!   thread of its own fills, so the window does not repaint for pictures at all. It shows
//!   only a whole picture no larger than itself with nothing of egui's over it; while the
//!   picture is covered, dimmed, in control, scrolled or too large, the backend draws it
//!   in the window as the GL backend does.
//!
//! `LOOKOUT_PRESENT` narrows the choice: `gl` never uses X11, `egui` always uses the egui
//! texture, and `x11-socket` has the X11 backend send its pictures over the X socket
//! instead of through memory shared with the X server.
//!
//! The picture drawn in the window (`InWindow`: the egui texture and GL backends, and
//! the X11 backend's fallback) is uploaded the same way whatever holds it: the whole
//! picture on the first frame, a new size or a new fit, then each dirty rectangle; nothing
//! while the picture is larger than the GPU's largest texture (the view says so,
//! [`Picture::too_large_text`]); and held as its placement asks (`TextureFit`: crisp at
//! whole multiples, smooth otherwise, and for GL at the size it is shown at). The remote
//! cursor is drawn by [`cursor`], over the picture in the window or into the X11 canvas.
//!
//! Each frame the view calls [`Picture::pull`] first, then [`Picture::set_area`] and
//! [`Picture::show`] where it lays the picture out, and [`Picture::finish`] once the whole
//! window is built (the X11 backend then knows whether egui drew anything over the
//! picture). Nothing here repaints on its own, but for the frame after the X11 backend
//! hands the pictures back to the window: the core's waker repaints when a picture arrives,
//! or, while the X11 backend shows them, wakes its thread instead.

pub mod cursor;
pub mod gl;
pub mod resample;
pub mod texture;
pub mod x11;

use std::sync::Arc;

use eframe::glow;
use egui::{Context, Painter, Rect, TextureOptions, Ui, pos2};

use self::cursor::CursorTexture;
use self::gl::GlPicture;
use self::texture::EguiTexture;
use self::x11::Transfer;
use super::layout::{self, Placement, ScaleMode};
use super::overlay::OverlayText;
use super::theme;
use crate::core::event::Waker;
use crate::core::frame::{self, FrameSlot, FrameView, Framebuffer};

/// The whole texture, in texture coordinates.
const FULL_UV: Rect = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));

/// How the picture reaches the screen: chosen once, when the view is built.
pub enum Backend {
    /// An egui texture ([`texture`]): the default, and what UI tests draw with.
    Texture,
    /// A GL texture of our own ([`gl`]) on the window's GL context, which is current while
    /// the UI is built.
    Gl(Arc<glow::Context>),
    /// A child window of the X11 window `parent` ([`x11`]), drawn in the window with GL on
    /// `gl` while it cannot show the picture.
    X11 {
        parent: u32,
        transfer: Transfer,
        gl: Arc<glow::Context>,
    },
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Texture => f.write_str("Texture"),
            Backend::Gl(_) => f.write_str("Gl"),
            Backend::X11 {
                parent, transfer, ..
            } => f
                .debug_struct("X11")
                .field("parent", parent)
                .field("transfer", transfer)
                .finish_non_exhaustive(),
        }
    }
}

impl Backend {
    /// The backend for a window drawn with eframe's glow context `gl` (`None`: another
    /// renderer) that is the X11 window `x11` (`None`: not X11), as `LOOKOUT_PRESENT`
    /// allows: X11 where both are there, GL where only GL is, else the egui texture.
    pub fn choose(gl: Option<Arc<glow::Context>>, x11: Option<u32>) -> Self {
        let asked = std::env::var("LOOKOUT_PRESENT").ok();
        let backend = match (pick(asked.as_deref(), gl.is_some(), x11), gl) {
            (Pick::Gl, Some(gl)) => Backend::Gl(gl),
            (Pick::X11(parent, transfer), Some(gl)) => Backend::X11 {
                parent,
                transfer,
                gl,
            },
            _ => Backend::Texture,
        };
        tracing::debug!("showing the picture through {backend:?}");
        backend
    }
}

/// Which backend `LOOKOUT_PRESENT` (`asked`) and the window allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    Texture,
    Gl,
    X11(u32, Transfer),
}

fn pick(asked: Option<&str>, gl: bool, x11: Option<u32>) -> Pick {
    match (asked, x11) {
        _ if !gl => Pick::Texture,
        (Some("egui"), _) => Pick::Texture,
        (Some("gl"), _) | (_, None) => Pick::Gl,
        (Some("x11-socket"), Some(parent)) => Pick::X11(parent, Transfer::Socket),
        (_, Some(parent)) => Pick::X11(parent, Transfer::Auto),
    }
}

/// One task view's picture on screen.
pub struct Picture {
    slot: Arc<FrameSlot>,
    /// Where the view lays the picture out, for the uploads before it is drawn.
    layout: Layout,
    way: Way,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let way = match &self.way {
            Way::InWindow(w) if w.gl.is_some() => "GL",
            Way::InWindow(_) => "egui texture",
            Way::X11(_) => "X11",
        };
        f.debug_struct("Picture")
            .field("way", &way)
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// The backend at work.
enum Way {
    /// Drawn in the window by egui's painter: the egui texture and GL backends.
    InWindow(InWindow),
    /// Put into an X11 child window, or drawn in the window while it cannot be.
    X11(x11::X11),
}

/// How the view shows the picture this frame.
#[derive(Clone, Copy, Debug)]
pub struct Showing {
    /// Where the picture goes, in points, and at what scale.
    pub placement: Placement,
    /// The picture's size in remote pixels ([`Picture::size`]), which `placement` fits.
    pub size: [u32; 2],
    /// Under an overlay: drawn dimmed, without the cursor.
    pub dimmed: bool,
    /// No part of the picture is scrolled out of view.
    pub whole: bool,
    /// The operator has control.
    pub interactive: bool,
    /// Where to draw the cursor instead of the remote's pointer: in control, where the
    /// operator's pointer is (the server does not echo it back).
    pub pointer: Option<(u32, u32)>,
}

impl Picture {
    /// The pictures of `slot`, shown through `backend`. The X11 backend wakes the UI with
    /// `ui_waker`; when its child window cannot be made, the picture is drawn with GL.
    pub fn new(slot: Arc<FrameSlot>, backend: Backend, ui_waker: &Waker) -> Self {
        let way = match backend {
            Backend::Texture => Way::InWindow(InWindow::new(None)),
            Backend::Gl(gl) => Way::InWindow(InWindow::new(Some(gl))),
            Backend::X11 {
                parent,
                transfer,
                gl,
            } => {
                let waker = ui_waker.clone();
                match x11::Presenter::new(None, parent, slot.clone(), waker, transfer) {
                    Ok(presenter) => Way::X11(x11::X11::new(presenter, InWindow::new(Some(gl)))),
                    Err(e) => {
                        tracing::info!("drawing the picture with GL: {e}");
                        Way::InWindow(InWindow::new(Some(gl)))
                    }
                }
            }
        };
        Self {
            slot,
            layout: Layout::default(),
            way,
        }
    }

    /// Called first in each frame: takes what the source published since the last one,
    /// for a picture shown at `scale` (unless the X11 backend shows the pictures). When X
    /// failed, the X11 backend draws in the window from now on.
    pub fn pull(&mut self, ctx: &Context, scale: ScaleMode) {
        self.layout.scale = scale;
        if let Way::X11(x) = &self.way
            && !x.is_working()
        {
            let failed = std::mem::replace(&mut self.way, Way::InWindow(InWindow::new(None)));
            if let Way::X11(x) = failed {
                self.way = Way::InWindow(x.give_up(ctx, &self.slot, self.layout));
            }
        }
        match &mut self.way {
            Way::InWindow(w) => w.pull(ctx, &self.slot, self.layout),
            Way::X11(x) => x.pull(ctx, &self.slot, self.layout),
        }
    }

    /// The area the view lays the picture out in this frame, picture or not; before
    /// [`Picture::show`].
    pub fn set_area(&mut self, area: Rect) {
        self.layout.area = Some(area);
        if let Way::X11(x) = &mut self.way {
            x.forget_candidate();
        }
    }

    /// Shows the picture as `showing` says, in `ui`.
    pub fn show(&mut self, ui: &Ui, showing: &Showing) {
        match &mut self.way {
            Way::InWindow(w) => w.show(ui, &self.slot, showing),
            Way::X11(x) => x.show(ui, &self.slot, self.layout, showing),
        }
    }

    /// Not shown this frame: the X11 backend's child window is hidden.
    pub fn step_aside(&mut self, ctx: &Context) {
        if let Way::X11(x) = &mut self.way {
            x.step_aside(ctx, &self.slot, self.layout);
        }
    }

    /// Called once the whole window is built: the X11 backend hands the picture to its
    /// child window when nothing of egui's lies over it, or takes it back when something
    /// does.
    pub fn finish(&mut self, ctx: &Context) {
        if let Way::X11(x) = &mut self.way {
            x.finish(ctx, &self.slot, self.layout);
        }
    }

    /// The size of the picture on screen, in remote pixels.
    pub fn size(&self) -> Option<[u32; 2]> {
        match &self.way {
            Way::X11(x) if x.is_presenting() => self.slot.size(),
            _ => self.in_window().size(),
        }
    }

    /// True while the X11 backend's child window shows the pictures.
    pub fn is_presenting(&self) -> bool {
        matches!(&self.way, Way::X11(x) if x.is_presenting())
    }

    /// The size of a picture too large for the GPU to show, while there is one.
    pub fn too_large(&self) -> Option<[u32; 2]> {
        self.in_window().too_large
    }

    /// What the view says over a picture too large for the GPU.
    pub fn too_large_text(&self, ctx: &Context) -> Option<OverlayText> {
        let [w, h] = self.too_large()?;
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

    /// True when the remote's cursor is drawn in the window (so the local one can hide).
    pub fn has_cursor(&self) -> bool {
        self.in_window().cursor.is_some()
    }

    fn in_window(&self) -> &InWindow {
        match &self.way {
            Way::InWindow(w) => w,
            Way::X11(x) => x.fallback(),
        }
    }
}

/// Where the view lays the picture out: how a texture should hold a new picture.
#[derive(Clone, Copy, Debug, Default)]
struct Layout {
    scale: ScaleMode,
    /// The picture area of the last frame.
    area: Option<Rect>,
}

impl Layout {
    /// How a picture of `size` will want its texture where it was last drawn.
    fn fit_for(&self, size: [u32; 2], pixels_per_point: f32) -> TextureFit {
        match (self.scale, self.area) {
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
}

/// How the texture should hold the picture for where it is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TextureFit {
    options: TextureOptions,
    /// The physical size the picture is drawn at, when smaller than the picture. Only the
    /// GL texture uses it: it then keeps the picture averaged down to that size.
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

/// The picture drawn in the window by egui's painter, from a texture: an egui one, or our
/// own GL one.
struct InWindow {
    /// The window's GL context, for the GL texture; `None`: an egui texture (also once
    /// the GL texture could not be made).
    gl: Option<Arc<glow::Context>>,
    texture: Option<Uploaded>,
    /// A picture we cannot upload: bigger than the GPU's largest texture.
    too_large: Option<[u32; 2]>,
    cursor: Option<CursorTexture>,
    /// The remote pointer, in remote pixels.
    pointer: Option<(u32, u32)>,
}

/// The picture as uploaded to the GPU.
struct Uploaded {
    texture: Texture,
    size: [u32; 2],
    fit: TextureFit,
}

/// Where the uploaded picture lives.
enum Texture {
    Egui(EguiTexture),
    Gl(Box<GlPicture>),
}

impl InWindow {
    fn new(gl: Option<Arc<glow::Context>>) -> Self {
        Self {
            gl,
            texture: None,
            too_large: None,
            cursor: None,
            pointer: None,
        }
    }

    fn size(&self) -> Option<[u32; 2]> {
        self.texture.as_ref().map(|t| t.size)
    }

    /// Uploads whatever the source published since the last frame.
    fn pull(&mut self, ctx: &Context, slot: &FrameSlot, layout: Layout) {
        let max_side = ctx.input(|i| i.max_texture_side);
        slot.take(|view| self.upload(ctx, &view, max_side, layout));
    }

    /// Uploads the whole current picture and cursor, as if all of it were new.
    fn pull_all(&mut self, ctx: &Context, slot: &FrameSlot, layout: Layout) {
        let max_side = ctx.input(|i| i.max_texture_side);
        slot.take_all(|view| self.upload(ctx, &view, max_side, layout));
    }

    fn upload(&mut self, ctx: &Context, view: &FrameView<'_>, max_side: usize, layout: Layout) {
        let fb = view.frame;
        let size = [fb.width(), fb.height()];
        if let Some(cursor) = view.cursor {
            self.cursor = cursor.and_then(|c| CursorTexture::new(ctx, c, max_side));
        }
        self.pointer = view.pointer;

        if size.iter().any(|&side| side as usize > max_side) {
            self.texture = None;
            self.too_large = Some(size);
            return;
        }
        self.too_large = None;
        match &mut self.texture {
            Some(up) if !view.resized && up.size == size => {
                for r in view.dirty {
                    if !r.is_empty() && fb.check_rect(*r).is_ok() {
                        up.texture.upload_rect(fb, *r, up.fit.options);
                    }
                }
            }
            _ => {
                let fit = layout.fit_for(size, ctx.pixels_per_point());
                self.upload_whole(ctx, fb, fit);
            }
        }
    }

    /// Replaces the texture's content and filtering with the whole of `fb`.
    fn upload_whole(&mut self, ctx: &Context, fb: &Framebuffer, fit: TextureFit) {
        let size = [fb.width(), fb.height()];
        if let Some(up) = &mut self.texture {
            up.texture.upload_whole(fb, fit);
            up.size = size;
            up.fit = fit;
            return;
        }
        let gl_picture = self.gl.clone().and_then(|gl| {
            GlPicture::new(gl, fb, is_linear(fit.options), fit.shown_at)
                .inspect_err(|err| {
                    tracing::warn!("drawing the picture through egui instead: {err}");
                    // Do not try again for every picture.
                    self.gl = None;
                })
                .ok()
        });
        let texture = match gl_picture {
            Some(gl) => Texture::Gl(Box::new(gl)),
            None => Texture::Egui(EguiTexture::new(ctx, fb, fit.options)),
        };
        self.texture = Some(Uploaded { texture, size, fit });
    }

    /// Re-uploads the picture when where it is drawn calls for other filtering or another
    /// resampled size (on a mode switch or a window resize).
    fn refilter(&mut self, ctx: &Context, slot: &FrameSlot, placement: &Placement) {
        let wanted = TextureFit::for_placement(placement, ctx.pixels_per_point());
        if self.texture.as_ref().is_some_and(|up| !up.fits(wanted))
            && let Some(fb) = slot.snapshot()
        {
            self.upload_whole(ctx, &fb, wanted);
        }
    }

    /// Refilters and paints: all a frame asks of the picture drawn in the window.
    fn show(&mut self, ui: &Ui, slot: &FrameSlot, showing: &Showing) {
        self.refilter(ui.ctx(), slot, &showing.placement);
        self.paint(ui.painter(), showing);
    }

    /// Paints the picture, then either the dimming under an overlay or the cursor.
    fn paint(&self, painter: &Painter, showing: &Showing) {
        let Some(up) = &self.texture else { return };
        let placement = &showing.placement;
        up.texture.paint(painter, placement.rect);
        if showing.dimmed {
            painter.rect_filled(placement.rect, 0.0, theme::DIM);
            return;
        }
        if let (Some(cursor), Some(at)) = (&self.cursor, showing.pointer.or(self.pointer)) {
            cursor.paint(painter, placement, up.size, at);
        }
    }
}

impl Uploaded {
    /// True when the texture holds the picture as `wanted` asks.
    fn fits(&self, wanted: TextureFit) -> bool {
        match &self.texture {
            Texture::Gl(gl) => {
                self.fit.options == wanted.options && gl.shown_at() == wanted.shown_at
            }
            Texture::Egui(_) => self.fit.options == wanted.options,
        }
    }
}

impl Texture {
    fn upload_rect(&mut self, fb: &Framebuffer, r: frame::Rect, options: TextureOptions) {
        match self {
            Texture::Gl(gl) => gl.upload_rect(fb, r),
            Texture::Egui(texture) => texture.set_rect(fb, r, options),
        }
    }

    fn upload_whole(&mut self, fb: &Framebuffer, fit: TextureFit) {
        match self {
            Texture::Gl(gl) => gl.upload_whole(fb, is_linear(fit.options), fit.shown_at),
            Texture::Egui(texture) => texture.set_whole(fb, fit.options),
        }
    }

    fn paint(&self, painter: &Painter, rect: Rect) {
        match self {
            Texture::Gl(gl) => {
                painter.add(gl.paint_callback(rect));
            }
            Texture::Egui(texture) => texture.paint(painter, rect),
        }
    }
}

fn is_linear(options: TextureOptions) -> bool {
    options.magnification == egui::TextureFilter::Linear
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_follows_the_window_and_lookout_present() {
        let x11 = Some(7);
        assert_eq!(pick(None, true, x11), Pick::X11(7, Transfer::Auto));
        assert_eq!(pick(Some("x11"), true, x11), Pick::X11(7, Transfer::Auto));
        assert_eq!(
            pick(Some("x11-socket"), true, x11),
            Pick::X11(7, Transfer::Socket)
        );
        assert_eq!(pick(Some("gl"), true, x11), Pick::Gl);
        assert_eq!(pick(Some("egui"), true, x11), Pick::Texture);
        // Not an X11 window (Wayland): GL.
        assert_eq!(pick(None, true, None), Pick::Gl);
        assert_eq!(pick(Some("x11-socket"), true, None), Pick::Gl);
        // No GL context (another renderer): the egui texture, whatever is asked.
        assert_eq!(pick(None, false, x11), Pick::Texture);
        assert_eq!(pick(Some("gl"), false, x11), Pick::Texture);
    }
}
