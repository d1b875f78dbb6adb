//! The replay window, headless with egui_kittest: a recording made here (an RFB desktop
//! whose colour says the second, a task log, markers) played through `playback::open` into
//! the same views a live task uses, with the timeline under them.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Key, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lookout::core::event::{Command, Note};
use lookout::core::frame::FrameSlot;
use lookout::core::record::format::{self, Kind};
use lookout::core::record::playback::{self, Playback};
use lookout::ui::app::ViewerApp;
use lookout::ui::timeline::{Timeline, clock, marker_style};
use lookout::ui::{LogView, TaskView, theme};

#[path = "support/rfb_script.rs"]
mod rfb_script;

const W: u16 = 64;
const H: u16 = 48;
/// Seconds the recording lasts; second `s` paints the desktop red `s * 10`.
const SECONDS: u64 = 20;

/// Writes the recording: handshake at 0.1 s, a Tight fill of the whole desktop each second
/// but from 17 s to 19 s, three log lines, a prompt, a bookmark and control taken.
fn write_recording(path: &Path) {
    let mut out = format::header().to_vec();
    let meta = serde_json::json!({"source": "optexity:ui-test", "started_unix_ms": 0,
        "tracks": [{"track": 0, "kind": "rfb"}, {"track": 1, "kind": "log"}]});
    format::encode(Kind::Meta, 0, 0, meta.to_string().as_bytes(), &mut out);
    format::encode(
        Kind::Connect,
        0,
        0,
        br#"{"protocol":"rfb","password":false}"#,
        &mut out,
    );
    let hs = rfb_script::handshake(W, H);
    format::encode(Kind::Wire, 0, 100_000, &hs, &mut out);
    let line = |seq: u64, text: &str| {
        serde_json::json!({"seq": seq, "id": format!("m{seq}"), "timestamp_us": null,
            "kind": "agent", "level": null, "request_id": null, "text": text, "detail": null})
        .to_string()
    };
    let mut events: Vec<(u64, Kind, u8, Vec<u8>)> = vec![
        (
            2_500_000,
            Kind::LogLine,
            1,
            line(0, "line A: opening the shop").into_bytes(),
        ),
        (
            5_000_000,
            Kind::Event,
            0,
            br#"{"type":"bookmark","name":"lunch"}"#.to_vec(),
        ),
        (
            7_000_000,
            Kind::Event,
            0,
            br#"{"type":"control","taken":true}"#.to_vec(),
        ),
        (
            10_500_000,
            Kind::LogLine,
            1,
            line(1, "line B: filling the form").into_bytes(),
        ),
        (
            10_600_000,
            Kind::Event,
            1,
            br#"{"type":"prompt","request_id":"r1","text":"Proceed?","password":false}"#.to_vec(),
        ),
        (
            15_500_000,
            Kind::LogLine,
            1,
            line(2, "line C: order placed").into_bytes(),
        ),
    ];
    // Nothing happens from 16 s to 20 s: an idle stretch.
    for s in (1..=16).chain([SECONDS]) {
        let msg = rfb_script::fill(W, H, (s * 10) as u8);
        events.push((s * 1_000_000, Kind::Wire, 0, msg));
    }
    events.sort_by_key(|e| e.0);
    for (t, kind, track, payload) in events {
        format::encode(kind, track, t, &payload, &mut out);
    }
    std::fs::write(path, out).unwrap();
}

struct Setup {
    harness: Harness<'static, ViewerApp>,
    /// The picture the replay publishes (what the task view shows).
    frames: Arc<FrameSlot>,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ui.lkrec");
    write_recording(&path);
    let r = playback::open(&path, "optexity:ui-test", Arc::new(|| {})).unwrap();
    let frames = r.picture.as_ref().unwrap().frames().clone();
    let app = ViewerApp::new(
        r.picture.map(TaskView::new),
        r.log.map(LogView::new),
        "optexity:ui-test (recording)".into(),
        None,
    )
    .with_timeline(Timeline::new(r.playback));
    let harness = Harness::builder()
        .with_size(vec2(1000.0, 700.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ViewerApp| app.ui(ui), app);
    Setup {
        harness,
        frames,
        _dir: dir,
    }
}

fn playback(s: &Setup) -> &Playback {
    s.harness.state().timeline().unwrap().playback()
}

/// Runs frames until the replay has done what was asked and `done` holds.
fn settle(s: &mut Setup, done: impl Fn(&Setup) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        s.harness.run_steps(2);
        if playback(s).is_settled() && done(s) {
            // What the engine did is in the slots: frames to show it.
            s.harness.run_steps(2);
            return;
        }
        assert!(Instant::now() < deadline, "{:?}", playback(s).status());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The red of the replayed picture: the second it shows, times ten.
fn red(s: &Setup) -> Option<u8> {
    s.frames.snapshot().map(|fb| fb.pixels()[0])
}

#[test]
fn clicking_the_timeline_seeks_and_the_picture_and_log_are_there_at_once() {
    let mut s = setup();
    settle(&mut s, |s| {
        // A replay opens on its first picture: second 1's.
        s.harness.query_by_label("0:01 / 0:20").is_some() && red(s) == Some(10)
    });
    let bar = s.harness.get_by_label("Timeline").rect();
    // 12.5 s of 20: the picture of second 12, lines A and B, the prompt waiting.
    let x = bar.left() + bar.width() * 12.5 / 20.0;
    s.harness.drag_at(egui::pos2(x, bar.center().y));
    s.harness.run_steps(1);
    settle(&mut s, |s| red(s) == Some(120));
    let at = playback(&s).status().position_us;
    assert!((12_300_000..=12_700_000).contains(&at), "{at}");
    // It says it is a replay, and there is no remote to take (nor network rates to show).
    assert!(s.harness.query_by_label("live").is_none());
    assert!(s.harness.query_by_label_contains("upd/s").is_none());
    assert!(s.harness.query_by_label_contains("KiB/s").is_none());
    assert_eq!(
        s.harness.get_all_by_label("replay").count(),
        2,
        "status line and log header"
    );
    s.harness.get_by_label_contains("line B: filling the form");
    assert!(s.harness.query_by_label_contains("line C").is_none());
    s.harness.get_by_label("Proceed?");
    // Back to 3 s: second 3's picture, only line A, no prompt.
    let x = bar.left() + bar.width() * 3.2 / 20.0;
    s.harness.drag_at(egui::pos2(x, bar.center().y));
    s.harness.run_steps(1);
    settle(&mut s, |s| red(s) == Some(30));
    s.harness.get_by_label_contains("line A: opening the shop");
    assert!(s.harness.query_by_label_contains("line B").is_none());
    assert!(s.harness.query_by_label("Proceed?").is_none());
    s.harness.get_by_label("Take control").click();
    s.harness.run_steps(2);
    assert!(!s.harness.state().picture().unwrap().is_interactive());
}

#[test]
fn play_speed_step_and_keys_move_the_replay() {
    let mut s = setup();
    settle(&mut s, |_| true);
    // 32×: twenty seconds pass in well under two.
    // `]` doubles the speed, `[` halves it, within 0.25× to 32×.
    for _ in 0..6 {
        s.harness.key_press(Key::CloseBracket);
        s.harness.run_steps(1);
    }
    assert_eq!(playback(&s).status().speed, 32.0);
    s.harness.key_press(Key::Space);
    s.harness.run_steps(1);
    let started = Instant::now();
    settle(&mut s, |s| !playback(s).status().playing);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(playback(&s).status().position_us, SECONDS * 1_000_000);
    s.harness.get_by_label("0:20 / 0:20");
    // Arrow keys move 5 s; Step goes to the next recorded change.
    s.harness.key_press(Key::ArrowLeft);
    settle(&mut s, |s| playback(s).status().position_us == 15_000_000);
    s.harness.key_press(Key::ArrowLeft);
    settle(&mut s, |s| playback(s).status().position_us == 10_000_000);
    s.harness.get_by_label("Step").click();
    settle(&mut s, |s| playback(s).status().position_us == 10_500_000);
    s.harness.key_press(Key::Period);
    settle(&mut s, |s| playback(s).status().position_us == 10_600_000);
    // Space plays, and plays again.
    s.harness.key_press(Key::Space);
    s.harness.run_steps(1);
    assert!(playback(&s).status().playing);
    s.harness.key_press(Key::Space);
    s.harness.run_steps(1);
    assert!(!playback(&s).status().playing);
}

#[test]
fn idle_skip_jumps_over_stretches_where_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ui.lkrec");
    write_recording(&path);
    let r = playback::open(&path, "t", Arc::new(|| {})).unwrap();
    let play_from_16 = |skip: bool| {
        r.playback.set_playing(false);
        r.playback.seek(16_100_000);
        r.playback.set_skip_idle(skip);
        r.playback.set_playing(true);
        std::thread::sleep(Duration::from_millis(400));
        r.playback.status().position_us
    };
    // At 1× the idle stretch takes its four seconds...
    let at = play_from_16(false);
    assert!((16_100_000..17_000_000).contains(&at), "{at}");
    // ...with idle skip it is jumped over to the next change (and the end).
    let at = play_from_16(true);
    assert_eq!(at, SECONDS * 1_000_000);
}

#[test]
fn a_log_line_picked_seeks_to_when_it_was_recorded() {
    let mut s = setup();
    settle(&mut s, |_| true);
    // At the end every line is there; picking line A shows second 2.
    playback(&s).seek(SECONDS * 1_000_000);
    settle(&mut s, |s| {
        s.harness.query_by_label_contains("line C").is_some()
    });
    s.harness
        .get_by_label_contains("line A: opening the shop")
        .click();
    s.harness.run_steps(2);
    settle(&mut s, |s| playback(s).status().position_us == 2_500_000);
    settle(&mut s, |s| red(s) == Some(20));
}

#[test]
fn markers_say_what_happened() {
    let mut s = setup();
    settle(&mut s, |_| true);
    let shown: Vec<String> = playback(&s)
        .index()
        .markers
        .iter()
        .filter_map(|m| marker_style(m).map(|(_, text)| format!("{} {text}", clock(m.t_us))))
        .collect();
    assert_eq!(
        shown,
        [
            "0:05 Bookmark: lunch",
            "0:07 Control taken",
            "0:10 Prompt: Proceed?"
        ]
    );
}

#[test]
fn the_rec_mark_shows_the_window_records_and_a_click_pauses_and_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, writer) = lookout::core::record::writer::create(
        &dir.path().join("live.lkrec"),
        &serde_json::json!({}),
    )
    .unwrap();
    let (handle, mut peer) = lookout::core::session::SessionHandle::pair("t", Arc::new(|| {}));
    let app = ViewerApp::new(Some(TaskView::new(handle)), None, "t".into(), None)
        .with_recording(sink.clone());
    let mut harness = Harness::builder()
        .with_size(vec2(800.0, 500.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ViewerApp| app.ui(ui), app);
    harness.run_steps(2);
    harness.get_by_label("REC").click();
    harness.run_steps(2);
    assert!(sink.is_paused());
    harness.get_by_label("REC paused").click();
    harness.run_steps(2);
    assert!(!sink.is_paused());
    harness.get_by_label("REC");
    // Ctrl+B drops a numbered bookmark into the session's recording.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, Key::B);
    harness.run_steps(1);
    let mut notes = Vec::new();
    while let Ok(cmd) = peer.commands.try_recv() {
        notes.push(cmd);
    }
    assert!(
        notes.contains(&Command::Note(Note::Bookmark("Bookmark 1".into()))),
        "{notes:?}"
    );
    assert_eq!(harness.state().bookmarks(), 1);
    // Paused, nothing is marked.
    sink.set_paused(true);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, Key::B);
    harness.run_steps(1);
    assert_eq!(harness.state().bookmarks(), 1);
    drop(harness);
    drop(sink);
    writer.finish();
}

/// Paths the recordings list asked to open in a replay of their own.
type Launched = Arc<std::sync::Mutex<Vec<std::path::PathBuf>>>;

/// A live window offering the recordings list of `dir`; what it launches is noted.
fn window_with_list(dir: &Path) -> (Harness<'static, ViewerApp>, Launched) {
    use lookout::ui::recordings::RecordingsList;
    let launched = Launched::default();
    let seen = launched.clone();
    let list = RecordingsList::new(
        dir.to_path_buf(),
        Box::new(move |path: &Path| {
            seen.lock().unwrap().push(path.to_path_buf());
            Ok(())
        }),
    );
    let (handle, _peer) = lookout::core::session::SessionHandle::pair("t", Arc::new(|| {}));
    let app = ViewerApp::new(Some(TaskView::new(handle)), None, "t".into(), None)
        .with_recordings_list(list);
    let mut harness = Harness::builder()
        .with_size(vec2(1000.0, 700.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ViewerApp| app.ui(ui), app);
    harness.run_steps(2);
    (harness, launched)
}

#[test]
fn the_recordings_list_opens_a_recording_in_a_replay_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    write_recording(&dir.path().join("a.lkrec"));
    write_recording(&dir.path().join("b.lkrec"));
    std::fs::write(dir.path().join("notes.txt"), b"not a recording").unwrap();
    let (mut harness, launched) = window_with_list(dir.path());
    harness.get_by_label("Recordings").click();
    let deadline = Instant::now() + Duration::from_secs(10);
    while harness.query_all_by_label("Play").count() < 2 {
        assert!(
            Instant::now() < deadline,
            "the list never showed two recordings"
        );
        harness.run_steps(1);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(harness.query_all_by_label("Play").count(), 2);
    harness.get_all_by_label("0:20").next().unwrap();
    harness.get_all_by_label("optexity:ui-test").next().unwrap();
    harness.get_all_by_label("Play").next().unwrap().click();
    harness.run_steps(2);
    let launched = launched.lock().unwrap().clone();
    assert_eq!(launched.len(), 1);
    assert!(launched[0].starts_with(dir.path()) && launched[0].extension().unwrap() == "lkrec");
}

/// A file dropped on the window, as eframe hands it over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn open_picks_a_recording_from_anywhere_and_a_dropped_file_opens_too() {
    let library = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let sent = elsewhere.path().join("from a colleague.lkrec");
    write_recording(&sent);
    let wrong = elsewhere.path().join("notes.lkrec");
    std::fs::write(&wrong, b"not a recording at all").unwrap();
    let (mut harness, launched) = window_with_list(library.path());
    std::fs::write(elsewhere.path().join("notes.txt"), b"text").unwrap();
    std::fs::create_dir(elsewhere.path().join("older")).unwrap();
    // Open… shows the file dialog, in the recordings directory (empty).
    harness.get_by_label("Open…").click();
    harness.run_steps(2);
    harness.get_by_label("Open a recording");
    harness.get_by_label("No recordings in this folder.");
    // A folder typed in: its folders and recordings (not its other files).
    harness
        .get_by_role(egui::accesskit::Role::TextInput)
        .focus();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, Key::A);
    harness.run_steps(1);
    harness
        .get_by_role(egui::accesskit::Role::TextInput)
        .type_text(&elsewhere.path().display().to_string());
    harness.run_steps(1);
    harness.key_press(Key::Enter);
    harness.run_steps(2);
    harness.get_by_label("older/");
    assert!(harness.query_by_label("notes.txt").is_none());
    harness.get_by_label("from a colleague.lkrec").click();
    harness.run_steps(1);
    harness.get_by_label("Open").click();
    harness.run_steps(2);
    assert_eq!(*launched.lock().unwrap(), std::slice::from_ref(&sent));
    assert!(harness.query_by_label("Open a recording").is_none());
    launched.lock().unwrap().clear();
    // A file that is not a recording is refused with its reason, in the window.
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(wrong.clone())));
    harness.run_steps(2);
    assert!(launched.lock().unwrap().is_empty());
    harness.get_by_label_contains("notes.lkrec: at byte 0: not a Lookout recording");
    // A recording from elsewhere, dropped on the window, opens in a replay of its own.
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(sent.clone())));
    harness.run_steps(2);
    assert_eq!(*launched.lock().unwrap(), [sent]);
}
