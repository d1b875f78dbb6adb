//! Recordings: what a session received, written as it came, read back for replay.
//!
//! `format` is the file's bytes (pure), `reader` reads records back from any file, checking
//! each and stepping over damage. The format is documented in `docs/recording-format.md`.

pub mod format;
pub mod reader;
