//! The recordings library: the directory the window's recordings go to, the name each new
//! one gets, what is there ([`list`]), and what is deleted to keep within the retention
//! limits ([`enforce`]).
//!
//! Listing reads each file's records heads up to a budget ([`SCAN_MAX_RECORDS`] records,
//! [`SCAN_MAX_READ`] bytes), so a huge or damaged file costs a bounded time; past it the
//! duration comes from the file's last megabyte. A file that cannot be read is listed
//! with its problem.
//!
//! Retention deletes oldest first (by when a file was last written) past either limit,
//! and never a file that may still be written: one the caller names as open (its own live
//! recordings), one written in the last [`IN_USE_GRACE`], or, on Linux, one any process
//! we can see holds open (`/proc/*/fd`). Only files that start with a recording's header
//! are ever deleted.

use std::cell::Cell;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::format::{self, Kind};
use super::reader::{ReadError, Reader, Skim};
use super::writer::{self, RecordSink, Writer};
use crate::core::redact;

/// A recording's file name extension.
pub const EXTENSION: &str = "lkrec";
/// Retention's default total size: 20 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 20 << 30;
/// Retention's default age: 30 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);
/// A file written this recently counts as still being written: retention leaves it.
pub const IN_USE_GRACE: Duration = Duration::from_secs(10 * 60);
/// Records a listing reads per file at most.
pub const SCAN_MAX_RECORDS: u64 = 500_000;
/// Bytes a listing reads per file at most (heads, JSON payloads, damage searched).
pub const SCAN_MAX_READ: u64 = 32 << 20;
/// What is read from a file's end for its duration when the budget ran out first.
const TAIL_BYTES: u64 = 1 << 20;
/// Characters of a source label kept in a file name.
const MAX_LABEL_CHARS: usize = 60;
/// Files a listing or retention looks at, at most.
const MAX_FILES: usize = 100_000;

/// Where recordings go by default: the platform data directory's `lookout/recordings`
/// (`$XDG_DATA_HOME/lookout/recordings`, `~/.local/share/lookout/recordings` on Linux).
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lookout").map(|d| d.data_dir().join("recordings"))
}

/// A file name a user recognises: `2026-12-05T23-40-12Z optexity-demo.lkrec` (UTC), the
/// source label made safe for any file system.
pub fn file_name(source_label: &str, now: SystemTime) -> String {
    format!(
        "{} {}.{EXTENSION}",
        file_time(now),
        safe_label(source_label)
    )
}

/// A path in `dir` for a new recording of `source_label` made at `now`, that no file has:
/// [`file_name`], then `… (2).lkrec`, `… (3).lkrec` and so on. (A file may still appear
/// there before it is created: [`create`] tries again then.)
pub fn new_path(dir: &Path, source_label: &str, now: SystemTime) -> PathBuf {
    let stem = format!("{} {}", file_time(now), safe_label(source_label));
    let mut n = 1u64;
    loop {
        let name = match n {
            1 => format!("{stem}.{EXTENSION}"),
            n => format!("{stem} ({n}).{EXTENSION}"),
        };
        let path = dir.join(name);
        // A dangling link counts as taken.
        if fs::symlink_metadata(&path).is_err() {
            return path;
        }
        n += 1;
    }
}

/// Creates `dir` if need be and a new recording in it ([`new_path`]) with `meta` as its
/// first record; the sink says the path it chose ([`RecordSink::path`]).
pub fn create(
    dir: &Path,
    source_label: &str,
    now: SystemTime,
    meta: &serde_json::Value,
) -> io::Result<(RecordSink, Writer)> {
    fs::create_dir_all(dir)?;
    let mut tries = 0;
    loop {
        let path = new_path(dir, source_label, now);
        match writer::create(&path, meta) {
            // Another writer took the name between the look and the create.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 100 => tries += 1,
            done => return done,
        }
    }
}

/// `YYYY-MM-DDTHH-MM-SSZ` (UTC, no colons: file systems that refuse them).
fn file_time(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}-{mi:02}-{s:02}Z")
}

/// `secs` since the epoch as UTC year, month, day, hour, minute, second (Howard
/// Hinnant's days-to-civil).
pub fn civil(secs: u64) -> (u64, u64, u64, u64, u64, u64) {
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let (h, m, s) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    (year, month, day, h, m, s)
}

/// A source label as a file name part: secrets masked and dropped (a URL's query and
/// password), then only letters, digits, `.`, `_` and `-`, runs of anything else as one
/// `-`; `recording` when nothing is left.
pub fn safe_label(label: &str) -> String {
    let masked = redact::text(&redact::url(label)).into_owned();
    // What follows a `?` or `#` may be a token, and `user:password@` a password.
    let mut text = masked
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    if let Some((scheme, rest)) = text.split_once("://") {
        let host_end = rest.find('/').unwrap_or(rest.len());
        let after = rest[..host_end].rfind('@').map_or(0, |at| at + 1);
        text = format!("{scheme}-{}", &rest[after..]);
    }
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.chars().count() >= MAX_LABEL_CHARS {
            break;
        }
    }
    let out = out.trim_matches(['-', '.']);
    if out.is_empty() {
        "recording".to_string()
    } else {
        out.to_string()
    }
}

/// One recording as a listing shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordingInfo {
    pub path: PathBuf,
    /// The file's size.
    pub bytes: u64,
    /// When the file was last written.
    pub modified: Option<SystemTime>,
    /// When the recording began (its `Meta`'s `started_unix_ms`).
    pub started_unix_ms: Option<u64>,
    /// The last record's time.
    pub duration_us: u64,
    /// The source as the file names it (untrusted text: neutralise before showing it).
    pub source: Option<String>,
    /// Each track's kind (`rfb`, `preview`, `hls-video`, `hls-audio`, `log`).
    pub tracks: Vec<String>,
    /// Prompts the task asked, as recorded.
    pub prompts: u64,
    /// Bookmarks the operator dropped.
    pub bookmarks: u64,
    /// Whether every record was read (else the counts are the first records' and the
    /// duration comes from the file's end).
    pub complete: bool,
    /// Where the file was cut inside its last record (a crash), if it was.
    pub torn_at: Option<u64>,
    /// Stretches that held no record that checks out, and their bytes.
    pub damaged_ranges: u64,
    pub damaged_bytes: u64,
    /// The first damaged byte.
    pub first_damage_at: Option<u64>,
    /// Why the file could not be read at all (not a recording, a newer version, I/O).
    pub error: Option<String>,
}

impl RecordingInfo {
    /// When the recording began, else when the file was last written.
    pub fn when_unix_ms(&self) -> Option<u64> {
        self.started_unix_ms.or_else(|| {
            let since = self.modified?.duration_since(UNIX_EPOCH).ok()?;
            u64::try_from(since.as_millis()).ok()
        })
    }

    /// What is wrong with the file, in words; `None` when nothing is.
    pub fn problem(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        let mut parts = Vec::new();
        if let Some(at) = self.first_damage_at {
            parts.push(format!(
                "damaged: {} bytes in {} place{} unreadable, the first at byte {at}",
                self.damaged_bytes,
                self.damaged_ranges,
                if self.damaged_ranges == 1 { "" } else { "s" },
            ));
        }
        if let Some(at) = self.torn_at {
            parts.push(format!(
                "cut short at byte {at} (a crash?): plays up to there"
            ));
        }
        if !self.complete {
            parts.push("large: its marks were counted in its first part only".into());
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The recordings (`*.lkrec` files) in `dir`, newest first. A file that cannot be read is
/// listed with its [`RecordingInfo::error`]; a missing directory lists nothing.
pub fn list(dir: &Path) -> io::Result<Vec<RecordingInfo>> {
    let mut infos: Vec<RecordingInfo> = recording_files(dir)?
        .into_iter()
        .map(|(path, meta)| info(path, &meta))
        .collect();
    infos.sort_by_key(|info| std::cmp::Reverse(info.when_unix_ms()));
    Ok(infos)
}

/// What [`list`] says about one file.
pub fn info(path: PathBuf, meta: &fs::Metadata) -> RecordingInfo {
    let mut info = RecordingInfo {
        path,
        bytes: meta.len(),
        modified: meta.modified().ok(),
        complete: true,
        ..RecordingInfo::default()
    };
    if let Err(e) = scan(&mut info) {
        info.error = Some(e.to_string());
    }
    info
}

/// The `*.lkrec` regular files in `dir` (links are not followed), with their metadata.
fn recording_files(dir: &Path) -> io::Result<Vec<(PathBuf, fs::Metadata)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries.take(MAX_FILES) {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        if path.extension().is_none_or(|e| e != EXTENSION) {
            continue;
        }
        if let Ok(meta) = fs::symlink_metadata(&path)
            && meta.is_file()
        {
            files.push((path, meta));
        }
    }
    Ok(files)
}

/// A file that fails reads once `left` bytes have been read: how a listing bounds its work.
struct Budgeted {
    file: File,
    left: u64,
    spent: Rc<Cell<bool>>,
}

impl Read for Budgeted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            self.spent.set(true);
            return Err(io::Error::other("the listing's reading budget is spent"));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.file.read(&mut buf[..want])?;
        self.left -= got as u64;
        Ok(got)
    }
}

impl Seek for Budgeted {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

fn budgeted(path: &Path) -> io::Result<(Reader<Budgeted>, Rc<Cell<bool>>)> {
    let spent = Rc::new(Cell::new(false));
    let file = Budgeted {
        file: File::open(path)?,
        left: SCAN_MAX_READ,
        spent: spent.clone(),
    };
    let reader = Reader::open(file).map_err(|e| match e {
        ReadError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    })?;
    Ok((reader, spent))
}

/// Reads `info.path`'s records within the budget into `info`.
fn scan(info: &mut RecordingInfo) -> io::Result<()> {
    let (mut reader, spent) = budgeted(&info.path)?;
    let want = |head: &format::Head| matches!(head.known_kind(), Some(Kind::Meta | Kind::Event));
    let mut records = 0u64;
    loop {
        if records >= SCAN_MAX_RECORDS {
            info.complete = false;
            break;
        }
        let head = match reader.next_skim(want) {
            Ok(Some(Skim::Head(head))) => head,
            Ok(Some(Skim::Record(record))) => {
                read_json(info, record.head.known_kind(), &record.payload);
                record.head
            }
            Ok(Some(Skim::Damaged { offset, len, .. })) => {
                info.damaged_ranges += 1;
                info.damaged_bytes += len;
                info.first_damage_at.get_or_insert(offset);
                continue;
            }
            Ok(None) => break,
            Err(_) if spent.get() => {
                info.complete = false;
                break;
            }
            Err(e) => return Err(e),
        };
        records += 1;
        info.duration_us = info.duration_us.max(head.t_us);
    }
    info.torn_at = reader.torn_at();
    if !info.complete {
        info.duration_us = info.duration_us.max(last_time(&info.path).unwrap_or(0));
    }
    Ok(())
}

/// The latest record time in the file's last [`TAIL_BYTES`].
fn last_time(path: &Path) -> io::Result<u64> {
    let (mut reader, _) = budgeted(path)?;
    let start = reader.file_len().saturating_sub(TAIL_BYTES);
    // Not a record's start: the reader searches on from there to the next one.
    reader.seek_to(start);
    let mut last = 0;
    while let Some(skim) = reader.next_skim(|_| false)? {
        match skim {
            Skim::Head(head) => last = last.max(head.t_us),
            Skim::Record(record) => last = last.max(record.head.t_us),
            Skim::Damaged { .. } => {}
        }
    }
    Ok(last)
}

/// Takes what a listing shows from a `Meta` or `Event` record.
fn read_json(info: &mut RecordingInfo, kind: Option<Kind>, payload: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return;
    };
    match kind {
        Some(Kind::Meta) if info.source.is_none() && info.tracks.is_empty() => {
            info.started_unix_ms = value["started_unix_ms"].as_u64();
            info.source = value["source"]
                .as_str()
                .map(|s| s.chars().take(1_000).collect());
            info.tracks = value["tracks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| Some(t["kind"].as_str()?.chars().take(32).collect()))
                .take(64)
                .collect();
        }
        Some(Kind::Event) => match value["type"].as_str() {
            Some("prompt") => info.prompts += 1,
            Some("bookmark") => info.bookmarks += 1,
            _ => {}
        },
        _ => {}
    }
}

/// How much the library keeps: each limit, `None` for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// All recordings together at most this many bytes.
    pub max_bytes: Option<u64>,
    /// A recording last written longer ago than this goes.
    pub max_age: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_bytes: Some(DEFAULT_MAX_BYTES),
            max_age: Some(DEFAULT_MAX_AGE),
        }
    }
}

/// Why retention deleted a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// It was older than the age limit.
    Age,
    /// The recordings took more than the size limit.
    Size,
}

/// A recording retention deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    pub path: PathBuf,
    pub bytes: u64,
    pub why: Over,
}

/// Deletes recordings in `dir`, oldest first, while any is older than `policy`'s age or
/// all of them take more than its size; never one in `open` (the caller's live
/// recordings), nor one that may still be written (see the module's text). A file that
/// will not delete is left and the next one is tried. Returns what was deleted.
pub fn enforce(dir: &Path, policy: &Retention, open: &[PathBuf]) -> io::Result<Vec<Deleted>> {
    let now = SystemTime::now();
    let mut files: Vec<(PathBuf, u64, SystemTime)> = recording_files(dir)?
        .into_iter()
        .filter(|(path, _)| is_recording(path))
        .map(|(path, meta)| {
            let modified = meta.modified().unwrap_or(now);
            (path, meta.len(), modified)
        })
        .collect();
    files.sort_by_key(|(_, _, modified)| *modified);
    let mut total: u64 = files.iter().map(|(_, bytes, _)| bytes).sum();
    let open: HashSet<PathBuf> = open.iter().map(|p| canonical(p)).collect();
    // Which files other processes hold open, looked up once and only if something is due.
    let mut held: Option<HashSet<PathBuf>> = None;
    let mut deleted = Vec::new();
    for (path, bytes, modified) in files {
        let age = now.duration_since(modified).unwrap_or_default();
        let why = if policy.max_age.is_some_and(|max| age > max) {
            Over::Age
        } else if policy.max_bytes.is_some_and(|max| total > max) {
            Over::Size
        } else {
            continue;
        };
        let path = canonical(&path);
        if age < IN_USE_GRACE || open.contains(&path) {
            continue;
        }
        if held.get_or_insert_with(held_open).contains(&path) {
            continue;
        }
        if fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(bytes);
            deleted.push(Deleted { path, bytes, why });
        }
    }
    Ok(deleted)
}

/// Whether `path` starts with a recording's header.
fn is_recording(path: &Path) -> bool {
    let mut bytes = [0u8; format::HEADER_BYTES];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok()
        && format::read_header(&bytes).is_ok()
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The recordings any process we may look at holds open (Linux: `/proc/*/fd`).
#[cfg(target_os = "linux")]
fn held_open() -> HashSet<PathBuf> {
    /// Descriptors looked at, at most.
    const MAX_FDS: usize = 1_000_000;
    let mut held = HashSet::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return held;
    };
    let mut seen = 0;
    for proc in procs.flatten() {
        let name = proc.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            seen += 1;
            if seen > MAX_FDS {
                return held;
            }
            if let Ok(target) = fs::read_link(fd.path())
                && target.extension().is_some_and(|e| e == EXTENSION)
            {
                held.insert(target);
            }
        }
    }
    held
}

#[cfg(not(target_os = "linux"))]
fn held_open() -> HashSet<PathBuf> {
    HashSet::new()
}

#[cfg(test)]
#[path = "library_tests.rs"]
mod tests;
