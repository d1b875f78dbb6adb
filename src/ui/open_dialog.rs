//! The Open… dialog: picks a recording anywhere on disk, drawn in the window (no desktop
//! portal or toolkit needed, so it works on any X11 or Wayland session).
//!
//! It lists one directory: its folders, then its recordings (`*.lkrec`; "All files" shows
//! the rest). A folder opens with a click; a file is picked with a click and opened with
//! Open or a double click. The path field takes a folder or a file typed or pasted in.
//! A listing is bounded ([`MAX_ENTRIES`]) so a huge directory cannot stall the window.

use std::path::{Path, PathBuf};

use egui::RichText;

use super::theme;
use crate::core::record::library;
use crate::core::untrusted::{self, Lines};

/// Entries listed at most in one directory.
pub const MAX_ENTRIES: usize = 5_000;

/// One directory's listing.
#[derive(Debug, Default)]
struct Listing {
    folders: Vec<String>,
    files: Vec<String>,
    /// More entries than [`MAX_ENTRIES`] were there.
    cut: bool,
    error: Option<String>,
}

fn list(dir: &Path, all_files: bool) -> Listing {
    let mut listing = Listing::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            listing.error = Some(e.to_string());
            return listing;
        }
    };
    for (n, entry) in entries.flatten().enumerate() {
        if n >= MAX_ENTRIES {
            listing.cut = true;
            break;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            listing.folders.push(name);
        } else if all_files || path.extension().is_some_and(|e| e == library::EXTENSION) {
            listing.files.push(name);
        }
    }
    listing.folders.sort_by_key(|n| n.to_lowercase());
    listing.files.sort_by_key(|n| n.to_lowercase());
    listing
}

/// The dialog while it is shown.
#[derive(Debug)]
pub struct OpenDialog {
    dir: PathBuf,
    typed: String,
    all_files: bool,
    listing: Listing,
    picked: Option<String>,
}

/// What the operator did this frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Open(PathBuf),
    Cancel,
}

impl OpenDialog {
    /// The dialog, listing `dir`.
    pub fn new(dir: PathBuf) -> Self {
        let mut d = OpenDialog {
            typed: String::new(),
            dir: PathBuf::new(),
            all_files: false,
            listing: Listing::default(),
            picked: None,
        };
        d.go(dir);
        d
    }

    fn go(&mut self, dir: PathBuf) {
        self.listing = list(&dir, self.all_files);
        self.typed = dir.display().to_string();
        self.dir = dir;
        self.picked = None;
    }

    /// Draws the dialog; `Some` once the operator opened a file or cancelled.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Outcome> {
        let mut outcome = None;
        let mut open = true;
        let mut go = None;
        egui::Window::new("Open a recording")
            .open(&mut open)
            .default_size([560.0, 420.0])
            .collapsible(false)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    if ui.button("Up").on_hover_text("The folder above").clicked()
                        && let Some(up) = self.dir.parent()
                    {
                        go = Some(up.to_path_buf());
                    }
                    let field = ui.add(
                        egui::TextEdit::singleline(&mut self.typed)
                            .desired_width(f32::INFINITY)
                            .hint_text("A folder or a file"),
                    );
                    if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        let typed = PathBuf::from(self.typed.trim());
                        if typed.is_dir() {
                            go = Some(typed);
                        } else {
                            outcome = Some(Outcome::Open(typed));
                        }
                    }
                });
                if let Some(e) = &self.listing.error {
                    ui.colored_label(theme::ERROR, format!("Cannot list this folder: {e}"));
                }
                let footer = ui.spacing().interact_size.y * 2.0;
                egui::ScrollArea::vertical()
                    .max_height(ui.available_height() - footer)
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        for name in &self.listing.folders {
                            let shown = untrusted::printable(name, Lines::Show, 120);
                            if ui
                                .selectable_label(
                                    false,
                                    RichText::new(format!("{shown}/")).strong(),
                                )
                                .clicked()
                            {
                                go = Some(self.dir.join(name));
                            }
                        }
                        for name in &self.listing.files {
                            let shown = untrusted::printable(name, Lines::Show, 120);
                            let picked = self.picked.as_deref() == Some(name.as_str());
                            let r = ui.selectable_label(picked, shown.as_ref());
                            if r.clicked() {
                                self.picked = Some(name.clone());
                            }
                            if r.double_clicked() {
                                outcome = Some(Outcome::Open(self.dir.join(name)));
                            }
                        }
                        if self.listing.folders.is_empty() && self.listing.files.is_empty() {
                            ui.label(
                                RichText::new("No recordings in this folder.")
                                    .color(theme::TEXT_WEAK),
                            );
                        }
                        if self.listing.cut {
                            ui.label(
                                RichText::new(format!("Only the first {MAX_ENTRIES} entries."))
                                    .color(theme::WARN),
                            );
                        }
                    });
                ui.separator();
                ui.horizontal(|ui| {
                    let mut all = self.all_files;
                    if ui.checkbox(&mut all, "All files").changed() {
                        self.all_files = all;
                        go = Some(self.dir.clone());
                    }
                    let open = ui.add_enabled(self.picked.is_some(), egui::Button::new("Open"));
                    if open.clicked()
                        && let Some(name) = &self.picked
                    {
                        outcome = Some(Outcome::Open(self.dir.join(name)));
                    }
                    if ui.button("Cancel").clicked() {
                        outcome = Some(Outcome::Cancel);
                    }
                });
            });
        if let Some(dir) = go {
            self.go(dir);
        }
        if !open {
            outcome = Some(Outcome::Cancel);
        }
        outcome
    }
}
