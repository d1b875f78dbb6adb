//! Cursor pseudo-encoding (-239): the rectangle's x, y are the hotspot and w, h the size;
//! `w * h` PIXELs follow, then a bitmask of `ceil(w / 8)` bytes a row, MSB first, where a
//! set bit marks a visible pixel. A 0x0 cursor hides it.

use std::io::Read;

use super::super::RfbError;
use super::super::pixel::PIXEL_BYTES;
use crate::core::frame::{CursorShape, Rect};

/// Largest cursor side we accept.
pub(crate) const MAX_CURSOR_SIDE: u32 = 256;

pub(super) fn decode(
    r: &mut dyn Read,
    rect: Rect,
    buf: &mut Vec<u8>,
) -> Result<Option<CursorShape>, RfbError> {
    if rect.w > MAX_CURSOR_SIDE || rect.h > MAX_CURSOR_SIDE {
        return Err(RfbError::CursorTooLarge {
            w: rect.w,
            h: rect.h,
            max: MAX_CURSOR_SIDE,
        });
    }
    let (w, h) = (rect.w as usize, rect.h as usize);
    let mask_row = w.div_ceil(8);
    let pixel_bytes = w * h * PIXEL_BYTES;
    let total = pixel_bytes + mask_row * h;
    if buf.len() < total {
        buf.resize(total, 0);
    }
    r.read_exact(&mut buf[..total])?;
    if rect.is_empty() {
        return Ok(None);
    }
    let (pixels, mask) = buf[..total].split_at(pixel_bytes);
    let mut rgba = pixels.to_vec();
    for (row, bits) in rgba
        .chunks_exact_mut(w * 4)
        .zip(mask.chunks_exact(mask_row))
    {
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let visible = (bits[x / 8] >> (7 - x % 8)) & 1 == 1;
            px[3] = if visible { 255 } else { 0 };
        }
    }
    Ok(Some(CursorShape {
        width: rect.w,
        height: rect.h,
        hotspot_x: rect.x.min(rect.w - 1),
        hotspot_y: rect.y.min(rect.h - 1),
        rgba,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mask_becomes_alpha_and_xy_the_hotspot() {
        // 9x1: needs 2 mask bytes.
        let mut data = Vec::new();
        for i in 0..9u8 {
            data.extend([i, i, i, 0]);
        }
        data.extend([0b1000_0001, 0b1000_0000]);
        let c = decode(&mut &data[..], Rect::new(4, 0, 9, 1), &mut Vec::new())
            .unwrap()
            .unwrap();
        assert_eq!((c.width, c.height, c.hotspot_x, c.hotspot_y), (9, 1, 4, 0));
        let alphas: Vec<u8> = c.rgba.chunks(4).map(|p| p[3]).collect();
        assert_eq!(alphas, [255, 0, 0, 0, 0, 0, 0, 255, 255]);
        assert_eq!(&c.rgba[28..32], &[7, 7, 7, 255]);
    }

    #[test]
    fn empty_cursor_hides_and_huge_cursor_is_refused() {
        assert_eq!(
            decode(&mut &[][..], Rect::new(0, 0, 0, 0), &mut Vec::new()).unwrap(),
            None
        );
        let err = decode(&mut &[][..], Rect::new(0, 0, 257, 1), &mut Vec::new()).unwrap_err();
        assert!(matches!(err, RfbError::CursorTooLarge { w: 257, .. }));
        assert!(decode(&mut &[0u8; 4][..], Rect::new(0, 0, 1, 1), &mut Vec::new()).is_err());
    }
}
