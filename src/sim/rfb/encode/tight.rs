//! Tight encoding (7). Each rectangle's data starts with a compression-control byte: the low
//! four bits reset zlib streams 0–3; the high four say what follows:
//! - `0x80` Fill: one `TPIXEL` paints the whole rectangle;
//! - `0x90` JPEG: compact length + a JPEG image;
//! - `0x00..=0x70` basic: bits 4–5 pick a zlib stream, bit 6 says a filter id byte follows
//!   (without it: the copy filter). Data is `TPIXEL`s; under 12 bytes it is sent as is,
//!   otherwise as compact length + zlib data (sync-flushed, stream kept across rectangles).
//!
//! `TPIXEL` is R, G, B (three bytes) when the client's format is 32 bpp, depth 24 with 8 bits
//! per channel, otherwise a full pixel. A compact length is 1–3 bytes of 7, 7 and 8 bits,
//! low bits first, the top bit of the first two saying another byte follows. Rectangles are
//! at most 2048 pixels wide; we split wider (and very large) areas.

use super::rect::{EncodeError, ZlibStream, rect_header};
use crate::core::frame::{Framebuffer, Rect};
use crate::core::source::rfb::encodings::{self, tight};
use crate::sim::rfb::pixel::PixelFormat;

/// Widest rectangle Tight allows.
pub const MAX_WIDTH: u32 = 2048;
/// Largest area we put in one rectangle, keeping every compact length below 4 MiB.
const MAX_AREA: u32 = MAX_WIDTH * 256;
/// Areas with more colours than this (and big enough) go as JPEG when the client allows it.
const JPEG_MIN_COLOURS: usize = 24;
const JPEG_MIN_SIDE: u32 = 8;
/// Compression-control bytes: Fill and JPEG (stream resets are never asked for).
const FILL: u8 = tight::FILL << 4;
const JPEG: u8 = tight::JPEG << 4;
/// Largest value a compact length can carry.
const MAX_COMPACT_LEN: usize = (1 << 22) - 1;

/// JPEG quality for the client's quality levels 0–9.
const JPEG_QUALITY: [u8; 10] = [15, 25, 35, 45, 55, 65, 75, 80, 88, 95];

/// Chroma subsampling for a quality level, as TigerVNC's server chooses it: 4:2:0 for
/// levels 0–2, 4:2:2 for 3–5, none from 6 up.
fn jpeg_sampling(level: u8) -> jpeg_encoder::SamplingFactor {
    match level {
        0..=2 => jpeg_encoder::SamplingFactor::F_2_2,
        3..=5 => jpeg_encoder::SamplingFactor::F_2_1,
        _ => jpeg_encoder::SamplingFactor::F_1_1,
    }
}

/// Tight state of one connection.
#[derive(Debug)]
pub struct TightEncoder {
    stream: Option<ZlibStream>,
    level: u8,
    jpeg_level: Option<u8>,
    plain: Vec<u8>,
}

impl TightEncoder {
    pub fn new(level: u8) -> Self {
        Self {
            stream: None,
            level,
            jpeg_level: None,
            plain: Vec::new(),
        }
    }

    pub fn set_level(&mut self, level: u8) {
        self.level = level;
    }

    /// The client's JPEG quality level (0–9); `None`: never JPEG.
    pub fn set_jpeg_quality(&mut self, level: Option<u8>) {
        self.jpeg_level = level.map(|l| l.min(9));
    }

    /// Appends `r` of `fb` as Tight rectangles; returns how many.
    pub fn encode(
        &mut self,
        format: &PixelFormat,
        fb: &Framebuffer,
        r: Rect,
        out: &mut Vec<u8>,
    ) -> Result<u16, EncodeError> {
        fb.check_rect(r)?;
        let mut count = 0u16;
        let part_h = (MAX_AREA / r.w.clamp(1, MAX_WIDTH)).max(1);
        for y in (0..r.h).step_by(part_h as usize) {
            for x in (0..r.w).step_by(MAX_WIDTH as usize) {
                let part = Rect::new(
                    r.x + x,
                    r.y + y,
                    MAX_WIDTH.min(r.w - x),
                    part_h.min(r.h - y),
                );
                self.encode_one(format, fb, part, out)?;
                count = count.saturating_add(1);
            }
        }
        Ok(count)
    }

    fn encode_one(
        &mut self,
        format: &PixelFormat,
        fb: &Framebuffer,
        r: Rect,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        rect_header(out, r, encodings::TIGHT);
        let colours = count_colours(fb, r, JPEG_MIN_COLOURS + 1);
        if colours == 1 {
            out.push(FILL);
            put_tpixel(out, format, &fb.row(r, 0)[..4]);
            return Ok(());
        }
        if let Some(level) = self.jpeg_level
            && colours > JPEG_MIN_COLOURS
            && r.w >= JPEG_MIN_SIDE
            && r.h >= JPEG_MIN_SIDE
        {
            return self.encode_jpeg(fb, r, level, out);
        }
        self.plain.clear();
        for dy in 0..r.h {
            for px in fb.row(r, dy).chunks_exact(4) {
                put_tpixel(&mut self.plain, format, px);
            }
        }
        // Stream 0, no explicit filter: the copy filter.
        out.push(0x00);
        if self.plain.len() < tight::MIN_TO_COMPRESS {
            out.extend_from_slice(&self.plain);
            return Ok(());
        }
        let stream = self
            .stream
            .get_or_insert_with(|| ZlibStream::new(self.level));
        stream.set_level(self.level)?;
        let mut packed = Vec::with_capacity(self.plain.len() / 4 + 64);
        stream.compress_sync(&self.plain, &mut packed)?;
        put_compact_len(out, packed.len())?;
        out.extend_from_slice(&packed);
        Ok(())
    }

    fn encode_jpeg(
        &mut self,
        fb: &Framebuffer,
        r: Rect,
        level: u8,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        self.plain.clear();
        for dy in 0..r.h {
            for px in fb.row(r, dy).chunks_exact(4) {
                self.plain.extend_from_slice(&px[..3]);
            }
        }
        let mut jpeg = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, JPEG_QUALITY[usize::from(level)]);
        encoder.set_sampling_factor(jpeg_sampling(level));
        encoder
            .encode(
                &self.plain,
                r.w as u16,
                r.h as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .map_err(|e| EncodeError::Jpeg(e.to_string()))?;
        out.push(JPEG);
        put_compact_len(out, jpeg.len())?;
        out.extend_from_slice(&jpeg);
        Ok(())
    }
}

/// Distinct colours in `r`, counting no further than `limit`.
fn count_colours(fb: &Framebuffer, r: Rect, limit: usize) -> usize {
    let mut seen: Vec<[u8; 3]> = Vec::with_capacity(limit);
    let mut last = [0u8; 3];
    for dy in 0..r.h {
        for px in fb.row(r, dy).chunks_exact(4) {
            let rgb = [px[0], px[1], px[2]];
            if (!seen.is_empty() && rgb == last) || seen.contains(&rgb) {
                last = rgb;
                continue;
            }
            seen.push(rgb);
            last = rgb;
            if seen.len() >= limit {
                return seen.len();
            }
        }
    }
    seen.len()
}

fn put_tpixel(out: &mut Vec<u8>, format: &PixelFormat, px: &[u8]) {
    if format.tpixel_is_rgb() {
        out.extend_from_slice(&px[..3]);
    } else {
        format.put(out, px);
    }
}

fn put_compact_len(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    if len > MAX_COMPACT_LEN {
        return Err(EncodeError::TightTooLong { len });
    }
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x4000 {
        out.extend_from_slice(&[(len as u8 & 0x7F) | 0x80, (len >> 7) as u8]);
    } else {
        out.extend_from_slice(&[
            (len as u8 & 0x7F) | 0x80,
            ((len >> 7) as u8 & 0x7F) | 0x80,
            (len >> 14) as u8,
        ]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_lengths_match_the_spec_examples() {
        let enc = |n| {
            let mut v = Vec::new();
            put_compact_len(&mut v, n).map(|()| v)
        };
        assert_eq!(enc(5).ok(), Some(vec![5]));
        assert_eq!(enc(0x80).ok(), Some(vec![0x80, 0x01]));
        assert_eq!(enc(10000).ok(), Some(vec![0x90, 0x4E]));
        assert_eq!(enc(0x4000).ok(), Some(vec![0x80, 0x80, 0x01]));
        assert_eq!(enc(MAX_COMPACT_LEN).ok(), Some(vec![0xFF, 0xFF, 0xFF]));
        assert!(enc(MAX_COMPACT_LEN + 1).is_err());
    }

    #[test]
    fn jpeg_chroma_is_subsampled_as_tigervnc_does_it() {
        let mut fb = Framebuffer::new(32, 16).unwrap();
        for (i, b) in fb.pixels_mut().iter_mut().enumerate() {
            *b = (i * 37 % 251) as u8;
        }
        for (level, sampling) in [(1u8, 0x22u8), (4, 0x21), (6, 0x11), (9, 0x11)] {
            let mut enc = TightEncoder::new(2);
            enc.set_jpeg_quality(Some(level));
            let mut out = Vec::new();
            enc.encode(&PixelFormat::SERVER, &fb, Rect::new(0, 0, 32, 16), &mut out)
                .unwrap();
            // SOF0, then length, precision, height, width, 3 components: id, sampling, table.
            let sof = out.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
            assert_eq!(out[sof + 9], 3, "level {level}");
            assert_eq!(out[sof + 11], sampling, "level {level}");
        }
    }
}
