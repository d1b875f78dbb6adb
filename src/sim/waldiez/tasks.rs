//! The simulated Waldiez Runner's tasks: each follows a [`WaldiezPlan`] on the clock, the
//! way a flow runs in the real runner's worker and talks through its Redis stream. Plans
//! and statuses are in [`super::plan`], the demo tasks in [`super::demo`].
//!
//! A task's script is a list of [`WaldiezStep`]s, one every `step_ms`: prints (plain text
//! or a structured agent event), raw stored messages, pauses and prompts. A prompt stores an
//! `input_request`, turns the task to `WAITING_FOR_INPUT` and waits for an answer (over any
//! viewer's socket, the REST route or a test hook) or for the task's input timeout; then it
//! stores the `input_response` it went on with (`""` on a timeout) and the task runs on.
//! When the steps are done the task repeats them or ends with the plan's status, and may
//! start afresh later (the `short` demo task does).
//!
//! Every stored message is what the runner's `decode_stream_msg` would hand a WebSocket:
//! a flat object whose values are strings (`timestamp` is µs since the epoch as text, agent
//! events are JSON text inside `data`), plus the Redis stream `id` (`"<ms>-<seq>"`, strictly
//! increasing). Each is serialised once, stored (the last [`MAX_STORED_MESSAGES`]) and
//! broadcast as the same text to every viewer; a new viewer gets the last
//! [`REPLAY_MESSAGES`] first. The status message is not stored: each connection gets one,
//! built when it joins.
//!
//! When a task ends its record gets `results`, as the runner stores them: for a completed
//! task one chat result (`chat_history` of its agent messages, `summary`, `cost`,
//! `human_input` with the answers as typed), for a failed one `{"error": {"error",
//! "traceback"}}`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, oneshot};
use tokio::task::AbortHandle;

use super::plan::{
    DEFAULT_INPUT_TIMEOUT_MS, WaldiezPlan, WaldiezPrompt, WaldiezStatus, WaldiezStep,
};
use crate::sim::clock::{now_ms, now_us, rfc3339_ms};

/// Stored messages a new viewer gets before live ones (the runner's `xrevrange` count).
pub const REPLAY_MESSAGES: usize = 50;
/// Stored messages kept per task (the runner's `max_stream_size`); older ones are dropped.
pub const MAX_STORED_MESSAGES: usize = 1000;
/// Answers [`crate::sim::SimHandle::waldiez_answers`] keeps per task (the latest).
pub const MAX_RECORDED_ANSWERS: usize = 256;
/// Live messages a slow viewer may fall behind before it misses some (the runner drops
/// messages for a client whose queue is full, too).
const LIVE_CAPACITY: usize = 256;

/// Why an answer was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AnswerRefusal {
    #[error("no such task")]
    UnknownTask,
    #[error("the task is not waiting for input")]
    NotWaiting,
    #[error("the request id is not the pending prompt's")]
    WrongRequest,
}

/// Why a viewer was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JoinRefusal {
    #[error("no such task")]
    UnknownTask,
    #[error("the task is not active")]
    NotActive,
    #[error("too many viewers")]
    TooManyViewers,
}

struct Pending {
    prompt: WaldiezPrompt,
    reply: oneshot::Sender<String>,
}

struct TaskState {
    /// Tells this task from an earlier one of the same id.
    generation: u64,
    status: WaldiezStatus,
    created_ms: u64,
    updated_ms: u64,
    input_timeout_ms: u64,
    pending: Option<Pending>,
    /// Serialised stored messages, oldest first.
    history: VecDeque<Utf8Bytes>,
    /// The last stream id given: (ms, seq).
    last_id: (u64, u64),
    answers: VecDeque<String>,
    /// What the task record's `results` holds once the task is over.
    results: Value,
    /// The agent messages said so far, for the results (`{"content","role","name"}`).
    chat: Vec<Value>,
    replay_delay: Duration,
    live: broadcast::Sender<Utf8Bytes>,
    viewers: usize,
    runner: Option<AbortHandle>,
}

impl TaskState {
    fn new(generation: u64, status: WaldiezStatus, input_timeout_ms: u64) -> Self {
        let now = now_ms();
        Self {
            generation,
            status,
            created_ms: now,
            updated_ms: now,
            input_timeout_ms,
            pending: None,
            history: VecDeque::new(),
            last_id: (0, 0),
            answers: VecDeque::new(),
            results: Value::Null,
            chat: Vec::new(),
            replay_delay: Duration::ZERO,
            live: broadcast::channel(LIVE_CAPACITY).0,
            viewers: 0,
            runner: None,
        }
    }

    fn set_status(&mut self, status: WaldiezStatus) {
        self.status = status;
        self.updated_ms = now_ms();
    }

    /// The task's run is over with `end`: its record gets the results the runner stores.
    fn end(&mut self, end: WaldiezStatus) {
        self.results = match end {
            WaldiezStatus::Completed => json!([{
                "chat_id": null,
                "chat_history": self.chat,
                "summary": self.chat.last().map_or(Value::Null, |m| m["content"].clone()),
                "cost": { "usage_including_cached_inference": { "total_cost": 0 } },
                "human_input": self.answers,
            }]),
            WaldiezStatus::Failed => json!({ "error": {
                "error": "The simulated flow failed",
                "traceback": "Traceback (most recent call last):\n  File \"flow.py\", line 1\nRuntimeError: The simulated flow failed",
            }}),
            _ => Value::Null,
        };
        self.set_status(end);
    }

    /// Remembers an agent's message for the chat's results.
    fn said(&mut self, step: &WaldiezStep) {
        let WaldiezStep::Event(event) = step else {
            return;
        };
        if event["type"] != "text" || self.chat.len() >= MAX_STORED_MESSAGES {
            return;
        }
        let content = &event["content"];
        self.chat.push(json!({
            "content": content["content"],
            "role": "user",
            "name": content["sender"],
        }));
    }

    /// The next stream id: `<ms>-<seq>`, strictly after the last one even if the clock
    /// steps back.
    fn next_id(&mut self, now_ms: u64) -> String {
        let (ms, seq) = self.last_id;
        self.last_id = if now_ms > ms {
            (now_ms, 0)
        } else {
            (ms, seq + 1)
        };
        format!("{}-{}", self.last_id.0, self.last_id.1)
    }

    /// Stores a message (adding its id, timestamp and task id) and sends it to the viewers.
    fn store(&mut self, task_id: &str, mut fields: Map<String, Value>, print_objects: bool) {
        let now_us = now_us();
        fields.insert("task_id".into(), Value::String(task_id.to_string()));
        fields.insert("timestamp".into(), Value::String(now_us.to_string()));
        fields.insert("id".into(), Value::String(self.next_id(now_us / 1000)));
        if print_objects {
            decode_print_data(&mut fields);
        }
        let text = Utf8Bytes::from(Value::Object(fields).to_string());
        if self.history.len() >= MAX_STORED_MESSAGES {
            self.history.pop_front();
        }
        self.history.push_back(text.clone());
        // No receivers is fine: nobody watches.
        let _ = self.live.send(text);
    }

    fn json(&self, task_id: &str, client_id: &str) -> Value {
        json!({
            "id": task_id,
            "created_at": rfc3339_ms(self.created_ms),
            "updated_at": rfc3339_ms(self.updated_ms),
            "client_id": client_id,
            "flow_id": format!("sim-flow-{task_id}"),
            "filename": format!("{task_id}.waldiez"),
            "status": self.status,
            "input_timeout": self.input_timeout_ms.div_ceil(1000),
            "input_request_id": self.pending.as_ref().map(|p| p.prompt.request_id.clone()),
            "results": self.results,
            "triggered_at": null,
            "schedule_type": null,
            "scheduled_time": null,
            "cron_expression": null,
            "expires_at": null,
        })
    }
}

/// The newer runner's `_try_parse_print_message`: a print's `data` that is JSON text of an
/// object or list goes out as that object or list.
fn decode_print_data(fields: &mut Map<String, Value>) {
    if fields.get("type").and_then(Value::as_str) != Some("print") {
        return;
    }
    if let Some(Value::String(data)) = fields.get("data")
        && let Ok(v @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(data)
    {
        fields.insert("data".into(), v);
    }
}

/// The stored fields of a step that stores one message.
fn step_fields(step: &WaldiezStep) -> Option<Map<String, Value>> {
    let mut fields = Map::new();
    match step {
        WaldiezStep::Print(text) => {
            fields.insert("type".into(), "print".into());
            fields.insert("data".into(), Value::String(text.clone()));
        }
        WaldiezStep::Event(event) => {
            fields.insert("type".into(), "print".into());
            fields.insert("data".into(), Value::String(event.to_string()));
        }
        WaldiezStep::Raw(raw) => fields.clone_from(raw),
        WaldiezStep::Ask { .. } | WaldiezStep::Pause(_) => return None,
    }
    Some(fields)
}

/// A new viewer's start: its status message, the replayed history, and the live feed.
pub(crate) struct Viewer {
    pub status: Utf8Bytes,
    pub history: Vec<Utf8Bytes>,
    /// How long to wait between the status and the history.
    pub replay_delay: Duration,
    pub live: broadcast::Receiver<Utf8Bytes>,
    pub guard: ViewerGuard,
}

/// Counts a viewer while it lives.
pub(crate) struct ViewerGuard {
    tasks: Arc<WaldiezTasks>,
    id: String,
    generation: u64,
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        if let Some(t) = self.tasks.lock().get_mut(&self.id)
            && t.generation == self.generation
        {
            t.viewers = t.viewers.saturating_sub(1);
        }
    }
}

/// All tasks of one simulated runner.
pub(crate) struct WaldiezTasks {
    tasks: Mutex<HashMap<String, TaskState>>,
    generations: AtomicU64,
    /// Send a print's JSON data as an object rather than as text.
    print_objects: bool,
}

impl std::fmt::Debug for WaldiezTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaldiezTasks").finish_non_exhaustive()
    }
}

impl WaldiezTasks {
    pub fn new(print_objects: bool) -> Self {
        Self {
            tasks: Mutex::new(HashMap::new()),
            generations: AtomicU64::new(0),
            print_objects,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, TaskState>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds or restarts a task following `plan` from now (the old one's script stops, its
    /// sockets close and its history goes).
    pub fn add(self: &Arc<Self>, id: &str, plan: WaldiezPlan) {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let mut tasks = self.lock();
        if let Some(old) = tasks.remove(id)
            && let Some(runner) = old.runner
        {
            runner.abort();
        }
        let first = if plan.pending_ms > 0 {
            WaldiezStatus::Pending
        } else {
            WaldiezStatus::Running
        };
        let mut state = TaskState::new(generation, first, plan.input_timeout_ms);
        state.replay_delay = Duration::from_millis(plan.replay_delay_ms);
        if plan.is_instant() {
            for step in &plan.steps {
                if let Some(fields) = step_fields(step) {
                    state.said(step);
                    state.store(id, fields, self.print_objects);
                }
            }
            state.end(plan.end);
        } else {
            let runner = tokio::spawn(self.clone().run(id.to_string(), generation, plan));
            state.runner = Some(runner.abort_handle());
        }
        tasks.insert(id.to_string(), state);
    }

    /// Stops every script (the simulator is going away).
    pub fn stop_all(&self) {
        for t in self.lock().values_mut() {
            if let Some(runner) = t.runner.take() {
                runner.abort();
            }
        }
    }

    pub fn status(&self, id: &str) -> Option<WaldiezStatus> {
        self.lock().get(id).map(|t| t.status)
    }

    /// The task as `GET /api/v1/tasks/{id}` shows it.
    pub fn task_json(&self, id: &str, client_id: &str) -> Option<Value> {
        self.lock().get(id).map(|t| t.json(id, client_id))
    }

    /// `GET /api/v1/tasks` as the runner answers it (fastapi-pagination's `Page`): the
    /// tasks with `status` (all when `None`), oldest first, page `page` (from 1) of `size`.
    pub fn page_json(
        &self,
        client_id: &str,
        status: Option<WaldiezStatus>,
        page: usize,
        size: usize,
    ) -> Value {
        let tasks = self.lock();
        let mut chosen: Vec<(&String, &TaskState)> = tasks
            .iter()
            .filter(|(_, t)| status.is_none_or(|s| t.status == s))
            .collect();
        chosen.sort_by_key(|(id, t)| (t.created_ms, id.as_str()));
        let total = chosen.len();
        let items: Vec<Value> = chosen
            .iter()
            .skip(page.saturating_sub(1).saturating_mul(size))
            .take(size)
            .map(|(id, t)| t.json(id, client_id))
            .collect();
        json!({
            "items": items,
            "total": total,
            "page": page,
            "size": size,
            "pages": total.div_ceil(size.max(1)),
        })
    }

    /// Sets a task's status from now on and stops its script (adding an empty task if it
    /// is unknown); a pending prompt is dropped.
    pub fn set_status(&self, id: &str, status: WaldiezStatus) {
        let mut tasks = self.lock();
        if !tasks.contains_key(id) {
            let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
            tasks.insert(
                id.to_string(),
                TaskState::new(generation, status, DEFAULT_INPUT_TIMEOUT_MS),
            );
        }
        if let Some(t) = tasks.get_mut(id) {
            if let Some(runner) = t.runner.take() {
                runner.abort();
            }
            t.pending = None;
            t.set_status(status);
        }
    }

    pub fn prompt(&self, id: &str) -> Option<WaldiezPrompt> {
        let tasks = self.lock();
        tasks.get(id)?.pending.as_ref().map(|p| p.prompt.clone())
    }

    pub fn answers(&self, id: &str) -> Vec<String> {
        self.lock()
            .get(id)
            .map(|t| t.answers.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn viewers(&self, id: &str) -> usize {
        self.lock().get(id).map_or(0, |t| t.viewers)
    }

    /// The stored messages, oldest first, as a viewer would get them.
    pub fn history(&self, id: &str) -> Vec<Value> {
        self.lock()
            .get(id)
            .map(|t| {
                t.history
                    .iter()
                    .filter_map(|m| serde_json::from_str(m.as_str()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Takes `data` as the answer to `request_id`, if that is the prompt the task waits on.
    pub fn answer(&self, id: &str, request_id: &str, data: &str) -> Result<(), AnswerRefusal> {
        let mut tasks = self.lock();
        let t = tasks.get_mut(id).ok_or(AnswerRefusal::UnknownTask)?;
        let pending = t.pending.take().ok_or(AnswerRefusal::NotWaiting)?;
        if pending.prompt.request_id != request_id {
            t.pending = Some(pending);
            return Err(AnswerRefusal::WrongRequest);
        }
        if t.answers.len() >= MAX_RECORDED_ANSWERS {
            t.answers.pop_front();
        }
        t.answers.push_back(data.to_string());
        t.set_status(WaldiezStatus::Running);
        // The script may have just been stopped; then nobody waits for it.
        let _ = pending.reply.send(data.to_string());
        Ok(())
    }

    /// Registers a viewer of a task that takes them: its status message, the last
    /// [`REPLAY_MESSAGES`] stored messages and the live feed after them.
    pub fn join(self: &Arc<Self>, id: &str, max_viewers: usize) -> Result<Viewer, JoinRefusal> {
        let mut tasks = self.lock();
        let t = tasks.get_mut(id).ok_or(JoinRefusal::UnknownTask)?;
        if t.status.is_final() {
            return Err(JoinRefusal::NotActive);
        }
        if t.viewers >= max_viewers {
            return Err(JoinRefusal::TooManyViewers);
        }
        t.viewers += 1;
        let status = json!({
            "type": "status",
            "timestamp": now_us(),
            "data": {
                "task_id": id,
                "status": t.status,
                "created_at": rfc3339_ms(t.created_ms),
                "updated_at": rfc3339_ms(t.updated_ms),
                "results": t.results,
                "input_request_id": t.pending.as_ref().map(|p| p.prompt.request_id.clone()),
            },
        });
        let skip = t.history.len().saturating_sub(REPLAY_MESSAGES);
        Ok(Viewer {
            status: Utf8Bytes::from(status.to_string()),
            history: t.history.iter().skip(skip).cloned().collect(),
            replay_delay: t.replay_delay,
            live: t.live.subscribe(),
            guard: ViewerGuard {
                tasks: self.clone(),
                id: id.to_string(),
                generation: t.generation,
            },
        })
    }

    /// Runs `f` on the task if it is still this script's.
    fn with_task<R>(
        &self,
        id: &str,
        generation: u64,
        f: impl FnOnce(&mut TaskState) -> R,
    ) -> Option<R> {
        let mut tasks = self.lock();
        let t = tasks.get_mut(id).filter(|t| t.generation == generation)?;
        Some(f(t))
    }

    /// Stores a step's message, remembering an agent's words for the results.
    fn publish(&self, id: &str, generation: u64, step: &WaldiezStep) -> bool {
        let Some(fields) = step_fields(step) else {
            return self.with_task(id, generation, |_| ()).is_some();
        };
        let print_objects = self.print_objects;
        self.with_task(id, generation, |t| {
            t.said(step);
            t.store(id, fields, print_objects);
        })
        .is_some()
    }

    /// Stores an `input_request` and waits on it; `None` if the task is no longer this
    /// script's.
    fn ask(
        &self,
        id: &str,
        generation: u64,
        prompt: &str,
        password: bool,
    ) -> Option<(String, oneshot::Receiver<String>)> {
        let print_objects = self.print_objects;
        self.with_task(id, generation, |t| {
            let request_id = format!("{:032x}", rand::random::<u128>());
            let (reply, rx) = oneshot::channel();
            let mut fields = Map::new();
            fields.insert("type".into(), "input_request".into());
            fields.insert("request_id".into(), Value::String(request_id.clone()));
            fields.insert("data".into(), Value::String(prompt.to_string()));
            let flag = if password { "True" } else { "False" };
            fields.insert("password".into(), flag.into());
            t.pending = Some(Pending {
                prompt: WaldiezPrompt {
                    request_id: request_id.clone(),
                    prompt: prompt.to_string(),
                    password,
                },
                reply,
            });
            t.set_status(WaldiezStatus::WaitingForInput);
            t.store(id, fields, print_objects);
            (request_id, rx)
        })
    }

    /// The prompt timed out: withdraws it, unless an answer came meanwhile (then that).
    fn expire(
        &self,
        id: &str,
        generation: u64,
        request_id: &str,
        mut rx: oneshot::Receiver<String>,
    ) -> String {
        self.with_task(id, generation, |t| {
            if t.pending
                .as_ref()
                .is_some_and(|p| p.prompt.request_id == request_id)
            {
                t.pending = None;
            }
        });
        rx.try_recv().unwrap_or_default()
    }

    /// Stores the `input_response` the task goes on with, and runs on.
    fn answered(&self, id: &str, generation: u64, request_id: &str, answer: String) -> bool {
        let print_objects = self.print_objects;
        self.with_task(id, generation, |t| {
            let mut fields = Map::new();
            fields.insert("request_id".into(), Value::String(request_id.to_string()));
            fields.insert("type".into(), "input_response".into());
            fields.insert("data".into(), Value::String(answer));
            t.set_status(WaldiezStatus::Running);
            t.store(id, fields, print_objects);
        })
        .is_some()
    }

    /// The script: steps on the clock, prompts waiting for answers, then the end status.
    async fn run(self: Arc<Self>, id: String, generation: u64, plan: WaldiezPlan) {
        pause(plan.pending_ms).await;
        let started = self.with_task(&id, generation, |t| {
            if t.status == WaldiezStatus::Pending {
                t.set_status(WaldiezStatus::Running);
            }
        });
        if started.is_none() {
            return;
        }
        loop {
            for step in &plan.steps {
                pause(plan.step_ms).await;
                let live = match step {
                    WaldiezStep::Pause(ms) => {
                        pause(*ms).await;
                        true
                    }
                    WaldiezStep::Ask { prompt, password } => {
                        let Some((request_id, mut rx)) =
                            self.ask(&id, generation, prompt, *password)
                        else {
                            return;
                        };
                        let wait = Duration::from_millis(plan.input_timeout_ms);
                        let answer = match tokio::time::timeout(wait, &mut rx).await {
                            Ok(Ok(answer)) => answer,
                            _ => self.expire(&id, generation, &request_id, rx),
                        };
                        self.answered(&id, generation, &request_id, answer)
                    }
                    other => self.publish(&id, generation, other),
                };
                if !live {
                    return;
                }
            }
            if !plan.repeat {
                break;
            }
            // A repeating script that never waits would spin: give the clock a tick.
            if plan.step_ms == 0 {
                pause(1).await;
            }
        }
        let ended = self.with_task(&id, generation, |t| {
            t.runner = None;
            t.end(plan.end);
        });
        if let (Some(()), Some(after)) = (ended, plan.restart_after_ms) {
            pause(after).await;
            let still_ours = self.with_task(&id, generation, |_| ()).is_some();
            if still_ours {
                self.add(&id, plan);
            }
        }
    }
}

async fn pause(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_increase_even_when_the_clock_does_not() {
        let mut t = TaskState::new(1, WaldiezStatus::Running, 1_000);
        assert_eq!(t.next_id(5), "5-0");
        assert_eq!(t.next_id(5), "5-1");
        assert_eq!(t.next_id(4), "5-2");
        assert_eq!(t.next_id(9), "9-0");
    }

    #[test]
    fn history_keeps_the_latest_messages() {
        let mut t = TaskState::new(1, WaldiezStatus::Running, 1_000);
        for i in 0..MAX_STORED_MESSAGES + 5 {
            let fields = step_fields(&WaldiezStep::Print(format!("{i}"))).unwrap_or_default();
            t.store("x", fields, false);
        }
        assert_eq!(t.history.len(), MAX_STORED_MESSAGES);
        let first: Value = serde_json::from_str(t.history[0].as_str()).unwrap_or_default();
        assert_eq!(first["data"], "5");
        assert_eq!(first["task_id"], "x");
        assert!(first["timestamp"].is_string());
    }

    #[test]
    fn print_data_decodes_only_json_objects_and_lists() {
        let mut f = step_fields(&WaldiezStep::termination("r")).unwrap_or_default();
        decode_print_data(&mut f);
        assert_eq!(f["data"]["content"]["termination_reason"], "r");
        let mut f = step_fields(&WaldiezStep::print("42")).unwrap_or_default();
        decode_print_data(&mut f);
        assert_eq!(f["data"], "42\n");
    }
}
