//! A running simulator ([`SimHandle`]): starting it (binding the HTTP server and the RFB
//! TCP listener, building every provider's state), the URLs and keys to give clients, the
//! test hooks, and stopping it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::agentstation::station::{AgentStation, AgentStationSettings, DEMO_WORKSTATIONS};
use super::chaser::sessions::{Chaser, DEMO_SESSIONS};
use super::config::SimConfig;
use super::desktop::Script;
use super::fleet::{self, FleetTask, Life};
use super::hls::recorder::{HlsCounters, HlsFault, RecorderState};
use super::interact::{Pages, VNC_PAGE};
use super::optexity::tasks::{DEMO_TASKS, TaskPlan, TaskStatus, TaskTable};
use super::rfb::server::{StopSignals, run_connection};
use super::rfb::transport::Transport;
use super::routes;
use super::routes::state::{AppState, loopback_if_unspecified};
use super::stats::{Counters, SimStats, bump};
use super::streams::{Showing, StreamContext};
use super::token::TokenIssuer;
use super::waldiez::demo::{DEMO_WALDIEZ_TASKS, demo_plans};
use super::waldiez::plan::{WaldiezPlan, WaldiezPrompt, WaldiezStatus};
use super::waldiez::runner::{Waldiez, WaldiezSettings};
use crate::core::config::{self as settings, Settings};
use crate::core::frame::MAX_DIMENSION;
use crate::core::redact::Secret;
use crate::core::source::preview::{CLOSE_ENDED, CLOSE_SESSION_DELETED};

/// How long shutdown waits for the HTTP server to finish.
const SHUTDOWN_GRACE_MS: u64 = 2_000;

/// A running simulator. Dropping it stops it too; [`SimHandle::shutdown`] waits for that.
pub struct SimHandle {
    http_addr: SocketAddr,
    rfb_addr: SocketAddr,
    api_key: String,
    tasks: Arc<TaskTable>,
    chaser: Arc<Chaser>,
    waldiez: Arc<Waldiez>,
    /// Reached into by the HLS tests.
    pub(super) agentstation: Arc<AgentStation>,
    counters: Arc<Counters>,
    dropped: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
    size: watch::Sender<(u32, u32)>,
    http_task: Option<JoinHandle<()>>,
    tcp_task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("http_addr", &self.http_addr)
            .field("rfb_addr", &self.rfb_addr)
            .finish_non_exhaustive()
    }
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

/// Checks the desktop size and frame rate.
fn check(cfg: &SimConfig) -> std::io::Result<()> {
    let max = MAX_DIMENSION.min(u32::from(u16::MAX));
    if !(1..=max).contains(&cfg.width) || !(1..=max).contains(&cfg.height) {
        return Err(invalid(format!(
            "desktop size {}x{} is outside 1..={max}",
            cfg.width, cfg.height
        )));
    }
    if !(1..=1000).contains(&cfg.fps) {
        return Err(invalid(format!("fps {} is outside 1..=1000", cfg.fps)));
    }
    Ok(())
}

/// The Waldiez Runner of `cfg`, its demo tasks started.
fn waldiez(cfg: &SimConfig) -> Arc<Waldiez> {
    let waldiez = Arc::new(Waldiez::new(WaldiezSettings {
        client_id: cfg.waldiez_client_id.clone(),
        client_secret: cfg.waldiez_client_secret.clone(),
        access_ttl_ms: cfg.waldiez_token_ttl_ms,
        refresh_ttl_ms: cfg.waldiez_refresh_ttl_ms,
        max_viewers: cfg.waldiez_max_viewers,
        print_objects: cfg.waldiez_print_objects,
        echo_delay_ms: cfg.waldiez_echo_delay_ms,
    }));
    for (id, plan) in demo_plans(cfg.waldiez_step_ms, cfg.waldiez_input_timeout_ms) {
        waldiez.tasks.add(id, plan);
    }
    waldiez
}

/// The AgentStation of `cfg`.
fn agentstation(cfg: &SimConfig) -> Arc<AgentStation> {
    Arc::new(AgentStation::new(AgentStationSettings {
        token: cfg.agentstation_token.clone(),
        line_interval_ms: cfg.agentstation_log_interval_ms,
        keepalive_ms: cfg.agentstation_keepalive_ms,
        hls_token_ttl_ms: cfg.agentstation_hls_token_ttl_ms,
        hls_idle_ms: cfg.agentstation_hls_idle_ms,
    }))
}

/// Serves HTTP on `listener` until `stop` changes.
async fn serve_http(listener: TcpListener, app: axum::Router, mut stop: watch::Receiver<bool>) {
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        })
        .await;
    if let Err(e) = served {
        tracing::warn!("simulator HTTP server stopped: {e}");
    }
}

impl SimHandle {
    /// Binds the HTTP server on `cfg.addr` and an RFB TCP listener on another free port of
    /// the same interface, and starts serving.
    pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
        check(&cfg)?;
        let http = TcpListener::bind(cfg.addr).await?;
        let rfb = TcpListener::bind((cfg.addr.ip(), 0)).await?;
        let http_addr = http.local_addr()?;
        let rfb_addr = rfb.local_addr()?;

        let tasks = Arc::new(TaskTable::with_demo_tasks());
        let counters = Arc::new(Counters::default());
        let pages = Arc::new(Pages::new(counters.clone()));
        let chaser = Arc::new(Chaser::new(
            cfg.chaser_key.clone(),
            cfg.preview_token_ttl_ms,
            cfg.preview_binary_frames,
            pages.clone(),
        ));
        let waldiez = waldiez(&cfg);
        let agentstation = agentstation(&cfg);
        let (dropped, dropped_rx) = watch::channel(0u64);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (size, size_rx) = watch::channel((cfg.width, cfg.height));
        let streams = StreamContext {
            started: Instant::now(),
            fps: cfg.fps,
            size: size_rx,
            stop: StopSignals {
                dropped: dropped_rx,
                shutdown: shutdown_rx.clone(),
            },
            counters: counters.clone(),
            pages,
        };
        let state = Arc::new(AppState {
            api_key: cfg.api_key.clone(),
            tasks: tasks.clone(),
            tokens: TokenIssuer::new(cfg.token_ttl_ms),
            counters: counters.clone(),
            http_addr,
            streams: streams.clone(),
            chaser: chaser.clone(),
            waldiez: waldiez.clone(),
            agentstation: agentstation.clone(),
        });
        let app = routes::router(state);
        let http_task = tokio::spawn(serve_http(http, app, shutdown_rx));
        let tcp_task = tokio::spawn(accept_rfb(rfb, streams, cfg.vnc_password.clone()));
        tracing::debug!(%http_addr, %rfb_addr, "simulator started");
        Ok(SimHandle {
            http_addr,
            rfb_addr,
            api_key: cfg.api_key,
            tasks,
            chaser,
            waldiez,
            agentstation,
            counters,
            dropped,
            shutdown,
            size,
            http_task: Some(http_task),
            tcp_task: Some(tcp_task),
        })
    }

    /// `http://127.0.0.1:PORT` (the Optexity base URL to give clients).
    pub fn base_url(&self) -> String {
        format!("http://{}", loopback_if_unspecified(self.http_addr))
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The plain RFB-over-TCP endpoint (`vnc://`), always showing the "demo" desktop.
    pub fn rfb_tcp_addr(&self) -> SocketAddr {
        loopback_if_unspecified(self.rfb_addr)
    }

    /// The built-in tasks as (task id, description).
    pub fn demo_tasks(&self) -> Vec<(String, &'static str)> {
        DEMO_TASKS
            .iter()
            .map(|(id, _, what)| (id.to_string(), *what))
            .collect()
    }

    /// The Chaser base URL to give clients (the same server as [`Self::base_url`]).
    pub fn chaser_base_url(&self) -> String {
        self.base_url()
    }

    /// The key Chaser clients send as `Authorization: Bearer KEY`.
    pub fn chaser_key(&self) -> &str {
        self.chaser.key()
    }

    /// The built-in Chaser sessions as (session id, input enabled, description).
    pub fn demo_sessions(&self) -> Vec<(String, bool, &'static str)> {
        DEMO_SESSIONS
            .iter()
            .map(|(id, input, _, what)| (id.to_string(), *input, *what))
            .collect()
    }

    /// Test hook: adds a Chaser session whose agent runs its usual script (replacing one
    /// of the same id: its previews close with 4404, its old tokens stop working and its
    /// page starts afresh).
    pub fn add_chaser_session(&self, id: &str, input_enabled: bool) {
        self.chaser.add(id, input_enabled, Script::Agent);
    }

    /// Test hook: deletes a Chaser session. Its open previews close with 4404; mints and
    /// connections answer 404. `false` if it was unknown.
    pub fn delete_chaser_session(&self, id: &str) -> bool {
        self.chaser.remove(id, CLOSE_SESSION_DELETED)
    }

    /// Test hook: ends a Chaser session. Its open previews close with 1000 ("session
    /// ended"); like a deleted one, it is gone afterwards (404). `false` if it was unknown.
    pub fn end_chaser_session(&self, id: &str) -> bool {
        self.chaser.remove(id, CLOSE_ENDED)
    }

    /// Test hook: the next `n` authorised mints answer 429 with `Retry-After:
    /// retry_after_s` (replacing what was armed before; `n = 0` disarms).
    pub fn rate_limit_next_mints(&self, n: u32, retry_after_s: u64) {
        self.chaser.rate_limit_next(n, retry_after_s);
    }

    /// Test hook: closes every open preview socket with close code `code`.
    pub fn close_previews(&self, code: u16) {
        self.chaser.close_all(code);
    }

    /// Test hook: send preview frames as binary JPEG messages (`true`) or as JSON text
    /// `frame` messages (`false`, the default), from the next frame on.
    pub fn preview_binary_frames(&self, on: bool) {
        self.chaser
            .binary_frames
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Adds a fleet of `tasks` tasks whose lives `seed` draws ([`fleet::plan`]) and
    /// starts ending its Chaser sessions on time. Returns the fleet.
    pub fn start_fleet(&self, tasks: usize, seed: u64) -> Vec<FleetTask> {
        let fleet = fleet::plan(tasks, seed);
        for task in &fleet {
            let id = task.id.as_str();
            match &task.life {
                Life::Optexity { plan, human } => {
                    self.tasks.add(id, *plan);
                    if *human {
                        self.tasks.set_script(id, Script::AwaitHuman);
                    }
                }
                Life::Chaser { .. } => self.chaser.add(id, true, Script::Agent),
                Life::Waldiez(plan) => self.waldiez.tasks.add(id, plan.clone()),
                Life::AgentStation => {
                    self.agentstation.add_workstation(id, true);
                    self.agentstation.recorders().start(id);
                }
            }
        }
        tokio::spawn(fleet::end_sessions(
            self.chaser.clone(),
            fleet.clone(),
            self.shutdown.subscribe(),
        ));
        fleet
    }

    /// Test hook: adds or restarts a task following `plan` from now.
    pub fn add_task(&self, id: &str, plan: TaskPlan) {
        self.tasks.add(id, plan);
    }

    /// Test hook: pins a task's status (adding it if unknown). Its streams close within a
    /// tick when the status is not `Running`.
    pub fn set_status(&self, id: &str, status: TaskStatus) {
        self.tasks.set_status(id, status);
    }

    /// Test hook: closes every live RFB connection (TCP and WebSocket) abruptly.
    pub fn drop_streams(&self) {
        self.dropped.send_modify(|g| *g += 1);
    }

    /// Test hook: resizes the desktop. Clients that support DesktopSize get one; others are
    /// disconnected (as Xvnc does).
    pub fn set_desktop_size(&self, width: u32, height: u32) {
        let max = MAX_DIMENSION.min(u32::from(u16::MAX));
        let clamp = |v: u32| v.clamp(1, max);
        let _ = self.size.send((clamp(width), clamp(height)));
    }

    /// The Waldiez Runner base URL to give clients (the same server as
    /// [`Self::base_url`]; its sockets are `ws://…/ws/{task_id}`).
    pub fn waldiez_base_url(&self) -> String {
        self.base_url()
    }

    /// The Waldiez client id that `POST /auth/token` takes.
    pub fn waldiez_client_id(&self) -> &str {
        self.waldiez.client_id()
    }

    /// The Waldiez client secret that `POST /auth/token` takes.
    pub fn waldiez_client_secret(&self) -> &str {
        self.waldiez.client_secret()
    }

    /// The built-in Waldiez tasks as (task id, description).
    pub fn demo_waldiez_tasks(&self) -> Vec<(String, &'static str)> {
        DEMO_WALDIEZ_TASKS
            .iter()
            .map(|(id, what)| (id.to_string(), *what))
            .collect()
    }

    /// Test hook: adds or restarts a Waldiez task following `plan` from now. A task of the
    /// same id is replaced: its script stops, its open sockets drop and its history goes.
    pub fn add_waldiez_task(&self, id: &str, plan: WaldiezPlan) {
        self.waldiez.tasks.add(id, plan);
    }

    /// Test hook: the Waldiez task's status now, `None` if unknown.
    pub fn waldiez_status(&self, id: &str) -> Option<WaldiezStatus> {
        self.waldiez.tasks.status(id)
    }

    /// Test hook: the prompt a Waldiez task waits on, if any.
    pub fn waldiez_prompt(&self, id: &str) -> Option<WaldiezPrompt> {
        self.waldiez.tasks.prompt(id)
    }

    /// Test hook: answers a Waldiez prompt as another operator would (the answer is echoed
    /// to every viewer). `false` if the task does not wait on `request_id`.
    pub fn answer_waldiez(&self, id: &str, request_id: &str, text: &str) -> bool {
        self.waldiez.tasks.answer(id, request_id, text).is_ok()
    }

    /// Test hook: sets a Waldiez task's status from now on, stopping its script and
    /// dropping a pending prompt (adding an empty task if it is unknown). Open sockets stay
    /// open, as the runner's do.
    pub fn set_waldiez_status(&self, id: &str, status: WaldiezStatus) {
        self.waldiez.tasks.set_status(id, status);
    }

    /// Test hook: the answers the Waldiez task received (over sockets, REST or
    /// [`Self::answer_waldiez`]), oldest first, as typed — passwords too; timeouts are
    /// not answers. At most [`MAX_RECORDED_ANSWERS`](super::MAX_RECORDED_ANSWERS).
    pub fn waldiez_answers(&self, id: &str) -> Vec<String> {
        self.waldiez.tasks.answers(id)
    }

    /// Test hook: the open sockets of a Waldiez task.
    pub fn waldiez_viewers(&self, id: &str) -> usize {
        self.waldiez.tasks.viewers(id)
    }

    /// Test hook: the Waldiez task's stored messages, oldest first, as viewers get them.
    pub fn waldiez_history(&self, id: &str) -> Vec<serde_json::Value> {
        self.waldiez.tasks.history(id)
    }

    /// Test hook: drops every open Waldiez task socket abruptly (no close frame).
    pub fn drop_waldiez_sockets(&self) {
        self.waldiez.drop_sockets();
    }

    /// The AgentStation base URL to give clients (the same server as [`Self::base_url`]).
    pub fn agentstation_base_url(&self) -> String {
        self.base_url()
    }

    /// The key AgentStation clients send as `Authorization: Bearer TOKEN`.
    pub fn agentstation_token(&self) -> &str {
        self.agentstation.token()
    }

    /// The built-in AgentStation workstations as (id, description): `ws-demo` records
    /// from the start, `ws-idle`'s recorder is idle until `recorder/start`.
    pub fn demo_workstations(&self) -> Vec<(String, &'static str)> {
        DEMO_WORKSTATIONS
            .iter()
            .map(|(id, _, _, what)| (id.to_string(), *what))
            .collect()
    }

    /// Test hook: adds an AgentStation workstation whose log chatters or stays quiet (a new
    /// one's recorder is idle).
    pub fn add_workstation(&self, id: &str, chatters: bool) {
        self.agentstation.add_workstation(id, chatters);
    }

    /// Test hook: the next `count` AgentStation REST calls about `workstation` (any
    /// `/v1/workstations/{id}/…` call with the right key) answer `status` — 400, 401, 402,
    /// 422, 429, 500, 503 or any other 4xx/5xx (others count as 500) — with the contract's
    /// `{"error","message"}` body and, when `retry_after` is given, `Retry-After: SECONDS`
    /// (a 429 without one says 1). Replaces what was armed for it; `count = 0` disarms.
    pub fn agentstation_fail_next(
        &self,
        workstation: &str,
        status: u16,
        count: u32,
        retry_after: Option<u64>,
    ) {
        self.agentstation
            .fail_next(workstation, status, count, retry_after);
    }

    /// Test hook: starts a workstation's recorder as `POST …/recorder/start` does (an idle or
    /// stopped one records again, its HLS faults cleared; the encoder starts). `false` if
    /// the workstation is unknown.
    pub fn agentstation_start_recorder(&self, workstation: &str) -> bool {
        self.agentstation.recorders().start(workstation).is_some()
    }

    /// Test hook: a workstation's recorder state, `None` if it is unknown.
    pub fn agentstation_recorder(&self, workstation: &str) -> Option<RecorderState> {
        self.agentstation.recorders().status(workstation)
    }

    /// Test hook: puts `fault` into a workstation's HLS streams (video and audio) from now
    /// on; see [`HlsFault`]. `false` if the workstation is unknown.
    pub fn agentstation_hls_fault(&self, workstation: &str, fault: HlsFault) -> bool {
        self.agentstation.recorders().fault(workstation, fault)
    }

    /// Test hook: a workstation's HLS request counters (zero if it is unknown).
    pub fn agentstation_hls_counters(&self, workstation: &str) -> HlsCounters {
        self.agentstation.recorders().counters(workstation)
    }

    /// Test hook: whether a workstation's HLS encoder thread runs now.
    pub fn agentstation_encoder_running(&self, workstation: &str) -> bool {
        self.agentstation.recorders().encoder_running(workstation)
    }

    /// Settings that reach every provider of this simulator, its keys pinned (masked in
    /// all output, as configured keys are).
    pub fn settings(&self) -> Settings {
        let settings = Settings {
            optexity: settings::OptexitySettings {
                base_url: Some(self.base_url()),
                api_key: Some(Secret::new(self.api_key())),
            },
            chaser: settings::ChaserSettings {
                base_url: Some(self.chaser_base_url()),
                key: Some(Secret::new(self.chaser_key())),
            },
            waldiez: settings::WaldiezSettings {
                base_url: Some(self.waldiez_base_url()),
                client_id: Some(self.waldiez_client_id().to_string()),
                client_secret: Some(Secret::new(self.waldiez_client_secret())),
                ..settings::WaldiezSettings::default()
            },
            agentstation: settings::AgentStationSettings {
                base_url: Some(self.agentstation_base_url()),
                token: Some(Secret::new(self.agentstation_token())),
                start_recording: false,
            },
            ..Settings::default()
        };
        settings.pin_secrets();
        settings
    }

    /// Test hook: every HLS stream URL issued so far answers 403 from now on, as if its
    /// token had expired; `recorder/stream` hands out working ones again.
    pub fn revoke_agentstation_hls_urls(&self) {
        self.agentstation.recorders().revoke_tokens();
    }

    /// HLS stream URLs handed out by `recorder/stream`, all workstations and kinds.
    pub fn agentstation_hls_urls_issued(&self) -> u64 {
        self.agentstation.recorders().tokens_issued()
    }

    /// Log stream URLs handed out by `POST …/log/stream`, all workstations.
    pub fn agentstation_log_urls_issued(&self) -> u64 {
        self.agentstation.log_urls_issued()
    }

    /// Test hook: the open log streams of a workstation.
    pub fn agentstation_log_streams(&self, workstation: &str) -> usize {
        self.agentstation.open_streams(workstation)
    }

    /// Test hook: ends every open log stream of a workstation (the response body ends);
    /// how many.
    pub fn end_agentstation_logs(&self, workstation: &str) -> usize {
        self.agentstation.end_streams(workstation)
    }

    /// Test hook: writes `raw` verbatim into every open log stream of a workstation (a
    /// malformed event, say `"data: {not json\n\n"`); how many streams took it.
    pub fn inject_agentstation_raw(&self, workstation: &str, raw: &str) -> usize {
        self.agentstation.inject_raw(workstation, raw)
    }

    pub fn stats(&self) -> SimStats {
        self.counters.snapshot()
    }

    /// Stops serving and closes every stream.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.waldiez.tasks.stop_all();
        self.agentstation.recorders().stop_all();
        if let Some(task) = self.tcp_task.take() {
            task.abort();
        }
        if let Some(mut task) = self.http_task.take() {
            let grace = Duration::from_millis(SHUTDOWN_GRACE_MS);
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.waldiez.tasks.stop_all();
        self.agentstation.recorders().stop_all();
        for task in [self.tcp_task.take(), self.http_task.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
    }
}

/// Accepts plain RFB connections, each showing the "demo" desktop.
async fn accept_rfb(listener: TcpListener, streams: StreamContext, password: Option<String>) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let _ = socket.set_nodelay(true);
                bump(&streams.counters.tcp_connections);
                tracing::debug!(%peer, "RFB TCP connection");
                let show = Showing {
                    label: "demo",
                    page: VNC_PAGE,
                    script: Script::Agent,
                };
                let spec = streams.spec(show, password.clone(), None);
                let stop = streams.stop.clone();
                tokio::spawn(run_connection(Transport::Tcp(socket), spec, stop));
            }
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!("RFB accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
