//! The whole boundary between the core and its front ends.
//!
//! The core sends [`SessionEvent`]s (state changes and rare notices) over a bounded channel
//! and publishes pixels through the [`FrameSlot`](super::frame::FrameSlot); hot counters
//! live in [`StreamStats`] atomics that the UI samples. Front ends send [`Command`]s back.
//! After anything new, the core calls the [`Waker`] so the UI repaints; nothing else does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use super::input::InputEvent;
use super::redact::Secret;

/// Wakes the front end: the window's repaint request in the GUI, a counter in tests.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A waker that does nothing, for headless commands that poll.
pub fn noop_waker() -> Waker {
    Arc::new(|| {})
}

/// Where a session is in its life. Shown to the operator as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Asking the provider for the stream endpoint.
    Loading,
    /// The task exists but has not started; `status` is the provider's word for it.
    WaitingForTask { status: String },
    /// Opening the stream (TCP, TLS, WebSocket, protocol handshake).
    Connecting { attempt: u32 },
    /// Pictures are arriving.
    Live(LiveInfo),
    /// The stream dropped, or could not be reached; trying again after a pause.
    Reconnecting {
        attempt: u32,
        retry_in_ms: u64,
        error: SessionError,
    },
    /// The stream is over for good (the task finished, or the operator stopped it).
    /// `task_failed`: the provider says the task itself failed.
    Ended { reason: String, task_failed: bool },
    /// Something failed that waiting will not fix; the operator may Retry.
    Failed { error: SessionError },
}

/// What went wrong, as the front end needs it: a kind to decide by, whether trying again
/// later may help, and one plain line for the operator (never a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionError {
    pub kind: ErrorKind,
    pub retryable: bool,
    pub message: String,
}

impl SessionError {
    /// The message is masked (`redact::text`) on the way in.
    pub fn new(kind: ErrorKind, retryable: bool, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            kind,
            retryable,
            message: super::redact::text(&message).into_owned(),
        }
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kinds of failure a front end tells apart (a Retry button, a hint to fix the key).
/// Every core error has one ([`CoreError::kind`](super::error::CoreError::kind)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A setting Lookout needs is missing or wrong: a key, a token, a base URL, a password.
    Config,
    /// The provider or the server refused the credentials.
    Unauthorized,
    /// The task, session or workstation does not exist.
    NotFound,
    /// The task is over or not running: there is nothing to stream.
    TaskOver,
    /// The provider asks us to slow down.
    RateLimited,
    /// The network: no connection, TLS, a dropped socket, a timeout.
    Network,
    /// The server sent something Lookout cannot read, or broke its protocol.
    Protocol,
    /// The server needs something Lookout does not do (an encoding, a security type).
    Unsupported,
    /// The provider cannot serve it now: a server error, too many viewers, a stream that
    /// stalled, an account out of credits.
    Unavailable,
}

impl ErrorKind {
    /// The kind an HTTP error status means.
    pub fn from_http_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::Unauthorized,
            404 | 410 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            500.. => ErrorKind::Unavailable,
            _ => ErrorKind::Protocol,
        }
    }

    /// Whether asking again, unchanged, can succeed: not for a missing setting, refused
    /// credentials or something Lookout does not do.
    pub fn retry_may_help(self) -> bool {
        !matches!(
            self,
            ErrorKind::Config | ErrorKind::Unauthorized | ErrorKind::Unsupported
        )
    }
}

impl SessionState {
    /// A short word for status lines and titles.
    pub fn label(&self) -> &'static str {
        match self {
            SessionState::Loading => "loading",
            SessionState::WaitingForTask { .. } => "waiting",
            SessionState::Connecting { .. } => "connecting",
            SessionState::Live(info) if info.protocol == REPLAY_PROTOCOL => "replay",
            SessionState::Live(_) => "live",
            SessionState::Reconnecting { .. } => "reconnecting",
            SessionState::Ended { .. } => "ended",
            SessionState::Failed { .. } => "error",
        }
    }

    /// True once the session will do nothing more without a [`Command::Retry`].
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            SessionState::Ended { .. } | SessionState::Failed { .. }
        )
    }
}

/// What is known about a live picture stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveInfo {
    pub width: u32,
    pub height: u32,
    /// The remote's own name for itself (RFB desktop name), untrusted text.
    pub desktop_name: String,
    /// Protocol and version, e.g. "RFB 3.8".
    pub protocol: String,
    /// Whether the operator may take control of this stream.
    pub input: InputAccess,
}

/// [`LiveInfo::protocol`] of a recording being played: its state reads "replay".
pub const REPLAY_PROTOCOL: &str = "replay";

/// Whether a live stream takes operator input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InputAccess {
    #[default]
    Allowed,
    /// The provider refuses input; the text says why, for the disabled control button.
    Refused(String),
}

/// Core → front end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    State(SessionState),
    /// The remote rang its bell.
    Bell,
    /// The remote put text on its clipboard (RFB ServerCutText, up to 1 MiB): take it with
    /// [`SessionHandle::take_remote_clipboard`](crate::core::session::SessionHandle::take_remote_clipboard).
    RemoteClipboard,
    /// The page the remote browser shows (preview `url` messages), secrets redacted.
    PageUrl(String),
    /// An answer reached the task (over the socket, or the REST fallback when `rest`).
    AnswerSent {
        request_id: String,
        rest: bool,
    },
    /// An answer could not be delivered; the text says why (never what the answer was).
    AnswerFailed {
        request_id: String,
        message: String,
    },
}

/// Front end → core.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Start again after `Ended` or `Failed` (or reconnect now while backing off).
    Retry,
    /// Close the stream and end the session.
    Stop,
    /// Operator input, in remote pixels. Sent only in interactive mode: a session sends
    /// nothing to the remote unless these arrive.
    Input(InputEvent),
    /// Put this text on the remote's clipboard (RFB ClientCutText, Latin-1). Sent only on
    /// the operator's explicit Paste to remote, never automatically.
    PasteText(String),
    /// Ask the remote for a full picture.
    Refresh,
    /// Video streams: skip ahead to the newest picture the stream allows.
    JumpToLive,
    /// Answer the task's prompt `request_id` (task-log sources). The answer may be a
    /// password: it is sent, never logged or stored.
    Answer { request_id: String, answer: Secret },
    /// Something the operator did that a recording marks (nothing is sent to the remote).
    Note(Note),
}

/// What the operator did, for a recording's markers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The operator took control of the remote.
    ControlTaken,
    /// The operator gave control back.
    ControlReleased,
    /// A named marker at this moment.
    Bookmark(String),
}

/// Counters the source bumps as data arrives; the UI derives rates by sampling them.
#[derive(Debug, Default)]
pub struct StreamStats {
    bytes_in: AtomicU64,
    updates: AtomicU64,
    rects: AtomicU64,
    /// The most recent picture encoding, as its RFB number plus 1<<32 (0: none yet).
    last_encoding: AtomicU64,
    /// Frame-protocol sources: the image format of the last frame (see [`PictureFormat`]).
    picture_format: AtomicU8,
    /// When the remote captured the picture shown now, in ms since the Unix epoch (0:
    /// unknown).
    captured_ms: AtomicU64,
    /// Messages that could not be used (malformed frames), skipped.
    skipped: AtomicU64,
    /// Video streams: how far behind live the picture shown now is, in ms plus 1 (0:
    /// unknown).
    behind_live_ms: AtomicU64,
    /// Video streams: whether that distance is an estimate (no capture time from the
    /// source, e.g. an HLS playlist without `EXT-X-PROGRAM-DATE-TIME`).
    behind_live_estimated: AtomicBool,
}

/// The image format of frame-protocol pictures, for the status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureFormat {
    Jpeg,
    Png,
    /// H.264 video (HLS).
    H264,
}

impl PictureFormat {
    pub fn name(self) -> &'static str {
        match self {
            PictureFormat::Jpeg => "JPEG",
            PictureFormat::Png => "PNG",
            PictureFormat::H264 => "H.264",
        }
    }
}

/// One reading of [`StreamStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSample {
    pub bytes_in: u64,
    pub updates: u64,
    pub rects: u64,
    pub last_encoding: Option<i32>,
    pub picture_format: Option<PictureFormat>,
    /// When the picture shown now was captured, in ms since the Unix epoch.
    pub captured_ms: Option<u64>,
    pub skipped: u64,
    /// Video streams: how far behind live the picture shown now is, in ms.
    pub behind_live_ms: Option<u64>,
    /// Whether `behind_live_ms` (and `captured_ms`) is estimated rather than known.
    pub behind_live_estimated: bool,
}

impl StreamStats {
    pub fn add_bytes(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn add_update(&self, rects: usize) {
        self.updates.fetch_add(1, Ordering::Relaxed);
        self.rects.fetch_add(rects as u64, Ordering::Relaxed);
    }

    pub fn set_encoding(&self, encoding: i32) {
        // Store as u32 bits in the low half with a presence flag above it.
        let v = (1u64 << 32) | u64::from(encoding as u32);
        self.last_encoding.store(v, Ordering::Relaxed);
    }

    pub fn set_picture_format(&self, format: PictureFormat) {
        let v = match format {
            PictureFormat::Jpeg => 1,
            PictureFormat::Png => 2,
            PictureFormat::H264 => 3,
        };
        self.picture_format.store(v, Ordering::Relaxed);
    }

    /// Records when the picture now shown was captured (ms since the Unix epoch).
    pub fn set_captured_ms(&self, ms: u64) {
        self.captured_ms.store(ms, Ordering::Relaxed);
    }

    /// Records how far behind live the picture now shown is, and whether that is an
    /// estimate.
    pub fn set_behind_live(&self, behind: std::time::Duration, estimated: bool) {
        let ms = u64::try_from(behind.as_millis()).unwrap_or(u64::MAX - 1);
        self.behind_live_estimated
            .store(estimated, Ordering::Relaxed);
        self.behind_live_ms.store(ms + 1, Ordering::Relaxed);
    }

    /// Counts one unusable message; returns how many there were in all.
    pub fn add_skipped(&self) -> u64 {
        self.skipped.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn sample(&self) -> StatsSample {
        let enc = self.last_encoding.load(Ordering::Relaxed);
        let captured = self.captured_ms.load(Ordering::Relaxed);
        StatsSample {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            updates: self.updates.load(Ordering::Relaxed),
            rects: self.rects.load(Ordering::Relaxed),
            last_encoding: (enc >> 32 == 1).then_some(enc as u32 as i32),
            picture_format: match self.picture_format.load(Ordering::Relaxed) {
                1 => Some(PictureFormat::Jpeg),
                2 => Some(PictureFormat::Png),
                3 => Some(PictureFormat::H264),
                _ => None,
            },
            captured_ms: (captured != 0).then_some(captured),
            skipped: self.skipped.load(Ordering::Relaxed),
            behind_live_ms: match self.behind_live_ms.load(Ordering::Relaxed) {
                0 => None,
                v => Some(v - 1),
            },
            behind_live_estimated: self.behind_live_estimated.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_keep_negative_encodings() {
        let s = StreamStats::default();
        assert_eq!(s.sample().last_encoding, None);
        s.set_encoding(-239);
        s.add_bytes(10);
        s.add_update(3);
        let got = s.sample();
        assert_eq!(got.last_encoding, Some(-239));
        assert_eq!((got.bytes_in, got.updates, got.rects), (10, 1, 3));
        s.set_encoding(16);
        assert_eq!(s.sample().last_encoding, Some(16));
    }
}
