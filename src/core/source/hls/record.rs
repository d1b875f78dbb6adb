//! What an HLS session writes to a recording (docs/recording-format.md): one `Segment`
//! record per segment of the main playlist, its bytes as they came, stamped when the view
//! began to show it: the moment its first picture was shown, less the time of the frames
//! before that one the play-out clock skipped.
//!
//! Once the view has moved on from a segment, an `Event` `{"type":"hls_frames"}` says when
//! each of its frames was shown (a late decoder, a clock catching up or skipping make that
//! differ from the frames' own pace), and a replay shows each at that moment.
//!
//! A segment is kept (its bytes are shared, not copied) from when the decoder reads it
//! until its first picture is shown; one none of whose pictures was shown is recorded just
//! before the next one that was, with the same stamp, as the decoder needs what it holds to
//! go on. Segments read but never shown when the session stops are not recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::core::record::TrackSink;
use crate::core::record::format::Kind;
use crate::core::record::replay_hls::{FRAMES_EVENT, FramesShown, SegmentHeader, segment_payload};

/// A segment read by the decoder, not yet recorded.
#[derive(Debug)]
pub(super) struct Pending {
    header: SegmentHeader,
    bytes: Bytes,
}

impl Pending {
    pub fn new(
        seq: u64,
        duration: Duration,
        pdt: Option<SystemTime>,
        discontinuity: bool,
        bytes: Bytes,
    ) -> Self {
        let pdt_unix_ms = pdt
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Pending {
            header: SegmentHeader {
                seq,
                duration_s: duration.as_secs_f64(),
                pdt_unix_ms,
                discontinuity,
            },
            bytes,
        }
    }
}

/// Puts a stream's segments into its track, their stamps never going backwards.
#[derive(Debug)]
pub(super) struct SegmentRecorder {
    sink: TrackSink,
    last_us: AtomicU64,
}

impl SegmentRecorder {
    /// Segments are stamped from now on (after the connection's `Connect`).
    pub fn new(sink: TrackSink) -> Self {
        let now = sink.sink.now_us();
        SegmentRecorder {
            sink,
            last_us: AtomicU64::new(now),
        }
    }

    /// Microseconds since the recording began.
    pub fn now_us(&self) -> u64 {
        self.sink.sink.now_us()
    }

    /// `t_us`, or the last stamp if that was later; the last stamp from now on.
    fn stamp(&self, t_us: u64) -> u64 {
        self.last_us.fetch_max(t_us, Ordering::AcqRel).max(t_us)
    }

    /// Records `pending` stamped `t_us` (or the last stamp if that was later).
    pub fn put(&self, pending: Pending, t_us: u64) {
        let payload = segment_payload(&pending.header, &pending.bytes);
        self.sink
            .sink
            .put_at(Kind::Segment, self.sink.track, self.stamp(t_us), payload);
    }

    /// Records when each shown frame of segment `seq` was shown: (timestamp, when), once
    /// the view has moved on from it. Nothing if none was.
    pub fn put_frames(&self, seq: u64, shown: Option<Vec<(i64, u64)>>) {
        let Some(shown) = shown.filter(|s| !s.is_empty()) else {
            return;
        };
        let event = FramesShown {
            kind: FRAMES_EVENT,
            seq,
            ts: shown.iter().map(|f| f.0).collect(),
            at_us: shown.iter().map(|f| f.1).collect(),
        };
        let payload = serde_json::to_vec(&event).unwrap_or_default();
        let t_us = self.stamp(self.now_us());
        self.sink
            .sink
            .put_at(Kind::Event, self.sink.track, t_us, payload);
    }
}
