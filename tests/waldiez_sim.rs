//! Task logs end to end against the built-in simulator's Waldiez Runner and AgentStation log
//! stream: every way of presenting the token, token refresh, prompts answered over the
//! socket, over REST and by another viewer, password masking, each 403 case, the final
//! status of a socket that never closes, and `lookout logs` / `lookout answer` as scripts
//! run them. Most tests give the simulated runner a quick socket (answers taken within
//! 200 ms); the tests of issue 17's items give it the real runner's timing (a socket answer
//! waits for a 5 s blocking read).

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use lookout::core::config::{AgentStationSettings, Settings, WaldiezSettings};
use lookout::core::event::{Command, ErrorKind, SessionEvent, SessionState};
use lookout::core::provider::waldiez::{Credentials, WaldiezClient, WaldiezError, WsAuth};
use lookout::core::redact::Secret;
use lookout::core::session::{self, Backoff, SessionConfig, SessionHandle};
use lookout::core::source::SourceSpec;
use lookout::core::source::tasklog::{LineKind, MASK, TaskStatus};
use lookout::sim::{SimConfig, SimHandle, WaldiezPlan, WaldiezStatus, WaldiezStep};
use support::{eventually, wait_event, wait_state};

async fn sim_with(cfg: SimConfig) -> SimHandle {
    SimHandle::start(SimConfig {
        width: 320,
        height: 240,
        ..cfg
    })
    .await
    .unwrap()
}

/// A simulator whose sockets take answers within 200 ms.
async fn sim() -> SimHandle {
    sim_with(SimConfig {
        waldiez_echo_delay_ms: 200,
        ..SimConfig::default()
    })
    .await
}

/// A simulator timed like the real runner (socket answers wait up to 5 s).
async fn real_timed_sim() -> SimHandle {
    sim_with(SimConfig::default()).await
}

fn client_credentials(sim: &SimHandle) -> Credentials {
    Credentials::Client {
        id: sim.waldiez_client_id().to_string(),
        secret: Secret::new(sim.waldiez_client_secret()),
    }
}

fn config(sim: &SimHandle, auth: WsAuth) -> SessionConfig {
    SessionConfig {
        settings: Settings {
            waldiez: WaldiezSettings {
                base_url: Some(sim.waldiez_base_url()),
                client_id: Some(sim.waldiez_client_id().to_string()),
                client_secret: Some(Secret::new(sim.waldiez_client_secret())),
                auth: Some(auth),
                ..WaldiezSettings::default()
            },
            agentstation: AgentStationSettings {
                base_url: Some(sim.agentstation_base_url()),
                token: Some(Secret::new(sim.agentstation_token())),
                ..AgentStationSettings::default()
            },
            ..Settings::default()
        },
        backoff: Backoff {
            initial_ms: 50,
            max_ms: 300,
        },
        status_poll_ms: 100,
        ..SessionConfig::default()
    }
}

fn spawn(source: &str, config: SessionConfig) -> SessionHandle {
    let source = source.parse::<SourceSpec>().unwrap();
    // Here `agentstation:` names the workstation's log, as it does for `lookout logs`.
    let source = source.as_log().unwrap_or(source);
    session::spawn(
        &tokio::runtime::Handle::current(),
        source,
        config,
        lookout::core::event::noop_waker(),
    )
}

fn texts(h: &SessionHandle) -> Vec<String> {
    h.log()
        .lock()
        .log
        .lines()
        .iter()
        .map(|l| l.rendered.text.clone())
        .collect()
}

fn chatter(n: usize) -> Vec<WaldiezStep> {
    (0..n)
        .map(|i| WaldiezStep::print(&format!("step {i}")))
        .collect()
}

/// A task that prints, asks `prompt` (a password prompt when `password`), then prints the
/// rest and completes.
fn asking(prompt: &str, password: bool) -> WaldiezPlan {
    let mut steps = vec![
        WaldiezStep::print("starting"),
        WaldiezStep::text("assistant", "user", "I need something from you"),
    ];
    steps.push(if password {
        WaldiezStep::password(prompt)
    } else {
        WaldiezStep::ask(prompt)
    });
    steps.push(WaldiezStep::print("thanks, going on"));
    WaldiezPlan {
        step_ms: 50,
        ..WaldiezPlan::new(steps)
    }
}

async fn wait_prompt(h: &SessionHandle) -> String {
    let mut id = None;
    eventually(Duration::from_secs(10), "a prompt to wait", || {
        id = h
            .log()
            .lock()
            .log
            .pending_prompt()
            .map(|p| p.request_id.clone());
        id.is_some()
    })
    .await;
    id.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_auth_method_reaches_the_log() {
    let sim = sim().await;
    for (i, auth) in [
        WsAuth::Subprotocol,
        WsAuth::Bearer,
        WsAuth::Cookie,
        WsAuth::Query,
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("auth-{i}");
        sim.add_waldiez_task(
            &id,
            WaldiezPlan {
                step_ms: 30,
                repeat: true,
                ..WaldiezPlan::new(chatter(5))
            },
        );
        let mut h = spawn(&format!("waldiez:{id}"), config(&sim, auth));
        wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
        eventually(Duration::from_secs(5), "log lines", || {
            texts(&h).iter().any(|t| t.contains("step 3"))
        })
        .await;
        assert!(h.log().lock().active);
        h.send(Command::Stop);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_token_works_and_an_expired_one_is_renewed() {
    let sim = sim_with(SimConfig {
        waldiez_token_ttl_ms: 1_500,
        ..SimConfig::default()
    })
    .await;
    sim.add_waldiez_task(
        "t",
        WaldiezPlan {
            step_ms: 50,
            repeat: true,
            ..WaldiezPlan::new(chatter(3))
        },
    );
    let http = lookout::core::net::http_client().unwrap();
    let creds = WaldiezClient::new(
        http.clone(),
        Some(&sim.waldiez_base_url()),
        Some(client_credentials(&sim)),
        WsAuth::Subprotocol,
    );
    let token = creds.token().await.unwrap();
    // The same token, given as WALDIEZ_TOKEN would give it.
    let given = WaldiezClient::new(
        http,
        Some(&sim.waldiez_base_url()),
        Some(Credentials::Token(token.clone())),
        WsAuth::Subprotocol,
    );
    assert_eq!(given.task("t").await.unwrap().status, TaskStatus::Running);
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert!(matches!(
        given.task("t").await,
        Err(WaldiezError::Unauthorized { .. })
    ));
    // Client credentials renew before (or on) expiry.
    let renewed = creds.token().await.unwrap();
    assert_ne!(renewed, token, "an expired token was reused");
    assert_eq!(creds.task("t").await.unwrap().status, TaskStatus::Running);

    // A session outlives its first token: a reconnect after expiry gets a new one.
    let mut h = spawn("waldiez:t", config(&sim, WsAuth::Subprotocol));
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    sim.drop_waldiez_sockets();
    wait_state(&mut h, |s| matches!(s, SessionState::Reconnecting { .. })).await;
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_answered_over_the_socket_closes_and_the_task_goes_on() {
    let sim = sim().await;
    sim.add_waldiez_task("ask", asking("Which city?", false));
    let mut h = spawn("waldiez:ask", config(&sim, WsAuth::Subprotocol));
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    let request_id = wait_prompt(&h).await;
    {
        let state = h.log().lock();
        let p = state.log.pending_prompt().unwrap();
        assert_eq!(p.prompt.as_deref(), Some("Which city?"));
        assert!(!p.password);
        assert!(state.can_answer);
        assert_eq!(state.input_timeout_s, Some(180));
    }
    assert_eq!(sim.waldiez_prompt("ask").unwrap().request_id, request_id);
    h.send(Command::Answer {
        request_id: request_id.clone(),
        answer: Secret::new("Athens"),
    });
    let sent = wait_event(&mut h, |e| matches!(e, SessionEvent::AnswerSent { .. })).await;
    assert_eq!(
        sent,
        SessionEvent::AnswerSent {
            request_id: request_id.clone(),
            rest: false
        }
    );
    {
        // Closed as soon as it is sent, whatever the runner's echo takes.
        let state = h.log().lock();
        assert!(state.log.pending_prompt().is_none());
        assert!(state.log.was_sent(&request_id));
    }
    eventually(Duration::from_secs(5), "the runner to take it", || {
        sim.waldiez_answers("ask") == ["Athens"]
    })
    .await;
    eventually(Duration::from_secs(5), "the echo to confirm it", || {
        h.log().lock().log.unconfirmed_answer().is_none()
    })
    .await;
    assert!(h.log().lock().log.was_answered(&request_id));
    eventually(Duration::from_secs(5), "the task to go on", || {
        texts(&h).iter().any(|t| t.contains("going on"))
    })
    .await;
    // The answer is in the log as the runner echoed it.
    assert!(texts(&h).iter().any(|t| t.contains("Athens")));
    // The task completes; the runner keeps the socket open, the status poll sees the end.
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert_eq!(
        state,
        SessionState::Ended {
            reason: "The task completed".into(),
            task_failed: false,
        }
    );
    assert_eq!(
        h.log().lock().log.status(),
        Some(&TaskStatus::Completed),
        "the final status is shown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_answers_are_sent_but_never_kept() {
    let sim = sim().await;
    sim.add_waldiez_task("pw", asking("Vault password?", true));
    let mut h = spawn("waldiez:pw", config(&sim, WsAuth::Bearer));
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    let request_id = wait_prompt(&h).await;
    assert!(h.log().lock().log.pending_prompt().unwrap().password);
    h.send(Command::Answer {
        request_id: request_id.clone(),
        answer: Secret::new("hunter2-secret"),
    });
    eventually(Duration::from_secs(5), "the echo", || {
        h.log().lock().log.was_answered(&request_id)
    })
    .await;
    assert_eq!(sim.waldiez_answers("pw"), ["hunter2-secret"]);
    let lines = texts(&h);
    assert!(
        lines.iter().all(|t| !t.contains("hunter2")),
        "password in the log: {lines:?}"
    );
    let state = h.log().lock();
    let answer = state
        .log
        .lines()
        .iter()
        .find(|l| l.rendered.kind == LineKind::Answer)
        .expect("an answer line");
    assert!(
        answer.rendered.text.contains(MASK),
        "{}",
        answer.rendered.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_viewers_answer_closes_our_prompt() {
    let sim = sim().await;
    sim.add_waldiez_task("other", asking("Proceed?", false));
    let mut h = spawn("waldiez:other", config(&sim, WsAuth::Cookie));
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    let request_id = wait_prompt(&h).await;
    assert!(sim.answer_waldiez("other", &request_id, "yes from elsewhere"));
    eventually(Duration::from_secs(5), "the prompt to close", || {
        h.log().lock().log.pending_prompt().is_none()
    })
    .await;
    assert!(h.log().lock().log.was_answered(&request_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_goes_over_rest_while_the_socket_is_refused() {
    let sim = sim_with(SimConfig {
        waldiez_max_viewers: 1,
        ..SimConfig::default()
    })
    .await;
    sim.add_waldiez_task("busy", asking("Shall I buy it?", false));
    // The first viewer takes the only seat.
    let mut first = spawn("waldiez:busy", config(&sim, WsAuth::Subprotocol));
    wait_state(&mut first, |s| matches!(s, SessionState::Live(_))).await;
    let request_id = wait_prompt(&first).await;
    // The second is refused (403) and told why.
    let mut second = spawn("waldiez:busy", config(&sim, WsAuth::Subprotocol));
    let (state, _) = wait_state(&mut second, |s| {
        matches!(s, SessionState::Reconnecting { .. })
    })
    .await;
    let SessionState::Reconnecting { error, .. } = state else {
        unreachable!()
    };
    assert!(error.message.contains("too many viewers"), "{error}");
    assert_eq!(error.kind, ErrorKind::Unavailable);
    assert!(second.log().lock().can_answer, "REST can still answer");
    second.send(Command::Answer {
        request_id: request_id.clone(),
        answer: Secret::new("yes"),
    });
    let sent = wait_event(&mut second, |e| {
        matches!(
            e,
            SessionEvent::AnswerSent { .. } | SessionEvent::AnswerFailed { .. }
        )
    })
    .await;
    assert_eq!(
        sent,
        SessionEvent::AnswerSent {
            request_id: request_id.clone(),
            rest: true
        }
    );
    assert_eq!(sim.waldiez_answers("busy"), ["yes"]);
    // The first viewer sees it answered.
    eventually(
        Duration::from_secs(5),
        "the first viewer's prompt to close",
        || first.log().lock().log.pending_prompt().is_none(),
    )
    .await;
    // A second answer to the same prompt is refused with the runner's reason.
    second.send(Command::Answer {
        request_id,
        answer: Secret::new("again"),
    });
    let failed = wait_event(&mut second, |e| {
        matches!(
            e,
            SessionEvent::AnswerSent { .. } | SessionEvent::AnswerFailed { .. }
        )
    })
    .await;
    assert!(
        matches!(&failed, SessionEvent::AnswerFailed { message, .. } if message.contains("not waiting")),
        "{failed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_each_get_their_own_message() {
    let sim = sim_with(SimConfig {
        waldiez_max_viewers: 1,
        ..SimConfig::default()
    })
    .await;
    sim.add_waldiez_task(
        "over",
        WaldiezPlan::finished(WaldiezStatus::Failed, chatter(2)),
    );
    sim.add_waldiez_task(
        "full",
        WaldiezPlan {
            repeat: true,
            ..WaldiezPlan::new(chatter(2))
        },
    );
    // Unknown task.
    let mut h = spawn("waldiez:nope", config(&sim, WsAuth::Subprotocol));
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert!(
        matches!(&state, SessionState::Failed { error } if error.message.contains("nope not found (404)") && error.kind == ErrorKind::NotFound),
        "{state:?}"
    );
    // Finished task: ended with its outcome, the status in the log.
    let mut h = spawn("waldiez:over", config(&sim, WsAuth::Subprotocol));
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert_eq!(
        state,
        SessionState::Ended {
            reason: "The task failed".into(),
            task_failed: true,
        }
    );
    assert_eq!(h.log().lock().log.status(), Some(&TaskStatus::Failed));
    // Bad credentials.
    let mut bad = config(&sim, WsAuth::Subprotocol);
    bad.settings.waldiez.client_secret = Some(Secret::new("wrong-secret"));
    let mut h = spawn("waldiez:full", bad);
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert!(
        matches!(&state, SessionState::Failed { error } if error.message.contains("refused the credentials (401)") && !error.message.contains("wrong-secret") && error.kind == ErrorKind::Unauthorized),
        "{state:?}"
    );

    // The diagnosis itself, after a 403 on the socket, for each cause.
    let http = lookout::core::net::http_client().unwrap();
    let client = WaldiezClient::new(
        http.clone(),
        Some(&sim.waldiez_base_url()),
        Some(client_credentials(&sim)),
        WsAuth::Subprotocol,
    );
    assert!(matches!(
        client.diagnose_refusal("nope").await,
        WaldiezError::TaskNotFound { .. }
    ));
    assert_eq!(
        client.diagnose_refusal("over").await,
        WaldiezError::TaskFinished {
            status: TaskStatus::Failed
        }
    );
    assert_eq!(
        client.diagnose_refusal("full").await,
        WaldiezError::TooManyViewers
    );
    let stale = WaldiezClient::new(
        http,
        Some(&sim.waldiez_base_url()),
        Some(Credentials::Token(Secret::new("not-a-token"))),
        WsAuth::Subprotocol,
    );
    assert!(matches!(
        stale.diagnose_refusal("full").await,
        WaldiezError::Unauthorized { .. }
    ));

    // Without REST (`tasklog+ws://`), a 403 is explained as well as it can be.
    let url = format!(
        "tasklog+{}/ws/full?access_token=not-a-token",
        sim.waldiez_base_url().replace("http://", "ws://")
    );
    let mut h = spawn(&url, config(&sim, WsAuth::Subprotocol));
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert!(
        matches!(&state, SessionState::Failed { error } if error.message.contains("403") && !error.message.contains("not-a-token")),
        "{state:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_replays_history_without_duplicates() {
    let sim = sim().await;
    sim.add_waldiez_task(
        "replay",
        WaldiezPlan {
            step_ms: 40,
            ..WaldiezPlan::new(
                chatter(30)
                    .into_iter()
                    .chain([WaldiezStep::Pause(60_000)])
                    .collect(),
            )
        },
    );
    let mut h = spawn("waldiez:replay", config(&sim, WsAuth::Subprotocol));
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    eventually(Duration::from_secs(10), "all 30 steps", || {
        texts(&h).iter().any(|t| t.contains("step 29"))
    })
    .await;
    sim.drop_waldiez_sockets();
    wait_state(&mut h, |s| matches!(s, SessionState::Reconnecting { .. })).await;
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines = texts(&h);
    for i in 0..30 {
        let n = lines
            .iter()
            .filter(|t| t.trim_end() == format!("step {i}"))
            .count();
        assert_eq!(n, 1, "step {i} appears {n} times: {lines:?}");
    }
    assert!(h.log().lock().log.duplicates() > 0, "the replay was seen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentstation_log_lines_arrive_with_levels_and_survive_bad_events() {
    let sim = sim_with(SimConfig {
        agentstation_log_interval_ms: 30,
        ..SimConfig::default()
    })
    .await;
    sim.add_workstation("ws-test", true);
    let mut h = spawn("agentstation:ws-test", config(&sim, WsAuth::Subprotocol));
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    eventually(Duration::from_secs(5), "levelled lines", || {
        h.log()
            .lock()
            .log
            .lines()
            .iter()
            .filter(|l| l.level.is_some())
            .count()
            >= 5
    })
    .await;
    assert!(sim.inject_agentstation_raw("ws-test", "data: {not json\n\n") > 0);
    let before = h.log().lock().log.len();
    eventually(Duration::from_secs(5), "lines after the bad event", || {
        h.log().lock().log.len() > before + 3
    })
    .await;
    // The stream ends: the session resolves a fresh URL and goes on.
    assert!(sim.end_agentstation_logs("ws-test") > 0);
    wait_state(&mut h, |s| matches!(s, SessionState::Reconnecting { .. })).await;
    wait_state(&mut h, |s| matches!(s, SessionState::Live(_))).await;
    // Answers make no sense here.
    h.send(Command::Answer {
        request_id: "r".into(),
        answer: Secret::new("x"),
    });
    let e = wait_event(&mut h, |e| matches!(e, SessionEvent::AnswerFailed { .. })).await;
    assert!(
        matches!(e, SessionEvent::AnswerFailed { message, .. } if message.contains("no questions"))
    );
    // Errors with their own words.
    let mut cfg = config(&sim, WsAuth::Subprotocol);
    let mut h = spawn("agentstation:no-such-ws", cfg.clone());
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert!(
        matches!(&state, SessionState::Failed { error } if error.message.to_lowercase().contains("no workstation no-such-ws") && error.kind == ErrorKind::NotFound),
        "{state:?}"
    );
    cfg.settings.agentstation.token = Some(Secret::new("bad-token"));
    let mut h = spawn("agentstation:ws-test", cfg);
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert!(
        matches!(&state, SessionState::Failed { error } if error.message.contains("401") && error.kind == ErrorKind::Unauthorized),
        "{state:?}"
    );
}

fn lookout_cmd(sim: &SimHandle, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.args(args)
        .arg("--config")
        .arg("/nonexistent/lookout-test-config.toml")
        .arg("--waldiez-base-url")
        .arg(sim.waldiez_base_url())
        .env("WALDIEZ_CLIENT_ID", sim.waldiez_client_id())
        .env("WALDIEZ_CLIENT_SECRET", sim.waldiez_client_secret())
        .env_remove("WALDIEZ_TOKEN")
        .env_remove("LOOKOUT_PROFILE");
    cmd
}

/// Runs `cmd` with `input` on its stdin, collecting stdout and stderr.
async fn run_with_stdin(mut cmd: std::process::Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookout_logs_answers_from_piped_stdin_and_exits_with_the_outcome() {
    let sim = sim().await;
    sim.add_waldiez_task("cli", asking("Your name?", true));
    let out = run_with_stdin(lookout_cmd(&sim, &["logs", "waldiez:cli"]), b"Ada-secret\n").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(sim.waldiez_answers("cli"), ["Ada-secret"]);
    assert!(stdout.contains("Your name?"), "{stdout}");
    assert!(stdout.contains("going on"), "{stdout}");
    assert!(
        stderr.contains("Your name?"),
        "the question is put: {stderr}"
    );
    assert!(
        !stdout.contains("Ada-secret") && !stderr.contains("Ada-secret"),
        "password printed"
    );

    // A failing task: exit code 3, and --json lines.
    sim.add_waldiez_task(
        "bad",
        WaldiezPlan {
            // Running long enough (1.2 s) that `lookout logs` connects before the end even
            // when it starts slowly on a busy machine (at 30 ms a step it once did not).
            step_ms: 400,
            end: WaldiezStatus::Failed,
            ..WaldiezPlan::new(chatter(3))
        },
    );
    let out = lookout_cmd(&sim, &["logs", "waldiez:bad", "--json", "--no-input"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        objects
            .iter()
            .any(|o| o["text"].as_str().unwrap_or("").contains("step 2"))
    );
    assert!(
        objects
            .iter()
            .any(|o| o["kind"] == "status" && o["text"].as_str().unwrap().contains("FAILED"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookout_answer_answers_one_prompt_and_refuses_a_wrong_id() {
    let sim = sim().await;
    sim.add_waldiez_task("scripted", asking("Continue?", false));
    let mut prompt = None;
    eventually(Duration::from_secs(10), "the task to ask", || {
        prompt = sim.waldiez_prompt("scripted");
        prompt.is_some()
    })
    .await;
    let request_id = prompt.unwrap().request_id;
    let out = lookout_cmd(
        &sim,
        &[
            "answer",
            "waldiez:scripted",
            "--request-id",
            "wrong-id",
            "yes",
        ],
    )
    .output()
    .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not waiting for prompt wrong-id"),
        "{stderr}"
    );
    assert!(sim.waldiez_answers("scripted").is_empty());

    let out = run_with_stdin(
        lookout_cmd(
            &sim,
            &[
                "answer",
                "waldiez:scripted",
                "--request-id",
                &request_id,
                "-",
            ],
        ),
        b"yes please\n",
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sim.waldiez_answers("scripted"), ["yes please"]);
}

/// `lookout logs` on `id` with `--no-input`, running: its stderr as read so far, shared.
struct Running {
    child: std::process::Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Running {
    fn logs_no_input(sim: &SimHandle, id: &str) -> Running {
        let mut child = lookout_cmd(sim, &["logs", &format!("waldiez:{id}"), "--no-input"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let shared = stderr.clone();
        let reader = std::thread::Builder::new()
            .name("logs-stderr".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = std::io::Read::read(&mut pipe, &mut buf) {
                    shared
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            })
            .unwrap();
        Running {
            child,
            stderr,
            reader,
        }
    }

    fn stderr_has(&self, text: &str) -> bool {
        self.stderr.lock().unwrap().contains(text)
    }

    /// Exit code, stdout and stderr once it exits.
    async fn output(self) -> (Option<i32>, String, String) {
        let Running {
            child,
            stderr,
            reader,
        } = self;
        let out = tokio::task::spawn_blocking(move || {
            let out = child.wait_with_output();
            reader.join().unwrap();
            out
        })
        .await
        .unwrap()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = stderr.lock().unwrap().clone();
        (out.status.code(), stdout, stderr)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookout_logs_gives_each_piped_answer_to_its_own_prompt() {
    // Issue 17, item 6: the runner echoes a socket answer up to 5 s later; until then the
    // prompt is ours to remember, not to ask again.
    let sim = real_timed_sim().await;
    sim.add_waldiez_task(
        "two",
        WaldiezPlan {
            step_ms: 50,
            // Long enough not to end the test, short enough that a prompt left unanswered
            // fails it rather than hangs it.
            input_timeout_ms: 20_000,
            ..WaldiezPlan::new(vec![
                WaldiezStep::ask("First question?"),
                WaldiezStep::ask("Second question?"),
                WaldiezStep::print("both answered"),
            ])
        },
    );
    let out = run_with_stdin(lookout_cmd(&sim, &["logs", "waldiez:two"]), b"one\ntwo\n").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(sim.waldiez_answers("two"), ["one", "two"], "{all}");
    assert_eq!(out.status.code(), Some(0), "{all}");
    for q in ["? First question?", "? Second question?"] {
        assert_eq!(stderr.matches(q).count(), 1, "{q} asked once: {all}");
    }
    assert!(!stderr.contains("answered elsewhere"), "{all}");
    assert!(stdout.contains("both answered"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_is_not_asked_a_hidden_question() {
    // Issue 17, item 7: the status names the prompt a second before its replay brings the
    // question; `lookout logs` waits for the question instead of guessing a password.
    let sim = sim().await;
    sim.add_waldiez_task(
        "late",
        WaldiezPlan {
            step_ms: 50,
            replay_delay_ms: 1_000,
            ..WaldiezPlan::new(vec![
                WaldiezStep::print("hello"),
                WaldiezStep::ask("Which city?"),
                WaldiezStep::print("thanks"),
            ])
        },
    );
    eventually(Duration::from_secs(10), "the task to ask", || {
        sim.waldiez_prompt("late").is_some()
    })
    .await;
    let out = run_with_stdin(lookout_cmd(&sim, &["logs", "waldiez:late"]), b"Athens\n").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("(hidden)"),
        "a hidden question was asked: {stderr}"
    );
    assert!(stderr.contains("? Which city?\nanswer> "), "{stderr}");
    assert_eq!(stderr.matches("answer").count(), 1, "asked once: {stderr}");
    assert_eq!(sim.waldiez_answers("late"), ["Athens"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_last_lines_and_its_question_reach_lookout_logs() {
    // Issue 17, item 8: the socket drops just before the end, so it never delivers the
    // final reply; the task record's results still bring it. The question reaches stderr
    // though it is never answered here.
    let sim = real_timed_sim().await;
    sim.add_waldiez_task(
        "end",
        WaldiezPlan {
            step_ms: 0,
            ..WaldiezPlan::new(vec![
                WaldiezStep::text("assistant", "user", "Found two trains."),
                WaldiezStep::ask("Proceed with the 9:40?"),
                WaldiezStep::text("assistant", "user", "All done: booked the 9:40."),
            ])
        },
    );
    let cli = Running::logs_no_input(&sim, "end");
    eventually(
        Duration::from_secs(10),
        "the CLI to show the question",
        || cli.stderr_has("Proceed with the 9:40?"),
    )
    .await;
    sim.drop_waldiez_sockets();
    let asked = sim.waldiez_prompt("end").unwrap();
    assert!(sim.answer_waldiez("end", &asked.request_id, "yes"));
    let (code, stdout, stderr) = cli.output().await;
    let all = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(
        stdout.matches("All done: booked the 9:40.").count(),
        1,
        "{all}"
    );
    assert_eq!(stdout.matches("Found two trains.").count(), 1, "{all}");
    assert!(stdout.contains("Task status: COMPLETED"), "{all}");
    assert!(
        stderr.contains("? Input requested: Proceed with the 9:40?"),
        "{all}"
    );
    assert!(stderr.contains("not answered here (--no-input)"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_the_runners_read_loop_holds_at_the_end_still_reach_the_log() {
    // Issue 17, item 8: after 5 s of silence the runner's read loop sleeps 0.5 s, holding
    // what the task stores meanwhile. The task stores its last lines just then and ends: the
    // status says so before the socket delivers them.
    let sim = real_timed_sim().await;
    sim.add_waldiez_task(
        "held",
        WaldiezPlan {
            step_ms: 10,
            ..WaldiezPlan::new(vec![
                WaldiezStep::Pause(1_500),
                WaldiezStep::print("start"),
                // The viewer's read began at "start"; the last lines come 60 ms after it
                // ends empty, inside the 0.5 s sleep.
                WaldiezStep::Pause(5_050),
                WaldiezStep::text("assistant", "user", "Final reply."),
                WaldiezStep::print("last print"),
            ])
        },
    );
    let mut cfg = config(&sim, WsAuth::Subprotocol);
    cfg.status_poll_ms = 10;
    let mut h = spawn("waldiez:held", cfg);
    let (state, _) = wait_state(&mut h, SessionState::is_final).await;
    assert_eq!(
        state,
        SessionState::Ended {
            reason: "The task completed".into(),
            task_failed: false,
        }
    );
    let lines = texts(&h);
    for want in ["start", "assistant → user: Final reply.", "last print"] {
        let n = lines.iter().filter(|t| t.as_str() == want).count();
        assert_eq!(n, 1, "{want} appears {n} times: {lines:?}");
    }
}
