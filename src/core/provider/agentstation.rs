//! AgentStation: a workstation's log as Server-Sent Events (PROVIDERS.md §2).
//!
//! `POST {base}/v1/workstations/{id}/log/stream` with `Authorization: Bearer TOKEN` answers
//! 200 `{"url"}`: an SSE stream whose events are JSON log entries (parsed by
//! [`crate::core::source::tasklog::parse_log_entry`]). Errors carry `{"error","message"}`:
//! 400 bad request, 401 bad token, 402 out of credits, 422 no such workstation for this
//! token, 429 rate limited (with `Retry-After`), 500 and 503 (retried).

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
        "no AgentStation token: set AGENTSTATION_TOKEN, pass --agentstation-token, or add agentstation_token to the config file"
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

    async fn post_for_url(
        &self,
        workstation_id: &str,
        tail: &[&str],
        body: Option<serde_json::Value>,
    ) -> Result<url::Url, AgentStationError> {
        let token = self.token.as_ref().ok_or(AgentStationError::MissingToken)?;
        let mut segments = vec!["v1", "workstations", workstation_id];
        segments.extend_from_slice(tail);
        let url = join(&self.base, &segments)
            .ok_or_else(|| AgentStationError::BadResponse("invalid base URL".into()))?;
        let mut req = self.http.post(url).bearer_auth(token.expose());
        req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let answer = send(req, MAX_BODY_BYTES).await.map_err(|e| match e {
            BodyError::Network(reason) => AgentStationError::Network {
                base: redact::url(&self.base),
                reason,
            },
            BodyError::TooLarge { status, max } => AgentStationError::BadResponse(format!(
                "HTTP {status} body larger than {max} bytes"
            )),
        })?;
        if answer.status != 200 {
            return Err(error_for(
                answer.status,
                &answer.body,
                workstation_id,
                answer.retry_after,
            ));
        }
        let parsed: UrlBody = serde_json::from_slice(&answer.body)
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

    /// The workstation's log stream (Server-Sent Events).
    pub async fn log_stream_url(
        &self,
        workstation_id: &str,
    ) -> Result<url::Url, AgentStationError> {
        self.post_for_url(workstation_id, &["log", "stream"], None)
            .await
    }
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
