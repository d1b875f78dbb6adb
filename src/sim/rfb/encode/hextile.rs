//! Hextile encoding (5): the rectangle in 16×16 tiles, left to right, top to bottom. Each
//! tile starts with a mask byte: Raw (1) then `w*h` pixels; otherwise BackgroundSpecified
//! (2) + pixel, ForegroundSpecified (4) + pixel, AnySubrects (8) + count u8 and per
//! subrectangle `x<<4|y`, `(w-1)<<4|(h-1)`.
//!
//! We send solid tiles as a background, two-colour tiles (text) as background, foreground
//! and one subrectangle per horizontal run, and everything else raw. Every non-raw tile
//! names its colours, so nothing depends on what the previous tile left behind.

use super::rect::{EncodeError, rect_header};
use crate::core::frame::{Framebuffer, Rect};
use crate::core::source::rfb::encodings::{
    self,
    hextile::{ANY_SUBRECTS, BACKGROUND, FOREGROUND, RAW, TILE},
};
use crate::sim::rfb::pixel::PixelFormat;

/// Appends `r` of `fb` as one Hextile rectangle.
pub fn encode(
    format: &PixelFormat,
    fb: &Framebuffer,
    r: Rect,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    fb.check_rect(r)?;
    rect_header(out, r, encodings::HEXTILE);
    let mut values = Vec::with_capacity((TILE * TILE) as usize);
    for ty in (0..r.h).step_by(TILE as usize) {
        for tx in (0..r.w).step_by(TILE as usize) {
            let tile = Rect::new(r.x + tx, r.y + ty, TILE.min(r.w - tx), TILE.min(r.h - ty));
            values.clear();
            for dy in 0..tile.h {
                for px in fb.row(tile, dy).chunks_exact(4) {
                    values.push(format.value(px[0], px[1], px[2]));
                }
            }
            encode_tile(format, tile, &values, out);
        }
    }
    Ok(())
}

fn encode_tile(format: &PixelFormat, tile: Rect, values: &[u32], out: &mut Vec<u8>) {
    let bg = values[0];
    let Some(fg) = values.iter().copied().find(|&v| v != bg) else {
        out.push(BACKGROUND);
        out.extend_from_slice(&format.value_bytes(bg));
        return;
    };
    if values.iter().all(|&v| v == bg || v == fg) {
        let runs = fg_runs(tile, values, fg);
        // mask + two pixels + count + two bytes per run, against mask + raw pixels.
        if runs.len() <= 255 && 1 + 8 + 1 + runs.len() * 2 < 1 + values.len() * 4 {
            out.push(BACKGROUND | FOREGROUND | ANY_SUBRECTS);
            out.extend_from_slice(&format.value_bytes(bg));
            out.extend_from_slice(&format.value_bytes(fg));
            out.push(runs.len() as u8);
            for (x, y, w) in runs {
                out.push((x << 4) | y);
                out.push((w - 1) << 4);
            }
            return;
        }
    }
    out.push(RAW);
    for &v in values {
        out.extend_from_slice(&format.value_bytes(v));
    }
}

/// Horizontal runs of the foreground colour as (x, y, width), all within a 16×16 tile.
fn fg_runs(tile: Rect, values: &[u32], fg: u32) -> Vec<(u8, u8, u8)> {
    let mut runs = Vec::new();
    for (y, row) in values.chunks_exact(tile.w as usize).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row[x] == fg {
                let start = x;
                while x < row.len() && row[x] == fg {
                    x += 1;
                }
                runs.push((start as u8, y as u8, (x - start) as u8));
            } else {
                x += 1;
            }
        }
    }
    runs
}
