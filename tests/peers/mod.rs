//! Real VNC peers for integration tests: an X display showing a static page in a headed
//! Chromium, served over RFB by x11vnc (on Xvfb) or by TigerVNC's Xvnc (which is the X
//! server itself), with websockify in front.
//!
//! ```text
//! Xvfb :N ── chromium --app=static.html      Xvnc :N ── chromium --app=static.html
//!   └─ x11vnc -rfbport P                        (RFB on port P)
//! websockify WP -> P                          websockify WP -> P
//! ```
//!
//! Everything listens on 127.0.0.1 with free ports; X servers pick free display numbers.
//! [`PeerSet::start`] returns once the page has painted and both ports answer, and the
//! drop of [`PeerSet`] stops what it started, front to back. When a needed program is
//! missing the set is skipped (`Ok(None)`) on a developer machine and fails under `CI`.

mod picture;
mod process;
mod x11;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

pub use picture::{Diff, Mask, Rgb, Tolerance};
pub use process::Proc;
pub use process::run_bounded;
use process::{free_port, wait_for_port, wait_for_rfb};
pub use x11::XServer;
use x11::{IMPORT, start_chromium};
pub use x11::{SCREEN_HEIGHT, SCREEN_WIDTH};

/// Which program serves RFB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// x11vnc exporting an Xvfb display.
    X11vnc,
    /// TigerVNC Xvnc, an X server with a built-in RFB server.
    Xvnc,
}

impl Server {
    fn programs(self) -> &'static [&'static str] {
        match self {
            Self::X11vnc => &[
                "Xvfb",
                "x11vnc",
                "websockify",
                "chromium",
                IMPORT,
                "xdotool",
            ],
            Self::Xvnc => &["Xvnc", "websockify", "chromium", IMPORT, "xdotool"],
        }
    }
}

/// Where the pointer is parked, in the bottom-right corner, away from the page content.
const POINTER: (u32, u32) = (SCREEN_WIDTH - 1, SCREEN_HEIGHT - 1);
/// Half the side of the square left out of comparisons around the pointer.
const CURSOR_RADIUS: u32 = 64;

/// A running peer stack. Fields drop in declaration order: front end first, X server last,
/// the temporary directory (Chromium profile, logs) after everything has exited.
pub struct PeerSet {
    websockify: Proc,
    x11vnc: Option<Proc>,
    chromium: Proc,
    x: XServer,
    server: Server,
    rfb_port: u16,
    ws_port: u16,
    dir: TempDir,
}

impl PeerSet {
    /// Starts the stack for `server` showing the static test page, or returns `None` (after
    /// printing why) when a program is missing outside CI.
    pub fn start(server: Server) -> Result<Option<Self>> {
        Self::start_page(server, "static.html", shows_test_page)
    }

    /// Starts the stack for `server` showing `tests/assets/{page}`, ready once `painted`
    /// recognises the page in a screenshot.
    pub fn start_page(
        server: Server,
        page: &str,
        painted: fn(&Rgb) -> bool,
    ) -> Result<Option<Self>> {
        let missing: Vec<&str> = server
            .programs()
            .iter()
            .copied()
            .filter(|program| find_program(program).is_none())
            .collect();
        if !missing.is_empty() {
            if std::env::var_os("CI").is_some() {
                bail!(
                    "{server:?} peers need {missing:?}, which are not installed; run `bash packaging/setup.sh`"
                );
            }
            eprintln!(
                "skipping {server:?} real-peer test: missing {missing:?} (run `bash packaging/setup.sh`)"
            );
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("lookout-peers-")
            .tempdir()
            .context("creating the peers' temporary directory")?;
        let page = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/assets")
            .join(page);
        let rfb_port = match server {
            Server::X11vnc => 0,
            Server::Xvnc => free_port()?,
        };
        let geometry = format!("{SCREEN_WIDTH}x{SCREEN_HEIGHT}");
        let mut x = match server {
            Server::X11vnc => XServer::start("Xvfb", &mut xvfb(), dir.path())?,
            Server::Xvnc => XServer::start(
                "Xvnc",
                Command::new("Xvnc").args([
                    "-displayfd",
                    "1",
                    "-geometry",
                    &geometry,
                    "-depth",
                    "24",
                    "-rfbport",
                    &rfb_port.to_string(),
                    "-localhost",
                    "-SecurityTypes",
                    "None",
                    "-AlwaysShared",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ]),
                dir.path(),
            )?,
        };
        let mut chromium = start_chromium(&x, &page, dir.path())?;
        x.move_pointer(POINTER.0, POINTER.1, dir.path())?;
        x.wait_painted(&mut chromium, painted)?;

        let (mut x11vnc, rfb_port) = match server {
            Server::X11vnc => {
                let port = free_port()?;
                let proc = Proc::spawn(
                    "x11vnc",
                    Command::new("x11vnc").args([
                        "-display",
                        &x.name(),
                        "-rfbport",
                        &port.to_string(),
                        "-localhost",
                        "-forever",
                        "-shared",
                        "-nopw",
                        "-norc",
                        "-noxdamage",
                    ]),
                    dir.path(),
                    false,
                )?;
                (Some(proc), port)
            }
            Server::Xvnc => (None, rfb_port),
        };
        let size = match x11vnc.as_mut() {
            Some(proc) => wait_for_rfb(proc, rfb_port)?,
            None => wait_for_rfb(&mut x.proc, rfb_port)?,
        };
        if size != (SCREEN_WIDTH as u16, SCREEN_HEIGHT as u16) {
            bail!(
                "{server:?} serves a {}x{} framebuffer, expected {geometry}",
                size.0,
                size.1
            );
        }

        let ws_port = free_port()?;
        let mut websockify = Proc::spawn(
            "websockify",
            Command::new("websockify").args([
                format!("127.0.0.1:{ws_port}"),
                format!("127.0.0.1:{rfb_port}"),
            ]),
            dir.path(),
            false,
        )?;
        wait_for_port(&mut websockify, ws_port)?;

        Ok(Some(Self {
            websockify,
            x11vnc,
            chromium,
            x,
            server,
            rfb_port,
            ws_port,
            dir,
        }))
    }

    pub fn server(&self) -> Server {
        self.server
    }

    /// `rfb+ws://` URL of websockify in front of the RFB server.
    pub fn ws_url(&self) -> String {
        format!("rfb+ws://127.0.0.1:{}/", self.ws_port)
    }

    /// `vnc://` URL of the RFB server itself.
    pub fn vnc_url(&self) -> String {
        format!("vnc://127.0.0.1:{}", self.rfb_port)
    }

    /// Scratch directory for test output; removed with the set.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the X server holds now.
    pub fn screenshot(&self) -> Result<Rgb> {
        self.x.screenshot()
    }

    /// The area where a cursor may be drawn into the RFB picture.
    pub fn cursor_mask(&self) -> Mask {
        Mask::around(POINTER.0, POINTER.1, CURSOR_RADIUS)
    }

    /// Fails, naming the process and showing its log, when any peer has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        self.websockify.check_alive()?;
        if let Some(proc) = self.x11vnc.as_mut() {
            proc.check_alive()?;
        }
        self.chromium.check_alive()?;
        self.x.proc.check_alive()
    }
}

/// Xvfb at the test screen size, choosing its own display number.
fn xvfb() -> Command {
    let mut cmd = Command::new("Xvfb");
    cmd.args(["-displayfd", "1", "-screen", "0"])
        .arg(format!("{SCREEN_WIDTH}x{SCREEN_HEIGHT}x24"))
        .args(["-nolisten", "tcp", "-noreset"]);
    cmd
}

/// A `lookout view` window on an Xvfb display of its own. Fields drop in order: the viewer
/// first, then its X server.
pub struct Viewer {
    proc: Proc,
    x: XServer,
}

impl Viewer {
    /// What the viewer's display shows now.
    pub fn screenshot(&self) -> Result<Rgb> {
        self.x.screenshot()
    }

    /// Fails, showing the viewer's log, when it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        self.proc.check_alive()
    }
}

impl PeerSet {
    /// Opens `lookout view URL ARGS…` on a new display (no window manager: the window sits
    /// at the top-left corner at its default 1280×800, the size of the display).
    pub fn start_viewer(&self, name: &str, url: &str, args: &[&str]) -> Result<Viewer> {
        let x = XServer::start(&format!("Xvfb-{name}"), &mut xvfb(), self.dir())?;
        let home = self.dir().join(format!("home-{name}"));
        std::fs::create_dir_all(&home)?;
        let proc = Proc::spawn(
            name,
            Command::new(env!("CARGO_BIN_EXE_lookout"))
                .args(["view", url])
                .args(args)
                .env("DISPLAY", x.name())
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env_remove("WAYLAND_DISPLAY")
                .env_remove("LOOKOUT_PROFILE"),
            self.dir(),
            false,
        )?;
        Ok(Viewer { proc, x })
    }
}

/// The test page has painted: its pure red, green and blue 96×96 swatches are on screen
/// (a blank or half-loaded Chromium window lacks them).
fn shows_test_page(shot: &Rgb) -> bool {
    const SWATCH_PIXELS: usize = 96 * 96;
    [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
        .into_iter()
        .all(|colour| shot.count(colour) >= SWATCH_PIXELS)
}

/// Resolves a program name on PATH (absolute paths are checked as they are).
fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|path| is_executable(path))
}
