//! Chaser: REST mints a short-lived preview token; the preview WebSocket speaks the frame
//! protocol of `source::preview` (PROVIDERS.md §3).
//!
//! `POST {base}/v1/sessions/{id}/preview-token` with `Authorization: Bearer KEY` and body
//! `{}` answers 200 `{"url","expires_at","input_enabled","fps"}`, 401 (bad key), 404
//! (unknown or deleted session) or 429 with `Retry-After`. The session mints a token before
//! every connection and again before the current one expires, then swaps sockets.

use crate::core::event::ErrorKind;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::core::redact::{self, Secret};
use crate::core::source::tasklog::Micros;

/// The public service, used when no base URL is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.chaser.sh";

/// Largest REST body we read.
const MAX_BODY_BYTES: usize = 64 * 1024;
pub use super::MAX_RETRY_AFTER;
#[cfg(test)]
use super::parse_retry_after;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ChaserError {
    #[error(
        "no Chaser API key: run `lookout login chaser`, set CHASER_KEY, pass --chaser-key, or add it to the config file"
    )]
    MissingApiKey,
    #[error("Chaser rejected the API key (401)")]
    Unauthorized,
    #[error("Chaser session {session_id} not found: unknown or deleted (404)")]
    SessionNotFound { session_id: String },
    #[error("Chaser is rate limiting preview tokens; trying again in {} s (429)", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("Chaser answered HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    #[error("cannot reach Chaser at {base}: {reason}")]
    Network { base: String, reason: String },
    #[error("unexpected answer from Chaser: {0}")]
    BadResponse(String),
}

impl ChaserError {
    /// Network trouble, rate limits and server errors may pass; the others will not.
    /// What kind of failure this is, for the front end.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ChaserError::MissingApiKey => ErrorKind::Config,
            ChaserError::Unauthorized => ErrorKind::Unauthorized,
            ChaserError::SessionNotFound { .. } => ErrorKind::NotFound,
            ChaserError::RateLimited { .. } => ErrorKind::RateLimited,
            ChaserError::Http { status, .. } => ErrorKind::from_http_status(*status),
            ChaserError::Network { .. } => ErrorKind::Network,
            ChaserError::BadResponse(_) => ErrorKind::Protocol,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            ChaserError::Network { .. } | ChaserError::RateLimited { .. } => true,
            ChaserError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// How long the provider asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ChaserError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// One minted preview token.
#[derive(Clone, PartialEq, Eq)]
pub struct PreviewToken {
    /// The preview WebSocket URL; its `token=` value is secret.
    pub url: url::Url,
    /// When the token stops working.
    pub expires_at: SystemTime,
    /// Whether the session takes input from the preview.
    pub input_enabled: bool,
    /// The frame rate the preview streams at, when given.
    pub fps: Option<u32>,
}

impl std::fmt::Debug for PreviewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewToken")
            .field("url", &redact::url(self.url.as_str()))
            .field("expires_at", &self.expires_at)
            .field("input_enabled", &self.input_enabled)
            .field("fps", &self.fps)
            .finish()
    }
}

impl PreviewToken {
    /// When to mint the next token: a fifth of its life (at least 1 s, at most 30 s) before
    /// it expires, so the new socket is streaming before the old one is cut.
    pub fn refresh_at(&self, minted: SystemTime) -> SystemTime {
        let life = self
            .expires_at
            .duration_since(minted)
            .unwrap_or(Duration::ZERO);
        let margin = (life / 5).clamp(Duration::from_secs(1), Duration::from_secs(30));
        let margin = margin.min(life / 2);
        self.expires_at
            .checked_sub(margin)
            .unwrap_or(self.expires_at)
    }
}

#[derive(Deserialize)]
struct TokenBody {
    url: String,
    expires_at: String,
    #[serde(default = "yes")]
    input_enabled: bool,
    fps: Option<f64>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(alias = "detail", alias = "message")]
    error: String,
}

/// Talks to one Chaser deployment with one key.
#[derive(Clone, Debug)]
pub struct ChaserClient {
    http: reqwest::Client,
    base: String,
    api_key: Option<Secret>,
}

impl ChaserClient {
    pub fn new(http: reqwest::Client, base: &str, api_key: Option<Secret>) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    fn token_url(&self, session_id: &str) -> Result<url::Url, ChaserError> {
        let bad = || ChaserError::BadResponse("invalid base URL".into());
        let mut url = url::Url::parse(&self.base).map_err(|_| bad())?;
        url.path_segments_mut()
            .map_err(|_| bad())?
            .pop_if_empty()
            .extend(["v1", "sessions", session_id, "preview-token"]);
        Ok(url)
    }

    /// Mints a preview token for `session_id`.
    pub async fn mint(&self, session_id: &str) -> Result<PreviewToken, ChaserError> {
        let key = self.api_key.as_ref().ok_or(ChaserError::MissingApiKey)?;
        let req = self
            .http
            .post(self.token_url(session_id)?)
            .bearer_auth(key.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("{}");
        let super::Answer {
            status,
            retry_after,
            body,
        } = super::send(req, MAX_BODY_BYTES)
            .await
            .map_err(|e| match e {
                super::BodyError::Network(reason) => ChaserError::Network {
                    base: redact::url(&self.base),
                    reason,
                },
                other => ChaserError::BadResponse(other.to_string()),
            })?;
        if status != 200 {
            return Err(error_for(status, &body, session_id, retry_after));
        }
        parse_token(&body)
    }
}

fn error_for(
    status: u16,
    body: &[u8],
    session_id: &str,
    retry_after: Option<Duration>,
) -> ChaserError {
    match status {
        401 | 403 => ChaserError::Unauthorized,
        404 => ChaserError::SessionNotFound {
            session_id: session_id.chars().take(128).collect(),
        },
        429 => ChaserError::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(5)),
        },
        _ => ChaserError::Http {
            status,
            detail: serde_json::from_slice::<ErrorBody>(body)
                .map(|d| redact::url(&d.error.chars().take(200).collect::<String>()))
                .unwrap_or_else(|_| "no detail".to_string()),
        },
    }
}

fn parse_token(body: &[u8]) -> Result<PreviewToken, ChaserError> {
    let parsed: TokenBody = serde_json::from_slice(body)
        .map_err(|e| ChaserError::BadResponse(format!("preview-token answer: {e}")))?;
    let url = url::Url::parse(&parsed.url)
        .map_err(|e| ChaserError::BadResponse(format!("preview url: {e}")))?;
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(ChaserError::BadResponse(format!(
            "preview url has scheme {:?}, expected ws or wss",
            url.scheme()
        )));
    }
    let expires_at = parse_rfc3339(&parsed.expires_at).ok_or_else(|| {
        ChaserError::BadResponse(format!(
            "expires_at {:?} is not an RFC 3339 time",
            parsed.expires_at.chars().take(64).collect::<String>()
        ))
    })?;
    let fps = parsed
        .fps
        .filter(|f| f.is_finite() && *f >= 1.0)
        .map(|f| f.min(120.0) as u32);
    Ok(PreviewToken {
        url,
        expires_at,
        input_enabled: parsed.input_enabled,
        fps,
    })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff…](Z|±HH:MM)`: RFC 3339, whose zone is required. The
/// date itself is read by the task log's ISO 8601 reader ([`Micros::from_text`]).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let b = s.as_bytes();
    let zoned = matches!(b.last(), Some(b'Z' | b'z'))
        || (b.len() >= 25 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':');
    if !zoned || b.first().is_some_and(|c| !c.is_ascii_digit()) {
        return None;
    }
    Micros::from_text(s)?.system_time()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, millis: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn rfc3339_times_parse_with_fractions_and_offsets() {
        // 2026-06-13T11:54:41.836Z, the seed's example.
        assert_eq!(
            parse_rfc3339("2026-06-13T11:54:41.836Z"),
            Some(at(1_781_351_681, 836))
        );
        assert_eq!(
            parse_rfc3339("2026-06-13T13:54:41.836+02:00"),
            Some(at(1_781_351_681, 836))
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(at(0, 0)));
        for bad in [
            "",
            "2026-06-13",
            "2026-13-01T00:00:00Z",
            "2026-06-13T11:54:41",
            "2026-06-13T11:54:41.Z",
            "2026-06-13T11:54:41+0200",
            "２０２６-06-13T11:54:41Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn token_answers_parse_and_bad_ones_are_named() {
        let t = parse_token(
            br#"{"url":"wss://stream.chaser.sh/sessions/s1/preview?token=eyJ","expires_at":"2026-06-13T11:54:41.836Z","input_enabled":false,"fps":5}"#,
        )
        .unwrap();
        assert_eq!(t.url.host_str(), Some("stream.chaser.sh"));
        assert!(!t.input_enabled);
        assert_eq!(t.fps, Some(5));
        assert!(!format!("{t:?}").contains("eyJ"), "the token stays hidden");

        let e = parse_token(br#"{"url":"https://x/","expires_at":"2026-06-13T11:54:41Z"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("scheme"), "{e}");
        let e = parse_token(br#"{"url":"wss://x/","expires_at":"tomorrow"}"#).unwrap_err();
        assert!(e.to_string().contains("RFC 3339"), "{e}");
        assert!(parse_token(b"<html>").is_err());
    }

    #[test]
    fn errors_name_the_session_and_honour_retry_after() {
        let e = error_for(404, b"", "s-9", None);
        assert_eq!(
            e.to_string(),
            "Chaser session s-9 not found: unknown or deleted (404)"
        );
        assert!(!e.is_retryable());
        assert_eq!(error_for(401, b"", "s", None), ChaserError::Unauthorized);
        let e = error_for(429, b"", "s", Some(parse_retry_after("7")));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
        assert_eq!(parse_retry_after("99999"), MAX_RETRY_AFTER);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Duration::from_secs(5)
        );
        let e = error_for(500, br#"{"error":"boom ?token=abc"}"#, "s", None);
        assert!(e.is_retryable());
        assert!(!e.to_string().contains("abc"), "{e}");
    }

    #[test]
    fn refresh_comes_before_expiry_with_a_margin() {
        let minted = at(1000, 0);
        let token = |life_ms: u64| PreviewToken {
            url: url::Url::parse("ws://h/").unwrap(),
            expires_at: minted + Duration::from_millis(life_ms),
            input_enabled: true,
            fps: None,
        };
        // 60 s: refresh 12 s early. 10 min: capped at 30 s early. 1 s: half-way.
        assert_eq!(token(60_000).refresh_at(minted), at(1048, 0));
        assert_eq!(token(600_000).refresh_at(minted), at(1570, 0));
        assert_eq!(token(1_000).refresh_at(minted), at(1000, 500));
        // Already expired: at once.
        assert_eq!(token(0).refresh_at(minted), minted);
    }

    #[test]
    fn token_urls_escape_the_id() {
        let c = ChaserClient::new(
            crate::core::net::http_client().unwrap(),
            "http://h:1/api/",
            None,
        );
        assert_eq!(
            c.token_url("a/b").unwrap().as_str(),
            "http://h:1/api/v1/sessions/a%2Fb/preview-token"
        );
    }
}
