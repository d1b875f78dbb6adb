//! Optexity: REST → a short-lived websockify URL speaking RFB (PROVIDERS.md §1).
//!
//! `GET {base}/api/v1/tasks/{id}/stream` with `x-api-key` answers 200 `{"stream_url"}`,
//! 401, 404 or 409 (task not running). `GET {base}/api/v1/tasks/{id}` gives the task's
//! status (a Lookout-defined endpoint); the session polls it while a task is queued.

use crate::core::event::ErrorKind;
use serde::Deserialize;

use crate::core::redact::{self, Secret};

/// The public service, used when no base URL is configured.
pub const DEFAULT_BASE_URL: &str = "https://inference-api.optexity.com";

/// Largest REST body we read.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OptexityError {
    #[error(
        "no Optexity API key: run `lookout login optexity`, set OPTEXITY_API_KEY, pass --optexity-api-key, or add it to the config file"
    )]
    MissingApiKey,
    #[error("Optexity rejected the API key: {detail} (401)")]
    Unauthorized { detail: String },
    #[error("task {task_id} not found (404)")]
    TaskNotFound { task_id: String },
    #[error("task {task_id} is not running (409)")]
    TaskNotRunning { task_id: String },
    #[error("Optexity answered HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    #[error("cannot reach Optexity at {base}: {reason}")]
    Network { base: String, reason: String },
    #[error("unexpected answer from Optexity: {0}")]
    BadResponse(String),
}

impl OptexityError {
    /// Network trouble and server errors may pass; the others will not.
    /// What kind of failure this is, for the front end.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OptexityError::MissingApiKey => ErrorKind::Config,
            OptexityError::Unauthorized { .. } => ErrorKind::Unauthorized,
            OptexityError::TaskNotFound { .. } => ErrorKind::NotFound,
            OptexityError::TaskNotRunning { .. } => ErrorKind::TaskOver,
            OptexityError::Http { status, .. } => ErrorKind::from_http_status(*status),
            OptexityError::Network { .. } => ErrorKind::Network,
            OptexityError::BadResponse(_) => ErrorKind::Protocol,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            OptexityError::Network { .. } => true,
            OptexityError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// A task's life, as the status endpoint reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    Queued,
    Allocated,
    Running,
    Success,
    Failed,
    Cancelled,
    Other(String),
}

impl TaskStatus {
    fn parse(s: &str) -> Self {
        match s {
            "queued" => TaskStatus::Queued,
            "allocated" => TaskStatus::Allocated,
            "running" => TaskStatus::Running,
            "success" => TaskStatus::Success,
            "failed" => TaskStatus::Failed,
            "cancelled" => TaskStatus::Cancelled,
            other => TaskStatus::Other(other.chars().take(64).collect()),
        }
    }

    /// The task has not started yet.
    pub fn is_pending(&self) -> bool {
        matches!(self, TaskStatus::Queued | TaskStatus::Allocated)
    }

    /// The task is over and will never stream again.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            TaskStatus::Success | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }

    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Allocated => "allocated",
            TaskStatus::Running => "running",
            TaskStatus::Success => "success",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Other(s) => s,
        }
    }
}

/// Talks to one Optexity deployment with one key.
#[derive(Clone, Debug)]
pub struct OptexityClient {
    http: reqwest::Client,
    base: String,
    api_key: Option<Secret>,
}

#[derive(Deserialize)]
struct StreamBody {
    stream_url: String,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

#[derive(Deserialize)]
struct DetailBody {
    detail: String,
}

impl OptexityClient {
    pub fn new(http: reqwest::Client, base: &str, api_key: Option<Secret>) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    fn task_url(&self, task_id: &str, tail: &str) -> Result<url::Url, OptexityError> {
        let mut url = url::Url::parse(&self.base)
            .map_err(|e| OptexityError::BadResponse(format!("invalid base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| OptexityError::BadResponse("invalid base URL".into()))?
            .pop_if_empty()
            .extend(["api", "v1", "tasks", task_id]);
        if !tail.is_empty() {
            url.path_segments_mut()
                .map_err(|_| OptexityError::BadResponse("invalid base URL".into()))?
                .push(tail);
        }
        Ok(url)
    }

    async fn get(&self, url: url::Url) -> Result<(u16, Vec<u8>), OptexityError> {
        let key = self.api_key.as_ref().ok_or(OptexityError::MissingApiKey)?;
        let req = self.http.get(url).header("x-api-key", key.expose());
        let answer = super::send(req, MAX_BODY_BYTES)
            .await
            .map_err(|e| match e {
                super::BodyError::Network(reason) => OptexityError::Network {
                    base: redact::url(&self.base),
                    reason,
                },
                other => OptexityError::BadResponse(other.to_string()),
            })?;
        Ok((answer.status, answer.body))
    }

    fn error_for(status: u16, body: &[u8], task_id: &str) -> OptexityError {
        let detail = super::error_detail(body);
        match status {
            401 | 403 => OptexityError::Unauthorized { detail },
            404 => OptexityError::TaskNotFound {
                task_id: task_id.to_string(),
            },
            409 => OptexityError::TaskNotRunning {
                task_id: task_id.to_string(),
            },
            _ => OptexityError::Http { status, detail },
        }
    }

    /// A fresh stream URL for a running task.
    pub async fn stream_url(&self, task_id: &str) -> Result<url::Url, OptexityError> {
        let (status, body) = self.get(self.task_url(task_id, "stream")?).await?;
        if status != 200 {
            return Err(Self::error_for(status, &body, task_id));
        }
        let parsed: StreamBody = serde_json::from_slice(&body)
            .map_err(|e| OptexityError::BadResponse(format!("stream answer: {e}")))?;
        let url = url::Url::parse(&parsed.stream_url)
            .map_err(|e| OptexityError::BadResponse(format!("stream_url: {e}")))?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(OptexityError::BadResponse(format!(
                "stream_url has scheme {:?}, expected ws or wss",
                url.scheme()
            )));
        }
        Ok(url)
    }

    /// The task's status; `Ok(None)` when the deployment has no status endpoint.
    pub async fn status(&self, task_id: &str) -> Result<Option<TaskStatus>, OptexityError> {
        let (status, body) = self.get(self.task_url(task_id, "")?).await?;
        match status {
            200 => {
                let parsed: StatusBody = serde_json::from_slice(&body)
                    .map_err(|e| OptexityError::BadResponse(format!("status answer: {e}")))?;
                Ok(Some(TaskStatus::parse(&parsed.status)))
            }
            404 | 405 => {
                // A 404 with the seed's "not found" detail names the task; without a status
                // endpoint at all, the deployment simply lacks it.
                match Self::error_for(status, &body, task_id) {
                    e @ OptexityError::TaskNotFound { .. }
                        if serde_json::from_slice::<DetailBody>(&body)
                            .is_ok_and(|d| d.detail.contains(task_id)) =>
                    {
                        Err(e)
                    }
                    _ => Ok(None),
                }
            }
            _ => Err(Self::error_for(status, &body, task_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_name_the_task_and_code() {
        let e = OptexityClient::error_for(409, br#"{"detail":"x"}"#, "42");
        assert_eq!(e.to_string(), "task 42 is not running (409)");
        let e = OptexityClient::error_for(404, b"", "42");
        assert_eq!(e.to_string(), "task 42 not found (404)");
        let e = OptexityClient::error_for(401, br#"{"detail":"Invalid or missing API key"}"#, "");
        assert_eq!(
            e.to_string(),
            "Optexity rejected the API key: Invalid or missing API key (401)"
        );
        assert!(!e.is_retryable());
        assert!(OptexityClient::error_for(503, b"", "1").is_retryable());
    }

    #[test]
    fn task_urls_escape_the_id() {
        let c = OptexityClient::new(
            crate::core::net::http_client().unwrap(),
            "http://h:1/base/",
            None,
        );
        assert_eq!(
            c.task_url("a/b", "stream").unwrap().as_str(),
            "http://h:1/base/api/v1/tasks/a%2Fb/stream"
        );
        assert_eq!(
            c.task_url("t1", "").unwrap().as_str(),
            "http://h:1/base/api/v1/tasks/t1"
        );
    }

    #[test]
    fn statuses_classify() {
        assert!(TaskStatus::parse("queued").is_pending());
        assert!(TaskStatus::parse("allocated").is_pending());
        assert!(TaskStatus::parse("cancelled").is_finished());
        assert!(!TaskStatus::parse("running").is_finished());
        assert_eq!(TaskStatus::parse("weird").as_str(), "weird");
    }
}
