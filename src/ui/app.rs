//! The eframe application: one window holding one [`TaskView`], whose title follows the
//! session state ("Lookout — {title} — {state}").

use super::stream_view::TaskView;
use crate::core::event::SessionState;

/// The viewer window's app.
pub struct ViewerApp {
    view: TaskView,
    /// The source title, already redacted.
    title: String,
    /// The window title last sent to the window, to send it only on change.
    shown_title: String,
}

impl ViewerApp {
    pub fn new(view: TaskView, title: String) -> Self {
        let shown_title = window_title(&title, view.state());
        Self {
            view,
            title,
            shown_title,
        }
    }
}

/// "Lookout — {title} — {state word}".
pub fn window_title(title: &str, state: &SessionState) -> String {
    format!("Lookout — {title} — {}", state.label())
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.view.ui(ui);
        let title = window_title(&self.title, self.view.state());
        if title != self.shown_title {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.shown_title = title;
        }
    }

    fn clear_color(&self, _visuals: &egui::Visuals) -> [f32; 4] {
        super::theme::BACKDROP.to_normalized_gamma_f32()
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.view.stop();
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
}
