//! `lookout logs`: follow a task's log in the terminal, answer its prompts from stdin, and
//! exit with the task's outcome.
//!
//! Log lines go to stdout (plain, or one JSON object per line with `--json`); questions and
//! notes go to stderr, so stdout pipes cleanly. Each prompt takes the next line of stdin: typed
//! at a terminal (hidden for password prompts) or piped by a script. A prompt answered by
//! someone else while we wait is noted and the line read for it is not sent.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};

use anyhow::Context as _;

use crate::core::event::{Command, SessionEvent, SessionState, Waker};
use crate::core::redact::Secret;
use crate::core::session::{self, SessionConfig, SessionHandle};
use crate::core::source::SourceSpec;
use crate::core::source::tasklog::{LineKind, LogLevel, LogLine, PendingPrompt, TaskStatus};

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

/// One log line as text: `HH:MM:SS  text` (UTC), with a level or marker where it helps.
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
    let mut out = format!(
        "{time}  {marker}{}",
        line.rendered.text.trim_end_matches('\n')
    );
    if details && let Some(detail) = &line.rendered.detail {
        for l in detail.lines() {
            out.push_str("\n          ");
            out.push_str(l);
        }
    }
    out
}

/// One log line as a JSON object.
pub fn json_line(line: &LogLine) -> String {
    serde_json::json!({
        "seq": line.seq,
        "id": line.id,
        "timestamp_us": line.timestamp.map(|t| t.as_micros()),
        "kind": format!("{:?}", line.rendered.kind).to_ascii_lowercase(),
        "level": line.level.as_ref().map(level_name),
        "text": line.rendered.text,
        "detail": line.rendered.detail,
    })
    .to_string()
}

/// A level's name for `--json`.
fn level_name(level: &LogLevel) -> String {
    match level {
        LogLevel::Debug => "debug".into(),
        LogLevel::Info => "info".into(),
        LogLevel::Warn => "warning".into(),
        LogLevel::Error => "error".into(),
        LogLevel::Other(s) => s.clone(),
    }
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
    let mut follower = Follower::new(opts, waker)?;
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
                            eprintln!("lookout: {label}: {error}");
                            return Ok(EXIT_ERROR);
                        }
                        SessionState::Ended { reason } => {
                            let status = handle.log().lock().log.status().cloned();
                            eprintln!("lookout: {label}: {reason}");
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
                SessionEvent::AnswerFailed { message, .. } => {
                    eprintln!("lookout: the answer was not delivered: {message}");
                    follower.asked = None;
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
        SessionState::WaitingForTask { status } => format!("waiting for the task ({status})"),
        SessionState::Reconnecting {
            error, retry_in_ms, ..
        } => format!(
            "{error}; reconnecting in {:.1} s",
            *retry_in_ms as f64 / 1000.0
        ),
        SessionState::Live(_) => "following".into(),
        _ => String::new(),
    }
}

/// Prints new lines and runs the prompt dialogue.
struct Follower {
    opts: LogsOptions,
    /// The next line sequence number to print.
    next_seq: u64,
    generation: u64,
    stdin: Option<(SyncSender<LineRequest>, Receiver<Option<String>>)>,
    /// The prompt whose answer is being read.
    asked: Option<String>,
}

impl Follower {
    fn new(opts: LogsOptions, waker: Waker) -> anyhow::Result<Self> {
        let stdin = if opts.no_input {
            None
        } else {
            Some(spawn_stdin_reader(waker)?)
        };
        Ok(Follower {
            opts,
            next_seq: 0,
            generation: u64::MAX,
            stdin,
            asked: None,
        })
    }

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
            writeln!(out, "{text}").context("cannot write to stdout")?;
            self.next_seq = line.seq + 1;
        }
        out.flush().context("cannot write to stdout")?;
        Ok(())
    }

    /// Asks stdin for the pending prompt's answer, and sends it when it comes.
    fn prompt(&mut self, handle: &SessionHandle) {
        let (pending, can_answer) = {
            let s = handle.log().lock();
            (s.log.pending_prompt().cloned(), s.can_answer)
        };
        let Some((requests, lines)) = &self.stdin else {
            return;
        };
        if let Some(asked) = self.asked.clone() {
            match lines.try_recv() {
                Ok(Some(line)) => {
                    self.asked = None;
                    if pending.as_ref().is_some_and(|p| p.request_id == asked) {
                        handle.send(Command::Answer {
                            request_id: asked,
                            answer: Secret::new(line),
                        });
                    } else {
                        eprintln!(
                            "lookout: the prompt was answered elsewhere; that line was not sent"
                        );
                    }
                }
                Ok(None) | Err(TryRecvError::Disconnected) => {
                    eprintln!("lookout: stdin is closed; prompts will not be answered");
                    self.stdin = None;
                }
                Err(TryRecvError::Empty) => {}
            }
            return;
        }
        let Some(p) = pending.filter(|_| can_answer) else {
            return;
        };
        if handle.log().lock().log.was_answered(&p.request_id) {
            return;
        }
        eprint!("{}", question(&p));
        let _ = std::io::stderr().flush();
        if requests
            .try_send(LineRequest {
                password: p.password,
            })
            .is_ok()
        {
            self.asked = Some(p.request_id);
        }
    }
}

/// How a prompt is put to the terminal.
fn question(p: &PendingPrompt) -> String {
    let text = p
        .prompt
        .as_deref()
        .unwrap_or("The task is waiting for input");
    let hidden = if p.password { " (hidden)" } else { "" };
    format!("{}\nanswer{hidden}> ", text.trim_end())
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
        assert!(!json.to_string().contains("hunter2"));
        assert_eq!(json["seq"], 2);
    }
}
