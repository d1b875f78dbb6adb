//! The simulated Waldiez Runner's REST routes and the upgrade of its task socket
//! (PROVIDERS.md §4), behaving like the runner's code rather than its docs.
//!
//! - `POST /auth/token`, form `client_id`, `client_secret` → 200 `{"access_token",
//!   "refresh_token","token_type":"bearer","expires_at","refresh_expires_at",
//!   "audience":"tasks-api"}` (times ISO 8601 UTC); 401 `{"detail":"Invalid
//!   credentials."}`; 422 when a field is missing.
//! - `POST /auth/token/refresh`, JSON `{"refresh_token"}` → the same shape; 401 for a bad
//!   or expired refresh token, 400 `{"detail":"Invalid token type"}` for an access token.
//! - `GET /api/v1/tasks/{id}`, `Authorization: Bearer ACCESS` → 200 the task (`id`,
//!   `status`, `input_timeout` in seconds, `input_request_id`, times, …); 401 `{"detail":
//!   "Invalid credentials."}`; 404 `{"detail":"Task not found"}`. Optexity's status route
//!   has the same path: a request with an `Authorization` header and no `x-api-key` is
//!   Waldiez's ([`is_waldiez_request`]).
//! - `GET /api/v1/tasks[/]?status=S&page=P&size=N`, Bearer → 200 fastapi-pagination's
//!   `Page`: `{"items":[task…],"total","page","size","pages"}`, the client's tasks oldest
//!   first, only those with status `S` when given (one status; page from 1, size 1–100,
//!   default 50); 422 for a status, page or size it cannot take.
//! - `POST /api/v1/tasks/{id}/input`, Bearer, JSON `{"request_id","data"}` (strings) →
//!   204; 400 `{"detail":"Invalid input request"}` when the task does not wait for input or
//!   waits on another request; 404 `{"detail":"Task {id} not found"}`; 422 malformed body.
//! - `GET /ws/{task_id}` → WebSocket ([`crate::sim::waldiez::socket`]). The access token is
//!   taken from the first of: query `access_token`, cookie `access_token`, `Authorization:
//!   Bearer`, subprotocols `tasks-api, TOKEN` (then `tasks-api` is the accepted
//!   subprotocol). Every refusal — bad or expired token, unknown or finished task, too many
//!   viewers — is an HTTP 403 with an empty body before any upgrade.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use super::fastapi::{bad_query, detail, missing_field};
use super::state::AppState;
use crate::core::provider::waldiez::AUDIENCE;
use crate::sim::token::TokenRejection;
use crate::sim::waldiez::plan::WaldiezStatus;
use crate::sim::waldiez::socket::{SocketContext, TokenSource, serve_viewer, socket_token};

/// Largest client message a task socket accepts (answers are short text).
const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest request body of the auth and input routes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The Waldiez routes but `GET /api/v1/tasks/{id}`, which [`super::router`] shares with
/// Optexity and hands to [`get_task`].
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/auth/token", post(token))
        .route("/auth/token/refresh", post(refresh))
        .route("/api/v1/tasks", axum::routing::get(list_tasks))
        .route("/api/v1/tasks/", axum::routing::get(list_tasks))
        .route("/api/v1/tasks/{id}/input", post(input))
        .route("/ws/{task_id}", axum::routing::get(task_socket))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Whether a request to a path both APIs have is Waldiez's: it has an `Authorization`
/// header and no Optexity `x-api-key`.
pub(crate) fn is_waldiez_request(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) && !headers.contains_key("x-api-key")
}

fn invalid_credentials() -> Response {
    detail(StatusCode::UNAUTHORIZED, "Invalid credentials.")
}

/// `POST /auth/token`.
async fn token(State(s): State<Arc<AppState>>, body: Bytes) -> Response {
    let w = &s.waldiez;
    let (mut id, mut secret) = (None, None);
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "client_id" => id = Some(v.into_owned()),
            "client_secret" => secret = Some(v.into_owned()),
            _ => {}
        }
    }
    let Some(id) = id else {
        return missing_field("body", "client_id");
    };
    let Some(secret) = secret else {
        return missing_field("body", "client_secret");
    };
    if !w.client_matches(&id, &secret) {
        return invalid_credentials();
    }
    axum::Json(w.tokens()).into_response()
}

/// `POST /auth/token/refresh`.
async fn refresh(State(s): State<Arc<AppState>>, body: Bytes) -> Response {
    let w = &s.waldiez;
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let Some(Value::String(token)) = parsed.as_ref().and_then(|v| v.get("refresh_token")) else {
        return missing_field("body", "refresh_token");
    };
    match w.refresh_ok(token) {
        Ok(_) => axum::Json(w.tokens()).into_response(),
        Err(_) if w.access_ok(token).is_ok() => {
            detail(StatusCode::BAD_REQUEST, "Invalid token type")
        }
        Err(TokenRejection::Expired) => detail(StatusCode::UNAUTHORIZED, "Expired refresh token"),
        Err(_) => detail(StatusCode::UNAUTHORIZED, "Invalid refresh token"),
    }
}

/// `GET /api/v1/tasks/{id}` for a Waldiez client.
pub(crate) async fn get_task(s: &AppState, id: &str, headers: &HeaderMap) -> Response {
    let w = &s.waldiez;
    if !w.authorised(headers) {
        return invalid_credentials();
    }
    match w.task_json(id) {
        Some(task) => axum::Json(task).into_response(),
        None => detail(StatusCode::NOT_FOUND, "Task not found"),
    }
}

/// `GET /api/v1/tasks`: the client's tasks, a page at a time.
async fn list_tasks(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let w = &s.waldiez;
    if !w.authorised(&headers) {
        return invalid_credentials();
    }
    let status = match query.get("status").map(String::as_str) {
        None => None,
        Some(name) => match WaldiezStatus::ALL.iter().find(|s| s.name() == name) {
            Some(s) => Some(*s),
            None => return bad_query("status", "Input should be a task status"),
        },
    };
    let number = |name: &str, default: usize, max: usize| match query.get(name) {
        None => Some(default),
        Some(v) => v.parse().ok().filter(|n| (1..=max).contains(n)),
    };
    let Some(page) = number("page", 1, usize::MAX / 128) else {
        return bad_query("page", "Input should be greater than or equal to 1");
    };
    let Some(size) = number("size", 50, 100) else {
        return bad_query("size", "Input should be between 1 and 100");
    };
    axum::Json(w.tasks_page(status, page, size)).into_response()
}

/// `POST /api/v1/tasks/{id}/input`.
async fn input(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let w = &s.waldiez;
    if !w.authorised(&headers) {
        return invalid_credentials();
    }
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let field = |name| match parsed.as_ref().and_then(|v| v.get(name)) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let Some(request_id) = field("request_id") else {
        return missing_field("body", "request_id");
    };
    let Some(data) = field("data") else {
        return missing_field("body", "data");
    };
    if w.tasks.status(&id).is_none() {
        return detail(StatusCode::NOT_FOUND, &format!("Task {id} not found"));
    }
    match w.tasks.answer(&id, request_id, data) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => {
            tracing::debug!(task = %id, "refused a REST answer: {why}");
            detail(StatusCode::BAD_REQUEST, "Invalid input request")
        }
    }
}

fn forbidden() -> Response {
    StatusCode::FORBIDDEN.into_response()
}

/// `GET /ws/{task_id}`.
async fn task_socket(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let w = &s.waldiez;
    let Some((token, source)) = socket_token(&query, &headers) else {
        tracing::debug!(task = %id, "refused a task socket: no token");
        return forbidden();
    };
    if let Err(why) = w.access_ok(token) {
        tracing::debug!(task = %id, "refused a task socket: {why}");
        return forbidden();
    }
    let viewer = match w.join(&id) {
        Ok(v) => v,
        Err(why) => {
            tracing::debug!(task = %id, "refused a task socket: {why}");
            return forbidden();
        }
    };
    let ctx = SocketContext {
        tasks: w.tasks.clone(),
        task_id: id,
        dropped: w.dropped(),
        shutdown: s.streams.stop.shutdown.clone(),
        read_block: w.echo_delay(),
    };
    let mut upgrade = upgrade
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES);
    if source == TokenSource::Subprotocol {
        upgrade = upgrade.protocols([AUDIENCE]);
    }
    upgrade.on_upgrade(move |socket| serve_viewer(socket, viewer, ctx))
}
