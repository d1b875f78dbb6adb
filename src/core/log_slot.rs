//! The task log a session shares with its front end: the store of lines, the task's status
//! and the prompt it waits on, behind one lock.
//!
//! A log session appends as messages arrive; the front end reads under the same lock, only
//! the rows it shows, and compares [`LogSlot::generation`] to know whether anything changed.
//! Lines never queue in a channel, so a slow window loses nothing and falls no further
//! behind than one repaint; the store's own cap bounds the memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::source::tasklog::TaskLog;

/// What the front end reads.
#[derive(Debug, Default)]
pub struct LogState {
    pub log: TaskLog,
    /// Seconds a prompt waits for its answer before the task goes on without it, when the
    /// provider says.
    pub input_timeout_s: Option<u64>,
    /// Whether an answer can be sent now (the socket is up, or the REST fallback exists).
    pub can_answer: bool,
    /// Whether this session carries a task log at all (picture sessions leave it false).
    pub active: bool,
}

/// A [`LogState`] shared between a session and its front end.
#[derive(Debug, Default)]
pub struct LogSlot {
    state: Mutex<LogState>,
    generation: AtomicU64,
}

impl LogSlot {
    /// Reads the state. Hold the guard only while drawing one frame.
    pub fn lock(&self) -> MutexGuard<'_, LogState> {
        // A panic while holding the lock leaves a log that is still a valid log.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the state and counts a generation.
    pub fn update<R>(&self, f: impl FnOnce(&mut LogState) -> R) -> R {
        let r = f(&mut self.lock());
        self.generation.fetch_add(1, Ordering::Release);
        r
    }

    /// Grows by one on every [`update`](Self::update).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_count_generations_and_are_seen() {
        let slot = LogSlot::default();
        assert_eq!(slot.generation(), 0);
        slot.update(|s| {
            s.active = true;
            s.log
                .push_text(r#"{"type":"print","id":"1-0","data":"hello"}"#);
        });
        assert_eq!(slot.generation(), 1);
        let state = slot.lock();
        assert!(state.active);
        assert_eq!(state.log.len(), 1);
    }
}
