//! One RFB server connection: handshake, then the update loop over a [`Transport`].
//!
//! Handshake (RFB 3.8, also 3.3/3.7 clients): server `"RFB 003.008\n"`, client its version;
//! 3.7+: server `[1, type]`, client picks the type; 3.3: server `type u32`. Type 1 (None)
//! or 2 (VNC Authentication: 16-byte challenge, 16-byte DES response). Then SecurityResult
//! `u32` (0 ok; on failure 3.8 adds a reason string) — skipped for None before 3.8.
//! ClientInit `shared u8`; ServerInit `w u16, h u16, PIXEL_FORMAT, name-length u32, name`.
//!
//! After that the connection owns its own [`Desktop`], advances it once per tick, folds
//! the damage into [`PendingDamage`] and answers FramebufferUpdateRequests: only while a
//! request is outstanding, everything on a non-incremental one. Client input is counted in
//! the shared counters, which also record each pointer and key event in order, and acts
//! on the task's shared [`Page`]: a left click on the captcha box solves it, a click on the
//! search field focuses it and printable keys type into it. Changes to the page (from this
//! or any other viewer) repaint through the same damage tracking. The connection ends when
//! the client leaves, the task stops running, or the simulator drops streams or shuts down.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::damage::PendingDamage;
use super::encode::{self, EncodeError, EncoderSet, Encoding};
use super::messages::{self, ClientMessage, MessageError};
use super::pixel::{PixelFormat, PixelFormatError};
use super::transport::{Transport, TransportError};
use crate::core::frame::{FrameError, Rect};
use crate::core::source::rfb::{SECURITY_NONE, SECURITY_VNC_AUTH, encodings, vnc_auth_response};
use crate::sim::credentials::same_secret;
use crate::sim::desktop::{Damage, Desktop, Interaction, Script};
use crate::sim::interact::{Page, RfbKeys, RfbPointer};
use crate::sim::stats::{Counters, LiveStream, bump};

/// Time a client gets to finish the handshake.
const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Client bytes we buffer without a complete message (a maximal ClientCutText fits).
const MAX_PENDING_INPUT_BYTES: usize = messages::MAX_CUT_TEXT_BYTES + 64 * 1024;

/// Why a connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the client left during the handshake")]
    ClosedEarly,
    #[error("the client did not finish the handshake in time")]
    HandshakeTimeout,
    #[error("the client's protocol version {0:?} is not RFB 3.x")]
    BadVersion(String),
    #[error("the client chose security type {0}, which was not offered")]
    BadSecurityType(u8),
    #[error("VNC authentication failed")]
    AuthFailed,
    #[error("unsupported pixel format: {0}")]
    PixelFormat(#[from] PixelFormatError),
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error("the client sent {0} bytes without completing a message")]
    InputTooLarge(usize),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("the desktop was resized and the client does not support DesktopSize")]
    ResizeUnsupported,
    #[error("update with {0} rectangles does not fit one message")]
    TooManyRects(u32),
}

/// Tells whether the watched task still runs.
pub type RunningCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// What a connection shows and what it answers to.
#[derive(Clone)]
pub struct ConnectionSpec {
    /// Shown in the desktop's tab and URL and in the desktop name.
    pub label: String,
    /// `Some`: offer only VNC Authentication with this password; `None`: security None.
    pub password: Option<String>,
    /// The desktop tick to start from (so viewers of one task see one timeline).
    pub start_tick: u64,
    pub tick_ms: u64,
    /// The desktop size; a change resizes the connection's desktop (DesktopSize).
    pub size: watch::Receiver<(u32, u32)>,
    /// `Some`: the connection closes once this says the task stopped.
    pub running: Option<RunningCheck>,
    pub counters: Arc<Counters>,
    /// What the agent does on the page.
    pub script: Script,
    /// The page's shared interaction state, which this connection's input acts on.
    pub page: Page,
}

/// Ends connections from outside: a change of `dropped` closes every connection at once
/// (abruptly), and so does `shutdown` or the sender going away.
#[derive(Clone, Debug)]
pub struct StopSignals {
    pub dropped: watch::Receiver<u64>,
    pub shutdown: watch::Receiver<bool>,
}

impl StopSignals {
    async fn stopped(&mut self) {
        tokio::select! {
            _ = self.dropped.changed() => {}
            _ = self.shutdown.changed() => {}
        }
    }
}

/// Runs a connection to its end, logging how it ended.
pub async fn run_connection(t: Transport, spec: ConnectionSpec, mut stop: StopSignals) {
    // A clone of the receiver inherits its "seen" version: mark what exists now as seen, so
    // only a drop requested after this connection began ends it.
    stop.dropped.borrow_and_update();
    stop.shutdown.borrow_and_update();
    let counters = spec.counters.clone();
    let _live = LiveStream::new(&counters.live_streams);
    let label = spec.label.clone();
    let result = tokio::select! {
        r = serve(t, spec) => r,
        () = stop.stopped() => {
            tracing::debug!(task = %label, "simulator closed an RFB stream");
            Ok(())
        }
    };
    match result {
        Ok(()) => tracing::debug!(task = %label, "RFB stream ended"),
        Err(ServerError::AuthFailed) => {
            bump(&counters.auth_failures);
            tracing::info!(task = %label, "VNC authentication failed");
        }
        Err(e @ (ServerError::PixelFormat(_) | ServerError::Message(_))) => {
            tracing::error!(task = %label, "closing RFB stream: {e}");
        }
        Err(e) => tracing::debug!(task = %label, "RFB stream ended: {e}"),
    }
}

/// The RFB minor version the client settled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    V3,
    V7,
    V8,
}

async fn read_exact(
    t: &mut Transport,
    buf: &mut Vec<u8>,
    n: usize,
) -> Result<Vec<u8>, ServerError> {
    while buf.len() < n {
        if !t.recv(buf).await? {
            return Err(ServerError::ClosedEarly);
        }
        if buf.len() > MAX_PENDING_INPUT_BYTES {
            return Err(ServerError::InputTooLarge(buf.len()));
        }
    }
    Ok(buf.drain(..n).collect())
}

fn parse_version(b: &[u8]) -> Result<Version, ServerError> {
    let text = String::from_utf8_lossy(b).into_owned();
    let minor = text
        .strip_prefix("RFB 003.")
        .and_then(|rest| rest.strip_suffix('\n'))
        .filter(|m| m.len() == 3)
        .and_then(|m| m.parse::<u16>().ok())
        .ok_or_else(|| ServerError::BadVersion(text.escape_debug().to_string()))?;
    Ok(match minor {
        0..=6 => Version::V3,
        7 => Version::V7,
        _ => Version::V8,
    })
}

async fn security_failure(
    t: &mut Transport,
    version: Version,
    reason: &str,
) -> Result<(), ServerError> {
    let mut msg = 1u32.to_be_bytes().to_vec();
    if version >= Version::V8 {
        msg.extend_from_slice(&(reason.len() as u32).to_be_bytes());
        msg.extend_from_slice(reason.as_bytes());
    }
    t.send(&msg).await?;
    Ok(())
}

/// Version and security handshake up to (not including) ClientInit.
async fn handshake(
    t: &mut Transport,
    buf: &mut Vec<u8>,
    password: Option<&str>,
) -> Result<(), ServerError> {
    t.send(b"RFB 003.008\n").await?;
    let version = parse_version(&read_exact(t, buf, 12).await?)?;
    let offered = if password.is_some() {
        SECURITY_VNC_AUTH
    } else {
        SECURITY_NONE
    };
    if version == Version::V3 {
        t.send(&u32::from(offered).to_be_bytes()).await?;
    } else {
        t.send(&[1, offered]).await?;
        let chosen = read_exact(t, buf, 1).await?[0];
        if chosen != offered {
            security_failure(t, version, "security type not offered").await?;
            return Err(ServerError::BadSecurityType(chosen));
        }
    }
    match password {
        Some(pw) => {
            let challenge: [u8; 16] = rand::random();
            t.send(&challenge).await?;
            let response = read_exact(t, buf, 16).await?;
            let expected = vnc_auth_response(pw, &challenge);
            if !same_secret(&expected, &response) {
                security_failure(t, version, "Authentication failed").await?;
                return Err(ServerError::AuthFailed);
            }
            t.send(&0u32.to_be_bytes()).await?;
        }
        None if version >= Version::V8 => t.send(&0u32.to_be_bytes()).await?,
        None => {}
    }
    Ok(())
}

/// Handshakes, then runs the update loop until the connection ends.
async fn serve(mut t: Transport, spec: ConnectionSpec) -> Result<(), ServerError> {
    let mut buf = Vec::new();
    let greeted = async {
        handshake(&mut t, &mut buf, spec.password.as_deref()).await?;
        read_exact(&mut t, &mut buf, 1).await
    };
    tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), greeted)
        .await
        .map_err(|_| ServerError::HandshakeTimeout)??;
    let mut size = spec.size.clone();
    let (w, h) = *size.borrow_and_update();
    let mut human = spec.page.subscribe();
    let desktop = Desktop::with_script(
        w,
        h,
        &spec.label,
        spec.start_tick,
        spec.script,
        &human.borrow_and_update(),
    )?;
    let mut init = Vec::with_capacity(64);
    init.extend_from_slice(&(w as u16).to_be_bytes());
    init.extend_from_slice(&(h as u16).to_be_bytes());
    init.extend_from_slice(&PixelFormat::SERVER.to_bytes());
    let name = format!("Lookout simulator - {}", spec.label);
    init.extend_from_slice(&(name.len() as u32).to_be_bytes());
    init.extend_from_slice(name.as_bytes());
    t.send(&init).await?;
    // The first request gets the whole picture even if it is incremental.
    let mut damage = PendingDamage::new(desktop.framebuffer().full_rect());
    damage.add_full(desktop.framebuffer().full_rect());
    let mut session = Session {
        damage,
        desktop,
        t,
        inbuf: buf,
        encoders: EncoderSet::new(PixelFormat::SERVER),
        prefs: Prefs::default(),
        request_pending: false,
        cursor_sent: false,
        pointer_sent: None,
        resize_pending: false,
        size,
        human,
        keys: RfbKeys::default(),
        pointer: RfbPointer::default(),
        spec,
    };
    session.run().await
}

/// What the client said it supports (SetEncodings).
#[derive(Clone, Copy, Debug, Default)]
struct Prefs {
    encoding: Option<Encoding>,
    copy_rect: bool,
    cursor: bool,
    pointer_pos: bool,
    desktop_size: bool,
}

impl Prefs {
    fn from_list(list: &[i32]) -> (Self, Option<u8>, Option<u8>) {
        let has = |n: i32| list.contains(&n);
        let level_of = |base: i32| {
            list.iter()
                .find(|&&e| (base..=base + 9).contains(&e))
                .map(|&e| (e - base) as u8)
        };
        let prefs = Self {
            encoding: list.iter().find_map(|&e| Encoding::from_id(e)),
            copy_rect: has(encodings::COPY_RECT),
            cursor: has(encodings::CURSOR),
            pointer_pos: has(encodings::POINTER_POS),
            desktop_size: has(encodings::DESKTOP_SIZE),
        };
        (
            prefs,
            level_of(encodings::JPEG_QUALITY_0),
            level_of(encodings::COMPRESS_LEVEL_0),
        )
    }

    /// The client draws the agent pointer itself (shape and position); otherwise we paint it.
    fn local_pointer(&self) -> bool {
        self.cursor && self.pointer_pos
    }
}

enum Wake {
    Bytes(Result<bool, TransportError>),
    Tick,
}

struct Session {
    t: Transport,
    inbuf: Vec<u8>,
    desktop: Desktop,
    encoders: EncoderSet,
    prefs: Prefs,
    damage: PendingDamage,
    request_pending: bool,
    cursor_sent: bool,
    pointer_sent: Option<(u32, u32)>,
    resize_pending: bool,
    size: watch::Receiver<(u32, u32)>,
    /// The page's interaction state, to repaint when anyone changes it.
    human: watch::Receiver<Interaction>,
    keys: RfbKeys,
    pointer: RfbPointer,
    spec: ConnectionSpec,
}

impl Session {
    async fn run(&mut self) -> Result<(), ServerError> {
        let mut ticker = tokio::time::interval(Duration::from_millis(self.spec.tick_ms.max(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.handle_input()?;
            if self.ready_to_send() {
                self.send_update().await?;
            }
            let wake = tokio::select! {
                r = self.t.recv(&mut self.inbuf) => Wake::Bytes(r),
                _ = ticker.tick() => Wake::Tick,
            };
            match wake {
                Wake::Bytes(r) => {
                    if !r? {
                        return Ok(());
                    }
                    if self.inbuf.len() > MAX_PENDING_INPUT_BYTES {
                        return Err(ServerError::InputTooLarge(self.inbuf.len()));
                    }
                }
                Wake::Tick => {
                    if self.spec.running.as_ref().is_some_and(|running| !running()) {
                        tracing::debug!(task = %self.spec.label, "task stopped; closing its stream");
                        return Ok(());
                    }
                    self.tick()?;
                }
            }
        }
    }

    fn tick(&mut self) -> Result<(), ServerError> {
        if self.size.has_changed().unwrap_or(false) {
            let (w, h) = *self.size.borrow_and_update();
            let fb = self.desktop.framebuffer();
            if (w, h) != (fb.width(), fb.height()) {
                if !self.prefs.desktop_size {
                    return Err(ServerError::ResizeUnsupported);
                }
                let tick = self.desktop.tick() + 1;
                let human = self.human.borrow_and_update().clone();
                self.desktop =
                    Desktop::with_script(w, h, &self.spec.label, tick, self.spec.script, &human)?;
                self.desktop.set_cursor_overlay(!self.prefs.local_pointer());
                self.damage.add_full(Rect::new(0, 0, w, h));
                self.resize_pending = true;
                return Ok(());
            }
        }
        let d = self.desktop.advance();
        self.add_damage(d);
        self.sync_page();
        Ok(())
    }

    fn add_damage(&mut self, d: Damage) {
        if let Some(s) = d.scroll {
            self.damage.add_scroll(s);
        }
        for r in d.dirty {
            self.damage.add_rect(r);
        }
    }

    /// Repaints what people changed on the page since the last look.
    fn sync_page(&mut self) {
        if self.human.has_changed().unwrap_or(false) {
            let human = self.human.borrow_and_update().clone();
            let d = self.desktop.set_interaction(&human);
            self.add_damage(d);
        }
    }

    fn handle_input(&mut self) -> Result<(), ServerError> {
        let mut used = 0;
        while let Some((msg, n)) = messages::parse(&self.inbuf[used..])? {
            used += n;
            self.handle(msg)?;
        }
        self.inbuf.drain(..used);
        self.sync_page();
        Ok(())
    }

    fn handle(&mut self, msg: ClientMessage) -> Result<(), ServerError> {
        let counters = &self.spec.counters;
        match msg {
            ClientMessage::SetPixelFormat(pf) => {
                pf.check_supported()?;
                self.encoders.set_format(pf);
                self.cursor_sent = false;
            }
            ClientMessage::SetEncodings(list) => {
                let (prefs, jpeg, level) = Prefs::from_list(&list);
                self.encoders.set_jpeg_quality(jpeg);
                if let Some(level) = level {
                    self.encoders.set_compress_level(level);
                }
                if prefs.cursor && !self.prefs.cursor {
                    self.cursor_sent = false;
                }
                self.prefs = prefs;
                self.pointer_sent = None;
                if let Some(r) = self.desktop.set_cursor_overlay(!prefs.local_pointer()) {
                    self.damage.add_rect(r);
                }
            }
            ClientMessage::UpdateRequest { incremental, .. } => {
                self.request_pending = true;
                if !incremental {
                    self.damage.add_full(self.desktop.framebuffer().full_rect());
                }
            }
            ClientMessage::Key { down, keysym } => {
                counters.key(down, keysym);
                self.keys.key(&self.spec.page, down, keysym);
            }
            ClientMessage::Pointer { buttons, x, y } => {
                counters.pointer(buttons, x, y);
                let at = self.desktop.widget_at(x.into(), y.into());
                self.pointer.event(&self.spec.page, buttons, at);
            }
            ClientMessage::CutText(text) => counters.cut_text(text),
        }
        Ok(())
    }

    fn pointer_changed(&self) -> bool {
        self.prefs.local_pointer() && self.pointer_sent != Some(self.desktop.pointer())
    }

    fn ready_to_send(&self) -> bool {
        self.request_pending
            && (self.resize_pending
                || !self.damage.is_empty()
                || (self.prefs.cursor && !self.cursor_sent)
                || self.pointer_changed())
    }

    async fn send_update(&mut self) -> Result<(), ServerError> {
        let mut msg = encode::update_header(0).to_vec();
        let mut count = 0u32;
        let fb = self.desktop.framebuffer();
        if self.resize_pending {
            // Alone in its update, as the spec asks; the full picture follows on request.
            encode::desktop_size(&mut msg, fb.width(), fb.height());
            count = 1;
            self.resize_pending = false;
        } else {
            let format = self.encoders.format();
            if self.prefs.cursor && !self.cursor_sent {
                encode::cursor(&mut msg, &format, self.desktop.cursor_shape());
                self.cursor_sent = true;
                count += 1;
            }
            if self.pointer_changed() {
                let (x, y) = self.desktop.pointer();
                encode::pointer_pos(&mut msg, x, y);
                self.pointer_sent = Some((x, y));
                count += 1;
            }
            let (scroll, rects) = self.damage.take(self.prefs.copy_rect);
            if let Some((dst, sx, sy)) = scroll.and_then(|s| s.copy()) {
                encode::copy_rect(&mut msg, dst, sx, sy);
                count += 1;
            }
            let encoding = self.prefs.encoding.unwrap_or(Encoding::Raw);
            for r in rects {
                count += u32::from(self.encoders.encode(encoding, fb, r, &mut msg)?);
            }
        }
        if count == 0 {
            return Ok(());
        }
        let n = u16::try_from(count).map_err(|_| ServerError::TooManyRects(count))?;
        msg[2..4].copy_from_slice(&n.to_be_bytes());
        self.t.send(&msg).await?;
        self.request_pending = false;
        bump(&self.spec.counters.updates_sent);
        Ok(())
    }
}
