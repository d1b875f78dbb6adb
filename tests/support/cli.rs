//! Running the `lookout` binary against the simulator, as a user would: the simulator's
//! endpoints and credentials in the environment, no config file, no stdin.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Output, Stdio};

use lookout::sim::{SimConfig, SimHandle};

/// `lookout ARGS`, set up to reach `sim`.
pub fn lookout(sim: &SimHandle, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.args(args)
        .env("OPTEXITY_BASE_URL", sim.base_url())
        .env("OPTEXITY_API_KEY", sim.api_key())
        .env("WALDIEZ_BASE_URL", sim.waldiez_base_url())
        .env("WALDIEZ_CLIENT_ID", sim.waldiez_client_id())
        .env("WALDIEZ_CLIENT_SECRET", sim.waldiez_client_secret())
        .env_remove("WALDIEZ_TOKEN")
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("lookout-test-no-config"),
        )
        .env_remove("LOOKOUT_PROFILE")
        .env_remove("LOOKOUT_RECORDINGS_DIR")
        .stdin(Stdio::null());
    cmd
}

/// Runs `lookout ARGS` to its end.
pub async fn run(sim: &SimHandle, args: &[&str]) -> Output {
    lookout(sim, args).output().await.unwrap()
}

/// What it wrote to stderr.
pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A simulator with a small desktop (480×300).
pub async fn small_sim() -> SimHandle {
    SimHandle::start(SimConfig {
        width: 480,
        height: 300,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}
