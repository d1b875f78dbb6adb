//! Tight's JPEG rectangles as x11vnc sends them: a 1080p screen cut into 256×24 JPEGs
//! (quality 80, no chroma subsampling), decoded into a 1920×1080 framebuffer.
//!
//! Lookout's own decoder (`core::jpeg`, tables kept across images, rows written in place)
//! against zune-jpeg (decode to packed RGBA, then copy the rows in, as Tight did before), and
//! against libjpeg-turbo's `tjbench` on three of the tiles (what vncviewer uses, one
//! `tjDecompress` per rectangle).
//!
//! `cargo bench --bench tight_jpeg`. Without `tjbench` (Debian `libjpeg-turbo-progs`) its
//! line is left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use lookout::core::frame::{Framebuffer, Rect};
use lookout::core::jpeg::{Baseline, Decoded, Target};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

#[path = "support/jpeg_timing.rs"]
mod jpeg_timing;
use jpeg_timing::time;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const TILE_W: u32 = 256;
const TILE_H: u32 = 24;

fn zune_into(fb: &mut Framebuffer, r: Rect, jpeg: &[u8], scratch: &mut Vec<u8>) {
    let options = DecoderOptions::default()
        .set_max_width(r.w as usize)
        .set_max_height(r.h as usize)
        .jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut d = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    d.decode_headers().unwrap();
    scratch.resize(r.area() as usize * 4, 0);
    d.decode_into(scratch).unwrap();
    fb.put_opaque_rgba(r, scratch).unwrap();
}

fn main() {
    let desktop = lookout::sim::render_desktop(400, WIDTH, HEIGHT).unwrap();
    let mut tiles = Vec::new();
    for y in (0..HEIGHT).step_by(TILE_H as usize) {
        for x in (0..WIDTH).step_by(TILE_W as usize) {
            let r = Rect::new(x, y, TILE_W.min(WIDTH - x), TILE_H.min(HEIGHT - y));
            let rgb: Vec<u8> = desktop
                .crop(r)
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            let mut jpeg = Vec::new();
            let mut e = jpeg_encoder::Encoder::new(&mut jpeg, 80);
            e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
            e.encode(&rgb, r.w as u16, r.h as u16, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            tiles.push((r, jpeg));
        }
    }
    let bytes: usize = tiles.iter().map(|(_, j)| j.len()).sum();
    println!(
        "tight JPEG bench: {WIDTH}x{HEIGHT} synthetic desktop as {} JPEGs of up to {TILE_W}x{TILE_H}, q80 4:4:4, {} KiB",
        tiles.len(),
        bytes / 1024
    );

    let mut fb = Framebuffer::new(WIDTH, HEIGHT).unwrap();
    let mut ours = Baseline::new();
    let decode_ours = |fb: &mut Framebuffer, r: Rect, jpeg: &[u8], d: &mut Baseline| {
        let (pixels, stride) = fb.area_mut(r).unwrap();
        let target = Target {
            pixels,
            stride,
            w: r.w,
            h: r.h,
        };
        assert_eq!(d.decode(black_box(jpeg), target), Ok(Decoded::Done));
    };
    let mut scratch = Vec::new();
    let screen_ours = time(Duration::from_secs(3), || {
        for (r, jpeg) in &tiles {
            decode_ours(&mut fb, *r, jpeg, &mut ours);
        }
    });
    let screen_zune = time(Duration::from_secs(3), || {
        for (r, jpeg) in &tiles {
            zune_into(&mut fb, *r, black_box(jpeg), &mut scratch);
        }
    });
    let per_tile = |d: Duration| d.as_secs_f64() * 1e6 / tiles.len() as f64;
    let mpx = |d: Duration| f64::from(WIDTH * HEIGHT) / d.as_secs_f64() / 1e6;
    println!(
        "  whole screen   lookout {:>6.2} ms ({:>5.1} us/JPEG, {:>4.0} Mpx/s)   zune-jpeg + copy {:>6.2} ms ({:>5.1} us/JPEG, {:>4.0} Mpx/s)",
        screen_ours.as_secs_f64() * 1e3,
        per_tile(screen_ours),
        mpx(screen_ours),
        screen_zune.as_secs_f64() * 1e3,
        per_tile(screen_zune),
        mpx(screen_zune),
    );

    // Three single tiles: the top bar, text, and the photo row.
    let dir = tempfile::tempdir().unwrap();
    for (name, index) in [("title bar", 0), ("text", 8 * 10), ("photos", 8 * 14 + 1)] {
        let (r, jpeg) = &tiles[index.min(tiles.len() - 1)];
        let mine = time(Duration::from_secs(1), || {
            decode_ours(&mut fb, *r, jpeg, &mut ours);
        });
        let theirs = time(Duration::from_secs(1), || {
            zune_into(&mut fb, *r, black_box(jpeg), &mut scratch);
        });
        let path = dir.path().join(format!("tile{index}.jpg"));
        std::fs::write(&path, jpeg).unwrap();
        let tj = jpeg_timing::tjbench_fps(&path, 2)
            .map(|fps| format!("   tjbench -rgbx {:>6.1} us", 1e6 / fps))
            .unwrap_or_default();
        println!(
            "  {name:<12} ({:>4} B) lookout {:>6.1} us   zune-jpeg + copy {:>6.1} us{tj}",
            jpeg.len(),
            mine.as_secs_f64() * 1e6,
            theirs.as_secs_f64() * 1e6,
        );
    }
}
