//! A stored log line as JSON, and back: what `lookout logs --json` prints and what a
//! recording's `LogLine` records hold (`docs/recording-format.md`).

use serde_json::Value;

use super::message::Micros;
use super::render::{LineKind, Rendered};
use super::sse::LogLevel;
use super::store::LogLine;
use super::store::MAX_DETAIL_CHARS;
use super::{MAX_TEXT_CHARS, cut_in_place};

/// Every line kind and its name.
const KINDS: [(LineKind, &str); 12] = [
    (LineKind::Status, "status"),
    (LineKind::Output, "output"),
    (LineKind::Agent, "agent"),
    (LineKind::ToolCall, "toolcall"),
    (LineKind::ToolResult, "toolresult"),
    (LineKind::Termination, "termination"),
    (LineKind::Event, "event"),
    (LineKind::Prompt, "prompt"),
    (LineKind::Answer, "answer"),
    (LineKind::Raw, "raw"),
    (LineKind::Error, "error"),
    (LineKind::Log, "log"),
];

impl LineKind {
    /// The kind's name in JSON.
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("raw", |(_, n)| n)
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<LineKind> {
        KINDS.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

impl LogLevel {
    /// The level's name in JSON.
    pub fn name(&self) -> &str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warning",
            LogLevel::Error => "error",
            LogLevel::Other(s) => s,
        }
    }
}

/// One line as a JSON object (`request_id` names the prompt a prompt or answer line is
/// about).
pub fn line_to_json(line: &LogLine) -> Value {
    serde_json::json!({
        "seq": line.seq,
        "id": line.id,
        "timestamp_us": line.timestamp.map(|t| t.as_micros()),
        "kind": line.rendered.kind.name(),
        "level": line.level.as_ref().map(LogLevel::name),
        "request_id": line.request_id,
        "text": line.rendered.text,
        "detail": line.rendered.detail,
    })
}

/// A line read back from [`line_to_json`]'s form (a recording's, so untrusted): `None`
/// unless it has a `seq`, a known `kind` and a `text`. Texts are cut as the store cuts them.
pub fn line_from_json(value: &Value) -> Option<LogLine> {
    let text_of = |key: &str, max: usize| {
        value.get(key).and_then(Value::as_str).map(|s| {
            let mut s = s.to_string();
            cut_in_place(&mut s, max);
            s
        })
    };
    Some(LogLine {
        seq: value.get("seq")?.as_u64()?,
        id: text_of("id", super::MAX_NAME_CHARS),
        timestamp: value
            .get("timestamp_us")
            .and_then(Value::as_i64)
            .map(Micros),
        level: value
            .get("level")
            .and_then(Value::as_str)
            .map(LogLevel::from_name),
        request_id: text_of("request_id", super::MAX_NAME_CHARS),
        rendered: Rendered {
            kind: LineKind::from_name(value.get("kind")?.as_str()?)?,
            text: text_of("text", MAX_TEXT_CHARS)?,
            detail: text_of("detail", MAX_DETAIL_CHARS),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::tasklog::TaskLog;

    #[test]
    fn every_line_round_trips() {
        let mut log = TaskLog::default();
        log.push_text(
            r#"{"id":"1-0","type":"print","timestamp":"1718900000000000","data":"hello"}"#,
        );
        log.push_text(r#"{"id":"2-0","type":"input_request","request_id":"r1","data":"Go on?","password":"False"}"#);
        log.push_error("a message that could not be read");
        for line in log.lines() {
            let json = line_to_json(line);
            assert_eq!(line_from_json(&json).as_ref(), Some(line), "{json}");
        }
        for (kind, name) in KINDS {
            assert_eq!(LineKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.name(), name);
        }
    }

    #[test]
    fn a_crafted_line_is_refused_or_cut() {
        assert!(
            line_from_json(&serde_json::json!({"seq": 1, "kind": "nope", "text": "x"})).is_none()
        );
        assert!(line_from_json(&serde_json::json!({"kind": "output", "text": "x"})).is_none());
        let long = "x".repeat(MAX_TEXT_CHARS * 3);
        let line =
            line_from_json(&serde_json::json!({"seq": 1, "kind": "output", "text": long})).unwrap();
        assert!(line.rendered.text.len() < MAX_TEXT_CHARS + 32);
    }
}
