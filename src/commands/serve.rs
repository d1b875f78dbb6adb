//! `lookout serve`: the simulator alone, until Ctrl-C.
#![cfg(feature = "sim")]

use anyhow::Context as _;

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
    out.push_str(&format!(
        "Try:\n  OPTEXITY_BASE_URL={} OPTEXITY_API_KEY={} lookout view optexity:demo\n",
        sim.base_url(),
        sim.api_key()
    ));
    out.push_str(&format!(
        "  CHASER_BASE_URL={} CHASER_KEY={} lookout view chaser:human\n",
        sim.chaser_base_url(),
        sim.chaser_key()
    ));
    out.push_str(&format!(
        "  AGENTSTATION_BASE_URL={} AGENTSTATION_TOKEN={} lookout view agentstation:ws-demo\n",
        sim.agentstation_base_url(),
        sim.agentstation_token()
    ));
    out.push_str(&format!(
        "Task-log providers' environment:\n  WALDIEZ_BASE_URL={} WALDIEZ_CLIENT_ID={} WALDIEZ_CLIENT_SECRET={}\n",
        sim.waldiez_base_url(),
        sim.waldiez_client_id(),
        sim.waldiez_client_secret()
    ));
    out.push_str(&format!(
        "  AGENTSTATION_BASE_URL={} AGENTSTATION_TOKEN={}\n",
        sim.agentstation_base_url(),
        sim.agentstation_token()
    ));
    out
}

/// Runs until Ctrl-C.
pub async fn run(config: SimConfig) -> anyhow::Result<()> {
    let sim = start(config).await?;
    print!("{}", banner(&sim));
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    sim.shutdown().await;
    Ok(())
}
