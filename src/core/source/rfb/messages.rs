//! Client-to-server messages, each built as one byte buffer so it goes out in one write.
//!
//! Wire format: a message-type byte, then fixed big-endian fields:
//! SetPixelFormat (0), SetEncodings (2), FramebufferUpdateRequest (3), KeyEvent (4),
//! PointerEvent (5), ClientCutText (6) and the QEMU extended key event (255, subtype 0).

use super::encodings as enc;
use super::pixel::PIXEL_FORMAT;
use super::{EncodingPreference, RfbOptions};

pub use super::clipboard::MAX_CUT_TEXT_BYTES;

/// Client-to-server message types: the first byte of each message.
pub const SET_PIXEL_FORMAT: u8 = 0;
pub const SET_ENCODINGS: u8 = 2;
pub const FRAMEBUFFER_UPDATE_REQUEST: u8 = 3;
pub const KEY_EVENT: u8 = 4;
pub const POINTER_EVENT: u8 = 5;
pub const CLIENT_CUT_TEXT: u8 = 6;
/// QEMU client messages; subtype 0 is the extended key event.
pub const QEMU_CLIENT_MESSAGE: u8 = 255;

/// FramebufferUpdateRequest.
pub fn update_request(incremental: bool, x: u16, y: u16, w: u16, h: u16) -> [u8; 10] {
    let mut m = [0u8; 10];
    m[0] = FRAMEBUFFER_UPDATE_REQUEST;
    m[1] = u8::from(incremental);
    m[2..4].copy_from_slice(&x.to_be_bytes());
    m[4..6].copy_from_slice(&y.to_be_bytes());
    m[6..8].copy_from_slice(&w.to_be_bytes());
    m[8..10].copy_from_slice(&h.to_be_bytes());
    m
}

/// PointerEvent.
pub fn pointer_event(buttons: u8, x: u16, y: u16) -> [u8; 6] {
    let mut m = [0u8; 6];
    m[0] = POINTER_EVENT;
    m[1] = buttons;
    m[2..4].copy_from_slice(&x.to_be_bytes());
    m[4..6].copy_from_slice(&y.to_be_bytes());
    m
}

/// KeyEvent.
pub fn key_event(down: bool, keysym: u32) -> [u8; 8] {
    let mut m = [0u8; 8];
    m[0] = KEY_EVENT;
    m[1] = u8::from(down);
    m[4..8].copy_from_slice(&keysym.to_be_bytes());
    m
}

/// QEMU extended key event: the keysym plus the XT scancode (extended keys as `0x80 | code`,
/// the QEMU convention), for servers that confirmed pseudo-encoding -258.
pub fn qemu_key_event(down: bool, keysym: u32, scancode: u32) -> [u8; 12] {
    let mut m = [0u8; 12];
    m[0] = QEMU_CLIENT_MESSAGE;
    m[1] = 0; // submessage: extended key event
    m[2..4].copy_from_slice(&u16::from(down).to_be_bytes());
    m[4..8].copy_from_slice(&keysym.to_be_bytes());
    m[8..12].copy_from_slice(&scancode.to_be_bytes());
    m
}

/// ClientCutText: `text` in Latin-1 (other characters become `?`), cut at
/// [`MAX_CUT_TEXT_BYTES`].
pub fn client_cut_text(text: &str) -> Vec<u8> {
    let latin1 = text
        .chars()
        .take(MAX_CUT_TEXT_BYTES)
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'));
    let mut m = vec![CLIENT_CUT_TEXT, 0, 0, 0, 0, 0, 0, 0];
    m.extend(latin1);
    let len = (m.len() - 8) as u32;
    m[4..8].copy_from_slice(&len.to_be_bytes());
    m
}

/// SetPixelFormat for the one format we decode (see [`super::pixel`]).
pub(crate) fn set_pixel_format() -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0] = SET_PIXEL_FORMAT;
    m[4..20].copy_from_slice(&PIXEL_FORMAT);
    m
}

/// SetEncodings.
pub(crate) fn set_encodings(ids: &[i32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(4 + ids.len() * 4);
    m.extend([SET_ENCODINGS, 0]);
    m.extend((ids.len() as u16).to_be_bytes());
    for id in ids {
        m.extend(id.to_be_bytes());
    }
    m
}

/// The encodings and pseudo-encodings we advertise, best first.
pub fn encodings_for(opts: &RfbOptions) -> Vec<i32> {
    let mut ids = match opts.encodings {
        EncodingPreference::Auto => vec![enc::TIGHT, enc::ZRLE, enc::HEXTILE, enc::COPY_RECT],
        EncodingPreference::Raw => vec![],
        EncodingPreference::Hextile => vec![enc::HEXTILE, enc::COPY_RECT],
        EncodingPreference::Zrle => vec![enc::ZRLE, enc::COPY_RECT],
        EncodingPreference::Tight => vec![enc::TIGHT, enc::COPY_RECT],
    };
    ids.push(enc::RAW);
    ids.extend([
        enc::DESKTOP_SIZE,
        enc::EXTENDED_DESKTOP_SIZE,
        enc::LAST_RECT,
        enc::CURSOR,
        enc::POINTER_POS,
        enc::QEMU_EXTENDED_KEY,
        enc::COMPRESS_LEVEL_0 + i32::from(opts.compress_level.min(9)),
    ]);
    if let Some(q) = opts.jpeg_quality
        && ids.contains(&enc::TIGHT)
    {
        ids.push(enc::JPEG_QUALITY_0 + i32::from(q.min(9)));
    }
    ids
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fixed_messages_match_the_spec() {
        assert_eq!(
            update_request(true, 1, 2, 640, 480),
            [3, 1, 0, 1, 0, 2, 2, 128, 1, 224]
        );
        assert_eq!(pointer_event(4, 258, 3), [5, 4, 1, 2, 0, 3]);
        assert_eq!(key_event(true, 0xff0d), [4, 1, 0, 0, 0, 0, 0xff, 0x0d]);
        assert_eq!(
            qemu_key_event(true, 0x61, 0x1e),
            [255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0x1e]
        );
        assert_eq!(
            set_pixel_format(),
            [
                0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0
            ]
        );
        assert_eq!(
            set_encodings(&[7, -239]),
            [2, 0, 0, 2, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0x11]
        );
    }

    #[test]
    fn cut_text_is_latin1_and_bounded() {
        assert_eq!(
            client_cut_text("hé€"),
            [6, 0, 0, 0, 0, 0, 0, 3, b'h', 0xe9, b'?']
        );
        let big = "x".repeat(MAX_CUT_TEXT_BYTES + 10);
        let m = client_cut_text(&big);
        assert_eq!(m.len(), 8 + MAX_CUT_TEXT_BYTES);
        assert_eq!(m[4..8], (MAX_CUT_TEXT_BYTES as u32).to_be_bytes());
    }

    fn opts(encodings: EncodingPreference, jpeg_quality: Option<u8>) -> RfbOptions {
        RfbOptions {
            encodings,
            jpeg_quality,
            compress_level: 2,
            ..RfbOptions::default()
        }
    }

    #[test]
    fn each_preference_advertises_its_encodings_and_pseudo_encodings() {
        let pseudo = [-223, -308, -224, -239, -232, -258, -254];
        let cases = [
            (
                EncodingPreference::Auto,
                Some(7),
                vec![7, 16, 5, 1, 0],
                Some(-25),
            ),
            (EncodingPreference::Auto, None, vec![7, 16, 5, 1, 0], None),
            (EncodingPreference::Raw, Some(7), vec![0], None),
            (EncodingPreference::Hextile, Some(7), vec![5, 1, 0], None),
            (EncodingPreference::Zrle, Some(9), vec![16, 1, 0], None),
            (EncodingPreference::Tight, Some(0), vec![7, 1, 0], Some(-32)),
        ];
        for (pref, q, real, jpeg) in cases {
            let mut want = real;
            want.extend(pseudo);
            want.extend(jpeg);
            assert_eq!(encodings_for(&opts(pref, q)), want, "{pref:?} {q:?}");
        }
    }
}
