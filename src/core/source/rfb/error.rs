//! Everything that can go wrong on an RFB connection, by name.
//!
//! Handshake failures (wrong peer, refused, bad password) say what the operator must change;
//! stream failures (a corrupt or hostile rectangle) end the connection, because the byte
//! stream cannot be resynchronised, but a fresh connection starts with fresh decoder state.

use crate::core::event::ErrorKind;
use crate::core::frame::FrameError;

#[derive(Debug, thiserror::Error)]
pub enum RfbError {
    #[error("connection closed by the server")]
    Closed,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Frame(#[from] FrameError),

    // --- handshake ---
    #[error("not an RFB (VNC) server: it greeted with {greeting:?}")]
    NotRfb { greeting: String },
    #[error("unsupported RFB protocol version {major}.{minor} (3.3 or later is needed)")]
    UnsupportedVersion { major: u32, minor: u32 },
    #[error("the server refused the connection: {reason}")]
    ServerRefused { reason: String },
    #[error(
        "no supported security type: the server offered {offered:?}, Lookout speaks None (1) and VNC Authentication (2)"
    )]
    NoSupportedSecurity { offered: Vec<u8> },
    #[error("the server asks for a VNC password and none was given")]
    PasswordRequired,
    #[error("authentication failed: {reason}")]
    AuthFailed { reason: String },
    #[error("the desktop name is {len} bytes long (limit {max})")]
    NameTooLong { len: u32, max: u32 },

    // --- server messages ---
    #[error("unknown server message type {id}")]
    UnknownMessageType { id: u8 },
    #[error("unknown QEMU server message subtype {subtype}")]
    UnknownQemuMessage { subtype: u8 },
    #[error("the server used encoding {id}, which Lookout did not ask for")]
    UnsupportedEncoding { id: i32 },

    // --- rectangle payloads ---
    #[error("{encoding} data of {len} bytes is over the limit of {max}")]
    PayloadTooLarge {
        encoding: &'static str,
        len: u64,
        max: u64,
    },
    #[error("{encoding} data ended before the rectangle was complete")]
    ShortPayload { encoding: &'static str },
    #[error("corrupt zlib data: {0}")]
    Zlib(#[from] flate2::DecompressError),
    #[error("zlib data inflates past the {max} bytes its rectangle can need")]
    ZlibOverflow { max: usize },
    #[error("zlib stream ended with compressed data left over")]
    ZlibEnded,
    #[error("a recorded decoder state is not valid: {0}")]
    BadState(&'static str),
    #[error("invalid ZRLE tile subencoding {sub}")]
    ZrleSubencoding { sub: u8 },
    #[error("{encoding} run goes past the end of its tile")]
    RunOverflow { encoding: &'static str },
    #[error("{encoding} palette index {index} outside a palette of {size}")]
    PaletteIndex {
        encoding: &'static str,
        index: u8,
        size: usize,
    },
    #[error("invalid Tight compression control byte {control:#04x}")]
    TightControl { control: u8 },
    #[error("invalid Tight filter {id}")]
    TightFilter { id: u8 },
    #[error("Tight JPEG is {got_w}x{got_h} but its rectangle is {w}x{h}")]
    JpegSize {
        w: u32,
        h: u32,
        got_w: u32,
        got_h: u32,
    },
    #[error("Tight JPEG does not decode: {detail}")]
    Jpeg { detail: String },
    #[error("Hextile subrectangle lies outside its tile")]
    HextileSubrect,
    #[error("cursor of {w}x{h} is larger than {max}x{max}")]
    CursorTooLarge { w: u32, h: u32, max: u32 },
}

impl RfbError {
    /// Whether reconnecting could help.
    ///
    /// Lost connections and corrupt streams are retryable: a new connection starts with
    /// fresh decoder state. Handshake refusals, a wrong password or an oversized desktop
    /// would fail the same way again.
    /// What kind of failure this is, for the front end.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RfbError::Closed | RfbError::Io(_) => ErrorKind::Network,
            RfbError::Frame(FrameError::FramebufferTooLarge { .. })
            | RfbError::UnsupportedVersion { .. }
            | RfbError::NoSupportedSecurity { .. } => ErrorKind::Unsupported,
            RfbError::ServerRefused { .. } => ErrorKind::Unavailable,
            RfbError::PasswordRequired => ErrorKind::Config,
            RfbError::AuthFailed { .. } => ErrorKind::Unauthorized,
            _ => ErrorKind::Protocol,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            RfbError::NotRfb { .. }
            | RfbError::UnsupportedVersion { .. }
            | RfbError::ServerRefused { .. }
            | RfbError::NoSupportedSecurity { .. }
            | RfbError::PasswordRequired
            | RfbError::AuthFailed { .. }
            | RfbError::NameTooLong { .. }
            | RfbError::BadState(_)
            | RfbError::Frame(FrameError::FramebufferTooLarge { .. }) => false,
            RfbError::Closed
            | RfbError::Io(_)
            | RfbError::Frame(FrameError::RectOutOfBounds { .. })
            | RfbError::UnknownMessageType { .. }
            | RfbError::UnknownQemuMessage { .. }
            | RfbError::UnsupportedEncoding { .. }
            | RfbError::PayloadTooLarge { .. }
            | RfbError::ShortPayload { .. }
            | RfbError::Zlib(_)
            | RfbError::ZlibOverflow { .. }
            | RfbError::ZlibEnded
            | RfbError::ZrleSubencoding { .. }
            | RfbError::RunOverflow { .. }
            | RfbError::PaletteIndex { .. }
            | RfbError::TightControl { .. }
            | RfbError::TightFilter { .. }
            | RfbError::JpegSize { .. }
            | RfbError::Jpeg { .. }
            | RfbError::HextileSubrect
            | RfbError::CursorTooLarge { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_failures_are_final_and_stream_failures_retry() {
        assert!(!RfbError::PasswordRequired.is_retryable());
        assert!(
            !RfbError::AuthFailed {
                reason: "bad".into()
            }
            .is_retryable()
        );
        assert!(!RfbError::Frame(FrameError::FramebufferTooLarge { w: 0, h: 0 }).is_retryable());
        assert!(RfbError::Closed.is_retryable());
        assert!(RfbError::ZlibOverflow { max: 1 }.is_retryable());
        assert!(RfbError::UnsupportedEncoding { id: 99 }.is_retryable());
    }
}
