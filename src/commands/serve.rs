//! `lookout serve`: the simulator alone, until Ctrl-C.
#![cfg(feature = "sim")]

use anyhow::Context as _;

use crate::sim::fleet::FleetTask;
use crate::sim::{SimConfig, SimHandle};

/// Starts the simulator and prints how to reach it.
pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
    let addr = config.addr;
    SimHandle::start(config)
        .await
        .with_context(|| format!("cannot start the simulator on {addr}"))
}

/// What `lookout serve` prints: base URLs, the simulator's own demo keys and the demo
/// tasks and sessions, ready to paste.
pub fn banner(sim: &SimHandle) -> String {
    let mut out = String::new();
    out.push_str("Lookout simulator is running (Ctrl-C to stop)\n");
    out.push_str(&format!("  base URL : {}\n", sim.base_url()));
    out.push_str(&format!("  API key  : {}\n", sim.api_key()));
    out.push_str(&format!("  VNC (TCP): vnc://{}\n", sim.rfb_tcp_addr()));
    out.push_str("  tasks    :\n");
    for (id, what) in sim.demo_tasks() {
        out.push_str(&format!("    optexity:{id:<14} {what}\n"));
    }
    out.push_str(&format!(
        "  Chaser   : base URL {}, key {}\n",
        sim.chaser_base_url(),
        sim.chaser_key()
    ));
    out.push_str("  sessions :\n");
    for (id, _, what) in sim.demo_sessions() {
        out.push_str(&format!("    chaser:{id:<16} {what}\n"));
    }
    out.push_str(&format!(
        "  Waldiez  : base URL {}, client id {}, secret {}\n",
        sim.waldiez_base_url(),
        sim.waldiez_client_id(),
        sim.waldiez_client_secret()
    ));
    out.push_str("  task logs:\n");
    for (id, what) in sim.demo_waldiez_tasks() {
        out.push_str(&format!("    waldiez:{id:<15} {what}\n"));
    }
    out.push_str(&format!(
        "  AgentStation: base URL {}, token {}\n",
        sim.agentstation_base_url(),
        sim.agentstation_token()
    ));
    out.push_str("  workstations:\n");
    for (id, what) in sim.demo_workstations() {
        out.push_str(&format!("    agentstation:{id:<10} {what}\n"));
    }
    out.push_str(
        "  recorder : POST /v1/workstations/{id}/recorder/start, GET …/recorder,\n             POST …/recorder/stream {\"type\":\"video\"|\"audio\",\"protocol\":\"hls\"} -> HLS playlist URL\n",
    );
    let [optexity, chaser, waldiez, agentstation] = provider_env(sim);
    out.push_str(&format!(
        "Try:\n  {optexity} lookout view optexity:demo\n  {chaser} lookout view chaser:human\n  \
         {agentstation} lookout view agentstation:ws-demo\n"
    ));
    out.push_str(&format!(
        "Task-log providers' environment:\n  {waldiez}\n  {agentstation}\n"
    ));
    out
}

/// Each provider's settings for this simulator, as `VAR=value` words: Optexity, Chaser,
/// Waldiez, AgentStation.
fn provider_env(sim: &SimHandle) -> [String; 4] {
    let words = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    [
        words(&[
            ("OPTEXITY_BASE_URL", &sim.base_url()),
            ("OPTEXITY_API_KEY", sim.api_key()),
        ]),
        words(&[
            ("CHASER_BASE_URL", &sim.chaser_base_url()),
            ("CHASER_KEY", sim.chaser_key()),
        ]),
        words(&[
            ("WALDIEZ_BASE_URL", &sim.waldiez_base_url()),
            ("WALDIEZ_CLIENT_ID", sim.waldiez_client_id()),
            ("WALDIEZ_CLIENT_SECRET", sim.waldiez_client_secret()),
        ]),
        words(&[
            ("AGENTSTATION_BASE_URL", &sim.agentstation_base_url()),
            ("AGENTSTATION_TOKEN", sim.agentstation_token()),
        ]),
    ]
}

/// How to watch a fleet from another terminal: an `export` line for each provider's
/// settings, then one `lookout watch` line naming every task.
pub fn fleet_banner(sim: &SimHandle, fleet: &[FleetTask], seed: u64) -> String {
    let mut out = format!(
        "Serving a fleet of {} tasks (seed {seed}; `--seed {seed}` serves it again).\n\
         Watch it from another terminal:\n",
        fleet.len()
    );
    for env in provider_env(sim) {
        out.push_str(&format!("export {env}\n"));
    }
    out.push_str("lookout watch");
    for task in fleet {
        out.push(' ');
        out.push_str(&task.source());
    }
    out.push('\n');
    out
}

/// A seed from the clock, for a fleet that differs from run to run.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs until Ctrl-C; with `fleet` (its size and seed), serves that fleet too.
pub async fn run(config: SimConfig, fleet: Option<(usize, u64)>) -> anyhow::Result<()> {
    let sim = start(config).await?;
    print!("{}", banner(&sim));
    if let Some((tasks, seed)) = fleet {
        let fleet = sim.start_fleet(tasks, seed);
        print!("{}", fleet_banner(&sim, &fleet, seed));
    }
    // Whoever reads the lines (a script, the benchmark) has them now.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    sim.shutdown().await;
    Ok(())
}
