//! Which lines the log pane shows: a [`FilterKey`] (least severity, search text) and the
//! [`LineSet`] of the lines that pass it.
//!
//! A set remembers lines by [`LogLine::seq`], which does not change when the log drops its
//! oldest lines (their indices do). It is brought up to date each frame by looking only at
//! what changed: lines dropped at the front are forgotten, lines appended since are tested.
//! Typing more of a search word only narrows the set, so only the lines already in it are
//! tested again; any other change of key scans the whole log once.
//!
//! Nothing here draws: the pane (and its tests) use it as plain data.

use std::collections::VecDeque;
use std::ops::Range;

use crate::core::source::tasklog::{LineKind, LogLevel, LogLine, TaskLog};

/// How severe a line is, for the level filter and its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Debug,
    Info,
    Warn,
    Error,
}

impl Severity {
    /// A line's severity: its AgentStation level when it has one (an unknown level counts
    /// as info), else error for a message that could not be read and info for the rest.
    pub fn of(line: &LogLine) -> Severity {
        match &line.level {
            Some(LogLevel::Debug) => Severity::Debug,
            Some(LogLevel::Info | LogLevel::Other(_)) => Severity::Info,
            Some(LogLevel::Warn) => Severity::Warn,
            Some(LogLevel::Error) => Severity::Error,
            None if line.rendered.kind == LineKind::Error => Severity::Error,
            None => Severity::Info,
        }
    }
}

/// The least severe lines shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MinLevel {
    /// Every line, debug included.
    #[default]
    All,
    /// Info, warnings and errors.
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
}

impl MinLevel {
    /// Every choice, least strict first.
    pub const CHOICES: [MinLevel; 4] = [
        MinLevel::All,
        MinLevel::Info,
        MinLevel::Warn,
        MinLevel::Error,
    ];

    /// How the choice reads in the level menu.
    pub fn label(self) -> &'static str {
        match self {
            MinLevel::All => "All levels",
            MinLevel::Info => "Info and up",
            MinLevel::Warn => "Warnings and errors",
            MinLevel::Error => "Errors only",
        }
    }

    fn admits(self, severity: Severity) -> bool {
        match self {
            MinLevel::All => true,
            MinLevel::Info => severity >= Severity::Info,
            MinLevel::Warn => severity >= Severity::Warn,
            MinLevel::Error => severity >= Severity::Error,
        }
    }
}

/// A case-insensitive substring search. An ASCII needle is looked for in the haystack
/// lower-cased in ASCII only (a UTF-8 continuation byte is never ASCII, so there is no false
/// match and every match starts and ends on a character boundary); any other in the
/// haystack lower-cased in full.
///
/// The haystack is lower-cased into a scratch buffer (a copy that vectorises) and searched
/// with `str::contains`. Over a large log the search is not what costs: reading each line
/// from memory is (see `benches/log_pane.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle(Kind);

/// Never empty; lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Ascii(String),
    Unicode(String),
}

impl Needle {
    /// The needle for `text`; `None` when it is empty (nothing to search for).
    pub fn new(text: &str) -> Option<Needle> {
        if text.is_empty() {
            None
        } else if text.is_ascii() {
            Some(Needle(Kind::Ascii(text.to_ascii_lowercase())))
        } else {
            Some(Needle(Kind::Unicode(text.to_lowercase())))
        }
    }

    /// Whether `haystack` contains the needle, ignoring case.
    pub fn matches(&self, haystack: &str) -> bool {
        self.matches_in(haystack, &mut String::new())
    }

    /// [`Needle::matches`] with a scratch buffer, reused across calls to save allocating.
    pub fn matches_in(&self, haystack: &str, scratch: &mut String) -> bool {
        match &self.0 {
            Kind::Ascii(n) => {
                if haystack.len() < n.len() {
                    return false;
                }
                scratch.clear();
                scratch.push_str(haystack);
                scratch.make_ascii_lowercase();
                scratch.contains(n.as_str())
            }
            Kind::Unicode(n) => haystack.to_lowercase().contains(n.as_str()),
        }
    }

    /// Whether a line's text or its folded detail contains the needle.
    pub fn matches_line(&self, line: &LogLine, scratch: &mut String) -> bool {
        self.matches_in(&line.rendered.text, scratch)
            || line
                .rendered
                .detail
                .as_deref()
                .is_some_and(|d| self.matches_in(d, scratch))
    }

    /// Whether everything this needle matches is also matched by `wider` (the user typed
    /// more of the same word), so a search for it may look only at `wider`'s matches.
    pub fn narrows(&self, wider: &Needle) -> bool {
        match (&self.0, &wider.0) {
            (Kind::Ascii(n), Kind::Ascii(w)) | (Kind::Unicode(n), Kind::Unicode(w)) => {
                n.contains(w.as_str())
            }
            _ => false,
        }
    }

    /// The byte ranges of `haystack` that match, in order and not overlapping, at most
    /// `max`; for highlighting. Each range starts and ends on a character boundary.
    pub fn find_all(&self, haystack: &str, max: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        match &self.0 {
            Kind::Ascii(n) => {
                let n = n.as_bytes();
                let bytes = haystack.as_bytes();
                let mut at = 0;
                while out.len() < max && at + n.len() <= bytes.len() {
                    if bytes[at..at + n.len()].eq_ignore_ascii_case(n) {
                        out.push(at..at + n.len());
                        at += n.len().max(1);
                    } else {
                        at += 1;
                    }
                }
            }
            Kind::Unicode(n) => {
                // Lower-case the haystack, remembering where each lower-case byte came
                // from, find the needle there and map the ranges back.
                let mut lower = String::with_capacity(haystack.len());
                let mut origin: Vec<(usize, usize)> = Vec::with_capacity(haystack.len());
                for (start, c) in haystack.char_indices() {
                    let end = start + c.len_utf8();
                    for l in c.to_lowercase() {
                        lower.push(l);
                        origin.resize(lower.len(), (start, end));
                    }
                }
                let mut from = 0;
                while out.len() < max {
                    let Some(found) = lower[from..].find(n.as_str()) else {
                        break;
                    };
                    let (s, e) = (from + found, from + found + n.len());
                    let (Some(first), Some(last)) = (origin.get(s), origin.get(e - 1)) else {
                        break;
                    };
                    out.push(first.0..last.1);
                    from = e.max(from + 1);
                    while !lower.is_char_boundary(from) {
                        from += 1;
                    }
                }
            }
        }
        out
    }
}

/// What a [`LineSet`] holds: the lines at least this severe that contain the needle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterKey {
    pub min_level: MinLevel,
    pub needle: Option<Needle>,
}

impl FilterKey {
    /// Whether `line` passes (`scratch` is a buffer for the search, reused across calls).
    pub fn admits(&self, line: &LogLine, scratch: &mut String) -> bool {
        self.min_level.admits(Severity::of(line))
            && self
                .needle
                .as_ref()
                .is_none_or(|n| n.matches_line(line, scratch))
    }

    /// Whether every line is admitted (the set is then the log itself).
    pub fn is_everything(&self) -> bool {
        self.min_level == MinLevel::All && self.needle.is_none()
    }

    /// Whether this key admits only lines that `wider` admits.
    fn narrows(&self, wider: &FilterKey) -> bool {
        let level = self.min_level == wider.min_level;
        let needle = match (&self.needle, &wider.needle) {
            (_, None) => true,
            (Some(n), Some(w)) => n.narrows(w),
            (None, Some(_)) => false,
        };
        level && needle
    }
}

/// The lines of one [`TaskLog`] that pass a [`FilterKey`], by `seq`, oldest first.
///
/// For the key that admits everything nothing is stored: position `i` is the log's line
/// `i`. Use one set per log; [`LineSet::refresh`] starts over if the log it is given is
/// shorter than the one it followed (another log, or a log that was replaced).
#[derive(Debug, Default)]
pub struct LineSet {
    key: FilterKey,
    /// The admitted seqs, ascending; empty for the key that admits everything.
    seqs: VecDeque<u64>,
    /// Every line numbered below this has been tested.
    scanned_to: u64,
}

impl LineSet {
    pub fn key(&self) -> &FilterKey {
        &self.key
    }

    /// Brings the set up to date with `log` under `key`: forgets dropped lines, tests the
    /// lines appended since the last call, and re-tests as little as a new key allows.
    /// Returns whether it scanned the whole log (for tests and timing).
    pub fn refresh(&mut self, log: &TaskLog, key: &FilterKey) -> bool {
        let mut full_scan = false;
        let mut scratch = String::new();
        if log.end_seq() < self.scanned_to {
            // Not the log this set was built from.
            self.seqs.clear();
            self.scanned_to = 0;
        }
        if *key != self.key {
            if key.is_everything() {
                self.seqs = VecDeque::new();
            } else if key.narrows(&self.key) && !self.key.is_everything() {
                self.seqs.retain(|&seq| {
                    log.get_seq(seq)
                        .is_some_and(|l| key.admits(l, &mut scratch))
                });
            } else {
                self.seqs.clear();
                self.scanned_to = 0;
                full_scan = true;
            }
            self.key = key.clone();
        }
        let first = log.first_seq();
        while self.seqs.front().is_some_and(|&seq| seq < first) {
            self.seqs.pop_front();
        }
        let from = self.scanned_to.max(first);
        if !self.key.is_everything() {
            let start = usize::try_from(from - first).unwrap_or(usize::MAX);
            self.seqs.extend(
                log.lines()
                    .range(start.min(log.len())..)
                    .filter(|line| self.key.admits(line, &mut scratch))
                    .map(|line| line.seq),
            );
        }
        self.scanned_to = log.end_seq();
        full_scan
    }

    /// How many lines are in the set.
    pub fn len(&self, log: &TaskLog) -> usize {
        if self.key.is_everything() {
            log.len()
        } else {
            self.seqs.len()
        }
    }

    /// The seq of the line at `pos` in the set.
    pub fn seq_at(&self, log: &TaskLog, pos: usize) -> Option<u64> {
        if self.key.is_everything() {
            log.get(pos).map(|line| line.seq)
        } else {
            self.seqs.get(pos).copied()
        }
    }

    /// Where `seq` is in the set: `Ok(position)` if it is there, else `Err(position it
    /// would take)`.
    pub fn position(&self, log: &TaskLog, seq: u64) -> Result<usize, usize> {
        if self.key.is_everything() {
            let first = log.first_seq();
            if seq < first {
                Err(0)
            } else if seq >= log.end_seq() {
                Err(log.len())
            } else {
                Ok(usize::try_from(seq - first).unwrap_or(usize::MAX))
            }
        } else {
            self.seqs.binary_search(&seq)
        }
    }

    /// How many lines of the set are numbered `seq` or later.
    pub fn count_from(&self, log: &TaskLog, seq: u64) -> usize {
        let pos = match self.position(log, seq) {
            Ok(p) | Err(p) => p,
        };
        self.len(log) - pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::tasklog::{LogEntry, TaskLogConfig};

    fn entry(level: &str, message: &str) -> LogEntry {
        LogEntry {
            level: Some(LogLevel::from_name(level)),
            message: message.to_string(),
            timestamp: None,
            structured: true,
        }
    }

    fn log_with(max_lines: usize, messages: &[(&str, &str)]) -> TaskLog {
        let mut log = TaskLog::new(TaskLogConfig {
            max_lines,
            recent_ids: 16,
            ..TaskLogConfig::default()
        });
        for (level, message) in messages {
            log.push_log_entry(entry(level, message));
        }
        log
    }

    fn seqs(set: &LineSet, log: &TaskLog) -> Vec<u64> {
        (0..set.len(log))
            .map(|p| set.seq_at(log, p).unwrap())
            .collect()
    }

    fn key(min_level: MinLevel, needle: &str) -> FilterKey {
        FilterKey {
            min_level,
            needle: Needle::new(needle),
        }
    }

    #[test]
    fn needles_ignore_case_and_find_ranges() {
        let n = Needle::new("LiS").unwrap();
        assert!(n.matches("to lisbon"));
        assert!(!n.matches("to porto"));
        assert_eq!(
            n.find_all("Lisbon, lisbon → LISBON", 10),
            [0..3, 8..11, 19..22]
        );
        assert_eq!(n.find_all("lislislis", 2), [0..3, 3..6]);
        let u = Needle::new("ÉTÉ").unwrap();
        assert!(u.matches("un été chaud"));
        let text = "un Été, l'été";
        let ranges = u.find_all(text, 10);
        assert_eq!(
            ranges.iter().map(|r| &text[r.clone()]).collect::<Vec<_>>(),
            ["Été", "été"]
        );
        assert!(Needle::new("").is_none());
    }

    #[test]
    fn narrowing_is_only_claimed_when_true() {
        let lis = Needle::new("lis").unwrap();
        let lisb = Needle::new("Lisb").unwrap();
        assert!(lisb.narrows(&lis));
        assert!(!lis.narrows(&lisb));
        assert!(Needle::new("xlisy").unwrap().narrows(&lis));
        assert!(!Needle::new("é lis").unwrap().narrows(&lis), "mixed kinds");
    }

    #[test]
    fn severity_from_level_and_kind() {
        let mut log = log_with(10, &[("debug", "a"), ("warning", "b"), ("bogus", "c")]);
        log.push_error("unreadable");
        log.push_text("plain output, not JSON");
        let got: Vec<Severity> = log.lines().iter().map(Severity::of).collect();
        use Severity::*;
        assert_eq!(got, [Debug, Warn, Info, Error, Info]);
    }

    #[test]
    fn level_and_search_filter_together() {
        let log = log_with(
            100,
            &[
                ("debug", "click at 1"),
                ("info", "Click at 2"),
                ("warning", "slow click"),
                ("error", "crash"),
            ],
        );
        let mut set = LineSet::default();
        set.refresh(&log, &key(MinLevel::All, ""));
        assert_eq!(seqs(&set, &log), [0, 1, 2, 3]);
        set.refresh(&log, &key(MinLevel::Info, "click"));
        assert_eq!(seqs(&set, &log), [1, 2]);
        set.refresh(&log, &key(MinLevel::Warn, ""));
        assert_eq!(seqs(&set, &log), [2, 3]);
        set.refresh(&log, &key(MinLevel::All, "CLICK AT"));
        assert_eq!(seqs(&set, &log), [0, 1]);
    }

    #[test]
    fn appended_lines_are_tested_once_and_drops_forgotten() {
        let mut log = log_with(4, &[("info", "a1"), ("info", "b"), ("info", "a2")]);
        let mut set = LineSet::default();
        let k = key(MinLevel::All, "a");
        assert!(set.refresh(&log, &k), "first use scans");
        assert_eq!(seqs(&set, &log), [0, 2]);
        log.push_log_entry(entry("info", "a3"));
        log.push_log_entry(entry("info", "c"));
        assert!(!set.refresh(&log, &k), "appends only");
        // The cap of 4 dropped seq 0.
        assert_eq!(seqs(&set, &log), [2, 3]);
        assert_eq!(set.position(&log, 3), Ok(1));
        assert_eq!(set.position(&log, 4), Err(2));
        assert_eq!(set.count_from(&log, 3), 1);
        assert_eq!(set.count_from(&log, 0), 2);
    }

    #[test]
    fn typing_more_narrows_without_a_scan() {
        let log = log_with(
            100,
            &[("info", "lisbon"), ("info", "list"), ("info", "porto")],
        );
        let mut set = LineSet::default();
        assert!(set.refresh(&log, &key(MinLevel::All, "lis")));
        assert_eq!(seqs(&set, &log), [0, 1]);
        assert!(!set.refresh(&log, &key(MinLevel::All, "lisb")));
        assert_eq!(seqs(&set, &log), [0]);
        assert!(
            set.refresh(&log, &key(MinLevel::All, "li")),
            "wider: rescan"
        );
        assert_eq!(seqs(&set, &log), [0, 1]);
    }

    #[test]
    fn everything_is_the_log_itself() {
        let mut log = log_with(3, &[("info", "a"), ("info", "b")]);
        let mut set = LineSet::default();
        set.refresh(&log, &FilterKey::default());
        assert_eq!(set.len(&log), 2);
        for m in ["c", "d", "e"] {
            log.push_log_entry(entry("info", m));
        }
        set.refresh(&log, &FilterKey::default());
        assert_eq!(seqs(&set, &log), [2, 3, 4]);
        assert_eq!(set.position(&log, 1), Err(0));
        assert_eq!(set.position(&log, 4), Ok(2));
        assert_eq!(set.count_from(&log, 3), 2);
        assert_eq!(set.count_from(&log, 9), 0);
    }

    #[test]
    fn another_log_starts_over() {
        let long = log_with(100, &[("info", "a"), ("info", "a"), ("info", "a")]);
        let short = log_with(100, &[("info", "a")]);
        let mut set = LineSet::default();
        let k = key(MinLevel::All, "a");
        set.refresh(&long, &k);
        set.refresh(&short, &k);
        assert_eq!(seqs(&set, &short), [0]);
    }
}
