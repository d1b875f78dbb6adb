//! `lookout open LINK` as the desktop runs it for a `lookout:` link: the first opens the
//! console (on Xvfb, against the simulator), and a second, while the first runs, hands
//! its link to it and exits 0; the first opens that task full-size, as its workspace
//! file then says. A link the console refuses comes back as the second's error.
//!
//! Without Xvfb the test prints a skip line, except under `CI`, where it fails.

#![cfg(all(feature = "sim", feature = "gui"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "peers/picture.rs"]
mod picture;
#[allow(dead_code)]
#[path = "peers/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "peers/x11.rs"]
mod x11;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lookout::core::workspace::Workspace;
use lookout::sim::{SimConfig, SimHandle};
use process::{Proc, run_bounded};
use x11::XServer;

/// `lookout open LINK` with the simulator's settings and the test's own folders.
fn open(link: &str, sim: &SimHandle, home: &Path, display: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.args(["open", link])
        .env("OPTEXITY_BASE_URL", sim.base_url())
        .env("OPTEXITY_API_KEY", sim.api_key())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("DISPLAY", display)
        .env_remove("LOOKOUT_PROFILE")
        .env_remove("WAYLAND_DISPLAY");
    cmd
}

/// Waits until `ready` holds, the console staying up meanwhile.
fn wait(console: &mut Proc, what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        console.check_alive().unwrap();
        assert!(Instant::now() < deadline, "{what}:\n{}", console.log_tail());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_hands_its_link_to_the_running_console() {
    let dir = tempfile::tempdir().unwrap();
    let mut xvfb = Command::new("Xvfb");
    xvfb.args(["-displayfd", "1", "-screen", "0", "1280x860x24"])
        .args(["-nolisten", "tcp", "-noreset"]);
    let screen = match XServer::start("Xvfb", &mut xvfb, dir.path()) {
        Ok(x) => x,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: no Xvfb: {e:#}");
            return;
        }
        Err(e) => panic!("{e:#}"),
    };
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("run")).unwrap();
    std::fs::set_permissions(home.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let display = screen.name();

    let mut first = Proc::spawn(
        "first",
        &mut open("lookout:optexity/demo", &sim, &home, &display),
        dir.path(),
        false,
    )
    .unwrap();
    let socket = home.join("run/lookout/instance.sock");
    wait(&mut first, "the console never listened", || socket.exists());
    let kept = home.join("config/lookout/workspace.json");
    let workspace = || Workspace::load(&kept).unwrap_or_default();
    wait(&mut first, "the first link was not opened", || {
        workspace().focused == Some(0)
    });
    assert_eq!(workspace().tasks[0].source, "optexity:demo");

    // The second hands over its link and is done.
    let started = Instant::now();
    let second = tokio::task::block_in_place(|| {
        run_bounded(
            "second",
            &mut open("lookout:optexity/human", &sim, &home, &display),
            dir.path(),
            Duration::from_secs(30),
        )
    })
    .unwrap();
    assert!(second.status.success(), "{}", second.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
    wait(&mut first, "the handed-over link was not opened", || {
        let w = workspace();
        w.tasks.len() == 2 && w.focused == Some(1) && w.tasks[1].source == "optexity:human"
    });

    // A link the console refuses: the second says why, and the console stays as it was.
    let refused = tokio::task::block_in_place(|| {
        run_bounded(
            "refused",
            &mut open("lookout:elsewhere/x", &sim, &home, &display),
            dir.path(),
            Duration::from_secs(30),
        )
    })
    .unwrap();
    assert!(!refused.status.success());
    assert!(
        refused
            .stderr
            .contains("the running console did not open the links")
            && refused.stderr.contains("unknown provider \"elsewhere\""),
        "{}",
        refused.stderr
    );
    first.check_alive().unwrap();
    assert_eq!(workspace().tasks.len(), 2);
    drop(first);
    sim.shutdown().await;
}
