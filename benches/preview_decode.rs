//! Preview frame decoding at 1080p against libjpeg-turbo's `tjbench` on the same image.
//!
//! The image is the simulator's synthetic 1920×1080 browser desktop (text, photos, flat
//! fills), JPEG quality 80 with 4:2:0 chroma, as Chrome's screencast sends. Lookout's time
//! is measured two ways: the JPEG decode to RGBA alone (`FrameDecoder::decode`, which is
//! what `tjbench -rgbx` measures), and a whole preview message (JSON + base64 + decode).
//! `tjbench` runs on the same file; the target is a decode within 1.2× of its time.
//!
//! `cargo bench --bench preview_decode`. Without `tjbench` (Debian `libjpeg-turbo-progs`,
//! installed by `packaging/setup.sh`) only Lookout's figures are printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use lookout::core::source::preview::{self, FrameDecoder, ServerMessage};

#[path = "support/jpeg_timing.rs"]
mod jpeg_timing;
use jpeg_timing::time;

/// `tjbench FILE -rgbx`: milliseconds per decompression.
fn tjbench_ms(path: &std::path::Path) -> Option<f64> {
    jpeg_timing::tjbench_fps(path, 3).map(|fps| 1000.0 / fps)
}

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const TARGET_RATIO: f64 = 1.2;

fn main() {
    let desktop = lookout::sim::render_desktop(400, WIDTH, HEIGHT).unwrap();
    let rgb: Vec<u8> = desktop
        .pixels()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 80);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    encoder
        .encode(
            &rgb,
            WIDTH as u16,
            HEIGHT as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desktop-1080p-q80.jpg");
    std::fs::write(&path, &jpeg).unwrap();
    let message = format!(
        r#"{{"type":"frame","seq":1,"data":"{}","metadata":{{"deviceWidth":{WIDTH},"deviceHeight":{HEIGHT},"timestamp":1780000000000.5}}}}"#,
        base64::engine::general_purpose::STANDARD.encode(&jpeg)
    );
    println!(
        "preview decode bench: {WIDTH}x{HEIGHT} synthetic desktop, JPEG q80 4:2:0, {} KiB ({} KiB as a JSON message)",
        jpeg.len() / 1024,
        message.len() / 1024
    );

    let ServerMessage::Frame(frame) = preview::parse_text(&message).unwrap() else {
        panic!("not a frame");
    };
    let mut decoder = FrameDecoder::default();
    // tjbench first and last, Lookout between, to spread any change in machine load.
    let tj_before = tjbench_ms(&path);
    let decode = time(Duration::from_secs(3), || {
        black_box(decoder.decode(&frame).unwrap());
    });
    let whole = time(Duration::from_secs(3), || {
        let ServerMessage::Frame(f) = preview::parse_text(black_box(&message)).unwrap() else {
            panic!("not a frame");
        };
        black_box(decoder.decode(&f).unwrap());
    });
    let tj_after = tjbench_ms(&path);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  lookout JPEG decode to RGBA      {:>7.2} ms/frame ({:.0} Mpixels/s)",
        ms(decode),
        f64::from(WIDTH * HEIGHT) / decode.as_secs_f64() / 1e6
    );
    println!(
        "  lookout whole message (JSON, base64, decode) {:>7.2} ms/frame",
        ms(whole)
    );
    match (tj_before, tj_after) {
        (Some(a), Some(b)) => {
            let tj = a.min(b);
            let ratio = ms(decode) / tj;
            println!(
                "  tjbench -rgbx (libjpeg-turbo)    {tj:>7.2} ms/frame (runs: {a:.2}, {b:.2})"
            );
            println!(
                "verdict: decode is {ratio:.2}x tjbench's time (target within {TARGET_RATIO}x: {})",
                if ratio <= TARGET_RATIO { "yes" } else { "NO" }
            );
        }
        _ => println!("  tjbench not found or unreadable: install libjpeg-turbo-progs"),
    }
}
