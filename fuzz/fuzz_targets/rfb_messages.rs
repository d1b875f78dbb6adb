//! RFB server messages after a fixed handshake, through `RfbClient::read_message`: every
//! FramebufferUpdate encoding (Raw, CopyRect, Hextile, ZRLE, Tight with its JPEGs and
//! zlib streams, Cursor, DesktopSize, ExtendedDesktopSize, LastRect, PointerPos) and the
//! other messages (colour map, Bell, ServerCutText, Fence, QEMU).
//!
//! Input: the framebuffer's width and height (one byte each, 0 read as 1), then the
//! server's messages. Two clients read the same bytes: one publishing each update to a
//! `FrameSlot` by trading buffers, as the session does, one keeping its framebuffer to
//! itself. Besides never panicking, after every update the published picture must equal
//! the one decoded without publishing, and every dirty rectangle must lie inside it.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use lookout::core::frame::FrameSlot;
use lookout::core::source::rfb::{RfbClient, RfbError, RfbOptions, ServerEvent};

/// Most messages read from one input.
const MAX_MESSAGES: usize = 64;

/// A 3.8 server offering security None, then ServerInit for `width`×`height`.
fn handshake(width: u8, height: u8) -> Vec<u8> {
    let mut s = b"RFB 003.008\n".to_vec();
    s.extend([1, 1, 0, 0, 0, 0]);
    s.extend(u16::from(width.max(1)).to_be_bytes());
    s.extend(u16::from(height.max(1)).to_be_bytes());
    s.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
    s.extend(4u32.to_be_bytes());
    s.extend(b"fuzz");
    s
}

fuzz_target!(|data: &[u8]| {
    let [width, height, messages @ ..] = data else {
        return;
    };
    let greeting = handshake(*width, *height);
    let opts = RfbOptions::default();
    let mut sink = Vec::new();
    let connect = |sink: &mut Vec<u8>| {
        RfbClient::connect(&mut &greeting[..], sink, &opts).expect("the fixed handshake")
    };
    let mut published = connect(&mut sink);
    let mut private = connect(&mut sink);
    let slot = Arc::new(FrameSlot::new());
    published.publish_to(slot.clone());
    let (mut a, mut b) = (messages, messages);
    for _ in 0..MAX_MESSAGES {
        sink.clear();
        let event = published.read_message(&mut a, &mut sink);
        let same = private.read_message(&mut b, &mut sink);
        match (event, same) {
            (Ok(ServerEvent::Update(info)), Ok(ServerEvent::Update(other))) => {
                assert_eq!(info, other);
                let fb = private.framebuffer();
                for r in &info.dirty {
                    fb.check_rect(*r)
                        .expect("a dirty rectangle inside the picture");
                }
                let same = slot.take(|view| view.frame == fb);
                assert_eq!(same, Some(true), "the published picture differs");
            }
            (Ok(event), Ok(other)) => assert_eq!(event, other),
            (Err(RfbError::Closed), Err(RfbError::Closed)) => return,
            (Err(e), Err(other)) => {
                assert_eq!(e.to_string(), other.to_string());
                return;
            }
            (event, other) => panic!("the two clients disagree: {event:?} against {other:?}"),
        }
    }
});
