//! Time-shift: a live window's timeline. The operator drags it back to see what happened
//! a minute ago while the task goes on; the picture then comes from the window's own
//! recording, still being written ([`playback::follow`]), and the timeline says how far
//! behind live it is, beside Jump to live. Playing on to the live edge goes back to live.
//!
//! Only the picture is shifted: the log pane and the prompt stay live, so a question the
//! task asks meanwhile can still be answered. The session goes on recording throughout.

use egui::Key;

use super::stream_view::{LIVE_SHORTCUT, TaskView};
use super::theme;
use super::timeline::{self, Timeline};
use crate::core::event::Waker;
use crate::core::record::playback;
use crate::core::record::writer::RecordSink;
use crate::core::untrusted::{self, Lines};

/// A click this close to the live edge stays live.
const LIVE_SLACK_US: u64 = 1_000_000;

/// The picture of the past, once the recording has been opened.
struct Past {
    timeline: Timeline,
    view: TaskView,
}

/// A live window's time-shift.
pub struct TimeShift {
    sink: RecordSink,
    label: String,
    waker: Waker,
    past: Option<Past>,
    /// Showing the past rather than live.
    shifted: bool,
    /// Why the recording could not be opened for time-shift.
    problem: Option<String>,
}

impl TimeShift {
    /// Time-shift over the recording `sink` writes; `label` names the task; `waker`
    /// repaints the window.
    pub fn new(sink: RecordSink, label: String, waker: Waker) -> Self {
        TimeShift {
            sink,
            label,
            waker,
            past: None,
            shifted: false,
            problem: None,
        }
    }

    /// True while the picture shown is the past.
    pub fn is_shifted(&self) -> bool {
        self.shifted
    }

    /// The playback of the past, once the timeline has been used.
    pub fn playback(&self) -> Option<&playback::Playback> {
        self.past.as_ref().map(|p| p.timeline.playback())
    }

    /// The live edge: now, in the recording's time (or its last record, if later).
    pub fn live_us(&self) -> u64 {
        let recorded = self
            .playback()
            .map_or(0, |p| p.status().duration_us.max(p.index().duration_us));
        self.sink.now_us().max(recorded)
    }

    /// Opens the recording (once): the timeline then shows its markers.
    fn open(&mut self) {
        if self.past.is_some() || self.problem.is_some() {
            return;
        }
        // What was queued (the recording's first records) is in the file before it is read.
        self.sink.flush();
        match playback::follow(self.sink.path(), &self.label, self.waker.clone()) {
            Ok(r) => match r.picture {
                Some(picture) => {
                    self.past = Some(Past {
                        timeline: Timeline::new(r.playback),
                        view: TaskView::new(picture),
                    });
                }
                None => self.problem = Some("the recording has no picture to go back to".into()),
            },
            Err(e) => {
                tracing::info!("no time-shift: {e}");
                self.problem = Some(e.to_string());
            }
        }
    }

    /// Shows the moment `at_us`, playing on from there.
    pub fn go_back(&mut self, at_us: u64) {
        self.open();
        if let Some(past) = &self.past {
            let playback = past.timeline.playback();
            playback.seek(at_us);
            playback.set_playing(true);
            self.shifted = true;
        }
    }

    /// Shows the live picture again.
    pub fn go_live(&mut self) {
        self.shifted = false;
        if let Some(past) = &self.past {
            past.timeline.playback().set_playing(false);
        }
    }

    /// The timeline row, under the picture and log. `keys_free`: no remote has the keys
    /// (the Left arrow goes back 10 s).
    pub fn ui(&mut self, ui: &mut egui::Ui, keys_free: bool) {
        self.open();
        let live = self.live_us();
        if self.shifted {
            let jump = ui.input_mut(|i| i.consume_shortcut(&LIVE_SHORTCUT));
            let Some(past) = &mut self.past else {
                self.shifted = false;
                return;
            };
            let asked = past.timeline.ui_live(ui, live);
            let status = past.timeline.playback().status();
            // Played on to the end of what is recorded: that is live.
            let caught_up = status.playing && status.position_us >= status.duration_us;
            if jump || asked || caught_up {
                self.go_live();
            }
            // "Behind live" counts on while paused.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(500));
            return;
        }
        ui.horizontal(|ui| {
            live_mark(ui);
            let hint = match &self.problem {
                Some(p) => format!(
                    "Time-shift is off: {}",
                    untrusted::printable(p, Lines::Show, 160)
                ),
                None => "Drag the timeline back to see what happened earlier \
                         (the Left arrow goes back 10 s)"
                    .to_string(),
            };
            ui.label(egui::RichText::new(hint).color(theme::TEXT_WEAK));
        });
        let index = self.playback().map(|p| p.index());
        let markers = index.as_ref().map_or(&[][..], |i| &i.markers[..]);
        let back = timeline::bar(ui, live, live, markers);
        let key = keys_free
            && ui.memory(|m| m.focused()).is_none()
            && ui.input(|i| i.key_pressed(Key::ArrowLeft) && i.modifiers.is_none());
        let back = back.or(key.then(|| live.saturating_sub(10_000_000)));
        if let Some(at) = back
            && at + LIVE_SLACK_US < live
        {
            self.go_back(at);
        }
        // The bar grows with the recording.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(1));
    }

    /// Draws the picture: the past while shifted (the live view steps aside), else live.
    pub fn picture_ui(&mut self, ui: &mut egui::Ui, live: &mut TaskView) {
        match (&mut self.past, self.shifted) {
            (Some(past), true) => {
                live.step_aside(ui.ctx());
                past.view.ui(ui);
            }
            _ => live.ui(ui),
        }
    }

    /// Called once the whole window is built ([`TaskView::finish`] of the view drawn).
    pub fn finish(&mut self, ctx: &egui::Context, live: &mut TaskView) {
        match (&mut self.past, self.shifted) {
            (Some(past), true) => past.view.finish(ctx),
            _ => live.finish(ctx),
        }
    }

    /// The view of the past, while shifted.
    pub fn past_view(&self) -> Option<&TaskView> {
        self.past.as_ref().filter(|_| self.shifted).map(|p| &p.view)
    }
}

/// "LIVE" after a red dot (painted: the UI font has no dot glyph).
fn live_mark(ui: &mut egui::Ui) {
    let (dot, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
    ui.painter().circle_filled(dot.center(), 5.0, theme::ERROR);
    ui.label(egui::RichText::new("LIVE").color(theme::ERROR).strong());
}
