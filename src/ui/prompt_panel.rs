//! The prompt pane: the question a task waits on and the box to answer it.
//!
//! [`PromptPanel::ui`] is called every frame with the log's [`PendingPrompt`] (or `None`)
//! and draws nothing while nothing is asked. When a prompt appears it draws a framed card
//! in the attention colour — "The task waits for your answer", the question, the time
//! left — and puts the keyboard in its answer box. A prompt whose question has not arrived
//! (only the task's status named it) gets no answer box: the card says it waits for the
//! question's text, and the box appears with it. Enter or Send returns a [`PromptAction`] for the
//! caller to send; the card then reads "Sent, waiting for the task…" until the prompt
//! closes (the log sees the answer echoed, or another prompt replaces it).
//!
//! **Secrets.** A password prompt's box is masked, and so is what it tells screen readers.
//! The typed text leaves the pane inside a [`Secret`]; the pane's own copies (its string
//! and the text box's undo history, which egui keeps in its memory) are overwritten or
//! removed when the answer is sent or the prompt goes away.
//!
//! **Untrusted text.** The question comes from the task: it is shown as plain text, without
//! control characters or bidirectional overrides, cut to [`MAX_PROMPT_CHARS`].

use std::time::Duration;

use egui::text_edit::TextEditState;
use egui::{
    Align, Context, CornerRadius, Frame, Id, IdSalt, Key, Layout, Margin, RichText, Stroke, Ui,
};

use super::log_panel::printable;
use super::theme;
use crate::core::redact::Secret;
use crate::core::source::tasklog::PendingPrompt;

/// Most characters of a question shown.
pub const MAX_PROMPT_CHARS: usize = 2_000;
/// Most characters an answer may have.
pub const MAX_ANSWER_CHARS: usize = 4_096;
/// Most lines of a question shown; longer ones are cut (the whole card must stay in view).
const MAX_PROMPT_LINES: usize = 12;
/// What the card says while only the task's status has named the request.
pub const WAITING_FOR_TEXT: &str =
    "The task is waiting for input; waiting for the question's text to arrive.";

/// What the user did in the prompt pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptAction {
    /// Send `answer` to the task as the answer to `request_id`.
    Answer { request_id: String, answer: Secret },
}

/// The prompt pane. Keep one per task, and call [`PromptPanel::ui`] every frame.
pub struct PromptPanel {
    id_salt: IdSalt,
    /// The request the draft answer is for.
    request_id: Option<String>,
    answer: String,
    /// The text box's id, to forget its state (undo history) with the draft.
    edit_id: Option<Id>,
    /// The request an answer was sent for, until the prompt closes.
    sent: Option<String>,
    /// Put the keyboard in the answer box next frame.
    focus: bool,
}

/// Never shows the draft answer (it may be a password).
impl std::fmt::Debug for PromptPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptPanel")
            .field("request_id", &self.request_id)
            .field("answer", &"***")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl Default for PromptPanel {
    fn default() -> Self {
        PromptPanel::new()
    }
}

impl PromptPanel {
    pub fn new() -> Self {
        PromptPanel {
            id_salt: IdSalt::new("lookout_prompt_panel"),
            request_id: None,
            answer: String::new(),
            edit_id: None,
            sent: None,
            focus: false,
        }
    }

    /// Distinguishes this pane's widgets from another prompt pane's in the same `Ui`.
    pub fn with_id_salt(mut self, salt: impl std::hash::Hash + std::fmt::Debug) -> Self {
        self.id_salt = IdSalt::new(("lookout_prompt_panel", salt));
        self
    }

    /// Whether an answer was sent and the task has not yet taken it.
    pub fn is_sent(&self) -> bool {
        self.sent.is_some()
    }

    /// Draws the pane for `prompt` (nothing when it is `None`) and returns the answer when
    /// the user sends one.
    ///
    /// `time_left` is how long the task still waits (its input timeout less the time
    /// since it asked), when known. `enabled` is false while the answer cannot be sent (the
    /// task's socket is down): Send is then disabled, saying why, and Enter does nothing.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        prompt: Option<&PendingPrompt>,
        time_left: Option<Duration>,
        enabled: bool,
    ) -> Option<PromptAction> {
        let Some(prompt) = prompt else {
            if self.request_id.is_some() {
                self.forget(ui.ctx());
            }
            return None;
        };
        if self.request_id.as_deref() != Some(prompt.request_id.as_str()) {
            self.forget(ui.ctx());
            self.request_id = Some(prompt.request_id.clone());
            self.focus = true;
        }
        let card = Frame::new()
            .fill(theme::ATTENTION_BG)
            .stroke(Stroke::new(2.0, theme::ATTENTION))
            .corner_radius(CornerRadius::same(8))
            .inner_margin(Margin::same(12));
        card.show(ui, |ui| {
            ui.set_width(ui.available_width());
            self.card_ui(ui, prompt, time_left, enabled)
        })
        .inner
    }

    fn card_ui(
        &mut self,
        ui: &mut Ui,
        prompt: &PendingPrompt,
        time_left: Option<Duration>,
        enabled: bool,
    ) -> Option<PromptAction> {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("The task waits for your answer")
                    .color(theme::ATTENTION)
                    .strong()
                    .size(15.0),
            );
            if let Some(left) = time_left {
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    let color = if left < Duration::from_secs(30) {
                        theme::WARN
                    } else {
                        theme::TEXT
                    };
                    ui.label(RichText::new(time_left_text(left)).color(color));
                });
                if !left.is_zero() {
                    ui.ctx().request_repaint_after(until_next_second(left));
                }
            }
        });
        let Some(question) = &prompt.prompt else {
            // Only the task's status named the request: wait for the question rather than
            // guess at it (a password or not).
            ui.label(RichText::new(WAITING_FOR_TEXT).color(theme::TEXT_WEAK));
            return None;
        };
        let question = question_text(question);
        if !question.is_empty() {
            ui.label(RichText::new(question).color(theme::TEXT).size(14.0));
        }
        if self.sent.as_deref() == Some(prompt.request_id.as_str()) {
            // No spinner: it would repaint the window at full rate while the task thinks.
            ui.label(RichText::new("Sent, waiting for the task…").color(theme::TEXT_WEAK));
            return None;
        }
        let edit_id = ui
            .make_persistent_id(self.id_salt)
            .with(("answer", &prompt.request_id));
        self.edit_id = Some(edit_id);
        let mut submit = false;
        ui.horizontal(|ui| {
            let hint = if prompt.password {
                "Password (hidden as you type)"
            } else {
                "Your answer"
            };
            let send_width = 72.0;
            let edit = egui::TextEdit::singleline(&mut self.answer)
                .id(edit_id)
                .password(prompt.password)
                .hint_text(hint)
                .char_limit(MAX_ANSWER_CHARS)
                .desired_width((ui.available_width() - send_width).max(80.0));
            let response = ui.add(edit);
            // The field takes the keys once an answer can be sent (not in a replay, nor
            // while the task's socket is down).
            if self.focus && enabled {
                self.focus = false;
                response.request_focus();
            }
            if response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                if enabled {
                    submit = true;
                } else {
                    response.request_focus();
                }
            }
            let send = ui
                .add_enabled(enabled, egui::Button::new("Send"))
                .on_hover_text("Send the answer to the task (Enter)")
                .on_disabled_hover_text(
                    "Not connected to the task: the answer cannot be sent until it reconnects",
                );
            submit |= send.clicked();
        });
        if prompt.password {
            ui.label(
                RichText::new("Sent to the task only: never shown, logged or recorded.")
                    .color(theme::TEXT_WEAK)
                    .small(),
            );
        }
        if !submit {
            return None;
        }
        let answer = Secret::new(std::mem::take(&mut self.answer));
        forget_edit_state(ui.ctx(), edit_id);
        self.sent = Some(prompt.request_id.clone());
        Some(PromptAction::Answer {
            request_id: prompt.request_id.clone(),
            answer,
        })
    }

    /// Forgets the draft (overwriting it) and the text box's state.
    fn forget(&mut self, ctx: &Context) {
        wipe(&mut self.answer);
        if let Some(id) = self.edit_id.take() {
            forget_edit_state(ctx, id);
        }
        self.request_id = None;
        self.sent = None;
        self.focus = false;
    }
}

impl Drop for PromptPanel {
    fn drop(&mut self) {
        wipe(&mut self.answer);
    }
}

/// Removes a text box's state, whose undo history holds copies of what was typed.
fn forget_edit_state(ctx: &Context, id: Id) {
    ctx.data_mut(|d| d.remove::<TextEditState>(id));
}

/// Overwrites a string's bytes before freeing them.
fn wipe(text: &mut String) {
    let mut bytes = std::mem::take(text).into_bytes();
    bytes.fill(0);
    // Keep the writes from being optimised away as dead stores.
    std::hint::black_box(&bytes);
}

/// "answer within 2:41" (whole seconds rounded up), "time is up" at zero.
pub fn time_left_text(left: Duration) -> String {
    if left.is_zero() {
        return "time is up".to_string();
    }
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    if secs >= 3_600 {
        format!(
            "answer within {}:{:02}:{:02}",
            secs / 3_600,
            secs % 3_600 / 60,
            secs % 60
        )
    } else {
        format!("answer within {}:{:02}", secs / 60, secs % 60)
    }
}

/// How long until [`time_left_text`] changes.
fn until_next_second(left: Duration) -> Duration {
    let frac = left - Duration::from_secs(left.as_secs());
    if frac.is_zero() {
        Duration::from_secs(1)
    } else {
        frac + Duration::from_millis(5)
    }
}

/// The question as shown: printable lines, at most [`MAX_PROMPT_LINES`] and
/// [`MAX_PROMPT_CHARS`] characters, trailing space trimmed.
fn question_text(question: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for (i, line) in question.trim_end().lines().enumerate() {
        if i == MAX_PROMPT_LINES || chars >= MAX_PROMPT_CHARS {
            out.push_str("\n…");
            break;
        }
        if i > 0 {
            out.push('\n');
        }
        let shown = printable(line, MAX_PROMPT_CHARS - chars);
        chars += shown.chars().count();
        out.push_str(&shown);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_minutes_and_seconds() {
        assert_eq!(
            time_left_text(Duration::from_secs(161)),
            "answer within 2:41"
        );
        assert_eq!(
            time_left_text(Duration::from_millis(160_200)),
            "answer within 2:41"
        );
        assert_eq!(
            time_left_text(Duration::from_millis(1)),
            "answer within 0:01"
        );
        assert_eq!(time_left_text(Duration::ZERO), "time is up");
        assert_eq!(
            time_left_text(Duration::from_secs(3_725)),
            "answer within 1:02:05"
        );
        assert_eq!(
            until_next_second(Duration::from_millis(2_250)),
            Duration::from_millis(255)
        );
        assert_eq!(
            until_next_second(Duration::from_secs(3)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn questions_are_plain_and_bounded() {
        assert_eq!(
            question_text("Hold it?\u{1b}[1m \u{202e}(y/n)\n"),
            "Hold it? (y/n)"
        );
        let long = "x".repeat(MAX_PROMPT_CHARS * 2);
        assert_eq!(question_text(&long).chars().count(), MAX_PROMPT_CHARS + 1);
        let many = "line\n".repeat(50);
        assert_eq!(question_text(&many).lines().count(), MAX_PROMPT_LINES + 1);
    }

    #[test]
    fn debug_hides_the_draft() {
        let mut panel = PromptPanel::new();
        panel.answer = "hunter2".into();
        assert!(!format!("{panel:?}").contains("hunter2"));
    }

    #[test]
    fn wipe_empties() {
        let mut s = "hunter2".to_string();
        wipe(&mut s);
        assert!(s.is_empty());
    }
}
