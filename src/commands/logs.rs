//! `lookout logs`: follow a task's log in the terminal, answer its prompts from stdin, and
//! exit with the task's outcome.
//!
//! Log lines go to stdout (plain, or one JSON object per line with `--json`); questions and
//! notes go to stderr, so stdout pipes cleanly. Every question the task asks reaches stderr
//! once. A prompt still open is asked, and takes the next line of stdin: typed at a terminal
//! (hidden for password prompts) or piped by a script. One that closed before it could be
//! asked (answered elsewhere, or the task ended), or that cannot be answered here
//! (`--no-input`, stdin closed), is shown with a note saying so.
//!
//! A prompt we answered is closed at once, not when the runner confirms it (it echoes a
//! socket answer up to ~5 s later): it is never asked again and no line is read for it, so
//! two piped answers go to two prompts. A prompt known only from the task's status is asked
//! once its question arrives, never guessed at. If an answer is not delivered, its prompt
//! is asked again.
//!
//! Everything the server wrote passes through [`printable`] before it reaches the terminal:
//! control characters are shown, and the continuation lines of a multi-line text are
//! indented, so nothing a task prints can pass for a `lookout: …` line or move the cursor.
//! `--json` output is JSON (escaped by serde) and left as it is.

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};

use anyhow::Context as _;

use crate::core::event::{Command, SessionEvent, SessionState, Waker};
use crate::core::redact;
use crate::core::redact::Secret;
use crate::core::session::{self, SessionConfig, SessionHandle};
use crate::core::source::SourceSpec;
use crate::core::source::tasklog::{
    LineKind, LogLevel, LogLine, MAX_TEXT_CHARS, PendingPrompt, TaskStatus,
};
use crate::core::untrusted::{Lines, printable};

/// Exit code: the task completed (or the stream ended without a task status).
pub const EXIT_COMPLETED: u8 = 0;
/// Exit code: Lookout could not follow the task (a connection or credential problem).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: the task failed.
pub const EXIT_FAILED: u8 = 3;
/// Exit code: the task was cancelled.
pub const EXIT_CANCELLED: u8 = 4;
/// Exit code: interrupted (Ctrl+C).
pub const EXIT_INTERRUPTED: u8 = 130;

/// What continuation lines are indented by: the width of a line's `HH:MM:SS  ` time.
const INDENT: &str = "          ";
/// Most characters of one server text shown (the store cuts texts shorter already).
const MAX_SHOWN: usize = MAX_TEXT_CHARS + 64;
/// Most characters of a one-line server text (an error's detail, a reason) shown.
const MAX_NOTE: usize = 1_000;
/// Questions remembered as put on stderr (the latest), and questions waiting to be.
const MAX_QUESTIONS: usize = 64;

/// How `logs` behaves.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogsOptions {
    /// One JSON object per line instead of text.
    pub json: bool,
    /// Print folded details (tool-call arguments, long results) under their lines.
    pub details: bool,
    /// Never read stdin; prompts are shown but not answered.
    pub no_input: bool,
}

/// The exit code for a task that ended with `status`.
pub fn exit_code(status: Option<&TaskStatus>) -> u8 {
    match status {
        Some(TaskStatus::Failed) => EXIT_FAILED,
        Some(TaskStatus::Cancelled) => EXIT_CANCELLED,
        _ => EXIT_COMPLETED,
    }
}

/// Server text as the terminal shows it: controls made visible, line breaks kept and each
/// continuation line started with `indent`.
pub fn terminal_text(text: &str, indent: &str) -> String {
    let masked = redact::text(text);
    let shown = printable(&masked, Lines::Keep, MAX_SHOWN);
    let mut out = String::with_capacity(shown.len() + 16);
    for (i, line) in shown.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(line);
    }
    out
}

/// One-line server text (a reason, an error's detail) as the terminal shows it.
pub fn terminal_note(text: &str) -> String {
    printable(&redact::text(text), Lines::Show, MAX_NOTE).into_owned()
}

/// One log line as text: `HH:MM:SS  text` (UTC), with a level or marker where it helps,
/// continuation lines (and, with `details`, the folded detail) indented.
pub fn format_line(line: &LogLine, details: bool) -> String {
    let time = line
        .timestamp
        .map(|t| t.utc_hms())
        .unwrap_or_else(|| "--:--:--".into());
    let marker = match (&line.level, line.rendered.kind) {
        (Some(LogLevel::Debug), _) => "debug ",
        (Some(LogLevel::Warn), _) => "WARN  ",
        (Some(LogLevel::Error), _) => "ERROR ",
        (_, LineKind::Prompt) => "? ",
        (_, LineKind::Answer) => "> ",
        (_, LineKind::Error) => "! ",
        (_, LineKind::Status) => "# ",
        _ => "",
    };
    let text = terminal_text(line.rendered.text.trim_end_matches('\n'), INDENT);
    let mut out = format!("{time}  {marker}{text}");
    if details && let Some(detail) = &line.rendered.detail {
        out.push('\n');
        out.push_str(INDENT);
        out.push_str(&terminal_text(detail.trim_end(), INDENT));
    }
    out
}

/// Prints a recording's task log as a live one prints (`--json` too); the exit code of
/// its last recorded status.
pub fn print_recording(path: &std::path::Path, json: bool, details: bool) -> anyhow::Result<u8> {
    use crate::core::record::format::Kind;
    use crate::core::record::reader::Reader;
    use crate::core::source::tasklog::line_from_json;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = Reader::open(file).with_context(|| path.display().to_string())?;
    let mut out = std::io::stdout().lock();
    let mut status = None;
    while let Some(record) = reader.next_record()? {
        let value: Option<serde_json::Value> = serde_json::from_slice(&record.payload).ok();
        match (record.head.known_kind(), value) {
            (Some(Kind::LogLine), Some(v)) => {
                let Some(line) = line_from_json(&v) else {
                    continue;
                };
                let text = if json {
                    json_line(&line)
                } else {
                    format_line(&line, details)
                };
                writeln!(out, "{}", redact::text(&text)).context("cannot write to stdout")?;
            }
            (Some(Kind::Event), Some(v)) if v["type"] == "status" => {
                status = v["status"].as_str().map(TaskStatus::from_name);
            }
            _ => {}
        }
    }
    Ok(exit_code(status.as_ref()))
}

/// One log line as a JSON object (`request_id` names the prompt a prompt or answer line is
/// about, for `lookout answer`).
pub fn json_line(line: &LogLine) -> String {
    crate::core::source::tasklog::line_to_json(line).to_string()
}

/// What the stdin thread is asked and answers.
struct LineRequest {
    password: bool,
}

/// Reads one line of stdin per request on its own thread (reads block).
fn spawn_stdin_reader(
    waker: Waker,
) -> anyhow::Result<(SyncSender<LineRequest>, Receiver<Option<String>>)> {
    let (req_tx, req_rx) = sync_channel::<LineRequest>(1);
    let (line_tx, line_rx) = sync_channel::<Option<String>>(1);
    std::thread::Builder::new()
        .name("logs-stdin".into())
        .spawn(move || {
            let tty = std::io::stdin().is_terminal();
            while let Ok(req) = req_rx.recv() {
                let line = if req.password && tty {
                    rpassword::read_password().ok()
                } else {
                    let mut buf = String::new();
                    match std::io::stdin().lock().read_line(&mut buf) {
                        Ok(0) | Err(_) => None,
                        Ok(_) => Some(buf.trim_end_matches(['\n', '\r']).to_string()),
                    }
                };
                let eof = line.is_none();
                if line_tx.send(line).is_err() {
                    return;
                }
                waker();
                if eof {
                    return;
                }
            }
        })
        .context("cannot start the stdin reader")?;
    Ok((req_tx, line_rx))
}

/// Follows `source` until the task ends, the session fails, or Ctrl+C.
pub async fn run(
    source: SourceSpec,
    config: SessionConfig,
    opts: LogsOptions,
) -> anyhow::Result<u8> {
    let Some(source) = source.as_log() else {
        anyhow::bail!(
            "{} is a picture source; `lookout logs` follows waldiez:, tasklog+ws:// and agentstation: sources",
            source.label()
        );
    };
    let (notify, waker) = super::notify_waker();
    let label = source.label();
    let mut handle = session::spawn(
        &tokio::runtime::Handle::current(),
        source,
        config,
        waker.clone(),
    );
    let mut follower = Follower::new(opts, label.clone(), waker)?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut last_note = String::new();
    loop {
        while let Some(event) = handle.try_recv_event() {
            match event {
                SessionEvent::State(state) => {
                    follower.print_new(&handle)?;
                    match state {
                        SessionState::Failed { error } => {
                            follower.finish(&handle)?;
                            let error = terminal_note(&error.to_string());
                            eprintln!("lookout: {label}: {error}");
                            return Ok(EXIT_ERROR);
                        }
                        SessionState::Ended { reason, .. } => {
                            follower.finish(&handle)?;
                            let status = handle.log().lock().log.status().cloned();
                            eprintln!("lookout: {label}: {}", terminal_note(&reason));
                            return Ok(exit_code(status.as_ref()));
                        }
                        other => {
                            let note = describe(&other);
                            if !note.is_empty() && note != last_note {
                                eprintln!("lookout: {label}: {note}");
                                last_note = note;
                            }
                        }
                    }
                }
                SessionEvent::AnswerSent { rest: true, .. } => {
                    eprintln!("lookout: answer sent over REST");
                }
                SessionEvent::AnswerFailed {
                    request_id,
                    message,
                } => {
                    let message = terminal_note(&message);
                    eprintln!("lookout: the answer was not delivered: {message}");
                    follower.not_delivered(&handle, &request_id);
                }
                _ => {}
            }
        }
        follower.print_new(&handle)?;
        follower.prompt(&handle);
        tokio::select! {
            _ = notify.notified() => {}
            _ = &mut ctrl_c => {
                handle.send(Command::Stop);
                eprintln!("lookout: interrupted");
                return Ok(EXIT_INTERRUPTED);
            }
        }
    }
}

fn describe(state: &SessionState) -> String {
    match state {
        SessionState::WaitingForTask { status } => {
            format!("waiting for the task ({})", terminal_note(status))
        }
        SessionState::Reconnecting {
            error, retry_in_ms, ..
        } => format!(
            "{}; reconnecting in {:.1} s",
            terminal_note(&error.to_string()),
            *retry_in_ms as f64 / 1000.0
        ),
        SessionState::Live(_) => "following".into(),
        _ => String::new(),
    }
}

/// A question seen in the log and not yet put on stderr.
struct Question {
    request_id: String,
    /// Its log line's text (`Input requested: …`).
    text: String,
}

/// Prints new lines and runs the prompt dialogue.
struct Follower {
    opts: LogsOptions,
    label: String,
    /// The next line sequence number to print.
    next_seq: u64,
    generation: u64,
    stdin: Option<(SyncSender<LineRequest>, Receiver<Option<String>>)>,
    /// Why stdin is not read, once it is not.
    no_stdin: &'static str,
    /// The prompt whose answer is being read.
    asked: Option<String>,
    /// Questions seen and not yet put on stderr, oldest first.
    unput: VecDeque<Question>,
    /// Request ids whose question was put on stderr (the latest).
    put: VecDeque<String>,
}

impl Follower {
    fn new(opts: LogsOptions, label: String, waker: Waker) -> anyhow::Result<Self> {
        let stdin = if opts.no_input {
            None
        } else {
            Some(spawn_stdin_reader(waker)?)
        };
        Ok(Follower {
            opts,
            label,
            next_seq: 0,
            generation: u64::MAX,
            stdin,
            no_stdin: "--no-input",
            asked: None,
            unput: VecDeque::new(),
            put: VecDeque::new(),
        })
    }

    /// Prints the lines not printed yet, noting the questions among them.
    fn print_new(&mut self, handle: &SessionHandle) -> anyhow::Result<()> {
        let generation = handle.log().generation();
        if generation == self.generation {
            return Ok(());
        }
        self.generation = generation;
        let state = handle.log().lock();
        let lines = state.log.lines();
        let first = lines.front().map(|l| l.seq).unwrap_or(0);
        let skip = self.next_seq.saturating_sub(first) as usize;
        let mut out = std::io::stdout().lock();
        for line in lines.iter().skip(skip) {
            let text = if self.opts.json {
                json_line(line)
            } else {
                format_line(line, self.opts.details)
            };
            // `--json` too: every secret the process holds is masked in all it prints.
            writeln!(out, "{}", redact::text(&text)).context("cannot write to stdout")?;
            self.next_seq = line.seq + 1;
            // A question already answered when we first see it (a replay) is history.
            if line.rendered.kind == LineKind::Prompt
                && let Some(id) = &line.request_id
                && !state.log.is_settled(id)
                && !self.put.contains(id)
            {
                if self.unput.len() >= MAX_QUESTIONS {
                    self.unput.pop_front();
                }
                self.unput.push_back(Question {
                    request_id: id.clone(),
                    text: line.rendered.text.clone(),
                });
            }
        }
        out.flush().context("cannot write to stdout")?;
        Ok(())
    }

    /// Reads the answer being typed, asks the open prompt once its question is known, and
    /// shows the questions that cannot be asked.
    fn prompt(&mut self, handle: &SessionHandle) {
        let (pending, can_answer) = {
            let s = handle.log().lock();
            (s.log.pending_prompt().cloned(), s.can_answer)
        };
        if self.asked.is_some() {
            self.read_answer(handle, pending.as_ref());
            return;
        }
        let open = pending.filter(|p| p.prompt.is_some());
        if let Some(p) = &open
            && can_answer
            && !self.put.contains(&p.request_id)
            && let Some((requests, _)) = &self.stdin
        {
            eprint!("{}", question(p));
            let _ = std::io::stderr().flush();
            let request = LineRequest {
                password: p.password,
            };
            if requests.try_send(request).is_ok() {
                self.asked = Some(p.request_id.clone());
                self.mark_put(&p.request_id);
            }
        }
        let waiting = open.map(|p| p.request_id).filter(|_| self.stdin.is_some());
        self.show_unput(handle, waiting.as_deref());
    }

    /// Takes the line read for the asked prompt, if it came: sends it, unless the prompt
    /// closed meanwhile.
    fn read_answer(&mut self, handle: &SessionHandle, pending: Option<&PendingPrompt>) {
        let (Some(asked), Some((_, lines))) = (self.asked.clone(), &self.stdin) else {
            return;
        };
        match lines.try_recv() {
            Ok(Some(line)) => {
                self.asked = None;
                if pending.is_none_or(|p| p.request_id != asked) {
                    eprintln!("lookout: the prompt was answered elsewhere; that line was not sent");
                    return;
                }
                let answer = Secret::new(line);
                // Closed now: the runner confirms a socket answer only seconds later.
                handle.log().update(|s| s.log.answer_sent(&asked, &answer));
                let request_id = asked.clone();
                if !handle.send(Command::Answer { request_id, answer }) {
                    handle.log().update(|s| s.log.answer_failed(&asked));
                }
            }
            Ok(None) | Err(TryRecvError::Disconnected) => {
                eprintln!("lookout: stdin is closed; prompts will not be answered");
                self.stdin = None;
                self.no_stdin = "stdin is closed";
                self.asked = None;
            }
            Err(TryRecvError::Empty) => {}
        }
    }

    /// Puts on stderr, with why, each question seen that will not be asked here: all but
    /// `waiting` (the open prompt, still to be asked).
    fn show_unput(&mut self, handle: &SessionHandle, waiting: Option<&str>) {
        let mut keep = VecDeque::new();
        while let Some(q) = self.unput.pop_front() {
            if Some(q.request_id.as_str()) == waiting || self.put.contains(&q.request_id) {
                if !self.put.contains(&q.request_id) {
                    keep.push_back(q);
                }
                continue;
            }
            let why = if handle.log().lock().log.was_answered(&q.request_id) {
                "answered elsewhere".to_string()
            } else if waiting.is_none() && self.stdin.is_none() && self.is_open(handle, &q) {
                format!("not answered here ({})", self.no_stdin)
            } else {
                "the task no longer waits for an answer".to_string()
            };
            self.put_question(&q, &why);
        }
        self.unput = keep;
    }

    /// Whether `q` is the prompt the task still waits on.
    fn is_open(&self, handle: &SessionHandle, q: &Question) -> bool {
        let state = handle.log().lock();
        state
            .log
            .pending_prompt()
            .is_some_and(|p| p.request_id == q.request_id)
    }

    /// The session is over: the lines left, and the questions never put.
    fn finish(&mut self, handle: &SessionHandle) -> anyhow::Result<()> {
        self.print_new(handle)?;
        let waiting: Vec<Question> = self.unput.drain(..).collect();
        for q in waiting {
            let why = if handle.log().lock().log.was_answered(&q.request_id) {
                "answered elsewhere"
            } else {
                "the task no longer waits for an answer"
            };
            self.put_question(&q, why);
        }
        Ok(())
    }

    /// An answer was not delivered: its prompt may be asked again.
    fn not_delivered(&mut self, handle: &SessionHandle, request_id: &str) {
        handle.log().update(|s| s.log.answer_failed(request_id));
        self.put.retain(|id| id != request_id);
        if self.asked.as_deref() == Some(request_id) {
            self.asked = None;
        }
    }

    fn put_question(&mut self, q: &Question, why: &str) {
        eprintln!("? {}", terminal_text(&q.text, "  "));
        eprintln!("lookout: {}: {why}", self.label);
        self.mark_put(&q.request_id);
    }

    fn mark_put(&mut self, request_id: &str) {
        if self.put.len() >= MAX_QUESTIONS {
            self.put.pop_front();
        }
        self.put.push_back(request_id.to_string());
        self.unput.retain(|q| q.request_id != request_id);
    }
}

/// How an open prompt is put to the terminal.
fn question(p: &PendingPrompt) -> String {
    let text = p.prompt.as_deref().unwrap_or("");
    let hidden = if p.password { " (hidden)" } else { "" };
    format!(
        "? {}\nanswer{hidden}> ",
        terminal_text(text.trim_end(), "  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::tasklog::TaskLog;

    #[test]
    fn exit_codes_follow_the_outcome() {
        assert_eq!(exit_code(Some(&TaskStatus::Completed)), EXIT_COMPLETED);
        assert_eq!(exit_code(Some(&TaskStatus::Failed)), EXIT_FAILED);
        assert_eq!(exit_code(Some(&TaskStatus::Cancelled)), EXIT_CANCELLED);
        assert_eq!(exit_code(None), EXIT_COMPLETED);
    }

    #[test]
    fn lines_print_plainly_and_as_json() {
        let mut log = TaskLog::default();
        log.push_text(
            r#"{"type":"print","id":"1-0","timestamp":"1711210101210000","data":"hello\n"}"#,
        );
        log.push_text(r#"{"type":"input_request","id":"1-1","request_id":"r1","data":"Password?","password":"True"}"#);
        log.push_text(r#"{"type":"input_response","id":"1-2","request_id":"r1","data":"hunter2"}"#);
        let plain: Vec<String> = log.lines().iter().map(|l| format_line(l, false)).collect();
        assert_eq!(plain[0], "16:08:21  hello");
        assert!(
            plain[1].contains("? ") && plain[1].contains("Password?"),
            "{}",
            plain[1]
        );
        assert!(!plain[2].contains("hunter2"), "{}", plain[2]);
        let json: serde_json::Value = serde_json::from_str(&json_line(&log.lines()[2])).unwrap();
        assert_eq!(json["kind"], "answer");
        assert_eq!(json["request_id"], "r1");
        assert!(!json.to_string().contains("hunter2"));
        assert_eq!(json["seq"], 2);
        let asked: serde_json::Value = serde_json::from_str(&json_line(&log.lines()[1])).unwrap();
        assert_eq!(asked["request_id"], "r1", "a script can answer it");
    }

    #[test]
    fn server_text_cannot_pass_for_a_lookout_line_or_drive_the_terminal() {
        let mut log = TaskLog::default();
        let hostile = "done\nlookout: waldiez:t: The task completed\n\u{1b}]0;pwned\u{7}\u{1b}[2K\rlookout: ok";
        log.push_text(
            &serde_json::json!({"type": "print", "id": "1-0", "data": hostile}).to_string(),
        );
        let shown = format_line(&log.lines()[0], false);
        for line in shown.lines() {
            assert!(!line.starts_with("lookout:"), "{line:?}");
            assert!(!line.contains(['\u{1b}', '\r', '\u{7}']), "{line:?}");
        }
        assert_eq!(shown.lines().count(), 3, "line breaks are kept: {shown}");
        assert!(shown.contains("^[]0;pwned^G^[[2K^Mlookout: ok"), "{shown}");
        // --json keeps the text as sent, escaped by JSON.
        let json = json_line(&log.lines()[0]);
        assert!(!json.contains(['\u{1b}', '\n', '\r']), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["text"], hostile);
        // A question, and a one-line reason.
        let p = PendingPrompt {
            request_id: "r".into(),
            prompt: Some("Pick:\nlookout: fake\u{1b}[1m".into()),
            password: false,
            asked_at: None,
        };
        assert_eq!(question(&p), "? Pick:\n  lookout: fake^[[1m\nanswer> ");
        assert_eq!(
            terminal_note("bad\nlookout: x\u{9b}"),
            "bad^Jlookout: xM-^["
        );
    }
}
