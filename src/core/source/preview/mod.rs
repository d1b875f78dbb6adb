//! The "preview" frame protocol: JPEG or PNG pictures over a WebSocket, input as JSON.
//!
//! Chaser's preview WebSocket (and every agent-browser session with streaming on) speaks
//! the agent-browser streaming protocol. The server sends JSON text messages, one per
//! event:
//! - `{"type":"frame","seq":N,"data":"<base64 JPEG or PNG>","metadata":{"deviceWidth":W,
//!   "deviceHeight":H,"timestamp":MS,…}}`: one whole picture (Chrome's screencast frames);
//!   `seq` and `metadata` may be missing;
//! - `{"type":"status",…}` with arbitrary fields (agent-browser: `connected`,
//!   `screencasting`, `viewportWidth`, `viewportHeight`);
//! - `{"type":"url","url":"…"}` when the page navigates;
//! - `{"type":"error","message":"…"}` (agent-browser reports failed input this way);
//! - anything else is ignored, but reported so the caller can count it.
//!
//! A binary message holding one whole JPEG (`FF D8`) or PNG (`89 50 4E 47`) is a frame too.
//!
//! The client answers with JSON text: input (`input_mouse`, `input_keyboard`,
//! `input_touch`, in frame pixels; the server dispatches them as Chrome DevTools
//! `Input.dispatch*Event`s, so the modifier bits are CDP's: 1 Alt, 2 Ctrl, 4 Meta, 8 Shift),
//! `{"type":"config","maxFps":N,"pacing":"ack"|"push"}` and `{"type":"ack","seq":N}`.
//!
//! Chaser closes the socket with a code saying why: [`CLOSE_ENDED`] (1000),
//! [`CLOSE_TOKEN_EXPIRED`] (4401), [`CLOSE_INPUT_DISABLED`] (4403) or
//! [`CLOSE_SESSION_DELETED`] (4404).
//!
//! The protocol stages are pure (no I/O) and split by direction:
//! - [`parse_text`] and [`parse_binary`] turn one WebSocket message into a
//!   [`ServerMessage`]; a [`PreviewFrame`] holds the image's encoded bytes, checked for size
//!   before anything is allocated;
//! - [`FrameDecoder`] decodes those bytes into a [`Framebuffer`](crate::core::frame::Framebuffer)
//!   (JPEG with zune-jpeg, PNG with png), checking the declared size before allocating and
//!   reusing its buffers while the size stays the same; a frame that fails to decode leaves
//!   the last good picture untouched;
//! - [`config_message`], [`ack_message`] and [`PreviewInput`] write client messages;
//!   [`PreviewInput`] keeps what the remote holds because of us (buttons, keys, touch
//!   points) so releases pair with presses and [`InputEvent::ReleaseAll`] lets go of
//!   everything, as `source::rfb::input` does for RFB.
//!
//! Input, in detail (see [`PreviewInput`]): moves carry the held button (`"none"` if none);
//! presses and releases carry the event's click count; a wheel notch is
//! [`WHEEL_NOTCH_PX`] CSS pixels (`deltaY > 0` scrolls down); keys carry DOM `key` and
//! `code` and, beyond the fields listed in PROVIDERS.md, agent-browser's `keyCode` (the Windows
//! virtual-key code Chrome needs to act on Backspace, Delete, arrows); a key that types a
//! character without Ctrl, Alt or Meta also carries `text` (Enter: `"\r"`), so key events
//! type as they do over RFB; [`InputEvent::Text`] is one `char` event per character, line
//! breaks, tabs and the like as key presses. Touch messages list the points still down, as
//! `Input.dispatchTouchEvent` (which the server calls) wants: one lifting among several is
//! a `touchMove` without it, the last lifting a `touchEnd` with none, and a cancel a
//! `touchCancel` with none that ends them all.
//!
//! `driver` runs them on a connection (the session task), with the decoding on its own
//! thread (`decode_thread`); `record` writes what they applied to a recording.
//!
//! Every error concerns one message: the connection can go on with the next one. Status,
//! URL and error texts may hold secrets (tokens in URLs); errors here never quote a message
//! and nothing here logs one, so what to show or log is the caller's choice.
//!
//! [`InputEvent::ReleaseAll`]: crate::core::input::InputEvent::ReleaseAll
//! [`InputEvent::Text`]: crate::core::input::InputEvent::Text

mod client;
mod decode;
mod decode_thread;
pub(crate) mod driver;
mod keys;
mod record;
mod server;

pub use client::{
    MAX_HELD_KEYS, MAX_TOUCH_POINTS, Pacing, PreviewInput, WHEEL_NOTCH_PX, ack_message,
    config_message,
};
pub use decode::FrameDecoder;
pub use keys::{KeyNames, key_names};
pub use server::{ImageFormat, PreviewFrame, ServerMessage, parse_binary, parse_text};

use crate::core::frame::MAX_DIMENSION;

/// Longest text message accepted (a 32 MiB image is about 43 MiB of base64).
pub const MAX_TEXT_BYTES: usize = 48 << 20;
/// Largest encoded image accepted, in bytes, from base64 or a binary message.
pub const MAX_IMAGE_BYTES: usize = 32 << 20;
/// Most pixels a decoded picture may have (16 Mpx: 5K; its RGBA is 64 MiB).
pub const MAX_PIXELS: u64 = 16 << 20;
/// Longest status, URL or error text kept, in characters; the rest is cut.
pub const MAX_SUMMARY_CHARS: usize = 2048;

/// Close code: the session ended.
pub const CLOSE_ENDED: u16 = 1000;
/// Close code: the token expired (or was invalid): mint a new one and reconnect.
pub const CLOSE_TOKEN_EXPIRED: u16 = 4401;
/// Close code: input is not enabled for this session (reconnect without input).
pub const CLOSE_INPUT_DISABLED: u16 = 4403;
/// Close code: the session was deleted.
pub const CLOSE_SESSION_DELETED: u16 = 4404;

/// What was wrong with one preview message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreviewError {
    #[error("text message of {len} bytes is over the limit of {max}")]
    TextTooLarge { len: usize, max: usize },
    #[error("message is not JSON: {detail}")]
    NotJson { detail: String },
    #[error("message is JSON but not an object")]
    NotAnObject,
    #[error("{kind} message has no {field:?} field")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    #[error("field {field:?} is not {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("frame data is a data URL that is not base64")]
    DataUrlNotBase64,
    #[error("frame data is not valid base64: {detail}")]
    Base64 { detail: String },
    #[error("image of {len} bytes is over the limit of {max}")]
    ImageTooLarge { len: usize, max: usize },
    #[error("{what} is neither a JPEG nor a PNG image (it starts {magic})")]
    UnknownImageFormat { what: &'static str, magic: String },
    #[error("image size {w}x{h} is outside 1..={MAX_DIMENSION} on a side")]
    ImageDimensions { w: u64, h: u64 },
    #[error("image of {w}x{h} has more than {max} pixels")]
    TooManyPixels { w: u32, h: u32, max: u64 },
    #[error("JPEG does not decode: {detail}")]
    Jpeg { detail: String },
    #[error("PNG does not decode: {detail}")]
    Png { detail: String },
}

/// Checks a declared picture size against [`MAX_DIMENSION`] and [`MAX_PIXELS`].
fn check_dimensions(w: u64, h: u64) -> Result<(u32, u32), PreviewError> {
    let side = 1..=u64::from(MAX_DIMENSION);
    if !side.contains(&w) || !side.contains(&h) {
        return Err(PreviewError::ImageDimensions { w, h });
    }
    // Both fit in u32 now (MAX_DIMENSION is a u32).
    let (w32, h32) = (w as u32, h as u32);
    if w * h > MAX_PIXELS {
        return Err(PreviewError::TooManyPixels {
            w: w32,
            h: h32,
            max: MAX_PIXELS,
        });
    }
    Ok((w32, h32))
}
