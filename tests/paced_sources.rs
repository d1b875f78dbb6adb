//! A console tile asks its task's source for a picture a few times a second
//! (`FrameSlot::set_pace`); the simulator's RFB, Chaser preview and HLS sources then send
//! (or, for HLS, convert) that many, and go back to full rate at once when the task is
//! opened full-size.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lookout::core::event::{Command, SessionEvent, SessionState, noop_waker};
use lookout::core::session::{self, SessionConfig, SessionHandle};
use lookout::sim::{SimConfig, SimHandle};

/// Pictures published over `span`.
async fn pictures_in(h: &mut SessionHandle, span: Duration) -> u64 {
    while h.try_recv_event().is_some() {}
    let before = h.frames().seq();
    tokio::time::sleep(span).await;
    h.frames().seq() - before
}

async fn live(h: &mut SessionHandle) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "never live");
        match h.try_recv_event() {
            Some(SessionEvent::State(SessionState::Live(_))) => return,
            Some(SessionEvent::State(s)) if s.is_final() => panic!("{s:?}"),
            Some(_) => {}
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_source_keeps_its_consumers_pace_and_full_rate_comes_back() {
    let sim = SimHandle::start(SimConfig {
        width: 320,
        height: 240,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let pace = Duration::from_millis(500);
    for source in ["optexity:demo", "chaser:demo", "agentstation:ws-demo"] {
        let config = SessionConfig {
            settings: sim.settings(),
            ..SessionConfig::default()
        };
        let mut h = session::spawn(
            &tokio::runtime::Handle::current(),
            source.parse().unwrap(),
            config,
            noop_waker(),
        );
        h.frames().set_pace(Some(pace));
        live(&mut h).await;
        // Settle: a request or frame already on its way when the pace was set.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let span = Duration::from_secs(4);
        let paced = pictures_in(&mut h, span).await;
        // At most one picture per pace (and one in flight).
        assert!(
            paced <= 4_000 / 500 + 2,
            "{source}: {paced} pictures in 4 s at a 0.5 s pace"
        );
        h.frames().set_pace(None);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let full = pictures_in(&mut h, span).await;
        assert!(
            full > paced * 2 && full > 15,
            "{source}: {full} pictures in 4 s at full rate, {paced} paced"
        );
        println!("{source}: {paced} pictures in 4 s paced, {full} at full rate");
        h.send(Command::Stop);
    }
    sim.shutdown().await;
}
