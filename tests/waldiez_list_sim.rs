//! The Waldiez Runner's task list, against the simulator: what "watch every running task"
//! reads. The simulator pages it as the runner does (fastapi-pagination, one status per
//! request); the client reads every page of each unfinished status and nothing else.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lookout::core::provider::waldiez::{Credentials, WaldiezClient, WaldiezError, WsAuth};
use lookout::core::redact::Secret;
use lookout::core::source::tasklog::TaskStatus;
use lookout::sim::{SimConfig, SimHandle, WaldiezPlan, WaldiezStatus, WaldiezStep};

fn client(sim: &SimHandle, secret: &str) -> WaldiezClient {
    WaldiezClient::new(
        lookout::core::net::http_client().unwrap(),
        Some(&sim.waldiez_base_url()),
        Some(Credentials::Client {
            id: sim.waldiez_client_id().to_string(),
            secret: Secret::new(secret.to_string()),
        }),
        WsAuth::Subprotocol,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_lists_unfinished_tasks_over_pages_and_statuses() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    // 130 running tasks (two pages of 100), one waiting, one pending, one over.
    let forever = || WaldiezPlan {
        repeat: true,
        step_ms: 60_000,
        ..WaldiezPlan::new(vec![WaldiezStep::print("working")])
    };
    for i in 0..130 {
        sim.add_waldiez_task(&format!("run-{i:03}"), forever());
    }
    sim.add_waldiez_task(
        "asks",
        WaldiezPlan {
            step_ms: 0,
            ..WaldiezPlan::new(vec![WaldiezStep::ask("Go on? ")])
        },
    );
    sim.add_waldiez_task(
        "later",
        WaldiezPlan {
            pending_ms: 60_000,
            ..forever()
        },
    );
    sim.set_waldiez_status("gone", WaldiezStatus::Failed);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while sim.waldiez_status("asks") != Some(WaldiezStatus::WaitingForInput) {
        assert!(tokio::time::Instant::now() < deadline, "never asked");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let listed = client(&sim, sim.waldiez_client_secret())
        .unfinished_tasks()
        .await
        .unwrap();
    let status_of = |id: &str| listed.iter().find(|t| t.id == id).map(|t| t.status.clone());
    assert_eq!(status_of("later"), Some(TaskStatus::Pending));
    assert_eq!(status_of("run-000"), Some(TaskStatus::Running));
    assert_eq!(
        status_of("run-129"),
        Some(TaskStatus::Running),
        "the second page"
    );
    assert_eq!(status_of("asks"), Some(TaskStatus::WaitingForInput));
    assert_eq!(status_of("gone"), None, "a failed task is not listed");
    assert_eq!(status_of("done"), None, "nor a completed demo task");
    assert!(listed.iter().all(|t| !matches!(
        t.status,
        TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
    )));
    let mut ids: Vec<&str> = listed.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), listed.len(), "each task once");

    // Wrong credentials: the runner's 401, named.
    let refused = client(&sim, "wrong-secret").unfinished_tasks().await;
    assert!(
        matches!(&refused, Err(WaldiezError::Unauthorized { .. })),
        "{refused:?}"
    );
    sim.shutdown().await;
}
