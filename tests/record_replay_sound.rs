//! An HLS recording's sound: the simulator's AgentStation workstation sends its sound as a
//! separate audio playlist; recorded, it is on the `hls-audio` track, and a replay queues
//! the same samples the live view queued, at the moments it queued them, silenced off 1×.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use lookout::core::audio::{AudioFormat, AudioSink};
use lookout::core::event::{Command, SessionState, noop_waker};
use lookout::core::record::format::Kind;
use lookout::core::record::reader::Reader;
use lookout::core::record::replay_sound::SoundPlayer;
use lookout::core::record::writer;
use lookout::core::record::{PICTURE_TRACK, SOUND_TRACK, TrackSink, index, playback};
use lookout::core::session::{self, SessionConfig, SessionHandle};
use lookout::sim::{SimConfig, SimHandle};

const FORMAT: AudioFormat = AudioFormat {
    rate: 48_000,
    channels: 2,
};
/// The live sink's output latency: the decoder queues sound this much before it is due.
const LATENCY: Duration = Duration::from_millis(50);

/// A sound output that keeps every piece it is given, with when it is due (in the
/// recording's microseconds), and counts its clears.
#[derive(Debug)]
struct Keeping {
    /// When the recording began, for stamping live pieces on its clock; unset for a
    /// replay's sink (whose pieces the test times itself).
    start: OnceLock<Instant>,
    pieces: Mutex<Vec<(u64, Vec<f32>)>>,
    clears: AtomicU64,
}

impl Keeping {
    fn new() -> Arc<Self> {
        Arc::new(Keeping {
            start: OnceLock::new(),
            pieces: Mutex::new(Vec::new()),
            clears: AtomicU64::new(0),
        })
    }

    fn samples(&self) -> usize {
        self.pieces.lock().unwrap().iter().map(|p| p.1.len()).sum()
    }
}

impl AudioSink for Keeping {
    fn format(&self) -> Option<AudioFormat> {
        Some(FORMAT)
    }
    fn push(&self, samples: &[f32]) {
        let due = self
            .start
            .get()
            .map_or(0, |s| (s.elapsed() + LATENCY).as_micros() as u64);
        self.pieces.lock().unwrap().push((due, samples.to_vec()));
    }
    fn latency(&self) -> Duration {
        LATENCY
    }
    fn clear(&self) {
        self.clears.fetch_add(1, Ordering::Relaxed);
    }
}

/// Records the simulator's workstation for `secs` after its first picture, hearing its
/// sound on `audio` (or on nothing, as on a machine without a sound device).
async fn record(sim: &SimHandle, path: &Path, audio: Option<Arc<Keeping>>, secs: u64) {
    let meta = serde_json::json!({"tracks": [
        {"track": PICTURE_TRACK, "kind": "hls-video"},
        {"track": SOUND_TRACK, "kind": "hls-audio"},
    ]});
    let (sink, writer) = writer::create(path, &meta).unwrap();
    if let Some(a) = &audio {
        // Within microseconds of the recording's own start.
        a.start.set(Instant::now()).unwrap();
    }
    let config = SessionConfig {
        settings: sim.settings(),
        record: Some(TrackSink::new(sink.clone(), PICTURE_TRACK)),
        audio: audio.map(|a| a as Arc<dyn AudioSink>),
        ..SessionConfig::default()
    };
    let mut h: SessionHandle = session::spawn(
        &tokio::runtime::Handle::current(),
        "agentstation:ws-demo".parse().unwrap(),
        config,
        noop_waker(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "never live");
        match h.try_recv_event() {
            Some(lookout::core::event::SessionEvent::State(SessionState::Live(_))) => break,
            Some(_) => {}
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    h.send(Command::Stop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(h);
    drop(sink);
    tokio::task::spawn_blocking(move || writer.finish())
        .await
        .unwrap();
}

async fn small_sim() -> SimHandle {
    let config = SimConfig {
        width: 320,
        height: 240,
        ..SimConfig::default()
    };
    SimHandle::start(config).await.unwrap()
}

/// The sound track's records: (kind, payload length).
fn sound_records(path: &Path) -> Vec<Option<Kind>> {
    let mut reader = Reader::open(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        if r.head.track == SOUND_TRACK {
            out.push(r.head.known_kind());
        }
    }
    out
}

/// Plays `player` from the start to `end_us` in 20 ms steps as the replay does, queuing
/// 150 ms ahead: every piece queued, with when its first sample is due.
fn replay(player: &mut SoundPlayer, end_us: u64) -> Vec<(u64, Vec<f32>)> {
    let sink = Keeping::new();
    player.seek(0).unwrap();
    let mut pieces = Vec::new();
    for t in (0..end_us).step_by(20_000) {
        let due = player.queued_to().max(t);
        player.fill(t, t + 150_000, &*sink).unwrap();
        for (_, samples) in sink.pieces.lock().unwrap().drain(..) {
            pieces.push((due, samples));
        }
    }
    pieces
}

/// The pieces as one run of samples, and when the sample at an index is heard: pieces
/// play one after another, each no earlier than it is due.
fn flatten(pieces: &[(u64, Vec<f32>)]) -> (Vec<f32>, impl Fn(usize) -> u64 + '_) {
    let all: Vec<f32> = pieces.iter().flat_map(|p| p.1.iter().copied()).collect();
    let us_of = |samples: usize| (samples / 2) as u64 * 1_000_000 / u64::from(FORMAT.rate);
    let mut heard_until = 0;
    let heard: Vec<u64> = pieces
        .iter()
        .map(|(due, samples)| {
            let start = (*due).max(heard_until);
            heard_until = start + us_of(samples.len());
            start
        })
        .collect();
    let due = move |at: usize| {
        let mut start = 0;
        for ((_, samples), heard) in pieces.iter().zip(&heard) {
            if at < start + samples.len() {
                return heard + us_of(at - start);
            }
            start += samples.len();
        }
        u64::MAX
    };
    (all, due)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_plays_the_sound_the_live_view_played_when_it_played_it() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sound.lkrec");
    let live = Keeping::new();
    record(&sim, &path, Some(live.clone()), 10).await;

    let kinds = sound_records(&path);
    assert_eq!(kinds.first(), Some(&Some(Kind::Connect)), "{kinds:?}");
    let segments = kinds.iter().filter(|k| **k == Some(Kind::Segment)).count();
    assert!(segments >= 4, "{segments} sound segments recorded");

    let (_, index) = index::open(&path).unwrap();
    let mut player = SoundPlayer::open(&path, &index).unwrap().expect("no sound");
    let replayed = replay(&mut player, index.duration_us + 1_000_000);

    let live_pieces = live.pieces.lock().unwrap().clone();
    let (live_all, live_due) = flatten(&live_pieces);
    let (replay_all, replay_due) = flatten(&replayed);
    // About as much sound as was heard live (the live view's first moments may be
    // skipped to catch up with live; the last may not have been recorded), between the
    // silence a replay plays before the sound began and after it ended.
    let heard = |s: &[f32]| {
        let first = s.iter().position(|v| *v != 0.0).unwrap_or(0);
        let last = s.iter().rposition(|v| *v != 0.0).unwrap_or(0);
        last.saturating_sub(first)
    };
    let (l, r) = (heard(&live_all) as f64, heard(&replay_all) as f64);
    assert!(r > l * 0.8 && r < l * 1.3, "{r} samples replayed, {l} live");

    // Stretches from halfway into the live sound on, half a second each: the replay holds
    // exactly those samples (the same decoder decoding the same bytes), due when they
    // were heard live. The simulator's hum repeats, so the same samples recur; the
    // nearest recurrence must be at the moment.
    let window = FORMAT.rate as usize; // half a second of stereo samples
    for part in [5, 6, 7, 8, 9] {
        let at = (live_all.len() * part / 10) & !1;
        let wanted = &live_all[at..at + window];
        assert!(wanted.iter().any(|s| s.abs() > 0.005), "silent live sound");
        let live_us = live_due(at);
        let nearest = (0..replay_all.len().saturating_sub(window))
            .step_by(2)
            .filter(|&k| {
                replay_all[k..k + window]
                    .iter()
                    .zip(wanted)
                    .all(|(a, b)| (a - b).abs() < 1e-6)
            })
            .map(|k| replay_due(k) as i64 - live_us as i64)
            .min_by_key(|off| off.abs())
            .unwrap_or_else(|| panic!("the live sound at {live_us} µs is not in the replay"));
        assert!(
            nearest.abs() < 20_000,
            "heard at {live_us} µs live, {nearest} µs off in the replay"
        );
    }

    // Played through the replay engine: heard at 1×, cleared and silent at 2×.
    let heard = Keeping::new();
    let r = playback::open_with_sound(&path, "t", noop_waker(), heard.clone()).unwrap();
    r.playback.seek(2_000_000);
    r.playback.set_playing(true);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let at_1x = heard.samples();
    assert!(
        (60_000..200_000).contains(&at_1x),
        "{at_1x} samples in a second at 1×"
    );
    let clears = heard.clears.load(Ordering::Relaxed);
    r.playback.set_speed(2.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        heard.clears.load(Ordering::Relaxed) > clears,
        "not silenced"
    );
    let at_2x = heard.samples();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(heard.samples(), at_2x, "sound queued at 2×");
    drop(r);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sound_is_recorded_even_with_no_sound_device() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quiet.lkrec");
    record(&sim, &path, None, 5).await;
    let (_, index) = index::open(&path).unwrap();
    let mut player = SoundPlayer::open(&path, &index).unwrap().expect("no sound");
    let replayed = replay(&mut player, index.duration_us);
    let loud = replayed
        .iter()
        .flat_map(|p| p.1.iter())
        .filter(|s| s.abs() > 0.005)
        .count();
    assert!(loud > 48_000, "{loud} audible samples replayed");
    sim.shutdown().await;
}
