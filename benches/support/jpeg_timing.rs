//! Timing helpers shared by the JPEG benches.

use std::process::Command;
use std::time::{Duration, Instant};

/// Mean time of one run of `f`, over at least `min` and 10 runs.
pub fn time(min: Duration, mut f: impl FnMut()) -> Duration {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut runs = 0u32;
    while start.elapsed() < min || runs < 10 {
        f();
        runs += 1;
    }
    start.elapsed() / runs
}

/// `tjbench FILE -rgbx` for `secs` seconds: its decompressions per second, from its "Frame
/// rate" line. `None` without `tjbench` (Debian `libjpeg-turbo-progs`).
pub fn tjbench_fps(path: &std::path::Path, secs: u32) -> Option<f64> {
    let out = Command::new("tjbench")
        .arg(path)
        .args(["-rgbx", "-benchtime", &secs.to_string(), "-warmup", "1"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("Decompress")
        .nth(1)?
        .lines()
        .find(|l| l.contains("Frame rate"))?
        .split(':')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
