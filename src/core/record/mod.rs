//! Recordings: what a session received, written as it came, read back for replay.
//!
//! `format` is the file's bytes (pure); `writer` appends records on its own thread, fed by
//! the [`writer::RecordSink`]s a session's parts hold, bounded in bytes and never in the
//! way of the live session; `reader` reads records back from any file, checking each and
//! stepping over damage. The format is documented in `docs/recording-format.md`.

pub mod format;
pub mod reader;
pub mod writer;
