//! The simulated Chaser API's routes (PROVIDERS.md §3): preview tokens and the preview
//! WebSocket, so the viewer's JPEG-preview source and its "Take control" input can be
//! tested end to end without the real service.
//!
//! - `POST /v1/sessions/{id}/preview-token`, `Authorization: Bearer KEY`, body `{}` → 200
//!   `{"url":"ws://HOST/sessions/{id}/preview?token=…","expires_at":"…Z","input_enabled",
//!   "fps":5}`; 401 bad key, 429 (with `Retry-After`) when a test armed it, 404 unknown,
//!   deleted or ended session; errors are `{"error": "…"}`.
//! - `GET /sessions/{id}/preview?token=T` → WebSocket ([`crate::sim::chaser::preview`])
//!   when the session exists (else 404) and `T` is a live token for it (else 401).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::state::{AppState, Scheme};
use crate::sim::chaser::preview::{self, PreviewSpec};
use crate::sim::chaser::sessions::{Chaser, TOKEN_FPS};
use crate::sim::clock::rfc3339_ms;
use crate::sim::credentials::{bearer, same_secret};
use crate::sim::interact::chaser_page;
use crate::sim::stats::bump;

/// Largest client message a preview socket accepts (input and config are small JSON).
const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// Chaser's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/sessions/{id}/preview-token", post(mint))
        .route("/sessions/{id}/preview", get(preview))
}

/// An error answer, `{"error": text}`.
fn error(code: StatusCode, text: &str) -> Response {
    (code, axum::Json(json!({ "error": text }))).into_response()
}

fn not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("session {id} not found"))
}

/// `POST /v1/sessions/{id}/preview-token`.
async fn mint(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let chaser = &s.chaser;
    let authorised = bearer(&headers).is_some_and(|key| same_secret(key, chaser.key().as_bytes()));
    if !authorised {
        return error(StatusCode::UNAUTHORIZED, "invalid or missing API key");
    }
    if let Some(retry_after) = chaser.take_rate_limit() {
        bump(&s.counters.preview_mints_limited);
        let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "rate limited");
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return resp;
    }
    let Some(session) = chaser.session(&id) else {
        return not_found(&id);
    };
    let subject = Chaser::token_subject(&id, session.generation);
    let (token, expiry_ms) = chaser.tokens.issue_with_expiry(&subject);
    bump(&s.counters.preview_tokens_issued);
    let path = ["sessions", &id, "preview"];
    let Some(url) = s.token_url(&headers, Scheme::Ws, &path, &token) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "bad Host header");
    };
    axum::Json(json!({
        "url": url.as_str(),
        "expires_at": rfc3339_ms(expiry_ms),
        "input_enabled": session.input_enabled,
        "fps": TOKEN_FPS,
    }))
    .into_response()
}

/// `GET /sessions/{id}/preview?token=T`.
async fn preview(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(session) = s.chaser.session(&id) else {
        return not_found(&id);
    };
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    let subject = Chaser::token_subject(&id, session.generation);
    let expiry_ms = match s.chaser.tokens.verify(&subject, token) {
        Ok(expiry) => expiry,
        Err(why) => {
            bump(&s.counters.preview_tokens_rejected);
            tracing::debug!(session = %id, "refused a preview token: {why}");
            return error(StatusCode::UNAUTHORIZED, "invalid or expired token");
        }
    };
    s.counters.preview_connection(&id);
    let (registration, close) = s.chaser.register(&id);
    let page = chaser_page(&id);
    let spec = PreviewSpec {
        start_tick: s.streams.tick_now(),
        page: s.streams.pages.page(&page),
        session: id,
        generation: session.generation,
        input_enabled: session.input_enabled,
        script: session.script,
        token_expiry_ms: expiry_ms,
        fps: TOKEN_FPS,
        streams: s.streams.clone(),
        chaser: s.chaser.clone(),
        close,
        _registration: registration,
    };
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| preview::run(socket, spec))
}
