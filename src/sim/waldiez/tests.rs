//! End-to-end tests of the simulated Waldiez Runner and AgentStation log stream on
//! 127.0.0.1:0: tokens and their refresh, the task REST routes, the task WebSocket (each
//! way of passing the token, each 403, status first, replay with stable ids, answers over
//! the socket and REST echoed to every viewer, timeouts, the socket outliving its task) and
//! the SSE log stream. Spoken with raw reqwest and tokio-tungstenite clients, so the tests
//! see the wire as a client would; messages are also read with the viewer's own parser.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use crate::core::source::tasklog::{
    self, AgentEvent, LogLevel, PrintContent, SseParser, TaskMessage, parse_log_entry,
};
use crate::sim::test_fixtures::{IO_TIMEOUT, http, small};
use crate::sim::*;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// How long "nothing more arrives" is watched.
pub(super) const QUIET: Duration = Duration::from_millis(400);

pub(super) async fn sim_with(cfg: SimConfig) -> SimHandle {
    SimHandle::start(small(cfg)).await.unwrap()
}

/// A simulator whose sockets take answers within 100 ms (the runner's 5 s where a test
/// says so).
pub(super) async fn sim() -> SimHandle {
    sim_with(SimConfig {
        waldiez_echo_delay_ms: 100,
        ..SimConfig::default()
    })
    .await
}

/// `POST /auth/token` with a form body.
async fn token_raw(sim: &SimHandle, form: &str) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/auth/token", sim.waldiez_base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

/// A token pair for the simulator's client.
async fn tokens(sim: &SimHandle) -> Value {
    let form = format!(
        "client_id={}&client_secret={}",
        sim.waldiez_client_id(),
        sim.waldiez_client_secret()
    );
    let (code, body) = token_raw(sim, &form).await;
    assert_eq!(code, 200, "{body}");
    body
}

pub(super) async fn access(sim: &SimHandle) -> String {
    tokens(sim).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn refresh_raw(sim: &SimHandle, body: Value) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/auth/token/refresh", sim.waldiez_base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

/// `GET /api/v1/tasks/{id}` with `token` as the bearer.
pub(super) async fn get_task(sim: &SimHandle, id: &str, token: &str) -> (u16, Value) {
    let resp = http()
        .get(format!("{}/api/v1/tasks/{id}", sim.waldiez_base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

pub(super) async fn post_input(
    sim: &SimHandle,
    id: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let resp = http()
        .post(format!(
            "{}/api/v1/tasks/{id}/input",
            sim.waldiez_base_url()
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

/// How a socket passes its token.
#[derive(Clone, Copy, Debug)]
enum Auth<'a> {
    Query(&'a str),
    Cookie(&'a str),
    Header(&'a str),
    Subprotocol(&'a str),
    None,
}

/// Opens `/ws/{id}`: the socket and its accepted subprotocol, or the refusal's status.
async fn open(sim: &SimHandle, id: &str, auth: Auth<'_>) -> Result<(Ws, Option<String>), u16> {
    let ws_base = sim.waldiez_base_url().replacen("http://", "ws://", 1);
    let mut url = format!("{ws_base}/ws/{id}");
    if let Auth::Query(t) = auth {
        url.push_str(&format!("?access_token={t}"));
    }
    let mut req = url.into_client_request().unwrap();
    let headers = req.headers_mut();
    match auth {
        Auth::Cookie(t) => {
            let v = format!("theme=dark; access_token={t}");
            headers.insert("Cookie", v.parse().unwrap());
        }
        Auth::Header(t) => {
            headers.insert("Authorization", format!("Bearer {t}").parse().unwrap());
        }
        Auth::Subprotocol(t) => {
            let v = format!("tasks-api, {t}");
            headers.insert("Sec-WebSocket-Protocol", v.parse().unwrap());
        }
        Auth::Query(_) | Auth::None => {}
    }
    let host = req.uri().authority().unwrap().to_string();
    let tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    match tokio_tungstenite::client_async(req, tcp).await {
        Ok((ws, resp)) => {
            let protocol = resp
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap().to_string());
            Ok((ws, protocol))
        }
        Err(tungstenite::Error::Http(resp)) => {
            assert!(resp.body().as_ref().is_none_or(|b| b.is_empty()));
            Err(resp.status().as_u16())
        }
        Err(e) => panic!("WebSocket handshake: {e}"),
    }
}

pub(super) async fn connect(sim: &SimHandle, id: &str, token: &str) -> Ws {
    open(sim, id, Auth::Query(token)).await.unwrap().0
}

/// What the server sent next.
#[derive(Debug)]
pub(super) enum Got {
    Json(Value, String),
    Pong,
    Closed,
    Nothing,
}

pub(super) async fn next(ws: &mut Ws, within: Duration) -> Got {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Got::Nothing,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Got::Closed,
            Ok(Some(Ok(Message::Text(t)))) => {
                return Got::Json(serde_json::from_str(&t).unwrap(), t.to_string());
            }
            Ok(Some(Ok(Message::Pong(_)))) => return Got::Pong,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// The next message, which must come.
pub(super) async fn msg(ws: &mut Ws) -> Value {
    match next(ws, IO_TIMEOUT).await {
        Got::Json(v, _) => v,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The next message's text, as sent.
async fn msg_text(ws: &mut Ws) -> String {
    match next(ws, IO_TIMEOUT).await {
        Got::Json(_, t) => t,
        other => panic!("expected a message, got {other:?}"),
    }
}

pub(super) async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Waits until `f` holds, for up to `IO_TIMEOUT`.
pub(super) async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The prompt `id` waits on, once it waits.
pub(super) async fn prompt(sim: &SimHandle, id: &str) -> WaldiezPrompt {
    until("a prompt", || sim.waldiez_prompt(id).is_some()).await;
    sim.waldiez_prompt(id).unwrap()
}

/// A plan storing `steps` at once, then waiting (running) for a minute.
pub(super) fn held(mut steps: Vec<WaldiezStep>) -> WaldiezPlan {
    steps.push(WaldiezStep::Pause(60_000));
    WaldiezPlan {
        step_ms: 0,
        ..WaldiezPlan::new(steps)
    }
}

#[tokio::test]
async fn tokens_are_issued_for_the_client_only_and_open_the_task_routes() {
    let sim = sim().await;
    let before = clock::now_ms();
    let t = tokens(&sim).await;
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["audience"], "tasks-api");
    let expires = tasklog::Micros::from_json(&t["expires_at"])
        .unwrap()
        .as_micros()
        / 1000;
    let hour = 3_600_000;
    assert!((before as i64 + hour - 1_000..=clock::now_ms() as i64 + hour).contains(&expires));
    let refresh_expires = tasklog::Micros::from_json(&t["refresh_expires_at"]).unwrap();
    assert!(refresh_expires.as_micros() / 1000 > expires + hour);
    assert_ne!(t["access_token"], t["refresh_token"]);

    let bad = "client_id=sim-waldiez-client&client_secret=nope";
    assert_eq!(
        token_raw(&sim, bad).await,
        (401, json!({ "detail": "Invalid credentials." }))
    );
    let (code, _) = token_raw(&sim, "client_id=sim-waldiez-client").await;
    assert_eq!(code, 422);

    let token = t["access_token"].as_str().unwrap();
    let (code, task) = get_task(&sim, "demo", token).await;
    assert_eq!(code, 200, "{task}");
    assert_eq!(task["id"], "demo");
    assert_eq!(task["status"], "RUNNING");
    assert_eq!(task["input_timeout"], 180);
    assert_eq!(task["client_id"], "sim-waldiez-client");
    assert_eq!(
        get_task(&sim, "nope", token).await,
        (404, json!({ "detail": "Task not found" }))
    );
    assert_eq!(get_task(&sim, "demo", "forged").await.0, 401);
    let refresh = t["refresh_token"].as_str().unwrap();
    assert_eq!(get_task(&sim, "demo", refresh).await.0, 401);
    // Optexity's route of the same path still answers Optexity clients.
    let resp = http()
        .get(format!("{}/api/v1/tasks/demo", sim.base_url()))
        .header("x-api-key", sim.api_key())
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({ "task_id": "demo", "status": "running" }));
}

#[tokio::test]
async fn access_tokens_expire_everywhere_and_refresh_tokens_renew_them() {
    let sim = sim_with(SimConfig {
        waldiez_token_ttl_ms: 400,
        waldiez_refresh_ttl_ms: 1_500,
        ..SimConfig::default()
    })
    .await;
    let t = tokens(&sim).await;
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(get_task(&sim, "demo", &access).await.0, 200);
    assert!(open(&sim, "demo", Auth::Header(&access)).await.is_ok());

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(get_task(&sim, "demo", &access).await.0, 401);
    let answer = json!({ "request_id": "x", "data": "y" });
    assert_eq!(post_input(&sim, "demo", &access, answer).await.0, 401);
    assert_eq!(
        open(&sim, "demo", Auth::Header(&access)).await.err(),
        Some(403)
    );

    let (code, renewed) = refresh_raw(&sim, json!({ "refresh_token": refresh })).await;
    assert_eq!(code, 200, "{renewed}");
    assert_eq!(renewed["token_type"], "bearer");
    let fresh = renewed["access_token"].as_str().unwrap();
    assert_eq!(get_task(&sim, "demo", fresh).await.0, 200);
    assert!(open(&sim, "demo", Auth::Header(fresh)).await.is_ok());

    // An access token is not a refresh token; garbage is neither.
    let (code, body) = refresh_raw(&sim, json!({ "refresh_token": fresh })).await;
    assert_eq!((code, &body["detail"]), (400, &json!("Invalid token type")));
    assert_eq!(
        refresh_raw(&sim, json!({ "refresh_token": "junk" }))
            .await
            .0,
        401
    );
    assert_eq!(refresh_raw(&sim, json!({})).await.0, 422);

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        refresh_raw(&sim, json!({ "refresh_token": refresh })).await,
        (401, json!({ "detail": "Expired refresh token" }))
    );
}

#[tokio::test]
async fn each_way_of_passing_the_token_is_accepted() {
    let sim = sim().await;
    let token = access(&sim).await;
    for auth in [
        Auth::Query(&token),
        Auth::Cookie(&token),
        Auth::Header(&token),
        Auth::Subprotocol(&token),
    ] {
        let (mut ws, protocol) = open(&sim, "demo", auth).await.unwrap();
        let expected = matches!(auth, Auth::Subprotocol(_)).then(|| "tasks-api".to_string());
        assert_eq!(protocol, expected, "{auth:?}");
        let first = msg(&mut ws).await;
        assert_eq!(first["type"], "status", "{auth:?}");
        assert_eq!(first["data"]["task_id"], "demo");
    }
}

#[tokio::test]
async fn every_refusal_is_a_403_before_the_upgrade() {
    let sim = sim_with(SimConfig {
        waldiez_max_viewers: 2,
        ..SimConfig::default()
    })
    .await;
    let token = access(&sim).await;
    sim.add_waldiez_task("live", held(vec![]));
    sim.add_waldiez_task("ending", held(vec![]));
    sim.set_waldiez_status("ending", WaldiezStatus::Cancelled);

    // Bad tokens, in each place; the first place holding a token decides.
    assert_eq!(open(&sim, "live", Auth::None).await.err(), Some(403));
    assert_eq!(
        open(&sim, "live", Auth::Query("junk")).await.err(),
        Some(403)
    );
    assert_eq!(
        open(&sim, "live", Auth::Cookie("junk")).await.err(),
        Some(403)
    );
    assert_eq!(
        open(&sim, "live", Auth::Header("junk")).await.err(),
        Some(403)
    );
    let refresh = tokens(&sim).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        open(&sim, "live", Auth::Subprotocol(&refresh)).await.err(),
        Some(403)
    );
    // Unknown and finished tasks (the demo `done` one, and one cancelled by a hook).
    for task in ["nope", "done", "ending"] {
        assert_eq!(
            open(&sim, task, Auth::Query(&token)).await.err(),
            Some(403),
            "{task}"
        );
    }
    // Too many viewers: the cap is per task, and a viewer leaving frees its place.
    let (first, _) = open(&sim, "live", Auth::Query(&token)).await.unwrap();
    let (_second, _) = open(&sim, "live", Auth::Header(&token)).await.unwrap();
    until("two viewers", || sim.waldiez_viewers("live") == 2).await;
    assert_eq!(
        open(&sim, "live", Auth::Query(&token)).await.err(),
        Some(403)
    );
    assert!(open(&sim, "demo", Auth::Query(&token)).await.is_ok());
    drop(first);
    until("a viewer left", || sim.waldiez_viewers("live") == 1).await;
    assert!(open(&sim, "live", Auth::Query(&token)).await.is_ok());
}

#[tokio::test]
async fn viewers_get_the_status_then_the_last_50_stored_messages_then_the_same_live_ones() {
    let sim = sim().await;
    let token = access(&sim).await;
    let mut steps: Vec<_> = (0..60)
        .map(|i| WaldiezStep::print(&format!("line {i}")))
        .collect();
    steps.push(WaldiezStep::ask("Go on? "));
    steps.push(WaldiezStep::text("assistant", "user_proxy", "Going on."));
    sim.add_waldiez_task("t", held(steps));
    let asked = prompt(&sim, "t").await;
    let stored = sim.waldiez_history("t");
    assert_eq!(stored.len(), 61);

    let mut viewers = Vec::new();
    for _ in 0..2 {
        let mut ws = connect(&sim, "t", &token).await;
        let status = msg(&mut ws).await;
        assert_eq!(status["type"], "status");
        assert!(status["timestamp"].is_u64(), "{status}");
        assert_eq!(status["data"]["status"], "WAITING_FOR_INPUT");
        assert_eq!(
            status["data"]["input_request_id"],
            asked.request_id.as_str()
        );
        let mut replayed = Vec::new();
        for _ in 0..REPLAY_MESSAGES {
            replayed.push(msg(&mut ws).await);
        }
        assert_eq!(replayed, stored[11..], "the last 50, as stored");
        viewers.push((ws, replayed));
    }
    let ids: Vec<&str> = viewers[0]
        .1
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for pair in ids.windows(2) {
        let key = |id: &str| {
            let (ms, seq) = id.split_once('-').unwrap();
            (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
        };
        assert!(key(pair[0]) < key(pair[1]), "{pair:?}");
    }
    let first = &viewers[0].1[0];
    assert_eq!(first["type"], "print");
    assert_eq!(first["data"], "line 11\n");
    assert_eq!(first["task_id"], "t");
    assert!(first["timestamp"].as_str().unwrap().parse::<u64>().is_ok());
    let request = &viewers[0].1[49];
    assert_eq!(request["type"], "input_request");
    assert_eq!(request["request_id"], asked.request_id.as_str());
    assert_eq!(request["data"], "Go on? ");
    assert_eq!(request["password"], "False");

    // Another operator answers: both viewers get the same echo, then the same live print.
    assert!(sim.answer_waldiez("t", &asked.request_id, "yes"));
    let mut live = Vec::new();
    for (ws, _) in &mut viewers {
        live.push((msg_text(ws).await, msg_text(ws).await));
    }
    assert_eq!(live[0], live[1]);
    let echo: Value = serde_json::from_str(&live[0].0).unwrap();
    assert_eq!(echo["type"], "input_response");
    assert_eq!(echo["request_id"], asked.request_id.as_str());
    assert_eq!(echo["data"], "yes");
    let said = tasklog::parse(&live[0].1).unwrap();
    let TaskMessage::Print(print) = said else {
        panic!("{said:?}")
    };
    assert_eq!(
        print.content,
        PrintContent::Event(AgentEvent::Text {
            sender: Some("assistant".into()),
            recipient: Some("user_proxy".into()),
            content: "Going on.".into(),
        })
    );

    // A late joiner's replay ends with the same messages, ids and all.
    let mut late = connect(&sim, "t", &token).await;
    let mut texts = Vec::new();
    for _ in 0..=REPLAY_MESSAGES {
        texts.push(msg_text(&mut late).await);
    }
    assert_eq!(
        texts[REPLAY_MESSAGES - 1..],
        [live[0].0.clone(), live[0].1.clone()]
    );
}

#[tokio::test]
async fn answers_over_the_socket_and_rest_reach_the_task_and_every_viewer() {
    let sim = sim().await;
    let token = access(&sim).await;
    sim.add_waldiez_task(
        "t",
        held(vec![
            WaldiezStep::ask("Name? "),
            WaldiezStep::password("Password: "),
            WaldiezStep::print("thanks"),
        ]),
    );
    let first = prompt(&sim, "t").await;
    let mut a = connect(&sim, "t", &token).await;
    let mut b = connect(&sim, "t", &token).await;
    for ws in [&mut a, &mut b] {
        assert_eq!(msg(ws).await["type"], "status");
        assert_eq!(msg(ws).await["request_id"], first.request_id.as_str());
    }

    // Wrong ids and bad payloads change nothing; a bad payload is told so, alone.
    send(
        &mut a,
        json!({ "type": "input_response", "request_id": "other", "data": "x" }),
    )
    .await;
    send(
        &mut a,
        json!({ "type": "input_response", "request_id": first.request_id }),
    )
    .await;
    assert_eq!(
        msg(&mut a).await,
        json!({ "error": "Invalid input payload" })
    );
    a.send(Message::Text("not json".into())).await.unwrap();
    assert_eq!(
        msg(&mut a).await,
        json!({ "error": "Invalid input payload" })
    );
    assert!(matches!(next(&mut b, QUIET).await, Got::Nothing));
    assert_eq!(sim.waldiez_prompt("t"), Some(first.clone()));
    let wrong = json!({ "request_id": "other", "data": "x" });
    assert_eq!(
        post_input(&sim, "t", &token, wrong).await,
        (400, json!({ "detail": "Invalid input request" }))
    );

    // Answer over the socket.
    let answer = json!({ "type": "input_response", "request_id": first.request_id, "data": "Ada" });
    send(&mut a, answer).await;
    for ws in [&mut a, &mut b] {
        let echo = msg(ws).await;
        assert_eq!(echo["type"], "input_response");
        assert_eq!(echo["request_id"], first.request_id.as_str());
        assert_eq!(echo["data"], "Ada");
    }
    let second = prompt(&sim, "t").await;
    assert!(second.password);
    assert_ne!(second.request_id, first.request_id);
    let (_, task) = get_task(&sim, "t", &token).await;
    assert_eq!(task["status"], "WAITING_FOR_INPUT");
    assert_eq!(task["input_request_id"], second.request_id.as_str());
    for ws in [&mut a, &mut b] {
        let request = msg(ws).await;
        assert_eq!(request["type"], "input_request");
        assert_eq!(request["password"], "True");
        assert_eq!(request["data"], "Password: ");
    }
    // A stale id over REST is refused; the right one is taken, once.
    let stale = json!({ "request_id": first.request_id, "data": "again" });
    assert_eq!(post_input(&sim, "t", &token, stale).await.0, 400);
    let body = json!({ "request_id": second.request_id, "data": "hunter2" });
    assert_eq!(post_input(&sim, "t", &token, body.clone()).await.0, 204);
    for ws in [&mut a, &mut b] {
        let echo = msg(ws).await;
        assert_eq!(echo["request_id"], second.request_id.as_str());
        assert_eq!(echo["data"], "hunter2");
        assert_eq!(msg(ws).await["data"], "thanks\n");
    }
    // Not waiting any more.
    assert_eq!(post_input(&sim, "t", &token, body).await.0, 400);
    let unknown = json!({ "request_id": "r", "data": "d" });
    assert_eq!(
        post_input(&sim, "nope", &token, unknown).await,
        (404, json!({ "detail": "Task nope not found" }))
    );
    assert_eq!(
        post_input(&sim, "t", &token, json!({ "data": "d" }))
            .await
            .0,
        422
    );
    assert_eq!(sim.waldiez_answers("t"), ["Ada", "hunter2"]);
    assert_eq!(get_task(&sim, "t", &token).await.1["status"], "RUNNING");
}

#[tokio::test]
async fn an_unanswered_prompt_times_out_and_the_task_goes_on_with_nothing() {
    let sim = sim().await;
    let token = access(&sim).await;
    sim.add_waldiez_task(
        "t",
        WaldiezPlan {
            input_timeout_ms: 600,
            ..held(vec![
                WaldiezStep::ask("Anyone? "),
                WaldiezStep::print("alone"),
            ])
        },
    );
    let asked = prompt(&sim, "t").await;
    let (_, task) = get_task(&sim, "t", &token).await;
    assert_eq!(task["input_timeout"], 1);
    assert_eq!(task["input_request_id"], asked.request_id.as_str());
    let mut ws = connect(&sim, "t", &token).await;
    assert_eq!(msg(&mut ws).await["type"], "status");
    assert_eq!(msg(&mut ws).await["type"], "input_request");
    let echo = msg(&mut ws).await;
    assert_eq!(echo["type"], "input_response");
    assert_eq!(echo["request_id"], asked.request_id.as_str());
    assert_eq!(echo["data"], "");
    assert_eq!(msg(&mut ws).await["data"], "alone\n");
    assert_eq!(sim.waldiez_prompt("t"), None);
    assert!(sim.waldiez_answers("t").is_empty());
    // Too late now.
    send(
        &mut ws,
        json!({ "request_id": asked.request_id, "data": "me" }),
    )
    .await;
    assert!(matches!(next(&mut ws, QUIET).await, Got::Nothing));
    assert!(sim.waldiez_answers("t").is_empty());
}

#[tokio::test]
async fn a_finished_task_keeps_its_sockets_open_but_sends_nothing_more() {
    let sim = sim().await;
    let token = access(&sim).await;
    sim.add_waldiez_task(
        "t",
        WaldiezPlan {
            pending_ms: 300,
            step_ms: 50,
            end: WaldiezStatus::Failed,
            ..WaldiezPlan::new(vec![
                WaldiezStep::print("working"),
                WaldiezStep::termination("Maximum turns (3) reached"),
            ])
        },
    );
    let mut ws = connect(&sim, "t", &token).await;
    let status = msg(&mut ws).await;
    assert_eq!(status["data"]["status"], "PENDING");
    assert_eq!(status["data"]["input_request_id"], Value::Null);
    assert_eq!(msg(&mut ws).await["data"], "working\n");
    let end = msg_text(&mut ws).await;
    let TaskMessage::Print(print) = tasklog::parse(&end).unwrap() else {
        panic!("{end}")
    };
    assert_eq!(
        print.content,
        PrintContent::Event(AgentEvent::Termination {
            reason: "Maximum turns (3) reached".into()
        })
    );
    until("the end", || {
        sim.waldiez_status("t") == Some(WaldiezStatus::Failed)
    })
    .await;
    assert_eq!(get_task(&sim, "t", &token).await.1["status"], "FAILED");
    assert!(matches!(next(&mut ws, QUIET).await, Got::Nothing));
    ws.send(Message::Ping(b"still there?".to_vec().into()))
        .await
        .unwrap();
    assert!(matches!(next(&mut ws, IO_TIMEOUT).await, Got::Pong));
    assert_eq!(sim.waldiez_viewers("t"), 1);
    assert_eq!(open(&sim, "t", Auth::Query(&token)).await.err(), Some(403));

    // Ended from outside: the prompt goes, the socket stays.
    sim.add_waldiez_task("u", held(vec![WaldiezStep::ask("? ")]));
    prompt(&sim, "u").await;
    let mut ws = connect(&sim, "u", &token).await;
    msg(&mut ws).await;
    msg(&mut ws).await;
    sim.set_waldiez_status("u", WaldiezStatus::Cancelled);
    assert_eq!(sim.waldiez_prompt("u"), None);
    let (_, task) = get_task(&sim, "u", &token).await;
    assert_eq!(
        (&task["status"], &task["input_request_id"]),
        (&json!("CANCELLED"), &Value::Null)
    );
    assert!(matches!(next(&mut ws, QUIET).await, Got::Nothing));
}

#[tokio::test]
async fn dropped_and_replaced_tasks_close_their_sockets_abruptly() {
    let sim = sim().await;
    let token = access(&sim).await;
    sim.add_waldiez_task("t", held(vec![WaldiezStep::print("one")]));
    let mut a = connect(&sim, "t", &token).await;
    let mut b = connect(&sim, "demo", &token).await;
    msg(&mut a).await;
    msg(&mut b).await;
    sim.drop_waldiez_sockets();
    for ws in [&mut a, &mut b] {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(_))) => {}
                Some(Ok(Message::Close(_))) => panic!("a close frame: the drop was not abrupt"),
                _ => break,
            }
        }
    }
    until("no viewers", || sim.waldiez_viewers("t") == 0).await;

    let mut a = connect(&sim, "t", &token).await;
    assert_eq!(msg(&mut a).await["type"], "status");
    assert_eq!(msg(&mut a).await["data"], "one\n");
    sim.add_waldiez_task("t", held(vec![WaldiezStep::print("two")]));
    assert!(matches!(next(&mut a, IO_TIMEOUT).await, Got::Closed));
    let mut a = connect(&sim, "t", &token).await;
    msg(&mut a).await;
    assert_eq!(msg(&mut a).await["data"], "two\n");
    assert!(matches!(next(&mut a, QUIET).await, Got::Nothing));
}

#[tokio::test]
async fn print_data_may_go_out_as_objects() {
    let sim = sim_with(SimConfig {
        waldiez_print_objects: true,
        waldiez_echo_delay_ms: 100,
        ..SimConfig::default()
    })
    .await;
    let token = access(&sim).await;
    sim.add_waldiez_task(
        "t",
        held(vec![
            WaldiezStep::print("plain"),
            WaldiezStep::tool_call("a", "b", "c1", "lookup", json!({ "q": 1 })),
        ]),
    );
    until("stored", || sim.waldiez_history("t").len() == 2).await;
    let mut ws = connect(&sim, "t", &token).await;
    msg(&mut ws).await;
    assert_eq!(msg(&mut ws).await["data"], "plain\n");
    let call = msg_text(&mut ws).await;
    let v: Value = serde_json::from_str(&call).unwrap();
    assert_eq!(v["data"]["type"], "tool_call");
    let TaskMessage::Print(print) = tasklog::parse(&call).unwrap() else {
        panic!("{call}")
    };
    let PrintContent::Event(AgentEvent::ToolCalls { calls, .. }) = print.content else {
        panic!("{call}")
    };
    assert_eq!(calls[0].name, "lookup");
    assert_eq!(calls[0].arguments, r#"{"q":1}"#);
}

#[tokio::test]
async fn demo_tasks_chat_ask_and_end_as_described() {
    let sim = sim_with(SimConfig {
        waldiez_step_ms: 20,
        waldiez_echo_delay_ms: 100,
        ..SimConfig::default()
    })
    .await;
    let token = access(&sim).await;
    let ids: Vec<String> = sim
        .demo_waldiez_tasks()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["demo", "human", "done", "short"]);
    // `demo` and `human` pair with the Optexity demo tasks of the same ids.
    let optexity: Vec<String> = sim.demo_tasks().into_iter().map(|(id, _)| id).collect();
    assert!(optexity.contains(&"demo".to_string()) && optexity.contains(&"human".to_string()));

    let mut ws = connect(&sim, "demo", &token).await;
    let asked = prompt(&sim, "demo").await;
    assert!(!asked.password);
    let mut kinds = Vec::new();
    loop {
        let text = msg_text(&mut ws).await;
        let parsed = tasklog::parse(&text).unwrap();
        let kind = match &parsed {
            TaskMessage::Status(_) => "status",
            TaskMessage::Print(p) => match &p.content {
                PrintContent::Text(_) => "print",
                PrintContent::Event(AgentEvent::Text { .. }) => "text",
                PrintContent::Event(AgentEvent::ToolCalls { .. }) => "tool_call",
                PrintContent::Event(AgentEvent::ToolResult { .. }) => "tool_result",
                PrintContent::Event(_) => "other event",
            },
            TaskMessage::InputRequest(_) => "input_request",
            TaskMessage::InputResponse(_) => "input_response",
            TaskMessage::Raw { .. } => "raw",
        };
        kinds.push(kind);
        if let TaskMessage::InputRequest(r) = parsed {
            assert_eq!(r.request_id, asked.request_id);
            break;
        }
    }
    for kind in ["status", "print", "text", "tool_call", "tool_result"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(!kinds.contains(&"raw"), "{kinds:?}");

    let human = prompt(&sim, "human").await;
    assert!(human.password, "the human task asks for a password first");
    assert!(sim.answer_waldiez("human", &human.request_id, "s3cret"));
    until("the second question", || {
        sim.waldiez_prompt("human").is_some_and(|p| !p.password)
    })
    .await;
    assert_eq!(sim.waldiez_answers("human"), ["s3cret"]);

    assert_eq!(sim.waldiez_status("done"), Some(WaldiezStatus::Completed));
    until("short completes", || {
        sim.waldiez_status("short") == Some(WaldiezStatus::Completed)
    })
    .await;
    let history = sim.waldiez_history("short");
    let last = history.last().unwrap();
    assert!(
        last["data"].as_str().unwrap().contains("termination"),
        "{last}"
    );
    // It starts over 30 steps later.
    until("short restarts", || {
        sim.waldiez_status("short") == Some(WaldiezStatus::Running)
    })
    .await;
}

// ---- AgentStation log stream ------------------------------------------------------------

async fn log_url_raw(sim: &SimHandle, id: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = http().post(format!(
        "{}/v1/workstations/{id}/log/stream",
        sim.agentstation_base_url()
    ));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

async fn log_url(sim: &SimHandle, id: &str) -> String {
    let (code, body) = log_url_raw(sim, id, Some(sim.agentstation_token())).await;
    assert_eq!(code, 200, "{body}");
    body["url"].as_str().unwrap().to_string()
}

/// An open event stream and what was read of it.
struct Events {
    resp: reqwest::Response,
    parser: SseParser,
    raw: String,
}

impl Events {
    async fn open(url: &str, last_id: Option<&str>) -> Events {
        let mut req = http().get(url);
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let kind = resp.headers()["content-type"].to_str().unwrap();
        assert_eq!(kind, "text/event-stream");
        Events {
            resp,
            parser: SseParser::default(),
            raw: String::new(),
        }
    }

    /// The next `n` events; `None` if the stream ended first.
    async fn take(&mut self, n: usize) -> Option<Vec<tasklog::SseEvent>> {
        let mut out = Vec::new();
        while out.len() < n {
            let chunk = tokio::time::timeout(IO_TIMEOUT, self.resp.chunk())
                .await
                .expect("no event in time")
                .unwrap()?;
            self.raw.push_str(&String::from_utf8_lossy(&chunk));
            for event in self.parser.feed(&chunk) {
                out.push(event.unwrap());
            }
        }
        Some(out)
    }
}

#[tokio::test]
async fn agentstation_log_stream_urls_and_their_errors() {
    let sim = sim().await;
    let (code, body) = log_url_raw(&sim, "ws-demo", None).await;
    assert_eq!(code, 401);
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    assert_eq!(log_url_raw(&sim, "ws-demo", Some("wrong")).await.0, 401);
    let (code, body) = log_url_raw(&sim, "ws-nope", Some(sim.agentstation_token())).await;
    assert_eq!(code, 422);
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    let url = log_url(&sim, "ws-demo").await;
    let prefix = format!("{}/agentstation/log/ws-demo?token=", sim.base_url());
    assert!(url.starts_with(&prefix), "{url}");
    // The token is bound to its workstation.
    let other = url.replacen("/ws-demo?", "/ws-idle?", 1);
    assert_eq!(
        http().get(other).send().await.unwrap().status().as_u16(),
        401
    );
    let forged = format!("{prefix}junk");
    assert_eq!(
        http().get(forged).send().await.unwrap().status().as_u16(),
        401
    );
}

#[tokio::test]
async fn agentstation_log_streams_carry_json_entries_keepalives_and_injected_junk() {
    let sim = sim_with(SimConfig {
        agentstation_log_interval_ms: 30,
        agentstation_keepalive_ms: 100,
        ..SimConfig::default()
    })
    .await;
    let url = log_url(&sim, "ws-demo").await;
    let mut events = Events::open(&url, None).await;
    let first = events.take(5).await.unwrap();
    let ids: Vec<_> = first.iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    for e in &first {
        let entry = parse_log_entry(&e.data);
        assert!(entry.structured, "{}", e.data);
        assert!(entry.timestamp.is_some(), "{}", e.data);
        assert!(
            !matches!(entry.level, None | Some(LogLevel::Other(_))),
            "{}",
            e.data
        );
    }
    assert_eq!(events.parser.retry_ms(), Some(2_000));
    assert_eq!(sim.agentstation_log_streams("ws-demo"), 1);

    assert_eq!(
        sim.inject_agentstation_raw("ws-demo", "data: {not json\n\n"),
        1
    );
    let mut junk = None;
    for _ in 0..50 {
        let e = events.take(1).await.unwrap().remove(0);
        if !parse_log_entry(&e.data).structured {
            junk = Some(e.data);
            break;
        }
    }
    assert_eq!(junk.as_deref(), Some("{not json"));

    // Resuming after an id numbers on from it.
    let mut resumed = Events::open(&url, Some("41")).await;
    assert_eq!(resumed.take(1).await.unwrap()[0].id.as_deref(), Some("42"));

    // Ending: the body ends.
    assert_eq!(sim.end_agentstation_logs("ws-demo"), 2);
    while events.take(1).await.is_some() {}
    while resumed.take(1).await.is_some() {}
    until("streams closed", || {
        sim.agentstation_log_streams("ws-demo") == 0
    })
    .await;

    // A quiet workstation sends keep-alive comments only.
    let mut idle = Events::open(&log_url(&sim, "ws-idle").await, None).await;
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    while idle.raw.matches(": keep-alive").count() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no keep-alives");
        let chunk = tokio::time::timeout(IO_TIMEOUT, idle.resp.chunk())
            .await
            .unwrap();
        let chunk = chunk.unwrap().unwrap();
        idle.raw.push_str(&String::from_utf8_lossy(&chunk));
        assert!(
            idle.parser.feed(&chunk).is_empty(),
            "an idle workstation logged"
        );
    }
}
