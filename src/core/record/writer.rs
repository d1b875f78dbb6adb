//! Writes a recording on its own thread (`record-write`), fed by [`RecordSink`]s that a
//! session's parts hold: a decoder thread tees the bytes it reads, a driver the messages it
//! gets, the runner its states.
//!
//! **Never in the way.** [`RecordSink::put`] copies and queues; it never waits for the
//! disk. What is queued is bounded in bytes ([`QUEUE_BUDGET_BYTES`]): when the disk falls
//! that far behind, records are dropped and counted, and the track they belong to is cut
//! until its next resynchronisation point (a `Connect` or a `Keyframe`, from which a replay
//! can decode again): an `Event` `{"type":"gap"}` marks the cut.
//!
//! **Crash-safe.** Records are appended whole, through a buffer flushed at least every
//! [`FLUSH_EVERY`]: a killed process loses at most that much, and the file it leaves reads
//! to its last whole record (`format`). No secret reaches the file: every JSON payload
//! passes through [`redact::text`] here, whatever its caller did.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::format::{self, Kind, MAX_PAYLOAD_BYTES};
use super::keyframe::Keyframe;
use crate::core::redact;

/// Most bytes queued for the disk; past it records are dropped (and the track cut).
pub const QUEUE_BUDGET_BYTES: usize = 64 << 20;
/// The longest a written record waits in the buffer before reaching the file.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// The buffer between the writer thread and the file.
const BUFFER_BYTES: usize = 256 * 1024;
/// Records queued at most, whatever their size.
const QUEUE_RECORDS: usize = 16 * 1024;

enum Job {
    Record {
        kind: Kind,
        track: u8,
        t_us: u64,
        payload: Payload,
    },
    /// Write out what is buffered, then answer.
    Flush(SyncSender<()>),
}

/// A record's payload as queued.
enum Payload {
    Ready(Vec<u8>),
    /// Encoded (its pixels compressed) on the writer's thread.
    Keyframe(Box<Keyframe>),
}

impl Payload {
    /// Bytes it holds while queued.
    fn queued_len(&self) -> usize {
        match self {
            Payload::Ready(p) => p.len(),
            Payload::Keyframe(k) => k.state.len() + k.picture.pixels().len(),
        }
    }
}

/// What the writer has done, for a REC mark and a progress line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Bytes in the file.
    pub bytes: u64,
    /// Records written.
    pub records: u64,
    /// Records dropped because the disk was too far behind (or the writer stopped).
    pub dropped: u64,
    /// Why writing stopped (a full disk, say), if it did.
    pub failed: Option<String>,
}

struct Shared {
    path: PathBuf,
    start: Instant,
    queued_bytes: AtomicUsize,
    written_bytes: AtomicU64,
    records: AtomicU64,
    dropped: AtomicU64,
    failed: Mutex<Option<String>>,
    /// Tracks cut by a drop, until their next `Connect` or `Keyframe`.
    cut: Mutex<HashSet<u8>>,
    /// The operator turned recording off: nothing is put until it is on again.
    paused: AtomicBool,
}

/// A handle to put records into a recording; cheap to clone, one per part of a session.
#[derive(Clone)]
pub struct RecordSink {
    tx: SyncSender<Job>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RecordSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordSink")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

/// The writer thread; dropping every sink ends it, [`Writer::finish`] waits for that.
#[derive(Debug)]
pub struct Writer {
    thread: Option<JoinHandle<()>>,
}

/// Creates `path` (never replacing a file), writes the header and a `Meta` record with
/// `meta` (a JSON object), and starts the writer thread.
pub fn create(path: &Path, meta: &serde_json::Value) -> io::Result<(RecordSink, Writer)> {
    let file = File::options().write(true).create_new(true).open(path)?;
    let mut out = BufWriter::with_capacity(BUFFER_BYTES, file);
    out.write_all(&format::header())?;
    out.flush()?;
    let shared = Arc::new(Shared {
        path: path.to_path_buf(),
        start: Instant::now(),
        queued_bytes: AtomicUsize::new(0),
        written_bytes: AtomicU64::new(format::HEADER_BYTES as u64),
        records: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        failed: Mutex::new(None),
        cut: Mutex::new(HashSet::new()),
        paused: AtomicBool::new(false),
    });
    let (tx, rx) = sync_channel(QUEUE_RECORDS);
    let sink = RecordSink {
        tx,
        shared: shared.clone(),
    };
    sink.put_json_at(Kind::Meta, 0, 0, meta);
    let thread = std::thread::Builder::new()
        .name("record-write".into())
        .spawn(move || write_loop(rx, out, &shared))?;
    Ok((
        sink,
        Writer {
            thread: Some(thread),
        },
    ))
}

impl Writer {
    /// Waits until every sink is dropped and all they queued is in the file.
    pub fn finish(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl RecordSink {
    /// Microseconds since the recording began.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.shared.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The recording's file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Queues a record stamped now. False if it was dropped: over the budget, too large,
    /// the track cut, or the writer stopped.
    pub fn put(&self, kind: Kind, track: u8, payload: Vec<u8>) -> bool {
        self.put_at(kind, track, self.now_us(), payload)
    }

    /// Queues a JSON record stamped now, its text redacted.
    pub fn put_json(&self, kind: Kind, track: u8, value: &serde_json::Value) -> bool {
        self.put_json_at(kind, track, self.now_us(), value)
    }

    /// Queues an `Event` stamped now.
    pub fn event(&self, value: &serde_json::Value) -> bool {
        self.put_json(Kind::Event, 0, value)
    }

    fn put_json_at(&self, kind: Kind, track: u8, t_us: u64, value: &serde_json::Value) -> bool {
        let text = value.to_string();
        let payload = redact::text(&text).into_owned().into_bytes();
        self.put_at(kind, track, t_us, payload)
    }

    /// Queues a record stamped `t_us`.
    pub fn put_at(&self, kind: Kind, track: u8, t_us: u64, payload: Vec<u8>) -> bool {
        self.put_payload(kind, track, t_us, Payload::Ready(payload))
    }

    /// Queues a keyframe of `track` stamped now; its pixels are compressed on the writer's
    /// thread. A keyframe that does not fit is only lost: the stream goes on without it.
    pub fn put_keyframe(&self, track: u8, keyframe: Keyframe) -> bool {
        let payload = Payload::Keyframe(Box::new(keyframe));
        self.put_payload(Kind::Keyframe, track, self.now_us(), payload)
    }

    /// Turns recording off (`true`) or on again. While off nothing is written; each stream
    /// goes on at its next `Connect` or `Keyframe`, and `{"type":"paused"}` and
    /// `{"type":"resumed"}` events mark the stretch left out.
    pub fn set_paused(&self, paused: bool) {
        if self.shared.paused.load(Ordering::Acquire) == paused {
            return;
        }
        let event = if paused { "paused" } else { "resumed" };
        if paused {
            self.event(&serde_json::json!({"type": event}));
            self.shared.paused.store(true, Ordering::Release);
        } else {
            self.shared.paused.store(false, Ordering::Release);
            self.event(&serde_json::json!({"type": event}));
        }
    }

    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Acquire)
    }

    fn put_payload(&self, kind: Kind, track: u8, t_us: u64, payload: Payload) -> bool {
        let resync = matches!(kind, Kind::Connect | Kind::Keyframe);
        let stream = matches!(kind, Kind::Wire | Kind::Message | Kind::Segment);
        if self.shared.paused.load(Ordering::Acquire) {
            if stream || kind == Kind::Connect {
                lock(&self.shared.cut).insert(track);
            }
            return false;
        }
        if stream && lock(&self.shared.cut).contains(&track) {
            return self.dropped();
        }
        if !self.enqueue(kind, track, t_us, payload) {
            // Without a stream's bytes, or its connection's start, what follows does not
            // decode until the next resynchronisation point.
            if stream || kind == Kind::Connect {
                lock(&self.shared.cut).insert(track);
            }
            return self.dropped();
        }
        if resync && lock(&self.shared.cut).remove(&track) {
            // What follows decodes again: say where the picture was missing.
            let gap = serde_json::json!({"type": "gap", "track": track});
            let gap = Payload::Ready(gap.to_string().into_bytes());
            self.enqueue(Kind::Event, track, t_us, gap);
        }
        true
    }

    /// Queues a record within the budget; false if it did not fit.
    fn enqueue(&self, kind: Kind, track: u8, t_us: u64, payload: Payload) -> bool {
        let len = payload.queued_len();
        let queued = self.shared.queued_bytes.fetch_add(len, Ordering::AcqRel);
        // A keyframe's size is known once it is compressed; the writer checks it then.
        let sized = matches!(payload, Payload::Keyframe(_)) || len <= MAX_PAYLOAD_BYTES;
        let fits = (queued == 0 || queued + len <= QUEUE_BUDGET_BYTES) && sized;
        let job = Job::Record {
            kind,
            track,
            t_us,
            payload,
        };
        if fits && self.tx.try_send(job).is_ok() {
            return true;
        }
        self.shared.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        false
    }

    fn dropped(&self) -> bool {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Waits until everything queued before this call is in the file (not synced to disk).
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        if self.tx.send(Job::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    pub fn stats(&self) -> WriterStats {
        WriterStats {
            bytes: self.shared.written_bytes.load(Ordering::Relaxed),
            records: self.shared.records.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            failed: lock(&self.shared.failed).clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn write_loop(rx: Receiver<Job>, mut out: BufWriter<File>, shared: &Shared) {
    let mut encoded = Vec::new();
    let mut dirty_since: Option<Instant> = None;
    let mut failed = false;
    loop {
        let wait = dirty_since.map_or(Duration::from_secs(3600), |t| {
            FLUSH_EVERY.saturating_sub(t.elapsed())
        });
        let job = match rx.recv_timeout(wait) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match job {
            Some(Job::Record {
                kind,
                track,
                t_us,
                payload,
            }) => {
                let len = payload.queued_len();
                let payload = match payload {
                    Payload::Ready(p) => p,
                    Payload::Keyframe(k) => k.encode(),
                };
                shared.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                if failed || payload.len() > MAX_PAYLOAD_BYTES {
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                encoded.clear();
                format::encode(kind, track, t_us, &payload, &mut encoded);
                match out.write_all(&encoded) {
                    Ok(()) => {
                        shared
                            .written_bytes
                            .fetch_add(encoded.len() as u64, Ordering::Relaxed);
                        shared.records.fetch_add(1, Ordering::Relaxed);
                        dirty_since.get_or_insert_with(Instant::now);
                    }
                    Err(e) => failed = fail(shared, &e),
                }
            }
            Some(Job::Flush(done)) => {
                if !failed && let Err(e) = out.flush() {
                    failed = fail(shared, &e);
                }
                dirty_since = None;
                let _ = done.send(());
                continue;
            }
            None => {}
        }
        if dirty_since.is_some_and(|t| t.elapsed() >= FLUSH_EVERY) {
            if !failed && let Err(e) = out.flush() {
                failed = fail(shared, &e);
            }
            dirty_since = None;
        }
    }
    if !failed && let Err(e) = out.flush() {
        fail(shared, &e);
    }
}

/// Notes why writing stopped; true.
fn fail(shared: &Shared, e: &io::Error) -> bool {
    tracing::warn!(path = %shared.path.display(), "recording stopped: {e}");
    *lock(&shared.failed) = Some(e.to_string());
    true
}

#[cfg(test)]
mod tests {
    use super::super::reader::Reader;
    use super::*;
    use crate::core::redact::Secret;

    fn records(path: &Path) -> Vec<(Option<Kind>, u8, Vec<u8>)> {
        let mut r = Reader::open(File::open(path).unwrap()).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push((rec.head.known_kind(), rec.head.track, rec.payload));
        }
        assert_eq!(r.torn_at(), None);
        out
    }

    #[test]
    fn records_from_many_threads_reach_the_file_in_each_ones_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.lkrec");
        let (sink, writer) = create(&path, &serde_json::json!({"source": "test"})).unwrap();
        let threads: Vec<_> = (0..4u8)
            .map(|track| {
                let sink = sink.clone();
                std::thread::Builder::new()
                    .name(format!("put-{track}"))
                    .spawn(move || {
                        for n in 0..500u32 {
                            assert!(sink.put(Kind::Wire, track, n.to_le_bytes().to_vec()));
                        }
                    })
                    .unwrap()
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(sink);
        writer.finish();
        let all = records(&path);
        assert_eq!(all[0].0, Some(Kind::Meta));
        for track in 0..4u8 {
            let seq: Vec<u32> = all
                .iter()
                .filter(|r| r.0 == Some(Kind::Wire) && r.1 == track)
                .map(|r| u32::from_le_bytes(r.2[..4].try_into().unwrap()))
                .collect();
            assert_eq!(seq, (0..500).collect::<Vec<_>>(), "track {track}");
        }
    }

    #[test]
    fn what_was_put_is_in_the_file_within_the_flush_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.lkrec");
        let (sink, _writer) = create(&path, &serde_json::json!({})).unwrap();
        sink.put(Kind::Wire, 0, b"hello".to_vec());
        // The writer is still running, nothing was closed: a reader sees it anyway.
        let deadline = Instant::now() + FLUSH_EVERY * 8;
        while records(&path).len() < 2 {
            assert!(Instant::now() < deadline, "not in the file");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(records(&path)[1].2, b"hello");
    }

    #[test]
    fn json_payloads_never_carry_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.lkrec");
        let key = Secret::new("sk-record-5150-abcdef");
        let (sink, writer) = create(
            &path,
            &serde_json::json!({"source": format!("optexity:x?token=tok123&k={}", key.expose())}),
        )
        .unwrap();
        sink.event(
            &serde_json::json!({"type": "state", "message": format!("rejected {}", key.expose())}),
        );
        drop(sink);
        writer.finish();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(key.expose()), "{text}");
        assert!(!text.contains("tok123"), "{text}");
        assert!(text.contains("rejected ***"), "{text}");
    }

    #[test]
    fn a_drop_cuts_the_track_until_it_can_decode_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.lkrec");
        let (sink, writer) = create(&path, &serde_json::json!({})).unwrap();
        // Too large for a record: dropped, and the track is cut.
        assert!(!sink.put(Kind::Wire, 1, vec![0; MAX_PAYLOAD_BYTES + 1]));
        assert!(!sink.put(Kind::Wire, 1, b"after the cut".to_vec()));
        assert!(sink.put(Kind::Wire, 2, b"another track".to_vec()));
        assert!(sink.put(Kind::Keyframe, 1, b"picture".to_vec()));
        assert!(sink.put(Kind::Wire, 1, b"decodes again".to_vec()));
        assert_eq!(sink.stats().dropped, 2);
        drop(sink);
        writer.finish();
        let got: Vec<_> = records(&path)
            .into_iter()
            .skip(1)
            .map(|(k, t, p)| (k, t, String::from_utf8_lossy(&p).into_owned()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(Kind::Wire), 2, "another track".into()),
                (Some(Kind::Keyframe), 1, "picture".into()),
                (Some(Kind::Event), 1, r#"{"track":1,"type":"gap"}"#.into()),
                (Some(Kind::Wire), 1, "decodes again".into()),
            ]
        );
    }

    #[test]
    fn while_paused_nothing_is_written_and_each_stream_resumes_where_it_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.lkrec");
        let (sink, writer) = create(&path, &serde_json::json!({})).unwrap();
        assert!(sink.put(Kind::Wire, 0, b"before".to_vec()));
        sink.set_paused(true);
        assert!(sink.is_paused());
        assert!(!sink.put(Kind::Wire, 0, b"private".to_vec()));
        assert!(!sink.put(Kind::LogLine, 1, b"private line".to_vec()));
        sink.set_paused(false);
        assert!(!sink.put(Kind::Wire, 0, b"not decodable yet".to_vec()));
        assert!(sink.put(Kind::Keyframe, 0, b"picture".to_vec()));
        assert!(sink.put(Kind::Wire, 0, b"after".to_vec()));
        drop(sink);
        writer.finish();
        let got: Vec<_> = records(&path)
            .into_iter()
            .skip(1)
            .map(|(k, t, p)| (k, t, String::from_utf8_lossy(&p).into_owned()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(Kind::Wire), 0, "before".into()),
                (Some(Kind::Event), 0, r#"{"type":"paused"}"#.into()),
                (Some(Kind::Event), 0, r#"{"type":"resumed"}"#.into()),
                (Some(Kind::Keyframe), 0, "picture".into()),
                (Some(Kind::Event), 0, r#"{"track":0,"type":"gap"}"#.into()),
                (Some(Kind::Wire), 0, "after".into()),
            ]
        );
        // What was put while paused is nowhere in the file.
        assert_eq!(
            std::fs::read(&path)
                .unwrap()
                .windows(7)
                .filter(|w| w == b"private")
                .count(),
            0
        );
    }

    #[test]
    fn an_existing_file_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.lkrec");
        std::fs::write(&path, b"keep me").unwrap();
        let err = create(&path, &serde_json::json!({})).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    }
}
