//! `lookout recordings`: the recordings in the recordings directory, newest first, as a
//! table or one JSON object per recording.
//!
//! A recording's source label and its file name come from files anyone may have written:
//! they pass [`redact::text`] and [`printable`] before they reach the terminal.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

use super::output::amount;
use crate::core::record::library::{self, RecordingInfo};
use crate::core::redact;
use crate::core::untrusted::{Lines, printable};

/// Characters of a source label a table shows.
const SOURCE_CHARS: usize = 40;
/// Characters of a file name or a problem a table shows.
const LONG_CHARS: usize = 120;

/// Prints the recordings in `dir`.
pub fn run(dir: &Path, json: bool) -> anyhow::Result<()> {
    let infos = library::list(dir).with_context(|| format!("cannot list {}", shown_path(dir)))?;
    let mut out = std::io::stdout().lock();
    if json {
        for info in &infos {
            writeln!(out, "{}", json_line(info)).context("cannot write to stdout")?;
        }
        return Ok(());
    }
    if infos.is_empty() {
        eprintln!("lookout: no recordings in {}", shown_path(dir));
        return Ok(());
    }
    write!(out, "{}", table(&infos)).context("cannot write to stdout")?;
    let bytes: u64 = infos.iter().map(|i| i.bytes).sum();
    eprintln!(
        "lookout: {} recording{}, {} in {}",
        infos.len(),
        if infos.len() == 1 { "" } else { "s" },
        amount(bytes),
        shown_path(dir)
    );
    Ok(())
}

fn shown_path(path: &Path) -> String {
    printable(&path.display().to_string(), Lines::Show, LONG_CHARS).into_owned()
}

/// Untrusted one-line text as a table shows it.
fn shown(text: &str, max_chars: usize) -> String {
    printable(&redact::text(text), Lines::Show, max_chars).into_owned()
}

/// `YYYY-MM-DD HH:MM` (UTC) of `ms` since the epoch.
pub fn utc_minute(ms: u64) -> String {
    let (y, mo, d, h, mi, _) = library::civil(ms / 1000);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
}

/// `H:MM:SS`, or `M:SS` under an hour.
pub fn clock(us: u64) -> String {
    let s = us / 1_000_000;
    match s / 3600 {
        0 => format!("{}:{:02}", s / 60, s % 60),
        h => format!("{h}:{:02}:{:02}", s / 60 % 60, s % 60),
    }
}

/// "2 prompts, 1 bookmark", or `-`.
fn marks(info: &RecordingInfo) -> String {
    let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    if info.prompts > 0 {
        parts.push(plural(info.prompts, "prompt"));
    }
    if info.bookmarks > 0 {
        parts.push(plural(info.bookmarks, "bookmark"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// The table, a header and a row per recording, columns padded to their widest cell.
pub fn table(infos: &[RecordingInfo]) -> String {
    let header = [
        "WHEN (UTC)",
        "LENGTH",
        "SIZE",
        "SOURCE",
        "MARKS",
        "FILE",
        "PROBLEM",
    ];
    let mut rows = vec![header.map(String::from)];
    for info in infos {
        let name = info
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        rows.push([
            info.when_unix_ms().map_or_else(|| "?".into(), utc_minute),
            clock(info.duration_us),
            amount(info.bytes),
            shown(info.source.as_deref().unwrap_or("?"), SOURCE_CHARS),
            marks(info),
            shown(&name, LONG_CHARS),
            shown(&info.problem().unwrap_or_default(), LONG_CHARS),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            // Right-align the numbers.
            let pad = w - cell.chars().count();
            if matches!(i, 1 | 2) {
                line.insert_str(line.len() - cell.len(), &" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One recording as a JSON object (on one line).
pub fn json_line(info: &RecordingInfo) -> String {
    let ms = |t: Option<std::time::SystemTime>| {
        t?.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok())
    };
    let value = serde_json::json!({
        "path": info.path.to_string_lossy(),
        "bytes": info.bytes,
        "started_unix_ms": info.started_unix_ms,
        "modified_unix_ms": ms(info.modified),
        "duration_s": info.duration_us as f64 / 1e6,
        "source": info.source,
        "tracks": info.tracks,
        "prompts": info.prompts,
        "bookmarks": info.bookmarks,
        "complete": info.complete,
        "torn_at": info.torn_at,
        "damaged_bytes": info.damaged_bytes,
        "problem": info.problem(),
    });
    redact::text(&value.to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn info(source: &str) -> RecordingInfo {
        RecordingInfo {
            path: PathBuf::from("/r/2026-12-05T23-40-12Z optexity-demo.lkrec"),
            bytes: 12_345_678,
            started_unix_ms: Some(1_796_514_012_000),
            duration_us: 3_723_000_000,
            source: Some(source.into()),
            tracks: vec!["rfb".into(), "log".into()],
            prompts: 2,
            bookmarks: 1,
            complete: true,
            ..RecordingInfo::default()
        }
    }

    #[test]
    fn a_table_row_says_when_how_long_how_big_and_what() {
        let mut torn = info("waldiez:t");
        torn.torn_at = Some(99);
        torn.prompts = 0;
        torn.bookmarks = 0;
        torn.duration_us = 65_000_000;
        let text = table(&[info("optexity:demo"), torn]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("WHEN (UTC)  "), "{text}");
        assert!(lines[1].starts_with("2026-12-05 23:40  1:02:03  12.3 MB  optexity:demo"));
        assert!(lines[1].contains("2 prompts, 1 bookmark"), "{text}");
        assert!(lines[2].contains("   1:05  "), "right-aligned: {text}");
        assert!(lines[2].contains("cut short at byte 99"), "{text}");
    }

    #[test]
    fn server_text_from_a_file_cannot_drive_the_terminal() {
        let evil = info("x\u{1b}]0;title\u{7}\r\nlookout: fake\u{202e}");
        let text = table(std::slice::from_ref(&evil));
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert_eq!(text.lines().count(), 2, "{text:?}");
        let json = json_line(&evil);
        assert!(!json.contains('\u{1b}'), "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["duration_s"], 3723.0);
        assert_eq!(value["tracks"], serde_json::json!(["rfb", "log"]));
        assert_eq!(value["problem"], serde_json::Value::Null);
    }
}
