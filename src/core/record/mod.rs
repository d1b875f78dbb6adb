//! Recordings: what a session received, written as it came, read back for replay.
//!
//! `format` is the file's bytes (pure); `writer` appends records on its own thread, fed by
//! the [`writer::RecordSink`]s a session's parts hold, bounded in bytes and never in the
//! way of the live session; `reader` reads records back from any file, checking each and
//! stepping over damage. The format is documented in `docs/recording-format.md`.

pub mod format;
pub mod index;
pub mod keyframe;
pub mod library;
pub mod playback;
pub mod player;
pub mod reader;
pub mod replay;
pub mod replay_hls;
pub mod replay_preview;
pub mod replay_sound;
pub mod tee;
pub mod writer;

use std::time::{Duration, Instant};

/// The picture's track in a recording.
pub const PICTURE_TRACK: u8 = 0;
/// The task log's track in a recording.
pub const LOG_TRACK: u8 = 1;
/// The sound's track, when it comes apart from the picture (an HLS audio playlist).
pub const SOUND_TRACK: u8 = 2;

use format::Kind;
use writer::RecordSink;

/// A recording and the track a session's stream goes to.
#[derive(Clone, Debug)]
pub struct TrackSink {
    pub sink: RecordSink,
    pub track: u8,
    pub keyframes: KeyframeEvery,
}

/// How often a picture track takes a keyframe: a seek decodes from the last one, so they
/// come often enough that what follows one costs little to decode, and rarely enough that
/// taking them (a copy of the picture, compressed on the writer's thread) costs little
/// beside the stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyframeEvery {
    /// At least this long between keyframes.
    pub min_gap: Duration,
    /// At most this long, while anything changes.
    pub max_gap: Duration,
    /// A keyframe once updates repainted this many whole pictures (and `min_gap` passed):
    /// about what a seek decodes after a keyframe at most, some 100 ms for 1080p Tight.
    pub repaints: f64,
    /// ...and the stream since the last keyframe is at least this many bytes per pixel
    /// of the picture: repaints that cost little on the wire (CopyRect scrolls, small
    /// edits) cost little to decode again, and a keyframe would outweigh them.
    pub stream_per_pixel: f64,
}

impl Default for KeyframeEvery {
    fn default() -> Self {
        KeyframeEvery {
            min_gap: Duration::from_secs(2),
            max_gap: Duration::from_secs(30),
            repaints: 8.0,
            stream_per_pixel: 0.5,
        }
    }
}

/// When a picture track's next keyframe is due.
#[derive(Clone, Debug)]
pub struct KeyframePolicy {
    every: KeyframeEvery,
    last: Instant,
    /// Pixels the updates since the last keyframe painted, in whole pictures.
    painted: f64,
    /// The stream's byte count at the last keyframe.
    stream_at: u64,
}

impl KeyframePolicy {
    pub fn new(every: KeyframeEvery, now: Instant) -> Self {
        KeyframePolicy {
            every,
            last: now,
            painted: 0.0,
            stream_at: 0,
        }
    }

    /// Counts an update that painted `area` pixels of a `width`×`height` picture at `now`,
    /// the stream having brought `stream_at` bytes so far; true when a keyframe is due
    /// after it.
    pub fn after_update(
        &mut self,
        area: u64,
        stream_at: u64,
        [width, height]: [u32; 2],
        now: Instant,
    ) -> bool {
        let picture = u64::from(width) * u64::from(height);
        self.painted += area as f64 / picture.max(1) as f64;
        let since = now.saturating_duration_since(self.last);
        let streamed = stream_at.saturating_sub(self.stream_at) as f64;
        let due = (since >= self.every.min_gap
            && self.painted >= self.every.repaints
            && streamed >= self.every.stream_per_pixel * picture as f64)
            || (since >= self.every.max_gap && self.painted > 0.0);
        if due {
            self.last = now;
            self.painted = 0.0;
            self.stream_at = stream_at;
        }
        due
    }
}

impl TrackSink {
    pub fn new(sink: RecordSink, track: u8) -> Self {
        TrackSink {
            sink,
            track,
            keyframes: KeyframeEvery::default(),
        }
    }

    /// Queues a record of this track stamped now; false if it was dropped.
    pub fn put(&self, kind: Kind, payload: Vec<u8>) -> bool {
        self.sink.put(kind, self.track, payload)
    }

    /// Queues a JSON record of this track stamped now (redacted).
    pub fn put_json(&self, kind: Kind, value: &serde_json::Value) -> bool {
        self.sink.put_json(kind, self.track, value)
    }
}
