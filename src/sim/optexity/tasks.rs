//! The simulated tasks: each follows a [`TaskPlan`] on the clock (queued for a while, then
//! running for a while or forever, then an end status), unless a test forces a status.
//! The REST API reads statuses from here; stream connections poll them to know when to close.
//! Each task also names the [`Script`] its desktop follows (the `human` demo task's agent
//! waits for an operator to solve the captcha).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::sim::desktop::Script;

/// A task's status as the Optexity API reports it (PROVIDERS.md §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Queued,
    Allocated,
    Running,
    Success,
    Failed,
    Cancelled,
}

/// How a task's status unfolds from the moment it is added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskPlan {
    /// Time spent queued first.
    pub queued_ms: u64,
    /// Time spent running; `None` runs forever.
    pub running_ms: Option<u64>,
    /// The status after running.
    pub end: TaskStatus,
}

impl TaskPlan {
    /// Running now and forever.
    pub const fn running() -> Self {
        Self {
            queued_ms: 0,
            running_ms: None,
            end: TaskStatus::Success,
        }
    }

    /// Already over, with `end`.
    pub const fn finished(end: TaskStatus) -> Self {
        Self {
            queued_ms: 0,
            running_ms: Some(0),
            end,
        }
    }

    /// The status `elapsed_ms` after the task was added.
    pub fn status_after(&self, elapsed_ms: u64) -> TaskStatus {
        if elapsed_ms < self.queued_ms {
            return TaskStatus::Queued;
        }
        match self.running_ms {
            Some(run) if elapsed_ms - self.queued_ms >= run => self.end,
            _ => TaskStatus::Running,
        }
    }
}

/// The demo task whose agent waits for a human.
pub(crate) const HUMAN_TASK: &str = "human";

/// The demo tasks every simulator starts with: (id, plan, description).
pub(crate) const DEMO_TASKS: [(&str, TaskPlan, &str); 5] = [
    (
        "demo",
        TaskPlan::running(),
        "running: an agent fills a checkout form",
    ),
    (
        HUMAN_TASK,
        TaskPlan::running(),
        "running: the agent waits for a human to solve the captcha",
    ),
    (
        "demo-queued",
        TaskPlan {
            queued_ms: 3_000,
            running_ms: None,
            end: TaskStatus::Success,
        },
        "queued for 3 s, then running",
    ),
    (
        "demo-finished",
        TaskPlan::finished(TaskStatus::Success),
        "finished successfully (no stream)",
    ),
    (
        "demo-failed",
        TaskPlan::finished(TaskStatus::Failed),
        "failed (no stream)",
    ),
];

#[derive(Debug)]
struct Task {
    plan: TaskPlan,
    added: Instant,
    forced: Option<TaskStatus>,
    script: Script,
}

/// All known tasks.
#[derive(Debug, Default)]
pub(crate) struct TaskTable {
    tasks: Mutex<HashMap<String, Task>>,
}

impl TaskTable {
    pub fn with_demo_tasks() -> Self {
        let table = Self::default();
        for (id, plan, _) in DEMO_TASKS {
            table.add(id, plan);
        }
        table.set_script(HUMAN_TASK, Script::AwaitHuman);
        table
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Task>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or restarts) a task; its plan's clock starts now. A restarted task keeps its
    /// script; a new one follows the agent's.
    pub fn add(&self, id: &str, plan: TaskPlan) {
        let mut tasks = self.lock();
        let script = tasks.get(id).map_or(Script::Agent, |t| t.script);
        let task = Task {
            plan,
            added: Instant::now(),
            forced: None,
            script,
        };
        tasks.insert(id.to_string(), task);
    }

    /// Sets the script a known task's desktop follows.
    pub fn set_script(&self, id: &str, script: Script) {
        if let Some(t) = self.lock().get_mut(id) {
            t.script = script;
        }
    }

    /// The script of a task's desktop (the agent's for unknown tasks).
    pub fn script(&self, id: &str) -> Script {
        self.lock().get(id).map_or(Script::Agent, |t| t.script)
    }

    /// Pins a task's status from now on (adding the task if it is unknown).
    pub fn set_status(&self, id: &str, status: TaskStatus) {
        self.lock()
            .entry(id.to_string())
            .or_insert_with(|| Task {
                plan: TaskPlan::running(),
                added: Instant::now(),
                forced: None,
                script: Script::Agent,
            })
            .forced = Some(status);
    }

    /// The task's status now, `None` if unknown.
    pub fn status(&self, id: &str) -> Option<TaskStatus> {
        self.lock().get(id).map(|t| {
            t.forced.unwrap_or_else(|| {
                let elapsed_ms = t.added.elapsed().as_millis().min(u128::from(u64::MAX)) as u64;
                t.plan.status_after(elapsed_ms)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_unfold_in_order() {
        let plan = TaskPlan {
            queued_ms: 100,
            running_ms: Some(50),
            end: TaskStatus::Failed,
        };
        assert_eq!(plan.status_after(0), TaskStatus::Queued);
        assert_eq!(plan.status_after(99), TaskStatus::Queued);
        assert_eq!(plan.status_after(100), TaskStatus::Running);
        assert_eq!(plan.status_after(149), TaskStatus::Running);
        assert_eq!(plan.status_after(150), TaskStatus::Failed);
        assert_eq!(
            TaskPlan::running().status_after(u64::MAX),
            TaskStatus::Running
        );
        assert_eq!(
            TaskPlan::finished(TaskStatus::Success).status_after(0),
            TaskStatus::Success
        );
    }

    #[test]
    fn table_knows_demo_tasks_and_forced_statuses() {
        let t = TaskTable::with_demo_tasks();
        assert_eq!(t.status("demo"), Some(TaskStatus::Running));
        assert_eq!(t.status("demo-queued"), Some(TaskStatus::Queued));
        assert_eq!(t.status("demo-finished"), Some(TaskStatus::Success));
        assert_eq!(t.status("demo-failed"), Some(TaskStatus::Failed));
        assert_eq!(t.status("nope"), None);
        assert_eq!(t.status("human"), Some(TaskStatus::Running));
        assert_eq!(t.script("human"), Script::AwaitHuman);
        assert_eq!(t.script("demo"), Script::Agent);
        t.set_status("demo", TaskStatus::Cancelled);
        assert_eq!(t.status("demo"), Some(TaskStatus::Cancelled));
        t.add("demo", TaskPlan::running());
        assert_eq!(t.status("demo"), Some(TaskStatus::Running));
    }

    #[test]
    fn statuses_serialize_lowercase() {
        let s = serde_json::to_string(&TaskStatus::Cancelled).unwrap_or_default();
        assert_eq!(s, "\"cancelled\"");
    }
}
