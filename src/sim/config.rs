//! What a simulator is started with: [`SimConfig`], its addresses, keys, token lifetimes,
//! desktop size and pacing, with defaults that suit `lookout serve` and the tests.

use std::net::{Ipv4Addr, SocketAddr};

use super::waldiez::plan::DEFAULT_INPUT_TIMEOUT_MS;

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// HTTP (and WebSocket) address; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The key clients must send as `x-api-key`.
    pub api_key: String,
    /// Lifetime of stream tokens.
    pub token_ttl_ms: u64,
    /// Password for the TCP RFB endpoint (VNC Authentication); `None`: no security.
    pub vnc_password: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Desktop ticks per second.
    pub fps: u32,
    /// The Chaser key clients must send as `Authorization: Bearer KEY`.
    pub chaser_key: String,
    /// Lifetime of Chaser preview tokens; an open preview closes with 4401 when its token
    /// expires.
    pub preview_token_ttl_ms: u64,
    /// Send preview frames as binary JPEG messages instead of JSON text (also
    /// [`SimHandle::preview_binary_frames`](crate::sim::SimHandle::preview_binary_frames)).
    pub preview_binary_frames: bool,
    /// The Waldiez Runner client id (`POST /auth/token`).
    pub waldiez_client_id: String,
    /// The Waldiez Runner client secret.
    pub waldiez_client_secret: String,
    /// Lifetime of Waldiez access tokens; an expired one is refused everywhere.
    pub waldiez_token_ttl_ms: u64,
    /// Lifetime of Waldiez refresh tokens.
    pub waldiez_refresh_ttl_ms: u64,
    /// Open task sockets one Waldiez task takes; one more is refused with 403.
    pub waldiez_max_viewers: usize,
    /// The pace of the Waldiez demo tasks' scripts: time between two steps (the `demo`
    /// task asks about every 20 steps).
    pub waldiez_step_ms: u64,
    /// How long the Waldiez demo tasks' prompts wait before going on with `""`.
    pub waldiez_input_timeout_ms: u64,
    /// Send a `print`'s JSON data as an object instead of JSON text (what newer runners
    /// do; the default is the text the runner stores).
    pub waldiez_print_objects: bool,
    /// The longest a Waldiez answer sent over a task socket waits before the task takes it
    /// (and echoes it). The real runner's socket handler shares one Redis connection with a
    /// blocking read of up to 5 s, and the answer waits for that read to return: when the
    /// task stores a message, or when the read times out (then the handler sleeps a tenth
    /// as long, holding new messages). The default is the runner's 5 s; 0 takes answers at
    /// once. REST answers never wait.
    pub waldiez_echo_delay_ms: u64,
    /// The AgentStation key clients must send as `Authorization: Bearer TOKEN`.
    pub agentstation_token: String,
    /// Time between two log lines of a chattering workstation.
    pub agentstation_log_interval_ms: u64,
    /// Time between two keep-alive comments on a log stream.
    pub agentstation_keepalive_ms: u64,
    /// Lifetime of the tokens in AgentStation's HLS URLs (playlists and segments answer
    /// 403 once it is over; a client fetches a fresh URL from `recorder/stream`).
    pub agentstation_hls_token_ttl_ms: u64,
    /// A workstation's HLS encoder stops after this long without a playlist, segment or
    /// stream URL request (and starts again on the next).
    pub agentstation_hls_idle_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: "sim-optexity-key".to_string(),
            token_ttl_ms: 30_000,
            vnc_password: None,
            width: 1920,
            height: 1080,
            fps: 24,
            chaser_key: "sim-chaser-key".to_string(),
            preview_token_ttl_ms: 60_000,
            preview_binary_frames: false,
            waldiez_client_id: "sim-waldiez-client".to_string(),
            waldiez_client_secret: "sim-waldiez-secret".to_string(),
            waldiez_token_ttl_ms: 60 * 60 * 1000,
            waldiez_refresh_ttl_ms: 24 * 60 * 60 * 1000,
            waldiez_max_viewers: 8,
            waldiez_step_ms: 1_000,
            waldiez_input_timeout_ms: DEFAULT_INPUT_TIMEOUT_MS,
            waldiez_print_objects: false,
            waldiez_echo_delay_ms: 5_000,
            agentstation_token: "sim-agentstation-token".to_string(),
            agentstation_log_interval_ms: 400,
            agentstation_keepalive_ms: 15_000,
            agentstation_hls_token_ttl_ms: 60 * 60 * 1000,
            agentstation_hls_idle_ms: 15_000,
        }
    }
}
