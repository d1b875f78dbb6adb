//! The preview session driver: Chaser sessions (REST mints a token, PROVIDERS.md §3) and
//! `preview+ws(s)://` streams.
//!
//! The socket stays on the session task: text and binary messages are parsed there
//! ([`super::parse_text`], [`super::parse_binary`]); frames go to the decoder thread
//! ([`super::decode_thread`]). With ack pacing (the default) the decoder's "done" is what
//! acknowledges a frame, so the server never sends faster than we show.
//!
//! Chaser tokens expire: the driver mints the next one ahead of time
//! ([`PreviewToken::refresh_at`]), opens a second socket, and switches to it when its first
//! frame arrives, so the picture never stops. Close codes: 1000 ended, 4401 token expired
//! (mint again, reconnect at once), 4403 input not enabled (reconnect without input), 4404
//! session deleted (stop).

use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::decode_thread::{self, Decoded, DecoderThread, Handed};
use super::record::{MessageRecorder, Raw};
use super::{
    CLOSE_ENDED, CLOSE_INPUT_DISABLED, CLOSE_SESSION_DELETED, CLOSE_TOKEN_EXPIRED, ImageFormat,
    Pacing, PreviewFrame, PreviewInput, ServerMessage,
};
use crate::core::error::CoreError;
use crate::core::event::{
    ErrorKind, InputAccess, LiveInfo, PictureFormat, SessionError, SessionEvent, SessionState,
};
use crate::core::input::InputEvent;
use crate::core::net::{self, NetError, WsStream};
use crate::core::provider::chaser::{ChaserClient, ChaserError, PreviewToken};
use crate::core::redact;
use crate::core::session::driver::{
    ConnEnd, Driver, DriverCommand, Outlet, Resolve, Routed, Session, Stop,
};

type WsMessage = Option<Result<Message, tokio_tungstenite::tungstenite::Error>>;

/// A Chaser token and when it was minted.
#[derive(Clone, Debug)]
pub(crate) struct Minted {
    token: PreviewToken,
    at: SystemTime,
    client: ChaserClient,
    session_id: String,
}

enum Target {
    Chaser { session_id: String },
    Url(url::Url),
}

/// Where one connection goes: a frame-protocol WebSocket, with the Chaser token it came
/// from, if any.
pub(crate) struct Endpoint {
    url: url::Url,
    minted: Option<Minted>,
}

/// An open socket that has been sent our configuration.
pub(crate) struct Opened {
    ws: WsStream,
    minted: Option<Minted>,
    config: String,
}

pub(crate) struct PreviewDriver {
    target: Target,
    chaser: Option<ChaserClient>,
    /// Set when the provider said the stream takes no input (close code 4403).
    input_refused: Option<String>,
    /// Where the messages go when the session is recorded (made at the first connection).
    record: Option<MessageRecorder>,
}

impl PreviewDriver {
    fn new(target: Target) -> Self {
        Self {
            target,
            chaser: None,
            input_refused: None,
            record: None,
        }
    }

    pub fn chaser(session_id: String) -> Self {
        Self::new(Target::Chaser { session_id })
    }

    pub fn url(url: url::Url) -> Self {
        Self::new(Target::Url(url))
    }

    fn chaser_client(&mut self, out: &Outlet) -> Result<ChaserClient, CoreError> {
        if let Some(c) = &self.chaser {
            return Ok(c.clone());
        }
        let settings = &out.config.settings.chaser;
        let client = ChaserClient::new(
            net::http_client()?,
            settings.base_url(),
            settings.key.clone(),
        );
        self.chaser = Some(client.clone());
        Ok(client)
    }

    fn input_access(&self, token: Option<&PreviewToken>) -> InputAccess {
        if let Some(why) = &self.input_refused {
            return InputAccess::Refused(why.clone());
        }
        match token {
            Some(t) if !t.input_enabled => {
                InputAccess::Refused("Input is not enabled for this Chaser session".into())
            }
            _ => InputAccess::Allowed,
        }
    }
}

impl Driver for PreviewDriver {
    type Endpoint = Endpoint;
    type Connection = Opened;
    const INPUT: bool = true;

    async fn resolve(&mut self, s: &mut Session, _had_live: bool) -> Result<Endpoint, Resolve> {
        let session_id = match &self.target {
            Target::Url(url) => {
                return Ok(Endpoint {
                    url: url.clone(),
                    minted: None,
                });
            }
            Target::Chaser { session_id } => session_id.clone(),
        };
        let client = self.chaser_client(&s.out)?;
        let at = SystemTime::now();
        let token = client.mint(&session_id).await?;
        Ok(Endpoint {
            url: token.url.clone(),
            minted: Some(Minted {
                token,
                at,
                client,
                session_id,
            }),
        })
    }

    async fn connect(&mut self, endpoint: Endpoint, out: &Outlet) -> Result<Opened, ConnEnd> {
        let mut ws = net::connect_ws(&endpoint.url, &[])
            .await
            .map_err(ConnEnd::failed)?;
        let preview = &out.config.settings.preview;
        let config = super::config_message(preview.max_fps, preview.pacing());
        ws.send(Message::text(config.clone()))
            .await
            .map_err(|e| ConnEnd::failed(ws_error(&e)))?;
        Ok(Opened {
            ws,
            minted: endpoint.minted,
            config,
        })
    }

    async fn run(&mut self, opened: Opened, s: &mut Session) -> ConnEnd {
        let (refresh_tx, refresh_rx) = mpsc::channel(1);
        if self.record.is_none() {
            self.record = s.out.config.record.clone().map(MessageRecorder::new);
        }
        if let Some(record) = &self.record {
            record.connect();
        }
        let mut c = Connection {
            refresh_at: opened.minted.as_ref().map(refresh_deadline),
            current: opened.ws,
            minted: opened.minted,
            config: opened.config,
            decoder: decode_thread::spawn(
                s.out.frames.clone(),
                s.out.waker.clone(),
                self.record.clone(),
            ),
            input: PreviewInput::default(),
            live: None,
            pending: None,
            refresh_tx,
            refresh_rx,
            refreshing: false,
            pacing: s.out.config.settings.preview.pacing(),
            paced_fps: None,
        };
        let mut pace_check = tokio::time::interval(crate::core::frame::PACE_CHECK);
        pace_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let refresh_due = async {
                match c.refresh_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                msg = c.current.next() => self.on_current(msg, &mut c, &s.out).await,
                msg = next_pending(&mut c.pending) => self.on_pending(msg, &mut c, &s.out).await,
                () = refresh_due, if !c.refreshing && c.minted.is_some() => {
                    c.start_refresh();
                    None
                }
                result = c.refresh_rx.recv(), if c.refreshing => c.refreshed(result, &s.out.label),
                note = c.decoder.notes.recv() => self.on_decoded(note, &mut c, &s.out).await,
                _ = pace_check.tick() => follow_pace(&mut c, &s.out).await,
                routed = s.commands.next() => match routed {
                    Routed::End(ConnEnd::Stop) => {
                        let _ = c.current.close(None).await;
                        Some(ConnEnd::Stop)
                    }
                    Routed::End(end) => Some(end),
                    Routed::Command(cmd) => self.command(cmd, &mut c).await,
                },
            };
            if let Some(end) = step {
                return end;
            }
        }
    }
}

/// One running preview connection.
struct Connection {
    current: WsStream,
    minted: Option<Minted>,
    /// Our configuration message, sent again on each refreshed socket.
    config: String,
    decoder: DecoderThread,
    input: PreviewInput,
    /// The picture size once the first frame has shown.
    live: Option<[u32; 2]>,
    /// The next socket, opened ahead of the token's expiry; it takes over at its first
    /// frame.
    pending: Option<WsStream>,
    refresh_tx: mpsc::Sender<Result<(Minted, WsStream), CoreError>>,
    refresh_rx: mpsc::Receiver<Result<(Minted, WsStream), CoreError>>,
    refreshing: bool,
    refresh_at: Option<tokio::time::Instant>,
    pacing: Pacing,
    /// The frame rate asked for at the consumer's pace (a console tile), while it is.
    paced_fps: Option<u32>,
}

/// The frame rate asked for at full rate when none is configured: the most an
/// agent-browser stream sends (`maxFps` left out would keep a paced rate).
const FULL_FPS: u32 = 30;

/// Asks the server for fewer frames while the consumer wants pictures at a pace, and for
/// the full rate again once it does not (`{"type":"config","maxFps":N}`); the message is
/// sent again on each refreshed socket.
async fn follow_pace(c: &mut Connection, out: &Outlet) -> Option<ConnEnd> {
    let wanted = out.frames.pace().map(|pace| {
        let fps = 1000 / pace.as_millis().max(1);
        u32::try_from(fps).unwrap_or(FULL_FPS).clamp(1, FULL_FPS)
    });
    if wanted == c.paced_fps {
        return None;
    }
    c.paced_fps = wanted;
    let max_fps = out.config.settings.preview.max_fps;
    let fps = wanted.map_or(max_fps.unwrap_or(FULL_FPS), |w| w.min(max_fps.unwrap_or(w)));
    c.config = super::config_message(Some(fps), c.pacing);
    match c.current.send(Message::text(c.config.clone())).await {
        Ok(()) => None,
        Err(e) => Some(ConnEnd::Dropped {
            was_live: c.was_live(),
            error: ws_error(&e).into(),
        }),
    }
}

/// What a close code means (`text`), with the server's reason after it unless the reason
/// only repeats it ("The session ended", not "The session ended: session ended").
fn close_text(text: &str, reason: &str) -> String {
    let said = reason.trim().trim_end_matches('.').to_lowercase();
    if said.is_empty() || text.to_lowercase().contains(&said) {
        text.to_string()
    } else {
        format!("{text}: {reason}")
    }
}

/// How a socket's message is to be handled.
enum Incoming {
    /// A frame, and its message to record once shown.
    Frame(PreviewFrame, Option<Raw>),
    Nothing,
    Closed(Option<u16>, String),
    Failed(NetError),
}

impl Connection {
    fn was_live(&self) -> bool {
        self.live.is_some()
    }

    /// Mints the next token and opens its socket in the background.
    fn start_refresh(&mut self) {
        self.refresh_at = None;
        if let Some(m) = self.minted.clone() {
            self.refreshing = true;
            let tx = self.refresh_tx.clone();
            let config = self.config.clone();
            tokio::spawn(async move {
                let _ = tx.send(open_refreshed(m, config).await).await;
            });
        }
    }

    /// A refresh finished: keep its socket pending, or try again later.
    fn refreshed(
        &mut self,
        result: Option<Result<(Minted, WsStream), CoreError>>,
        label: &str,
    ) -> Option<ConnEnd> {
        self.refreshing = false;
        match result? {
            Ok((m, ws)) => {
                self.refresh_at = Some(refresh_deadline(&m));
                self.minted = Some(m);
                self.pending = Some(ws);
            }
            Err(e @ CoreError::Chaser(ChaserError::SessionNotFound { .. })) => {
                return Some(ConnEnd::Over(Stop::Ended(e.user_message())));
            }
            Err(e) => {
                tracing::info!(source = %label, "token refresh failed: {e}");
                let wait = e.retry_after().unwrap_or(Duration::from_secs(1));
                self.refresh_at = Some(tokio::time::Instant::now() + wait);
            }
        }
        None
    }

    /// Acknowledges frame `seq` under ack pacing.
    async fn ack(&mut self, seq: Option<u64>) {
        if let (Some(seq), Pacing::Ack) = (seq, self.pacing) {
            let _ = self
                .current
                .send(Message::text(super::ack_message(seq)))
                .await;
        }
    }

    /// Hands a frame to the decoder thread and records what the status line shows.
    fn show(&self, frame: PreviewFrame, raw: Option<Raw>, out: &Outlet) {
        let stats = &out.stats;
        stats.set_picture_format(match frame.format {
            ImageFormat::Jpeg => PictureFormat::Jpeg,
            ImageFormat::Png => PictureFormat::Png,
        });
        if let Some(ms) = frame.captured_ms.filter(|ms| ms.is_finite() && *ms > 0.0) {
            stats.set_captured_ms(ms as u64);
        }
        stats.add_update(1);
        self.decoder.slot.put(Handed { frame, raw });
    }
}

impl PreviewDriver {
    /// A message on the socket in use.
    async fn on_current(
        &mut self,
        msg: WsMessage,
        c: &mut Connection,
        out: &Outlet,
    ) -> Option<ConnEnd> {
        match parse_message(msg, out, self.record.as_ref()).await {
            Incoming::Frame(frame, raw) => c.show(frame, raw, out),
            Incoming::Nothing => {}
            Incoming::Closed(code, reason) => {
                return Some(self.closed(code, reason, c.was_live(), c.minted.is_some(), out));
            }
            Incoming::Failed(e) => {
                return Some(ConnEnd::Dropped {
                    was_live: c.was_live(),
                    error: e.into(),
                });
            }
        }
        None
    }

    /// A message on the refreshed socket: its first frame makes it the one in use.
    async fn on_pending(
        &mut self,
        msg: WsMessage,
        c: &mut Connection,
        out: &Outlet,
    ) -> Option<ConnEnd> {
        match parse_message(msg, out, self.record.as_ref()).await {
            Incoming::Frame(frame, raw) => {
                if let Some(new) = c.pending.take() {
                    let mut old = std::mem::replace(&mut c.current, new);
                    tokio::spawn(async move {
                        let _ = old.close(None).await;
                    });
                    tracing::debug!(source = %out.label, "switched to the refreshed preview token");
                }
                c.show(frame, raw, out);
            }
            Incoming::Nothing => {}
            Incoming::Closed(..) | Incoming::Failed(_) => {
                // Keep the old socket; try again shortly.
                c.pending = None;
                c.refresh_at = Some(tokio::time::Instant::now() + Duration::from_secs(1));
            }
        }
        None
    }

    /// The decoder showed (or could not decode) a frame: acknowledge it, and go live on
    /// the first picture or a new size.
    async fn on_decoded(
        &mut self,
        note: Option<Decoded>,
        c: &mut Connection,
        out: &Outlet,
    ) -> Option<ConnEnd> {
        match note {
            Some(Decoded::Shown { seq, size }) => {
                c.ack(seq).await;
                if c.live != Some(size) {
                    c.live = Some(size);
                    let info = LiveInfo {
                        width: size[0],
                        height: size[1],
                        desktop_name: String::new(),
                        protocol: "preview frames".into(),
                        input: self.input_access(c.minted.as_ref().map(|m| &m.token)),
                    };
                    out.set_state(SessionState::Live(info)).await;
                }
            }
            Some(Decoded::Bad { seq, error }) => {
                skipped_message(out, &error);
                // Acknowledge anyway, or an ack-paced server would wait forever.
                c.ack(seq).await;
            }
            None => {
                return Some(ConnEnd::Dropped {
                    was_live: c.was_live(),
                    error: NetError::Closed(Some("the preview decoder stopped".into())).into(),
                });
            }
        }
        None
    }

    /// Operator input, typed: the protocol has no clipboard, so pasted text is typed too.
    async fn command(&mut self, cmd: DriverCommand, c: &mut Connection) -> Option<ConnEnd> {
        let (event, pasted) = match cmd {
            DriverCommand::Input(ev) => (ev, false),
            DriverCommand::Paste(text) => (InputEvent::Text { text }, true),
            DriverCommand::Refresh | DriverCommand::JumpToLive | DriverCommand::Answer { .. } => {
                return None;
            }
        };
        let allowed = self.input_access(c.minted.as_ref().map(|m| &m.token));
        if !c.was_live() || allowed != InputAccess::Allowed {
            return None;
        }
        for text in c.input.encode(&event) {
            match c.current.send(Message::text(text)).await {
                Ok(()) => {}
                // Pasted text that does not go out is lost; the socket's end comes next.
                Err(_) if pasted => return None,
                Err(e) => {
                    return Some(ConnEnd::Dropped {
                        was_live: true,
                        error: ws_error(&e).into(),
                    });
                }
            }
        }
        None
    }

    /// What a close code means for the session.
    fn closed(
        &mut self,
        code: Option<u16>,
        reason: String,
        was_live: bool,
        chaser: bool,
        out: &Outlet,
    ) -> ConnEnd {
        let why = |text: &str| close_text(text, &reason);
        match code {
            Some(CLOSE_ENDED) => ConnEnd::Over(Stop::Ended(why("The session ended"))),
            Some(CLOSE_SESSION_DELETED) => {
                ConnEnd::Over(Stop::Ended(why("The session was deleted (4404)")))
            }
            Some(CLOSE_TOKEN_EXPIRED) if chaser => {
                tracing::info!(source = %out.label, "preview token expired (4401): minting a new one");
                ConnEnd::RetryNow
            }
            Some(CLOSE_TOKEN_EXPIRED) => ConnEnd::Over(Stop::Failed(SessionError::new(
                ErrorKind::Unauthorized,
                false,
                why("The preview token expired or is invalid (4401)"),
            ))),
            Some(CLOSE_INPUT_DISABLED) => {
                self.input_refused = Some("The session does not accept input (4403)".into());
                ConnEnd::RetryNow
            }
            other => ConnEnd::Dropped {
                was_live,
                error: NetError::Closed(Some(match other {
                    Some(code) => why(&format!("close code {code}")),
                    None => why("no close code"),
                }))
                .into(),
            },
        }
    }
}

/// Parses one message, handling everything but frames here. When recording, a text
/// message other than a frame is recorded here; a frame's message goes with the frame, to
/// be recorded when the decoder shows it.
async fn parse_message(msg: WsMessage, out: &Outlet, record: Option<&MessageRecorder>) -> Incoming {
    let (parsed, raw) = match msg {
        None => return Incoming::Failed(NetError::Closed(None)),
        Some(Err(e)) => return Incoming::Failed(ws_error(&e)),
        Some(Ok(Message::Text(text))) => {
            out.stats.add_bytes(text.len());
            let parsed = super::parse_text(text.as_str());
            (parsed, record.map(|_| Raw::Text(text)))
        }
        Some(Ok(Message::Binary(data))) => {
            out.stats.add_bytes(data.len());
            let parsed = super::parse_binary(&data);
            (parsed, record.map(|_| Raw::Binary(data)))
        }
        Some(Ok(Message::Close(frame))) => {
            return match frame {
                Some(f) => Incoming::Closed(Some(u16::from(f.code)), redact::url(&f.reason)),
                None => Incoming::Closed(None, String::new()),
            };
        }
        Some(Ok(_)) => return Incoming::Nothing,
    };
    if let Ok(ServerMessage::Frame(frame)) = parsed {
        return Incoming::Frame(frame, raw);
    }
    // Binary messages that are not pictures carry nothing a replay needs.
    if let (Some(record), Some(raw @ Raw::Text(_))) = (record, &raw) {
        record.message(raw);
    }
    match parsed {
        Ok(ServerMessage::Frame(_)) => {}
        Ok(ServerMessage::Url(url)) => {
            let url: String = redact::url(&url).chars().take(2048).collect();
            if let Some(record) = record {
                record.page_url(&url);
            }
            out.emit(SessionEvent::PageUrl(url)).await;
        }
        Ok(ServerMessage::Status(status)) => {
            tracing::debug!(source = %out.label, "preview status: {status}");
        }
        Ok(ServerMessage::Error(message)) => {
            let message: String = redact::url(&message).chars().take(200).collect();
            tracing::warn!(source = %out.label, "the preview server reported: {message}");
        }
        Ok(ServerMessage::Ignored(kind)) => {
            tracing::debug!(source = %out.label, "preview message of type {kind:?} ignored");
        }
        Err(e) => skipped_message(out, &e.to_string()),
    }
    Incoming::Nothing
}

/// Counts an unusable message and says so, without flooding the log.
fn skipped_message(out: &Outlet, why: &str) {
    let n = out.stats.add_skipped();
    if n <= 5 || n.is_power_of_two() {
        tracing::warn!(source = %out.label, skipped = n, "preview message skipped: {why}");
    }
}

fn ws_error(e: &tokio_tungstenite::tungstenite::Error) -> NetError {
    NetError::WebSocket(redact::url(&e.to_string()))
}

/// When to start the next token's refresh.
fn refresh_deadline(m: &Minted) -> tokio::time::Instant {
    let wait = m
        .token
        .refresh_at(m.at)
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    tokio::time::Instant::now() + wait
}

/// Mints the next token and opens its socket, sending our configuration.
async fn open_refreshed(m: Minted, config: String) -> Result<(Minted, WsStream), CoreError> {
    let at = SystemTime::now();
    let token = m.client.mint(&m.session_id).await?;
    let mut ws = net::connect_ws(&token.url, &[]).await?;
    ws.send(Message::text(config))
        .await
        .map_err(|e| ws_error(&e))?;
    Ok((
        Minted {
            token,
            at,
            client: m.client,
            session_id: m.session_id,
        },
        ws,
    ))
}

async fn next_pending(pending: &mut Option<WsStream>) -> WsMessage {
    match pending {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::close_text;

    #[test]
    fn a_close_reason_is_added_unless_it_repeats_the_code() {
        assert_eq!(
            close_text("The session ended", "session ended"),
            "The session ended"
        );
        assert_eq!(close_text("The session ended", " "), "The session ended");
        assert_eq!(
            close_text("The session ended", "Session ended."),
            "The session ended"
        );
        assert_eq!(
            close_text("The session ended", "the agent finished its run"),
            "The session ended: the agent finished its run"
        );
    }
}
