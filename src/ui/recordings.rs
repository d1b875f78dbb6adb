//! The recordings list: the window's own recordings (the recordings directory), newest
//! first, each opened in a replay window of its own with one click.
//!
//! **Open…** picks any file (a recording a colleague sent, one on another disk) with the
//! [`OpenDialog`] drawn in the window; a file dropped on the window opens the same way. A file
//! is checked to be a recording before a replay is started for it, so a wrong pick gets
//! its reason here rather than on a terminal nobody sees.
//!
//! The listing reads every file's head (bounded per file by `library::list`), so it runs on
//! its own thread when the list is opened; the window never waits for it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use egui::RichText;

use super::open_dialog::{OpenDialog, Outcome};
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
    /// The Open… dialog, while it is shown.
    picker: Option<OpenDialog>,
    /// The list is to be shown (with the error of a file that did not open).
    want_shown: bool,
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
            picker: None,
            want_shown: false,
        }
    }

    /// Shows the Open… dialog, in the recordings directory.
    pub fn pick(&mut self) {
        let start = if self.dir.is_dir() {
            self.dir.clone()
        } else {
            std::env::current_dir().unwrap_or_default()
        };
        let picker = OpenDialog::new(start);
        self.picker = Some(picker);
    }

    /// Opens `path` in a replay of its own, once it is seen to be a recording; if it is
    /// not, the list shows why.
    pub fn open_file(&mut self, path: &Path) {
        let checked = std::fs::File::open(path)
            .map_err(crate::core::record::reader::ReadError::from)
            .and_then(crate::core::record::reader::Reader::open);
        let shown =
            untrusted::printable(&path.display().to_string(), Lines::Show, 200).into_owned();
        self.error = match checked {
            Err(e) => Some(format!("cannot open {shown}: {e}")),
            Ok(_) => (self.launch)(path)
                .err()
                .map(|e| format!("cannot open the replay of {shown}: {e}")),
        };
        self.want_shown = self.error.is_some();
    }

    /// The reason the last file could not be opened, if it could not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
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

    /// Draws the list's window while it is open, and the Open… dialog while it is shown.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if let Some(outcome) = self.picker.as_mut().and_then(|p| p.ui(ctx)) {
            self.picker = None;
            if let Outcome::Open(path) = outcome {
                self.open_file(&path);
            }
        }
        // A file dropped on the window.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for path in dropped {
            self.open_file(&path);
        }
        if std::mem::take(&mut self.want_shown) {
            let error = self.error.take();
            self.show(ctx);
            self.error = error;
        }
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
