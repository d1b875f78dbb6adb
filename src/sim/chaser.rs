//! The simulated Chaser API (PROVIDERS.md §3): preview tokens and the preview WebSocket,
//! so the viewer's JPEG-preview source and its "Take control" input can be tested end to
//! end without the real service.
//!
//! - `POST /v1/sessions/{id}/preview-token`, `Authorization: Bearer KEY`, body `{}` → 200
//!   `{"url":"ws://HOST/sessions/{id}/preview?token=…","expires_at":"…Z","input_enabled",
//!   "fps":5}`; 401 bad key, 429 (with `Retry-After`) when a test armed it, 404 unknown,
//!   deleted or ended session; errors are `{"error": "…"}`.
//! - `GET /sessions/{id}/preview?token=T` → WebSocket ([`super::preview`]) when the session
//!   exists (else 404) and `T` is a live token for it (else 401). Tokens are signed like
//!   stream tokens ([`TokenIssuer`]) over the session id and its generation, so a token of
//!   a deleted session never opens the same id re-added; unlike stream tokens they are
//!   reusable until they expire.
//!
//! Every open preview is registered here, so test hooks can close it with a chosen code:
//! 4404 when its session is deleted, 1000 when it ends, anything via
//! [`Chaser::close_all`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::oneshot;

use super::api::AppState;
use super::clock::rfc3339_ms;
use super::credentials::{bearer, same_secret};
use super::desktop::Script;
use super::interact::{Pages, chaser_page};
use super::preview::{self, PreviewSpec};
use super::stats::bump;
use super::token::TokenIssuer;
use crate::core::source::preview::CLOSE_SESSION_DELETED;

/// The frame rate a token advertises (the public docs: "currently 5").
pub(crate) const TOKEN_FPS: u32 = 5;
/// Largest client message a preview socket accepts (input and config are small JSON).
const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// The demo sessions every simulator starts with: (id, input enabled, script, description).
pub(crate) const DEMO_SESSIONS: [(&str, bool, Script, &str); 3] = [
    (
        "demo",
        true,
        Script::Agent,
        "input enabled: an agent fills a checkout form",
    ),
    (
        "human",
        true,
        Script::AwaitHuman,
        "input enabled: the agent waits for a human to solve the captcha",
    ),
    (
        "view-only",
        false,
        Script::Agent,
        "view only: input is not enabled",
    ),
];

/// A live Chaser session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Session {
    pub input_enabled: bool,
    /// Tells this session from an earlier one of the same id (tokens are bound to it).
    pub generation: u64,
    pub script: Script,
}

/// An open preview socket, for closing it from outside.
#[derive(Debug)]
struct OpenPreview {
    session: String,
    close: oneshot::Sender<u16>,
}

/// Chaser's sessions, tokens, open previews and test switches.
pub(crate) struct Chaser {
    key: String,
    pub tokens: TokenIssuer,
    sessions: Mutex<HashMap<String, Session>>,
    generations: AtomicU64,
    /// Mints still to refuse with 429, and the `Retry-After` seconds they carry.
    rate_limit: Mutex<(u32, u64)>,
    open: Mutex<HashMap<u64, OpenPreview>>,
    connections: AtomicU64,
    /// Send frames as binary JPEG messages instead of JSON text.
    pub binary_frames: AtomicBool,
    pages: Arc<Pages>,
}

impl std::fmt::Debug for Chaser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chaser")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Chaser {
    /// With the demo sessions.
    pub fn new(key: String, ttl_ms: u64, binary_frames: bool, pages: Arc<Pages>) -> Self {
        let chaser = Self {
            key,
            tokens: TokenIssuer::new(ttl_ms),
            sessions: Mutex::new(HashMap::new()),
            generations: AtomicU64::new(0),
            rate_limit: Mutex::new((0, 0)),
            open: Mutex::new(HashMap::new()),
            connections: AtomicU64::new(0),
            binary_frames: AtomicBool::new(binary_frames),
            pages,
        };
        for (id, input, script, _) in DEMO_SESSIONS {
            chaser.add(id, input, script);
        }
        chaser
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Adds a session (replacing one of the same id: its previews close with 4404 and its
    /// page starts afresh).
    pub fn add(&self, id: &str, input_enabled: bool, script: Script) {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let old = lock(&self.sessions).insert(
            id.to_string(),
            Session {
                input_enabled,
                generation,
                script,
            },
        );
        if old.is_some() {
            self.close_session(id, CLOSE_SESSION_DELETED);
        }
        self.pages.reset(&chaser_page(id));
    }

    /// Removes a session and closes its previews with `code`; `false` if it was unknown.
    pub fn remove(&self, id: &str, code: u16) -> bool {
        let known = lock(&self.sessions).remove(id).is_some();
        self.close_session(id, code);
        known
    }

    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.sessions).get(id).copied()
    }

    /// What a token for this session is bound to.
    pub fn token_subject(id: &str, generation: u64) -> String {
        format!("{generation}:{id}")
    }

    /// Refuses the next `n` mints with 429 and `Retry-After: retry_after_s`.
    pub fn rate_limit_next(&self, n: u32, retry_after_s: u64) {
        *lock(&self.rate_limit) = (n, retry_after_s);
    }

    /// Whether this mint is refused, and with which `Retry-After`.
    fn take_rate_limit(&self) -> Option<u64> {
        let mut limit = lock(&self.rate_limit);
        (limit.0 > 0).then(|| {
            limit.0 -= 1;
            limit.1
        })
    }

    /// Registers an open preview of `session`; the receiver gets the close code if a hook
    /// closes it. Dropping the registration unregisters.
    pub fn register(self: &Arc<Self>, session: &str) -> (Registration, oneshot::Receiver<u16>) {
        let (tx, rx) = oneshot::channel();
        let id = self.connections.fetch_add(1, Ordering::Relaxed);
        lock(&self.open).insert(
            id,
            OpenPreview {
                session: session.to_string(),
                close: tx,
            },
        );
        let reg = Registration {
            chaser: self.clone(),
            id,
        };
        (reg, rx)
    }

    fn close_where(&self, code: u16, matches: impl Fn(&OpenPreview) -> bool) {
        let closing: Vec<OpenPreview> = {
            let mut open = lock(&self.open);
            let ids: Vec<u64> = open
                .iter()
                .filter(|(_, p)| matches(p))
                .map(|(&id, _)| id)
                .collect();
            ids.into_iter().filter_map(|id| open.remove(&id)).collect()
        };
        for p in closing {
            let _ = p.close.send(code);
        }
    }

    /// Closes every open preview of `session` with `code`.
    pub fn close_session(&self, session: &str, code: u16) {
        self.close_where(code, |p| p.session == session);
    }

    /// Closes every open preview with `code`.
    pub fn close_all(&self, code: u16) {
        self.close_where(code, |_| true);
    }
}

/// An open preview's entry in [`Chaser`]; removed on drop.
pub(crate) struct Registration {
    chaser: Arc<Chaser>,
    id: u64,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.chaser.open).remove(&self.id);
    }
}

fn error(code: StatusCode, text: &str) -> Response {
    (code, axum::Json(json!({ "error": text }))).into_response()
}

fn not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("session {id} not found"))
}

/// `POST /v1/sessions/{id}/preview-token`.
pub(crate) async fn mint(
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
    let Ok(mut url) = url::Url::parse(&s.ws_origin(&headers)) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "bad Host header");
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.clear().extend(["sessions", &id, "preview"]);
    }
    url.query_pairs_mut().append_pair("token", &token);
    axum::Json(json!({
        "url": url.as_str(),
        "expires_at": rfc3339_ms(expiry_ms),
        "input_enabled": session.input_enabled,
        "fps": TOKEN_FPS,
    }))
    .into_response()
}

/// `GET /sessions/{id}/preview?token=T`.
pub(crate) async fn preview(
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
