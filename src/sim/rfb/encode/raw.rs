//! Raw encoding (0): `w * h` pixels in the client's format, left to right, top to bottom.

use super::rect::{EncodeError, rect_header};
use crate::core::frame::{Framebuffer, Rect};
use crate::core::source::rfb::encodings;
use crate::sim::rfb::pixel::PixelFormat;

/// Appends `r` of `fb` as one Raw rectangle.
pub fn encode(
    format: &PixelFormat,
    fb: &Framebuffer,
    r: Rect,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    fb.check_rect(r)?;
    rect_header(out, r, encodings::RAW);
    out.reserve(r.area() as usize * 4);
    for dy in 0..r.h {
        for px in fb.row(r, dy).chunks_exact(4) {
            format.put(out, px);
        }
    }
    Ok(())
}
