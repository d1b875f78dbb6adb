//! Frame images into pixels: JPEG with zune-jpeg, PNG with png, both to RGBA8.
//!
//! Every frame is a whole picture, so the decoder double-buffers: it decodes into a spare
//! buffer and, only once the image decoded completely, swaps it with the shown picture's
//! pixels. The size declared in the image's header is checked ([`MAX_DIMENSION`],
//! [`MAX_PIXELS`]) before any pixel buffer is allocated; while the size stays the same no
//! buffer is allocated at all; a truncated or corrupt image is an error and leaves the last
//! good picture as it was.
//!
//! [`MAX_DIMENSION`]: crate::core::frame::MAX_DIMENSION
//! [`MAX_PIXELS`]: super::MAX_PIXELS

use std::io::Cursor;

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::{ImageFormat, MAX_IMAGE_BYTES, PreviewError, PreviewFrame, check_dimensions};
use crate::core::frame::Framebuffer;
use crate::core::jpeg;

/// What the PNG decoder may allocate besides the picture (metadata chunks, row buffers).
const PNG_ALLOCATION_LIMIT: usize = MAX_IMAGE_BYTES;

/// Decodes frames into a [`Framebuffer`], reusing its buffers from frame to frame.
///
/// Images must arrive whole: a JPEG must end with its end-of-image marker and a PNG with
/// its IEND chunk: both decoders would otherwise accept an image cut a few bytes short
/// (zune-jpeg guessing its last blocks).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    /// The last picture that decoded completely.
    picture: Option<Framebuffer>,
    /// RGBA being decoded; the previous picture's pixels once swapped.
    spare: Vec<u8>,
    /// PNG samples before they are widened to RGBA.
    samples: Vec<u8>,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `frame`'s image and returns the new picture.
    pub fn decode(&mut self, frame: &PreviewFrame) -> Result<&Framebuffer, PreviewError> {
        self.decode_image(frame.format, &frame.image)
    }

    /// Decodes an encoded image of the given format and returns the new picture. On error
    /// the last good picture stays as it was.
    pub fn decode_image(
        &mut self,
        format: ImageFormat,
        bytes: &[u8],
    ) -> Result<&Framebuffer, PreviewError> {
        let (w, h) = match format {
            ImageFormat::Jpeg => self.jpeg(bytes)?,
            ImageFormat::Png => self.png(bytes)?,
        };
        let pixels = std::mem::take(&mut self.spare);
        // Cannot fail: the size was checked and the buffer sized from it.
        let fb = Framebuffer::from_rgba(w, h, pixels).ok_or(PreviewError::ImageDimensions {
            w: u64::from(w),
            h: u64::from(h),
        })?;
        if let Some(old) = self.picture.take() {
            self.spare = old.into_pixels();
        }
        Ok(self.picture.insert(fb))
    }

    /// The last picture that decoded completely, if any.
    pub fn picture(&self) -> Option<&Framebuffer> {
        self.picture.as_ref()
    }

    /// Decodes a JPEG into `spare` as RGBA; returns its size.
    fn jpeg(&mut self, bytes: &[u8]) -> Result<(u32, u32), PreviewError> {
        let jpeg_err = |e: zune_jpeg::errors::DecodeErrors| PreviewError::Jpeg {
            detail: e.to_string(),
        };
        // zune's own size limits are set to JPEG's, so that ours report oversize pictures;
        // strict mode makes missing scan data an error rather than grey blocks.
        let options = DecoderOptions::default()
            .set_max_width(usize::from(u16::MAX))
            .set_max_height(usize::from(u16::MAX))
            .set_strict_mode(true)
            .jpeg_set_out_colorspace(ColorSpace::RGBA);
        // zune pads a stream that stops a few bytes short of its end; an image sent whole
        // ends with its end-of-image marker (trailing zeros aside).
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        if !bytes[..end].ends_with(&[0xff, 0xd9]) {
            return Err(PreviewError::Jpeg {
                detail: "no end-of-image marker: the image is truncated".into(),
            });
        }
        if !jpeg::common_sampling(bytes) {
            return Err(PreviewError::Jpeg {
                detail: "unusual chroma sampling".into(),
            });
        }
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
        decoder.decode_headers().map_err(jpeg_err)?;
        let (w, h) = decoder.dimensions().ok_or_else(|| PreviewError::Jpeg {
            detail: "no frame header".into(),
        })?;
        let (w, h) = check_dimensions(w as u64, h as u64)?;
        let needed = w as usize * h as usize * 4;
        if decoder.output_buffer_size() != Some(needed) {
            return Err(PreviewError::Jpeg {
                detail: "its colour space does not convert to RGBA".into(),
            });
        }
        self.spare.resize(needed, 0);
        // zune writes alpha 255 where it converts YCbCr, RGB or grey to RGBA (tested
        // below), but it can return Ok with part of a corrupt picture unwritten (found by
        // fuzzing): alpha is cleared first, and a pixel left transparent fails the image.
        // Other colour spaces (CMYK, YCCK) leave alpha to us.
        for px in self.spare.chunks_exact_mut(4) {
            px[3] = 0;
        }
        decoder.decode_into(&mut self.spare).map_err(jpeg_err)?;
        let converted = matches!(
            decoder.input_colorspace(),
            Some(ColorSpace::YCbCr | ColorSpace::RGB | ColorSpace::Luma)
        );
        if !converted {
            for px in self.spare.chunks_exact_mut(4) {
                px[3] = 255;
            }
        } else if !self
            .spare
            .chunks_exact(4)
            .fold(true, |all, px| all & (px[3] == 255))
        {
            return Err(PreviewError::Jpeg {
                detail: "part of the picture did not decode".into(),
            });
        }
        Ok((w, h))
    }

    /// Decodes a PNG into `spare` as RGBA (any colour type and depth, alpha dropped);
    /// returns its size.
    fn png(&mut self, bytes: &[u8]) -> Result<(u32, u32), PreviewError> {
        let png_err = |e: png::DecodingError| PreviewError::Png {
            detail: e.to_string(),
        };
        check_palette(bytes)?;
        let limits = png::Limits {
            bytes: PNG_ALLOCATION_LIMIT,
        };
        let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
        // Palette and low bit depths to 8-bit samples, 16-bit samples to 8.
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        decoder.set_ignore_text_chunk(true);
        decoder.set_ignore_iccp_chunk(true);
        let header = decoder.read_header_info().map_err(png_err)?;
        let (w, h) = check_dimensions(u64::from(header.width), u64::from(header.height))?;
        let mut reader = decoder.read_info().map_err(png_err)?;
        let channels = match reader.output_color_type() {
            (png::ColorType::Grayscale, png::BitDepth::Eight) => 1,
            (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => 2,
            (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
            (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
            (color, depth) => {
                return Err(PreviewError::Png {
                    detail: format!("unexpected output {color:?} at {depth:?}"),
                });
            }
        };
        let pixels = w as usize * h as usize;
        let needed = pixels * 4;
        let samples = pixels * channels;
        if reader.output_buffer_size() != Some(samples) {
            return Err(PreviewError::Png {
                detail: "unexpected output buffer size".into(),
            });
        }
        // `finish` reads on to the end: an image sent whole has its IEND chunk.
        if channels == 4 {
            self.spare.resize(needed, 0);
            reader.next_frame(&mut self.spare).map_err(png_err)?;
            reader.finish().map_err(png_err)?;
            for px in self.spare.chunks_exact_mut(4) {
                px[3] = 255;
            }
            return Ok((w, h));
        }
        self.samples.resize(samples, 0);
        reader.next_frame(&mut self.samples).map_err(png_err)?;
        reader.finish().map_err(png_err)?;
        self.spare.resize(needed, 0);
        let src = self.samples.chunks_exact(channels);
        for (dst, s) in self.spare.chunks_exact_mut(4).zip(src) {
            let rgb = match *s {
                [y] | [y, _] => [y, y, y],
                [r, g, b] => [r, g, b],
                _ => [0, 0, 0],
            };
            dst.copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
        Ok((w, h))
    }
}

/// Refuses a PNG whose palette (PLTE) is not a whole number of colours, 1 to 256: png 0.18.1
/// panics expanding one (image-rs/image-png#694; found by fuzzing, `preview_binary`). The
/// chunks before the first IDAT are walked; PLTE must come before it.
fn check_palette(bytes: &[u8]) -> Result<(), PreviewError> {
    let mut at = 8; // the signature
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match &head[4..8] {
            b"PLTE" if !len.is_multiple_of(3) || !(3..=768).contains(&len) => {
                return Err(PreviewError::Png {
                    detail: format!("a palette of {len} bytes is not 1 to 256 colours"),
                });
            }
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        at = at.saturating_add(12).saturating_add(len);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::preview::{MAX_PIXELS, parse_binary};

    /// Found by fuzzing (`fuzz/`, targets `preview_text` and `preview_binary`): a corrupt
    /// 64×48 4:2:0 JPEG that zune-jpeg decodes "successfully" without writing every pixel.
    const HALF_DECODED: &str = concat!(
        "ffd8ffc00011080030004003002200011101021101ffdb00430006040506050406060506070706080a100a0a",
        "09090a140e0f0c0100000918171416161a1d251f1a1b231c1616202c20232627292a29191f2d302d28302528",
        "2928ffdb0043010707070a080a130a0a13281a161a2828282828282828282828282828282828282828282828",
        "282828282828282828282828282828282828282828282828282828ffc4001f00000105010101010101000000",
        "00000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105",
        "122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a34",
        "35363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788",
        "898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7",
        "d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000",
        "000102030405060708090a0bffc400b511000201020404030407050404000102770001020311040521310612",
        "41510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a353637",
        "38393a434445464748494a535455565758595a636465666768696a737475767778797a82830e00868788898a",
        "92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6ff41108421084210d6d7d801",
        "00000000000000e8e9eaf2f3f4f5f6f7f8f9faffda000c03000001110211003f06adffc40002ffd9",
    );

    #[test]
    fn a_jpeg_zune_jpeg_leaves_half_written_is_an_error() {
        let jpeg: Vec<u8> = (0..HALF_DECODED.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&HALF_DECODED[i..i + 2], 16).unwrap())
            .collect();
        let mut decoder = FrameDecoder::new();
        let err = decoder.decode_image(ImageFormat::Jpeg, &jpeg).unwrap_err();
        assert!(matches!(err, PreviewError::Jpeg { .. }), "{err}");
        assert!(decoder.picture().is_none());
    }

    /// An RGB test picture: red on the left half, blue on the right, a grey bottom row.
    fn picture(w: u16, h: u16) -> Vec<u8> {
        let mut rgb = Vec::new();
        for y in 0..h {
            for x in 0..w {
                rgb.extend(if y == h - 1 {
                    [128, 128, 128]
                } else if x < w / 2 {
                    [220, 30, 40]
                } else {
                    [20, 40, 200]
                });
            }
        }
        rgb
    }

    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 95)
            .encode(&picture(w, h), w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    fn png(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
        png_with(w, h, color, depth, data, |_| {})
    }

    fn png_with(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
        setup: impl FnOnce(&mut png::Encoder<'_, &mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, w, h);
            encoder.set_color(color);
            encoder.set_depth(depth);
            setup(&mut encoder);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(data).unwrap();
            writer.finish().unwrap();
        }
        out
    }

    fn px(fb: &Framebuffer, x: u32, y: u32) -> [u8; 4] {
        let i = (y * fb.width() + x) as usize * 4;
        fb.pixels()[i..i + 4].try_into().unwrap()
    }

    fn assert_close(got: [u8; 4], want: [u8; 4], tolerance: u8) {
        for (g, w) in got.iter().zip(want) {
            assert!(g.abs_diff(w) <= tolerance, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn jpeg_decodes_to_close_pixels_with_opaque_alpha() {
        let mut d = FrameDecoder::new();
        assert!(d.picture().is_none());
        let fb = d.decode_image(ImageFormat::Jpeg, &jpeg(32, 17)).unwrap();
        assert_eq!((fb.width(), fb.height()), (32, 17));
        assert_close(px(fb, 4, 4), [220, 30, 40, 255], 8);
        assert_close(px(fb, 27, 4), [20, 40, 200, 255], 8);
        assert_close(px(fb, 10, 16), [128, 128, 128, 255], 8);
        assert!(fb.pixels().chunks_exact(4).all(|p| p[3] == 255));
    }

    #[test]
    fn grey_jpeg_decodes_to_rgba() {
        let (w, h) = (16u16, 8u16);
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 95)
            .encode(&[90u8; 16 * 8], w, h, jpeg_encoder::ColorType::Luma)
            .unwrap();
        let mut d = FrameDecoder::new();
        let fb = d.decode_image(ImageFormat::Jpeg, &jpeg).unwrap();
        assert_close(px(fb, 3, 3), [90, 90, 90, 255], 3);
    }

    #[test]
    fn a_parsed_frame_decodes() {
        let frame = match parse_binary(&jpeg(8, 8)).unwrap() {
            crate::core::source::preview::ServerMessage::Frame(f) => f,
            other => panic!("{other:?}"),
        };
        let mut d = FrameDecoder::new();
        assert_eq!(d.decode(&frame).unwrap().width(), 8);
    }

    #[test]
    fn png_colour_types_all_become_opaque_rgba() {
        use png::{BitDepth, ColorType};
        let (w, h) = (3u32, 2u32);
        let rgb = [
            255, 0, 0, 0, 255, 0, 0, 0, 255, //
            10, 20, 30, 40, 50, 60, 70, 80, 90,
        ];
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 0])
            .collect();
        let grey = [0u8, 100, 200, 255, 1, 2];
        let grey_alpha: Vec<u8> = grey.iter().flat_map(|&g| [g, 7]).collect();
        let rgb16: Vec<u8> = rgb.iter().flat_map(|&c| [c, 0x55]).collect();
        let want_rgb: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let want_grey: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g, 255]).collect();
        let cases = [
            (png(w, h, ColorType::Rgb, BitDepth::Eight, &rgb), &want_rgb),
            (
                png(w, h, ColorType::Rgba, BitDepth::Eight, &rgba),
                &want_rgb,
            ),
            (
                png(w, h, ColorType::Rgb, BitDepth::Sixteen, &rgb16),
                &want_rgb,
            ),
            (
                png(w, h, ColorType::Grayscale, BitDepth::Eight, &grey),
                &want_grey,
            ),
            (
                png(
                    w,
                    h,
                    ColorType::GrayscaleAlpha,
                    BitDepth::Eight,
                    &grey_alpha,
                ),
                &want_grey,
            ),
        ];
        let mut d = FrameDecoder::new();
        for (i, (png, want)) in cases.iter().enumerate() {
            let fb = d.decode_image(ImageFormat::Png, png).unwrap();
            assert_eq!((fb.width(), fb.height()), (w, h));
            assert_eq!(fb.pixels(), want.as_slice(), "case {i}");
        }
    }

    #[test]
    fn png_palettes_and_low_depths_expand() {
        use png::{BitDepth, ColorType};
        // 2-bit palette indices, 4 pixels a byte: 0 1 2 3 / 3 2 1 0.
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        let data = [0b00_01_10_11, 0b11_10_01_00];
        let indexed = png_with(4, 2, ColorType::Indexed, BitDepth::Two, &data, |e| {
            e.set_palette(palette.to_vec());
            e.set_trns(vec![0u8, 0, 0, 0]);
        });
        let mut d = FrameDecoder::new();
        let fb = d.decode_image(ImageFormat::Png, &indexed).unwrap();
        assert_eq!(px(fb, 0, 0), [255, 0, 0, 255], "tRNS alpha is dropped");
        assert_eq!(px(fb, 3, 0), [9, 9, 9, 255]);
        assert_eq!(px(fb, 1, 1), [0, 0, 255, 255]);
        // A palette cut to a part of a colour is refused, not a panic in png.
        let plte = indexed.windows(4).position(|w| w == b"PLTE").unwrap() - 4;
        let mut bad = indexed[..plte].to_vec();
        let chunk: &[u8] = b"PLTE\xff\0\0\0";
        bad.extend_from_slice(&4u32.to_be_bytes());
        bad.extend_from_slice(chunk);
        bad.extend_from_slice(&crc32fast::hash(chunk).to_be_bytes());
        let rest = plte + 12 + palette.len();
        bad.extend_from_slice(&indexed[rest..]);
        let err = d.decode_image(ImageFormat::Png, &bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            PreviewError::Png {
                detail: "a palette of 4 bytes is not 1 to 256 colours".into()
            }
            .to_string()
        );
        // 1-bit grey: 0 is black, 1 white.
        let grey = png(8, 1, ColorType::Grayscale, BitDepth::One, &[0b1010_0000]);
        let fb = d.decode_image(ImageFormat::Png, &grey).unwrap();
        assert_eq!(px(fb, 0, 0), [255, 255, 255, 255]);
        assert_eq!(px(fb, 1, 0), [0, 0, 0, 255]);
    }

    #[test]
    fn buffers_are_reused_while_the_size_stays() {
        let a = jpeg(16, 16);
        let mut d = FrameDecoder::new();
        let first = d
            .decode_image(ImageFormat::Jpeg, &a)
            .unwrap()
            .pixels()
            .as_ptr();
        let second = d
            .decode_image(ImageFormat::Jpeg, &a)
            .unwrap()
            .pixels()
            .as_ptr();
        let third = d
            .decode_image(ImageFormat::Jpeg, &a)
            .unwrap()
            .pixels()
            .as_ptr();
        let fourth = d
            .decode_image(ImageFormat::Jpeg, &a)
            .unwrap()
            .pixels()
            .as_ptr();
        assert_ne!(first, second, "double-buffered");
        assert_eq!((first, second), (third, fourth), "no new buffers");
        let fb = d.decode_image(ImageFormat::Jpeg, &jpeg(24, 8)).unwrap();
        assert_eq!((fb.width(), fb.height()), (24, 8));
    }

    #[test]
    fn truncated_or_corrupt_images_are_errors_and_keep_the_last_picture() {
        let mut d = FrameDecoder::new();
        let good = d
            .decode_image(ImageFormat::Jpeg, &jpeg(32, 16))
            .unwrap()
            .clone();
        let full = jpeg(64, 32);
        for cut in [
            2,
            20,
            full.len() / 2,
            full.len() - 100,
            full.len() - 10,
            full.len() - 1,
        ] {
            let err = d.decode_image(ImageFormat::Jpeg, &full[..cut]).unwrap_err();
            assert!(matches!(err, PreviewError::Jpeg { .. }), "cut {cut}: {err}");
            assert_eq!(d.picture(), Some(&good));
        }
        // Scan data overwritten with a marker that does not belong there.
        let mut corrupt = full.clone();
        let n = corrupt.len();
        corrupt[n - 40..n - 2].fill(0xff);
        corrupt[n - 30] = 0xc4;
        assert!(d.decode_image(ImageFormat::Jpeg, &corrupt).is_err());
        assert_eq!(d.picture(), Some(&good));

        // Noise, so that the pixel data is most of the file.
        let rgb: Vec<u8> = (0..40u32 * 20 * 3)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let full = png(40, 20, png::ColorType::Rgb, png::BitDepth::Eight, &rgb);
        assert!(full.len() > 200, "{}", full.len());
        for cut in [4, 20, 40, full.len() / 2, full.len() - 20, full.len() - 1] {
            let err = d.decode_image(ImageFormat::Png, &full[..cut]).unwrap_err();
            assert!(matches!(err, PreviewError::Png { .. }), "cut {cut}: {err}");
            assert_eq!(d.picture(), Some(&good));
        }
        let mut bad_crc = full.clone();
        bad_crc[29] ^= 0x55; // inside IHDR's CRC
        assert!(matches!(
            d.decode_image(ImageFormat::Png, &bad_crc),
            Err(PreviewError::Png { .. })
        ));
        // Each format's bytes given as the other are errors too.
        assert!(d.decode_image(ImageFormat::Png, &jpeg(8, 8)).is_err());
        assert!(d.decode_image(ImageFormat::Jpeg, &full).is_err());
        assert_eq!(d.picture(), Some(&good));
    }

    /// A JPEG whose frame header claims `w`x`h`.
    fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
        let mut data = jpeg(8, 8);
        let sof = data.windows(2).position(|m| m == [0xff, 0xc0]).unwrap();
        // FF C0, length u16, precision u8, height u16, width u16.
        data[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        data[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
        data
    }

    /// A PNG whose header claims `w`x`h` (with a valid CRC), and no more.
    fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        let mut data = png(1, 1, png::ColorType::Rgb, png::BitDepth::Eight, &[0, 0, 0]);
        // Signature (8), length (4), "IHDR" (4), then width and height.
        data[16..20].copy_from_slice(&w.to_be_bytes());
        data[20..24].copy_from_slice(&h.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&data[12..29]);
        data[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        data
    }

    #[test]
    fn oversize_declared_sizes_are_refused_before_allocating() {
        let mut d = FrameDecoder::new();
        assert_eq!(
            d.decode_image(ImageFormat::Jpeg, &jpeg_claiming(20_000, 10)),
            Err(PreviewError::ImageDimensions { w: 20_000, h: 10 })
        );
        assert_eq!(
            d.decode_image(ImageFormat::Jpeg, &jpeg_claiming(8000, 8000)),
            Err(PreviewError::TooManyPixels {
                w: 8000,
                h: 8000,
                max: MAX_PIXELS
            })
        );
        assert_eq!(
            d.decode_image(ImageFormat::Png, &png_claiming(10, 1 << 30)),
            Err(PreviewError::ImageDimensions { w: 10, h: 1 << 30 })
        );
        assert_eq!(
            d.decode_image(ImageFormat::Png, &png_claiming(16384, 16384)),
            Err(PreviewError::TooManyPixels {
                w: 16384,
                h: 16384,
                max: MAX_PIXELS
            })
        );
        // The refusals allocated nothing.
        assert_eq!(d.spare.capacity() + d.samples.capacity(), 0);
        assert!(d.picture().is_none());
    }
}
