//! UI tests of the task view, headless with egui_kittest: a session driven by hand through
//! its `SessionPeer` (events, frames, stats) and the commands the view sends back.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use egui::epaint::ImageDelta;
use egui::{ImageData, Key, Modifiers, TextureId, TexturesDelta, ViewportId, vec2};
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, TestRenderer};
use lookout::core::event::{
    Command, ErrorKind, InputAccess, LiveInfo, Note, SessionError, SessionEvent, SessionState,
};
use lookout::core::frame::{CursorShape, Framebuffer, Rect};
use lookout::core::input::{InputEvent, PointerButton};
use lookout::core::session::{SessionHandle, SessionPeer};
use lookout::ui::{ScaleMode, TaskView, theme};

/// Texture uploads seen by the "GPU".
type Uploads = Arc<Mutex<Vec<(TextureId, ImageDelta)>>>;

/// A renderer that only records texture uploads, leaving out the font atlas.
struct RecordingRenderer(Uploads);

impl TestRenderer for RecordingRenderer {
    fn handle_delta(&mut self, delta: &mut TexturesDelta) {
        let mut uploads = self.0.lock().unwrap();
        for (id, deltas) in delta.set.drain() {
            if id != TextureId::default() {
                uploads.extend(deltas.into_iter().map(|d| (id, d)));
            }
        }
    }
}

struct Setup {
    harness: Harness<'static, TaskView>,
    peer: SessionPeer,
    uploads: Uploads,
}

fn setup() -> Setup {
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = wakes.clone();
    let (handle, peer) = SessionHandle::pair(
        "test",
        Arc::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        }),
    );
    let uploads = Uploads::default();
    let harness = Harness::builder()
        .with_size(vec2(800.0, 600.0))
        .with_context_setup(theme::apply)
        .renderer(RecordingRenderer(uploads.clone()))
        .build_ui_state(|ui, view: &mut TaskView| view.ui(ui), TaskView::new(handle));
    Setup {
        harness,
        peer,
        uploads,
    }
}

impl Setup {
    fn send(&mut self, state: SessionState) {
        self.peer
            .events
            .try_send(SessionEvent::State(state))
            .unwrap();
        self.harness.run();
    }

    fn repaint_delay(&self) -> Duration {
        self.harness.output().viewport_output[&ViewportId::ROOT].repaint_delay
    }

    fn take_uploads(&self) -> Vec<(TextureId, ImageDelta)> {
        std::mem::take(&mut *self.uploads.lock().unwrap())
    }
}

fn live(width: u32, height: u32) -> SessionState {
    SessionState::Live(LiveInfo {
        width,
        height,
        desktop_name: "desk".into(),
        protocol: "RFB 3.8".into(),
        input: Default::default(),
    })
}

fn pixels(delta: &ImageDelta) -> Vec<u8> {
    let ImageData::Color(image) = &delta.image;
    image.as_raw().to_vec()
}

#[test]
fn starts_loading_and_shows_each_waiting_state() {
    let mut s = setup();
    s.harness.run();
    s.harness.get_by_label("Initializing stream…");
    s.harness.get_by_label("loading");

    s.send(SessionState::WaitingForTask {
        status: "queued".into(),
    });
    s.harness
        .get_by_label("Waiting for the task to start (status: queued)");
    assert!(s.harness.query_by_label("Initializing stream…").is_none());

    s.send(SessionState::Connecting { attempt: 1 });
    s.harness.get_by_label("Connecting…");

    s.send(SessionState::Reconnecting {
        attempt: 2,
        retry_in_ms: 3_000,
        error: SessionError::new(ErrorKind::Network, true, "connection reset"),
    });
    s.harness
        .get_by_label("Connection lost — reconnecting in 3 s (attempt 2)");
    s.harness.get_by_label("connection reset");

    s.send(SessionState::Ended {
        reason: "The task finished.".into(),
        task_failed: false,
    });
    s.harness.get_by_label("Stream ended");
    s.harness.get_by_label("The task finished.");
    s.harness.get_by_label("ended");
    assert!(
        s.harness.query_by_label("Retry").is_none(),
        "Retry is for failures"
    );
    assert!(
        s.peer.commands.try_recv().is_err(),
        "no command without a click"
    );
}

#[test]
fn failure_shows_message_and_retry_sends_the_command() {
    let mut s = setup();
    s.send(SessionState::Failed {
        error: SessionError::new(ErrorKind::Network, false, "The provider cannot be reached."),
    });
    s.harness.get_by_label("The provider cannot be reached.");
    s.harness.get_by_label("error");

    s.harness.get_by_label("Retry").click();
    s.harness.run();
    assert_eq!(s.peer.commands.try_recv().ok(), Some(Command::Retry));
    assert!(s.peer.commands.try_recv().is_err(), "exactly one Retry");

    // The toolbar offers the same, as does Ctrl+R.
    s.harness.get_by_label("Reconnect").click();
    s.harness.run();
    assert_eq!(s.peer.commands.try_recv().ok(), Some(Command::Retry));
    s.harness.key_press_modifiers(Modifiers::COMMAND, Key::R);
    s.harness.run();
    assert_eq!(s.peer.commands.try_recv().ok(), Some(Command::Retry));

    // Once connecting again, the failure and its buttons are gone.
    s.send(SessionState::Connecting { attempt: 1 });
    assert!(s.harness.query_by_label("Retry").is_none());
    assert!(s.harness.query_by_label("Reconnect").is_none());
    s.harness.key_press_modifiers(Modifiers::COMMAND, Key::R);
    s.harness.run();
    assert!(s.peer.commands.try_recv().is_err());
}

#[test]
fn a_refused_key_shows_how_to_fix_it_instead_of_retry() {
    let mut s = setup();
    s.send(SessionState::Failed {
        error: SessionError::new(
            ErrorKind::Unauthorized,
            false,
            "Optexity rejected the API key (401)",
        ),
    });
    s.harness
        .get_by_label("Optexity rejected the API key (401)");
    s.harness.get_by_label_contains("Check the key or token");
    assert!(
        s.harness.query_by_label("Retry").is_none(),
        "the same key fails the same way"
    );
    // The toolbar still reconnects on request (after the key was fixed elsewhere).
    s.harness.get_by_label("Reconnect").click();
    s.harness.run();
    assert_eq!(s.peer.commands.try_recv().ok(), Some(Command::Retry));
}

#[test]
fn live_picture_hides_overlay_and_status_line_shows_size() {
    let mut s = setup();
    s.harness.run();
    let fb = Framebuffer::from_rgba(64, 48, [10, 20, 30, 255].repeat(64 * 48)).unwrap();
    s.peer.frames.publish(&fb, &[fb.full_rect()]);
    s.harness.run();
    // The picture is under the overlay until the core says Live.
    s.harness.get_by_label("Initializing stream…");
    s.harness.get_by_label("64×48");

    s.send(live(64, 48));
    assert!(s.harness.query_by_label("Initializing stream…").is_none());
    s.harness.get_by_label("64×48");
    s.harness.get_by_label("live");
    s.harness.get_by_label("test");
    assert_eq!(s.harness.state().picture_size(), Some([64, 48]));

    // A lost connection brings the overlay back over the last picture.
    s.send(SessionState::Connecting { attempt: 2 });
    s.harness.get_by_label("Connecting…");
    s.harness.get_by_label("Attempt 2");
    assert_eq!(s.harness.state().picture_size(), Some([64, 48]));
}

#[test]
fn uploads_whole_picture_once_then_only_dirty_rects_to_one_texture() {
    let mut s = setup();
    s.send(live(16, 8));
    let mut fb = Framebuffer::new(16, 8).unwrap();
    s.peer.frames.publish(&fb, &[fb.full_rect()]);
    s.harness.run();
    let first = s.take_uploads();
    let whole: Vec<_> = first
        .iter()
        .filter(|(_, d)| d.image.size() == [16, 8])
        .collect();
    assert_eq!(whole.len(), 1, "one full upload");
    let (picture_id, delta) = whole[0];
    assert_eq!(delta.pos, None);

    fb.fill_rect(Rect::new(2, 3, 4, 2), [200, 100, 50, 255])
        .unwrap();
    s.peer.frames.publish(&fb, &[Rect::new(2, 3, 4, 2)]);
    s.harness.run();
    let second = s.take_uploads();
    assert_eq!(second.len(), 1, "only the dirty rect");
    let (id, delta) = &second[0];
    assert_eq!(id, picture_id, "same texture");
    assert_eq!(delta.pos, Some([2, 3]));
    assert_eq!(delta.image.size(), [4, 2]);
    assert_eq!(pixels(delta), [200, 100, 50, 255].repeat(8));

    // Nothing new: nothing uploaded, and the view does not keep repainting.
    s.harness.run();
    assert!(s.take_uploads().is_empty());
    assert_eq!(s.repaint_delay(), Duration::MAX);

    // A new size replaces the content of the same texture.
    let fb = Framebuffer::new(20, 10).unwrap();
    s.peer.frames.publish(&fb, &[fb.full_rect()]);
    s.harness.run();
    let third = s.take_uploads();
    assert_eq!(third.len(), 1);
    assert_eq!(&third[0].0, picture_id);
    assert_eq!(third[0].1.image.size(), [20, 10]);
    s.harness.get_by_label("20×10");
}

#[test]
fn cursor_shape_gets_its_own_texture() {
    let mut s = setup();
    s.send(live(32, 32));
    let fb = Framebuffer::new(32, 32).unwrap();
    s.peer.frames.set_cursor(Some(CursorShape {
        width: 2,
        height: 2,
        hotspot_x: 1,
        hotspot_y: 1,
        rgba: [255, 255, 255, 255].repeat(4),
    }));
    s.peer.frames.set_pointer(10, 10);
    s.peer.frames.publish(&fb, &[fb.full_rect()]);
    s.harness.run();
    let sizes: Vec<[usize; 2]> = s
        .take_uploads()
        .iter()
        .map(|(_, d)| d.image.size())
        .collect();
    assert!(sizes.contains(&[32, 32]), "{sizes:?}");
    assert!(sizes.contains(&[2, 2]), "{sizes:?}");
}

#[test]
fn scale_toggles_by_button_and_shortcut() {
    let mut s = setup();
    s.send(live(64, 48));
    assert_eq!(s.harness.state().scale(), ScaleMode::Fit);
    s.harness.get_by_label("1:1").click();
    s.harness.run();
    assert_eq!(s.harness.state().scale(), ScaleMode::OneToOne);
    s.harness.key_press_modifiers(Modifiers::COMMAND, Key::Num1);
    s.harness.run();
    assert_eq!(s.harness.state().scale(), ScaleMode::Fit);
}

#[test]
fn rates_show_traffic_then_fall_to_zero_and_stop_repainting() {
    let mut s = setup();
    s.send(live(64, 48));
    s.harness.get_by_label("0 KiB/s");
    assert_eq!(s.repaint_delay(), Duration::MAX, "idle: no repaint");

    // One update of 4 KiB. Each harness step advances egui's clock by 0.25 s.
    s.peer.stats.add_bytes(4096);
    s.peer.stats.add_update(1);
    s.peer.stats.set_encoding(16);
    let mut steps = 0;
    while s.harness.query_by_label("4.0 KiB/s").is_none() {
        assert!(steps < 8, "rate never shown");
        s.harness.step();
        steps += 1;
    }
    s.harness.get_by_label("1.0 upd/s");
    s.harness.get_by_label("ZRLE");
    let delay = s.repaint_delay();
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(1),
        "{delay:?}"
    );

    // No more traffic: a second later the rates read zero and repaints stop.
    let mut steps = 0;
    while s.harness.query_by_label("0 KiB/s").is_none() {
        assert!(steps < 8, "rate never fell to zero");
        s.harness.step();
        steps += 1;
    }
    s.harness.get_by_label("0 upd/s");
    assert_eq!(s.repaint_delay(), Duration::MAX);
}

/// A live 800×500 picture, drawn fitted in the 800×600 harness.
fn live_picture(s: &mut Setup) {
    s.send(live(800, 500));
    let fb = Framebuffer::new(800, 500).unwrap();
    s.peer.frames.publish(&fb, &[fb.full_rect()]);
    s.harness.run();
    s.harness.run();
}

/// Every command the view sent since the last call.
fn drain(s: &mut Setup) -> Vec<Command> {
    std::iter::from_fn(|| s.peer.commands.try_recv().ok()).collect()
}

/// A click in the middle of the picture area, with a move first.
fn click_middle(s: &mut Setup) {
    let middle = egui::pos2(400.0, 300.0);
    s.harness.event(egui::Event::PointerMoved(middle));
    for pressed in [true, false] {
        s.harness.event(egui::Event::PointerButton {
            pos: middle,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    s.harness.event(egui::Event::Text("hi".into()));
    s.harness.run();
}

#[test]
fn view_only_sends_no_input_until_control_is_taken() {
    let mut s = setup();
    live_picture(&mut s);
    assert!(
        s.harness
            .query_by_label_contains("You are in control")
            .is_none()
    );
    click_middle(&mut s);
    s.harness.key_press(Key::A);
    s.harness.run();
    assert_eq!(drain(&mut s), [], "view-only: nothing reaches the session");

    s.harness.get_by_label("Take control").click();
    s.harness.run();
    assert!(s.harness.state().is_interactive());
    s.harness.get_by_label_contains("You are in control");
    s.harness.get_by_label("Release control");
    // Taking control is marked for the recording, and sends nothing to the remote.
    assert_eq!(drain(&mut s), [Command::Note(Note::ControlTaken)]);
    click_middle(&mut s);
    let sent = drain(&mut s);
    let inputs: Vec<&InputEvent> = sent
        .iter()
        .map(|c| match c {
            Command::Input(ev) => ev,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(
        inputs.iter().any(|e| matches!(
            e,
            InputEvent::PointerButton {
                down: true,
                button: PointerButton::Left,
                ..
            }
        )),
        "{inputs:?}"
    );
    assert!(
        inputs.contains(&&InputEvent::Text { text: "hi".into() }),
        "{inputs:?}"
    );
    // The click landed inside the picture (800×500 fitted into the area between the bars).
    for e in &inputs {
        if let InputEvent::PointerButton { at, .. } = e {
            assert!(at.x < 800 && at.y < 500, "{at:?}");
            assert!((390..=410).contains(&at.x), "{at:?}");
        }
    }

    // Release: the remote lets go of everything, the banner goes, input stops.
    s.harness.get_by_label("Release control").click();
    s.harness.run();
    assert!(!s.harness.state().is_interactive());
    assert_eq!(
        drain(&mut s),
        [
            Command::Note(Note::ControlReleased),
            Command::Input(InputEvent::ReleaseAll)
        ]
    );
    assert!(
        s.harness
            .query_by_label_contains("You are in control")
            .is_none()
    );
    click_middle(&mut s);
    assert_eq!(drain(&mut s), []);
}

#[test]
fn f8_toggles_control_and_in_control_shortcuts_go_to_the_remote() {
    let mut s = setup();
    live_picture(&mut s);
    s.harness.key_press(Key::F8);
    s.harness.run();
    assert!(s.harness.state().is_interactive());
    // Ctrl+R is the remote's now (a reload there), not our Reconnect.
    s.harness.key_press_modifiers(Modifiers::COMMAND, Key::R);
    s.harness.run();
    let sent = drain(&mut s);
    assert!(!sent.contains(&Command::Retry));
    assert!(
        sent.iter().any(|c| matches!(
            c,
            Command::Input(InputEvent::Key {
                keysym: 0x72,
                down: true,
                ..
            })
        )),
        "{sent:?}"
    );
    s.harness.key_press(Key::F8);
    s.harness.run();
    assert!(!s.harness.state().is_interactive());
    assert!(drain(&mut s).contains(&Command::Input(InputEvent::ReleaseAll)));
}

#[test]
fn control_is_refused_when_the_provider_disables_input_or_the_stream_is_not_live() {
    let mut s = setup();
    s.send(SessionState::Connecting { attempt: 1 });
    s.harness.key_press(Key::F8);
    s.harness.run();
    assert!(
        !s.harness.state().is_interactive(),
        "nothing to control yet"
    );

    s.send(SessionState::Live(LiveInfo {
        width: 800,
        height: 500,
        desktop_name: String::new(),
        protocol: "preview".into(),
        input: InputAccess::Refused("Input is disabled for this session".into()),
    }));
    s.harness.get_by_label("Take control").click();
    s.harness.key_press(Key::F8);
    s.harness.run();
    assert!(!s.harness.state().is_interactive());
    assert_eq!(drain(&mut s), []);

    // Taken while live; the stream drops: control ends by itself.
    s.send(live(800, 500));
    s.harness.key_press(Key::F8);
    s.harness.run();
    assert!(s.harness.state().is_interactive());
    s.send(SessionState::Connecting { attempt: 2 });
    s.harness.run();
    assert!(!s.harness.state().is_interactive());
}

#[test]
fn remote_clipboard_can_be_copied_and_paste_sends_the_local_text() {
    let mut s = setup();
    live_picture(&mut s);
    assert!(s.peer.clipboard.put("order #4411".into()));
    s.peer
        .events
        .try_send(SessionEvent::RemoteClipboard)
        .unwrap();
    s.harness.run();
    assert_eq!(s.harness.state().remote_clipboard(), Some("order #4411"));
    s.harness.get_by_label("Clipboard").click();
    s.harness.run();
    s.harness.get_by_label("Copy remote text").click();
    // One frame: its output holds the copy command.
    s.harness.step();
    let copied = s
        .harness
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t == "order #4411"));
    assert!(copied);
    assert_eq!(drain(&mut s), [], "copying sends nothing to the remote");

    s.harness.key_press(Key::F8);
    s.harness.run();
    s.harness.get_by_label("Clipboard").click();
    s.harness.run();
    s.harness.get_by_label("Paste to remote").click();
    s.harness.run();
    // The window answers the paste request with the clipboard's text.
    s.harness.event(egui::Event::Paste("ünïcode text".into()));
    s.harness.run();
    assert!(drain(&mut s).contains(&Command::PasteText("ünïcode text".into())));
}
