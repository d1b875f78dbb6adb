//! `lookout view` and `lookout demo`: the window, with its session on the shared runtime.

use anyhow::Context as _;

use crate::cli::ScaleArg;
use crate::core::config::Settings;
use crate::core::redact::Secret;
use crate::core::session::{self, SessionConfig};
use crate::core::source::SourceSpec;
use crate::sim::SimConfig;
use crate::ui::{self, ScaleMode, ViewerOptions};

fn scale_mode(scale: ScaleArg) -> ScaleMode {
    match scale {
        ScaleArg::Fit => ScaleMode::Fit,
        ScaleArg::OneToOne => ScaleMode::OneToOne,
    }
}

/// Opens the viewer on `source` and blocks until the window closes.
pub fn run(
    rt: &tokio::runtime::Runtime,
    source: SourceSpec,
    config: SessionConfig,
    scale: ScaleArg,
) -> anyhow::Result<()> {
    let handle = rt.handle().clone();
    let options = ViewerOptions {
        title: source.label(),
        scale: scale_mode(scale),
    };
    ui::run_viewer(
        options,
        Box::new(move |waker| session::spawn(&handle, source, config, waker)),
    )
}

/// Starts the simulator on a free loopback port and watches one of its tasks.
pub fn demo(rt: &tokio::runtime::Runtime, task: &str, scale: ScaleArg) -> anyhow::Result<()> {
    let sim = rt
        .block_on(super::serve::start(SimConfig::default()))
        .context("cannot start the built-in simulator")?;
    let config = SessionConfig {
        settings: Settings {
            optexity_base_url: sim.base_url(),
            optexity_api_key: Some(Secret::new(sim.api_key())),
            ..Settings::default()
        },
        ..SessionConfig::default()
    };
    let source = SourceSpec::Optexity {
        task_id: task.to_string(),
    };
    let result = run(rt, source, config, scale);
    rt.block_on(sim.shutdown());
    result
}
