//! What every encoder writes with: the rectangle header, the connection's zlib streams
//! (sync-flushed so the client can inflate each chunk completely) and why encoding fails.

use flate2::{Compress, Compression, FlushCompress};

use crate::core::frame::{FrameError, Rect};

/// Why an area could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("zlib compression failed: {0}")]
    Zlib(String),
    #[error("JPEG compression failed: {0}")]
    Jpeg(String),
    #[error("{len} bytes do not fit a Tight compact length")]
    TightTooLong { len: usize },
}

/// zlib level used until the client asks for another (RFB compression level 0–9).
pub const DEFAULT_COMPRESS_LEVEL: u8 = 6;

/// One zlib stream that lives as long as the connection; every chunk ends with a sync
/// flush so the client can inflate it completely.
pub struct ZlibStream {
    inner: Compress,
    level: u8,
}

impl std::fmt::Debug for ZlibStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZlibStream")
            .field("level", &self.level)
            .field("total_in", &self.inner.total_in())
            .finish()
    }
}

impl ZlibStream {
    pub fn new(level: u8) -> Self {
        let level = level.min(9);
        Self {
            inner: Compress::new(Compression::new(level.into()), true),
            level,
        }
    }

    /// Changes the level for what follows (between sync-flushed chunks).
    pub fn set_level(&mut self, level: u8) -> Result<(), EncodeError> {
        let level = level.min(9);
        if level != self.level {
            self.inner
                .set_level(Compression::new(level.into()))
                .map_err(|e| EncodeError::Zlib(e.to_string()))?;
            self.level = level;
        }
        Ok(())
    }

    /// Compresses all of `input` and sync-flushes, appending to `out`.
    pub fn compress_sync(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start_in = self.inner.total_in();
        loop {
            out.reserve(input.len() / 2 + 64);
            let done = (self.inner.total_in() - start_in) as usize;
            self.inner
                .compress_vec(&input[done..], out, FlushCompress::Sync)
                .map_err(|e| EncodeError::Zlib(e.to_string()))?;
            let done = (self.inner.total_in() - start_in) as usize;
            // Finished once all input went in and the flush left spare output room.
            if done == input.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}

/// Appends a rectangle header. Coordinates come from checked rectangles (≤ 16384).
pub fn rect_header(out: &mut Vec<u8>, r: Rect, encoding: i32) {
    for v in [r.x, r.y, r.w, r.h] {
        out.extend_from_slice(&(v.min(u32::from(u16::MAX)) as u16).to_be_bytes());
    }
    out.extend_from_slice(&encoding.to_be_bytes());
}
