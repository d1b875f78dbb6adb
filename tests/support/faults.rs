//! Forced drops against the simulator, shared by `tests/faults.rs` (100 in a row) and
//! `benches/soak.rs` (one every 30 s for an hour): drop the live stream, wait until the
//! session is live again with new pictures or lines, and count what the provider handed
//! out and what the process holds.

use std::time::Duration;

use lookout::core::event::{Command, SessionEvent, SessionState, noop_waker};
use lookout::core::session::{self, Backoff, SessionConfig, SessionHandle};
use lookout::core::source::SourceSpec;
use lookout::sim::SimHandle;

/// The live source kinds the simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Optexity: RFB over websockify, a stream URL per connection.
    Rfb,
    /// Chaser: the frame protocol, a preview token per connection.
    Preview,
    /// Waldiez Runner: the task's log socket.
    TaskLog,
    /// AgentStation: the workstation's SSE log, a stream URL per connection.
    Sse,
    /// AgentStation: the workstation's HLS video, a stream URL per connection.
    Hls,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Rfb,
        Kind::Preview,
        Kind::TaskLog,
        Kind::Sse,
        Kind::Hls,
    ];

    fn source(self) -> SourceSpec {
        let parsed = |s: &str| s.parse::<SourceSpec>().unwrap();
        match self {
            Kind::Rfb => parsed("optexity:demo"),
            Kind::Preview => parsed("chaser:demo"),
            Kind::TaskLog => parsed("waldiez:demo"),
            // `agentstation:` is the workstation's video; its log is what `--log` takes.
            Kind::Sse => parsed("agentstation:ws-demo").as_log().unwrap(),
            Kind::Hls => parsed("agentstation:ws-demo"),
        }
    }

    /// Breaks the live connection the way a network or server would.
    fn drop_it(self, sim: &SimHandle) {
        match self {
            Kind::Rfb => sim.drop_streams(),
            Kind::Preview => sim.close_previews(1011),
            Kind::TaskLog => sim.drop_waldiez_sockets(),
            Kind::Sse => {
                sim.end_agentstation_logs("ws-demo");
            }
            // Its URL's token expires: the next playlist or segment answers 403.
            Kind::Hls => sim.revoke_agentstation_hls_urls(),
        }
    }

    /// What the provider has handed out so far: stream URLs or tokens. `None` for the
    /// runner's socket, whose URL is fixed and whose token lasts an hour (docs/PROVIDERS.md
    /// §4): there is nothing to renew, the reconnections themselves are counted.
    fn handed_out(self, sim: &SimHandle) -> Option<u64> {
        match self {
            Kind::Rfb => Some(sim.stats().tokens_issued),
            Kind::Preview => Some(sim.stats().preview_tokens_issued),
            Kind::TaskLog => None,
            Kind::Sse => Some(sim.agentstation_log_urls_issued()),
            Kind::Hls => Some(sim.agentstation_hls_urls_issued()),
        }
    }

    /// Pictures shown, or log lines stored: what must keep coming.
    fn progress(self, h: &SessionHandle) -> u64 {
        match self {
            Kind::Rfb | Kind::Preview | Kind::Hls => h.stats().sample().updates,
            Kind::TaskLog | Kind::Sse => h.log().generation(),
        }
    }
}

/// What the process holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub fds: i64,
    pub threads: i64,
    pub rss_mib: i64,
}

impl Resources {
    pub fn now() -> Self {
        let count = |dir| std::fs::read_dir(dir).map_or(0, |d| d.count() as i64);
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: i64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Self {
            fds: count("/proc/self/fd"),
            threads: count("/proc/self/task"),
            rss_mib: (pages * 4096) >> 20,
        }
    }
}

/// One run of drops.
#[derive(Debug)]
pub struct Report {
    pub drops: usize,
    /// After the first tenth of the drops (everything warmed up) and at the end.
    pub warm: Resources,
    pub end: Resources,
    /// URLs or tokens handed out by the provider during the drops (for the runner's
    /// socket: the reconnections).
    pub fresh: u64,
}

impl Report {
    pub fn growth(&self) -> Resources {
        Resources {
            fds: self.end.fds - self.warm.fds,
            threads: self.end.threads - self.warm.threads,
            rss_mib: self.end.rss_mib - self.warm.rss_mib,
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (w, e) = (self.warm, self.end);
        write!(
            f,
            "{} drops, {} fresh URLs/tokens; descriptors {} -> {}, threads {} -> {}, RSS {} -> {} MiB",
            self.drops, self.fresh, w.fds, e.fds, w.threads, e.threads, w.rss_mib, e.rss_mib
        )
    }
}

/// A session on `kind` that reconnects quickly.
pub fn watch(sim: &SimHandle, kind: Kind) -> SessionHandle {
    let config = SessionConfig {
        settings: sim.settings(),
        backoff: Backoff {
            initial_ms: 20,
            max_ms: 200,
        },
        status_poll_ms: 200,
        ..SessionConfig::default()
    };
    let source = kind.source();
    session::spawn(
        &tokio::runtime::Handle::current(),
        source,
        config,
        noop_waker(),
    )
}

/// Waits until the session is live and `progress` has moved past `since`.
pub async fn live_and_moving(h: &mut SessionHandle, kind: Kind, since: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut live = false;
    let mut seen = Vec::new();
    loop {
        while let Some(event) = h.try_recv_event() {
            seen.push(format!("{event:?}"));
            match event {
                SessionEvent::State(SessionState::Live(_)) => live = true,
                SessionEvent::State(s) if s.is_final() => panic!("{kind:?}: {s:?}"),
                SessionEvent::State(_) => live = false,
                _ => {}
            }
        }
        if live && kind.progress(h) > since {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{kind:?}: not live and moving again within 20 s (progress {} since {since}; events {seen:?})",
            kind.progress(h)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Drops `kind`'s stream `drops` times, each after it is live and moving again.
pub async fn run_drops(sim: &SimHandle, kind: Kind, drops: usize) -> Report {
    run_drops_every(sim, kind, drops, Duration::ZERO).await
}

/// [`run_drops`] with at least `every` between two drops.
pub async fn run_drops_every(sim: &SimHandle, kind: Kind, drops: usize, every: Duration) -> Report {
    let mut h = watch(sim, kind);
    live_and_moving(&mut h, kind, 0).await;
    let first = kind.handed_out(sim);
    let mut warm = Resources::now();
    for n in 0..drops {
        if n == drops / 10 {
            warm = Resources::now();
        }
        let next = tokio::time::Instant::now() + every;
        let progress = kind.progress(&h);
        kind.drop_it(sim);
        live_and_moving(&mut h, kind, progress).await;
        tokio::time::sleep_until(next).await;
    }
    let fresh = match (kind.handed_out(sim), first) {
        (Some(now), Some(first)) => now - first,
        _ => drops as u64,
    };
    h.send(Command::Stop);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Report {
        drops,
        warm,
        end: Resources::now(),
        fresh,
    }
}
