//! `LOOKOUT_STATS=1`: what the console benchmark (`cargo bench --bench console`) reads.
//! Every [`EVERY`] the console writes one line to stderr:
//!
//! ```text
//! console-stats frames=N frame_ms_p50=… frame_ms_p95=… frame_ms_max=… badges=K badge_ms_max=…
//!   thumbnail_frames=T thumbnail_frame_ms_p95=… other_frame_ms_p95=… ui_ms_p95=…
//! ```
//!
//! (one line). `thumbnail_frames` and the two after it split the frames that uploaded
//! thumbnails (made on their own thread) from the others; `ui_ms_p95` is the console's
//! own part of a frame.
//!
//! A frame's time is eframe's `cpu_usage`: the app's update, tessellation and painting,
//! without waiting for the screen. A badge's time runs from the moment the task asked
//! (the runner's own timestamp on its `input_request`) to the frame that first drew it.
//! Each line covers the time since the last.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often a line is written.
pub const EVERY: Duration = Duration::from_secs(5);

/// Frame and badge times since the last line.
#[derive(Debug)]
pub struct Stats {
    frame_ms: Vec<f32>,
    /// The frames that made thumbnails, and the others.
    thumbnail_ms: Vec<f32>,
    other_ms: Vec<f32>,
    badge_ms: Vec<u64>,
    /// The console's own part of each frame (its `ui`, before eframe tessellates and paints).
    ui_ms: Vec<f32>,
    since: Instant,
}

impl Stats {
    /// Stats when `LOOKOUT_STATS` is set (to anything but `0`).
    pub fn from_env() -> Option<Self> {
        let on = std::env::var_os("LOOKOUT_STATS").is_some_and(|v| v != "0");
        on.then(|| Self {
            frame_ms: Vec::new(),
            thumbnail_ms: Vec::new(),
            other_ms: Vec::new(),
            badge_ms: Vec::new(),
            ui_ms: Vec::new(),
            since: Instant::now(),
        })
    }

    /// A frame took `cpu_s` seconds and made `thumbnails`; writes the line when it is due.
    pub fn frame(&mut self, cpu_s: Option<f32>, thumbnails: u64) {
        if let Some(s) = cpu_s {
            self.frame_ms.push(s * 1000.0);
            match thumbnails {
                0 => self.other_ms.push(s * 1000.0),
                _ => self.thumbnail_ms.push(s * 1000.0),
            }
        }
        if self.since.elapsed() >= EVERY {
            eprintln!("{}", self.line());
            self.frame_ms.clear();
            self.thumbnail_ms.clear();
            self.other_ms.clear();
            self.badge_ms.clear();
            self.ui_ms.clear();
            self.since = Instant::now();
        }
    }

    /// The console's own part of a frame took `d`.
    pub fn ui_time(&mut self, d: std::time::Duration) {
        self.ui_ms.push(d.as_secs_f32() * 1000.0);
    }

    /// A badge is drawn for a prompt asked at `asked_at_us` (µs since the Unix epoch).
    pub fn badge(&mut self, asked_at_us: i64) {
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let ms = now_us.saturating_sub(asked_at_us).max(0) / 1000;
        self.badge_ms.push(u64::try_from(ms).unwrap_or(0));
    }

    fn line(&mut self) -> String {
        for v in [
            &mut self.frame_ms,
            &mut self.thumbnail_ms,
            &mut self.other_ms,
            &mut self.ui_ms,
        ] {
            v.sort_by(f32::total_cmp);
        }
        format!(
            "console-stats frames={} frame_ms_p50={:.2} frame_ms_p95={:.2} frame_ms_max={:.2} badges={} badge_ms_max={} \
             thumbnail_frames={} thumbnail_frame_ms_p95={:.2} other_frame_ms_p95={:.2} ui_ms_p95={:.2}",
            self.frame_ms.len(),
            quantile(&self.frame_ms, 0.5),
            quantile(&self.frame_ms, 0.95),
            self.frame_ms.last().copied().unwrap_or(0.0),
            self.badge_ms.len(),
            self.badge_ms.iter().max().copied().unwrap_or(0),
            self.thumbnail_ms.len(),
            quantile(&self.thumbnail_ms, 0.95),
            quantile(&self.other_ms, 0.95),
            quantile(&self.ui_ms, 0.95),
        )
    }
}

/// The `q` quantile of `sorted` (0 when empty).
fn quantile(sorted: &[f32], q: f32) -> f32 {
    match sorted.len() {
        0 => 0.0,
        n => sorted[((n as f32 * q) as usize).min(n - 1)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_counts_frames_and_badges_and_takes_the_quantiles() {
        let mut s = Stats {
            frame_ms: (1..=100).rev().map(|v| v as f32).collect(),
            thumbnail_ms: vec![30.0, 10.0],
            other_ms: vec![5.0],
            badge_ms: vec![120, 800, 40],
            ui_ms: vec![2.0, 1.0],
            since: Instant::now(),
        };
        assert_eq!(
            s.line(),
            "console-stats frames=100 frame_ms_p50=51.00 frame_ms_p95=96.00 frame_ms_max=100.00 badges=3 badge_ms_max=800 \
             thumbnail_frames=2 thumbnail_frame_ms_p95=30.00 other_frame_ms_p95=5.00 ui_ms_p95=2.00"
        );
        let asked = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64;
        s.badge(asked - 250_000);
        assert!((250..400).contains(&s.badge_ms[3]), "{:?}", s.badge_ms);
    }
}
