//! The remote picture put straight into an X11 child window, beside the GL renderer.
//!
//! eframe redraws the whole window on every repaint, and under software GL (Mesa llvmpipe
//! on servers, VMs and Xvfb) that costs about 0.6 ms per megapixel per frame even for a
//! picture that is only copied: at 10 updates/s it was a third of the viewer's CPU time
//! (`cargo bench --bench peers`). Native VNC viewers instead `PutImage` only the changed
//! rectangles into their window. The [`Presenter`] does the same: it owns a child window of
//! the viewer's X11 window over the picture's rectangle, takes new pictures from the
//! session's [`FrameSlot`] on a thread of its own ("x11-present"), averages each changed
//! rectangle down to the shown size ([`super::resample`]), draws the remote cursor over it,
//! and sends it to the X server. The UI is not woken for pictures at all while it presents
//! (only about once a second, for the status line's rates), so the GL window repaints only
//! when its own widgets change.
//!
//! It presents only the simple case: a whole picture, shown at or below its size, not
//! dimmed under an overlay, not in control, with nothing of egui's (a menu, a tooltip) on
//! top of it. The view switches to the GL path otherwise ([`Presenter::place`] with `None`)
//! and back when it can. X clips the GL window's drawing by the child, so the two never
//! fight over pixels. Set `LOOKOUT_PRESENT=gl` to always draw through GL.
//!
//! x11rb's pure-Rust connection carries it; the window needs a 24- or 32-bit TrueColor
//! visual with 32 bits per pixel and little-endian images (every X server of the last two
//! decades), anything else stays on the GL path.

mod canvas;
mod present;
mod window;

pub use present::{HIDE_WAIT, Placement, PresentError, Presenter, Transfer, enabled};
