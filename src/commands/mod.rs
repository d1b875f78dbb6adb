//! What each CLI subcommand does, on top of the core. `main` only dispatches here.

pub mod answer;
pub mod docs;
pub mod export;
pub mod login;
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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::ConnectArgs;
use crate::core::config::{self, Settings};
use crate::core::event::Waker;
use crate::core::keyring;
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

/// Where a run's settings come from, to read them again (the console's settings window):
/// the config file named, the profile chosen, the flags given.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub config: Option<PathBuf>,
    pub profile: Option<String>,
    pub flags: Settings,
}

impl Origin {
    /// The settings from here, read again.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        settings(
            self.config.as_deref(),
            self.profile.as_deref(),
            self.flags.clone(),
        )
    }

    /// The config file these settings are read from.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        config_path(self.config.as_deref())
    }

    /// The profile named by `--profile` or `LOOKOUT_PROFILE`.
    pub fn chosen_profile(&self) -> Option<String> {
        self.profile
            .clone()
            .or_else(|| std::env::var("LOOKOUT_PROFILE").ok())
    }

    /// What the flags and the environment set, over nothing else.
    pub fn overriding(&self) -> Settings {
        let env = |k: &str| std::env::var(k).ok();
        let from_env = Settings::from_env(&env).unwrap_or_default();
        self.flags.clone().over(from_env)
    }
}

/// [`settings`], and the config file's `[[watch]]` list, from one reading of the file. Keys
/// come from the flags, the environment, the desktop keyring, then the file.
pub fn settings_and_watch(
    config: Option<&Path>,
    profile: Option<&str>,
    flags: Settings,
) -> anyhow::Result<(Settings, Vec<String>)> {
    let (path, file) = config_file(config)?;
    let env = |k: &str| std::env::var(k).ok();
    let mut unavailable = None;
    let mut from_keyring = |profile: &str, providers: &[&'static str]| {
        keyring_layer(profile, providers, &env, &mut unavailable)
    };
    let settings = config::resolve_keyed(&file, env, profile, flags, &mut from_keyring)?;
    if let Some(line) = unavailable.and_then(|e| keyring_fallback(&e, &path, &file, profile)) {
        eprintln!("lookout: {}", output::terminal_line(&line));
    }
    Ok((settings, file.watch))
}

/// The keys the desktop keyring holds for `providers` under `profile`, as a layer; why it
/// could not be asked goes to `unavailable`.
fn keyring_layer(
    profile: &str,
    providers: &[&'static str],
    env: &dyn Fn(&str) -> Option<String>,
    unavailable: &mut Option<keyring::KeyringError>,
) -> Settings {
    let mut layer = Settings::default();
    if keyring::disabled(env) {
        return layer;
    }
    match keyring::lookup_many(profile, providers) {
        Ok(keys) => {
            for (provider, key) in keys {
                if let Some(slot) = layer.key_mut(provider) {
                    *slot = Some(key);
                }
            }
        }
        Err(e) => {
            tracing::debug!("keyring not asked: {e}");
            *unavailable = Some(e);
        }
    }
    layer
}

/// The one line that says a key comes from the config file because the keyring could not be
/// asked; `None` when the file gives no key either (nothing falls back).
fn keyring_fallback(
    why: &keyring::KeyringError,
    path: &Path,
    file: &config::ConfigFile,
    profile: Option<&str>,
) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok();
    let name = config::profile_name(file, env, profile)?;
    let from_file = file.profiles.get(&name)?;
    keyring::PROVIDERS
        .iter()
        .any(|p| from_file.has_key(p))
        .then(|| format!("{why}; using the keys in {}", path.display()))
}

/// `config`, else the default config file's place.
fn config_path(config: Option<&Path>) -> anyhow::Result<PathBuf> {
    match config {
        Some(p) => Ok(p.to_path_buf()),
        None => config::default_path().context("cannot find the config directory"),
    }
}

/// The config file at `config`, else at its default place (none there reads as empty).
pub(crate) fn config_file(config: Option<&Path>) -> anyhow::Result<(PathBuf, config::ConfigFile)> {
    let path = config_path(config)?;
    let file = config::load(&path)?;
    if let Some(warning) = config::exposure(&path, &file) {
        eprintln!("lookout: warning: {}", output::terminal_line(&warning));
    }
    Ok((path, file))
}
