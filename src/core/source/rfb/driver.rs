//! The RFB session driver: Optexity tasks (REST gives a websockify URL per connection),
//! `rfb+ws(s)://` and `vnc://`.
//!
//! Resolving an Optexity task asks for its stream URL; a task that is not running yet is
//! waited for (its status polled), a finished one ends the session. Connecting opens the
//! byte transport ([`net::pipe_websocket`], [`net::pipe_tcp`]). Running hands the bytes to
//! the client on its own thread ([`super::decode_thread`]) and, on the session task, writes
//! operator input straight to the socket beside (never behind) the decoder.

use std::time::Duration;

use tokio::sync::mpsc;

use super::decode_thread::{self, DecoderNote, DecoderParts};
use super::input::RfbInputQueue;
use super::{RfbError, messages};
use crate::core::error::CoreError;
use crate::core::event::{LiveInfo, SessionEvent, SessionState};
use crate::core::net::{self, Budget, Budgeted, BytePipe, Held, NetError, Outgoing};
use crate::core::provider::optexity::{OptexityClient, OptexityError, TaskStatus};
use crate::core::record::format::Kind;
use crate::core::redact::Secret;
use crate::core::session::driver::{
    ConnEnd, Driver, DriverCommand, Outlet, Resolve, Routed, Session, Stop,
};

/// What an RFB session watches.
enum Target {
    Optexity {
        task_id: String,
    },
    WebSocket(url::Url),
    Tcp {
        host: String,
        port: u16,
        password: Option<Secret>,
        /// Named by a link: only `password` is ever sent, never the configured one.
        linked: bool,
    },
}

/// Where one connection goes.
pub(crate) enum Endpoint {
    WebSocket(url::Url),
    Tcp { host: String, port: u16 },
}

pub(crate) struct RfbDriver {
    target: Target,
    optexity: Option<OptexityClient>,
    /// The live picture, for Refresh.
    live: Option<LiveInfo>,
}

impl RfbDriver {
    fn new(target: Target) -> Self {
        Self {
            target,
            optexity: None,
            live: None,
        }
    }

    pub fn optexity(task_id: String) -> Self {
        Self::new(Target::Optexity { task_id })
    }

    pub fn websocket(url: url::Url) -> Self {
        Self::new(Target::WebSocket(url))
    }

    pub fn tcp(host: String, port: u16, password: Option<Secret>, linked: bool) -> Self {
        Self::new(Target::Tcp {
            host,
            port,
            password,
            linked,
        })
    }

    fn optexity_client(&mut self, out: &Outlet) -> Result<OptexityClient, CoreError> {
        if let Some(c) = &self.optexity {
            return Ok(c.clone());
        }
        let settings = &out.config.settings.optexity;
        let client = OptexityClient::new(
            net::http_client()?,
            settings.base_url(),
            settings.api_key.clone(),
        );
        self.optexity = Some(client.clone());
        Ok(client)
    }

    /// Asks Optexity for the task's stream URL, waiting while the task has not started.
    async fn resolve_optexity(
        &mut self,
        task_id: String,
        s: &mut Session,
        had_live: bool,
    ) -> Result<Endpoint, Resolve> {
        let client = self.optexity_client(&s.out)?;
        loop {
            let not_running = match client.stream_url(&task_id).await {
                Ok(url) => return Ok(Endpoint::WebSocket(url)),
                Err(e @ OptexityError::TaskNotRunning { .. }) => e,
                Err(e) => return Err(e.into()),
            };
            match client.status(&task_id).await? {
                Some(status) if status.is_finished() => {
                    let why = if had_live {
                        format!("the task is over ({})", status.as_str())
                    } else {
                        format!("{not_running}; the task is over ({})", status.as_str())
                    };
                    return Err(Resolve::Stop(if status == TaskStatus::Failed {
                        Stop::TaskFailed(why)
                    } else {
                        Stop::Ended(why)
                    }));
                }
                Some(status) => {
                    if status.is_pending() {
                        let status = status.as_str().to_string();
                        s.out
                            .set_state(SessionState::WaitingForTask { status })
                            .await;
                    }
                    // Pending, or running but not yet streaming: ask again shortly.
                    if let Some(stop) = s.commands.sleep(s.out.config.status_poll_ms).await {
                        return Err(Resolve::Stop(stop));
                    }
                }
                None if had_live => {
                    return Err(Resolve::Stop(Stop::Ended(
                        "the task is no longer running".into(),
                    )));
                }
                None => return Err(not_running.into()),
            }
        }
    }
}

impl Driver for RfbDriver {
    type Endpoint = Endpoint;
    type Connection = BytePipe;
    const INPUT: bool = true;

    async fn resolve(&mut self, s: &mut Session, had_live: bool) -> Result<Endpoint, Resolve> {
        match &self.target {
            Target::WebSocket(url) => Ok(Endpoint::WebSocket(url.clone())),
            Target::Tcp { host, port, .. } => Ok(Endpoint::Tcp {
                host: host.clone(),
                port: *port,
            }),
            Target::Optexity { task_id } => {
                let task_id = task_id.clone();
                self.resolve_optexity(task_id, s, had_live).await
            }
        }
    }

    async fn connect(&mut self, endpoint: Endpoint, out: &Outlet) -> Result<BytePipe, ConnEnd> {
        let stats = out.stats.clone();
        let pipe = match endpoint {
            Endpoint::WebSocket(url) => net::connect_ws(&url, &["binary"])
                .await
                .map(|ws| net::pipe_websocket(ws, stats)),
            Endpoint::Tcp { host, port } => match net::connect_tcp(&host, port).await {
                Ok(tcp) => net::pipe_tcp(tcp, stats),
                Err(e) => Err(e),
            },
        };
        pipe.map_err(ConnEnd::failed)
    }

    async fn run(&mut self, pipe: BytePipe, s: &mut Session) -> ConnEnd {
        // `_guard` closes the socket when this function returns, however it returns.
        let BytePipe {
            incoming,
            outgoing,
            outgoing_budget,
            mut closed,
            guard: _guard,
        } = pipe;
        let (password, linked) = match &self.target {
            Target::Tcp {
                password, linked, ..
            } => (password.as_ref(), *linked),
            _ => (None, false),
        };
        let (notes_tx, mut notes) = mpsc::channel(16);
        let record = s.out.config.record.clone();
        if let Some(record) = &record {
            // What a replay must tell its client to read this stream as this one does.
            let connect = serde_json::json!({"protocol": "rfb", "password": password.is_some()});
            record.put_json(Kind::Connect, &connect);
        }
        let mut decoder = decode_thread::spawn(DecoderParts {
            incoming,
            outgoing: outgoing.clone(),
            options: s.out.config.settings.rfb.options(password, !linked),
            frames: s.out.frames.clone(),
            stats: s.out.stats.clone(),
            waker: s.out.waker.clone(),
            notes: notes_tx,
            record,
        });
        let mut conn = Connection {
            outgoing,
            was_live: false,
            net_error: None,
            notes_open: true,
            // Input goes out only once the handshake is done, so it cannot split
            // handshake messages.
            input: RfbInputQueue::new(),
            outgoing_open: true,
        };
        // Input is written here, beside the decoder's own writes, once its bytes fit the
        // outgoing budget; `conn.outgoing` is the same channel, for Refresh.
        let writer = conn.outgoing.clone();
        loop {
            let next_len = conn.input.next_len().unwrap_or(0);
            tokio::select! {
                room = room_for(&writer, &outgoing_budget, next_len), if conn.can_send_input() => match room {
                    Some((permit, held)) => {
                        if let Some(msg) = conn.input.pop() {
                            permit.send(Budgeted::holding(msg, held));
                        }
                    }
                    // The socket is gone; `closed` and the decoder say why.
                    None => conn.outgoing_open = false,
                },
                note = notes.recv(), if conn.notes_open => match note {
                    Some(note) => self.noted(note, &mut conn, &s.out).await,
                    None => conn.notes_open = false,
                },
                result = &mut decoder => {
                    let error = conn.decoder_ended(result, &mut closed).await;
                    return ConnEnd::Dropped { was_live: conn.was_live, error };
                }
                why = &mut closed, if conn.net_error.is_none() => {
                    // Let the decoder finish what it has; its end arrives next.
                    conn.net_error = Some(why.unwrap_or(NetError::Closed(None)));
                }
                routed = s.commands.next() => match routed {
                    Routed::End(end) => return end,
                    Routed::Command(cmd) => self.command(cmd, &mut conn, &s.out.label),
                },
            }
        }
    }
}

/// One live RFB connection, as the session task sees it.
struct Connection {
    outgoing: mpsc::Sender<Outgoing>,
    was_live: bool,
    /// Why the socket closed, once it has.
    net_error: Option<NetError>,
    notes_open: bool,
    input: RfbInputQueue,
    outgoing_open: bool,
}

impl Connection {
    fn can_send_input(&self) -> bool {
        self.was_live && self.outgoing_open && self.input.has_pending()
    }

    /// Why the stream ended, once the decoder has stopped: the socket's own reason beats
    /// the decoder's "unexpected end of file".
    async fn decoder_ended(
        &mut self,
        result: Result<Result<(), RfbError>, tokio::sync::oneshot::error::RecvError>,
        closed: &mut tokio::sync::oneshot::Receiver<NetError>,
    ) -> CoreError {
        match result {
            Ok(Ok(())) => CoreError::Net(NetError::Closed(None)),
            Ok(Err(RfbError::Io(_) | RfbError::Closed)) | Err(_) => {
                let why = match self.net_error.take() {
                    Some(e) => e,
                    None => match tokio::time::timeout(Duration::from_millis(200), closed).await {
                        Ok(Ok(e)) => e,
                        _ => NetError::Closed(None),
                    },
                };
                CoreError::Net(why)
            }
            Ok(Err(e)) => CoreError::Rfb(e),
        }
    }
}

impl RfbDriver {
    /// Acts on what the decoder thread noted.
    async fn noted(&mut self, note: DecoderNote, conn: &mut Connection, out: &Outlet) {
        match note {
            DecoderNote::QemuKeys => conn.input.set_qemu_key_events(true),
            DecoderNote::Live(info) => {
                conn.was_live = true;
                self.live = Some(info.clone());
                out.set_state(SessionState::Live(info)).await;
            }
            DecoderNote::Bell => out.emit(SessionEvent::Bell).await,
            DecoderNote::CutText(text) => out.remote_clipboard(text).await,
        }
    }

    fn command(&self, cmd: DriverCommand, conn: &mut Connection, label: &str) {
        match cmd {
            DriverCommand::Input(ev) if conn.was_live => conn.input.push(ev),
            DriverCommand::Paste(text) if conn.was_live => conn.input.push_paste(&text),
            DriverCommand::Input(_) | DriverCommand::Paste(_) => {
                tracing::debug!(source = %label, "input before the stream is live: dropped");
            }
            DriverCommand::Refresh => {
                if let Some(live) = &self.live {
                    let (w, h) = (clamp_u16(live.width), clamp_u16(live.height));
                    let request = messages::update_request(false, 0, 0, w, h).to_vec();
                    let _ = conn.outgoing.try_send(Budgeted::free(request));
                }
            }
            DriverCommand::JumpToLive | DriverCommand::Answer { .. } => {}
        }
    }
}

/// Waits for a slot in the outgoing channel and `len` bytes of its budget (cancel-safe:
/// nothing is taken from the input queue until both are there). `None`: the socket is gone.
async fn room_for<'a>(
    writer: &'a mpsc::Sender<Outgoing>,
    budget: &Budget,
    len: usize,
) -> Option<(mpsc::Permit<'a, Outgoing>, Held)> {
    let held = budget.take(len).await?;
    let permit = writer.reserve().await.ok()?;
    Some((permit, held))
}

fn clamp_u16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}
