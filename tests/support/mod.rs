//! What the integration tests share: waiting on a session's events with a deadline.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lookout::core::event::{SessionEvent, SessionState};
use lookout::core::session::SessionHandle;

/// The next state change (other events are collected in `seen`), within 10 s.
pub async fn next_state(h: &mut SessionHandle, seen: &mut Vec<SessionEvent>) -> SessionState {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), h.recv_event())
            .await
            .expect("no event within 10 s")
            .expect("session task ended");
        match event {
            SessionEvent::State(s) => return s,
            other => seen.push(other),
        }
    }
}

/// Waits for a state matching `want`, failing on any final state that does not.
pub async fn wait_state(
    h: &mut SessionHandle,
    want: impl Fn(&SessionState) -> bool,
) -> (SessionState, Vec<SessionEvent>) {
    let mut seen = Vec::new();
    loop {
        let s = next_state(h, &mut seen).await;
        if want(&s) {
            return (s, seen);
        }
        assert!(!s.is_final(), "unexpected final state {s:?}");
    }
}

/// Polls `cond` every 20 ms until it holds, failing with `what` after `within`.
pub async fn eventually(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the next non-state event matching `want`, within 10 s.
pub async fn wait_event(
    h: &mut SessionHandle,
    want: impl Fn(&SessionEvent) -> bool,
) -> SessionEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), h.recv_event())
            .await
            .expect("no event within 10 s")
            .expect("session task ended");
        if want(&event) {
            return event;
        }
    }
}
