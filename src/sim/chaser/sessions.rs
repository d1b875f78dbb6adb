//! Chaser's sessions ([`Chaser`]): which exist and whether they take input, the preview
//! tokens minted for them (signed like stream tokens over the session id and its
//! generation, so a token of a deleted session never opens the same id re-added; unlike
//! stream tokens reusable until they expire), the rate limit a test armed, and every open
//! preview, so test hooks can close it with a chosen code: 4404 when its session is deleted,
//! 1000 when it ends, anything via [`Chaser::close_all`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::core::source::preview::CLOSE_SESSION_DELETED;
use crate::sim::desktop::Script;
use crate::sim::interact::{Pages, chaser_page};
use crate::sim::token::TokenIssuer;

/// The frame rate a token advertises (the public docs: "currently 5").
pub(crate) const TOKEN_FPS: u32 = 5;

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
    pub fn take_rate_limit(&self) -> Option<u64> {
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
