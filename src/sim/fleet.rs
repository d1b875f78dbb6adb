//! A simulated fleet (`lookout serve --tasks N`, `lookout demo --tasks N`): `N` tasks of the
//! four kinds in turn, each with a life drawn from a seeded generator. Optexity tasks wait
//! in the queue, run, then succeed or fail (some wait on a human at a captcha and run on);
//! Chaser sessions run, then end or are deleted; Waldiez tasks talk, ask the operator at
//! random moments, then complete or fail (some go on forever); AgentStation workstations
//! record and log for as long as the simulator runs. The same seed gives the same fleet.
//!
//! [`plan`] only decides; [`SimHandle::start_fleet`](super::SimHandle::start_fleet) adds
//! the tasks and `end_sessions` ends the Chaser sessions when their time comes.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::sync::watch;

use super::chaser::sessions::Chaser;
use super::optexity::tasks::{TaskPlan, TaskStatus};
use super::waldiez::plan::{WaldiezPlan, WaldiezStatus, WaldiezStep};
use crate::core::source::preview::{CLOSE_ENDED, CLOSE_SESSION_DELETED};

/// The most tasks a fleet has: more would only measure the machine.
pub const MAX_FLEET: usize = 256;

/// A fleet's desktops, smaller than one demo task's 1920×1080: the simulator encodes every
/// workstation's HLS itself, and sixteen 1080p encoders would take the machine the
/// console is measured on.
pub const DESKTOP: (u32, u32) = (1280, 720);

/// One task of a fleet and the life it leads.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetTask {
    /// Its id at its provider (`fleet-07`).
    pub id: String,
    pub life: Life,
}

impl FleetTask {
    /// What `lookout view` and `lookout watch` take: `optexity:fleet-01`.
    pub fn source(&self) -> String {
        format!("{}:{}", self.life.provider(), self.id)
    }
}

/// How a fleet task lives.
#[derive(Clone, Debug, PartialEq)]
pub enum Life {
    /// An Optexity task; `human`: its agent waits at a captcha.
    Optexity { plan: TaskPlan, human: bool },
    /// A Chaser session, ended after `ends_after_ms` (`None`: never), with close code
    /// 1000 or, when `deleted`, 4404.
    Chaser {
        ends_after_ms: Option<u64>,
        deleted: bool,
    },
    /// A Waldiez task following its plan.
    Waldiez(WaldiezPlan),
    /// An AgentStation workstation, recording and logging.
    AgentStation,
}

impl Life {
    /// The provider's name as sources spell it.
    pub fn provider(&self) -> &'static str {
        match self {
            Life::Optexity { .. } => "optexity",
            Life::Chaser { .. } => "chaser",
            Life::Waldiez(_) => "waldiez",
            Life::AgentStation => "agentstation",
        }
    }
}

/// The fleet of `tasks` tasks (at most [`MAX_FLEET`]) that `seed` gives: the kinds in turn,
/// Optexity, Chaser, Waldiez, AgentStation, so any four in a row hold one of each.
pub fn plan(tasks: usize, seed: u64) -> Vec<FleetTask> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..tasks.min(MAX_FLEET))
        .map(|i| {
            let life = match i % 4 {
                0 => optexity_life(&mut rng),
                1 => chaser_life(&mut rng),
                2 => Life::Waldiez(waldiez_plan(&mut rng, i + 1)),
                _ => Life::AgentStation,
            };
            FleetTask {
                id: format!("fleet-{:02}", i + 1),
                life,
            }
        })
        .collect()
}

/// A time between `lo` and `hi` seconds, in ms.
fn secs(rng: &mut StdRng, lo: u64, hi: u64) -> u64 {
    rng.random_range(lo * 1000..=hi * 1000)
}

fn optexity_life(rng: &mut StdRng) -> Life {
    let queued_ms = if rng.random_bool(0.5) {
        0
    } else {
        secs(rng, 2, 20)
    };
    // One in four waits at a captcha and runs on; the others end, a third of them failed.
    let human = rng.random_bool(0.25);
    let (running_ms, end) = if human {
        (None, TaskStatus::Success)
    } else {
        let end = if rng.random_bool(1.0 / 3.0) {
            TaskStatus::Failed
        } else {
            TaskStatus::Success
        };
        (Some(secs(rng, 30, 300)), end)
    };
    Life::Optexity {
        plan: TaskPlan {
            queued_ms,
            running_ms,
            end,
        },
        human,
    }
}

fn chaser_life(rng: &mut StdRng) -> Life {
    if rng.random_bool(0.25) {
        return Life::Chaser {
            ends_after_ms: None,
            deleted: false,
        };
    }
    Life::Chaser {
        ends_after_ms: Some(secs(rng, 40, 300)),
        deleted: rng.random_bool(0.25),
    }
}

const PLANNER: &str = "assistant";
const OPERATOR: &str = "user_proxy";
const EXECUTOR: &str = "executor";

/// What the fleet's Waldiez agents buy, and what they ask about it.
const ERRANDS: [(&str, &str); 6] = [
    (
        "a train ticket to Lyon",
        "Book the 09:12 train for €64? (yes/no) ",
    ),
    ("printer toner", "Order 2 cartridges for €118.40? (yes/no) "),
    (
        "a hotel room in Porto",
        "Which night should I book? (date) ",
    ),
    (
        "a conference pass",
        "Use the company card ending 4242? (yes/no) ",
    ),
    (
        "office chairs",
        "The supplier asks for a PO number. What is it? ",
    ),
    ("a flight to Oslo", "Window or aisle? "),
];

/// A Waldiez task that runs errands, asking once per errand: it starts after up to 10 s,
/// takes a step every 0.8–2 s, and either goes on forever or ends after one to three
/// errands, completed or (one in three) failed.
fn waldiez_plan(rng: &mut StdRng, n: usize) -> WaldiezPlan {
    use WaldiezStep as S;
    let step_ms = rng.random_range(800..=2_000);
    let forever = rng.random_bool(0.5);
    let errands = if forever { 1 } else { rng.random_range(1..=3) };
    let failed = !forever && rng.random_bool(1.0 / 3.0);
    let mut steps = vec![S::print(&format!("Starting flow: errands #{n}"))];
    for e in 0..errands {
        let (what, question) = ERRANDS[rng.random_range(0..ERRANDS.len())];
        let call = format!("call_{n}_{e}");
        steps.extend([
            S::text(OPERATOR, PLANNER, &format!("Get {what}; ask me first.")),
            S::text(PLANNER, OPERATOR, &format!("Looking for {what}.")),
            S::tool_call(PLANNER, EXECUTOR, &call, "search", json!({ "query": what })),
            S::tool_response(EXECUTOR, PLANNER, &call, "3 offers found"),
            S::Pause(secs(rng, 2, 20)),
            S::ask(question),
            S::text(PLANNER, OPERATOR, "Thanks, going on."),
            S::Pause(secs(rng, 5, 40)),
        ]);
    }
    if failed {
        steps.push(S::print("Error: the payment page did not load"));
        steps.push(S::termination("error"));
    } else if !forever {
        steps.push(S::termination("All errands done"));
    }
    WaldiezPlan {
        step_ms,
        pending_ms: if rng.random_bool(0.5) {
            0
        } else {
            secs(rng, 1, 10)
        },
        input_timeout_ms: 120_000,
        repeat: forever,
        end: if failed {
            WaldiezStatus::Failed
        } else {
            WaldiezStatus::Completed
        },
        ..WaldiezPlan::new(steps)
    }
}

/// Ends the fleet's Chaser sessions when their time comes, until `stop` changes.
pub(crate) async fn end_sessions(
    chaser: Arc<Chaser>,
    fleet: Vec<FleetTask>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ends: Vec<(u64, String, u16)> = fleet
        .into_iter()
        .filter_map(|t| match t.life {
            Life::Chaser {
                ends_after_ms: Some(ms),
                deleted,
            } => Some((
                ms,
                t.id,
                if deleted {
                    CLOSE_SESSION_DELETED
                } else {
                    CLOSE_ENDED
                },
            )),
            _ => None,
        })
        .collect();
    ends.sort();
    let start = tokio::time::Instant::now();
    for (ms, id, code) in ends {
        tokio::select! {
            () = tokio::time::sleep_until(start + Duration::from_millis(ms)) => {
                chaser.remove(&id, code);
            }
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_takes_the_kinds_in_turn_and_the_same_seed_gives_the_same_fleet() {
        let fleet = plan(16, 7);
        assert_eq!(fleet.len(), 16);
        for (i, t) in fleet.iter().enumerate() {
            let kind = ["optexity", "chaser", "waldiez", "agentstation"][i % 4];
            assert_eq!(t.life.provider(), kind);
            assert_eq!(t.source(), format!("{kind}:fleet-{:02}", i + 1));
        }
        assert_eq!(plan(16, 7), fleet);
        assert_ne!(plan(16, 8), fleet);
        assert_eq!(plan(100_000, 1).len(), MAX_FLEET);
    }

    #[test]
    fn over_many_seeds_tasks_ask_end_and_fail() {
        let fleet: Vec<FleetTask> = (0..8).flat_map(|seed| plan(16, seed)).collect();
        let asks = |p: &WaldiezPlan| p.steps.iter().any(|s| matches!(s, WaldiezStep::Ask { .. }));
        let has = |f: &dyn Fn(&Life) -> bool| fleet.iter().any(|t| f(&t.life));
        assert!(has(&|l| matches!(l, Life::Waldiez(p) if asks(p))));
        assert!(has(
            &|l| matches!(l, Life::Waldiez(p) if p.end == WaldiezStatus::Failed)
        ));
        assert!(has(&|l| matches!(l, Life::Waldiez(p) if p.repeat)));
        assert!(has(
            &|l| matches!(l, Life::Optexity { plan, .. } if plan.end == TaskStatus::Failed)
        ));
        assert!(has(&|l| matches!(l, Life::Optexity { human: true, .. })));
        assert!(has(
            &|l| matches!(l, Life::Optexity { plan, .. } if plan.queued_ms > 0)
        ));
        assert!(has(&|l| matches!(l, Life::Chaser { deleted: true, .. })));
        assert!(has(&|l| matches!(
            l,
            Life::Chaser {
                ends_after_ms: None,
                ..
            }
        )));
    }
}
