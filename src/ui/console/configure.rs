//! The console's settings: the Settings button and window (`ui::settings`), and saved
//! settings put in force without a restart. Notifications and sound change at once; any
//! other change reconnects the tasks on the wall with the new settings (their sources are
//! made again), and the tasks added later use them too.

use egui::{Key, KeyboardShortcut, Modifiers};

use super::{ConsoleApp, Task};
use crate::core::config::Settings;
use crate::core::keyring::KeyStore;
use crate::ui::settings::{Outcome, SettingsWindow};

/// Opens the settings window.
pub const SETTINGS_SHORTCUT: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND, Key::Comma);

/// What the console's settings window needs, and what puts saved settings in force.
pub struct SettingsHook {
    /// The config file.
    pub path: std::path::PathBuf,
    /// The profile chosen by `--profile` or `LOOKOUT_PROFILE`, if one was.
    pub profile: Option<String>,
    /// What the flags and the environment set (they win over the file and the keyring).
    pub overridden: Settings,
    /// The keyring (the desktop's; a stand-in in tests).
    pub keys: Box<dyn Fn() -> Box<dyn KeyStore>>,
    /// Reads the settings again (flags, environment, keyring, file) and puts them in force
    /// for the tasks made from now on; the settings now in force, or why they cannot be.
    pub reload: Box<dyn FnMut() -> Result<Settings, String>>,
}

/// The settings part of the console.
pub(super) struct Configure {
    hook: SettingsHook,
    window: Option<SettingsWindow>,
    in_force: Settings,
}

/// What decides how a task connects and records: everything but the desktop's part.
fn connecting(s: &Settings) -> Settings {
    Settings {
        desktop: Default::default(),
        ..s.clone()
    }
}

impl ConsoleApp {
    /// Gives the console a settings window; `in_force` is what its tasks were made with.
    pub fn with_settings(mut self, hook: SettingsHook, in_force: Settings) -> Self {
        self.notifications = in_force.desktop.notifications();
        self.sound = in_force.desktop.sound();
        self.configure = Some(Configure {
            hook,
            window: None,
            in_force,
        });
        self
    }

    /// Opens the settings window (when the console has one).
    pub fn open_settings(&mut self) {
        if let Some(c) = &mut self.configure
            && c.window.is_none()
        {
            c.window = Some(SettingsWindow::open(
                c.hook.path.clone(),
                c.hook.profile.as_deref(),
                (c.hook.keys)(),
                c.hook.overridden.clone(),
            ));
        }
    }

    /// Whether the settings window is open.
    pub fn settings_open(&self) -> bool {
        self.configure.as_ref().is_some_and(|c| c.window.is_some())
    }

    /// Whether the console has a settings window to open.
    pub(super) fn has_settings(&self) -> bool {
        self.configure.is_some()
    }

    /// The settings window, when open, and its shortcut.
    pub(super) fn settings_ui(&mut self, ctx: &egui::Context) {
        if self.configure.is_none() {
            return;
        }
        if ctx.input_mut(|i| i.consume_shortcut(&SETTINGS_SHORTCUT)) {
            self.open_settings();
        }
        let Some(window) = self.configure.as_mut().and_then(|c| c.window.as_mut()) else {
            return;
        };
        match window.show(ctx) {
            Outcome::Open => {}
            Outcome::Saved => self.put_in_force(),
            Outcome::Closed => {
                if let Some(c) = &mut self.configure {
                    c.window = None;
                }
            }
        }
    }

    /// Reads the saved settings and puts them in force.
    fn put_in_force(&mut self) {
        let Some(c) = &mut self.configure else { return };
        let now = match (c.hook.reload)() {
            Ok(now) => now,
            Err(why) => {
                self.add_error = Some(format!("The settings were saved but cannot be used: {why}"));
                return;
            }
        };
        let reconnect = connecting(&now) != connecting(&c.in_force);
        self.notifications = now.desktop.notifications();
        self.sound = now.desktop.sound();
        c.in_force = now;
        if reconnect {
            self.remake_tasks();
        }
        self.show_only(self.focused);
    }

    /// Makes every task with a source again (its sessions end and start anew with the
    /// settings now in force); it keeps its place, pin and tile.
    fn remake_tasks(&mut self) {
        let Some(maker) = &mut self.maker else { return };
        for task in &mut self.tasks {
            let Some(source) = task.source.clone() else {
                continue;
            };
            match maker(&source) {
                Ok(app) => {
                    let mut fresh = Task::on_wall(app, Some(source), task.found);
                    fresh.pinned = task.pinned;
                    fresh.on_screen = task.on_screen;
                    let old = std::mem::replace(task, fresh);
                    old.app.stop();
                }
                Err(e) => tracing::warn!("cannot reconnect {source}: {e}"),
            }
        }
    }
}
