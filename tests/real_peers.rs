//! Real-peer tests: `lookout snapshot` against x11vnc and TigerVNC Xvnc (behind websockify
//! and directly), each serving a headed Chromium showing `tests/assets/static.html`, and the
//! `lookout view` window itself, on a second X display, watching x11vnc.
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
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use peers::{Diff, PeerSet, Rgb, Server, Tolerance, Viewer, run_bounded};

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

/// The window draws what the server shows. At 1:1 every remote pixel lands unchanged on one
/// screen pixel (colour order, orientation and placement are right); fitted, the page's
/// red, green and blue swatches keep their order and spacing, scaled.
#[test]
fn x11vnc_viewer_window_shows_the_screen() -> Result<()> {
    let Some(peers) = PeerSet::start(Server::X11vnc)? else {
        return Ok(());
    };
    let screen = peers.screenshot()?;
    let url = peers.vnc_url();
    let lossless = ["--encoding", "zrle"];

    let mut viewer = peers.start_viewer(
        "view-1to1",
        &url,
        &[&lossless[..], &["--scale", "1:1"]].concat(),
    )?;
    let (shot, top) =
        wait_for_window(&mut viewer, |shot| one_to_one_top(&screen, shot)).context("1:1 window")?;
    let share = share_equal(&screen, &shot, top, WINDOW_ROWS_COMPARED);
    assert!(
        share >= 0.999,
        "1:1 window: only {:.3}% of pixels equal the server's screen (picture top at {top})",
        100.0 * share
    );
    drop(viewer);

    let mut viewer = peers.start_viewer("view-fit", &url, &lossless)?;
    let expected = swatch_centres(&screen).context("swatches on the server's screen")?;
    let (_, shown) = wait_for_window(&mut viewer, swatch_centres).context("fitted window")?;
    // Fitted into the window between toolbar and status line, the picture shrinks a little.
    let scale = (shown.blue.0 - shown.red.0) / (expected.blue.0 - expected.red.0);
    assert!(
        (0.8..1.0).contains(&scale),
        "fitted swatches are {scale:.3}× as far apart as on the server ({shown:?} vs {expected:?})"
    );
    let predicted_green_x = shown.red.0 + scale * (expected.green.0 - expected.red.0);
    assert!(
        (shown.green.0 - predicted_green_x).abs() < 3.0,
        "fitted green swatch at x {:.1}, expected {predicted_green_x:.1}",
        shown.green.0
    );
    Ok(())
}

/// Rows of the 1:1 window compared with the server's screen, from the picture's top.
const WINDOW_ROWS_COMPARED: u32 = 600;
/// Columns compared: the window's width less room for a scroll bar.
const WINDOW_COLUMNS_COMPARED: u32 = 1200;

/// Polls the viewer's display until `found` recognises the picture in it.
fn wait_for_window<T>(viewer: &mut Viewer, found: impl Fn(&Rgb) -> Option<T>) -> Result<(Rgb, T)> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        viewer.check_alive()?;
        let shot = viewer.screenshot()?;
        if let Some(value) = found(&shot) {
            return Ok((shot, value));
        }
        if Instant::now() >= deadline {
            let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("viewer-window.png");
            shot.write_png(&path)?;
            bail!(
                "the window never showed the picture; last screenshot: {}",
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The window row where the 1:1 picture starts (below the toolbar), if the window shows it.
fn one_to_one_top(screen: &Rgb, shot: &Rgb) -> Option<u32> {
    (0..160).find(|&top| share_equal(screen, shot, top, WINDOW_ROWS_COMPARED) >= 0.99)
}

/// Share of pixels in the compared block equal to the screen's, with the window's picture
/// starting `top` rows down.
fn share_equal(screen: &Rgb, shot: &Rgb, top: u32, rows: u32) -> f64 {
    let width = WINDOW_COLUMNS_COMPARED as usize * 3;
    fn row(pic: &Rgb, y: u32, width: usize) -> Option<&[u8]> {
        let start = y as usize * pic.width as usize * 3;
        pic.data.get(start..start + width)
    }
    let mut equal = 0usize;
    for y in 0..rows {
        let (Some(a), Some(b)) = (row(screen, y, width), row(shot, y + top, width)) else {
            return 0.0;
        };
        equal += a
            .chunks_exact(3)
            .zip(b.chunks_exact(3))
            .filter(|(p, q)| p == q)
            .count();
    }
    equal as f64 / (rows as f64 * f64::from(WINDOW_COLUMNS_COMPARED))
}

/// Centres of the pure red, green and blue swatches, in pixels.
#[derive(Debug)]
struct Swatches {
    red: (f64, f64),
    green: (f64, f64),
    blue: (f64, f64),
}

fn swatch_centres(pic: &Rgb) -> Option<Swatches> {
    // Scaled, a swatch keeps a pure interior of at least 80×80 pixels.
    const MIN_PIXELS: u64 = 80 * 80;
    let centre = |colour: [u8; 3]| {
        let (mut n, mut sx, mut sy) = (0u64, 0u64, 0u64);
        for (i, p) in pic.data.chunks_exact(3).enumerate() {
            if p == colour {
                n += 1;
                sx += (i % pic.width as usize) as u64;
                sy += (i / pic.width as usize) as u64;
            }
        }
        (n >= MIN_PIXELS).then(|| (sx as f64 / n as f64, sy as f64 / n as f64))
    };
    Some(Swatches {
        red: centre([255, 0, 0])?,
        green: centre([0, 255, 0])?,
        blue: centre([0, 0, 255])?,
    })
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

/// Operator input through Lookout's own RFB client changes a real page: x11vnc serves a
/// headed Chromium showing `tests/assets/input.html`; a session (the same core the window
/// drives) clicks its button and types into its field, and the page paints what it got.
#[test]
fn x11vnc_page_reacts_to_clicks_and_typing_through_rfb_input() -> Result<()> {
    use lookout::core::event::{Command, SessionEvent, SessionState, noop_waker};
    use lookout::core::input::{InputEvent, Modifiers, PointerButton, RemotePx};
    use lookout::core::session::{self, SessionConfig};

    let Some(peers) = PeerSet::start_page(Server::X11vnc, "input.html", shows_input_page)? else {
        return Ok(());
    };
    let screen = peers.screenshot()?;
    // The page's top-left corner, from its red marker.
    let (left, top) = find_block(&screen, [255, 0, 0], 96).context("the page's red marker")?;
    assert!(
        screen.count(GREEN) == 0 && screen.count(BLUE) == 0,
        "markers shown too early"
    );

    let rt = tokio::runtime::Runtime::new()?;
    let config = SessionConfig {
        reconnect: false,
        ..SessionConfig::default()
    };
    let mut handle = session::spawn(rt.handle(), peers.vnc_url().parse()?, config, noop_waker());
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match handle.recv_event().await {
                    Some(SessionEvent::State(SessionState::Live(_))) => return Ok(()),
                    Some(SessionEvent::State(SessionState::Failed { error })) => {
                        bail!("session failed: {error}")
                    }
                    Some(_) => {}
                    None => bail!("session ended before going live"),
                }
            }
        })
        .await
        .context("waiting for the session to go live")?
    })?;

    let at = |x: u32, y: u32| RemotePx::new(left + x, top + y);
    let click = |handle: &session::SessionHandle, p: RemotePx| {
        handle.send(Command::Input(InputEvent::PointerMove { at: p }));
        for down in [true, false] {
            handle.send(Command::Input(InputEvent::PointerButton {
                at: p,
                button: PointerButton::Left,
                down,
                click_count: 1,
                modifiers: Modifiers::NONE,
            }));
        }
    };
    // The button's middle.
    click(&handle, at(240, 160));
    wait_for_screen(&peers, "the green block after clicking Go", |shot| {
        shot.count(GREEN) >= 120 * 120
    })?;

    // Into the field, then type.
    click(&handle, at(320, 284));
    std::thread::sleep(Duration::from_millis(300));
    handle.send(Command::Input(InputEvent::Text {
        text: "lookout".into(),
    }));
    wait_for_screen(&peers, "the blue block after typing \"lookout\"", |shot| {
        shot.count(BLUE) >= 120 * 120
    })?;
    handle.send(Command::Stop);
    Ok(())
}

const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// The input page has painted: its red marker is on screen.
fn shows_input_page(shot: &Rgb) -> bool {
    shot.count([255, 0, 0]) >= 96 * 96
}

/// The top-left corner of the first `side`×`side` block of `colour`.
fn find_block(shot: &Rgb, colour: [u8; 3], side: u32) -> Option<(u32, u32)> {
    let px = |x: u32, y: u32| {
        let i = (y as usize * shot.width as usize + x as usize) * 3;
        shot.data.get(i..i + 3) == Some(&colour[..])
    };
    (0..shot.height.saturating_sub(side)).find_map(|y| {
        (0..shot.width.saturating_sub(side))
            .find(|&x| px(x, y) && px(x + side - 1, y + side - 1))
            .map(|x| (x, y))
    })
}

/// Polls the peers' screen for up to 15 s until `done` holds; saves the last screenshot
/// for inspection when it never does.
fn wait_for_screen(peers: &PeerSet, what: &str, done: impl Fn(&Rgb) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let shot = peers.screenshot()?;
        if done(&shot) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real_peers");
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("X11vnc-input-page-screen.png");
            shot.write_png(&path)?;
            bail!("no {what} on the page within 15 s (screen saved as {path:?})");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
