//! Counters the simulator keeps for tests and benches: tokens issued and refused, stream
//! connections per task, what clients sent (and, for pointer and key events and preview
//! input, the events themselves, in order), and what that input did to each page (solved
//! captchas, typed text). [`Counters`] is shared and updated in place; [`SimStats`] is the
//! snapshot [`super::SimHandle::stats`] returns.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most recent input events [`SimStats::input`] keeps.
pub const MAX_RECORDED_INPUT: usize = 4096;

/// One input message a client sent, as the simulator decoded it: RFB PointerEvent and
/// KeyEvent, and the preview protocol's `input_mouse`, `input_keyboard` and `input_touch`
/// (PROVIDERS.md §3), with the Chaser session they came in on.
#[derive(Clone, Debug, PartialEq)]
pub enum ReceivedInput {
    /// PointerEvent: the button mask and position.
    Pointer { buttons: u8, x: u16, y: u16 },
    /// KeyEvent: an X11 keysym going down or up.
    Key { down: bool, keysym: u32 },
    /// Preview `input_mouse`.
    PreviewMouse {
        session: String,
        event: MouseEventType,
        x: f64,
        y: f64,
        button: MouseButton,
        click_count: u32,
        delta_x: f64,
        delta_y: f64,
        /// Alt 1, Ctrl 2, Meta 4, Shift 8.
        modifiers: u8,
    },
    /// Preview `input_keyboard`.
    PreviewKey {
        session: String,
        event: KeyEventType,
        key: String,
        code: String,
        text: String,
        /// Alt 1, Ctrl 2, Meta 4, Shift 8.
        modifiers: u8,
    },
    /// Preview `input_touch`.
    PreviewTouch {
        session: String,
        event: TouchEventType,
        points: Vec<TouchPoint>,
    },
}

/// `input_mouse`'s `eventType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MouseEventType {
    MousePressed,
    MouseReleased,
    MouseMoved,
    MouseWheel,
}

/// `input_mouse`'s `button`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MouseButton {
    #[default]
    None,
    Left,
    Middle,
    Right,
}

/// `input_keyboard`'s `eventType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyEventType {
    KeyDown,
    KeyUp,
    Char,
}

/// `input_touch`'s `eventType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TouchEventType {
    TouchStart,
    TouchMove,
    TouchEnd,
    TouchCancel,
}

/// One of `input_touch`'s `touchPoints`, in frame pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize)]
pub struct TouchPoint {
    pub x: f64,
    pub y: f64,
    #[serde(default)]
    pub id: i64,
}

/// A snapshot of the simulator's counters.
///
/// Per-page results are keyed by source: `optexity:{task}` for websockify streams,
/// `chaser:{session}` for previews, `vnc:demo` for the plain TCP RFB endpoint.
#[derive(Clone, Debug, Default, PartialEq)]
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
    /// Chaser preview tokens minted by `POST /v1/sessions/{id}/preview-token`.
    pub preview_tokens_issued: u64,
    /// Mints answered 429 by [`super::SimHandle::rate_limit_next_mints`].
    pub preview_mints_limited: u64,
    /// Preview upgrades refused for a bad or expired token (401).
    pub preview_tokens_rejected: u64,
    /// Preview WebSocket connections accepted, per Chaser session id.
    pub preview_connections: BTreeMap<String, u64>,
    /// Preview sockets open right now.
    pub live_previews: u64,
    /// Frames sent on preview sockets (text or binary).
    pub preview_frames_sent: u64,
    /// Preview input received, per kind (recorded in [`Self::input`] too).
    pub preview_mouse_events: u64,
    pub preview_key_events: u64,
    pub preview_touch_events: u64,
    /// Preview client text messages that were not JSON or not a valid message (ignored).
    pub preview_malformed: u64,
    /// Preview input refused because the session has input disabled (socket closed 4403).
    pub input_refused: u64,
    /// Pages whose captcha someone solved through input (see the keys above).
    pub captcha_solved: BTreeSet<String>,
    /// The search field's text per page, for pages where someone typed.
    pub typed_text: BTreeMap<String, String>,
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

    /// Preview connections accepted for one Chaser session.
    pub fn previews_for(&self, session: &str) -> u64 {
        self.preview_connections.get(session).copied().unwrap_or(0)
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
    pub preview_tokens_issued: AtomicU64,
    pub preview_mints_limited: AtomicU64,
    pub preview_tokens_rejected: AtomicU64,
    pub live_previews: AtomicU64,
    pub preview_frames_sent: AtomicU64,
    pub preview_mouse_events: AtomicU64,
    pub preview_key_events: AtomicU64,
    pub preview_touch_events: AtomicU64,
    pub preview_malformed: AtomicU64,
    pub input_refused: AtomicU64,
    details: Mutex<Details>,
}

#[derive(Debug, Default)]
struct Details {
    stream_connections: BTreeMap<String, u64>,
    last_pointer: Option<(u16, u16)>,
    last_cut_text: Option<String>,
    input: VecDeque<ReceivedInput>,
    preview_connections: BTreeMap<String, u64>,
    captcha_solved: BTreeSet<String>,
    typed_text: BTreeMap<String, String>,
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

    /// Records one preview input message (already parsed).
    pub fn preview_input(&self, ev: ReceivedInput) {
        let counter = match &ev {
            ReceivedInput::PreviewMouse { .. } => &self.preview_mouse_events,
            ReceivedInput::PreviewKey { .. } => &self.preview_key_events,
            ReceivedInput::PreviewTouch { .. } => &self.preview_touch_events,
            ReceivedInput::Pointer { .. } => &self.pointer_events,
            ReceivedInput::Key { .. } => &self.key_events,
        };
        bump(counter);
        self.details().record(ev);
    }

    pub fn preview_connection(&self, session: &str) {
        *self
            .details()
            .preview_connections
            .entry(session.to_string())
            .or_default() += 1;
    }

    /// Records what input did to page `key`.
    pub fn page_changed(&self, key: &str, captcha_solved: bool, text: Option<&str>) {
        let mut d = self.details();
        if captcha_solved && !d.captcha_solved.contains(key) {
            d.captcha_solved.insert(key.to_string());
        }
        if let Some(text) = text {
            d.typed_text.insert(key.to_string(), text.to_string());
        }
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
            input: d.input.iter().cloned().collect(),
            preview_tokens_issued: get(&self.preview_tokens_issued),
            preview_mints_limited: get(&self.preview_mints_limited),
            preview_tokens_rejected: get(&self.preview_tokens_rejected),
            preview_connections: d.preview_connections.clone(),
            live_previews: get(&self.live_previews),
            preview_frames_sent: get(&self.preview_frames_sent),
            preview_mouse_events: get(&self.preview_mouse_events),
            preview_key_events: get(&self.preview_key_events),
            preview_touch_events: get(&self.preview_touch_events),
            preview_malformed: get(&self.preview_malformed),
            input_refused: get(&self.input_refused),
            captcha_solved: d.captcha_solved.clone(),
            typed_text: d.typed_text.clone(),
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
