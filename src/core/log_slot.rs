//! The task log a session shares with its front end: the store of lines, the task's status
//! and the prompt it waits on, behind one lock.
//!
//! A log session appends as messages arrive; the front end reads under the same lock, only
//! the rows it shows, and compares [`LogSlot::generation`] to know whether anything changed.
//! Lines never queue in a channel, so a slow window loses nothing and falls no further
//! behind than one repaint; the store's own cap bounds the memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::record::TrackSink;
use super::record::format::Kind;
use super::source::tasklog::{TaskLog, line_to_json};

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
    recorder: Mutex<Option<LogRecorder>>,
}

/// What of the log has gone to a recording.
#[derive(Debug)]
struct LogRecorder {
    track: TrackSink,
    /// The first line not yet recorded.
    next_seq: u64,
    status: Option<String>,
    prompt: Option<(String, Option<String>)>,
}

impl LogRecorder {
    /// Records what changed since the last call: new lines, the status, the prompt.
    fn catch_up(&mut self, log: &TaskLog) {
        for seq in self.next_seq.max(log.first_seq())..log.end_seq() {
            if let Some(line) = log.get_seq(seq) {
                self.track.put_json(Kind::LogLine, &line_to_json(line));
            }
        }
        self.next_seq = log.end_seq();
        let status = log.status().map(|s| s.name().to_string());
        if status != self.status {
            if let Some(name) = &status {
                let event = serde_json::json!({"type": "status", "status": name});
                self.track.put_json(Kind::Event, &event);
            }
            self.status = status;
        }
        let pending = log.pending_prompt();
        let prompt = pending.map(|p| (p.request_id.clone(), p.prompt.clone()));
        if prompt != self.prompt {
            let event = match pending {
                Some(p) => serde_json::json!({
                    "type": "prompt", "request_id": p.request_id, "text": p.prompt,
                    "password": p.password,
                }),
                None => serde_json::json!({"type": "prompt", "request_id": null}),
            };
            self.track.put_json(Kind::Event, &event);
            self.prompt = prompt;
        }
    }
}

impl LogSlot {
    /// Reads the state. Hold the guard only while drawing one frame.
    pub fn lock(&self) -> MutexGuard<'_, LogState> {
        // A panic while holding the lock leaves a log that is still a valid log.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the state and counts a generation (and records what changed, when
    /// recording).
    pub fn update<R>(&self, f: impl FnOnce(&mut LogState) -> R) -> R {
        let mut state = self.lock();
        let r = f(&mut state);
        if let Some(recorder) = self
            .recorder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            recorder.catch_up(&state.log);
        }
        drop(state);
        self.generation.fetch_add(1, Ordering::Release);
        r
    }

    /// Records the log's lines, status and prompts to `track` from now on, starting with
    /// what it already holds.
    pub fn record_to(&self, track: TrackSink) {
        let mut recorder = LogRecorder {
            track,
            next_seq: 0,
            status: None,
            prompt: None,
        };
        recorder.catch_up(&self.lock().log);
        *self.recorder.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorder);
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
