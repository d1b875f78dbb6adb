//! One persistent zlib stream (ZRLE has one per connection, Tight four), inflating a
//! rectangle's compressed bytes straight from the socket into a reusable buffer.
//!
//! The compressed bytes are read in small chunks, so a length on the wire never sizes an
//! allocation; the output is capped at what the rectangle can legally need, so a zlib bomb
//! ends in [`RfbError::ZlibOverflow`] instead of memory exhaustion. Servers flush the stream
//! (Z_SYNC_FLUSH) at the end of every rectangle, so all of a rectangle's output is available
//! once its compressed bytes are consumed.

use std::io::Read;

use flate2::{Decompress, FlushDecompress, Status};

use super::RfbError;

/// Compressed bytes read from the stream per step.
const INPUT_CHUNK: usize = 32 * 1024;
/// First output allocation; it doubles as needed up to the cap.
const MIN_OUTPUT: usize = 64 * 1024;
/// Deflate's window: the most output a later block can refer back to.
pub(crate) const WINDOW: usize = 32 * 1024;

pub(crate) struct Inflater {
    z: Decompress,
    input: Vec<u8>,
    output: Vec<u8>,
    /// The stream's last output (at most 2 × [`WINDOW`], the last `WINDOW` of it what
    /// counts), kept only once [`Inflater::keep_window`] was called: what a keyframe saves
    /// so that a replay can inflate from the middle of the stream.
    window: Option<Vec<u8>>,
    /// The stream's zlib header has been read (it has had input since it began).
    started: bool,
}

impl Inflater {
    pub(crate) fn new() -> Self {
        Self {
            z: Decompress::new(true),
            input: vec![0; INPUT_CHUNK],
            output: Vec::new(),
            window: None,
            started: false,
        }
    }

    /// Starts a new stream (Tight's reset bits).
    pub(crate) fn reset(&mut self) {
        self.z = Decompress::new(true);
        self.started = false;
        if let Some(w) = &mut self.window {
            w.clear();
        }
    }

    /// From now on keeps the stream's last [`WINDOW`] bytes of output for [`Inflater::saved`].
    pub(crate) fn keep_window(&mut self) {
        self.window
            .get_or_insert_with(|| Vec::with_capacity(2 * WINDOW));
    }

    /// What a fresh inflater needs to go on from here: whether the stream began, and its
    /// last output (up to [`WINDOW`] bytes). `None` unless [`Inflater::keep_window`] was
    /// called before the stream had input.
    pub(crate) fn saved(&self) -> Option<(bool, &[u8])> {
        let w = self.window.as_ref()?;
        Some((self.started, &w[w.len().saturating_sub(WINDOW)..]))
    }

    /// Continues a stream saved by [`Inflater::saved`]: after its zlib header, inflating
    /// raw deflate blocks with `window` as what came before. Servers flush the stream at
    /// every rectangle's end, so a block begins at the next rectangle's first byte.
    pub(crate) fn restore(&mut self, started: bool, window: &[u8]) -> Result<(), RfbError> {
        if window.len() > WINDOW {
            return Err(RfbError::BadState("a zlib window longer than 32 KiB"));
        }
        if started {
            self.z = Decompress::new(false);
            if !window.is_empty() {
                self.z.set_dictionary(window)?;
            }
        } else {
            self.z = Decompress::new(true);
        }
        self.started = started;
        let w = self
            .window
            .get_or_insert_with(|| Vec::with_capacity(2 * WINDOW));
        w.clear();
        w.extend_from_slice(window);
        Ok(())
    }

    /// Appends `n` bytes of fresh output to the window, keeping it within 2 × [`WINDOW`].
    fn remember(&mut self, n: usize) {
        let Some(w) = &mut self.window else {
            return;
        };
        let out = &self.output[..n];
        if out.len() >= WINDOW {
            w.clear();
            w.extend_from_slice(&out[out.len() - WINDOW..]);
            return;
        }
        if w.len() + out.len() > 2 * WINDOW {
            w.drain(..w.len() + out.len() - WINDOW);
        }
        w.extend_from_slice(out);
    }

    /// Reads `compressed_len` bytes from `r`, inflates them and returns the output, which
    /// may not exceed `max_out` bytes.
    pub(crate) fn inflate(
        &mut self,
        r: &mut dyn Read,
        compressed_len: usize,
        max_out: usize,
    ) -> Result<&[u8], RfbError> {
        let mut remaining = compressed_len;
        let mut in_len = 0;
        let mut in_pos = 0;
        let mut written = 0;
        loop {
            if in_pos == in_len && remaining > 0 {
                in_len = remaining.min(INPUT_CHUNK);
                r.read_exact(&mut self.input[..in_len])?;
                remaining -= in_len;
                in_pos = 0;
            }
            // Keep at least one spare byte beyond the cap so that overflow is visible.
            if written == self.output.len() {
                if written > max_out {
                    return Err(RfbError::ZlibOverflow { max: max_out });
                }
                let cap = max_out.saturating_add(1);
                let grown = (self.output.len() * 2).max(MIN_OUTPUT).min(cap);
                self.output.resize(grown, 0);
            }
            let (before_in, before_out) = (self.z.total_in(), self.z.total_out());
            let status = self.z.decompress(
                &self.input[in_pos..in_len],
                &mut self.output[written..],
                FlushDecompress::Sync,
            )?;
            let consumed = (self.z.total_in() - before_in) as usize;
            let produced = (self.z.total_out() - before_out) as usize;
            in_pos += consumed;
            written += produced;
            if written > max_out {
                return Err(RfbError::ZlibOverflow { max: max_out });
            }
            let input_done = in_pos == in_len && remaining == 0;
            if input_done && written < self.output.len() {
                // All input consumed and the output was not full: nothing is pending.
                break;
            }
            if consumed == 0 && produced == 0 {
                if input_done || status == Status::StreamEnd {
                    break;
                }
                // Input left over after the stream ended, or no progress possible.
                return Err(RfbError::ZlibEnded);
            }
        }
        if compressed_len > 0 {
            self.started = true;
        }
        self.remember(written);
        Ok(&self.output[..written])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    /// Compresses `data` on a persistent stream with a sync flush, like a VNC server.
    pub(crate) fn deflate_sync(z: &mut Compress, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 1024);
        let start_in = z.total_in();
        loop {
            out.reserve(4096);
            let done = (z.total_in() - start_in) as usize;
            z.compress_vec(&data[done..], &mut out, FlushCompress::Sync)
                .unwrap();
            if (z.total_in() - start_in) as usize == data.len() && out.capacity() > out.len() {
                break;
            }
        }
        out
    }

    #[test]
    fn inflates_consecutive_rects_on_one_stream() {
        let mut c = Compress::new(Compression::default(), true);
        let a: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let b = vec![7u8; 300];
        let mut wire = deflate_sync(&mut c, &a);
        let first_len = wire.len();
        wire.extend(deflate_sync(&mut c, &b));
        let mut r: &[u8] = &wire;
        let mut z = Inflater::new();
        assert_eq!(z.inflate(&mut r, first_len, a.len()).unwrap(), &a[..]);
        let rest = r.len();
        assert_eq!(z.inflate(&mut r, rest, b.len()).unwrap(), &b[..]);
    }

    #[test]
    fn zlib_bomb_is_capped() {
        let mut c = Compress::new(Compression::best(), true);
        let bomb = deflate_sync(&mut c, &vec![0u8; 10_000_000]);
        assert!(bomb.len() < 20_000);
        let mut r: &[u8] = &bomb;
        let mut z = Inflater::new();
        let err = z.inflate(&mut r, bomb.len(), 1000).unwrap_err();
        assert!(matches!(err, RfbError::ZlibOverflow { max: 1000 }), "{err}");
    }

    #[test]
    fn garbage_is_a_zlib_error() {
        let garbage = [0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let mut r: &[u8] = &garbage;
        let err = Inflater::new().inflate(&mut r, 8, 100).unwrap_err();
        assert!(matches!(err, RfbError::Zlib(_)), "{err}");
    }

    #[test]
    fn exact_cap_is_allowed() {
        let mut c = Compress::new(Compression::default(), true);
        let data = vec![3u8; MIN_OUTPUT * 3];
        let wire = deflate_sync(&mut c, &data);
        let mut r: &[u8] = &wire;
        let mut z = Inflater::new();
        let out = z.inflate(&mut r, wire.len(), data.len()).unwrap();
        assert_eq!(out.len(), data.len());
    }
}
