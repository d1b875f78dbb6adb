//! CopyRect encoding (1): `src_x, src_y: u16`; the rectangle is copied from there.

use std::io::Read;

use super::super::RfbError;
use super::super::wire::Wire;
use crate::core::frame::{Framebuffer, Rect};

pub(super) fn decode(r: &mut dyn Read, fb: &mut Framebuffer, rect: Rect) -> Result<(), RfbError> {
    fb.check_rect(rect)?;
    let src_x = u32::from(r.u16()?);
    let src_y = u32::from(r.u16()?);
    fb.copy_rect(src_x, src_y, rect)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn copies_from_the_source_and_checks_it() {
        let mut fb = Framebuffer::new(4, 1).unwrap();
        fb.fill_rect(Rect::new(0, 0, 1, 1), [9, 8, 7, 255]).unwrap();
        decode(&mut &[0u8, 0, 0, 0][..], &mut fb, Rect::new(3, 0, 1, 1)).unwrap();
        assert_eq!(&fb.pixels()[12..16], &[9, 8, 7, 255]);
        let err = decode(&mut &[0u8, 3, 0, 0][..], &mut fb, Rect::new(0, 0, 2, 1)).unwrap_err();
        assert!(matches!(err, RfbError::Frame(_)));
    }
}
