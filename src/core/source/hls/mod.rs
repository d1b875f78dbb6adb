//! Live HLS: our playlist follower feeding FFmpeg's MPEG-TS demuxer and decoders.
//!
//! FFmpeg's own HLS demuxer would fetch the network itself, blocking inside `packets()`
//! for minutes on a dead source and hiding which segment a frame came from. Here
//! [`fetch`] (tokio, reqwest) follows the playlist and fetches segments, so stalls,
//! missing segments, the end list and 404/410 are ours to decide; [`decode`] (a named
//! thread) demuxes and decodes with ffmpeg-next, and [`clock`] shows each frame at its
//! capture time plus a delay kept as small as the stream allows ("behind live").
//!
//! [`Player`] puts them together for one stream: its main playlist and, when the master
//! playlist (or the provider) gives one, a separate audio playlist on the same clock.
//! `driver` runs a player for a session: AgentStation's recorder or a playlist URL.

pub mod clock;
pub mod decode;
pub(crate) mod driver;
pub mod fetch;
pub mod playlist;
mod record;

pub use driver::STREAM_ENDED;

use crate::core::event::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::core::audio::{AudioSink, Unheard};
use crate::core::event::{StreamStats, Waker};
use crate::core::frame::FrameSlot;
use clock::PlayClock;
use decode::{DecodeNote, DecodeParts};
use fetch::{FollowEnd, Opened};

/// Segments queued between a fetcher and its decoder.
const QUEUED_SEGMENTS: usize = 3;

/// Why an HLS stream could not be played.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum HlsError {
    #[error("bad HLS playlist: {0}")]
    BadPlaylist(String),
    #[error("this HLS stream uses {0}, which Lookout does not play")]
    Unsupported(&'static str),
    #[error("the HLS playlist is gone (HTTP {status})")]
    Gone { status: u16 },
    #[error("the HLS playlist answered HTTP {status}")]
    Http { status: u16 },
    /// 401 or 403: the URL's token has expired (or was refused); a fresh URL may do.
    #[error("the HLS server refused the stream URL (HTTP {status}); asking for a fresh one")]
    Refused { status: u16 },
    #[error("cannot fetch the HLS stream: {0}")]
    Network(String),
    #[error("the HLS playlist has not moved for {} s", .secs)]
    Stalled { secs: u64 },
    #[error("cannot decode the HLS stream: {0}")]
    Decode(String),
    #[error("the HLS stream has no video")]
    NoVideo,
}

impl HlsError {
    /// Reopening may help for everything but a stream we cannot play at all.
    /// What kind of failure this is, for the front end.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HlsError::BadPlaylist(_) | HlsError::Decode(_) => ErrorKind::Protocol,
            HlsError::Unsupported(_) | HlsError::NoVideo => ErrorKind::Unsupported,
            HlsError::Gone { .. } => ErrorKind::NotFound,
            HlsError::Http { status } => ErrorKind::from_http_status(*status),
            HlsError::Refused { .. } => ErrorKind::Unauthorized,
            HlsError::Network(_) => ErrorKind::Network,
            HlsError::Stalled { .. } => ErrorKind::Unavailable,
        }
    }

    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            HlsError::Unsupported(_) | HlsError::NoVideo | HlsError::Http { status: 400..=499 }
        )
    }
}

/// What the player tells the session.
#[derive(Debug)]
pub enum PlayerNote {
    /// The first picture is on screen.
    Picture {
        width: u32,
        height: u32,
        codec: String,
    },
    /// Sound is playing.
    Sound { codec: String },
    /// The stream is over: the main playlist ended or went away, and every frame was
    /// shown.
    Over { end: FollowEnd },
    /// It stopped working; reopening may help.
    Failed(HlsError),
}

/// One playing stream: fetch tasks and decoder threads on one clock.
pub struct Player {
    clock: Arc<PlayClock>,
    fetchers: Vec<JoinHandle<()>>,
    notes: mpsc::Receiver<PlayerNote>,
}

impl Drop for Player {
    fn drop(&mut self) {
        self.clock.close();
        for f in &self.fetchers {
            f.abort();
        }
    }
}

/// Where a player's output goes.
pub struct Outputs {
    pub frames: Arc<FrameSlot>,
    pub audio: Option<Arc<dyn AudioSink>>,
    pub stats: Arc<StreamStats>,
    pub waker: Waker,
    /// Where the main playlist's segments go when the session is recorded.
    pub record: Option<crate::core::record::TrackSink>,
    /// Where a separate audio playlist's segments go when the session is recorded.
    pub record_sound: Option<crate::core::record::TrackSink>,
}

impl Player {
    /// Starts playing an opened stream (plus its separate audio playlist, if any).
    pub fn start(http: reqwest::Client, opened: Opened, out: Outputs) -> Player {
        let first_duration = opened
            .first
            .segments
            .last()
            .map(|s| Duration::from_secs_f32(s.duration.clamp(0.1, 60.0)))
            .unwrap_or(Duration::from_secs(2));
        let target = Duration::from_secs(opened.first.target_duration.clamp(1, 60));
        let reload = playlist::poll_interval(target);
        let clock = Arc::new(PlayClock::new(first_duration, target, reload));
        let (notes_tx, notes) = mpsc::channel(16);
        let mut fetchers = Vec::new();
        // No output device: no sound is fetched or decoded, unless it is recorded (then
        // it is decoded on time and heard nowhere, so that it is stamped as it would play).
        let audio = out
            .audio
            .clone()
            .filter(|a| a.format().is_some())
            .or_else(|| {
                out.record_sound
                    .is_some()
                    .then(|| Arc::new(Unheard) as Arc<dyn AudioSink>)
            });
        let separate_audio = opened.choice.audio.is_some();

        // The main stream: video, and its audio unless that comes separately.
        let main_audio = if separate_audio {
            None
        } else {
            out.audio.clone()
        };
        fetchers.push(Self::stream(
            &http,
            opened.choice.main.clone(),
            Some((opened.first, opened.loaded_at)),
            DecodeParts {
                segments: mpsc::channel(1).1,
                clock: clock.clone(),
                frames: Some(out.frames.clone()),
                audio: main_audio,
                stats: out.stats.clone(),
                waker: out.waker.clone(),
                notes: mpsc::channel(1).0,
                record: out.record.clone(),
            },
            true,
            notes_tx.clone(),
        ));
        if let (Some(url), Some(sink)) = (opened.choice.audio, audio) {
            fetchers.push(Self::stream(
                &http,
                url,
                None,
                DecodeParts {
                    segments: mpsc::channel(1).1,
                    clock: clock.clone(),
                    frames: None,
                    audio: Some(sink),
                    stats: out.stats.clone(),
                    waker: out.waker.clone(),
                    notes: mpsc::channel(1).0,
                    record: out.record_sound.clone(),
                },
                false,
                notes_tx,
            ));
        }
        Player {
            clock,
            fetchers,
            notes,
        }
    }

    /// Starts one playlist's fetcher and decoder; the task ends when both have.
    fn stream(
        http: &reqwest::Client,
        url: url::Url,
        first: Option<(m3u8_rs::MediaPlaylist, Instant)>,
        mut parts: DecodeParts,
        main: bool,
        notes: mpsc::Sender<PlayerNote>,
    ) -> JoinHandle<()> {
        let (seg_tx, seg_rx) = mpsc::channel(QUEUED_SEGMENTS);
        let (dec_tx, mut dec_rx) = mpsc::channel(4);
        parts.segments = seg_rx;
        parts.notes = dec_tx;
        let stats = parts.stats.clone();
        let name = if main { "hls-decode" } else { "hls-audio" };
        let mut decoder: oneshot::Receiver<Result<(), HlsError>> = decode::spawn(parts, name);
        let http = http.clone();
        tokio::spawn(async move {
            let mut follow = Box::pin(fetch::follow(http, url, first, stats, seg_tx));
            let mut followed: Option<Result<FollowEnd, HlsError>> = None;
            let mut notes_open = true;
            loop {
                tokio::select! {
                    end = &mut follow, if followed.is_none() => {
                        // Dropping the sender (inside `follow`) lets the decoder finish
                        // what it has; its end comes next.
                        if let Err(e) = &end {
                            let _ = notes.send(PlayerNote::Failed(e.clone())).await;
                            return;
                        }
                        followed = Some(end);
                    }
                    note = dec_rx.recv(), if notes_open => match note {
                        Some(DecodeNote::Picture { width, height, codec }) => {
                            let _ = notes.send(PlayerNote::Picture { width, height, codec }).await;
                        }
                        Some(DecodeNote::Sound { codec }) => {
                            let _ = notes.send(PlayerNote::Sound { codec }).await;
                        }
                        None => notes_open = false,
                    },
                    done = &mut decoder => {
                        match done {
                            Ok(Ok(())) => match followed.take() {
                                Some(Ok(end)) if main => {
                                    let _ = notes.send(PlayerNote::Over { end }).await;
                                }
                                Some(_) => {}
                                // The decoder stopped by itself: the clock was closed.
                                None if !main => {}
                                None => {
                                    let _ = notes.send(PlayerNote::Failed(HlsError::Decode(
                                        "the decoder stopped".into(),
                                    ))).await;
                                }
                            },
                            Ok(Err(e)) if main => {
                                let _ = notes.send(PlayerNote::Failed(e)).await;
                            }
                            Ok(Err(e)) => tracing::warn!("the separate audio stopped: {e}"),
                            Err(_) => {
                                let _ = notes.send(PlayerNote::Failed(HlsError::Decode(
                                    "the decoder thread ended".into(),
                                ))).await;
                            }
                        }
                        return;
                    }
                }
            }
        })
    }

    /// The next thing to tell the session; `None` once every part has ended.
    pub async fn next_note(&mut self) -> Option<PlayerNote> {
        self.notes.recv().await
    }

    /// Skips ahead to the smallest delay the stream allows.
    pub fn jump_to_live(&self) {
        self.clock.jump_to_live();
    }

    /// The clock, for figures (frames shown and dropped, the delay).
    pub fn clock(&self) -> &PlayClock {
        &self.clock
    }
}
