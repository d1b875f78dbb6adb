//! The built-in simulator: an Optexity-style task API with RFB streams over websockify, a
//! Chaser-style preview API with JPEG frames and input over a WebSocket, and a plain RFB
//! server over TCP, all showing a synthetic agent desktop; a Waldiez Runner whose scripted
//! tasks log and ask over a WebSocket; and AgentStation's workstation log stream (SSE) and
//! recorder, whose live HLS video and audio of the desktop FFmpeg encodes in-process.
//! `lookout serve`, `lookout demo` and the integration tests run it on loopback. It is
//! compiled with the `sim` feature only.
//!
//! ```text
//! HTTP  GET /api/v1/tasks/{id}[/stream]  routes/optexity.rs (x-api-key; optexity/tasks.rs)
//!       GET /tasks/{id}/websockify?token  routes/optexity.rs (token.rs redeems) -> WebSocket
//!         -> rfb::server (one task per connection, own desktop::Desktop, rfb::encode)
//!       POST /v1/sessions/{id}/preview-token  routes/chaser.rs (chaser/sessions.rs mints)
//!       GET /sessions/{id}/preview?token  routes/chaser.rs (token verified) -> WebSocket
//!         -> chaser/preview.rs (JPEG frames, pacing, input)
//!       POST /auth/token[/refresh]          routes/waldiez.rs (waldiez/runner.rs signs)
//!       GET /api/v1/tasks/{id} (Bearer), POST /api/v1/tasks/{id}/input  routes/waldiez.rs
//!       GET /ws/{task_id}                   routes/waldiez.rs (403 before upgrade)
//!         -> waldiez/socket.rs: status, replay, live messages of waldiez/tasks.rs
//!            (plan.rs: scripts and statuses; demo.rs: the demo tasks)
//!       POST /v1/workstations/{id}/log/stream  routes/agentstation.rs (Bearer token)
//!       GET /agentstation/log/{id}?token   routes/agentstation.rs -> text/event-stream
//!         <- agentstation/log_stream.rs (agentstation/station.rs keeps the open ones)
//!       POST /v1/workstations/{id}/recorder/{start,stream}, GET …/recorder
//!                                           routes/agentstation.rs (agentstation/station.rs)
//!       GET /agentstation/hls/{id}/{video|audio}[/{seq}.ts]?token  routes/agentstation.rs
//!         <- hls/recorder.rs (playlists, segments) <- hls/encoder.rs: one thread per
//!            recording workstation (desktop -> x264/AAC -> MPEG-TS in memory)
//! TCP   raw RFB listener (vnc://)         handle.rs; always the "demo" desktop, optional
//!         -> rfb::server                  VNC auth
//! ```
//!
//! Every connection advances its own copy of the deterministic desktop from the tick the
//! shared timeline is at (streams.rs), so all viewers of a task see the same scene. Input
//! from any viewer acts on the page it shows (interact.rs: click the captcha, type into the
//! search field), shared by all viewers of that task or session. Test hooks on
//! [`SimHandle`] add tasks and sessions, force statuses, resize the desktop, rate-limit
//! mints and cut or close streams; for Waldiez they script tasks, answer prompts as another
//! operator and drop sockets, for AgentStation they end log streams, inject raw events,
//! force REST errors, start recorders, put faults into HLS streams (missing segment,
//! stalled or ended playlist, gone) and count playlist and segment requests.
//!
//! # Modules, and which way they depend
//!
//! Each module uses only modules on the lines below its own (and the core), or on its own
//! line where an arrow says so (`a -> b`: `a` uses `b`); none uses one above it, and no
//! file uses its parent's items, so the imports form no circle:
//!
//! ```text
//! handle -> config       SimHandle: starts everything, test hooks, shutdown; SimConfig
//! fleet                  `--tasks N`: the lives of a random fleet, ended on time
//! routes/                the HTTP server: mod.rs (the router) -> optexity.rs, chaser.rs,
//!                        waldiez.rs, agentstation.rs (each provider's handlers) ->
//!                        state.rs (AppState, the URLs handed out), fastapi.rs (error bodies)
//! optexity/ chaser/      each provider's state and logic, no HTTP routing:
//! waldiez/ agentstation/ optexity: tasks; chaser: preview -> sessions;
//! hls/                   waldiez: runner, socket -> tasks -> plan, demo -> plan;
//!                        agentstation: station -> log_stream, hls;
//!                        hls: recorder -> encoder, playlist -> media, encoder -> audio
//! streams                what every stream shares: timeline, size, stop signals, pages
//! capture -> rfb/        captured sessions for benches; the RFB server and its encoders
//! interact, token        pages viewers act on; signed URL tokens
//! clock, credentials,    wall-clock times; key checks; counters; the synthetic desktop
//! stats, desktop/
//! ```
//!
//! Test modules (`*/tests.rs`, `test_fixtures.rs`) drive the whole simulator through
//! [`SimHandle`], as a client would.

mod agentstation;
pub mod capture;
mod chaser;
mod clock;
mod config;
mod credentials;
pub mod desktop;
pub mod fleet;
mod handle;
mod hls;
mod interact;
mod optexity;
pub mod rfb;
mod routes;
mod stats;
mod streams;
#[cfg(test)]
mod test_fixtures;
mod token;
mod waldiez;

pub use config::SimConfig;
pub use desktop::{Damage, Desktop, Interaction, Script, Scroll, Widget, render_desktop};
pub use handle::SimHandle;
pub use hls::recorder::{HlsCounters, HlsFault, RecorderState};
pub use optexity::tasks::{TaskPlan, TaskStatus};
pub use stats::{
    KeyEventType, MAX_RECORDED_INPUT, MouseButton, MouseEventType, ReceivedInput, SimStats,
    TouchEventType, TouchPoint,
};
pub use token::TokenRejection;
pub use waldiez::plan::{WaldiezPlan, WaldiezPrompt, WaldiezStatus, WaldiezStep};
pub use waldiez::tasks::{MAX_RECORDED_ANSWERS, MAX_STORED_MESSAGES, REPLAY_MESSAGES};
