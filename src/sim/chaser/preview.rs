//! One Chaser preview connection, speaking the agent-browser streaming protocol
//! (PROVIDERS.md §3) so the viewer's preview source and its input path are tested against
//! the same wire a real agent-browser session uses.
//!
//! On connect the server sends `{"type":"status",…}` and `{"type":"url",…}`, then frames:
//! `{"type":"frame","seq":N,"data":"<base64 JPEG>","metadata":{…}}` (or, with
//! [`crate::sim::SimHandle::preview_binary_frames`], binary messages holding one JPEG each) of
//! the same synthetic desktop the RFB streams show, with the agent pointer painted in.
//! Pacing is push at the token's fps until the client sends
//! `{"type":"config","maxFps":N,"pacing":"ack"|"push"}`: push sends at `min(N, 30)` fps,
//! ack sends frame N+1 only after `{"type":"ack","seq":N}` (and no faster than `maxFps`).
//! An unchanged picture is not encoded again.
//!
//! Input (`input_mouse`, `input_keyboard`, `input_touch`) is recorded in the stats and
//! acts on the session's shared [`Page`]: a left press and release (or a tap) on the
//! captcha box solves it, on the search field focuses it; `char` events type, and so do
//! `keyDown`s of one-character keys when the client sends no `char` events (a `keyDown`'s
//! character waits briefly for its `char`, so clients sending both never type twice);
//! `Backspace` deletes. On a session without input, any input message closes with 4403.
//!
//! Close codes: 1000 session ended, 4401 the token expired (at its expiry, whatever the
//! socket is doing), 4403 input not enabled, 4404 session deleted. Client messages are
//! capped in size by the upgrade; bad JSON and unknown types are ignored (bad JSON is
//! counted), and nothing a client sends can panic the server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::sessions::{Chaser, Registration};
use crate::core::frame::FrameError;
use crate::core::source::preview::{
    CLOSE_ENDED, CLOSE_INPUT_DISABLED, CLOSE_SESSION_DELETED, CLOSE_TOKEN_EXPIRED,
};
use crate::sim::clock::now_ms;
use crate::sim::desktop::{CYCLE_TICKS, Desktop, Interaction, Script, Widget};
use crate::sim::interact::{Clicks, Page};
use crate::sim::stats::{
    KeyEventType, LiveStream, MouseButton, MouseEventType, ReceivedInput, TouchEventType,
    TouchPoint, bump,
};
use crate::sim::streams::StreamContext;

/// Fastest frame rate a client may ask for.
pub(crate) const MAX_FPS: u32 = 30;
/// JPEG quality of frames.
const JPEG_QUALITY: u8 = 80;
/// Touch points of one message we look at (more are dropped).
const MAX_TOUCH_POINTS: usize = 16;
/// Characters of a key's `key`, `code` or `text` we keep (more are dropped).
const MAX_KEY_FIELD_CHARS: usize = 256;
/// How long a `keyDown`'s character waits for a `char` event before it types itself.
const KEYDOWN_CHAR_WAIT_MS: u64 = 100;
/// How long we wait for the client's answer to our close frame.
const CLOSE_WAIT_MS: u64 = 1_000;
/// Modifier bits that make a key a shortcut rather than typing: Alt 1, Ctrl 2, Meta 4.
const SHORTCUT_MODIFIERS: u8 = 0b0111;

/// Why a preview ended abnormally.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PreviewError {
    #[error("WebSocket error: {0}")]
    WebSocket(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("JPEG encoding failed: {0}")]
    Encode(String),
}

fn ws_err(e: axum::Error) -> PreviewError {
    PreviewError::WebSocket(e.to_string())
}

/// Everything one preview connection needs.
pub(crate) struct PreviewSpec {
    pub session: String,
    pub generation: u64,
    pub input_enabled: bool,
    pub script: Script,
    pub start_tick: u64,
    pub page: Page,
    /// When the token the client connected with expires (ms since the epoch).
    pub token_expiry_ms: u64,
    /// The default frame rate (the token's).
    pub fps: u32,
    pub streams: StreamContext,
    pub chaser: std::sync::Arc<Chaser>,
    /// Gets a close code when a test hook closes this preview.
    pub close: oneshot::Receiver<u16>,
    /// Keeps this preview closable by the hooks while it runs.
    pub _registration: Registration,
}

/// Client → server messages.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum ClientMsg {
    #[serde(rename = "input_mouse")]
    Mouse(MouseMsg),
    #[serde(rename = "input_keyboard")]
    Keyboard(KeyMsg),
    #[serde(rename = "input_touch")]
    Touch(TouchMsg),
    #[serde(rename = "config")]
    Config(ConfigMsg),
    #[serde(rename = "ack")]
    Ack { seq: u64 },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MouseMsg {
    event_type: MouseEventType,
    #[serde(default)]
    x: f64,
    #[serde(default)]
    y: f64,
    #[serde(default)]
    button: MouseButton,
    #[serde(default)]
    click_count: u32,
    #[serde(default)]
    delta_x: f64,
    #[serde(default)]
    delta_y: f64,
    #[serde(default)]
    modifiers: u8,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyMsg {
    event_type: KeyEventType,
    #[serde(default)]
    key: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    modifiers: u8,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TouchMsg {
    event_type: TouchEventType,
    #[serde(default)]
    touch_points: Vec<TouchPoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigMsg {
    #[serde(default)]
    max_fps: Option<f64>,
    #[serde(default)]
    pacing: Option<Pacing>,
}

/// When frames go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Pacing {
    /// On a clock, at the frame rate.
    Push,
    /// One frame per acknowledgement, no faster than the frame rate.
    Ack,
}

/// What a wait ended with.
enum Wake {
    Client(Option<Result<Message, axum::Error>>),
    Frame,
    KeyWait,
    TokenExpired,
    Closed(u16),
    Shutdown,
}

/// What to do after a client message.
enum Flow {
    Continue,
    Close(u16, &'static str),
    End,
}

/// Runs a preview connection to its end, logging how it ended.
pub(crate) async fn run(socket: WebSocket, spec: PreviewSpec) {
    let counters = spec.streams.counters.clone();
    let _live = LiveStream::new(&counters.live_previews);
    let session = spec.session.clone();
    let result = match Conn::new(socket, spec) {
        Ok(mut conn) => conn.serve().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => tracing::debug!(%session, "preview ended"),
        Err(e) => tracing::debug!(%session, "preview ended: {e}"),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn truncated(s: String) -> String {
    match s.char_indices().nth(MAX_KEY_FIELD_CHARS) {
        Some((cut, _)) => s[..cut].to_string(),
        None => s,
    }
}

/// Milliseconds since the epoch, with a fraction, for frame metadata.
fn timestamp_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Encodes RGBA pixels as a baseline JPEG.
fn encode_jpeg(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PreviewError> {
    let w = u16::try_from(width).map_err(|_| PreviewError::Encode("too wide".into()))?;
    let h = u16::try_from(height).map_err(|_| PreviewError::Encode("too tall".into()))?;
    let mut jpeg = Vec::with_capacity(rgba.len() / 16);
    jpeg_encoder::Encoder::new(&mut jpeg, JPEG_QUALITY)
        .encode(rgba, w, h, jpeg_encoder::ColorType::Rgba)
        .map_err(|e| PreviewError::Encode(e.to_string()))?;
    Ok(jpeg)
}

/// The widget at a frame position the client sent (frame pixels, maybe fractional).
fn widget_at(desktop: &Desktop, x: f64, y: f64) -> Option<Widget> {
    // `as` saturates (and maps NaN to 0); the desktop's hit test rejects what is outside.
    desktop.widget_at(x.floor() as i64, y.floor() as i64)
}

struct Conn {
    socket: WebSocket,
    spec: PreviewSpec,
    desktop: Desktop,
    human: watch::Receiver<Interaction>,
    size: watch::Receiver<(u32, u32)>,
    /// The last frame sent, encoded; `None` once the picture changed since.
    cached: Option<Bytes>,
    seq: u64,
    acked: u64,
    pacing: Pacing,
    max_fps: u32,
    last_frame: Option<Instant>,
    clicks: Clicks,
    /// Where the current touch is (touchEnd carries no points).
    touch_at: Option<(f64, f64)>,
    /// A keyDown's character waiting for its `char` event, and until when.
    pending_key: Option<(char, Instant)>,
    /// The client sends `char` events: keyDowns no longer type.
    char_events: bool,
}

impl Conn {
    fn new(socket: WebSocket, spec: PreviewSpec) -> Result<Self, PreviewError> {
        let mut size = spec.streams.size.clone();
        let (w, h) = *size.borrow_and_update();
        let mut human = spec.page.subscribe();
        let current = human.borrow_and_update().clone();
        let mut desktop =
            Desktop::with_script(w, h, &spec.session, spec.start_tick, spec.script, &current)?;
        desktop.set_cursor_overlay(true);
        Ok(Self {
            socket,
            desktop,
            human,
            size,
            cached: None,
            seq: 0,
            acked: 0,
            pacing: Pacing::Push,
            max_fps: spec.fps.clamp(1, MAX_FPS),
            last_frame: None,
            clicks: Clicks::default(),
            touch_at: None,
            pending_key: None,
            char_events: false,
            spec,
        })
    }

    async fn serve(&mut self) -> Result<(), PreviewError> {
        // The session may have gone between the upgrade's check and our registration.
        let current = self.spec.chaser.session(&self.spec.session);
        if current.map(|s| s.generation) != Some(self.spec.generation) {
            return self.close(CLOSE_SESSION_DELETED, "session deleted").await;
        }
        self.send_status().await?;
        let mut page_url = url::Url::parse("https://shop.example.com/checkout")
            .map_err(|e| PreviewError::Encode(e.to_string()))?;
        page_url
            .query_pairs_mut()
            .append_pair("task", &self.spec.session);
        self.send_json(&json!({"type": "url", "url": page_url.as_str()}))
            .await?;
        let left_ms = self.spec.token_expiry_ms.saturating_sub(now_ms());
        let expiry = Instant::now() + Duration::from_millis(left_ms);
        let mut shutdown = self.spec.streams.stop.shutdown.clone();
        shutdown.borrow_and_update();
        loop {
            let frame_at = self.next_frame_at();
            let key_at = self.pending_key.map(|(_, at)| at);
            let wake = tokio::select! {
                m = self.socket.recv() => Wake::Client(m),
                () = sleep_until(frame_at) => Wake::Frame,
                () = sleep_until(key_at) => Wake::KeyWait,
                () = tokio::time::sleep_until(expiry) => Wake::TokenExpired,
                code = &mut self.spec.close => Wake::Closed(code.unwrap_or(CLOSE_ENDED)),
                _ = shutdown.changed() => Wake::Shutdown,
            };
            match wake {
                Wake::Client(m) => match self.on_client(m)? {
                    Flow::Continue => {}
                    Flow::Close(code, reason) => return self.close(code, reason).await,
                    Flow::End => return Ok(()),
                },
                Wake::Frame => self.send_frame().await?,
                Wake::KeyWait => self.commit_pending_key(),
                Wake::TokenExpired => {
                    return self.close(CLOSE_TOKEN_EXPIRED, "token expired").await;
                }
                Wake::Closed(code) => {
                    let reason = match code {
                        CLOSE_ENDED => "session ended",
                        CLOSE_SESSION_DELETED => "session deleted",
                        _ => "closed by the simulator",
                    };
                    return self.close(code, reason).await;
                }
                Wake::Shutdown => return self.close(1001, "simulator shutting down").await,
            }
        }
    }

    /// When the next frame may go out; `None` while an ack is awaited.
    fn next_frame_at(&self) -> Option<Instant> {
        if self.pacing == Pacing::Ack && self.seq > self.acked {
            return None;
        }
        let gap = Duration::from_millis(1000 / u64::from(self.max_fps.clamp(1, MAX_FPS)));
        Some(self.last_frame.map_or_else(Instant::now, |t| t + gap))
    }

    async fn send_json(&mut self, v: &serde_json::Value) -> Result<(), PreviewError> {
        self.socket
            .send(Message::Text(Utf8Bytes::from(v.to_string())))
            .await
            .map_err(ws_err)
    }

    async fn send_status(&mut self) -> Result<(), PreviewError> {
        let fb = self.desktop.framebuffer();
        let msg = json!({
            "type": "status",
            "connected": true,
            "screencasting": true,
            "viewportWidth": fb.width(),
            "viewportHeight": fb.height(),
        });
        self.send_json(&msg).await
    }

    /// Sends our close frame and waits (briefly) for the client's answer.
    async fn close(&mut self, code: u16, reason: &'static str) -> Result<(), PreviewError> {
        self.commit_pending_key();
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        if self.socket.send(Message::Close(Some(frame))).await.is_err() {
            return Ok(());
        }
        let drain = async {
            while let Some(Ok(m)) = self.socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(CLOSE_WAIT_MS), drain).await;
        Ok(())
    }

    /// Brings the desktop to the shared timeline's tick, at the current size, with what
    /// people did applied. Returns whether the size changed.
    fn catch_up(&mut self) -> Result<bool, PreviewError> {
        let target = self.spec.streams.tick_now();
        let mut resized = false;
        if self.size.has_changed().unwrap_or(false) {
            let (w, h) = *self.size.borrow_and_update();
            let fb = self.desktop.framebuffer();
            resized = (w, h) != (fb.width(), fb.height());
        }
        if resized || target > self.desktop.tick().saturating_add(CYCLE_TICKS) {
            // Far behind (a client slow to ack) or resized: render afresh.
            let (w, h) = *self.size.borrow();
            let human = self.human.borrow_and_update().clone();
            self.desktop =
                Desktop::with_script(w, h, &self.spec.session, target, self.spec.script, &human)?;
            self.desktop.set_cursor_overlay(true);
            self.cached = None;
        }
        while self.desktop.tick() < target {
            if !self.desktop.advance().is_empty() {
                self.cached = None;
            }
        }
        self.sync_page();
        Ok(resized)
    }

    fn sync_page(&mut self) {
        if self.human.has_changed().unwrap_or(false) {
            let human = self.human.borrow_and_update().clone();
            if !self.desktop.set_interaction(&human).is_empty() {
                self.cached = None;
            }
        }
    }

    async fn send_frame(&mut self) -> Result<(), PreviewError> {
        if self.catch_up()? {
            self.send_status().await?;
        }
        let jpeg = match &self.cached {
            Some(jpeg) => jpeg.clone(),
            None => {
                let fb = self.desktop.framebuffer();
                let (w, h, rgba) = (fb.width(), fb.height(), fb.pixels().to_vec());
                let jpeg = tokio::task::spawn_blocking(move || encode_jpeg(&rgba, w, h))
                    .await
                    .map_err(|e| PreviewError::Encode(e.to_string()))??;
                let jpeg = Bytes::from(jpeg);
                self.cached = Some(jpeg.clone());
                jpeg
            }
        };
        self.seq += 1;
        self.last_frame = Some(Instant::now());
        // Counted before sending, so a client never holds a frame the stats do not know.
        bump(&self.spec.streams.counters.preview_frames_sent);
        let binary = self
            .spec
            .chaser
            .binary_frames
            .load(std::sync::atomic::Ordering::Relaxed);
        if binary {
            self.socket
                .send(Message::Binary(jpeg))
                .await
                .map_err(ws_err)?;
        } else {
            let fb = self.desktop.framebuffer();
            let msg = json!({
                "type": "frame",
                "seq": self.seq,
                "data": STANDARD.encode(&jpeg),
                "metadata": {
                    "deviceWidth": fb.width(),
                    "deviceHeight": fb.height(),
                    "timestamp": timestamp_ms(),
                    "offsetTop": 0,
                    "pageScaleFactor": 1,
                    "scrollOffsetX": 0,
                    "scrollOffsetY": 0,
                },
            });
            self.send_json(&msg).await?;
        }
        Ok(())
    }

    fn on_client(&mut self, m: Option<Result<Message, axum::Error>>) -> Result<Flow, PreviewError> {
        match m {
            None | Some(Ok(Message::Close(_))) => Ok(Flow::End),
            Some(Err(e)) => Err(ws_err(e)),
            Some(Ok(Message::Text(t))) => Ok(self.on_text(t.as_str())),
            // Binary, ping and pong carry nothing for us.
            Some(Ok(_)) => Ok(Flow::Continue),
        }
    }

    fn on_text(&mut self, text: &str) -> Flow {
        let counters = &self.spec.streams.counters;
        let Ok(msg) = serde_json::from_str::<ClientMsg>(text) else {
            bump(&counters.preview_malformed);
            return Flow::Continue;
        };
        let is_input = matches!(
            msg,
            ClientMsg::Mouse(_) | ClientMsg::Keyboard(_) | ClientMsg::Touch(_)
        );
        if is_input && !self.spec.input_enabled {
            bump(&counters.input_refused);
            return Flow::Close(
                CLOSE_INPUT_DISABLED,
                "input is not enabled for this session",
            );
        }
        match msg {
            ClientMsg::Config(c) => {
                self.commit_pending_key();
                if let Some(fps) = c.max_fps.filter(|f| f.is_finite()) {
                    self.max_fps = fps.round().clamp(1.0, f64::from(MAX_FPS)) as u32;
                }
                if let Some(p) = c.pacing {
                    self.pacing = p;
                }
            }
            ClientMsg::Ack { seq } => self.acked = self.acked.max(seq.min(self.seq)),
            ClientMsg::Other => {}
            ClientMsg::Mouse(m) => {
                self.commit_pending_key();
                self.on_mouse(m);
            }
            ClientMsg::Keyboard(k) => self.on_key(k),
            ClientMsg::Touch(t) => {
                self.commit_pending_key();
                self.on_touch(t);
            }
        }
        Flow::Continue
    }

    fn on_mouse(&mut self, m: MouseMsg) {
        self.spec
            .streams
            .counters
            .preview_input(ReceivedInput::PreviewMouse {
                session: self.spec.session.clone(),
                event: m.event_type,
                x: m.x,
                y: m.y,
                button: m.button,
                click_count: m.click_count,
                delta_x: m.delta_x,
                delta_y: m.delta_y,
                modifiers: m.modifiers,
            });
        if m.button != MouseButton::Left {
            return;
        }
        let at = widget_at(&self.desktop, m.x, m.y);
        match m.event_type {
            MouseEventType::MousePressed => self.clicks.press(at),
            MouseEventType::MouseReleased => {
                if let Some(target) = self.clicks.release(at) {
                    self.spec.page.click(target);
                }
            }
            MouseEventType::MouseMoved | MouseEventType::MouseWheel => {}
        }
    }

    fn on_touch(&mut self, mut t: TouchMsg) {
        t.touch_points.truncate(MAX_TOUCH_POINTS);
        let first = t.touch_points.first().map(|p| (p.x, p.y));
        self.spec
            .streams
            .counters
            .preview_input(ReceivedInput::PreviewTouch {
                session: self.spec.session.clone(),
                event: t.event_type,
                points: t.touch_points,
            });
        match t.event_type {
            TouchEventType::TouchStart => {
                if let Some((x, y)) = first {
                    self.touch_at = Some((x, y));
                    self.clicks.press(widget_at(&self.desktop, x, y));
                }
            }
            TouchEventType::TouchMove => {
                if first.is_some() {
                    self.touch_at = first;
                }
            }
            TouchEventType::TouchEnd => match first.or(self.touch_at.take()) {
                Some((x, y)) => {
                    if let Some(target) = self.clicks.release(widget_at(&self.desktop, x, y)) {
                        self.spec.page.click(target);
                    }
                }
                None => self.clicks.cancel(),
            },
            TouchEventType::TouchCancel => {
                self.touch_at = None;
                self.clicks.cancel();
            }
        }
    }

    fn on_key(&mut self, k: KeyMsg) {
        let (key, text) = (truncated(k.key), truncated(k.text));
        self.spec
            .streams
            .counters
            .preview_input(ReceivedInput::PreviewKey {
                session: self.spec.session.clone(),
                event: k.event_type,
                key: key.clone(),
                code: truncated(k.code),
                text: text.clone(),
                modifiers: k.modifiers,
            });
        match k.event_type {
            KeyEventType::Char => {
                // The character a keyDown was holding arrives here: type it once.
                self.pending_key = None;
                self.char_events = true;
                // A `char` is what the keys produced (AltGr's Ctrl+Alt included): type it.
                let typed = if text.is_empty() { &key } else { &text };
                self.spec.page.type_text(typed);
            }
            KeyEventType::KeyDown => {
                self.commit_pending_key();
                if key == "Backspace" {
                    self.spec.page.backspace();
                    return;
                }
                let mut chars = key.chars();
                let one = chars
                    .next()
                    .filter(|c| !c.is_control() && chars.next().is_none());
                if let Some(c) = one
                    && !self.char_events
                    && k.modifiers & SHORTCUT_MODIFIERS == 0
                {
                    let wait = Duration::from_millis(KEYDOWN_CHAR_WAIT_MS);
                    self.pending_key = Some((c, Instant::now() + wait));
                }
            }
            KeyEventType::KeyUp => self.commit_pending_key(),
        }
    }

    /// Types the character a keyDown held, if no `char` event claimed it.
    fn commit_pending_key(&mut self) {
        if let Some((c, _)) = self.pending_key.take() {
            let mut buf = [0u8; 4];
            self.spec.page.type_text(c.encode_utf8(&mut buf));
        }
    }
}
