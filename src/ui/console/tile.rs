//! One task on the console's wall: a live thumbnail of its picture (or the tail of its
//! log, for a task that has only a log), its name and state, its latest log line, the REC
//! mark, and a "needs you" badge with the time left to answer. The tile that is selected
//! and needs you shows the question with an answer box instead of its picture.

use std::time::Duration;

use egui::{
    Color32, ColorImage, CornerRadius, FontId, Rect, RichText, Sense, Stroke, TextureHandle,
    TextureOptions, Ui, pos2, vec2,
};

use super::super::app::{ViewerApp, shown};
use super::super::prompt_panel::time_left_text;
use super::super::theme;
use crate::core::event::SessionState;
use crate::core::frame::FrameSlot;

/// How often a tile's picture is made again, at most: tiles are glances, not views.
pub const THUMBNAIL_EVERY: Duration = Duration::from_millis(250);
/// How often a task whose tile is scrolled off the wall is asked for a picture: its
/// tile shows a fresh one within this long of coming back.
pub const OFF_SCREEN_EVERY: Duration = Duration::from_secs(2);

/// The pace of a task on the wall, its tile on screen or not.
pub fn pace(on_screen: bool) -> Duration {
    if on_screen {
        THUMBNAIL_EVERY
    } else {
        OFF_SCREEN_EVERY
    }
}

/// The largest thumbnail made, in pixels (a lone tile in a large window).
const MAX_THUMBNAIL: [u32; 2] = [1920, 1080];
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

/// A tile's picture, made small from the task's frame slot a few times a second.
#[derive(Default)]
pub struct Thumbnail {
    texture: Option<TextureHandle>,
    /// The slot's update count the texture shows.
    seq: u64,
    /// The wall's tick it was made in.
    made: Option<u64>,
    /// The size made last, in pixels.
    output: [u32; 2],
    packed: Vec<u8>,
    /// How many times it was made.
    pub times_made: u64,
}

impl Thumbnail {
    /// Makes the picture again, at most `bound` pixels, when the slot has a newer one (or
    /// the tile changed size), once per `tick` of the wall (a [`THUMBNAIL_EVERY`]: every
    /// tile is made in the same frame, so a wall of them draws four frames a second, not
    /// four per tile). True when a newer picture waits for the next tick.
    pub fn update(&mut self, ui: &Ui, slot: &FrameSlot, bound: [u32; 2], tick: u64) -> bool {
        let bound = [
            bound[0].min(MAX_THUMBNAIL[0]),
            bound[1].min(MAX_THUMBNAIL[1]),
        ];
        let resized = slot
            .size()
            .is_some_and(|size| fit(size, bound) != self.output);
        if self.texture.is_some() && slot.seq() == self.seq && !resized {
            return false;
        }
        if self.made == Some(tick) {
            return true;
        }
        let made = slot.peek(|fb, seq| {
            let output = fit([fb.width(), fb.height()], bound);
            if output[0] == 0 || output[1] == 0 {
                return None;
            }
            shrink(fb, output, &mut self.packed);
            let size = [output[0] as usize, output[1] as usize];
            Some((ColorImage::from_rgba_premultiplied(size, &self.packed), seq))
        });
        let Some(Some((image, seq))) = made else {
            return false;
        };
        self.output = [image.width() as u32, image.height() as u32];
        self.seq = seq;
        self.made = Some(tick);
        self.times_made += 1;
        match &mut self.texture {
            Some(t) => t.set(image, TextureOptions::LINEAR),
            None => {
                let name = format!("lookout_tile_{seq}_{:p}", self);
                self.texture = Some(ui.ctx().load_texture(name, image, TextureOptions::LINEAR));
            }
        }
        false
    }
}

/// `fb` made `out` pixels (no larger than it) into `rgba`: each pixel the mean of eight
/// samples spread over the area it stands for. A glance, not a view: for a tile a
/// fifteenth of the work of averaging the whole area (the window's box filter), which for
/// a wall of tiles a few times a second is the difference between a little of a core and
/// all of it (measured: the box filter took the UI thread to 100 % with 16 tiles).
pub fn shrink(fb: &crate::core::frame::Framebuffer, out: [u32; 2], rgba: &mut Vec<u8>) {
    let [sw, sh] = [fb.width() as usize, fb.height() as usize];
    let [ow, oh] = [out[0] as usize, out[1] as usize];
    rgba.clear();
    if sw == 0 || sh == 0 || ow == 0 || oh == 0 {
        return;
    }
    // The sample at a quarter and three quarters across each output pixel's area.
    let at = |o: usize, len: usize, n: usize, q: usize| ((4 * o + q) * len / (4 * n)).min(len - 1);
    // Each sample is a pair of neighbouring pixels across, so that lines one pixel wide
    // (text, borders) count as they should.
    let xs: Vec<[usize; 4]> = (0..ow)
        .map(|x| {
            // The source columns of this output pixel's area: the quarter sample pairs
            // with its right neighbour, the three-quarter one with its left, inside it.
            let first = x * sw / ow;
            let last = ((x + 1) * sw / ow).clamp(first + 1, sw) - 1;
            let (q1, q3) = (at(x, sw, ow, 1), at(x, sw, ow, 3));
            [q1, (q1 + 1).min(last), q3.saturating_sub(1).max(first), q3].map(|c| c * 4)
        })
        .collect();
    let px = fb.pixels();
    let row = sw * 4;
    rgba.resize(ow * oh * 4, 255);
    for (y, out) in rgba.chunks_exact_mut(ow * 4).enumerate() {
        let (a, b) = (at(y, sh, oh, 1) * row, at(y, sh, oh, 3) * row);
        let (ra, rb) = (&px[a..a + row], &px[b..b + row]);
        for (o, &[x0, x1, x2, x3]) in out.chunks_exact_mut(4).zip(&xs) {
            for c in 0..3 {
                let at = |r: &[u8], x: usize| u32::from(r[x + c]);
                let sum = at(ra, x0)
                    + at(ra, x1)
                    + at(ra, x2)
                    + at(ra, x3)
                    + at(rb, x0)
                    + at(rb, x1)
                    + at(rb, x2)
                    + at(rb, x3);
                o[c] = ((sum + 4) / 8) as u8;
            }
        }
    }
}

/// `source` made to fit in `bound`, keeping its shape; never larger than it is.
pub fn fit(source: [u32; 2], bound: [u32; 2]) -> [u32; 2] {
    let [w, h] = source;
    if w == 0 || h == 0 {
        return [0, 0];
    }
    let scale = (f64::from(bound[0]) / f64::from(w))
        .min(f64::from(bound[1]) / f64::from(h))
        .min(1.0);
    [
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    ]
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
        stale = thumbnail.update(ui, picture.frames(), bound, tick);
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
    let shown_at = Rect::from_center_size(body.center(), vec2(w * scale, h * scale));
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
    fn a_thumbnail_averages_what_each_pixel_stands_for() {
        let mut fb = crate::core::frame::Framebuffer::new(8, 4).unwrap();
        fb.fill_rect(crate::core::frame::Rect::new(0, 0, 4, 4), [200, 0, 0, 255])
            .unwrap();
        fb.fill_rect(crate::core::frame::Rect::new(4, 0, 4, 4), [0, 0, 100, 255])
            .unwrap();
        let mut out = Vec::new();
        shrink(&fb, [2, 1], &mut out);
        assert_eq!(out, [200, 0, 0, 255, 0, 0, 100, 255]);
        // Fine stripes come out as their mean.
        for x in 0..8 {
            let v = if x % 2 == 0 { 0 } else { 200 };
            fb.fill_rect(crate::core::frame::Rect::new(x, 0, 1, 4), [v, v, v, 255])
                .unwrap();
        }
        shrink(&fb, [2, 2], &mut out);
        assert!(out.chunks(4).all(|p| p == [100, 100, 100, 255]), "{out:?}");
        // Its own size: the picture as it is.
        shrink(&fb, [8, 4], &mut out);
        assert_eq!(
            out,
            fb.pixels()
                .chunks(4)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn fit_keeps_the_shape_and_never_enlarges() {
        assert_eq!(fit([1920, 1080], [480, 270]), [480, 270]);
        assert_eq!(fit([1280, 1024], [480, 270]), [338, 270]);
        assert_eq!(fit([320, 240], [480, 270]), [320, 240]);
        assert_eq!(fit([0, 10], [480, 270]), [0, 0]);
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
