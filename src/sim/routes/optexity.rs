//! The Optexity REST contract (PROVIDERS.md §1) and the websockify endpoint that upgrades
//! to a WebSocket carrying RFB.
//!
//! - `GET /api/v1/tasks/{id}/stream` (`x-api-key`) → 200 `{"stream_url"}` while running;
//!   401 / 404 / 409 with `{"detail"}` otherwise.
//! - `GET /api/v1/tasks/{id}` (`x-api-key`) → `{"task_id","status"}` ([`task_status`]; the
//!   route is shared with Waldiez, see [`super::router`]).
//! - `GET /tasks/{id}/websockify?token=T` → WebSocket (subprotocol `binary` when offered)
//!   if the token is valid for this task, unused and unexpired; otherwise HTTP 403 before
//!   any upgrade. Accepted streams go to [`crate::sim::rfb::server`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::fastapi::detail;
use super::state::{AppState, Scheme};
use crate::sim::credentials::same_secret;
use crate::sim::interact::optexity_page;
use crate::sim::optexity::tasks::TaskStatus;
use crate::sim::rfb::server::{RunningCheck, run_connection};
use crate::sim::rfb::transport::Transport;
use crate::sim::stats::bump;
use crate::sim::streams::Showing;
use crate::sim::token::TokenRejection;

/// Largest WebSocket message we accept from a client (RFB client messages are small).
const MAX_CLIENT_WS_MESSAGE_BYTES: usize = 2 << 20;

/// Optexity's routes but `GET /api/v1/tasks/{id}`, which [`super::router`] shares with
/// Waldiez and hands to [`task_status`].
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/tasks/{id}/stream", get(stream_url))
        .route("/tasks/{id}/websockify", get(websockify))
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

/// Whether the request carries the Optexity key.
fn authorised(s: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get("x-api-key")
        .is_some_and(|key| same_secret(key.as_bytes(), s.api_key.as_bytes()))
}

/// `GET /api/v1/tasks/{id}/stream`.
async fn stream_url(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    match s.tasks.status(&id) {
        None => not_found(&id),
        Some(TaskStatus::Running) => {
            let token = s.tokens.issue(&id);
            bump(&s.counters.tokens_issued);
            let path = ["tasks", &id, "websockify"];
            let Some(url) = s.token_url(&headers, Scheme::Ws, &path, &token) else {
                return detail(StatusCode::INTERNAL_SERVER_ERROR, "bad Host header");
            };
            axum::Json(json!({ "stream_url": url.as_str() })).into_response()
        }
        Some(_) => not_running(),
    }
}

/// `GET /api/v1/tasks/{id}` for an Optexity client.
pub(crate) fn task_status(s: &AppState, id: &str, headers: &HeaderMap) -> Response {
    if !authorised(s, headers) {
        return unauthorised();
    }
    match s.tasks.status(id) {
        None => not_found(id),
        Some(status) => axum::Json(json!({ "task_id": id, "status": status })).into_response(),
    }
}

/// `GET /tasks/{id}/websockify?token=T`.
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
