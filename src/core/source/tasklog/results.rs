//! What a finished task's record holds (its `results`), and what the log must take from it.
//!
//! When a Waldiez task ends, the runner stores its results in the task record
//! (`GET /api/v1/tasks/{id}`): for a completed task the flow's chat results, one per chat,
//! each with its messages (`chat_history`, as ag2's `ChatResult` has it, or `messages` as
//! its `RunResponse` does: `{"content","role","name"}`); for a failed one `{"error": …}`,
//! the error text or `{"error","traceback"}`. The stream may not have delivered the last of
//! those messages (the socket dropped, or the view ended before its last lines came), so
//! the log takes from the record what it lacks:
//!
//! - **Where the log stopped.** [`Said`] keeps fingerprints of the last few agent messages
//!   the log showed. [`missing_from`] finds the last place in the results where those appear
//!   in the same order; what follows is missing. A log that showed no agent message at all
//!   takes the record's last [`RESULTS_TAIL`] messages if it showed no output either (a view
//!   of a finished task), else nothing: its task spoke in plain prints, which the results
//!   cannot be matched against. The same goes when the last messages shown appear nowhere
//!   in the results: nothing is taken rather than everything twice.
//! - **Passwords.** A chat's history holds a human's answers in clear, a password too.
//!   [`Said`] keeps keyed fingerprints (with a key drawn for this process) of the answers to
//!   password prompts, and a message whose whole text is one of them is shown masked, here
//!   and in the stream.
//!
//! Only agent speech is compared and taken: tool calls and tool results are left out (their
//! stored form differs from their stream events).

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};

use serde_json::{Map, Value};

use super::message::{message_text, scalar_text};
use super::{display_text, name_text};

/// How many of a record's last messages a log that saw none takes.
pub const RESULTS_TAIL: usize = 50;
/// How many of the last agent messages shown are kept to find where the log stopped.
const ANCHOR: usize = 3;
/// How many password answers are remembered (the latest).
const SECRET_ANSWERS: usize = 64;
/// Most messages read from one record (the latest).
const MAX_RESULT_MESSAGES: usize = 10_000;

/// One agent message from a task's results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultMessage {
    /// Who spoke (`name`), when the record says.
    pub sender: Option<String>,
    pub content: String,
}

/// A task record's results, read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskResults {
    /// The chats' messages in order, at most the last 10,000.
    pub messages: Vec<ResultMessage>,
    /// The failure's text and its traceback, for a failed task.
    pub error: Option<(String, Option<String>)>,
}

impl TaskResults {
    /// Reads a record's `results` in any of the runner's shapes; what is not understood is
    /// left out.
    pub fn read(results: &Value) -> TaskResults {
        let mut out = TaskResults::default();
        match results {
            Value::Array(items) => {
                for item in items {
                    with_object(item, |o| messages_of(o, &mut out.messages));
                }
            }
            other => {
                with_object(other, |o| match o.get("error") {
                    Some(e) if !e.is_null() => out.error = Some(error_of(e)),
                    _ => messages_of(o, &mut out.messages),
                });
            }
        }
        let over = out.messages.len().saturating_sub(MAX_RESULT_MESSAGES);
        out.messages.drain(..over);
        out
    }
}

/// Runs `f` on an object, or on the object JSON text inside a string holds.
fn with_object(v: &Value, f: impl FnOnce(&Map<String, Value>)) {
    match v {
        Value::Object(o) => f(o),
        Value::String(s) if s.trim_start().starts_with('{') => {
            if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(s) {
                f(&o);
            }
        }
        _ => {}
    }
}

/// The agent messages of one chat result (tool traffic and empty messages left out).
fn messages_of(result: &Map<String, Value>, out: &mut Vec<ResultMessage>) {
    let Some(Value::Array(list)) = result
        .get("chat_history")
        .or_else(|| result.get("messages"))
    else {
        return;
    };
    for m in list {
        let Value::Object(m) = m else { continue };
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let calls = m
            .get("tool_calls")
            .is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty()));
        if calls || matches!(role, "tool" | "function") {
            continue;
        }
        let content = m.get("content").map(message_text).unwrap_or_default();
        if content.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_RESULT_MESSAGES * 2 {
            out.drain(..MAX_RESULT_MESSAGES);
        }
        out.push(ResultMessage {
            sender: m.get("name").and_then(scalar_text).map(|s| name_text(&s)),
            content,
        });
    }
}

/// A failure's text and traceback: `"text"`, or `{"error": "text", "traceback": "…"}`.
fn error_of(e: &Value) -> (String, Option<String>) {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(display_text(s)),
        Some(other) => Some(display_text(&other.to_string())),
    };
    match e {
        Value::Object(o) => (
            text(o.get("error")).unwrap_or_else(|| display_text(&e.to_string())),
            text(o.get("traceback")),
        ),
        other => (text(Some(other)).unwrap_or_default(), None),
    }
}

/// Where in `results` (fingerprints, in order) the log stopped: the index just past the
/// last place where `seen` (the log's last agent messages, oldest first) appears in order,
/// trying fewer of them when all do not; `None` when even the last appears nowhere.
pub fn missing_from(results: &[u64], seen: &[u64]) -> Option<usize> {
    for k in (1..=seen.len()).rev() {
        let tail = &seen[seen.len() - k..];
        if let Some(start) = results.windows(k).rposition(|w| w == tail) {
            return Some(start + k);
        }
    }
    None
}

/// What a log has said, by fingerprint: its last agent messages and the answers to
/// password prompts. Fingerprints are keyed with a key drawn for this process, so they
/// tell nothing outside it.
#[derive(Debug, Default)]
pub(super) struct Said {
    keys: RandomState,
    /// The last [`ANCHOR`] agent messages shown, oldest first.
    last: VecDeque<u64>,
    /// Answers to password prompts, the latest [`SECRET_ANSWERS`].
    secrets: VecDeque<u64>,
}

impl Said {
    pub fn fingerprint(&self, text: &str) -> u64 {
        self.keys.hash_one(text.trim())
    }

    /// An agent message was shown; whether its whole text is an answer given to a password
    /// prompt (then show it masked).
    pub fn spoke(&mut self, text: &str) -> bool {
        let fp = self.fingerprint(text);
        if self.last.len() >= ANCHOR {
            self.last.pop_front();
        }
        self.last.push_back(fp);
        self.secrets.contains(&fp)
    }

    /// The agent messages remembered, oldest first.
    pub fn last(&self) -> Vec<u64> {
        self.last.iter().copied().collect()
    }

    /// `answer` was given to a password prompt: never show it again.
    pub fn secret(&mut self, answer: &str) {
        if answer.trim().is_empty() {
            return;
        }
        let fp = self.fingerprint(answer);
        if self.secrets.contains(&fp) {
            return;
        }
        if self.secrets.len() >= SECRET_ANSWERS {
            self.secrets.pop_front();
        }
        self.secrets.push_back(fp);
    }

    /// Whether `text` is, whole, an answer given to a password prompt.
    #[cfg(test)]
    pub fn is_secret(&self, text: &str) -> bool {
        !self.secrets.is_empty() && self.secrets.contains(&self.fingerprint(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_read_in_each_shape() {
        let chat = json!([{
            "chat_id": null,
            "chat_history": [
                {"content": "Plan a trip", "role": "assistant", "name": "user"},
                {"content": null, "role": "assistant", "name": "planner",
                 "tool_calls": [{"id": "c1", "function": {"name": "search", "arguments": "{}"}}]},
                {"content": "3 trains", "role": "tool", "name": "search"},
                {"content": [{"type": "text", "text": "Take the 9:40"}], "role": "user", "name": "planner"},
                {"content": "  ", "role": "user", "name": "planner"},
            ],
            "summary": "Take the 9:40",
            "human_input": ["secret"],
        }]);
        let r = TaskResults::read(&chat);
        assert_eq!(
            r.messages,
            [
                ResultMessage {
                    sender: Some("user".into()),
                    content: "Plan a trip".into()
                },
                ResultMessage {
                    sender: Some("planner".into()),
                    content: "Take the 9:40".into()
                },
            ]
        );
        assert_eq!(r.error, None);
        // ag2's RunResponse, as text inside a string.
        let run =
            json!([json!({"uuid": "u", "messages": [{"content": "hi", "name": "a"}]}).to_string()]);
        assert_eq!(TaskResults::read(&run).messages[0].content, "hi");
        // Failures.
        let failed = json!({"error": {"error": "boom", "traceback": "Traceback …"}});
        assert_eq!(
            TaskResults::read(&failed).error,
            Some(("boom".into(), Some("Traceback …".into())))
        );
        let cancelled = json!({"error": "Task was cancelled by signal"});
        assert_eq!(
            TaskResults::read(&cancelled).error,
            Some(("Task was cancelled by signal".into(), None))
        );
        for nothing in [json!(null), json!(42), json!({"x": 1}), json!([1, "a"])] {
            assert_eq!(TaskResults::read(&nothing), TaskResults::default());
        }
    }

    #[test]
    fn the_missing_part_follows_the_last_messages_seen() {
        // Delivered A, B; lost A again at the end.
        assert_eq!(missing_from(&[1, 2, 1], &[1, 2]), Some(2));
        // A late joiner saw only the end: nothing is missing.
        assert_eq!(missing_from(&[5, 6, 7, 8], &[7, 8]), Some(4));
        // The same text twice: the order of the last ones decides.
        assert_eq!(missing_from(&[9, 1, 2, 9, 3], &[1, 2, 9]), Some(4));
        // Fewer match when all do not (one was shown differently).
        assert_eq!(missing_from(&[1, 2, 3, 4], &[7, 2, 3]), Some(3));
        assert_eq!(missing_from(&[1, 2], &[7]), None);
        assert_eq!(missing_from(&[1, 2], &[]), None);
    }

    #[test]
    fn said_remembers_the_last_few_and_the_secrets() {
        let mut said = Said::default();
        for t in ["a", "b", "c", "d"] {
            assert!(!said.spoke(t));
        }
        let fp = |t| said.fingerprint(t);
        assert_eq!(said.last(), [fp("b"), fp("c"), fp("d")]);
        assert!(!said.is_secret("hunter2"));
        said.secret("hunter2");
        said.secret("  ");
        assert!(said.is_secret("hunter2\n"));
        assert!(said.spoke("hunter2"));
        assert!(!said.is_secret("hunter"));
        assert!(!format!("{said:?}").contains("hunter2"));
    }
}

#[cfg(test)]
mod import_tests {
    use serde_json::{Value, json};

    use super::super::tests::texts;
    use super::super::{LineKind, MASK, TaskLog};
    use crate::core::redact::Secret;

    fn say(log: &mut TaskLog, id: &str, sender: &str, text: &str) {
        let event = json!({"type": "text", "content": {"sender": sender, "recipient": "user", "content": text}});
        log.push_text(&json!({"type": "print", "id": id, "data": event.to_string()}).to_string());
    }

    fn chat(texts: &[&str]) -> Value {
        let history: Vec<Value> = texts
            .iter()
            .map(|t| json!({"content": t, "role": "user", "name": "assistant"}))
            .collect();
        json!([{ "chat_history": history, "summary": texts.last() }])
    }

    #[test]
    fn the_record_adds_the_last_messages_the_stream_lost_once() {
        let mut log = TaskLog::default();
        say(&mut log, "1-0", "assistant", "Looking");
        say(&mut log, "1-1", "assistant", "Found 3 trains");
        let results = chat(&[
            "Plan a trip",
            "Looking",
            "Found 3 trains",
            "Booked the 9:40.",
        ]);
        assert_eq!(log.push_results(&results), 1);
        assert_eq!(texts(&log).last().unwrap(), "assistant: Booked the 9:40.");
        assert_eq!(log.push_results(&results), 0, "no duplicates");
        // A late joiner that saw the end has nothing to add.
        let mut late = TaskLog::default();
        say(&mut late, "9-0", "assistant", "Booked the 9:40.");
        assert_eq!(late.push_results(&results), 0);
    }

    #[test]
    fn a_finished_task_shows_the_end_of_its_chat_but_prints_are_not_matched() {
        let many: Vec<String> = (0..80).map(|i| format!("message {i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut fresh = TaskLog::default();
        assert_eq!(fresh.push_results(&chat(&refs)), super::RESULTS_TAIL);
        assert_eq!(texts(&fresh)[0], "assistant: message 30");
        // A task that spoke in plain prints: its results cannot be matched, none are added.
        let mut prints = TaskLog::default();
        prints.push_text(r#"{"type":"print","id":"1-0","data":"assistant: message 79\n"}"#);
        assert_eq!(prints.push_results(&chat(&refs)), 0);
    }

    #[test]
    fn a_failed_tasks_error_is_added_once() {
        let mut log = TaskLog::default();
        let failed =
            json!({"error": {"error": "KeyError: 'city'", "traceback": "Traceback …\nKeyError"}});
        assert_eq!(log.push_results(&failed), 1);
        assert_eq!(log.push_results(&failed), 0);
        let line = &log.lines()[0].rendered;
        assert_eq!(
            (line.kind, line.text.as_str()),
            (LineKind::Error, "Task error: KeyError: 'city'")
        );
        assert!(line.detail.as_deref().unwrap().contains("Traceback"));
    }

    #[test]
    fn password_answers_repeated_by_the_chat_are_masked() {
        let mut log = TaskLog::default();
        log.push_text(r#"{"type":"input_request","id":"1-0","request_id":"pw","data":"Password:","password":"True"}"#);
        log.answer_sent("pw", &Secret::new("hunter2"));
        // The echo never came; the chat repeats the answer, on the stream and in the record.
        say(&mut log, "1-1", "user", "hunter2");
        let results = chat(&["hunter2", "Logged in."]);
        assert_eq!(log.push_results(&results), 1);
        let all = texts(&log).join("\n");
        assert!(!all.contains("hunter2"), "{all}");
        assert!(all.contains(&format!("user → user: {MASK}")), "{all}");
        // An answer echoed to a password prompt is remembered the same way.
        let mut other = TaskLog::default();
        other.push_text(r#"{"type":"input_request","id":"1-0","request_id":"pw","data":"PIN:","password":"True"}"#);
        other.push_text(r#"{"type":"input_response","id":"1-1","request_id":"pw","data":"4321"}"#);
        assert_eq!(other.push_results(&chat(&["4321"])), 1);
        assert!(!texts(&other).join("\n").contains("4321"));
    }
}
