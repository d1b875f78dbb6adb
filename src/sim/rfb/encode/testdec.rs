//! A small independent RFB update decoder for the simulator's own tests, written from the
//! spec (not from the encoders and not the crate's client), to check that what we send
//! decodes back to the source pixels.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use flate2::{Decompress, FlushDecompress};

use crate::core::frame::{Framebuffer, Rect};
use crate::core::source::rfb::encodings;
use crate::sim::rfb::pixel::PixelFormat;

pub(crate) struct ClientFb {
    pub fb: Framebuffer,
    pub format: PixelFormat,
    zrle: Decompress,
    tight: [Decompress; 4],
    pub jpeg_rects: usize,
    pub copy_rects: usize,
    pub zrle_subencodings: Vec<u8>,
    pub cursor: Option<(u32, u32, u32, u32)>,
    pub pointer: Option<(u32, u32)>,
    pub encodings_seen: Vec<i32>,
}

/// Where the decoder gets its bytes: a slice, or a blocking socket in tests.
pub(crate) trait Source {
    fn take(&mut self, n: usize) -> Result<Vec<u8>, String>;
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

pub(crate) struct Reader<'a> {
    pub data: &'a [u8],
    pub at: usize,
}

impl Source for Reader<'_> {
    fn take(&mut self, n: usize) -> Result<Vec<u8>, String> {
        let end = self.at.checked_add(n).ok_or("overflow")?;
        let s = self.data.get(self.at..end).ok_or("truncated")?;
        self.at = end;
        Ok(s.to_vec())
    }
}

fn rgb_of(format: &PixelFormat, v: u32) -> [u8; 4] {
    let ch = |shift: u8, max: u16| ((v >> shift) & u32::from(max)) * 255 / u32::from(max);
    [
        ch(format.red_shift, format.red_max) as u8,
        ch(format.green_shift, format.green_max) as u8,
        ch(format.blue_shift, format.blue_max) as u8,
        255,
    ]
}

fn inflate(z: &mut Decompress, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 4 + 1024);
    let start = z.total_in();
    loop {
        let done = (z.total_in() - start) as usize;
        out.reserve(64 * 1024);
        z.decompress_vec(&input[done..], &mut out, FlushDecompress::Sync)
            .unwrap();
        if (z.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
            return out;
        }
    }
}

impl ClientFb {
    pub fn new(w: u32, h: u32, format: PixelFormat) -> Self {
        Self {
            fb: Framebuffer::new(w, h).unwrap(),
            format,
            zrle: Decompress::new(true),
            tight: std::array::from_fn(|_| Decompress::new(true)),
            jpeg_rects: 0,
            copy_rects: 0,
            zrle_subencodings: Vec::new(),
            cursor: None,
            pointer: None,
            encodings_seen: Vec::new(),
        }
    }

    fn pixel(&self, b: &[u8]) -> [u8; 4] {
        let v = if self.format.big_endian {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        rgb_of(&self.format, v)
    }

    fn cpixel(&self, b: &[u8]) -> [u8; 4] {
        // Put the three bytes back where they sit in the four-byte pixel (spec rule).
        let f = &self.format;
        let mask = u64::from(f.red_max) << f.red_shift
            | u64::from(f.green_max) << f.green_shift
            | u64::from(f.blue_max) << f.blue_shift;
        let low = mask & 0xFF00_0000 == 0;
        let four = if low != f.big_endian {
            [b[0], b[1], b[2], 0]
        } else {
            [0, b[0], b[1], b[2]]
        };
        self.pixel(&four)
    }

    fn cpixel_len(&self) -> usize {
        let f = &self.format;
        let mask = u64::from(f.red_max) << f.red_shift
            | u64::from(f.green_max) << f.green_shift
            | u64::from(f.blue_max) << f.blue_shift;
        if f.depth <= 24 && (mask & 0xFF00_0000 == 0 || mask & 0xFF == 0) {
            3
        } else {
            4
        }
    }

    fn put(&mut self, x: u32, y: u32, rgba: [u8; 4]) {
        let w = self.fb.width();
        let i = ((y * w + x) * 4) as usize;
        self.fb.pixels_mut()[i..i + 4].copy_from_slice(&rgba);
    }

    fn fill(&mut self, r: Rect, rgba: [u8; 4]) {
        self.fb.fill_rect(r, rgba).unwrap();
    }

    /// Applies one whole FramebufferUpdate message; returns the bytes it used.
    pub fn apply_update(&mut self, data: &[u8]) -> Result<usize, String> {
        let mut rd = Reader { data, at: 0 };
        if rd.u8()? != 0 {
            return Err("not a FramebufferUpdate".into());
        }
        self.apply_update_body(&mut rd)?;
        Ok(rd.at)
    }

    /// Applies a FramebufferUpdate whose type byte has been read already.
    pub fn apply_update_body(&mut self, rd: &mut dyn Source) -> Result<(), String> {
        rd.u8()?;
        let count = rd.u16()?;
        for _ in 0..count {
            let r = Rect::new(
                rd.u16()?.into(),
                rd.u16()?.into(),
                rd.u16()?.into(),
                rd.u16()?.into(),
            );
            let enc = rd.u32()? as i32;
            self.encodings_seen.push(enc);
            match enc {
                encodings::LAST_RECT => break,
                encodings::DESKTOP_SIZE => self.fb = Framebuffer::new(r.w, r.h).unwrap(),
                encodings::POINTER_POS => self.pointer = Some((r.x, r.y)),
                encodings::CURSOR => {
                    rd.take(r.area() as usize * 4)?;
                    rd.take((r.w as usize).div_ceil(8) * r.h as usize)?;
                    self.cursor = Some((r.x, r.y, r.w, r.h));
                }
                _ => {
                    self.fb.check_rect(r).map_err(|e| e.to_string())?;
                    self.rect(rd, r, enc)?;
                }
            }
        }
        Ok(())
    }

    fn rect(&mut self, rd: &mut dyn Source, r: Rect, enc: i32) -> Result<(), String> {
        match enc {
            encodings::RAW => {
                for y in r.y..r.bottom() {
                    for x in r.x..r.right() {
                        let p = self.pixel(&rd.take(4)?);
                        self.put(x, y, p);
                    }
                }
            }
            encodings::COPY_RECT => {
                let (sx, sy) = (rd.u16()?, rd.u16()?);
                self.fb
                    .copy_rect(sx.into(), sy.into(), r)
                    .map_err(|e| e.to_string())?;
                self.copy_rects += 1;
            }
            encodings::HEXTILE => self.hextile(rd, r)?,
            encodings::ZRLE => self.zrle(rd, r)?,
            encodings::TIGHT => self.tight(rd, r)?,
            other => return Err(format!("unexpected encoding {other}")),
        }
        Ok(())
    }

    fn hextile(&mut self, rd: &mut dyn Source, r: Rect) -> Result<(), String> {
        let (mut bg, mut fg) = ([0u8; 4], [0u8; 4]);
        for ty in (r.y..r.bottom()).step_by(16) {
            for tx in (r.x..r.right()).step_by(16) {
                let t = Rect::new(tx, ty, 16.min(r.right() - tx), 16.min(r.bottom() - ty));
                let mask = rd.u8()?;
                if mask & 1 != 0 {
                    for y in t.y..t.bottom() {
                        for x in t.x..t.right() {
                            let p = self.pixel(&rd.take(4)?);
                            self.put(x, y, p);
                        }
                    }
                    continue;
                }
                if mask & 2 != 0 {
                    bg = self.pixel(&rd.take(4)?);
                }
                self.fill(t, bg);
                if mask & 4 != 0 {
                    fg = self.pixel(&rd.take(4)?);
                }
                if mask & 8 != 0 {
                    let n = rd.u8()?;
                    for _ in 0..n {
                        let colour = if mask & 16 != 0 {
                            self.pixel(&rd.take(4)?)
                        } else {
                            fg
                        };
                        let xy = rd.u8()?;
                        let wh = rd.u8()?;
                        let s = Rect::new(
                            t.x + u32::from(xy >> 4),
                            t.y + u32::from(xy & 15),
                            u32::from(wh >> 4) + 1,
                            u32::from(wh & 15) + 1,
                        );
                        self.fill(s, colour);
                    }
                }
            }
        }
        Ok(())
    }

    fn zrle(&mut self, rd: &mut dyn Source, r: Rect) -> Result<(), String> {
        let len = rd.u32()? as usize;
        let data = inflate(&mut self.zrle, &rd.take(len)?);
        let mut z = Reader { data: &data, at: 0 };
        let cl = self.cpixel_len();
        let read_cpixel = |this: &Self, z: &mut Reader<'_>| -> Result<[u8; 4], String> {
            let b = z.take(cl)?;
            Ok(if cl == 4 {
                this.pixel(&b)
            } else {
                this.cpixel(&b)
            })
        };
        let run_len = |z: &mut Reader<'_>| -> Result<usize, String> {
            let mut n = 1usize;
            loop {
                let b = z.u8()?;
                n += usize::from(b);
                if b != 255 {
                    return Ok(n);
                }
            }
        };
        for ty in (r.y..r.bottom()).step_by(64) {
            for tx in (r.x..r.right()).step_by(64) {
                let t = Rect::new(tx, ty, 64.min(r.right() - tx), 64.min(r.bottom() - ty));
                let sub = z.u8()?;
                self.zrle_subencodings.push(sub);
                let mut pixels: Vec<[u8; 4]> = Vec::with_capacity(t.area() as usize);
                let palette_size = usize::from(sub & 127);
                let mut palette = Vec::new();
                if sub != 0 && sub != 128 {
                    for _ in 0..palette_size {
                        palette.push(read_cpixel(self, &mut z)?);
                    }
                }
                match sub {
                    0 => {
                        for _ in 0..t.area() {
                            pixels.push(read_cpixel(self, &mut z)?);
                        }
                    }
                    1 => pixels.resize(t.area() as usize, palette[0]),
                    2..=16 => {
                        let bits = match sub {
                            2 => 1,
                            3 | 4 => 2,
                            _ => 4,
                        };
                        for _ in 0..t.h {
                            let row = z.take((t.w as usize * bits).div_ceil(8))?;
                            for x in 0..t.w as usize {
                                let bit = x * bits;
                                let i = (row[bit / 8] >> (8 - bits - bit % 8)) & ((1 << bits) - 1);
                                pixels.push(*palette.get(usize::from(i)).ok_or("index")?);
                            }
                        }
                    }
                    128 => {
                        while pixels.len() < t.area() as usize {
                            let p = read_cpixel(self, &mut z)?;
                            let n = run_len(&mut z)?;
                            pixels.extend(std::iter::repeat_n(p, n));
                        }
                    }
                    130..=255 => {
                        while pixels.len() < t.area() as usize {
                            let i = z.u8()?;
                            let p = *palette.get(usize::from(i & 127)).ok_or("index")?;
                            let n = if i & 128 != 0 { run_len(&mut z)? } else { 1 };
                            pixels.extend(std::iter::repeat_n(p, n));
                        }
                    }
                    _ => return Err(format!("bad ZRLE subencoding {sub}")),
                }
                if pixels.len() != t.area() as usize {
                    return Err("ZRLE run past the tile".into());
                }
                for (i, p) in pixels.into_iter().enumerate() {
                    let i = i as u32;
                    self.put(t.x + i % t.w, t.y + i / t.w, p);
                }
            }
        }
        if z.at != data.len() {
            return Err("ZRLE data left over".into());
        }
        Ok(())
    }

    fn tpixel_len(&self) -> usize {
        let f = &self.format;
        if f.depth == 24 && f.red_max == 255 && f.green_max == 255 && f.blue_max == 255 {
            3
        } else {
            4
        }
    }

    fn tpixel(&self, b: &[u8]) -> [u8; 4] {
        if b.len() == 3 {
            [b[0], b[1], b[2], 255]
        } else {
            self.pixel(b)
        }
    }

    fn compact_len(rd: &mut dyn Source) -> Result<usize, String> {
        let b0 = rd.u8()?;
        let mut n = usize::from(b0 & 0x7F);
        if b0 & 0x80 != 0 {
            let b1 = rd.u8()?;
            n |= usize::from(b1 & 0x7F) << 7;
            if b1 & 0x80 != 0 {
                n |= usize::from(rd.u8()?) << 14;
            }
        }
        Ok(n)
    }

    fn tight(&mut self, rd: &mut dyn Source, r: Rect) -> Result<(), String> {
        if r.w > 2048 {
            return Err("Tight rectangle wider than 2048".into());
        }
        let ctl = rd.u8()?;
        for s in 0..4 {
            if ctl & (1 << s) != 0 {
                self.tight[s] = Decompress::new(true);
            }
        }
        let tl = self.tpixel_len();
        match ctl >> 4 {
            8 => {
                let p = self.tpixel(&rd.take(tl)?);
                self.fill(r, p);
            }
            9 => {
                let n = Self::compact_len(rd)?;
                let jpeg = rd.take(n)?;
                let mut d = zune_jpeg::JpegDecoder::new(
                    zune_jpeg::zune_core::bytestream::ZCursor::new(&jpeg),
                );
                let rgb = d.decode().map_err(|e| e.to_string())?;
                let (w, h) = d.dimensions().ok_or("no JPEG size")?;
                if (w as u32, h as u32) != (r.w, r.h) {
                    return Err("JPEG size mismatch".into());
                }
                for (i, px) in rgb.chunks_exact(3).enumerate() {
                    let i = i as u32;
                    self.put(r.x + i % r.w, r.y + i / r.w, [px[0], px[1], px[2], 255]);
                }
                self.jpeg_rects += 1;
            }
            c if c & 8 == 0 => {
                if c & 4 != 0 && rd.u8()? != 0 {
                    return Err("only the copy filter is expected".into());
                }
                let stream = usize::from(c & 3);
                let size = r.area() as usize * tl;
                let data = if size < 12 {
                    rd.take(size)?
                } else {
                    let n = Self::compact_len(rd)?;
                    inflate(&mut self.tight[stream], &rd.take(n)?)
                };
                if data.len() != size {
                    return Err(format!("Tight data {} != {size}", data.len()));
                }
                for (i, px) in data.chunks_exact(tl).enumerate() {
                    let i = i as u32;
                    let p = self.tpixel(px);
                    self.put(r.x + i % r.w, r.y + i / r.w, p);
                }
            }
            other => return Err(format!("bad Tight control {other:#x}")),
        }
        Ok(())
    }
}
