//! Waldiez Runner's task-log messages, `tasklog::parse` and `render` through the
//! `TaskLog` store (`push_text`): de-duplication by id, the pending prompt, masked
//! password answers, the line cap, search.
//!
//! Input: messages, one a line (`\n`; a WebSocket text message is UTF-8, other bytes are
//! replaced). A small store keeps few lines and ids, so dropping and forgetting are
//! fuzzed too. Besides never panicking: the store stays within its caps, its line numbers
//! run on without gaps, and texts kept for display are cut to their limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout::core::source::tasklog::{
    LogLine, MAX_LINE_BYTES, MAX_NAME_CHARS, MAX_TEXT_CHARS, TRUNCATION_MARK, TaskLog,
    TaskLogConfig,
};

const CONFIG: TaskLogConfig = TaskLogConfig {
    max_lines: 6,
    // Small enough that long lines meet it before the line cap.
    max_bytes: 256 * 1024,
    recent_ids: 4,
};

/// The longest display text: a cut text and its mark, with room for the words a rendered
/// line puts around it (sender, recipient, a tool's name).
fn longest_text() -> usize {
    MAX_TEXT_CHARS + TRUNCATION_MARK.chars().count() + 4 * MAX_NAME_CHARS + 64
}

fuzz_target!(|data: &[u8]| {
    let mut log = TaskLog::new(CONFIG);
    for line in lookout_fuzz::split_text(data, b'\n') {
        log.push_text(&String::from_utf8_lossy(line));
        assert!(log.len() <= CONFIG.max_lines);
        // Within the byte cap, or one line alone; the count exact.
        assert!(log.bytes() <= CONFIG.max_bytes || log.len() == 1);
        assert!(log.lines().iter().all(|l| l.bytes() <= MAX_LINE_BYTES));
        assert_eq!(
            log.bytes(),
            log.lines().iter().map(LogLine::bytes).sum::<usize>()
        );
        assert_eq!(log.end_seq() - log.first_seq(), log.len() as u64);
        if let Some(prompt) = log.pending_prompt() {
            assert!(prompt.request_id.chars().count() <= MAX_NAME_CHARS + 16);
        }
    }
    for (i, line) in log.lines().iter().enumerate() {
        assert_eq!(line.seq, log.first_seq() + i as u64);
        assert!(line.rendered.text.chars().count() <= longest_text());
    }
    let needle = String::from_utf8_lossy(&data[..data.len().min(6)]);
    for i in log.search(&needle) {
        assert!(i < log.len());
    }
});
