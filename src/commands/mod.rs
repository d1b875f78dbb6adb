//! What each CLI subcommand does, on top of the core. `main` only dispatches here.

pub mod answer;
pub mod docs;
pub mod export;
pub mod logs;
pub mod output;
pub mod record;
pub mod recordings;
pub mod serve;
pub mod snapshot;
#[cfg(feature = "gui")]
pub mod view;
#[cfg(feature = "gui")]
pub mod watch;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::ConnectArgs;
use crate::core::config::{self, Settings};
use crate::core::event::Waker;
use crate::core::session::SessionConfig;
use crate::core::source::SourceSpec;

/// A waker for headless commands: each wake lets the returned `Notify` through once.
pub fn notify_waker() -> (Arc<tokio::sync::Notify>, Waker) {
    let notify = Arc::new(tokio::sync::Notify::new());
    let waker: Waker = {
        let notify = notify.clone();
        Arc::new(move || notify.notify_one())
    };
    (notify, waker)
}

/// Parses the source and merges config file, environment and flags.
pub fn session_setup(args: &ConnectArgs) -> anyhow::Result<(SourceSpec, SessionConfig)> {
    let source: SourceSpec = args.source.parse()?;
    let settings = settings(
        args.config.as_deref(),
        args.profile.as_deref(),
        args.settings.clone(),
    )?;
    Ok((
        source,
        SessionConfig {
            settings,
            ..SessionConfig::default()
        },
    ))
}

/// The settings: `flags` over the environment over the profile of the config file
/// (`config`, else the default one).
pub fn settings(
    config: Option<&Path>,
    profile: Option<&str>,
    flags: Settings,
) -> anyhow::Result<Settings> {
    Ok(settings_and_watch(config, profile, flags)?.0)
}

/// [`settings`], and the config file's `[[watch]]` list, from one reading of the file.
pub fn settings_and_watch(
    config: Option<&Path>,
    profile: Option<&str>,
    flags: Settings,
) -> anyhow::Result<(Settings, Vec<String>)> {
    let file = config_file(config)?;
    let settings = config::resolve(&file, |k| std::env::var(k).ok(), profile, flags)?;
    Ok((settings, file.watch))
}

/// The config file at `config`, else at its default place (none there reads as empty).
fn config_file(config: Option<&Path>) -> anyhow::Result<config::ConfigFile> {
    let path = match config {
        Some(p) => p.to_path_buf(),
        None => config::default_path().context("cannot find the config directory")?,
    };
    let file = config::load(&path)?;
    if let Some(warning) = config::exposure(&path, &file) {
        eprintln!("lookout: warning: {}", output::terminal_line(&warning));
    }
    Ok(file)
}
