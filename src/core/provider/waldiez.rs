//! Waldiez Runner: a task's log and prompts over a WebSocket, its status and the REST input
//! fallback over HTTP (PROVIDERS.md §4).
//!
//! - Token: `WALDIEZ_TOKEN` as given, or client credentials: `POST {base}/auth/token` (form
//!   `client_id`, `client_secret`) → `{access_token, refresh_token, expires_at, …}`, renewed
//!   with `POST {base}/auth/token/refresh` (`{"refresh_token"}`) a minute before it expires.
//! - `GET {base}/api/v1/tasks/{id}` (Bearer) → `{status, input_timeout, input_request_id,
//!   results, …}`; `results` is set when the task ends (its chats, or its error), and may
//!   be large, so this body may be up to [`MAX_TASK_BODY_BYTES`].
//! - `POST {base}/api/v1/tasks/{id}/input` `{request_id, data}` → 204; 400 when the task is
//!   not waiting for that request.
//! - `ws(s)://{host}/ws/{id}` with the token as subprotocols `tasks-api, TOKEN` (the
//!   default), a Bearer header, an `access_token` cookie or an `access_token` query value.
//!   Every refusal is an HTTP 403 on the upgrade; [`WaldiezClient::diagnose_refusal`] asks
//!   the task's status to say which.

use crate::core::event::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::{Answer, BodyError, error_detail, join, send};
use crate::core::redact::{self, Secret};
use crate::core::source::tasklog::{Micros, TaskStatus};

/// Largest REST body we read.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest task record we read: a finished task's holds its whole chat history.
pub const MAX_TASK_BODY_BYTES: usize = 8 << 20;
/// A token is renewed this long before it expires.
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// The audience a runner token is for, and the first WebSocket subprotocol.
pub const AUDIENCE: &str = "tasks-api";
/// A prompt's time to answer when the task does not say (the runner's default).
pub const DEFAULT_INPUT_TIMEOUT_S: u64 = 180;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WaldiezError {
    #[error(
        "no Waldiez Runner base URL: set WALDIEZ_BASE_URL, pass --waldiez-base-url, or add waldiez_base_url to the config file"
    )]
    MissingBaseUrl,
    #[error(
        "no Waldiez Runner credentials: run `lookout login waldiez`, set WALDIEZ_TOKEN, or WALDIEZ_CLIENT_ID and WALDIEZ_CLIENT_SECRET (or the matching flags or config entries)"
    )]
    MissingCredentials,
    #[error("Waldiez Runner refused the credentials (401): {detail}")]
    Unauthorized { detail: String },
    #[error("Waldiez task {task_id} not found (404)")]
    TaskNotFound { task_id: String },
    #[error("the task is over ({status}); the runner streams only running tasks")]
    TaskFinished { status: TaskStatus },
    #[error("the task has not started yet ({status})")]
    TaskNotStarted { status: TaskStatus },
    #[error("the runner refused the log connection (403) though the task runs: too many viewers?")]
    TooManyViewers,
    #[error("the task is not waiting for this answer (400): {detail}")]
    NotWaiting { detail: String },
    #[error("Waldiez Runner answered HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    #[error("cannot reach Waldiez Runner at {base}: {reason}")]
    Network { base: String, reason: String },
    #[error("unexpected answer from Waldiez Runner: {0}")]
    BadResponse(String),
}

impl WaldiezError {
    /// Network trouble, server errors, a full viewer list and a task yet to start may pass;
    /// the rest will not.
    /// What kind of failure this is, for the front end.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WaldiezError::MissingBaseUrl | WaldiezError::MissingCredentials => ErrorKind::Config,
            WaldiezError::Unauthorized { .. } => ErrorKind::Unauthorized,
            WaldiezError::TaskNotFound { .. } => ErrorKind::NotFound,
            WaldiezError::TaskFinished { .. } => ErrorKind::TaskOver,
            WaldiezError::TaskNotStarted { .. } | WaldiezError::TooManyViewers => {
                ErrorKind::Unavailable
            }
            WaldiezError::NotWaiting { .. } | WaldiezError::BadResponse(_) => ErrorKind::Protocol,
            WaldiezError::Http { status, .. } => ErrorKind::from_http_status(*status),
            WaldiezError::Network { .. } => ErrorKind::Network,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            WaldiezError::Network { .. }
            | WaldiezError::TooManyViewers
            | WaldiezError::TaskNotStarted { .. } => true,
            WaldiezError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// How the token reaches the WebSocket upgrade (all four work with the runner).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(try_from = "String")]
pub enum WsAuth {
    /// `Sec-WebSocket-Protocol: tasks-api, TOKEN`: the runner's own example client's way,
    /// and ours by default (it keeps the token out of URLs and proxies' logs).
    #[default]
    Subprotocol,
    /// `Authorization: Bearer TOKEN`.
    #[value(alias = "header")]
    Bearer,
    /// `Cookie: access_token=TOKEN`.
    Cookie,
    /// `?access_token=TOKEN` (the runner's last resort; the URL is redacted everywhere).
    Query,
}

/// A `waldiez_auth` value that names no way.
#[derive(Debug, thiserror::Error)]
#[error("waldiez_auth must be subprotocol, bearer, cookie or query, got {0:?}")]
pub struct UnknownWsAuth(pub String);

impl TryFrom<String> for WsAuth {
    type Error = UnknownWsAuth;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        WsAuth::from_name(&name).ok_or(UnknownWsAuth(name))
    }
}

impl WsAuth {
    pub fn from_name(name: &str) -> Option<WsAuth> {
        match name.trim().to_ascii_lowercase().as_str() {
            "subprotocol" => Some(WsAuth::Subprotocol),
            "bearer" | "header" => Some(WsAuth::Bearer),
            "cookie" => Some(WsAuth::Cookie),
            "query" => Some(WsAuth::Query),
            _ => None,
        }
    }
}

/// Where the runner's token comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A token as given (`WALDIEZ_TOKEN`); never renewed.
    Token(Secret),
    /// Client credentials exchanged at `/auth/token`.
    Client { id: String, secret: Secret },
}

/// What a task's REST record tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    pub status: TaskStatus,
    /// Seconds a prompt waits for its answer before the task goes on with "".
    pub input_timeout_s: u64,
    /// The prompt the task waits on, when it waits.
    pub input_request_id: Option<String>,
    /// What the task's run produced, once it is over (`null` is `None`): read it with
    /// [`TaskResults::read`](crate::core::source::tasklog::TaskResults::read).
    pub results: Option<serde_json::Value>,
}

/// A task in the runner's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedTask {
    pub id: String,
    pub status: TaskStatus,
}

/// The most tasks [`WaldiezClient::unfinished_tasks`] returns.
pub const MAX_LISTED: usize = 500;
/// Tasks asked for per page (the most the runner gives).
const LIST_PAGE_SIZE: u32 = 100;
/// Pages read per status at most.
const MAX_LIST_PAGES: u32 = 5;
/// Largest page of the task list: a hundred task records (results are `null` until a task
/// is over).
const MAX_LIST_BODY_BYTES: usize = 4 << 20;
/// The longest task id taken from the list (the runner's are UUIDs).
const MAX_LISTED_ID: usize = 128;

/// The log WebSocket of one task, with the token placed as configured.
#[derive(Clone)]
pub struct WsTarget {
    /// The URL; with [`WsAuth::Query`] it holds the token, so show it only redacted.
    pub url: url::Url,
    pub subprotocols: Vec<Secret>,
    /// Extra request headers (name, value); values may be secret.
    pub headers: Vec<(&'static str, Secret)>,
}

impl std::fmt::Debug for WsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTarget")
            .field("url", &redact::url(self.url.as_str()))
            .field("subprotocols", &self.subprotocols.len())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<String>,
}

#[derive(Deserialize)]
struct TaskBody {
    status: serde_json::Value,
    input_timeout: Option<serde_json::Value>,
    input_request_id: Option<serde_json::Value>,
    #[serde(default)]
    results: serde_json::Value,
}

/// A token obtained from client credentials.
#[derive(Clone)]
struct Issued {
    access: Secret,
    refresh: Option<Secret>,
    /// When it stops working (`None`: the runner did not say; renewed on a 401).
    expires_at: Option<SystemTime>,
}

/// Talks to one runner with one set of credentials. Clones share the token cache.
#[derive(Clone)]
pub struct WaldiezClient {
    http: reqwest::Client,
    base: Option<String>,
    credentials: Option<Credentials>,
    ws_auth: WsAuth,
    issued: Arc<Mutex<Option<Issued>>>,
}

impl std::fmt::Debug for WaldiezClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaldiezClient")
            .field("base", &self.base)
            .field("ws_auth", &self.ws_auth)
            .finish_non_exhaustive()
    }
}

impl WaldiezClient {
    pub fn new(
        http: reqwest::Client,
        base: Option<&str>,
        credentials: Option<Credentials>,
        ws_auth: WsAuth,
    ) -> Self {
        Self {
            http,
            base: base
                .map(|b| b.trim().trim_end_matches('/').to_string())
                .filter(|b| !b.is_empty()),
            credentials,
            ws_auth,
            issued: Arc::new(Mutex::new(None)),
        }
    }

    fn base(&self) -> Result<&str, WaldiezError> {
        self.base.as_deref().ok_or(WaldiezError::MissingBaseUrl)
    }

    fn url(&self, segments: &[&str]) -> Result<url::Url, WaldiezError> {
        join(self.base()?, segments)
            .ok_or_else(|| WaldiezError::BadResponse("invalid base URL".into()))
    }

    fn body_error(&self, e: BodyError) -> WaldiezError {
        match e {
            BodyError::Network(reason) => WaldiezError::Network {
                base: redact::url(self.base.as_deref().unwrap_or("")),
                reason,
            },
            other => WaldiezError::BadResponse(other.to_string()),
        }
    }

    /// A token that works now: the given one, the cached one, a renewed one or a new one.
    pub async fn token(&self) -> Result<Secret, WaldiezError> {
        let (id, secret) = match &self.credentials {
            None => return Err(WaldiezError::MissingCredentials),
            Some(Credentials::Token(t)) => return Ok(t.clone()),
            Some(Credentials::Client { id, secret }) => (id.clone(), secret.clone()),
        };
        let mut issued = self.issued.lock().await;
        let now = SystemTime::now();
        if let Some(t) = issued.as_ref() {
            let fresh = t
                .expires_at
                .is_none_or(|at| now + RENEW_MARGIN.min(lifetime_margin(now, at)) < at);
            if fresh {
                return Ok(t.access.clone());
            }
        }
        let refresh = issued.as_ref().and_then(|t| t.refresh.clone());
        let renewed = match refresh {
            Some(r) => self.refresh(&r).await.ok(),
            None => None,
        };
        let next = match renewed {
            Some(t) => t,
            None => self.exchange(&id, &secret).await?,
        };
        let access = next.access.clone();
        *issued = Some(next);
        Ok(access)
    }

    /// Forgets the cached token (after the runner refused it), so the next call gets one.
    pub async fn forget_token(&self) {
        *self.issued.lock().await = None;
    }

    async fn exchange(&self, id: &str, secret: &Secret) -> Result<Issued, WaldiezError> {
        let req = self
            .http
            .post(self.url(&["auth", "token"])?)
            .form(&[("client_id", id), ("client_secret", secret.expose())]);
        let answer = send(req, MAX_BODY_BYTES)
            .await
            .map_err(|e| self.body_error(e))?;
        parse_issued(answer)
    }

    async fn refresh(&self, refresh: &Secret) -> Result<Issued, WaldiezError> {
        let req = self
            .http
            .post(self.url(&["auth", "token", "refresh"])?)
            .json(&serde_json::json!({ "refresh_token": refresh.expose() }));
        let answer = send(req, MAX_BODY_BYTES)
            .await
            .map_err(|e| self.body_error(e))?;
        parse_issued(answer)
    }

    /// Sends an authorised request, getting a new token once if the runner refuses it.
    async fn authorised(
        &self,
        max_body: usize,
        build: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, WaldiezError>,
    ) -> Result<Answer, WaldiezError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let req = build(&self.http)?.bearer_auth(token.expose());
            let answer = send(req, max_body).await.map_err(|e| self.body_error(e))?;
            let renewable = matches!(self.credentials, Some(Credentials::Client { .. }));
            if answer.status == 401 && renewable && attempt == 0 {
                self.forget_token().await;
                continue;
            }
            return Ok(answer);
        }
        Err(WaldiezError::BadResponse("unreachable retry".into()))
    }

    /// The task's status, input timeout and (once it is over) results.
    pub async fn task(&self, task_id: &str) -> Result<TaskInfo, WaldiezError> {
        let url = self.url(&["api", "v1", "tasks", task_id])?;
        let answer = self
            .authorised(MAX_TASK_BODY_BYTES, |http| Ok(http.get(url.clone())))
            .await?;
        match answer.status {
            200 => parse_task(&answer.body),
            status => Err(error_for(status, &answer.body, task_id)),
        }
    }

    /// The tasks that are not over (pending, running or waiting for input), as the
    /// runner lists them (`GET /api/v1/tasks?status=S&page=P&size=100`, one status at a
    /// time, as its filter takes one), in the runner's order. At most [`MAX_LISTED`]; a
    /// listed id that is not a plain word is left out.
    pub async fn unfinished_tasks(&self) -> Result<Vec<ListedTask>, WaldiezError> {
        let mut tasks: Vec<ListedTask> = Vec::new();
        for status in [
            TaskStatus::Pending,
            TaskStatus::Running,
            TaskStatus::WaitingForInput,
        ] {
            let mut page = 1;
            loop {
                let mut url = self.url(&["api", "v1", "tasks"])?;
                url.query_pairs_mut()
                    .append_pair("status", status.name())
                    .append_pair("page", &page.to_string())
                    .append_pair("size", &LIST_PAGE_SIZE.to_string());
                let answer = self
                    .authorised(MAX_LIST_BODY_BYTES, |http| Ok(http.get(url.clone())))
                    .await?;
                if answer.status != 200 {
                    return Err(error_for(answer.status, &answer.body, "(the task list)"));
                }
                let (listed, pages) = parse_task_page(&answer.body)?;
                for task in listed {
                    if tasks.len() < MAX_LISTED && !tasks.iter().any(|t| t.id == task.id) {
                        tasks.push(task);
                    }
                }
                if page >= pages.min(MAX_LIST_PAGES) || tasks.len() >= MAX_LISTED {
                    break;
                }
                page += 1;
            }
        }
        Ok(tasks)
    }

    /// Answers a prompt over REST (the fallback when the socket is down).
    pub async fn send_input(
        &self,
        task_id: &str,
        request_id: &str,
        answer: &Secret,
    ) -> Result<(), WaldiezError> {
        let url = self.url(&["api", "v1", "tasks", task_id, "input"])?;
        let body = serde_json::json!({ "request_id": request_id, "data": answer.expose() });
        let answer = self
            .authorised(MAX_BODY_BYTES, |http| {
                Ok(http.post(url.clone()).json(&body))
            })
            .await?;
        match answer.status {
            200..=299 => Ok(()),
            400 => Err(WaldiezError::NotWaiting {
                detail: error_detail(&answer.body),
            }),
            status => Err(error_for(status, &answer.body, task_id)),
        }
    }

    /// The task's log socket, with a fresh token placed as configured.
    pub async fn ws_target(&self, task_id: &str) -> Result<WsTarget, WaldiezError> {
        let token = self.token().await?;
        let mut url = self.url(&["ws", task_id])?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|_| WaldiezError::BadResponse("invalid base URL".into()))?;
        Ok(ws_target_with(url, &token, self.ws_auth))
    }

    /// After a 403 on the upgrade: which of the runner's reasons it was.
    pub async fn diagnose_refusal(&self, task_id: &str) -> WaldiezError {
        match self.task(task_id).await {
            Ok(info) if info.status.is_final() => WaldiezError::TaskFinished {
                status: info.status,
            },
            Ok(info) if info.status == TaskStatus::Pending => WaldiezError::TaskNotStarted {
                status: info.status,
            },
            Ok(_) => {
                // The REST API took the token, so the socket should have too, unless the
                // cached token just expired: forget it, and the retry gets a new one.
                self.forget_token().await;
                WaldiezError::TooManyViewers
            }
            Err(e) => e,
        }
    }
}

/// A WebSocket target for `url` carrying `token` as `auth` says.
pub fn ws_target_with(mut url: url::Url, token: &Secret, auth: WsAuth) -> WsTarget {
    let mut target = WsTarget {
        url: url.clone(),
        subprotocols: Vec::new(),
        headers: Vec::new(),
    };
    match auth {
        WsAuth::Subprotocol => {
            target.subprotocols = vec![Secret::new(AUDIENCE), token.clone()];
        }
        WsAuth::Bearer => target.headers.push((
            "authorization",
            Secret::new(format!("Bearer {}", token.expose())),
        )),
        WsAuth::Cookie => target.headers.push((
            "cookie",
            Secret::new(format!("access_token={}", token.expose())),
        )),
        WsAuth::Query => {
            url.query_pairs_mut()
                .append_pair("access_token", token.expose());
            target.url = url;
        }
    }
    target
}

/// How much before `at` a token is renewed: [`RENEW_MARGIN`], or a fifth of a short life.
fn lifetime_margin(now: SystemTime, at: SystemTime) -> Duration {
    at.duration_since(now).unwrap_or(Duration::ZERO) / 5
}

fn error_for(status: u16, body: &[u8], task_id: &str) -> WaldiezError {
    match status {
        401 | 403 => WaldiezError::Unauthorized {
            detail: error_detail(body),
        },
        404 => WaldiezError::TaskNotFound {
            task_id: task_id.chars().take(128).collect(),
        },
        _ => WaldiezError::Http {
            status,
            detail: error_detail(body),
        },
    }
}

fn parse_issued(answer: Answer) -> Result<Issued, WaldiezError> {
    match answer.status {
        200 => {}
        401 | 403 => {
            return Err(WaldiezError::Unauthorized {
                detail: error_detail(&answer.body),
            });
        }
        status => {
            return Err(WaldiezError::Http {
                status,
                detail: error_detail(&answer.body),
            });
        }
    }
    let body: TokenBody = serde_json::from_slice(&answer.body)
        .map_err(|e| WaldiezError::BadResponse(format!("token answer: {e}")))?;
    if body.access_token.is_empty() {
        return Err(WaldiezError::BadResponse(
            "token answer has an empty access_token".into(),
        ));
    }
    Ok(Issued {
        access: Secret::new(body.access_token),
        refresh: body
            .refresh_token
            .filter(|r| !r.is_empty())
            .map(Secret::new),
        expires_at: body.expires_at.as_deref().and_then(parse_time),
    })
}

/// The runner writes `expires_at` as Python's `datetime.isoformat()`: ISO 8601 with
/// microseconds, sometimes without a zone (then UTC).
fn parse_time(s: &str) -> Option<SystemTime> {
    Micros::from_text(s)?.system_time()
}

/// A JSON value as text: strings as they are, numbers written out.
fn as_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One page of the runner's task list (fastapi-pagination's `Page`): its tasks and how
/// many pages there are (`null` counts as this one).
fn parse_task_page(body: &[u8]) -> Result<(Vec<ListedTask>, u32), WaldiezError> {
    #[derive(Deserialize)]
    struct Page {
        items: Vec<serde_json::Value>,
        #[serde(default)]
        pages: Option<serde_json::Value>,
    }
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| WaldiezError::BadResponse(format!("task list: {e}")))?;
    let pages = page
        .pages
        .as_ref()
        .and_then(as_text)
        .and_then(|p| p.trim().parse::<u32>().ok())
        .unwrap_or(1);
    let tasks = page
        .items
        .iter()
        .filter_map(|item| {
            let id = item.get("id").and_then(as_text)?;
            let plain = !id.is_empty()
                && id.len() <= MAX_LISTED_ID
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            let status = TaskStatus::from_name(&item.get("status").and_then(as_text)?);
            plain.then_some(ListedTask { id, status })
        })
        .collect();
    Ok((tasks, pages))
}

fn parse_task(body: &[u8]) -> Result<TaskInfo, WaldiezError> {
    let t: TaskBody = serde_json::from_slice(body)
        .map_err(|e| WaldiezError::BadResponse(format!("task answer: {e}")))?;
    let status = as_text(&t.status)
        .map(|s| TaskStatus::from_name(&s))
        .ok_or_else(|| WaldiezError::BadResponse("task answer: status is not text".into()))?;
    let input_timeout_s = t
        .input_timeout
        .as_ref()
        .and_then(as_text)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| s.min(86_400.0) as u64)
        .unwrap_or(DEFAULT_INPUT_TIMEOUT_S);
    let input_request_id = t
        .input_request_id
        .as_ref()
        .and_then(as_text)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(256).collect());
    let results = Some(t.results).filter(|r| !r.is_null());
    Ok(TaskInfo {
        status,
        input_timeout_s,
        input_request_id,
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_list_page_gives_plain_ids_and_statuses() {
        let body = br#"{"items":[
            {"id":"a1b2","status":"RUNNING","results":null},
            {"id":"x/../y","status":"RUNNING"},
            {"id":7,"status":"PENDING"},
            {"status":"RUNNING"},
            {"id":"w","status":"WAITING_FOR_INPUT"}],"total":5,"page":1,"size":100,"pages":"3"}"#;
        let (tasks, pages) = parse_task_page(body).unwrap();
        assert_eq!(pages, 3);
        let got: Vec<(&str, TaskStatus)> = tasks
            .iter()
            .map(|t| (t.id.as_str(), t.status.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("a1b2", TaskStatus::Running),
                ("7", TaskStatus::Pending),
                ("w", TaskStatus::WaitingForInput)
            ]
        );
        let (_, pages) = parse_task_page(br#"{"items":[],"pages":null}"#).unwrap();
        assert_eq!(pages, 1);
        assert!(parse_task_page(br#"{"detail":"no"}"#).is_err());
        let long = format!(
            r#"{{"items":[{{"id":"{}","status":"RUNNING"}}]}}"#,
            "a".repeat(129)
        );
        assert!(parse_task_page(long.as_bytes()).unwrap().0.is_empty());
    }

    #[test]
    fn task_record_reads_loose_types() {
        let t = parse_task(br#"{"id":"t1","status":"WAITING_FOR_INPUT","input_timeout":"90","input_request_id":"r-1"}"#).unwrap();
        assert_eq!(t.status, TaskStatus::WaitingForInput);
        assert_eq!(t.input_timeout_s, 90);
        assert_eq!(t.input_request_id.as_deref(), Some("r-1"));
        assert_eq!(t.results, None);
        let t =
            parse_task(br#"{"status":"COMPLETED","input_timeout":null,"results":null}"#).unwrap();
        assert_eq!(t.status, TaskStatus::Completed);
        assert_eq!(t.input_timeout_s, DEFAULT_INPUT_TIMEOUT_S);
        assert_eq!(t.input_request_id, None);
        assert_eq!(t.results, None);
        let t = parse_task(br#"{"status":"COMPLETED","results":[{"summary":"done"}]}"#).unwrap();
        assert_eq!(t.results.unwrap()[0]["summary"], "done");
        assert!(matches!(
            parse_task(br#"{"status":[1]}"#),
            Err(WaldiezError::BadResponse(_))
        ));
        assert!(parse_task(b"not json").is_err());
    }

    #[test]
    fn token_answer_and_errors() {
        let ok = Answer {
            status: 200,
            retry_after: None,
            body: br#"{"access_token":"A","refresh_token":"R","token_type":"bearer","expires_at":"2030-01-01T00:00:00.123456+00:00"}"#.to_vec(),
        };
        let issued = parse_issued(ok).unwrap();
        assert_eq!(issued.access.expose(), "A");
        assert_eq!(issued.refresh.as_ref().map(Secret::expose), Some("R"));
        assert!(issued.expires_at.is_some());
        let naive = parse_time("2030-01-01T00:00:00.5").unwrap();
        assert!(naive > SystemTime::now());
        let refused = Answer {
            status: 401,
            retry_after: None,
            body: br#"{"detail":"Invalid credentials."}"#.to_vec(),
        };
        assert_eq!(
            parse_issued(refused).err(),
            Some(WaldiezError::Unauthorized {
                detail: "Invalid credentials.".into()
            })
        );
    }

    #[test]
    fn each_auth_places_the_token() {
        let url = url::Url::parse("ws://127.0.0.1:9/ws/t1").unwrap();
        let tok = Secret::new("tok-123");
        let t = ws_target_with(url.clone(), &tok, WsAuth::Subprotocol);
        assert_eq!(
            t.subprotocols
                .iter()
                .map(Secret::expose)
                .collect::<Vec<_>>(),
            ["tasks-api", "tok-123"]
        );
        assert_eq!(t.url, url);
        let t = ws_target_with(url.clone(), &tok, WsAuth::Bearer);
        assert_eq!(t.headers[0].0, "authorization");
        assert_eq!(t.headers[0].1.expose(), "Bearer tok-123");
        let t = ws_target_with(url.clone(), &tok, WsAuth::Cookie);
        assert_eq!(t.headers[0].1.expose(), "access_token=tok-123");
        let t = ws_target_with(url, &tok, WsAuth::Query);
        assert_eq!(t.url.query(), Some("access_token=tok-123"));
        let shown = format!("{t:?}");
        assert!(!shown.contains("tok-123"), "{shown}");
    }

    #[test]
    fn errors_say_what_to_do() {
        assert!(WaldiezError::TooManyViewers.is_retryable());
        assert!(
            !WaldiezError::TaskNotFound {
                task_id: "x".into()
            }
            .is_retryable()
        );
        assert!(
            WaldiezError::MissingCredentials
                .to_string()
                .contains("WALDIEZ_TOKEN")
        );
        assert_eq!(WsAuth::from_name("Cookie"), Some(WsAuth::Cookie));
        assert_eq!(WsAuth::from_name("smoke"), None);
    }
}
