//! Our baseline JPEG decoder (`core::jpeg::Baseline`, Tight's JPEGs), as the Tight
//! decoder uses it: one decoder for a run of images, its tables kept from one to the next,
//! and zune-jpeg for what it leaves (`Decoded::Unsupported`) or fails, behind
//! `common_sampling` as there.
//!
//! Input: images in `lookout_fuzz::records` framing, each `width: u16, height: u16,
//! padding: u8` (extra bytes at the end of each destination row) then the JPEG. The same
//! images go through the AVX2 decoder (where the CPU has AVX2) and the portable one; both
//! must give the same result and the same pixels, and a refused image must leave the
//! destination untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout::core::jpeg::{Baseline, Decoded, JpegError, Target, common_sampling};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

/// Largest destination tried, in pixels (Tight rectangles are at most 2048 wide, and
/// x11vnc's JPEGs 256×24).
const MAX_PIXELS: usize = 1 << 18;
/// What an untouched destination holds.
const FILL: u8 = 0xa5;

/// Decodes `jpeg` into a fresh `w`×`h` destination of rows `stride` bytes apart.
fn decode(
    decoder: &mut Baseline,
    jpeg: &[u8],
    (w, h, stride): (u32, u32, usize),
) -> (Result<Decoded, JpegError>, Vec<u8>) {
    let mut pixels = vec![FILL; stride * h as usize];
    let target = Target {
        pixels: &mut pixels,
        stride,
        w,
        h,
    };
    let result = decoder.decode(jpeg, target);
    (result, pixels)
}

/// What the Tight decoder does with an image ours leaves or fails: zune-jpeg, to RGBA,
/// limited to the rectangle's size.
fn zune(jpeg: &[u8], w: u32, h: u32) {
    if !common_sampling(jpeg) {
        return;
    }
    let (w, h) = (w as usize, h as usize);
    let options = DecoderOptions::default()
        .set_max_width(w)
        .set_max_height(h)
        .jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    if decoder.decode_headers().is_ok() && decoder.dimensions() == Some((w, h)) {
        let mut pixels = vec![0; w * h * 4];
        let _ = decoder.decode_into(&mut pixels);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut simd = Baseline::with_simd(true);
    let mut portable = Baseline::with_simd(false);
    for image in lookout_fuzz::records(data) {
        let [w0, w1, h0, h1, padding, jpeg @ ..] = image else {
            continue;
        };
        let (w, h) = (
            u16::from_be_bytes([*w0, *w1]),
            u16::from_be_bytes([*h0, *h1]),
        );
        if w == 0 || h == 0 || usize::from(w) * usize::from(h) > MAX_PIXELS {
            continue;
        }
        let size = (
            u32::from(w),
            u32::from(h),
            usize::from(w) * 4 + usize::from(*padding),
        );
        let (result, pixels) = decode(&mut simd, jpeg, size);
        let (other, other_pixels) = decode(&mut portable, jpeg, size);
        assert_eq!(result, other, "AVX2 and portable decoders disagree");
        match result {
            Ok(Decoded::Done) => {
                assert!(pixels == other_pixels, "AVX2 and portable pixels differ");
                for row in pixels.chunks_exact(size.2) {
                    let (picture, pad) = row.split_at(usize::from(w) * 4);
                    assert!(pad.iter().all(|&b| b == FILL), "written past the row");
                    assert!(picture.chunks_exact(4).all(|px| px[3] == 255), "not opaque");
                }
            }
            Ok(Decoded::Unsupported) => {
                assert!(pixels.iter().all(|&b| b == FILL), "refused, yet written");
                zune(jpeg, size.0, size.1);
            }
            Err(JpegError::Size { .. }) => {}
            Err(_) => zune(jpeg, size.0, size.1),
        }
    }
});
