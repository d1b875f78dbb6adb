//! The eframe application: one window for one task: its picture ([`TaskView`]), its log and
//! prompts ([`LogView`]), or both side by side. The title follows the session state
//! ("Lookout — {title} — {state}") and starts with "● Answer needed" while a prompt waits;
//! a new prompt while the window is not focused also asks the window manager for attention
//! and sends a desktop notification.

use egui::{Frame, Panel, UserAttentionType, ViewportCommand};

use super::log_view::LogView;
use super::stream_view::TaskView;
use super::theme;
use crate::core::event::SessionState;
use crate::core::redact;
use crate::core::source::tasklog::PendingPrompt;
use crate::core::untrusted::{self, Lines};

/// What starts the window title while a prompt waits.
pub const ATTENTION_MARK: &str = "● Answer needed — ";

/// The viewer window's app.
pub struct ViewerApp {
    picture: Option<TaskView>,
    log: Option<LogView>,
    /// The source title, already redacted.
    title: String,
    /// The window title last sent to the window, to send it only on change.
    shown_title: String,
    /// The prompt last noticed, so each prompt alerts once.
    noticed_prompt: Option<String>,
    /// Where desktop notifications are sent from (they talk D-Bus asynchronously).
    rt: Option<tokio::runtime::Handle>,
}

impl ViewerApp {
    pub fn new(
        picture: Option<TaskView>,
        log: Option<LogView>,
        title: String,
        rt: Option<tokio::runtime::Handle>,
    ) -> Self {
        let mut app = Self {
            picture,
            log,
            title,
            shown_title: String::new(),
            noticed_prompt: None,
            rt,
        };
        app.shown_title = app.window_title();
        app
    }

    /// The state the title shows: the picture's when there is one, else the log's.
    pub fn state(&self) -> &SessionState {
        match (&self.picture, &self.log) {
            (Some(p), _) => p.state(),
            (None, Some(l)) => l.state(),
            (None, None) => &SessionState::Loading,
        }
    }

    pub fn picture(&self) -> Option<&TaskView> {
        self.picture.as_ref()
    }

    pub fn log(&self) -> Option<&LogView> {
        self.log.as_ref()
    }

    /// The window title now: the attention mark while a prompt waits, the source and state.
    pub fn window_title(&self) -> String {
        let waiting = self
            .log
            .as_ref()
            .and_then(LogView::waiting_prompt)
            .is_some();
        let base = window_title(&self.title, self.state());
        if waiting {
            format!("{ATTENTION_MARK}{base}")
        } else {
            base
        }
    }

    /// Draws the task: the log beside the picture, or alone.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        match (&mut self.picture, &mut self.log) {
            (Some(picture), Some(log)) => {
                log.set_remote_has_keys(picture.is_interactive());
                Panel::right("lookout_task_log")
                    .resizable(true)
                    .default_size(460.0)
                    .min_size(280.0)
                    .frame(
                        Frame::new()
                            .fill(theme::CHROME)
                            .inner_margin(egui::Margin::symmetric(6, 4)),
                    )
                    .show(ui, |ui| log.ui(ui));
                picture.ui(ui);
            }
            (Some(picture), None) => picture.ui(ui),
            (None, Some(log)) => {
                egui::CentralPanel::default()
                    .frame(
                        Frame::new()
                            .fill(theme::CHROME)
                            .inner_margin(egui::Margin::symmetric(6, 4)),
                    )
                    .show(ui, |ui| log.ui(ui));
            }
            (None, None) => {}
        }
        if let Some(picture) = &mut self.picture {
            picture.finish(ui.ctx());
        }
        self.attention(ui.ctx());
        let title = self.window_title();
        if title != self.shown_title {
            ui.ctx()
                .send_viewport_cmd(ViewportCommand::Title(title.clone()));
            self.shown_title = title;
        }
    }

    /// Alerts once per new prompt when the window is not focused.
    fn attention(&mut self, ctx: &egui::Context) {
        let waiting = self.log.as_ref().and_then(LogView::waiting_prompt);
        let id = waiting.as_ref().map(|p| p.request_id.clone());
        if id == self.noticed_prompt {
            return;
        }
        self.noticed_prompt = id;
        let focused = ctx.input(|i| i.viewport().focused).unwrap_or(true);
        if let Some(prompt) = waiting.filter(|_| !focused) {
            ctx.send_viewport_cmd(ViewportCommand::RequestUserAttention(
                UserAttentionType::Critical,
            ));
            if let Some(rt) = &self.rt {
                notify(rt, &self.title, &prompt);
            }
        }
    }

    /// Ends every session (the window is closing).
    pub fn stop(&self) {
        if let Some(p) = &self.picture {
            p.stop();
        }
        if let Some(l) = &self.log {
            l.stop();
        }
    }
}

/// The desktop notification for a prompt: the task and its question (bounded).
pub fn notification_text(title: &str, prompt: &PendingPrompt) -> (String, String) {
    let question: String = prompt
        .prompt
        .as_deref()
        .unwrap_or("The task is waiting for input")
        .chars()
        .take(200)
        .collect();
    (
        shown(&format!("{title} needs your answer")),
        shown(&question),
    )
}

/// Sends a desktop notification; a desktop without a notification service is not an error.
fn notify(rt: &tokio::runtime::Handle, title: &str, prompt: &PendingPrompt) {
    let (summary, body) = notification_text(title, prompt);
    rt.spawn(async move {
        let sent = notify_rust::Notification::new()
            .appname("Lookout")
            .summary(&summary)
            .body(&body)
            .show_async()
            .await;
        if let Err(e) = sent {
            tracing::info!("no desktop notification: {e}");
        }
    });
}

/// "Lookout — {title} — {state word}".
pub fn window_title(title: &str, state: &SessionState) -> String {
    shown(&format!("Lookout — {title} — {}", state.label()))
}

/// Text for the window manager (a title, a notification): secrets masked, control
/// characters shown, as a terminal would get it.
fn shown(text: &str) -> String {
    let masked = redact::text(text);
    untrusted::printable(&masked, Lines::Show, 512).into_owned()
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ViewerApp::ui(self, ui);
    }

    fn clear_color(&self, _visuals: &egui::Visuals) -> [f32; 4] {
        super::theme::BACKDROP.to_normalized_gamma_f32()
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_names_source_and_state() {
        let state = SessionState::Connecting { attempt: 1 };
        assert_eq!(
            window_title("optexity task 42", &state),
            "Lookout — optexity task 42 — connecting"
        );
    }

    #[test]
    fn titles_and_notifications_show_controls_and_hide_secrets() {
        let key = crate::core::redact::Secret::new("sk-title-secret-1");
        let title = window_title(
            &format!("tasklog+ws://h/ws/t?x=1\x1b]0;evil\x07 {}", key.expose()),
            &SessionState::Loading,
        );
        assert!(title.contains("^[]0;evil^G"), "{title}");
        assert!(!title.contains("sk-title-secret-1"), "{title}");
        let p = PendingPrompt {
            request_id: "r1".into(),
            prompt: Some("Continue?\x1b[2J".into()),
            password: false,
            asked_at: None,
        };
        assert_eq!(notification_text("t", &p).1, "Continue?^[[2J");
    }

    #[test]
    fn notification_names_the_task_and_question() {
        let p = PendingPrompt {
            request_id: "r1".into(),
            prompt: Some("x".repeat(500)),
            password: false,
            asked_at: None,
        };
        let (summary, body) = notification_text("waldiez:t1", &p);
        assert_eq!(summary, "waldiez:t1 needs your answer");
        assert_eq!(body.chars().count(), 200);
    }
}
