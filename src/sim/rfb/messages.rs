//! Client-to-server RFB messages, parsed from the front of a byte buffer.
//!
//! Wire formats (big-endian): SetPixelFormat `0, pad×3, PIXEL_FORMAT(16)`; SetEncodings
//! `2, pad, count u16, count × s32`; FramebufferUpdateRequest `3, incremental u8, x, y, w, h
//! u16`; KeyEvent `4, down u8, pad×2, keysym u32`; PointerEvent `5, buttons u8, x u16,
//! y u16`; ClientCutText `6, pad×3, length u32, Latin-1 text`. We advertise no extension
//! that lets a client send anything else, so any other type is a protocol error.

use super::pixel::PixelFormat;
use crate::core::frame::Rect;
use crate::core::source::rfb::messages::{
    CLIENT_CUT_TEXT, FRAMEBUFFER_UPDATE_REQUEST, KEY_EVENT, POINTER_EVENT, SET_ENCODINGS,
    SET_PIXEL_FORMAT,
};

/// Longest clipboard text we accept from a client.
pub const MAX_CUT_TEXT_BYTES: usize = 1 << 20;

/// One client message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientMessage {
    SetPixelFormat(PixelFormat),
    SetEncodings(Vec<i32>),
    UpdateRequest { incremental: bool, area: Rect },
    Key { down: bool, keysym: u32 },
    Pointer { buttons: u8, x: u16, y: u16 },
    CutText(String),
}

/// Hostile or unsupported client input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("unknown client message type {0}")]
    UnknownType(u8),
    #[error("client cut text of {len} bytes exceeds {MAX_CUT_TEXT_BYTES}")]
    CutTextTooLong { len: u32 },
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Parses the message at the front of `buf`: `Ok(None)` when more bytes are needed,
/// otherwise the message and how many bytes it used.
pub fn parse(buf: &[u8]) -> Result<Option<(ClientMessage, usize)>, MessageError> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let need = match kind {
        SET_PIXEL_FORMAT => 20,
        SET_ENCODINGS => match buf.get(2..4) {
            Some(n) => 4 + 4 * usize::from(u16::from_be_bytes([n[0], n[1]])),
            None => return Ok(None),
        },
        FRAMEBUFFER_UPDATE_REQUEST => 10,
        KEY_EVENT => 8,
        POINTER_EVENT => 6,
        CLIENT_CUT_TEXT => match buf.get(4..8) {
            Some(_) => {
                let len = u32_at(buf, 4);
                if len as usize > MAX_CUT_TEXT_BYTES {
                    return Err(MessageError::CutTextTooLong { len });
                }
                8 + len as usize
            }
            None => return Ok(None),
        },
        other => return Err(MessageError::UnknownType(other)),
    };
    let Some(b) = buf.get(..need) else {
        return Ok(None);
    };
    let msg = match kind {
        SET_PIXEL_FORMAT => {
            let mut pf = [0u8; 16];
            pf.copy_from_slice(&b[4..20]);
            ClientMessage::SetPixelFormat(PixelFormat::from_bytes(&pf))
        }
        SET_ENCODINGS => ClientMessage::SetEncodings(
            b[4..]
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        FRAMEBUFFER_UPDATE_REQUEST => ClientMessage::UpdateRequest {
            incremental: b[1] != 0,
            area: Rect::new(
                u16_at(b, 2).into(),
                u16_at(b, 4).into(),
                u16_at(b, 6).into(),
                u16_at(b, 8).into(),
            ),
        },
        KEY_EVENT => ClientMessage::Key {
            down: b[1] != 0,
            keysym: u32_at(b, 4),
        },
        POINTER_EVENT => ClientMessage::Pointer {
            buttons: b[1],
            x: u16_at(b, 2),
            y: u16_at(b, 4),
        },
        _ => ClientMessage::CutText(b[8..].iter().map(|&c| char::from(c)).collect()),
    };
    Ok(Some((msg, need)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_message_and_waits_for_partial_ones() {
        let mut wire = vec![2, 0, 0, 2];
        wire.extend_from_slice(&16i32.to_be_bytes());
        wire.extend_from_slice(&(-239i32).to_be_bytes());
        wire.extend_from_slice(&[3, 1, 0, 1, 0, 2, 0, 3, 0, 4]);
        wire.extend_from_slice(&[4, 1, 0, 0, 0, 0, 0xFF, 0x0D]);
        wire.extend_from_slice(&[5, 1, 0, 10, 0, 20]);
        wire.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 2, b'h', 0xE9]);
        wire.push(0);
        wire.extend_from_slice(&[0; 3]);
        wire.extend_from_slice(&PixelFormat::SERVER.to_bytes());
        let mut msgs = Vec::new();
        let mut at = 0;
        while let Some((m, n)) = parse(&wire[at..]).unwrap() {
            // Every proper prefix must ask for more bytes.
            for cut in 0..n {
                assert_eq!(parse(&wire[at..at + cut]), Ok(None));
            }
            msgs.push(m);
            at += n;
        }
        assert_eq!(at, wire.len());
        assert_eq!(
            msgs,
            vec![
                ClientMessage::SetEncodings(vec![16, -239]),
                ClientMessage::UpdateRequest {
                    incremental: true,
                    area: Rect::new(1, 2, 3, 4)
                },
                ClientMessage::Key {
                    down: true,
                    keysym: 0xFF0D
                },
                ClientMessage::Pointer {
                    buttons: 1,
                    x: 10,
                    y: 20
                },
                ClientMessage::CutText("hé".into()),
                ClientMessage::SetPixelFormat(PixelFormat::SERVER),
            ]
        );
    }

    #[test]
    fn refuses_unknown_types_and_huge_cut_text_before_buffering_it() {
        assert_eq!(parse(&[150, 0]), Err(MessageError::UnknownType(150)));
        let huge = [6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(
            parse(&huge),
            Err(MessageError::CutTextTooLong { .. })
        ));
    }
}
