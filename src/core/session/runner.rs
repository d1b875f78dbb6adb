//! The one runner every source shares: resolve, connect, run, and on a drop back off and
//! try again; report each state; after a final state wait for the operator's Retry.

use std::time::Duration;

use super::driver::{ConnEnd, Driver, Resolve, Session, Stop};
use crate::core::error::CoreError;
use crate::core::event::SessionState;

/// Drives `driver` until the operator stops the session (or drops its handle).
pub(crate) async fn run<D: Driver>(mut driver: D, mut s: Session) {
    loop {
        let stop = watch(&mut driver, &mut s).await;
        let stopped = matches!(stop, Stop::Stopped);
        s.out.set_state(stop.into_state()).await;
        if stopped || !s.commands.wait_for_retry().await {
            break;
        }
    }
    tracing::debug!(source = %s.out.label, "session task ended");
}

/// Resolves, connects and reconnects until something final happens.
async fn watch<D: Driver>(driver: &mut D, s: &mut Session) -> Stop {
    let mut failures = 0u32;
    let mut had_live = false;
    loop {
        s.out.set_state(SessionState::Loading).await;
        let endpoint = match driver.resolve(s, had_live).await {
            Ok(endpoint) => endpoint,
            Err(Resolve::Stop(stop)) => return stop,
            Err(Resolve::Error(e)) if e.is_retryable() && s.out.config.reconnect => {
                failures += 1;
                if let Some(stop) = pause(s, failures, &e, e.retry_after()).await {
                    return stop;
                }
                continue;
            }
            Err(Resolve::Error(e)) => return Stop::failed(&e),
        };
        s.out
            .set_state(SessionState::Connecting {
                attempt: failures + 1,
            })
            .await;
        let connected = tokio::select! {
            connected = driver.connect(endpoint, &s.out) => connected,
            end = s.commands.until_stop_or_retry() => Err(end),
        };
        let end = match connected {
            Ok(connection) => driver.run(connection, s).await,
            Err(end) => end,
        };
        match end {
            ConnEnd::Stop => return Stop::Stopped,
            ConnEnd::Over(stop) => return stop,
            ConnEnd::RetryNow => failures = 0,
            ConnEnd::Dropped { was_live, error } => {
                tracing::info!(source = %s.out.label, "stream dropped: {error}");
                had_live |= was_live;
                if !error.is_retryable() || !s.out.config.reconnect {
                    return Stop::failed(&error);
                }
                failures = if was_live { 1 } else { failures + 1 };
                if let Some(stop) = pause(s, failures, &error, None).await {
                    return stop;
                }
            }
        }
    }
}

/// Waits out a backoff (or the provider's Retry-After), showing why; returns early on
/// Stop (or Retry, to go at once).
async fn pause(
    s: &mut Session,
    failures: u32,
    error: &CoreError,
    retry_after: Option<Duration>,
) -> Option<Stop> {
    let delay_ms = match retry_after {
        Some(wait) => u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        None => s
            .out
            .config
            .backoff
            .delay_ms(failures, rand::random::<f64>()),
    };
    s.out
        .set_state(SessionState::Reconnecting {
            attempt: failures,
            retry_in_ms: delay_ms,
            error: error.to_session_error(),
        })
        .await;
    s.commands.sleep(delay_ms).await
}
