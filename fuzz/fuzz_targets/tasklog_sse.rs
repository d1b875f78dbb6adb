//! AgentStation's log stream: `tasklog::SseParser` (Server-Sent Events, fed in chunks of
//! any size), `parse_log_entry` on each event's data, and the entries into a `TaskLog`.
//!
//! Input: one byte setting the parser's event limit (1 to 2,041 bytes, so skipping an
//! event too large is fuzzed), one byte seeding the chunk sizes (1 to 16 bytes), then the
//! stream. Besides never panicking: the events, the last event id and the retry delay do
//! not depend on how the stream was cut into chunks, and no event's data is over the limit
//! (counted as sent: as text, an invalid byte is three).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout::core::source::tasklog::{
    SseParser, TaskLog, TaskLogConfig, TaskLogError, parse_log_entry,
};

fuzz_target!(|data: &[u8]| {
    let [limit, seed, stream @ ..] = data else {
        return;
    };
    let max_event_bytes = 1 + usize::from(*limit) * 8;
    let mut whole = SseParser::new(max_event_bytes);
    let at_once = whole.feed(stream);
    let mut chunked = SseParser::new(max_event_bytes);
    let mut in_chunks = Vec::new();
    let mut rest = stream;
    let mut state = u32::from(*seed) | 1;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (1 + (state >> 16) as usize % 16).min(rest.len());
        let (chunk, after) = rest.split_at(n);
        in_chunks.extend(chunked.feed(chunk));
        rest = after;
    }
    assert_eq!(at_once, in_chunks, "the events depend on the chunking");
    assert_eq!(whole.last_event_id(), chunked.last_event_id());
    assert_eq!(whole.retry_ms(), chunked.retry_ms());
    let mut log = TaskLog::new(TaskLogConfig {
        max_lines: 8,
        max_bytes: 256 * 1024,
        recent_ids: 4,
    });
    for event in at_once {
        match event {
            Ok(event) => {
                // The limit counts bytes as sent; each invalid one becomes a 3-byte U+FFFD.
                assert!(
                    event.data.len() <= 3 * max_event_bytes,
                    "{}",
                    event.data.len()
                );
                log.push_log_entry(parse_log_entry(&event.data));
            }
            Err(e @ TaskLogError::EventTooLarge { .. }) => log.push_error(&e.to_string()),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
});
