//! Sessions: one async task per watched source, and the handle a front end holds.
//!
//! [`spawn`] picks the source's driver (`driver::Driver`; the one registration line per
//! source kind is in [`spawn`]) and starts the shared runner (`runner`) on the runtime;
//! the returned [`SessionHandle`] holds the event receiver, the command sender, the
//! [`FrameSlot`], the [`LogSlot`] and the [`StreamStats`]. Each driver lives beside its
//! protocol in `core::source::<kind>`: a source's whole life, provider to decoded output,
//! is in one folder.

pub(crate) mod driver;
mod runner;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::audio::AudioSink;
use super::config::Settings;
use super::event::{Command, SessionEvent, StreamStats, Waker};
use super::frame::FrameSlot;
use super::log_slot::LogSlot;
use super::record::TrackSink;
use super::source::SourceSpec;
use super::source::hls::driver::HlsDriver;
use super::source::preview::driver::PreviewDriver;
use super::source::rfb::driver::RfbDriver;
use super::source::tasklog::driver::RunnerLogDriver;
use super::source::tasklog::sse_driver::SseLogDriver;
use driver::{Driver, Session};

/// Capacity of the core → front end event channel.
pub const EVENT_CAPACITY: usize = 256;
/// Capacity of the front end → core command channel.
pub const COMMAND_CAPACITY: usize = 256;

/// The remote's clipboard text, the newest only. A remote that sets its clipboard faster
/// than the front end reads it replaces the text not yet read, so a session holds at most
/// one clipboard (up to 1 MiB) however many the server sends, and only one
/// [`SessionEvent::RemoteClipboard`] is queued at a time.
#[derive(Debug, Default)]
pub struct ClipboardSlot(Mutex<Option<String>>);

impl ClipboardSlot {
    /// Puts `text` in place of any not yet read; true if the slot was empty (the front end
    /// needs an event to look).
    pub fn put(&self, text: String) -> bool {
        self.lock().replace(text).is_none()
    }

    /// Takes the text, if any came since the last take.
    pub fn take(&self) -> Option<String> {
        self.lock().take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A string is valid whatever a panicking holder was doing.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a front end holds for one session.
#[derive(Debug)]
pub struct SessionHandle {
    label: String,
    frames: Arc<FrameSlot>,
    stats: Arc<StreamStats>,
    log: Arc<LogSlot>,
    clipboard: Arc<ClipboardSlot>,
    events: mpsc::Receiver<SessionEvent>,
    commands: mpsc::Sender<Command>,
}

/// The core's end of a session's channels.
pub struct SessionPeer {
    pub frames: Arc<FrameSlot>,
    pub stats: Arc<StreamStats>,
    pub log: Arc<LogSlot>,
    pub clipboard: Arc<ClipboardSlot>,
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
        let clipboard = Arc::new(ClipboardSlot::default());
        (
            SessionHandle {
                label: label.into(),
                frames: frames.clone(),
                stats: stats.clone(),
                log: log.clone(),
                clipboard: clipboard.clone(),
                events: ev_rx,
                commands: cmd_tx,
            },
            SessionPeer {
                frames,
                stats,
                log,
                clipboard,
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

    /// The remote's newest clipboard text, once: look after a
    /// [`SessionEvent::RemoteClipboard`].
    pub fn take_remote_clipboard(&self) -> Option<String> {
        self.clipboard.take()
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
    /// The recording this session's stream and states go to, and its track there.
    pub record: Option<TrackSink>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            backoff: Backoff::default(),
            status_poll_ms: 1_000,
            reconnect: true,
            audio: None,
            record: None,
        }
    }
}

/// Starts watching `source` on the runtime behind `rt`.
pub fn spawn(
    rt: &tokio::runtime::Handle,
    source: SourceSpec,
    config: SessionConfig,
    waker: Waker,
) -> SessionHandle {
    let label = source.label();
    let (handle, peer) = SessionHandle::pair(label.clone(), waker);
    if let Some(record) = &config.record
        && source.is_log()
    {
        peer.log.record_to(record.clone());
    }
    let start = Start {
        rt,
        peer,
        config,
        label,
    };
    // One line per source kind: its driver.
    match source {
        SourceSpec::Optexity { task_id } => start.run(RfbDriver::optexity(task_id)),
        SourceSpec::RfbWebSocket { url } => start.run(RfbDriver::websocket(url)),
        SourceSpec::RfbTcp {
            host,
            port,
            password,
            linked,
        } => start.run(RfbDriver::tcp(host, port, password, linked)),
        SourceSpec::Chaser { session_id } => start.run(PreviewDriver::chaser(session_id)),
        SourceSpec::Preview { url } => start.run(PreviewDriver::url(url)),
        SourceSpec::AgentStation { workstation_id } => {
            start.run(HlsDriver::agentstation(workstation_id))
        }
        SourceSpec::Hls { url } => start.run(HlsDriver::url(url)),
        SourceSpec::Waldiez { task_id } => start.run(RunnerLogDriver::waldiez(task_id)),
        SourceSpec::TaskLog { url } => start.run(RunnerLogDriver::url(url)),
        SourceSpec::AgentStationLog { workstation_id } => {
            start.run(SseLogDriver::new(workstation_id))
        }
    }
    handle
}

/// What starting a session's task needs besides its driver.
struct Start<'a> {
    rt: &'a tokio::runtime::Handle,
    peer: SessionPeer,
    config: SessionConfig,
    label: String,
}

impl Start<'_> {
    fn run<D: Driver>(self, driver: D) {
        let session = Session::new(self.peer, self.config, self.label, D::PROMPTS, D::INPUT);
        self.rt.spawn(runner::run(driver, session));
    }
}

#[cfg(test)]
mod backoff_tests {
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
