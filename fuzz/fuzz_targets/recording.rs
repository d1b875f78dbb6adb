//! Recordings: `record::reader` over any bytes as a file, then each record's payload the way
//! replay reads it: a `LogLine`'s JSON through `line_from_json` (as `lookout logs FILE`), a
//! `Keyframe` through `Keyframe::decode` and, when that reads, its RFB state through
//! `RfbClient::resume`; a `Message` through `parse_message`, a `Segment` through
//! `split_segment`.
//!
//! Besides never panicking: reading ends (every step moves forward), records come in file
//! order without overlapping, each lies inside the file, and a damaged stretch is reported
//! inside it too.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use lookout::core::record::format::{HEADER_BYTES, Kind};
use lookout::core::record::keyframe::Keyframe;
use lookout::core::record::reader::{Item, Reader};
use lookout::core::record::replay_hls::split_segment;
use lookout::core::record::replay_preview::parse_message;
use lookout::core::source::rfb::RfbClient;
use lookout::core::source::tasklog::line_from_json;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = Reader::open(Cursor::new(data)) else {
        return;
    };
    let len = data.len() as u64;
    let mut at = HEADER_BYTES as u64;
    while let Ok(Some(item)) = reader.next_item() {
        match item {
            Item::Record(record) => {
                assert!(record.head.offset >= at, "records out of order");
                assert!(record.head.end() <= len);
                assert_eq!(
                    record.payload.len() as u64,
                    u64::from(record.head.payload_len)
                );
                at = record.head.end();
                let (payload, offset) = (&record.payload, record.head.offset);
                match record.head.known_kind() {
                    Some(Kind::LogLine) => {
                        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(payload) {
                            let _ = line_from_json(&value);
                        }
                    }
                    Some(Kind::Keyframe) => {
                        if let Ok(k) = Keyframe::decode(payload) {
                            let (w, h) = (k.picture.width(), k.picture.height());
                            if let Ok(client) = RfbClient::resume(&k.state, k.picture) {
                                assert_eq!(
                                    (client.framebuffer().width(), client.framebuffer().height()),
                                    (w, h)
                                );
                            }
                        }
                    }
                    Some(Kind::Message) => {
                        let _ = parse_message(payload, offset);
                    }
                    Some(Kind::Segment) => {
                        if let Ok((_, bytes)) = split_segment(payload, offset) {
                            assert!(bytes.len() <= payload.len());
                        }
                    }
                    _ => {}
                }
            }
            Item::Damaged { offset, len: n, .. } => {
                assert!(
                    offset >= at && n > 0 && offset + n <= len,
                    "damage outside the file"
                );
                at = offset + n;
            }
        }
    }
    if let Some(torn) = reader.torn_at() {
        assert!(torn >= HEADER_BYTES as u64 && torn < len);
    }
});
