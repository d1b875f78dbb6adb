//! What each CLI subcommand does, on top of the core. `main` only dispatches here.

pub mod answer;
pub mod logs;
pub mod serve;
pub mod snapshot;
#[cfg(feature = "gui")]
pub mod view;

use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::ConnectArgs;
use crate::core::config::{self, Overrides};
use crate::core::event::Waker;
use crate::core::redact::Secret;
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
    let path = match &args.config {
        Some(p) => p.clone(),
        None => config::default_path().context("cannot find the config directory")?,
    };
    let file = config::load(&path)?;
    let overrides = Overrides {
        profile: args.profile.clone(),
        optexity_base_url: args.optexity_base_url.clone(),
        optexity_api_key: args.optexity_api_key.clone().map(Secret::new),
        chaser_base_url: args.chaser_base_url.clone(),
        chaser_key: args.chaser_key.clone().map(Secret::new),
        waldiez_base_url: args.waldiez_base_url.clone(),
        waldiez_token: args.waldiez_token.clone().map(Secret::new),
        waldiez_client_id: args.waldiez_client_id.clone(),
        waldiez_client_secret: args.waldiez_client_secret.clone().map(Secret::new),
        waldiez_auth: args.waldiez_auth.map(|a| a.name().to_string()),
        agentstation_base_url: args.agentstation_base_url.clone(),
        agentstation_token: args.agentstation_token.clone().map(Secret::new),
        vnc_password: args.vnc_password.clone().map(Secret::new),
        jpeg_quality: args.quality,
        lossless: args.lossless,
        compress_level: args.compress,
    };
    let settings = config::resolve(&file, |k| std::env::var(k).ok(), &overrides)?;
    Ok((
        source,
        SessionConfig {
            settings,
            encodings: args.encoding.into(),
            preview_max_fps: args.max_fps,
            preview_pacing: args.pacing.into(),
            start_recording: args.start_recording,
            ..SessionConfig::default()
        },
    ))
}
