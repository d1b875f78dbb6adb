//! Recordings: what a session received, written as it came, read back for replay.
//!
//! `format` is the file's bytes (pure); `writer` appends records on its own thread, fed by
//! the [`writer::RecordSink`]s a session's parts hold, bounded in bytes and never in the
//! way of the live session; `reader` reads records back from any file, checking each and
//! stepping over damage. The format is documented in `docs/recording-format.md`.

pub mod format;
pub mod reader;
pub mod replay;
pub mod tee;
pub mod writer;

use format::Kind;
use writer::RecordSink;

/// A recording and the track a session's stream goes to.
#[derive(Clone, Debug)]
pub struct TrackSink {
    pub sink: RecordSink,
    pub track: u8,
}

impl TrackSink {
    pub fn new(sink: RecordSink, track: u8) -> Self {
        TrackSink { sink, track }
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
