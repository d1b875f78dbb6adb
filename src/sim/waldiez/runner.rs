//! The simulated Waldiez Runner's accounts and tokens ([`Waldiez`]): one client id and
//! secret, access and refresh tokens, and the runner's tasks ([`WaldiezTasks`]). Its REST
//! routes are in `routes::waldiez`, its task sockets in [`super::socket`].
//!
//! Access tokens last `waldiez_token_ttl_ms`, refresh tokens `waldiez_refresh_ttl_ms`,
//! with no leeway (the real runner allows 30 s). Both are opaque, HMAC-signed like stream
//! tokens ([`TokenIssuer`]), from separate keys so neither passes for the other.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::plan::WaldiezStatus;
use super::tasks::{JoinRefusal, Viewer, WaldiezTasks};
use crate::core::provider::waldiez::AUDIENCE;
use crate::sim::clock::rfc3339_ms;
use crate::sim::credentials::same_secret;
use crate::sim::token::{TokenIssuer, TokenRejection};

/// The runner's accounts, tokens, tasks and open sockets.
pub(crate) struct Waldiez {
    client_id: String,
    client_secret: String,
    access: TokenIssuer,
    refresh: TokenIssuer,
    max_viewers: usize,
    echo_delay: Duration,
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
    /// The longest blocking read of a task socket's handler, which a socket answer waits
    /// for ([`super::read_loop`]).
    pub echo_delay_ms: u64,
}

impl Waldiez {
    pub fn new(settings: WaldiezSettings) -> Self {
        Self {
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            access: TokenIssuer::new(settings.access_ttl_ms),
            refresh: TokenIssuer::new(settings.refresh_ttl_ms),
            max_viewers: settings.max_viewers,
            echo_delay: Duration::from_millis(settings.echo_delay_ms),
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
    pub fn access_ok(&self, token: &str) -> Result<u64, TokenRejection> {
        self.access.verify(&self.client_id, token)
    }

    /// A fresh token pair, as the runner's `generate_tokens` answers.
    pub fn tokens(&self) -> Value {
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

    /// Whether the request carries a live access token in its `Authorization` header.
    pub fn authorised(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|t| self.access_ok(t).is_ok())
    }

    /// Whether `id` and `secret` are this runner's client's (compared in constant time).
    pub fn client_matches(&self, id: &str, secret: &str) -> bool {
        same_secret(id.as_bytes(), self.client_id.as_bytes())
            & same_secret(secret.as_bytes(), self.client_secret.as_bytes())
    }

    /// Whether `token` is a live refresh token; its expiry.
    pub fn refresh_ok(&self, token: &str) -> Result<u64, TokenRejection> {
        self.refresh.verify(&self.client_id, token)
    }

    /// The task as `GET /api/v1/tasks/{id}` shows it to this runner's client.
    pub fn task_json(&self, id: &str) -> Option<Value> {
        self.tasks.task_json(id, &self.client_id)
    }

    /// A page of this runner's client's tasks ([`WaldiezTasks::page_json`]).
    pub fn tasks_page(&self, status: Option<WaldiezStatus>, page: usize, size: usize) -> Value {
        self.tasks.page_json(&self.client_id, status, page, size)
    }

    /// A new viewer of task `id`, unless it is unknown, over or has all the viewers it takes.
    pub fn join(&self, id: &str) -> Result<Viewer, JoinRefusal> {
        self.tasks.join(id, self.max_viewers)
    }

    /// The longest a socket answer waits for its socket's blocking read to return.
    pub fn echo_delay(&self) -> Duration {
        self.echo_delay
    }

    /// Changes when [`Self::drop_sockets`] is called.
    pub fn dropped(&self) -> watch::Receiver<u64> {
        self.dropped.subscribe()
    }
}

/// The token of `Authorization: Bearer TOKEN`, read as the runner does: two words, the
/// first `bearer` in any case.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut words = value.split_whitespace();
    let (scheme, token) = (words.next()?, words.next()?);
    (words.next().is_none() && scheme.eq_ignore_ascii_case("bearer")).then_some(token)
}
