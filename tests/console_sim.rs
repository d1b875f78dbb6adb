//! The console against the simulator: sixteen real sessions of all four kinds on one wall
//! (twelve of a `--tasks` fleet and four this test steers). A prompt raised on a task in
//! the background badges its tile, Ctrl+J opens it, the answer typed on its tile reaches
//! the runner, a failed and an ended task say so on their tiles, and the workspace brings
//! the same wall back after a restart. Following the runner's task list (`waldiez:*`)
//! adds its tasks as they start and shows them end.
#![cfg(all(feature = "gui", feature = "sim"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui::{Key, Modifiers, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lookout::commands::view::Prepared;
use lookout::core::event::{SessionState, noop_waker};
use lookout::core::session::SessionConfig;
use lookout::core::workspace::Workspace;
use lookout::sim::fleet::{self, Life};
use lookout::sim::{SimConfig, SimHandle, TaskPlan, TaskStatus, WaldiezPlan, WaldiezStep};
use lookout::ui::app::ViewerApp;
use lookout::ui::console::ConsoleApp;
use lookout::ui::{LogView, TaskView, theme};

/// When the steered Waldiez task asks, after it starts.
const ASKS_AFTER: Duration = Duration::from_secs(8);

/// The task that asks, the Optexity task that fails and the Chaser session that ends.
const ASKS: &str = "waldiez:asks";
const FAILS: &str = "optexity:fails";
const ENDS: &str = "chaser:ends";

/// When a fleet's Waldiez task asks first, at the earliest (its pending time and the steps
/// before its first question, each at least `step_ms`).
fn first_ask(plan: &WaldiezPlan) -> Duration {
    let mut ms = plan.pending_ms;
    for step in &plan.steps {
        ms += plan.step_ms;
        match step {
            WaldiezStep::Pause(p) => ms += p,
            WaldiezStep::Ask { .. } => break,
            _ => {}
        }
    }
    Duration::from_millis(ms)
}

/// A console on `sources`, each task prepared as `lookout watch` prepares it.
fn console(
    rt: &tokio::runtime::Runtime,
    sim: &SimHandle,
    kept: &Workspace,
    path: std::path::PathBuf,
) -> Harness<'static, ConsoleApp> {
    let mut config = SessionConfig {
        settings: sim.settings(),
        ..SessionConfig::default()
    };
    config.settings.recording.no_record = true;
    let apps = kept
        .tasks
        .iter()
        .map(|t| {
            let (task, writer) =
                Prepared::new(t.source.parse().unwrap(), None, config.clone(), true).unwrap();
            assert!(writer.is_none());
            let title = task.title.clone();
            let sessions = task.spawn(rt.handle(), noop_waker());
            ViewerApp::new(
                sessions.picture.map(TaskView::new),
                sessions.log.map(LogView::new),
                title,
                Some(rt.handle().clone()),
            )
        })
        .collect();
    let console = ConsoleApp::new(apps, Some(rt.handle().clone())).with_workspace(path, kept);
    Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ConsoleApp| app.ui(ui), console)
}

/// Draws frames until `done` holds, or panics naming `what` after `limit`.
fn until(
    harness: &mut Harness<'static, ConsoleApp>,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&mut Harness<'static, ConsoleApp>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(40));
    }
}

fn index_of(console: &ConsoleApp, title: &str) -> usize {
    (0..console.len())
        .find(|&i| console.task(i).is_some_and(|t| t.title() == title))
        .unwrap_or_else(|| panic!("no task {title}"))
}

/// Every task is live, or waits in its provider's queue.
fn all_up(console: &ConsoleApp) -> bool {
    (0..console.len()).all(|i| {
        console.task(i).is_some_and(|t| {
            matches!(
                t.state(),
                SessionState::Live(_) | SessionState::WaitingForTask { .. }
            )
        })
    })
}

#[test]
fn sixteen_simulated_tasks_on_one_wall_badge_answer_end_fail_and_come_back() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(SimHandle::start(SimConfig {
            width: 640,
            height: 360,
            ..SimConfig::default()
        }))
        .unwrap();
    // A fleet in which nothing asks before the steered task has asked and been answered.
    let seed = (0..1_000)
        .find(|&seed| {
            fleet::plan(12, seed).iter().all(|t| match &t.life {
                Life::Waldiez(plan) => first_ask(plan) > ASKS_AFTER + Duration::from_secs(15),
                _ => true,
            })
        })
        .expect("a seed whose fleet asks late");
    // The simulator's hooks start its tasks on the runtime.
    let _in_rt = rt.enter();
    let fleet = sim.start_fleet(12, seed);
    let mut asks = WaldiezPlan::new(vec![
        WaldiezStep::print("Preparing order #77"),
        WaldiezStep::Pause(ASKS_AFTER.as_millis() as u64),
        WaldiezStep::ask("Ship order #77? (yes/no) "),
        WaldiezStep::print("Shipping."),
        WaldiezStep::Pause(600_000),
    ]);
    asks.step_ms = 0;
    sim.add_waldiez_task("asks", asks);
    sim.add_task("fails", TaskPlan::running());
    sim.add_chaser_session("ends", true);
    sim.add_workstation("extra", true);
    assert!(sim.agentstation_start_recorder("extra"));

    let mut sources: Vec<String> = fleet.iter().map(fleet::FleetTask::source).collect();
    sources.extend([ASKS, FAILS, ENDS, "agentstation:extra"].map(String::from));
    let kinds = ["optexity", "chaser", "waldiez", "agentstation"];
    for kind in kinds {
        let n = sources.iter().filter(|s| s.starts_with(kind)).count();
        assert_eq!(n, 4, "{kind}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.json");
    let kept = Workspace {
        tasks: sources
            .iter()
            .map(|s| lookout::core::workspace::WorkspaceTask {
                source: s.clone(),
                pinned: false,
            })
            .collect(),
        focused: None,
        follow: Vec::new(),
    };
    let mut wall = console(&rt, &sim, &kept, path.clone());
    assert_eq!(wall.state().len(), 16);
    let up_after = until(&mut wall, Duration::from_secs(30), "all 16 up", |h| {
        all_up(h.state())
    });
    println!("all 16 live or queued after {up_after:?}");
    for source in &sources {
        wall.get_by_label(&format!("{source} tile"));
    }
    if sim.waldiez_prompt("asks").is_none() {
        wall.step();
        assert_eq!(wall.state().needing_you(), 0);
        assert!(wall.query_by_label_contains("Needs you").is_none());
    }

    // The prompt, raised on a task in the background, badges its tile.
    until(&mut wall, ASKS_AFTER * 2, "the runner asks", |_| {
        sim.waldiez_prompt("asks").is_some()
    });
    let asked = Instant::now();
    let badge_after = until(&mut wall, Duration::from_secs(5), "the badge", |h| {
        h.state().needing_you() == 1 && h.query_all_by_label_contains("Needs you").next().is_some()
    });
    println!(
        "prompt to badge: {badge_after:?} (within {:?})",
        asked.elapsed()
    );
    let asking = index_of(wall.state(), ASKS);
    assert_eq!(wall.state().order()[0], asking, "the waiting task first");
    assert!(wall.state().window_title().contains("1 need"));

    // Ctrl+J opens it full-size with its question; Esc twice returns to the wall.
    wall.key_press_modifiers(Modifiers::COMMAND, Key::J);
    wall.step();
    assert_eq!(wall.state().focused(), Some(asking));
    until(&mut wall, Duration::from_secs(2), "the question", |h| {
        h.query_all_by_label_contains("Ship order #77?")
            .next()
            .is_some()
    });
    for _ in 0..2 {
        wall.key_press(Key::Escape);
        wall.step();
        wall.step();
    }
    assert_eq!(wall.state().focused(), None);

    // Answered from its tile: the runner has the answer, the badge goes.
    wall.get_by_label(&format!("{ASKS} tile")).click();
    wall.step();
    wall.step();
    assert_eq!(wall.state().selected(), asking);
    wall.get_all_by_role(Role::TextInput)
        .find(|n| n.is_focused())
        .expect("the tile's answer box has the keys")
        .type_text("yes");
    wall.step();
    wall.key_press(Key::Enter);
    wall.step();
    until(
        &mut wall,
        Duration::from_secs(10),
        "the runner's answer",
        |_| sim.waldiez_answers("asks") == ["yes"],
    );
    until(&mut wall, Duration::from_secs(10), "no badge", |h| {
        h.state().needing_you() == 0
    });
    assert_eq!(wall.state().focused(), None, "still on the wall");

    // A task fails and a session ends: their tiles say so.
    sim.set_status("fails", TaskStatus::Failed);
    assert!(sim.end_chaser_session("ends"));
    let (fails, ends) = (index_of(wall.state(), FAILS), index_of(wall.state(), ENDS));
    until(
        &mut wall,
        Duration::from_secs(10),
        "failed and ended",
        |h| {
            let state = |i| h.state().task(i).map(|t| t.state().clone());
            matches!(
                state(fails),
                Some(SessionState::Ended {
                    task_failed: true,
                    ..
                })
            ) && matches!(
                state(ends),
                Some(SessionState::Ended {
                    task_failed: false,
                    ..
                })
            )
        },
    );
    // (A fleet task may have ended too by now.)
    assert!(wall.query_all_by_label("failed").next().is_some());
    assert!(wall.query_all_by_label("ended").next().is_some());

    // The workspace: pin one, open another, close; opened again, the same wall.
    let pinned = index_of(wall.state(), "agentstation:extra");
    wall.state_mut().set_pinned(pinned, true);
    wall.state_mut().open(ends);
    wall.state().stop();
    drop(wall);
    let again = Workspace::load(&path).unwrap();
    let kept_sources: Vec<&str> = again.tasks.iter().map(|t| t.source.as_str()).collect();
    assert_eq!(kept_sources, sources);
    assert_eq!(again.focused, Some(ends));
    let mut wall = console(&rt, &sim, &again, path);
    assert_eq!(wall.state().order()[0], pinned, "the pinned task first");
    assert_eq!(wall.state().focused(), Some(ends));
    wall.state_mut().back_to_wall();
    until(&mut wall, Duration::from_secs(30), "live again", |h| {
        let c = h.state();
        (0..c.len())
            .filter(|&i| i != fails && i != ends)
            .all(|i| matches!(c.task(i).map(ViewerApp::state), Some(SessionState::Live(_))))
    });
    wall.state().stop();
    drop(wall);
    rt.block_on(sim.shutdown());
}

/// The status line of the simulator's answer to an Optexity `GET path`.
fn http_status(sim: &SimHandle, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let addr = sim.base_url().trim_start_matches("http://").to_string();
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: sim\r\nx-api-key: {}\r\nConnection: close\r\n\r\n",
        sim.api_key()
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn a_served_fleet_has_every_task_it_names() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(SimHandle::start(SimConfig::default())).unwrap();
    let fleet = {
        let _in_rt = rt.enter();
        sim.start_fleet(8, 1)
    };
    let banner = lookout::commands::serve::fleet_banner(&sim, &fleet, 1);
    let watch = banner.lines().last().unwrap();
    let named: Vec<&str> = watch.split(' ').skip(2).collect();
    assert_eq!(named.len(), 8, "{watch}");
    for (task, source) in fleet.iter().zip(named) {
        assert_eq!(task.source(), source);
        let id = task.id.as_str();
        match &task.life {
            Life::Optexity { .. } => {
                let status = http_status(&sim, &format!("/api/v1/tasks/{id}"));
                assert_eq!(status, "HTTP/1.1 200 OK", "{id}");
            }
            Life::Chaser { .. } => assert!(sim.end_chaser_session(id)),
            Life::Waldiez(_) => assert!(sim.waldiez_status(id).is_some()),
            Life::AgentStation => assert!(sim.agentstation_recorder(id).is_some()),
        }
    }
    for line in ["OPTEXITY", "CHASER", "WALDIEZ", "AGENTSTATION"] {
        assert!(
            banner.contains(&format!("export {line}_BASE_URL=")),
            "{banner}"
        );
    }
    rt.block_on(sim.shutdown());
}

#[test]
fn following_the_runner_adds_its_tasks_as_they_start_and_shows_them_end() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(SimHandle::start(SimConfig::default())).unwrap();
    let _in_rt = rt.enter();
    let mut config = SessionConfig {
        settings: sim.settings(),
        ..SessionConfig::default()
    };
    config.settings.recording.no_record = true;
    let settings = config.settings.clone();
    let handle = rt.handle().clone();
    let maker = {
        let handle = handle.clone();
        Box::new(move |text: &str| {
            let source = text.parse().map_err(|e| format!("{e}"))?;
            let (task, _) =
                Prepared::new(source, None, config.clone(), true).map_err(|e| format!("{e:#}"))?;
            let title = task.title.clone();
            let sessions = task.spawn(&handle, noop_waker());
            Ok(ViewerApp::new(
                sessions.picture.map(TaskView::new),
                sessions.log.map(LogView::new),
                title,
                None,
            ))
        })
    };
    let listing =
        lookout::core::listing::follow(&handle, "waldiez:*", &settings, noop_waker()).unwrap();
    let console = ConsoleApp::new(Vec::new(), None)
        .with_maker(maker)
        .with_follows(vec![listing]);
    let mut wall = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ConsoleApp| app.ui(ui), console);
    // The runner's running demo tasks come first; the one over ("done") does not.
    until(
        &mut wall,
        Duration::from_secs(10),
        "the running tasks",
        |h| {
            h.query_by_label("waldiez:demo tile").is_some()
                && h.query_by_label("waldiez:human tile").is_some()
        },
    );
    assert!(wall.query_by_label("waldiez:done tile").is_none());
    // A task that starts later is added within a reading or two.
    let forever = WaldiezPlan {
        repeat: true,
        ..WaldiezPlan::new(vec![WaldiezStep::print("on duty")])
    };
    sim.add_waldiez_task("late", forever);
    let found_after = until(&mut wall, Duration::from_secs(15), "the new task", |h| {
        h.query_by_label("waldiez:late tile").is_some()
    });
    println!("a new task on the wall after {found_after:?}");
    until(&mut wall, Duration::from_secs(15), "it is live", |h| {
        let c = h.state();
        let i = index_of(c, "waldiez:late");
        matches!(c.task(i).map(ViewerApp::state), Some(SessionState::Live(_)))
    });
    // It ends: its tile stays, greyed, and says so; the list no longer names it.
    sim.set_waldiez_status("late", lookout::sim::WaldiezStatus::Completed);
    until(&mut wall, Duration::from_secs(15), "ended", |h| {
        let c = h.state();
        let i = index_of(c, "waldiez:late");
        matches!(
            c.task(i).map(ViewerApp::state),
            Some(SessionState::Ended { .. })
        )
    });
    assert!(wall.query_by_label("waldiez:late tile").is_some());
    wall.state().stop();
    drop(wall);
    rt.block_on(sim.shutdown());
}
