//! One Waldiez task socket (`GET /ws/{task_id}`, upgraded in `routes::waldiez`): where the
//! access token may come from, and a viewer's life: one `status` message, the last 50
//! stored messages (after the task's `replay_delay_ms`: until then the status may name a
//! request the viewer has not seen), live ones; client text `{"request_id","data"}`
//! (strings; `type` is not looked at) answers the pending prompt, a wrong or stale request
//! id is ignored, and any other text gets `{"error":"Invalid input payload"}` back (the
//! runner closes on non-JSON text; the simulator answers it the same as a bad payload). The
//! socket stays open when the task ends.
//!
//! Timing follows the runner's socket handler ([`ReadLoop`]): an answer waits for the
//! current blocking read to return (up to `waldiez_echo_delay_ms`), and while the loop
//! sleeps after an empty read, live messages wait. While an answer waits, the client's next
//! messages wait unread (the runner reads the next one only once it has published this one).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use axum::http::{HeaderMap, header};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::read_loop::ReadLoop;
use super::runner::bearer;
use super::tasks::{Viewer, WaldiezTasks};
use crate::core::provider::waldiez::AUDIENCE;

/// Where a socket's token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenSource {
    Query,
    Cookie,
    Header,
    Subprotocol,
}

/// The socket's token, looked for in the runner's order; the first place that has one
/// decides (a bad token there is not rescued by a good one elsewhere).
pub(crate) fn socket_token<'a>(
    query: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
) -> Option<(&'a str, TokenSource)> {
    if let Some(t) = query.get("access_token").filter(|t| !t.is_empty()) {
        return Some((t, TokenSource::Query));
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "access_token")
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty());
    if let Some(t) = cookie {
        return Some((t, TokenSource::Cookie));
    }
    if let Some(t) = bearer(headers) {
        return Some((t, TokenSource::Header));
    }
    let protocols = headers.get(header::SEC_WEBSOCKET_PROTOCOL)?.to_str().ok()?;
    let (first, token) = protocols.split_once(',')?;
    let token = token.trim();
    let two = !token.contains(',');
    (two && first.eq_ignore_ascii_case(AUDIENCE) && !token.is_empty())
        .then_some((token, TokenSource::Subprotocol))
}

/// What a task socket watches besides its viewer feed.
pub(crate) struct SocketContext {
    pub tasks: Arc<WaldiezTasks>,
    pub task_id: String,
    pub dropped: watch::Receiver<u64>,
    pub shutdown: watch::Receiver<bool>,
    /// The longest blocking read of the runner's socket handler (its 5 s).
    pub read_block: Duration,
}

/// A client's answer, until the runner's read loop lets it through.
struct Held {
    request_id: String,
    data: String,
}

/// The reply to a client message that is not an answer.
fn invalid_payload() -> Utf8Bytes {
    Utf8Bytes::from_static(r#"{"error":"Invalid input payload"}"#)
}

impl SocketContext {
    /// Reads one client text message: an answer to take, or what to send back.
    fn on_text(text: &str) -> Result<Held, Utf8Bytes> {
        let Ok(Value::Object(msg)) = serde_json::from_str::<Value>(text) else {
            return Err(invalid_payload());
        };
        match (msg.get("request_id"), msg.get("data")) {
            (Some(Value::String(request_id)), Some(Value::String(data))) => Ok(Held {
                request_id: request_id.clone(),
                data: data.clone(),
            }),
            _ => Err(invalid_payload()),
        }
    }

    /// The answer reaches the task (like the runner's worker, an answer to another prompt is
    /// dropped, unanswered).
    fn publish(&self, held: Held) {
        if let Err(why) = self
            .tasks
            .answer(&self.task_id, &held.request_id, &held.data)
        {
            tracing::debug!(task = %self.task_id, "ignored a socket answer: {why}");
        }
    }
}

/// One viewer: status, replay, then live messages and answers until either side goes.
pub(crate) async fn serve_viewer(mut socket: WebSocket, viewer: Viewer, mut ctx: SocketContext) {
    let Viewer {
        status,
        history,
        replay_delay,
        mut live,
        guard: _guard,
    } = viewer;
    if socket.send(Message::Text(status)).await.is_err() {
        return;
    }
    if !replay_delay.is_zero() {
        tokio::time::sleep(replay_delay).await;
    }
    for text in history {
        if socket.send(Message::Text(text)).await.is_err() {
            return;
        }
    }
    let mut reads = ReadLoop::new(ctx.read_block, tokio::time::Instant::now());
    let mut held: Option<Held> = None;
    loop {
        let change = reads.next_change();
        tokio::select! {
            next = live.recv(), if reads.messages_pass() => match next {
                Ok(text) => {
                    // The read returned with a message: a held answer goes, a new read starts.
                    reads.message_read(tokio::time::Instant::now());
                    if let Some(h) = held.take() {
                        ctx.publish(h);
                    }
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(task = %ctx.task_id, missed, "a slow viewer missed messages");
                }
                // The task was replaced: its sockets go.
                Err(RecvError::Closed) => return,
            },
            _ = sleep_until(change), if change.is_some() => {
                if reads.advance(tokio::time::Instant::now())
                    && let Some(h) = held.take()
                {
                    ctx.publish(h);
                }
            }
            incoming = socket.recv(), if held.is_none() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(text))) => match SocketContext::on_text(text.as_str()) {
                    Ok(answer) if reads.answers_pass() => ctx.publish(answer),
                    Ok(answer) => held = Some(answer),
                    Err(reply) => {
                        if socket.send(Message::Text(reply)).await.is_err() {
                            return;
                        }
                    }
                },
                Some(Ok(_)) => {}
            },
            _ = ctx.dropped.changed() => return,
            _ = ctx.shutdown.changed() => return,
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn socket_tokens_are_looked_for_in_the_runner_order() {
        let mut q = HashMap::new();
        let all = headers(&[
            (header::COOKIE, "a=b; access_token=C"),
            (header::AUTHORIZATION, "Bearer H"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P"),
        ]);
        q.insert("access_token".to_string(), "Q".to_string());
        assert_eq!(socket_token(&q, &all), Some(("Q", TokenSource::Query)));
        q.clear();
        assert_eq!(socket_token(&q, &all), Some(("C", TokenSource::Cookie)));
        let h = headers(&[
            (header::AUTHORIZATION, "bearer H"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P"),
        ]);
        assert_eq!(socket_token(&q, &h), Some(("H", TokenSource::Header)));
        let h = headers(&[(header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P")]);
        assert_eq!(socket_token(&q, &h), Some(("P", TokenSource::Subprotocol)));
    }

    #[test]
    fn malformed_token_carriers_are_not_tokens() {
        let q = HashMap::new();
        for (name, value) in [
            (header::SEC_WEBSOCKET_PROTOCOL, "task-api, P"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api"),
            (header::SEC_WEBSOCKET_PROTOCOL, "tasks-api, P, X"),
            (header::AUTHORIZATION, "Basic H"),
            (header::AUTHORIZATION, "Bearer H extra"),
            (header::COOKIE, "other_access_token=C"),
        ] {
            assert_eq!(
                socket_token(&q, &headers(&[(name, value)])),
                None,
                "{value}"
            );
        }
    }
}
