//! What a source's driver is, and what the runner lends it.
//!
//! A [`Driver`] owns one source's life: it asks its provider where the stream is now
//! ([`Driver::resolve`]), opens it ([`Driver::connect`]) and runs it until it ends
//! ([`Driver::run`]), keeping its own REST client and per-source state. The runner
//! ([`super::runner`]) does everything that is the same for every source: backoff and
//! reconnection, the states a front end sees, and command routing. A driver reaches the
//! session through a [`Session`]: its [`Outlet`] (frames, stats, log, events) and its
//! [`Commands`] (what the operator asks, already routed).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ClipboardSlot, SessionConfig, SessionPeer};
use crate::core::error::CoreError;
use crate::core::event::{
    Command, Note, SessionError, SessionEvent, SessionState, StreamStats, Waker,
};
use crate::core::frame::FrameSlot;
use crate::core::input::InputEvent;
use crate::core::log_slot::LogSlot;
use crate::core::record::TrackSink;
use crate::core::record::format::Kind;
use crate::core::redact::Secret;

/// One kind of source, from its provider to its decoded output.
pub(crate) trait Driver: Send + 'static {
    /// Where one connection goes, as the provider says now.
    type Endpoint: Send;
    /// An open connection, ready to run.
    type Connection: Send;
    /// The source asks the operator questions: answers are routed to it.
    const PROMPTS: bool = false;
    /// The source takes operator input (mouse, keys, paste): input is routed to it.
    const INPUT: bool = false;

    /// Asks the provider where the stream is, waiting (with `s.commands.sleep`) while the
    /// task has not started. `had_live`: an earlier connection of this session was live.
    fn resolve(
        &mut self,
        s: &mut Session,
        had_live: bool,
    ) -> impl Future<Output = Result<Self::Endpoint, Resolve>> + Send;

    /// Opens the stream. The runner gives up on it when the operator stops or retries.
    fn connect(
        &mut self,
        endpoint: Self::Endpoint,
        out: &Outlet,
    ) -> impl Future<Output = Result<Self::Connection, ConnEnd>> + Send;

    /// Runs one connection until it ends, serving `s.commands.next()` beside its socket.
    fn run(
        &mut self,
        connection: Self::Connection,
        s: &mut Session,
    ) -> impl Future<Output = ConnEnd> + Send;
}

/// How watching came to a stop.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The operator stopped the session (or dropped the handle).
    Stopped,
    /// The stream is over for good.
    Ended(String),
    /// The stream is over for good: the provider says the task failed.
    TaskFailed(String),
    /// A failure that needs the operator.
    Failed(SessionError),
}

impl Stop {
    /// A failure from a core error.
    pub fn failed(error: &CoreError) -> Stop {
        Stop::Failed(error.to_session_error())
    }

    pub fn into_state(self) -> SessionState {
        match self {
            Stop::Stopped => SessionState::Ended {
                reason: "stopped".into(),
                task_failed: false,
            },
            Stop::Ended(reason) => SessionState::Ended {
                reason,
                task_failed: false,
            },
            Stop::TaskFailed(reason) => SessionState::Ended {
                reason,
                task_failed: true,
            },
            Stop::Failed(error) => SessionState::Failed { error },
        }
    }
}

/// How one connection ended.
#[derive(Debug)]
pub(crate) enum ConnEnd {
    /// The operator stopped the session.
    Stop,
    /// Connect again at once (the operator's Retry, or the source asks for it).
    RetryNow,
    /// The stream is over, or failed for good.
    Over(Stop),
    /// The connection failed or dropped; the runner backs off and tries again if it may.
    Dropped { was_live: bool, error: CoreError },
}

impl ConnEnd {
    /// A connection that failed before it was live.
    pub fn failed(error: impl Into<CoreError>) -> ConnEnd {
        ConnEnd::Dropped {
            was_live: false,
            error: error.into(),
        }
    }
}

/// Why resolving gave no endpoint.
#[derive(Debug)]
pub(crate) enum Resolve {
    /// Nothing to retry: the session stops.
    Stop(Stop),
    /// The runner retries a retryable error after a pause.
    Error(CoreError),
}

impl<E: Into<CoreError>> From<E> for Resolve {
    fn from(e: E) -> Self {
        Resolve::Error(e.into())
    }
}

/// A session's shared outputs: what a driver writes, what the front end reads.
pub(crate) struct Outlet {
    /// The source as the operator may see it (secrets hidden), for diagnostics.
    pub label: String,
    pub config: SessionConfig,
    pub frames: Arc<FrameSlot>,
    pub stats: Arc<StreamStats>,
    pub log: Arc<LogSlot>,
    pub waker: Waker,
    clipboard: Arc<ClipboardSlot>,
    events: mpsc::Sender<SessionEvent>,
}

impl Outlet {
    /// Sends an event (waiting for room) and wakes the front end.
    pub async fn emit(&self, event: SessionEvent) {
        if let SessionEvent::State(state) = &event {
            tracing::info!(source = %self.label, state = state.label(), "{state:?}");
            if let Some(record) = &self.config.record {
                record.put_json(Kind::Event, &state_event(state));
            }
        }
        let _ = self.events.send(event).await;
        self.wake();
    }

    /// The remote set its clipboard: replaces a text the front end has not read yet, or
    /// tells it to look.
    pub async fn remote_clipboard(&self, text: String) {
        if self.clipboard.put(text) {
            self.emit(SessionEvent::RemoteClipboard).await;
        }
    }

    pub async fn set_state(&self, state: SessionState) {
        self.emit(SessionEvent::State(state)).await;
    }

    pub fn wake(&self) {
        (self.waker)();
    }
}

/// A state as a recording's `Event` (docs/recording-format.md).
fn state_event(state: &SessionState) -> serde_json::Value {
    let message = match state {
        SessionState::Reconnecting { error, .. } | SessionState::Failed { error } => {
            Some(error.message.clone())
        }
        SessionState::Ended { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    serde_json::json!({"type": "state", "state": state.label(), "message": message})
}

/// The operator's commands, as a running connection sees them.
#[derive(Debug)]
pub(crate) enum DriverCommand {
    /// Input, only to drivers that take input ([`Driver::INPUT`]).
    Input(InputEvent),
    /// Text for the remote clipboard, only to drivers that take input.
    Paste(String),
    Refresh,
    JumpToLive,
    /// An answer, only to drivers that ask questions ([`Driver::PROMPTS`]).
    Answer {
        request_id: String,
        answer: Secret,
    },
}

/// What [`Commands::next`] hands a running connection.
#[derive(Debug)]
pub(crate) enum Routed {
    /// The connection ends (Stop, Retry, or the handle dropped).
    End(ConnEnd),
    Command(DriverCommand),
}

/// Delivers answers while the task's socket is down (Waldiez Runner's REST API).
pub(crate) trait OfflineAnswers: Send + Sync {
    fn send<'a>(
        &'a self,
        request_id: &'a str,
        answer: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), CoreError>> + Send + 'a>>;
}

/// The command channel, routed: Stop and Retry are the runner's, answers go where they can.
pub(crate) struct Commands {
    rx: mpsc::Receiver<Command>,
    events: mpsc::Sender<SessionEvent>,
    waker: Waker,
    label: String,
    prompts: bool,
    input: bool,
    /// Where answers go while not connected, once the driver knows.
    pub offline: Option<Arc<dyn OfflineAnswers>>,
    /// The recording the operator's notes and a summary of their input go to.
    record: Option<TrackSink>,
}

impl Commands {
    /// The next command for a running connection. Stop and Retry end it; an answer to a
    /// source that asks nothing is refused, and input to one that takes none dropped, here.
    /// Cancel-safe: it may be one branch of a `select!`.
    pub async fn next(&mut self) -> Routed {
        loop {
            let received = self.rx.recv().await;
            if let Some(command) = &received {
                self.record(command);
            }
            let command = match received {
                Some(Command::Note(_)) => continue,
                Some(Command::Stop) | None => return Routed::End(ConnEnd::Stop),
                Some(Command::Retry) => return Routed::End(ConnEnd::RetryNow),
                Some(Command::Refresh) => DriverCommand::Refresh,
                Some(Command::JumpToLive) => DriverCommand::JumpToLive,
                Some(Command::Answer { request_id, .. }) if !self.prompts => {
                    self.tell(SessionEvent::AnswerFailed {
                        request_id,
                        message: "this source asks no questions".into(),
                    });
                    continue;
                }
                Some(Command::Answer { request_id, answer }) => {
                    DriverCommand::Answer { request_id, answer }
                }
                Some(Command::Input(_) | Command::PasteText(_)) if !self.input => {
                    tracing::debug!(source = %self.label, "this source takes no input: dropped");
                    continue;
                }
                Some(Command::Input(ev)) => DriverCommand::Input(ev),
                Some(Command::PasteText(text)) => DriverCommand::Paste(text),
            };
            return Routed::Command(command);
        }
    }

    /// Records what a recording marks of `command`: the operator's notes, where they
    /// clicked and how many keys they typed (never what: operators type passwords into
    /// remote pages), that an answer was sent (its text is in the log, masked if secret).
    fn record(&self, command: &Command) {
        let Some(record) = &self.record else {
            return;
        };
        let event = match command {
            Command::Note(Note::ControlTaken) => {
                serde_json::json!({"type": "control", "taken": true})
            }
            Command::Note(Note::ControlReleased) => {
                serde_json::json!({"type": "control", "taken": false})
            }
            Command::Note(Note::Bookmark(name)) => {
                serde_json::json!({"type": "bookmark", "name": name})
            }
            Command::Input(InputEvent::PointerButton { at, down: true, .. }) if self.input => {
                serde_json::json!({"type": "input", "click": [at.x, at.y]})
            }
            Command::Input(InputEvent::Key { down: true, .. }) if self.input => {
                serde_json::json!({"type": "input", "keys": 1})
            }
            Command::Input(InputEvent::Text { text }) if self.input => {
                serde_json::json!({"type": "input", "keys": text.chars().count()})
            }
            Command::PasteText(text) if self.input => {
                serde_json::json!({"type": "input", "pasted_chars": text.chars().count()})
            }
            Command::Answer { request_id, .. } if self.prompts => {
                serde_json::json!({"type": "answer", "request_id": request_id})
            }
            _ => return,
        };
        record.put_json(Kind::Event, &event);
    }

    /// Waits while a connection opens: Stop and Retry end the wait; an answer cannot go
    /// out yet and is refused with a reason (never dropped silently).
    pub async fn until_stop_or_retry(&mut self) -> ConnEnd {
        loop {
            let received = self.rx.recv().await;
            if let Some(command @ Command::Note(_)) = &received {
                self.record(command);
            }
            match received {
                Some(Command::Stop) | None => return ConnEnd::Stop,
                Some(Command::Retry) => return ConnEnd::RetryNow,
                Some(Command::Answer { request_id, .. }) => {
                    self.tell(SessionEvent::AnswerFailed {
                        request_id,
                        message: "Still connecting to the task; try again in a moment".into(),
                    });
                }
                Some(_) => {}
            }
        }
    }

    /// Sleeps `ms` while serving commands: answers go out without the socket; `Some` if
    /// the operator stopped the session (Retry ends the sleep early).
    pub async fn sleep(&mut self, ms: u64) -> Option<Stop> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return None,
                cmd = self.rx.recv() => match cmd {
                    Some(note @ Command::Note(_)) => self.record(&note),
                    Some(Command::Stop) | None => return Some(Stop::Stopped),
                    Some(Command::Retry) => return None,
                    Some(Command::Answer { request_id, answer }) => {
                        let event = self.answer_offline(request_id, &answer).await;
                        self.tell_waiting(event).await;
                    }
                    Some(_) => {}
                },
            }
        }
    }

    /// After a final state: true when the operator asks to start again, false on Stop.
    pub async fn wait_for_retry(&mut self) -> bool {
        loop {
            match self.rx.recv().await {
                Some(note @ Command::Note(_)) => self.record(&note),
                Some(Command::Retry) => return true,
                Some(Command::Stop) | None => return false,
                Some(_) => {}
            }
        }
    }

    /// Answers without the socket: over the driver's offline route when it has one, else
    /// says why it cannot.
    pub async fn answer_offline(&self, request_id: String, answer: &Secret) -> SessionEvent {
        match &self.offline {
            Some(route) => match route.send(&request_id, answer).await {
                Ok(()) => SessionEvent::AnswerSent {
                    request_id,
                    rest: true,
                },
                Err(e) => SessionEvent::AnswerFailed {
                    request_id,
                    message: e.user_message(),
                },
            },
            None if self.prompts => SessionEvent::AnswerFailed {
                request_id,
                message: "Not connected to the task; try again when it is live".into(),
            },
            None => SessionEvent::AnswerFailed {
                request_id,
                message: "this source asks no questions".into(),
            },
        }
    }

    /// Sends an event without waiting (a full queue drops it) and wakes the front end.
    fn tell(&self, event: SessionEvent) {
        let _ = self.events.try_send(event);
        (self.waker)();
    }

    /// Sends an event, waiting for room, and wakes the front end.
    pub async fn tell_waiting(&self, event: SessionEvent) {
        let _ = self.events.send(event).await;
        (self.waker)();
    }
}

/// What the runner lends a driver: its outputs and its routed commands.
pub(crate) struct Session {
    pub out: Outlet,
    pub commands: Commands,
}

impl Session {
    /// Splits a session's core end for a driver that asks questions (`prompts`) and takes
    /// input (`input`) or not.
    pub fn new(
        peer: SessionPeer,
        config: SessionConfig,
        label: String,
        prompts: bool,
        input: bool,
    ) -> Self {
        let SessionPeer {
            frames,
            stats,
            log,
            clipboard,
            events,
            commands,
            waker,
        } = peer;
        Session {
            commands: Commands {
                rx: commands,
                events: events.clone(),
                waker: waker.clone(),
                label: label.clone(),
                prompts,
                input,
                offline: None,
                record: config.record.clone(),
            },
            out: Outlet {
                label,
                config,
                frames,
                stats,
                log,
                waker,
                clipboard,
                events,
            },
        }
    }
}
