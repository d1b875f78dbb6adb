//! Operator input over RFB end to end: `Command::Input` and `Command::PasteText` through a
//! session to the built-in simulator's RFB server, checked against the server's own record
//! of the messages it received. Nothing is sent until a command asks for it.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lookout::core::event::{Command, SessionEvent, SessionState};
use lookout::core::input::keysym::{CONTROL_L, ENTER};
use lookout::core::input::{InputEvent, Modifiers, PointerButton, RemotePx};
use lookout::core::session::{self, SessionConfig, SessionHandle};
use lookout::core::source::SourceSpec;
use lookout::sim::{ReceivedInput, SimConfig, SimHandle, SimStats};

async fn sim() -> SimHandle {
    SimHandle::start(SimConfig {
        width: 640,
        height: 400,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// A session on the simulator's plain TCP RFB endpoint, once it is live.
async fn live_session(sim: &SimHandle) -> SessionHandle {
    let addr = sim.rfb_tcp_addr();
    let mut handle = session::spawn(
        &tokio::runtime::Handle::current(),
        SourceSpec::RfbTcp {
            host: addr.ip().to_string(),
            port: addr.port(),
            password: None,
            linked: false,
        },
        SessionConfig {
            reconnect: false,
            ..SessionConfig::default()
        },
        lookout::core::event::noop_waker(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, handle.recv_event())
            .await
            .expect("timed out waiting for the stream")
            .expect("session ended");
        match event {
            SessionEvent::State(SessionState::Live(info)) => {
                assert_eq!((info.width, info.height), (640, 400));
                return handle;
            }
            SessionEvent::State(s) if s.is_final() => panic!("session stopped: {s:?}"),
            _ => {}
        }
    }
}

/// Waits until the simulator has recorded `n` input events (or cut texts), then returns its
/// stats.
async fn stats_once(sim: &SimHandle, done: impl Fn(&SimStats) -> bool) -> SimStats {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = sim.stats();
        if done(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; the simulator has {:#?}",
            s.input
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn button(x: u32, y: u32, down: bool) -> Command {
    Command::Input(InputEvent::PointerButton {
        at: RemotePx::new(x, y),
        button: PointerButton::Left,
        down,
        click_count: 1,
        modifiers: Modifiers::NONE,
    })
}

fn pointer(buttons: u8, x: u16, y: u16) -> ReceivedInput {
    ReceivedInput::Pointer { buttons, x, y }
}

fn typed(keysyms: &[u32]) -> Vec<ReceivedInput> {
    keysyms
        .iter()
        .flat_map(|&keysym| {
            [
                ReceivedInput::Key { down: true, keysym },
                ReceivedInput::Key {
                    down: false,
                    keysym,
                },
            ]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_and_typed_text_arrive_as_rfb_messages() {
    let sim = sim().await;
    let handle = live_session(&sim).await;

    // View-only is the default: a live session sends no input of its own.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let quiet = sim.stats();
    assert_eq!(quiet.input, vec![], "input without a command");
    assert_eq!(quiet.cut_texts, 0);

    assert!(handle.send(Command::Input(InputEvent::PointerMove {
        at: RemotePx::new(100, 50)
    })));
    assert!(handle.send(button(321, 123, true)));
    assert!(handle.send(button(321, 123, false)));
    assert!(handle.send(Command::Input(InputEvent::Text {
        text: "héllo".into()
    })));
    assert!(handle.send(Command::Input(InputEvent::Text { text: "€".into() })));
    let mut want = vec![
        pointer(0, 100, 50),
        pointer(1, 321, 123),
        pointer(0, 321, 123),
    ];
    want.extend(typed(&[0x68, 0xe9, 0x6c, 0x6c, 0x6f, 0x0100_20ac]));
    let s = stats_once(&sim, |s| s.input.len() >= want.len()).await;
    assert_eq!(s.input, want);
    assert_eq!(s.last_pointer, Some((321, 123)));
    handle.send(Command::Stop);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wheel_and_shortcuts_arrive_in_order_and_paste_sets_the_clipboard() {
    let sim = sim().await;
    let handle = live_session(&sim).await;

    let commands = [
        Command::Input(InputEvent::Wheel {
            at: RemotePx::new(10, 20),
            steps_x: 1,
            steps_y: -2,
            modifiers: Modifiers::NONE,
        }),
        Command::Input(InputEvent::Key {
            keysym: 0x61,
            scancode: Some(0x1e),
            down: true,
            modifiers: Modifiers::CTRL,
        }),
        Command::Input(InputEvent::Key {
            keysym: 0x61,
            scancode: Some(0x1e),
            down: false,
            modifiers: Modifiers::CTRL,
        }),
        Command::Input(InputEvent::Key {
            keysym: ENTER,
            scancode: Some(0x1c),
            down: true,
            modifiers: Modifiers::NONE,
        }),
        Command::PasteText("from the operator ✓".into()),
        Command::Input(InputEvent::ReleaseAll),
    ];
    for cmd in commands {
        assert!(handle.send(cmd));
    }
    let key = |down, keysym| ReceivedInput::Key { down, keysym };
    let want = vec![
        pointer(0x08, 10, 20),
        pointer(0, 10, 20),
        pointer(0x08, 10, 20),
        pointer(0, 10, 20),
        pointer(0x40, 10, 20),
        pointer(0, 10, 20),
        key(true, CONTROL_L),
        key(true, 0x61),
        key(false, 0x61),
        key(false, CONTROL_L),
        key(true, ENTER),
        // ReleaseAll lets go of the Enter key still held.
        key(false, ENTER),
    ];
    let s = stats_once(&sim, |s| s.input.len() >= want.len() && s.cut_texts > 0).await;
    assert_eq!(s.input, want);
    assert_eq!(s.cut_texts, 1);
    assert_eq!(s.last_cut_text.as_deref(), Some("from the operator ?"));
    handle.send(Command::Stop);
    sim.shutdown().await;
}
