//! The simulated AgentStation API's routes (PROVIDERS.md §2): the workstation log stream
//! and the recorder, with its HLS playlists and segments.
//!
//! - `POST /v1/workstations/{id}/log/stream`, `Authorization: Bearer TOKEN` → 200
//!   `{"url":"http://HOST/agentstation/log/{id}?token=…"}`; errors are `{"error",
//!   "message"}`: 401 bad or missing key, 422 unknown workstation.
//! - `GET /agentstation/log/{id}?token=T` → `text/event-stream` while `T` is a live URL
//!   token for that workstation (they last [`LOG_URL_TTL_MS`] and may be reused until
//!   then; an open stream outlives its token); else 401, 404 unknown workstation, 429
//!   (`Retry-After`) past [`MAX_STREAMS_PER_WORKSTATION`] open streams. Its events are
//!   described in [`log_stream`]; a `Last-Event-ID` header resumes the numbering after it,
//!   lines come every `agentstation_log_interval_ms` on chattering workstations and a
//!   keep-alive comment every `agentstation_keepalive_ms`.
//!
//! The recorder (its HLS streams live in [`crate::sim::hls`], whose docs describe the
//! playlist and segment routes, `GET /agentstation/hls/{id}/{video|audio}[/{seq}.ts]`):
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
//!
//! [`LOG_URL_TTL_MS`]: crate::sim::agentstation::station::LOG_URL_TTL_MS
//! [`MAX_STREAMS_PER_WORKSTATION`]: crate::sim::agentstation::station::MAX_STREAMS_PER_WORKSTATION
//! [`log_stream`]: crate::sim::agentstation::log_stream
//! [`AgentStation::fail_next`]: crate::sim::agentstation::station::AgentStation::fail_next

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::state::{AppState, Scheme};
use crate::sim::agentstation::station::{ForcedFailure, Refusal};
use crate::sim::hls::media::HlsKind;
use crate::sim::hls::recorder::{HlsRefusal, NotRecording, RecorderState, Recorders};

/// Largest request body read (`recorder/stream`).
pub const MAX_BODY_BYTES: usize = 4096;

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
        .route("/agentstation/hls/{id}/{kind}", get(get_hls))
        .route("/agentstation/hls/{id}/{kind}/{file}", get(get_hls))
}

/// An error answer, `{"error","message"}`.
fn error(code: StatusCode, error: &str, message: &str) -> Response {
    (
        code,
        axum::Json(json!({ "error": error, "message": message })),
    )
        .into_response()
}

/// The answer to a refused `/v1/workstations/{id}/…` call.
fn refused(why: Refusal) -> Response {
    match why {
        Refusal::BadKey => error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized - missing or invalid API key.",
        ),
        Refusal::Forced(f) => forced_error(f),
        Refusal::UnknownWorkstation => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "Cannot find the requested workstation associated with your API key.",
        ),
    }
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
    let Some(url) = s.token_url(headers, Scheme::Http, path, token) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "bad Host header",
        );
    };
    axum::Json(json!({ "url": url.as_str() })).into_response()
}

/// `POST /v1/workstations/{id}/log/stream`.
async fn log_stream_url(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let station = &s.agentstation;
    if let Err(why) = station.check(&headers, &id) {
        return refused(why);
    }
    let token = station.log_url_token(&id);
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
    if let Err(why) = station.check(headers, id) {
        return refused(why);
    }
    match act(station.recorders(), id) {
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
    if let Err(why) = station.check(&headers, &id) {
        return refused(why);
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
    match station.recorders().stream_token(&id, kind) {
        Ok(token) => url_answer(
            &s,
            &headers,
            &["agentstation", "hls", &id, kind.name()],
            &token,
        ),
        Err(NotRecording) => bad_request("recorder is not recording"),
    }
}

/// `GET /agentstation/log/{id}?token=T`: the event stream.
async fn log_events(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let station = &s.agentstation;
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    if let Err(why) = station.check_log_url_token(&id, token) {
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
    let shutdown = s.streams.stop.shutdown.clone();
    let Some(rx) = station.open_log_stream(&id, chatters, first_id, shutdown) else {
        let mut resp = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many open log streams for this workstation.",
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1u32));
        return resp;
    };
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

/// The answer to a refused HLS request.
fn hls_refused(why: HlsRefusal) -> Response {
    match why {
        HlsRefusal::Forbidden => error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The stream token is invalid or expired.",
        ),
        HlsRefusal::NotFound => error(StatusCode::NOT_FOUND, "not_found", "No such stream."),
        HlsRefusal::Gone => error(StatusCode::GONE, "gone", "The stream has ended."),
    }
}

/// The `token` query parameter (empty if there is none).
fn token(query: &HashMap<String, String>) -> &str {
    query.get("token").map(String::as_str).unwrap_or_default()
}

/// `GET /agentstation/hls/{id}/{kind}?token=T` (the playlist) and
/// `GET /agentstation/hls/{id}/{kind}/{seq}.ts?token=T` (a segment).
async fn get_hls(
    State(s): State<Arc<AppState>>,
    Path(path): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let part = |name: &str| path.get(name).map(String::as_str).unwrap_or_default();
    let (id, token) = (part("id"), token(&query));
    let recorders = s.agentstation.recorders();
    let answer = HlsKind::from_name(part("kind"))
        .ok_or(HlsRefusal::NotFound)
        .and_then(|kind| match path.get("file") {
            None => {
                let text = recorders.playlist(id, kind, token)?;
                let kind = [
                    (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
                    (header::CACHE_CONTROL, "no-cache"),
                ];
                Ok((kind, text).into_response())
            }
            Some(file) => {
                let bytes = recorders.segment(id, kind, file, token)?;
                Ok(([(header::CONTENT_TYPE, "video/mp2t")], bytes).into_response())
            }
        });
    answer.unwrap_or_else(hls_refused)
}
