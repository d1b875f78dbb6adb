//! `lookout view` and `lookout demo`: the window, with its session on the shared runtime.

#[cfg(feature = "sim")]
use anyhow::Context as _;

use crate::cli::ScaleArg;
use crate::core::session::{self, SessionConfig};
use crate::core::source::SourceSpec;
#[cfg(feature = "sim")]
use crate::sim::SimConfig;
use crate::ui::{self, ScaleMode, Sessions, ViewerOptions};

fn scale_mode(scale: ScaleArg) -> ScaleMode {
    match scale {
        ScaleArg::Fit => ScaleMode::Fit,
        ScaleArg::OneToOne => ScaleMode::OneToOne,
    }
}

/// Opens the viewer on `source` (with the task log `log` beside its picture, if given) and
/// blocks until the window closes.
pub fn run(
    rt: &tokio::runtime::Runtime,
    source: SourceSpec,
    log: Option<SourceSpec>,
    config: SessionConfig,
    scale: ScaleArg,
) -> anyhow::Result<()> {
    let log = match log {
        Some(l) => Some(l.as_log().ok_or_else(|| {
            anyhow::anyhow!(
                "--log takes a task-log source (waldiez:, tasklog+ws://, agentstation:), not {}",
                l.label()
            )
        })?),
        None => None,
    };
    let (picture, log) = match (source.is_log(), log) {
        (true, None) => (None, Some(source)),
        // A workstation's view carries its log stream too.
        (false, None) if matches!(source, SourceSpec::AgentStation { .. }) => {
            let log = source.as_log();
            (Some(source), log)
        }
        (false, log) => (Some(source), log),
        (true, Some(_)) => anyhow::bail!(
            "--log adds a task log beside a picture; {} is already a task log",
            source.label()
        ),
    };
    // Video streams have sound; a window shows one task, so it starts unmuted.
    let speaker = picture
        .as_ref()
        .is_some_and(SourceSpec::has_sound)
        .then(|| ui::audio::Speaker::open(ui::audio::starts_muted(1)));
    let mut config = config;
    config.audio = speaker
        .clone()
        .map(|s| s as std::sync::Arc<dyn crate::core::audio::AudioSink>);
    let title = match (&picture, &log) {
        (Some(p), _) => p.label(),
        (None, Some(l)) => l.label(),
        (None, None) => String::new(),
    };
    let handle = rt.handle().clone();
    let options = ViewerOptions {
        title,
        scale: scale_mode(scale),
    };
    ui::run_viewer(
        options,
        rt.handle().clone(),
        Box::new(move |waker| Sessions {
            picture: picture.map(|p| session::spawn(&handle, p, config.clone(), waker.clone())),
            log: log.map(|l| session::spawn(&handle, l, config, waker)),
            speaker,
        }),
    )
}

/// Starts the simulator on a free loopback port and watches one of its tasks (or `source`,
/// one of its other sources).
#[cfg(feature = "sim")]
pub fn demo(
    rt: &tokio::runtime::Runtime,
    task: &str,
    source: Option<SourceSpec>,
    scale: ScaleArg,
) -> anyhow::Result<()> {
    let sim = rt
        .block_on(super::serve::start(SimConfig::default()))
        .context("cannot start the built-in simulator")?;
    let config = SessionConfig {
        settings: sim.settings(),
        ..SessionConfig::default()
    };
    if let Some(source) = source {
        let result = run(rt, source, None, config, scale);
        rt.block_on(sim.shutdown());
        return result;
    }
    let source = SourceSpec::Optexity {
        task_id: task.to_string(),
    };
    // The simulated task talks too, when the runner knows it: picture, log and prompts.
    let log = sim
        .demo_waldiez_tasks()
        .iter()
        .any(|(id, _)| id == task)
        .then(|| SourceSpec::Waldiez {
            task_id: task.to_string(),
        });
    let result = run(rt, source, log, config, scale);
    rt.block_on(sim.shutdown());
    result
}
