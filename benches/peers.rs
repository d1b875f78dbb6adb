//! Real-peer viewer benchmark: Lookout's window against TigerVNC's `vncviewer`, both watching
//! x11vnc serve a headed Chromium, on the same machine, one after the other.
//!
//! ```text
//! Xvfb :S 1920x1080 ── chromium --app=tests/assets/animated.html (part 1) or static.html (part 2)
//!   └─ x11vnc -rfbport P                         (what Optexity runs, plus -localhost)
//!        └─ counting proxy, 127.0.0.1:Q          (this program, one per client run)
//!             └─ client on Xvfb :V 2048x1280     lookout view vnc://127.0.0.1:Q
//!                                                 or vncviewer 127.0.0.1::Q
//! ```
//!
//! Part 1 (animating page) runs each client for the same time, in alternating order over
//! the rounds, and prints per run: FramebufferUpdates per second the server sent (parsed
//! from the stream), requests per second, screens' worth of picture pixels per second,
//! KiB/s to the client, the client's CPU time (utime + stime from /proc, all threads) and
//! its share of a core, and for context the CPU shares of x11vnc, of the viewer's X server
//! and of the source (Chromium + its Xvfb), and how busy the whole machine was.
//! Part 2 (still page) measures the CPU share of each client after the first picture.
//! Lookout opens its default 1280x800 window and fits the picture into it (drawn through its
//! X11 backend, `ui::picture::x11`; `LOOKOUT_PRESENT=gl` measures the GL path), or, as
//! "lookout view 1:1", shows it 1:1 in a window the size of the screen; vncviewer opens a
//! 1920x1080 window at 1:1. Both are started with a fresh HOME and no window
//! manager. The verdict compares the clients' own CPU time, and also with their X server's
//! added: vncviewer draws with XShmPutImage, which the X server carries out.
//!
//! The proxy ([`proxy`]) forwards both directions unchanged. Client→server it forwards whole messages
//! after parsing them (handshake, SetPixelFormat, SetEncodings, FramebufferUpdateRequest,
//! Key/PointerEvent, ClientCutText, EnableContinuousUpdates, Fence, SetDesktopSize, QEMU),
//! so the pixel format is known before the server answers in it. Server→client it
//! forwards every chunk as it arrives, then walks the copy: rectangle headers and enough of
//! each encoding's framing (Raw, CopyRect, RRE, Hextile, Zlib, Tight, ZRLE, cursors) to
//! find the next message. Anything it cannot walk is noted and from then on only counted
//! in bytes. x11vnc does not offer continuous updates, so each update answers a request.
//!
//! `cargo bench --bench peers`; `LOOKOUT_PEERS_SECS` (default 20) sets the measured time per
//! run and `LOOKOUT_PEERS_ROUNDS` (default 2) the rounds; `LOOKOUT_PEERS_CLIENTS` picks
//! clients (comma-separated: `lookout`, `lookout-1:1`, `vncviewer`, `vncviewer-q7`; default
//! all) and
//! `LOOKOUT_PEERS_BIN` measures another lookout binary (to try a change against the same
//! baseline; the environment is passed on to it). Missing programs end the benchmark
//! with a line naming them and exit status 0.

#[allow(dead_code)]
#[path = "../tests/peers/picture.rs"]
mod picture;
#[allow(dead_code)]
#[path = "../tests/peers/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../tests/peers/x11.rs"]
mod x11;

#[allow(dead_code)]
#[path = "support/procstat.rs"]
mod procstat;
#[path = "peers/proxy.rs"]
mod proxy;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use process::{Proc, READY_TIMEOUT, free_port, run_bounded, wait_for_rfb};
use procstat::{clock_ticks_per_s, cpu_ticks, env_u64, process_ticks, read_stat};
use proxy::{Counters, Proxy};
use x11::XServer;

/// The source display: the size Optexity's Xvfb runs at.
const SCREEN_WIDTH: u32 = 1920;
const SCREEN_HEIGHT: u32 = 1080;
/// The viewers' display: larger, so Lookout's window can show the picture 1:1 beside its
/// toolbar and status line (vncviewer's window is the remote's size either way).
const VIEWER_WIDTH: u32 = 2048;
const VIEWER_HEIGHT: u32 = 1280;
const PROGRAMS: [&str; 5] = ["Xvfb", "x11vnc", "chromium", "vncviewer", "xdotool"];
const ANIMATED_PAGE: (&str, &str) = ("animated.html", "Lookout animated bench page");
const STATIC_PAGE: (&str, &str) = ("static.html", "Lookout real-peer test page");
/// Time for a page to paint after its window appears, and for x11vnc to catch up.
const PAGE_SETTLE: Duration = Duration::from_secs(4);
/// Time between a client's first update and the start of its measurement.
const ANIMATED_WARMUP: Duration = Duration::from_secs(3);
const STILL_WARMUP: Duration = Duration::from_secs(5);
const STILL_SECS: u64 = 15;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("peers bench failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let missing: Vec<&str> = PROGRAMS.into_iter().filter(|p| !on_path(p)).collect();
    if !missing.is_empty() {
        println!("peers bench skipped: missing {missing:?} (run `bash packaging/setup.sh`)");
        return Ok(());
    }
    let secs = env_u64("LOOKOUT_PEERS_SECS", 20)?;
    let rounds = env_u64("LOOKOUT_PEERS_ROUNDS", 2)?;
    let clients = match std::env::var("LOOKOUT_PEERS_CLIENTS") {
        Ok(list) => list
            .split(',')
            .map(|name| Client::from_name(name.trim()))
            .collect::<Result<Vec<_>>>()?,
        Err(_) => Client::ALL.to_vec(),
    };
    let lookout_bin = std::env::var_os("LOOKOUT_PEERS_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_lookout")),
        PathBuf::from,
    );
    let dir = tempfile::Builder::new()
        .prefix("lookout-peers-bench-")
        .tempdir()
        .context("creating the benchmark's temporary directory")?;
    let dir = dir.path();
    let ticks_per_s = clock_ticks_per_s()?;

    let geometry = format!("{SCREEN_WIDTH}x{SCREEN_HEIGHT}x24");
    let viewer_geometry = format!("{VIEWER_WIDTH}x{VIEWER_HEIGHT}x24");
    let mut source_x = XServer::start("Xvfb-source", &mut xvfb(&geometry), dir)?;
    let mut viewer_x = XServer::start("Xvfb-viewer", &mut xvfb(&viewer_geometry), dir)?;
    let mut browser = start_browser(&source_x, ANIMATED_PAGE, dir)?;
    let (mut x11vnc, rfb_port) = start_x11vnc(&source_x, dir)?;
    let mut bench = Bench {
        dir: dir.to_owned(),
        viewer_display: viewer_x.name(),
        rfb_port,
        ticks_per_s,
        screen_pixels: u64::from(SCREEN_WIDTH) * u64::from(SCREEN_HEIGHT),
        lookout_bin,
        pids: Pids {
            x11vnc: x11vnc.child_mut().id(),
            viewer_x: viewer_x.proc.child_mut().id(),
            source_x: source_x.proc.child_mut().id(),
            browser_group: browser.child_mut().id(),
        },
        runs: 0,
    };
    println!(
        "peers bench: source Xvfb {} at {geometry} and viewer Xvfb {} at {viewer_geometry}, x11vnc on 127.0.0.1:{rfb_port}, \
         {secs} s per run, {rounds} round(s), {} cores\nlookout binary: {}",
        source_x.name(),
        viewer_x.name(),
        thread::available_parallelism().map_or(0, |n| n.get()),
        bench.lookout_bin.display(),
    );

    println!("\nPart 1: animating page ({})", ANIMATED_PAGE.0);
    print_header();
    let mut rows = Vec::new();
    for round in 0..rounds {
        let mut order = clients.clone();
        if round % 2 == 1 {
            order.reverse();
        }
        for client in order {
            let row = bench.measure(client, ANIMATED_WARMUP, Duration::from_secs(secs))?;
            row.print();
            rows.push(row);
        }
    }
    print_verdicts(&rows);

    println!("\nPart 2: still page ({})", STATIC_PAGE.0);
    drop(browser);
    browser = start_browser(&source_x, STATIC_PAGE, dir)?;
    bench.pids.browser_group = browser.child_mut().id();
    print_header();
    let mut still = Vec::new();
    let still_clients = [Client::Lookout, Client::Tiger];
    for client in still_clients.into_iter().filter(|c| clients.contains(c)) {
        let row = bench.measure(client, STILL_WARMUP, Duration::from_secs(STILL_SECS))?;
        row.print();
        still.push(row);
    }
    if let Some(row) = still.iter().find(|r| r.client == Client::Lookout) {
        println!(
            "verdict: with the remote screen still, lookout view uses {:.2} % of a core \
             (target under 1 %: {})",
            row.cpu_pct,
            yes_no(row.cpu_pct < 1.0)
        );
    }
    x11vnc.check_alive()?;
    browser.check_alive()?;
    Ok(())
}

fn xvfb(geometry: &str) -> Command {
    let mut cmd = Command::new("Xvfb");
    cmd.args(["-displayfd", "1", "-screen", "0", geometry])
        .args(["-nolisten", "tcp", "-noreset"]);
    cmd
}

/// Chromium showing `page` (a file in tests/assets) in an app window covering the screen,
/// with a fresh profile; returns once the window with the page's title exists and has had
/// time to paint.
fn start_browser(display: &XServer, (page, title): (&str, &str), dir: &Path) -> Result<Proc> {
    let name = format!("chromium-{page}");
    let profile = dir.join(&name);
    fs::create_dir_all(&profile)?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(page);
    let mut cmd = Command::new("chromium");
    cmd.env("DISPLAY", display.name())
        .env("HOME", &profile)
        .env_remove("WAYLAND_DISPLAY")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--app=file://{}", path.display()))
        .arg("--window-position=0,0")
        .arg(format!("--window-size={SCREEN_WIDTH},{SCREEN_HEIGHT}"))
        .args([
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
            "--disable-breakpad",
            "--disable-session-crashed-bubble",
            "--disable-features=Translate,MediaRouter",
            "--password-store=basic",
        ]);
    let mut browser = Proc::spawn(&name, &mut cmd, dir, false)?;
    // Poll: windows come and go while Chromium starts, and `xdotool search --sync` fails
    // with BadWindow when one disappears under it.
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        browser.check_alive()?;
        let found = run_bounded(
            "xdotool-search",
            Command::new("xdotool")
                .env("DISPLAY", display.name())
                .args(["search", "--onlyvisible", "--name", title]),
            dir,
            Duration::from_secs(10),
        )?;
        if found.status.success() {
            break;
        }
        if Instant::now() >= deadline {
            bail!(
                "no window named {title:?} within {READY_TIMEOUT:?}: {}",
                found.stderr
            );
        }
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(PAGE_SETTLE);
    browser.check_alive()?;
    Ok(browser)
}

fn start_x11vnc(display: &XServer, dir: &Path) -> Result<(Proc, u16)> {
    let port = free_port()?;
    let mut proc = Proc::spawn(
        "x11vnc",
        Command::new("x11vnc")
            .args(["-display", &display.name(), "-rfbport", &port.to_string()])
            .args(["-localhost", "-forever", "-shared", "-nopw", "-norc"]),
        dir,
        false,
    )?;
    let size = wait_for_rfb(&mut proc, port)?;
    if (u32::from(size.0), u32::from(size.1)) != (SCREEN_WIDTH, SCREEN_HEIGHT) {
        bail!(
            "x11vnc serves {}x{}, expected the screen size",
            size.0,
            size.1
        );
    }
    Ok((proc, port))
}

// ---------------------------------------------------------------------------------------
// Clients and runs

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    /// `lookout view`, default settings (Tight, JPEG quality 7, compress level 2, fit).
    Lookout,
    /// `lookout view --scale 1:1`, its window made as large as the screen: the picture at
    /// 1:1 like vncviewer's.
    LookoutOneToOne,
    /// `vncviewer` with its defaults (AutoSelect: Tight, JPEG quality 8 on fast links).
    Tiger,
    /// `vncviewer` set to Lookout's defaults.
    TigerMatched,
}

impl Client {
    const ALL: [Client; 4] = [
        Client::Lookout,
        Client::LookoutOneToOne,
        Client::Tiger,
        Client::TigerMatched,
    ];

    fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "lookout" => Client::Lookout,
            "lookout-1:1" => Client::LookoutOneToOne,
            "vncviewer" => Client::Tiger,
            "vncviewer-q7" => Client::TigerMatched,
            other => bail!(
                "unknown client {other:?}: use lookout, lookout-1:1, vncviewer or vncviewer-q7"
            ),
        })
    }

    fn label(self) -> &'static str {
        match self {
            Client::Lookout => "lookout view",
            Client::LookoutOneToOne => "lookout view 1:1",
            Client::Tiger => "vncviewer defaults",
            Client::TigerMatched => "vncviewer Tight q7 c2",
        }
    }

    fn command(self, bench: &Bench, port: u16, home: &Path) -> Command {
        let mut cmd = match self {
            Client::Lookout | Client::LookoutOneToOne => {
                let mut cmd = Command::new(&bench.lookout_bin);
                cmd.args(["view", &format!("vnc://127.0.0.1:{port}")]);
                if self == Client::LookoutOneToOne {
                    cmd.args(["--scale", "1:1"]);
                }
                cmd.env_remove("LOOKOUT_PROFILE")
                    .env_remove("LOOKOUT_LOG")
                    .env("XDG_CONFIG_HOME", home.join(".config"));
                cmd
            }
            Client::Tiger | Client::TigerMatched => {
                let mut cmd = Command::new("vncviewer");
                cmd.args(["-Shared", "-ReconnectOnError=0", "-AlertOnFatalError=0"]);
                if self == Client::TigerMatched {
                    cmd.args(["-AutoSelect=0", "-FullColor", "-PreferredEncoding=Tight"])
                        .args(["-QualityLevel=7", "-CompressLevel=2"]);
                }
                cmd.arg(format!("127.0.0.1::{port}"));
                cmd
            }
        };
        cmd.env("DISPLAY", &bench.viewer_display)
            .env("HOME", home)
            .env_remove("WAYLAND_DISPLAY");
        cmd
    }
}

/// Processes whose CPU time is sampled besides the client's.
struct Pids {
    x11vnc: u32,
    viewer_x: u32,
    source_x: u32,
    /// Chromium's process group (its pid): the browser and all its helpers.
    browser_group: u32,
}

struct Bench {
    dir: PathBuf,
    viewer_display: String,
    rfb_port: u16,
    lookout_bin: PathBuf,
    ticks_per_s: f64,
    screen_pixels: u64,
    pids: Pids,
    runs: u32,
}

impl Bench {
    /// Starts `client` behind a fresh proxy, waits for its first update and `warmup`, then
    /// measures for `duration`.
    fn measure(&mut self, client: Client, warmup: Duration, duration: Duration) -> Result<Row> {
        self.runs += 1;
        let name = format!("{}-{}", client.label().replace(' ', "-"), self.runs);
        let home = self.dir.join(format!("home-{name}"));
        fs::create_dir_all(&home)?;
        let proxy = Proxy::start(self.rfb_port)?;
        let mut proc = Proc::spawn(
            &name,
            &mut client.command(self, proxy.port, &home),
            &self.dir,
            false,
        )?;
        let pid = proc.child_mut().id();
        proxy.wait_for_update(&mut proc)?;
        if client == Client::LookoutOneToOne {
            self.fill_screen(pid, &mut proc)?;
        }
        thread::sleep(warmup);
        let before = self.sample(pid, &proxy.counters)?;
        thread::sleep(duration);
        let after = self.sample(pid, &proxy.counters)?;
        proc.check_alive()?;
        drop(proc);
        drop(proxy);
        Ok(Row::between(client, &before, &after, self))
    }

    /// Makes the window of process `pid` as large as the viewers' screen.
    fn fill_screen(&self, pid: u32, proc: &mut Proc) -> Result<()> {
        let (pid, w, h) = (
            pid.to_string(),
            VIEWER_WIDTH.to_string(),
            VIEWER_HEIGHT.to_string(),
        );
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            proc.check_alive()?;
            // Fails (no window found) until the window is mapped.
            let sized = run_bounded(
                "xdotool-windowsize",
                Command::new("xdotool")
                    .env("DISPLAY", &self.viewer_display)
                    .args([
                        "search",
                        "--onlyvisible",
                        "--pid",
                        &pid,
                        "--class",
                        "lookout",
                    ])
                    .args(["windowsize", "%@", &w, &h]),
                &self.dir,
                Duration::from_secs(10),
            )?;
            if sized.status.success() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "could not resize lookout's window within {READY_TIMEOUT:?}: {}",
                    sized.stderr
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    fn sample(&self, client_pid: u32, counters: &Counters) -> Result<Sample> {
        let (busy, total) = machine_ticks()?;
        let (rect_kinds, notes) = {
            let notes = counters.notes();
            (notes.rect_kinds.clone(), notes.summary())
        };
        Ok(Sample {
            at: Instant::now(),
            to_client_bytes: counters.to_client_bytes.load(Ordering::Relaxed),
            requests: counters.requests.load(Ordering::Relaxed),
            updates: counters.updates.load(Ordering::Relaxed),
            picture_pixels: counters.picture_pixels.load(Ordering::Relaxed),
            rect_kinds,
            client_ticks: process_ticks(client_pid)?,
            client_threads: thread_ticks(client_pid),
            x11vnc_ticks: process_ticks(self.pids.x11vnc)?,
            viewer_x_ticks: process_ticks(self.pids.viewer_x)?,
            source_ticks: process_ticks(self.pids.source_x)? + group_ticks(self.pids.browser_group),
            busy_ticks: busy,
            total_ticks: total,
            notes,
        })
    }
}

/// Counters and CPU clocks at one moment.
struct Sample {
    at: Instant,
    to_client_bytes: u64,
    requests: u64,
    updates: u64,
    picture_pixels: u64,
    rect_kinds: BTreeMap<&'static str, u64>,
    client_ticks: u64,
    client_threads: BTreeMap<String, u64>,
    x11vnc_ticks: u64,
    viewer_x_ticks: u64,
    source_ticks: u64,
    busy_ticks: u64,
    total_ticks: u64,
    notes: String,
}

/// One client run's figures.
struct Row {
    client: Client,
    secs: f64,
    updates_per_s: f64,
    requests_per_s: f64,
    screens_per_s: f64,
    kib_per_s: f64,
    cpu_s: f64,
    cpu_pct: f64,
    x11vnc_pct: f64,
    viewer_x_pct: f64,
    source_pct: f64,
    machine_pct: f64,
    rect_mix: String,
    /// The client's busiest threads, in % of a core.
    threads: String,
    notes: String,
}

impl Row {
    fn between(client: Client, a: &Sample, b: &Sample, bench: &Bench) -> Self {
        let secs = b.at.duration_since(a.at).as_secs_f64();
        let per_s = |x: u64, y: u64| y.saturating_sub(x) as f64 / secs;
        let cpu_s = |x: u64, y: u64| y.saturating_sub(x) as f64 / bench.ticks_per_s;
        let pct = |x: u64, y: u64| 100.0 * cpu_s(x, y) / secs;
        let machine_total = b.total_ticks.saturating_sub(a.total_ticks).max(1) as f64;
        let rect_mix = growth(&a.rect_kinds, &b.rect_kinds)
            .into_iter()
            .map(|(kind, n)| format!("{kind} {:.1}/s", n as f64 / secs))
            .collect::<Vec<_>>()
            .join(", ");
        let mut threads = growth(&a.client_threads, &b.client_threads);
        threads.sort_by_key(|&(_, ticks)| std::cmp::Reverse(ticks));
        let threads = threads
            .into_iter()
            .take(8)
            .map(|(name, ticks)| format!("{name} {:.1} %", pct(0, ticks)))
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            client,
            secs,
            updates_per_s: per_s(a.updates, b.updates),
            requests_per_s: per_s(a.requests, b.requests),
            screens_per_s: per_s(a.picture_pixels, b.picture_pixels) / bench.screen_pixels as f64,
            kib_per_s: per_s(a.to_client_bytes, b.to_client_bytes) / 1024.0,
            cpu_s: cpu_s(a.client_ticks, b.client_ticks),
            cpu_pct: pct(a.client_ticks, b.client_ticks),
            x11vnc_pct: pct(a.x11vnc_ticks, b.x11vnc_ticks),
            viewer_x_pct: pct(a.viewer_x_ticks, b.viewer_x_ticks),
            source_pct: pct(a.source_ticks, b.source_ticks),
            // Of all cores together: 100 % means every core was busy.
            machine_pct: 100.0 * b.busy_ticks.saturating_sub(a.busy_ticks) as f64 / machine_total,
            rect_mix,
            threads,
            notes: b.notes.clone(),
        }
    }

    fn print(&self) {
        println!(
            "{:<22} {:>5.1} {:>8.1} {:>6.1} {:>8.2} {:>8.0} {:>7.2} {:>7.1} {:>7.1} {:>7.1} {:>8.1} {:>6.1}",
            self.client.label(),
            self.secs,
            self.updates_per_s,
            self.requests_per_s,
            self.screens_per_s,
            self.kib_per_s,
            self.cpu_s,
            self.cpu_pct,
            self.x11vnc_pct,
            self.viewer_x_pct,
            self.source_pct,
            self.machine_pct,
        );
        println!("{:<22}   rects: {}", "", self.rect_mix);
        println!("{:<22}   threads: {}", "", self.threads);
        println!("{:<22}   {}", "", self.notes);
    }
}

/// How much each key's count grew from `a` to `b` (keys that grew only).
fn growth<K: Ord + Clone>(a: &BTreeMap<K, u64>, b: &BTreeMap<K, u64>) -> Vec<(K, u64)> {
    b.iter()
        .filter_map(|(key, &n)| {
            let grown = n.saturating_sub(a.get(key).copied().unwrap_or(0));
            (grown > 0).then(|| (key.clone(), grown))
        })
        .collect()
}

fn print_header() {
    println!(
        "{:<22} {:>5} {:>8} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>8} {:>6}",
        "client",
        "secs",
        "updates/s",
        "req/s",
        "screens/s",
        "KiB/s",
        "CPU s",
        "CPU %",
        "x11vnc%",
        "viewX%",
        "source%",
        "busy%",
    );
}

/// Means per client over the rounds, and the comparison the issue asks for.
fn print_verdicts(rows: &[Row]) {
    let mean = |client: Client, f: fn(&Row) -> f64| {
        let picked: Vec<f64> = rows.iter().filter(|r| r.client == client).map(f).collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let present = |client: Client| rows.iter().any(|r| r.client == client);
    println!("\nMeans over rounds:");
    for client in Client::ALL.into_iter().filter(|&c| present(c)) {
        println!(
            "  {:<22} {:>6.1} updates/s {:>6.2} screens/s {:>7.1} % CPU {:>6.2} CPU ms/update \
             {:>7.1} % CPU with its X server",
            client.label(),
            mean(client, |r| r.updates_per_s),
            mean(client, |r| r.screens_per_s),
            mean(client, |r| r.cpu_pct),
            mean(client, |r| 1000.0 * r.cpu_s
                / (r.updates_per_s * r.secs).max(1.0)),
            mean(client, |r| r.cpu_pct + r.viewer_x_pct),
        );
    }
    let pairs = [Client::Lookout, Client::LookoutOneToOne]
        .into_iter()
        .flat_map(|ours| [Client::Tiger, Client::TigerMatched].map(|theirs| (ours, theirs)))
        .filter(|&(ours, theirs)| present(ours) && present(theirs));
    for (us, other) in pairs {
        let ours = (mean(us, |r| r.updates_per_s), mean(us, |r| r.cpu_s));
        let theirs = (mean(other, |r| r.updates_per_s), mean(other, |r| r.cpu_s));
        println!(
            "verdict, {} vs {}: updates/s {:.1} vs {:.1} (at least as many: {}), CPU {:.2} s vs {:.2} s (no more: {})",
            us.label(),
            other.label(),
            ours.0,
            theirs.0,
            yes_no(ours.0 >= theirs.0),
            ours.1,
            theirs.1,
            yes_no(ours.1 <= theirs.1),
        );
        // vncviewer draws with XShmPutImage at 1:1, so much of its drawing is the viewer's
        // X server's CPU time; Lookout's drawing is its own (GL) or a smaller PutImage.
        let with_x = |c: Client| mean(c, |r| r.cpu_pct + r.viewer_x_pct);
        println!(
            "  counting the viewer's X server too: {:.1} % vs {:.1} % of a core (no more: {})",
            with_x(us),
            with_x(other),
            yes_no(with_x(us) <= with_x(other)),
        );
    }
}

fn yes_no(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

// ---------------------------------------------------------------------------------------
// CPU clocks from /proc

/// utime + stime per thread name (numbered threads such as `llvmpipe-3` grouped).
fn thread_ticks(pid: u32) -> BTreeMap<String, u64> {
    let mut ticks = BTreeMap::new();
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return ticks;
    };
    for entry in entries.flatten() {
        if let Ok((name, fields)) = read_stat(&entry.path().join("stat")) {
            let group = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
            *ticks.entry(group.to_owned()).or_default() += cpu_ticks(&fields);
        }
    }
    ticks
}

/// utime + stime summed over the live processes of a process group.
fn group_ticks(pgid: u32) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_stat(Path::new(&format!("/proc/{pid}/stat"))).ok())
        .filter(|(_, f)| f.get(1).copied() == Some(u64::from(pgid)))
        .map(|(_, f)| cpu_ticks(&f))
        .sum()
}

/// (busy, total) ticks of all cores from /proc/stat.
fn machine_ticks() -> Result<(u64, u64)> {
    let text = fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = text.lines().next().context("empty /proc/stat")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            dir.join(program)
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}
