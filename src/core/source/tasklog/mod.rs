//! Task logs: what a running task prints and asks, as Waldiez Runner and AgentStation send it.
//!
//! Two providers talk while a task runs (PROVIDERS.md §4 and §2):
//! - **Waldiez Runner** sends JSON text messages over a WebSocket (`/ws/{task_id}`). The
//!   runner's code, not its docs, decides their shape: every message is a flat object whose
//!   values went through a Redis stream, so *every value may arrive as a string*, nested
//!   objects included (JSON text inside a JSON string). The kinds are `status` (sent once,
//!   first, on each connection), `print` (a string, or an agent event such as
//!   `{"type":"text","content":{"sender","recipient","content"}}`), `input_request` and
//!   `input_response`. The runner's own `IOStream.send` writes agent events with the
//!   *event's* type as the message type (`{"type":"text","data":"{\"type\":\"text\",…}"}`),
//!   so such messages are read as prints too. After the status come up to the last 50
//!   stored messages, then live ones; each stored message has an `id` (`"<ms>-<seq>"`),
//!   which is how a replay after a reconnect, or a second viewer joining, is recognised.
//! - **AgentStation** streams its workstation log as Server-Sent Events, each `data:` a
//!   JSON log entry with `level`, `message` and `timestamp`.
//!
//! Two drivers run these stages on a connection: `driver` (the runner's socket and REST)
//! and `sse_driver` (AgentStation's SSE). The stages themselves are pure (no I/O, no UI):
//! - [`parse`] turns one runner text message into a [`TaskMessage`]. Text that is not a JSON
//!   object, or an object of a type nobody knows, becomes [`TaskMessage::Raw`]: shown, never
//!   dropped. A known type missing what makes it usable (an `input_request` without its
//!   `request_id`) is a [`TaskLogError`] naming the field; errors never quote the message,
//!   since an answer may be a password.
//! - [`render`] gives a message's display form ([`Rendered`]): plain data that a GUI pane, a
//!   terminal or `--json` output can all use. Agent messages read `sender → recipient:
//!   content`, tool calls fit one line with their arguments folded into
//!   [`Rendered::detail`], and a termination reads `Task ended: <reason>`.
//! - [`TaskLog`] keeps the lines: it drops replayed duplicates by `id`, caps its length
//!   (oldest first, counted), follows the latest status and the pending prompt (`prompt`:
//!   closed at once by an answer we sent, asked only once its text is known), masks the
//!   answers to password prompts before they are stored, adds what a finished task's
//!   record holds and the stream did not deliver (`results`), and searches.
//! - [`SseParser`] cuts an SSE byte stream, fed in chunks of any size, into events, and
//!   [`parse_log_entry`] reads one event's data as a [`LogEntry`].
//!
//! Sizes are checked before anything is built: a message over [`MAX_MESSAGE_BYTES`] is
//! refused unread, an SSE event over its parser's limit is skipped to its end, and every
//! text kept for display is cut to [`MAX_TEXT_CHARS`] (an agent can print megabytes in one
//! call; a log line that long helps no one and costs the pane its smoothness).
//!
//! Timestamps become [`Micros`] (µs since the Unix epoch). The runner writes µs as strings
//! (its status message as an integer); its docs show milliseconds, and `waldiez.io` writes ISO
//! 8601 text. All of these are read: a number is taken as seconds, milliseconds or
//! microseconds by its size (any instant after 1973 is unambiguous), and an ISO time
//! without a zone is taken as UTC.

pub(crate) mod driver;
mod json;
mod message;
mod prompt;
mod render;
mod results;
mod sse;
pub(crate) mod sse_driver;
mod store;

pub use driver::{answer_message, outcome_text};
pub use json::{line_from_json, line_to_json};

pub use message::{
    AgentEvent, InputRequest, InputResponse, Meta, Micros, PrintContent, PrintMessage,
    StatusMessage, TaskMessage, TaskStatus, ToolCall, parse,
};
pub use prompt::PendingPrompt;
pub use render::{LineKind, Rendered, render};
pub use results::{RESULTS_TAIL, ResultMessage, TaskResults};
pub use sse::{LogEntry, LogLevel, SseEvent, SseParser, parse_log_entry};
pub use store::{LogLine, MAX_DETAIL_CHARS, MAX_LINE_BYTES, Push, TaskLog, TaskLogConfig};

/// Longest runner message or SSE event accepted, in bytes; a longer one is refused unread.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
/// Longest text kept for display (a print, an agent message, a prompt, a tool's arguments),
/// in characters; the rest is cut and [`TRUNCATION_MARK`] appended.
pub const MAX_TEXT_CHARS: usize = 64 * 1024;
/// Appended to a text that was cut to [`MAX_TEXT_CHARS`].
pub const TRUNCATION_MARK: &str = " … [truncated]";
/// Longest id, request id, task id, sender, recipient or type kept, in characters. A longer
/// message id is not used for de-duplication (cutting it could make two ids equal).
pub const MAX_NAME_CHARS: usize = 256;
/// What is stored and shown in place of the answer to a password prompt. Its length is
/// fixed so it does not tell the answer's.
pub const MASK: &str = "••••••••";

/// What was wrong with one message or event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TaskLogError {
    #[error("message of {len} bytes is over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("{kind} message has no {field:?} field")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    #[error("{kind} message: field {field:?} is not {expected}")]
    WrongType {
        kind: &'static str,
        field: &'static str,
        expected: &'static str,
    },
    #[error("server-sent event over the limit of {max} bytes, skipped")]
    EventTooLarge { max: usize },
}

/// `text` cut to at most `max` characters, [`TRUNCATION_MARK`] appended when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => {
            let mut out = String::with_capacity(at + TRUNCATION_MARK.len());
            out.push_str(&text[..at]);
            out.push_str(TRUNCATION_MARK);
            out
        }
    }
}

/// Cuts `text` to at most `max` characters in place, [`TRUNCATION_MARK`] appended when
/// cut, and gives back spare capacity so what it holds is what it shows.
fn cut_in_place(text: &mut String, max: usize) {
    if text.len() > max
        && let Some((at, _)) = text.char_indices().nth(max)
    {
        text.truncate(at);
        text.push_str(TRUNCATION_MARK);
    }
    if text.capacity() > text.len() + 64 {
        text.shrink_to_fit();
    }
}

/// Display text: cut to [`MAX_TEXT_CHARS`].
fn display_text(text: &str) -> String {
    // Fast path: a text of at most MAX_TEXT_CHARS bytes has at most that many characters.
    if text.len() <= MAX_TEXT_CHARS {
        text.to_string()
    } else {
        truncate(text, MAX_TEXT_CHARS)
    }
}

/// A name (sender, type, id): cut to [`MAX_NAME_CHARS`].
fn name_text(text: &str) -> String {
    if text.len() <= MAX_NAME_CHARS {
        text.to_string()
    } else {
        truncate(text, MAX_NAME_CHARS)
    }
}

#[cfg(test)]
mod memory_tests;
#[cfg(test)]
mod tests;
