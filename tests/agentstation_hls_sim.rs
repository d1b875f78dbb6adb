//! AgentStation video against the simulator's recorder and live HLS (1280×720 H.264,
//! 24 fps, 2 s segments, encoded in-process): start → live → ended, each REST error's
//! message, a recorder that is not recording (and `--start-recording`), and recovery from
//! a missing segment and from a stalled playlist.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lookout::core::audio::{AudioFormat, AudioSink};

use lookout::core::config::{AgentStationSettings, Settings};
use lookout::core::event::{Command, ErrorKind, SessionState};
use lookout::core::redact::Secret;
use lookout::core::session::{self, Backoff, SessionConfig, SessionHandle};
use lookout::core::source::SourceSpec;
use lookout::core::source::hls::STREAM_ENDED;
use lookout::sim::{HlsFault, SimConfig, SimHandle};
use support::{eventually, wait_state};

const WS: &str = "ws-demo";

async fn sim() -> SimHandle {
    SimHandle::start(SimConfig {
        width: 320,
        height: 240,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config(sim: &SimHandle) -> SessionConfig {
    SessionConfig {
        settings: Settings {
            agentstation: AgentStationSettings {
                base_url: Some(sim.agentstation_base_url()),
                token: Some(Secret::new(sim.agentstation_token())),
                ..AgentStationSettings::default()
            },
            ..Settings::default()
        },
        backoff: Backoff {
            initial_ms: 50,
            max_ms: 300,
        },
        ..SessionConfig::default()
    }
}

fn spawn(workstation: &str, config: SessionConfig) -> SessionHandle {
    session::spawn(
        &tokio::runtime::Handle::current(),
        SourceSpec::AgentStation {
            workstation_id: workstation.into(),
        },
        config,
        lookout::core::event::noop_waker(),
    )
}

/// Waits (the first segment takes 2 s to encode) for the picture.
async fn live(h: &mut SessionHandle) {
    let (state, _) = wait_state(h, |s| matches!(s, SessionState::Live(_))).await;
    let SessionState::Live(info) = state else {
        unreachable!()
    };
    assert_eq!((info.width, info.height), (1280, 720));
    assert_eq!(info.protocol, "HLS H264");
    assert!(info.input != Default::default(), "HLS video is view-only");
}

/// Waits until `n` more pictures have been shown.
async fn pictures(h: &SessionHandle, n: u64, within: Duration) {
    let start = h.stats().sample().updates;
    eventually(within, &format!("{n} more pictures"), || {
        h.stats().sample().updates >= start + n
    })
    .await;
}

/// The final state the session comes to.
async fn final_state(h: &mut SessionHandle) -> SessionState {
    let (state, _) = wait_state(h, SessionState::is_final).await;
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_workstation_goes_live_then_ends_with_the_stream() {
    let sim = sim().await;
    let started = Instant::now();
    let mut h = spawn(WS, config(&sim));
    live(&mut h).await;
    println!(
        "ws-demo: live {:.2} s after the session started (cold encoder)",
        started.elapsed().as_secs_f64()
    );
    pictures(&h, 24, Duration::from_secs(5)).await;
    let behind = h.stats().sample().behind_live_ms.unwrap();
    assert!(behind < 3_500, "{behind} ms behind live");
    assert!(sim.agentstation_hls_counters(WS).playlist_requests > 0);

    assert!(sim.agentstation_hls_fault(WS, HlsFault::EndList));
    match final_state(&mut h).await {
        SessionState::Ended { reason, .. } => assert_eq!(reason, STREAM_ENDED),
        other => panic!("{other:?}"),
    }
    sim.shutdown().await;
}

/// The simulator's video playlist URL, as `recorder/stream` gives it.
async fn video_url(sim: &SimHandle) -> url::Url {
    use lookout::core::provider::agentstation::{AgentStationClient, MediaKind};
    let client = AgentStationClient::new(
        lookout::core::net::http_client().unwrap(),
        &sim.agentstation_base_url(),
        Some(Secret::new(sim.agentstation_token())),
    );
    client
        .recorder_stream_url(WS, MediaKind::Video)
        .await
        .unwrap()
}

/// The URI of the newest segment `url` lists.
async fn newest_segment(http: &reqwest::Client, url: &url::Url) -> Option<String> {
    let text = http.get(url.clone()).send().await.ok()?.text().await.ok()?;
    let newest = text
        .lines()
        .rfind(|l| !l.starts_with('#') && !l.trim().is_empty());
    newest.map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_starts_at_the_distance_behind_live_it_keeps() {
    let sim = sim().await;
    // Open when the newest segment is 1.5 s old (its first frame 3.5 s), the moment at
    // which a start from the newest segment's first frame would be furthest behind.
    let url = video_url(&sim).await;
    let http = lookout::core::net::http_client().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = newest_segment(&http, &url).await;
    loop {
        assert!(Instant::now() < deadline, "no new segment within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = newest_segment(&http, &url).await;
        if seen.is_some() && now.is_some() && now != seen {
            break;
        }
        if seen.is_none() {
            seen = now;
        }
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let h = spawn(WS, config(&sim));
    // The figure at the first picture, then for 10 s.
    let first = loop {
        if let Some(ms) = h.stats().sample().behind_live_ms {
            break ms;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let mut figures = vec![first];
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        figures.extend(h.stats().sample().behind_live_ms);
    }
    let last = *figures.last().unwrap();
    let (low, high) = (
        *figures.iter().min().unwrap(),
        *figures.iter().max().unwrap(),
    );
    println!(
        "behind live: {first} ms at the first picture, {last} ms 10 s later, {low}–{high} ms between"
    );
    assert!(
        first.abs_diff(last) < 500,
        "{first} ms behind at the first picture, {last} ms 10 s later"
    );
    assert!(high - low < 500, "from {low} to {high} ms behind live");
    assert!(
        !h.stats().sample().behind_live_estimated,
        "the simulator dates its segments"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playlist_that_goes_away_ends_the_view_after_one_fresh_stream() {
    let sim = sim().await;
    let mut h = spawn(WS, config(&sim));
    live(&mut h).await;
    assert!(sim.agentstation_hls_fault(WS, HlsFault::Gone));
    match final_state(&mut h).await {
        SessionState::Ended { reason, .. } => assert_eq!(reason, STREAM_ENDED),
        other => panic!("{other:?}"),
    }
    // Retry after the recorder restarts: live again.
    assert!(sim.agentstation_start_recorder(WS));
    assert!(h.send(Command::Retry));
    live(&mut h).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rest_error_says_what_it_is() {
    let sim = sim().await;
    let cases = [
        (400, "AgentStation rejected the request (400)"),
        (401, "AgentStation rejected the token (401)"),
        (402, "out of credits (402)"),
        (422, "no workstation ws-demo for this token (422)"),
    ];
    for (status, text) in cases {
        sim.agentstation_fail_next(WS, status, 1, None);
        let mut h = spawn(WS, config(&sim));
        match final_state(&mut h).await {
            SessionState::Failed { error } => {
                let message = &error.message;
                assert!(
                    message.to_lowercase().contains(&text.to_lowercase()),
                    "{status}: {message}"
                );
                assert!(!message.contains(sim.agentstation_token()));
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    // 429 waits as long as it is told; 500 and 503 are retried; then it plays.
    for (status, retry_after) in [(429, Some(1)), (500, None), (503, None)] {
        sim.agentstation_fail_next(WS, status, 1, retry_after);
        let mut h = spawn(WS, config(&sim));
        let (state, _) =
            wait_state(&mut h, |s| matches!(s, SessionState::Reconnecting { .. })).await;
        let SessionState::Reconnecting {
            retry_in_ms, error, ..
        } = state
        else {
            unreachable!()
        };
        let reason = &error.message;
        if status == 429 {
            assert_eq!(error.kind, ErrorKind::RateLimited);
            assert_eq!(retry_in_ms, 1_000, "{reason}");
            assert!(reason.contains("rate limiting"), "{reason}");
        } else {
            assert!(reason.contains(&format!("HTTP {status}")), "{reason}");
        }
        live(&mut h).await;
        h.send(Command::Stop);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_recorder_is_explained_and_can_be_started() {
    let sim = sim().await;
    let mut h = spawn("ws-idle", config(&sim));
    match final_state(&mut h).await {
        SessionState::Failed { error } => {
            let message = &error.message;
            assert!(message.contains("ws-idle is idle"), "{message}");
            assert!(message.contains("--start-recording"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut recording = config(&sim);
    recording.settings.agentstation.start_recording = true;
    let mut h = spawn("ws-idle", recording);
    live(&mut h).await;
    assert_eq!(
        format!("{:?}", sim.agentstation_recorder("ws-idle").unwrap()).to_lowercase(),
        "recording"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_segment_is_skipped_and_the_picture_goes_on() {
    let sim = sim().await;
    let mut h = spawn(WS, config(&sim));
    live(&mut h).await;
    assert!(sim.agentstation_hls_fault(WS, HlsFault::MissingSegment));
    let requests = sim.agentstation_hls_counters(WS).segment_requests;
    // The missing segment comes and goes within two segments; pictures go on after it.
    pictures(&h, 24 * 5, Duration::from_secs(9)).await;
    assert!(sim.agentstation_hls_counters(WS).segment_requests >= requests + 2);
    // No reconnect: still the first live state.
    assert!(h.try_recv_event().is_none_or(|e| !matches!(
        e,
        lookout::core::event::SessionEvent::State(SessionState::Reconnecting { .. })
    )));
    let behind = h.stats().sample().behind_live_ms.unwrap();
    assert!(behind < 3_500, "{behind} ms behind live after the gap");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_playlist_is_reopened_and_the_picture_comes_back_near_live() {
    let sim = sim().await;
    let mut h = spawn(WS, config(&sim));
    live(&mut h).await;
    assert!(sim.agentstation_hls_fault(WS, HlsFault::StallPlaylist(Duration::from_secs(9))));
    // No new segment for three target durations (6 s): reopened.
    let (state, _) = wait_state(&mut h, |s| matches!(s, SessionState::Reconnecting { .. })).await;
    let SessionState::Reconnecting { error, .. } = state else {
        unreachable!()
    };
    let reason = &error.message;
    assert!(reason.contains("has not moved"), "{reason}");
    live(&mut h).await;
    pictures(&h, 48, Duration::from_secs(15)).await;
    let behind = h.stats().sample().behind_live_ms.unwrap();
    assert!(behind < 3_500, "{behind} ms behind live after the stall");
    sim.shutdown().await;
}

/// A sound output that counts what it gets (or one with no device).
#[derive(Debug)]
struct Counting {
    format: Option<AudioFormat>,
    samples: AtomicU64,
}

impl AudioSink for Counting {
    fn format(&self) -> Option<AudioFormat> {
        self.format
    }
    fn push(&self, samples: &[f32]) {
        self.samples
            .fetch_add(samples.len() as u64, Ordering::Relaxed);
    }
    fn latency(&self) -> Duration {
        Duration::from_millis(50)
    }
    fn clear(&self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_separate_sound_stream_plays_beside_the_picture() {
    let sim = sim().await;
    for format in [
        Some(AudioFormat {
            rate: 48_000,
            channels: 2,
        }),
        // No output device: the picture plays on, silently.
        None,
    ] {
        let sink = Arc::new(Counting {
            format,
            samples: AtomicU64::new(0),
        });
        let mut h = spawn(
            WS,
            SessionConfig {
                audio: Some(sink.clone()),
                ..config(&sim)
            },
        );
        live(&mut h).await;
        let before = sink.samples.load(Ordering::Relaxed);
        let started = Instant::now();
        pictures(&h, 24 * 4, Duration::from_secs(8)).await;
        let took = started.elapsed().as_secs_f64();
        let rate = (sink.samples.load(Ordering::Relaxed) - before) as f64 / 2.0 / took;
        match format {
            Some(_) => assert!(
                (rate - 48_000.0).abs() < 48_000.0 * 0.15,
                "sound at {rate:.0} frames/s"
            ),
            None => assert_eq!(rate, 0.0),
        }
        while let Some(event) = h.try_recv_event() {
            assert!(
                !matches!(
                    event,
                    lookout::core::event::SessionEvent::State(SessionState::Reconnecting { .. })
                ),
                "{event:?}"
            );
        }
        h.send(Command::Stop);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_stream_token_gets_a_fresh_url_and_plays_on() {
    let sim = SimHandle::start(SimConfig {
        width: 320,
        height: 240,
        agentstation_hls_token_ttl_ms: 4_000,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut h = spawn(WS, config(&sim));
    live(&mut h).await;
    // The playlist's token expires (403): a fresh `recorder/stream`, then live again.
    let (state, _) = wait_state(&mut h, |s| matches!(s, SessionState::Reconnecting { .. })).await;
    let SessionState::Reconnecting { error, .. } = state else {
        unreachable!()
    };
    let reason = &error.message;
    assert!(
        reason.contains("refused the stream URL (HTTP 403)"),
        "{reason}"
    );
    assert!(!reason.contains("token="), "{reason}");
    live(&mut h).await;
    pictures(&h, 24, Duration::from_secs(5)).await;
    sim.shutdown().await;
}

/// The simulator's newest `n` video segments, fetched as a player would.
async fn fetch_segments(sim: &SimHandle, n: usize) -> Vec<Vec<u8>> {
    use lookout::core::provider::agentstation::{AgentStationClient, MediaKind};
    let http = lookout::core::net::http_client().unwrap();
    let client = AgentStationClient::new(
        http.clone(),
        &sim.agentstation_base_url(),
        Some(Secret::new(sim.agentstation_token())),
    );
    let url = client
        .recorder_stream_url(WS, MediaKind::Video)
        .await
        .unwrap();
    let mut uris = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while uris.len() < n {
        assert!(Instant::now() < deadline, "fewer than {n} segments");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let text = http
            .get(url.clone())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        uris = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
    }
    let mut out = Vec::new();
    for uri in &uris[uris.len() - n..] {
        let bytes = http
            .get(url.join(uri).unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
        out.push(bytes.unwrap().to_vec());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_corrupt_segments_do_not_stop_the_picture() {
    use lookout::core::event::StreamStats;
    use lookout::core::frame::FrameSlot;
    use lookout::core::source::hls::clock::PlayClock;
    use lookout::core::source::hls::decode::{self, DecodeParts, Segment};

    let sim = sim().await;
    let segs = fetch_segments(&sim, 3).await;
    let mut corrupt = segs[1].clone();
    let len = corrupt.len();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for b in &mut corrupt[len / 5..len / 2] {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        *b = seed as u8;
    }
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();

    let second = Duration::from_secs(2);
    let clock = Arc::new(PlayClock::new(second, second, Duration::from_millis(125)));
    let frames = Arc::new(FrameSlot::new());
    let stats = Arc::new(StreamStats::default());
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let (notes_tx, _notes) = tokio::sync::mpsc::channel(8);
    let done = decode::spawn(
        DecodeParts {
            segments: rx,
            clock,
            frames: Some(frames.clone()),
            audio: None,
            stats: stats.clone(),
            waker: lookout::core::event::noop_waker(),
            notes: notes_tx,
            record: None,
        },
        "test-hls-decode",
    );
    let t0 = Instant::now();
    let parts = [
        (segs[0].clone(), 0),
        (garbage, 2),
        (corrupt, 2),
        (segs[2].clone(), 4),
    ];
    for (seq, (bytes, at)) in parts.into_iter().enumerate() {
        tx.send(Segment {
            seq: seq as u64,
            bytes: bytes.into(),
            capture: t0 + Duration::from_secs(at),
            exact: true,
            arrived: None,
            discontinuity: seq > 0,
            duration: second,
            program_date_time: None,
        })
        .await
        .unwrap();
    }
    drop(tx);
    let result = tokio::time::timeout(Duration::from_secs(20), done)
        .await
        .expect("the decoder finished")
        .expect("the decoder thread reported");
    assert_eq!(result, Ok(()));
    let shown = stats.sample().updates;
    // The intact first and last segments (48 pictures each) are shown whole.
    assert!(shown >= 90, "{shown} pictures shown");
    let fb = frames.snapshot().unwrap();
    assert_eq!((fb.width(), fb.height()), (1280, 720));
    sim.shutdown().await;
}
