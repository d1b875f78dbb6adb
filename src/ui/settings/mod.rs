//! The settings window: a profile of the config file (base URLs, keys, picture quality,
//! recording folder and retention, notifications and sound) as a form. Save writes what
//! changed back to the file ([`crate::core::config::edit`]: comments and other profiles
//! kept) and keys to the desktop keyring, never to the file; the console then puts the new
//! settings in force without a restart.
//!
//! [`form`] holds the fields and what a save changes; this module draws them.

pub mod form;

use std::path::PathBuf;

use egui::{RichText, TextEdit, Ui};

use super::theme;
use crate::core::config::{self, Settings, edit};
use crate::core::keyring::{self, KeyName, KeyStore};
use form::{Form, Kept, PROVIDERS};

/// What the window's last frame came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still open, nothing saved.
    Open,
    /// Saved: the settings are to be read again and put in force.
    Saved,
    /// Closed.
    Closed,
}

/// The settings window's state.
pub struct SettingsWindow {
    path: PathBuf,
    store: Box<dyn KeyStore>,
    /// The flags and environment this run was started with: what they set wins over the
    /// file and the keyring, and the window says so.
    overridden: Settings,
    /// The file's profiles when last read.
    profiles: Vec<String>,
    /// The form as loaded, and as edited.
    before: Form,
    form: Form,
    /// A new profile's name, while one is being named.
    naming: Option<String>,
    /// Why the file could not be read: nothing is saved over it.
    unreadable: Option<String>,
    /// The last save's result.
    status: Option<Result<String, String>>,
}

impl SettingsWindow {
    /// The window on the config file at `path`, showing `profile` (else the file's
    /// default profile, else `default`).
    pub fn open(
        path: PathBuf,
        profile: Option<&str>,
        store: Box<dyn KeyStore>,
        overridden: Settings,
    ) -> SettingsWindow {
        let (file, unreadable) = match config::load(&path) {
            Ok(file) => (file, None),
            Err(e) => (config::ConfigFile::default(), Some(e.to_string())),
        };
        let profile = profile
            .map(str::to_string)
            .or_else(|| file.default_profile.clone())
            .unwrap_or_else(|| keyring::DEFAULT_PROFILE.to_string());
        let form = Form::load(&file, &profile, store.as_ref());
        SettingsWindow {
            path,
            store,
            overridden,
            profiles: file.profiles.keys().cloned().collect(),
            before: form.clone(),
            form,
            naming: None,
            unreadable,
            status: None,
        }
    }

    /// The profile shown.
    pub fn profile(&self) -> &str {
        &self.form.profile
    }

    /// Whether the form holds changes not saved.
    pub fn changed(&self) -> bool {
        self.form != self.before
    }

    /// Reads profile `profile` again from the file and the keyring.
    fn load(&mut self, profile: &str) {
        let file = match config::load(&self.path) {
            Ok(file) => {
                self.unreadable = None;
                file
            }
            Err(e) => {
                self.unreadable = Some(e.to_string());
                config::ConfigFile::default()
            }
        };
        self.profiles = file.profiles.keys().cloned().collect();
        self.form = Form::load(&file, profile, self.store.as_ref());
        self.before = self.form.clone();
    }

    /// Saves what changed: keys to the keyring first (a key it refuses saves nothing),
    /// then the file. What was saved, or why not.
    pub fn save(&mut self) -> Result<String, String> {
        if let Some(why) = &self.unreadable {
            return Err(format!("Not saved: {why}"));
        }
        let changes = self.form.changes(&self.before)?;
        if changes.is_empty() {
            return Ok("Nothing to save".into());
        }
        let profile = changes.edit.profile.clone();
        let name = |provider: &'static str| KeyName {
            provider,
            profile: profile.clone(),
        };
        let label = |provider: &str| {
            PROVIDERS
                .iter()
                .find(|p| p.name == provider)
                .map_or("", |p| p.label)
        };
        for (provider, key) in &changes.store {
            key.pin();
            self.store.store(&name(provider), key).map_err(|e| {
                format!(
                    "The {} key was not saved, nor anything else: {e}",
                    label(provider)
                )
            })?;
        }
        for provider in &changes.forget {
            self.store
                .delete(&name(provider))
                .map_err(|e| format!("The {} key was not removed: {e}", label(provider)))?;
        }
        if !changes.edit.set.is_empty() || changes.edit.make_default {
            let text = config::read_text(&self.path).map_err(|e| e.to_string())?;
            let out = edit::apply(&text, &changes.edit)?;
            edit::write(&self.path, &out)
                .map_err(|e| format!("Cannot write {}: {e}", self.path.display()))?;
        }
        self.naming = None;
        self.load(&profile);
        let keys = match changes.store.len() + changes.forget.len() {
            0 => String::new(),
            _ => ", keys in the desktop keyring".to_string(),
        };
        Ok(format!("Saved to {}{keys}", self.path.display()))
    }

    /// Draws the window; what it came to.
    pub fn show(&mut self, ctx: &egui::Context) -> Outcome {
        let mut open = true;
        let mut outcome = Outcome::Open;
        egui::Window::new("Settings")
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(560.0)
            .show(ctx, |ui| outcome = self.ui(ui));
        match open {
            true => outcome,
            false => Outcome::Closed,
        }
    }

    /// The window's contents.
    pub fn ui(&mut self, ui: &mut Ui) -> Outcome {
        let mut outcome = Outcome::Open;
        egui::ScrollArea::vertical()
            .max_height(ui.ctx().content_rect().height() * 0.75)
            .show(ui, |ui| {
                self.profile_ui(ui);
                ui.separator();
                self.providers_ui(ui);
                ui.separator();
                self.pictures_ui(ui);
                ui.separator();
                self.recording_ui(ui);
                ui.separator();
                self.desktop_ui(ui);
            });
        ui.separator();
        if let Some(why) = &self.unreadable {
            ui.label(
                RichText::new(format!("Cannot read the config file: {why}")).color(theme::ERROR),
            );
        }
        match &self.status {
            Some(Ok(said)) => ui.label(RichText::new(said).color(theme::LIVE)),
            Some(Err(why)) => ui.label(RichText::new(why).color(theme::ERROR)),
            None => ui.label(
                RichText::new(format!("Saved in {}", self.path.display())).color(theme::TEXT_WEAK),
            ),
        };
        ui.horizontal(|ui| {
            let save = ui.add_enabled(self.changed(), egui::Button::new("Save"));
            if save.clicked() {
                let saved = self.save();
                if saved.is_ok() {
                    outcome = Outcome::Saved;
                }
                self.status = Some(saved);
            }
            if ui
                .add_enabled(self.changed(), egui::Button::new("Revert"))
                .clicked()
            {
                self.form = self.before.clone();
                self.status = None;
            }
            if ui.button("Close").clicked() {
                outcome = Outcome::Closed;
            }
        });
        outcome
    }

    fn profile_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("Profile");
            let mut chosen = self.form.profile.clone();
            let mut names = self.profiles.clone();
            if !names.contains(&chosen) {
                names.push(chosen.clone());
            }
            let changed = self.changed();
            ui.add_enabled_ui(!changed && self.naming.is_none(), |ui| {
                egui::ComboBox::from_id_salt("settings-profile")
                    .selected_text(&chosen)
                    .show_ui(ui, |ui| {
                        for name in &names {
                            ui.selectable_value(&mut chosen, name.clone(), name);
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_disabled_hover_text("Save or revert the changes first");
            });
            if chosen != self.form.profile {
                self.load(&chosen);
                self.status = None;
            }
            match &mut self.naming {
                None => {
                    if ui
                        .add_enabled(!changed, egui::Button::new("New profile…"))
                        .clicked()
                    {
                        self.naming = Some(String::new());
                    }
                }
                Some(name) => {
                    let field = ui.add(
                        TextEdit::singleline(name)
                            .hint_text("name")
                            .desired_width(140.0),
                    );
                    let named = name.trim().to_string();
                    let go = ui.add_enabled(!named.is_empty(), egui::Button::new("Create"));
                    let typed_enter =
                        field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (go.clicked() || typed_enter) && !named.is_empty() {
                        // A new profile starts empty; Save writes it.
                        self.load(&named);
                        self.naming = None;
                        self.status = None;
                    } else if ui.button("Cancel").clicked() {
                        self.naming = None;
                    }
                }
            }
        });
        if self.before.is_default {
            ui.label(RichText::new("The default profile").color(theme::TEXT_WEAK));
        } else {
            ui.checkbox(&mut self.form.is_default, "Use this profile by default");
        }
    }

    fn providers_ui(&mut self, ui: &mut Ui) {
        ui.heading("Providers");
        let keyring_down = self.form.providers.iter().find_map(|p| match &p.kept {
            Kept::Unknown(why) => Some(why.clone()),
            _ => None,
        });
        if let Some(why) = &keyring_down {
            ui.label(
                RichText::new(format!(
                    "Keys cannot be kept here: {why}. Give them in the environment or the \
                     config file instead."
                ))
                .color(theme::WARN),
            );
        }
        let overridden = |ui: &mut Ui, set: bool| {
            if set {
                weak(ui, "a flag or the environment wins");
            }
        };
        egui::Grid::new("settings-providers")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                for (p, fields) in PROVIDERS.iter().zip(self.form.providers.iter_mut()) {
                    let url_label = ui.label(format!("{} base URL", p.label));
                    ui.horizontal(|ui| {
                        ui.add(
                            TextEdit::singleline(&mut fields.base_url)
                                .hint_text("the provider's default")
                                .desired_width(300.0),
                        )
                        .labelled_by(url_label.id);
                        overridden(ui, self.overridden.base_url_of(p.name).is_some());
                    });
                    ui.end_row();

                    let key_label = ui.label(format!("{} {}", p.label, p.key_label));
                    ui.horizontal(|ui| {
                        let hint = match (&fields.kept, fields.forget) {
                            (_, true) => "removed on save",
                            (Kept::Keyring, _) => "kept in the desktop keyring",
                            (Kept::File, _) => "in the config file (a new one goes to the keyring)",
                            (Kept::Nothing, _) => "none",
                            (Kept::Unknown(_), _) => "cannot be kept",
                        };
                        let can_keep = !matches!(fields.kept, Kept::Unknown(_));
                        ui.add_enabled(
                            can_keep,
                            TextEdit::singleline(&mut fields.new_key)
                                .password(true)
                                .hint_text(hint)
                                .desired_width(300.0),
                        )
                        .labelled_by(key_label.id);
                        let kept = matches!(fields.kept, Kept::Keyring | Kept::File);
                        if kept && !fields.forget && ui.button("Forget").clicked() {
                            fields.forget = true;
                            fields.new_key.clear();
                        }
                        overridden(ui, self.overridden.key(p.name).is_some());
                    });
                    ui.end_row();
                }
            });
    }

    fn pictures_ui(&mut self, ui: &mut Ui) {
        ui.heading("Pictures");
        let f = &mut self.form;
        ui.checkbox(&mut f.lossless, "Lossless VNC pictures (no JPEG)");
        ui.add_enabled(
            !f.lossless,
            egui::Slider::new(&mut f.jpeg_quality, 0..=9).text("JPEG quality (VNC)"),
        );
        ui.add(egui::Slider::new(&mut f.compress, 0..=9).text("Compression level (VNC)"));
        weak(ui, "Tasks watched now reconnect with these.");
    }

    fn recording_ui(&mut self, ui: &mut Ui) {
        ui.heading("Recording");
        let f = &mut self.form;
        ui.checkbox(&mut f.record, "Record every session");
        ui.horizontal(|ui| {
            let label = ui.label("Recordings folder");
            let default = crate::core::record::library::default_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            ui.add(
                TextEdit::singleline(&mut f.recordings_dir)
                    .hint_text(default)
                    .desired_width(340.0),
            )
            .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            ui.label("Keep at most");
            ui.add(
                egui::DragValue::new(&mut f.max_gib)
                    .range(0..=100_000)
                    .suffix(" GiB"),
            );
            ui.label("and");
            ui.add(
                egui::DragValue::new(&mut f.max_days)
                    .range(0..=36_500)
                    .suffix(" days"),
            );
            weak(ui, "(0: no limit)");
        });
    }

    fn desktop_ui(&mut self, ui: &mut Ui) {
        ui.heading("Desktop");
        let f = &mut self.form;
        ui.checkbox(
            &mut f.notifications,
            "A desktop notification when a task asks and the window is not in front",
        );
        ui.checkbox(&mut f.sound, "Hear the task opened full-size");
    }
}

fn weak(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).color(theme::TEXT_WEAK).small());
}
