//! A reader that keeps what a decoder consumed, for a recording's `Wire` records.
//!
//! A decoder reads through a buffer that reads ahead; the recording must hold exactly what
//! was *applied* by a given moment, so that a replay to time `t` shows the picture the live
//! view showed at `t`. [`Tee`] keeps every byte read; after each message the decoder calls
//! [`Tee::put_consumed`] with what its buffer still holds unread, and the bytes before that
//! go into one `Wire` record stamped then. Each record so ends on a message boundary.

use std::io::{self, Read};

use super::TrackSink;
use super::format::Kind;

/// Wraps the decoder's input.
pub struct Tee<R> {
    inner: R,
    sink: Option<TrackSink>,
    /// Read but not yet put: what the decoder's buffer may still hold, and what it
    /// consumed since the last put.
    pending: Vec<u8>,
    /// Bytes put so far on this connection: a keyframe's `wire_offset`.
    put: u64,
}

impl<R> Tee<R> {
    /// `sink: None` passes reads through and keeps nothing.
    pub fn new(inner: R, sink: Option<TrackSink>) -> Self {
        Tee {
            inner,
            sink,
            pending: Vec::new(),
            put: 0,
        }
    }

    /// Puts what the decoder consumed: all read except the `unread` bytes its buffer still
    /// holds.
    pub fn put_consumed(&mut self, unread: usize) {
        let Some(sink) = &self.sink else {
            return;
        };
        let consumed = self.pending.len().saturating_sub(unread);
        if consumed == 0 {
            return;
        }
        let rest = self.pending.split_off(consumed);
        let bytes = std::mem::replace(&mut self.pending, rest);
        self.put += bytes.len() as u64;
        sink.put(Kind::Wire, bytes);
    }

    /// Bytes put so far on this connection.
    pub fn put_bytes(&self) -> u64 {
        self.put
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.sink.is_some() {
            self.pending.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};

    use super::super::reader::Reader;
    use super::super::writer;
    use super::*;

    #[test]
    fn each_record_holds_what_was_consumed_by_then() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lkrec");
        let (sink, w) = writer::create(&path, &serde_json::json!({})).unwrap();
        let track = TrackSink::new(sink, 3);
        let input: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut reader = BufReader::with_capacity(4096, Tee::new(&input[..], Some(track)));
        let mut consumed = 0;
        for size in [10usize, 3000, 5000, 1990] {
            let mut msg = vec![0u8; size];
            reader.read_exact(&mut msg).unwrap();
            consumed += size;
            let unread = reader.buffer().len();
            reader.get_mut().put_consumed(unread);
            assert_eq!(reader.get_ref().put_bytes(), consumed as u64);
        }
        assert!(reader.fill_buf().unwrap().is_empty());
        drop(reader);
        w.finish();
        let mut r = Reader::open(std::fs::File::open(&path).unwrap()).unwrap();
        r.next_record().unwrap(); // Meta
        let mut sizes = Vec::new();
        let mut all = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            assert_eq!(
                (rec.head.known_kind(), rec.head.track),
                (Some(Kind::Wire), 3)
            );
            sizes.push(rec.payload.len());
            all.extend(rec.payload);
        }
        assert_eq!(sizes, vec![10, 3000, 5000, 1990]);
        assert_eq!(all, input);
    }

    #[test]
    fn without_a_sink_nothing_is_kept() {
        let input = vec![7u8; 1000];
        let mut tee = Tee::new(&input[..], None);
        let mut out = Vec::new();
        tee.read_to_end(&mut out).unwrap();
        tee.put_consumed(0);
        assert_eq!(
            (out.len(), tee.pending.len(), tee.put_bytes()),
            (1000, 0, 0)
        );
    }
}
