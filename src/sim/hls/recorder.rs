//! Every workstation's recorder ([`Recorders`]): its state, its published segments, the
//! playlists and segments it serves (checking URL tokens), the faults a test put into it
//! and its request counters; and when its encoder thread runs.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::encoder::{self, EncoderHandle, SegmentSink};
use super::media::{HlsKind, Segment, Timeline};
use super::playlist::{self, Entry, Listing};
use crate::sim::token::TokenIssuer;

/// Segments a playlist lists.
pub const WINDOW: usize = 30;
/// Segments still served after they leave the window.
pub const KEPT_BEHIND: usize = 4;
/// How long the encoder waits before trying again after it failed to open.
const RETRY_OPEN_AFTER: Duration = Duration::from_secs(5);

/// A workstation's recorder state, as `GET /v1/workstations/{id}/recorder` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecorderState {
    Idle,
    Recording,
    /// Part of the contract; nothing in the simulator pauses a recorder yet.
    Paused,
    Stopped,
}

impl RecorderState {
    /// The contract's name for it.
    pub fn name(self) -> &'static str {
        match self {
            RecorderState::Idle => "idle",
            RecorderState::Recording => "recording",
            RecorderState::Paused => "paused",
            RecorderState::Stopped => "stopped",
        }
    }
}

/// A fault to put into a workstation's HLS stream (both playlists), for the client's
/// tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HlsFault {
    /// The next segment published is listed as usual, but its URLs (video and audio)
    /// answer 404. Arming it twice drops the next two.
    MissingSegment,
    /// The playlists stop advancing for this long (they keep listing what they listed);
    /// encoding goes on behind them, and the segments published meanwhile are listed
    /// afterwards (none skipped, as far as the window reaches). A stall longer than four
    /// segments (8 s) leaves its oldest listed segments answering 404.
    StallPlaylist(Duration),
    /// The playlists get `#EXT-X-ENDLIST` and stop advancing; the recorder's status becomes
    /// `stopped` and its encoder stops. Listed segments stay fetchable.
    EndList,
    /// The playlist URLs answer 410 and segment URLs 404 from now on; the recorder's status
    /// becomes `stopped` (so `recorder/stream` answers 400) until `recorder/start`.
    Gone,
}

/// Request counters of one workstation's HLS streams (both kinds), for the client's tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HlsCounters {
    /// Playlist requests with a good token (whatever they were answered).
    pub playlist_requests: u64,
    /// Segment requests with a good token (whatever they were answered).
    pub segment_requests: u64,
    /// Times the encoder thread was started.
    pub encoder_starts: u64,
    /// Video frames encoded.
    pub frames_encoded: u64,
    /// Video frames skipped because the encoder fell behind the clock (their time stays
    /// on the 24 fps grid, unfilled).
    pub frames_skipped: u64,
}

/// Playlists that do not follow the segments for now.
#[derive(Debug)]
struct Frozen {
    /// When they follow again; `None`: never (ended).
    until: Option<Instant>,
    ended: bool,
    video: Listing,
    audio: Listing,
}

#[derive(Debug)]
struct Inner {
    status: RecorderState,
    timeline: Option<Timeline>,
    /// Oldest first, consecutive.
    segments: VecDeque<Arc<Segment>>,
    /// The number the next segment published will have.
    next_seq: u64,
    /// Segments still to publish as missing.
    missing_next: u32,
    missing: BTreeSet<u64>,
    frozen: Option<Frozen>,
    gone: bool,
    encoder: Option<EncoderHandle>,
    open_failed_at: Option<Instant>,
}

impl Inner {
    fn live_listing(&self, kind: HlsKind) -> Listing {
        let skip = self.segments.len().saturating_sub(WINDOW);
        let entries: Vec<Entry> = self
            .segments
            .iter()
            .skip(skip)
            .map(|s| {
                let part = s.part(kind);
                Entry {
                    seq: s.seq,
                    pdt_ms: self.timeline.map_or(0, |t| t.wall_ms(part.start_us)),
                    duration_us: part.duration_us,
                }
            })
            .collect();
        Listing {
            media_sequence: entries.first().map_or(self.next_seq, |e| e.seq),
            entries,
        }
    }

    fn freeze(&mut self, until: Option<Instant>, ended: bool) {
        let (video, audio) = match self.frozen.take() {
            // A stall over a stall keeps the first one's view.
            Some(f) if !ended => (f.video, f.audio),
            _ => (
                self.live_listing(HlsKind::Video),
                self.live_listing(HlsKind::Audio),
            ),
        };
        self.frozen = Some(Frozen {
            until,
            ended,
            video,
            audio,
        });
    }
}

/// One workstation's recorder: its state, its published segments and its counters. The
/// encoder thread holds it too.
#[derive(Debug)]
pub(crate) struct Recorder {
    id: String,
    base: Instant,
    /// Ms after `base` of the last request that wants the stream.
    last_use_ms: AtomicU64,
    playlist_requests: AtomicU64,
    segment_requests: AtomicU64,
    encoder_starts: AtomicU64,
    frames_encoded: AtomicU64,
    frames_skipped: AtomicU64,
    inner: Mutex<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Recorder {
    fn new(id: &str, recording: bool) -> Recorder {
        Recorder {
            id: id.to_string(),
            base: Instant::now(),
            last_use_ms: AtomicU64::new(0),
            playlist_requests: AtomicU64::new(0),
            segment_requests: AtomicU64::new(0),
            encoder_starts: AtomicU64::new(0),
            frames_encoded: AtomicU64::new(0),
            frames_skipped: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                status: if recording {
                    RecorderState::Recording
                } else {
                    RecorderState::Idle
                },
                timeline: recording.then(Timeline::now),
                segments: VecDeque::new(),
                next_seq: 0,
                missing_next: 0,
                missing: BTreeSet::new(),
                frozen: None,
                gone: false,
                encoder: None,
                open_failed_at: None,
            }),
        }
    }

    fn since_base_ms(&self) -> u64 {
        self.base.elapsed().as_millis().min(u128::from(u64::MAX)) as u64
    }

    /// Someone wants the stream now.
    fn touch(&self) {
        self.last_use_ms
            .store(self.since_base_ms(), Ordering::Relaxed);
    }

    fn counters(&self) -> HlsCounters {
        HlsCounters {
            playlist_requests: self.playlist_requests.load(Ordering::Relaxed),
            segment_requests: self.segment_requests.load(Ordering::Relaxed),
            encoder_starts: self.encoder_starts.load(Ordering::Relaxed),
            frames_encoded: self.frames_encoded.load(Ordering::Relaxed),
            frames_skipped: self.frames_skipped.load(Ordering::Relaxed),
        }
    }
}

impl SegmentSink for Recorder {
    fn id(&self) -> &str {
        &self.id
    }

    /// Ms since the last request that wanted the stream.
    fn idle_ms(&self) -> u64 {
        self.since_base_ms()
            .saturating_sub(self.last_use_ms.load(Ordering::Relaxed))
    }

    /// The encoder starts at segment `first_seq`: the segments kept go unless they lead
    /// straight to it.
    fn begin(&self, first_seq: u64) {
        let mut inner = lock(&self.inner);
        if inner.segments.back().map(|s| s.seq + 1) != Some(first_seq) {
            inner.segments.clear();
            inner.next_seq = first_seq;
        }
    }

    /// The encoder finished a segment.
    fn publish(&self, segment: Segment) {
        let mut inner = lock(&self.inner);
        let seq = segment.seq;
        if inner.segments.back().is_some_and(|s| s.seq + 1 != seq) {
            // Never happens while the encoder runs; a gap would misnumber the window.
            inner.segments.clear();
        }
        if inner.missing_next > 0 {
            inner.missing_next -= 1;
            inner.missing.insert(seq);
        }
        inner.segments.push_back(Arc::new(segment));
        inner.next_seq = seq + 1;
        while inner.segments.len() > WINDOW + KEPT_BEHIND {
            inner.segments.pop_front();
        }
        if let Some(oldest) = inner.segments.front().map(|s| s.seq) {
            inner.missing.retain(|&m| m >= oldest);
        }
    }

    /// The encoder encoded `encoded` frames and skipped `skipped`.
    fn count_frames(&self, encoded: u64, skipped: u64) {
        self.frames_encoded.fetch_add(encoded, Ordering::Relaxed);
        self.frames_skipped.fetch_add(skipped, Ordering::Relaxed);
    }

    /// The encoder could not start.
    fn open_failed(&self) {
        lock(&self.inner).open_failed_at = Some(Instant::now());
    }
}

/// Why an HLS request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HlsRefusal {
    /// Bad or expired token: 403.
    Forbidden,
    /// Unknown workstation, kind or segment: 404.
    NotFound,
    /// The playlist is gone: 410.
    Gone,
}

/// The recorder isn't recording: `recorder/stream` answers 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NotRecording;

/// Every workstation's recorder.
#[derive(Debug)]
pub(crate) struct Recorders {
    /// Replaced by [`Recorders::revoke_tokens`], which voids every token issued before.
    tokens: std::sync::RwLock<TokenIssuer>,
    token_ttl_ms: u64,
    /// Stream tokens issued, for the client's tests (a reconnect must fetch a fresh one).
    tokens_issued: AtomicU64,
    idle_ms: u64,
    recorders: Mutex<HashMap<String, Arc<Recorder>>>,
    /// Set at shutdown: no encoder starts any more.
    closed: AtomicBool,
}

/// What a token opens: one workstation's stream of one kind.
fn token_subject(id: &str, kind: HlsKind) -> String {
    format!("{id}/{}", kind.name())
}

impl Recorders {
    pub fn new(token_ttl_ms: u64, idle_ms: u64) -> Recorders {
        Recorders {
            tokens: std::sync::RwLock::new(TokenIssuer::new(token_ttl_ms)),
            token_ttl_ms,
            tokens_issued: AtomicU64::new(0),
            idle_ms,
            recorders: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Gives workstation `id` a recorder, recording from now or idle (nothing if it has
    /// one).
    pub fn add(&self, id: &str, recording: bool) {
        lock(&self.recorders)
            .entry(id.to_string())
            .or_insert_with(|| Arc::new(Recorder::new(id, recording)));
    }

    pub(super) fn get(&self, id: &str) -> Option<Arc<Recorder>> {
        lock(&self.recorders).get(id).cloned()
    }

    pub fn status(&self, id: &str) -> Option<RecorderState> {
        self.get(id).map(|r| lock(&r.inner).status)
    }

    /// Starts recording (clearing faults) and the encoder; the state after.
    pub fn start(&self, id: &str) -> Option<RecorderState> {
        let r = self.get(id)?;
        {
            let mut inner = lock(&r.inner);
            if inner.status != RecorderState::Recording {
                inner.status = RecorderState::Recording;
                inner.timeline.get_or_insert_with(Timeline::now);
                inner.frozen = None;
                inner.gone = false;
                inner.missing_next = 0;
                inner.open_failed_at = None;
            }
        }
        r.touch();
        self.ensure_encoder(&r);
        Some(RecorderState::Recording)
    }

    /// A URL token for the stream of `kind`, while recording (starting the encoder).
    pub fn stream_token(&self, id: &str, kind: HlsKind) -> Result<String, NotRecording> {
        let r = self.get(id).ok_or(NotRecording)?;
        if lock(&r.inner).status != RecorderState::Recording {
            return Err(NotRecording);
        }
        r.touch();
        self.ensure_encoder(&r);
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
        Ok(self.issuer().issue(&token_subject(id, kind)))
    }

    /// Stream tokens issued so far (every workstation, both kinds).
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::Relaxed)
    }

    /// Voids every stream token issued so far, as their expiry would: the playlists and
    /// segments of open streams answer 403 until the client asks `recorder/stream` again.
    pub fn revoke_tokens(&self) {
        let fresh = TokenIssuer::new(self.token_ttl_ms);
        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    }

    fn issuer(&self) -> std::sync::RwLockReadGuard<'_, TokenIssuer> {
        self.tokens.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the encoder unless it runs, the recorder does not record, the simulator
    /// shuts down or the encoder just failed to open.
    fn ensure_encoder(&self, r: &Arc<Recorder>) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let finished = {
            let mut inner = lock(&r.inner);
            let running = inner.encoder.as_ref().is_some_and(|e| !e.is_finished());
            let failed_lately = inner
                .open_failed_at
                .is_some_and(|at| at.elapsed() < RETRY_OPEN_AFTER);
            if running || failed_lately || inner.status != RecorderState::Recording {
                return;
            }
            let Some(timeline) = inner.timeline else {
                return;
            };
            let finished = inner.encoder.take();
            match encoder::spawn(r.clone(), timeline, self.idle_ms) {
                Ok(handle) => {
                    inner.encoder = Some(handle);
                    r.encoder_starts.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(workstation = %r.id, "cannot start the HLS encoder thread: {e}");
                    inner.open_failed_at = Some(Instant::now());
                }
            }
            finished
        };
        // It has finished: joining does not wait.
        if let Some(old) = finished {
            old.stop();
        }
    }

    /// Checks a URL token and counts the request; the recorder.
    fn admit(
        &self,
        id: &str,
        kind: HlsKind,
        token: &str,
        counter: fn(&Recorder) -> &AtomicU64,
    ) -> Result<Arc<Recorder>, HlsRefusal> {
        if let Err(why) = self.issuer().verify(&token_subject(id, kind), token) {
            tracing::debug!(workstation = %id, "refused an HLS token: {why}");
            return Err(HlsRefusal::Forbidden);
        }
        let r = self.get(id).ok_or(HlsRefusal::NotFound)?;
        counter(&r).fetch_add(1, Ordering::Relaxed);
        r.touch();
        Ok(r)
    }

    /// The playlist of `kind` for a request with `token`.
    pub fn playlist(&self, id: &str, kind: HlsKind, token: &str) -> Result<String, HlsRefusal> {
        let r = self.admit(id, kind, token, |r| &r.playlist_requests)?;
        self.ensure_encoder(&r);
        let (listing, ended) = {
            let mut inner = lock(&r.inner);
            if inner.gone {
                return Err(HlsRefusal::Gone);
            }
            let thawed = inner
                .frozen
                .as_ref()
                .and_then(|f| f.until)
                .is_some_and(|until| Instant::now() >= until);
            if thawed {
                inner.frozen = None;
            }
            match &inner.frozen {
                Some(f) => (
                    match kind {
                        HlsKind::Video => f.video.clone(),
                        HlsKind::Audio => f.audio.clone(),
                    },
                    f.ended,
                ),
                None if inner.status == RecorderState::Recording => {
                    (inner.live_listing(kind), false)
                }
                None => return Err(HlsRefusal::NotFound),
            }
        };
        Ok(playlist::render(kind, &listing, ended, token))
    }

    /// Segment file `file` (`{seq}.ts`) of `kind` for a request with `token`.
    pub fn segment(
        &self,
        id: &str,
        kind: HlsKind,
        file: &str,
        token: &str,
    ) -> Result<Bytes, HlsRefusal> {
        let r = self.admit(id, kind, token, |r| &r.segment_requests)?;
        let seq = file
            .strip_suffix(".ts")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(HlsRefusal::NotFound)?;
        let inner = lock(&r.inner);
        if inner.gone || inner.missing.contains(&seq) {
            return Err(HlsRefusal::NotFound);
        }
        let first = inner.segments.front().map_or(0, |s| s.seq);
        let index = usize::try_from(seq.wrapping_sub(first)).unwrap_or(usize::MAX);
        match inner.segments.get(index) {
            Some(s) if s.seq == seq => Ok(s.part(kind).bytes.clone()),
            _ => Err(HlsRefusal::NotFound),
        }
    }

    /// Puts `fault` into workstation `id`'s streams; `false` if it is unknown.
    pub fn fault(&self, id: &str, fault: HlsFault) -> bool {
        let Some(r) = self.get(id) else {
            return false;
        };
        let stopped = {
            let mut inner = lock(&r.inner);
            match fault {
                HlsFault::MissingSegment => {
                    inner.missing_next = inner.missing_next.saturating_add(1);
                    None
                }
                HlsFault::StallPlaylist(d) => {
                    if !inner.frozen.as_ref().is_some_and(|f| f.ended) {
                        inner.freeze(Some(Instant::now() + d), false);
                    }
                    None
                }
                HlsFault::EndList => {
                    inner.freeze(None, true);
                    inner.status = RecorderState::Stopped;
                    inner.encoder.take()
                }
                HlsFault::Gone => {
                    inner.gone = true;
                    inner.frozen = None;
                    inner.status = RecorderState::Stopped;
                    inner.encoder.take()
                }
            }
        };
        if let Some(encoder) = stopped {
            encoder.stop();
        }
        true
    }

    pub fn counters(&self, id: &str) -> HlsCounters {
        self.get(id).map(|r| r.counters()).unwrap_or_default()
    }

    /// Whether workstation `id`'s encoder thread runs.
    pub fn encoder_running(&self, id: &str) -> bool {
        self.get(id).is_some_and(|r| {
            lock(&r.inner)
                .encoder
                .as_ref()
                .is_some_and(|e| !e.is_finished())
        })
    }

    /// Stops every encoder and waits for their threads; none starts afterwards.
    pub fn stop_all(&self) {
        self.closed.store(true, Ordering::Release);
        let recorders: Vec<Arc<Recorder>> = lock(&self.recorders).values().cloned().collect();
        let encoders: Vec<EncoderHandle> = recorders
            .iter()
            .filter_map(|r| lock(&r.inner).encoder.take())
            .collect();
        for encoder in encoders {
            encoder.stop();
        }
    }
}
