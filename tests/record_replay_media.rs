//! Recording the simulator's Chaser preview and AgentStation HLS video and replaying them
//! headless: the picture a replay shows at a moment is the picture the live view showed
//! then; the file holds no key or token; `lookout record` and `lookout snapshot FILE --at`
//! do the same from the command line.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use lookout::core::event::{Command, SessionEvent, noop_waker};
use lookout::core::record::TrackSink;
use lookout::core::record::format::Kind;
use lookout::core::record::player::TrackPlayer;
use lookout::core::record::reader::Reader;
use lookout::core::record::replay_hls::{hls_picture_at, open_hls_player};
use lookout::core::record::replay_preview::{open_preview_player, preview_picture_at};
use lookout::core::record::writer::{self, RecordSink};
use lookout::core::session::{self, SessionConfig, SessionHandle};
use lookout::sim::{SimConfig, SimHandle};

async fn small_sim() -> SimHandle {
    SimHandle::start(SimConfig {
        width: 320,
        height: 240,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Watches `source` on the simulator, recording to track 0 of `sink`.
fn record(sim: &SimHandle, source: &str, sink: &RecordSink) -> SessionHandle {
    let config = SessionConfig {
        settings: sim.settings(),
        record: Some(TrackSink::new(sink.clone(), 0)),
        ..SessionConfig::default()
    };
    session::spawn(
        &tokio::runtime::Handle::current(),
        source.parse().unwrap(),
        config,
        noop_waker(),
    )
}

/// `n` moments, `gap` apart or more, in the middle of `2 × half` during which no picture
/// was published (the picture held still), each picture unlike the one before: (time in
/// the recording, picture). HLS publishes a picture every 42 ms, each a little unlike the
/// last.
async fn still_moments(
    h: &mut SessionHandle,
    sink: &RecordSink,
    n: usize,
    (half, gap): (Duration, Duration),
    within: Duration,
) -> Vec<(u64, Vec<u8>)> {
    let mut moments: Vec<(u64, Vec<u8>)> = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while moments.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} still moments",
            moments.len()
        );
        while let Some(e) = h.try_recv_event() {
            if let SessionEvent::State(s) = e {
                assert!(!s.is_final(), "{s:?}");
            }
        }
        let before = h.frames().seq();
        let Some(a) = h.frames().snapshot() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        tokio::time::sleep(half).await;
        let mid = sink.now_us();
        tokio::time::sleep(half).await;
        let still = h.frames().seq() == before;
        if still && moments.last().is_none_or(|(_, p)| *p != a.pixels()) {
            moments.push((mid, a.pixels().to_vec()));
            tokio::time::sleep(gap).await;
        }
    }
    moments
}

/// Stops the session and closes the recording.
async fn finish(h: SessionHandle, sink: RecordSink, writer: writer::Writer) {
    h.send(Command::Stop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(h);
    drop(sink);
    tokio::task::spawn_blocking(move || writer.finish())
        .await
        .unwrap();
}

/// Every record of the file: (kind, track, payload).
fn records(path: &Path) -> Vec<(Option<Kind>, u8, Vec<u8>)> {
    let mut reader = Reader::open(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        out.push((r.head.known_kind(), r.head.track, r.payload));
    }
    out
}

/// Fails if the file holds `secret` or an unmasked `token=` value.
fn assert_no_secret(path: &Path, secrets: &[&str]) {
    let bytes = std::fs::read(path).unwrap();
    for secret in secrets {
        assert!(secret.len() >= 8, "a secret too short to look for");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret of the session is in the recording"
        );
    }
    let raw = String::from_utf8_lossy(&bytes);
    for (at, _) in raw.match_indices("token=") {
        assert!(raw[at + 6..].starts_with("***"), "a token in the recording");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chaser_preview_replay_shows_what_the_live_view_showed() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chaser.lkrec");
    let (sink, writer) = writer::create(&path, &serde_json::json!({})).unwrap();
    let mut h = record(&sim, "chaser:demo", &sink);
    let timing = (Duration::from_millis(30), Duration::from_millis(250));
    let moments = still_moments(&mut h, &sink, 5, timing, Duration::from_secs(20)).await;
    finish(h, sink, writer).await;

    for (n, (at_us, live)) in moments.iter().enumerate() {
        let replayed = preview_picture_at(&path, 0, *at_us).unwrap();
        assert!(
            replayed.pixels() == &live[..],
            "moment {n} at {:.3} s: the replay differs from the live picture",
            *at_us as f64 / 1e6
        );
    }
    // A player going forward through the moments shows the same pictures.
    let mut player = open_preview_player(&path, 0).unwrap();
    for (at_us, live) in &moments {
        player.advance_to(*at_us).unwrap();
        assert!(player.picture().unwrap().pixels() == &live[..]);
    }
    player.seek(moments[0].0).unwrap();
    assert!(player.picture().unwrap().pixels() == &moments[0].1[..]);

    let all = records(&path);
    let connects: Vec<_> = all
        .iter()
        .filter(|(k, _, _)| *k == Some(Kind::Connect))
        .collect();
    assert_eq!(connects.len(), 1);
    assert_eq!(connects[0].2, br#"{"protocol":"preview"}"#);
    let messages = all
        .iter()
        .filter(|(k, _, _)| *k == Some(Kind::Message))
        .count();
    assert!(messages > 5, "{messages} messages");
    let page_urls: Vec<serde_json::Value> = all
        .iter()
        .filter(|(k, _, _)| *k == Some(Kind::Event))
        .map(|(_, _, p)| serde_json::from_slice(p).unwrap())
        .filter(|v: &serde_json::Value| v["type"] == "page_url")
        .collect();
    assert_eq!(
        page_urls,
        [
            serde_json::json!({"type": "page_url", "url": "https://shop.example.com/checkout?task=demo"})
        ]
    );
    assert_no_secret(&path, &[sim.chaser_key()]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hls_replay_shows_what_the_live_view_showed() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agentstation.lkrec");
    let (sink, writer) = writer::create(&path, &serde_json::json!({})).unwrap();
    let mut h = record(&sim, "agentstation:ws-demo", &sink);
    // Moments across several segments.
    let timing = (Duration::from_millis(8), Duration::from_millis(1500));
    let mut moments = still_moments(&mut h, &sink, 2, timing, Duration::from_secs(40)).await;
    // A player opened while the file is still being written (time-shift) plays on into
    // what is written after it opened, once refreshed.
    sink.flush();
    let mut early = open_hls_player(&path, 0).unwrap();
    let early_segments = early.segment_count();
    moments.extend(still_moments(&mut h, &sink, 3, timing, Duration::from_secs(40)).await);
    finish(h, sink, writer).await;
    early.refresh(&std::sync::Arc::default()).unwrap();
    assert!(early.segment_count() > early_segments);
    let (last_us, last) = moments.last().unwrap();
    early.seek(*last_us).unwrap();
    assert!(early.picture().unwrap().pixels() == &last[..]);

    // The same decoder decodes the same bytes: the pictures are equal, not close.
    for (n, (at_us, live)) in moments.iter().enumerate() {
        let replayed = hls_picture_at(&path, 0, *at_us).unwrap();
        assert!(
            replayed.pixels() == &live[..],
            "moment {n} at {:.3} s: the replay differs from the live picture",
            *at_us as f64 / 1e6
        );
    }
    let mut player = open_hls_player(&path, 0).unwrap();
    assert!(player.segment_count() >= 3);
    for (at_us, live) in &moments {
        player.advance_to(*at_us).unwrap();
        assert!(player.picture().unwrap().pixels() == &live[..]);
        if let Some(next) = player.next_change_us() {
            assert!(next > *at_us);
        }
    }
    player.seek(moments[1].0).unwrap();
    assert!(player.picture().unwrap().pixels() == &moments[1].1[..]);

    let all = records(&path);
    let connect = all
        .iter()
        .find(|(k, _, _)| *k == Some(Kind::Connect))
        .unwrap();
    assert_eq!(connect.2, br#"{"protocol":"hls"}"#);
    assert_no_secret(&path, &[sim.agentstation_token()]);
    sim.shutdown().await;
}

fn lookout(sim: &SimHandle, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.args(args)
        .env("CHASER_BASE_URL", sim.chaser_base_url())
        .env("CHASER_KEY", sim.chaser_key())
        .env("AGENTSTATION_BASE_URL", sim.agentstation_base_url())
        .env("AGENTSTATION_TOKEN", sim.agentstation_token())
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("lookout-test-no-config"),
        )
        .env_remove("LOOKOUT_PROFILE")
        .stdin(Stdio::null());
    cmd
}

/// Runs `lookout` to its end; its standard error.
async fn run_ok(sim: &SimHandle, args: &[&str]) -> String {
    let out = lookout(sim, args).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

/// The size of a PNG's picture.
fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let info = decoder.read_info().unwrap();
    (info.info().width, info.info().height)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookout_records_chaser_and_agentstation_and_snapshots_them() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    // HLS shows its first picture seconds after it starts: that one is snapshot at its end.
    let runs = [
        ("chaser:demo", "3", Some("2")),
        ("agentstation:ws-demo", "8", None),
    ];
    for (source, seconds, at) in runs {
        let file = dir.path().join("r.lkrec");
        let png = dir.path().join("x.png");
        let (f, p) = (file.to_str().unwrap(), png.to_str().unwrap());
        let said = run_ok(&sim, &["record", source, "-o", f, "--duration", seconds]).await;
        assert!(said.contains("recorded"), "{said}");
        let mut args = vec!["snapshot", f, "-o", p];
        args.extend(at.map(|a| ["--at", a]).into_iter().flatten());
        run_ok(&sim, &args).await;
        // The simulator's HLS video is 1280×720 whatever its desktop's size.
        let size = if source.starts_with("chaser") {
            (320, 240)
        } else {
            (1280, 720)
        };
        assert_eq!(png_size(&png), size, "{source}");
        // The picture track's kind is in the file's Meta.
        let meta: serde_json::Value = serde_json::from_slice(&records(&file)[0].2).unwrap();
        let kind = if source.starts_with("chaser") {
            "preview"
        } else {
            "hls-video"
        };
        assert_eq!(meta["tracks"][0]["kind"], kind, "{meta}");
        assert_no_secret(&file, &[sim.chaser_key(), sim.agentstation_token()]);
        std::fs::remove_file(&file).unwrap();
    }
    sim.shutdown().await;
}
