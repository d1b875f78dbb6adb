//! X servers and what runs on them: Xvfb or TigerVNC Xvnc, a headed Chromium showing the
//! static test page, X screenshots (ImageMagick `import`) and pointer moves (`xdotool`).
//!
//! X servers pick their own free display number and print it on stdout (`-displayfd 1`);
//! a named thread reads it so the wait stays bounded.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::picture::Rgb;
use super::process::{Proc, READY_TIMEOUT, run_bounded};

/// Screen size of every test display: moderate, to keep software rendering cheap.
pub const SCREEN_WIDTH: u32 = 1280;
pub const SCREEN_HEIGHT: u32 = 800;

/// ImageMagick's `import`, by full path: other `import`/`convert` on PATH may be stand-ins.
pub const IMPORT: &str = "/usr/bin/import";

/// A running X server and its display number.
pub struct XServer {
    pub display: u32,
    pub proc: Proc,
}

impl XServer {
    /// Starts `cmd` (an X server with `-displayfd 1` among its arguments) and waits until it
    /// reports its display number, which it does once it accepts connections.
    pub fn start(name: &str, cmd: &mut Command, dir: &Path) -> Result<Self> {
        cmd.stdout(Stdio::piped());
        let mut proc = Proc::spawn(name, cmd, dir, true)?;
        let mut stdout = proc
            .child_mut()
            .stdout
            .take()
            .context("X server stdout not piped")?;
        let (tx, rx) = mpsc::sync_channel(1);
        thread::Builder::new()
            .name(format!("{name}-displayfd"))
            .spawn(move || {
                let mut text = Vec::new();
                let mut byte = [0u8; 1];
                while let Ok(1) = stdout.read(&mut byte) {
                    if byte[0] == b'\n' {
                        break;
                    }
                    text.push(byte[0]);
                }
                let _ = tx.send(String::from_utf8_lossy(&text).trim().to_owned());
                // Keep draining until the server exits so its writes never fail.
                let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            })?;
        let text = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(text) => text,
            Err(_) => bail!(
                "{name} did not report a display within {READY_TIMEOUT:?}; log:\n{}",
                proc.log_tail()
            ),
        };
        let display = match text.parse() {
            Ok(display) => display,
            Err(_) => {
                proc.check_alive()?;
                bail!(
                    "{name} reported display {text:?}; log:\n{}",
                    proc.log_tail()
                );
            }
        };
        Ok(Self { display, proc })
    }

    pub fn name(&self) -> String {
        format!(":{}", self.display)
    }

    /// The whole screen as RGB8, read through the X protocol.
    pub fn screenshot(&self) -> Result<Rgb> {
        // `import` ignores `-display` after `-silent`; the environment always works.
        let output = Command::new(IMPORT)
            .env("DISPLAY", self.name())
            .args(["-silent", "-window", "root"])
            .args(["-depth", "8", "rgb:-"])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("running {IMPORT}"))?;
        if !output.status.success() {
            bail!(
                "{IMPORT} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Rgb::new(SCREEN_WIDTH, SCREEN_HEIGHT, output.stdout)
    }

    /// Moves the pointer with `xdotool`, so the Xvnc cursor sits where tests mask it.
    pub fn move_pointer(&self, x: u32, y: u32, dir: &Path) -> Result<()> {
        let finished = run_bounded(
            "xdotool",
            Command::new("xdotool").env("DISPLAY", self.name()).args([
                "mousemove",
                "--sync",
                &x.to_string(),
                &y.to_string(),
            ]),
            dir,
            Duration::from_secs(10),
        )?;
        if !finished.status.success() {
            bail!(
                "xdotool mousemove failed ({}): {}",
                finished.status,
                finished.stderr
            );
        }
        Ok(())
    }

    /// Waits until `is_ready` accepts a screenshot and the next one is identical.
    pub fn wait_painted(&self, painter: &mut Proc, is_ready: impl Fn(&Rgb) -> bool) -> Result<Rgb> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut previous: Option<Rgb> = None;
        loop {
            painter.check_alive()?;
            let shot = self.screenshot()?;
            if previous.as_ref() == Some(&shot) && is_ready(&shot) {
                return Ok(shot);
            }
            if Instant::now() >= deadline {
                bail!(
                    "screen {} did not show the expected picture within {READY_TIMEOUT:?}",
                    self.name()
                );
            }
            previous = Some(shot);
            thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Starts Chromium on `display` showing `page` full-screen, with a fresh profile in `dir`.
pub fn start_chromium(display: &XServer, page: &Path, dir: &Path) -> Result<Proc> {
    let profile = dir.join("chromium-profile");
    std::fs::create_dir_all(&profile)?;
    let page = page
        .canonicalize()
        .with_context(|| format!("test page {}", page.display()))?;
    let mut cmd = Command::new("chromium");
    cmd.env("DISPLAY", display.name())
        .env("HOME", &profile)
        .env_remove("WAYLAND_DISPLAY")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--app=file://{}", page.display()))
        .arg("--window-position=0,0")
        .arg(format!("--window-size={SCREEN_WIDTH},{SCREEN_HEIGHT}"))
        .args([
            // Running as root in CI needs --no-sandbox; --test-type hides its warning bar.
            "--no-sandbox",
            "--test-type",
            "--disable-gpu",
            "--force-device-scale-factor=1",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Not --disable-crashpad-for-testing: with it Chromium 156's network service
            // crash-loops and file:// pages never paint. The crashpad handlers exit with it.
            "--disable-breakpad",
            "--disable-session-crashed-bubble",
            "--disable-features=Translate,MediaRouter",
            "--password-store=basic",
        ]);
    Proc::spawn("chromium", &mut cmd, dir, false)
}
