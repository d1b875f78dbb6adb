//! Playing a recording back as sessions: the picture and the task log a window shows,
//! moved through time by a [`Playback`] (play, pause, speed, seek, step, idle skip).
//!
//! A `replay` thread owns the picture track's [`TrackPlayer`] and the recorded log. It
//! publishes the picture into an ordinary session's [`FrameSlot`](crate::core::frame::FrameSlot)
//! and the log into its `LogSlot`, so the window's picture and log views show a replay
//! exactly as they show a live task. The log (lines, status and prompts, with their times)
//! is read once on open, bounded like a live log; a seek rebuilds the pane up to the moment.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::format::Kind;
use super::index::{self, Index, TrackInfo};
use super::player::TrackPlayer;
use super::reader::Reader;
use super::replay::{ReplayError, RfbPlayer};
use super::replay_hls::open_hls_player;
use super::replay_preview::open_preview_player;
use super::replay_sound::SoundPlayer;
use crate::core::audio::AudioSink;
use crate::core::event::{
    InputAccess, LiveInfo, REPLAY_PROTOCOL, SessionEvent, SessionState, Waker,
};
use crate::core::session::{SessionHandle, SessionPeer};
use crate::core::source::tasklog::{
    LogLine, PendingPrompt, TaskLog, TaskLogConfig, TaskStatus, line_from_json,
};

/// The speeds a replay plays at.
pub const SPEEDS: [f64; 8] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
/// With idle skip on, a stretch with nothing recorded longer than this is jumped over.
pub const IDLE_SKIP: Duration = Duration::from_secs(2);
/// Most bytes of log lines a replay loads (past it, the rest of the log is left out).
pub const MAX_LOG_BYTES: usize = 256 << 20;
/// How many recorded changes in a replay looks for its first picture.
const FIRST_PICTURE_CHANGES: usize = 200;
/// How often the picture moves while playing.
const TICK: Duration = Duration::from_millis(15);
/// How often a replay of a recording still being written takes in what was added.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// How far ahead of the position a replay playing at 1× queues its sound.
const SOUND_AHEAD_US: u64 = 150_000;

/// Where a replay stands, for the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaybackStatus {
    pub position_us: u64,
    pub duration_us: u64,
    pub playing: bool,
    pub speed: f64,
    pub skip_idle: bool,
    /// Why part of the recording did not play, if something did not.
    pub problem: Option<String>,
}

/// What the operator asks of a replay.
#[derive(Clone, Debug, PartialEq)]
enum Ask {
    Seek(u64),
    Step,
    /// To the first moment with a picture (where a replay opens).
    First,
}

struct Control {
    status: PlaybackStatus,
    asks: Vec<Ask>,
    stop: bool,
    /// The engine took asks and has not yet done them.
    working: bool,
}

struct Shared {
    control: Mutex<Control>,
    wake: Condvar,
    /// Replaced as a followed recording grows.
    index: Mutex<Arc<Index>>,
    /// The recording is still being written ([`follow`]).
    follow: bool,
    /// Each loaded log line's recording time, by its sequence number in the replayed log.
    line_times: Vec<u64>,
}

/// A recording being played: its controls. Dropping it stops the thread.
pub struct Playback {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The sessions a replay feeds.
pub struct Replayed {
    pub playback: Playback,
    /// The picture, when the recording has a picture track.
    pub picture: Option<SessionHandle>,
    /// The task log, when the recording has one.
    pub log: Option<SessionHandle>,
}

/// One recorded log moment: a line, or the status and prompt from then on.
#[derive(Clone, Debug)]
enum LogItem {
    Line(Box<LogLine>),
    Status(TaskStatus),
    Prompt(Option<PendingPrompt>),
}

/// Opens `path` for playback, paused at its first picture (or its start, when it has
/// none). `label` names it in the views.
pub fn open(path: &Path, label: &str, waker: Waker) -> Result<Replayed, ReplayError> {
    open_with(path, label, waker, false, None)
}

/// [`open`], playing the recording's sound (an HLS recording's) on `sink` while it plays
/// at 1×; other speeds, a pause and a seek silence it.
pub fn open_with_sound(
    path: &Path,
    label: &str,
    waker: Waker,
    sink: Arc<dyn AudioSink>,
) -> Result<Replayed, ReplayError> {
    open_with(path, label, waker, false, Some(sink))
}

/// Opens the picture of a recording still being written (a live window's own), paused at
/// its start, for time-shift: the playback takes in what the file gains every
/// [`FOLLOW_EVERY`], and playing on at its end waits for more rather than stopping. The
/// log is left out (the live window shows it).
pub fn follow(path: &Path, label: &str, waker: Waker) -> Result<Replayed, ReplayError> {
    open_with(path, label, waker, true, None)
}

fn open_with(
    path: &Path,
    label: &str,
    waker: Waker,
    follow: bool,
    sink: Option<Arc<dyn AudioSink>>,
) -> Result<Replayed, ReplayError> {
    let (reader, index) = index::open(path)?;
    let follower = if follow {
        let mut reader = Reader::open(std::fs::File::open(path)?)?;
        // Read on from where this index ended: its torn record, if it ended in one.
        reader.seek_to(index.torn_at.unwrap_or(reader.file_len()));
        Some(Follower {
            reader,
            index: index.clone(),
            last: Instant::now(),
        })
    } else {
        None
    };
    let index = Arc::new(index);
    let picture_track = index.picture_track().cloned();
    let player = match &picture_track {
        Some(t) => Some(open_player(path, reader, index.clone(), t)?),
        None => None,
    };
    let sound = match sink {
        Some(sink) => SoundPlayer::open(path, &index)?.map(|player| Sound {
            player,
            sink,
            on: false,
        }),
        None => None,
    };
    let log_track = index
        .tracks
        .iter()
        .find(|t| t.kind == "log" && !follow)
        .map(|t| t.track);
    let log_items = match log_track {
        Some(track) => load_log(path, track)?,
        None => Vec::new(),
    };
    let line_times = log_items
        .iter()
        .filter(|(_, item)| matches!(item, LogItem::Line(_)))
        .map(|(t, _)| *t)
        .collect();
    let picture = player.is_some().then(|| {
        let what = if follow { "time-shift" } else { "replay" };
        SessionHandle::pair(format!("{label} ({what})"), waker.clone())
    });
    let log = (log_track.is_some() || (player.is_none() && !follow))
        .then(|| SessionHandle::pair(format!("{label} (replay log)"), waker.clone()));
    let shared = Arc::new(Shared {
        control: Mutex::new(Control {
            status: PlaybackStatus {
                position_us: 0,
                duration_us: index.duration_us,
                playing: false,
                speed: 1.0,
                skip_idle: false,
                problem: None,
            },
            asks: vec![if follow { Ask::Seek(0) } else { Ask::First }],
            stop: false,
            working: false,
        }),
        wake: Condvar::new(),
        index: Mutex::new(index),
        follow,
        line_times,
    });
    let (picture_handle, picture_peer) = split(picture);
    let (log_handle, log_peer) = split(log);
    let engine = Engine {
        shared: shared.clone(),
        player,
        picture: picture_peer,
        log: log_peer,
        log_items,
        log_at: 0,
        size: None,
        log_live: false,
        follower,
        sound,
        waker,
    };
    let thread = std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || engine.run())?;
    Ok(Replayed {
        playback: Playback {
            shared,
            thread: Some(thread),
        },
        picture: picture_handle,
        log: log_handle,
    })
}

fn split(
    pair: Option<(SessionHandle, SessionPeer)>,
) -> (Option<SessionHandle>, Option<SessionPeer>) {
    match pair {
        Some((h, p)) => (Some(h), Some(p)),
        None => (None, None),
    }
}

/// The player of a recording's picture track `track` (of the kinds `rfb`, `preview` and
/// `hls-video`; a file that names none is RFB), over the file's `reader` and `index`.
pub fn open_player(
    path: &Path,
    reader: Reader<std::fs::File>,
    index: Arc<Index>,
    track: &TrackInfo,
) -> Result<Box<dyn TrackPlayer>, ReplayError> {
    Ok(match track.kind.as_str() {
        "preview" => Box::new(open_preview_player(path, track.track)?),
        "hls-video" => Box::new(open_hls_player(path, track.track)?),
        _ => Box::new(RfbPlayer::with_index(reader, index, track.track)?),
    })
}

/// A recording has no remote to control.
fn replay_input() -> InputAccess {
    InputAccess::Refused("this is a recording: there is no remote to control".into())
}

/// Reads the log track's lines, statuses and prompts, bounded by [`MAX_LOG_BYTES`].
fn load_log(path: &Path, track: u8) -> Result<Vec<(u64, LogItem)>, ReplayError> {
    let mut reader = Reader::open(std::fs::File::open(path)?)?;
    let mut items = Vec::new();
    let mut bytes = 0;
    while let Some(record) = reader.next_record()? {
        if record.head.track != track {
            continue;
        }
        let kind = record.head.known_kind();
        if !matches!(kind, Some(Kind::LogLine | Kind::Event)) {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&record.payload) else {
            continue;
        };
        let item = match (kind, value["type"].as_str()) {
            (Some(Kind::LogLine), _) => {
                if bytes > MAX_LOG_BYTES {
                    continue;
                }
                bytes += record.payload.len();
                line_from_json(&value).map(|l| LogItem::Line(Box::new(l)))
            }
            (_, Some("status")) => value["status"]
                .as_str()
                .map(|s| LogItem::Status(TaskStatus::from_name(s))),
            (_, Some("prompt")) => Some(LogItem::Prompt(value["request_id"].as_str().map(|id| {
                PendingPrompt {
                    request_id: id.to_string(),
                    prompt: value["text"].as_str().map(str::to_string),
                    password: value["password"].as_bool().unwrap_or(true),
                    asked_at: None,
                }
            }))),
            _ => None,
        };
        if let Some(item) = item {
            items.push((record.head.t_us, item));
        }
    }
    Ok(items)
}

impl Playback {
    fn lock(&self) -> MutexGuard<'_, Control> {
        self.shared
            .control
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn change(&self, f: impl FnOnce(&mut Control)) {
        f(&mut self.lock());
        self.shared.wake.notify_all();
    }

    pub fn status(&self) -> PlaybackStatus {
        self.lock().status.clone()
    }

    /// The recording's index: its markers, tracks and duration (of what the file held when
    /// last read, for one still being written).
    pub fn index(&self) -> Arc<Index> {
        self.shared
            .index
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_playing(&self, playing: bool) {
        let follow = self.shared.follow;
        self.change(|c| {
            // Play at the end starts again from the start (a followed recording waits).
            if playing && !follow && c.status.position_us >= c.status.duration_us {
                c.asks.push(Ask::Seek(0));
            }
            c.status.playing = playing;
        });
    }

    pub fn set_speed(&self, speed: f64) {
        self.change(|c| c.status.speed = speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]));
    }

    pub fn set_skip_idle(&self, skip: bool) {
        self.change(|c| c.status.skip_idle = skip);
    }

    /// Shows the moment `at_us` (the timeline's position moves there at once).
    pub fn seek(&self, at_us: u64) {
        self.change(|c| {
            let at_us = at_us.min(c.status.duration_us);
            c.status.position_us = at_us;
            c.asks.push(Ask::Seek(at_us));
        });
    }

    /// Pauses and moves to the picture's next change.
    pub fn step(&self) {
        self.change(|c| {
            c.status.playing = false;
            c.asks.push(Ask::Step);
        });
    }

    /// When the replayed log's line `seq` was recorded.
    pub fn time_of_line(&self, seq: u64) -> Option<u64> {
        self.shared
            .line_times
            .get(usize::try_from(seq).ok()?)
            .copied()
    }

    /// Whether the engine has done every seek and step asked of it (for tests).
    pub fn is_settled(&self) -> bool {
        let c = self.lock();
        c.asks.is_empty() && !c.working
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.change(|c| c.stop = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Engine {
    shared: Arc<Shared>,
    player: Option<Box<dyn TrackPlayer>>,
    picture: Option<SessionPeer>,
    log: Option<SessionPeer>,
    log_items: Vec<(u64, LogItem)>,
    /// Log items applied so far.
    log_at: usize,
    /// The picture size last announced.
    size: Option<[u32; 2]>,
    /// The log session was told it is live.
    log_live: bool,
    /// Reads on in a recording still being written.
    follower: Option<Follower>,
    sound: Option<Sound>,
    waker: Waker,
}

/// A replay's sound and where it plays.
struct Sound {
    player: SoundPlayer,
    sink: Arc<dyn AudioSink>,
    /// Sound is being queued (playing at 1×, since the last seek).
    on: bool,
}

/// What a followed recording has been read to.
struct Follower {
    reader: Reader<std::fs::File>,
    index: Index,
    last: Instant,
}

impl Engine {
    fn run(mut self) {
        if let Some(log) = &self.log {
            log.log.update(|s| {
                s.active = true;
                s.can_answer = false;
            });
        }
        let mut last = Instant::now();
        loop {
            let (asks, status) = {
                let mut c = self
                    .shared
                    .control
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if c.asks.is_empty() && !c.status.playing && !c.stop {
                    c = self
                        .shared
                        .wake
                        .wait_timeout(c, Duration::from_secs(1))
                        .map_or_else(|p| p.into_inner().0, |(c, _)| c);
                }
                if c.stop {
                    break;
                }
                c.working = !c.asks.is_empty();
                (std::mem::take(&mut c.asks), c.status.clone())
            };
            let now = Instant::now();
            let elapsed = now.duration_since(last);
            last = now;
            let status = self.follow(status);
            let mut position = status.position_us;
            let mut seeked = false;
            for ask in &asks {
                match ask {
                    Ask::Seek(at) => {
                        position = *at;
                        seeked = true;
                        self.seek(position);
                    }
                    Ask::First => {
                        position = self.first_picture(status.duration_us);
                        seeked = true;
                    }
                    Ask::Step => {
                        if let Some(next) = self.next_change() {
                            position = next.min(status.duration_us);
                            self.advance(position);
                        }
                    }
                }
            }
            let mut playing = status.playing;
            let mut moved = !asks.is_empty();
            if playing && asks.is_empty() && !seeked {
                position += (elapsed.as_secs_f64() * status.speed * 1e6) as u64;
                if status.skip_idle
                    && let Some(next) = self.next_change()
                    && next > position + IDLE_SKIP.as_micros() as u64
                {
                    position = next;
                    moved = true;
                }
                if position >= status.duration_us {
                    position = status.duration_us;
                    // A followed recording goes on: playing waits at its end for more.
                    playing = self.follower.is_some();
                }
                self.advance(position);
            }
            #[allow(clippy::float_cmp)] // a speed is one of `SPEEDS`, exactly
            let heard = playing && status.speed == 1.0 && position < status.duration_us;
            self.sound(position, heard, moved);
            {
                let mut c = self
                    .shared
                    .control
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                // A seek asked meanwhile already moved the position.
                c.working = false;
                if c.asks.is_empty() {
                    c.status.position_us = position;
                }
                if !playing {
                    c.status.playing = false;
                }
            }
            (self.waker)();
            if playing {
                std::thread::sleep(TICK);
            }
        }
        if let Some(sound) = &self.sound {
            sound.sink.clear();
        }
        for peer in [&self.picture, &self.log].into_iter().flatten() {
            let _ = peer
                .events
                .try_send(SessionEvent::State(SessionState::Ended {
                    reason: "replay closed".into(),
                    task_failed: false,
                }));
        }
    }

    /// Queues the sound due a little past `position` while it is `heard`; silences it
    /// when not, and starts it again from the position after a jump (`moved`).
    fn sound(&mut self, position: u64, heard: bool, moved: bool) {
        let Some(s) = &mut self.sound else {
            return;
        };
        if !heard {
            if std::mem::take(&mut s.on) {
                s.sink.clear();
            }
            return;
        }
        let mut queue = || {
            if !s.on || moved {
                s.sink.clear();
                s.player.seek(position)?;
                s.on = true;
            }
            s.player.fill(position, position + SOUND_AHEAD_US, &*s.sink)
        };
        if let Err(e) = queue() {
            // The picture plays on, silently.
            self.note(&e);
            self.sound = None;
        }
    }

    /// Every [`FOLLOW_EVERY`], takes in what a followed recording gained: the index, the
    /// player and the duration. Returns `status` with the new duration.
    fn follow(&mut self, mut status: PlaybackStatus) -> PlaybackStatus {
        let Some(f) = &mut self.follower else {
            return status;
        };
        if f.last.elapsed() < FOLLOW_EVERY {
            return status;
        }
        f.last = Instant::now();
        let records = f.index.records;
        let grown = f
            .reader
            .grow()
            .map_err(ReplayError::from)
            .and_then(|()| f.index.extend(&mut f.reader).map_err(ReplayError::from));
        if let Err(e) = grown {
            self.note(&e);
            return status;
        }
        if f.index.records == records {
            return status;
        }
        let index = Arc::new(f.index.clone());
        if let Some(player) = &mut self.player
            && let Err(e) = player.refresh(&index)
        {
            self.note(&e);
        }
        status.duration_us = index.duration_us;
        *self.shared.index.lock().unwrap_or_else(|p| p.into_inner()) = index;
        self.shared
            .control
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .status
            .duration_us = status.duration_us;
        status
    }

    /// Shows the first moment of the recording with a picture, looking no further than
    /// [`FIRST_PICTURE_CHANGES`] changes in; returns that moment (0 if there was none).
    fn first_picture(&mut self, duration_us: u64) -> u64 {
        self.seek(0);
        let mut position = 0;
        for _ in 0..FIRST_PICTURE_CHANGES {
            let Some(player) = &mut self.player else {
                break;
            };
            if player.picture().is_some() {
                return position;
            }
            let Some(next) = player.next_change_us() else {
                break;
            };
            position = next.min(duration_us);
            self.advance(position);
        }
        if self.player.as_ref().is_some_and(|p| p.picture().is_some()) {
            position
        } else {
            self.seek(0);
            0
        }
    }

    /// The next moment anything recorded changes, after the position.
    fn next_change(&mut self) -> Option<u64> {
        let picture = self.player.as_mut().and_then(|p| p.next_change_us());
        let log = self.log_items.get(self.log_at).map(|(t, _)| *t);
        match (picture, log) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn seek(&mut self, at_us: u64) {
        if let Some(player) = &mut self.player
            && let Err(e) = player.seek(at_us)
        {
            self.note(&e);
        }
        self.publish();
        self.replay_log(at_us, true);
    }

    fn advance(&mut self, at_us: u64) {
        if let Some(player) = &mut self.player
            && let Err(e) = player.advance_to(at_us)
        {
            self.note(&e);
        }
        self.publish();
        self.replay_log(at_us, false);
    }

    fn note(&self, e: &ReplayError) {
        let mut c = self
            .shared
            .control
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        c.status.problem.get_or_insert_with(|| e.to_string());
    }

    /// Puts the player's picture in the picture session's slot, if it changed.
    fn publish(&mut self) {
        let (Some(player), Some(peer)) = (&mut self.player, &self.picture) else {
            return;
        };
        if !player.take_changed() {
            return;
        }
        let Some(fb) = player.picture() else {
            return;
        };
        let size = [fb.width(), fb.height()];
        peer.frames.publish(fb, &[fb.full_rect()]);
        if self.size != Some(size) {
            self.size = Some(size);
            let info = LiveInfo {
                width: size[0],
                height: size[1],
                desktop_name: String::new(),
                protocol: REPLAY_PROTOCOL.into(),
                input: replay_input(),
            };
            let _ = peer
                .events
                .try_send(SessionEvent::State(SessionState::Live(info)));
        }
        peer.frames.notify(&self.waker);
    }

    /// Brings the log pane to `at_us`: on from where it was, or rebuilt when going back
    /// (or `rebuild`).
    fn replay_log(&mut self, at_us: u64, rebuild: bool) {
        let Some(peer) = &self.log else {
            return;
        };
        let end = self.log_items.partition_point(|(t, _)| *t <= at_us);
        if end == self.log_at && !rebuild {
            return;
        }
        let items = &self.log_items;
        let log_at = self.log_at;
        peer.log.update(|s| {
            let from = if rebuild || end < log_at {
                s.log = TaskLog::new(TaskLogConfig::default());
                0
            } else {
                log_at
            };
            let mut status = s.log.status().cloned();
            let mut prompt = s.log.pending_prompt().cloned();
            for (_, item) in &items[from..end] {
                match item {
                    LogItem::Line(line) => s.log.push_recorded((**line).clone()),
                    LogItem::Status(st) => status = Some(st.clone()),
                    LogItem::Prompt(p) => prompt.clone_from(p),
                }
            }
            s.log.set_recorded(status, prompt);
        });
        self.log_at = end;
        (self.waker)();
        if !std::mem::replace(&mut self.log_live, true) {
            let _ = peer
                .events
                .try_send(SessionEvent::State(SessionState::Live(LiveInfo {
                    width: 0,
                    height: 0,
                    desktop_name: String::new(),
                    protocol: REPLAY_PROTOCOL.into(),
                    input: replay_input(),
                })));
        }
    }
}
