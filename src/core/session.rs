//! Sessions: one async task per watched source, and the handle a front end holds.
//!
//! [`spawn`] starts the task on the shared runtime and returns a [`SessionHandle`] with the
//! event receiver, the command sender, the [`FrameSlot`] and the [`StreamStats`].

mod hls;
mod preview;
mod tasklog;

pub use hls::STREAM_ENDED;

pub use tasklog::{answer_message, outcome_text};

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};

use super::audio::AudioSink;
use super::config::Settings;
use super::error::CoreError;
use super::event::{Command, LiveInfo, SessionEvent, SessionState, StreamStats, Waker};
use super::frame::FrameSlot;
use super::log_slot::LogSlot;
use super::net::{self, BytePipe, ChannelWriter, NetError};
use super::provider::agentstation::AgentStationClient;
use super::provider::chaser::ChaserClient;
use super::provider::optexity::{OptexityClient, OptexityError};
use super::provider::waldiez::WaldiezClient;
use super::redact::Secret;
use super::source::SourceSpec;
use super::source::rfb::input::RfbInputQueue;
use super::source::rfb::{RfbClient, RfbError, RfbOptions, ServerEvent, messages};

/// Capacity of the core → front end event channel.
pub const EVENT_CAPACITY: usize = 256;
/// Capacity of the front end → core command channel.
pub const COMMAND_CAPACITY: usize = 256;

/// What a front end holds for one session.
#[derive(Debug)]
pub struct SessionHandle {
    label: String,
    frames: Arc<FrameSlot>,
    stats: Arc<StreamStats>,
    log: Arc<LogSlot>,
    events: mpsc::Receiver<SessionEvent>,
    commands: mpsc::Sender<Command>,
}

/// The core's end of a session's channels.
pub struct SessionPeer {
    pub frames: Arc<FrameSlot>,
    pub stats: Arc<StreamStats>,
    pub log: Arc<LogSlot>,
    pub events: mpsc::Sender<SessionEvent>,
    pub commands: mpsc::Receiver<Command>,
    pub waker: Waker,
}

impl SessionHandle {
    /// A handle and its core end, joined by fresh channels: what [`spawn`] uses, and what
    /// tests and replays use to drive a front end by hand.
    pub fn pair(label: impl Into<String>, waker: Waker) -> (SessionHandle, SessionPeer) {
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_CAPACITY);
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
        let frames = Arc::new(FrameSlot::new());
        let stats = Arc::new(StreamStats::default());
        let log = Arc::new(LogSlot::default());
        (
            SessionHandle {
                label: label.into(),
                frames: frames.clone(),
                stats: stats.clone(),
                log: log.clone(),
                events: ev_rx,
                commands: cmd_tx,
            },
            SessionPeer {
                frames,
                stats,
                log,
                events: ev_tx,
                commands: cmd_rx,
                waker,
            },
        )
    }

    /// The source as the operator may see it (secrets hidden).
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn frames(&self) -> &Arc<FrameSlot> {
        &self.frames
    }

    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// The task log (empty and inactive for picture sources).
    pub fn log(&self) -> &Arc<LogSlot> {
        &self.log
    }

    /// The next pending event, without waiting.
    pub fn try_recv_event(&mut self) -> Option<SessionEvent> {
        self.events.try_recv().ok()
    }

    /// Waits for the next event; `None` once the session task has ended.
    pub async fn recv_event(&mut self) -> Option<SessionEvent> {
        self.events.recv().await
    }

    /// Sends a command without waiting; false if the session is gone or its queue is full.
    pub fn send(&self, cmd: Command) -> bool {
        self.commands.try_send(cmd).is_ok()
    }
}

/// How long to wait between reconnection attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial_ms: u64,
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial_ms: 250,
            max_ms: 10_000,
        }
    }
}

impl Backoff {
    /// The pause before attempt `failures` (1-based): exponential, capped, with jitter so
    /// many viewers of one task do not reconnect in step. `unit` in 0.0..1.0 picks the
    /// point in the upper half of the window.
    pub fn delay_ms(&self, failures: u32, unit: f64) -> u64 {
        let exp = failures.saturating_sub(1).min(20);
        let ceiling = self
            .initial_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_ms)
            .max(1);
        let half = ceiling / 2;
        half + ((ceiling - half) as f64 * unit.clamp(0.0, 1.0)) as u64
    }
}

/// Everything a session needs besides its source.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub settings: Settings,
    pub backoff: Backoff,
    /// How often to ask for a queued task's status (and a running Waldiez task's, whose
    /// socket does not say when it ends).
    pub status_poll_ms: u64,
    /// Reconnect after a dropped stream (the viewer) or fail at once (headless snapshots).
    pub reconnect: bool,
    /// Where video streams' sound goes (`None`: no sound is decoded).
    pub audio: Option<Arc<dyn AudioSink>>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            backoff: Backoff::default(),
            status_poll_ms: 1_000,
            reconnect: true,
            audio: None,
        }
    }
}

impl SessionConfig {
    fn rfb_options(&self, url_password: Option<&Secret>) -> RfbOptions {
        self.settings.rfb.options(url_password)
    }
}

/// Starts watching `source` on the runtime behind `rt`.
pub fn spawn(
    rt: &tokio::runtime::Handle,
    source: SourceSpec,
    config: SessionConfig,
    waker: Waker,
) -> SessionHandle {
    let (handle, peer) = SessionHandle::pair(source.label(), waker);
    rt.spawn(async move {
        let mut runner = Runner::new(peer, source, config);
        runner.run().await;
        tracing::debug!(source = %runner.source, "session task ended");
    });
    handle
}

/// Where a stream is reached.
enum Endpoint {
    WebSocket(url::Url),
    Tcp {
        host: String,
        port: u16,
    },
    /// A frame-protocol WebSocket; with the Chaser token it came from, if any.
    Preview {
        url: url::Url,
        minted: Option<Box<preview::Minted>>,
    },
    /// A task log (runner socket or SSE).
    Log(tasklog::LogEndpoint),
    /// An HLS stream.
    Hls(hls::HlsEndpoint),
}

/// How an attempt to watch came to a stop.
enum Stop {
    /// The operator stopped the session (or dropped the handle).
    Stopped,
    /// The stream is over for good.
    Ended(String),
    /// A failure that needs the operator.
    Failed(String),
}

/// How one connection ended.
enum ConnEnd {
    Stop,
    RetryNow,
    /// The stream is over, or failed for good.
    Over(Stop),
    Dropped {
        was_live: bool,
        error: CoreError,
    },
}

/// What the decoder thread tells the session task.
enum DecoderNote {
    Live(LiveInfo),
    Bell,
    CutText(String),
    /// The server confirmed the QEMU extended key event pseudo-encoding.
    QemuKeys,
}

struct Runner {
    peer: SessionPeer,
    source: SourceSpec,
    config: SessionConfig,
    optexity: Option<OptexityClient>,
    chaser: Option<ChaserClient>,
    waldiez: Option<WaldiezClient>,
    agentstation: Option<AgentStationClient>,
    /// The last SSE event id seen, sent as `Last-Event-ID` on reconnecting.
    sse_last_event_id: Option<String>,
    live: Option<LiveInfo>,
    /// Set when the provider said the stream takes no input (preview close code 4403).
    input_refused: Option<String>,
    /// HLS: the stream ended (or its playlist went away) and one fresh resolve is under
    /// way; the next end is final.
    hls_end_seen: bool,
    /// AgentStation: the recorder was started for this session (`--start-recording`).
    recording_started: bool,
}

impl Runner {
    fn new(peer: SessionPeer, source: SourceSpec, config: SessionConfig) -> Self {
        Self {
            peer,
            source,
            config,
            optexity: None,
            chaser: None,
            waldiez: None,
            agentstation: None,
            sse_last_event_id: None,
            live: None,
            input_refused: None,
            hls_end_seen: false,
            recording_started: false,
        }
    }

    async fn emit(&mut self, event: SessionEvent) {
        if let SessionEvent::State(state) = &event {
            tracing::info!(source = %self.source, state = state.label(), "{state:?}");
        }
        let _ = self.peer.events.send(event).await;
        (self.peer.waker)();
    }

    async fn run(&mut self) {
        loop {
            let stop = self.watch().await;
            let stopped = matches!(stop, Stop::Stopped);
            let state = match stop {
                Stop::Stopped => SessionState::Ended {
                    reason: "stopped".into(),
                },
                Stop::Ended(reason) => SessionState::Ended { reason },
                Stop::Failed(message) => SessionState::Failed { message },
            };
            self.emit(SessionEvent::State(state)).await;
            if stopped {
                return;
            }
            // Wait for the operator.
            loop {
                match self.peer.commands.recv().await {
                    Some(Command::Retry) => break,
                    Some(Command::Stop) | None => return,
                    Some(_) => {}
                }
            }
        }
    }

    /// Tells the front end that this source takes no answers (it asks no questions).
    async fn refuse_answer(&mut self, request_id: String) {
        self.emit(SessionEvent::AnswerFailed {
            request_id,
            message: "this source asks no questions".into(),
        })
        .await;
    }

    /// Resolves, connects and reconnects until something final happens.
    async fn watch(&mut self) -> Stop {
        let mut failures = 0u32;
        let mut had_live = false;
        loop {
            self.emit(SessionEvent::State(SessionState::Loading)).await;
            let endpoint = match self.resolve(had_live).await {
                Ok(ep) => ep,
                Err(Resolve::Stop(stop)) => return stop,
                Err(Resolve::Error(e)) if e.is_retryable() && self.config.reconnect => {
                    failures += 1;
                    let paused = match e.retry_after() {
                        Some(wait) => self.pause_for(failures, wait, e.user_message()).await,
                        None => self.pause(failures, e.user_message()).await,
                    };
                    if let Some(stop) = paused {
                        return stop;
                    }
                    continue;
                }
                Err(Resolve::Error(e)) => return Stop::Failed(e.user_message()),
            };
            self.emit(SessionEvent::State(SessionState::Connecting {
                attempt: failures + 1,
            }))
            .await;
            match self.connect_and_run(endpoint).await {
                ConnEnd::Stop => return Stop::Stopped,
                ConnEnd::Over(stop) => return stop,
                ConnEnd::RetryNow => failures = 0,
                ConnEnd::Dropped { was_live, error } => {
                    tracing::info!(source = %self.source, "stream dropped: {error}");
                    had_live |= was_live;
                    if !error.is_retryable() || !self.config.reconnect {
                        return Stop::Failed(error.user_message());
                    }
                    failures = if was_live { 1 } else { failures + 1 };
                    if let Some(stop) = self.pause(failures, error.user_message()).await {
                        return stop;
                    }
                }
            }
        }
    }

    /// Waits out a backoff, showing why; returns early on Stop (or Retry, to go at once).
    async fn pause(&mut self, failures: u32, reason: String) -> Option<Stop> {
        let delay_ms = self
            .config
            .backoff
            .delay_ms(failures, rand::random::<f64>());
        self.emit(SessionEvent::State(SessionState::Reconnecting {
            attempt: failures,
            retry_in_ms: delay_ms,
            reason,
        }))
        .await;
        self.sleep(delay_ms).await
    }

    /// Waits `wait` (the provider's Retry-After), showing why.
    async fn pause_for(&mut self, failures: u32, wait: Duration, reason: String) -> Option<Stop> {
        let delay_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.emit(SessionEvent::State(SessionState::Reconnecting {
            attempt: failures,
            retry_in_ms: delay_ms,
            reason,
        }))
        .await;
        self.sleep(delay_ms).await
    }

    /// Sleeps while serving commands; `Some` if the operator stopped the session.
    async fn sleep(&mut self, ms: u64) -> Option<Stop> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return None,
                cmd = self.peer.commands.recv() => match cmd {
                    Some(Command::Stop) | None => return Some(Stop::Stopped),
                    Some(Command::Retry) => return None,
                    Some(Command::Answer { request_id, answer }) => {
                        self.answer_without_socket(request_id, answer).await;
                    }
                    Some(_) => {}
                },
            }
        }
    }

    fn optexity(&mut self) -> Result<OptexityClient, CoreError> {
        if let Some(c) = &self.optexity {
            return Ok(c.clone());
        }
        let http = net::http_client()?;
        let client = OptexityClient::new(
            http,
            self.config.settings.optexity.base_url(),
            self.config.settings.optexity.api_key.clone(),
        );
        self.optexity = Some(client.clone());
        Ok(client)
    }

    fn chaser(&mut self) -> Result<ChaserClient, CoreError> {
        if let Some(c) = &self.chaser {
            return Ok(c.clone());
        }
        let client = ChaserClient::new(
            net::http_client()?,
            self.config.settings.chaser.base_url(),
            self.config.settings.chaser.key.clone(),
        );
        self.chaser = Some(client.clone());
        Ok(client)
    }

    /// Turns the source into an endpoint, asking the provider for a fresh URL.
    async fn resolve(&mut self, had_live: bool) -> Result<Endpoint, Resolve> {
        let task_id = match &self.source {
            SourceSpec::Waldiez { .. }
            | SourceSpec::TaskLog { .. }
            | SourceSpec::AgentStationLog { .. } => {
                return self.resolve_log().await.map(Endpoint::Log);
            }
            SourceSpec::AgentStation { workstation_id } => {
                let id = workstation_id.clone();
                return self.resolve_agentstation(&id).await.map(Endpoint::Hls);
            }
            SourceSpec::Hls { url } => {
                return Ok(Endpoint::Hls(hls::HlsEndpoint {
                    main: url.clone(),
                    audio: None,
                }));
            }
            SourceSpec::Preview { url } => {
                return Ok(Endpoint::Preview {
                    url: url.clone(),
                    minted: None,
                });
            }
            SourceSpec::Chaser { session_id } => {
                let session_id = session_id.clone();
                let client = self.chaser().map_err(Resolve::Error)?;
                let at = SystemTime::now();
                let token = client
                    .mint(&session_id)
                    .await
                    .map_err(|e| Resolve::Error(e.into()))?;
                return Ok(Endpoint::Preview {
                    url: token.url.clone(),
                    minted: Some(Box::new(preview::Minted {
                        token,
                        at,
                        client,
                        session_id,
                    })),
                });
            }
            SourceSpec::RfbWebSocket { url } => return Ok(Endpoint::WebSocket(url.clone())),
            SourceSpec::RfbTcp { host, port, .. } => {
                return Ok(Endpoint::Tcp {
                    host: host.clone(),
                    port: *port,
                });
            }
            SourceSpec::Optexity { task_id } => task_id.clone(),
        };
        let client = self.optexity().map_err(Resolve::Error)?;
        loop {
            let not_running = match client.stream_url(&task_id).await {
                Ok(url) => return Ok(Endpoint::WebSocket(url)),
                Err(e @ OptexityError::TaskNotRunning { .. }) => e,
                Err(e) => return Err(Resolve::Error(e.into())),
            };
            match client.status(&task_id).await {
                Ok(Some(status)) if status.is_finished() => {
                    let why = if had_live {
                        format!("the task is over ({})", status.as_str())
                    } else {
                        format!("{not_running}; the task is over ({})", status.as_str())
                    };
                    return Err(Resolve::Stop(Stop::Ended(why)));
                }
                Ok(Some(status)) => {
                    if status.is_pending() {
                        let status = status.as_str().to_string();
                        self.emit(SessionEvent::State(SessionState::WaitingForTask { status }))
                            .await;
                    }
                    // Pending, or running but not yet streaming: ask again shortly.
                    if let Some(stop) = self.sleep(self.config.status_poll_ms).await {
                        return Err(Resolve::Stop(stop));
                    }
                }
                Ok(None) if had_live => {
                    return Err(Resolve::Stop(Stop::Ended(
                        "the task is no longer running".into(),
                    )));
                }
                Ok(None) => return Err(Resolve::Error(not_running.into())),
                Err(e) => return Err(Resolve::Error(e.into())),
            }
        }
    }

    async fn connect_and_run(&mut self, endpoint: Endpoint) -> ConnEnd {
        let endpoint = match endpoint {
            Endpoint::Preview { url, minted } => {
                return self.run_preview(url, minted.map(|m| *m)).await;
            }
            Endpoint::Log(log) => return self.run_log(log).await,
            Endpoint::Hls(hls) => return self.run_hls(hls).await,
            other => other,
        };
        let pipe = tokio::select! {
            pipe = open(endpoint, self.peer.stats.clone()) => pipe,
            cmd = wait_stop_or_retry(&mut self.peer.commands, &self.peer.events) => return cmd,
        };
        let pipe = match pipe {
            Ok(p) => p,
            Err(error) => {
                return ConnEnd::Dropped {
                    was_live: false,
                    error,
                };
            }
        };
        // `_guard` closes the socket when this function returns, however it returns.
        let BytePipe {
            incoming,
            outgoing,
            mut closed,
            guard: _guard,
        } = pipe;
        let url_password = match &self.source {
            SourceSpec::RfbTcp { password, .. } => password.clone(),
            _ => None,
        };
        let (notes_tx, mut notes) = mpsc::channel(16);
        let mut decoder = spawn_decoder(DecoderParts {
            incoming,
            outgoing: outgoing.clone(),
            options: self.config.rfb_options(url_password.as_ref()),
            frames: self.peer.frames.clone(),
            stats: self.peer.stats.clone(),
            waker: self.peer.waker.clone(),
            notes: notes_tx,
        });
        let mut was_live = false;
        let mut net_error: Option<NetError> = None;
        let mut notes_open = true;
        // Operator input goes straight to the socket writer, beside (never behind) the
        // decoder; only once the handshake is done, so it cannot split handshake messages.
        let mut input = RfbInputQueue::new();
        let mut outgoing_open = true;
        loop {
            tokio::select! {
                permit = outgoing.reserve(), if was_live && outgoing_open && input.has_pending() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(msg) = input.pop() {
                                permit.send(msg);
                            }
                        }
                        // The socket is gone; `closed` and the decoder say why.
                        Err(_) => outgoing_open = false,
                    }
                }
                note = notes.recv(), if notes_open => match note {
                    Some(DecoderNote::QemuKeys) => input.set_qemu_key_events(true),
                    Some(DecoderNote::Live(info)) => {
                        was_live = true;
                        self.live = Some(info.clone());
                        self.emit(SessionEvent::State(SessionState::Live(info))).await;
                    }
                    Some(DecoderNote::Bell) => self.emit(SessionEvent::Bell).await,
                    Some(DecoderNote::CutText(text)) => {
                        self.emit(SessionEvent::RemoteClipboard(text)).await;
                    }
                    None => notes_open = false,
                },
                result = &mut decoder => {
                    let error = match result {
                        Ok(Ok(())) => CoreError::Net(NetError::Closed(None)),
                        // The socket's own reason beats the decoder's "unexpected end of file".
                        Ok(Err(RfbError::Io(_) | RfbError::Closed)) | Err(_) => {
                            let why = match net_error.take() {
                                Some(e) => e,
                                None => match tokio::time::timeout(Duration::from_millis(200), &mut closed).await {
                                    Ok(Ok(e)) => e,
                                    _ => NetError::Closed(None),
                                },
                            };
                            CoreError::Net(why)
                        }
                        Ok(Err(e)) => CoreError::Rfb(e),
                    };
                    return ConnEnd::Dropped { was_live, error };
                }
                why = &mut closed, if net_error.is_none() => {
                    // Let the decoder finish what it has; its end arrives next.
                    net_error = Some(why.unwrap_or(NetError::Closed(None)));
                }
                cmd = self.peer.commands.recv() => match cmd {
                    Some(Command::Stop) | None => return ConnEnd::Stop,
                    Some(Command::Retry) => return ConnEnd::RetryNow,
                    Some(Command::JumpToLive) => {}
                    Some(Command::Answer { request_id, .. }) => self.refuse_answer(request_id).await,
                    Some(Command::Input(ev)) if was_live => input.push(ev),
                    Some(Command::PasteText(text)) if was_live => input.push_paste(&text),
                    Some(Command::Input(_) | Command::PasteText(_)) => {
                        tracing::debug!(source = %self.source, "input before the stream is live: dropped");
                    }
                    Some(Command::Refresh) => {
                        if let Some(live) = &self.live {
                            let (w, h) = (clamp_u16(live.width), clamp_u16(live.height));
                            let _ = outgoing.try_send(messages::update_request(false, 0, 0, w, h).to_vec());
                        }
                    }
                },
            }
        }
    }
}

/// Opens the transport for an endpoint.
async fn open(endpoint: Endpoint, stats: Arc<StreamStats>) -> Result<BytePipe, CoreError> {
    Ok(match endpoint {
        Endpoint::WebSocket(url) => {
            net::pipe_websocket(net::connect_ws(&url, &["binary"]).await?, stats)
        }
        Endpoint::Tcp { host, port } => net::pipe_tcp(net::connect_tcp(&host, port).await?, stats)?,
        Endpoint::Preview { .. } | Endpoint::Log(_) | Endpoint::Hls(_) => {
            return Err(NetError::Connect {
                target: "preview, task log or HLS".into(),
                reason: "not a byte stream".into(),
            }
            .into());
        }
    })
}

enum Resolve {
    Stop(Stop),
    Error(CoreError),
}

fn clamp_u16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// Serves commands while a connection is being opened: Stop and Retry end the wait; an
/// answer cannot go out yet and is refused with a reason (never dropped silently).
async fn wait_stop_or_retry(
    commands: &mut mpsc::Receiver<Command>,
    events: &mpsc::Sender<SessionEvent>,
) -> ConnEnd {
    loop {
        match commands.recv().await {
            Some(Command::Stop) | None => return ConnEnd::Stop,
            Some(Command::Retry) => return ConnEnd::RetryNow,
            Some(Command::Answer { request_id, .. }) => {
                let _ = events.try_send(SessionEvent::AnswerFailed {
                    request_id,
                    message: "Still connecting to the task; try again in a moment".into(),
                });
            }
            Some(_) => {}
        }
    }
}

struct DecoderParts {
    incoming: net::Incoming,
    outgoing: mpsc::Sender<Vec<u8>>,
    options: RfbOptions,
    frames: Arc<FrameSlot>,
    stats: Arc<StreamStats>,
    waker: Waker,
    notes: mpsc::Sender<DecoderNote>,
}

/// Runs the RFB client on its own named thread; the receiver resolves when it stops.
fn spawn_decoder(parts: DecoderParts) -> oneshot::Receiver<Result<(), RfbError>> {
    let (done_tx, done_rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("rfb-decode".into())
        .spawn(move || {
            let _ = done_tx.send(decode(parts));
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the decoder thread: {e}");
    }
    done_rx
}

/// The decoder thread's body: handshake, then apply messages until the stream ends.
fn decode(parts: DecoderParts) -> Result<(), RfbError> {
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, parts.incoming.into_reader());
    let mut writer = ChannelWriter::new(parts.outgoing);
    let mut client = RfbClient::connect(&mut reader, &mut writer, &parts.options)?;
    client.publish_to(parts.frames.clone());
    let live_info = |client: &RfbClient| {
        let info = client.info();
        LiveInfo {
            width: client.framebuffer().width(),
            height: client.framebuffer().height(),
            desktop_name: info.name.chars().take(256).collect(),
            protocol: format!("RFB 3.{}", info.minor_version),
            input: Default::default(),
        }
    };
    if parts
        .notes
        .blocking_send(DecoderNote::Live(live_info(&client)))
        .is_err()
    {
        return Ok(());
    }
    let mut qemu_keys_noted = false;
    loop {
        match client.read_message(&mut reader, &mut writer)? {
            ServerEvent::Update(update) => {
                if let Some(cursor) = update.cursor {
                    parts.frames.set_cursor(cursor);
                }
                if let Some((x, y)) = update.pointer {
                    parts.frames.set_pointer(x, y);
                }
                parts.stats.add_update(update.rects);
                if let Some(enc) = update.last_encoding {
                    parts.stats.set_encoding(enc);
                }
                if !qemu_keys_noted && client.supports_qemu_key_events() {
                    qemu_keys_noted = true;
                    if parts.notes.blocking_send(DecoderNote::QemuKeys).is_err() {
                        return Ok(());
                    }
                }
                if update.resized
                    && parts
                        .notes
                        .blocking_send(DecoderNote::Live(live_info(&client)))
                        .is_err()
                {
                    return Ok(());
                }
                parts.frames.notify(&parts.waker);
            }
            ServerEvent::Bell => {
                let _ = parts.notes.try_send(DecoderNote::Bell);
            }
            ServerEvent::CutText(text) => {
                let _ = parts.notes.try_send(DecoderNote::CutText(text));
            }
            ServerEvent::Ignored => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let b = Backoff {
            initial_ms: 100,
            max_ms: 1_000,
        };
        assert_eq!(b.delay_ms(1, 1.0), 100);
        assert_eq!(b.delay_ms(1, 0.0), 50);
        assert_eq!(b.delay_ms(3, 1.0), 400);
        assert_eq!(b.delay_ms(30, 1.0), 1_000);
        assert_eq!(b.delay_ms(30, 0.0), 500);
        assert!((50..=100).contains(&b.delay_ms(1, 0.37)));
    }
}
