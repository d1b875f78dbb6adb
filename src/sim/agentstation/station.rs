//! The simulated AgentStation's state ([`AgentStation`]): its key, its workstations and
//! whether they chatter, the failures a test forced on a workstation's calls, the open log
//! streams (written by [`super::log_stream`]) and each workstation's recorder
//! ([`crate::sim::hls`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::log_stream::{Control, LogWriter, OpenStreams, Pace};
use crate::sim::credentials::{bearer, same_secret};
use crate::sim::hls::recorder::Recorders;
use crate::sim::token::{TokenIssuer, TokenRejection};

/// How long a log stream URL's token opens the stream.
pub const LOG_URL_TTL_MS: u64 = 5 * 60 * 1000;
/// Open log streams one workstation serves at once.
pub const MAX_STREAMS_PER_WORKSTATION: usize = 16;
/// The shortest line or keep-alive interval honoured.
const MIN_INTERVAL_MS: u64 = 10;

/// The demo workstations every simulator starts with: (id, chatters, records from the
/// start, description).
pub(crate) const DEMO_WORKSTATIONS: [(&str, bool, bool, &str); 2] = [
    (
        "ws-demo",
        true,
        true,
        "logs a few lines a second; recording (HLS video and audio)",
    ),
    (
        "ws-idle",
        false,
        false,
        "logs nothing (keep-alive comments only); recorder idle until recorder/start",
    ),
];

/// Failures a test forced on a workstation's next calls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ForcedFailure {
    pub status: StatusCode,
    pub remaining: u32,
    pub retry_after_s: Option<u64>,
}

/// Why a `/v1/workstations/{id}/…` call is refused.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Refusal {
    /// The key is missing or wrong: 401.
    BadKey,
    /// A test forced this failure.
    Forced(ForcedFailure),
    /// No such workstation: 422.
    UnknownWorkstation,
}

/// How an [`AgentStation`] behaves.
#[derive(Clone, Debug)]
pub(crate) struct AgentStationSettings {
    pub token: String,
    pub line_interval_ms: u64,
    pub keepalive_ms: u64,
    pub hls_token_ttl_ms: u64,
    pub hls_idle_ms: u64,
}

/// AgentStation's key, workstations, open log streams and recorders.
pub(crate) struct AgentStation {
    token: String,
    url_tokens: TokenIssuer,
    /// Log stream URLs handed out, for the client's tests.
    log_urls_issued: std::sync::atomic::AtomicU64,
    /// Workstation id → whether it chatters.
    workstations: Mutex<HashMap<String, bool>>,
    streams: Arc<OpenStreams>,
    line_interval_ms: u64,
    keepalive_ms: u64,
    recorders: Recorders,
    forced: Mutex<HashMap<String, ForcedFailure>>,
}

impl std::fmt::Debug for AgentStation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentStation")
            .field("line_interval_ms", &self.line_interval_ms)
            .field("keepalive_ms", &self.keepalive_ms)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AgentStation {
    /// With the demo workstations.
    pub fn new(settings: AgentStationSettings) -> Self {
        let recorders = Recorders::new(settings.hls_token_ttl_ms, settings.hls_idle_ms);
        let mut workstations = HashMap::new();
        for (id, chatters, recording, _) in DEMO_WORKSTATIONS {
            workstations.insert(id.to_string(), chatters);
            recorders.add(id, recording);
        }
        Self {
            token: settings.token,
            url_tokens: TokenIssuer::new(LOG_URL_TTL_MS),
            log_urls_issued: std::sync::atomic::AtomicU64::new(0),
            workstations: Mutex::new(workstations),
            streams: Arc::default(),
            line_interval_ms: settings.line_interval_ms.max(MIN_INTERVAL_MS),
            keepalive_ms: settings.keepalive_ms.max(MIN_INTERVAL_MS),
            recorders,
            forced: Mutex::new(HashMap::new()),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The workstations' recorders and HLS streams.
    pub fn recorders(&self) -> &Recorders {
        &self.recorders
    }

    /// Adds a workstation (or changes whether it chatters); a new one's recorder is idle.
    pub fn add_workstation(&self, id: &str, chatters: bool) {
        lock(&self.workstations).insert(id.to_string(), chatters);
        self.recorders.add(id, false);
    }

    /// Makes the next `count` calls about `workstation` (after the key check) fail with
    /// `status` (an error status; anything else counts as 500), with `Retry-After:
    /// retry_after_s` when given (429 without one says 1 s). `count = 0` disarms.
    pub fn fail_next(
        &self,
        workstation: &str,
        status: u16,
        count: u32,
        retry_after_s: Option<u64>,
    ) {
        let mut forced = lock(&self.forced);
        if count == 0 {
            forced.remove(workstation);
            return;
        }
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        forced.insert(
            workstation.to_string(),
            ForcedFailure {
                status,
                remaining: count,
                retry_after_s,
            },
        );
    }

    /// Spends one forced failure of `workstation`, if one is armed.
    fn take_forced(&self, workstation: &str) -> Option<ForcedFailure> {
        let mut forced = lock(&self.forced);
        let f = forced.get_mut(workstation)?;
        f.remaining = f.remaining.saturating_sub(1);
        let taken = *f;
        if taken.remaining == 0 {
            forced.remove(workstation);
        }
        Some(taken)
    }

    /// The key check, a forced failure, then the workstation check of every
    /// `/v1/workstations/{id}/…` call: why it is refused, if it is.
    pub fn check(&self, headers: &HeaderMap, id: &str) -> Result<(), Refusal> {
        if !bearer(headers).is_some_and(|k| same_secret(k, self.token.as_bytes())) {
            return Err(Refusal::BadKey);
        }
        if let Some(f) = self.take_forced(id) {
            return Err(Refusal::Forced(f));
        }
        if self.chatters(id).is_none() {
            return Err(Refusal::UnknownWorkstation);
        }
        Ok(())
    }

    /// A token for the log stream URL of workstation `id`.
    pub fn log_url_token(&self, id: &str) -> String {
        self.log_urls_issued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.url_tokens.issue(id)
    }

    /// Log stream URLs handed out so far.
    pub fn log_urls_issued(&self) -> u64 {
        self.log_urls_issued
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Checks a log stream URL's token for workstation `id`.
    pub fn check_log_url_token(&self, id: &str, token: &str) -> Result<u64, TokenRejection> {
        self.url_tokens.verify(id, token)
    }

    /// Whether workstation `id` chatters; `None` if it is unknown.
    pub fn chatters(&self, id: &str) -> Option<bool> {
        lock(&self.workstations).get(id).copied()
    }

    /// Open log streams of `workstation`.
    pub fn open_streams(&self, workstation: &str) -> usize {
        self.streams.count(workstation)
    }

    /// Opens a log stream of workstation `id` (which `chatters` or not), its first event
    /// numbered `first_id`, unless it has [`MAX_STREAMS_PER_WORKSTATION`] open already: the
    /// stream's chunks, written until the client goes, a hook ends it or `shutdown` changes.
    pub fn open_log_stream(
        &self,
        id: &str,
        chatters: bool,
        first_id: u64,
        shutdown: watch::Receiver<bool>,
    ) -> Option<mpsc::Receiver<Bytes>> {
        let stream = self.streams.open(id, MAX_STREAMS_PER_WORKSTATION)?;
        let pace = Pace {
            chatters,
            line_interval_ms: self.line_interval_ms,
            keepalive_ms: self.keepalive_ms,
        };
        Some(LogWriter::spawn(stream, pace, first_id, shutdown))
    }

    /// Ends every open log stream of `workstation`; how many.
    pub fn end_streams(&self, workstation: &str) -> usize {
        self.streams.tell(workstation, || Control::End)
    }

    /// Writes `raw` as is into every open log stream of `workstation`; how many.
    pub fn inject_raw(&self, workstation: &str, raw: &str) -> usize {
        self.streams
            .tell(workstation, || Control::Raw(raw.to_string()))
    }
}
