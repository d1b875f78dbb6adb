//! The X11 backend: the remote picture put straight into an X11 child window, beside the
//! GL renderer.
//!
//! eframe redraws the whole window on every repaint, and under software GL (Mesa llvmpipe
//! on servers, VMs and Xvfb) that costs about 0.6 ms per megapixel per frame even for a
//! picture that is only copied: at 10 updates/s it was a third of the viewer's CPU time
//! (`cargo bench --bench peers`). Native VNC viewers instead `PutImage` only the changed
//! rectangles into their window. The [`Presenter`] does the same: it owns a child window of
//! the viewer's X11 window over the picture's rectangle, takes new pictures from the
//! session's [`FrameSlot`] on a thread of its own
//! ("x11-present", `present.rs`), brings its canvas up to date with each changed rectangle
//! (`canvas.rs`: the one downscale, [`super::resample`], and the cursor blended over it,
//! [`super::cursor`]), and sends that to the X server (`window.rs`: through shared memory
//! where it can). The UI is not woken for pictures at all while it presents (only about
//! once a second, for the status line's rates), so the GL window repaints only when its
//! own widgets change.
//!
//! It presents only the simple case: a whole picture, shown at or below its size, not
//! dimmed under an overlay, not in control, with nothing of egui's (a menu, a tooltip) on
//! top of it. Otherwise `X11`, the backend's side in the UI, hides the child window
//! ([`Presenter::place`] with `None`, which returns once it is hidden), takes the pictures
//! back and draws them in the window as the GL backend does, its fallback; and hands them
//! to the child window again when it can. X clips the GL window's drawing by the child, so
//! the two never fight over pixels. If X fails, the backend draws in the window for good.
//!
//! x11rb's pure-Rust connection carries it; the window needs a 24- or 32-bit TrueColor
//! visual with 32 bits per pixel and little-endian images (every X server of the last two
//! decades), anything else stays on the GL path.

mod canvas;
mod present;
mod window;

use egui::{Context, LayerId, Order, Rect, Ui};

pub use present::{HIDE_WAIT, Placement, PresentError, Presenter, Transfer};

use super::{InWindow, Layout, Showing};
use crate::core::frame::FrameSlot;

/// The X11 backend in the UI: the child window's presenter, and the picture drawn in the
/// window while the child window cannot show it.
pub(super) struct X11 {
    presenter: Presenter,
    fallback: InWindow,
    /// This frame's picture, when the child window may show it: checked against egui's
    /// other layers once the whole window is built ([`X11::finish`]).
    candidate: Option<Candidate>,
}

/// Where the child window would show the picture this frame.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    showing: Showing,
    px: Placement,
    layer: LayerId,
}

impl X11 {
    pub(super) fn new(presenter: Presenter, fallback: InWindow) -> Self {
        Self {
            presenter,
            fallback,
            candidate: None,
        }
    }

    /// False once X failed.
    pub(super) fn is_working(&self) -> bool {
        self.presenter.is_working()
    }

    /// True while the child window, not the UI, takes and shows the pictures.
    pub(super) fn is_presenting(&self) -> bool {
        self.presenter.is_presenting()
    }

    pub(super) fn fallback(&self) -> &InWindow {
        &self.fallback
    }

    /// X failed: takes the pictures back for good and returns the picture drawn in the
    /// window, which shows them from now on. The presenter's thread ends.
    pub(super) fn give_up(mut self, ctx: &Context, slot: &FrameSlot, layout: Layout) -> InWindow {
        self.stop_presenting(ctx, slot, layout);
        self.fallback
    }

    /// The start of a frame: takes the new pictures unless the child window does.
    pub(super) fn pull(&mut self, ctx: &Context, slot: &FrameSlot, layout: Layout) {
        self.presenter.ui_drew();
        if !self.is_presenting() {
            self.fallback.pull(ctx, slot, layout);
        }
    }

    pub(super) fn forget_candidate(&mut self) {
        self.candidate = None;
    }

    /// Offers the picture to the child window when it qualifies (decided in
    /// [`X11::finish`]), else takes it back; draws it in the window unless the child
    /// window shows it.
    pub(super) fn show(&mut self, ui: &Ui, slot: &FrameSlot, layout: Layout, showing: &Showing) {
        let ppp = ui.pixels_per_point();
        self.candidate = showing
            .whole
            .then(|| self.presentable(showing, ppp))
            .flatten()
            .map(|px| Candidate {
                showing: *showing,
                px,
                layer: ui.layer_id(),
            });
        if self.candidate.is_none() {
            self.stop_presenting(ui.ctx(), slot, layout);
        }
        if !self.is_presenting() {
            self.fallback.show(ui, slot, showing);
        }
    }

    /// Not shown this frame: hides the child window (the picture is taken back).
    pub(super) fn step_aside(&mut self, ctx: &Context, slot: &FrameSlot, layout: Layout) {
        self.candidate = None;
        self.stop_presenting(ctx, slot, layout);
    }

    /// Called once the whole window is built: hands the picture to the child window when
    /// nothing of egui's lies over it, or takes it back (and draws it) when something does.
    pub(super) fn finish(&mut self, ctx: &Context, slot: &FrameSlot, layout: Layout) {
        let Some(c) = self.candidate.take() else {
            return;
        };
        if covered(ctx, c.showing.placement.rect, c.layer) {
            if self.is_presenting() {
                self.stop_presenting(ctx, slot, layout);
                let painter = ctx.layer_painter(c.layer);
                self.fallback.paint(&painter, &c.showing);
            }
        } else {
            self.presenter.place(Some(c.px));
        }
    }

    /// Takes the pictures back from the child window: hides it, uploads the whole current
    /// picture and cursor, and repaints.
    fn stop_presenting(&mut self, ctx: &Context, slot: &FrameSlot, layout: Layout) {
        if !self.presenter.is_presenting() {
            return;
        }
        self.presenter.place(None);
        self.fallback.pull_all(ctx, slot, layout);
        ctx.request_repaint();
    }

    /// Where the child window may show the picture, in physical pixels: only a whole
    /// picture, at or below its size, not dimmed, not in control.
    fn presentable(&self, showing: &Showing, ppp: f32) -> Option<Placement> {
        let blocked = showing.dimmed || showing.interactive || self.fallback.too_large.is_some();
        if !self.presenter.is_working() || blocked {
            return None;
        }
        let r = showing.placement.rect;
        let px = |v: f32| (v * ppp).round();
        let (w, h) = (px(r.width()), px(r.height()));
        let [sw, sh] = showing.size;
        let fits = w >= 1.0 && h >= 1.0 && w <= sw as f32 && h <= sh as f32;
        fits.then(|| Placement {
            x: px(r.min.x) as i32,
            y: px(r.min.y) as i32,
            width: w as u32,
            height: h as u32,
        })
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
