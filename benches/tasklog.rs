//! Parsing and appending 100,000 task-log messages (issue 4's target: under 1 s in all).
//!
//! The messages are what a Waldiez Runner task sends while agents talk: plain prints,
//! agent messages as JSON text inside the message (the runner's usual form), tool calls
//! and their results, prompts and answers, with string µs timestamps and stream ids. Each
//! is parsed with `tasklog::parse` and pushed into a `TaskLog` (de-duplication, rendering,
//! prompt tracking). A second pass replays the last 50 (what a reconnect brings) and an
//! AgentStation SSE stream of the same size is cut and read as log entries.
//!
//! `cargo bench --bench tasklog`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use lookout::core::source::tasklog::{self, Push, SseParser, TaskLog};

const MESSAGES: usize = 100_000;
const TARGET: Duration = Duration::from_secs(1);

fn messages() -> Vec<String> {
    let agents = ["planner", "critic", "executor", "user_proxy", "booker"];
    let mut out = Vec::with_capacity(MESSAGES);
    for n in 0..MESSAGES {
        let id = format!("{}-{}", 1_718_900_000_000 + (n / 4) as u64, n % 4);
        let ts = (1_718_900_000_000_000 + n as u64 * 1_000).to_string();
        let (from, to) = (agents[n % 5], agents[(n + 1) % 5]);
        let msg = match n % 10 {
            0..=3 => {
                let event = serde_json::json!({"type":"text","content":{"uuid":format!("u{n}"),
                    "sender":from,"recipient":to,
                    "content":format!("Step {n}: I checked the fares for the Lisbon trip and the cheapest option departs at 07:40; shall I hold it?")}});
                serde_json::json!({"id":id,"type":"print","timestamp":ts,"task_id":"9f1c2e4a","data":event.to_string()})
            }
            4 | 5 => serde_json::json!({"id":id,"type":"print","timestamp":ts,"task_id":"9f1c2e4a",
                "data":format!("[{n}] fetching https://example.test/page/{n} ... 200 OK in 143 ms\n")}),
            6 => {
                let event = serde_json::json!({"type":"tool_call","content":{"uuid":format!("u{n}"),
                    "sender":from,"recipient":"executor","tool_calls":[{"id":format!("call_{n}"),"type":"function",
                    "function":{"name":"search_flights","arguments":format!("{{\"from\": \"LHR\", \"to\": \"LIS\", \"date\": \"2024-07-0{}\", \"passengers\": 2}}", n % 9 + 1)}}]}});
                serde_json::json!({"id":id,"type":"print","timestamp":ts,"task_id":"9f1c2e4a","data":event.to_string()})
            }
            7 => {
                let event = serde_json::json!({"type":"tool_response","content":{"uuid":format!("u{n}"),
                    "sender":"executor","recipient":from,"content":"TP1351 07:40 €89\nFR8336 09:15 €64\nU27603 13:05 €112"}});
                serde_json::json!({"id":id,"type":"print","timestamp":ts,"task_id":"9f1c2e4a","data":event.to_string()})
            }
            8 => {
                serde_json::json!({"id":id,"type":"input_request","timestamp":ts,"task_id":"9f1c2e4a",
                "request_id":format!("req-{n}"),"data":"Hold this fare? (y/n) ","password":if n % 100 == 8 {"True"} else {"False"}})
            }
            _ => {
                serde_json::json!({"id":id,"type":"input_response","timestamp":ts,"task_id":"9f1c2e4a",
                "request_id":format!("req-{}", n - 1),"data":"{\"content\":{\"type\":\"text\",\"text\":\"y\"}}"})
            }
        };
        out.push(msg.to_string());
    }
    out
}

fn sse_stream() -> Vec<u8> {
    let mut s = String::new();
    let levels = ["debug", "info", "warning", "error"];
    for n in 0..MESSAGES {
        s.push_str(&format!(
            "id: {n}\ndata: {{\"level\":\"{}\",\"message\":\"xdotool click 640 360 (step {n})\",\"timestamp\":\"2024-06-20T16:13:{:02}.{:03}Z\"}}\n\n",
            levels[n % 4],
            n % 60,
            n % 1000
        ));
        if n % 100 == 0 {
            s.push_str(": keep-alive\n\n");
        }
    }
    s.into_bytes()
}

fn main() {
    let msgs = messages();
    let bytes: usize = msgs.iter().map(String::len).sum();

    // Best of three runs, each into a fresh log.
    let mut best = Duration::MAX;
    let mut log = TaskLog::default();
    for _ in 0..3 {
        let mut fresh = TaskLog::default();
        let start = Instant::now();
        for m in &msgs {
            black_box(fresh.push_text(black_box(m)));
        }
        best = best.min(start.elapsed());
        log = fresh;
    }
    assert_eq!(log.len(), MESSAGES);
    let start = Instant::now();
    for m in &msgs {
        black_box(tasklog::parse(black_box(m)).unwrap());
    }
    let parse_only = start.elapsed();
    let start = Instant::now();
    for m in &msgs {
        black_box(serde_json::from_str::<serde_json::Value>(black_box(m)).unwrap());
    }
    let json_only = start.elapsed();
    // A reconnect replays the last 50: all dropped.
    let start = Instant::now();
    for m in &msgs[MESSAGES - 50..] {
        assert_eq!(log.push_text(m), Push::Duplicate);
    }
    let replay = start.elapsed();
    let start = Instant::now();
    let hits = log.search("lisbon");
    let search = start.elapsed();

    let per = best / MESSAGES as u32;
    println!(
        "tasklog: parse + append {MESSAGES} runner messages ({:.1} MB): {:.1} ms total, {:.2} µs per message (target under {} ms total: {})",
        bytes as f64 / 1e6,
        best.as_secs_f64() * 1e3,
        per.as_secs_f64() * 1e6,
        TARGET.as_millis(),
        if best < TARGET { "met" } else { "MISSED" }
    );
    println!(
        "tasklog: of which parsing alone {:.1} ms (serde_json::Value of the outer message alone {:.1} ms)",
        parse_only.as_secs_f64() * 1e3,
        json_only.as_secs_f64() * 1e3
    );
    println!(
        "tasklog: replay of 50 duplicates {:.1} µs; search over {} lines {:.1} ms ({} hits)",
        replay.as_secs_f64() * 1e6,
        log.len(),
        search.as_secs_f64() * 1e3,
        hits.len()
    );

    // AgentStation: the same number of log entries as one SSE stream, in 4 KiB chunks.
    let stream = sse_stream();
    let mut best_sse = Duration::MAX;
    for _ in 0..3 {
        let mut parser = SseParser::default();
        let mut sse_log = TaskLog::default();
        let start = Instant::now();
        for chunk in stream.chunks(4096) {
            for event in parser.feed(chunk) {
                sse_log.push_log_entry(tasklog::parse_log_entry(&event.unwrap().data));
            }
        }
        best_sse = best_sse.min(start.elapsed());
        assert_eq!(sse_log.len(), MESSAGES);
    }
    println!(
        "tasklog: SSE parse + append {MESSAGES} log entries ({:.1} MB): {:.1} ms total, {:.2} µs per entry",
        stream.len() as f64 / 1e6,
        best_sse.as_secs_f64() * 1e3,
        (best_sse / MESSAGES as u32).as_secs_f64() * 1e6
    );
}
