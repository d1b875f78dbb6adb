//! The simulated Waldiez Runner (PROVIDERS.md §4): its tokens, task REST routes and the
//! task WebSocket, behaving like the runner's code rather than its docs. The tasks
//! themselves (scripts, prompts, stored messages) live in [`super::waldiez_tasks`].
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
//! - `POST /api/v1/tasks/{id}/input`, Bearer, JSON `{"request_id","data"}` (strings) →
//!   204; 400 `{"detail":"Invalid input request"}` when the task does not wait for input or
//!   waits on another request; 404 `{"detail":"Task {id} not found"}`; 422 malformed body.
//! - `GET /ws/{task_id}` → WebSocket. The access token is taken from the first of: query
//!   `access_token`, cookie `access_token`, `Authorization: Bearer`, subprotocols
//!   `tasks-api, TOKEN` (then `tasks-api` is the accepted subprotocol). Every refusal —
//!   bad or expired token, unknown or finished task, too many viewers — is an HTTP 403
//!   with an empty body before any upgrade. Then: one `status` message, the last 50 stored
//!   messages, live ones. Client text `{"request_id","data"}` (strings; `type` is not
//!   looked at) answers the pending prompt; a wrong or stale request id is ignored; any
//!   other text gets `{"error":"Invalid input payload"}` back (the runner closes on
//!   non-JSON text; the simulator answers it the same as a bad payload). The socket stays
//!   open when the task ends.
//!
//! Access tokens last `waldiez_token_ttl_ms`, refresh tokens `waldiez_refresh_ttl_ms`,
//! with no leeway (the real runner allows 30 s). Both are opaque, HMAC-signed like stream
//! tokens ([`TokenIssuer`]), from separate keys so neither passes for the other.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::api::AppState;
use super::clock::rfc3339_ms;
use super::credentials::same_secret;
use super::token::{TokenIssuer, TokenRejection};
use super::waldiez_tasks::{Viewer, WaldiezTasks};
use crate::core::provider::waldiez::AUDIENCE;

/// Largest client message a task socket accepts (answers are short text).
const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest request body of the auth and input routes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The runner's accounts, tokens, tasks and open sockets.
pub(crate) struct Waldiez {
    client_id: String,
    client_secret: String,
    access: TokenIssuer,
    refresh: TokenIssuer,
    max_viewers: usize,
    pub tasks: Arc<WaldiezTasks>,
    /// Bumped to drop every open task socket.
    dropped: watch::Sender<u64>,
}

impl std::fmt::Debug for Waldiez {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waldiez")
            .field("client_id", &self.client_id)
            .field("max_viewers", &self.max_viewers)
            .finish_non_exhaustive()
    }
}

/// What [`Waldiez::new`] needs.
#[derive(Clone, Debug)]
pub(crate) struct WaldiezSettings {
    pub client_id: String,
    pub client_secret: String,
    pub access_ttl_ms: u64,
    pub refresh_ttl_ms: u64,
    pub max_viewers: usize,
    pub print_objects: bool,
}

impl Waldiez {
    pub fn new(settings: WaldiezSettings) -> Self {
        Self {
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            access: TokenIssuer::new(settings.access_ttl_ms),
            refresh: TokenIssuer::new(settings.refresh_ttl_ms),
            max_viewers: settings.max_viewers,
            tasks: Arc::new(WaldiezTasks::new(settings.print_objects)),
            dropped: watch::channel(0).0,
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Closes every open task socket abruptly (no close frame).
    pub fn drop_sockets(&self) {
        self.dropped.send_modify(|g| *g += 1);
    }

    /// Whether `token` is a live access token.
    fn access_ok(&self, token: &str) -> Result<u64, TokenRejection> {
        self.access.verify(&self.client_id, token)
    }

    /// A fresh token pair, as the runner's `generate_tokens` answers.
    fn tokens(&self) -> Value {
        let (access_token, expires_ms) = self.access.issue_with_expiry(&self.client_id);
        let (refresh_token, refresh_ms) = self.refresh.issue_with_expiry(&self.client_id);
        json!({
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_at": rfc3339_ms(expires_ms),
            "refresh_expires_at": rfc3339_ms(refresh_ms),
            "audience": AUDIENCE,
        })
    }
}

/// The Waldiez routes but `GET /api/v1/tasks/{id}`, which [`super::api`] shares with
/// Optexity and hands to [`get_task`].
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/auth/token", post(token))
        .route("/auth/token/refresh", post(refresh))
        .route("/api/v1/tasks/{id}/input", post(input))
        .route("/ws/{task_id}", axum::routing::get(task_socket))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Whether a request to a path both APIs have is Waldiez's: it has an `Authorization`
/// header and no Optexity `x-api-key`.
pub(crate) fn is_waldiez_request(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) && !headers.contains_key("x-api-key")
}

fn detail(code: StatusCode, text: &str) -> Response {
    (code, axum::Json(json!({ "detail": text }))).into_response()
}

fn invalid_credentials() -> Response {
    detail(StatusCode::UNAUTHORIZED, "Invalid credentials.")
}

/// FastAPI's answer to a body missing a field.
fn missing_field(location: &str, field: &str) -> Response {
    let body = json!({ "detail": [{
        "type": "missing",
        "loc": [location, field],
        "msg": "Field required",
    }]});
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// The token of `Authorization: Bearer TOKEN`, read as the runner does: two words, the
/// first `bearer` in any case.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut words = value.split_whitespace();
    let (scheme, token) = (words.next()?, words.next()?);
    (words.next().is_none() && scheme.eq_ignore_ascii_case("bearer")).then_some(token)
}

/// Whether the request carries a live access token in its `Authorization` header.
fn authorised(w: &Waldiez, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| w.access_ok(t).is_ok())
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
    let good = same_secret(id.as_bytes(), w.client_id.as_bytes())
        & same_secret(secret.as_bytes(), w.client_secret.as_bytes());
    if !good {
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
    match w.refresh.verify(&w.client_id, token) {
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
    if !authorised(w, headers) {
        return invalid_credentials();
    }
    match w.tasks.task_json(id, &w.client_id) {
        Some(task) => axum::Json(task).into_response(),
        None => detail(StatusCode::NOT_FOUND, "Task not found"),
    }
}

/// `POST /api/v1/tasks/{id}/input`.
async fn input(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let w = &s.waldiez;
    if !authorised(w, &headers) {
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

/// Where a socket's token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenSource {
    Query,
    Cookie,
    Header,
    Subprotocol,
}

/// The socket's token, looked for in the runner's order; the first place that has one
/// decides (a bad token there is not rescued by a good one elsewhere).
fn socket_token<'a>(
    query: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
) -> Option<(&'a str, TokenSource)> {
    if let Some(t) = query.get("access_token").filter(|t| !t.is_empty()) {
        return Some((t, TokenSource::Query));
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "access_token")
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty());
    if let Some(t) = cookie {
        return Some((t, TokenSource::Cookie));
    }
    if let Some(t) = bearer(headers) {
        return Some((t, TokenSource::Header));
    }
    let protocols = headers.get(header::SEC_WEBSOCKET_PROTOCOL)?.to_str().ok()?;
    let (first, token) = protocols.split_once(',')?;
    let token = token.trim();
    let two = !token.contains(',');
    (two && first.eq_ignore_ascii_case(AUDIENCE) && !token.is_empty())
        .then_some((token, TokenSource::Subprotocol))
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
    let viewer = match w.tasks.join(&id, w.max_viewers) {
        Ok(v) => v,
        Err(why) => {
            tracing::debug!(task = %id, "refused a task socket: {why}");
            return forbidden();
        }
    };
    let ctx = SocketContext {
        tasks: w.tasks.clone(),
        task_id: id,
        dropped: w.dropped.subscribe(),
        shutdown: s.streams.stop.shutdown.clone(),
    };
    let mut upgrade = upgrade
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES);
    if source == TokenSource::Subprotocol {
        upgrade = upgrade.protocols([AUDIENCE]);
    }
    upgrade.on_upgrade(move |socket| serve_viewer(socket, viewer, ctx))
}

/// What a task socket watches besides its viewer feed.
struct SocketContext {
    tasks: Arc<WaldiezTasks>,
    task_id: String,
    dropped: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
}

/// The reply to a client message that is not an answer.
fn invalid_payload() -> Utf8Bytes {
    Utf8Bytes::from_static(r#"{"error":"Invalid input payload"}"#)
}

impl SocketContext {
    /// Handles one client text message; what to send back, if anything.
    fn on_text(&self, text: &str) -> Option<Utf8Bytes> {
        let Ok(Value::Object(msg)) = serde_json::from_str::<Value>(text) else {
            return Some(invalid_payload());
        };
        let (Some(Value::String(request_id)), Some(Value::String(data))) =
            (msg.get("request_id"), msg.get("data"))
        else {
            return Some(invalid_payload());
        };
        if let Err(why) = self.tasks.answer(&self.task_id, request_id, data) {
            // Like the runner's worker: an answer to another prompt is dropped, unanswered.
            tracing::debug!(task = %self.task_id, "ignored a socket answer: {why}");
        }
        None
    }
}

/// One viewer: status, replay, then live messages and answers until either side goes.
async fn serve_viewer(mut socket: WebSocket, viewer: Viewer, mut ctx: SocketContext) {
    let Viewer {
        status,
        history,
        mut live,
        guard: _guard,
    } = viewer;
    for text in std::iter::once(status).chain(history) {
        if socket.send(Message::Text(text)).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            next = live.recv() => match next {
                Ok(text) => {
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(task = %ctx.task_id, missed, "a slow viewer missed messages");
                }
                // The task was replaced: its sockets go.
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = ctx.on_text(text.as_str())
                        && socket.send(Message::Text(reply)).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(_)) => {}
            },
            _ = ctx.dropped.changed() => return,
            _ = ctx.shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn socket_tokens_are_looked_for_in_the_runner_order() {
        let mut q = HashMap::new();
        let all = headers(&[
            (header::COOKIE, "a=b; access_token=C"),
            (header::AUTHORIZATION, "Bearer H"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P"),
        ]);
        q.insert("access_token".to_string(), "Q".to_string());
        assert_eq!(socket_token(&q, &all), Some(("Q", TokenSource::Query)));
        q.clear();
        assert_eq!(socket_token(&q, &all), Some(("C", TokenSource::Cookie)));
        let h = headers(&[
            (header::AUTHORIZATION, "bearer H"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P"),
        ]);
        assert_eq!(socket_token(&q, &h), Some(("H", TokenSource::Header)));
        let h = headers(&[(header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P")]);
        assert_eq!(socket_token(&q, &h), Some(("P", TokenSource::Subprotocol)));
    }

    #[test]
    fn malformed_token_carriers_are_not_tokens() {
        let q = HashMap::new();
        for (name, value) in [
            (header::SEC_WEBSOCKET_PROTOCOL, "task-api, P"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P, X"),
            (header::AUTHORIZATION, "Basic H"),
            (header::AUTHORIZATION, "Bearer H extra"),
            (header::COOKIE, "other_access_token=C"),
        ] {
            assert_eq!(
                socket_token(&q, &headers(&[(name, value)])),
                None,
                "{value}"
            );
        }
    }
}
