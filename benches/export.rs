//! Exporting a 1080p RFB recording to an MP4: how many times faster than real time
//! `lookout export` runs (decoding with `RfbPlayer`, encoding with `ffmpeg`'s libx264
//! `veryfast`).
//!
//! The recording is the seek bench's desktop (`support/rfb_recording.rs`), two minutes
//! long by default: a browser whose text changes twice a second, scrolling every 15 s and
//! loading a page every 30 s. It is exported whole at 25 frames a second, and the bench
//! prints the speed factor: recording seconds per second of wall time.
//!
//! ```text
//! cargo bench --bench export
//! ```
//!
//! `LOOKOUT_EXPORT_MINUTES` sets the recording's length; `LOOKOUT_EXPORT_FROM` (seconds)
//! exports from there to the end: from 60 in a 4-minute recording, half of it is the
//! 960×540 video that plays from minute 2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lookout::commands::export::{self, ExportOptions};

#[path = "support/rfb_recording.rs"]
mod rfb_recording;

fn main() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let minutes = env("LOOKOUT_EXPORT_MINUTES").unwrap_or(2);
    let from = env("LOOKOUT_EXPORT_FROM").map(Duration::from_secs);
    let have_ffmpeg = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_ffmpeg {
        println!("skipped: ffmpeg is not installed (packaging/setup.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.lkrec");
    let t = Instant::now();
    let written = rfb_recording::build(&path, minutes);
    println!(
        "built a {} s 1920x1080 RFB recording ({:.1} MiB) in {:.1} s",
        written.seconds,
        written.file as f64 / f64::from(1 << 20),
        t.elapsed().as_secs_f64()
    );
    let out = dir.path().join("out.mp4");
    let opts = ExportOptions {
        from,
        fps: 25,
        progress: false,
        ..ExportOptions::default()
    };
    let done = export::run(&path, &out, &opts).unwrap();
    let mp4 = std::fs::metadata(&out).unwrap().len();
    let wall = done.wall.as_secs_f64();
    println!(
        "exported {:.1} s ({}x{}, {} frames at 25 fps) in {wall:.1} s, MP4 {:.1} MiB",
        done.seconds,
        done.width,
        done.height,
        done.frames,
        mp4 as f64 / f64::from(1 << 20)
    );
    println!(
        "speed factor: {:.2}x real time (recording seconds / export wall seconds; target > 1)",
        done.seconds / wall
    );
}
