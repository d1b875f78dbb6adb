//! The replay's timeline: play and pause, frame step, speed, idle skip, the position as
//! time, and a bar with the recording's markers that seeks where it is clicked or dragged.
//!
//! Keys (when no text field has focus): Space plays and pauses, ← and → move 5 s
//! (Shift: 30 s), `.` steps to the next change, `[` and `]` halve and double the speed.

use egui::{Color32, Key, Rect, Sense, Stroke, StrokeKind, pos2, vec2};

use super::theme;
use crate::core::record::index::Marker;
use crate::core::record::playback::{Playback, PlaybackStatus, SPEEDS};
use crate::core::untrusted::{self, Lines};

/// The bar's height.
const BAR_HEIGHT: f32 = 22.0;

/// What a marker shows as, by its event's `type`.
pub fn marker_style(marker: &Marker) -> Option<(Color32, String)> {
    let e = &marker.event;
    let text = |key: &str| {
        e[key]
            .as_str()
            .map(|s| untrusted::printable(s, Lines::Show, 120).into_owned())
            .unwrap_or_default()
    };
    Some(match e["type"].as_str()? {
        "prompt" if e["request_id"].is_string() => {
            (theme::ATTENTION, format!("Prompt: {}", text("text")))
        }
        "answer" => (theme::LIVE, format!("Answer: {}", text("text"))),
        "control" => {
            let taken = e["taken"].as_bool().unwrap_or(false);
            let what = if taken {
                "Control taken"
            } else {
                "Control released"
            };
            (theme::CONTROL, what.to_string())
        }
        "state" => match e["state"].as_str()? {
            "reconnecting" | "failed" => (theme::ERROR, format!("Dropped: {}", text("message"))),
            "ended" => (theme::TEXT_WEAK, "Ended".to_string()),
            _ => return None,
        },
        "gap" => (theme::ERROR, "Picture missing (disk too slow)".to_string()),
        "status" => (theme::TEXT_WEAK, format!("Status: {}", text("status"))),
        "bookmark" => (theme::ACCENT, format!("Bookmark: {}", text("name"))),
        "page_url" => (theme::LOG_TOOL, format!("Page: {}", text("url"))),
        _ => return None,
    })
}

pub use crate::commands::recordings::clock;

fn speed_label(speed: f64) -> String {
    if speed < 1.0 {
        format!("{speed}×")
    } else {
        format!("{speed:.0}×")
    }
}

/// The timeline of one replay.
pub struct Timeline {
    playback: Playback,
    /// The widget that had keyboard focus last frame.
    last_focus: Option<egui::Id>,
}

impl Timeline {
    pub fn new(playback: Playback) -> Self {
        Timeline {
            playback,
            last_focus: None,
        }
    }

    pub fn playback(&self) -> &Playback {
        &self.playback
    }

    /// Draws the controls and the bar across the available width.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.show(ui, None);
    }

    /// Draws the timeline of a recording still being written whose live edge is `live_us`
    /// (time-shift): the bar runs to the live edge, and the controls say how far behind it
    /// the picture is, beside Jump to live. True when the operator asked to go back to live.
    pub fn ui_live(&mut self, ui: &mut egui::Ui, live_us: u64) -> bool {
        self.show(ui, Some(live_us))
    }

    fn show(&mut self, ui: &mut egui::Ui, live_us: Option<u64>) -> bool {
        let status = self.playback.status();
        self.keys(ui, &status);
        let mut jump = false;
        ui.horizontal(|ui| {
            if let Some(live) = live_us {
                jump = ui
                    .button("Jump to live")
                    .on_hover_text(format!(
                        "Back to the live picture ({})",
                        ui.ctx().format_shortcut(&super::stream_view::LIVE_SHORTCUT)
                    ))
                    .clicked();
                ui.label(
                    egui::RichText::new(format!(
                        "{} behind live",
                        behind(live.saturating_sub(status.position_us))
                    ))
                    .color(theme::ATTENTION)
                    .strong(),
                );
            }
            let play = if status.playing { "Pause" } else { "Play" };
            if ui.button(play).clicked() {
                self.playback.set_playing(!status.playing);
            }
            if ui
                .button("Step")
                .on_hover_text("The next change (.)")
                .clicked()
            {
                self.playback.step();
            }
            egui::ComboBox::new("lookout_replay_speed", "Speed")
                .selected_text(speed_label(status.speed))
                .width(64.0)
                .show_ui(ui, |ui| {
                    for speed in SPEEDS {
                        if ui
                            .selectable_label(status.speed == speed, speed_label(speed))
                            .clicked()
                        {
                            self.playback.set_speed(speed);
                        }
                    }
                });
            let mut skip = status.skip_idle;
            if ui
                .checkbox(&mut skip, "Skip idle")
                .on_hover_text("Jump over stretches where nothing changes")
                .changed()
            {
                self.playback.set_skip_idle(skip);
            }
            let clock_text = match live_us {
                Some(_) => clock(status.position_us),
                None => format!(
                    "{} / {}",
                    clock(status.position_us),
                    clock(status.duration_us)
                ),
            };
            ui.label(
                egui::RichText::new(clock_text)
                    .monospace()
                    .color(theme::TEXT),
            );
            if let Some(problem) = &status.problem {
                ui.colored_label(
                    theme::WARN,
                    untrusted::printable(problem, Lines::Show, 160).into_owned(),
                );
            }
        });
        let span = live_us.unwrap_or(0).max(status.duration_us);
        let index = self.playback.index();
        if let Some(at) = bar(ui, status.position_us, span, &index.markers) {
            self.playback.seek(at);
        }
        jump
    }

    fn keys(&mut self, ui: &egui::Ui, status: &PlaybackStatus) {
        // Keys type into a text field the operator is in (the log's search, an answer). An
        // arrow key with nothing focused makes egui move focus to a widget; that is not
        // typing, and the focus goes back.
        let ctx = ui.ctx();
        let focus = ctx.memory(|m| m.focused());
        let last_focus = std::mem::replace(&mut self.last_focus, focus);
        if let Some(id) = focus
            && egui::text_edit::TextEditState::load(ctx, id).is_some()
        {
            let arrow =
                ctx.input(|i| i.key_pressed(Key::ArrowLeft) || i.key_pressed(Key::ArrowRight));
            if focus == last_focus || !arrow {
                return;
            }
            ctx.memory_mut(|m| m.surrender_focus(id));
            self.last_focus = None;
        }
        let (space, left, right, step, slower, faster, shift) = ui.input(|i| {
            (
                i.key_pressed(Key::Space),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Period),
                i.key_pressed(Key::OpenBracket),
                i.key_pressed(Key::CloseBracket),
                i.modifiers.shift,
            )
        });
        if space {
            self.playback.set_playing(!status.playing);
        }
        let jump = if shift { 30_000_000 } else { 5_000_000 };
        if left {
            self.playback.seek(status.position_us.saturating_sub(jump));
        }
        if right {
            self.playback.seek(status.position_us + jump);
        }
        if step {
            self.playback.step();
        }
        if slower {
            self.playback.set_speed(status.speed / 2.0);
        }
        if faster {
            self.playback.set_speed(status.speed * 2.0);
        }
    }
}

/// The bar: a recording of `span_us` with its `markers`, played to `position_us`. Returns
/// the moment the operator clicked or dragged to.
pub fn bar(ui: &mut egui::Ui, position_us: u64, span_us: u64, markers: &[Marker]) -> Option<u64> {
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(vec2(width, BAR_HEIGHT), Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "Timeline"));
    let duration = span_us.max(1);
    let x_of = |t: u64| rect.left() + rect.width() * (t.min(duration) as f32 / duration as f32);
    let t_of = |x: f32| {
        let f = ((x - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
        (f64::from(f) * duration as f64) as u64
    };
    let seek = (response.clicked() || response.dragged())
        .then(|| response.interact_pointer_pos())
        .flatten()
        .map(|pos| t_of(pos.x));
    let painter = ui.painter_at(rect);
    let track = Rect::from_center_size(rect.center(), vec2(rect.width(), 6.0));
    painter.rect_filled(track, 3.0, theme::CARD_EDGE);
    let played = Rect::from_min_max(track.min, pos2(x_of(position_us), track.max.y));
    painter.rect_filled(played, 3.0, theme::ACCENT_STRONG);
    let mut hovered = None;
    let pointer = response.hover_pos();
    for marker in markers {
        let Some((colour, text)) = marker_style(marker) else {
            continue;
        };
        let x = x_of(marker.t_us);
        let tick = Rect::from_min_max(
            pos2(x - 1.0, rect.top() + 2.0),
            pos2(x + 1.0, rect.bottom() - 2.0),
        );
        painter.rect_filled(tick, 0.0, colour);
        if pointer.is_some_and(|p| (p.x - x).abs() <= 3.0) {
            hovered = Some((marker.t_us, text));
        }
    }
    let head = x_of(position_us);
    painter.circle(
        pos2(head, rect.center().y),
        6.0,
        theme::TEXT,
        Stroke::new(1.0, theme::ACCENT_STRONG),
    );
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(1.0, theme::CARD_EDGE),
        StrokeKind::Inside,
    );
    if let Some(p) = pointer {
        let at = t_of(p.x);
        let tip = match &hovered {
            Some((t, text)) => format!("{} {text}", clock(*t)),
            None => clock(at),
        };
        response.on_hover_text_at_pointer(tip);
    }
    seek
}

/// How far behind live: seconds under a minute, else minutes and seconds.
pub fn behind(us: u64) -> String {
    let s = us / 1_000_000;
    if s < 60 { format!("{s} s") } else { clock(us) }
}
