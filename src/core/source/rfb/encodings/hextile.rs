//! Hextile encoding (5): the rectangle in 16x16 tiles, left to right, top to bottom.
//!
//! Each tile opens with a mask byte: Raw (1) means `tw * th` PIXELs follow and nothing else;
//! otherwise BackgroundSpecified (2) and ForegroundSpecified (4) each add a PIXEL (both
//! colours carry over from earlier tiles), and AnySubrects (8) adds a count byte and that
//! many subrectangles of `[PIXEL if SubrectsColoured (16)] xy wh` where `xy` is `x << 4 | y`
//! and `wh` is `(w - 1) << 4 | (h - 1)`.

use std::io::Read;

use super::super::RfbError;
use super::super::pixel::{PIXEL_BYTES, fill_row, force_opaque, rgba_from_pixel};
use super::super::wire::Wire;
use crate::core::frame::{Framebuffer, Rect};

/// Tile side, in pixels.
pub const TILE: u32 = 16;
/// Tile mask bits: Raw, BackgroundSpecified, ForegroundSpecified, AnySubrects,
/// SubrectsColoured.
pub const RAW: u8 = 1;
pub const BACKGROUND: u8 = 2;
pub const FOREGROUND: u8 = 4;
pub const ANY_SUBRECTS: u8 = 8;
pub const SUBRECTS_COLOURED: u8 = 16;

pub(super) fn decode(r: &mut dyn Read, fb: &mut Framebuffer, rect: Rect) -> Result<(), RfbError> {
    fb.check_rect(rect)?;
    let mut bg = [0, 0, 0, 255];
    let mut fg = [0, 0, 0, 255];
    let mut raw = [0u8; (TILE * TILE) as usize * PIXEL_BYTES];
    let mut subrects = [0u8; 255 * (PIXEL_BYTES + 2)];
    for ty in (0..rect.h).step_by(TILE as usize) {
        for tx in (0..rect.w).step_by(TILE as usize) {
            let tile = Rect::new(
                rect.x + tx,
                rect.y + ty,
                TILE.min(rect.w - tx),
                TILE.min(rect.h - ty),
            );
            let mask = r.u8()?;
            if mask & RAW != 0 {
                let row_bytes = tile.w as usize * PIXEL_BYTES;
                let data = &mut raw[..row_bytes * tile.h as usize];
                r.read_exact(data)?;
                for (dy, src) in data.chunks_exact(row_bytes).enumerate() {
                    let row = fb.row_mut(tile, dy as u32);
                    row.copy_from_slice(src);
                    force_opaque(row);
                }
                continue;
            }
            if mask & BACKGROUND != 0 {
                bg = rgba_from_pixel(r.array()?);
            }
            if mask & FOREGROUND != 0 {
                fg = rgba_from_pixel(r.array()?);
            }
            for dy in 0..tile.h {
                fill_row(fb.row_mut(tile, dy), bg);
            }
            if mask & ANY_SUBRECTS == 0 {
                continue;
            }
            let count = usize::from(r.u8()?);
            let coloured = mask & SUBRECTS_COLOURED != 0;
            let each = if coloured { PIXEL_BYTES + 2 } else { 2 };
            let data = &mut subrects[..count * each];
            r.read_exact(data)?;
            for s in data.chunks_exact(each) {
                let (xy, wh) = if coloured {
                    // Like the reference viewers, a coloured subrect also becomes the
                    // foreground that later tiles inherit.
                    fg = rgba_from_pixel([s[0], s[1], s[2], s[3]]);
                    (s[4], s[5])
                } else {
                    (s[0], s[1])
                };
                let (sx, sy) = (u32::from(xy >> 4), u32::from(xy & 15));
                let (sw, sh) = (u32::from(wh >> 4) + 1, u32::from(wh & 15) + 1);
                if sx + sw > tile.w || sy + sh > tile.h {
                    return Err(RfbError::HextileSubrect);
                }
                let sub = Rect::new(tile.x + sx, tile.y + sy, sw, sh);
                for dy in 0..sh {
                    fill_row(fb.row_mut(sub, dy), fg);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn px(fb: &Framebuffer, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * fb.width() + x) * 4) as usize;
        fb.pixels()[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn every_subencoding_paints_exact_pixels() {
        // 18x17: tiles 16x16, 2x16, 16x1, 2x1.
        let mut fb = Framebuffer::new(18, 17).unwrap();
        let mut s = Vec::new();
        // Tile 1: background red, foreground green, two plain subrects.
        s.extend([
            BACKGROUND | FOREGROUND | ANY_SUBRECTS,
            255,
            0,
            0,
            0,
            0,
            255,
            0,
            0,
        ]);
        s.extend([2, 0x00, 0x00, 0xf1, 0x01]); // (0,0) 1x1 and (15,1) 1x2
        // Tile 2 (2x16): raw.
        s.push(RAW);
        for i in 0..32u8 {
            s.extend([i, i, i, 0]);
        }
        // Tile 3 (16x1): inherits red background, one coloured subrect.
        s.extend([
            ANY_SUBRECTS | SUBRECTS_COLOURED,
            1,
            0,
            0,
            255,
            7,
            0x50,
            0x10,
        ]);
        // Tile 4 (2x1): plain background: inherits red, no subrects.
        s.push(0);
        decode(&mut &s[..], &mut fb, Rect::new(0, 0, 18, 17)).unwrap();
        assert_eq!(px(&fb, 0, 0), [0, 255, 0, 255]);
        assert_eq!(px(&fb, 1, 0), [255, 0, 0, 255]);
        assert_eq!(px(&fb, 15, 1), [0, 255, 0, 255]);
        assert_eq!(px(&fb, 15, 2), [0, 255, 0, 255]);
        assert_eq!(px(&fb, 15, 3), [255, 0, 0, 255]);
        assert_eq!(px(&fb, 16, 0), [0, 0, 0, 255]);
        assert_eq!(px(&fb, 17, 15), [31, 31, 31, 255]);
        assert_eq!(px(&fb, 4, 16), [255, 0, 0, 255]);
        assert_eq!(px(&fb, 5, 16), [0, 0, 255, 255]);
        assert_eq!(px(&fb, 6, 16), [0, 0, 255, 255]);
        assert_eq!(px(&fb, 7, 16), [255, 0, 0, 255]);
        assert_eq!(px(&fb, 17, 16), [255, 0, 0, 255]);
    }

    #[test]
    fn subrect_outside_its_tile_is_an_error() {
        let mut fb = Framebuffer::new(4, 4).unwrap();
        // A 4x4 tile with a 2x1 subrect at x=3.
        let s = [BACKGROUND | ANY_SUBRECTS, 0, 0, 0, 0, 1, 0x30, 0x10];
        let err = decode(&mut &s[..], &mut fb, Rect::new(0, 0, 4, 4)).unwrap_err();
        assert!(matches!(err, RfbError::HextileSubrect));
    }

    #[test]
    fn truncation_is_an_error_at_every_length() {
        let s = [BACKGROUND | ANY_SUBRECTS, 1, 2, 3, 0, 1, 0x11, 0x11];
        for n in 0..s.len() {
            let mut fb = Framebuffer::new(4, 4).unwrap();
            assert!(decode(&mut &s[..n], &mut fb, Rect::new(0, 0, 4, 4)).is_err());
        }
    }
}
