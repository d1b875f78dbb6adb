//! One row of the log pane: what it says and in which colours, as an egui [`LayoutJob`].
//!
//! Every row is one line of monospace text of the same height, so the pane can place rows
//! by arithmetic and lay out only the visible ones. A log line's first line is its main
//! row; what it folds away (further lines of its text, a tool call's arguments, a long
//! tool result) becomes sub-rows when the line is expanded ([`Expansion`]).
//!
//! Log text is untrusted: a row keeps printable characters only (terminal escape
//! sequences, other control characters and bidirectional overrides are dropped) and at
//! most [`MAX_ROW_CHARS`] of them.

use std::ops::Range;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId};

use super::index::{Needle, Severity};
use crate::core::source::tasklog::{LineKind, LogLine, Micros};
use crate::ui::theme;

/// Most characters of a line shown on its row (a 4K screen holds about 550).
pub const MAX_ROW_CHARS: usize = 600;
/// Most sub-rows an expanded line shows; a last row says how many more were left out.
pub const MAX_EXPANDED_ROWS: usize = 5_000;
/// Most search hits highlighted on one row.
const MAX_HITS_PER_ROW: usize = 64;

/// The first line of `text`, made printable and cut to `max_chars` (with `…`).
pub fn one_line(text: &str, max_chars: usize) -> String {
    let first = text.split('\n').next().unwrap_or("");
    printable(first, max_chars)
}

/// `text` without control characters, terminal escape sequences or bidirectional
/// overrides; tabs become spaces; cut to `max_chars` (with `…`).
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    let mut chars = text.chars();
    let mut count = 0;
    while let Some(c) = chars.next() {
        if count >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters final-byte; anything else: drop the ESC alone.
                if chars.clone().next() == Some('[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\t' => {
                out.push_str("    ");
                count += 4;
            }
            c if c.is_control() || is_bidi_control(c) => {}
            c => {
                out.push(c);
                count += 1;
            }
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether a line folds anything away (more lines of text, or a detail).
pub fn is_foldable(line: &LogLine) -> bool {
    line.rendered.detail.is_some() || line.rendered.text.contains('\n')
}

/// Where a sub-row's text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A further line of the line's text.
    Text,
    /// A line of its folded detail.
    Detail,
}

/// The sub-rows of an expanded line: byte ranges into its text and detail, found once
/// when it is expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    rows: Vec<(Part, Range<usize>)>,
    /// Lines past [`MAX_EXPANDED_ROWS`], left out.
    left_out: usize,
}

impl Expansion {
    pub fn of(line: &LogLine) -> Expansion {
        let mut rows = Vec::new();
        let mut left_out = 0;
        let mut add = |part: Part, text: &str, skip_first: bool| {
            let mut start = 0;
            let mut first = true;
            for piece in text.split_inclusive('\n') {
                let end = start + piece.len();
                let body = piece.trim_end_matches(['\n', '\r']);
                if !(first && skip_first) {
                    if rows.len() < MAX_EXPANDED_ROWS {
                        rows.push((part, start..start + body.len()));
                    } else {
                        left_out += 1;
                    }
                }
                first = false;
                start = end;
            }
        };
        add(Part::Text, &line.rendered.text, true);
        if let Some(detail) = &line.rendered.detail {
            add(Part::Detail, detail, false);
        }
        Expansion { rows, left_out }
    }

    /// How many sub-rows the expanded line adds.
    pub fn rows(&self) -> usize {
        self.rows.len() + usize::from(self.left_out > 0)
    }

    /// Sub-row `k`: where it comes from and its text (printable, cut).
    pub fn row_text(&self, line: &LogLine, k: usize) -> (Part, String) {
        match self.rows.get(k) {
            Some((part, range)) => {
                let source = match part {
                    Part::Text => line.rendered.text.as_str(),
                    Part::Detail => line.rendered.detail.as_deref().unwrap_or(""),
                };
                let text = source.get(range.clone()).unwrap_or("");
                (*part, printable(text, MAX_ROW_CHARS))
            }
            None => (
                Part::Detail,
                format!("… {} more lines (Copy line copies them all)", self.left_out),
            ),
        }
    }
}

/// The colour of a line's text.
pub fn text_color(line: &LogLine) -> Color32 {
    match line.rendered.kind {
        LineKind::Log => severity_color(Severity::of(line)),
        LineKind::Status => theme::ACCENT,
        LineKind::Output | LineKind::Agent | LineKind::ToolResult => theme::TEXT,
        LineKind::ToolCall => theme::LOG_TOOL,
        LineKind::Termination => theme::LIVE,
        LineKind::Event => theme::TEXT_WEAK,
        LineKind::Prompt => theme::ATTENTION,
        LineKind::Answer => theme::ACCENT,
        LineKind::Raw => theme::LOG_RAW,
        LineKind::Error => theme::ERROR,
    }
}

pub fn severity_color(severity: Severity) -> Color32 {
    match severity {
        Severity::Debug => theme::TEXT_WEAK,
        Severity::Info => theme::TEXT,
        Severity::Warn => theme::WARN,
        Severity::Error => theme::ERROR,
    }
}

/// The row's background, for the kinds that stand out.
pub fn row_fill(line: &LogLine) -> Option<Color32> {
    match line.rendered.kind {
        LineKind::Prompt => Some(theme::ATTENTION_ROW),
        LineKind::Answer => Some(theme::ANSWER_ROW),
        _ => None,
    }
}

/// The level column: five characters, for lines with a level.
fn level_badge(line: &LogLine) -> Option<String> {
    use crate::core::source::tasklog::LogLevel;
    let badge = match line.level.as_ref()? {
        LogLevel::Debug => "DEBUG".to_string(),
        LogLevel::Info => "INFO ".to_string(),
        LogLevel::Warn => "WARN ".to_string(),
        LogLevel::Error => "ERROR".to_string(),
        LogLevel::Other(name) => format!("{:<5}", printable(name, 5).to_uppercase()),
    };
    Some(badge)
}

/// The length of a leading `sender → recipient: ` on an agent's line, to show it strong.
fn speakers_len(line: &LogLine, body: &str) -> usize {
    if !matches!(
        line.rendered.kind,
        LineKind::Agent | LineKind::ToolCall | LineKind::ToolResult
    ) {
        return 0;
    }
    match body.find(": ") {
        Some(at) if at <= 600 && body[..at].contains('→') => at + 2,
        _ => 0,
    }
}

/// What the pane shows of a line on its main row.
pub struct MainRow {
    /// The row's text without time or level, as read by screen readers and tests.
    pub body: String,
    pub job: LayoutJob,
}

/// Lays out a line's main row: time (when asked), level badge, then its first line with
/// speakers strong and search hits marked.
pub fn main_row(line: &LogLine, font: &FontId, times: bool, needle: Option<&Needle>) -> MainRow {
    let mut job = LayoutJob::default();
    let plain = |color: Color32| TextFormat::simple(font.clone(), color);
    if times {
        let stamp = line
            .timestamp
            .map_or_else(|| " ".repeat(8), Micros::utc_hms);
        job.append(&stamp, 0.0, plain(theme::TEXT_WEAK));
        job.append("  ", 0.0, plain(theme::TEXT_WEAK));
    }
    if let Some(badge) = level_badge(line) {
        job.append(&badge, 0.0, plain(severity_color(Severity::of(line))));
        job.append(" ", 0.0, plain(theme::TEXT_WEAK));
    }
    let body = one_line(&line.rendered.text, MAX_ROW_CHARS);
    let color = text_color(line);
    let strong = speakers_len(line, &body);
    let segments = [
        (0..strong, plain(theme::LOG_SPEAKER)),
        (strong..body.len(), plain(color)),
    ];
    let hits = needle.map_or_else(Vec::new, |n| n.find_all(&body, MAX_HITS_PER_ROW));
    append_marked(&mut job, &body, &segments, &hits);
    MainRow { body, job }
}

/// Lays out sub-row text, indented, with search hits marked.
pub fn sub_row(text: &str, part: Part, font: &FontId, needle: Option<&Needle>) -> LayoutJob {
    let mut job = LayoutJob::default();
    let color = match part {
        Part::Text => theme::TEXT,
        Part::Detail => theme::LOG_DETAIL,
    };
    let format = TextFormat::simple(font.clone(), color);
    let hits = needle.map_or_else(Vec::new, |n| n.find_all(text, MAX_HITS_PER_ROW));
    append_marked(&mut job, text, &[(0..text.len(), format)], &hits);
    job
}

/// Appends `text`, formatted by `segments` (ranges covering it, in order), with the
/// `hits` ranges on the search-hit background.
fn append_marked(
    job: &mut LayoutJob,
    text: &str,
    segments: &[(Range<usize>, TextFormat)],
    hits: &[Range<usize>],
) {
    for (range, format) in segments {
        let mut at = range.start;
        while at < range.end {
            // The next boundary: the end of this segment, or a hit's start or end.
            let in_hit = hits.iter().any(|h| h.start <= at && at < h.end);
            let next = hits
                .iter()
                .flat_map(|h| [h.start, h.end])
                .filter(|&b| b > at && b < range.end)
                .min()
                .unwrap_or(range.end);
            let Some(piece) = text.get(at..next) else {
                return;
            };
            let mut f = format.clone();
            if in_hit {
                f.background = theme::SEARCH_HIT;
                f.color = Color32::WHITE;
            }
            job.append(piece, 0.0, f);
            at = next;
        }
    }
}

/// A line as copied: `HH:MM:SS LEVEL text`, then its detail after a blank line.
pub fn copy_text(line: &LogLine) -> String {
    let mut out = String::new();
    if let Some(ts) = line.timestamp {
        out.push_str(&ts.utc_hms());
        out.push(' ');
    }
    if let Some(badge) = level_badge(line) {
        out.push_str(badge.trim_end());
        out.push(' ');
    }
    out.push_str(&line.rendered.text);
    if let Some(detail) = &line.rendered.detail {
        out.push_str("\n\n");
        out.push_str(detail);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::tasklog::{LogLevel, Rendered};

    fn line(kind: LineKind, text: &str, detail: Option<&str>) -> LogLine {
        LogLine {
            seq: 7,
            id: None,
            timestamp: Some(Micros(1_718_900_000_500_000)),
            level: None,
            request_id: None,
            rendered: Rendered {
                kind,
                text: text.to_string(),
                detail: detail.map(str::to_string),
            },
        }
    }

    #[test]
    fn clock_is_utc_hours_minutes_seconds() {
        // 2024-06-20T16:13:20.5Z
        assert_eq!(Micros(1_718_900_000_500_000).utc_hms(), "16:13:20");
        assert_eq!(Micros(-1).utc_hms(), "23:59:59");
    }

    #[test]
    fn rows_keep_printable_text_only() {
        assert_eq!(one_line("a\u{1b}[31mred\u{1b}[0m b\nsecond", 100), "ared b");
        assert_eq!(printable("x\u{202e}y\tz\u{7}", 100), "xy    z");
        assert_eq!(printable("abcdef", 3), "abc…");
        assert_eq!(one_line("a\r\nb", 10), "a");
    }

    #[test]
    fn expansion_lists_further_lines_then_detail() {
        let l = line(
            LineKind::ToolCall,
            "planner → executor: calls f(a)\nsecond",
            Some("f (call_1)\n{\n  \"a\": 1\n}"),
        );
        assert!(is_foldable(&l));
        let e = Expansion::of(&l);
        assert_eq!(e.rows(), 5);
        let texts: Vec<(Part, String)> = (0..5).map(|k| e.row_text(&l, k)).collect();
        assert_eq!(texts[0], (Part::Text, "second".to_string()));
        assert_eq!(texts[1], (Part::Detail, "f (call_1)".to_string()));
        assert_eq!(texts[3], (Part::Detail, "  \"a\": 1".to_string()));
        assert!(!is_foldable(&line(LineKind::Output, "one line", None)));
    }

    #[test]
    fn huge_expansions_are_bounded() {
        let detail = "x\n".repeat(MAX_EXPANDED_ROWS + 10);
        let l = line(LineKind::ToolResult, "r", Some(&detail));
        let e = Expansion::of(&l);
        assert_eq!(e.rows(), MAX_EXPANDED_ROWS + 1);
        assert!(
            e.row_text(&l, MAX_EXPANDED_ROWS)
                .1
                .contains("10 more lines")
        );
    }

    #[test]
    fn main_row_marks_speakers_and_hits() {
        let l = line(LineKind::Agent, "planner → user: Lisbon, then lisbon", None);
        let needle = Needle::new("lisbon");
        let row = main_row(&l, &FontId::monospace(12.0), true, needle.as_ref());
        assert_eq!(row.body, "planner → user: Lisbon, then lisbon");
        assert!(row.job.text.starts_with("16:13:20  planner"));
        let hits: Vec<&str> = row
            .job
            .sections
            .iter()
            .filter(|s| s.format.background == theme::SEARCH_HIT)
            .map(|s| &row.job.text[s.byte_range.start.0..s.byte_range.end.0])
            .collect();
        assert_eq!(hits, ["Lisbon", "lisbon"]);
        let speaker = row
            .job
            .sections
            .iter()
            .find(|s| s.format.color == theme::LOG_SPEAKER)
            .map(|s| &row.job.text[s.byte_range.start.0..s.byte_range.end.0]);
        assert_eq!(speaker, Some("planner → user: "));
    }

    #[test]
    fn levels_get_a_badge_and_colour() {
        let mut l = line(LineKind::Log, "disk almost full", None);
        l.level = Some(LogLevel::Warn);
        let row = main_row(&l, &FontId::monospace(12.0), false, None);
        assert!(row.job.text.starts_with("WARN  disk"));
        assert!(
            row.job
                .sections
                .iter()
                .all(|s| s.format.color == theme::WARN || s.format.color == theme::TEXT_WEAK)
        );
        assert_eq!(copy_text(&l), "16:13:20 WARN disk almost full");
    }
}
