//! What every stream the simulator serves shares: the desktop's timeline (when it started
//! and its tick rate), the desktop size, the signals that stop streams, the counters and the
//! pages viewers act on; and how a new RFB stream's spec is made from them.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::desktop::Script;
use super::interact::Pages;
use super::rfb::server::{ConnectionSpec, RunningCheck, StopSignals};
use super::stats::Counters;

/// What a new RFB stream needs besides its task.
#[derive(Clone)]
pub(crate) struct StreamContext {
    pub started: Instant,
    pub fps: u32,
    pub size: watch::Receiver<(u32, u32)>,
    pub stop: StopSignals,
    pub counters: Arc<Counters>,
    pub pages: Arc<Pages>,
}

/// How a stream's desktop looks and whose page it acts on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Showing<'a> {
    /// Shown in the tab and the URL.
    pub label: &'a str,
    /// The shared page's key (`optexity:{task}`, ...).
    pub page: &'a str,
    pub script: Script,
}

impl StreamContext {
    /// The shared timeline's current tick.
    pub fn tick_now(&self) -> u64 {
        let fps = u64::from(self.fps.max(1));
        let elapsed_ms = self.started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64;
        elapsed_ms.saturating_mul(fps) / 1000
    }

    /// Milliseconds per desktop tick.
    pub fn tick_ms(&self) -> u64 {
        (1000 / u64::from(self.fps.max(1))).max(1)
    }

    /// The spec of an RFB stream showing `show`, starting at the shared timeline's current
    /// tick.
    pub fn spec(
        &self,
        show: Showing<'_>,
        password: Option<String>,
        running: Option<RunningCheck>,
    ) -> ConnectionSpec {
        ConnectionSpec {
            label: show.label.to_string(),
            password,
            start_tick: self.tick_now(),
            tick_ms: self.tick_ms(),
            size: self.size.clone(),
            running,
            counters: self.counters.clone(),
            script: show.script,
            page: self.pages.page(show.page),
        }
    }
}
