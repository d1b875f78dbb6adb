//! Display forms: what a log pane, a terminal or `--json` output shows for a message.
//!
//! A [`Rendered`] line is data, not widgets: a kind (for colour and icons), the text, and an
//! optional folded detail that a pane may expand. Tool calls are the reason for the fold:
//! their arguments are often pages of JSON, so the line shows each call as
//! `name(arguments…)` cut short and the detail holds the arguments in full, pretty-printed.

use serde_json::Value;

use super::MAX_TEXT_CHARS;
use super::message::{AgentEvent, PrintContent, TaskMessage, ToolCall};

/// Longest summary of one call's arguments on the line, in characters.
const ARGUMENT_SUMMARY_CHARS: usize = 60;
/// Longest first line of a tool's result on the line, in characters; the rest is folded.
const RESULT_SUMMARY_CHARS: usize = 200;

/// What a line is, for colour, icons and filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// The task's state changed (or was read on connecting).
    Status,
    /// Plain output.
    Output,
    /// One agent speaking to another.
    Agent,
    /// An agent calling tools.
    ToolCall,
    /// What a tool returned.
    ToolResult,
    /// The chat ended.
    Termination,
    /// Another kind of agent event.
    Event,
    /// The task asked a human.
    Prompt,
    /// A human (or the time-out) answered.
    Answer,
    /// A message this version does not understand, as sent.
    Raw,
    /// A message that could not be read; the text says why, never what it held.
    Error,
    /// An AgentStation log entry.
    Log,
}

/// A message's display form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub kind: LineKind,
    /// What the line shows; one line except for multi-line output and agent messages.
    pub text: String,
    /// What the line folds away (a tool call's full arguments, a long tool result), shown on
    /// expanding it.
    pub detail: Option<String>,
}

impl Rendered {
    fn line(kind: LineKind, text: String) -> Rendered {
        Rendered {
            kind,
            text,
            detail: None,
        }
    }
}

/// The display form of a message.
///
/// An answer is shown as given: [`TaskLog`](super::TaskLog) masks the answers to password
/// prompts before rendering them, and callers outside it must do the same.
pub fn render(msg: &TaskMessage) -> Rendered {
    match msg {
        TaskMessage::Status(s) => {
            let mut text = format!("Task status: {}", s.status);
            if let Some(id) = &s.input_request_id {
                text.push_str(&format!(" (waiting on request {id})"));
            }
            Rendered::line(LineKind::Status, text)
        }
        TaskMessage::Print(p) => match &p.content {
            PrintContent::Text(t) => Rendered::line(
                LineKind::Output,
                t.trim_end_matches(['\n', '\r']).to_string(),
            ),
            PrintContent::Event(e) => render_event(e),
        },
        TaskMessage::InputRequest(r) => {
            let label = if r.password {
                "Input requested (password)"
            } else {
                "Input requested"
            };
            let prompt = r.prompt.trim_end();
            let text = if prompt.is_empty() {
                label.to_string()
            } else {
                format!("{label}: {prompt}")
            };
            Rendered::line(LineKind::Prompt, text)
        }
        TaskMessage::InputResponse(r) => {
            let answer = r.answer.expose();
            let text = if answer.is_empty() {
                "Answered: (empty)".to_string()
            } else {
                format!("Answered: {answer}")
            };
            Rendered::line(LineKind::Answer, text)
        }
        TaskMessage::Raw { text, .. } => Rendered::line(LineKind::Raw, text.clone()),
    }
}

/// `sender → recipient: ` (or `sender: `, or nothing).
fn speakers(sender: &Option<String>, recipient: &Option<String>) -> String {
    match (sender, recipient) {
        (Some(s), Some(r)) => format!("{s} → {r}: "),
        (Some(s), None) => format!("{s}: "),
        (None, Some(r)) => format!("→ {r}: "),
        (None, None) => String::new(),
    }
}

fn render_event(e: &AgentEvent) -> Rendered {
    match e {
        AgentEvent::Text {
            sender,
            recipient,
            content,
        } => Rendered::line(
            LineKind::Agent,
            format!(
                "{}{}",
                speakers(sender, recipient),
                content.trim_end_matches(['\n', '\r'])
            ),
        ),
        AgentEvent::ToolCalls {
            sender,
            recipient,
            calls,
        } => {
            let mut text = speakers(sender, recipient);
            text.push_str(if calls.len() == 1 {
                "calls "
            } else {
                "calls tools "
            });
            if calls.is_empty() {
                text.push_str("(none listed)");
            }
            let mut detail = String::new();
            for (i, call) in calls.iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                    detail.push_str("\n\n");
                }
                text.push_str(&call.name);
                text.push('(');
                text.push_str(&summarise_arguments(&call.arguments));
                text.push(')');
                detail.push_str(&call_detail(call));
            }
            Rendered {
                kind: LineKind::ToolCall,
                text,
                detail: (!calls.is_empty()).then_some(detail),
            }
        }
        AgentEvent::ToolResult {
            sender,
            recipient,
            name,
            content,
        } => {
            let mut text = speakers(sender, recipient);
            match name {
                Some(n) => text.push_str(&format!("{n} returned: ")),
                None => text.push_str("tool returned: "),
            }
            let body = content.trim_end();
            let first = body.lines().next().unwrap_or("");
            let cut = first
                .char_indices()
                .nth(RESULT_SUMMARY_CHARS)
                .map_or(first.len(), |(at, _)| at);
            let folded = cut != body.len();
            if folded {
                text.push_str(&first[..cut]);
                text.push_str(" …");
            } else {
                text.push_str(body);
            }
            Rendered {
                kind: LineKind::ToolResult,
                text,
                detail: folded.then(|| body.to_string()),
            }
        }
        AgentEvent::Termination { reason } => {
            let reason = reason.trim();
            Rendered::line(
                LineKind::Termination,
                if reason.is_empty() {
                    "Task ended".to_string()
                } else {
                    format!("Task ended: {reason}")
                },
            )
        }
        AgentEvent::Other { kind, summary } => {
            let summary = summary.trim_end();
            Rendered::line(
                LineKind::Event,
                if summary.is_empty() {
                    format!("[{kind}]")
                } else {
                    format!("[{kind}] {summary}")
                },
            )
        }
    }
}

/// A call's arguments on one line: whitespace collapsed, cut to
/// [`ARGUMENT_SUMMARY_CHARS`] with `…`.
fn summarise_arguments(arguments: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut space = false;
    for c in arguments.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        space = false;
        if chars >= ARGUMENT_SUMMARY_CHARS {
            out.push('…');
            return out;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// A call in full: `name (id)` then its arguments, pretty-printed when they are JSON.
fn call_detail(call: &ToolCall) -> String {
    let mut out = call.name.clone();
    if let Some(id) = &call.id {
        out.push_str(&format!(" ({id})"));
    }
    out.push('\n');
    let pretty = serde_json::from_str::<Value>(&call.arguments)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .filter(|p| p.len() <= MAX_TEXT_CHARS * 2);
    out.push_str(pretty.as_deref().unwrap_or(&call.arguments));
    out
}
