//! RFB (VNC) client: handshake, server messages and picture encodings.
//!
//! Primer: RFB is a byte stream of messages. After the handshake (`handshake`: version,
//! security, ClientInit/ServerInit) the client sends SetPixelFormat, SetEncodings and
//! FramebufferUpdateRequests ([`messages`]); the server answers with messages that open
//! with a type byte: FramebufferUpdate (0: `pad, count: u16`, then `count` rectangles,
//! see [`encodings`]), SetColourMapEntries (1), Bell (2), ServerCutText (3), and the
//! extension messages EndOfContinuousUpdates (150), Fence (248) and QEMU (255). All
//! integers are big-endian; an unknown message type cannot be skipped, so it ends the
//! connection.
//!
//! The client is synchronous and generic over [`Read`]/[`Write`]: the session runs it on a
//! named blocking thread over the socket's bytes (RFB messages may span WebSocket
//! messages), tests over byte slices. It decodes every rectangle straight into its own
//! [`Framebuffer`] and returns [`ServerEvent::Update`] only when a whole update is applied,
//! after publishing it to the session's [`FrameSlot`] by trading buffers
//! ([`RfbClient::publish_to`]). To keep the picture flowing, the next incremental
//! FramebufferUpdateRequest is sent as soon as an update's header arrives, so one request is
//! always in flight while the rectangles are decoded.
//!
//! Operator input goes the other way: [`input`] turns `InputEvent`s into PointerEvent,
//! KeyEvent (or QEMU extended key event) and ClientCutText messages, and the session writes
//! them to the socket beside this client, never behind its decoding.

mod clipboard;
mod decode_thread;
pub(crate) mod driver;
pub mod encodings;
pub mod error;
mod handshake;
pub mod input;
pub mod messages;
mod pixel;
mod state;
mod wire;
mod zlib;

#[cfg(test)]
mod tests;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

use crate::core::frame::{self, CursorShape, FrameSlot, Framebuffer, PACE_CHECK, Rect, StaleAreas};
use crate::core::redact::Secret;

pub use encodings::encoding_name;
use encodings::{COPY_RECT, Decoders, RectHeader, RectOutcome};
pub use error::RfbError;
pub use handshake::{SECURITY_NONE, SECURITY_VNC_AUTH, vnc_auth_response};
use wire::Wire;

/// Server-to-client message types: the first byte of each message.
pub const FRAMEBUFFER_UPDATE: u8 = 0;
pub const SET_COLOUR_MAP_ENTRIES: u8 = 1;
pub const BELL: u8 = 2;
pub const SERVER_CUT_TEXT: u8 = 3;
pub const END_OF_CONTINUOUS_UPDATES: u8 = 150;
pub const FENCE: u8 = 248;
pub const QEMU_SERVER_MESSAGE: u8 = 255;

/// Above this many dirty rectangles in one update they are merged into tiles
/// ([`frame::coalesce`]).
const MAX_DIRTY_RECTS: usize = 256;

/// Which picture encodings to advertise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EncodingPreference {
    /// Tight, ZRLE, Hextile, CopyRect, Raw: the best the server offers.
    #[default]
    Auto,
    /// Exactly Raw, for exact comparisons.
    Raw,
    /// Hextile, CopyRect, Raw.
    Hextile,
    /// ZRLE, CopyRect, Raw.
    Zrle,
    /// Tight, CopyRect, Raw.
    Tight,
}

/// Client settings for one connection.
#[derive(Clone, Debug)]
pub struct RfbOptions {
    pub encodings: EncodingPreference,
    /// Tight JPEG quality 0..=9 sent as the JPEG QualityLevel pseudo-encoding; `None`
    /// asks for lossless pictures only.
    pub jpeg_quality: Option<u8>,
    /// Compression level 0..=9 (CompressLevel pseudo-encoding).
    pub compress_level: u8,
    /// VNC password, used only if the server asks for VNC authentication.
    pub password: Option<Secret>,
    /// Ask the server to keep other viewers connected.
    pub shared: bool,
}

impl Default for RfbOptions {
    fn default() -> Self {
        Self {
            encodings: EncodingPreference::Auto,
            jpeg_quality: Some(7),
            compress_level: 2,
            password: None,
            shared: true,
        }
    }
}

/// What the server said about itself in ServerInit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// Current framebuffer size (kept up to date on DesktopSize / ExtendedDesktopSize).
    pub width: u32,
    pub height: u32,
    pub name: String,
    /// Negotiated protocol minor version: 3, 7 or 8 (of RFB 3.x).
    pub minor_version: u8,
}

/// One server message, after it has been applied to the framebuffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A FramebufferUpdate ended; these areas changed.
    Update(UpdateInfo),
    Bell,
    /// ServerCutText, decoded from Latin-1, bounded.
    CutText(String),
    /// A message that needs no action (colour map entries, fence, …).
    Ignored,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateInfo {
    /// Areas whose pixels changed, inside the (current) framebuffer.
    pub dirty: Vec<Rect>,
    /// The framebuffer changed size during this update (DesktopSize / ExtendedDesktopSize).
    pub resized: bool,
    /// The cursor shape changed: `Some(None)` hides it.
    pub cursor: Option<Option<CursorShape>>,
    /// The server reported the pointer position (PointerPos pseudo-encoding).
    pub pointer: Option<(u32, u32)>,
    /// The last picture encoding used in this update (for the status line).
    pub last_encoding: Option<i32>,
    /// Rectangles in the update (all encodings, pseudo included).
    pub rects: usize,
}

/// The client side of one RFB connection, after the handshake.
pub struct RfbClient {
    info: ServerInfo,
    fb: Framebuffer,
    qemu_keys: bool,
    decoders: Decoders,
    /// The cursor shape and pointer position the server last sent (for keyframes).
    cursor: Option<CursorShape>,
    pointer: Option<(u32, u32)>,
    /// Where each update is published by trading buffers ([`RfbClient::publish_to`]).
    publisher: Option<Publisher>,
    /// When the last update was asked for.
    requested: Instant,
}

struct Publisher {
    slot: Arc<FrameSlot>,
    stale: StaleAreas,
}

impl std::fmt::Debug for RfbClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RfbClient")
            .field("info", &self.info)
            .field("qemu_keys", &self.qemu_keys)
            .finish_non_exhaustive()
    }
}

impl RfbClient {
    /// Runs the handshake (version, security, ClientInit, ServerInit), then sends
    /// SetPixelFormat, SetEncodings and the first full FramebufferUpdateRequest.
    pub fn connect<R: Read, W: Write>(
        r: &mut R,
        w: &mut W,
        opts: &RfbOptions,
    ) -> Result<Self, RfbError> {
        let info = handshake::handshake(r, w, opts)?;
        let fb = Framebuffer::new(info.width, info.height)?;
        send(w, &messages::set_pixel_format())?;
        send(w, &messages::set_encodings(&messages::encodings_for(opts)))?;
        let client = Self {
            info,
            fb,
            qemu_keys: false,
            decoders: Decoders::new(),
            cursor: None,
            pointer: None,
            publisher: None,
            requested: Instant::now(),
        };
        client.request_update(w, false)?;
        Ok(client)
    }

    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The picture as decoded so far; once [`RfbClient::publish_to`] was called, the back
    /// buffer, which lags the slot's picture where the last update changed it.
    pub fn framebuffer(&self) -> &Framebuffer {
        &self.fb
    }

    /// From now on, publishes each whole update to `slot` before [`RfbClient::read_message`]
    /// returns it, by trading the framebuffer for the slot's picture rather than copying
    /// the changed pixels ([`FrameSlot::publish_swap`]). A picture of the same size already
    /// in the slot (from an earlier connection) shows wherever no update has painted yet.
    pub fn publish_to(&mut self, slot: Arc<FrameSlot>) {
        self.publisher = Some(Publisher {
            slot,
            stale: StaleAreas::everywhere(&self.fb),
        });
    }

    /// Brings the back buffer up to date outside `written` (see [`FrameSlot::catch_up`]).
    fn catch_up(&mut self, written: &[Rect]) {
        if let Some(p) = &mut self.publisher {
            p.slot.catch_up(&mut self.fb, written, &mut p.stale);
        }
    }

    /// The cursor shape the server last sent (`None`: none, or hidden).
    pub fn cursor(&self) -> Option<&CursorShape> {
        self.cursor.as_ref()
    }

    /// Where the server last said the pointer is.
    pub fn pointer(&self) -> Option<(u32, u32)> {
        self.pointer
    }

    /// True when the server accepted the QEMU extended key event pseudo-encoding.
    pub fn supports_qemu_key_events(&self) -> bool {
        self.qemu_keys
    }

    /// Reads and applies one server message. On a FramebufferUpdate it first sends the next
    /// incremental request (so one is always in flight), then decodes every rectangle.
    ///
    /// The stream ending between messages is [`RfbError::Closed`]; inside one, `Io`.
    pub fn read_message<R: Read, W: Write>(
        &mut self,
        r: &mut R,
        w: &mut W,
    ) -> Result<ServerEvent, RfbError> {
        let msg_type = match r.u8() {
            Err(RfbError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(RfbError::Closed);
            }
            other => other?,
        };
        match msg_type {
            FRAMEBUFFER_UPDATE => self.update(r, w).map(ServerEvent::Update),
            SET_COLOUR_MAP_ENTRIES => {
                // SetColourMapEntries: pad, first colour, count, then 6 bytes a colour.
                let [_, _, _, hi, lo] = r.array()?;
                r.skip(u64::from(u16::from_be_bytes([hi, lo])) * 6)?;
                Ok(ServerEvent::Ignored)
            }
            BELL => Ok(ServerEvent::Bell),
            SERVER_CUT_TEXT => {
                Ok(clipboard::server_cut_text(r)?
                    .map_or(ServerEvent::Ignored, ServerEvent::CutText))
            }
            // EndOfContinuousUpdates: no payload.
            END_OF_CONTINUOUS_UPDATES => Ok(ServerEvent::Ignored),
            FENCE => {
                // Fence: 3 padding, flags u32, length u8, payload.
                let [_, _, _, _, _, _, _, len] = r.array()?;
                r.skip(u64::from(len))?;
                Ok(ServerEvent::Ignored)
            }
            QEMU_SERVER_MESSAGE => qemu_message(r),
            id => Err(RfbError::UnknownMessageType { id }),
        }
    }

    fn request_update(&self, w: &mut dyn Write, incremental: bool) -> Result<(), RfbError> {
        // Framebuffer sides are at most frame::MAX_DIMENSION, well inside u16.
        let (fw, fh) = (self.fb.width() as u16, self.fb.height() as u16);
        send(w, &messages::update_request(incremental, 0, 0, fw, fh))
    }

    fn update(&mut self, r: &mut dyn Read, w: &mut dyn Write) -> Result<UpdateInfo, RfbError> {
        let [_, hi, lo] = r.array()?;
        let count = u16::from_be_bytes([hi, lo]);
        // At full rate the next update is asked for at once, so it is on its way while
        // this one decodes; at a pace, once this one is decoded and the pace has passed.
        let paced = self.paced();
        if !paced {
            self.request_update(w, true)?;
            self.requested = Instant::now();
        }
        let mut info = UpdateInfo::default();
        for _ in 0..count {
            let header = RectHeader::parse(r.array()?);
            info.rects += 1;
            // A CopyRect reads the back buffer, so it must not lag. A list this long may
            // be merged into tiles that name more than was written: catch up while it is
            // still exact.
            if header.encoding == COPY_RECT || info.dirty.len() >= MAX_DIRTY_RECTS {
                self.catch_up(&info.dirty);
            }
            match self.decoders.rect(r, &mut self.fb, header)? {
                RectOutcome::Drawn => {
                    info.last_encoding = Some(header.encoding);
                    add_dirty(&mut info.dirty, header.rect, &self.fb);
                }
                RectOutcome::Resized => {
                    info.resized = true;
                    self.info.width = self.fb.width();
                    self.info.height = self.fb.height();
                    info.dirty.clear();
                    info.dirty.push(self.fb.full_rect());
                }
                RectOutcome::Cursor(shape) => {
                    self.cursor.clone_from(&shape);
                    info.cursor = Some(shape);
                }
                RectOutcome::Pointer(x, y) => {
                    self.pointer = Some((x, y));
                    info.pointer = Some((x, y));
                }
                RectOutcome::QemuKeys => self.qemu_keys = true,
                RectOutcome::LastRect => break,
                RectOutcome::Nothing => {}
            }
        }
        if info.resized {
            // The request in flight names the old size; ask for the new area too. It must be
            // incremental: a full request would make the server resend ExtendedDesktopSize.
            self.request_update(w, true)?;
        }
        if let Some(p) = &mut self.publisher {
            p.slot.publish_swap(&mut self.fb, &info.dirty, &mut p.stale);
        }
        if paced {
            self.wait_for_pace();
            self.request_update(w, true)?;
            self.requested = Instant::now();
        }
        Ok(info)
    }

    /// Whether the consumer asks for pictures at a pace (a console tile).
    fn paced(&self) -> bool {
        self.publisher
            .as_ref()
            .is_some_and(|p| p.slot.pace().is_some())
    }

    /// Waits until the pace has passed since the last request, looking every
    /// [`PACE_CHECK`] whether the consumer wants full rate again.
    fn wait_for_pace(&self) {
        let Some(slot) = self.publisher.as_ref().map(|p| p.slot.clone()) else {
            return;
        };
        while let Some(pace) = slot.pace() {
            let left = pace.saturating_sub(self.requested.elapsed());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(PACE_CHECK));
        }
    }
}

fn add_dirty(dirty: &mut Vec<Rect>, r: Rect, fb: &Framebuffer) {
    if r.is_empty() {
        return;
    }
    dirty.push(r);
    if dirty.len() > MAX_DIRTY_RECTS {
        frame::coalesce(dirty, fb.width(), fb.height());
    }
}

/// QEMU server message (255): only the audio subtype (1) exists: `operation: u16`, and for
/// data (2) `length: u32` + samples. We never ask for audio; it is skipped if sent.
fn qemu_message(r: &mut dyn Read) -> Result<ServerEvent, RfbError> {
    let subtype = r.u8()?;
    if subtype != 1 {
        return Err(RfbError::UnknownQemuMessage { subtype });
    }
    if r.u16()? == 2 {
        let len = r.u32()?;
        r.skip(u64::from(len))?;
    }
    Ok(ServerEvent::Ignored)
}

/// Writes one whole client message and flushes it.
pub(crate) fn send(w: &mut dyn Write, bytes: &[u8]) -> Result<(), RfbError> {
    w.write_all(bytes)?;
    w.flush()?;
    Ok(())
}
