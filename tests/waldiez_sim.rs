//! Task logs end to end against the built-in simulator's Waldiez Runner and AgentStation log
//! stream: every way of presenting the token, token refresh, prompts answered over the
//! socket, over REST and by another viewer, password masking, each 403 case, the final
//! status of a socket that never closes, and `lookout logs` / `lookout answer` as scripts
//! run them.

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

async fn sim() -> SimHandle {
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
    eventually(
        Duration::from_secs(5),
        "the echo to close the prompt",
        || h.log().lock().log.pending_prompt().is_none(),
    )
    .await;
    assert_eq!(sim.waldiez_answers("ask"), ["Athens"]);
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
            reason: "The task completed".into()
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
        request_id,
        answer: Secret::new("hunter2-secret"),
    });
    eventually(Duration::from_secs(5), "the prompt to close", || {
        h.log().lock().log.pending_prompt().is_none()
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
            reason: "The task failed".into()
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
