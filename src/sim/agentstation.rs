//! The simulated AgentStation API (PROVIDERS.md §2), so far its workstation log stream.
//!
//! - `POST /v1/workstations/{id}/log/stream`, `Authorization: Bearer TOKEN` → 200
//!   `{"url":"http://HOST/agentstation/log/{id}?token=…"}`; errors are `{"error",
//!   "message"}`: 401 bad or missing key, 422 unknown workstation.
//! - `GET /agentstation/log/{id}?token=T` → `text/event-stream` while `T` is a live URL
//!   token for that workstation (they last [`LOG_URL_TTL_MS`] and may be reused until
//!   then; an open stream outlives its token); else 401, 404 unknown workstation, 429
//!   (`Retry-After`) past [`MAX_STREAMS_PER_WORKSTATION`] open streams.
//!
//! The stream starts with `retry: 2000`, then each log line is one event:
//! `id: N` and `data: {"level":"debug|info|warning|error","message":"…","timestamp":"ISO 8601"}`,
//! every `agentstation_log_interval_ms` on chattering workstations, the lines a fixed
//! cycle picked by `N` (so the chatter is deterministic). A `Last-Event-ID` header resumes
//! the numbering after it. A `: keep-alive` comment goes out every
//! `agentstation_keepalive_ms`. Test hooks end a workstation's streams (the response body
//! ends) and write raw text into them (a malformed event, say).
//!
//! The recorder (its HLS streams live in [`crate::sim::hls`]):
//! - `POST /v1/workstations/{id}/recorder/start` (no body) → 200 `{"status":"recording"}`,
//!   and the workstation's encoder starts (a stopped recorder records again, its faults
//!   cleared; its segment numbers go on from where the timeline is).
//! - `GET /v1/workstations/{id}/recorder` → `{"status":"idle|recording|paused|stopped"}`.
//! - `POST /v1/workstations/{id}/recorder/stream`, body `{"type":"video"|"audio",
//!   "protocol":"hls"}` (at most [`MAX_BODY_BYTES`]) → 200
//!   `{"url":"http://HOST/agentstation/hls/{id}/{type}?token=…"}` (no `.m3u8` suffix; the
//!   token lasts `agentstation_hls_token_ttl_ms`); 400 for a bad body, type or protocol,
//!   and — our reading of "the stream endpoint answers only while a recording runs" — 400
//!   `{"error":"bad_request","message":"recorder is not recording"}` when the recorder is
//!   idle or stopped.
//!
//! All `/v1/workstations/…` calls check the key first (401), then any failure a test
//! forced for the workstation ([`AgentStation::fail_next`]: 400, 401, 402, 422, 429 with
//! `Retry-After`, 500, 503, …), then the workstation (422).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::api::AppState;
use super::clock::{now_ms, rfc3339_ms};
use super::credentials::{bearer, same_secret};
use super::hls::{self, HlsKind, RecorderState, Recorders};
use super::token::TokenIssuer;

/// How long a log stream URL's token opens the stream.
pub const LOG_URL_TTL_MS: u64 = 5 * 60 * 1000;
/// Open log streams one workstation serves at once.
pub const MAX_STREAMS_PER_WORKSTATION: usize = 16;
/// Chunks waiting to be written to one stream's client.
const STREAM_BUFFER: usize = 32;
/// Hook messages waiting for one stream.
const CONTROL_BUFFER: usize = 16;
/// The shortest line or keep-alive interval honoured.
const MIN_INTERVAL_MS: u64 = 10;
/// Largest request body read (`recorder/stream`).
pub const MAX_BODY_BYTES: usize = 4096;

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

/// The chatter's cycle of (level, message).
const CHATTER: [(&str, &str); 12] = [
    ("info", "agent: session started on workstation"),
    (
        "debug",
        "browser: tab 1 navigated to https://shop.example/checkout",
    ),
    ("info", "agent: filling field 'name'"),
    ("debug", "browser: DOMContentLoaded in 412 ms"),
    ("info", "agent: filling field 'address'"),
    (
        "warning",
        "network: slow response from api.shop.example (2.3 s)",
    ),
    ("info", "recorder: segment written (2.0 s)"),
    ("error", "agent: element '#coupon' not found, retrying"),
    ("info", "agent: element '#coupon' found on retry"),
    ("debug", "input: click at (812, 455)"),
    ("info", "agent: order total read as €42.90"),
    ("warning", "agent: waiting for the operator's confirmation"),
];

/// Something a test hook tells an open stream.
#[derive(Debug)]
enum Control {
    /// End the stream (the response body ends).
    End,
    /// Write this text as is.
    Raw(String),
}

#[derive(Debug)]
struct OpenStream {
    workstation: String,
    control: mpsc::Sender<Control>,
}

/// Failures a test forced on a workstation's next calls.
#[derive(Clone, Copy, Debug)]
struct ForcedFailure {
    status: StatusCode,
    remaining: u32,
    retry_after_s: Option<u64>,
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
    /// Workstation id → whether it chatters.
    workstations: Mutex<HashMap<String, bool>>,
    open: Mutex<HashMap<u64, OpenStream>>,
    next_stream: AtomicU64,
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
            workstations: Mutex::new(workstations),
            open: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(0),
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
    /// `/v1/workstations/{id}/…` call: the answer that refuses it, if any.
    fn refusal(&self, headers: &HeaderMap, id: &str) -> Option<Response> {
        if !bearer(headers).is_some_and(|k| same_secret(k, self.token.as_bytes())) {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized - missing or invalid API key.",
            ));
        }
        if let Some(f) = self.take_forced(id) {
            return Some(forced_error(f));
        }
        if self.chatters(id).is_none() {
            return Some(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable_entity",
                "Cannot find the requested workstation associated with your API key.",
            ));
        }
        None
    }

    fn chatters(&self, id: &str) -> Option<bool> {
        lock(&self.workstations).get(id).copied()
    }

    /// Open log streams of `workstation`.
    pub fn open_streams(&self, workstation: &str) -> usize {
        lock(&self.open)
            .values()
            .filter(|s| s.workstation == workstation)
            .count()
    }

    /// Tells every open stream of `workstation`; how many were told.
    fn tell(&self, workstation: &str, make: impl Fn() -> Control) -> usize {
        let open = lock(&self.open);
        open.values()
            .filter(|s| s.workstation == workstation)
            .filter(|s| s.control.try_send(make()).is_ok())
            .count()
    }

    /// Ends every open log stream of `workstation`; how many.
    pub fn end_streams(&self, workstation: &str) -> usize {
        self.tell(workstation, || Control::End)
    }

    /// Writes `raw` as is into every open log stream of `workstation`; how many.
    pub fn inject_raw(&self, workstation: &str, raw: &str) -> usize {
        self.tell(workstation, || Control::Raw(raw.to_string()))
    }
}

/// Removes an open stream from [`AgentStation`] when its writer ends.
struct StreamRegistration {
    station: Arc<AgentStation>,
    id: u64,
}

impl Drop for StreamRegistration {
    fn drop(&mut self) {
        lock(&self.station.open).remove(&self.id);
    }
}

/// AgentStation's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/workstations/{id}/log/stream", post(log_stream_url))
        .route("/agentstation/log/{id}", get(log_events))
        .route("/v1/workstations/{id}/recorder/start", post(recorder_start))
        .route("/v1/workstations/{id}/recorder", get(recorder_status))
        .route(
            "/v1/workstations/{id}/recorder/stream",
            post(recorder_stream),
        )
        .merge(hls::routes())
}

/// An error answer, `{"error","message"}`.
pub(crate) fn error(code: StatusCode, error: &str, message: &str) -> Response {
    (
        code,
        axum::Json(json!({ "error": error, "message": message })),
    )
        .into_response()
}

/// The answer a forced failure gives.
fn forced_error(f: ForcedFailure) -> Response {
    let (name, message) = match f.status.as_u16() {
        400 => ("bad_request", "Bad request."),
        401 => ("unauthorized", "Unauthorized - missing or invalid API key."),
        402 => ("payment_required", "Out of credits."),
        422 => (
            "unprocessable_entity",
            "Cannot find the requested workstation associated with your API key.",
        ),
        429 => ("rate_limited", "Too many requests, slow down."),
        500 => ("internal_server_error", "Internal server error."),
        503 => ("service_unavailable", "Service temporarily unavailable."),
        _ => ("error", "Request failed."),
    };
    let mut resp = error(f.status, name, message);
    let retry_after = f
        .retry_after_s
        .or((f.status == StatusCode::TOO_MANY_REQUESTS).then_some(1));
    if let Some(seconds) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    resp
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// `{"url": "http://HOST/{path…}?token={token}"}`, HOST as the request named it.
fn url_answer(s: &AppState, headers: &HeaderMap, path: &[&str], token: &str) -> Response {
    let origin = s.ws_origin(headers);
    let origin = origin.replacen("ws://", "http://", 1);
    let Ok(mut url) = url::Url::parse(&origin) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "bad Host header",
        );
    };
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.clear().extend(path);
    }
    url.query_pairs_mut().append_pair("token", token);
    axum::Json(json!({ "url": url.as_str() })).into_response()
}

/// `POST /v1/workstations/{id}/log/stream`.
async fn log_stream_url(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let station = &s.agentstation;
    if let Some(refused) = station.refusal(&headers, &id) {
        return refused;
    }
    let token = station.url_tokens.issue(&id);
    url_answer(&s, &headers, &["agentstation", "log", &id], &token)
}

/// A recorder call that does `act` and answers the recorder's state.
fn recorder_call(
    s: &AppState,
    id: &str,
    headers: &HeaderMap,
    act: fn(&Recorders, &str) -> Option<RecorderState>,
) -> Response {
    let station = &s.agentstation;
    if let Some(refused) = station.refusal(headers, id) {
        return refused;
    }
    match act(&station.recorders, id) {
        Some(status) => axum::Json(json!({ "status": status.name() })).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "No recorder."),
    }
}

/// `POST /v1/workstations/{id}/recorder/start`.
async fn recorder_start(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    recorder_call(&s, &id, &headers, Recorders::start)
}

/// `GET /v1/workstations/{id}/recorder`.
async fn recorder_status(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    recorder_call(&s, &id, &headers, Recorders::status)
}

/// The `recorder/stream` body.
#[derive(serde::Deserialize)]
struct StreamRequest {
    #[serde(rename = "type")]
    kind: String,
    protocol: String,
}

/// `POST /v1/workstations/{id}/recorder/stream`.
async fn recorder_stream(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let station = &s.agentstation;
    if let Some(refused) = station.refusal(&headers, &id) {
        return refused;
    }
    if body.len() > MAX_BODY_BYTES {
        return bad_request("The request body is too large.");
    }
    let Ok(request) = serde_json::from_slice::<StreamRequest>(&body) else {
        return bad_request(
            "The body must be JSON {\"type\": \"video\"|\"audio\", \"protocol\": \"hls\"}.",
        );
    };
    let Some(kind) = HlsKind::from_name(&request.kind) else {
        return bad_request("type must be video or audio");
    };
    if request.protocol != "hls" {
        return bad_request("protocol must be hls");
    }
    match station.recorders.stream_token(&id, kind) {
        Ok(token) => url_answer(
            &s,
            &headers,
            &["agentstation", "hls", &id, kind.name()],
            &token,
        ),
        Err(hls::NotRecording) => bad_request("recorder is not recording"),
    }
}

/// `GET /agentstation/log/{id}?token=T`: the event stream.
async fn log_events(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let station = s.agentstation.clone();
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    if let Err(why) = station.url_tokens.verify(&id, token) {
        tracing::debug!(workstation = %id, "refused a log stream token: {why}");
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The stream token is invalid or expired.",
        );
    }
    let Some(chatters) = station.chatters(&id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "Unknown workstation.");
    };
    let first_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(1, |last| last.saturating_add(1));
    let (control_tx, control) = mpsc::channel(CONTROL_BUFFER);
    let registration = {
        let mut open = lock(&station.open);
        let streams = open.values().filter(|o| o.workstation == id).count();
        if streams >= MAX_STREAMS_PER_WORKSTATION {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many open log streams for this workstation.",
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1u32));
            return resp;
        }
        let stream_id = station.next_stream.fetch_add(1, Ordering::Relaxed);
        open.insert(
            stream_id,
            OpenStream {
                workstation: id.clone(),
                control: control_tx,
            },
        );
        StreamRegistration {
            station: station.clone(),
            id: stream_id,
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    let writer = LogWriter {
        out: tx,
        control,
        chatters,
        next_id: first_id,
        line_interval_ms: station.line_interval_ms,
        keepalive_ms: station.keepalive_ms,
        shutdown: s.streams.stop.shutdown.clone(),
        _registration: registration,
    };
    tokio::spawn(writer.run());
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// One log line as an SSE event.
fn log_event(id: u64, at_ms: u64) -> Bytes {
    let len = CHATTER.len() as u64;
    let (level, message) = CHATTER[(id.saturating_sub(1) % len) as usize];
    let entry = json!({
        "level": level,
        "message": message,
        "timestamp": rfc3339_ms(at_ms),
    });
    Bytes::from(format!("id: {id}\ndata: {entry}\n\n"))
}

/// Writes one open stream: chatter, keep-alives and what hooks inject.
struct LogWriter {
    out: mpsc::Sender<Bytes>,
    control: mpsc::Receiver<Control>,
    chatters: bool,
    next_id: u64,
    line_interval_ms: u64,
    keepalive_ms: u64,
    shutdown: watch::Receiver<bool>,
    _registration: StreamRegistration,
}

impl LogWriter {
    async fn run(mut self) {
        if self
            .out
            .send(Bytes::from_static(b"retry: 2000\n\n"))
            .await
            .is_err()
        {
            return;
        }
        let start = tokio::time::Instant::now();
        let every = |ms: u64| {
            let period = Duration::from_millis(ms);
            let mut i = tokio::time::interval_at(start + period, period);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        };
        let mut lines = every(self.line_interval_ms);
        let mut keepalive = every(self.keepalive_ms);
        loop {
            let chunk = tokio::select! {
                _ = lines.tick(), if self.chatters => {
                    let event = log_event(self.next_id, now_ms());
                    self.next_id = self.next_id.saturating_add(1);
                    event
                }
                _ = keepalive.tick() => Bytes::from_static(b": keep-alive\n\n"),
                control = self.control.recv() => match control {
                    Some(Control::Raw(raw)) => Bytes::from(raw),
                    Some(Control::End) | None => return,
                },
                _ = self.shutdown.changed() => return,
                _ = self.out.closed() => return,
            };
            if self.out.send(chunk).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::tasklog::{LogLevel, SseParser, parse_log_entry};

    #[test]
    fn log_events_are_sse_with_ids_and_json_entries() {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for id in 1..=(CHATTER.len() as u64 + 1) {
            events.extend(parser.feed(&log_event(id, 1_781_351_681_836)));
        }
        assert_eq!(events.len(), CHATTER.len() + 1);
        let first = events[0]
            .as_ref()
            .cloned()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.id.as_deref(), Some("1"));
        let entry = parse_log_entry(&first.data);
        assert!(entry.structured);
        assert_eq!(entry.level, Some(LogLevel::Info));
        assert_eq!(entry.message, CHATTER[0].1);
        assert_eq!(
            entry.timestamp.map(|t| t.as_micros()),
            Some(1_781_351_681_836_000)
        );
        // The cycle starts over.
        let last = events[CHATTER.len()]
            .as_ref()
            .cloned()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parse_log_entry(&last.data).message, CHATTER[0].1);
        let levels: Vec<_> = CHATTER.iter().map(|(l, _)| *l).collect();
        for level in ["debug", "info", "warning", "error"] {
            assert!(levels.contains(&level), "{level} never logged");
        }
    }
}
