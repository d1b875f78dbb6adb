//! The simulator's HTTP face: the Optexity REST contract (PROVIDERS.md §1) and the
//! websockify endpoint that upgrades to a WebSocket carrying RFB.
//!
//! - `GET /api/v1/tasks/{id}/stream` (`x-api-key`) → 200 `{"stream_url"}` while running;
//!   401 / 404 / 409 with `{"detail"}` otherwise.
//! - `GET /api/v1/tasks/{id}` (`x-api-key`) → `{"task_id","status"}`.
//! - `GET /tasks/{id}/websockify?token=T` → WebSocket (subprotocol `binary` when offered)
//!   if the token is valid for this task, unused and unexpired; otherwise HTTP 403 before
//!   any upgrade. Accepted streams go to [`crate::sim::rfb::server`].
//!
//! The Chaser routes (PROVIDERS.md §3) share this server; they live in
//! [`crate::sim::chaser`]. So do the Waldiez Runner's (§4, [`crate::sim::waldiez`]) and
//! AgentStation's (§2, [`crate::sim::agentstation`]). `GET /api/v1/tasks/{id}` is both
//! Optexity's and Waldiez's: a request with `Authorization` and no `x-api-key` goes to
//! Waldiez.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::watch;

use super::agentstation::{self, AgentStation};
use super::chaser::{self, Chaser};
use super::credentials::same_secret;
use super::desktop::Script;
use super::interact::{Pages, optexity_page};
use super::rfb::server::{ConnectionSpec, RunningCheck, StopSignals, run_connection};
use super::rfb::transport::Transport;
use super::stats::{Counters, bump};
use super::tasks::{TaskStatus, TaskTable};
use super::token::{TokenIssuer, TokenRejection};
use super::waldiez::{self, Waldiez};

/// Largest WebSocket message we accept from a client (RFB client messages are small).
const MAX_CLIENT_WS_MESSAGE_BYTES: usize = 2 << 20;

/// What every handler and stream shares.
pub(crate) struct AppState {
    pub api_key: String,
    pub tasks: Arc<TaskTable>,
    pub tokens: TokenIssuer,
    pub counters: Arc<Counters>,
    /// Where the HTTP server listens, for stream URLs when a request names no host.
    pub http_addr: SocketAddr,
    pub streams: StreamContext,
    pub chaser: Arc<Chaser>,
    pub waldiez: Arc<Waldiez>,
    pub agentstation: Arc<AgentStation>,
}

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

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/tasks/{id}/stream", get(stream_url))
        .route("/api/v1/tasks/{id}", get(task_status))
        .route("/tasks/{id}/websockify", get(websockify))
        .route(
            "/v1/sessions/{id}/preview-token",
            axum::routing::post(chaser::mint),
        )
        .route("/sessions/{id}/preview", get(chaser::preview))
        .merge(waldiez::routes())
        .merge(agentstation::routes())
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(state)
}

fn detail(code: StatusCode, text: &str) -> Response {
    (code, axum::Json(json!({ "detail": text }))).into_response()
}

fn not_found(id: &str) -> Response {
    detail(StatusCode::NOT_FOUND, &format!("Task {id} not found"))
}

fn unauthorised() -> Response {
    detail(StatusCode::UNAUTHORIZED, "Invalid or missing API key")
}

fn not_running() -> Response {
    detail(
        StatusCode::CONFLICT,
        "Stream not available: task is not running",
    )
}

impl AppState {
    fn authorised(&self, headers: &HeaderMap) -> bool {
        headers
            .get("x-api-key")
            .is_some_and(|key| same_secret(key.as_bytes(), self.api_key.as_bytes()))
    }

    /// `ws://host:port` as the client reached us (its Host header), else our address.
    pub(crate) fn ws_origin(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
            });
        match host {
            Some(h) => format!("ws://{h}"),
            None => format!("ws://{}", super::loopback_if_unspecified(self.http_addr)),
        }
    }
}

async fn stream_url(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !s.authorised(&headers) {
        return unauthorised();
    }
    match s.tasks.status(&id) {
        None => not_found(&id),
        Some(TaskStatus::Running) => {
            let token = s.tokens.issue(&id);
            bump(&s.counters.tokens_issued);
            let Ok(mut url) = url::Url::parse(&s.ws_origin(&headers)) else {
                return detail(StatusCode::INTERNAL_SERVER_ERROR, "bad Host header");
            };
            if let Ok(mut path) = url.path_segments_mut() {
                path.clear().extend(["tasks", &id, "websockify"]);
            }
            url.query_pairs_mut().append_pair("token", &token);
            axum::Json(json!({ "stream_url": url.as_str() })).into_response()
        }
        Some(_) => not_running(),
    }
}

async fn task_status(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if waldiez::is_waldiez_request(&headers) {
        return waldiez::get_task(&s, &id, &headers).await;
    }
    if !s.authorised(&headers) {
        return unauthorised();
    }
    match s.tasks.status(&id) {
        None => not_found(&id),
        Some(status) => axum::Json(json!({ "task_id": id, "status": status })).into_response(),
    }
}

async fn websockify(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // A request that cannot upgrade does not spend the token.
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    if let Err(why) = s.tokens.redeem(&id, token) {
        let counter = match why {
            TokenRejection::Expired => &s.counters.tokens_expired,
            TokenRejection::Reused => &s.counters.tokens_reused,
            TokenRejection::Malformed | TokenRejection::BadSignature => &s.counters.tokens_invalid,
        };
        bump(counter);
        tracing::debug!(task = %id, "refused a stream token: {why}");
        return detail(StatusCode::FORBIDDEN, "Invalid or expired token");
    }
    match s.tasks.status(&id) {
        None => return not_found(&id),
        Some(TaskStatus::Running) => {}
        Some(_) => return not_running(),
    }
    s.counters.stream_connection(&id);
    let tasks = s.tasks.clone();
    let task_id = id.clone();
    let running: RunningCheck =
        Arc::new(move || tasks.status(&task_id) == Some(TaskStatus::Running));
    let page = optexity_page(&id);
    let show = Showing {
        label: &id,
        page: &page,
        script: s.tasks.script(&id),
    };
    let spec = s.streams.spec(show, None, Some(running));
    let stop = s.streams.stop.clone();
    upgrade
        .protocols(["binary"])
        .max_message_size(MAX_CLIENT_WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            run_connection(Transport::websocket(socket, rand::random()), spec, stop)
        })
}
