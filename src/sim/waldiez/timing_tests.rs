//! The simulated Waldiez Runner's timing, as the real runner's code has it (PROVIDERS.md
//! §4): a socket answer waits for the socket handler's blocking read, a REST one does not; a
//! late joiner's status can name a prompt before its replay brings it; a finished task's
//! record holds its results. Spoken with the raw clients of [`super::tests`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};

use super::tests::{
    Got, QUIET, access, connect, get_task, held, msg, next, post_input, prompt, send, sim,
    sim_with, until,
};
use crate::sim::*;

#[tokio::test]
async fn a_socket_answer_waits_for_the_runners_blocking_read_and_a_rest_one_does_not() {
    // The runner's own timing: its socket handler blocks reading for up to 5 s.
    let sim = sim_with(SimConfig::default()).await;
    let token = access(&sim).await;
    sim.add_waldiez_task(
        "t",
        held(vec![
            WaldiezStep::ask("Name? "),
            WaldiezStep::ask("Town? "),
            WaldiezStep::print("thanks"),
        ]),
    );
    let first = prompt(&sim, "t").await;
    let mut ws = connect(&sim, "t", &token).await;
    assert_eq!(msg(&mut ws).await["type"], "status");
    assert_eq!(msg(&mut ws).await["type"], "input_request");
    let joined = tokio::time::Instant::now();
    send(
        &mut ws,
        json!({ "request_id": first.request_id, "data": "Ada" }),
    )
    .await;
    // The task stores nothing while it waits, so the read blocks its full 5 s: the answer
    // waits with it, and the prompt is still open on the runner's side.
    assert!(matches!(next(&mut ws, QUIET).await, Got::Nothing));
    assert_eq!(sim.waldiez_prompt("t"), Some(first.clone()));
    assert!(sim.waldiez_answers("t").is_empty());
    let echo = msg(&mut ws).await;
    assert_eq!(
        (&echo["type"], &echo["data"]),
        (&json!("input_response"), &json!("Ada"))
    );
    assert!(
        joined.elapsed() >= Duration::from_secs(4),
        "{:?}",
        joined.elapsed()
    );
    // Over REST the answer is taken at once, read or no read.
    let second = prompt(&sim, "t").await;
    assert_ne!(second.request_id, first.request_id);
    let body = json!({ "request_id": second.request_id, "data": "Rome" });
    assert_eq!(post_input(&sim, "t", &token, body).await.0, 204);
    assert_eq!(sim.waldiez_answers("t"), ["Ada", "Rome"]);
}

#[tokio::test]
async fn a_late_joiners_status_can_name_a_prompt_before_its_replay() {
    let sim = sim().await;
    let token = access(&sim).await;
    sim.add_waldiez_task(
        "t",
        WaldiezPlan {
            replay_delay_ms: 1_000,
            ..held(vec![
                WaldiezStep::print("hello"),
                WaldiezStep::ask("City? "),
            ])
        },
    );
    let asked = prompt(&sim, "t").await;
    let mut ws = connect(&sim, "t", &token).await;
    let status = msg(&mut ws).await;
    assert_eq!(
        status["data"]["input_request_id"],
        asked.request_id.as_str()
    );
    // The request it names is not there yet…
    assert!(matches!(next(&mut ws, QUIET).await, Got::Nothing));
    // …then the replay brings it.
    assert_eq!(msg(&mut ws).await["data"], "hello\n");
    assert_eq!(msg(&mut ws).await["request_id"], asked.request_id.as_str());
}

#[tokio::test]
async fn a_finished_tasks_record_holds_its_results() {
    let sim = sim().await;
    let token = access(&sim).await;
    sim.add_waldiez_task(
        "ok",
        WaldiezPlan {
            step_ms: 0,
            ..WaldiezPlan::new(vec![
                WaldiezStep::text("user", "assistant", "Plan a trip"),
                WaldiezStep::print("thinking"),
                WaldiezStep::ask("Budget? "),
                WaldiezStep::text("assistant", "user", "Booked the 9:40."),
            ])
        },
    );
    let asked = prompt(&sim, "ok").await;
    assert_eq!(get_task(&sim, "ok", &token).await.1["results"], Value::Null);
    assert!(sim.answer_waldiez("ok", &asked.request_id, "cheap"));
    until("the end", || {
        sim.waldiez_status("ok") == Some(WaldiezStatus::Completed)
    })
    .await;
    let results = get_task(&sim, "ok", &token).await.1["results"].clone();
    assert_eq!(
        results[0]["chat_history"],
        json!([
            { "content": "Plan a trip", "role": "user", "name": "user" },
            { "content": "Booked the 9:40.", "role": "user", "name": "assistant" },
        ])
    );
    assert_eq!(results[0]["summary"], "Booked the 9:40.");
    assert_eq!(results[0]["human_input"], json!(["cheap"]));
    // A failed task's record holds its error.
    sim.add_waldiez_task("bad", WaldiezPlan::finished(WaldiezStatus::Failed, vec![]));
    let results = get_task(&sim, "bad", &token).await.1["results"].clone();
    assert!(results["error"]["error"].is_string(), "{results}");
    assert!(results["error"]["traceback"].is_string(), "{results}");
}
