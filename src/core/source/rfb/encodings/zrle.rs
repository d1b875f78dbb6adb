//! ZRLE encoding (16): `length: u32`, then that many bytes of one connection-wide zlib
//! stream. Inflated, the data is 64x64 tiles, left to right, top to bottom, each opening
//! with a subencoding byte:
//! - 0: raw, `tw * th` CPIXELs;  1: solid, one CPIXEL;
//! - 2..=16: packed palette of that many CPIXELs, then indices of 1, 2 or 4 bits, MSB
//!   first, each row padded to a byte;
//! - 128: plain RLE, runs of `CPIXEL length`;
//! - 130..=255: palette RLE, palette of `sub - 128` CPIXELs, then runs: an index byte, and
//!   when its top bit is set a run length follows (otherwise the run is one pixel).
//!
//! A run length is bytes summed until one is not 255, plus one; runs flow across rows but
//! never past the tile. 17..=127 and 129 are invalid.

use std::io::Read;

use super::super::RfbError;
use super::super::pixel::{CPIXEL_BYTES, cpixels_to_row, fill_row, rgba_from_cpixel};
use super::super::wire::{Payload, Wire};
use super::super::zlib::Inflater;
use crate::core::frame::{Framebuffer, Rect};

/// Tile side, in pixels.
pub const TILE: u32 = 64;
const NAME: &str = "ZRLE";

/// The most inflated bytes a rectangle can legally need: per tile one subencoding byte, a
/// palette of at most 127 CPIXELs, and at most 4 bytes a pixel (plain RLE of single pixels).
fn max_inflated(rect: Rect) -> usize {
    let tiles = rect.w.div_ceil(TILE) as usize * rect.h.div_ceil(TILE) as usize;
    rect.area() as usize * 4 + tiles * (1 + 127 * CPIXEL_BYTES)
}

pub(super) fn decode(
    r: &mut dyn Read,
    fb: &mut Framebuffer,
    rect: Rect,
    z: &mut Inflater,
) -> Result<(), RfbError> {
    fb.check_rect(rect)?;
    let len = r.u32()?;
    let max_out = max_inflated(rect);
    // Deflate never expands data by more than a little; twice the output is generous.
    let max_len = max_out as u64 * 2 + 1024;
    if u64::from(len) > max_len {
        return Err(RfbError::PayloadTooLarge {
            encoding: NAME,
            len: len.into(),
            max: max_len,
        });
    }
    let data = z.inflate(r, len as usize, max_out)?;
    let mut p = Payload::new(data, NAME);
    let mut runs_buf = [0u32; (TILE * TILE) as usize];
    for ty in (0..rect.h).step_by(TILE as usize) {
        for tx in (0..rect.w).step_by(TILE as usize) {
            let tile = Rect::new(
                rect.x + tx,
                rect.y + ty,
                TILE.min(rect.w - tx),
                TILE.min(rect.h - ty),
            );
            decode_tile(&mut p, fb, tile, &mut runs_buf)?;
        }
    }
    Ok(())
}

fn decode_tile(
    p: &mut Payload<'_>,
    fb: &mut Framebuffer,
    tile: Rect,
    runs_buf: &mut TileBuffer,
) -> Result<(), RfbError> {
    let sub = p.u8()?;
    match sub {
        0 => {
            let row_bytes = tile.w as usize * CPIXEL_BYTES;
            let data = p.take(row_bytes * tile.h as usize)?;
            for (dy, src) in data.chunks_exact(row_bytes).enumerate() {
                cpixels_to_row(fb.row_mut(tile, dy as u32), src);
            }
        }
        1 => {
            let px = rgba_from_cpixel(p.take(CPIXEL_BYTES)?);
            for dy in 0..tile.h {
                fill_row(fb.row_mut(tile, dy), px);
            }
        }
        2..=16 => {
            let palette = read_palette(p, usize::from(sub))?;
            packed_palette(p, fb, tile, &palette[..usize::from(sub)])?;
        }
        128 => {
            let mut runs = Runs::new(tile, runs_buf);
            while !runs.done() {
                let px = rgba_from_cpixel(p.take(CPIXEL_BYTES)?);
                let len = p.run_length(runs.left())?;
                runs.push(px, len);
            }
            runs.copy_to(fb);
        }
        130..=255 => {
            let size = usize::from(sub - 128);
            let palette = read_palette(p, size)?;
            let mut runs = Runs::new(tile, runs_buf);
            while !runs.done() {
                let b = p.u8()?;
                let index = b & 0x7f;
                if usize::from(index) >= size {
                    return Err(RfbError::PaletteIndex {
                        encoding: NAME,
                        index,
                        size,
                    });
                }
                let len = if b & 0x80 != 0 {
                    p.run_length(runs.left())?
                } else {
                    1
                };
                runs.push(palette[usize::from(index)], len);
            }
            runs.copy_to(fb);
        }
        _ => return Err(RfbError::ZrleSubencoding { sub }),
    }
    Ok(())
}

fn read_palette(p: &mut Payload<'_>, size: usize) -> Result<[[u8; 4]; 127], RfbError> {
    let mut palette = [[0u8; 4]; 127];
    for (entry, c) in palette
        .iter_mut()
        .zip(p.take(size * CPIXEL_BYTES)?.chunks_exact(CPIXEL_BYTES))
    {
        *entry = rgba_from_cpixel(c);
    }
    Ok(palette)
}

fn packed_palette(
    p: &mut Payload<'_>,
    fb: &mut Framebuffer,
    tile: Rect,
    palette: &[[u8; 4]],
) -> Result<(), RfbError> {
    let bits: usize = match palette.len() {
        2 => 1,
        3 | 4 => 2,
        _ => 4,
    };
    let mask = (1u8 << bits) - 1;
    let row_bytes = (tile.w as usize * bits).div_ceil(8);
    for dy in 0..tile.h {
        let src = p.take(row_bytes)?;
        let row = fb.row_mut(tile, dy);
        for (x, dst) in row.chunks_exact_mut(4).enumerate() {
            let bit = x * bits;
            let index = (src[bit / 8] >> (8 - bits - bit % 8)) & mask;
            if usize::from(index) >= palette.len() {
                return Err(RfbError::PaletteIndex {
                    encoding: NAME,
                    index,
                    size: palette.len(),
                });
            }
            dst.copy_from_slice(&palette[usize::from(index)]);
        }
    }
    Ok(())
}

/// Collects the runs of one RLE tile in a small linear buffer (runs flow across rows),
/// then copies it into the framebuffer row by row.
struct Runs<'a> {
    tile: Rect,
    /// Pixels as `u32::from_ne_bytes(rgba)`; the first `tile.w * tile.h` are used.
    pixels: &'a mut TileBuffer,
    pos: usize,
    total: usize,
}

type TileBuffer = [u32; (TILE * TILE) as usize];

impl<'a> Runs<'a> {
    fn new(tile: Rect, pixels: &'a mut TileBuffer) -> Self {
        Self {
            tile,
            pixels,
            pos: 0,
            total: tile.area() as usize,
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.total
    }

    fn left(&self) -> usize {
        self.total - self.pos
    }

    /// Appends `len` pixels; the caller has checked `len <= self.left()`.
    fn push(&mut self, px: [u8; 4], len: usize) {
        let end = (self.pos + len).min(self.total);
        self.pixels[self.pos..end].fill(u32::from_ne_bytes(px));
        self.pos = end;
    }

    fn copy_to(&self, fb: &mut Framebuffer) {
        let w = self.tile.w as usize;
        if w == 0 {
            return;
        }
        for (dy, src) in self.pixels[..self.total].chunks_exact(w).enumerate() {
            let row = fb.row_mut(self.tile, dy as u32);
            for (d, s) in row.chunks_exact_mut(4).zip(src) {
                d.copy_from_slice(&s.to_ne_bytes());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::zlib::tests::deflate_sync;
    use super::*;
    use flate2::{Compress, Compression};

    fn px(fb: &Framebuffer, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * fb.width() + x) * 4) as usize;
        fb.pixels()[i..i + 4].try_into().unwrap()
    }

    /// A ZRLE rectangle payload: length plus zlib data, on the given stream.
    fn wire(c: &mut Compress, tiles: &[u8]) -> Vec<u8> {
        let z = deflate_sync(c, tiles);
        let mut out = (z.len() as u32).to_be_bytes().to_vec();
        out.extend(z);
        out
    }

    fn run(fb: &mut Framebuffer, rect: Rect, tiles: &[u8]) -> Result<(), RfbError> {
        let mut c = Compress::new(Compression::default(), true);
        let w = wire(&mut c, tiles);
        decode(&mut &w[..], fb, rect, &mut Inflater::new())
    }

    #[test]
    fn raw_solid_and_packed_palette_tiles() {
        // 66x2: tile A is 64x2, tile B 2x2.
        let mut fb = Framebuffer::new(66, 2).unwrap();
        let mut t = vec![2u8, 10, 0, 0, 0, 20, 0]; // 2-colour palette
        for _ in 0..2 {
            t.extend([0b1010_0000, 0, 0, 0, 0, 0, 0, 0xff]); // 64 bits per row
        }
        t.push(0); // raw 2x2
        t.extend([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
        run(&mut fb, Rect::new(0, 0, 66, 2), &t).unwrap();
        assert_eq!(px(&fb, 0, 0), [0, 20, 0, 255]);
        assert_eq!(px(&fb, 1, 0), [10, 0, 0, 255]);
        assert_eq!(px(&fb, 2, 1), [0, 20, 0, 255]);
        assert_eq!(px(&fb, 63, 1), [0, 20, 0, 255]);
        assert_eq!(px(&fb, 62, 0), [0, 20, 0, 255]);
        assert_eq!(px(&fb, 3, 0), [10, 0, 0, 255]);
        assert_eq!(px(&fb, 65, 1), [4, 4, 4, 255]);

        let mut fb = Framebuffer::new(3, 1).unwrap();
        run(&mut fb, Rect::new(0, 0, 3, 1), &[1, 9, 8, 7]).unwrap();
        assert!(fb.pixels().chunks(4).all(|p| p == [9, 8, 7, 255]));

        // 5-colour palette: 4-bit indices; 3 pixels in 2 bytes.
        let mut fb = Framebuffer::new(3, 1).unwrap();
        let mut t = vec![5u8];
        for i in 0..5u8 {
            t.extend([i, i, i]);
        }
        t.extend([0x41, 0x20]);
        run(&mut fb, Rect::new(0, 0, 3, 1), &t).unwrap();
        assert_eq!(fb.pixels(), &[4, 4, 4, 255, 1, 1, 1, 255, 2, 2, 2, 255]);
    }

    #[test]
    fn plain_and_palette_rle_runs_cross_rows() {
        let mut fb = Framebuffer::new(3, 3).unwrap();
        // Plain RLE: 4 red, 5 blue.
        let t = [128, 255, 0, 0, 3, 0, 0, 255, 4];
        run(&mut fb, Rect::new(0, 0, 3, 3), &t).unwrap();
        assert_eq!(px(&fb, 0, 1), [255, 0, 0, 255]);
        assert_eq!(px(&fb, 1, 1), [0, 0, 255, 255]);
        assert_eq!(px(&fb, 2, 2), [0, 0, 255, 255]);
        // Palette RLE of 2: one single index 1, a run of 7 of index 0, single 1.
        let t = [130, 1, 1, 1, 2, 2, 2, 1, 0x80, 6, 1];
        run(&mut fb, Rect::new(0, 0, 3, 3), &t).unwrap();
        assert_eq!(px(&fb, 0, 0), [2, 2, 2, 255]);
        assert_eq!(px(&fb, 1, 0), [1, 1, 1, 255]);
        assert_eq!(px(&fb, 1, 2), [1, 1, 1, 255]);
        assert_eq!(px(&fb, 2, 2), [2, 2, 2, 255]);
    }

    #[test]
    fn one_stream_spans_rectangles() {
        let mut fb = Framebuffer::new(2, 1).unwrap();
        let mut c = Compress::new(Compression::default(), true);
        let mut w = wire(&mut c, &[1, 5, 5, 5]);
        w.extend(wire(&mut c, &[1, 6, 6, 6]));
        let mut r = &w[..];
        let mut z = Inflater::new();
        decode(&mut r, &mut fb, Rect::new(0, 0, 1, 1), &mut z).unwrap();
        decode(&mut r, &mut fb, Rect::new(1, 0, 1, 1), &mut z).unwrap();
        assert_eq!(fb.pixels(), &[5, 5, 5, 255, 6, 6, 6, 255]);
    }

    #[test]
    fn hostile_tiles_are_named_errors() {
        let rect = Rect::new(0, 0, 2, 2);
        let mut fb = Framebuffer::new(2, 2).unwrap();
        for sub in [17u8, 100, 127, 129] {
            let err = run(&mut fb, rect, &[sub, 0, 0, 0]).unwrap_err();
            assert!(
                matches!(err, RfbError::ZrleSubencoding { sub: s } if s == sub),
                "{err}"
            );
        }
        // Run longer than the tile.
        let err = run(&mut fb, rect, &[128, 1, 2, 3, 4]).unwrap_err();
        assert!(matches!(err, RfbError::RunOverflow { .. }), "{err}");
        // Palette RLE index past the palette.
        let err = run(&mut fb, rect, &[130, 0, 0, 0, 1, 1, 1, 5]).unwrap_err();
        assert!(
            matches!(err, RfbError::PaletteIndex { index: 5, .. }),
            "{err}"
        );
        // Packed palette of 3 uses 2-bit indices; index 3 is past it.
        let err = run(&mut fb, rect, &[3, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0xc0, 0]).unwrap_err();
        assert!(
            matches!(err, RfbError::PaletteIndex { index: 3, .. }),
            "{err}"
        );
        // Data ends inside a tile.
        let err = run(&mut fb, rect, &[0, 1, 2, 3]).unwrap_err();
        assert!(matches!(err, RfbError::ShortPayload { .. }), "{err}");
        // Rectangle outside the framebuffer: nothing is read.
        let err = run(&mut fb, Rect::new(1, 1, 2, 2), &[1, 0, 0, 0]).unwrap_err();
        assert!(matches!(err, RfbError::Frame(_)), "{err}");
    }

    #[test]
    fn lengths_and_bombs_are_bounded() {
        let rect = Rect::new(0, 0, 2, 2);
        let mut fb = Framebuffer::new(2, 2).unwrap();
        let huge = u32::MAX.to_be_bytes();
        let err = decode(&mut &huge[..], &mut fb, rect, &mut Inflater::new()).unwrap_err();
        assert!(matches!(err, RfbError::PayloadTooLarge { .. }), "{err}");
        // A tile that inflates to far more than a 2x2 rectangle can need.
        let mut t = vec![1u8, 1, 2, 3];
        t.extend(vec![0u8; 100_000]);
        let mut c = Compress::new(Compression::best(), true);
        let z = deflate_sync(&mut c, &t);
        let mut w = (z.len() as u32).to_be_bytes().to_vec();
        w.extend(z);
        let err = decode(&mut &w[..], &mut fb, rect, &mut Inflater::new()).unwrap_err();
        assert!(matches!(err, RfbError::ZlibOverflow { .. }), "{err}");
    }

    #[test]
    fn truncation_is_an_error_at_every_length() {
        let mut c = Compress::new(Compression::default(), true);
        let w = wire(&mut c, &[128, 255, 0, 0, 3]);
        for n in 0..w.len() {
            let mut fb = Framebuffer::new(2, 2).unwrap();
            let res = decode(
                &mut &w[..n],
                &mut fb,
                Rect::new(0, 0, 2, 2),
                &mut Inflater::new(),
            );
            assert!(res.is_err(), "prefix {n}");
        }
    }
}
