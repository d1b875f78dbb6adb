//! AgentStation's workstation log streams (`text/event-stream`): what one open stream
//! writes, and the registry of open streams that test hooks reach.
//!
//! A stream starts with `retry: 2000`, then each log line is one event: `id: N` and
//! `data: {"level":"debug|info|warning|error","message":"…","timestamp":"ISO 8601"}`,
//! every line interval on chattering workstations, the lines a fixed cycle picked by `N`
//! (so the chatter is deterministic). A `: keep-alive` comment goes out every keep-alive
//! interval. Test hooks end a workstation's streams (the response body ends) and write raw
//! text into them (a malformed event, say).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::sim::clock::{now_ms, rfc3339_ms};

/// Chunks waiting to be written to one stream's client.
const STREAM_BUFFER: usize = 32;
/// Hook messages waiting for one stream.
const CONTROL_BUFFER: usize = 16;

/// The chatter's cycle of (level, message).
const CHATTER: [(&str, &str); 12] = [
    ("info", "agent: session started on workstation"),
    (
        "debug",
        "browser: tab 1 navigated to https://shop.example/checkout",
    ),
    ("info", "agent: filling field 'name'"),
    ("debug", "browser: DOMContentLoaded in 412 ms"),
    ("info", "agent: filling field 'address'"),
    (
        "warning",
        "network: slow response from api.shop.example (2.3 s)",
    ),
    ("info", "recorder: segment written (2.0 s)"),
    ("error", "agent: element '#coupon' not found, retrying"),
    ("info", "agent: element '#coupon' found on retry"),
    ("debug", "input: click at (812, 455)"),
    ("info", "agent: order total read as €42.90"),
    ("warning", "agent: waiting for the operator's confirmation"),
];

/// Something a test hook tells an open stream.
#[derive(Debug)]
pub(crate) enum Control {
    /// End the stream (the response body ends).
    End,
    /// Write this text as is.
    Raw(String),
}

#[derive(Debug)]
struct OpenStream {
    workstation: String,
    control: mpsc::Sender<Control>,
}

/// Every open log stream, so test hooks can reach them.
#[derive(Debug, Default)]
pub(crate) struct OpenStreams {
    open: Mutex<HashMap<u64, OpenStream>>,
    next: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A newly registered stream: its registration, and what hooks tell it.
pub(crate) struct OpenedStream {
    registration: StreamRegistration,
    control: mpsc::Receiver<Control>,
}

impl OpenStreams {
    /// Open streams of `workstation`.
    pub fn count(&self, workstation: &str) -> usize {
        lock(&self.open)
            .values()
            .filter(|s| s.workstation == workstation)
            .count()
    }

    /// Tells every open stream of `workstation`; how many were told.
    pub fn tell(&self, workstation: &str, make: impl Fn() -> Control) -> usize {
        let open = lock(&self.open);
        open.values()
            .filter(|s| s.workstation == workstation)
            .filter(|s| s.control.try_send(make()).is_ok())
            .count()
    }

    /// Registers a new stream of `workstation`, unless it has `max` open already.
    pub fn open(self: &Arc<Self>, workstation: &str, max: usize) -> Option<OpenedStream> {
        let (control_tx, control) = mpsc::channel(CONTROL_BUFFER);
        let mut open = lock(&self.open);
        let streams = open
            .values()
            .filter(|o| o.workstation == workstation)
            .count();
        if streams >= max {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        open.insert(
            id,
            OpenStream {
                workstation: workstation.to_string(),
                control: control_tx,
            },
        );
        let registration = StreamRegistration {
            streams: self.clone(),
            id,
        };
        Some(OpenedStream {
            registration,
            control,
        })
    }
}

/// Removes an open stream from [`OpenStreams`] when its writer ends.
struct StreamRegistration {
    streams: Arc<OpenStreams>,
    id: u64,
}

impl Drop for StreamRegistration {
    fn drop(&mut self) {
        lock(&self.streams.open).remove(&self.id);
    }
}

/// How a stream writes: whether it chatters, every how many ms, and its keep-alive period.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pace {
    pub chatters: bool,
    pub line_interval_ms: u64,
    pub keepalive_ms: u64,
}

/// One log line as an SSE event.
fn log_event(id: u64, at_ms: u64) -> Bytes {
    let len = CHATTER.len() as u64;
    let (level, message) = CHATTER[(id.saturating_sub(1) % len) as usize];
    let entry = json!({
        "level": level,
        "message": message,
        "timestamp": rfc3339_ms(at_ms),
    });
    Bytes::from(format!("id: {id}\ndata: {entry}\n\n"))
}

/// Writes one open stream: chatter, keep-alives and what hooks inject.
pub(crate) struct LogWriter {
    out: mpsc::Sender<Bytes>,
    control: mpsc::Receiver<Control>,
    chatters: bool,
    next_id: u64,
    line_interval_ms: u64,
    keepalive_ms: u64,
    shutdown: watch::Receiver<bool>,
    _registration: StreamRegistration,
}

impl LogWriter {
    /// Starts writing `stream`, its first event numbered `first_id`, until the client goes,
    /// a hook ends it or `shutdown` changes; the stream's chunks come out of the receiver.
    pub(crate) fn spawn(
        stream: OpenedStream,
        pace: Pace,
        first_id: u64,
        shutdown: watch::Receiver<bool>,
    ) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
        let writer = LogWriter {
            out: tx,
            control: stream.control,
            chatters: pace.chatters,
            next_id: first_id,
            line_interval_ms: pace.line_interval_ms,
            keepalive_ms: pace.keepalive_ms,
            shutdown,
            _registration: stream.registration,
        };
        tokio::spawn(writer.run());
        rx
    }

    async fn run(mut self) {
        if self
            .out
            .send(Bytes::from_static(b"retry: 2000\n\n"))
            .await
            .is_err()
        {
            return;
        }
        let start = tokio::time::Instant::now();
        let every = |ms: u64| {
            let period = Duration::from_millis(ms);
            let mut i = tokio::time::interval_at(start + period, period);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        };
        let mut lines = every(self.line_interval_ms);
        let mut keepalive = every(self.keepalive_ms);
        loop {
            let chunk = tokio::select! {
                _ = lines.tick(), if self.chatters => {
                    let event = log_event(self.next_id, now_ms());
                    self.next_id = self.next_id.saturating_add(1);
                    event
                }
                _ = keepalive.tick() => Bytes::from_static(b": keep-alive\n\n"),
                control = self.control.recv() => match control {
                    Some(Control::Raw(raw)) => Bytes::from(raw),
                    Some(Control::End) | None => return,
                },
                _ = self.shutdown.changed() => return,
                _ = self.out.closed() => return,
            };
            if self.out.send(chunk).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::tasklog::{LogLevel, SseParser, parse_log_entry};

    #[test]
    fn log_events_are_sse_with_ids_and_json_entries() {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for id in 1..=(CHATTER.len() as u64 + 1) {
            events.extend(parser.feed(&log_event(id, 1_781_351_681_836)));
        }
        assert_eq!(events.len(), CHATTER.len() + 1);
        let first = events[0]
            .as_ref()
            .cloned()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.id.as_deref(), Some("1"));
        let entry = parse_log_entry(&first.data);
        assert!(entry.structured);
        assert_eq!(entry.level, Some(LogLevel::Info));
        assert_eq!(entry.message, CHATTER[0].1);
        assert_eq!(
            entry.timestamp.map(|t| t.as_micros()),
            Some(1_781_351_681_836_000)
        );
        // The cycle starts over.
        let last = events[CHATTER.len()]
            .as_ref()
            .cloned()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parse_log_entry(&last.data).message, CHATTER[0].1);
        let levels: Vec<_> = CHATTER.iter().map(|(l, _)| *l).collect();
        for level in ["debug", "info", "warning", "error"] {
            assert!(levels.contains(&level), "{level} never logged");
        }
    }
}
