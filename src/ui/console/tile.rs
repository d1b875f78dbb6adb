//! One task on the console's wall: a live thumbnail of its picture (or the tail of its
//! log, for a task that has only a log), its name and state, its latest log line, the REC
//! mark, and a "needs you" badge with the time left to answer. The tile that is selected
//! and needs you shows the question with an answer box instead of its picture.

use std::time::Duration;

use egui::emath::GuiRounding as _;
use egui::{Color32, CornerRadius, FontId, Rect, RichText, Sense, Stroke, Ui, pos2, vec2};

use super::super::app::{ViewerApp, shown};
use super::super::prompt_panel::time_left_text;
use super::super::theme;
use super::thumbnail::{Thumbnail, Thumbnailer};
use crate::core::event::SessionState;

/// How often a tile's picture is made again, at most: tiles are glances, not views.
pub const THUMBNAIL_EVERY: Duration = Duration::from_millis(250);
/// How often a task whose tile is scrolled off the wall is asked for a picture: its
/// tile shows a fresh one within this long of coming back.
pub const OFF_SCREEN_EVERY: Duration = Duration::from_secs(2);

/// Where the wall's ticks count from: one clock for the whole process, so that what
/// wakes the window for news of a task can wake it at the same tick as the pictures.
fn epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// The wall's tick now: a count of [`THUMBNAIL_EVERY`]s.
pub fn tick() -> u64 {
    let every = THUMBNAIL_EVERY.as_millis();
    u64::try_from(epoch().elapsed().as_millis() / every).unwrap_or(u64::MAX)
}

/// How long until the next tick begins. The wall draws its news and its new pictures at
/// the ticks, together: a wall of 64 tasks then draws four or five frames a second rather
/// than one for each task's news, and its software renderer's work falls with them.
pub fn until_next_tick() -> Duration {
    let every = THUMBNAIL_EVERY.as_millis();
    let since = epoch().elapsed().as_millis();
    // A millisecond into the tick, so that the frame is surely in it.
    Duration::from_millis((every - since % every) as u64 + 1)
}

/// The pace of a task on the wall, its tile on screen or not.
pub fn pace(on_screen: bool) -> Duration {
    if on_screen {
        THUMBNAIL_EVERY
    } else {
        OFF_SCREEN_EVERY
    }
}

/// The height of a tile's name row and of its last-line row.
const ROW: f32 = 22.0;
/// Height the "Needs you" badge takes from the top of a tile's body.
const BADGE_ROOM: f32 = 24.0;
/// The space between tiles.
pub const GAP: f32 = 8.0;
/// The narrowest a tile gets; past it the wall scrolls.
pub const MIN_TILE_WIDTH: f32 = 220.0;

/// What the operator did to a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileAction {
    /// Clicked: select it.
    Select,
    /// Double-clicked: open it full-size.
    Open,
    /// Pin or unpin it.
    TogglePin,
    /// Stop watching it.
    Remove,
}

/// How a wall of `n` tiles is laid out in `area`: its columns and each tile's size. Tiles
/// are as large as they can be with every one on screen, their pictures 16:9 under a name
/// row and over a line row; when even the narrowest do not fit, they are
/// [`MIN_TILE_WIDTH`] wide and the wall scrolls.
pub fn grid(n: usize, area: egui::Vec2) -> (usize, egui::Vec2) {
    let n = n.max(1);
    let height_of = |w: f32| w * 9.0 / 16.0 + 2.0 * ROW;
    let mut best: Option<(usize, egui::Vec2)> = None;
    for cols in 1..=n {
        let rows = n.div_ceil(cols);
        let by_width = (area.x - GAP * (cols as f32 - 1.0)) / cols as f32;
        let by_height = {
            let h = (area.y - GAP * (rows as f32 - 1.0)) / rows as f32;
            (h - 2.0 * ROW) * 16.0 / 9.0
        };
        let w = by_width.min(by_height);
        if w >= MIN_TILE_WIDTH && best.is_none_or(|(_, b)| w > b.x) {
            best = Some((cols, vec2(w, height_of(w))));
        }
    }
    best.unwrap_or_else(|| {
        let cols = (((area.x + GAP) / (MIN_TILE_WIDTH + GAP)).floor() as usize).clamp(1, n);
        let w = ((area.x - GAP * (cols as f32 - 1.0)) / cols as f32).max(MIN_TILE_WIDTH);
        (cols, vec2(w, height_of(w)))
    })
}

/// The word and colour of a task's state on its tile.
pub fn state_word(state: &SessionState) -> (&'static str, Color32) {
    match state {
        SessionState::Loading | SessionState::Connecting { .. } => ("connecting", theme::WARN),
        SessionState::WaitingForTask { .. } => ("queued", theme::TEXT_WEAK),
        SessionState::Live(_) => ("live", theme::LIVE),
        SessionState::Reconnecting { .. } => ("reconnecting", theme::WARN),
        SessionState::Ended {
            task_failed: true, ..
        } => ("failed", theme::ERROR),
        SessionState::Ended { .. } => ("ended", theme::TEXT_WEAK),
        // Lookout could not watch it (the task itself may be fine).
        SessionState::Failed { .. } => ("error", theme::ERROR),
    }
}

/// What a tile shows of its task this frame.
pub struct TileView<'a> {
    /// The tile's own id (its task's place), for its clicks.
    pub id: egui::Id,
    pub app: &'a mut ViewerApp,
    pub thumbnail: &'a mut Thumbnail,
    pub selected: bool,
    pub pinned: bool,
    /// The task waits for an answer.
    pub needs_you: bool,
    /// The wall's thumbnail tick ([`Thumbnail::update`]).
    pub tick: u64,
    /// Who makes the thumbnails.
    pub maker: &'a mut Thumbnailer,
}

/// What a tile drawn says back.
#[derive(Default)]
pub struct TileOutcome {
    pub action: Option<TileAction>,
    /// Its picture has news for the next tick.
    pub stale: bool,
}

/// Draws a tile in `rect`; what the operator did to it, if anything.
pub fn tile_ui(ui: &mut Ui, rect: Rect, tile: TileView<'_>) -> TileOutcome {
    let TileView {
        id,
        app,
        thumbnail,
        selected,
        pinned,
        needs_you,
        tick,
        maker,
    } = tile;
    let mut stale = false;
    let title = app.title().to_string();
    let response = ui.interact(rect, id, Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Button, true, format!("{title} tile"))
    });
    let state = app.state().clone();
    let (word, colour) = state_word(&state);
    let over = matches!(
        state,
        SessionState::Ended { .. } | SessionState::Failed { .. }
    );
    let painter = ui.painter_at(rect);
    let edge = if needs_you {
        Stroke::new(2.0, theme::ATTENTION)
    } else if selected {
        Stroke::new(2.0, theme::ACCENT)
    } else {
        Stroke::new(1.0, theme::CARD_EDGE)
    };
    painter.rect_filled(rect, CornerRadius::same(6), theme::CARD);

    // The name row: state dot and word, name; REC; Pin and Remove on the tile under the
    // pointer or the keyboard. The buttons are laid out first, the name takes the rest.
    let name_row = Rect::from_min_size(rect.min, vec2(rect.width(), ROW));
    let mut row = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(name_row.shrink2(vec2(6.0, 2.0)))
            .layout(egui::Layout::right_to_left(egui::Align::Center)),
    );
    let mut action = None;
    let hovered = ui.rect_contains_pointer(rect);
    if hovered || selected || pinned {
        if (hovered || selected)
            && row
                .small_button("Remove")
                .on_hover_text("Stop watching this task")
                .clicked()
        {
            action = Some(TileAction::Remove);
        }
        let pin = if pinned { "Unpin" } else { "Pin" };
        if row
            .small_button(pin)
            .on_hover_text("Pinned tasks keep their place at the front")
            .clicked()
        {
            action = Some(TileAction::TogglePin);
        }
    }
    if app.recording().is_some_and(|r| !r.is_paused()) {
        row.label(RichText::new("REC").color(theme::ERROR).small().strong());
    }
    row.with_layout(egui::Layout::left_to_right(egui::Align::Center), |row| {
        let (dot, _) = row.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
        row.painter().circle_filled(dot.center(), 4.0, colour);
        row.label(RichText::new(word).color(colour).small());
        let name_colour = if over { theme::TEXT_WEAK } else { theme::TEXT };
        row.add(
            egui::Label::new(RichText::new(shown(&title)).color(name_colour).strong()).truncate(),
        );
    });

    // The body: the question (selected and waiting), the picture, or the log's tail.
    let body = Rect::from_min_max(
        pos2(rect.left() + 4.0, rect.top() + ROW),
        pos2(rect.right() - 4.0, rect.bottom() - ROW),
    );
    if needs_you && selected && app.log().is_some() {
        let mut inner = ui.new_child(egui::UiBuilder::new().max_rect(body.shrink(4.0)));
        egui::ScrollArea::vertical()
            .id_salt(("tile_prompt", id))
            .show(&mut inner, |ui| {
                if let Some(log) = app.log_mut() {
                    log.prompt_ui(ui);
                }
            });
    } else if let Some(picture) = app.picture() {
        let ppp = ui.pixels_per_point();
        let bound = [(body.width() * ppp) as u32, (body.height() * ppp) as u32];
        stale = thumbnail.update(ui, picture.frames(), bound, tick, maker);
        picture_ui(ui, body, thumbnail, over);
    } else if let Some(log) = app.log() {
        // Below the badge when there is one. Monospace: the proportional font has no
        // arrows, and agent messages read `sender → recipient`.
        let top = if needs_you { BADGE_ROOM } else { 0.0 };
        let rows = if needs_you { 5 } else { 6 };
        let area = Rect::from_min_max(body.min + vec2(0.0, top), body.max).shrink(6.0);
        let mut inner = ui.new_child(egui::UiBuilder::new().max_rect(area));
        for line in log.tail(rows) {
            inner.add(
                egui::Label::new(
                    RichText::new(shown(&line))
                        .font(FontId::monospace(10.0))
                        .color(theme::TEXT_WEAK),
                )
                .truncate(),
            );
        }
    }
    let answering = needs_you && selected;
    // Why a task is not live: over its picture (or where a log without lines would be),
    // else in the last row, in place of the latest line.
    let why = (!(matches!(state, SessionState::Live(_)) || answering)).then(|| {
        let text = match &state {
            SessionState::Failed { error } => error.message.clone(),
            SessionState::Ended { reason, .. } => reason.clone(),
            other => other.label().to_string(),
        };
        let text = shown(&text);
        match text.char_indices().nth(80) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    });
    let latest = app.log().and_then(|l| l.tail(1).pop());
    let body_free = app.picture().is_some() || latest.is_none();
    let (centre, last) = match why {
        Some(why) if body_free => (Some(why), latest.map(|l| (shown(&l), theme::TEXT_WEAK))),
        Some(why) => (None, Some((why, colour))),
        None => (None, latest.map(|l| (shown(&l), theme::TEXT_WEAK))),
    };
    if let Some(text) = centre {
        let place = Rect::from_center_size(body.center(), vec2(body.width() - 16.0, 40.0));
        ui.put(
            place,
            egui::Label::new(RichText::new(text).color(colour)).wrap(),
        );
    }

    // The last row: the latest log line (or why the task is not live).
    let last_row = Rect::from_min_max(pos2(rect.left(), rect.bottom() - ROW), rect.max);
    if let Some((text, text_colour)) = last {
        let mut row = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(last_row.shrink2(vec2(6.0, 2.0)))
                .layout(egui::Layout::left_to_right(egui::Align::Center)),
        );
        row.add(
            egui::Label::new(
                RichText::new(text)
                    .font(FontId::monospace(10.0))
                    .color(text_colour),
            )
            .truncate(),
        );
    }

    if needs_you {
        badge(ui, rect, app);
    }
    painter.rect_stroke(rect, CornerRadius::same(6), edge, egui::StrokeKind::Inside);
    let action = if response.double_clicked() {
        Some(TileAction::Open)
    } else if response.clicked() {
        Some(action.unwrap_or(TileAction::Select))
    } else {
        action
    };
    TileOutcome { action, stale }
}

/// The thumbnail, letterboxed in `body` (dimmed when the task is over).
fn picture_ui(ui: &Ui, body: Rect, thumbnail: &Thumbnail, over: bool) {
    let Some(texture) = &thumbnail.texture else {
        return;
    };
    // Letterboxed at the picture's own shape (a picture smaller than the tile is
    // stretched to it).
    let [w, h] = texture.size().map(|v| (v as f32).max(1.0));
    let scale = (body.width() / w).min(body.height() / h);
    // On whole pixels: the picture is made at the tile's size and sampled pixel for pixel.
    let shown_at = Rect::from_center_size(body.center(), vec2(w * scale, h * scale))
        .round_to_pixels(ui.pixels_per_point());
    let tint = if over {
        Color32::from_gray(110)
    } else {
        Color32::WHITE
    };
    ui.painter().image(
        texture.id(),
        shown_at,
        Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
        tint,
    );
}

/// "Needs you", with the time left to answer when known, over the tile's top right.
fn badge(ui: &mut Ui, rect: Rect, app: &ViewerApp) {
    let left = app.log().and_then(|l| l.time_left());
    let text = match left {
        Some(left) => format!("Needs you · {}", time_left_text(left)),
        None => "Needs you".to_string(),
    };
    if left.is_some() {
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
    let galley =
        ui.painter()
            .layout_no_wrap(text.clone(), FontId::proportional(12.0), theme::ON_CONTROL);
    let size = galley.size() + vec2(14.0, 6.0);
    let pill = Rect::from_min_size(
        pos2(rect.right() - size.x - 8.0, rect.top() + ROW + 6.0),
        size,
    );
    ui.painter()
        .rect_filled(pill, CornerRadius::same(10), theme::ATTENTION);
    ui.put(
        pill,
        egui::Label::new(
            RichText::new(text)
                .font(FontId::proportional(12.0))
                .color(theme::ON_CONTROL),
        )
        .selectable(false),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_waits_for_the_next_tick_and_no_longer() {
        let before = tick();
        let wait = until_next_tick();
        assert!(wait > Duration::ZERO && wait <= THUMBNAIL_EVERY + Duration::from_millis(1));
        std::thread::sleep(wait);
        assert!(tick() > before);
    }

    #[test]
    fn the_grid_shows_every_tile_as_large_as_it_can() {
        // One task fills the width of a wide window.
        let (cols, size) = grid(1, vec2(1280.0, 800.0));
        assert_eq!(cols, 1);
        assert!((size.y - (1280.0 * 9.0 / 16.0 + 2.0 * ROW)).abs() < 0.5 || size.y <= 800.0);
        // Sixteen in a 1280×800 window: four by four, all on screen.
        let (cols, size) = grid(16, vec2(1280.0, 800.0));
        assert_eq!(cols, 4);
        assert!(size.y * 4.0 + GAP * 3.0 <= 800.5, "{size:?}");
        // A tall narrow window stacks them.
        let (cols, _) = grid(4, vec2(500.0, 1600.0));
        assert_eq!(cols, 1);
        // Sixty-four in a small window: the narrowest tiles, and the wall scrolls.
        let (cols, size) = grid(64, vec2(900.0, 600.0));
        assert_eq!(cols, 3);
        assert!(size.x >= MIN_TILE_WIDTH);
    }
}
