//! The recordings list: the window's own recordings (the recordings directory), newest
//! first, each opened in a replay window of its own with one click.
//!
//! The listing reads every file's head (bounded per file by `library::list`), so it runs on
//! its own thread when the list is opened; the window never waits for it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use egui::RichText;

use super::theme;
use crate::commands::recordings::{clock, utc_minute};
use crate::core::record::library::{self, RecordingInfo};
use crate::core::untrusted::{self, Lines};

/// Opens a recording (by default: `lookout replay FILE`, a window of its own).
pub type Launch = Box<dyn Fn(&Path) -> std::io::Result<()>>;

/// What the listing thread found.
type Listing = Arc<Mutex<Option<Result<Vec<RecordingInfo>, String>>>>;

pub struct RecordingsList {
    dir: PathBuf,
    open: bool,
    listing: Listing,
    launch: Launch,
    /// Why the last open failed.
    error: Option<String>,
}

/// Starts `lookout replay FILE` beside this window.
pub fn launch_replay(path: &Path) -> std::io::Result<()> {
    std::process::Command::new(std::env::current_exe()?)
        .arg("replay")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}

impl RecordingsList {
    pub fn new(dir: PathBuf, launch: Launch) -> Self {
        RecordingsList {
            dir,
            open: false,
            listing: Listing::default(),
            launch,
            error: None,
        }
    }

    /// Shows the list (and reads the directory again).
    pub fn show(&mut self, ctx: &egui::Context) {
        self.open = true;
        self.error = None;
        let listing = self.listing.clone();
        *listing.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let dir = self.dir.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("recordings-list".into())
            .spawn(move || {
                let found = library::list(&dir).map_err(|e| e.to_string());
                *listing.lock().unwrap_or_else(|p| p.into_inner()) = Some(found);
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            self.error = Some(format!("cannot list the recordings: {e}"));
        }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Draws the list's window while it is open.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if !self.open {
            return;
        }
        let mut open = true;
        let mut chosen = None;
        egui::Window::new("Recordings")
            .open(&mut open)
            .default_size([640.0, 360.0])
            .collapsible(false)
            .show(ctx, |ui| {
                ui.label(
                    RichText::new(untrusted::printable(
                        &self.dir.display().to_string(),
                        Lines::Show,
                        200,
                    ))
                    .color(theme::TEXT_WEAK),
                );
                if let Some(e) = &self.error {
                    ui.colored_label(theme::ERROR, e);
                }
                let listing = self.listing.lock().unwrap_or_else(|p| p.into_inner());
                match listing.as_ref() {
                    None => {
                        ui.label("Reading the recordings…");
                    }
                    Some(Err(e)) => {
                        ui.colored_label(theme::ERROR, format!("Cannot list them: {e}"));
                    }
                    Some(Ok(infos)) if infos.is_empty() => {
                        ui.label("No recordings yet: every task this window shows is recorded.");
                    }
                    Some(Ok(infos)) => {
                        egui::ScrollArea::vertical().show(ui, |ui| {
                            egui::Grid::new("lookout_recordings")
                                .striped(true)
                                .show(ui, |ui| {
                                    for info in infos {
                                        if row(ui, info) {
                                            chosen = Some(info.path.clone());
                                        }
                                        ui.end_row();
                                    }
                                });
                        });
                    }
                }
            });
        self.open = open;
        if let Some(path) = chosen
            && let Err(e) = (self.launch)(&path)
        {
            self.error = Some(format!("cannot open the replay: {e}"));
        }
    }
}

/// One recording's row; true when its Play was clicked.
fn row(ui: &mut egui::Ui, info: &RecordingInfo) -> bool {
    let when = info.when_unix_ms().map_or_else(|| "?".into(), utc_minute);
    let source = info.source.as_deref().map_or_else(
        || "?".to_string(),
        |s| untrusted::printable(s, Lines::Show, 60).into_owned(),
    );
    let clicked = ui
        .add_enabled(info.error.is_none(), egui::Button::new("Play"))
        .on_hover_text(info.path.display().to_string())
        .clicked();
    ui.label(when);
    ui.label(clock(info.duration_us));
    ui.label(source);
    ui.label(crate::commands::output::amount(info.bytes));
    if let Some(problem) = info.problem() {
        ui.colored_label(
            theme::WARN,
            untrusted::printable(&problem, Lines::Show, 120).into_owned(),
        );
    } else {
        ui.label("");
    }
    clicked
}
