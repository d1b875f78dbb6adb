//! `lookout watch SOURCE…` and `lookout` alone: the console, one tile per task, each task
//! recorded as a single-task window records it. Named sources become the workspace; with
//! none, the workspace kept from last time opens.

use std::sync::{Arc, Mutex};

use super::view::{Prepared, finish_recording};
use crate::core::record::writer::Writer;
use crate::core::session::SessionConfig;
use crate::core::source::SourceSpec;
use crate::core::workspace::{self, Workspace, WorkspaceTask};
use crate::ui::{self, ConsoleStart, ConsoleTask};

/// Opens the console on `sources` (the kept workspace when there are none) and blocks
/// until the window closes.
pub fn run(
    rt: &tokio::runtime::Runtime,
    sources: Vec<String>,
    config: SessionConfig,
) -> anyhow::Result<()> {
    let path = workspace::default_path();
    let kept = match (&path, sources.is_empty()) {
        (Some(path), true) => Workspace::load(path)?,
        _ => Workspace {
            tasks: sources
                .iter()
                .map(|s| WorkspaceTask {
                    source: s.clone(),
                    pinned: false,
                })
                .collect(),
            focused: None,
        },
    };
    let writers: Arc<Mutex<Vec<Writer>>> = Arc::default();
    let prepare = {
        let writers = writers.clone();
        move |text: &str| -> anyhow::Result<Prepared> {
            let source: SourceSpec = text.parse()?;
            // Many tasks would talk over each other: each starts muted.
            let (task, writer) = Prepared::new(source, None, config.clone(), true)?;
            writers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(writer);
            Ok(task)
        }
    };
    let mut tasks = Vec::with_capacity(kept.tasks.len());
    for task in &kept.tasks {
        tasks.push(prepare(&task.source)?);
    }
    let handle = rt.handle().clone();
    let shown = ui::run_console(
        rt.handle().clone(),
        Box::new(move |waker| {
            let spawn = move |task: Prepared, waker: &crate::core::event::Waker| ConsoleTask {
                title: task.title.clone(),
                sessions: task.spawn(&handle, waker.clone()),
            };
            let tasks = tasks.into_iter().map(|t| spawn(t, &waker)).collect();
            let maker: ui::SessionsMaker = Box::new(move |text| {
                let task = prepare(text).map_err(|e| format!("{e:#}"))?;
                Ok(spawn(task, &waker))
            });
            ConsoleStart {
                tasks,
                maker: Some(maker),
                workspace: path.map(|p| (p, kept)),
            }
        }),
    );
    let writers = std::mem::take(&mut *writers.lock().unwrap_or_else(|p| p.into_inner()));
    for writer in writers {
        finish_recording(writer);
    }
    shown
}
