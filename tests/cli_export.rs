//! `lookout export` and `lookout recordings` as a user runs them: a picture and its task
//! log recorded from the simulator, exported to an MP4 that `ffprobe` reads (one H.264
//! stream, one subtitle stream, the recording's length) with the log lines in its
//! subtitles; a part of it with `--from`/`--to`; the listing of the recordings.
//!
//! Without `ffmpeg` the export test prints a skip line, except under `CI`, where it fails.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};

use lookout::sim::SimHandle;

#[path = "support/cli.rs"]
mod cli;

use cli::{lookout, run, small_sim, text};

/// Whether `ffmpeg` and `ffprobe` are here; outside CI missing ones skip the test.
fn have_ffmpeg() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|p| {
        Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "ffmpeg is missing: run packaging/setup.sh"
        );
        eprintln!("skipped: ffmpeg is not installed (packaging/setup.sh installs it)");
    }
    ok
}

/// `lookout record SOURCES -o FILE --duration SECS`, which must succeed.
async fn record(sim: &SimHandle, sources: &[&str], file: &Path, secs: &str) {
    let mut args = vec!["record"];
    args.extend(sources);
    args.extend(["-o", file.to_str().unwrap(), "--duration", secs]);
    let out = run(sim, &args).await;
    assert!(out.status.success(), "{}", text(&out));
}

/// `ffprobe`'s streams (type, codec) and the file's duration.
fn probe(path: &Path) -> (Vec<(String, String)>, f64) {
    let out = stdout_of(
        Command::new("ffprobe")
            .args(["-v", "error", "-show_entries"])
            .args(["format=duration:stream=codec_type,codec_name"])
            .args(["-of", "json"])
            .arg(path),
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let streams = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or("").to_string(),
                s["codec_name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let duration = v["format"]["duration"].as_str().unwrap().parse().unwrap();
    (streams, duration)
}

/// The MP4's subtitles as SRT.
fn subtitles(path: &Path) -> String {
    let out = stdout_of(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-map", "0:s:0", "-f", "srt", "-"]),
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// What a program that must succeed printed.
fn stdout_of(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?}: {err}");
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_an_h264_mp4_of_the_recording_with_its_log_as_subtitles() {
    if !have_ffmpeg() {
        return;
    }
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("both.lkrec");
    let f = file.to_str().unwrap();
    record(
        &sim,
        &["optexity:demo", "--log", "waldiez:demo"],
        &file,
        "4",
    )
    .await;
    let (_, index) = lookout::core::record::index::open(&file).unwrap();
    let recorded = index.duration_us as f64 / 1e6;
    assert!(recorded > 3.0, "recorded {recorded} s");

    let mp4 = dir.path().join("out.mp4");
    let m = mp4.to_str().unwrap();
    let out = run(&sim, &["export", f, "-o", m]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("exported"), "{}", text(&out));
    let (streams, duration) = probe(&mp4);
    assert_eq!(
        streams,
        [
            ("video".to_string(), "h264".to_string()),
            ("subtitle".to_string(), "mov_text".to_string())
        ]
    );
    assert!(
        (duration - recorded).abs() <= 0.5,
        "the MP4 is {duration} s, the recording {recorded} s"
    );
    let srt = subtitles(&mp4);
    assert!(
        srt.contains("Starting flow: checkout assistant"),
        "the log's first line is not in the subtitles:\n{srt}"
    );

    // Never over an existing file, unless --force; nothing is left behind.
    let again = run(&sim, &["export", f, "-o", m]).await;
    assert!(!again.status.success());
    assert!(text(&again).contains("--force"), "{}", text(&again));

    // A part of it, over the first.
    let out = run(
        &sim,
        &[
            "export", f, "-o", m, "--from", "1.5", "--to", "0:03.5", "--force",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (streams, duration) = probe(&mp4);
    assert_eq!(streams[0].1, "h264");
    assert!(
        (duration - 2.0).abs() <= 0.5,
        "--from 1.5 --to 3.5 made {duration} s"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "temporary files left: {names:?}");

    // Nothing to export, and a log-only recording, are said plainly.
    let x = dir.path().join("x.mp4");
    let xs = x.to_str().unwrap();
    let out = run(&sim, &["export", f, "-o", xs, "--from", "99"]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing to export"), "{}", text(&out));
    let log_only = dir.path().join("log.lkrec");
    record(&sim, &["waldiez:demo"], &log_only, "1").await;
    let out = run(&sim, &["export", log_only.to_str().unwrap(), "-o", xs]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("no picture track"), "{}", text(&out));
    assert!(!x.exists());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_lists_each_file_newest_first_and_names_a_damaged_one() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let file = dir.path().join("a.lkrec");
    record(&sim, &["optexity:demo"], &file, "2").await;
    // A copy cut in its middle record, and a file that is no recording.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(dir.path().join("cut.lkrec"), &bytes[..bytes.len() - 3]).unwrap();
    std::fs::write(dir.path().join("junk.lkrec"), b"\x1b]0;hi\x07 not one").unwrap();

    let out = run(&sim, &["recordings", "--dir", d]).await;
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("WHEN (UTC)"), "{table}");
    let row = lines.iter().find(|l| l.contains("a.lkrec")).unwrap();
    assert!(
        row.contains("optexity:demo") && row.contains("0:0"),
        "{table}"
    );
    let cut = lines.iter().find(|l| l.contains("cut.lkrec")).unwrap();
    assert!(cut.contains("cut short at byte"), "{table}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("junk.lkrec") && l.contains("not a Lookout recording")),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'));
    assert!(text(&out).contains("3 recordings"), "{}", text(&out));

    let out = run(&sim, &["recordings", "--json", "--recordings-dir", d]).await;
    assert!(out.status.success(), "{}", text(&out));
    let objects: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 3);
    let a = objects
        .iter()
        .find(|o| o["path"].as_str().unwrap().ends_with("a.lkrec"))
        .unwrap();
    assert_eq!(a["source"], "optexity:demo");
    assert_eq!(a["tracks"], serde_json::json!(["rfb"]));
    assert!(a["duration_s"].as_f64().unwrap() > 1.0, "{a}");
    assert!(a["problem"].is_null(), "{a}");

    // The default directory comes from the settings.
    let out = lookout(&sim, &["recordings"])
        .env("LOOKOUT_RECORDINGS_DIR", d)
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), table);
    let empty = dir.path().join("none");
    let out = run(&sim, &["recordings", "--dir", empty.to_str().unwrap()]).await;
    assert!(out.status.success());
    assert!(text(&out).contains("no recordings in"), "{}", text(&out));
    sim.shutdown().await;
}
