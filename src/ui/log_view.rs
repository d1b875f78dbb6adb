//! The task's voice in the window: one task-log session's header, prompt pane and log pane.
//!
//! [`LogView::ui`] drains the session's events, then reads the shared
//! [`LogSlot`](crate::core::log_slot::LogSlot) under its lock for this frame only: the
//! prompt pane gets the pending prompt and the time left to answer, the log pane the lines.
//! An answer goes to the core as [`Command::Answer`] and is recorded in the log as sent,
//! which closes the prompt at once (the runner confirms a socket answer up to ~5 s later);
//! until the runner echoes it a line says it waits for the task to confirm. An answer that
//! was not delivered reopens its prompt, saying why.
//! Nothing here repaints on its own except the once-a-second countdown while a prompt with
//! a known deadline waits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use egui::{Frame, Margin, RichText, Ui};

use super::log_panel::LogPanel;
use super::prompt_panel::{PromptAction, PromptPanel};
use super::theme;
use crate::core::event::{Command, SessionEvent, SessionState};
use crate::core::session::SessionHandle;
use crate::core::source::tasklog::{PendingPrompt, TaskStatus};

/// What the pane says while the runner has not echoed our answer.
pub const SENT_UNCONFIRMED: &str = "Answer sent; waiting for the task to confirm it.";

/// What the last answer came to, for the line under the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
enum AnswerNotice {
    Failed(String),
    SentOverRest,
}

/// One task-log session as panes.
pub struct LogView {
    handle: SessionHandle,
    state: SessionState,
    log_panel: LogPanel,
    prompt_panel: PromptPanel,
    notice: Option<AnswerNotice>,
    /// The picture beside this log has control of the remote, which takes every key.
    remote_has_keys: bool,
}

impl std::fmt::Debug for LogView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogView")
            .field("label", &self.handle.label())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The time left to answer a prompt asked at `asked_at_us` (µs since the epoch) with a
/// timeout of `timeout_s`, at `now`; zero once past.
pub fn time_left(asked_at_us: i64, timeout_s: u64, now: SystemTime) -> Duration {
    let now_us = now
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let deadline_us = asked_at_us.saturating_add(
        i64::try_from(timeout_s)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000),
    );
    Duration::from_micros(u64::try_from(deadline_us.saturating_sub(now_us)).unwrap_or(0))
}

impl LogView {
    pub fn new(handle: SessionHandle) -> Self {
        Self {
            handle,
            state: SessionState::Loading,
            log_panel: LogPanel::new(),
            prompt_panel: PromptPanel::default(),
            notice: None,
            remote_has_keys: false,
        }
    }

    /// Says whether the picture beside this log is in control of the remote: keys then go
    /// there, and a waiting prompt tells the operator how to type the answer.
    pub fn set_remote_has_keys(&mut self, yes: bool) {
        self.remote_has_keys = yes;
    }

    pub fn state(&self) -> &SessionState {
        &self.state
    }

    pub fn label(&self) -> &str {
        self.handle.label()
    }

    /// The prompt the task waits on, if any (for the window title and notifications).
    pub fn waiting_prompt(&self) -> Option<PendingPrompt> {
        self.handle.log().lock().log.pending_prompt().cloned()
    }

    /// The task's status as last reported.
    pub fn task_status(&self) -> Option<TaskStatus> {
        self.handle.log().lock().log.status().cloned()
    }

    /// The log line the operator selected last ([`LogLine::seq`](crate::core::source::tasklog::LogLine)).
    pub fn selected_line(&self) -> Option<u64> {
        self.log_panel.selected()
    }

    /// Drops a named marker into the session's recording.
    pub fn bookmark(&self, name: String) -> bool {
        self.handle
            .send(Command::Note(crate::core::event::Note::Bookmark(name)))
    }

    /// Asks the core to end the session (the window is closing).
    pub fn stop(&self) {
        self.handle.send(Command::Stop);
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.handle.try_recv_event() {
            match event {
                SessionEvent::State(state) => self.state = state,
                SessionEvent::AnswerSent { rest, .. } => {
                    self.notice = rest.then_some(AnswerNotice::SentOverRest);
                }
                SessionEvent::AnswerFailed {
                    request_id,
                    message,
                } => {
                    self.handle
                        .log()
                        .update(|s| s.log.answer_failed(&request_id));
                    self.notice = Some(AnswerNotice::Failed(message));
                }
                _ => {}
            }
        }
    }

    /// Draws header, prompt and log into `ui`.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.drain_events();
        let bar = Frame::new()
            .fill(theme::CHROME)
            .inner_margin(Margin::symmetric(10, 5));
        bar.show(ui, |ui| self.header_ui(ui));
        self.body_ui(ui, true);
    }

    /// Draws the waiting prompt alone, with what became of the last answer: answering
    /// from the console's wall.
    pub fn prompt_ui(&mut self, ui: &mut Ui) {
        self.drain_events();
        self.body_ui(ui, false);
    }

    /// Takes the session's news without drawing (the view is not shown this frame).
    pub fn step_aside(&mut self) {
        self.drain_events();
    }

    /// The texts of the last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let state = self.handle.log().lock();
        let lines = state.log.lines();
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .map(|l| l.rendered.text.clone())
            .collect()
    }

    /// How long the task still waits for the answer to its prompt, when known.
    pub fn time_left(&self) -> Option<Duration> {
        let state = self.handle.log().lock();
        match (state.log.pending_prompt(), state.input_timeout_s) {
            (
                Some(PendingPrompt {
                    asked_at: Some(at), ..
                }),
                Some(timeout_s),
            ) => Some(time_left(at.as_micros(), timeout_s, SystemTime::now())),
            _ => None,
        }
    }

    /// The prompt, notices and (with `with_log`) the log.
    fn body_ui(&mut self, ui: &mut Ui, with_log: bool) {
        let slot = self.handle.log().clone();
        let state = slot.lock();
        let prompt = state.log.pending_prompt().cloned();
        let left = match (&prompt, state.input_timeout_s) {
            (
                Some(PendingPrompt {
                    asked_at: Some(at), ..
                }),
                Some(timeout_s),
            ) => Some(time_left(at.as_micros(), timeout_s, SystemTime::now())),
            _ => None,
        };
        if left.is_some_and(|l| l > Duration::ZERO) {
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
        let unconfirmed = state.log.unconfirmed_answer().is_some();
        if prompt.is_none() && !unconfirmed {
            self.notice = None;
        }
        let action = self
            .prompt_panel
            .ui(ui, prompt.as_ref(), left, state.can_answer);
        if unconfirmed && prompt.is_none() {
            ui.label(RichText::new(SENT_UNCONFIRMED).color(theme::TEXT_WEAK));
        }
        if prompt.is_some() && self.remote_has_keys {
            let key = ui.ctx().format_shortcut(&super::control::CONTROL_SHORTCUT);
            ui.label(
                RichText::new(format!(
                    "You are in control of the remote: release it ({key}) to type the answer."
                ))
                .color(theme::CONTROL),
            );
        }
        if let Some(notice) = &self.notice {
            let (text, color) = match notice {
                AnswerNotice::Failed(m) => (format!("Not delivered: {m}"), theme::ERROR),
                AnswerNotice::SentOverRest => (
                    "Sent over REST (the socket was down)".to_string(),
                    theme::TEXT_WEAK,
                ),
            };
            ui.label(RichText::new(text).color(color));
        }
        if with_log {
            self.log_panel.ui(ui, &state.log);
        }
        drop(state);
        if let Some(PromptAction::Answer { request_id, answer }) = action {
            self.notice = None;
            slot.update(|s| s.log.answer_sent(&request_id, &answer));
            let id = request_id.clone();
            if !self.handle.send(Command::Answer { request_id, answer }) {
                slot.update(|s| s.log.answer_failed(&id));
                self.notice = Some(AnswerNotice::Failed(
                    "the session is not running".to_string(),
                ));
            }
        }
    }

    fn header_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new(self.handle.label()).strong());
            if let Some(status) = self.task_status() {
                let color = match status {
                    TaskStatus::Failed | TaskStatus::Cancelled => theme::ERROR,
                    TaskStatus::WaitingForInput => theme::ATTENTION,
                    _ => theme::TEXT_WEAK,
                };
                ui.label(RichText::new(status.name()).color(color).monospace());
            }
            let (text, color) = match &self.state {
                SessionState::Live(_) => (self.state.label().to_string(), theme::LIVE),
                SessionState::Failed { error } => (error.message.clone(), theme::ERROR),
                SessionState::Ended { reason, .. } => (reason.clone(), theme::TEXT_WEAK),
                SessionState::Reconnecting { error, .. } => {
                    (format!("reconnecting: {error}"), theme::TEXT_WEAK)
                }
                SessionState::WaitingForTask { status } => {
                    (format!("waiting for the task ({status})"), theme::TEXT_WEAK)
                }
                other => (other.label().to_string(), theme::TEXT_WEAK),
            };
            let label = ui.label(RichText::new(text).color(color));
            if let SessionState::Failed { error } = &self.state
                && let Some(hint) = super::overlay::hint(error.kind)
            {
                label.on_hover_text(hint);
            }
            let retry = match &self.state {
                SessionState::Failed { error } => error.kind.retry_may_help(),
                SessionState::Reconnecting { .. } => true,
                _ => false,
            };
            if retry && ui.button("Retry").clicked() {
                self.handle.send(Command::Retry);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_counts_down_to_zero() {
        let asked = 1_000_000_000_000_000i64; // µs
        let at = |s: u64| UNIX_EPOCH + Duration::from_micros(asked as u64) + Duration::from_secs(s);
        assert_eq!(time_left(asked, 180, at(0)), Duration::from_secs(180));
        assert_eq!(time_left(asked, 180, at(179)), Duration::from_secs(1));
        assert_eq!(time_left(asked, 180, at(200)), Duration::ZERO);
    }
}
