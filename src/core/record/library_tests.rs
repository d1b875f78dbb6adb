use std::fs::{self, File, FileTimes};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::core::record::format::{self, Kind};

const DAY: Duration = Duration::from_secs(86_400);

/// Writes a recording of `records` (kind, t_us, payload) to `path`.
fn write(path: &Path, records: &[(Kind, u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = format::header().to_vec();
    for (kind, t_us, payload) in records {
        format::encode(*kind, 0, *t_us, payload, &mut out);
    }
    fs::write(path, &out).unwrap();
    out
}

fn json(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn meta(source: &str, started: u64) -> (Kind, u64, Vec<u8>) {
    let meta = serde_json::json!({"started_unix_ms": started, "source": source,
        "tracks": [{"track": 0, "kind": "rfb"}, {"track": 1, "kind": "log"}]});
    (Kind::Meta, 0, json(meta))
}

fn event(t_us: u64, kind: &str) -> (Kind, u64, Vec<u8>) {
    (Kind::Event, t_us, json(serde_json::json!({"type": kind})))
}

/// A recording of `bytes` (about) last written `age` ago.
fn aged(dir: &Path, name: &str, bytes: usize, age: Duration) -> PathBuf {
    let path = dir.join(name);
    write(
        &path,
        &[
            meta("s", 0),
            (Kind::Wire, 1, vec![7; bytes.saturating_sub(60)]),
        ],
    );
    let when = SystemTime::now() - age;
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(when))
        .unwrap();
    path
}

fn names(deleted: &[Deleted]) -> Vec<String> {
    deleted
        .iter()
        .map(|d| d.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn file_names_say_when_and_what_and_never_hold_a_secret() {
    let t = UNIX_EPOCH + Duration::from_secs(1_796_514_012);
    assert_eq!(
        file_name("optexity:demo", t),
        "2026-12-05T23-40-12Z optexity-demo.lkrec"
    );
    assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    assert_eq!(
        safe_label("rfb+ws://host:5900/ws?token=abc"),
        "rfb-ws-host-5900-ws"
    );
    assert_eq!(
        safe_label("vnc://user:pw@10.0.0.1:5901"),
        "vnc-10.0.0.1-5901"
    );
    assert_eq!(safe_label("../../etc/passwd"), "etc-passwd");
    assert_eq!(safe_label("a\u{1b}[2J b\nc"), "a-2J-b-c");
    assert_eq!(safe_label(":::"), "recording");
    assert_eq!(safe_label("token=abc123 key"), "token-key");
    assert!(safe_label(&"x".repeat(500)).len() <= 60);
    let secret = crate::core::redact::Secret::new("sk-live-0123456789");
    secret.pin();
    assert_eq!(safe_label("chaser:sk-live-0123456789"), "chaser");
}

#[test]
fn new_paths_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let t = UNIX_EPOCH + Duration::from_secs(1_796_514_012);
    let first = new_path(dir.path(), "optexity:demo", t);
    assert_eq!(
        first,
        dir.path().join("2026-12-05T23-40-12Z optexity-demo.lkrec")
    );
    fs::write(&first, b"x").unwrap();
    let second = new_path(dir.path(), "optexity:demo", t);
    assert_eq!(
        second,
        dir.path()
            .join("2026-12-05T23-40-12Z optexity-demo (2).lkrec")
    );
    // `create` makes the directory and a file that was not there.
    let nested = dir.path().join("a/b");
    let meta = serde_json::json!({"source": "optexity:demo"});
    let (sink1, w1) = create(&nested, "optexity:demo", t, &meta).unwrap();
    let (sink2, w2) = create(&nested, "optexity:demo", t, &meta).unwrap();
    assert_ne!(sink1.path(), sink2.path());
    assert!(
        sink2
            .path()
            .ends_with("2026-12-05T23-40-12Z optexity-demo (2).lkrec")
    );
    drop((sink1, sink2));
    w1.finish();
    w2.finish();
    assert_eq!(list(&nested).unwrap().len(), 2);
}

#[test]
fn a_listing_reads_what_each_file_holds_and_names_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("good.lkrec"),
        &[
            meta("optexity:demo", 1_000_000),
            event(1_000, "prompt"),
            event(2_000, "bookmark"),
            event(3_000, "prompt"),
            event(4_000, "input"),
            (Kind::Wire, 7_500_000, vec![1; 100]),
        ],
    );
    // Cut inside its last record.
    let mut torn = write(
        &d.join("torn.lkrec"),
        &[
            meta("later", 2_000_000),
            (Kind::Wire, 2_000_000, vec![1; 100]),
        ],
    );
    let whole = torn.len();
    format::encode(Kind::Wire, 0, 3_000_000, &[2; 100], &mut torn);
    fs::write(d.join("torn.lkrec"), &torn[..whole + 50]).unwrap();
    // Garbage in the middle.
    let mut damaged = write(&d.join("damaged.lkrec"), &[meta("older", 500)]);
    let at = damaged.len();
    damaged.extend_from_slice(&[0xAB; 333]);
    format::encode(Kind::Wire, 0, 9_000_000, &[1; 10], &mut damaged);
    fs::write(d.join("damaged.lkrec"), &damaged).unwrap();
    fs::write(d.join("junk.lkrec"), b"not a recording at all").unwrap();
    fs::write(d.join("notes.txt"), b"ignored").unwrap();

    let list = list(d).unwrap();
    let by = |name: &str| {
        list.iter()
            .find(|i| i.path.file_name().unwrap() == name)
            .unwrap()
    };
    assert_eq!(list.len(), 4);
    let good = by("good.lkrec");
    assert_eq!(good.source.as_deref(), Some("optexity:demo"));
    assert_eq!(good.started_unix_ms, Some(1_000_000));
    assert_eq!(good.duration_us, 7_500_000);
    assert_eq!(good.tracks, ["rfb", "log"]);
    assert_eq!((good.prompts, good.bookmarks), (2, 1));
    assert_eq!(good.problem(), None);
    assert_eq!(good.bytes, fs::metadata(&good.path).unwrap().len());

    let torn = by("torn.lkrec");
    assert_eq!(torn.torn_at, Some(whole as u64));
    assert_eq!(torn.duration_us, 2_000_000);
    assert!(torn.problem().unwrap().contains("cut short"), "{torn:?}");

    let damaged = by("damaged.lkrec");
    assert_eq!(damaged.first_damage_at, Some(at as u64));
    assert_eq!(damaged.damaged_bytes, 333);
    assert_eq!(damaged.duration_us, 9_000_000, "read on past the damage");
    assert!(damaged.problem().unwrap().contains(&format!("byte {at}")));

    let junk = by("junk.lkrec");
    assert!(junk.error.is_some());
    assert!(junk.problem().is_some());

    // Newest first: by start, a file without one by when it was written (now).
    let order: Vec<_> = list
        .iter()
        .map(|i| i.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(order[0], "junk.lkrec");
    assert_eq!(&order[1..], ["torn.lkrec", "good.lkrec", "damaged.lkrec"]);
    assert!(super::list(&d.join("missing")).unwrap().is_empty());
}

#[test]
fn a_listing_reads_a_bounded_part_of_a_huge_file_and_still_finds_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.lkrec");
    let mut records = vec![meta("long", 1)];
    for i in 0..SCAN_MAX_RECORDS + 10 {
        records.push(event(i, if i == 0 { "bookmark" } else { "state" }));
    }
    write(&path, &records);
    let info = &list(dir.path()).unwrap()[0];
    assert!(!info.complete);
    assert_eq!(info.duration_us, SCAN_MAX_RECORDS + 9);
    assert_eq!(info.bookmarks, 1);
    assert!(info.problem().unwrap().contains("first part"));
}

#[test]
fn retention_deletes_oldest_first_past_either_limit_and_never_an_open_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ancient = aged(d, "ancient.lkrec", 1_000, 40 * DAY);
    let open_old = aged(d, "open-old.lkrec", 1_000, 50 * DAY);
    aged(d, "old.lkrec", 10_000, 5 * DAY);
    aged(d, "middle.lkrec", 10_000, 3 * DAY);
    aged(d, "new.lkrec", 10_000, DAY);
    // Written a minute ago: may still be written.
    aged(d, "live.lkrec", 50_000, Duration::from_secs(60));
    // Not a recording: never deleted, whatever its name and age.
    let junk = d.join("junk.lkrec");
    fs::write(&junk, vec![0; 100_000]).unwrap();
    let policy = Retention {
        max_bytes: Some(75_000),
        max_age: Some(30 * DAY),
    };
    let deleted = enforce(d, &policy, std::slice::from_ref(&open_old)).unwrap();
    assert_eq!(names(&deleted), ["ancient.lkrec", "old.lkrec"]);
    assert_eq!(deleted[0].why, Over::Age);
    assert_eq!(deleted[1].why, Over::Size);
    assert!(deleted[1].bytes >= 10_000);
    assert!(!ancient.exists() && open_old.exists() && junk.exists());
    // Within both limits now: nothing more goes.
    assert!(
        enforce(d, &policy, std::slice::from_ref(&open_old))
            .unwrap()
            .is_empty()
    );
    // No limits: nothing goes.
    let none = Retention {
        max_bytes: None,
        max_age: None,
    };
    assert!(enforce(d, &none, &[]).unwrap().is_empty());
    // Not open any more: the age limit takes it.
    let deleted = enforce(d, &policy, &[]).unwrap();
    assert_eq!(names(&deleted), ["open-old.lkrec"]);
    assert!(
        enforce(&d.join("missing"), &policy, &[])
            .unwrap()
            .is_empty()
    );
}

#[cfg(target_os = "linux")]
#[test]
fn retention_leaves_a_file_a_writer_holds_open() {
    let dir = tempfile::tempdir().unwrap();
    let held = aged(dir.path(), "held.lkrec", 1_000, 90 * DAY);
    let free = aged(dir.path(), "free.lkrec", 1_000, 90 * DAY);
    let mut writer = File::options().append(true).open(&held).unwrap();
    let deleted = enforce(dir.path(), &Retention::default(), &[]).unwrap();
    assert_eq!(names(&deleted), ["free.lkrec"]);
    assert!(held.exists() && !free.exists());
    writer.write_all(b"").unwrap();
    drop(writer);
}

#[test]
fn the_default_directory_is_the_data_directory() {
    if let Some(dir) = default_dir() {
        assert!(dir.ends_with("lookout/recordings"), "{}", dir.display());
    }
}
