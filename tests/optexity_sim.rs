//! The Optexity flow end to end against the built-in simulator on loopback: the session's
//! states, the provider's errors, reconnection with a fresh token, and `lookout snapshot`.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lookout::core::config::{OptexitySettings, Settings};
use lookout::core::event::{Command, ErrorKind, SessionError, SessionEvent, SessionState, Waker};
use lookout::core::redact::Secret;
use lookout::core::session::{self, Backoff, SessionConfig, SessionHandle};
use lookout::core::source::SourceSpec;
use lookout::sim::{SimConfig, SimHandle, TaskPlan, TaskStatus};

async fn sim() -> SimHandle {
    SimHandle::start(SimConfig {
        width: 640,
        height: 400,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config(sim: &SimHandle, key: &str) -> SessionConfig {
    SessionConfig {
        settings: Settings {
            optexity: OptexitySettings {
                base_url: Some(sim.base_url()),
                api_key: Some(Secret::new(key)),
            },
            ..Settings::default()
        },
        backoff: Backoff {
            initial_ms: 50,
            max_ms: 500,
        },
        status_poll_ms: 100,
        ..SessionConfig::default()
    }
}

fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let m = n.clone();
    (
        Arc::new(move || {
            m.fetch_add(1, Ordering::Relaxed);
        }),
        n,
    )
}

fn watch(sim: &SimHandle, task: &str, key: &str) -> (SessionHandle, Arc<AtomicUsize>) {
    let (waker, wakes) = counting_waker();
    let handle = session::spawn(
        &tokio::runtime::Handle::current(),
        SourceSpec::Optexity {
            task_id: task.into(),
        },
        config(sim, key),
        waker,
    );
    (handle, wakes)
}

/// Collects states until `done` says stop, or fails after `secs`.
async fn states_until(
    handle: &mut SessionHandle,
    secs: u64,
    mut done: impl FnMut(&SessionState) -> bool,
) -> Vec<SessionState> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let event = tokio::time::timeout_at(deadline, handle.recv_event())
            .await
            .unwrap_or_else(|_| panic!("timed out; states so far: {seen:#?}"))
            .expect("session ended without a final state");
        if let SessionEvent::State(s) = event {
            let stop = done(&s);
            seen.push(s);
            if stop {
                return seen;
            }
        }
    }
}

async fn wait_for_frames(handle: &SessionHandle, at_least: u64, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while handle.frames().seq() < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} frames after {secs} s",
            handle.frames().seq()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_task_waits_then_streams_then_ends() {
    let sim = sim().await;
    sim.add_task(
        "q1",
        TaskPlan {
            queued_ms: 600,
            running_ms: Some(2_500),
            end: TaskStatus::Success,
        },
    );
    let (mut handle, wakes) = watch(&sim, "q1", sim.api_key());
    let states = states_until(&mut handle, 20, SessionState::is_final).await;
    let waited = states
        .iter()
        .position(|s| matches!(s, SessionState::WaitingForTask { status } if status == "queued"));
    let live = states.iter().position(
        |s| matches!(s, SessionState::Live(info) if info.width == 640 && info.height == 400),
    );
    assert!(waited.is_some(), "never waited: {states:#?}");
    assert!(live > waited, "never went live after waiting: {states:#?}");
    match states.last().unwrap() {
        SessionState::Ended {
            reason,
            task_failed: false,
        } => assert!(reason.contains("success"), "{reason}"),
        other => panic!("ended as {other:?}"),
    }
    assert!(handle.frames().seq() > 0, "no picture while live");
    assert!(wakes.load(Ordering::Relaxed) > 0, "the UI was never woken");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_errors_are_named() {
    let sim = sim().await;

    let (mut bad_key, _) = watch(&sim, "demo", "wrong-key");
    let states = states_until(&mut bad_key, 10, SessionState::is_final).await;
    assert_eq!(
        states.last().unwrap(),
        &SessionState::Failed {
            error: SessionError::new(
                ErrorKind::Unauthorized,
                false,
                "Optexity rejected the API key: Invalid or missing API key (401)"
            )
        }
    );

    let (mut unknown, _) = watch(&sim, "no-such-task", sim.api_key());
    let states = states_until(&mut unknown, 10, SessionState::is_final).await;
    assert_eq!(
        states.last().unwrap(),
        &SessionState::Failed {
            error: SessionError::new(
                ErrorKind::NotFound,
                false,
                "Task no-such-task not found (404)"
            )
        }
    );

    let (mut finished, _) = watch(&sim, "demo-finished", sim.api_key());
    let states = states_until(&mut finished, 10, SessionState::is_final).await;
    match states.last().unwrap() {
        SessionState::Ended { reason, .. } => {
            assert!(
                reason.contains("task demo-finished is not running (409)"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !states.iter().any(|s| matches!(s, SessionState::Live(_))),
        "a finished task must not go live"
    );

    // Retry after a final state starts over.
    assert!(finished.send(Command::Retry));
    let again = states_until(&mut finished, 10, SessionState::is_final).await;
    assert!(matches!(again.first(), Some(SessionState::Loading)));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_stream_reconnects_with_a_fresh_token() {
    let sim = sim().await;
    let (mut handle, _) = watch(&sim, "demo", sim.api_key());
    states_until(&mut handle, 10, |s| matches!(s, SessionState::Live(_))).await;
    wait_for_frames(&handle, 2, 10).await;
    let before = sim.stats();

    sim.drop_streams();
    let states = states_until(&mut handle, 10, |s| matches!(s, SessionState::Live(_))).await;
    assert!(
        states
            .iter()
            .any(|s| matches!(s, SessionState::Reconnecting { .. })),
        "{states:#?}"
    );
    let seq = handle.frames().seq();
    wait_for_frames(&handle, seq + 2, 10).await;

    let after = sim.stats();
    assert_eq!(
        after.tokens_issued,
        before.tokens_issued + 1,
        "one fresh token for the reconnect"
    );
    assert_eq!(after.tokens_rejected(), 0, "no token was reused");
    let streams = |s: &lookout::sim::SimStats| s.stream_connections.get("demo").copied();
    assert_eq!(streams(&after), streams(&before).map(|n| n + 1));

    assert!(handle.send(Command::Stop));
    let end = states_until(&mut handle, 5, SessionState::is_final).await;
    assert!(matches!(end.last(), Some(SessionState::Ended { .. })));
    // Stopping closes the socket at once: the server sees no live stream left.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sim.stats().live_streams > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream stayed open after Stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let frames_at_stop = handle.frames().seq();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(handle.frames().seq(), frames_at_stop, "frames after Stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_finishing_while_live_ends_the_view() {
    let sim = sim().await;
    sim.add_task(
        "short",
        TaskPlan {
            queued_ms: 0,
            running_ms: None,
            end: TaskStatus::Success,
        },
    );
    let (mut handle, _) = watch(&sim, "short", sim.api_key());
    states_until(&mut handle, 10, |s| matches!(s, SessionState::Live(_))).await;
    sim.set_status("short", TaskStatus::Failed);
    let states = states_until(&mut handle, 10, SessionState::is_final).await;
    match states.last().unwrap() {
        SessionState::Ended {
            reason,
            task_failed: true,
        } => assert!(reason.contains("failed"), "{reason}"),
        other => panic!("{other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfb_over_tcp_goes_live() {
    let sim = sim().await;
    let (waker, _) = counting_waker();
    let addr = sim.rfb_tcp_addr();
    let mut handle = session::spawn(
        &tokio::runtime::Handle::current(),
        format!("vnc://{addr}").parse().unwrap(),
        SessionConfig::default(),
        waker,
    );
    let states = states_until(&mut handle, 10, |s| matches!(s, SessionState::Live(_))).await;
    assert!(matches!(states.last(), Some(SessionState::Live(i)) if i.protocol == "RFB 3.8"));
    wait_for_frames(&handle, 1, 10).await;
    sim.shutdown().await;
}

/// A VNC server a link named (`vnc+link://`) is never sent the configured VNC password:
/// without one in the link the session stops at the server's password question; with
/// the link's own it goes live. The same server typed as `vnc://` gets the configured one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_vnc_server_never_gets_the_configured_password() {
    let sim = SimHandle::start(SimConfig {
        width: 320,
        height: 200,
        vnc_password: Some("right-pass".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let addr = sim.rfb_tcp_addr();
    let mut config = SessionConfig::default();
    config.settings.rfb.password = Some(Secret::new("right-pass"));
    let open = |source: String| {
        let (waker, _) = counting_waker();
        session::spawn(
            &tokio::runtime::Handle::current(),
            source.parse().unwrap(),
            config.clone(),
            waker,
        )
    };
    let live = |s: &SessionState| matches!(s, SessionState::Live(_));
    let over = |s: &SessionState| live(s) || matches!(s, SessionState::Failed { .. });

    let mut typed = open(format!("vnc://{addr}"));
    states_until(&mut typed, 10, live).await;

    let mut linked = open(format!("vnc+link://{addr}"));
    let states = states_until(&mut linked, 10, over).await;
    match states.last() {
        Some(SessionState::Failed { error }) => {
            assert!(
                error.message.contains("asks for a VNC password"),
                "{error:?}"
            )
        }
        other => panic!("a linked server went on without a password: {other:?}"),
    }

    let mut with_own = open(format!("vnc+link://:right-pass@{addr}"));
    states_until(&mut with_own, 10, live).await;
    sim.shutdown().await;
}
