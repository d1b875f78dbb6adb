//! One connection to a frame-protocol source (Chaser previews, agent-browser streams).
//!
//! The socket stays on the session task: text and binary messages are parsed there
//! (`source::preview`), frames go to a named decoder thread through a latest-wins
//! [`LatestSlot`], so a slow decoder skips to the newest frame instead of queueing. With ack
//! pacing (the default) the decoder's "done" is what acknowledges a frame, so the server
//! never sends faster than we show.
//!
//! Chaser tokens expire: [`Runner::run_preview`] mints the next one ahead of time
//! ([`PreviewToken::refresh_at`]), opens a second socket, and switches to it when its first
//! frame arrives, so the picture never stops. Close codes (PROVIDERS.md §3): 1000 ended,
//! 4401 token expired (mint again, reconnect at once), 4403 input not enabled (reconnect
//! without input), 4404 session deleted (stop).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{ConnEnd, Runner, Stop, wait_stop_or_retry};
use crate::core::error::CoreError;
use crate::core::event::{
    Command, InputAccess, LiveInfo, PictureFormat, SessionEvent, SessionState, Waker,
};
use crate::core::frame::FrameSlot;
use crate::core::net::{self, NetError, WsStream};
use crate::core::provider::chaser::{ChaserClient, PreviewToken};
use crate::core::redact;
use crate::core::source::preview::{
    self, FrameDecoder, ImageFormat, PreviewFrame, PreviewInput, ServerMessage,
};

/// Close codes of the preview protocol.
pub const CLOSE_ENDED: u16 = 1000;
pub const CLOSE_TOKEN_EXPIRED: u16 = 4401;
pub const CLOSE_INPUT_DISABLED: u16 = 4403;
pub const CLOSE_SESSION_DELETED: u16 = 4404;

/// A Chaser token and when it was minted.
#[derive(Clone, Debug)]
pub(super) struct Minted {
    pub token: PreviewToken,
    pub at: SystemTime,
    pub client: ChaserClient,
    pub session_id: String,
}

/// A value handed from one thread to another where only the newest matters.
struct LatestSlot<T> {
    state: Mutex<(Option<T>, bool)>,
    ready: Condvar,
}

impl<T> LatestSlot<T> {
    fn new() -> Self {
        Self {
            state: Mutex::new((None, false)),
            ready: Condvar::new(),
        }
    }

    /// Replaces whatever is waiting; returns true if that dropped an older value.
    fn put(&self, value: T) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let replaced = s.0.replace(value).is_some();
        self.ready.notify_one();
        replaced
    }

    /// Waits for a value; `None` once closed.
    fn take(&self) -> Option<T> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(v) = s.0.take() {
                return Some(v);
            }
            if s.1 {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn close(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.1 = true;
        self.ready.notify_all();
    }
}

/// What the decoder thread reports.
enum Decoded {
    Shown { seq: Option<u64>, size: [u32; 2] },
    Bad { seq: Option<u64>, error: String },
}

/// The decoder thread and its ends.
struct DecoderThread {
    slot: Arc<LatestSlot<PreviewFrame>>,
    notes: mpsc::Receiver<Decoded>,
}

impl Drop for DecoderThread {
    fn drop(&mut self) {
        self.slot.close();
    }
}

fn spawn_decoder(frames: Arc<FrameSlot>, waker: Waker) -> DecoderThread {
    let slot = Arc::new(LatestSlot::<PreviewFrame>::new());
    let (tx, rx) = mpsc::channel(8);
    let thread_slot = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("preview-decode".into())
        .spawn(move || {
            let mut decoder = FrameDecoder::default();
            while let Some(frame) = thread_slot.take() {
                let seq = frame.seq;
                let note = match decoder.decode(&frame) {
                    Ok(fb) => {
                        frames.publish(fb, &[fb.full_rect()]);
                        frames.notify(&waker);
                        Decoded::Shown {
                            seq,
                            size: [fb.width(), fb.height()],
                        }
                    }
                    Err(e) => Decoded::Bad {
                        seq,
                        error: e.to_string(),
                    },
                };
                if tx.blocking_send(note).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the preview decoder thread: {e}");
    }
    DecoderThread { slot, notes: rx }
}

/// How a socket's message is to be handled.
enum Incoming {
    Frame(PreviewFrame),
    Nothing,
    Closed(Option<u16>, String),
    Failed(NetError),
}

fn close_info(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> Incoming {
    match frame {
        Some(f) => Incoming::Closed(Some(u16::from(f.code)), redact::url(&f.reason)),
        None => Incoming::Closed(None, String::new()),
    }
}

impl Runner {
    /// Parses one message, handling everything but frames here.
    async fn preview_message(
        &mut self,
        msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Incoming {
        let parsed = match msg {
            None => return Incoming::Failed(NetError::Closed(None)),
            Some(Err(e)) => {
                return Incoming::Failed(NetError::WebSocket(redact::url(&e.to_string())));
            }
            Some(Ok(Message::Text(text))) => {
                self.peer.stats.add_bytes(text.len());
                preview::parse_text(text.as_str())
            }
            Some(Ok(Message::Binary(data))) => {
                self.peer.stats.add_bytes(data.len());
                preview::parse_binary(&data)
            }
            Some(Ok(Message::Close(frame))) => return close_info(frame),
            Some(Ok(_)) => return Incoming::Nothing,
        };
        match parsed {
            Ok(ServerMessage::Frame(frame)) => Incoming::Frame(frame),
            Ok(ServerMessage::Url(url)) => {
                let url: String = redact::url(&url).chars().take(2048).collect();
                self.emit(SessionEvent::PageUrl(url)).await;
                Incoming::Nothing
            }
            Ok(ServerMessage::Status(status)) => {
                tracing::debug!(source = %self.source, "preview status: {status}");
                Incoming::Nothing
            }
            Ok(ServerMessage::Error(message)) => {
                let message: String = redact::url(&message).chars().take(200).collect();
                tracing::warn!(source = %self.source, "the preview server reported: {message}");
                Incoming::Nothing
            }
            Ok(ServerMessage::Ignored(kind)) => {
                tracing::debug!(source = %self.source, "preview message of type {kind:?} ignored");
                Incoming::Nothing
            }
            Err(e) => {
                self.skipped_message(&e.to_string());
                Incoming::Nothing
            }
        }
    }

    /// Counts an unusable message and says so, without flooding the log.
    fn skipped_message(&self, why: &str) {
        let n = self.peer.stats.add_skipped();
        if n <= 5 || n.is_power_of_two() {
            tracing::warn!(source = %self.source, skipped = n, "preview message skipped: {why}");
        }
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

    /// Watches one frame-protocol connection until it ends.
    pub(super) async fn run_preview(
        &mut self,
        url: url::Url,
        mut minted: Option<Minted>,
    ) -> ConnEnd {
        let ws = tokio::select! {
            ws = net::connect_ws(&url, &[]) => ws,
            cmd = wait_stop_or_retry(&mut self.peer.commands, &self.peer.events) => return cmd,
        };
        let mut current = match ws {
            Ok(ws) => ws,
            Err(e) => {
                return ConnEnd::Dropped {
                    was_live: false,
                    error: e.into(),
                };
            }
        };
        let config = preview::config_message(
            self.config.settings.preview.max_fps,
            self.config.settings.preview.pacing(),
        );
        if let Err(e) = current.send(Message::text(config.clone())).await {
            return ConnEnd::Dropped {
                was_live: false,
                error: NetError::WebSocket(redact::url(&e.to_string())).into(),
            };
        }
        let mut decoder = spawn_decoder(self.peer.frames.clone(), self.peer.waker.clone());
        let mut input = PreviewInput::default();
        let mut live: Option<[u32; 2]> = None;
        // The next socket, opened ahead of the token's expiry; it takes over at its first
        // frame.
        let mut pending: Option<WsStream> = None;
        let (refresh_tx, mut refresh_rx) =
            mpsc::channel::<Result<(Minted, WsStream), CoreError>>(1);
        let mut refreshing = false;
        let mut refresh_at = minted.as_ref().map(refresh_deadline);
        loop {
            let refresh_due = async {
                match refresh_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = current.next() => {
                    match self.preview_message(msg).await {
                        Incoming::Frame(frame) => self.show(&decoder, frame),
                        Incoming::Nothing => {}
                        Incoming::Closed(code, reason) => {
                            return self.preview_closed(code, reason, live.is_some(), minted.is_some());
                        }
                        Incoming::Failed(e) => {
                            return ConnEnd::Dropped { was_live: live.is_some(), error: e.into() };
                        }
                    }
                }
                msg = next_pending(&mut pending) => {
                    match self.preview_message(msg).await {
                        Incoming::Frame(frame) => {
                            // The new socket streams: it replaces the old one.
                            if let Some(new) = pending.take() {
                                let mut old = std::mem::replace(&mut current, new);
                                tokio::spawn(async move { let _ = old.close(None).await; });
                                tracing::debug!(source = %self.source, "switched to the refreshed preview token");
                            }
                            self.show(&decoder, frame);
                        }
                        Incoming::Nothing => {}
                        Incoming::Closed(..) | Incoming::Failed(_) => {
                            // Keep the old socket; try again shortly.
                            pending = None;
                            refresh_at = Some(tokio::time::Instant::now() + Duration::from_secs(1));
                        }
                    }
                }
                () = refresh_due, if !refreshing && minted.is_some() => {
                    refresh_at = None;
                    if let Some(m) = minted.clone() {
                        refreshing = true;
                        let tx = refresh_tx.clone();
                        let config = config.clone();
                        tokio::spawn(async move {
                            let _ = tx.send(open_refreshed(m, config).await).await;
                        });
                    }
                }
                result = refresh_rx.recv(), if refreshing => {
                    refreshing = false;
                    match result {
                        Some(Ok((m, ws))) => {
                            refresh_at = Some(refresh_deadline(&m));
                            minted = Some(m);
                            pending = Some(ws);
                        }
                        Some(Err(CoreError::Chaser(e @ crate::core::provider::chaser::ChaserError::SessionNotFound { .. }))) => {
                            return ConnEnd::Over(Stop::Ended(CoreError::Chaser(e).user_message()));
                        }
                        Some(Err(e)) => {
                            tracing::info!(source = %self.source, "token refresh failed: {e}");
                            let wait = e.retry_after().unwrap_or(Duration::from_secs(1));
                            refresh_at = Some(tokio::time::Instant::now() + wait);
                        }
                        None => {}
                    }
                }
                note = decoder.notes.recv() => match note {
                    Some(Decoded::Shown { seq, size }) => {
                        if let (Some(seq), preview::Pacing::Ack) = (seq, self.config.settings.preview.pacing()) {
                            let _ = current.send(Message::text(preview::ack_message(seq))).await;
                        }
                        if live != Some(size) {
                            live = Some(size);
                            let info = LiveInfo {
                                width: size[0],
                                height: size[1],
                                desktop_name: String::new(),
                                protocol: "preview frames".into(),
                                input: self.input_access(minted.as_ref().map(|m| &m.token)),
                            };
                            self.live = Some(info.clone());
                            self.emit(SessionEvent::State(SessionState::Live(info))).await;
                        }
                    }
                    Some(Decoded::Bad { seq, error }) => {
                        self.skipped_message(&error);
                        // Acknowledge anyway, or an ack-paced server would wait forever.
                        if let (Some(seq), preview::Pacing::Ack) = (seq, self.config.settings.preview.pacing()) {
                            let _ = current.send(Message::text(preview::ack_message(seq))).await;
                        }
                    }
                    None => {
                        return ConnEnd::Dropped {
                            was_live: live.is_some(),
                            error: NetError::Closed(Some("the preview decoder stopped".into())).into(),
                        };
                    }
                },
                cmd = self.peer.commands.recv() => match cmd {
                    Some(Command::Stop) | None => {
                        let _ = current.close(None).await;
                        return ConnEnd::Stop;
                    }
                    Some(Command::Retry) => return ConnEnd::RetryNow,
                    Some(Command::JumpToLive) => {}
                    Some(Command::Answer { request_id, .. }) => self.refuse_answer(request_id).await,
                    Some(Command::Input(ev)) => {
                        if live.is_some() && self.input_access(minted.as_ref().map(|m| &m.token)) == InputAccess::Allowed {
                            for text in input.encode(&ev) {
                                if let Err(e) = current.send(Message::text(text)).await {
                                    return ConnEnd::Dropped {
                                        was_live: true,
                                        error: NetError::WebSocket(redact::url(&e.to_string())).into(),
                                    };
                                }
                            }
                        }
                    }
                    Some(Command::PasteText(text)) => {
                        if live.is_some() && self.input_access(minted.as_ref().map(|m| &m.token)) == InputAccess::Allowed {
                            // No clipboard in the protocol: the text is typed.
                            for msg in input.encode(&crate::core::input::InputEvent::Text { text }) {
                                let _ = current.send(Message::text(msg)).await;
                            }
                        }
                    }
                    Some(Command::Refresh) => {}
                },
            }
        }
    }

    /// Hands a frame to the decoder thread and records what the status line shows.
    fn show(&self, decoder: &DecoderThread, frame: PreviewFrame) {
        let stats = &self.peer.stats;
        stats.set_picture_format(match frame.format {
            ImageFormat::Jpeg => PictureFormat::Jpeg,
            ImageFormat::Png => PictureFormat::Png,
        });
        if let Some(ms) = frame.captured_ms.filter(|ms| ms.is_finite() && *ms > 0.0) {
            stats.set_captured_ms(ms as u64);
        }
        stats.add_update(1);
        decoder.slot.put(frame);
    }

    /// What a close code means for the session.
    fn preview_closed(
        &mut self,
        code: Option<u16>,
        reason: String,
        was_live: bool,
        chaser: bool,
    ) -> ConnEnd {
        let why = |text: &str| match reason.is_empty() {
            true => text.to_string(),
            false => format!("{text}: {reason}"),
        };
        match code {
            Some(CLOSE_ENDED) => ConnEnd::Over(Stop::Ended(why("The session ended"))),
            Some(CLOSE_SESSION_DELETED) => {
                ConnEnd::Over(Stop::Ended(why("The session was deleted (4404)")))
            }
            Some(CLOSE_TOKEN_EXPIRED) if chaser => {
                tracing::info!(source = %self.source, "preview token expired (4401): minting a new one");
                ConnEnd::RetryNow
            }
            Some(CLOSE_TOKEN_EXPIRED) => ConnEnd::Over(Stop::Failed(why(
                "The preview token expired or is invalid (4401)",
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
        .map_err(|e| NetError::WebSocket(redact::url(&e.to_string())))?;
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

async fn next_pending(
    pending: &mut Option<WsStream>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match pending {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_slot_keeps_only_the_newest_and_closes() {
        let slot = Arc::new(LatestSlot::<u32>::new());
        assert!(!slot.put(1));
        assert!(slot.put(2), "1 was replaced");
        assert_eq!(slot.take(), Some(2));
        let waiter = {
            let slot = slot.clone();
            std::thread::Builder::new()
                .name("slot-waiter".into())
                .spawn(move || slot.take())
                .unwrap()
        };
        std::thread::sleep(Duration::from_millis(20));
        slot.put(3);
        assert_eq!(waiter.join().unwrap(), Some(3));
        slot.close();
        assert_eq!(slot.take(), None);
    }
}
