//! `lookout answer`: answer one prompt of a task from a script, and confirm the task took it.
//!
//! It connects like a viewer, waits for the runner's first status (which names the prompt
//! the task waits on), refuses early when that is not the prompt named, sends the answer,
//! and succeeds when the runner echoes it (the prompt is closed for every viewer). The real
//! runner echoes a socket answer when its socket's 5 s blocking read returns, so that can
//! take a few seconds. What the server wrote reaches the terminal made printable.

use std::time::Duration;

use anyhow::bail;

use super::logs::terminal_note;
use crate::core::event::{Command, SessionEvent, SessionState};
use crate::core::redact::Secret;
use crate::core::session::{self, SessionConfig};
use crate::core::source::SourceSpec;
use crate::core::source::tasklog::TaskStatus;

/// How long to wait for the connection and then for the runner's echo.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for the first status before sending anyway.
const STATUS_WAIT: Duration = Duration::from_secs(2);

/// Answers `request_id` of the task behind `source` with `answer`.
pub async fn run(
    source: SourceSpec,
    mut config: SessionConfig,
    request_id: &str,
    answer: Secret,
) -> anyhow::Result<()> {
    if !source.has_prompts() {
        bail!(
            "{} asks no questions; `lookout answer` takes waldiez: or tasklog+ws:// sources",
            source.label()
        );
    }
    config.reconnect = false;
    let (notify, waker) = super::notify_waker();
    let label = source.label();
    let mut handle = session::spawn(&tokio::runtime::Handle::current(), source, config, waker);
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    let mut live_at: Option<tokio::time::Instant> = None;
    let mut sent = false;
    let result = loop {
        while let Some(event) = handle.try_recv_event() {
            match event {
                SessionEvent::State(SessionState::Live(_)) => {
                    live_at.get_or_insert_with(tokio::time::Instant::now);
                }
                SessionEvent::State(SessionState::Failed { error }) => {
                    handle.send(Command::Stop);
                    bail!("{label}: {}", terminal_note(&error.to_string()));
                }
                SessionEvent::State(SessionState::Ended { reason, .. }) => {
                    bail!("{label}: {}; nothing to answer", terminal_note(&reason));
                }
                SessionEvent::AnswerFailed { message, .. } => {
                    handle.send(Command::Stop);
                    let message = terminal_note(&message);
                    bail!("{label}: the answer was not delivered: {message}");
                }
                _ => {}
            }
        }
        let (answered, status, pending) = {
            let s = handle.log().lock();
            (
                s.log.was_answered(request_id),
                s.log.status().cloned(),
                s.log.pending_prompt().map(|p| p.request_id.clone()),
            )
        };
        if answered && sent {
            break Ok(());
        }
        if answered && !sent {
            break Err(anyhow::anyhow!(
                "{label}: prompt {request_id} was already answered"
            ));
        }
        if let Some(at) = live_at
            && !sent
        {
            let status_known = status.is_some() || at.elapsed() >= STATUS_WAIT;
            if status_known {
                if let Some(s) = &status
                    && pending.as_deref() != Some(request_id)
                    && (s.is_final() || *s != TaskStatus::WaitingForInput || pending.is_some())
                {
                    let waits = match &pending {
                        Some(other) => format!("it waits for prompt {}", terminal_note(other)),
                        None => format!("it is {}", terminal_note(&s.name().to_ascii_lowercase())),
                    };
                    break Err(anyhow::anyhow!(
                        "{label}: the task is not waiting for prompt {request_id}: {waits}"
                    ));
                }
                handle.send(Command::Answer {
                    request_id: request_id.to_string(),
                    answer: answer.clone(),
                });
                sent = true;
            }
        }
        let wake_at = match live_at {
            Some(at) if !sent => (at + STATUS_WAIT).min(deadline),
            _ => deadline,
        };
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep_until(wake_at) => {
                if tokio::time::Instant::now() >= deadline {
                    let what = if sent { "no confirmation from the task" } else { "could not connect" };
                    break Err(anyhow::anyhow!(
                        "{label}: {what} within {} s", ANSWER_TIMEOUT.as_secs()
                    ));
                }
            }
        }
    };
    handle.send(Command::Stop);
    result
}
