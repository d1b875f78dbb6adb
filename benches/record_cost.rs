//! What recording costs beside a live 1080p RFB session: the CPU the decoder thread's
//! recording path takes on top of decoding, as a share of one core over the stream's own
//! length (issue 18's target: at most 3 %).
//!
//! The stream is the seek bench's desktop (`support/rfb_recording.rs`): four minutes of a
//! 1920×1080 browser (text edits, scrolls, page loads) with a 960×540 video playing for the
//! last two. Its server bytes are decoded twice, as the `rfb-decode` thread does, through a
//! 256 KiB buffer over a `Tee`:
//! - without a recording;
//! - with one: each applied message put as a `Wire` record, keyframes taken by the
//!   recorder's policy (in the stream's own time) and compressed on the writer's thread,
//!   the file written to a temporary directory.
//!
//! The process's CPU time (user + system, every thread) is measured around each run; the
//! difference over the stream's length is the figure. Each run is repeated and the least
//! CPU kept.
//!
//! ```text
//! cargo bench --bench record_cost
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Read};
use std::time::{Duration, Instant};

use lookout::core::record::format::Kind;
use lookout::core::record::keyframe::Keyframe;
use lookout::core::record::reader::Reader;
use lookout::core::record::tee::Tee;
use lookout::core::record::{KeyframeEvery, KeyframePolicy, TrackSink, writer};
use lookout::core::source::rfb::{RfbClient, RfbOptions, ServerEvent};

#[allow(dead_code)]
#[path = "support/rfb_recording.rs"]
mod rfb_recording;

const RUNS: usize = 3;

/// User + system CPU seconds of this process so far (`/proc/self/stat`, clock ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// The server's messages and when each came, from a recording.
fn messages(path: &std::path::Path) -> Vec<(u64, Vec<u8>)> {
    let mut reader = Reader::open(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        if r.head.known_kind() == Some(Kind::Wire) {
            out.push((r.head.t_us, r.payload));
        }
    }
    out
}

/// The stream's bytes, and after how many of them each message ends.
struct Stream {
    bytes: Vec<u8>,
    ends: Vec<(usize, u64)>,
}

/// A reader that hands out the stream as the socket did: up to each message's end.
struct Socket<'a> {
    stream: &'a Stream,
    at: usize,
}

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.stream.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.stream.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Decodes the whole stream as the decoder thread does; with `record`, records it.
fn decode(stream: &Stream, record: Option<TrackSink>) {
    let tee = Tee::new(Socket { stream, at: 0 }, record.clone());
    let mut reader = BufReader::with_capacity(256 * 1024, tee);
    let mut client =
        RfbClient::connect(&mut reader, &mut std::io::sink(), &RfbOptions::default()).unwrap();
    let unread = reader.buffer().len();
    reader.get_mut().put_consumed(unread);
    let start = Instant::now();
    let mut policy = record.as_ref().map(|r| {
        client.keep_state();
        KeyframePolicy::new(r.keyframes, start)
    });
    for &(_, t_us) in &stream.ends[1..] {
        let ServerEvent::Update(update) = client
            .read_message(&mut reader, &mut std::io::sink())
            .unwrap()
        else {
            continue;
        };
        let unread = reader.buffer().len();
        reader.get_mut().put_consumed(unread);
        if let (Some(policy), Some(record)) = (&mut policy, &record) {
            let area = update.dirty.iter().map(|r| r.area()).sum();
            let fb = client.framebuffer();
            let now = start + Duration::from_micros(t_us);
            let stream_at = reader.get_ref().put_bytes();
            if policy.after_update(area, stream_at, [fb.width(), fb.height()], now) {
                record.sink.put_keyframe(
                    record.track,
                    Keyframe {
                        wire_offset: reader.get_ref().put_bytes(),
                        state: client.save_state().unwrap(),
                        // The decoder thread copies the published picture: the same bytes.
                        picture: fb.clone(),
                    },
                );
            }
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.lkrec");
    let minutes = 4;
    rfb_recording::build(&source, minutes);
    let msgs = messages(&source);
    let mut stream = Stream {
        bytes: Vec::new(),
        ends: Vec::new(),
    };
    for (t, m) in &msgs {
        stream.bytes.extend_from_slice(m);
        stream.ends.push((stream.bytes.len(), *t));
    }
    let seconds = (minutes * 60) as f64;
    let mut bare = f64::MAX;
    let mut recorded = f64::MAX;
    let mut file_bytes = 0;
    for run in 0..RUNS {
        let t = cpu_seconds();
        decode(&stream, None);
        bare = bare.min(cpu_seconds() - t);
        let path = dir.path().join(format!("run-{run}.lkrec"));
        let t = cpu_seconds();
        let (sink, w) = writer::create(&path, &serde_json::json!({"tracks": []})).unwrap();
        decode(
            &stream,
            Some(TrackSink {
                keyframes: KeyframeEvery::default(),
                ..TrackSink::new(sink.clone(), 0)
            }),
        );
        let dropped = sink.stats().dropped;
        drop(sink);
        w.finish();
        recorded = recorded.min(cpu_seconds() - t);
        file_bytes = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            dropped, 0,
            "the writer dropped records: the bench ran faster than a disk"
        );
        std::fs::remove_file(&path).unwrap();
    }
    println!(
        "{minutes} min of 1920x1080 RFB ({:.0} MiB of server bytes, {} messages)",
        stream.bytes.len() as f64 / f64::from(1 << 20),
        msgs.len()
    );
    println!(
        "  decode alone {bare:.2} s CPU, decode + record {recorded:.2} s CPU; file {:.0} MiB",
        file_bytes as f64 / f64::from(1 << 20)
    );
    println!(
        "  recording costs {:.2} % of a core beside the live session (target <= 3 %)",
        100.0 * (recorded - bare).max(0.0) / seconds
    );
}
