//! The log store: the lines a pane shows, the task's status and the prompt it waits on.
//!
//! **Replays.** Each connection to the runner replays up to the last 50 stored messages
//! before the live ones, so a reconnect, or a second viewer's connection in the same
//! process, repeats what was seen. Messages carry a stream id, and [`TaskLog`] drops any
//! whose id it has seen among the last [`TaskLogConfig::recent_ids`] (10,000 by default).
//! That is enough: a replayed message we already hold is among the last 50 entries of the
//! runner's stream, and we received the stream in order, so it is also among the last 50
//! ids we took in (a few more if the runner's replay, which it schedules as separate
//! asyncio tasks, interleaves with live messages). 10,000 is 200 times that, at about a
//! megabyte of ids. Messages without an id (the status sent on connecting) are never
//! dropped.
//!
//! **The prompt.** An `input_request` opens the pending prompt (unless its answer has been
//! seen already, as when a replay delivers them out of order); an `input_response` with
//! its `request_id`, from any viewer, closes it. The runner echoes an answer even when the
//! prompt times out (it goes on with `""` after the task's `input_timeout`), so a response
//! always comes. A status does not close the prompt while the task runs: the status is a
//! snapshot of the runner's database taken on connecting, sent before the replay, and it can
//! lag the stream. A final status (completed, failed, cancelled) does close it: the task
//! takes no more input and the runner refuses answers. A `WAITING_FOR_INPUT` status naming
//! a request other than the pending one opens that request instead, without its text until
//! its `input_request` arrives, and as a password prompt until then. The one case this
//! cannot see is an answer given while we were away and pushed out of the 50-message replay
//! by later output; [`TaskLog::dismiss_prompt`] is for the caller that learns it otherwise
//! (the task's REST status).
//!
//! **Passwords.** The answer to a password prompt is stored as [`MASK`], never as given; so
//! is the answer to a prompt this log has not seen (it could have been a password prompt).

use std::collections::{HashMap, VecDeque};

use super::message::{InputResponse, Micros, TaskMessage, TaskStatus, parse};
use super::render::{LineKind, Rendered, render};
use super::sse::{LogEntry, LogLevel};
use super::{MASK, name_text};
use crate::core::redact::Secret;

/// How much a [`TaskLog`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskLogConfig {
    /// Most lines kept; past it the oldest are dropped (and counted). At least 1.
    pub max_lines: usize,
    /// How many recent message ids (and prompt request ids) are remembered to drop
    /// replays. At least 1.
    pub recent_ids: usize,
}

impl Default for TaskLogConfig {
    fn default() -> Self {
        TaskLogConfig {
            max_lines: 200_000,
            recent_ids: 10_000,
        }
    }
}

/// One stored line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// The line's number since the log began; unlike its index, it does not change when
    /// older lines are dropped.
    pub seq: u64,
    /// The message's id, when it had one.
    pub id: Option<String>,
    /// When the message was stored or logged, when known.
    pub timestamp: Option<Micros>,
    /// The level of an AgentStation log entry.
    pub level: Option<LogLevel>,
    pub rendered: Rendered,
}

/// The question a task waits on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPrompt {
    /// What an answer must name.
    pub request_id: String,
    /// The question; `None` while only the task's status has named the request.
    pub prompt: Option<String>,
    /// Whether the answer is a secret (mask it while typing, never log it). True while the
    /// request itself has not been seen.
    pub password: bool,
    /// When the task asked, when known (to show the time left before its input timeout).
    pub asked_at: Option<Micros>,
}

/// What [`TaskLog::push`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    /// A line was added.
    Appended,
    /// The message's id was seen before (a replay): nothing changed.
    Duplicate,
}

/// Strings remembered in insertion order, the oldest forgotten past `cap`.
#[derive(Debug)]
struct Recent<V> {
    map: HashMap<String, V>,
    order: VecDeque<String>,
    cap: usize,
}

impl<V> Recent<V> {
    fn new(cap: usize) -> Self {
        Recent {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Remembers `key`; false if it was already remembered (its value is then replaced).
    fn insert(&mut self, key: &str, value: V) -> bool {
        if let Some(v) = self.map.get_mut(key) {
            *v = value;
            return false;
        }
        if self.order.len() >= self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.map.remove(&old);
        }
        self.map.insert(key.to_string(), value);
        self.order.push_back(key.to_string());
        true
    }

    fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key)
    }
}

/// A task's log: its lines, latest status and pending prompt.
#[derive(Debug)]
pub struct TaskLog {
    config: TaskLogConfig,
    lines: VecDeque<LogLine>,
    next_seq: u64,
    dropped: u64,
    duplicates: u64,
    seen_ids: Recent<()>,
    /// Prompts seen: request id → whether it asked for a password.
    requests: Recent<bool>,
    /// Request ids answered.
    answered: Recent<()>,
    status: Option<TaskStatus>,
    pending: Option<PendingPrompt>,
}

impl Default for TaskLog {
    fn default() -> Self {
        TaskLog::new(TaskLogConfig::default())
    }
}

impl TaskLog {
    pub fn new(config: TaskLogConfig) -> Self {
        let config = TaskLogConfig {
            max_lines: config.max_lines.max(1),
            recent_ids: config.recent_ids.max(1),
        };
        TaskLog {
            config,
            lines: VecDeque::new(),
            next_seq: 0,
            dropped: 0,
            duplicates: 0,
            seen_ids: Recent::new(config.recent_ids),
            requests: Recent::new(config.recent_ids),
            answered: Recent::new(config.recent_ids),
            status: None,
            pending: None,
        }
    }

    pub fn config(&self) -> TaskLogConfig {
        self.config
    }

    /// Parses one runner text message and takes it in. A message that cannot be read adds an
    /// [`LineKind::Error`] line saying why (never quoting it), so nothing vanishes silently.
    pub fn push_text(&mut self, text: &str) -> Push {
        match parse(text) {
            Ok(msg) => self.push(msg),
            Err(e) => {
                self.append(None, None, None, error_line(&e.to_string()));
                Push::Appended
            }
        }
    }

    /// Takes in one runner message: drops it if its id was seen, else follows the status and
    /// prompt and adds its line (a password answer masked).
    pub fn push(&mut self, msg: TaskMessage) -> Push {
        if let Some(id) = msg.id()
            && !self.seen_ids.insert(id, ())
        {
            self.duplicates += 1;
            return Push::Duplicate;
        }
        let id = msg.id().map(str::to_string);
        let timestamp = msg.timestamp();
        let rendered = match &msg {
            TaskMessage::Status(s) => {
                self.on_status(&s.status, s.input_request_id.as_deref());
                render(&msg)
            }
            TaskMessage::InputRequest(r) => {
                self.requests.insert(&r.request_id, r.password);
                if !self.answered.contains(&r.request_id) {
                    self.pending = Some(PendingPrompt {
                        request_id: r.request_id.clone(),
                        prompt: Some(r.prompt.clone()),
                        password: r.password,
                        asked_at: r.meta.timestamp,
                    });
                }
                render(&msg)
            }
            TaskMessage::InputResponse(r) => {
                self.answered.insert(&r.request_id, ());
                if self
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.request_id == r.request_id)
                {
                    self.pending = None;
                }
                // Unknown requests count as password prompts.
                let password = self.requests.get(&r.request_id).copied().unwrap_or(true);
                if password {
                    render(&TaskMessage::InputResponse(InputResponse {
                        meta: r.meta.clone(),
                        request_id: r.request_id.clone(),
                        answer: Secret::new(MASK),
                    }))
                } else {
                    render(&msg)
                }
            }
            TaskMessage::Print(_) | TaskMessage::Raw { .. } => render(&msg),
        };
        self.append(id, timestamp, None, rendered);
        Push::Appended
    }

    /// Adds one AgentStation log entry (these carry no id: an SSE stream does not replay).
    pub fn push_log_entry(&mut self, entry: LogEntry) {
        let rendered = Rendered {
            kind: LineKind::Log,
            text: entry.message,
            detail: None,
        };
        self.append(None, entry.timestamp, entry.level, rendered);
    }

    /// Adds a line saying a message or event could not be read (`why` never quotes it).
    pub fn push_error(&mut self, why: &str) {
        self.append(None, None, None, error_line(why));
    }

    fn on_status(&mut self, status: &TaskStatus, input_request_id: Option<&str>) {
        self.status = Some(status.clone());
        if status.is_final() {
            self.pending = None;
            return;
        }
        if *status == TaskStatus::WaitingForInput
            && let Some(waited) = input_request_id
            && !self.answered.contains(waited)
            && self.pending.as_ref().is_none_or(|p| p.request_id != waited)
        {
            self.pending = Some(PendingPrompt {
                request_id: name_text(waited),
                prompt: None,
                password: self.requests.get(waited).copied().unwrap_or(true),
                asked_at: None,
            });
        }
    }

    fn append(
        &mut self,
        id: Option<String>,
        timestamp: Option<Micros>,
        level: Option<LogLevel>,
        rendered: Rendered,
    ) {
        while self.lines.len() >= self.config.max_lines {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(LogLine {
            seq: self.next_seq,
            id,
            timestamp,
            level,
            rendered,
        });
        self.next_seq += 1;
    }

    /// Closes the pending prompt when the caller knows it is no longer waited on (the task's
    /// REST status says so). Returns what was pending.
    pub fn dismiss_prompt(&mut self) -> Option<PendingPrompt> {
        self.pending.take()
    }

    /// Whether an answer to `request_id` was seen (from anyone, or the time-out's "").
    pub fn was_answered(&self, request_id: &str) -> bool {
        self.answered.contains(request_id)
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> &VecDeque<LogLine> {
        &self.lines
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The line at `index` (0 is the oldest kept).
    pub fn get(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index)
    }

    /// The [`LogLine::seq`] of the oldest line kept ([`TaskLog::end_seq`] when empty).
    ///
    /// The lines kept are numbered `first_seq()..end_seq()` without gaps, so a line's
    /// index is `seq - first_seq()`: a pane can remember lines by `seq` and find them again
    /// in constant time after older lines were dropped.
    pub fn first_seq(&self) -> u64 {
        self.lines.front().map_or(self.next_seq, |line| line.seq)
    }

    /// The [`LogLine::seq`] the next line will get: one past the newest. It only grows, so
    /// a reader that saw `end_seq() == n` has seen every line numbered below `n`.
    pub fn end_seq(&self) -> u64 {
        self.next_seq
    }

    /// The line numbered `seq`, if it is still kept.
    pub fn get_seq(&self, seq: u64) -> Option<&LogLine> {
        let index = seq.checked_sub(self.first_seq())?;
        self.lines.get(usize::try_from(index).ok()?)
    }

    /// How many lines were dropped to stay within [`TaskLogConfig::max_lines`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// How many messages were dropped as replays.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The latest status received.
    pub fn status(&self) -> Option<&TaskStatus> {
        self.status.as_ref()
    }

    /// The prompt the task waits on, if any.
    pub fn pending_prompt(&self) -> Option<&PendingPrompt> {
        self.pending.as_ref()
    }

    /// Indices of the lines whose text or folded detail contains `needle`, ignoring case,
    /// in order. An empty needle matches every line.
    pub fn search(&self, needle: &str) -> Vec<usize> {
        let matcher = Matcher::new(needle);
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, line)| {
                matcher.matches(&line.rendered.text)
                    || line
                        .rendered
                        .detail
                        .as_deref()
                        .is_some_and(|d| matcher.matches(d))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

fn error_line(why: &str) -> Rendered {
    Rendered {
        kind: LineKind::Error,
        text: format!("Unreadable message: {why}"),
        detail: None,
    }
}

/// A case-insensitive substring test. An ASCII needle is compared byte by byte without
/// allocating (UTF-8 continuation bytes never equal an ASCII byte, so no false match);
/// any other is compared on lower-cased text.
enum Matcher {
    Ascii(Vec<u8>),
    Unicode(String),
}

impl Matcher {
    fn new(needle: &str) -> Matcher {
        if needle.is_ascii() {
            Matcher::Ascii(needle.bytes().map(|b| b.to_ascii_lowercase()).collect())
        } else {
            Matcher::Unicode(needle.to_lowercase())
        }
    }

    fn matches(&self, haystack: &str) -> bool {
        match self {
            Matcher::Ascii(n) => {
                n.is_empty()
                    || haystack
                        .as_bytes()
                        .windows(n.len())
                        .any(|w| w.eq_ignore_ascii_case(n))
            }
            Matcher::Unicode(n) => haystack.to_lowercase().contains(n.as_str()),
        }
    }
}

#[cfg(test)]
mod seq_tests {
    use super::*;

    fn log_of(max_lines: usize, lines: usize) -> TaskLog {
        let mut log = TaskLog::new(TaskLogConfig {
            max_lines,
            recent_ids: 16,
        });
        for n in 0..lines {
            log.push_error(&format!("line {n}"));
        }
        log
    }

    #[test]
    fn seqs_of_an_empty_log() {
        let log = TaskLog::default();
        assert_eq!((log.first_seq(), log.end_seq()), (0, 0));
        assert!(log.get_seq(0).is_none());
    }

    #[test]
    fn seqs_follow_drops_and_find_lines() {
        let log = log_of(3, 5);
        assert_eq!((log.first_seq(), log.end_seq()), (2, 5));
        assert_eq!(log.first_seq(), log.dropped());
        assert!(log.get_seq(1).is_none(), "dropped");
        assert!(log.get_seq(5).is_none(), "not yet written");
        for seq in 2..5 {
            let line = log.get_seq(seq).unwrap();
            assert_eq!(line.seq, seq);
            assert!(line.rendered.text.ends_with(&format!("line {seq}")));
        }
    }
}
