//! What a scripted Waldiez task does ([`WaldiezPlan`]): its steps, their pace, how long its
//! prompts wait, whether it repeats and how it ends; and the statuses it goes through, named
//! as the runner names them.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::core::provider::waldiez::DEFAULT_INPUT_TIMEOUT_S;

/// How long a prompt waits when the plan does not say (the runner's default).
pub(crate) const DEFAULT_INPUT_TIMEOUT_MS: u64 = DEFAULT_INPUT_TIMEOUT_S * 1000;

/// A task's status as the Waldiez Runner names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WaldiezStatus {
    Pending,
    Running,
    WaitingForInput,
    Completed,
    Failed,
    Cancelled,
}

impl WaldiezStatus {
    /// Every status, in the runner's order.
    pub const ALL: [WaldiezStatus; 6] = [
        WaldiezStatus::Pending,
        WaldiezStatus::Running,
        WaldiezStatus::WaitingForInput,
        WaldiezStatus::Completed,
        WaldiezStatus::Failed,
        WaldiezStatus::Cancelled,
    ];

    /// `PENDING`, `RUNNING`, …
    pub fn name(self) -> &'static str {
        match self {
            WaldiezStatus::Pending => "PENDING",
            WaldiezStatus::Running => "RUNNING",
            WaldiezStatus::WaitingForInput => "WAITING_FOR_INPUT",
            WaldiezStatus::Completed => "COMPLETED",
            WaldiezStatus::Failed => "FAILED",
            WaldiezStatus::Cancelled => "CANCELLED",
        }
    }

    /// Completed, failed or cancelled: the task prints and asks no more, and refuses viewers.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            WaldiezStatus::Completed | WaldiezStatus::Failed | WaldiezStatus::Cancelled
        )
    }
}

/// One step of a scripted task.
#[derive(Clone, Debug, PartialEq)]
pub enum WaldiezStep {
    /// A `print` of plain text, as sent (a Python `print` ends it with `\n`).
    Print(String),
    /// A structured agent event (`{"type":"text","content":{…}}`), stored as a `print`
    /// whose `data` is the event's JSON text.
    Event(Value),
    /// A message stored as given (`id`, `timestamp` and `task_id` are added), for shapes the
    /// other steps do not make.
    Raw(Map<String, Value>),
    /// An `input_request`; the task waits for the answer or its input timeout.
    Ask { prompt: String, password: bool },
    /// Waits this many milliseconds more.
    Pause(u64),
}

impl WaldiezStep {
    /// A print of `text` and a line break, as Python's `print` writes it.
    pub fn print(text: &str) -> Self {
        WaldiezStep::Print(format!("{text}\n"))
    }

    /// One agent speaks: `{"type":"text","content":{"sender","recipient","content"}}`.
    pub fn text(sender: &str, recipient: &str, content: &str) -> Self {
        WaldiezStep::Event(json!({
            "type": "text",
            "content": { "sender": sender, "recipient": recipient, "content": content },
        }))
    }

    /// An agent calls a tool (ag2's `tool_call` event; `arguments` become JSON text).
    pub fn tool_call(
        sender: &str,
        recipient: &str,
        call_id: &str,
        name: &str,
        arguments: Value,
    ) -> Self {
        WaldiezStep::Event(json!({
            "type": "tool_call",
            "content": {
                "content": null,
                "refusal": null,
                "function_call": null,
                "tool_calls": [{
                    "id": call_id,
                    "function": { "name": name, "arguments": arguments.to_string() },
                    "type": "function",
                }],
                "role": "assistant",
                "sender": sender,
                "recipient": recipient,
            },
        }))
    }

    /// What a tool returned (ag2's `tool_response` event).
    pub fn tool_response(sender: &str, recipient: &str, call_id: &str, content: &str) -> Self {
        WaldiezStep::Event(json!({
            "type": "tool_response",
            "content": {
                "tool_responses": [{ "tool_call_id": call_id, "role": "tool", "content": content }],
                "content": content,
                "sender": sender,
                "recipient": recipient,
                "role": "tool",
            },
        }))
    }

    /// The chat ended: `{"type":"termination","content":{"termination_reason":…}}`.
    pub fn termination(reason: &str) -> Self {
        WaldiezStep::Event(json!({
            "type": "termination",
            "content": { "termination_reason": reason },
        }))
    }

    /// A question whose answer is shown.
    pub fn ask(prompt: &str) -> Self {
        WaldiezStep::Ask {
            prompt: prompt.to_string(),
            password: false,
        }
    }

    /// A question whose answer is a secret (`"password": "True"`).
    pub fn password(prompt: &str) -> Self {
        WaldiezStep::Ask {
            prompt: prompt.to_string(),
            password: true,
        }
    }
}

/// How a task unfolds from the moment it is added.
#[derive(Clone, Debug, PartialEq)]
pub struct WaldiezPlan {
    pub steps: Vec<WaldiezStep>,
    /// Time before each step.
    pub step_ms: u64,
    /// Time spent `PENDING` before the first step (viewers may connect meanwhile).
    pub pending_ms: u64,
    /// How long a prompt waits before the task goes on with `""`. `GET /api/v1/tasks/{id}`
    /// reports it in whole seconds (`input_timeout`), rounded up.
    pub input_timeout_ms: u64,
    /// Start the steps over when they are done, forever.
    pub repeat: bool,
    /// The status once the steps are done (when not repeating).
    pub end: WaldiezStatus,
    /// Start afresh (new history, closing the old task's sockets) this long after ending.
    pub restart_after_ms: Option<u64>,
    /// How long a joining viewer waits between its `status` and the replay of stored
    /// messages. The runner reads the history only after sending the status, so a status
    /// naming a prompt can come before the prompt itself (PROVIDERS.md §4); a longer delay
    /// makes that gap plain.
    pub replay_delay_ms: u64,
}

impl WaldiezPlan {
    /// `steps` one second apart, the runner's default input timeout (180 s), then
    /// `COMPLETED`.
    pub fn new(steps: Vec<WaldiezStep>) -> Self {
        Self {
            steps,
            step_ms: 1_000,
            pending_ms: 0,
            input_timeout_ms: DEFAULT_INPUT_TIMEOUT_MS,
            repeat: false,
            end: WaldiezStatus::Completed,
            restart_after_ms: None,
            replay_delay_ms: 0,
        }
    }

    /// Already over with `end`, its history holding `steps` (which must not ask or pause).
    pub fn finished(end: WaldiezStatus, steps: Vec<WaldiezStep>) -> Self {
        Self {
            step_ms: 0,
            end,
            ..Self::new(steps)
        }
    }

    /// Whether adding the task can store all its steps at once: nothing waits.
    pub(crate) fn is_instant(&self) -> bool {
        self.step_ms == 0
            && self.pending_ms == 0
            && !self.repeat
            && !self
                .steps
                .iter()
                .any(|s| matches!(s, WaldiezStep::Ask { .. } | WaldiezStep::Pause(_)))
    }
}

/// The prompt a task waits on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaldiezPrompt {
    pub request_id: String,
    pub prompt: String,
    pub password: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_use_the_runner_names() {
        for s in WaldiezStatus::ALL {
            let v = serde_json::to_value(s).unwrap_or_default();
            assert_eq!(v, s.name());
        }
        assert!(WaldiezStatus::Cancelled.is_final() && !WaldiezStatus::Pending.is_final());
    }
}
