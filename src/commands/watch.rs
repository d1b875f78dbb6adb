//! `lookout watch SOURCE…` and `lookout` alone: the console, one tile per task, each task
//! recorded as a single-task window records it. Named sources become the workspace; with
//! none, the workspace kept from last time opens.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::Origin;
use super::view::{Prepared, finish_recording};
use crate::core::record::writer::Writer;
use crate::core::session::SessionConfig;
use crate::core::source::SourceSpec;
use crate::core::workspace::{Workspace, WorkspaceTask};
use crate::core::{instance, listing};
use crate::ui::{self, ConsoleStart, ConsoleTask};

/// Opens the console on `sources` (the workspace kept at `path` when there are none),
/// with the config's `[[watch]]` list (`also`) added, and blocks until the window closes.
/// Changes are kept at `path`; with none, nothing is. `focus`, when among the tasks, opens
/// full-size (a link opened).
pub fn run(
    rt: &tokio::runtime::Runtime,
    sources: Vec<String>,
    also: Vec<String>,
    config: SessionConfig,
    path: Option<PathBuf>,
    focus: Option<String>,
    origin: Option<Origin>,
) -> anyhow::Result<()> {
    let kept = opening(path.as_deref(), sources, also, focus)?;
    let in_force = config.settings.clone();
    // What the tasks are made with: the settings window puts new settings here.
    let config = Arc::new(Mutex::new(config));
    let writers: Arc<Mutex<Vec<Writer>>> = Arc::default();
    let prepare = {
        let writers = writers.clone();
        let config = Arc::clone(&config);
        move |text: &str| -> anyhow::Result<Prepared> {
            let source: SourceSpec = text.parse()?;
            let config = config.lock().unwrap_or_else(|p| p.into_inner()).clone();
            // Many tasks would talk over each other: each starts muted.
            let (task, writer) = Prepared::new(source, None, config, true)?;
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
    // The console of the kept workspace is this user's one console: links opened while it
    // runs come to it (`lookout open`). A demo's console (no workspace) does not listen.
    let (links_tx, links_rx) = std::sync::mpsc::sync_channel::<Vec<String>>(16);
    let wake: Arc<std::sync::OnceLock<crate::core::event::Waker>> = Arc::default();
    let listener = match &path {
        Some(_) => {
            let wake = Arc::clone(&wake);
            let socket = instance::socket_path();
            instance::Listener::start(&socket, move |sources| {
                let taken = links_tx.try_send(sources).is_ok();
                if taken && let Some(wake) = wake.get() {
                    wake();
                }
                taken
            })
            .map_err(|e| tracing::warn!("links will not reach this console: {e}"))
            .ok()
        }
        None => None,
    };
    let handle = rt.handle().clone();
    let shown = ui::run_console(
        rt.handle().clone(),
        Box::new(move |waker| {
            let _ = wake.set(waker.clone());
            let lists = handle.clone();
            let spawn = move |task: Prepared, waker: &crate::core::event::Waker| ConsoleTask {
                title: task.title.clone(),
                sessions: task.spawn(&handle, waker.clone()),
            };
            let tasks = tasks.into_iter().map(|t| spawn(t, &waker)).collect();
            let follow = {
                let waker = waker.clone();
                let config = Arc::clone(&config);
                move |text: &str| {
                    let settings = config
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .settings
                        .clone();
                    listing::follow(&lists, text, &settings, waker.clone())
                }
            };
            let follows = kept
                .follow
                .iter()
                .filter_map(|text| {
                    follow(text)
                        .map_err(|e| tracing::warn!("cannot follow {text}: {e}"))
                        .ok()
                })
                .collect();
            let maker: ui::SessionsMaker = Box::new(move |text| {
                let task = prepare(text).map_err(|e| format!("{e:#}"))?;
                Ok(spawn(task, &waker))
            });
            ConsoleStart {
                tasks,
                maker: Some(maker),
                workspace: path.map(|p| (p, kept)),
                follows,
                follower: Some(Box::new(follow)),
                links: Some(links_rx),
                settings: origin.and_then(|o| settings_hook(o, config, in_force)),
            }
        }),
    );
    // The window is closed: links go to the next console, not to this one finishing.
    drop(listener);
    let writers = std::mem::take(&mut *writers.lock().unwrap_or_else(|p| p.into_inner()));
    for writer in writers {
        finish_recording(writer);
    }
    shown
}

/// The settings window's needs: the config file, and a reload that reads the settings
/// again from `origin` and puts them in `config` for the tasks made from then on.
fn settings_hook(
    origin: Origin,
    config: Arc<Mutex<SessionConfig>>,
    in_force: crate::core::config::Settings,
) -> Option<(ui::console::SettingsHook, crate::core::config::Settings)> {
    let path = origin
        .config_path()
        .map_err(|e| tracing::warn!("no settings window: {e:#}"))
        .ok()?;
    let hook = ui::console::SettingsHook {
        path,
        profile: origin.chosen_profile(),
        overridden: origin.overriding(),
        keys: Box::new(|| Box::new(crate::core::keyring::DesktopKeyring)),
        reload: Box::new(move || {
            let settings = origin.settings().map_err(|e| format!("{e:#}"))?;
            config.lock().unwrap_or_else(|p| p.into_inner()).settings = settings.clone();
            Ok(settings)
        }),
    };
    Some((hook, in_force))
}

/// `lookout demo --tasks N`: the simulator serving a fleet of `tasks` tasks drawn from
/// `seed`, and the console watching it, in one process. The user's workspace is neither
/// read nor written.
#[cfg(feature = "sim")]
pub fn demo(rt: &tokio::runtime::Runtime, tasks: usize, seed: u64) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let (width, height) = crate::sim::fleet::DESKTOP;
    let config = crate::sim::SimConfig {
        width,
        height,
        ..crate::sim::SimConfig::default()
    };
    let sim = rt
        .block_on(super::serve::start(config))
        .context("cannot start the built-in simulator")?;
    let fleet = {
        let _entered = rt.enter();
        sim.start_fleet(tasks, seed)
    };
    let config = SessionConfig {
        settings: sim.settings(),
        ..SessionConfig::default()
    };
    let sources = fleet.iter().map(|t| t.source()).collect();
    let shown = run(rt, sources, Vec::new(), config, None, None, None);
    rt.block_on(sim.shutdown());
    shown
}

/// The workspace the console opens on: `sources`, or with none the one kept at `path`;
/// then `also` added where missing, and `focus` opened full-size when it is among them.
fn opening(
    path: Option<&std::path::Path>,
    sources: Vec<String>,
    also: Vec<String>,
    focus: Option<String>,
) -> anyhow::Result<Workspace> {
    let mut kept = match (path, sources.is_empty()) {
        (Some(path), true) => Workspace::load(path)?,
        _ => {
            let (follow, tasks): (Vec<String>, Vec<String>) =
                sources.into_iter().partition(|s| listing::is_listing(s));
            Workspace {
                tasks: tasks
                    .into_iter()
                    .map(|source| WorkspaceTask {
                        source,
                        pinned: false,
                    })
                    .collect(),
                focused: None,
                follow,
            }
        }
    };
    for source in also {
        if listing::is_listing(&source) {
            if !kept.follow.contains(&source) {
                kept.follow.push(source);
            }
        } else if !kept.tasks.iter().any(|t| t.source == source) {
            kept.tasks.push(WorkspaceTask {
                source,
                pinned: false,
            });
        }
    }
    if let Some(focus) = focus {
        kept.focused = kept.tasks.iter().position(|t| t.source == focus);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(source: &str, pinned: bool) -> WorkspaceTask {
        WorkspaceTask {
            source: source.into(),
            pinned,
        }
    }

    #[test]
    fn a_link_opened_joins_the_kept_workspace_and_opens_full_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workspace.json");
        let kept = Workspace {
            tasks: vec![task("chaser:a", true), task("optexity:b", false)],
            focused: Some(0),
            follow: vec!["waldiez:*".into()],
        };
        kept.save(&path).unwrap();
        let opened = |links: &[&str]| {
            let sources: Vec<String> = links.iter().map(|s| s.to_string()).collect();
            let focus = sources.first().cloned();
            opening(Some(&path), Vec::new(), sources, focus).unwrap()
        };
        // A new task: added at the end, and opened.
        let w = opened(&["optexity:new"]);
        assert_eq!(w.tasks.len(), 3);
        assert_eq!(w.tasks[2], task("optexity:new", false));
        assert_eq!(w.focused, Some(2));
        assert_eq!(w.follow, ["waldiez:*"]);
        assert!(w.tasks[0].pinned, "the kept tasks keep their pins");
        // A task already on the wall: opened, not added twice.
        let w = opened(&["optexity:b"]);
        assert_eq!(w.tasks.len(), 2);
        assert_eq!(w.focused, Some(1));
        // No link: the workspace as it was left.
        let w = opened(&[]);
        assert_eq!(w, kept);
    }
}
