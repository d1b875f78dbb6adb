//! `lookout watch SOURCE…`: the console, one tile per task, each task recorded as a
//! single-task window records it.

use super::view::{Prepared, finish_recording};
use crate::core::session::SessionConfig;
use crate::core::source::SourceSpec;
use crate::ui::{self, ConsoleTask};

/// Opens the console on `sources` and blocks until the window closes.
pub fn run(
    rt: &tokio::runtime::Runtime,
    sources: Vec<SourceSpec>,
    config: SessionConfig,
) -> anyhow::Result<()> {
    let mut tasks = Vec::with_capacity(sources.len());
    let mut writers = Vec::new();
    for source in sources {
        // Many tasks would talk over each other: each starts muted.
        let (task, writer) = Prepared::new(source, None, config.clone(), true)?;
        tasks.push(task);
        writers.extend(writer);
    }
    let handle = rt.handle().clone();
    let shown = ui::run_console(
        rt.handle().clone(),
        Box::new(move |waker| {
            tasks
                .into_iter()
                .map(|task| ConsoleTask {
                    title: task.title.clone(),
                    sessions: task.spawn(&handle, waker.clone()),
                })
                .collect()
        }),
    );
    for writer in writers {
        finish_recording(writer);
    }
    shown
}
