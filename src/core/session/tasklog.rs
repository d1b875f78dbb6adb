//! Task-log sessions: a Waldiez Runner socket (`waldiez:`, `tasklog+ws://`) or an
//! AgentStation SSE log stream (`agentstation:`), feeding the session's
//! [`LogSlot`](crate::core::log_slot::LogSlot).
//!
//! - **Resolving** (`waldiez:`): the task's REST record first. A task not yet started is
//!   waited for ("waiting for the task"); a finished one ends the view with its final
//!   status, since the runner streams only running tasks.
//! - **Connecting**: every refusal is an HTTP 403 on the upgrade. With REST at hand the
//!   task's status says which: unknown task, finished task, bad token, or (the task runs)
//!   too many viewers, which is retried.
//! - **Streaming**: each text message goes through the store, which drops replays by id and
//!   masks password answers. The runner never closes the socket when the task ends, so the
//!   status is polled over REST; a final status ends the session with the task's outcome.
//!   Without REST (`tasklog+ws://`) a final status message does the same.
//! - **Answering**: `{"type":"input_response","request_id","data"}` on the socket; when the
//!   socket is down, or the send fails, `POST /api/v1/tasks/{id}/input`. The prompt closes
//!   when the runner echoes the answer (ours or anyone's).
//! - **SSE**: events become log lines with levels; a reconnect sends `Last-Event-ID` and
//!   resolves a fresh stream URL first.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::{ConnEnd, Resolve, Runner, Stop, wait_stop_or_retry};
use crate::core::error::CoreError;
use crate::core::event::{Command, InputAccess, LiveInfo, SessionEvent, SessionState};
use crate::core::net::{self, NetError};
use crate::core::provider::agentstation::{AgentStationClient, AgentStationError};
use crate::core::provider::waldiez::{WaldiezClient, WaldiezError, WsTarget};
use crate::core::redact::{self, Secret};
use crate::core::source::SourceSpec;
use crate::core::source::tasklog::{
    MAX_MESSAGE_BYTES, Meta, Micros, SseParser, StatusMessage, TaskMessage, TaskStatus,
    parse_log_entry,
};

/// How long the runner's socket must stay quiet, once its task is over, before the log ends.
const DRAIN_QUIET: Duration = Duration::from_millis(300);
/// The longest the log waits for a finished task's last lines.
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// Where a task log is read from.
pub(super) enum LogEndpoint {
    /// The runner's socket; `task_id` when its REST API is at hand.
    Runner {
        target: WsTarget,
        task_id: Option<String>,
    },
    /// An SSE stream.
    Sse { url: url::Url },
}

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

impl Runner {
    pub(super) fn waldiez(&mut self) -> Result<WaldiezClient, CoreError> {
        if let Some(c) = &self.waldiez {
            return Ok(c.clone());
        }
        let s = &self.config.settings;
        let client = WaldiezClient::new(
            net::http_client()?,
            s.waldiez.base_url(),
            s.waldiez.credentials(),
            s.waldiez.auth(),
        );
        self.waldiez = Some(client.clone());
        Ok(client)
    }

    pub(super) fn agentstation(&mut self) -> Result<AgentStationClient, CoreError> {
        if let Some(c) = &self.agentstation {
            return Ok(c.clone());
        }
        let s = &self.config.settings;
        let client = AgentStationClient::new(
            net::streaming_http_client()?,
            s.agentstation.base_url(),
            s.agentstation.token.clone(),
        );
        self.agentstation = Some(client.clone());
        Ok(client)
    }

    /// Marks the log active, with whether answers can go out now.
    fn log_ready(&self, can_answer: bool) {
        let prompts = self.source.has_prompts();
        self.peer.log.update(|s| {
            s.active = true;
            s.can_answer = prompts && can_answer;
        });
    }

    /// Adds a text message from the runner's socket to the log; returns the log's status.
    fn runner_text(&self, text: &str) -> Option<TaskStatus> {
        self.peer.stats.add_bytes(text.len());
        self.peer.stats.add_update(1);
        let status = self.peer.log.update(|s| {
            s.log.push_text(text);
            s.log.status().cloned()
        });
        (self.peer.waker)();
        status
    }

    /// Reads what the runner's socket still holds once REST says the task is over, so its
    /// last lines are not lost: until the socket is quiet for [`DRAIN_QUIET`], closes, or
    /// [`DRAIN_MAX`] has passed.
    async fn drain_runner(&self, ws: &mut net::WsStream) {
        let deadline = tokio::time::Instant::now() + DRAIN_MAX;
        loop {
            let quiet = tokio::time::Instant::now() + DRAIN_QUIET;
            match tokio::time::timeout_at(quiet.min(deadline), ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.runner_text(text.as_str());
                }
                Ok(Some(Ok(
                    Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_),
                ))) => {}
                _ => return,
            }
        }
    }

    /// Records a status learnt over REST as a log line (when it changed) and returns it.
    fn note_status(&self, status: TaskStatus, input_request_id: Option<String>, task_id: &str) {
        let changed = self.peer.log.lock().log.status() != Some(&status);
        if changed {
            let msg = TaskMessage::Status(StatusMessage {
                meta: Meta {
                    id: None,
                    timestamp: Some(now_micros()),
                    task_id: Some(task_id.to_string()),
                },
                status,
                input_request_id,
            });
            self.peer.log.update(|s| s.log.push(msg));
            (self.peer.waker)();
        }
    }

    /// Resolves a task-log source to where its log is read.
    pub(super) async fn resolve_log(&mut self) -> Result<LogEndpoint, Resolve> {
        match self.source.clone() {
            SourceSpec::TaskLog { url } => {
                self.log_ready(false);
                Ok(LogEndpoint::Runner {
                    target: WsTarget {
                        url,
                        subprotocols: Vec::new(),
                        headers: Vec::new(),
                    },
                    task_id: None,
                })
            }
            SourceSpec::AgentStationLog { workstation_id } => {
                self.log_ready(false);
                let client = self.agentstation().map_err(Resolve::Error)?;
                let url = client
                    .log_stream_url(&workstation_id)
                    .await
                    .map_err(|e| Resolve::Error(e.into()))?;
                Ok(LogEndpoint::Sse { url })
            }
            SourceSpec::Waldiez { task_id } => {
                let client = self.waldiez().map_err(Resolve::Error)?;
                loop {
                    let info = client
                        .task(&task_id)
                        .await
                        .map_err(|e| Resolve::Error(e.into()))?;
                    self.peer.log.update(|s| {
                        s.input_timeout_s = Some(info.input_timeout_s);
                    });
                    // REST is there, so answers can go out even before the socket is up.
                    self.log_ready(!info.status.is_final());
                    if info.status.is_final() {
                        let reason = outcome_text(&info.status);
                        self.note_status(info.status, None, &task_id);
                        return Err(Resolve::Stop(Stop::Ended(reason)));
                    }
                    if info.status != TaskStatus::Pending {
                        break;
                    }
                    self.emit(SessionEvent::State(SessionState::WaitingForTask {
                        status: info.status.name().to_ascii_lowercase(),
                    }))
                    .await;
                    if let Some(stop) = self.sleep(self.config.status_poll_ms).await {
                        return Err(Resolve::Stop(stop));
                    }
                }
                let target = client
                    .ws_target(&task_id)
                    .await
                    .map_err(|e| Resolve::Error(e.into()))?;
                Ok(LogEndpoint::Runner {
                    target,
                    task_id: Some(task_id),
                })
            }
            other => Err(Resolve::Error(CoreError::Net(NetError::Connect {
                target: other.label(),
                reason: "not a task-log source".into(),
            }))),
        }
    }

    pub(super) async fn run_log(&mut self, endpoint: LogEndpoint) -> ConnEnd {
        match endpoint {
            LogEndpoint::Runner { target, task_id } => self.run_runner(target, task_id).await,
            LogEndpoint::Sse { url } => self.run_sse(url).await,
        }
    }

    fn live_info(&self, protocol: &str) -> LiveInfo {
        LiveInfo {
            width: 0,
            height: 0,
            desktop_name: self.source.label(),
            protocol: protocol.to_string(),
            input: InputAccess::Allowed,
        }
    }

    /// Answers without the socket: over REST when the task has it, else says it cannot.
    pub(super) async fn answer_without_socket(&mut self, request_id: String, answer: Secret) {
        let rest = match (&self.source, self.waldiez.clone()) {
            (SourceSpec::Waldiez { task_id }, Some(client)) => Some((task_id.clone(), client)),
            _ => None,
        };
        let event = match rest {
            Some((task_id, client)) => {
                match client.send_input(&task_id, &request_id, &answer).await {
                    Ok(()) => SessionEvent::AnswerSent {
                        request_id,
                        rest: true,
                    },
                    Err(e) => SessionEvent::AnswerFailed {
                        request_id,
                        message: CoreError::from(e).user_message(),
                    },
                }
            }
            None if self.source.has_prompts() => SessionEvent::AnswerFailed {
                request_id,
                message: "Not connected to the task; try again when it is live".into(),
            },
            None => SessionEvent::AnswerFailed {
                request_id,
                message: "this source asks no questions".into(),
            },
        };
        self.emit(event).await;
    }

    async fn run_runner(&mut self, target: WsTarget, task_id: Option<String>) -> ConnEnd {
        let protocols: Vec<&str> = target.subprotocols.iter().map(Secret::expose).collect();
        let headers: Vec<(&str, &str)> = target
            .headers
            .iter()
            .map(|(k, v)| (*k, v.expose()))
            .collect();
        let ws = tokio::select! {
            ws = net::connect_ws_with(&target.url, &protocols, &headers) => ws,
            cmd = wait_stop_or_retry(&mut self.peer.commands, &self.peer.events) => return cmd,
        };
        let rest = match (&task_id, &self.waldiez) {
            (Some(id), Some(client)) => Some((id.clone(), client.clone())),
            _ => None,
        };
        let mut ws = match ws {
            Ok(ws) => ws,
            Err(NetError::UpgradeRefused { status: 403, .. }) => {
                return match &rest {
                    Some((id, client)) => self.refused(client.diagnose_refusal(id).await, id),
                    None => ConnEnd::Over(Stop::Failed(
                        "The runner refused the connection (403): a bad token, an unknown or finished task, or too many viewers".into(),
                    )),
                };
            }
            Err(e) => {
                return ConnEnd::Dropped {
                    was_live: false,
                    error: e.into(),
                };
            }
        };
        self.log_ready(true);
        let info = self.live_info("Waldiez Runner");
        self.emit(SessionEvent::State(SessionState::Live(info)))
            .await;
        // The socket never says the task ended: ask its status over REST.
        let poll_every = Duration::from_millis(self.config.status_poll_ms.max(50));
        let mut poll =
            tokio::time::interval_at(tokio::time::Instant::now() + poll_every, poll_every);
        let end = loop {
            tokio::select! {
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(text))) => {
                        let status = self.runner_text(text.as_str());
                        if rest.is_none() && let Some(status) = status.filter(TaskStatus::is_final) {
                            break ConnEnd::Over(Stop::Ended(outcome_text(&status)));
                        }
                    }
                    Some(Ok(Message::Binary(data))) => {
                        self.peer.stats.add_bytes(data.len());
                        self.peer.stats.add_skipped();
                        let why = format!("a binary message of {} bytes was ignored", data.len());
                        self.peer.log.update(|s| s.log.push_error(&why));
                        (self.peer.waker)();
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let reason = frame.map(|f| format!("{} {}", u16::from(f.code), redact::url(&f.reason)));
                        break ConnEnd::Dropped { was_live: true, error: NetError::Closed(reason).into() };
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        break ConnEnd::Dropped {
                            was_live: true,
                            error: NetError::WebSocket(redact::url(&e.to_string())).into(),
                        };
                    }
                    None => break ConnEnd::Dropped { was_live: true, error: NetError::Closed(None).into() },
                },
                _ = poll.tick(), if rest.is_some() => {
                    if let Some((id, client)) = &rest {
                        match client.task(id).await {
                            Ok(info) if info.status.is_final() => {
                                // The task's last lines may still be on their way.
                                self.drain_runner(&mut ws).await;
                                let reason = outcome_text(&info.status);
                                self.note_status(info.status, None, id);
                                break ConnEnd::Over(Stop::Ended(reason));
                            }
                            Ok(_) => {}
                            Err(e) => tracing::debug!(source = %self.source, "status poll failed: {e}"),
                        }
                    }
                }
                cmd = self.peer.commands.recv() => match cmd {
                    Some(Command::Stop) | None => {
                        let _ = ws.close(None).await;
                        return ConnEnd::Stop;
                    }
                    Some(Command::Retry) => return ConnEnd::RetryNow,
                    Some(Command::JumpToLive) => {}
                    Some(Command::Answer { request_id, answer }) => {
                        let text = answer_message(&request_id, &answer);
                        if text.len() > MAX_MESSAGE_BYTES {
                            self.emit(SessionEvent::AnswerFailed {
                                request_id,
                                message: format!("The answer is over {MAX_MESSAGE_BYTES} bytes"),
                            }).await;
                            continue;
                        }
                        match ws.send(Message::text(text)).await {
                            Ok(()) => self.emit(SessionEvent::AnswerSent { request_id, rest: false }).await,
                            Err(e) => {
                                self.answer_without_socket(request_id, answer).await;
                                break ConnEnd::Dropped {
                                    was_live: true,
                                    error: NetError::WebSocket(redact::url(&e.to_string())).into(),
                                };
                            }
                        }
                    }
                    Some(Command::Input(_) | Command::PasteText(_) | Command::Refresh) => {}
                },
            }
        };
        // Answers can still go over REST while the socket is down.
        self.log_ready(rest.is_some());
        end
    }

    /// Turns the runner's 403 into an end or a retry.
    fn refused(&self, why: WaldiezError, task_id: &str) -> ConnEnd {
        match why {
            WaldiezError::TaskFinished { status } => {
                let reason = outcome_text(&status);
                self.note_status(status, None, task_id);
                ConnEnd::Over(Stop::Ended(reason))
            }
            e if e.is_retryable() => ConnEnd::Dropped {
                was_live: false,
                error: e.into(),
            },
            e => ConnEnd::Over(Stop::Failed(CoreError::from(e).user_message())),
        }
    }

    async fn run_sse(&mut self, url: url::Url) -> ConnEnd {
        let http = match self.agentstation() {
            Ok(c) => c.http().clone(),
            Err(error) => {
                return ConnEnd::Dropped {
                    was_live: false,
                    error,
                };
            }
        };
        let mut req = http
            .get(url)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = &self.sse_last_event_id {
            req = req.header("Last-Event-ID", id.as_str());
        }
        let resp = tokio::select! {
            resp = req.send() => resp,
            cmd = wait_stop_or_retry(&mut self.peer.commands, &self.peer.events) => return cmd,
        };
        let mut resp = match resp {
            Ok(r) => r,
            Err(e) => {
                return ConnEnd::Dropped {
                    was_live: false,
                    error: NetError::Connect {
                        target: "the log stream".into(),
                        reason: redact::url(&e.without_url().to_string()),
                    }
                    .into(),
                };
            }
        };
        let status = resp.status().as_u16();
        if status != 200 {
            // 404/410: the stream URL expired; the next attempt asks for a fresh one.
            return ConnEnd::Dropped {
                was_live: false,
                error: AgentStationError::Http {
                    status,
                    detail: "the log stream URL answered with an error".into(),
                }
                .into(),
            };
        }
        let info = self.live_info("AgentStation log");
        self.emit(SessionEvent::State(SessionState::Live(info)))
            .await;
        let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
        loop {
            tokio::select! {
                chunk = resp.chunk() => match chunk {
                    Ok(Some(bytes)) => {
                        self.peer.stats.add_bytes(bytes.len());
                        let events = parser.feed(&bytes);
                        if events.is_empty() {
                            continue;
                        }
                        self.peer.log.update(|s| {
                            for event in events {
                                match event {
                                    Ok(ev) if ev.data.is_empty() => {}
                                    Ok(ev) => s.log.push_log_entry(parse_log_entry(&ev.data)),
                                    Err(e) => s.log.push_error(&e.to_string()),
                                }
                            }
                        });
                        self.peer.stats.add_update(1);
                        self.sse_last_event_id = parser.last_event_id().map(str::to_string);
                        (self.peer.waker)();
                    }
                    Ok(None) => {
                        return ConnEnd::Dropped {
                            was_live: true,
                            error: NetError::Closed(Some("the log stream ended".into())).into(),
                        };
                    }
                    Err(e) => {
                        return ConnEnd::Dropped {
                            was_live: true,
                            error: NetError::Closed(Some(redact::url(&e.without_url().to_string()))).into(),
                        };
                    }
                },
                cmd = self.peer.commands.recv() => match cmd {
                    Some(Command::Stop) | None => return ConnEnd::Stop,
                    Some(Command::Retry) => return ConnEnd::RetryNow,
                    Some(Command::Answer { request_id, .. }) => self.refuse_answer(request_id).await,
                    Some(_) => {}
                },
            }
        }
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
