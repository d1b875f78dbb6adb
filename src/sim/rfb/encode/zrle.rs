//! ZRLE encoding (16): `length u32` then that many bytes of one connection-long zlib stream
//! holding 64×64 tiles. Each tile: a subencoding byte, then
//! - 0 raw `CPIXEL`s, 1 one solid `CPIXEL`,
//! - 2–16 a palette of that many `CPIXEL`s and packed indices (1, 2 or 4 bits, rows padded
//!   to bytes, leftmost pixel in the high bits),
//! - 128 plain RLE: runs of `CPIXEL` + length, 130–255 palette RLE: palette of `n - 128`
//!   entries, then runs of an index (top bit set when a length follows).
//!
//! A run length `n` is sent as `(n-1)/255` bytes of 255 and a final `(n-1) % 255`.
//! For each tile we compute the exact size of every form that applies and send the smallest.

use super::rect::{EncodeError, ZlibStream, rect_header};
use crate::core::frame::{Framebuffer, Rect};
use crate::core::source::rfb::encodings::{self, zrle::TILE};
use crate::sim::rfb::pixel::{CpixelLayout, PixelFormat};

const MAX_PALETTE: usize = 127;

/// ZRLE state of one connection.
#[derive(Debug)]
pub struct ZrleEncoder {
    stream: Option<ZlibStream>,
    level: u8,
    /// Uncompressed tile data of the rectangle being encoded.
    plain: Vec<u8>,
    tile: TileScratch,
}

#[derive(Debug, Default)]
struct TileScratch {
    values: Vec<u32>,
    palette: Vec<u32>,
    /// Palette index per pixel while the palette is small enough.
    indices: Vec<u8>,
    /// (value, run length) in scan order.
    runs: Vec<(u32, usize)>,
}

impl ZrleEncoder {
    pub fn new(level: u8) -> Self {
        Self {
            stream: None,
            level,
            plain: Vec::new(),
            tile: TileScratch::default(),
        }
    }

    /// The compression level for what follows.
    pub fn set_level(&mut self, level: u8) {
        self.level = level;
    }

    /// Appends `r` of `fb` as one ZRLE rectangle.
    pub fn encode(
        &mut self,
        format: &PixelFormat,
        fb: &Framebuffer,
        r: Rect,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        fb.check_rect(r)?;
        rect_header(out, r, encodings::ZRLE);
        self.plain.clear();
        let layout = format.cpixel();
        for ty in (0..r.h).step_by(TILE as usize) {
            for tx in (0..r.w).step_by(TILE as usize) {
                let tile = Rect::new(r.x + tx, r.y + ty, TILE.min(r.w - tx), TILE.min(r.h - ty));
                self.tile.load(format, fb, tile);
                self.tile
                    .write(format, layout, tile.w as usize, &mut self.plain);
            }
        }
        let stream = self
            .stream
            .get_or_insert_with(|| ZlibStream::new(self.level));
        stream.set_level(self.level)?;
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        stream.compress_sync(&self.plain, out)?;
        let len = (out.len() - len_at - 4) as u32;
        out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

/// Bytes that encode a run length.
fn run_len_bytes(n: usize) -> usize {
    (n - 1) / 255 + 1
}

fn put_run_len(out: &mut Vec<u8>, n: usize) {
    let mut rest = n - 1;
    while rest >= 255 {
        out.push(255);
        rest -= 255;
    }
    out.push(rest as u8);
}

fn put_cpixel(out: &mut Vec<u8>, format: &PixelFormat, layout: CpixelLayout, v: u32) {
    let bytes = format.value_bytes(v);
    match layout {
        CpixelLayout::Full => out.extend_from_slice(&bytes),
        CpixelLayout::Three { offset } => out.extend_from_slice(&bytes[offset..offset + 3]),
    }
}

/// Bits per packed index for a palette of `n` colours (2..=16).
fn packed_bits(n: usize) -> usize {
    match n {
        2 => 1,
        3 | 4 => 2,
        _ => 4,
    }
}

impl TileScratch {
    /// Reads the tile's pixel values, palette (while ≤ 127 colours) and runs.
    fn load(&mut self, format: &PixelFormat, fb: &Framebuffer, tile: Rect) {
        self.values.clear();
        self.palette.clear();
        self.indices.clear();
        self.runs.clear();
        let mut palette_full = false;
        let mut last: Option<(u32, u8)> = None;
        for dy in 0..tile.h {
            for px in fb.row(tile, dy).chunks_exact(4) {
                let v = format.value(px[0], px[1], px[2]);
                self.values.push(v);
                match self.runs.last_mut() {
                    Some((rv, n)) if *rv == v => *n += 1,
                    _ => self.runs.push((v, 1)),
                }
                if palette_full {
                    continue;
                }
                let index = match last {
                    Some((lv, li)) if lv == v => Some(li),
                    _ => self.palette.iter().position(|&p| p == v).map(|i| i as u8),
                };
                let index = match index {
                    Some(i) => i,
                    None if self.palette.len() < MAX_PALETTE => {
                        self.palette.push(v);
                        (self.palette.len() - 1) as u8
                    }
                    None => {
                        palette_full = true;
                        self.palette.clear();
                        continue;
                    }
                };
                last = Some((v, index));
                self.indices.push(index);
            }
        }
    }

    /// Writes the smallest encoding of the loaded tile.
    fn write(&self, format: &PixelFormat, layout: CpixelLayout, width: usize, out: &mut Vec<u8>) {
        let bpc = match layout {
            CpixelLayout::Full => 4,
            CpixelLayout::Three { .. } => 3,
        };
        let n = self.palette.len();
        if n == 1 {
            out.push(1);
            put_cpixel(out, format, layout, self.palette[0]);
            return;
        }
        let height = self.values.len() / width;
        let raw = self.values.len() * bpc;
        let plain_rle: usize = self.runs.iter().map(|&(_, k)| bpc + run_len_bytes(k)).sum();
        let palette_rle = (n >= 2).then(|| {
            n * bpc
                + self
                    .runs
                    .iter()
                    .map(|&(_, k)| if k > 1 { 1 + run_len_bytes(k) } else { 1 })
                    .sum::<usize>()
        });
        let packed = (2..=16)
            .contains(&n)
            .then(|| n * bpc + height * (width * packed_bits(n)).div_ceil(8));
        let best = [Some(raw), Some(plain_rle), palette_rle, packed]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(raw);
        if packed == Some(best) {
            self.write_packed(format, layout, width, out);
        } else if palette_rle == Some(best) {
            self.write_palette_rle(format, layout, out);
        } else if plain_rle == best {
            out.push(128);
            for &(v, k) in &self.runs {
                put_cpixel(out, format, layout, v);
                put_run_len(out, k);
            }
        } else {
            out.push(0);
            for &v in &self.values {
                put_cpixel(out, format, layout, v);
            }
        }
    }

    fn write_palette(&self, format: &PixelFormat, layout: CpixelLayout, out: &mut Vec<u8>) {
        for &p in &self.palette {
            put_cpixel(out, format, layout, p);
        }
    }

    fn write_packed(
        &self,
        format: &PixelFormat,
        layout: CpixelLayout,
        width: usize,
        out: &mut Vec<u8>,
    ) {
        out.push(self.palette.len() as u8);
        self.write_palette(format, layout, out);
        let bits = packed_bits(self.palette.len());
        for row in self.indices.chunks_exact(width) {
            let mut byte = 0u8;
            let mut used = 0;
            for &i in row {
                byte |= i << (8 - bits - used);
                used += bits;
                if used == 8 {
                    out.push(byte);
                    byte = 0;
                    used = 0;
                }
            }
            if used > 0 {
                out.push(byte);
            }
        }
    }

    fn write_palette_rle(&self, format: &PixelFormat, layout: CpixelLayout, out: &mut Vec<u8>) {
        out.push(128 + self.palette.len() as u8);
        self.write_palette(format, layout, out);
        let mut at = 0;
        for &(_, k) in &self.runs {
            let index = self.indices[at];
            at += k;
            if k == 1 {
                out.push(index);
            } else {
                out.push(index | 0x80);
                put_run_len(out, k);
            }
        }
    }
}
