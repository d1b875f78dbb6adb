//! Counters the simulator keeps for tests and benches: tokens issued and refused, stream
//! connections per task, what clients sent (and, for pointer and key events, the events
//! themselves, in order). [`Counters`] is shared and updated in place; [`SimStats`] is the
//! snapshot [`super::SimHandle::stats`] returns.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most recent input events [`SimStats::input`] keeps.
pub const MAX_RECORDED_INPUT: usize = 4096;

/// One input message an RFB client sent, as the simulator's server decoded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceivedInput {
    /// PointerEvent: the button mask and position.
    Pointer { buttons: u8, x: u16, y: u16 },
    /// KeyEvent: an X11 keysym going down or up.
    Key { down: bool, keysym: u32 },
}

/// A snapshot of the simulator's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Stream tokens handed out by `GET /api/v1/tasks/{id}/stream`.
    pub tokens_issued: u64,
    /// Upgrades refused because the token had expired.
    pub tokens_expired: u64,
    /// Upgrades refused because the token was already used.
    pub tokens_reused: u64,
    /// Upgrades refused because the token was malformed, forged or for another task.
    pub tokens_invalid: u64,
    /// WebSocket stream connections accepted, per task id.
    pub stream_connections: BTreeMap<String, u64>,
    /// Plain TCP RFB connections accepted.
    pub tcp_connections: u64,
    /// RFB connections open right now (TCP and WebSocket).
    pub live_streams: u64,
    /// VNC Authentication failures on the TCP endpoint.
    pub auth_failures: u64,
    /// FramebufferUpdate messages sent.
    pub updates_sent: u64,
    /// Client input received (recorded, not acted on).
    pub key_events: u64,
    pub pointer_events: u64,
    pub cut_texts: u64,
    pub last_pointer: Option<(u16, u16)>,
    pub last_cut_text: Option<String>,
    /// Pointer and key events received on every connection, oldest first (the most recent
    /// [`MAX_RECORDED_INPUT`]).
    pub input: Vec<ReceivedInput>,
}

impl SimStats {
    /// All refused upgrades.
    pub fn tokens_rejected(&self) -> u64 {
        self.tokens_expired + self.tokens_reused + self.tokens_invalid
    }

    /// Stream connections accepted for one task.
    pub fn connections_for(&self, task_id: &str) -> u64 {
        self.stream_connections.get(task_id).copied().unwrap_or(0)
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub tokens_issued: AtomicU64,
    pub tokens_expired: AtomicU64,
    pub tokens_reused: AtomicU64,
    pub tokens_invalid: AtomicU64,
    pub tcp_connections: AtomicU64,
    pub live_streams: AtomicU64,
    pub auth_failures: AtomicU64,
    pub updates_sent: AtomicU64,
    pub key_events: AtomicU64,
    pub pointer_events: AtomicU64,
    pub cut_texts: AtomicU64,
    details: Mutex<Details>,
}

#[derive(Debug, Default)]
struct Details {
    stream_connections: BTreeMap<String, u64>,
    last_pointer: Option<(u16, u16)>,
    last_cut_text: Option<String>,
    input: VecDeque<ReceivedInput>,
}

impl Details {
    fn record(&mut self, ev: ReceivedInput) {
        if self.input.len() >= MAX_RECORDED_INPUT {
            self.input.pop_front();
        }
        self.input.push_back(ev);
    }
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn details(&self) -> std::sync::MutexGuard<'_, Details> {
        self.details.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stream_connection(&self, task_id: &str) {
        *self
            .details()
            .stream_connections
            .entry(task_id.to_string())
            .or_default() += 1;
    }

    pub fn pointer(&self, buttons: u8, x: u16, y: u16) {
        bump(&self.pointer_events);
        let mut d = self.details();
        d.last_pointer = Some((x, y));
        d.record(ReceivedInput::Pointer { buttons, x, y });
    }

    pub fn key(&self, down: bool, keysym: u32) {
        bump(&self.key_events);
        self.details().record(ReceivedInput::Key { down, keysym });
    }

    pub fn cut_text(&self, text: String) {
        bump(&self.cut_texts);
        self.details().last_cut_text = Some(text);
    }

    pub fn snapshot(&self) -> SimStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let d = self.details();
        SimStats {
            tokens_issued: get(&self.tokens_issued),
            tokens_expired: get(&self.tokens_expired),
            tokens_reused: get(&self.tokens_reused),
            tokens_invalid: get(&self.tokens_invalid),
            stream_connections: d.stream_connections.clone(),
            tcp_connections: get(&self.tcp_connections),
            live_streams: get(&self.live_streams),
            auth_failures: get(&self.auth_failures),
            updates_sent: get(&self.updates_sent),
            key_events: get(&self.key_events),
            pointer_events: get(&self.pointer_events),
            cut_texts: get(&self.cut_texts),
            last_pointer: d.last_pointer,
            last_cut_text: d.last_cut_text.clone(),
            input: d.input.iter().copied().collect(),
        }
    }
}

/// Counts a live stream for as long as it is held.
#[derive(Debug)]
pub(crate) struct LiveStream<'a>(&'a AtomicU64);

impl<'a> LiveStream<'a> {
    pub fn new(c: &'a AtomicU64) -> Self {
        bump(c);
        Self(c)
    }
}

impl Drop for LiveStream<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
