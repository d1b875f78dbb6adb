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
//! **The prompt** the task waits on is followed by [`super::prompt`]: opened by a request,
//! closed by its echoed answer, by a final status, or at once by an answer we sent
//! ([`TaskLog::answer_sent`]).
//!
//! **The end.** A finished task's record holds its results; [`TaskLog::push_results`] adds
//! what of them the stream did not deliver ([`super::results`]), without duplicates.
//!
//! **Passwords.** The answer to a password prompt is stored as [`MASK`], never as given; so
//! is the answer to a prompt this log has not seen (it could have been a password prompt),
//! and so is an agent message whose whole text is such an answer (a chat repeats what the
//! human typed).

use std::collections::VecDeque;

use serde_json::Value;

use super::message::{
    AgentEvent, InputResponse, Meta, Micros, PrintContent, PrintMessage, TaskMessage, TaskStatus,
    parse,
};
use super::prompt::{PendingPrompt, Prompts, Recent};
use super::render::{LineKind, Rendered, render};
use super::results::{RESULTS_TAIL, Said, TaskResults, missing_from};
use super::sse::{LogEntry, LogLevel};
use super::{MASK, MAX_NAME_CHARS, MAX_TEXT_CHARS, TRUNCATION_MARK, cut_in_place};
use crate::core::redact::Secret;

/// How much a [`TaskLog`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskLogConfig {
    /// Most lines kept; past it the oldest are dropped (and counted). At least 1.
    pub max_lines: usize,
    /// Most bytes the kept lines may hold ([`LogLine::bytes`]); past it the oldest are
    /// dropped (and counted) as for `max_lines`. The newest line is always kept: one line
    /// holds at most [`MAX_LINE_BYTES`].
    pub max_bytes: usize,
    /// How many recent message ids (and prompt request ids) are remembered to drop
    /// replays. At least 1.
    pub recent_ids: usize,
}

impl Default for TaskLogConfig {
    fn default() -> Self {
        TaskLogConfig {
            max_lines: 200_000,
            max_bytes: 64 << 20,
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
    /// The request a prompt or an answer line is about.
    pub request_id: Option<String>,
    pub rendered: Rendered,
}

/// The most characters a line's folded detail keeps (a tool call's arguments in full,
/// pretty-printed, or a long tool result); its text keeps [`MAX_TEXT_CHARS`].
pub const MAX_DETAIL_CHARS: usize = 2 * MAX_TEXT_CHARS;

/// The most one [`LogLine`] holds ([`LogLine::bytes`]), about 800 KiB: its text and detail
/// cut to their characters (up to 4 bytes each, a mark and 64 spare), its ids to
/// [`MAX_NAME_CHARS`].
pub const MAX_LINE_BYTES: usize = std::mem::size_of::<LogLine>()
    + 4 * (MAX_TEXT_CHARS + MAX_DETAIL_CHARS)
    + 2 * (TRUNCATION_MARK.len() + 64)
    + 2 * (4 * MAX_NAME_CHARS + TRUNCATION_MARK.len() + 64);

impl LogLine {
    /// The memory the line holds: itself and what its strings allocated.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<LogLine>()
            + self.rendered.text.capacity()
            + self.rendered.detail.as_ref().map_or(0, String::capacity)
            + self.id.as_ref().map_or(0, String::capacity)
            + self.request_id.as_ref().map_or(0, String::capacity)
    }
}

/// What [`TaskLog::push`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    /// A line was added.
    Appended,
    /// The message's id was seen before (a replay): nothing changed.
    Duplicate,
}

/// A task's log: its lines, latest status and pending prompt.
#[derive(Debug)]
pub struct TaskLog {
    config: TaskLogConfig,
    lines: VecDeque<LogLine>,
    /// The sum of the kept lines' [`LogLine::bytes`].
    bytes: usize,
    next_seq: u64,
    dropped: u64,
    duplicates: u64,
    seen_ids: Recent<()>,
    prompts: Prompts,
    said: Said,
    /// Whether any task output (a print) was taken in.
    printed: bool,
    /// Whether the results' error was added.
    error_added: bool,
    status: Option<TaskStatus>,
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
            max_bytes: config.max_bytes,
            recent_ids: config.recent_ids.max(1),
        };
        TaskLog {
            config,
            lines: VecDeque::new(),
            bytes: 0,
            next_seq: 0,
            dropped: 0,
            duplicates: 0,
            seen_ids: Recent::new(config.recent_ids),
            prompts: Prompts::new(config.recent_ids),
            said: Said::default(),
            printed: false,
            error_added: false,
            status: None,
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
        let mut request_id = None;
        let rendered = match &msg {
            TaskMessage::Status(s) => {
                self.status = Some(s.status.clone());
                self.prompts
                    .on_status(&s.status, s.input_request_id.as_deref());
                render(&msg)
            }
            TaskMessage::InputRequest(r) => {
                self.prompts.on_request(r);
                request_id = Some(r.request_id.clone());
                render(&msg)
            }
            TaskMessage::InputResponse(r) => {
                self.prompts.on_response(&r.request_id);
                request_id = Some(r.request_id.clone());
                if self.prompts.is_password(&r.request_id) {
                    self.said.secret(r.answer.expose());
                    render(&TaskMessage::InputResponse(InputResponse {
                        meta: r.meta.clone(),
                        request_id: r.request_id.clone(),
                        answer: Secret::new(MASK),
                    }))
                } else {
                    render(&msg)
                }
            }
            TaskMessage::Print(p) => {
                self.printed = true;
                match &p.content {
                    PrintContent::Event(AgentEvent::Text { content, .. }) => {
                        if self.said.spoke(content) {
                            render(&masked_text(&msg))
                        } else {
                            render(&msg)
                        }
                    }
                    _ => render(&msg),
                }
            }
            TaskMessage::Raw { .. } => render(&msg),
        };
        self.append(id, timestamp, None, rendered);
        if let Some(line) = self.lines.back_mut() {
            let before = line.bytes();
            line.request_id = request_id;
            self.bytes = self.bytes - before + line.bytes();
        }
        Push::Appended
    }

    /// Adds what a finished task's record holds (`results`) and the stream did not
    /// deliver: the agent messages after the last ones this log showed, and the error of a
    /// failed task (once); the module `tasklog::results` says how. Returns how many lines
    /// were added.
    pub fn push_results(&mut self, results: &Value) -> usize {
        let read = TaskResults::read(results);
        let before = self.next_seq;
        let fingerprints: Vec<u64> = read
            .messages
            .iter()
            .map(|m| self.said.fingerprint(&m.content))
            .collect();
        let seen = self.said.last();
        let from = if seen.is_empty() {
            // Nothing to find our place by: a view of a finished task takes the end of its
            // chat, a log of plain prints takes nothing.
            (!self.printed).then(|| fingerprints.len().saturating_sub(RESULTS_TAIL))
        } else {
            missing_from(&fingerprints, &seen)
        };
        for m in read.messages.into_iter().skip(from.unwrap_or(usize::MAX)) {
            let msg = TaskMessage::Print(PrintMessage {
                meta: Meta::default(),
                content: PrintContent::Event(AgentEvent::Text {
                    sender: m.sender,
                    recipient: None,
                    content: m.content,
                }),
            });
            self.push(msg);
        }
        if let Some((error, traceback)) = read.error.filter(|_| !self.error_added) {
            self.error_added = true;
            let first = error.lines().next().unwrap_or("").to_string();
            let rest = error.len() > first.len();
            let detail = match (rest, traceback) {
                (false, None) => None,
                (_, tb) => Some(
                    format!("{error}\n{}", tb.unwrap_or_default())
                        .trim_end()
                        .to_string(),
                ),
            };
            let rendered = Rendered {
                kind: LineKind::Error,
                text: format!("Task error: {first}"),
                detail,
            };
            self.append(None, None, None, rendered);
        }
        usize::try_from(self.next_seq - before).unwrap_or(usize::MAX)
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

    /// A replay: adds a line as a recording stored it (its own sequence number is not kept).
    pub fn push_recorded(&mut self, line: LogLine) {
        let request_id = line.request_id;
        self.append(line.id, line.timestamp, line.level, line.rendered);
        if let Some(last) = self.lines.back_mut() {
            last.request_id = request_id;
        }
    }

    /// A replay: the task's status and waiting prompt as a recording says they were.
    pub fn set_recorded(&mut self, status: Option<TaskStatus>, prompt: Option<PendingPrompt>) {
        self.status = status;
        self.prompts.set_pending(prompt);
    }

    /// Adds a line saying a message or event could not be read (`why` never quotes it).
    pub fn push_error(&mut self, why: &str) {
        self.append(None, None, None, error_line(why));
    }

    fn append(
        &mut self,
        id: Option<String>,
        timestamp: Option<Micros>,
        level: Option<LogLevel>,
        mut rendered: Rendered,
    ) {
        // A text made of many parts (a message calling a thousand tools) can outgrow what
        // any one part was cut to.
        cut_in_place(&mut rendered.text, MAX_TEXT_CHARS);
        if let Some(detail) = &mut rendered.detail {
            cut_in_place(detail, MAX_DETAIL_CHARS);
        }
        let line = LogLine {
            seq: self.next_seq,
            id,
            timestamp,
            level,
            request_id: None,
            rendered,
        };
        let size = line.bytes();
        while !self.lines.is_empty()
            && (self.lines.len() >= self.config.max_lines
                || self.bytes + size > self.config.max_bytes)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.bytes();
            }
            self.dropped += 1;
        }
        self.bytes += size;
        self.lines.push_back(line);
        self.next_seq += 1;
    }

    /// Records that we sent `answer` to `request_id`: its prompt closes now rather than at
    /// the runner's echo (which the real runner sends up to ~5 s later for a socket answer),
    /// and neither a stale status nor a replay reopens it. Until the echo it is
    /// [`TaskLog::unconfirmed_answer`]. A password answer is remembered by fingerprint only,
    /// to mask it wherever the task repeats it.
    pub fn answer_sent(&mut self, request_id: &str, answer: &Secret) {
        if self.prompts.is_password(request_id) {
            self.said.secret(answer.expose());
        }
        self.prompts.answer_sent(request_id);
    }

    /// Records that our answer to `request_id` was not delivered: its prompt reopens, unless
    /// an answer was seen meanwhile or the task is over.
    pub fn answer_failed(&mut self, request_id: &str) {
        self.prompts.answer_failed(request_id);
    }

    /// Closes the pending prompt when the caller knows it is no longer waited on (the task's
    /// REST status says so). Returns what was pending.
    pub fn dismiss_prompt(&mut self) -> Option<PendingPrompt> {
        self.prompts.dismiss()
    }

    /// Whether the runner echoed an answer to `request_id` (from anyone, or the time-out's
    /// "").
    pub fn was_answered(&self, request_id: &str) -> bool {
        self.prompts.was_answered(request_id)
    }

    /// Whether we sent an answer to `request_id` ([`TaskLog::answer_sent`]), echoed or not.
    pub fn was_sent(&self, request_id: &str) -> bool {
        self.prompts.was_sent(request_id)
    }

    /// Whether `request_id` needs no answer from us: the runner echoed one, or we sent one.
    pub fn is_settled(&self, request_id: &str) -> bool {
        self.prompts.settled(request_id)
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

    /// The memory the kept lines hold: the sum of their [`LogLine::bytes`], at most
    /// [`TaskLogConfig::max_bytes`] (or one line's, when that alone is more).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many lines were dropped to stay within [`TaskLogConfig::max_lines`] and
    /// [`TaskLogConfig::max_bytes`].
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

    /// The prompt the task waits on and we have not answered, if any. Its
    /// [`PendingPrompt::prompt`] is `None` while only the task's status has named it: wait
    /// for the question, do not ask it.
    pub fn pending_prompt(&self) -> Option<&PendingPrompt> {
        self.prompts.pending()
    }

    /// The prompt we answered whose answer the runner has not echoed yet (it takes a socket
    /// answer when its blocking read returns, up to ~5 s later).
    pub fn unconfirmed_answer(&self) -> Option<&PendingPrompt> {
        self.prompts.unconfirmed()
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

/// An agent message with its text masked (it is an answer given to a password prompt).
fn masked_text(msg: &TaskMessage) -> TaskMessage {
    let mut msg = msg.clone();
    if let TaskMessage::Print(PrintMessage {
        content: PrintContent::Event(AgentEvent::Text { content, .. }),
        ..
    }) = &mut msg
    {
        *content = MASK.to_string();
    }
    msg
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
            ..TaskLogConfig::default()
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
