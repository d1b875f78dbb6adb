//! Tight encoding (7). A compression-control byte opens each rectangle: its low 4 bits ask
//! to reset zlib streams 0..=3, its high 4 bits pick the method:
//! - `0x8` Fill: one TPIXEL (R, G, B) paints the whole rectangle;
//! - `0x9` JPEG: a compact length, then a JPEG image exactly the rectangle's size;
//! - `0x0..=0x7` basic: bits 0-1 name the zlib stream, bit 2 says a filter id byte follows
//!   (0 copy, 1 palette, 2 gradient; without it, copy). Palette: `count - 1` byte, then
//!   `count` TPIXELs, then indices of 1 bit (2 colours or fewer, rows padded to a byte) or
//!   8 bits. Copy and gradient: 3 bytes a pixel; gradient values are differences from the
//!   prediction `left + above - above_left`, clamped to 0..=255 per channel.
//!
//! Basic data shorter than 12 bytes is sent as is; longer data is a compact length followed
//! by that many bytes of the chosen zlib stream. A compact length is 1-3 bytes, 7 bits each
//! (the low first, the top bit meaning "more"), the third byte contributing 8 bits: 22 bits,
//! so at most 4 MiB - 1.

use std::io::Read;

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::super::RfbError;
use super::super::pixel::{CPIXEL_BYTES, cpixels_to_row, rgba_from_cpixel};
use super::super::wire::Wire;
use super::Decoders;
use crate::core::frame::{Framebuffer, Rect};
use crate::core::jpeg::{Decoded, JpegError, Target, common_sampling};

const NAME: &str = "Tight";
/// Methods in the compression-control byte's high 4 bits: Fill and JPEG.
pub const FILL: u8 = 0x8;
pub const JPEG: u8 = 0x9;
const EXPLICIT_FILTER: u8 = 0x4;
const FILTER_COPY: u8 = 0;
const FILTER_PALETTE: u8 = 1;
const FILTER_GRADIENT: u8 = 2;
/// Basic data shorter than this is sent uncompressed.
pub const MIN_TO_COMPRESS: usize = 12;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    Copy,
    /// Indices into the first `size` colours of the rectangle's palette.
    Palette {
        size: usize,
    },
    Gradient,
}

pub(super) fn decode(
    r: &mut dyn Read,
    fb: &mut Framebuffer,
    rect: Rect,
    d: &mut Decoders,
) -> Result<(), RfbError> {
    fb.check_rect(rect)?;
    let control = r.u8()?;
    for (i, stream) in d.tight.iter_mut().enumerate() {
        if control & (1 << i) != 0 {
            stream.reset();
        }
    }
    let method = control >> 4;
    match method {
        FILL => {
            let px = rgba_from_cpixel(&r.array::<CPIXEL_BYTES>()?);
            fb.fill_rect(rect, px)?;
            Ok(())
        }
        JPEG => jpeg(r, fb, rect, d),
        0..=7 => basic(r, fb, rect, d, method),
        _ => Err(RfbError::TightControl { control }),
    }
}

fn compact_length(r: &mut dyn Read) -> Result<usize, RfbError> {
    let b0 = r.u8()?;
    let mut len = usize::from(b0 & 0x7f);
    if b0 & 0x80 != 0 {
        let b1 = r.u8()?;
        len |= usize::from(b1 & 0x7f) << 7;
        if b1 & 0x80 != 0 {
            len |= usize::from(r.u8()?) << 14;
        }
    }
    Ok(len)
}

fn jpeg(
    r: &mut dyn Read,
    fb: &mut Framebuffer,
    rect: Rect,
    d: &mut Decoders,
) -> Result<(), RfbError> {
    let len = compact_length(r)?;
    let data = r.bytes_into(len, &mut d.buf)?;
    let jpeg_err = |e: zune_jpeg::errors::DecodeErrors| RfbError::Jpeg {
        detail: e.to_string(),
    };
    let size_err = |got_w: usize, got_h: usize| RfbError::JpegSize {
        w: rect.w,
        h: rect.h,
        got_w: got_w as u32,
        got_h: got_h as u32,
    };
    if rect.is_empty() {
        return Err(size_err(0, 0));
    }
    // The common case (baseline, no chroma subsampling) straight into the framebuffer;
    // the rest through zune-jpeg.
    let (pixels, stride) = fb.area_mut(rect)?;
    let target = Target {
        pixels,
        stride,
        w: rect.w,
        h: rect.h,
    };
    match d.jpeg.decode(data, target) {
        Ok(Decoded::Done) => return Ok(()),
        Err(JpegError::Size { got_w, got_h, .. }) => {
            return Err(size_err(got_w as usize, got_h as usize));
        }
        // A fault goes to zune-jpeg too: like libjpeg, it pads data cut short and drops
        // coefficients past a block's end, and it rewrites the whole rectangle.
        Ok(Decoded::Unsupported) | Err(_) => {}
    }
    if !common_sampling(data) {
        return Err(RfbError::Jpeg {
            detail: "unusual chroma sampling".into(),
        });
    }
    let options = DecoderOptions::default()
        .set_max_width(rect.w as usize)
        .set_max_height(rect.h as usize)
        .jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    decoder.decode_headers().map_err(jpeg_err)?;
    let (got_w, got_h) = decoder.dimensions().unwrap_or((0, 0));
    if (got_w, got_h) != (rect.w as usize, rect.h as usize) {
        return Err(size_err(got_w, got_h));
    }
    let needed = rect.area() as usize * 4;
    if d.pixels.len() < needed {
        d.pixels.resize(needed, 0);
    }
    decoder
        .decode_into(&mut d.pixels[..needed])
        .map_err(jpeg_err)?;
    // zune-jpeg writes alpha 255 when it converts YCbCr, RGB or grey to RGBA; other
    // colour spaces (CMYK, YCCK) go through the pass that forces it.
    let opaque = matches!(
        decoder.input_colorspace(),
        Some(ColorSpace::YCbCr | ColorSpace::RGB | ColorSpace::Luma)
    );
    if opaque {
        fb.put_opaque_rgba(rect, &d.pixels[..needed])?;
    } else {
        fb.put_rgba(rect, &d.pixels[..needed])?;
    }
    Ok(())
}

fn basic(
    r: &mut dyn Read,
    fb: &mut Framebuffer,
    rect: Rect,
    d: &mut Decoders,
    method: u8,
) -> Result<(), RfbError> {
    let stream = usize::from(method & 0x3);
    let filter_id = if method & EXPLICIT_FILTER != 0 {
        r.u8()?
    } else {
        FILTER_COPY
    };
    let mut palette = [[0u8; 4]; 256];
    let filter = match filter_id {
        FILTER_COPY => Filter::Copy,
        FILTER_GRADIENT => Filter::Gradient,
        FILTER_PALETTE => {
            let size = usize::from(r.u8()?) + 1;
            let mut raw = [0u8; 256 * CPIXEL_BYTES];
            let raw = &mut raw[..size * CPIXEL_BYTES];
            r.read_exact(raw)?;
            for (c, p) in palette.iter_mut().zip(raw.chunks_exact(CPIXEL_BYTES)) {
                *c = rgba_from_cpixel(p);
            }
            Filter::Palette { size }
        }
        id => return Err(RfbError::TightFilter { id }),
    };
    let w = rect.w as usize;
    let row_bytes = match filter {
        Filter::Palette { size } if size <= 2 => w.div_ceil(8),
        Filter::Palette { .. } => w,
        Filter::Copy | Filter::Gradient => w * CPIXEL_BYTES,
    };
    let expected = row_bytes * rect.h as usize;
    let data: &[u8] = if expected < MIN_TO_COMPRESS {
        r.bytes_into(expected, &mut d.buf)?
    } else {
        let len = compact_length(r)?;
        let out = d.tight[stream].inflate(r, len, expected)?;
        if out.len() < expected {
            return Err(RfbError::ShortPayload { encoding: NAME });
        }
        out
    };
    if row_bytes == 0 {
        return Ok(());
    }
    let rows = data.chunks_exact(row_bytes).take(rect.h as usize);
    match filter {
        Filter::Copy => {
            for (dy, src) in rows.enumerate() {
                cpixels_to_row(fb.row_mut(rect, dy as u32), src);
            }
        }
        Filter::Palette { size } => {
            let one_bit = size <= 2;
            let bad_index = |index: u8| RfbError::PaletteIndex {
                encoding: NAME,
                index,
                size,
            };
            for (dy, src) in rows.enumerate() {
                let row = fb.row_mut(rect, dy as u32);
                if one_bit {
                    for (x, dst) in row.chunks_exact_mut(4).enumerate() {
                        let index = (src[x / 8] >> (7 - x % 8)) & 1;
                        if usize::from(index) >= size {
                            return Err(bad_index(index));
                        }
                        dst.copy_from_slice(&palette[usize::from(index)]);
                    }
                } else {
                    // Checked a row at a time (a loop the compiler vectorises), then
                    // looked up without a branch per pixel: the table has 256 entries.
                    let src = &src[..w];
                    if let Some(&index) = src.iter().max().filter(|&&m| usize::from(m) >= size) {
                        return Err(bad_index(index));
                    }
                    for (dst, &index) in row.chunks_exact_mut(4).zip(src) {
                        dst.copy_from_slice(&palette[usize::from(index)]);
                    }
                }
            }
        }
        Filter::Gradient => {
            // The previous decoded row, as R, G, B; zeros above the first row.
            let (above, current) = {
                if d.pixels.len() < row_bytes * 2 {
                    d.pixels.resize(row_bytes * 2, 0);
                }
                let (a, c) = d.pixels[..row_bytes * 2].split_at_mut(row_bytes);
                a.fill(0);
                (a, c)
            };
            for (dy, src) in rows.enumerate() {
                gradient_row(src, above, current);
                cpixels_to_row(fb.row_mut(rect, dy as u32), current);
                above.copy_from_slice(current);
            }
        }
    }
    Ok(())
}

/// Undoes the gradient filter for one row of R, G, B bytes.
fn gradient_row(src: &[u8], above: &[u8], out: &mut [u8]) {
    let mut left = [0i16; 3];
    let mut above_left = [0i16; 3];
    for ((s, a), o) in src
        .chunks_exact(3)
        .zip(above.chunks_exact(3))
        .zip(out.chunks_exact_mut(3))
    {
        for c in 0..3 {
            let up = i16::from(a[c]);
            let predicted = (left[c] + up - above_left[c]).clamp(0, 255) as u8;
            let value = s[c].wrapping_add(predicted);
            o[c] = value;
            left[c] = i16::from(value);
            above_left[c] = up;
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

    fn compact(len: usize) -> Vec<u8> {
        let mut out = vec![(len & 0x7f) as u8];
        if len > 0x7f {
            out[0] |= 0x80;
            out.push(((len >> 7) & 0x7f) as u8);
            if len > 0x3fff {
                out[1] |= 0x80;
                out.push((len >> 14) as u8);
            }
        }
        out
    }

    fn zipped(c: &mut Compress, data: &[u8]) -> Vec<u8> {
        let z = deflate_sync(c, data);
        let mut out = compact(z.len());
        out.extend(z);
        out
    }

    fn run(fb: &mut Framebuffer, rect: Rect, wire: &[u8]) -> Result<(), RfbError> {
        decode(&mut &wire[..], fb, rect, &mut Decoders::new())
    }

    #[test]
    fn compact_lengths_use_7_7_8_bits() {
        for len in [0usize, 5, 127, 128, 16383, 16384, (1 << 22) - 1] {
            assert_eq!(compact_length(&mut &compact(len)[..]).unwrap(), len);
        }
        assert_eq!(
            compact_length(&mut &[0xff, 0xff, 0xff][..]).unwrap(),
            (1 << 22) - 1
        );
    }

    #[test]
    fn fill_paints_the_rect() {
        let mut fb = Framebuffer::new(3, 3).unwrap();
        run(&mut fb, Rect::new(1, 1, 2, 2), &[0x80, 1, 2, 3]).unwrap();
        assert_eq!(px(&fb, 0, 0), [0, 0, 0, 255]);
        assert_eq!(px(&fb, 2, 2), [1, 2, 3, 255]);
    }

    #[test]
    fn small_copy_data_is_sent_uncompressed() {
        let mut fb = Framebuffer::new(3, 1).unwrap();
        // 3 pixels = 9 bytes < 12: raw, stream 0, no explicit filter.
        run(
            &mut fb,
            Rect::new(0, 0, 3, 1),
            &[0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        )
        .unwrap();
        assert_eq!(fb.pixels(), &[1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255]);
    }

    #[test]
    fn compressed_copy_uses_the_named_stream_and_resets() {
        let mut fb = Framebuffer::new(4, 2).unwrap();
        let rect = Rect::new(0, 0, 4, 2);
        let pixels: Vec<u8> = (0..24).collect();
        let mut d = Decoders::new();
        let mut c = Compress::new(Compression::default(), true);
        // Stream 2, explicit copy filter.
        let mut wire = vec![0x60, FILTER_COPY];
        wire.extend(zipped(&mut c, &pixels));
        // Same stream continues.
        wire.extend([0x20]);
        wire.extend(zipped(&mut c, &pixels));
        // Reset stream 2 and start a fresh compressor.
        let mut c = Compress::new(Compression::default(), true);
        wire.extend([0x24]);
        wire.extend(zipped(&mut c, &pixels));
        let mut r = &wire[..];
        for _ in 0..3 {
            fb.fill_rect(rect, [0, 0, 0, 255]).unwrap();
            decode(&mut r, &mut fb, rect, &mut d).unwrap();
            assert_eq!(px(&fb, 3, 1), [21, 22, 23, 255]);
        }
        assert!(r.is_empty());
    }

    #[test]
    fn palette_filter_with_one_and_eight_bit_indices() {
        // Two colours: 1 bit per pixel, 10 wide = 2 bytes a row, 2 rows = 4 bytes, raw.
        let mut fb = Framebuffer::new(10, 2).unwrap();
        let wire = [
            0x40,
            FILTER_PALETTE,
            1,
            9,
            9,
            9,
            7,
            7,
            7,
            0b1000_0000,
            0b0100_0000,
            0,
            0xff,
        ];
        run(&mut fb, Rect::new(0, 0, 10, 2), &wire).unwrap();
        assert_eq!(px(&fb, 0, 0), [7, 7, 7, 255]);
        assert_eq!(px(&fb, 1, 0), [9, 9, 9, 255]);
        assert_eq!(px(&fb, 9, 0), [7, 7, 7, 255]);
        assert_eq!(px(&fb, 7, 1), [9, 9, 9, 255]);
        assert_eq!(px(&fb, 8, 1), [7, 7, 7, 255]);
        assert_eq!(px(&fb, 9, 1), [7, 7, 7, 255]);
        // Three colours: a byte per pixel, 4x4 = 16 bytes, compressed on stream 1.
        let mut fb = Framebuffer::new(4, 4).unwrap();
        let mut c = Compress::new(Compression::default(), true);
        let mut wire = vec![0x50, FILTER_PALETTE, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3];
        let indices: Vec<u8> = (0..16).map(|i| i % 3).collect();
        wire.extend(zipped(&mut c, &indices));
        run(&mut fb, Rect::new(0, 0, 4, 4), &wire).unwrap();
        assert_eq!(px(&fb, 0, 0), [1, 1, 1, 255]);
        assert_eq!(px(&fb, 2, 0), [3, 3, 3, 255]);
        assert_eq!(px(&fb, 3, 3), [1, 1, 1, 255]);
    }

    #[test]
    fn gradient_filter_reverses_prediction() {
        // Picture (R only, G=B=0): row0 10 20; row1 30 45.
        // Predictions: (0,0)=0; (1,0)=left 10; (0,1)=above 10; (1,1)=30+20-10=40.
        // Differences: 10 10 / 20 5. 2x2x3 = 12 bytes: compressed.
        let mut fb = Framebuffer::new(2, 2).unwrap();
        let diffs = [10, 0, 0, 10, 0, 0, 20, 0, 0, 5, 0, 0];
        let mut c = Compress::new(Compression::default(), true);
        let mut wire = vec![0x40, FILTER_GRADIENT];
        wire.extend(zipped(&mut c, &diffs));
        run(&mut fb, Rect::new(0, 0, 2, 2), &wire).unwrap();
        let reds: Vec<u8> = fb.pixels().chunks(4).map(|p| p[0]).collect();
        assert_eq!(reds, [10, 20, 30, 45]);
        // Clamping: left 200 + above 200 - above-left 0 predicts 255, not 400.
        let mut out = [0u8; 6];
        gradient_row(&[200, 0, 0, 0, 0, 0], &[0, 0, 0, 200, 0, 0], &mut out);
        assert_eq!(out, [200, 0, 0, 255, 0, 0]);
    }

    #[test]
    fn jpeg_rect_decodes_to_close_pixels() {
        let (w, h) = (16u16, 8u16);
        let mut rgb = Vec::new();
        for _ in 0..(w * h) {
            rgb.extend([200u8, 40, 60]);
        }
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 95)
            .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let mut wire = vec![0x90];
        wire.extend(compact(jpeg.len()));
        wire.extend(&jpeg);
        let mut fb = Framebuffer::new(20, 10).unwrap();
        run(&mut fb, Rect::new(2, 1, 16, 8), &wire).unwrap();
        let p = px(&fb, 10, 5);
        for (got, want) in p.iter().zip([200u8, 40, 60, 255]) {
            assert!(got.abs_diff(want) <= 3, "{p:?}");
        }
        assert_eq!(px(&fb, 0, 0), [0, 0, 0, 255]);
        // Subsampled chroma and progressive JPEGs go to zune-jpeg; they decode as well.
        for (i, progressive) in [false, true].into_iter().enumerate() {
            let mut other = Vec::new();
            let mut e = jpeg_encoder::Encoder::new(&mut other, 95);
            e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
            e.set_progressive(progressive);
            let colour = [[20u8, 90, 220], [240, 240, 10]][i];
            e.encode(&colour.repeat(16 * 8), w, h, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            let mut wire = vec![0x90];
            wire.extend(compact(other.len()));
            wire.extend(&other);
            run(&mut fb, Rect::new(4, 2, 16, 8), &wire).unwrap();
            let p = px(&fb, 12, 6);
            for (got, want) in p.iter().zip(colour) {
                assert!(got.abs_diff(want) <= 3, "{p:?} for {colour:?}");
            }
        }
        // Cut short inside its data, our decoder refuses it; zune-jpeg pads it, as libjpeg
        // does, and the rectangle still gets its colour.
        let cut = [&jpeg[..jpeg.len() - 3], &[0xff, 0xd9][..]].concat();
        let mut wire_cut = vec![0x90];
        wire_cut.extend(compact(cut.len()));
        wire_cut.extend(&cut);
        let mut refused = crate::core::jpeg::Baseline::new();
        let target = crate::core::jpeg::Target {
            pixels: &mut vec![0; 16 * 8 * 4],
            stride: 16 * 4,
            w: 16,
            h: 8,
        };
        assert!(refused.decode(&cut, target).is_err());
        let mut fresh = Framebuffer::new(20, 10).unwrap();
        run(&mut fresh, Rect::new(2, 1, 16, 8), &wire_cut).unwrap();
        let p = px(&fresh, 3, 2);
        for (got, want) in p.iter().zip([200u8, 40, 60, 255]) {
            assert!(got.abs_diff(want) <= 3, "{p:?}");
        }
        // The same JPEG in a rectangle of another size is refused.
        let err = run(&mut fb, Rect::new(0, 0, 16, 9), &wire).unwrap_err();
        assert!(matches!(err, RfbError::JpegSize { .. }), "{err}");
        let err = run(&mut fb, Rect::new(0, 0, 8, 8), &wire).unwrap_err();
        assert!(
            matches!(err, RfbError::Jpeg { .. } | RfbError::JpegSize { .. }),
            "{err}"
        );
        // Garbage instead of a JPEG.
        let err = run(&mut fb, Rect::new(0, 0, 2, 2), &[0x90, 3, 1, 2, 3]).unwrap_err();
        assert!(matches!(err, RfbError::Jpeg { .. }), "{err}");
    }

    /// Found by fuzzing (`fuzz/`, target `jpeg`): a 64×24 JPEG whose second component is
    /// sampled 2×2 under a 1×1 first one. zune-jpeg 0.5.15 panics on it (an assertion in
    /// its AVX2 upsampler); it must be an error before it gets there.
    const UNUSUAL_SAMPLING: &str = concat!(
        "ffd8ffc00011080018004003001100012201021101ffdb004300080606070605080707070909080a0c140d0c",
        "0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e33",
        "3432ffdb0043010909090c0b0c180d0d1832211c213232323232323232323232323232323232323232323232",
        "3232323232323232ffffffffffff002a3232323232323232323232ffc4001f00000105010101010101000000",
        "000000000a0002030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105",
        "1221314106135124ffff010014328191a14291a1b1c1233352636465666768696a7374757610000000000000",
        "001fc2bec0f85bff002c7f0af3ff00f82adffc9ac7843fec73b4ff00ff00cb1fc2bf1abe307fc9d3fc5fff00",
        "b1cf59ff00d2e9abffd95fff00b1cf59ff00d2e9abffd9077ff776f618c2c3c4c5c6c7c8c9cad2d3d4d5d6d7",
        "d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010000003f0a0bffc40002ffd9",
    );

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_jpeg_zune_jpeg_would_panic_on_is_an_error() {
        let jpeg = unhex(UNUSUAL_SAMPLING);
        assert!(!crate::core::jpeg::common_sampling(&jpeg));
        let mut wire = vec![0x90];
        wire.extend(compact(jpeg.len()));
        wire.extend(&jpeg);
        let mut fb = Framebuffer::new(64, 24).unwrap();
        let err = run(&mut fb, Rect::new(0, 0, 64, 24), &wire).unwrap_err();
        assert!(matches!(err, RfbError::Jpeg { .. }), "{err}");
    }

    #[test]
    fn hostile_rects_are_named_errors() {
        let mut fb = Framebuffer::new(4, 4).unwrap();
        let rect = Rect::new(0, 0, 4, 4);
        for control in [0xa0u8, 0xb0, 0xf0] {
            let err = run(&mut fb, rect, &[control]).unwrap_err();
            assert!(matches!(err, RfbError::TightControl { .. }), "{err}");
        }
        let err = run(&mut fb, rect, &[0x40, 3]).unwrap_err();
        assert!(matches!(err, RfbError::TightFilter { id: 3 }), "{err}");
        // One-colour palette: an index of 1 is outside it.
        let err = run(&mut fb, Rect::new(0, 0, 2, 1), &[0x40, 1, 0, 5, 5, 5, 0x40]).unwrap_err();
        assert!(
            matches!(
                err,
                RfbError::PaletteIndex {
                    index: 1,
                    size: 1,
                    ..
                }
            ),
            "{err}"
        );
        // Three colours, byte indices: 7 is outside.
        let mut wire = vec![0x40, FILTER_PALETTE, 2];
        wire.extend([1, 1, 1, 2, 2, 2, 3, 3, 3]);
        wire.extend([0, 7, 1]);
        let err = run(&mut fb, Rect::new(0, 0, 3, 1), &wire).unwrap_err();
        assert!(
            matches!(
                err,
                RfbError::PaletteIndex {
                    index: 7,
                    size: 3,
                    ..
                }
            ),
            "{err}"
        );
        // 256-colour palette with byte indices is fine (the size byte cannot say more).
        let mut wire = vec![0x40, FILTER_PALETTE, 255];
        wire.extend(vec![0u8; 256 * 3]);
        wire.extend([255, 0]);
        run(&mut fb, Rect::new(0, 0, 2, 1), &wire).unwrap();
        // Compressed data that inflates past the rectangle.
        let mut c = Compress::new(Compression::default(), true);
        let mut wire = vec![0x00];
        wire.extend(zipped(&mut c, &[1u8; 4 * 4 * 3 + 1]));
        let err = run(&mut fb, rect, &wire).unwrap_err();
        assert!(matches!(err, RfbError::ZlibOverflow { .. }), "{err}");
        // ...or falls short of it.
        let mut c = Compress::new(Compression::default(), true);
        let mut wire = vec![0x00];
        wire.extend(zipped(&mut c, &[1u8; 20]));
        let err = run(&mut fb, rect, &wire).unwrap_err();
        assert!(matches!(err, RfbError::ShortPayload { .. }), "{err}");
        // Outside the framebuffer.
        let err = run(&mut fb, Rect::new(3, 3, 2, 2), &[0x80, 1, 2, 3]).unwrap_err();
        assert!(matches!(err, RfbError::Frame(_)), "{err}");
    }

    #[test]
    fn truncation_is_an_error_at_every_length() {
        let mut c = Compress::new(Compression::default(), true);
        let mut wire = vec![0x44, FILTER_PALETTE, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3];
        wire.extend(zipped(
            &mut c,
            &[0u8, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
        ));
        for n in 0..wire.len() {
            let mut fb = Framebuffer::new(4, 4).unwrap();
            assert!(
                run(&mut fb, Rect::new(0, 0, 4, 4), &wire[..n]).is_err(),
                "prefix {n}"
            );
        }
    }
}
