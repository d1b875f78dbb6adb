//! Tests over a recorded transcript (`tests/assets/waldiez_transcript.jsonl`, one runner
//! message per line, every shape the runner and its docs use) and over the edge cases one by
//! one.

use super::*;

const TRANSCRIPT: &str = include_str!("../../../../tests/assets/waldiez_transcript.jsonl");

fn transcript() -> Vec<&'static str> {
    TRANSCRIPT.lines().collect()
}

fn print_event(msg: &TaskMessage) -> &AgentEvent {
    match msg {
        TaskMessage::Print(PrintMessage {
            content: PrintContent::Event(e),
            ..
        }) => e,
        other => panic!("not an agent event: {other:?}"),
    }
}

pub(super) fn texts(log: &TaskLog) -> Vec<String> {
    log.lines()
        .iter()
        .map(|l| l.rendered.text.clone())
        .collect()
}

// ---------------------------------------------------------------- parsing the transcript

#[test]
fn transcript_parses_every_shape() {
    let msgs: Vec<TaskMessage> = transcript()
        .iter()
        .map(|l| parse(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(msgs.len(), 19);

    // The status sent on connecting: integer µs, no id.
    match &msgs[0] {
        TaskMessage::Status(s) => {
            assert_eq!(s.status, TaskStatus::Running);
            assert_eq!(s.input_request_id, None);
            assert_eq!(s.meta.id, None);
            assert_eq!(s.meta.timestamp, Some(Micros(1_718_900_000_000_000)));
            assert_eq!(s.meta.task_id.as_deref(), Some("9f1c2e4a"));
        }
        other => panic!("{other:?}"),
    }
    // A plain print: µs as a string, id kept.
    match &msgs[1] {
        TaskMessage::Print(p) => {
            assert_eq!(p.meta.id.as_deref(), Some("1718900000500-0"));
            assert_eq!(p.meta.timestamp, Some(Micros(1_718_900_000_500_000)));
            assert_eq!(
                p.content,
                PrintContent::Text("Starting flow: travel planner\n".into())
            );
        }
        other => panic!("{other:?}"),
    }
    // An agent message as JSON text, and as an object.
    assert_eq!(
        print_event(&msgs[2]),
        &AgentEvent::Text {
            sender: Some("user_proxy".into()),
            recipient: Some("planner".into()),
            content: "Plan a 3-day trip to Lisbon.".into()
        }
    );
    assert!(matches!(
        print_event(&msgs[3]),
        AgentEvent::Text { sender: Some(s), content, .. } if s == "planner" && content.contains("Sintra")
    ));
    // IOStream.send: the event's type as the message's; multimodal content.
    assert_eq!(
        print_event(&msgs[4]),
        &AgentEvent::Text {
            sender: Some("critic".into()),
            recipient: Some("planner".into()),
            content: "Looks good. [image]".into()
        }
    );
    match print_event(&msgs[5]) {
        AgentEvent::ToolCalls {
            sender,
            recipient,
            calls,
        } => {
            assert_eq!(sender.as_deref(), Some("planner"));
            assert_eq!(recipient.as_deref(), Some("executor"));
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].name, "get_weather");
            assert_eq!(calls[0].id.as_deref(), Some("call_W1"));
            assert!(calls[0].arguments.starts_with("{\"city\": \"Lisbon\""));
        }
        other => panic!("{other:?}"),
    }
    match print_event(&msgs[6]) {
        AgentEvent::ToolCalls { calls, .. } => {
            // Arguments given as an object are written as compact JSON.
            assert_eq!(calls[0].arguments, r#"{"city":"Lisbon","days":3}"#);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        print_event(&msgs[7]),
        &AgentEvent::ToolResult {
            sender: None,
            recipient: Some("executor".into()),
            name: Some("get_weather".into()),
            content: "sunny, 24°C".into()
        }
    );
    assert!(matches!(
        print_event(&msgs[8]),
        AgentEvent::ToolResult { content, name: None, .. } if content.lines().count() == 3
    ));
    match &msgs[9] {
        TaskMessage::InputRequest(r) => {
            assert_eq!(r.request_id, "req-1");
            assert_eq!(r.prompt, "Which dates? ");
            assert!(!r.password);
        }
        other => panic!("{other:?}"),
    }
    match &msgs[10] {
        TaskMessage::InputResponse(r) => {
            assert_eq!(r.request_id, "req-1");
            // waldiez.io's structured answer, read down to its text.
            assert_eq!(r.answer.expose(), "July 3 to 5");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        print_event(&msgs[11]),
        AgentEvent::Other { kind, summary } if kind == "group_chat_run_chat" && summary.contains("booker")
    ));
    match &msgs[12] {
        TaskMessage::InputRequest(r) => {
            assert_eq!(r.prompt, "Airline account password:");
            assert!(r.password);
        }
        other => panic!("{other:?}"),
    }
    match &msgs[13] {
        TaskMessage::InputResponse(r) => {
            assert_eq!(r.answer.expose(), "hunter2-s3cret");
            // Debug never shows an answer.
            assert!(!format!("{r:?}").contains("hunter2"));
        }
        other => panic!("{other:?}"),
    }
    // Unknown type, and an object without type: kept raw, the first with its id.
    assert!(
        matches!(&msgs[14], TaskMessage::Raw { id: Some(_), text } if text.contains("heartbeat"))
    );
    assert!(
        matches!(&msgs[15], TaskMessage::Raw { id: None, text } if text.contains("Invalid input payload"))
    );
    // Milliseconds, as the docs show them.
    assert_eq!(msgs[16].timestamp(), Some(Micros(1_718_900_004_000_000)));
    assert_eq!(
        print_event(&msgs[17]),
        &AgentEvent::Termination {
            reason: "Maximum turns (10) reached".into()
        }
    );
    assert_eq!(
        msgs[18],
        TaskMessage::Raw {
            id: None,
            text: "worker: flow finished".into()
        }
    );
}

#[test]
fn transcript_renders_readably_in_the_log() {
    let mut log = TaskLog::default();
    for line in transcript() {
        assert_eq!(log.push_text(line), Push::Appended);
    }
    let t = texts(&log);
    assert_eq!(t[0], "Task status: RUNNING");
    assert_eq!(t[1], "Starting flow: travel planner");
    assert_eq!(t[2], "user_proxy → planner: Plan a 3-day trip to Lisbon.");
    assert!(t[3].starts_with("planner → user_proxy: Day 1"));
    assert_eq!(t[4], "critic → planner: Looks good. [image]");
    assert_eq!(
        t[5],
        r#"planner → executor: calls get_weather({"city": "Lisbon", "days": 3, "units": "metric", "include": …)"#
    );
    let call = &log.get(5).unwrap().rendered;
    assert_eq!(call.kind, LineKind::ToolCall);
    let detail = call.detail.as_deref().unwrap();
    assert!(detail.starts_with("get_weather (call_W1)\n{\n"), "{detail}");
    assert!(detail.contains("\"uv\""), "{detail}");
    assert_eq!(
        t[6],
        r#"→ executor: calls get_weather({"city":"Lisbon","days":3})"#
    );
    assert_eq!(t[7], "→ executor: get_weather returned: sunny, 24°C");
    assert_eq!(
        t[8],
        "executor → planner: tool returned: Day 1: sunny, 24°C …"
    );
    assert!(
        log.get(8)
            .unwrap()
            .rendered
            .detail
            .as_deref()
            .unwrap()
            .contains("Day 3")
    );
    assert_eq!(t[9], "Input requested: Which dates?");
    assert_eq!(t[10], "Answered: July 3 to 5");
    assert!(t[11].starts_with("[group_chat_run_chat] {"));
    assert_eq!(
        t[12],
        "Input requested (password): Airline account password:"
    );
    assert_eq!(t[13], format!("Answered: {MASK}"));
    assert_eq!(log.get(14).unwrap().rendered.kind, LineKind::Raw);
    assert_eq!(t[16], "Booking confirmed: TP 1234");
    assert_eq!(t[17], "Task ended: Maximum turns (10) reached");
    assert_eq!(log.get(17).unwrap().rendered.kind, LineKind::Termination);
    assert_eq!(t[18], "worker: flow finished");
    assert_eq!(log.status(), Some(&TaskStatus::Running));
    assert_eq!(log.pending_prompt(), None);
    assert_eq!((log.len(), log.dropped(), log.duplicates()), (19, 0, 0));
}

// ---------------------------------------------------------------- fields, one by one

#[test]
fn timestamps_in_every_form() {
    use serde_json::json;
    let us = Micros(1_711_210_101_210_000);
    assert_eq!(
        Micros::from_json(&json!(1_711_210_101_210_000_i64)),
        Some(us)
    );
    assert_eq!(Micros::from_json(&json!("1711210101210000")), Some(us));
    assert_eq!(Micros::from_json(&json!(" 1711210101210000 ")), Some(us));
    assert_eq!(Micros::from_json(&json!(1_711_210_101_210_i64)), Some(us)); // ms
    assert_eq!(Micros::from_json(&json!(1_711_210_101.21)), Some(us)); // s, float
    assert_eq!(Micros::from_json(&json!("1711210101.21")), Some(us));
    assert_eq!(Micros::from_json(&json!(1.71121010121e15)), Some(us)); // µs, float
    assert_eq!(
        Micros::from_json(&json!("2024-03-23T16:08:21.21Z")),
        Some(us)
    );
    assert_eq!(
        Micros::from_json(&json!("2024-03-23T16:08:21.210000")),
        Some(us)
    );
    assert_eq!(
        Micros::from_json(&json!("2024-03-23 18:08:21.21+02:00")),
        Some(us)
    );
    assert_eq!(
        Micros::from_json(&json!("2024-03-23T11:08:21.21-0500")),
        Some(us)
    );
    assert_eq!(Micros::from_text("1970-01-01T00:00:00Z"), Some(Micros(0)));
    assert_eq!(
        Micros::from_text("2000-02-29T00:00:00Z"),
        Some(Micros(951_782_400_000_000))
    );
    for bad in [
        json!("yesterday"),
        json!("2024-13-01T00:00:00Z"),
        json!("2024-03-23T16:08:21.Z"),
        json!("2024-03-23T16:08:21Zjunk"),
        json!(-5),
        json!(null),
        json!({"t": 1}),
        json!(""),
    ] {
        assert_eq!(Micros::from_json(&bad), None, "{bad}");
    }
}

#[test]
fn every_value_may_be_a_string() {
    // Status data as JSON text, request ids as numbers, password as a bool.
    let status = parse(
        r#"{"type":"status","timestamp":"1718900000000000","data":"{\"status\":\"waiting_for_input\",\"input_request_id\":\"r9\"}"}"#,
    )
    .unwrap();
    assert!(matches!(
        status,
        TaskMessage::Status(StatusMessage { status: TaskStatus::WaitingForInput, input_request_id: Some(ref r), .. }) if r == "r9"
    ));
    let req =
        parse(r#"{"type":"input_request","request_id":42,"data":"ok?","password":false,"id":17}"#)
            .unwrap();
    match req {
        TaskMessage::InputRequest(r) => {
            assert_eq!((r.request_id.as_str(), r.password), ("42", false));
            assert_eq!(r.meta.id.as_deref(), Some("17"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn password_flag_spellings() {
    let flag = |v: &str| match parse(&format!(
        r#"{{"type":"input_request","request_id":"r","data":"p"{v}}}"#
    ))
    .unwrap()
    {
        TaskMessage::InputRequest(r) => r.password,
        other => panic!("{other:?}"),
    };
    assert!(flag(r#","password":"True""#));
    assert!(flag(r#","password":"true""#));
    assert!(flag(r#","password":true"#));
    assert!(flag(r#","password":"1""#));
    assert!(!flag(r#","password":"False""#));
    assert!(!flag(r#","password":"false""#));
    assert!(!flag(r#","password":false"#));
    assert!(!flag(r#","password":"""#));
    assert!(!flag(""));
    // A spelling nobody uses: masked, to be safe.
    assert!(flag(r#","password":"maybe""#));
}

#[test]
fn unknown_status_is_kept_as_text() {
    let msg = parse(r#"{"type":"status","data":{"status":"PAUSED"}}"#).unwrap();
    match msg {
        TaskMessage::Status(s) => {
            assert_eq!(s.status, TaskStatus::Other("PAUSED".into()));
            assert!(!s.status.is_final());
            assert_eq!(s.status.to_string(), "PAUSED");
        }
        other => panic!("{other:?}"),
    }
    for (name, status) in [
        ("PENDING", TaskStatus::Pending),
        ("COMPLETED", TaskStatus::Completed),
        ("FAILED", TaskStatus::Failed),
        ("CANCELLED", TaskStatus::Cancelled),
    ] {
        assert_eq!(TaskStatus::from_name(name), status);
        assert_eq!(status.name(), name);
    }
}

#[test]
fn termination_in_each_form() {
    let reason = |text: &str| match parse(text).unwrap() {
        TaskMessage::Print(PrintMessage {
            content: PrintContent::Event(AgentEvent::Termination { reason }),
            ..
        }) => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason(
            r#"{"type":"print","data":{"type":"termination","content":{"termination_reason":"done"}}}"#
        ),
        "done"
    );
    // The content itself as JSON text inside the event's JSON text.
    assert_eq!(
        reason(
            r#"{"type":"print","data":"{\"type\":\"termination\",\"content\":\"{\\\"termination_reason\\\":\\\"TERMINATE said\\\"}\"}"}"#
        ),
        "TERMINATE said"
    );
    // The docs' own type, with a plain or a structured body.
    assert_eq!(reason(r#"{"type":"termination","data":"bye"}"#), "bye");
    assert_eq!(
        reason(
            r#"{"type":"termination","data":"{\"type\":\"termination\",\"content\":{\"termination_reason\":\"x\"}}"}"#
        ),
        "x"
    );
    assert_eq!(
        render(&parse(r#"{"type":"termination"}"#).unwrap()).text,
        "Task ended"
    );
}

#[test]
fn malformed_and_foreign_text_is_kept_raw() {
    for text in [
        r#"{"type":"print","data":"#,
        "{not json",
        "plain words",
        "",
        "[1,2,3]",
        "42",
        r#""a string""#,
        r#"{"type":7,"data":"x"}"#,
        r#"{"type":"image","data":"not an event"}"#,
    ] {
        match parse(text) {
            Ok(TaskMessage::Raw { text: kept, .. }) => assert_eq!(kept, text),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // A print whose data is neither text nor an event: shown as JSON.
    assert!(matches!(
        parse(r#"{"type":"print","data":[1,2]}"#).unwrap(),
        TaskMessage::Print(PrintMessage { content: PrintContent::Text(ref t), .. }) if t == "[1,2]"
    ));
    // Text that looks like an object but has no type stays text.
    assert!(matches!(
        parse(r#"{"type":"print","data":"{\"a\":1}"}"#).unwrap(),
        TaskMessage::Print(PrintMessage { content: PrintContent::Text(ref t), .. }) if t == r#"{"a":1}"#
    ));
}

#[test]
fn malformed_known_types_are_named_errors() {
    let cases = [
        (
            r#"{"type":"input_request","data":"Name?","password":"True"}"#,
            TaskLogError::MissingField {
                kind: "input_request",
                field: "request_id",
            },
        ),
        (
            r#"{"type":"input_request","request_id":{"x":1}}"#,
            TaskLogError::WrongType {
                kind: "input_request",
                field: "request_id",
                expected: "a string",
            },
        ),
        (
            r#"{"type":"input_response","data":"secret-answer"}"#,
            TaskLogError::MissingField {
                kind: "input_response",
                field: "request_id",
            },
        ),
        (
            r#"{"type":"print","id":"1-0"}"#,
            TaskLogError::MissingField {
                kind: "print",
                field: "data",
            },
        ),
        (
            r#"{"type":"status"}"#,
            TaskLogError::MissingField {
                kind: "status",
                field: "data",
            },
        ),
        (
            r#"{"type":"status","data":{"task_id":"t"}}"#,
            TaskLogError::MissingField {
                kind: "status",
                field: "data.status",
            },
        ),
        (
            r#"{"type":"status","data":"RUNNING"}"#,
            TaskLogError::WrongType {
                kind: "status",
                field: "data",
                expected: "an object",
            },
        ),
        (
            r#"{"type":"status","data":{"status":3}}"#,
            TaskLogError::WrongType {
                kind: "status",
                field: "data.status",
                expected: "a string",
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text), Err(want), "{text}");
    }
    // In the log, an error is a line that says why and never quotes the message.
    let mut log = TaskLog::default();
    log.push_text(r#"{"type":"input_response","data":"secret-answer"}"#);
    let line = &log.get(0).unwrap().rendered;
    assert_eq!(line.kind, LineKind::Error);
    assert!(line.text.contains("request_id"), "{}", line.text);
    assert!(!line.text.contains("secret-answer"));
}

#[test]
fn huge_messages_are_bounded() {
    // Over the limit: refused before parsing.
    let huge = format!(
        r#"{{"type":"print","data":"{}"}}"#,
        "x".repeat(MAX_MESSAGE_BYTES)
    );
    assert_eq!(
        parse(&huge),
        Err(TaskLogError::TooLarge {
            len: huge.len(),
            max: MAX_MESSAGE_BYTES
        })
    );
    // Under it: kept, its text cut for display.
    let big = format!(
        r#"{{"type":"print","data":"{}"}}"#,
        "é".repeat(MAX_TEXT_CHARS * 3)
    );
    match parse(&big).unwrap() {
        TaskMessage::Print(PrintMessage {
            content: PrintContent::Text(t),
            ..
        }) => {
            assert_eq!(
                t.chars().count(),
                MAX_TEXT_CHARS + TRUNCATION_MARK.chars().count()
            );
            assert!(t.ends_with(TRUNCATION_MARK));
        }
        other => panic!("{other:?}"),
    }
    // Raw text, names and tool arguments are cut too.
    let raw = "y".repeat(MAX_TEXT_CHARS + 10);
    assert!(
        matches!(parse(&raw).unwrap(), TaskMessage::Raw { text, .. } if text.ends_with(TRUNCATION_MARK))
    );
    let sender = "s".repeat(MAX_NAME_CHARS * 2);
    let args = "a".repeat(MAX_TEXT_CHARS * 2);
    let event = serde_json::json!({"type":"print","data":{"type":"tool_call","content":{
        "sender": sender, "tool_calls":[{"function":{"name":"f","arguments":args}}]}}});
    match print_event(&parse(&event.to_string()).unwrap()) {
        AgentEvent::ToolCalls { sender, calls, .. } => {
            assert_eq!(
                sender.as_deref().unwrap().chars().count(),
                MAX_NAME_CHARS + TRUNCATION_MARK.chars().count()
            );
            assert!(calls[0].arguments.len() < MAX_TEXT_CHARS + 100);
        }
        other => panic!("{other:?}"),
    }
    // An over-long id is not used to de-duplicate (cutting it could merge two ids).
    let long_id = format!(
        r#"{{"type":"print","data":"x","id":"{}"}}"#,
        "9".repeat(300)
    );
    assert_eq!(parse(&long_id).unwrap().id(), None);
}

#[test]
fn tool_calls_fold_their_arguments() {
    let msg = serde_json::json!({"type":"print","data":{"type":"tool_call","content":{
        "sender":"a","recipient":"b","tool_calls":[
            {"id":"c1","function":{"name":"search","arguments":"{\"q\":\n  \"rust   sse\"}"}},
            {"id":"c2","function":{"name":"open","arguments":""}}]}}});
    let r = render(&parse(&msg.to_string()).unwrap());
    assert_eq!(r.kind, LineKind::ToolCall);
    assert_eq!(
        r.text,
        r#"a → b: calls tools search({"q": "rust sse"}), open()"#
    );
    assert_eq!(
        r.detail.as_deref(),
        Some("search (c1)\n{\n  \"q\": \"rust   sse\"\n}\n\nopen (c2)\n")
    );
    // The legacy function_call form.
    let legacy = r#"{"type":"print","data":{"type":"tool_call","content":{"function_call":{"name":"f","arguments":"{}"}}}}"#;
    assert_eq!(render(&parse(legacy).unwrap()).text, "calls f({})");
}

// ---------------------------------------------------------------- the store

fn print_with_id(n: u64) -> String {
    format!(
        r#"{{"id":"{}-0","type":"print","timestamp":"{}","data":"line {n}"}}"#,
        1_718_900_000_000 + n,
        1_718_900_000_000_000 + n * 1000
    )
}

#[test]
fn replays_after_a_reconnect_are_dropped() {
    let mut log = TaskLog::default();
    log.push_text(r#"{"type":"status","timestamp":1718900000000000,"data":{"status":"RUNNING"}}"#);
    for n in 0..120 {
        assert_eq!(log.push_text(&print_with_id(n)), Push::Appended);
    }
    // Reconnect: a status (no id, so kept), the last 50 replayed, then live ones.
    log.push_text(r#"{"type":"status","timestamp":1718900001000000,"data":{"status":"RUNNING"}}"#);
    for n in 70..120 {
        assert_eq!(log.push_text(&print_with_id(n)), Push::Duplicate);
    }
    for n in 120..125 {
        assert_eq!(log.push_text(&print_with_id(n)), Push::Appended);
    }
    assert_eq!(log.duplicates(), 50);
    assert_eq!(log.len(), 1 + 120 + 1 + 5);
    let t = texts(&log);
    assert_eq!(t[122], "line 120");
    // A second viewer's replay of the same history is dropped the same way.
    for n in 75..125 {
        assert_eq!(log.push_text(&print_with_id(n)), Push::Duplicate);
    }
    assert_eq!(log.duplicates(), 100);
}

#[test]
fn the_id_memory_is_bounded() {
    let mut log = TaskLog::new(TaskLogConfig {
        max_lines: 100,
        recent_ids: 3,
        ..TaskLogConfig::default()
    });
    for n in 0..4 {
        log.push_text(&print_with_id(n));
    }
    // Ids 1..=3 are remembered, 0 is forgotten.
    assert_eq!(log.push_text(&print_with_id(3)), Push::Duplicate);
    assert_eq!(log.push_text(&print_with_id(0)), Push::Appended);
}

#[test]
fn lines_are_capped_oldest_first() {
    let mut log = TaskLog::new(TaskLogConfig {
        max_lines: 10,
        recent_ids: 100,
        ..TaskLogConfig::default()
    });
    for n in 0..25 {
        log.push_text(&print_with_id(n));
    }
    assert_eq!((log.len(), log.dropped()), (10, 15));
    assert_eq!(log.get(0).unwrap().seq, 15);
    assert_eq!(log.get(0).unwrap().rendered.text, "line 15");
    assert_eq!(log.lines().back().unwrap().seq, 24);
    assert_eq!(
        log.get(0).unwrap().timestamp,
        Some(Micros(1_718_900_000_015_000))
    );
    // Zero is taken as one.
    let mut one = TaskLog::new(TaskLogConfig {
        max_lines: 0,
        recent_ids: 0,
        ..TaskLogConfig::default()
    });
    one.push_text("a");
    one.push_text("b");
    assert_eq!((one.len(), one.dropped()), (1, 1));
}

#[test]
fn a_prompt_is_closed_by_another_operators_answer() {
    let mut log = TaskLog::default();
    log.push_text(r#"{"id":"1-0","type":"input_request","timestamp":"1718900000000000","request_id":"r1","data":"Continue? (y/n)","password":"False"}"#);
    let p = log.pending_prompt().unwrap();
    assert_eq!(p.request_id, "r1");
    assert_eq!(p.prompt.as_deref(), Some("Continue? (y/n)"));
    assert!(!p.password);
    assert_eq!(p.asked_at, Some(Micros(1_718_900_000_000_000)));
    // A status while waiting, and an answer to another request, leave it open.
    log.push_text(
        r#"{"type":"status","data":{"status":"WAITING_FOR_INPUT","input_request_id":"r1"}}"#,
    );
    log.push_text(r#"{"id":"2-0","type":"input_response","request_id":"r0","data":"late"}"#);
    assert_eq!(log.pending_prompt().unwrap().request_id, "r1");
    assert_eq!(
        log.pending_prompt().unwrap().prompt.as_deref(),
        Some("Continue? (y/n)")
    );
    // Someone else answers (the runner echoes it to every viewer): closed, answer shown.
    log.push_text(r#"{"id":"3-0","type":"input_response","request_id":"r1","data":"y"}"#);
    assert_eq!(log.pending_prompt(), None);
    assert_eq!(log.lines().back().unwrap().rendered.text, "Answered: y");
    // A replay of the request does not reopen it.
    log.push_text(r#"{"id":"1-0","type":"input_request","request_id":"r1","data":"Continue? (y/n)","password":"False"}"#);
    assert_eq!(log.pending_prompt(), None);
}

#[test]
fn prompt_and_status() {
    let mut log = TaskLog::default();
    // A status naming a request not yet seen opens it, as a password prompt until known.
    log.push_text(
        r#"{"type":"status","data":{"status":"WAITING_FOR_INPUT","input_request_id":"r7"}}"#,
    );
    let p = log.pending_prompt().unwrap();
    assert_eq!(
        (p.request_id.as_str(), p.prompt.as_deref(), p.password),
        ("r7", None, true)
    );
    assert_eq!(log.status(), Some(&TaskStatus::WaitingForInput));
    // The replayed request fills it in.
    log.push_text(r#"{"id":"5-0","type":"input_request","request_id":"r7","data":"City?","password":"False"}"#);
    let p = log.pending_prompt().unwrap();
    assert_eq!((p.prompt.as_deref(), p.password), (Some("City?"), false));
    // A running status does not close it (it is a snapshot that can lag the stream)…
    log.push_text(r#"{"type":"status","data":{"status":"RUNNING","input_request_id":null}}"#);
    assert!(log.pending_prompt().is_some());
    // …a final one does.
    log.push_text(r#"{"type":"status","data":{"status":"CANCELLED"}}"#);
    assert_eq!(log.pending_prompt(), None);
    assert_eq!(log.status(), Some(&TaskStatus::Cancelled));
    // An answer seen before its request (replays are not strictly ordered): no prompt.
    log.push_text(r#"{"id":"9-1","type":"input_response","request_id":"r8","data":""}"#);
    log.push_text(r#"{"id":"9-0","type":"input_request","request_id":"r8","data":"Again?"}"#);
    assert_eq!(log.pending_prompt(), None);
    // The caller may dismiss a prompt it knows is gone.
    log.push_text(r#"{"id":"10-0","type":"input_request","request_id":"r9","data":"More?"}"#);
    assert_eq!(log.dismiss_prompt().unwrap().request_id, "r9");
    assert_eq!(log.pending_prompt(), None);
}

#[test]
fn password_answers_are_never_stored() {
    let secret = "correct-horse-battery";
    let mut log = TaskLog::default();
    log.push_text(r#"{"id":"1-0","type":"input_request","request_id":"pw","data":"Password:","password":"True"}"#);
    assert!(log.pending_prompt().unwrap().password);
    // Plain, and structured as waldiez.io writes it.
    log.push_text(&format!(
        r#"{{"id":"2-0","type":"input_response","request_id":"pw","data":"{secret}"}}"#
    ));
    log.push_text(
        r#"{"id":"3-0","type":"input_request","request_id":"pw2","prompt":"Again:","password":true}"#,
    );
    let structured = serde_json::json!({"id":"4-0","type":"input_response","request_id":"pw2",
        "data": serde_json::json!([{"content":{"type":"text","text":secret}}]).to_string()});
    log.push_text(&structured.to_string());
    // An answer to a prompt this log never saw could be a password too.
    log.push_text(&format!(
        r#"{{"id":"5-0","type":"input_response","request_id":"unseen","data":"{secret}"}}"#
    ));
    assert_eq!(log.pending_prompt(), None);
    let answers: Vec<&LogLine> = log
        .lines()
        .iter()
        .filter(|l| l.rendered.kind == LineKind::Answer)
        .collect();
    assert_eq!(answers.len(), 3);
    for line in answers {
        assert_eq!(line.rendered.text, format!("Answered: {MASK}"));
    }
    assert!(log.search(secret).is_empty());
    assert!(log.search("horse").is_empty());
    assert!(!format!("{log:?}").contains("horse"));
    // The parser still hands the answer to whoever must send it, behind Secret.
    match parse(&structured.to_string()).unwrap() {
        TaskMessage::InputResponse(r) => assert_eq!(r.answer.expose(), secret),
        other => panic!("{other:?}"),
    }
}

#[test]
fn search_ignores_case_and_looks_into_folds() {
    let mut log = TaskLog::default();
    for line in transcript() {
        log.push_text(line);
    }
    assert_eq!(log.search("LISBON"), vec![2, 5, 6]);
    // "include" only appears in the folded arguments of line 5.
    assert_eq!(log.search("\"UV\""), vec![5]);
    assert_eq!(log.search("day 3"), vec![3, 8]);
    assert_eq!(log.search("BELÉM"), vec![3]);
    assert_eq!(log.search("nothing like this"), Vec::<usize>::new());
    assert_eq!(log.search("").len(), log.len());
}

// ---------------------------------------------------------------- AgentStation SSE

/// A sample stream: BOM, comments, CRLF, a lone CR, multi-line data, `event:`, `id:`
/// (persisting, reset, and with NUL), `retry:`, non-JSON data, a field without a colon, an
/// event without data, and UTF-8 that chunks will split.
const SSE_SAMPLE: &[u8] = b"\xef\xbb\xbf: keep-alive\r\n\
retry: 2500\r\n\
id: 1\r\n\
data: {\"level\":\"info\",\"message\":\"Workstation ready\",\"timestamp\":\"2024-06-20T16:13:20Z\"}\r\n\
\r\n\
event: log\n\
data: {\"level\":\"warning\",\n\
data:  \"message\":\"Disk 91% full\"}\n\
\n\
data:{\"level\":\"ERROR\",\"message\":\"Chrome crashed \xe2\x80\x94 restarting\",\"timestamp\":1718900000123}\r\r\
id\n\
event: ping\n\
\n\
data: plain text, not JSON\n\
id: bad\x00id\n\
\n\
: trailing comment\n\
data: {\"level\":\"debug\",\"msg\":\"tick\"}\n\
\n\
data: unterminated";

fn sample_events() -> Vec<SseEvent> {
    let ev = |event: &str, data: &str, id: Option<&str>| SseEvent {
        event: event.into(),
        data: data.into(),
        id: id.map(str::to_string),
    };
    vec![
        ev(
            "message",
            r#"{"level":"info","message":"Workstation ready","timestamp":"2024-06-20T16:13:20Z"}"#,
            Some("1"),
        ),
        ev(
            "log",
            "{\"level\":\"warning\",\n \"message\":\"Disk 91% full\"}",
            Some("1"),
        ),
        ev(
            "message",
            "{\"level\":\"ERROR\",\"message\":\"Chrome crashed — restarting\",\"timestamp\":1718900000123}",
            Some("1"),
        ),
        ev("message", "plain text, not JSON", None),
        ev("message", r#"{"level":"debug","msg":"tick"}"#, None),
    ]
}

fn collect(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut out = Vec::new();
    for chunk in chunks {
        for item in parser.feed(chunk) {
            out.push(item.unwrap());
        }
    }
    out
}

#[test]
fn sse_sample_parses() {
    let mut p = SseParser::default();
    assert_eq!(collect(&mut p, &[SSE_SAMPLE]), sample_events());
    assert_eq!(p.retry_ms(), Some(2500));
    assert_eq!(p.last_event_id(), None);
}

#[test]
fn sse_chunking_at_every_byte_boundary() {
    let want = sample_events();
    for split in 0..=SSE_SAMPLE.len() {
        let (a, b) = SSE_SAMPLE.split_at(split);
        let mut p = SseParser::default();
        assert_eq!(collect(&mut p, &[a, b]), want, "split at {split}");
    }
    for split in 0..SSE_SAMPLE.len() {
        for width in [1, 2, 3, 7] {
            let end = (split + width).min(SSE_SAMPLE.len());
            let mut p = SseParser::default();
            let chunks = [
                &SSE_SAMPLE[..split],
                &SSE_SAMPLE[split..end],
                &SSE_SAMPLE[end..],
            ];
            assert_eq!(collect(&mut p, &chunks), want, "{split}+{width}");
        }
    }
    let bytes: Vec<&[u8]> = SSE_SAMPLE.chunks(1).collect();
    assert_eq!(collect(&mut SseParser::default(), &bytes), want);
}

#[test]
fn sse_events_over_the_limit_are_skipped() {
    let big = format!("data: {}\n\ndata: after\n\n", "z".repeat(100));
    let stream = format!(
        "data: first\n\n{big}data: {}\ndata: {}\n\ndata: last\n\n",
        "q".repeat(30),
        "q".repeat(30)
    );
    for chunk in [1, 5, 64, stream.len()] {
        let mut p = SseParser::new(50);
        let mut got = Vec::new();
        for c in stream.as_bytes().chunks(chunk) {
            got.extend(p.feed(c));
        }
        let got: Vec<Result<String, TaskLogError>> =
            got.into_iter().map(|r| r.map(|e| e.data)).collect();
        assert_eq!(
            got,
            vec![
                Ok("first".to_string()),
                Err(TaskLogError::EventTooLarge { max: 50 }),
                Ok("after".to_string()),
                Err(TaskLogError::EventTooLarge { max: 50 }),
                Ok("last".to_string()),
            ],
            "chunks of {chunk}"
        );
    }
}

#[test]
fn log_entries_from_sse_data() {
    let entries: Vec<LogEntry> = sample_events()
        .iter()
        .map(|e| parse_log_entry(&e.data))
        .collect();
    assert_eq!(entries[0].level, Some(LogLevel::Info));
    assert_eq!(entries[0].message, "Workstation ready");
    assert_eq!(entries[0].timestamp, Some(Micros(1_718_900_000_000_000)));
    assert!(entries[0].structured);
    assert_eq!(entries[1].level, Some(LogLevel::Warn));
    assert_eq!(entries[1].message, "Disk 91% full");
    assert_eq!(entries[2].level, Some(LogLevel::Error));
    assert_eq!(entries[2].timestamp, Some(Micros(1_718_900_000_123_000)));
    assert_eq!(
        entries[3],
        LogEntry {
            level: None,
            message: "plain text, not JSON".into(),
            timestamp: None,
            structured: false
        }
    );
    assert_eq!(entries[4].level, Some(LogLevel::Debug));
    assert_eq!(entries[4].message, "tick");
    // No level, no message: the data is the message.
    let bare = parse_log_entry(r#"{"event":"boot"}"#);
    assert_eq!(
        (bare.level, bare.message.as_str()),
        (None, r#"{"event":"boot"}"#)
    );
    assert_eq!(
        parse_log_entry(r#"{"level":"notice-ish","message":"m"}"#).level,
        Some(LogLevel::Other("notice-ish".into()))
    );
    assert_eq!(LogLevel::from_name("CRITICAL"), LogLevel::Error);
    assert_eq!(LogLevel::from_name("Warn"), LogLevel::Warn);

    let mut log = TaskLog::default();
    for e in entries {
        log.push_log_entry(e);
    }
    assert_eq!(log.get(2).unwrap().level, Some(LogLevel::Error));
    assert_eq!(log.get(2).unwrap().rendered.kind, LineKind::Log);
    assert_eq!(log.search("chrome CRASHED"), vec![2]);
}

#[test]
fn clock_and_answered_requests() {
    // 2024-03-23T16:08:21.210Z
    assert_eq!(Micros(1_711_210_101_210_000).utc_hms(), "16:08:21");
    assert_eq!(Micros(0).utc_hms(), "00:00:00");
    let mut log = TaskLog::default();
    log.push_text(r#"{"type":"input_request","id":"1-0","request_id":"r1","data":"Name?","password":"False"}"#);
    assert!(!log.was_answered("r1"));
    log.push_text(r#"{"type":"input_response","id":"1-1","request_id":"r1","data":"Ada"}"#);
    assert!(log.was_answered("r1"));
    assert!(log.pending_prompt().is_none());
}
