//! The preview (frame protocol) text messages, `preview::parse_text`: Chaser's and
//! agent-browser's JSON (`frame` with base64 JPEG or PNG data and metadata, `status`,
//! `url`, `error`, others), then the frame's image through `FrameDecoder`, as the
//! session's decode thread does.
//!
//! Input: one message (WebSocket text messages are UTF-8; other bytes are skipped).
//! Besides never panicking: texts kept for display are cut to their limits, and an image
//! is never over `MAX_IMAGE_BYTES`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout::core::source::preview::{
    FrameDecoder, MAX_IMAGE_BYTES, MAX_SUMMARY_CHARS, ServerMessage, parse_text,
};

/// Characters a text cut to `max` may have: `max` and the `…` that marks the cut.
fn within(text: &str, max: usize) -> bool {
    text.chars().count() <= max + 1
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_text(text) {
        Ok(ServerMessage::Frame(frame)) => {
            assert!(frame.image.len() <= MAX_IMAGE_BYTES);
            let mut decoder = FrameDecoder::new();
            if let Ok(picture) = decoder.decode(&frame) {
                assert!(picture.pixels().chunks_exact(4).all(|px| px[3] == 255));
            }
        }
        Ok(ServerMessage::Status(s) | ServerMessage::Url(s) | ServerMessage::Error(s)) => {
            assert!(
                within(&s, MAX_SUMMARY_CHARS),
                "{} characters",
                s.chars().count()
            );
        }
        Ok(ServerMessage::Ignored(kind)) => assert!(within(&kind, 64)),
        Err(_) => {}
    }
});
