//! What the recorder's streams are made of: the two kinds, the picture size, frame rate and
//! segment length, the timeline a recording's frames and samples sit on, and encoded
//! segments.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::sim::clock::now_ms;

/// Picture width.
pub const WIDTH: u32 = 1280;

/// Picture height.
pub const HEIGHT: u32 = 720;

/// Frames per second.
pub const FPS: u64 = 24;

/// Frames per segment (one GOP: each segment starts with an IDR).
pub const SEGMENT_FRAMES: u64 = 48;

/// One of the recorder's two streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HlsKind {
    Video,
    Audio,
}

impl HlsKind {
    /// As in URLs and in the `recorder/stream` body's `type`.
    pub fn name(self) -> &'static str {
        match self {
            HlsKind::Video => "video",
            HlsKind::Audio => "audio",
        }
    }

    /// The kind named `name` (exactly, as URLs and bodies spell it).
    pub fn from_name(name: &str) -> Option<HlsKind> {
        match name {
            "video" => Some(HlsKind::Video),
            "audio" => Some(HlsKind::Audio),
            _ => None,
        }
    }
}

/// Where a recording's timeline starts: frame 0, sample 0, segment 0.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeline {
    pub start: Instant,
    /// `start` on the wall clock, ms since the Unix epoch.
    pub start_wall_ms: u64,
}

impl Timeline {
    pub(crate) fn now() -> Timeline {
        Timeline {
            start: Instant::now(),
            start_wall_ms: now_ms(),
        }
    }

    /// The last frame whose time has come at `at`.
    pub fn frame_at(&self, at: Instant) -> u64 {
        let us = at.saturating_duration_since(self.start).as_micros();
        (us.saturating_mul(u128::from(FPS)) / 1_000_000).min(u128::from(u64::MAX / 2)) as u64
    }

    /// When frame `n` is due.
    pub fn instant_of_frame(&self, n: u64) -> Instant {
        let us = n.saturating_mul(1_000_000).div_ceil(FPS);
        self.start + Duration::from_micros(us)
    }

    /// The wall-clock time (ms since the Unix epoch) `us` microseconds into the timeline.
    pub fn wall_ms(&self, us: i64) -> u64 {
        let ms = us.div_euclid(1000);
        if ms >= 0 {
            self.start_wall_ms.saturating_add(ms.unsigned_abs())
        } else {
            self.start_wall_ms.saturating_sub(ms.unsigned_abs())
        }
    }
}

/// One encoded stretch of a stream.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    /// The MPEG-TS file.
    pub bytes: Bytes,
    /// Where it starts on the timeline, µs (negative only for the audio encoder's priming).
    pub start_us: i64,
    pub duration_us: u64,
}

/// One published segment: the same 2 s of video and of audio.
#[derive(Debug)]
pub(crate) struct Segment {
    pub seq: u64,
    pub video: Part,
    pub audio: Part,
}

impl Segment {
    pub(crate) fn part(&self, kind: HlsKind) -> &Part {
        match kind {
            HlsKind::Video => &self.video,
            HlsKind::Audio => &self.audio,
        }
    }
}
