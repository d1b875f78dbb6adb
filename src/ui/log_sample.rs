//! A realistic task log of any length, for the log pane's tests, benchmark and demo.
//!
//! Line `n` is what a Waldiez Runner task or an AgentStation workstation sends, taken in
//! the ordinary way ([`TaskLog::push_text`] with runner JSON, [`TaskLog::push_log_entry`]
//! with an SSE log entry): agents talking (some over several lines), tool calls with JSON
//! arguments and multi-line results, prints, prompts and their answers (every tenth prompt
//! a password), chat events, a message that is not JSON, and workstation log entries at
//! every level. Each runner message has its own id, so nothing is dropped as a replay.

use crate::core::source::tasklog::{TaskLog, TaskLogConfig, parse_log_entry};

/// 2024-06-20T16:13:20Z, in µs.
const START_US: u64 = 1_718_900_000_000_000;
const AGENTS: [&str; 5] = ["planner", "critic", "executor", "user_proxy", "booker"];

/// A log holding lines `0..n` of the sample (no line dropped: the cap is at least `n`).
pub fn sample_log(n: usize) -> TaskLog {
    let mut log = TaskLog::new(TaskLogConfig {
        max_lines: n.max(TaskLogConfig::default().max_lines),
        ..TaskLogConfig::default()
    });
    for i in 0..n {
        push_sample(&mut log, i);
    }
    log
}

/// Appends line `n` of the sample to `log`.
pub fn push_sample(log: &mut TaskLog, n: usize) {
    let ts_us = START_US + n as u64 * 250_000;
    let id = format!("{}-{}", ts_us / 1_000, n % 7);
    let (from, to) = (AGENTS[n % 5], AGENTS[(n + 2) % 5]);
    let runner = |kind: &str, data: serde_json::Value| {
        serde_json::json!({"id": id, "type": kind, "timestamp": ts_us.to_string(),
            "task_id": "9f1c2e4a", "data": data})
        .to_string()
    };
    let event = |kind: &str, content: serde_json::Value| {
        runner(
            "print",
            serde_json::Value::String(
                serde_json::json!({"type": kind, "content": content}).to_string(),
            ),
        )
    };
    let mut station = |level: &str, message: String| {
        let data = serde_json::json!({"level": level, "message": message,
            "timestamp": (ts_us / 1_000).to_string()});
        log.push_log_entry(parse_log_entry(&data.to_string()));
    };
    if n == 0 {
        log.push_text(
            &serde_json::json!({"type": "status", "timestamp": ts_us,
                "data": {"task_id": "9f1c2e4a", "status": "RUNNING", "input_request_id": null}})
            .to_string(),
        );
        return;
    }
    let text = match n % 20 {
        0 | 14 => runner(
            "print",
            format!("[{n}] fetching https://example.test/fares/{n} ... 200 OK in 143 ms\n").into(),
        ),
        1 | 2 | 15 => event(
            "text",
            serde_json::json!({"uuid": format!("u{n}"), "sender": from, "recipient": to,
                "content": format!("Step {n}: the cheapest Lisbon fare departs at 07:40 for €89; shall I hold it?")}),
        ),
        3 => event(
            "text",
            serde_json::json!({"uuid": format!("u{n}"), "sender": "planner", "recipient": "user_proxy",
                "content": "Day 1: Alfama and the castle.\nDay 2: Belém and the tower.\nDay 3: Sintra by train."}),
        ),
        4 => event(
            "tool_call",
            serde_json::json!({"uuid": format!("u{n}"), "sender": from, "recipient": "executor",
                "tool_calls": [{"id": format!("call_{n}"), "type": "function",
                    "function": {"name": "search_flights", "arguments": format!(
                        "{{\"from\": \"LHR\", \"to\": \"LIS\", \"date\": \"2024-07-0{}\", \"passengers\": 2, \"cabin\": \"economy\"}}",
                        n % 9 + 1)}}]}),
        ),
        5 => event(
            "tool_response",
            serde_json::json!({"uuid": format!("u{n}"), "sender": "executor", "recipient": from,
                "content": "TP1351 07:40 €89\nFR8336 09:15 €64\nU27603 13:05 €112\nBA500 16:20 €140"}),
        ),
        6 | 16 => {
            return station(
                "debug",
                format!("xdotool mousemove 640 {} (step {n})", n % 800),
            );
        }
        7 | 8 | 17 => {
            return station(
                "info",
                format!("screenshot taken: 1280x800, {} KB", 80 + n % 40),
            );
        }
        9 => {
            return station(
                "warning",
                format!(
                    "page load slow: {} ms for https://example.test/",
                    2_000 + n % 900
                ),
            );
        }
        18 => return station("error", format!("click target not found: #book-{n}")),
        10 => {
            let password = n % 200 == 10;
            serde_json::json!({"id": id, "type": "input_request", "timestamp": ts_us.to_string(),
                "task_id": "9f1c2e4a", "request_id": format!("req-{n}"),
                "prompt": if password { "Airline account password:" } else { "Hold this fare? (y/n) " },
                "password": if password { "True" } else { "False" }})
            .to_string()
        }
        11 => {
            serde_json::json!({"id": id, "type": "input_response", "timestamp": ts_us.to_string(),
            "task_id": "9f1c2e4a", "request_id": format!("req-{}", n - 1),
            "data": "{\"content\":{\"type\":\"text\",\"text\":\"y\"}}"})
            .to_string()
        }
        12 => event(
            "group_chat_run_chat",
            serde_json::json!({"uuid": format!("u{n}"), "speaker": from, "silent": false}),
        ),
        13 => format!("worker {}: heartbeat ok", n % 4),
        _ => runner("print", format!("Saved itinerary draft #{n}").into()),
    };
    log.push_text(&text);
}
