//! A real peer recorded: `lookout record` watching x11vnc (behind websockify) serving a
//! headed Chromium whose page changes every 2.5 s, while the test takes X screenshots of
//! the still moments; then `lookout snapshot FILE --at T` at each of those moments must
//! match the screenshot (Tight's tolerance, the pointer's square left out).
//!
//! Programs come from `packaging/setup.sh`; without them the test prints a skip line, except
//! under `CI`, where it fails.

#[allow(dead_code)]
mod peers;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use peers::{Diff, PeerSet, Proc, Rgb, Server, Tolerance, run_bounded};

/// How long the recording runs.
const RECORD_SECS: u64 = 20;

/// The steps page's green mark is up.
fn shows_steps(shot: &Rgb) -> bool {
    shot.count([0, 255, 0]) >= 150 * 150
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[test]
fn x11vnc_recording_replays_what_the_screen_showed() -> Result<()> {
    let Some(peers) = PeerSet::start_page(Server::X11vnc, "steps.html", shows_steps)? else {
        return Ok(());
    };
    let file = peers.dir().join("x11vnc.lkrec");
    let mut record = Proc::spawn(
        "lookout-record",
        Command::new(env!("CARGO_BIN_EXE_lookout"))
            .args(["record", &peers.ws_url(), "-o"])
            .arg(&file)
            .args(["--duration", &RECORD_SECS.to_string()]),
        peers.dir(),
        false,
    )?;
    // Still moments: two screenshots 400 ms apart that are the same, new since the last.
    let start = Instant::now();
    let mut moments: Vec<(u64, Rgb)> = Vec::new();
    std::thread::sleep(Duration::from_secs(2));
    while start.elapsed() < Duration::from_secs(RECORD_SECS - 3) {
        let a = peers.screenshot()?;
        std::thread::sleep(Duration::from_millis(400));
        let at = unix_ms();
        let b = peers.screenshot()?;
        if a == b && moments.last().is_none_or(|(_, m)| *m != b) {
            moments.push((at, b));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = loop {
        if let Some(status) = record.child_mut().try_wait()? {
            break status;
        }
        if start.elapsed() > Duration::from_secs(RECORD_SECS + 20) {
            bail!("lookout record did not stop: {}", record.log_tail());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() {
        bail!("lookout record failed ({status}): {}", record.log_tail());
    }
    if moments.len() < 4 {
        bail!("only {} still moments of the page", moments.len());
    }
    let (_, index) = lookout::core::record::index::open(&file).context("indexing the recording")?;
    let started = index.meta["started_unix_ms"]
        .as_u64()
        .context("no start time")?;
    for (n, (at_ms, screen)) in moments.iter().enumerate() {
        let at = (at_ms.saturating_sub(started)) as f64 / 1000.0;
        let out = peers.dir().join(format!("moment-{n}.png"));
        let finished = run_bounded(
            &format!("snapshot-{n}"),
            Command::new(env!("CARGO_BIN_EXE_lookout"))
                .arg("snapshot")
                .arg(&file)
                .args(["--at", &format!("{at:.3}"), "-o"])
                .arg(&out),
            peers.dir(),
            Duration::from_secs(60),
        )?;
        if !finished.status.success() {
            bail!("snapshot --at {at:.3} failed: {}", finished.stderr);
        }
        let replayed = Rgb::read_png(&out)?;
        let diff = Diff::between(screen, &replayed, peers.cursor_mask(), Tolerance::LOSSY)?;
        if !diff.is_within(Tolerance::LOSSY) {
            let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("real_peers_record");
            std::fs::create_dir_all(&keep)?;
            screen.write_png(&keep.join(format!("moment-{n}-screen.png")))?;
            replayed.write_png(&keep.join(format!("moment-{n}-replay.png")))?;
            bail!(
                "moment {n} at {at:.3} s: the replay differs from the screen ({} of {} pixels, \
                 {:.2}% within tolerance); saved in {}",
                diff.differing,
                diff.compared,
                100.0 * diff.share_within(),
                keep.display()
            );
        }
    }
    eprintln!("{} moments of x11vnc matched their replay", moments.len());
    Ok(())
}
