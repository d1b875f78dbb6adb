//! Console benchmark: what the console costs watching a simulated fleet, for 1, 4, 16 and
//! 64 tasks, each fleet served by a separate process as an operator would run it:
//!
//! ```text
//! chrt --idle 0 lookout serve --addr 127.0.0.1:0 --tasks N --seed S  (export and watch lines)
//! Xvfb :D 1280x860 ── lookout watch SOURCE…   (the exports in its environment, LOOKOUT_STATS=1,
//!                                              a fresh XDG config and data folder: it records
//!                                              every task, as it does by default)
//! ```
//!
//! Per fleet it waits `LOOKOUT_CONSOLE_WARMUP` s (default 10) for the tasks to connect, then
//! measures `LOOKOUT_CONSOLE_SECS` s (default 20) and prints one row: the console's CPU
//! time as a share of one core (utime + stime of all its threads, from /proc), its resident
//! memory at the end and at its peak (VmRSS, VmHWM), its frame times (eframe's
//! `cpu_usage`: update, tessellation and painting, from the `console-stats` lines that
//! `LOOKOUT_STATS=1` makes it write; see `ui::console::stats`), and the serving
//! simulator's CPU share for context. The frames that made thumbnails and the others get
//! their own 95th percentile too ("thumb p95", "other p95"), and so does the console's own
//! part of a frame ("ui p95": its update, before eframe tessellates and paints).
//!
//! The simulator stands for the providers' machines, which are elsewhere: it runs under
//! SCHED_IDLE (`chrt --idle 0`), taking only the time nothing else wants. Its 64-task fleet
//! wants more than this machine has (each workstation's x264 about a quarter of a core),
//! and at nice 19, the way this benchmark first ran it, it still got the CPU in the
//! moments the console's frame waited on the X server's replies: eframe makes several
//! round trips per frame (window size, position and state), and each one waits for Xvfb
//! to get a core back. Measured on this 2-core machine with 64 tasks, the simulator took
//! the same share either way (about 1.5 cores) while the 95th-percentile frame went from
//! 34 ms at nice 19 to 8 ms idle. `LOOKOUT_CONSOLE_SIM=nice` runs it at nice 19 again.
//! Prompts the fleet's Waldiez tasks raise during the whole run are timed from the
//! runner's timestamp to the frame that drew the badge.
//!
//! Targets (issue 19): at 16 tasks ≤ 1 core and ≤ 600 MiB; at 64 tasks a frame in ≤ 16 ms
//! (95th percentile); a prompt's badge within 1 s. `LOOKOUT_CONSOLE_TASKS` (comma-separated)
//! picks other fleet sizes. Missing `Xvfb` ends the benchmark with a line saying so.
//!
//! `cargo bench --bench console`

#[allow(dead_code)]
#[path = "../tests/peers/picture.rs"]
mod picture;
#[allow(dead_code)]
#[path = "../tests/peers/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "support/procstat.rs"]
mod procstat;
#[allow(dead_code)]
#[path = "../tests/peers/x11.rs"]
mod x11;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use process::{Proc, READY_TIMEOUT};
use procstat::{clock_ticks_per_s, env_u64, process_ticks, status_kib};
use x11::XServer;

const SEED: u64 = 19;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("console bench failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// One fleet's figures.
struct Row {
    tasks: usize,
    cpu: f64,
    rss_mib: f64,
    peak_mib: f64,
    frames: Frames,
    sim_cpu: f64,
}

/// The console's frame times over the measured span, and the badges of the whole run.
#[derive(Default)]
struct Frames {
    count: u64,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    /// The 95th percentile of the frames that made thumbnails, and of the others.
    thumbnail_p95_ms: f64,
    other_p95_ms: f64,
    /// The console's own part of a frame, 95th percentile.
    ui_p95_ms: f64,
    badges: u64,
    badge_max_ms: u64,
}

fn run() -> Result<()> {
    if !on_path("Xvfb") {
        println!("console bench skipped: no Xvfb (run `bash packaging/setup.sh`)");
        return Ok(());
    }
    let warmup = Duration::from_secs(env_u64("LOOKOUT_CONSOLE_WARMUP", 10)?);
    let span = Duration::from_secs(env_u64("LOOKOUT_CONSOLE_SECS", 20)?);
    let sizes: Vec<usize> = match std::env::var("LOOKOUT_CONSOLE_TASKS") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().context("LOOKOUT_CONSOLE_TASKS"))
            .collect::<Result<_>>()?,
        Err(_) => vec![1, 4, 16, 64],
    };
    let sim_at_nice = match std::env::var("LOOKOUT_CONSOLE_SIM").as_deref() {
        Ok("nice") => true,
        Ok("idle") | Err(_) => false,
        Ok(other) => bail!("LOOKOUT_CONSOLE_SIM is `idle` (the default) or `nice`, not {other:?}"),
    };
    if !sim_at_nice && !on_path("chrt") {
        bail!("chrt (util-linux) is needed to run the simulator under SCHED_IDLE");
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lookout"));
    let dir = tempfile::Builder::new()
        .prefix("lookout-console-bench-")
        .tempdir()
        .context("creating the benchmark's temporary directory")?;
    let dir = dir.path();
    let ticks_per_s = clock_ticks_per_s()?;
    let mut xvfb = Command::new("Xvfb");
    xvfb.args(["-displayfd", "1", "-screen", "0", "1280x860x24"])
        .args(["-nolisten", "tcp", "-noreset"]);
    let screen = XServer::start("Xvfb", &mut xvfb, dir)?;
    println!(
        "console bench: Xvfb {} at 1280x860, window 1280x800, {} s warm-up and {} s measured per fleet, \
         {} cores, simulator {}\nlookout binary: {}",
        screen.name(),
        warmup.as_secs(),
        span.as_secs(),
        thread::available_parallelism().map_or(0, |n| n.get()),
        if sim_at_nice {
            "at nice 19"
        } else {
            "under SCHED_IDLE"
        },
        bin.display()
    );
    println!(
        "{:>5} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7}",
        "tasks",
        "CPU core",
        "RSS MiB",
        "peak MiB",
        "frames",
        "p50 ms",
        "p95 ms",
        "max ms",
        "sim CPU",
        "thumb p95",
        "other p95",
        "ui p95"
    );
    let mut rows = Vec::new();
    for tasks in sizes {
        let row = measure(
            &bin,
            &screen,
            dir,
            tasks,
            (warmup, span),
            ticks_per_s,
            sim_at_nice,
        )?;
        println!(
            "{:>5} {:>9.2} {:>9.0} {:>9.0} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>9.2} {:>7.2}",
            row.tasks,
            row.cpu,
            row.rss_mib,
            row.peak_mib,
            row.frames.count,
            row.frames.p50_ms,
            row.frames.p95_ms,
            row.frames.max_ms,
            row.sim_cpu,
            row.frames.thumbnail_p95_ms,
            row.frames.other_p95_ms,
            row.frames.ui_p95_ms
        );
        rows.push(row);
    }
    verdicts(&rows);
    Ok(())
}

fn verdicts(rows: &[Row]) {
    if let Some(r) = rows.iter().find(|r| r.tasks == 16) {
        println!(
            "verdict: 16 tasks use {:.2} of a core (target ≤ 1: {}) and {:.0} MiB at the end, {:.0} MiB at the peak (target ≤ 600: {})",
            r.cpu,
            yes_no(r.cpu <= 1.0),
            r.rss_mib,
            r.peak_mib,
            yes_no(r.peak_mib <= 600.0)
        );
    }
    if let Some(r) = rows.iter().find(|r| r.tasks == 64) {
        println!(
            "verdict: with 64 tasks a frame takes {:.2} ms at the 95th percentile, {:.2} ms at most (target ≤ 16 ms: {})",
            r.frames.p95_ms,
            r.frames.max_ms,
            yes_no(r.frames.p95_ms <= 16.0)
        );
        println!(
            "         frames that made thumbnails: {:.2} ms at the 95th percentile; the others: {:.2} ms",
            r.frames.thumbnail_p95_ms, r.frames.other_p95_ms
        );
    }
    let badges: u64 = rows.iter().map(|r| r.frames.badges).sum();
    let worst = rows
        .iter()
        .map(|r| r.frames.badge_max_ms)
        .max()
        .unwrap_or(0);
    if badges == 0 {
        println!("verdict: no prompt was raised while measuring (run longer)");
    } else {
        println!(
            "verdict: {badges} prompts reached their badges within {worst} ms at most (target ≤ 1000 ms: {})",
            yes_no(worst <= 1000)
        );
    }
}

/// Serves a fleet of `tasks`, watches it, and measures.
fn measure(
    bin: &Path,
    screen: &XServer,
    dir: &Path,
    tasks: usize,
    (warmup, span): (Duration, Duration),
    ticks_per_s: f64,
    sim_at_nice: bool,
) -> Result<Row> {
    // The simulator stands for the providers' machines, which are elsewhere: it takes
    // only the time the console and the X server leave (see the top of this file).
    let mut serve_cmd = match sim_at_nice {
        true => {
            let mut c = Command::new("nice");
            c.args(["-n", "19"]);
            c
        }
        false => {
            let mut c = Command::new("chrt");
            c.args(["--idle", "0"]);
            c
        }
    };
    serve_cmd
        .arg(bin)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--seed",
            &SEED.to_string(),
        ])
        .args(["--tasks", &tasks.to_string()])
        .stdout(Stdio::piped());
    let mut serve = Proc::spawn(&format!("serve-{tasks}"), &mut serve_cmd, dir, true)?;
    let Banner { env, sources } = read_banner(&mut serve)?;
    let home = dir.join(format!("home-{tasks}"));
    // Proc puts its stderr, where the stats lines go, in DIR/NAME.log.
    let stats = dir.join(format!("watch-{tasks}.log"));
    let mut watch_cmd = Command::new(bin);
    watch_cmd
        .arg("watch")
        .args(&sources)
        .envs(env)
        .env("DISPLAY", screen.name())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        // Its own runtime directory: the bench's console is not the user's console.
        .env("XDG_RUNTIME_DIR", private_dir(&home.join("run"))?)
        .env("LOOKOUT_STATS", "1");
    let mut watch = Proc::spawn(&format!("watch-{tasks}"), &mut watch_cmd, dir, false)?;
    let console = watch.child_mut().id();
    let sim = serve.child_mut().id();
    thread::sleep(warmup);
    watch.check_alive()?;
    let before = (process_ticks(console)?, process_ticks(sim)?, Instant::now());
    let lines_before = stats_lines(&stats).len();
    thread::sleep(span);
    watch.check_alive()?;
    serve.check_alive()?;
    let after = (process_ticks(console)?, process_ticks(sim)?, Instant::now());
    let secs = (after.2 - before.2).as_secs_f64();
    let share = |a: u64, b: u64| (b - a) as f64 / ticks_per_s / secs;
    let rss_mib = status_kib(console, "VmRSS")? as f64 / 1024.0;
    let peak_mib = status_kib(console, "VmHWM")? as f64 / 1024.0;
    let lines = stats_lines(&stats);
    let frames = frames(&lines[lines_before.min(lines.len())..], &lines);
    drop(watch);
    drop(serve);
    Ok(Row {
        tasks,
        cpu: share(before.0, after.0),
        rss_mib,
        peak_mib,
        frames,
        sim_cpu: share(before.1, after.1),
    })
}

/// `path` made as a directory only its owner can open.
fn private_dir(path: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(path.to_path_buf())
}

/// What the simulator prints for its watchers: the variables of its `export` lines, and
/// the sources of its `lookout watch` line.
struct Banner {
    env: Vec<(String, String)>,
    sources: Vec<String>,
}

/// Reads the simulator's [`Banner`].
fn read_banner(serve: &mut Proc) -> Result<Banner> {
    let stdout = serve
        .child_mut()
        .stdout
        .take()
        .context("serve's stdout is not piped")?;
    let (tx, rx) = std::sync::mpsc::sync_channel(64);
    thread::Builder::new()
        .name("serve-stdout".into())
        .spawn(move || {
            let mut open = true;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                // Read on after the banner so the simulator's writes never fail.
                open = open && tx.send(line).is_ok();
            }
        })?;
    let mut env = Vec::new();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            serve.check_alive()?;
            bail!("lookout serve printed no `lookout watch` line");
        };
        if let Some(vars) = line.strip_prefix("export ") {
            for pair in vars.split_whitespace() {
                let (k, v) = pair.split_once('=').context("an export without =")?;
                env.push((k.to_string(), v.to_string()));
            }
        } else if let Some(sources) = line.strip_prefix("lookout watch ") {
            let sources = sources.split_whitespace().map(String::from).collect();
            return Ok(Banner { env, sources });
        }
    }
}

/// The `console-stats` lines written so far.
fn stats_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("console-stats "))
        .map(String::from)
        .collect()
}

/// Frame times from the lines of the measured span (each line's own quantiles, the
/// worst taken, weighted by nothing: a conservative summary), badges from all of them.
fn frames(measured: &[String], all: &[String]) -> Frames {
    let field = |line: &str, name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .unwrap_or(0.0)
    };
    let mut f = Frames::default();
    let mut p50 = Vec::new();
    for line in measured {
        f.count += field(line, "frames") as u64;
        p50.push(field(line, "frame_ms_p50"));
        f.p95_ms = f.p95_ms.max(field(line, "frame_ms_p95"));
        f.max_ms = f.max_ms.max(field(line, "frame_ms_max"));
        f.thumbnail_p95_ms = f
            .thumbnail_p95_ms
            .max(field(line, "thumbnail_frame_ms_p95"));
        f.other_p95_ms = f.other_p95_ms.max(field(line, "other_frame_ms_p95"));
        f.ui_p95_ms = f.ui_p95_ms.max(field(line, "ui_ms_p95"));
    }
    p50.sort_by(f64::total_cmp);
    f.p50_ms = p50.get(p50.len() / 2).copied().unwrap_or(0.0);
    for line in all {
        f.badges += field(line, "badges") as u64;
        f.badge_max_ms = f.badge_max_ms.max(field(line, "badge_ms_max") as u64);
    }
    f
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

fn yes_no(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}
