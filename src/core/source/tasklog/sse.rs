//! Server-Sent Events, and AgentStation's log entries carried in them.
//!
//! [`SseParser`] follows the WHATWG event-stream rules: lines end with CRLF, LF or CR (a CR
//! at the end of one chunk and an LF at the start of the next are one line end); `data:`
//! lines of one event are joined with line feeds; `event:` names the event (default
//! `message`); `id:` sets the last event id, which every later event carries until changed
//! (an id containing NUL is ignored); `retry:` sets the reconnection delay; a line starting
//! with `:` is a comment (servers send them to keep the connection alive); one space after
//! the colon is dropped; a blank line ends the event, and an event without data is not
//! dispatched. A leading byte-order mark is skipped. Lines are kept as bytes until complete,
//! so a UTF-8 character split between chunks decodes whole; invalid UTF-8 is replaced.
//!
//! An event (its data so far plus the line being read) over the parser's limit is skipped to
//! its blank line, and reported once as [`TaskLogError::EventTooLarge`]; the stream goes on.

use serde_json::Value;

use super::message::Micros;
use super::{MAX_MESSAGE_BYTES, TaskLogError, display_text, name_text};

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The event's type (`event:`), `message` when not given.
    pub event: String,
    /// Its `data:` lines, joined with `\n`.
    pub data: String,
    /// The last event id set (`id:`) by this event or an earlier one; `None` if never set
    /// (or set to empty).
    pub id: Option<String>,
}

/// An incremental SSE parser: feed it bytes as they arrive, get whole events.
#[derive(Debug)]
pub struct SseParser {
    max_event_bytes: usize,
    line: Vec<u8>,
    data: String,
    event: String,
    last_id: Option<String>,
    retry_ms: Option<u64>,
    /// The last byte fed was a CR: an LF right after it ends nothing more.
    after_cr: bool,
    /// No line has ended yet (a byte-order mark may lead the first).
    first_line: bool,
    /// The current event went over the limit: skip to its end.
    overflow: bool,
    /// The current line has bytes (kept or, past the limit, skipped): it is not blank.
    line_seen: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new(MAX_MESSAGE_BYTES)
    }
}

impl SseParser {
    /// A parser that skips events over `max_event_bytes` (at least 1).
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            max_event_bytes: max_event_bytes.max(1),
            line: Vec::new(),
            data: String::new(),
            event: String::new(),
            last_id: None,
            retry_ms: None,
            after_cr: false,
            first_line: true,
            overflow: false,
            line_seen: false,
        }
    }

    /// The reconnection delay the server asked for (`retry:`), in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// The last event id, to send as `Last-Event-ID` when reconnecting.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Reads a chunk; returns the events it completed, in order, and an error for each
    /// event skipped as too large.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Result<SseEvent, TaskLogError>> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.after_cr && rest[0] == b'\n' {
                rest = &rest[1..];
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.take(&rest[..end]);
                    self.after_cr = rest[end] == b'\r';
                    rest = &rest[end + 1..];
                    self.end_line(&mut out);
                }
                None => {
                    self.take(rest);
                    rest = &[];
                }
            }
        }
        out
    }

    /// Adds bytes to the current line, unless the event is already over the limit.
    fn take(&mut self, bytes: &[u8]) {
        self.line_seen |= !bytes.is_empty();
        if self.overflow {
            return;
        }
        if self.data.len() + self.line.len() + bytes.len() > self.max_event_bytes {
            self.overflow = true;
            self.line.clear();
            self.data.clear();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn end_line(&mut self, out: &mut Vec<Result<SseEvent, TaskLogError>>) {
        let mut line = std::mem::take(&mut self.line);
        if self.first_line {
            self.first_line = false;
            if line.starts_with(&[0xef, 0xbb, 0xbf]) {
                line.drain(..3);
            }
        }
        if !std::mem::take(&mut self.line_seen) {
            self.dispatch(out);
        } else if !self.overflow && !line.is_empty() {
            self.field(&line);
        }
        // Give the buffer back, emptied, unless one huge line made it big.
        line.clear();
        if line.capacity() <= 64 * 1024 {
            self.line = line;
        }
    }

    fn field(&mut self, line: &[u8]) {
        if line[0] == b':' {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            b"event" => self.event = name_text(&String::from_utf8_lossy(value)),
            b"id" if !value.contains(&0) => {
                let id = String::from_utf8_lossy(value);
                self.last_id = (!id.is_empty()).then(|| name_text(&id));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry_ms = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Result<SseEvent, TaskLogError>>) {
        let event = std::mem::take(&mut self.event);
        if self.overflow {
            self.overflow = false;
            self.data.clear();
            out.push(Err(TaskLogError::EventTooLarge {
                max: self.max_event_bytes,
            }));
            return;
        }
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the line feed after the last data line
        out.push(Ok(SseEvent {
            event: if event.is_empty() {
                "message".to_string()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        }));
    }
}

/// A log entry's level.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    /// A level this version does not know, as sent (at most
    /// [`MAX_NAME_CHARS`](super::MAX_NAME_CHARS)).
    Other(String),
}

impl LogLevel {
    /// Reads a level name in any case: `trace`/`debug`, `info`/`notice`, `warn`/`warning`,
    /// `error`/`err`/`critical`/`fatal`; anything else is [`LogLevel::Other`].
    pub fn from_name(name: &str) -> LogLevel {
        let n = name.trim();
        let is = |names: &[&str]| names.iter().any(|k| k.eq_ignore_ascii_case(n));
        if is(&["debug", "trace"]) {
            LogLevel::Debug
        } else if is(&["info", "information", "notice"]) {
            LogLevel::Info
        } else if is(&["warn", "warning"]) {
            LogLevel::Warn
        } else if is(&["error", "err", "critical", "fatal", "crit"]) {
            LogLevel::Error
        } else {
            LogLevel::Other(name_text(n))
        }
    }
}

/// One AgentStation log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its level; `None` when it gave none (or was not JSON).
    pub level: Option<LogLevel>,
    /// Its `message` (or `msg`), at most [`MAX_TEXT_CHARS`](super::MAX_TEXT_CHARS); for an
    /// entry without one, the data as sent.
    pub message: String,
    /// Its `timestamp` (or `time`, `ts`), when present and readable.
    pub timestamp: Option<Micros>,
    /// Whether the data was a JSON object (else it is kept as text, in `message`).
    pub structured: bool,
}

/// Reads one SSE event's data as a log entry. Data that is not a JSON object is kept as
/// text, without level.
pub fn parse_log_entry(data: &str) -> LogEntry {
    let raw = || LogEntry {
        level: None,
        message: display_text(data),
        timestamp: None,
        structured: false,
    };
    if data.len() > MAX_MESSAGE_BYTES || !data.trim_start().starts_with('{') {
        return raw();
    }
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(data) else {
        return raw();
    };
    let level = ["level", "severity", "levelname"]
        .iter()
        .find_map(|k| obj.get(*k))
        .and_then(|v| match v {
            Value::String(s) => Some(LogLevel::from_name(s)),
            Value::Number(n) => Some(LogLevel::Other(n.to_string())),
            _ => None,
        });
    let message = ["message", "msg"]
        .iter()
        .find_map(|k| obj.get(*k))
        .map(|v| match v {
            Value::String(s) => display_text(s),
            other => display_text(&other.to_string()),
        })
        .unwrap_or_else(|| display_text(data));
    let timestamp = ["timestamp", "time", "ts"]
        .iter()
        .find_map(|k| obj.get(*k))
        .and_then(Micros::from_json);
    LogEntry {
        level,
        message,
        timestamp,
        structured: true,
    }
}
