//! The preview (frame protocol) binary messages, `preview::parse_binary` (a whole JPEG or
//! PNG), then `FrameDecoder` (zune-jpeg, png) over a run of frames, as the session's
//! decode thread does: one decoder, its buffers reused while the size stays the same.
//!
//! Input: messages in `lookout_fuzz::records` framing. Besides never panicking: a picture
//! is opaque and of the size it says, and a frame that fails to decode leaves the last
//! good picture exactly as it was.
#![no_main]

use std::hash::{DefaultHasher, Hash, Hasher};

use libfuzzer_sys::fuzz_target;
use lookout::core::frame::Framebuffer;
use lookout::core::source::preview::{FrameDecoder, ServerMessage, parse_binary};

fn fingerprint(picture: Option<&Framebuffer>) -> Option<(u32, u32, u64)> {
    picture.map(|fb| {
        let mut h = DefaultHasher::new();
        fb.pixels().hash(&mut h);
        (fb.width(), fb.height(), h.finish())
    })
}

fuzz_target!(|data: &[u8]| {
    let mut decoder = FrameDecoder::new();
    for message in lookout_fuzz::records(data) {
        let Ok(ServerMessage::Frame(frame)) = parse_binary(message) else {
            continue;
        };
        let before = fingerprint(decoder.picture());
        match decoder.decode(&frame) {
            Ok(picture) => {
                let (w, h) = (picture.width() as usize, picture.height() as usize);
                assert_eq!(picture.pixels().len(), w * h * 4);
                assert!(picture.pixels().chunks_exact(4).all(|px| px[3] == 255));
            }
            Err(_) => assert_eq!(fingerprint(decoder.picture()), before, "picture changed"),
        }
    }
});
