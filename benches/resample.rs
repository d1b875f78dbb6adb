//! The fitted picture's CPU downscale (`lookout::ui::picture::resample`): 1920×1080 to the
//! sizes a fitted view shows it at, whole pictures and the changed rectangles of an
//! animating page.
//!
//! `cargo bench --bench resample` prints, per output size, the time for a whole picture and
//! nanoseconds per source pixel: the viewer redoes only changed areas, so its cost is this
//! figure times the changed pixels per second (the peers benchmark prints those as screens/s).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use lookout::core::frame::{Framebuffer, Rect};
use lookout::ui::picture::resample::{Resampler, Scratch};

const SRC: [u32; 2] = [1920, 1080];

fn picture() -> Framebuffer {
    let [w, h] = SRC;
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(&[(x ^ y) as u8, (x * 3) as u8, (y * 7) as u8, 255]);
        }
    }
    Framebuffer::from_rgba(w, h, px).unwrap()
}

/// Runs `f` for at least `min` and returns the mean time of one run.
fn time(min: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    let mut runs = 0u32;
    while start.elapsed() < min {
        f();
        runs += 1;
    }
    start.elapsed() / runs
}

fn main() {
    let fb = picture();
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    println!(
        "resample bench: {}x{} source, box filter, BGRA out",
        SRC[0], SRC[1]
    );
    for dst in [[1280, 720], [1440, 810], [960, 540], [640, 360]] {
        let r = Resampler::new(SRC, dst).unwrap();
        let all = Rect::new(0, 0, dst[0], dst[1]);
        let whole = time(Duration::from_secs(1), || {
            black_box(r.resample_bgra(&fb, all, &mut scratch, &mut out));
        });
        // An animating page's update: 64×64 tiles over a third of the screen.
        let tiles: Vec<Rect> = (0..SRC[1] / 64)
            .flat_map(|ty| (0..SRC[0] / 64 / 3).map(move |tx| Rect::new(tx * 64, ty * 64, 64, 64)))
            .collect();
        let tile_px: u64 = tiles.iter().map(|t| t.area()).sum();
        let update = time(Duration::from_secs(1), || {
            for t in &tiles {
                let o = r.output_rect(*t);
                black_box(r.resample_bgra(&fb, o, &mut scratch, &mut out));
            }
        });
        let src_px = f64::from(SRC[0] * SRC[1]);
        println!(
            "  to {:>4}x{:<4} whole picture {:>6.2} ms ({:.2} ns/source px); {} 64x64 tiles ({:.2} screens) {:>6.2} ms ({:.2} ns/source px)",
            dst[0],
            dst[1],
            whole.as_secs_f64() * 1e3,
            whole.as_secs_f64() * 1e9 / src_px,
            tiles.len(),
            tile_px as f64 / src_px,
            update.as_secs_f64() * 1e3,
            update.as_secs_f64() * 1e9 / tile_px as f64,
        );
    }
}
