//! Raw encoding (0): `w * h` PIXELs, row by row, read straight into the framebuffer.

use std::io::Read;

use super::super::RfbError;
use super::super::pixel::force_opaque;
use crate::core::frame::{Framebuffer, Rect};

pub(super) fn decode(r: &mut dyn Read, fb: &mut Framebuffer, rect: Rect) -> Result<(), RfbError> {
    fb.check_rect(rect)?;
    for dy in 0..rect.h {
        let row = fb.row_mut(rect, dy);
        r.read_exact(row)?;
        force_opaque(row);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::core::frame::FrameError;

    #[test]
    fn pixels_land_in_place_with_opaque_alpha() {
        let mut fb = Framebuffer::new(3, 2).unwrap();
        let data = [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 10, 11, 12, 0];
        decode(&mut &data[..], &mut fb, Rect::new(1, 0, 2, 2)).unwrap();
        assert_eq!(
            fb.pixels(),
            &[
                0, 0, 0, 255, 1, 2, 3, 255, 4, 5, 6, 255, //
                0, 0, 0, 255, 7, 8, 9, 255, 10, 11, 12, 255
            ]
        );
    }

    #[test]
    fn rect_outside_is_rejected_before_reading() {
        let mut fb = Framebuffer::new(3, 2).unwrap();
        let mut data: &[u8] = &[1, 2, 3, 4];
        let err = decode(&mut data, &mut fb, Rect::new(2, 0, 2, 1)).unwrap_err();
        assert!(matches!(
            err,
            RfbError::Frame(FrameError::RectOutOfBounds { .. })
        ));
        assert_eq!(data.len(), 4, "nothing was read");
    }
}
