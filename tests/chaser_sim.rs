//! Chaser previews and taking control, end to end against the built-in simulator on
//! loopback: the provider's errors, the preview stream, token refresh without a gap, each
//! close code, and operator input over preview and over RFB solving the simulated captcha
//! and typing into its field, checked against the simulator's own record.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use lookout::core::config::{ChaserSettings, OptexitySettings, Settings};
use lookout::core::event::{
    Command, ErrorKind, InputAccess, LiveInfo, SessionError, SessionEvent, SessionState,
};
use lookout::core::input::{InputEvent, Modifiers, PointerButton, RemotePx};
use lookout::core::redact::Secret;
use lookout::core::session::{self, Backoff, SessionConfig, SessionHandle};
use lookout::core::source::SourceSpec;
use lookout::sim::{Desktop, Interaction, Script, SimConfig, SimHandle, Widget};
use support::wait_state;

const W: u32 = 640;
const H: u32 = 480;

async fn sim_with(ttl_ms: u64) -> SimHandle {
    SimHandle::start(SimConfig {
        width: W,
        height: H,
        preview_token_ttl_ms: ttl_ms,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config(sim: &SimHandle, chaser_key: &str) -> SessionConfig {
    SessionConfig {
        settings: Settings {
            optexity: OptexitySettings {
                base_url: Some(sim.base_url()),
                api_key: Some(Secret::new(sim.api_key())),
            },
            chaser: ChaserSettings {
                base_url: Some(sim.chaser_base_url()),
                key: Some(Secret::new(chaser_key)),
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

fn spawn(source: &str, config: SessionConfig) -> SessionHandle {
    session::spawn(
        &tokio::runtime::Handle::current(),
        source.parse::<SourceSpec>().unwrap(),
        config,
        lookout::core::event::noop_waker(),
    )
}

async fn live(h: &mut SessionHandle) -> LiveInfo {
    match wait_state(h, |s| matches!(s, SessionState::Live(_)))
        .await
        .0
    {
        SessionState::Live(info) => info,
        _ => unreachable!(),
    }
}

/// Polls the simulator until `done` holds, within 10 s.
async fn until(sim: &SimHandle, what: &str, done: impl Fn(&lookout::sim::SimStats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = sim.stats();
        if done(&stats) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; simulator: captcha {:?}, text {:?}, input {:?}",
            stats.captcha_solved,
            stats.typed_text,
            stats.input.iter().rev().take(8).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_chaser_preview_goes_live_with_its_page_url_and_frames() {
    let sim = sim_with(60_000).await;
    let mut h = spawn("chaser:demo", config(&sim, sim.chaser_key()));
    let (state, seen) = wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    let SessionState::Live(info) = state else {
        unreachable!()
    };
    assert_eq!((info.width, info.height), (W, H));
    assert_eq!(info.input, InputAccess::Allowed);
    // The frames keep coming and the slot holds the whole picture.
    let first = h.frames().seq();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(h.frames().seq() > first, "no frames after going live");
    assert!(h.frames().is_complete());
    let sample = h.stats().sample();
    assert!(sample.captured_ms.is_some(), "frame timestamps are kept");
    assert_eq!(sample.skipped, 0);
    let mut events = seen;
    // The url message may arrive just after the first frame.
    while !events
        .iter()
        .any(|e| matches!(e, SessionEvent::PageUrl(u) if u.contains("shop.example.com")))
    {
        match tokio::time::timeout(Duration::from_secs(5), h.recv_event()).await {
            Ok(Some(e)) => events.push(e),
            _ => panic!("no page URL event: {events:?}"),
        }
    }
    h.send(Command::Stop);
}

#[tokio::test]
async fn provider_errors_have_their_own_messages_and_429_waits_as_told() {
    let sim = sim_with(60_000).await;
    let mut h = spawn("chaser:demo", config(&sim, "wrong-key"));
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert_eq!(
        state,
        SessionState::Failed {
            error: SessionError::new(
                ErrorKind::Unauthorized,
                false,
                "Chaser rejected the API key (401)"
            )
        }
    );

    let mut h = spawn("chaser:nope", config(&sim, sim.chaser_key()));
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert_eq!(
        state,
        SessionState::Failed {
            error: SessionError::new(
                ErrorKind::NotFound,
                false,
                "Chaser session nope not found: unknown or deleted (404)"
            )
        }
    );

    sim.rate_limit_next_mints(1, 1);
    let started = Instant::now();
    let mut h = spawn("chaser:demo", config(&sim, sim.chaser_key()));
    let (state, _) = wait_state(&mut h, |s| matches!(s, SessionState::Reconnecting { .. })).await;
    match state {
        SessionState::Reconnecting {
            retry_in_ms, error, ..
        } => {
            assert_eq!(retry_in_ms, 1_000, "Retry-After: 1 is honoured");
            assert!(error.message.contains("429"), "{error}");
            assert_eq!(error.kind, ErrorKind::RateLimited);
        }
        _ => unreachable!(),
    }
    live(&mut h).await;
    assert!(started.elapsed() >= Duration::from_millis(950));
    h.send(Command::Stop);
}

/// Tokens live 1.5 s here; over 5 s the session mints several and swaps sockets, the
/// picture never stops (no gap much longer than the 5 fps frame interval), the state never
/// leaves Live, and the server never has to cut a socket with 4401.
#[tokio::test]
async fn tokens_are_refreshed_before_expiry_without_a_gap_in_frames() {
    let sim = sim_with(1_500).await;
    let mut h = spawn("chaser:demo", config(&sim, sim.chaser_key()));
    live(&mut h).await;
    let start = Instant::now();
    let mut last_seq = h.frames().seq();
    let mut last_change = Instant::now();
    let mut longest = Duration::ZERO;
    while start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let seq = h.frames().seq();
        if seq != last_seq {
            longest = longest.max(last_change.elapsed());
            last_seq = seq;
            last_change = Instant::now();
        }
        while let Some(event) = h.try_recv_event() {
            if let SessionEvent::State(s) = event {
                panic!("the state changed during refreshes: {s:?}");
            }
        }
    }
    let stats = sim.stats();
    assert!(
        stats.previews_for("demo") >= 3,
        "only {} preview sockets: tokens were not refreshed",
        stats.previews_for("demo")
    );
    assert!(
        longest < Duration::from_millis(700),
        "frames stopped for {longest:?} around a token swap"
    );
    h.send(Command::Stop);
}

#[tokio::test]
async fn close_codes_end_resume_or_stop_the_session() {
    let sim = sim_with(60_000).await;
    // 4401: mint again and carry on.
    let mut h = spawn("chaser:demo", config(&sim, sim.chaser_key()));
    live(&mut h).await;
    let before = sim.stats().previews_for("demo");
    sim.close_previews(4401);
    until(&sim, "a new preview socket after 4401", |s| {
        s.previews_for("demo") > before
    })
    .await;
    let seq = h.frames().seq();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(h.frames().seq() > seq, "frames resumed");
    while let Some(event) = h.try_recv_event() {
        if let SessionEvent::State(s) = event {
            assert!(!s.is_final(), "4401 must not end the session: {s:?}");
        }
    }

    // 4403: the session takes no input; it reconnects, and control is refused with why.
    sim.close_previews(4403);
    let info = live(&mut h).await;
    assert!(
        matches!(&info.input, InputAccess::Refused(why) if why.contains("4403")),
        "{:?}",
        info.input
    );

    // 4404: the session was deleted.
    sim.delete_chaser_session("demo");
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert!(
        matches!(&state, SessionState::Ended { reason, .. } if reason.starts_with("The session was deleted (4404)")),
        "{state:?}"
    );

    // 1000: it ended.
    sim.add_chaser_session("other", true);
    let mut h = spawn("chaser:other", config(&sim, sim.chaser_key()));
    live(&mut h).await;
    sim.end_chaser_session("other");
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert!(
        matches!(&state, SessionState::Ended { reason, .. } if reason.starts_with("The session ended")),
        "{state:?}"
    );
}

/// The centre of `widget` on the simulator's page, found by asking its layout.
fn centre_of(widget: Widget) -> RemotePx {
    let desktop = Desktop::with_script(
        W,
        H,
        "human",
        0,
        Script::AwaitHuman,
        &Interaction::default(),
    )
    .unwrap();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for y in (0..H).step_by(2) {
        for x in (0..W).step_by(2) {
            if desktop.widget_at(i64::from(x), i64::from(y)) == Some(widget) {
                xs.push(x);
                ys.push(y);
            }
        }
    }
    assert!(!xs.is_empty(), "{widget:?} is not on the page");
    RemotePx::new(
        (xs.iter().min().unwrap() + xs.iter().max().unwrap()) / 2,
        (ys.iter().min().unwrap() + ys.iter().max().unwrap()) / 2,
    )
}

fn click(h: &SessionHandle, at: RemotePx) {
    h.send(Command::Input(InputEvent::PointerMove { at }));
    for down in [true, false] {
        h.send(Command::Input(InputEvent::PointerButton {
            at,
            button: PointerButton::Left,
            down,
            click_count: 1,
            modifiers: Modifiers::NONE,
        }));
    }
}

/// Takes control of `source` (the `human` page, whose agent waits), clicks the captcha and
/// types into the field; the simulator must have seen it happen on `page`.
async fn solve_and_type(sim: &SimHandle, source: &str, page: &str) {
    let mut h = spawn(source, config(sim, sim.chaser_key()));
    let info = live(&mut h).await;
    assert_eq!(info.input, InputAccess::Allowed);
    assert!(!sim.stats().captcha_solved.contains(page));

    click(&h, centre_of(Widget::CaptchaBox));
    until(sim, "the captcha to be solved", |s| {
        s.captcha_solved.contains(page)
    })
    .await;

    click(&h, centre_of(Widget::SearchField));
    h.send(Command::Input(InputEvent::Text {
        text: "headphones".into(),
    }));
    until(sim, "the typed text", |s| {
        s.typed_text.get(page).map(String::as_str) == Some("headphones")
    })
    .await;
    h.send(Command::Stop);
}

#[tokio::test]
async fn taking_control_over_preview_solves_the_captcha_and_types() {
    let sim = sim_with(60_000).await;
    solve_and_type(&sim, "chaser:human", "chaser:human").await;
    assert!(sim.stats().preview_mouse_events >= 6);
    assert_eq!(sim.stats().input_refused, 0);
}

#[tokio::test]
async fn taking_control_over_rfb_solves_the_captcha_and_types() {
    let sim = sim_with(60_000).await;
    solve_and_type(&sim, "optexity:human", "optexity:human").await;
}

#[tokio::test]
async fn a_view_only_session_refuses_control_and_sends_nothing() {
    let sim = sim_with(60_000).await;
    let mut h = spawn("chaser:view-only", config(&sim, sim.chaser_key()));
    let info = live(&mut h).await;
    assert!(
        matches!(&info.input, InputAccess::Refused(why) if why.contains("not enabled")),
        "{:?}",
        info.input
    );
    // Even if a command slipped through, the session does not send it.
    click(&h, RemotePx::new(10, 10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = sim.stats();
    assert_eq!(stats.preview_mouse_events, 0);
    assert_eq!(stats.input_refused, 0);
    h.send(Command::Stop);
}
