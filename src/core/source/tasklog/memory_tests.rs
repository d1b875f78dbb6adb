//! The store's memory: bounded in bytes as well as lines, whatever the runner prints.

use super::*;

/// A print of `chars` characters (multi-byte ones when `wide`), with id `n`.
fn long_print(n: usize, chars: usize, wide: bool) -> String {
    let text = if wide { "é" } else { "x" }.repeat(chars);
    format!(r#"{{"id":"{n}-0","type":"print","timestamp":"1718900000000000","data":"{text}"}}"#)
}

#[test]
fn long_lines_are_capped_in_bytes_oldest_first() {
    let max_bytes = 4 << 20;
    let mut log = TaskLog::new(TaskLogConfig {
        max_bytes,
        ..TaskLogConfig::default()
    });
    // 400 lines of 64 Ki two-byte characters: 50 MiB printed.
    for n in 0..400 {
        assert_eq!(
            log.push_text(&long_print(n, 64 * 1024, true)),
            Push::Appended
        );
        assert!(log.bytes() <= max_bytes, "{} bytes after {n}", log.bytes());
    }
    let kept = log.len();
    assert!(
        (20..32).contains(&kept),
        "{kept} lines of 128 KiB kept in 4 MiB"
    );
    assert_eq!(log.dropped(), 400 - kept as u64);
    // The newest are kept, numbered without gaps, and the count is exact.
    assert_eq!(log.lines().back().unwrap().seq, 399);
    assert_eq!(log.first_seq(), 400 - kept as u64);
    let sum: usize = log.lines().iter().map(LogLine::bytes).sum();
    assert_eq!(log.bytes(), sum);
}

#[test]
fn the_default_bound_holds_against_the_longest_lines() {
    let mut log = TaskLog::default();
    let max = log.config().max_bytes;
    // Each line at the text cap in 4-byte characters: 256 KiB, past 64 MiB after 256.
    let text = "𝄞".repeat(MAX_TEXT_CHARS + 10);
    for n in 0..400 {
        let msg = format!(r#"{{"id":"{n}-0","type":"print","data":"{text}"}}"#);
        log.push_text(&msg);
    }
    assert!(log.bytes() <= max, "{} > {max}", log.bytes());
    assert!(log.dropped() > 0);
    assert!(log.lines().iter().all(|l| l.bytes() <= MAX_LINE_BYTES));
}

#[test]
fn a_line_over_the_byte_budget_alone_is_still_shown() {
    let mut log = TaskLog::new(TaskLogConfig {
        max_bytes: 1000,
        ..TaskLogConfig::default()
    });
    log.push_text(&long_print(0, 10, false));
    log.push_text(&long_print(1, 5000, false));
    assert_eq!((log.len(), log.dropped()), (1, 1));
    assert_eq!(log.get(0).unwrap().seq, 1);
    log.push_text(&long_print(2, 10, false));
    assert_eq!((log.len(), log.dropped()), (1, 2));
}

#[test]
fn a_message_calling_many_tools_is_cut_to_a_line() {
    // 64 calls (all a line lists), each with 40,000 characters of arguments: the detail
    // holds them all, past what one line keeps.
    let selector = "#checkout > form > button".repeat(1600);
    let args = serde_json::to_string(&serde_json::json!({ "selector": selector })).unwrap();
    let call = serde_json::json!({"id":"c","type":"function","function":{"name":"click","arguments":args}});
    let content = serde_json::json!({
        "type": "tool_call",
        "content": {"sender":"assistant","recipient":"executor","tool_calls": vec![call; 64]},
    });
    let msg = serde_json::json!({"id":"1-0","type":"print","data": content.to_string()});
    let mut log = TaskLog::default();
    log.push_text(&msg.to_string());
    let line = log.lines().back().unwrap();
    assert_eq!(line.rendered.kind, LineKind::ToolCall);
    assert!(line.rendered.text.chars().count() <= MAX_TEXT_CHARS + TRUNCATION_MARK.len());
    let detail = line.rendered.detail.as_deref().unwrap();
    assert!(detail.ends_with(TRUNCATION_MARK));
    assert_eq!(
        detail.chars().count(),
        MAX_DETAIL_CHARS + TRUNCATION_MARK.chars().count()
    );
    assert!(line.bytes() <= MAX_LINE_BYTES);
}
