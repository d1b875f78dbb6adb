//! Runner messages: one WebSocket text message in, one [`TaskMessage`] out.
//!
//! The message is read into a `serde_json::Value` and then field by field, because the
//! runner's values are loosely typed: a number may be a string, a nested object may be JSON
//! text inside a string, a boolean may be `"True"`. Each reader below accepts every form the
//! runner (or its docs) uses and names the field when none fits.

use std::fmt;

use serde_json::{Map, Value};

use super::{MAX_MESSAGE_BYTES, MAX_NAME_CHARS, TaskLogError, display_text, name_text};
use crate::core::redact::Secret;

/// An instant, in microseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub i64);

impl Micros {
    /// Reads a timestamp as the runner, its docs or AgentStation write one: a number or a
    /// numeric string (seconds, milliseconds or microseconds, told apart by size), or ISO
    /// 8601 text (`2024-03-23T16:08:21.210Z`; without a zone, UTC).
    pub fn from_json(value: &Value) -> Option<Micros> {
        match value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Micros::from_number(i as f64, Some(i))
                } else {
                    Micros::from_number(n.as_f64()?, None)
                }
            }
            Value::String(s) => Micros::from_text(s),
            _ => None,
        }
    }

    /// Reads a timestamp from text: numeric (see [`Micros::from_json`]) or ISO 8601.
    pub fn from_text(text: &str) -> Option<Micros> {
        let t = text.trim();
        if t.is_empty() || t.len() > 64 {
            return None;
        }
        if let Ok(i) = t.parse::<i64>() {
            return Micros::from_number(i as f64, Some(i));
        }
        if let Ok(f) = t.parse::<f64>() {
            return Micros::from_number(f, None);
        }
        iso8601(t)
    }

    /// Below 1e11 a number is seconds (up to the year 5138), below 1e14 milliseconds, else
    /// microseconds. Integers of microseconds are kept exact.
    fn from_number(f: f64, exact: Option<i64>) -> Option<Micros> {
        if !f.is_finite() || f < 0.0 {
            return None;
        }
        let us = if f < 1e11 {
            f * 1e6
        } else if f < 1e14 {
            f * 1e3
        } else if let Some(i) = exact {
            return Some(Micros(i));
        } else {
            f
        };
        if us >= i64::MAX as f64 {
            return None;
        }
        Some(Micros(us.round() as i64))
    }

    /// Microseconds since the epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// The instant as a `SystemTime`; `None` before the epoch.
    pub fn system_time(self) -> Option<std::time::SystemTime> {
        let us = u64::try_from(self.0).ok()?;
        std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_micros(us))
    }

    /// The time of day in UTC, `HH:MM:SS`.
    pub fn utc_hms(self) -> String {
        let secs = self.0.div_euclid(1_000_000).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]`, as µs since the epoch.
fn iso8601(t: &str) -> Option<Micros> {
    let b = t.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(range)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..6 {
            micros *= 10;
        }
    }
    let offset_s = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &t[i + 1..];
            let (h, m) = match rest.len() {
                5 if rest.as_bytes()[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                2 => (num(i + 1..i + 3)?, 0),
                _ => return None,
            };
            let s = h * 3600 + m * 60;
            if sign == b'+' { s } else { -s }
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(Micros(secs.checked_mul(1_000_000)?.checked_add(micros)?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// What every runner message may carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// The stored message's id (`"<ms>-<seq>"`, a Redis stream id), the key for dropping
    /// replays. The status message has none; an id over [`MAX_NAME_CHARS`] is not kept.
    pub id: Option<String>,
    /// When the runner stored the message.
    pub timestamp: Option<Micros>,
    /// The task, when the message names it.
    pub task_id: Option<String>,
}

/// A task's state, as the runner names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Pending,
    Running,
    WaitingForInput,
    Completed,
    Failed,
    Cancelled,
    /// A status this version does not know, as sent (at most [`MAX_NAME_CHARS`]).
    Other(String),
}

impl TaskStatus {
    /// Reads the runner's name (`RUNNING`, …), in any case.
    pub fn from_name(name: &str) -> TaskStatus {
        let n = name.trim();
        let known = [
            ("PENDING", TaskStatus::Pending),
            ("RUNNING", TaskStatus::Running),
            ("WAITING_FOR_INPUT", TaskStatus::WaitingForInput),
            ("COMPLETED", TaskStatus::Completed),
            ("FAILED", TaskStatus::Failed),
            ("CANCELLED", TaskStatus::Cancelled),
            ("CANCELED", TaskStatus::Cancelled),
        ];
        known
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, s)| s)
            .unwrap_or_else(|| TaskStatus::Other(name_text(n)))
    }

    /// The runner's name for it.
    pub fn name(&self) -> &str {
        match self {
            TaskStatus::Pending => "PENDING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::WaitingForInput => "WAITING_FOR_INPUT",
            TaskStatus::Completed => "COMPLETED",
            TaskStatus::Failed => "FAILED",
            TaskStatus::Cancelled => "CANCELLED",
            TaskStatus::Other(s) => s,
        }
    }

    /// Whether the task has ended (completed, failed or cancelled): it prints and asks no more.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The task's state, sent first on every connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusMessage {
    pub meta: Meta,
    pub status: TaskStatus,
    /// The prompt the task waits on, when it waits (`data.input_request_id`).
    pub input_request_id: Option<String>,
}

/// One tool or function call an agent asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// The call's id, when given.
    pub id: Option<String>,
    /// The tool's name (`"?"` when not given).
    pub name: String,
    /// Its arguments as JSON text (as the model wrote them; an object is written compactly),
    /// at most [`MAX_TEXT_CHARS`](super::MAX_TEXT_CHARS).
    pub arguments: String,
}

/// A structured agent event (an ag2 event, as `print` data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentEvent {
    /// `{"type":"text","content":{"sender","recipient","content"}}`: one agent speaks.
    Text {
        sender: Option<String>,
        recipient: Option<String>,
        content: String,
    },
    /// `tool_call` (and `execute_function`): an agent calls tools.
    ToolCalls {
        sender: Option<String>,
        recipient: Option<String>,
        calls: Vec<ToolCall>,
    },
    /// `tool_response` (and `executed_function`): what a tool returned.
    ToolResult {
        sender: Option<String>,
        recipient: Option<String>,
        /// The function's name, when the event gives it.
        name: Option<String>,
        content: String,
    },
    /// `{"type":"termination","content":{"termination_reason":…}}`: the chat ended.
    Termination { reason: String },
    /// Any other event: its type, and a one-line summary of its content (its `content`,
    /// `summary` or `message` text when it has one, else its compact JSON).
    Other { kind: String, summary: String },
}

/// What a `print` carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrintContent {
    /// Plain output (the trailing line break a Python `print` adds is kept).
    Text(String),
    /// A structured agent event.
    Event(AgentEvent),
}

/// Output from the task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintMessage {
    pub meta: Meta,
    pub content: PrintContent,
}

/// The task asks a human.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputRequest {
    pub meta: Meta,
    /// What the answer must name.
    pub request_id: String,
    /// The question (`data`, or `prompt` as `waldiez.io` names it); may be empty.
    pub prompt: String,
    /// Whether the answer is a secret: `"True"`/`"true"`/`"1"`/`"yes"` or `true`. A value
    /// that is none of the known spellings counts as true, so a doubt masks.
    pub password: bool,
}

/// An answer, echoed by the runner to every viewer (from whoever gave it, or `""` when the
/// prompt timed out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputResponse {
    pub meta: Meta,
    pub request_id: String,
    /// The answer's text: `data` as sent, or the text parts of `waldiez.io`'s structured
    /// answer (`{"content":{"type":"text","text":…}}`, or a list of them). It may be a
    /// password: it prints as `***`, and [`TaskLog`](super::TaskLog) stores it masked when
    /// its prompt asked for a password.
    pub answer: Secret,
}

/// One runner message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskMessage {
    Status(StatusMessage),
    Print(PrintMessage),
    InputRequest(InputRequest),
    InputResponse(InputResponse),
    /// Text that is not a JSON object, or an object of an unknown or missing `type`: kept as
    /// sent (at most [`MAX_TEXT_CHARS`](super::MAX_TEXT_CHARS)), with its `id` when it is an
    /// object that has one, so a replay of it is dropped too.
    Raw {
        id: Option<String>,
        text: String,
    },
}

impl TaskMessage {
    /// The message's id, the key for dropping replays.
    pub fn id(&self) -> Option<&str> {
        match self {
            TaskMessage::Status(m) => m.meta.id.as_deref(),
            TaskMessage::Print(m) => m.meta.id.as_deref(),
            TaskMessage::InputRequest(m) => m.meta.id.as_deref(),
            TaskMessage::InputResponse(m) => m.meta.id.as_deref(),
            TaskMessage::Raw { id, .. } => id.as_deref(),
        }
    }

    /// When the runner stored it, when known.
    pub fn timestamp(&self) -> Option<Micros> {
        match self {
            TaskMessage::Status(m) => m.meta.timestamp,
            TaskMessage::Print(m) => m.meta.timestamp,
            TaskMessage::InputRequest(m) => m.meta.timestamp,
            TaskMessage::InputResponse(m) => m.meta.timestamp,
            TaskMessage::Raw { .. } => None,
        }
    }
}

/// Parses one runner WebSocket text message.
///
/// Refuses a message over [`MAX_MESSAGE_BYTES`] before reading it. Text that is not a JSON
/// object (including broken JSON) and objects of unknown type are [`TaskMessage::Raw`]; an
/// error means a known type lacked a field it needs or had one of the wrong kind.
pub fn parse(text: &str) -> Result<TaskMessage, TaskLogError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(TaskLogError::TooLarge {
            len: text.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let raw = |id: Option<String>| TaskMessage::Raw {
        id,
        text: display_text(text),
    };
    if !text.trim_start().starts_with('{') {
        return Ok(raw(None));
    }
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        return Ok(raw(None));
    };
    let meta = Meta {
        id: obj.get("id").and_then(scalar_text).and_then(id_text),
        timestamp: obj.get("timestamp").and_then(Micros::from_json),
        task_id: obj
            .get("task_id")
            .and_then(scalar_text)
            .map(|s| name_text(&s)),
    };
    let Some(kind) = obj.get("type").and_then(Value::as_str) else {
        return Ok(raw(meta.id));
    };
    match kind {
        "status" => status(meta, &obj).map(TaskMessage::Status),
        "print" => print(meta, &obj).map(TaskMessage::Print),
        "input_request" => input_request(meta, &obj).map(TaskMessage::InputRequest),
        "input_response" => input_response(meta, &obj).map(TaskMessage::InputResponse),
        // The runner's docs list it as a type of its own; its code sends it as a print.
        "termination" => Ok(TaskMessage::Print(PrintMessage {
            meta,
            content: PrintContent::Event(AgentEvent::Termination {
                reason: obj.get("data").map(termination_reason).unwrap_or_default(),
            }),
        })),
        other => {
            // `IOStream.send`: the event's own type, the event as JSON text in `data`.
            if let Some(event) = obj.get("data").and_then(as_object)
                && event.get("type").and_then(Value::as_str) == Some(other)
            {
                return Ok(TaskMessage::Print(PrintMessage {
                    meta,
                    content: PrintContent::Event(agent_event(other, &event)),
                }));
            }
            Ok(raw(meta.id))
        }
    }
}

/// A string, or a number or boolean written as text; `None` for null, arrays and objects.
pub(super) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn id_text(id: String) -> Option<String> {
    (!id.is_empty() && id.chars().count() <= MAX_NAME_CHARS).then_some(id)
}

/// An object, or JSON text of one inside a string.
fn as_object(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(o) => Some(o.clone()),
        Value::String(s) if s.trim_start().starts_with('{') => {
            match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(o)) => Some(o),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Like [`as_object`], but without copying an object that is already one.
fn with_object<R>(v: &Value, f: impl FnOnce(&Map<String, Value>) -> R) -> Option<R> {
    match v {
        Value::Object(o) => Some(f(o)),
        other => as_object(other).map(|o| f(&o)),
    }
}

fn required_text(
    obj: &Map<String, Value>,
    kind: &'static str,
    field: &'static str,
) -> Result<String, TaskLogError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(TaskLogError::MissingField { kind, field }),
        Some(v) => scalar_text(v)
            .map(|s| name_text(&s))
            .ok_or(TaskLogError::WrongType {
                kind,
                field,
                expected: "a string",
            }),
    }
}

fn status(meta: Meta, obj: &Map<String, Value>) -> Result<StatusMessage, TaskLogError> {
    let data = obj.get("data").ok_or(TaskLogError::MissingField {
        kind: "status",
        field: "data",
    })?;
    let read = |data: &Map<String, Value>| -> Result<StatusMessage, TaskLogError> {
        let status = match data.get("status") {
            None | Some(Value::Null) => {
                return Err(TaskLogError::MissingField {
                    kind: "status",
                    field: "data.status",
                });
            }
            Some(Value::String(s)) => TaskStatus::from_name(s),
            Some(_) => {
                return Err(TaskLogError::WrongType {
                    kind: "status",
                    field: "data.status",
                    expected: "a string",
                });
            }
        };
        let mut meta = meta;
        if meta.task_id.is_none() {
            meta.task_id = data
                .get("task_id")
                .and_then(scalar_text)
                .map(|s| name_text(&s));
        }
        Ok(StatusMessage {
            meta,
            status,
            input_request_id: data
                .get("input_request_id")
                .and_then(scalar_text)
                .filter(|s| !s.is_empty())
                .map(|s| name_text(&s)),
        })
    };
    with_object(data, read).unwrap_or(Err(TaskLogError::WrongType {
        kind: "status",
        field: "data",
        expected: "an object",
    }))
}

fn print(meta: Meta, obj: &Map<String, Value>) -> Result<PrintMessage, TaskLogError> {
    let content = match obj.get("data") {
        None | Some(Value::Null) => {
            return Err(TaskLogError::MissingField {
                kind: "print",
                field: "data",
            });
        }
        Some(v @ Value::String(s)) => match event_of(v) {
            Some(event) => PrintContent::Event(event),
            None => PrintContent::Text(display_text(s)),
        },
        Some(v @ Value::Object(_)) => match event_of(v) {
            Some(event) => PrintContent::Event(event),
            None => PrintContent::Text(display_text(&v.to_string())),
        },
        Some(other) => PrintContent::Text(display_text(&other.to_string())),
    };
    Ok(PrintMessage { meta, content })
}

/// An agent event: an object (or JSON text of one) with a string `type`.
fn event_of(v: &Value) -> Option<AgentEvent> {
    with_object(v, |o| {
        let kind = o.get("type")?.as_str()?;
        Some(agent_event(kind, o))
    })
    .flatten()
}

fn agent_event(kind: &str, event: &Map<String, Value>) -> AgentEvent {
    // The content, read from JSON text when it is an object inside a string.
    let parsed;
    let content: &Value = match event.get("content") {
        None => &Value::Null,
        Some(v @ Value::String(_)) => match as_object(v) {
            Some(o) => {
                parsed = Value::Object(o);
                &parsed
            }
            None => v,
        },
        Some(v) => v,
    };
    let field = |name: &str| {
        content
            .get(name)
            .and_then(scalar_text)
            .map(|s| name_text(&s))
    };
    match kind {
        "text" => match content {
            Value::Object(c) => AgentEvent::Text {
                sender: field("sender"),
                recipient: field("recipient"),
                content: c.get("content").map(message_text).unwrap_or_default(),
            },
            other => AgentEvent::Text {
                sender: None,
                recipient: None,
                content: message_text(other),
            },
        },
        "tool_call" | "function_call" => {
            let mut calls = Vec::new();
            if let Some(Value::Array(list)) = content.get("tool_calls") {
                for call in list.iter().take(64) {
                    let function = call.get("function").unwrap_or(call);
                    calls.push(tool_call(
                        call.get("id"),
                        function.get("name"),
                        function.get("arguments"),
                    ));
                }
            }
            if let Some(f) = content.get("function_call").filter(|f| f.is_object()) {
                calls.push(tool_call(None, f.get("name"), f.get("arguments")));
            }
            AgentEvent::ToolCalls {
                sender: field("sender"),
                recipient: field("recipient"),
                calls,
            }
        }
        "execute_function" => AgentEvent::ToolCalls {
            sender: None,
            recipient: field("recipient"),
            calls: vec![tool_call(
                content.get("call_id"),
                content.get("func_name"),
                content.get("arguments"),
            )],
        },
        "tool_response" | "executed_function" | "function_response" => {
            let mut text = content.get("content").map(message_text).unwrap_or_default();
            if text.is_empty()
                && let Some(Value::Array(list)) = content.get("tool_responses")
            {
                let parts: Vec<String> = list
                    .iter()
                    .take(64)
                    .filter_map(|r| r.get("content").map(message_text))
                    .collect();
                text = display_text(&parts.join("\n"));
            }
            AgentEvent::ToolResult {
                sender: field("sender"),
                recipient: field("recipient"),
                name: field("func_name").or_else(|| field("name")),
                content: text,
            }
        }
        "termination" => AgentEvent::Termination {
            reason: termination_reason(content),
        },
        other => {
            let summary = ["content", "summary", "message"]
                .iter()
                .find_map(|k| content.get(*k).filter(|v| v.is_string()))
                .map(message_text)
                .unwrap_or_else(|| match content {
                    Value::Null => String::new(),
                    Value::String(s) => display_text(s),
                    v => display_text(&v.to_string()),
                });
            AgentEvent::Other {
                kind: name_text(other),
                summary,
            }
        }
    }
}

fn tool_call(id: Option<&Value>, name: Option<&Value>, arguments: Option<&Value>) -> ToolCall {
    ToolCall {
        id: id.and_then(scalar_text).map(|s| name_text(&s)),
        name: name
            .and_then(scalar_text)
            .map(|s| name_text(&s))
            .unwrap_or_else(|| "?".to_string()),
        arguments: match arguments {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => display_text(s),
            Some(v) => display_text(&v.to_string()),
        },
    }
}

/// The reason in a termination's content: `termination_reason` of an object, or the text.
fn termination_reason(content: &Value) -> String {
    match content {
        Value::String(s) => match as_object(content) {
            Some(o) => termination_reason(&Value::Object(o)),
            None => display_text(s),
        },
        Value::Object(o) => {
            if let Some(c) = o.get("content").filter(|c| c.is_object() || c.is_string()) {
                // A whole event ({"type":"termination","content":{…}}) rather than its content.
                if o.get("type").and_then(Value::as_str) == Some("termination") {
                    return termination_reason(c);
                }
            }
            o.get("termination_reason")
                .map(message_text)
                .unwrap_or_default()
        }
        Value::Null => String::new(),
        other => display_text(&other.to_string()),
    }
}

/// A message's text: a string as is; a list of content parts (the multimodal form) as their
/// texts, images as `[image]`; anything else as compact JSON.
pub(super) fn message_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => display_text(s),
        Value::Array(parts) => {
            let mut out = String::new();
            for part in parts.iter().take(1024) {
                let piece = match part {
                    Value::String(s) => s.clone(),
                    Value::Object(p) => match p.get("type").and_then(Value::as_str) {
                        Some("text") => p.get("text").and_then(scalar_text).unwrap_or_default(),
                        Some("image_url" | "image") => "[image]".to_string(),
                        Some(t) => format!("[{}]", name_text(t)),
                        None => part.to_string(),
                    },
                    other => other.to_string(),
                };
                if !out.is_empty() && !piece.is_empty() {
                    out.push(' ');
                }
                out.push_str(&piece);
                if out.len() > super::MAX_TEXT_CHARS * 4 {
                    break;
                }
            }
            display_text(&out)
        }
        other => display_text(&other.to_string()),
    }
}

fn input_request(meta: Meta, obj: &Map<String, Value>) -> Result<InputRequest, TaskLogError> {
    let request_id = required_text(obj, "input_request", "request_id")?;
    let prompt = match obj.get("data").or_else(|| obj.get("prompt")) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => display_text(s),
        Some(v) => display_text(&v.to_string()),
    };
    let password = match obj.get("password") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            let s = s.trim();
            !(s.is_empty()
                || ["false", "no", "0", "none"]
                    .iter()
                    .any(|f| s.eq_ignore_ascii_case(f)))
        }
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    };
    Ok(InputRequest {
        meta,
        request_id,
        prompt,
        password,
    })
}

fn input_response(meta: Meta, obj: &Map<String, Value>) -> Result<InputResponse, TaskLogError> {
    let request_id = required_text(obj, "input_response", "request_id")?;
    let answer = match obj.get("data") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => {
            let t = s.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                match serde_json::from_str::<Value>(s) {
                    Ok(v @ (Value::Object(_) | Value::Array(_))) => answer_text(&v),
                    _ => display_text(s),
                }
            } else {
                display_text(s)
            }
        }
        Some(v) => answer_text(v),
    };
    Ok(InputResponse {
        meta,
        request_id,
        answer: Secret::new(answer),
    })
}

/// `waldiez.io`'s structured answer: `{"content":{"type":"text","text":…}}`, a list of them,
/// or a bare content part; parts joined by a space. Anything else as compact JSON.
fn answer_text(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().take(1024).map(answer_text).collect();
            display_text(&parts.join(" "))
        }
        Value::Object(o) => {
            if let Some(c) = o.get("content") {
                return answer_text(c);
            }
            match o.get("type").and_then(Value::as_str) {
                Some("text") => o
                    .get("text")
                    .and_then(scalar_text)
                    .map(|s| display_text(&s))
                    .unwrap_or_default(),
                Some("image_url" | "image") => "[image]".to_string(),
                _ => display_text(&v.to_string()),
            }
        }
        Value::String(s) => display_text(s),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
