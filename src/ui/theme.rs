//! Lookout's look: one dark palette and the egui style built from it. [`apply`] is called
//! once when the window opens (and by UI tests); the colour constants are used by the
//! widgets that paint by hand.

use egui::{Color32, CornerRadius, Margin, Shadow, Stroke, Theme, Visuals, vec2};

use crate::core::event::SessionState;

/// Window chrome: toolbar and status line.
pub const CHROME: Color32 = Color32::from_rgb(0x17, 0x19, 0x1e);
/// Behind the picture (the letterbox bars).
pub const BACKDROP: Color32 = Color32::from_rgb(0x0c, 0x0d, 0x10);
/// Overlay cards and popups.
pub const CARD: Color32 = Color32::from_rgb(0x1f, 0x22, 0x29);
pub const CARD_EDGE: Color32 = Color32::from_rgb(0x2e, 0x33, 0x3d);
pub const TEXT: Color32 = Color32::from_rgb(0xe2, 0xe5, 0xeb);
pub const TEXT_WEAK: Color32 = Color32::from_rgb(0x8b, 0x92, 0xa0);
pub const ACCENT: Color32 = Color32::from_rgb(0x5b, 0x9b, 0xff);
pub const ACCENT_STRONG: Color32 = Color32::from_rgb(0x2f, 0x6f, 0xe0);
pub const LIVE: Color32 = Color32::from_rgb(0x3f, 0xc2, 0x7a);
pub const WARN: Color32 = Color32::from_rgb(0xe8, 0xb3, 0x4b);
pub const ERROR: Color32 = Color32::from_rgb(0xf0, 0x6a, 0x6a);
/// Interactive mode: the banner, the frame round the picture and the Release button.
pub const CONTROL: Color32 = Color32::from_rgb(0xff, 0x8a, 0x3d);
/// Text on [`CONTROL`].
pub const ON_CONTROL: Color32 = Color32::from_rgb(0x1a, 0x10, 0x08);
/// A task waiting for a person: the prompt pane's frame and title, prompt lines in the log.
pub const ATTENTION: Color32 = Color32::from_rgb(0xc9, 0x8b, 0xff);
/// Behind the prompt pane.
pub const ATTENTION_BG: Color32 = Color32::from_rgb(0x2a, 0x20, 0x3a);
/// Behind a prompt's line in the log.
pub const ATTENTION_ROW: Color32 = Color32::from_rgb(0x2b, 0x21, 0x3b);
/// Behind an answer's line in the log.
pub const ANSWER_ROW: Color32 = Color32::from_rgb(0x1b, 0x26, 0x3a);
/// Behind the selected log line.
pub const SELECTED_ROW: Color32 = Color32::from_rgb(0x22, 0x3a, 0x63);
/// Behind the log line under the pointer.
pub const HOVER_ROW: Color32 = Color32::from_rgb(0x1f, 0x23, 0x2b);
/// Behind search hits in the log.
pub const SEARCH_HIT: Color32 = Color32::from_rgb(0x8a, 0x62, 0x10);
/// `sender → recipient:` on agents' log lines (egui's default fonts have no bold: a
/// colour of its own sets them apart).
pub const LOG_SPEAKER: Color32 = Color32::from_rgb(0x9f, 0xc6, 0xff);
/// Tool calls in the log.
pub const LOG_TOOL: Color32 = Color32::from_rgb(0x6f, 0xd3, 0xc6);
/// Messages shown as sent (not understood): dimmer than [`TEXT_WEAK`].
pub const LOG_RAW: Color32 = Color32::from_rgb(0x6b, 0x71, 0x7d);
/// An expanded line's folded detail (a tool call's arguments).
pub const LOG_DETAIL: Color32 = Color32::from_rgb(0xb4, 0xbc, 0xc8);
/// Behind an expanded line's detail rows.
pub const DETAIL_ROW: Color32 = Color32::from_rgb(0x13, 0x15, 0x19);
/// Laid over the picture to dim it under an overlay (to about a third of its brightness).
pub const DIM: Color32 = Color32::from_black_alpha(165);

const WIDGET_IDLE: Color32 = Color32::from_rgb(0x26, 0x2a, 0x33);
const WIDGET_HOVER: Color32 = Color32::from_rgb(0x30, 0x35, 0x40);
const WIDGET_PRESS: Color32 = Color32::from_rgb(0x3a, 0x40, 0x4d);

/// The colour of a state's dot in the status line and the overlay.
pub fn state_color(state: &SessionState) -> Color32 {
    match state {
        SessionState::Live(_) => LIVE,
        SessionState::Loading
        | SessionState::WaitingForTask { .. }
        | SessionState::Connecting { .. } => ACCENT,
        SessionState::Reconnecting { .. } => WARN,
        SessionState::Ended { .. } => TEXT_WEAK,
        SessionState::Failed { .. } => ERROR,
    }
}

/// Installs the dark style on `ctx` and makes it the only theme.
pub fn apply(ctx: &egui::Context) {
    ctx.set_theme(Theme::Dark);
    ctx.style_mut_of(Theme::Dark, |style| {
        style.visuals = visuals();
        style.spacing.item_spacing = vec2(8.0, 6.0);
        style.spacing.button_padding = vec2(10.0, 4.0);
        style.spacing.menu_margin = Margin::same(6);
    });
}

fn visuals() -> Visuals {
    let mut v = Visuals::dark();
    let radius = CornerRadius::same(5);
    v.panel_fill = CHROME;
    v.window_fill = CARD;
    v.window_stroke = Stroke::new(1.0, CARD_EDGE);
    v.window_corner_radius = CornerRadius::same(10);
    v.menu_corner_radius = CornerRadius::same(8);
    v.window_shadow = Shadow {
        offset: [0, 6],
        blur: 18,
        spread: 0,
        color: Color32::from_black_alpha(110),
    };
    v.popup_shadow = v.window_shadow;
    v.extreme_bg_color = BACKDROP;
    v.faint_bg_color = CARD;
    v.hyperlink_color = ACCENT;
    v.error_fg_color = ERROR;
    v.warn_fg_color = WARN;
    v.selection.bg_fill = ACCENT_STRONG;
    v.selection.stroke = Stroke::new(1.0, Color32::WHITE);

    let w = &mut v.widgets;
    w.noninteractive.bg_fill = CHROME;
    w.noninteractive.weak_bg_fill = CHROME;
    w.noninteractive.bg_stroke = Stroke::new(1.0, CARD_EDGE);
    w.noninteractive.fg_stroke = Stroke::new(1.0, TEXT);
    for (state, fill) in [
        (&mut w.inactive, WIDGET_IDLE),
        (&mut w.hovered, WIDGET_HOVER),
        (&mut w.active, WIDGET_PRESS),
        (&mut w.open, WIDGET_HOVER),
    ] {
        state.bg_fill = fill;
        state.weak_bg_fill = fill;
        state.bg_stroke = Stroke::NONE;
        state.corner_radius = radius;
        state.expansion = 0.0;
    }
    w.inactive.fg_stroke = Stroke::new(1.0, TEXT);
    w.hovered.fg_stroke = Stroke::new(1.0, Color32::WHITE);
    w.active.fg_stroke = Stroke::new(1.0, Color32::WHITE);
    w.hovered.bg_stroke = Stroke::new(1.0, CARD_EDGE);
    v
}
