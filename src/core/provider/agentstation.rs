//! AgentStation: a workstation's log as Server-Sent Events, and its recorder's HLS streams
//! (PROVIDERS.md §2).
//!
//! Every call but the status is a `POST {base}/v1/workstations/{id}/…` with `Authorization: Bearer TOKEN`:
//! - `log/stream` answers 200 `{"url"}`: an SSE stream whose events are JSON log entries
//!   (parsed by [`crate::core::source::tasklog::parse_log_entry`]).
//! - `recorder/stream` with `{"type":"video"|"audio","protocol":"hls"}` answers 200
//!   `{"url"}`: an HLS playlist, only while a recording runs.
//! - `recorder/start` (no body) starts recording; `GET …/recorder` (Lookout's own
//!   definition) answers `{"status":"idle|recording|paused|stopped"}`.
//!
//! Errors carry `{"error","message"}`:
//! 400 bad request, 401 bad token, 402 out of credits, 422 no such workstation for this
//! token, 429 rate limited (with `Retry-After`), 500 and 503 (retried).

use crate::core::event::ErrorKind;
use std::time::Duration;

use serde::Deserialize;

use super::{BodyError, error_detail, join, send};
use crate::core::redact::{self, Secret};

/// The public service, used when no base URL is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.agentstation.ai";

/// Largest REST body we read.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AgentStationError {
    #[error(
        "no AgentStation token: run `lookout login agentstation`, set AGENTSTATION_TOKEN, pass --agentstation-token, or add agentstation_token to the config file"
    )]
    MissingToken,
    #[error("AgentStation rejected the request (400): {detail}")]
    BadRequest { detail: String },
    #[error("AgentStation rejected the token (401)")]
    Unauthorized,
    #[error("the AgentStation account is out of credits (402)")]
    OutOfCredits,
    #[error("no workstation {workstation_id} for this token (422)")]
    UnknownWorkstation { workstation_id: String },
    #[error("AgentStation is rate limiting; trying again in {} s (429)", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("AgentStation answered HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    #[error("cannot reach AgentStation at {base}: {reason}")]
    Network { base: String, reason: String },
    #[error("unexpected answer from AgentStation: {0}")]
    BadResponse(String),
}

impl AgentStationError {
    /// Network trouble, rate limits and 500/503 may pass; the others will not.
    /// What kind of failure this is, for the front end.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AgentStationError::MissingToken => ErrorKind::Config,
            AgentStationError::BadRequest { .. } | AgentStationError::BadResponse(_) => {
                ErrorKind::Protocol
            }
            AgentStationError::Unauthorized => ErrorKind::Unauthorized,
            AgentStationError::OutOfCredits => ErrorKind::Unavailable,
            AgentStationError::UnknownWorkstation { .. } => ErrorKind::NotFound,
            AgentStationError::RateLimited { .. } => ErrorKind::RateLimited,
            AgentStationError::Http { status, .. } => ErrorKind::from_http_status(*status),
            AgentStationError::Network { .. } => ErrorKind::Network,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            AgentStationError::Network { .. } | AgentStationError::RateLimited { .. } => true,
            AgentStationError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// How long the provider asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AgentStationError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct UrlBody {
    url: String,
}

#[derive(Deserialize)]
struct RecorderBody {
    status: String,
}

/// Which of the recorder's streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Video,
    Audio,
}

impl MediaKind {
    fn name(self) -> &'static str {
        match self {
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
        }
    }
}

/// The recorder's state; only `Recording` has streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecorderStatus {
    Idle,
    Recording,
    Paused,
    Stopped,
    /// A state this version does not know, as sent (at most 64 characters).
    Other(String),
}

impl RecorderStatus {
    pub fn from_name(name: &str) -> RecorderStatus {
        match name.trim().to_ascii_lowercase().as_str() {
            "idle" => RecorderStatus::Idle,
            "recording" => RecorderStatus::Recording,
            "paused" => RecorderStatus::Paused,
            "stopped" => RecorderStatus::Stopped,
            _ => RecorderStatus::Other(name.chars().take(64).collect()),
        }
    }
}

/// Talks to one AgentStation deployment with one token.
#[derive(Clone, Debug)]
pub struct AgentStationClient {
    http: reqwest::Client,
    base: String,
    token: Option<Secret>,
}

impl AgentStationClient {
    pub fn new(http: reqwest::Client, base: &str, token: Option<Secret>) -> Self {
        Self {
            http,
            base: base.trim().trim_end_matches('/').to_string(),
            token,
        }
    }

    /// The HTTP client this provider's streams are read with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends one call and returns the 2xx body; other statuses become their errors.
    async fn call(
        &self,
        method: reqwest::Method,
        workstation_id: &str,
        tail: &[&str],
        body: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, AgentStationError> {
        let token = self.token.as_ref().ok_or(AgentStationError::MissingToken)?;
        let mut segments = vec!["v1", "workstations", workstation_id];
        segments.extend_from_slice(tail);
        let url = join(&self.base, &segments)
            .ok_or_else(|| AgentStationError::BadResponse("invalid base URL".into()))?;
        let mut req = self.http.request(method, url).bearer_auth(token.expose());
        req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let answer = send(req, MAX_BODY_BYTES).await.map_err(|e| match e {
            BodyError::Network(reason) => AgentStationError::Network {
                base: redact::url(&self.base),
                reason,
            },
            other => AgentStationError::BadResponse(other.to_string()),
        })?;
        if !(200..300).contains(&answer.status) {
            return Err(error_for(
                answer.status,
                &answer.body,
                workstation_id,
                answer.retry_after,
            ));
        }
        Ok(answer.body)
    }

    async fn post_for_url(
        &self,
        workstation_id: &str,
        tail: &[&str],
        body: Option<serde_json::Value>,
    ) -> Result<url::Url, AgentStationError> {
        let body = self
            .call(reqwest::Method::POST, workstation_id, tail, body)
            .await?;
        parse_stream_url(&body)
    }

    /// The workstation's log stream (Server-Sent Events).
    pub async fn log_stream_url(
        &self,
        workstation_id: &str,
    ) -> Result<url::Url, AgentStationError> {
        self.post_for_url(workstation_id, &["log", "stream"], None)
            .await
    }

    /// The recorder's HLS playlist for `kind` (only while it records).
    pub async fn recorder_stream_url(
        &self,
        workstation_id: &str,
        kind: MediaKind,
    ) -> Result<url::Url, AgentStationError> {
        let body = serde_json::json!({ "type": kind.name(), "protocol": "hls" });
        self.post_for_url(workstation_id, &["recorder", "stream"], Some(body))
            .await
    }

    /// Starts recording.
    pub async fn recorder_start(&self, workstation_id: &str) -> Result<(), AgentStationError> {
        self.call(
            reqwest::Method::POST,
            workstation_id,
            &["recorder", "start"],
            None,
        )
        .await
        .map(|_| ())
    }

    /// The recorder's state.
    pub async fn recorder_status(
        &self,
        workstation_id: &str,
    ) -> Result<RecorderStatus, AgentStationError> {
        let body = self
            .call(reqwest::Method::GET, workstation_id, &["recorder"], None)
            .await?;
        let parsed: RecorderBody = serde_json::from_slice(&body)
            .map_err(|e| AgentStationError::BadResponse(format!("recorder answer: {e}")))?;
        Ok(RecorderStatus::from_name(&parsed.status))
    }
}

/// An `{"url"}` answer, which must be http(s).
fn parse_stream_url(body: &[u8]) -> Result<url::Url, AgentStationError> {
    let parsed: UrlBody = serde_json::from_slice(body)
        .map_err(|e| AgentStationError::BadResponse(format!("stream answer: {e}")))?;
    let url = url::Url::parse(&parsed.url)
        .map_err(|e| AgentStationError::BadResponse(format!("stream url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AgentStationError::BadResponse(format!(
            "stream url has scheme {:?}, expected http or https",
            url.scheme()
        )));
    }
    Ok(url)
}

fn error_for(
    status: u16,
    body: &[u8],
    workstation_id: &str,
    retry_after: Option<Duration>,
) -> AgentStationError {
    match status {
        400 => AgentStationError::BadRequest {
            detail: error_detail(body),
        },
        401 | 403 => AgentStationError::Unauthorized,
        402 => AgentStationError::OutOfCredits,
        422 => AgentStationError::UnknownWorkstation {
            workstation_id: workstation_id.chars().take(128).collect(),
        },
        429 => AgentStationError::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(5)),
        },
        _ => AgentStationError::Http {
            status,
            detail: error_detail(body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_and_recorder_states_parse() {
        let u = parse_stream_url(br#"{"url":"https://cdn.example/hls/video/ws-1"}"#).unwrap();
        assert_eq!(u.path(), "/hls/video/ws-1");
        assert!(matches!(
            parse_stream_url(br#"{"url":"ftp://x/y"}"#),
            Err(AgentStationError::BadResponse(m)) if m.contains("ftp")
        ));
        assert!(parse_stream_url(b"{}").is_err());
        assert_eq!(
            RecorderStatus::from_name("Recording"),
            RecorderStatus::Recording
        );
        assert_eq!(RecorderStatus::from_name("idle"), RecorderStatus::Idle);
        assert_eq!(
            RecorderStatus::from_name("warming"),
            RecorderStatus::Other("warming".into())
        );
    }

    #[test]
    fn each_status_has_its_error() {
        let e = |s, b: &[u8]| error_for(s, b, "ws-1", Some(Duration::from_secs(3)));
        assert_eq!(
            e(
                400,
                br#"{"error":"bad_request","message":"type must be video or audio"}"#
            ),
            AgentStationError::BadRequest {
                detail: "type must be video or audio".into()
            }
        );
        assert_eq!(e(401, b""), AgentStationError::Unauthorized);
        assert_eq!(e(402, b""), AgentStationError::OutOfCredits);
        assert!(e(402, b"").to_string().contains("out of credits"));
        assert_eq!(
            e(422, b""),
            AgentStationError::UnknownWorkstation {
                workstation_id: "ws-1".into()
            }
        );
        let limited = e(429, b"");
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert!(limited.is_retryable());
        assert!(e(503, b"").is_retryable());
        assert!(e(500, b"").is_retryable());
        assert!(!e(422, b"").is_retryable());
    }
}
