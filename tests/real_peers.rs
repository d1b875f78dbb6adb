//! Real-peer tests: `lookout snapshot` against x11vnc and TigerVNC Xvnc (behind websockify
//! and directly), each serving a headed Chromium showing `tests/assets/static.html`.
//!
//! Each snapshot is compared with an X screenshot of the same display taken right after it:
//! pixel for pixel for lossless encodings (raw, hextile, zrle), within a tolerance for Tight,
//! which may use JPEG. The square around the parked pointer is left out because a server
//! may draw the cursor into the picture. One peer stack per server is shared by all its
//! cases. Programs come from `packaging/setup.sh`; without them the tests print a skip line,
//! except under `CI`, where they fail.

mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use peers::{Diff, PeerSet, Rgb, Server, Tolerance, run_bounded};

/// `--timeout` passed to lookout; the harness kills it if it overstays by far.
const SNAPSHOT_TIMEOUT_SECS: u64 = 20;
/// Tries per case when the screen changed between the screenshots around a snapshot.
const ATTEMPTS: u32 = 3;

/// One snapshot to take and how close it must be to the screen.
struct Case {
    label: &'static str,
    via_websockify: bool,
    args: &'static [&'static str],
    tolerance: Tolerance,
}

const fn ws(label: &'static str, args: &'static [&'static str], tolerance: Tolerance) -> Case {
    Case {
        label,
        via_websockify: true,
        args,
        tolerance,
    }
}

const LOSSLESS_OVER_WS: [Case; 3] = [
    ws("ws-raw", &["--encoding", "raw"], Tolerance::EXACT),
    ws("ws-hextile", &["--encoding", "hextile"], Tolerance::EXACT),
    ws("ws-zrle", &["--encoding", "zrle"], Tolerance::EXACT),
];

#[test]
fn x11vnc_snapshots_match_the_screen() -> Result<()> {
    check_server(
        Server::X11vnc,
        LOSSLESS_OVER_WS.into_iter().chain([
            ws(
                "ws-tight-q6",
                &["--encoding", "tight", "--quality", "6"],
                Tolerance::LOSSY,
            ),
            ws("ws-auto", &[], Tolerance::LOSSY),
        ]),
    )
}

#[test]
fn xvnc_snapshots_match_the_screen() -> Result<()> {
    check_server(
        Server::Xvnc,
        LOSSLESS_OVER_WS.into_iter().chain([
            ws("ws-tight", &["--encoding", "tight"], Tolerance::LOSSY),
            Case {
                label: "tcp-zrle",
                via_websockify: false,
                args: &["--encoding", "zrle"],
                tolerance: Tolerance::EXACT,
            },
        ]),
    )
}

fn check_server(server: Server, cases: impl IntoIterator<Item = Case>) -> Result<()> {
    let Some(mut peers) = PeerSet::start(server)? else {
        return Ok(());
    };
    for case in cases {
        check_case(&mut peers, &case).with_context(|| format!("{server:?} {}", case.label))?;
    }
    Ok(())
}

fn check_case(peers: &mut PeerSet, case: &Case) -> Result<()> {
    let url = if case.via_websockify {
        peers.ws_url()
    } else {
        peers.vnc_url()
    };
    for _ in 0..ATTEMPTS {
        let before = peers.screenshot()?;
        let snapshot = snapshot(peers, case.label, &url, case.args)?;
        let screen = peers.screenshot()?;
        if before != screen {
            eprintln!(
                "{}: the screen changed during the snapshot; retrying",
                case.label
            );
            continue;
        }
        let diff = Diff::between(&screen, &snapshot, peers.cursor_mask(), case.tolerance)?;
        if diff.is_within(case.tolerance) {
            return Ok(());
        }
        let (screen_png, snapshot_png) =
            keep_for_inspection(peers.server(), case.label, &screen, &snapshot)?;
        let first = diff
            .first
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        bail!(
            "snapshot of {url} differs from the screen: {} of {} pixels differ \
             ({:.2}% within tolerance, mean abs {:.3}), in box {:?}; first: {first}; \
             saved {} and {}",
            diff.differing,
            diff.compared,
            100.0 * diff.share_within(),
            diff.mean_abs(),
            diff.bbox,
            screen_png.display(),
            snapshot_png.display()
        );
    }
    bail!("the screen kept changing during {ATTEMPTS} snapshots")
}

/// Runs `lookout snapshot URL -o FILE ARGS…` and decodes the PNG it wrote.
fn snapshot(peers: &mut PeerSet, label: &str, url: &str, args: &[&str]) -> Result<Rgb> {
    let out = peers.dir().join(format!("{label}.png"));
    let finished = run_bounded(
        &format!("lookout-{label}"),
        Command::new(env!("CARGO_BIN_EXE_lookout"))
            .args(["snapshot", url, "-o"])
            .arg(&out)
            .args(["--timeout", &SNAPSHOT_TIMEOUT_SECS.to_string()])
            .args(args),
        peers.dir(),
        Duration::from_secs(2 * SNAPSHOT_TIMEOUT_SECS),
    )?;
    if !finished.status.success() {
        peers.check_alive()?;
        bail!(
            "lookout snapshot {url} {args:?} failed ({}): {}",
            finished.status,
            finished.stderr
        );
    }
    Rgb::read_png(&out)
}

/// Copies both pictures where they outlive the test: `target/tmp/real_peers/`.
fn keep_for_inspection(
    server: Server,
    label: &str,
    screen: &Rgb,
    snapshot: &Rgb,
) -> Result<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real_peers");
    std::fs::create_dir_all(&dir)?;
    let screen_png = dir.join(format!("{server:?}-{label}-screen.png"));
    let snapshot_png = dir.join(format!("{server:?}-{label}-snapshot.png"));
    screen.write_png(&screen_png)?;
    snapshot.write_png(&snapshot_png)?;
    Ok((screen_png, snapshot_png))
}
