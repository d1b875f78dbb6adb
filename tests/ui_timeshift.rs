//! Time-shift in a live window, headless with egui_kittest: the window records its task
//! (an RFB desktop whose colour says the second) and the operator goes back in that
//! recording while it is still being written, then returns to live.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Key, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lookout::core::event::{InputAccess, LiveInfo, SessionEvent, SessionState};
use lookout::core::frame::Framebuffer;
use lookout::core::record::format::Kind;
use lookout::core::record::writer::{self, RecordSink, Writer};
use lookout::core::session::{SessionHandle, SessionPeer};
use lookout::ui::app::ViewerApp;
use lookout::ui::timeshift::TimeShift;
use lookout::ui::{TaskView, theme};

#[path = "support/rfb_script.rs"]
mod rfb_script;

const W: u16 = 64;
const H: u16 = 48;
/// The recording holds this many seconds when the window opens.
const SECONDS: u64 = 20;

/// Second `s` of the recording: the desktop turns red `s * 10`.
fn second(sink: &RecordSink, s: u64) {
    assert!(sink.put_at(
        Kind::Wire,
        0,
        s * 1_000_000,
        rfb_script::fill(W, H, (s * 10) as u8)
    ));
}

struct Setup {
    harness: Harness<'static, ViewerApp>,
    sink: RecordSink,
    live: SessionPeer,
    _writer: Writer,
    _dir: tempfile::TempDir,
}

/// A window on a live task (its picture blue) recording to a file that already holds
/// [`SECONDS`] seconds.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let meta = serde_json::json!({"source": "optexity:shift", "started_unix_ms": 0,
        "tracks": [{"track": 0, "kind": "rfb"}]});
    let (sink, writer) = writer::create(&dir.path().join("live.lkrec"), &meta).unwrap();
    sink.put_at(
        Kind::Connect,
        0,
        0,
        br#"{"protocol":"rfb","password":false}"#.to_vec(),
    );
    sink.put_at(Kind::Wire, 0, 100_000, rfb_script::handshake(W, H));
    for s in 1..=SECONDS {
        second(&sink, s);
    }
    let (handle, live) = SessionHandle::pair("optexity:shift", Arc::new(|| {}));
    let info = LiveInfo {
        width: 64,
        height: 48,
        desktop_name: "desk".into(),
        protocol: "RFB 3.8".into(),
        input: InputAccess::Allowed,
    };
    live.events
        .try_send(SessionEvent::State(SessionState::Live(info)))
        .unwrap();
    publish_live(&live, 255);
    let app = ViewerApp::new(
        Some(TaskView::new(handle)),
        None,
        "optexity:shift".into(),
        None,
    )
    .with_timeshift(TimeShift::new(
        sink.clone(),
        "optexity:shift".into(),
        Arc::new(|| {}),
    ))
    .with_recording(sink.clone());
    let mut harness = Harness::builder()
        .with_size(vec2(1000.0, 700.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ViewerApp| app.ui(ui), app);
    harness.run_steps(2);
    let mut s = Setup {
        harness,
        sink,
        live,
        _writer: writer,
        _dir: dir,
    };
    // The live bar spans the recording once it has been read.
    settle(&mut s, |s| live_us(s) >= SECONDS * 1_000_000);
    s
}

/// The live picture: blue `blue`.
fn publish_live(peer: &SessionPeer, blue: u8) {
    let mut fb = Framebuffer::new(64, 48).unwrap();
    for px in fb.pixels_mut().chunks_exact_mut(4) {
        px.copy_from_slice(&[0, 0, blue, 255]);
    }
    peer.frames.publish(&fb, &[fb.full_rect()]);
}

fn shift(s: &Setup) -> &TimeShift {
    s.harness.state().timeshift().unwrap()
}

fn live_us(s: &Setup) -> u64 {
    shift(s).live_us()
}

/// The red of the past picture shown: the second it shows, times ten.
fn past_red(s: &Setup) -> Option<u8> {
    shift(s)
        .past_view()
        .and_then(|v| v.frames().snapshot())
        .map(|fb| fb.pixels()[0])
}

fn settle(s: &mut Setup, done: impl Fn(&Setup) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        s.harness.run_steps(2);
        if done(s) {
            s.harness.run_steps(2);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "shifted {} at {:?}",
            shift(s).is_shifted(),
            shift(s).playback().map(|p| p.status())
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Clicks the timeline at the moment `at_us` of a bar spanning `span_us`.
fn click_bar(s: &mut Setup, at_us: u64, span_us: u64) {
    let bar = s.harness.get_by_label("Timeline").rect();
    let x = bar.left() + bar.width() * at_us as f32 / span_us as f32;
    let at = egui::pos2(x, bar.center().y);
    s.harness.drag_at(at);
    s.harness.run_steps(1);
    s.harness.drop_at(at);
    s.harness.run_steps(1);
}

#[test]
fn going_back_shows_the_past_while_the_task_goes_on_and_jump_to_live_returns() {
    let mut s = setup();
    s.harness.get_by_label("LIVE");
    assert!(s.harness.query_by_label("Jump to live").is_none());
    assert!(!shift(&s).is_shifted());
    // Back to 5.5 s of 20: the picture of second 5, paused there.
    let span = live_us(&s);
    click_bar(&mut s, 5_500_000, span);
    assert!(shift(&s).is_shifted());
    shift(&s).playback().unwrap().set_playing(false);
    settle(&mut s, |s| past_red(s) == Some(50));
    s.harness.get_by_label("Jump to live");
    // 20 s live, 5.x s shown.
    s.harness.get_by_label("14 s behind live");
    // The task goes on: the live view still takes its session's news, the recording grows,
    // and the past can be played into what was recorded after the shift began.
    publish_live(&s.live, 128);
    second(&s.sink, SECONDS + 1);
    s.sink.flush();
    settle(&mut s, |s| {
        shift(s).playback().unwrap().status().duration_us >= (SECONDS + 1) * 1_000_000
    });
    let span = live_us(&s);
    click_bar(&mut s, 20_999_000, span);
    shift(&s).playback().unwrap().set_playing(false);
    settle(&mut s, |s| past_red(s) == Some(200));
    shift(&s).playback().unwrap().seek(21_000_000);
    settle(&mut s, |s| past_red(s) == Some(210));
    // Jump to live: the live picture again, and the past stops playing.
    s.harness.get_by_label("Jump to live").click();
    s.harness.run_steps(2);
    assert!(!shift(&s).is_shifted());
    assert!(shift(&s).past_view().is_none());
    s.harness.get_by_label("LIVE");
    assert!(!shift(&s).playback().unwrap().status().playing);
    let live = s.harness.state().picture().unwrap();
    assert_eq!(live.frames().snapshot().unwrap().pixels()[2], 128);
}

#[test]
fn playing_on_to_the_live_edge_goes_back_to_live() {
    let mut s = setup();
    let span = live_us(&s);
    click_bar(&mut s, 17_000_000, span);
    assert!(shift(&s).is_shifted());
    shift(&s).playback().unwrap().set_speed(8.0);
    settle(&mut s, |s| !shift(s).is_shifted());
    s.harness.get_by_label("LIVE");
}

#[test]
fn the_left_arrow_goes_back_ten_seconds_and_ctrl_l_returns() {
    let mut s = setup();
    s.harness.key_press(Key::ArrowLeft);
    s.harness.run_steps(1);
    assert!(shift(&s).is_shifted());
    shift(&s).playback().unwrap().set_playing(false);
    let at = shift(&s).playback().unwrap().status().position_us;
    assert!(
        (9_000_000..=11_000_000).contains(&at),
        "10 s before the 20 s live edge: {at}"
    );
    settle(&mut s, |s| {
        past_red(s) == Some(((at / 1_000_000) * 10) as u8)
    });
    s.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, Key::L);
    s.harness.run_steps(2);
    assert!(!shift(&s).is_shifted());
}

#[test]
fn a_click_at_the_live_edge_stays_live() {
    let mut s = setup();
    let live = live_us(&s);
    click_bar(&mut s, live, live);
    assert!(!shift(&s).is_shifted());
}
