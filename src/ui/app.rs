//! The eframe application: one window for one task: its picture ([`TaskView`]), its log and
//! prompts ([`LogView`]), or both side by side. The title follows the session state
//! ("Lookout — {title} — {state}") and starts with "● Answer needed" while a prompt waits;
//! a new prompt while the window is not focused also asks the window manager for attention
//! and sends a desktop notification.

use egui::{Frame, Panel, UserAttentionType, ViewportCommand};

use super::log_view::LogView;
use super::recordings::RecordingsList;
use super::stream_view::TaskView;
use super::theme;
use super::timeline::Timeline;
use super::timeshift::TimeShift;
use crate::core::event::SessionState;
use crate::core::record::writer::RecordSink;
use crate::core::redact;
use crate::core::source::tasklog::PendingPrompt;
use crate::core::untrusted::{self, Lines};

/// Drops a bookmark into the recording.
pub const BOOKMARK_SHORTCUT: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::B);

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
    /// A replay's timeline, under the picture and log.
    timeline: Option<Timeline>,
    /// The log line selected when the timeline last looked: selecting another seeks there.
    selected_line: Option<u64>,
    /// The recording the sessions go to, for the REC mark.
    recording: Option<RecordSink>,
    /// Bookmarks dropped so far (they are named by number).
    bookmarks: u32,
    /// The recordings list, opened from the top bar.
    recordings: Option<RecordingsList>,
    /// A live window's timeline, to see the past of its own recording.
    timeshift: Option<TimeShift>,
    /// Drawn inside the console, which owns the window title and the alerts.
    embedded: bool,
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
            timeline: None,
            selected_line: None,
            recording: None,
            bookmarks: 0,
            recordings: None,
            timeshift: None,
            embedded: false,
        };
        app.shown_title = app.window_title();
        app
    }

    /// A task of the console: the console sets the window title and sends the alerts.
    pub fn embedded(mut self) -> Self {
        self.embedded = true;
        self
    }

    /// The task as the title names it (already redacted).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The recording the task goes to, if it is recorded.
    pub fn recording(&self) -> Option<&RecordSink> {
        self.recording.as_ref()
    }

    /// A frame in which the task is not drawn (the console shows its wall, or another
    /// task): its sessions' news is taken and control of the remote is given back.
    pub fn step_aside(&mut self, ctx: &egui::Context) {
        if let Some(picture) = &mut self.picture {
            picture.step_aside(ctx);
        }
        if let Some(log) = &mut self.log {
            log.step_aside();
        }
    }

    /// Lets the task's sound be heard, or mutes it.
    pub fn set_heard(&self, heard: bool) {
        if let Some(picture) = &self.picture {
            picture.set_heard(heard);
        }
    }

    /// Asks the task's picture source for a picture at most every `pace` (`None`: every
    /// one): a console tile needs a few a second, the task opened full-size all of them.
    /// `wake`, when given, is woken for each picture instead of the session's waker (the
    /// console's wakes the window within a glance; the task opened wants it at once).
    pub fn set_pace(
        &self,
        pace: Option<std::time::Duration>,
        wake: Option<crate::core::event::Waker>,
    ) {
        if let Some(picture) = &self.picture {
            picture.frames().set_pace(pace);
            picture.frames().set_listener(wake);
        }
    }

    pub fn log_mut(&mut self) -> Option<&mut LogView> {
        self.log.as_mut()
    }

    /// Shows a replay's timeline under the task.
    pub fn with_timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = Some(timeline);
        self
    }

    /// Shows the live timeline: the operator can go back in the window's own recording.
    pub fn with_timeshift(mut self, shift: TimeShift) -> Self {
        self.timeshift = Some(shift);
        self
    }

    pub fn timeshift(&self) -> Option<&TimeShift> {
        self.timeshift.as_ref()
    }

    /// Shows the REC mark of the recording the sessions go to.
    pub fn with_recording(mut self, sink: RecordSink) -> Self {
        self.recording = Some(sink);
        self
    }

    /// Offers the recordings list (a Recordings button beside the REC mark).
    pub fn with_recordings_list(mut self, list: RecordingsList) -> Self {
        self.recordings = Some(list);
        self
    }

    /// Ctrl+B drops a bookmark into the recording (not while the remote has the keys).
    fn bookmark_key(&mut self, ctx: &egui::Context) {
        if self.recording.as_ref().is_none_or(RecordSink::is_paused)
            || self.picture.as_ref().is_some_and(TaskView::is_interactive)
            || !ctx.input_mut(|i| i.consume_shortcut(&BOOKMARK_SHORTCUT))
        {
            return;
        }
        self.bookmarks += 1;
        let name = format!("Bookmark {}", self.bookmarks);
        let sent = match (&self.picture, &self.log) {
            (Some(p), _) => p.bookmark(name),
            (None, Some(l)) => l.bookmark(name),
            (None, None) => false,
        };
        if !sent {
            self.bookmarks -= 1;
        }
    }

    /// How many bookmarks this window dropped.
    pub fn bookmarks(&self) -> u32 {
        self.bookmarks
    }

    /// The REC mark, top centre: red while recording, grey while paused; a click pauses
    /// and resumes.
    fn top_marks(&mut self, ctx: &egui::Context) {
        if self.recording.is_none() && self.recordings.is_none() {
            return;
        }
        egui::Area::new(egui::Id::unique("lookout_rec_mark"))
            .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 6.0))
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    if let Some(sink) = &self.recording {
                        rec_mark(ui, sink);
                    }
                    if let Some(list) = &mut self.recordings {
                        if ui
                            .button("Recordings")
                            .on_hover_text("The recordings, to replay one")
                            .clicked()
                        {
                            list.show(ui.ctx());
                        }
                        if ui
                            .button("Open…")
                            .on_hover_text(
                                "Replay a recording from anywhere (or drop one on the window)",
                            )
                            .clicked()
                        {
                            list.pick();
                        }
                    }
                });
            });
        if let Some(list) = &mut self.recordings {
            list.ui(ctx);
        }
    }

    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
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

    /// Draws the task: the log beside the picture, or alone; a replay's timeline under them.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.bookmark_key(ui.ctx());
        if let Some(timeline) = &mut self.timeline {
            Panel::bottom("lookout_timeline")
                .frame(
                    Frame::new()
                        .fill(theme::CHROME)
                        .inner_margin(egui::Margin::symmetric(8, 6)),
                )
                .show(ui, |ui| timeline.ui(ui));
            // A log line picked seeks to when it was recorded.
            let selected = self.log.as_ref().and_then(LogView::selected_line);
            if selected != self.selected_line {
                self.selected_line = selected;
                if let Some(at) = selected.and_then(|seq| timeline.playback().time_of_line(seq)) {
                    timeline.playback().seek(at);
                }
            }
        }
        if let (Some(shift), Some(picture)) = (&mut self.timeshift, &self.picture) {
            let keys_free = !picture.is_interactive();
            Panel::bottom("lookout_timeshift")
                .frame(
                    Frame::new()
                        .fill(theme::CHROME)
                        .inner_margin(egui::Margin::symmetric(8, 6)),
                )
                .show(ui, |ui| shift.ui(ui, keys_free));
        }
        let shift = &mut self.timeshift;
        let mut draw = |ui: &mut egui::Ui, picture: &mut TaskView| match shift {
            Some(shift) => shift.picture_ui(ui, picture),
            None => picture.ui(ui),
        };
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
                draw(ui, picture);
            }
            (Some(picture), None) => draw(ui, picture),
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
            match &mut self.timeshift {
                Some(shift) => shift.finish(ui.ctx(), picture),
                None => picture.finish(ui.ctx()),
            }
        }
        self.top_marks(ui.ctx());
        if self.embedded {
            return;
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

/// The REC mark: red while recording, grey while paused; a click pauses and resumes.
fn rec_mark(ui: &mut egui::Ui, sink: &RecordSink) {
    let paused = sink.is_paused();
    let (text, colour) = if paused {
        ("REC paused", theme::TEXT_WEAK)
    } else {
        ("REC", theme::ERROR)
    };
    let stats = sink.stats();
    let hover = match &stats.failed {
        Some(e) => format!("Recording stopped: {e}"),
        None => format!(
            "Recording to {} ({} bytes). Click to {}; {} drops a bookmark.",
            sink.path().display(),
            stats.bytes,
            if paused { "resume" } else { "pause" },
            ui.ctx().format_shortcut(&BOOKMARK_SHORTCUT)
        ),
    };
    let galley =
        ui.painter()
            .layout_no_wrap(text.to_string(), egui::FontId::proportional(13.0), colour);
    let size = egui::vec2(galley.size().x + 30.0, 22.0);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, text));
    let painter = ui.painter();
    painter.rect_filled(rect, 4.0, theme::CARD);
    let dot = egui::pos2(rect.left() + 12.0, rect.center().y);
    if paused {
        painter.circle_stroke(dot, 5.0, egui::Stroke::new(1.5, colour));
    } else {
        painter.circle_filled(dot, 5.0, colour);
    }
    painter.galley(
        egui::pos2(rect.left() + 22.0, rect.center().y - galley.size().y / 2.0),
        galley,
        colour,
    );
    if response.on_hover_text(hover).clicked() {
        sink.set_paused(!paused);
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
pub(super) fn notify(rt: &tokio::runtime::Handle, title: &str, prompt: &PendingPrompt) {
    let (summary, body) = notification_text(title, prompt);
    rt.spawn(async move {
        let sent = notify_rust::Notification::new()
            .appname("Lookout")
            .icon(super::icon::ICON_NAME)
            .hint(notify_rust::Hint::DesktopEntry(
                super::icon::ICON_NAME.into(),
            ))
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
pub(super) fn shown(text: &str) -> String {
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
