//! The runner-socket session driver: a Waldiez Runner task (`waldiez:`, REST for the token
//! and status, PROVIDERS.md §4) or a runner socket at a fixed URL (`tasklog+ws://`),
//! feeding the session's [`LogSlot`](crate::core::log_slot::LogSlot).
//!
//! - **Resolving** (`waldiez:`): the task's REST record first. A task not yet started is
//!   waited for ("waiting for the task"); a finished one ends the view with its final
//!   status, after what its record holds ([`finish`]).
//! - **Connecting**: every refusal is an HTTP 403 on the upgrade. With REST at hand the
//!   task's status says which: unknown task, finished task, bad token, or (the task runs)
//!   too many viewers, which is retried.
//! - **Streaming**: each text message goes through the store, which drops replays by id and
//!   masks password answers. The runner never closes the socket when the task ends, so the
//!   status is polled over REST; a final status ends the session with the task's outcome.
//!   Without REST (`tasklog+ws://`) a final status message does the same.
//! - **The end** must not cut the log short. When REST says the task is over, everything it
//!   printed is already in the runner's stream, but the socket may not have delivered it
//!   yet: the runner's read loop sleeps 0.5 s after each 5 s read that found nothing, and
//!   holds new messages meanwhile. So the socket is read until it has been quiet for
//!   [`DRAIN_QUIET`] (twice that sleep), and then the task record's results add what the
//!   socket never delivered (its last messages, a failure's error), without duplicates.
//! - **Answering**: `{"type":"input_response","request_id","data"}` on the socket; when the
//!   socket is down, or the send fails, `POST /api/v1/tasks/{id}/input` ([`RestAnswers`]).
//!   An answer sent closes its prompt in the store at once ([`TaskLog::answer_sent`]): the
//!   real runner takes a socket answer only when its blocking read returns, so its echo may
//!   come ~5 s later.
//!
//! [`TaskLog::answer_sent`]: crate::core::source::tasklog::TaskLog::answer_sent

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::{MAX_MESSAGE_BYTES, Meta, Micros, StatusMessage, TaskMessage, TaskStatus};
use crate::core::error::CoreError;
use crate::core::event::{
    ErrorKind, InputAccess, LiveInfo, SessionError, SessionEvent, SessionState,
};
use crate::core::log_slot::LogSlot;
use crate::core::net::{self, NetError, WsStream};
use crate::core::provider::waldiez::{TaskInfo, WaldiezClient, WaldiezError, WsTarget};
use crate::core::redact::{self, Secret};
use crate::core::session::driver::{
    ConnEnd, Driver, DriverCommand, OfflineAnswers, Outlet, Resolve, Routed, Session, Stop,
};

/// How long the runner's socket must stay quiet, once its task is over, before the log
/// ends: twice the 0.5 s its read loop sleeps after a read that found nothing, during which
/// it holds what the task stores.
pub const DRAIN_QUIET: Duration = Duration::from_millis(1_000);
/// The longest the log waits for a finished task's last lines: one 5 s blocking read of the
/// runner's and its sleep after it, with room to spare.
pub const DRAIN_MAX: Duration = Duration::from_secs(6);

/// The operator-facing words for a task's end.
pub fn outcome_text(status: &TaskStatus) -> String {
    match status {
        TaskStatus::Completed => "The task completed".into(),
        TaskStatus::Failed => "The task failed".into(),
        TaskStatus::Cancelled => "The task was cancelled".into(),
        other => format!("The task is over ({other})"),
    }
}

/// The answer message the runner expects.
pub fn answer_message(request_id: &str, answer: &Secret) -> String {
    serde_json::json!({
        "type": "input_response",
        "request_id": request_id,
        "data": answer.expose(),
    })
    .to_string()
}

fn now_micros() -> Micros {
    let us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    Micros(i64::try_from(us).unwrap_or(i64::MAX))
}

/// Marks the log active, with whether answers can go out now.
pub(super) fn log_ready(out: &Outlet, prompts: bool, can_answer: bool) {
    out.log.update(|s| {
        s.active = true;
        s.can_answer = prompts && can_answer;
    });
}

/// A task-log stream is live: it has no picture, its "desktop" is the source.
pub(super) fn log_live(out: &Outlet, protocol: &str) -> SessionState {
    SessionState::Live(LiveInfo {
        width: 0,
        height: 0,
        desktop_name: out.label.clone(),
        protocol: protocol.to_string(),
        input: InputAccess::Allowed,
    })
}

/// Answers over the runner's REST API while its socket is down.
struct RestAnswers {
    client: WaldiezClient,
    task_id: String,
    log: Arc<LogSlot>,
}

impl OfflineAnswers for RestAnswers {
    fn send<'a>(
        &'a self,
        request_id: &'a str,
        answer: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), CoreError>> + Send + 'a>> {
        Box::pin(async move {
            self.client
                .send_input(&self.task_id, request_id, answer)
                .await
                .map_err(CoreError::from)?;
            self.log.update(|s| s.log.answer_sent(request_id, answer));
            Ok(())
        })
    }
}

/// The task's REST API, when the source has one.
#[derive(Clone)]
struct Rest {
    client: WaldiezClient,
    task_id: String,
}

enum Target {
    Waldiez { task_id: String },
    Url(url::Url),
}

/// Where the log is read: the runner's socket, and its REST API when at hand.
pub(crate) struct Endpoint {
    target: WsTarget,
    rest: Option<Rest>,
}

/// An open runner socket.
pub(crate) struct Connection {
    ws: WsStream,
    rest: Option<Rest>,
}

pub(crate) struct RunnerLogDriver {
    target: Target,
    waldiez: Option<WaldiezClient>,
}

impl RunnerLogDriver {
    pub fn waldiez(task_id: String) -> Self {
        Self {
            target: Target::Waldiez { task_id },
            waldiez: None,
        }
    }

    pub fn url(url: url::Url) -> Self {
        Self {
            target: Target::Url(url),
            waldiez: None,
        }
    }

    fn client(&mut self, out: &Outlet) -> Result<WaldiezClient, CoreError> {
        if let Some(c) = &self.waldiez {
            return Ok(c.clone());
        }
        let s = &out.config.settings.waldiez;
        let client =
            WaldiezClient::new(net::http_client()?, s.base_url(), s.credentials(), s.auth());
        self.waldiez = Some(client.clone());
        Ok(client)
    }

    /// Reads the task's REST record until it runs: waits while it is pending, ends the
    /// session when it is over.
    async fn wait_until_running(
        client: &WaldiezClient,
        task_id: &str,
        s: &mut Session,
    ) -> Result<(), Resolve> {
        loop {
            let info = client.task(task_id).await?;
            s.out.log.update(|l| {
                l.input_timeout_s = Some(info.input_timeout_s);
            });
            // REST is there, so answers can go out even before the socket is up.
            log_ready(&s.out, true, !info.status.is_final());
            if info.status.is_final() {
                return Err(Resolve::Stop(finish(&s.out, info, task_id)));
            }
            if info.status != TaskStatus::Pending {
                return Ok(());
            }
            let status = info.status.name().to_ascii_lowercase();
            s.out
                .set_state(SessionState::WaitingForTask { status })
                .await;
            if let Some(stop) = s.commands.sleep(s.out.config.status_poll_ms).await {
                return Err(Resolve::Stop(stop));
            }
        }
    }
}

impl Driver for RunnerLogDriver {
    type Endpoint = Endpoint;
    type Connection = Connection;
    const PROMPTS: bool = true;

    async fn resolve(&mut self, s: &mut Session, _had_live: bool) -> Result<Endpoint, Resolve> {
        let task_id = match &self.target {
            Target::Url(url) => {
                log_ready(&s.out, true, false);
                let target = WsTarget {
                    url: url.clone(),
                    subprotocols: Vec::new(),
                    headers: Vec::new(),
                };
                return Ok(Endpoint { target, rest: None });
            }
            Target::Waldiez { task_id } => task_id.clone(),
        };
        let client = self.client(&s.out)?;
        s.commands.offline = Some(Arc::new(RestAnswers {
            client: client.clone(),
            task_id: task_id.clone(),
            log: s.out.log.clone(),
        }));
        Self::wait_until_running(&client, &task_id, s).await?;
        let target = client.ws_target(&task_id).await?;
        Ok(Endpoint {
            target,
            rest: Some(Rest { client, task_id }),
        })
    }

    async fn connect(&mut self, endpoint: Endpoint, out: &Outlet) -> Result<Connection, ConnEnd> {
        let Endpoint { target, rest } = endpoint;
        let protocols: Vec<&str> = target.subprotocols.iter().map(Secret::expose).collect();
        let headers: Vec<(&str, &str)> = target
            .headers
            .iter()
            .map(|(k, v)| (*k, v.expose()))
            .collect();
        match net::connect_ws_with(&target.url, &protocols, &headers).await {
            Ok(ws) => Ok(Connection { ws, rest }),
            Err(NetError::UpgradeRefused { status: 403, .. }) => Err(match &rest {
                Some(r) => refused(r.client.diagnose_refusal(&r.task_id).await, r, out).await,
                None => ConnEnd::Over(Stop::Failed(SessionError::new(
                    ErrorKind::Unauthorized,
                    false,
                    "The runner refused the connection (403): a bad token, an unknown or finished task, or too many viewers",
                ))),
            }),
            Err(e) => Err(ConnEnd::failed(e)),
        }
    }

    async fn run(&mut self, connection: Connection, s: &mut Session) -> ConnEnd {
        let Connection { mut ws, rest } = connection;
        log_ready(&s.out, true, true);
        s.out.set_state(log_live(&s.out, "Waldiez Runner")).await;
        // The socket never says the task ended: ask its status over REST.
        let poll_every = Duration::from_millis(s.out.config.status_poll_ms.max(50));
        let mut poll =
            tokio::time::interval_at(tokio::time::Instant::now() + poll_every, poll_every);
        let end = loop {
            let step = tokio::select! {
                msg = ws.next() => match on_message(msg, rest.is_none(), &s.out) {
                    // A final status without REST: the last lines may follow it.
                    Some(ConnEnd::Over(stop)) => {
                        drain(&mut ws, &s.out).await;
                        Some(ConnEnd::Over(stop))
                    }
                    other => other,
                },
                _ = poll.tick(), if rest.is_some() => match &rest {
                    Some(rest) => poll_status(rest, &mut ws, &s.out).await,
                    None => None,
                },
                routed = s.commands.next() => match routed {
                    Routed::End(ConnEnd::Stop) => {
                        let _ = ws.close(None).await;
                        return ConnEnd::Stop;
                    }
                    Routed::End(end) => return end,
                    Routed::Command(DriverCommand::Answer { request_id, answer }) => {
                        answer_on_socket(&mut ws, request_id, answer, s).await
                    }
                    Routed::Command(_) => None,
                },
            };
            if let Some(end) = step {
                break end;
            }
        };
        // Answers can still go over REST while the socket is down.
        log_ready(&s.out, true, rest.is_some());
        end
    }
}

/// Adds a text message from the runner's socket to the log; returns the log's status.
fn runner_text(text: &str, out: &Outlet) -> Option<TaskStatus> {
    out.stats.add_bytes(text.len());
    out.stats.add_update(1);
    let status = out.log.update(|s| {
        s.log.push_text(text);
        s.log.status().cloned()
    });
    out.wake();
    status
}

/// One message from the socket; `Some` when the connection is over.
fn on_message(
    msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    no_rest: bool,
    out: &Outlet,
) -> Option<ConnEnd> {
    let dropped = |error: NetError| {
        Some(ConnEnd::Dropped {
            was_live: true,
            error: error.into(),
        })
    };
    match msg {
        Some(Ok(Message::Text(text))) => {
            let status = runner_text(text.as_str(), out);
            match status.filter(TaskStatus::is_final) {
                Some(status) if no_rest => Some(ConnEnd::Over(over(&status))),
                _ => None,
            }
        }
        Some(Ok(Message::Binary(data))) => {
            out.stats.add_bytes(data.len());
            out.stats.add_skipped();
            let why = format!("a binary message of {} bytes was ignored", data.len());
            out.log.update(|s| s.log.push_error(&why));
            out.wake();
            None
        }
        Some(Ok(Message::Close(frame))) => {
            let reason = frame.map(|f| format!("{} {}", u16::from(f.code), redact::url(&f.reason)));
            dropped(NetError::Closed(reason))
        }
        Some(Ok(_)) => None,
        Some(Err(e)) => dropped(NetError::WebSocket(redact::url(&e.to_string()))),
        None => dropped(NetError::Closed(None)),
    }
}

/// Asks REST whether the task is over; if it is, reads the socket's last lines, adds what
/// the record holds beyond them, and ends.
async fn poll_status(rest: &Rest, ws: &mut WsStream, out: &Outlet) -> Option<ConnEnd> {
    match rest.client.task(&rest.task_id).await {
        Ok(info) if info.status.is_final() => {
            // The task's last lines may still be on their way.
            drain(ws, out).await;
            Some(ConnEnd::Over(finish(out, info, &rest.task_id)))
        }
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(source = %out.label, "status poll failed: {e}");
            None
        }
    }
}

/// Sends an answer on the socket; if that fails, over REST, and the connection is over.
async fn answer_on_socket(
    ws: &mut WsStream,
    request_id: String,
    answer: Secret,
    s: &mut Session,
) -> Option<ConnEnd> {
    let text = answer_message(&request_id, &answer);
    if text.len() > MAX_MESSAGE_BYTES {
        let message = format!("The answer is over {MAX_MESSAGE_BYTES} bytes");
        s.out
            .emit(SessionEvent::AnswerFailed {
                request_id,
                message,
            })
            .await;
        return None;
    }
    match ws.send(Message::text(text)).await {
        Ok(()) => {
            s.out
                .log
                .update(|l| l.log.answer_sent(&request_id, &answer));
            s.out.wake();
            let sent = SessionEvent::AnswerSent {
                request_id,
                rest: false,
            };
            s.out.emit(sent).await;
            None
        }
        Err(e) => {
            let event = s.commands.answer_offline(request_id, &answer).await;
            s.out.emit(event).await;
            Some(ConnEnd::Dropped {
                was_live: true,
                error: NetError::WebSocket(redact::url(&e.to_string())).into(),
            })
        }
    }
}

/// Reads what the runner's socket still holds once REST says the task is over, so its
/// last lines are not lost: until the socket is quiet for [`DRAIN_QUIET`], closes, or
/// [`DRAIN_MAX`] has passed.
async fn drain(ws: &mut WsStream, out: &Outlet) {
    let deadline = tokio::time::Instant::now() + DRAIN_MAX;
    loop {
        let quiet = tokio::time::Instant::now() + DRAIN_QUIET;
        match tokio::time::timeout_at(quiet.min(deadline), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                runner_text(text.as_str(), out);
            }
            Ok(Some(Ok(
                Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_),
            ))) => {}
            _ => return,
        }
    }
}

/// A finished task's end: what its record holds that the log lacks ([`TaskLog::push_results`]),
/// its status, and the words the session ends with.
///
/// [`TaskLog::push_results`]: crate::core::source::tasklog::TaskLog::push_results
fn finish(out: &Outlet, info: TaskInfo, task_id: &str) -> Stop {
    if let Some(results) = &info.results {
        let added = out.log.update(|s| s.log.push_results(results));
        if added > 0 {
            tracing::debug!(source = %out.label, added, "lines taken from the task's results");
        }
    }
    let stop = over(&info.status);
    note_status(out, info.status, task_id);
    stop
}

/// How a session ends on a final status: the task failed, or it is over.
fn over(status: &TaskStatus) -> Stop {
    let reason = outcome_text(status);
    if *status == TaskStatus::Failed {
        Stop::TaskFailed(reason)
    } else {
        Stop::Ended(reason)
    }
}

/// Records a status learnt over REST as a log line (when it changed).
fn note_status(out: &Outlet, status: TaskStatus, task_id: &str) {
    let changed = out.log.lock().log.status() != Some(&status);
    if changed {
        let msg = TaskMessage::Status(StatusMessage {
            meta: Meta {
                id: None,
                timestamp: Some(now_micros()),
                task_id: Some(task_id.to_string()),
            },
            status,
            input_request_id: None,
        });
        out.log.update(|s| s.log.push(msg));
        out.wake();
    }
}

/// Turns the runner's 403 into an end or a retry. A task that finished while we were away
/// still gets what its record holds.
async fn refused(why: WaldiezError, rest: &Rest, out: &Outlet) -> ConnEnd {
    match why {
        WaldiezError::TaskFinished { status } => {
            let info = match rest.client.task(&rest.task_id).await {
                Ok(info) if info.status.is_final() => info,
                _ => TaskInfo {
                    status,
                    input_timeout_s: 0,
                    input_request_id: None,
                    results: None,
                },
            };
            ConnEnd::Over(finish(out, info, &rest.task_id))
        }
        e if e.is_retryable() => ConnEnd::failed(e),
        e => ConnEnd::Over(Stop::failed(&CoreError::from(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_message_is_what_the_runner_reads() {
        let text = answer_message("r-1", &Secret::new("hunter2 \"quoted\""));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "input_response");
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["data"], "hunter2 \"quoted\"");
    }

    #[test]
    fn outcomes_read_plainly() {
        assert_eq!(outcome_text(&TaskStatus::Completed), "The task completed");
        assert_eq!(outcome_text(&TaskStatus::Failed), "The task failed");
        assert_eq!(
            outcome_text(&TaskStatus::Cancelled),
            "The task was cancelled"
        );
    }
}
