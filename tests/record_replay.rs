//! Recording a live session and replaying it headless: the picture a replay shows at a
//! moment is the picture the live view showed then.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lookout::core::event::{Command, SessionEvent, SessionState, noop_waker};
use lookout::core::record::format::Kind;
use lookout::core::record::reader::Reader;
use lookout::core::record::replay::rfb_picture_at;
use lookout::core::record::writer::{self, RecordSink};
use lookout::core::record::{KeyframeEvery, TrackSink};
use lookout::core::session::{self, SessionConfig, SessionHandle};
use lookout::sim::{SimConfig, SimHandle};

/// Watches the simulator's Optexity demo, recording to track 0 of `sink`.
fn record_demo(sim: &SimHandle, sink: &RecordSink) -> SessionHandle {
    record_demo_with(sim, sink, KeyframeEvery::default())
}

fn record_demo_with(sim: &SimHandle, sink: &RecordSink, keyframes: KeyframeEvery) -> SessionHandle {
    let config = SessionConfig {
        settings: sim.settings(),
        record: Some(TrackSink {
            keyframes,
            ..TrackSink::new(sink.clone(), 0)
        }),
        ..SessionConfig::default()
    };
    session::spawn(
        &tokio::runtime::Handle::current(),
        "optexity:demo".parse().unwrap(),
        config,
        noop_waker(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rfb_replay_shows_what_the_live_view_showed_at_each_moment() {
    let sim = SimHandle::start(SimConfig {
        width: 320,
        height: 200,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optexity-demo.lkrec");
    let (sink, writer) =
        writer::create(&path, &serde_json::json!({"source": "optexity:demo"})).unwrap();
    let mut h = record_demo(&sim, &sink);
    let moments = still_moments(&mut h, &sink, 4, Duration::from_millis(150)).await;
    // A drop and a reconnect in the middle of the recording.
    sim.drop_streams();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), h.recv_event()).await {
            Ok(Some(SessionEvent::State(SessionState::Live(_)))) => break,
            Ok(Some(_)) => {}
            other => panic!("not live again: {other:?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_drop = loop {
        let a = h.frames().snapshot().unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mid = sink.now_us();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let b = h.frames().snapshot().unwrap();
        if a.pixels() == b.pixels() {
            break (mid, b.pixels().to_vec());
        }
    };
    h.send(Command::Stop);
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(h);
    drop(sink);
    writer.finish();

    for (n, (at_us, live)) in moments.iter().chain([&after_drop]).enumerate() {
        let replayed = rfb_picture_at(&path, 0, *at_us).unwrap();
        assert!(
            replayed.pixels() == &live[..],
            "moment {n} at {:.3} s: the replay differs from the live picture",
            *at_us as f64 / 1e6
        );
    }
    // The recording holds two connections and their states.
    let mut reader = Reader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let (mut connects, mut live_states) = (0, 0);
    while let Some(r) = reader.next_record().unwrap() {
        match r.head.known_kind() {
            Some(Kind::Connect) => connects += 1,
            Some(Kind::Event)
                if String::from_utf8_lossy(&r.payload).contains(r#""state":"live""#) =>
            {
                live_states += 1
            }
            _ => {}
        }
    }
    assert_eq!((connects, live_states), (2, 2));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_marks_and_input_are_recorded_but_never_what_they_typed() {
    use lookout::core::event::Note;
    use lookout::core::input::{InputEvent, Modifiers, PointerButton, RemotePx};
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marks.lkrec");
    let (sink, writer) = writer::create(&path, &serde_json::json!({})).unwrap();
    let mut h = record_demo(&sim, &sink);
    loop {
        match tokio::time::timeout(Duration::from_secs(10), h.recv_event()).await {
            Ok(Some(SessionEvent::State(SessionState::Live(_)))) => break,
            Ok(Some(_)) => {}
            other => panic!("not live: {other:?}"),
        }
    }
    let at = RemotePx { x: 120, y: 80 };
    for cmd in [
        Command::Note(Note::ControlTaken),
        Command::Input(InputEvent::PointerButton {
            at,
            button: PointerButton::Left,
            down: true,
            click_count: 1,
            modifiers: Modifiers::default(),
        }),
        Command::Input(InputEvent::Text {
            text: "hunter2-secret-pass".into(),
        }),
        Command::Note(Note::Bookmark("typed the password".into())),
        Command::Note(Note::ControlReleased),
    ] {
        assert!(h.send(cmd));
    }
    // The sim sees the typing: it went out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim.stats().key_events == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no key reached the remote"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.send(Command::Stop);
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(h);
    drop(sink);
    writer.finish();
    let mut reader = Reader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let mut events = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        if r.head.known_kind() == Some(Kind::Event) {
            let v: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
            if v["type"] != "state" {
                events.push(v);
            }
        }
    }
    assert_eq!(
        events,
        [
            serde_json::json!({"type": "control", "taken": true}),
            serde_json::json!({"type": "input", "click": [120, 80]}),
            serde_json::json!({"type": "input", "keys": 19}),
            serde_json::json!({"type": "bookmark", "name": "typed the password"}),
            serde_json::json!({"type": "control", "taken": false}),
        ]
    );
    let raw = std::fs::read(&path).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("hunter2"));
    sim.shutdown().await;
}

/// Moments when the live picture held still for 60 ms, `gap` apart at least: (time, picture).
async fn still_moments(
    h: &mut SessionHandle,
    sink: &RecordSink,
    count: usize,
    gap: Duration,
) -> Vec<(u64, Vec<u8>)> {
    let mut moments: Vec<(u64, Vec<u8>)> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while moments.len() < count {
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
        let Some(a) = h.frames().snapshot() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mid = sink.now_us();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let b = h.frames().snapshot().unwrap();
        if a.pixels() == b.pixels() && moments.last().is_none_or(|(_, p)| *p != b.pixels()) {
            moments.push((mid, b.pixels().to_vec()));
            tokio::time::sleep(gap).await;
        }
    }
    moments
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seek_decodes_from_the_last_keyframe_and_shows_what_the_live_view_showed() {
    use lookout::core::record::index;
    use lookout::core::record::player::TrackPlayer;
    use lookout::core::record::replay::RfbPlayer;

    let sim = SimHandle::start(SimConfig {
        width: 320,
        height: 200,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyframes.lkrec");
    let (sink, writer) = writer::create(
        &path,
        &serde_json::json!({"tracks": [{"track": 0, "kind": "rfb"}]}),
    )
    .unwrap();
    let every = KeyframeEvery {
        min_gap: Duration::from_millis(200),
        max_gap: Duration::from_millis(400),
        repaints: 0.0,
        stream_per_pixel: 0.0,
    };
    let mut h = record_demo_with(&sim, &sink, every);
    let moments = still_moments(&mut h, &sink, 6, Duration::from_millis(400)).await;
    h.send(Command::Stop);
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(h);
    drop(sink);
    writer.finish();

    let (_, idx) = index::open(&path).unwrap();
    let keyframes: Vec<_> = idx.points(0).filter(|p| p.kind == Kind::Keyframe).collect();
    assert!(keyframes.len() >= 4, "{} keyframes", keyframes.len());
    // Seeking anywhere, and playing straight through, show the live picture.
    let mut through = RfbPlayer::open(&path, 0).unwrap();
    for (n, (at_us, live)) in moments.iter().enumerate() {
        let sought = rfb_picture_at(&path, 0, *at_us).unwrap();
        assert!(
            sought.pixels() == &live[..],
            "moment {n}: the seek differs from live"
        );
        through.advance_to(*at_us).unwrap();
        assert!(
            through.picture().unwrap().pixels() == &live[..],
            "moment {n}: playing through differs from live"
        );
    }
    // A copy whose stream bytes before a keyframe are all damaged still shows every moment
    // after it: the seek starts there, not at the connection's first byte.
    let (last_at, _) = moments.last().unwrap();
    let from = idx
        .start_for(0, *last_at - 300_000, 0)
        .filter(|p| p.kind == Kind::Keyframe)
        .expect("a keyframe before the last moment");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut reader = Reader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let mut damaged = 0;
    while let Some(r) = reader.next_record().unwrap() {
        if r.head.known_kind() == Some(Kind::Wire) && r.head.offset < from.offset {
            let at = (r.head.offset + 18) as usize;
            bytes[at] ^= 0xff;
            damaged += 1;
        }
    }
    assert!(damaged > 10);
    let copy = dir.path().join("damaged.lkrec");
    std::fs::write(&copy, &bytes).unwrap();
    let mut after = 0;
    for (at_us, live) in moments.iter().filter(|(t, _)| *t >= from.t_us) {
        let sought = rfb_picture_at(&copy, 0, *at_us).unwrap();
        assert!(
            sought.pixels() == &live[..],
            "at {at_us} µs the damaged copy differs"
        );
        after += 1;
    }
    assert!(after >= 1);
    // Before the keyframe there is nothing to decode, and the error says where.
    let err = rfb_picture_at(&copy, 0, moments[0].0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("picture"), "{err}");
    sim.shutdown().await;
}
