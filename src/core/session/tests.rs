//! The runner with a scripted driver: what every source gets from it without writing it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::driver::{ConnEnd, Driver, DriverCommand, Outlet, Resolve, Routed, Session, Stop};
use super::{Backoff, SessionConfig, SessionHandle, runner};
use crate::core::error::CoreError;
use crate::core::event::{
    Command, ErrorKind, InputAccess, LiveInfo, SessionEvent, SessionState, noop_waker,
};
use crate::core::input::InputEvent;
use crate::core::net::NetError;
use crate::core::provider::optexity::OptexityError;
use crate::core::redact::Secret;

/// What one connection of the scripted driver does.
enum Attempt {
    /// Resolving fails with this error.
    ResolveFails(CoreError),
    /// Connecting never finishes.
    ConnectHangs,
    /// Goes live, then drops with this error once told to (or at once).
    LiveThenDrop(CoreError),
    /// Goes live and serves commands until the session ends.
    Live,
}

/// Commands the scripted driver received.
type Seen = Arc<Mutex<Vec<String>>>;

struct Scripted<const PROMPTS: bool, const INPUT: bool> {
    attempts: VecDeque<Attempt>,
    seen: Seen,
}

impl<const PROMPTS: bool, const INPUT: bool> Driver for Scripted<PROMPTS, INPUT> {
    type Endpoint = Attempt;
    type Connection = Attempt;
    const PROMPTS: bool = PROMPTS;
    const INPUT: bool = INPUT;

    async fn resolve(&mut self, _s: &mut Session, _had_live: bool) -> Result<Attempt, Resolve> {
        match self.attempts.pop_front().unwrap_or(Attempt::Live) {
            Attempt::ResolveFails(e) => Err(e.into()),
            other => Ok(other),
        }
    }

    async fn connect(&mut self, attempt: Attempt, _out: &Outlet) -> Result<Attempt, ConnEnd> {
        if let Attempt::ConnectHangs = attempt {
            std::future::pending::<()>().await;
        }
        Ok(attempt)
    }

    async fn run(&mut self, attempt: Attempt, s: &mut Session) -> ConnEnd {
        let info = LiveInfo {
            width: 4,
            height: 4,
            desktop_name: String::new(),
            protocol: "test".into(),
            input: InputAccess::Allowed,
        };
        s.out.set_state(SessionState::Live(info)).await;
        if let Attempt::LiveThenDrop(error) = attempt {
            return ConnEnd::Dropped {
                was_live: true,
                error,
            };
        }
        loop {
            match s.commands.next().await {
                Routed::End(end) => return end,
                Routed::Command(cmd) => {
                    let name = match cmd {
                        DriverCommand::Input(_) => "input".to_string(),
                        DriverCommand::Paste(t) => format!("paste {t}"),
                        DriverCommand::Refresh => "refresh".into(),
                        DriverCommand::JumpToLive => "live".into(),
                        DriverCommand::Answer { request_id, .. } => format!("answer {request_id}"),
                    };
                    self.seen.lock().unwrap().push(name);
                }
            }
        }
    }
}

fn start<const P: bool, const I: bool>(attempts: Vec<Attempt>) -> (SessionHandle, Seen) {
    let (handle, peer) = SessionHandle::pair("test:1", noop_waker());
    let config = SessionConfig {
        backoff: Backoff {
            initial_ms: 20,
            max_ms: 40,
        },
        ..SessionConfig::default()
    };
    let seen = Seen::default();
    let driver = Scripted::<P, I> {
        attempts: attempts.into(),
        seen: seen.clone(),
    };
    let session = Session::new(peer, config, "test:1".into(), P, I);
    tokio::spawn(runner::run(driver, session));
    (handle, seen)
}

async fn next_state(h: &mut SessionHandle) -> SessionState {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), h.recv_event())
            .await
            .expect("an event within 5 s")
            .expect("the session is running");
        if let SessionEvent::State(state) = event {
            return state;
        }
    }
}

async fn until(h: &mut SessionHandle, want: impl Fn(&SessionState) -> bool) -> SessionState {
    loop {
        let state = next_state(h).await;
        if want(&state) {
            return state;
        }
    }
}

fn network() -> CoreError {
    NetError::Closed(Some("reset".into())).into()
}

#[tokio::test]
async fn a_drop_backs_off_with_its_kind_then_a_lasting_error_fails_with_its_kind() {
    let key = OptexityError::Unauthorized {
        detail: "no".into(),
    };
    let (mut h, _) = start::<false, false>(vec![
        Attempt::LiveThenDrop(network()),
        Attempt::ResolveFails(key.into()),
    ]);
    let states = [
        next_state(&mut h).await,
        next_state(&mut h).await,
        next_state(&mut h).await,
        next_state(&mut h).await,
    ];
    assert!(matches!(states[0], SessionState::Loading));
    assert!(matches!(states[1], SessionState::Connecting { attempt: 1 }));
    assert!(matches!(states[2], SessionState::Live(_)));
    match &states[3] {
        SessionState::Reconnecting {
            attempt: 1,
            retry_in_ms,
            error,
        } => {
            assert!((10..=20).contains(retry_in_ms), "{retry_in_ms}");
            assert_eq!(error.kind, ErrorKind::Network);
            assert!(error.retryable);
        }
        other => panic!("{other:?}"),
    }
    match until(&mut h, SessionState::is_final).await {
        SessionState::Failed { error } => {
            assert_eq!(error.kind, ErrorKind::Unauthorized);
            assert!(!error.retryable);
            assert_eq!(error.message, "Optexity rejected the API key: no (401)");
        }
        other => panic!("{other:?}"),
    }
    // Retry starts again from the top.
    h.send(Command::Retry);
    assert!(matches!(next_state(&mut h).await, SessionState::Loading));
    assert!(matches!(
        until(&mut h, |s| matches!(s, SessionState::Live(_))).await,
        SessionState::Live(_)
    ));
}

#[tokio::test]
async fn stop_while_connecting_ends_the_session_and_answers_wait_for_the_connection() {
    let (mut h, _) = start::<true, false>(vec![Attempt::ConnectHangs]);
    until(&mut h, |s| matches!(s, SessionState::Connecting { .. })).await;
    h.send(Command::Answer {
        request_id: "r1".into(),
        answer: Secret::new("yes"),
    });
    let refused = loop {
        match h.recv_event().await {
            Some(SessionEvent::AnswerFailed {
                request_id,
                message,
            }) => break (request_id, message),
            Some(_) => {}
            None => panic!("ended"),
        }
    };
    assert_eq!(refused.0, "r1");
    assert!(refused.1.contains("Still connecting"), "{}", refused.1);
    h.send(Command::Stop);
    assert_eq!(
        until(&mut h, SessionState::is_final).await,
        Stop::Stopped.into_state()
    );
    assert!(h.recv_event().await.is_none(), "the session task ended");
}

#[tokio::test]
async fn commands_reach_a_driver_only_if_it_takes_them() {
    // A picture without input: answers refused with a reason, input dropped.
    let (mut h, seen) = start::<false, false>(vec![Attempt::Live]);
    until(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    h.send(Command::Input(InputEvent::ReleaseAll));
    h.send(Command::Answer {
        request_id: "r1".into(),
        answer: Secret::new("yes"),
    });
    h.send(Command::Refresh);
    match h.recv_event().await {
        Some(SessionEvent::AnswerFailed { message, .. }) => {
            assert_eq!(message, "this source asks no questions");
        }
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(*seen.lock().unwrap(), vec!["refresh".to_string()]);

    // A task log with prompts, and a picture that takes input.
    let (mut h, seen) = start::<true, true>(vec![Attempt::Live]);
    until(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    h.send(Command::Input(InputEvent::ReleaseAll));
    h.send(Command::PasteText("hi".into()));
    h.send(Command::Answer {
        request_id: "r2".into(),
        answer: Secret::new("yes"),
    });
    h.send(Command::JumpToLive);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["input", "paste hi", "answer r2", "live"]
    );
}
