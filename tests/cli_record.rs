//! `lookout record` and `lookout snapshot FILE --at T` as a user runs them: the real binary
//! against the simulator, a file that holds no secret, and a recording killed mid-write.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

#[path = "support/cli.rs"]
mod cli;

use cli::{lookout, run, small_sim, text};

/// The picture in a PNG, as RGB bytes.
fn png_pixels(path: &Path) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replays_to_any_moment_and_holds_no_secret() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.lkrec");
    let f = file.to_str().unwrap();
    let out = run(
        &sim,
        &["record", "optexity:demo", "-o", f, "--duration", "3"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("recorded 3."), "{}", text(&out));
    // Never over an existing file.
    let again = run(
        &sim,
        &["record", "optexity:demo", "-o", f, "--duration", "1"],
    )
    .await;
    assert!(!again.status.success());
    assert!(
        text(&again).contains("cannot create the recording"),
        "{}",
        text(&again)
    );

    // Two moments a second apart show different pictures (the demo's clock moves); the
    // end is the last one.
    let (one, two, end) = (
        dir.path().join("1.png"),
        dir.path().join("2.png"),
        dir.path().join("e.png"),
    );
    for (at, png) in [(Some("1"), &one), (Some("0:02.5"), &two), (None, &end)] {
        let mut args = vec!["snapshot", f, "-o", png.to_str().unwrap()];
        args.extend(at.map(|a| ["--at", a]).into_iter().flatten());
        let out = run(&sim, &args).await;
        assert!(out.status.success(), "{at:?}: {}", text(&out));
    }
    assert_ne!(png_pixels(&one), png_pixels(&two));
    assert_eq!(png_pixels(&one).len(), 480 * 300 * 3);

    // The key and every token the simulator minted stay out of the file.
    let bytes = std::fs::read(&file).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    assert!(
        !raw.contains(sim.api_key()),
        "the API key is in the recording"
    );
    for (at, _) in raw.match_indices("token=") {
        assert!(raw[at + 6..].starts_with("***"), "a token in the recording");
    }
    assert!(sim.stats().tokens_issued > 0);

    // Bad files are named, not panicked on.
    let junk = dir.path().join("junk.lkrec");
    std::fs::write(&junk, b"LKREC\r\n\x1a\x07\x00").unwrap();
    let out = run(
        &sim,
        &["snapshot", junk.to_str().unwrap(), "-o", "/dev/null"],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ends inside its header"),
        "{}",
        text(&out)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_killed_mid_write_replays_to_within_a_second_of_the_kill() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("killed.lkrec");
    let f = file.to_str().unwrap();
    let mut child = lookout(&sim, &["record", "optexity:demo", "-o", f])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // What the server has sent, as time goes by.
    let mut sent = Vec::new();
    let kill_at = tokio::time::Instant::now() + Duration::from_millis(2_730);
    while tokio::time::Instant::now() < kill_at {
        sent.push((tokio::time::Instant::now(), sim.stats().updates_sent));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let killed = tokio::time::Instant::now();
    let _ = child.wait().await;
    // The file opens without repair. After the handshake's, each `Wire` record is one
    // message the viewer applied: here, one update.
    use lookout::core::record::reader::Reader;
    let mut reader = Reader::open(std::fs::File::open(&file).unwrap()).unwrap();
    let mut wires = 0u64;
    while let Some(r) = reader.next_record().unwrap() {
        wires += u64::from(r.head.known_kind() == Some(lookout::core::record::format::Kind::Wire));
    }
    let in_file = wires.saturating_sub(1);
    let second_before = sent
        .iter()
        .rev()
        .find(|(at, _)| *at <= killed - Duration::from_secs(1))
        .map_or(0, |s| s.1);
    println!("{in_file} updates in the file; {second_before} sent a second before the kill");
    assert!(second_before > 5, "the server sent too little to judge");
    assert!(
        in_file >= second_before,
        "{in_file} updates in the file, {second_before} sent a second before the kill"
    );
    let png = dir.path().join("k.png");
    let out = run(&sim, &["snapshot", f, "-o", png.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_and_its_task_log_record_together_and_the_log_prints_as_live() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("both.lkrec");
    let f = file.to_str().unwrap();
    let out = run(
        &sim,
        &[
            "record",
            "optexity:demo",
            "--log",
            "waldiez:demo",
            "-o",
            f,
            "--duration",
            "4",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let recorded = run(&sim, &["logs", f, "--json"]).await;
    let stdout = String::from_utf8_lossy(&recorded.stdout).into_owned();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 3, "{stdout}");
    // Numbered as the live log numbered them, without gaps.
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"].as_u64(), Some(i as u64), "{stdout}");
    }
    // What the runner printed is there, as `lookout logs` shows it live.
    let history = sim.waldiez_history("demo");
    assert!(!history.is_empty());
    assert!(
        lines.iter().any(|l| l["kind"] == "status"),
        "no status line in {stdout}"
    );
    // The plain form too, and the picture beside it.
    let plain = run(&sim, &["logs", f]).await;
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout).lines().count(),
        lines.len()
    );
    let png = dir.path().join("p.png");
    let snap = run(
        &sim,
        &["snapshot", f, "--at", "3", "-o", png.to_str().unwrap()],
    )
    .await;
    assert!(snap.status.success(), "{}", text(&snap));
    // No credential of either provider reaches the file.
    let raw = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
    for secret in [sim.api_key(), sim.waldiez_client_secret()] {
        assert!(!raw.contains(secret), "a credential is in the recording");
    }
    sim.shutdown().await;
}
