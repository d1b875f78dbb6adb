//! Keys in the desktop keyring, as a user keeps them: under `dbus-run-session` with a real
//! `gnome-keyring-daemon`, `lookout login optexity` reads the key from piped stdin and
//! stores it; `lookout snapshot optexity:demo` against the simulator then signs in with it
//! though no flag, variable or file holds it; `lookout logout optexity` removes it, and the
//! same snapshot then has no key. The key appears in no output and no file. Without a
//! Secret Service, a key in the config file is used, with one line that says why.
//!
//! Without dbus-run-session or gnome-keyring-daemon the first test prints a skip line,
//! except under `CI`, where it fails.

#![cfg(all(feature = "sim", feature = "keyring"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use lookout::sim::{SimConfig, SimHandle};

/// The steps, inside the session bus: the keyring daemon, then login, snapshot, logout,
/// snapshot. Each step's output and status go to files named after it. `KEY` is unset
/// before the first snapshot.
const STEPS: &str = r#"
set -u
printf %s keyring-password \
    | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon"' EXIT
for _ in $(seq 100); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
        | grep -q true && break
    sleep 0.1
done
step() { name=$1; shift; "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; echo $? >"$OUT/$name.rc"; }
printf '%s\n' "$KEY" | step login "$LOOKOUT" login optexity
unset KEY
step snapshot "$LOOKOUT" snapshot optexity:demo -o "$OUT/with-key.png" --timeout 20
step logout "$LOOKOUT" logout optexity
step after "$LOOKOUT" snapshot optexity:demo -o "$OUT/after.png" --timeout 20
"#;

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A key no other test uses.
fn fresh_key() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("kr-{:x}-{:x}", nanos, std::process::id())
}

/// A fresh key, a simulator that takes only it, and a user's folder with a home in it.
async fn user() -> (String, SimHandle, tempfile::TempDir, std::path::PathBuf) {
    let key = fresh_key();
    let sim = SimHandle::start(SimConfig {
        api_key: key.clone(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = home_in(dir.path());
    (key, sim, dir, home)
}

/// A home of the test's own: config, data and runtime folders, the runtime one 0700.
fn home_in(dir: &Path) -> std::path::PathBuf {
    let home = dir.join("home");
    for sub in ["config", "data", "cache", "run"] {
        std::fs::create_dir_all(home.join(sub)).unwrap();
    }
    std::fs::set_permissions(home.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
    home
}

/// The lookout environment of a user with a home of its own and no key anywhere.
fn user_env(cmd: &mut Command, home: &Path, sim: &SimHandle) {
    for var in [
        "OPTEXITY_API_KEY",
        "CHASER_KEY",
        "WALDIEZ_TOKEN",
        "AGENTSTATION_TOKEN",
        "LOOKOUT_PROFILE",
        "LOOKOUT_KEYRING",
        "DBUS_SESSION_BUS_ADDRESS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("OPTEXITY_BASE_URL", sim.base_url());
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && std::fs::read(&path)
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn read(out: &Path, name: &str) -> String {
    std::fs::read_to_string(out.join(name)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_keeps_the_key_in_the_keyring_snapshot_uses_it_logout_removes_it() {
    if !have("dbus-run-session") || !have("gnome-keyring-daemon") {
        assert!(
            std::env::var_os("CI").is_none(),
            "dbus-run-session and gnome-keyring-daemon are needed (packaging/setup.sh)"
        );
        eprintln!("skipping: no dbus-run-session or gnome-keyring-daemon");
        return;
    }
    let (key, sim, dir, home) = user().await;
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();

    let mut session = Command::new("dbus-run-session");
    session.args(["--", "bash", "-c", STEPS]);
    user_env(&mut session, &home, &sim);
    session
        .env("KEY", &key)
        .env("OUT", &out)
        .env("LOOKOUT", env!("CARGO_BIN_EXE_lookout"))
        .stdin(Stdio::null());
    let ran = tokio::task::spawn_blocking(move || session.output())
        .await
        .unwrap()
        .unwrap();
    let session_text = format!(
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    let step = |name: &str| {
        format!(
            "{name}: rc {} out {:?} err {:?}\n(session: {session_text})",
            read(&out, &format!("{name}.rc")).trim(),
            read(&out, &format!("{name}.out")),
            read(&out, &format!("{name}.err")),
        )
    };
    let rc = |name: &str| read(&out, &format!("{name}.rc")).trim().to_string();

    assert_eq!(rc("login"), "0", "{}", step("login"));
    assert!(
        read(&out, "login.err").contains("is in the desktop keyring"),
        "{}",
        step("login")
    );
    assert_eq!(rc("snapshot"), "0", "{}", step("snapshot"));
    let png = std::fs::read(out.join("with-key.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{}", step("snapshot"));
    assert_eq!(rc("logout"), "0", "{}", step("logout"));
    assert!(
        read(&out, "logout.err").contains("removed the Optexity API key"),
        "{}",
        step("logout")
    );
    // With the key gone from the keyring nothing else holds it: the same snapshot has none.
    assert_ne!(rc("after"), "0", "{}", step("after"));
    assert!(
        read(&out, "after.err").contains("Optexity API key: run `lookout login optexity`"),
        "{}",
        step("after")
    );
    assert!(!out.join("after.png").exists());

    assert!(
        !session_text.contains(&key),
        "the key leaked: {session_text}"
    );
    let holding: Vec<String> = files_holding(dir.path(), key.as_bytes());
    assert!(holding.is_empty(), "the key is in {holding:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_the_file_key_is_used_with_one_line_saying_why() {
    let (key, sim, dir, home) = user().await;
    let config = home.join("config/lookout/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("[profiles.default]\noptexity_api_key = \"{key}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let png = dir.path().join("s.png");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lookout"));
    user_env(&mut cmd, &home, &sim);
    // A session bus that is not there: no Secret Service answers.
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", dir.path().join("no-bus").display()),
    )
    .args(["snapshot", "optexity:demo", "--profile", "default", "-o"])
    .arg(&png)
    .args(["--timeout", "20"]);
    let ran = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert!(ran.status.success(), "{stderr}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("no desktop keyring"), "{stderr}");
    assert!(lines[0].contains(&config.display().to_string()), "{stderr}");
    assert!(!stderr.contains(&key), "the key leaked: {stderr}");

    // The switch that leaves the keyring alone says nothing.
    let mut quiet = Command::new(env!("CARGO_BIN_EXE_lookout"));
    user_env(&mut quiet, &home, &sim);
    quiet
        .env("LOOKOUT_KEYRING", "off")
        .args(["snapshot", "optexity:demo", "--profile", "default", "-o"])
        .arg(&png)
        .args(["--timeout", "20"]);
    let ran = tokio::task::spawn_blocking(move || quiet.output())
        .await
        .unwrap()
        .unwrap();
    assert!(ran.status.success());
    assert_eq!(String::from_utf8_lossy(&ran.stderr), "");
    sim.shutdown().await;
}
