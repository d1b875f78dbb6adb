//! The log pane: a task's [`TaskLog`] as a list that follows the newest line, with search,
//! a level filter, folded tool calls and copying.
//!
//! [`LogPanel::ui`] draws into whatever space it is given, each frame, from the log as it
//! is then; the pane keeps only view state (where it is scrolled, what is searched, which
//! lines are expanded or selected). It is built to stay smooth at the log's 200,000-line
//! cap:
//! - every row is one line of monospace text of one height, so only the rows in view are
//!   laid out; what a line folds away (more lines of text, a tool call's arguments) is
//!   shown as extra rows when the line is expanded;
//! - the lines that pass the filter are kept in an index by [`LogLine::seq`] (which
//!   survives the log dropping its oldest lines) and extended with the lines appended
//!   since the last frame; only a change of filter re-reads the log, and typing more of a
//!   search word only re-reads the lines that matched ([`LineSet`]).
//!
//! **Following.** The pane keeps the newest line in view as lines arrive until the user
//! scrolls up (wheel, scroll bar, a search jump or selecting a line with the keyboard);
//! a "↓ Follow" button, reading "↓ N new lines" when lines arrived meanwhile, or scrolling
//! back to the bottom, or End, resumes it.
//!
//! **Keys.** Ctrl+F (⌘F) focuses the search box; in it Enter and Shift+Enter go to the next
//! and previous match and Esc clears it. After a click on a line (and while no text box has
//! the keyboard): Ctrl+C copies that line, ↑/↓ move the selection, →/← expand and collapse
//! it, End follows the tail, Home goes to the top, Esc deselects.
//!
//! Times are shown as `HH:MM:SS` in UTC, the zone the providers log in.

mod index;
mod row;

use std::collections::BTreeMap;

use egui::{
    Align, Color32, FontId, Id, IdSalt, Key, KeyboardShortcut, Layout, Modifiers, Rect, RichText,
    ScrollArea, Sense, TextStyle, Ui, pos2, vec2,
};

pub use index::{FilterKey, LineSet, MinLevel, Needle, Severity};
pub(crate) use row::printable;
use row::{Expansion, Part};

use super::theme;
use crate::core::source::tasklog::{LogLine, TaskLog};

/// Focuses the search box.
pub const SEARCH_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);
/// Most lines "Copy shown" puts on the clipboard (the newest ones).
pub const COPY_MAX_LINES: usize = 10_000;
/// Most bytes "Copy shown" puts on the clipboard.
pub const COPY_MAX_BYTES: usize = 4 << 20;
/// Most lines expanded at once; expanding another folds the oldest.
const MAX_EXPANDED_LINES: usize = 100;
/// Longest search text, in characters.
const MAX_SEARCH_CHARS: usize = 256;
/// Space left of each row for the fold arrow.
const FOLD_COLUMN: f32 = 16.0;
/// How much further than the line's text its sub-rows are indented, in characters.
const SUB_INDENT_CHARS: f32 = 2.0;

/// What one frame of the pane showed, for the caller (a status line, tests, benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogPanelResponse {
    /// Lines that pass the level filter (and, when only matching lines are shown, the
    /// search).
    pub shown_lines: usize,
    /// Lines matching the search (within the level filter), when something is searched.
    pub matches: Option<usize>,
    /// Whether the pane keeps the newest line in view.
    pub following: bool,
    /// Rows laid out this frame: the ones in view, plus at most one.
    pub rows_laid_out: usize,
    /// Whether text was put on the clipboard this frame.
    pub copied: bool,
}

/// A task's log pane. Keep one per log, and call [`LogPanel::ui`] every frame the pane is
/// visible.
#[derive(Debug)]
pub struct LogPanel {
    id_salt: IdSalt,
    follow: bool,
    /// When following paused: the log's end then (lines numbered from it are new).
    paused_at: u64,
    search: String,
    /// Show only matching lines (else all lines, matches marked).
    only_matching: bool,
    min_level: MinLevel,
    show_times: bool,
    /// The lines shown.
    shown: LineSet,
    /// The lines matching the search, while all lines are shown.
    matches: LineSet,
    expanded: BTreeMap<u64, Expansion>,
    selected: Option<u64>,
    /// A line was clicked, and nothing was clicked outside the pane since: keys act on
    /// the selection.
    active: bool,
    focus_search: bool,
    /// A line to bring into view next frame.
    reveal: Option<Reveal>,
    /// Where the list was scrolled last frame, and the height in view.
    last_offset: f32,
    last_view_h: f32,
    /// The first line in view last frame (where a search starts).
    last_top_seq: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reveal {
    /// Centre the line (a search result).
    Center(u64),
    /// Scroll just enough to show it (keyboard selection).
    Show(u64),
    Top,
}

/// What the user did to a row this frame, applied after the list is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowAction {
    Select(u64),
    Toggle(u64),
    CopyLine(u64),
    CopyShown,
}

/// Where each row of the list comes from: lines of the [`LineSet`] and, after each
/// expanded one, its sub-rows.
struct Rows {
    shown: usize,
    /// Expanded lines in view of the filter: (position in the set, seq, sub-rows), by
    /// position.
    folds: Vec<(usize, u64, usize)>,
}

impl Rows {
    fn total(&self) -> usize {
        self.shown + self.folds.iter().map(|f| f.2).sum::<usize>()
    }

    /// Row → (position in the set, sub-row; 0 is the line's main row).
    fn locate(&self, row: usize) -> (usize, usize) {
        let mut before = 0;
        for &(pos, _, extra) in &self.folds {
            let main = pos + before;
            if row <= main {
                break;
            }
            if row <= main + extra {
                return (pos, row - main);
            }
            before += extra;
        }
        (row - before, 0)
    }

    /// The main row of the line at `pos` in the set.
    fn row_of(&self, pos: usize) -> usize {
        pos + self
            .folds
            .iter()
            .take_while(|f| f.0 < pos)
            .map(|f| f.2)
            .sum::<usize>()
    }
}

impl Default for LogPanel {
    fn default() -> Self {
        LogPanel::new()
    }
}

impl LogPanel {
    pub fn new() -> Self {
        LogPanel {
            id_salt: IdSalt::new("lookout_log_panel"),
            follow: true,
            paused_at: 0,
            search: String::new(),
            only_matching: true,
            min_level: MinLevel::All,
            show_times: true,
            shown: LineSet::default(),
            matches: LineSet::default(),
            expanded: BTreeMap::new(),
            selected: None,
            active: false,
            focus_search: false,
            reveal: None,
            last_offset: 0.0,
            last_view_h: 0.0,
            last_top_seq: None,
        }
    }

    /// Distinguishes this pane's widgets from another log pane's in the same `Ui` (a wall
    /// of tasks): give each a different salt.
    pub fn with_id_salt(mut self, salt: impl std::hash::Hash + std::fmt::Debug) -> Self {
        self.id_salt = IdSalt::new(("lookout_log_panel", salt));
        self
    }

    /// Whether the newest line is kept in view.
    pub fn is_following(&self) -> bool {
        self.follow
    }

    /// Keeps the newest line in view again (the "↓ Follow" button).
    pub fn follow(&mut self) {
        self.follow = true;
        self.reveal = None;
    }

    /// The search text.
    pub fn search(&self) -> &str {
        &self.search
    }

    /// Sets the search text (cut to 256 characters).
    pub fn set_search(&mut self, text: &str) {
        self.search = text.chars().take(MAX_SEARCH_CHARS).collect();
    }

    /// Show only the lines that match the search (true, the default), or all lines with
    /// the matches marked.
    pub fn set_only_matching(&mut self, only: bool) {
        self.only_matching = only;
    }

    pub fn set_min_level(&mut self, level: MinLevel) {
        self.min_level = level;
    }

    /// Show each line's time (on by default).
    pub fn set_show_times(&mut self, show: bool) {
        self.show_times = show;
    }

    /// The selected line's [`LogLine::seq`].
    pub fn selected(&self) -> Option<u64> {
        self.selected
    }

    /// Whether the line numbered `seq` is expanded.
    pub fn is_expanded(&self, seq: u64) -> bool {
        self.expanded.contains_key(&seq)
    }

    /// Expands or folds the line numbered `seq` (no effect on a line that folds nothing).
    pub fn set_expanded(&mut self, log: &TaskLog, seq: u64, expanded: bool) {
        if !expanded {
            self.expanded.remove(&seq);
            return;
        }
        let Some(line) = log.get_seq(seq).filter(|l| row::is_foldable(l)) else {
            return;
        };
        if self.expanded.len() >= MAX_EXPANDED_LINES
            && !self.expanded.contains_key(&seq)
            && let Some(oldest) = self.expanded.keys().next().copied()
        {
            self.expanded.remove(&oldest);
        }
        self.expanded.insert(seq, Expansion::of(line));
    }

    /// Draws the pane in the space `ui` has left: a tool bar (search, level, options),
    /// then the lines.
    pub fn ui(&mut self, ui: &mut Ui, log: &TaskLog) -> LogPanelResponse {
        let id = ui.make_persistent_id(self.id_salt);
        let pane = ui.available_rect_before_wrap();
        let mut copied = false;
        if ui.input_mut(|i| i.consume_shortcut(&SEARCH_SHORTCUT)) {
            self.focus_search = true;
        }
        let clicked_outside = ui.input(|i| {
            i.pointer.any_pressed() && i.pointer.interact_pos().is_some_and(|p| !pane.contains(p))
        });
        if clicked_outside {
            self.active = false;
        }

        let jump = self.toolbar_ui(ui, id, log, &mut copied);
        let needle = Needle::new(&self.search);
        let shown_key = FilterKey {
            min_level: self.min_level,
            needle: needle.clone().filter(|_| self.only_matching),
        };
        self.shown.refresh(log, &shown_key);
        let match_key = FilterKey {
            min_level: self.min_level,
            needle: needle.clone(),
        };
        let separate_matches = needle.is_some() && match_key != shown_key;
        if separate_matches {
            self.matches.refresh(log, &match_key);
        } else {
            // Free the other index while it is not needed.
            self.matches = LineSet::default();
        }
        if let Some(forward) = jump {
            self.jump_to_match(log, forward, separate_matches);
        }
        self.status_ui(ui, log, needle.is_some(), separate_matches);

        let first = log.first_seq();
        self.expanded.retain(|&seq, _| seq >= first);
        if self.selected.is_some_and(|s| s < first) {
            self.selected = None;
        }
        let rows = self.rows(log);
        if self.active && ui.memory(|m| m.focused().is_none()) {
            copied |= self.keys(ui, log);
        }

        let font = TextStyle::Monospace.resolve(ui.style());
        let row_h = (ui.fonts_mut(|f| f.row_height(&font)) + 4.0).round();
        let view_h = ui.available_height();
        let total = rows.total();
        let content_h = total as f32 * row_h;
        let bottom = (content_h - view_h).max(0.0);
        let mut area = ScrollArea::vertical()
            .id_salt(id.with("rows"))
            .auto_shrink(false)
            .animated(false)
            .content_margin(egui::Margin::ZERO);
        let mut set_offset = self.revealed_offset(log, &rows, row_h, view_h, bottom);
        if set_offset.is_some() {
            self.follow = false;
            self.paused_at = log.end_seq();
        } else if self.follow {
            set_offset = Some(bottom);
        }
        if let Some(y) = set_offset {
            area = area.vertical_scroll_offset(y);
        }

        let (out, laid_out, actions) =
            self.rows_ui(ui, area, log, &rows, (id, &font, row_h), needle.as_ref());

        self.track_follow(&out, log, set_offset.is_some());
        if !self.follow {
            self.follow_button_ui(ui, &out, log);
        }

        for action in actions {
            copied |= self.apply(ui, log, action);
        }
        LogPanelResponse {
            shown_lines: self.shown.len(log),
            matches: needle
                .is_some()
                .then(|| self.match_set(separate_matches).len(log)),
            following: self.follow,
            rows_laid_out: laid_out,
            copied,
        }
    }

    /// Where to scroll so that the line asked for ([`Reveal`]) is in view, if anywhere.
    fn revealed_offset(
        &mut self,
        log: &TaskLog,
        rows: &Rows,
        row_h: f32,
        view_h: f32,
        bottom: f32,
    ) -> Option<f32> {
        let y_of = |seq| {
            let pos = self.shown.position(log, seq).ok()?;
            Some(rows.row_of(pos) as f32 * row_h)
        };
        match self.reveal.take()? {
            Reveal::Top => Some(0.0),
            Reveal::Center(seq) => {
                y_of(seq).map(|y| (y - (view_h - row_h) / 2.0).clamp(0.0, bottom))
            }
            Reveal::Show(seq) => {
                let y = y_of(seq)?;
                if y < self.last_offset {
                    Some(y)
                } else if y + row_h > self.last_offset + view_h {
                    Some((y + row_h - view_h).clamp(0.0, bottom))
                } else {
                    None
                }
            }
        }
    }

    /// Lays out only the rows in view; returns the scroll area's output, how many rows
    /// were laid out and what the operator did to them.
    fn rows_ui(
        &mut self,
        ui: &mut Ui,
        area: ScrollArea,
        log: &TaskLog,
        rows: &Rows,
        (id, font, row_h): (Id, &FontId, f32),
        needle: Option<&Needle>,
    ) -> (
        egui::scroll_area::ScrollAreaOutput<()>,
        usize,
        Vec<RowAction>,
    ) {
        let mut actions = Vec::new();
        let glyphs = if ui.fonts_mut(|f| f.has_glyphs(font, "▸▾")) {
            ["▸", "▾"]
        } else {
            [">", "v"]
        };
        // Sub-rows start under the line's text, past the time column ("HH:MM:SS  ").
        let char_w = ui.fonts_mut(|f| f.glyph_width(font, '0'));
        let time_chars = if self.show_times { 10.0 } else { 0.0 };
        let look = RowLook {
            id,
            font,
            glyphs,
            needle,
            sub_indent: (time_chars + SUB_INDENT_CHARS) * char_w,
        };
        let total = rows.total();
        let mut laid_out = 0;
        let mut top_seq = None;
        let out = ui
            .scope(|ui| {
                // No rubber band: the offset set above (the new bottom, as lines arrive) is
                // past last frame's end, which the band would take for an overscroll to
                // spring back from, over many frames.
                ui.spacing_mut().scroll.kinetic.rubber_band = false;
                area.show_viewport(ui, |ui, viewport| {
                    ui.set_height(total as f32 * row_h);
                    let origin = ui.max_rect().min;
                    let width = ui.max_rect().width().max(viewport.width());
                    let first_row = ((viewport.min.y / row_h).floor().max(0.0) as usize).min(total);
                    let end_row = ((viewport.max.y / row_h).ceil().max(0.0) as usize).min(total);
                    for r in first_row..end_row {
                        let rect = Rect::from_min_size(
                            pos2(origin.x, origin.y + r as f32 * row_h),
                            vec2(width, row_h),
                        );
                        let (pos, sub) = rows.locate(r);
                        let Some(line) = self.shown.seq_at(log, pos).and_then(|s| log.get_seq(s))
                        else {
                            continue;
                        };
                        top_seq.get_or_insert(line.seq);
                        laid_out += 1;
                        if sub == 0 {
                            self.main_row_ui(ui, rect, line, &look, &mut actions);
                        } else if let Some(exp) = self.expanded.get(&line.seq) {
                            self.sub_row_ui(ui, rect, line, exp, sub - 1, &look, &mut actions);
                        }
                    }
                })
            })
            .inner;
        self.last_top_seq = top_seq;
        (out, laid_out, actions)
    }

    /// Notices the user scrolling up (stop following) or back to the bottom (follow).
    fn track_follow(
        &mut self,
        out: &egui::scroll_area::ScrollAreaOutput<()>,
        log: &TaskLog,
        offset_was_set: bool,
    ) {
        let max_offset = (out.content_size.y - out.inner_rect.height()).max(0.0);
        let offset = out.state.clamped_offset().y;
        if self.follow && offset < max_offset - 1.0 {
            // The user scrolled up.
            self.follow = false;
            self.paused_at = log.end_seq();
        } else if !self.follow
            && !offset_was_set
            && offset != self.last_offset
            && offset >= max_offset - 1.0
        {
            // The user scrolled back to the bottom.
            self.follow = true;
        }
        self.last_offset = offset;
        self.last_view_h = out.inner_rect.height();
    }

    /// "↓ N new lines" (or "↓ Follow") over the bottom right of the lines.
    fn follow_button_ui(
        &mut self,
        ui: &mut Ui,
        out: &egui::scroll_area::ScrollAreaOutput<()>,
        log: &TaskLog,
    ) {
        let new = self.shown.count_from(log, self.paused_at);
        let text = if new > 0 {
            format!(
                "↓ {} new line{}",
                group(new as u64),
                if new == 1 { "" } else { "s" }
            )
        } else {
            "↓ Follow".to_string()
        };
        // Monospace: the proportional font has no arrows.
        let button = egui::Button::new(RichText::new(text).monospace().color(Color32::WHITE))
            .fill(theme::ACCENT_STRONG);
        let size = vec2(150.0, 26.0);
        let at = out.inner_rect.right_bottom() - size - vec2(18.0, 10.0);
        let clicked = ui
            .place(Rect::from_min_size(at, size), button)
            .on_hover_text("Keep the newest line in view (End)")
            .clicked();
        if clicked {
            self.follow();
            ui.ctx().request_repaint();
        }
    }

    fn match_set(&self, separate: bool) -> &LineSet {
        if separate { &self.matches } else { &self.shown }
    }

    /// The search box, its match arrows and the options. Returns a jump to ask for:
    /// `Some(true)` to the next match, `Some(false)` to the previous.
    fn toolbar_ui(
        &mut self,
        ui: &mut Ui,
        id: Id,
        log: &TaskLog,
        copied: &mut bool,
    ) -> Option<bool> {
        let mut jump = None;
        ui.horizontal_wrapped(|ui| {
            let shortcut = ui.ctx().format_shortcut(&SEARCH_SHORTCUT);
            let edit = egui::TextEdit::singleline(&mut self.search)
                .id(id.with("search"))
                .hint_text(format!("Search ({shortcut})"))
                .char_limit(MAX_SEARCH_CHARS)
                .desired_width(220.0);
            let response = ui.add(edit).on_hover_text(
                "Find lines containing this text (any case). \
                 Enter: next match, Shift+Enter: previous, Esc: clear",
            );
            if std::mem::take(&mut self.focus_search) {
                response.request_focus();
            }
            let (enter, escape, shift) = ui.input(|i| {
                (
                    i.key_pressed(Key::Enter),
                    i.key_pressed(Key::Escape),
                    i.modifiers.shift,
                )
            });
            let was_focused = response.has_focus() || response.lost_focus();
            if was_focused && escape {
                self.search.clear();
                response.surrender_focus();
            } else if response.lost_focus() && enter {
                jump = Some(!shift);
                response.request_focus();
            }
            if !self.search.is_empty() {
                if ui
                    .small_button(RichText::new("↑").monospace())
                    .on_hover_text("Previous match (Shift+Enter)")
                    .clicked()
                {
                    jump = Some(false);
                }
                if ui
                    .small_button(RichText::new("↓").monospace())
                    .on_hover_text("Next match (Enter)")
                    .clicked()
                {
                    jump = Some(true);
                }
            }
            ui.checkbox(&mut self.only_matching, "Only matching")
                .on_hover_text(
                    "Show only the lines that match; off: show every line, matches marked",
                );
            egui::ComboBox::from_id_salt(id.with("level"))
                .selected_text(self.min_level.label())
                .show_ui(ui, |ui| {
                    for level in MinLevel::CHOICES {
                        ui.selectable_value(&mut self.min_level, level, level.label());
                    }
                })
                .response
                .on_hover_text("The least severe lines shown");
            ui.checkbox(&mut self.show_times, "Times")
                .on_hover_text("Show when each line was logged (HH:MM:SS, UTC)");
            let copy = ui.button("Copy shown").on_hover_text(format!(
                "Copy the lines shown (the newest {} at most)",
                group(COPY_MAX_LINES as u64)
            ));
            if copy.clicked() {
                *copied |= self.apply(ui, log, RowAction::CopyShown);
            }
        });
        jump
    }

    /// Counts, and the dropped lines when there are any.
    fn status_ui(&self, ui: &mut Ui, log: &TaskLog, searching: bool, separate: bool) {
        let shown = self.shown.len(log);
        let weak = |t: String| RichText::new(t).color(theme::TEXT_WEAK);
        ui.horizontal(|ui| {
            if searching {
                let n = self.match_set(separate).len(log);
                let text = match n {
                    0 => "No matches".to_string(),
                    1 => "1 match".to_string(),
                    n => format!("{} matches", group(n as u64)),
                };
                let color = if n == 0 { theme::WARN } else { theme::TEXT };
                ui.label(RichText::new(text).color(color));
            }
            if shown == log.len() {
                ui.label(weak(format!("{} lines", group(shown as u64))));
            } else {
                ui.label(weak(format!(
                    "{} of {} lines shown",
                    group(shown as u64),
                    group(log.len() as u64)
                )));
            }
            if log.dropped() > 0 {
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    ui.label(
                        RichText::new(format!(
                            "{} older lines dropped (the log keeps the newest {} lines, {} MiB)",
                            group(log.dropped()),
                            group(log.config().max_lines as u64),
                            log.config().max_bytes >> 20
                        ))
                        .color(theme::WARN),
                    );
                });
            }
        });
    }

    /// Where each row comes from this frame.
    fn rows(&self, log: &TaskLog) -> Rows {
        let folds = self
            .expanded
            .iter()
            .filter_map(|(&seq, exp)| {
                let pos = self.shown.position(log, seq).ok()?;
                Some((pos, seq, exp.rows()))
            })
            .collect();
        Rows {
            shown: self.shown.len(log),
            folds,
        }
    }

    /// Moves the selection to the next (or previous) match, from the selection or else the
    /// top of the view, wrapping round.
    fn jump_to_match(&mut self, log: &TaskLog, forward: bool, separate: bool) {
        let set = self.match_set(separate);
        let len = set.len(log);
        if len == 0 {
            return;
        }
        let (anchor, from_selection) = match (self.selected, self.last_top_seq) {
            (Some(s), _) => (s, true),
            (None, Some(top)) => (top, false),
            (None, None) => (log.first_seq(), false),
        };
        let pos = if forward {
            let p = match set.position(log, anchor) {
                Ok(i) if from_selection => i + 1,
                Ok(i) | Err(i) => i,
            };
            if p >= len { 0 } else { p }
        } else {
            match set.position(log, anchor) {
                Ok(i) | Err(i) => i.checked_sub(1).unwrap_or(len - 1),
            }
        };
        if let Some(seq) = set.seq_at(log, pos) {
            self.selected = Some(seq);
            self.reveal = Some(Reveal::Center(seq));
        }
    }

    /// Keys acting on the selection. Returns whether something was copied.
    fn keys(&mut self, ui: &mut Ui, log: &TaskLog) -> bool {
        let (copy, up, down, right, left, end, home, escape) = ui.input(|i| {
            let copy = i.events.iter().any(|e| match e {
                egui::Event::Copy => true,
                egui::Event::Key {
                    key: Key::C,
                    pressed: true,
                    modifiers,
                    ..
                } => modifiers.command,
                _ => false,
            });
            (
                copy,
                i.key_pressed(Key::ArrowUp),
                i.key_pressed(Key::ArrowDown),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::End),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::Escape),
            )
        });
        if end {
            self.follow();
        }
        if home {
            self.reveal = Some(Reveal::Top);
        }
        let Some(seq) = self.selected else {
            return false;
        };
        if escape {
            self.selected = None;
            return false;
        }
        if right {
            self.set_expanded(log, seq, true);
        }
        if left {
            self.set_expanded(log, seq, false);
        }
        if up || down {
            let next = match self.shown.position(log, seq) {
                Ok(p) if up => p.checked_sub(1),
                Ok(p) => Some(p + 1),
                Err(p) if up => p.checked_sub(1),
                Err(p) => Some(p),
            };
            if let Some(s) = next.and_then(|p| self.shown.seq_at(log, p)) {
                self.selected = Some(s);
                self.reveal = Some(Reveal::Show(s));
            }
        }
        copy && self.apply(ui, log, RowAction::CopyLine(seq))
    }

    /// Applies a row action. Returns whether something was copied.
    fn apply(&mut self, ui: &Ui, log: &TaskLog, action: RowAction) -> bool {
        ui.ctx().request_repaint();
        match action {
            RowAction::Select(seq) => {
                self.selected = Some(seq);
                self.active = true;
                false
            }
            RowAction::Toggle(seq) => {
                let expand = !self.is_expanded(seq);
                self.set_expanded(log, seq, expand);
                self.selected = Some(seq);
                self.active = true;
                false
            }
            RowAction::CopyLine(seq) => match log.get_seq(seq) {
                Some(line) => {
                    ui.ctx().copy_text(row::copy_text(line));
                    true
                }
                None => false,
            },
            RowAction::CopyShown => {
                ui.ctx().copy_text(self.shown_text(log));
                true
            }
        }
    }

    /// The lines shown, as copied: the newest [`COPY_MAX_LINES`] and [`COPY_MAX_BYTES`].
    fn shown_text(&self, log: &TaskLog) -> String {
        let len = self.shown.len(log);
        let mut parts = Vec::new();
        let mut bytes = 0;
        for pos in (0..len).rev().take(COPY_MAX_LINES) {
            let Some(line) = self.shown.seq_at(log, pos).and_then(|s| log.get_seq(s)) else {
                continue;
            };
            let text = row::copy_text(line);
            bytes += text.len() + 1;
            if bytes > COPY_MAX_BYTES && !parts.is_empty() {
                break;
            }
            parts.push(text);
        }
        parts.reverse();
        parts.join("\n")
    }

    fn main_row_ui(
        &self,
        ui: &mut Ui,
        rect: Rect,
        line: &LogLine,
        look: &RowLook<'_>,
        actions: &mut Vec<RowAction>,
    ) {
        let seq = line.seq;
        let response = ui.interact(rect, look.id.with(("row", seq)), Sense::CLICK);
        let selected = self.selected == Some(seq);
        let fill = if selected {
            Some(theme::SELECTED_ROW)
        } else if response.hovered() {
            Some(theme::HOVER_ROW)
        } else {
            row::row_fill(line)
        };
        if let Some(fill) = fill {
            ui.painter().rect_filled(rect, 0.0, fill);
        }
        let main = row::main_row(line, look.font, self.show_times, look.needle);
        let galley = ui.painter().layout_job(main.job);
        let text_y = rect.center().y - galley.size().y / 2.0;
        ui.painter()
            .galley(pos2(rect.left() + FOLD_COLUMN, text_y), galley, theme::TEXT);
        let body = main.body;
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &body));
        let foldable = row::is_foldable(line);
        let expanded = self.is_expanded(seq);
        if foldable {
            let glyph_rect = Rect::from_min_size(rect.min, vec2(FOLD_COLUMN, rect.height()));
            let fold = ui.interact(glyph_rect, look.id.with(("fold", seq)), Sense::CLICK);
            let color = if fold.hovered() {
                Color32::WHITE
            } else {
                theme::TEXT_WEAK
            };
            ui.painter().text(
                glyph_rect.center(),
                egui::Align2::CENTER_CENTER,
                look.glyphs[usize::from(expanded)],
                look.font.clone(),
                color,
            );
            let label = if expanded { "Collapse" } else { "Expand" };
            fold.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, label));
            if fold.clicked() {
                actions.push(RowAction::Toggle(seq));
            }
        }
        if response.clicked() {
            actions.push(RowAction::Select(seq));
        }
        if response.double_clicked() && foldable {
            actions.push(RowAction::Toggle(seq));
        }
        if response.secondary_clicked() {
            actions.push(RowAction::Select(seq));
        }
        response.context_menu(|ui| {
            if ui.button("Copy line").clicked() {
                actions.push(RowAction::CopyLine(seq));
                ui.close();
            }
            if ui
                .button("Copy all shown")
                .on_hover_text(format!(
                    "The lines shown (the newest {} at most)",
                    group(COPY_MAX_LINES as u64)
                ))
                .clicked()
            {
                actions.push(RowAction::CopyShown);
                ui.close();
            }
            if foldable {
                let label = if expanded { "Collapse" } else { "Expand" };
                if ui.button(label).clicked() {
                    actions.push(RowAction::Toggle(seq));
                    ui.close();
                }
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn sub_row_ui(
        &self,
        ui: &mut Ui,
        rect: Rect,
        line: &LogLine,
        exp: &Expansion,
        k: usize,
        look: &RowLook<'_>,
        actions: &mut Vec<RowAction>,
    ) {
        let seq = line.seq;
        let response = ui.interact(rect, look.id.with(("sub", seq, k)), Sense::CLICK);
        let (part, text) = exp.row_text(line, k);
        let fill = if self.selected == Some(seq) {
            theme::SELECTED_ROW
        } else if part == Part::Detail {
            theme::DETAIL_ROW
        } else {
            row::row_fill(line).unwrap_or(Color32::TRANSPARENT)
        };
        ui.painter().rect_filled(rect, 0.0, fill);
        let job = row::sub_row(&text, part, look.font, look.needle);
        let galley = ui.painter().layout_job(job);
        let at = pos2(
            rect.left() + FOLD_COLUMN + look.sub_indent,
            rect.center().y - galley.size().y / 2.0,
        );
        ui.painter().galley(at, galley, theme::TEXT);
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &text));
        if response.clicked() {
            actions.push(RowAction::Select(seq));
        }
        if response.double_clicked() {
            actions.push(RowAction::Toggle(seq));
        }
        response.context_menu(|ui| {
            if ui.button("Copy line").clicked() {
                actions.push(RowAction::CopyLine(seq));
                ui.close();
            }
            if ui.button("Collapse").clicked() {
                actions.push(RowAction::Toggle(seq));
                ui.close();
            }
        });
    }
}

/// What every row of one frame is drawn with.
struct RowLook<'a> {
    id: Id,
    font: &'a FontId,
    /// Folded, expanded.
    glyphs: [&'static str; 2],
    needle: Option<&'a Needle>,
    /// Where sub-rows' text starts, after the fold column.
    sub_indent: f32,
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
