//! Seeking in a one-hour 1080p RFB recording: how long `RfbPlayer::seek` takes to show any
//! moment, and what an hour of recording costs on disk.
//!
//! The recording is built in simulated time, as `lookout record` would write it
//! (`support/rfb_recording.rs`, shared with the export bench): a 1920×1080 desktop whose browser changes a line of text twice a second, scrolls every
//! 15 s and loads a new page every 30 s, and plays a 960×540 video at 10 frames a second
//! for two minutes in every ten; all sent as Tight zlib rectangles on persistent
//! streams; a live client decodes every update, and keyframes are taken by the recorder's
//! own policy (`KeyframePolicy`). Then it opens the file (building the index) and seeks to
//! 200 moments spread over the hour, printing p50, p95 and the worst.
//!
//! ```text
//! cargo bench --bench seek
//! ```
//!
//! `LOOKOUT_SEEK_MINUTES` makes the recording shorter or longer (60 by default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use lookout::core::record::player::TrackPlayer;
use lookout::core::record::replay::RfbPlayer;

#[path = "support/rfb_recording.rs"]
mod rfb_recording;
use rfb_recording::{build, hash};

fn main() {
    let minutes: u64 = std::env::var("LOOKOUT_SEEK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hour.lkrec");
    let t = Instant::now();
    let w = build(&path, minutes);
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    let per_hour = 3600.0 / w.seconds as f64;
    println!(
        "built a {minutes}-minute 1920x1080 RFB recording in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!(
        "  file {:.1} MiB/hour: wire {:.1} MiB/hour + {} keyframes {:.1} MiB/hour; file / (wire + keyframes) = {:.4}",
        mib(w.file) * per_hour,
        mib(w.wire) * per_hour,
        (w.keyframe_count as f64 * per_hour).round(),
        mib(w.keyframes) * per_hour,
        w.file as f64 / (w.wire + w.keyframes) as f64,
    );

    let t = Instant::now();
    let mut player = RfbPlayer::open(&path, 0).unwrap();
    println!(
        "open (index {} records): {:.1} ms",
        player.index().records,
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut g = 0x9e37_79b9_7f4a_7c15u64;
    let mut times = Vec::new();
    for _ in 0..200 {
        g = hash(g);
        // From the first picture (at 0.5 s) on.
        let at_us = 500_000 + g % (w.seconds * 1_000_000 - 500_000);
        let t = Instant::now();
        player.seek(at_us).unwrap();
        assert!(player.picture().is_some());
        times.push(t.elapsed());
    }
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "seek to 200 random moments: p50 {:.1} ms, p95 {:.1} ms, worst {:.1} ms (target p95 <= 200 ms)",
        pct(0.5),
        pct(0.95),
        pct(1.0)
    );
}
