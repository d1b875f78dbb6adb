//! The operator console: many tasks in one window. Its wall shows a tile per task
//! ([`tile`]); a click selects one, a double click or Enter opens it full-size (the task
//! view a single-task window shows: picture, log, prompt, control) and Esc returns to the
//! wall. Arrow keys move between tiles; Ctrl+J opens the task that has waited longest for
//! an answer.
//!
//! The wall's top bar adds a task (anything `lookout view` takes, or `waldiez:*` to follow
//! the runner's task list, [`FollowMaker`]); a tile's Remove stops watching it. The
//! workspace (the tasks, their pins, the one opened, the lists followed) is kept
//! ([`crate::core::workspace`]) as it changes. Only the task opened full-size is heard
//! and runs at full rate: the others' sources are asked for a picture a few times a
//! second (`FrameSlot::set_pace`): RFB asks for updates that often, a Chaser preview for
//! that frame rate, HLS decodes every frame but converts only those.
//!
//! Tasks that need an answer sort first (pinned ones keep their place at the front), the
//! window title counts them, and a prompt that arrives while the window is not focused
//! asks the window manager for attention and sends a desktop notification. Every task's
//! sessions run whether or not it is drawn: a task off screen takes its sessions' news
//! each frame ([`ViewerApp::step_aside`]).

mod configure;
mod follow;
pub mod stats;
pub mod thumbnail;
pub mod tile;

use std::time::Instant;

use egui::{Key, KeyboardShortcut, Modifiers, Panel, RichText, UserAttentionType, ViewportCommand};

use super::app::{ViewerApp, notify, shown};
use super::theme;
use crate::core::listing::{self, Listing};
use crate::core::workspace::{Workspace, WorkspaceTask};
pub use configure::{SETTINGS_SHORTCUT, SettingsHook};
use follow::Follow;
pub use follow::FollowMaker;
use thumbnail::{Thumbnail, Thumbnailer};
use tile::{GAP, TileAction, TileView};

/// Opens the task that has waited longest for an answer.
pub const NEXT_WAITING_SHORTCUT: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND, Key::J);

/// Makes a task from what the operator typed (anything `lookout view` takes), or says
/// why it cannot be watched.
pub type TaskMaker = Box<dyn FnMut(&str) -> Result<ViewerApp, String>>;

/// One task of the console.
struct Task {
    app: ViewerApp,
    /// What was typed to watch it (or what a followed list found), when it can be kept.
    source: Option<String>,
    /// A followed list found it: the list is kept in the workspace, not the task.
    found: bool,
    /// Its tile was on screen when the wall was last drawn (a tile scrolled away is
    /// paced at [`tile::OFF_SCREEN_EVERY`]).
    on_screen: bool,
    thumbnail: Thumbnail,
    pinned: bool,
    /// The prompt it waits on, and since when the console has seen it wait.
    waiting: Option<(String, Instant)>,
}

impl Task {
    /// `app` as a tile of the wall, paced as one.
    fn on_wall(app: ViewerApp, source: Option<String>, found: bool) -> Task {
        app.set_pace(Some(tile::THUMBNAIL_EVERY), None);
        Task {
            app: app.embedded(),
            source,
            found,
            on_screen: true,
            thumbnail: Thumbnail::default(),
            pinned: false,
            waiting: None,
        }
    }
}

/// The console's window.
pub struct ConsoleApp {
    tasks: Vec<Task>,
    /// The task shown full-size, by its index in `tasks`.
    focused: Option<usize>,
    /// The tile the keyboard is on.
    selected: usize,
    /// Columns of the wall as last drawn, for the arrow keys.
    columns: usize,
    /// A widget (a text field) had the keyboard at the end of the last frame: egui takes
    /// it away on Esc before the frame is drawn.
    field_had_keys: bool,
    shown_title: String,
    rt: Option<tokio::runtime::Handle>,
    /// Where the workspace is kept, when it is.
    workspace: Option<std::path::PathBuf>,
    /// Makes the tasks the operator adds.
    maker: Option<TaskMaker>,
    /// Wakes the window at once (made from its context on the first frame): the task
    /// opened full-size wakes it with each picture.
    wake_now: Option<crate::core::event::Waker>,
    /// What is typed in the Add box, and why the last one could not be added.
    adding: String,
    add_error: Option<String>,
    /// Frame and badge times for the benchmark (`LOOKOUT_STATS=1`), and how many
    /// thumbnails the last frame made.
    stats: Option<stats::Stats>,
    thumbnails_made: u64,
    /// Makes the wall's thumbnails (started on the first wall drawn).
    thumbnailer: Option<Thumbnailer>,
    /// Links another `lookout open` handed over (`core::instance`): the sources of each.
    links: Option<std::sync::mpsc::Receiver<Vec<String>>>,
    /// The task lists followed, and what starts following one.
    follows: Vec<Follow>,
    follower: Option<FollowMaker>,
    /// The settings window and what puts saved settings in force ([`configure`]).
    configure: Option<configure::Configure>,
    /// A prompt sends a desktop notification; the task opened is heard.
    notifications: bool,
    sound: bool,
}

impl ConsoleApp {
    /// A console of `tasks` (each made [`ViewerApp::embedded`]); `rt` sends desktop
    /// notifications.
    pub fn new(tasks: Vec<ViewerApp>, rt: Option<tokio::runtime::Handle>) -> Self {
        let tasks: Vec<Task> = tasks
            .into_iter()
            .map(|app| Task::on_wall(app, None, false))
            .collect();
        ConsoleApp {
            tasks,
            focused: None,
            selected: 0,
            columns: 1,
            field_had_keys: false,
            shown_title: String::new(),
            rt,
            workspace: None,
            maker: None,
            wake_now: None,
            adding: String::new(),
            add_error: None,
            stats: stats::Stats::from_env(),
            thumbnails_made: 0,
            thumbnailer: None,
            links: None,
            follows: Vec::new(),
            follower: None,
            configure: None,
            notifications: true,
            sound: true,
        }
    }

    /// Keeps the workspace in `path` from now on. `kept` is what the tasks given to
    /// [`ConsoleApp::new`] are, in the same order: their sources, pins and the one opened.
    pub fn with_workspace(mut self, path: std::path::PathBuf, kept: &Workspace) -> Self {
        for (task, k) in self.tasks.iter_mut().zip(&kept.tasks) {
            task.source = Some(k.source.clone());
            task.pinned = k.pinned;
        }
        if let Some(i) = kept.focused {
            self.open(i);
        }
        self.workspace = Some(path);
        self.keep();
        self
    }

    /// Follows `listings` from the start (the workspace's and the config's).
    pub fn with_follows(mut self, listings: Vec<Listing>) -> Self {
        self.follows.extend(listings.into_iter().map(Follow::new));
        self.keep();
        self
    }

    /// Lets the operator follow task lists (`waldiez:*`), started by `follower`.
    pub fn with_follower(mut self, follower: FollowMaker) -> Self {
        self.follower = Some(follower);
        self
    }

    /// The task lists followed (what was typed), and why the last reading of each failed.
    pub fn follows(&self) -> Vec<(String, Option<String>)> {
        self.follows
            .iter()
            .map(|f| (f.listing.label.clone(), f.problem.clone()))
            .collect()
    }

    /// Stops following the list at `index` (the tasks it found stay on the wall).
    pub fn unfollow(&mut self, index: usize) {
        if index < self.follows.len() {
            self.follows.remove(index);
            self.keep();
        }
    }

    /// Adds what the followed lists found since the last frame.
    fn take_found(&mut self) {
        let mut found = Vec::new();
        for f in &mut self.follows {
            found.extend(f.found());
        }
        for source in found {
            let known = self
                .tasks
                .iter()
                .any(|t| t.source.as_deref() == Some(source.as_str()));
            if known {
                continue;
            }
            let Some(maker) = &mut self.maker else {
                return;
            };
            match maker(&source) {
                Ok(app) => self.tasks.push(Task::on_wall(app, Some(source), true)),
                Err(e) => tracing::warn!("cannot watch {source}, which a task list names: {e}"),
            }
        }
    }

    /// Lets the operator add tasks, made by `maker`.
    pub fn with_maker(mut self, maker: TaskMaker) -> Self {
        self.maker = Some(maker);
        self
    }

    /// What the workspace holds now.
    pub fn workspace(&self) -> Workspace {
        let kept: Vec<&Task> = self
            .tasks
            .iter()
            .filter(|t| t.source.is_some() && !t.found)
            .collect();
        Workspace {
            tasks: kept
                .iter()
                .map(|t| WorkspaceTask {
                    source: t.source.clone().unwrap_or_default(),
                    pinned: t.pinned,
                })
                .collect(),
            focused: self.focused.and_then(|f| {
                let task = self.tasks.get(f)?;
                kept.iter().position(|k| std::ptr::eq(*k, task))
            }),
            follow: self
                .follows
                .iter()
                .map(|f| f.listing.label.clone())
                .collect(),
        }
    }

    /// Writes the workspace, if it is kept; a failure is logged (the console goes on).
    fn keep(&self) {
        if let Some(path) = &self.workspace
            && let Err(e) = self.workspace().save(path)
        {
            tracing::warn!("{e}");
        }
    }

    /// Opens the links that arrive on `links` (each message's sources): a task not on the
    /// wall is added, the first of each message opens full-size, and the window comes
    /// forward.
    pub fn with_links(mut self, links: std::sync::mpsc::Receiver<Vec<String>>) -> Self {
        self.links = Some(links);
        self
    }

    /// Opens what [`ConsoleApp::with_links`] handed over since the last frame.
    fn open_links(&mut self, ctx: &egui::Context) {
        let Some(links) = &self.links else { return };
        let messages: Vec<Vec<String>> = links.try_iter().collect();
        for sources in messages {
            let mut first = None;
            for source in &sources {
                let on_wall = |c: &Self| {
                    c.tasks
                        .iter()
                        .position(|t| t.source.as_deref() == Some(source.as_str()))
                };
                let at = match on_wall(self) {
                    Some(at) => Some(at),
                    None => match self.add(source) {
                        Ok(()) => Some(self.tasks.len() - 1),
                        Err(why) => {
                            self.add_error = Some(why);
                            None
                        }
                    },
                };
                first = first.or(at);
            }
            if let Some(at) = first {
                self.open(at);
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        }
    }

    /// Adds the task `source` names (as the Add box does); why not, if it cannot be.
    pub fn add(&mut self, source: &str) -> Result<(), String> {
        let source = source.trim();
        if source.is_empty() {
            return Err(
                "Name a task: optexity:ID, chaser:ID, waldiez:ID, agentstation:ID or a URL".into(),
            );
        }
        if listing::is_listing(source) {
            return self.follow(source);
        }
        let Some(maker) = &mut self.maker else {
            return Err("this console cannot add tasks".into());
        };
        let app = maker(source)?;
        let kept = crate::core::workspace::keepable(source);
        if !kept {
            tracing::info!(
                "a task whose source holds a secret is watched but not kept in the workspace"
            );
        }
        let source = kept.then(|| source.to_string());
        self.tasks.push(Task::on_wall(app, source, false));
        self.selected = self.tasks.len() - 1;
        self.keep();
        Ok(())
    }

    /// Follows the task list `text` names (`waldiez:*`).
    fn follow(&mut self, text: &str) -> Result<(), String> {
        if self.follows.iter().any(|f| f.listing.label == text) {
            return Err(format!("{text} is followed already"));
        }
        let Some(follower) = &mut self.follower else {
            return Err("this console cannot follow task lists".into());
        };
        let listing = follower(text)?;
        self.follows.push(Follow::new(listing));
        self.keep();
        Ok(())
    }

    /// Stops watching the task at `index`.
    pub fn remove(&mut self, index: usize) {
        if index >= self.tasks.len() {
            return;
        }
        let task = self.tasks.remove(index);
        task.app.stop();
        let shift = |i: usize| if i > index { i - 1 } else { i };
        self.focused = self.focused.filter(|&f| f != index).map(shift);
        self.selected = shift(self.selected).min(self.tasks.len().saturating_sub(1));
        self.keep();
    }

    /// How many tasks the console watches.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether it watches none.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The task shown full-size, by its place in the order given.
    pub fn focused(&self) -> Option<usize> {
        self.focused
    }

    /// The task the keyboard is on, by its place in the order given.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The task at `index`.
    pub fn task(&self, index: usize) -> Option<&ViewerApp> {
        self.tasks.get(index).map(|t| &t.app)
    }

    /// How many tasks wait for an answer.
    pub fn needing_you(&self) -> usize {
        self.tasks.iter().filter(|t| t.waiting.is_some()).count()
    }

    /// Pins (or unpins) the task at `index`: it keeps its place at the front of the wall.
    pub fn set_pinned(&mut self, index: usize, pinned: bool) {
        if let Some(t) = self.tasks.get_mut(index) {
            t.pinned = pinned;
        }
        self.keep();
    }

    /// The tasks in the order the wall shows them: pinned ones first as given, then those
    /// that need you, longest waiting first, then the rest as given.
    pub fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.tasks.len()).collect();
        order.sort_by_key(|&i| {
            let t = &self.tasks[i];
            match (&t.waiting, t.pinned) {
                (_, true) => (0, None, i),
                (Some((_, since)), false) => (1, Some(*since), i),
                (None, false) => (2, None, i),
            }
        });
        order
    }

    /// Opens the task at `index` full-size.
    pub fn open(&mut self, index: usize) {
        if index < self.tasks.len() {
            self.selected = index;
            self.focused = Some(index);
            self.show_only(Some(index));
            self.keep();
        }
    }

    /// Returns to the wall.
    pub fn back_to_wall(&mut self) {
        self.focused = None;
        self.show_only(None);
        self.keep();
    }

    /// Only the task opened full-size is heard and runs at full rate, each of its
    /// pictures waking the window at once; the others' sources are asked for a picture
    /// per [`tile::THUMBNAIL_EVERY`], and wake it within a glance.
    fn show_only(&self, index: Option<usize>) {
        for (i, t) in self.tasks.iter().enumerate() {
            let shown = Some(i) == index;
            t.app.set_heard(shown && self.sound);
            match shown {
                true => t.app.set_pace(None, self.wake_now.clone()),
                false => t.app.set_pace(Some(tile::pace(t.on_screen)), None),
            }
        }
    }

    /// The task that has waited longest for an answer, if any does.
    pub fn longest_waiting(&self) -> Option<usize> {
        self.tasks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.waiting.as_ref().map(|(_, since)| (*since, i)))
            .min()
            .map(|(_, i)| i)
    }

    /// The window title: how many tasks need you, and the task shown or the wall's size.
    pub fn window_title(&self) -> String {
        let waiting = self.needing_you();
        let mark = match waiting {
            0 => String::new(),
            1 => "● 1 needs you — ".to_string(),
            n => format!("● {n} need you — "),
        };
        let rest = match self.focused.and_then(|i| self.tasks.get(i)) {
            Some(t) => format!("Lookout — {} — {}", t.app.title(), t.app.state().label()),
            None => match self.tasks.len() {
                1 => "Lookout — 1 task".to_string(),
                n => format!("Lookout — {n} tasks"),
            },
        };
        shown(&format!("{mark}{rest}"))
    }

    /// Notes which tasks wait for an answer; alerts once per new prompt when the window
    /// is not focused.
    fn watch_prompts(&mut self, ctx: &egui::Context) {
        let focused = ctx.input(|i| i.viewport().focused).unwrap_or(true);
        for task in &mut self.tasks {
            let prompt = task.app.log().and_then(|l| l.waiting_prompt());
            let id = prompt.as_ref().map(|p| p.request_id.clone());
            if id.as_deref() == task.waiting.as_ref().map(|w| w.0.as_str()) {
                continue;
            }
            task.waiting = id.map(|id| (id, Instant::now()));
            if let (Some(stats), Some(at)) =
                (&mut self.stats, prompt.as_ref().and_then(|p| p.asked_at))
            {
                stats.badge(at.0);
            }
            if let Some(prompt) = prompt.filter(|_| !focused) {
                ctx.send_viewport_cmd(ViewportCommand::RequestUserAttention(
                    UserAttentionType::Critical,
                ));
                if let Some(rt) = self.rt.as_ref().filter(|_| self.notifications) {
                    notify(rt, task.app.title(), &prompt);
                }
            }
        }
    }

    /// The wall's keys: arrows move, Enter opens, Ctrl+J opens the longest waiting. Not
    /// while a text field (a tile's answer box) has the keys.
    fn wall_keys(&mut self, ctx: &egui::Context) {
        if self.field_had_keys || ctx.memory(|m| m.focused().is_some()) {
            return;
        }
        let order = self.order();
        let Some(at) = order.iter().position(|&i| i == self.selected) else {
            self.selected = order.first().copied().unwrap_or(0);
            return;
        };
        let cols = self.columns.max(1);
        let moved = ctx.input_mut(|i| {
            if i.consume_key(Modifiers::NONE, Key::ArrowRight) {
                Some(at + 1)
            } else if i.consume_key(Modifiers::NONE, Key::ArrowLeft) {
                at.checked_sub(1)
            } else if i.consume_key(Modifiers::NONE, Key::ArrowDown) {
                Some(at + cols)
            } else if i.consume_key(Modifiers::NONE, Key::ArrowUp) {
                at.checked_sub(cols)
            } else {
                None
            }
        });
        if let Some(&to) = moved.and_then(|m| order.get(m)) {
            self.selected = to;
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Enter)) {
            self.open(self.selected);
        }
    }

    /// Draws the console: the wall, or the task opened full-size.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.open_links(&ctx);
        if self.wake_now.is_none() {
            let waking = ctx.clone();
            self.wake_now = Some(std::sync::Arc::new(move || {
                waking.request_repaint_after(std::time::Duration::from_millis(1));
            }));
            self.show_only(self.focused);
        }
        self.take_found();
        self.watch_prompts(&ctx);
        if ctx.input_mut(|i| i.consume_shortcut(&NEXT_WAITING_SHORTCUT))
            && let Some(i) = self.longest_waiting()
        {
            self.open(i);
        }
        match self.focused {
            Some(i) if i < self.tasks.len() => self.focused_ui(ui, i),
            _ => {
                self.focused = None;
                self.wall_keys(&ctx);
                self.wall_ui(ui);
            }
        }
        self.settings_ui(&ctx);
        self.field_had_keys = ctx.memory(|m| m.focused().is_some());
        let title = self.window_title();
        if title != self.shown_title {
            ctx.send_viewport_cmd(ViewportCommand::Title(title.clone()));
            self.shown_title = title;
        }
    }

    /// The task `index` full-size, under a bar back to the wall; the others step aside.
    fn focused_ui(&mut self, ui: &mut egui::Ui, index: usize) {
        let ctx = ui.ctx().clone();
        for (i, t) in self.tasks.iter_mut().enumerate() {
            if i != index {
                t.app.step_aside(&ctx);
            }
        }
        let others = self
            .tasks
            .iter()
            .enumerate()
            .filter(|(i, t)| *i != index && t.waiting.is_some())
            .count();
        let mut back = false;
        Panel::top("lookout_console_bar")
            .frame(bar_frame())
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    back = ui
                        .button("Wall")
                        .on_hover_text("Back to every task (Esc)")
                        .clicked();
                    if others > 0 {
                        let key = ui.ctx().format_shortcut(&NEXT_WAITING_SHORTCUT);
                        let text = match others {
                            1 => format!("1 other task needs you ({key})"),
                            n => format!("{n} other tasks need you ({key})"),
                        };
                        ui.label(RichText::new(text).color(theme::ATTENTION).strong());
                    }
                    self.settings_button(ui);
                });
            });
        let task = &mut self.tasks[index];
        // Esc in a text field (the answer box, the log's search) leaves the field, and in
        // control it belongs to the remote: only otherwise does it leave the task.
        let keys_free =
            !task.app.picture().is_some_and(|p| p.is_interactive()) && !self.field_had_keys;
        task.app.ui(ui);
        let esc = keys_free && ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape));
        if back || esc {
            self.back_to_wall();
        }
    }

    /// Every task's tile, in order, as large as the window allows.
    fn wall_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        for t in &mut self.tasks {
            t.app.step_aside(&ctx);
        }
        self.add_bar_ui(ui);
        let order = self.order();
        let mut removed = None;
        let tick = tile::tick();
        let mut stale = false;
        let mut maker = self.thumbnailer.take().unwrap_or_else(Thumbnailer::start);
        egui::CentralPanel::default()
            .frame(egui::Frame::new().inner_margin(egui::Margin::same(GAP as i8)))
            .show(ui, |ui| {
                if order.is_empty() {
                    ui.centered_and_justified(|ui| {
                        ui.label(
                            RichText::new(
                                "No tasks yet: add one above, or name them: lookout watch SOURCE…",
                            )
                            .color(theme::TEXT_WEAK),
                        );
                    });
                    return;
                }
                let (cols, size) = tile::grid(order.len(), ui.available_size());
                self.columns = cols;
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        let rows = order.len().div_ceil(cols);
                        let total = egui::vec2(
                            cols as f32 * (size.x + GAP) - GAP,
                            rows as f32 * (size.y + GAP) - GAP,
                        );
                        // Centred across the window.
                        let spare = (ui.available_width() - total.x).max(0.0);
                        let origin = ui.cursor().min + egui::vec2(spare / 2.0, 0.0);
                        ui.allocate_space(egui::vec2(total.x + spare, total.y));
                        for (at, &i) in order.iter().enumerate() {
                            let (row, col) = (at / cols, at % cols);
                            let min = origin
                                + egui::vec2(
                                    col as f32 * (size.x + GAP),
                                    row as f32 * (size.y + GAP),
                                );
                            let rect = egui::Rect::from_min_size(min, size);
                            let visible = ui.is_rect_visible(rect);
                            let t = &mut self.tasks[i];
                            if visible != t.on_screen {
                                t.on_screen = visible;
                                t.app.set_pace(Some(tile::pace(visible)), None);
                            }
                            if !visible {
                                continue;
                            }
                            let selected = self.selected == i;
                            let t = &mut self.tasks[i];
                            let view = TileView {
                                id: ui.scope_id().with(("lookout_tile", i)),
                                app: &mut t.app,
                                thumbnail: &mut t.thumbnail,
                                selected,
                                pinned: t.pinned,
                                needs_you: t.waiting.is_some(),
                                tick,
                                maker: &mut maker,
                            };
                            let outcome = tile::tile_ui(ui, rect, view);
                            stale |= outcome.stale;
                            match outcome.action {
                                Some(TileAction::Select) => self.selected = i,
                                Some(TileAction::Open) => self.open(i),
                                Some(TileAction::TogglePin) => {
                                    let pinned = !self.tasks[i].pinned;
                                    self.set_pinned(i, pinned);
                                }
                                Some(TileAction::Remove) => removed = Some(i),
                                None => {}
                            }
                        }
                    });
            });
        maker.send();
        self.thumbnailer = Some(maker);
        if stale {
            // The pictures with news are made at the next tick, together.
            ctx.request_repaint_after(tile::until_next_tick());
        }
        if let Some(i) = removed {
            self.remove(i);
        }
    }

    /// The wall's top bar: the Add box, and why the last task could not be added.
    fn add_bar_ui(&mut self, ui: &mut egui::Ui) {
        if self.maker.is_none() && self.follows.is_empty() && !self.has_settings() {
            return;
        }
        Panel::top("lookout_console_add")
            .frame(bar_frame())
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let field = ui.add(
                        egui::TextEdit::singleline(&mut self.adding)
                            .hint_text("Add a task: optexity:ID, chaser:ID, waldiez:ID (waldiez:* every one), agentstation:ID or a URL")
                            .desired_width(460.0),
                    );
                    let entered =
                        field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                    if ui.button("Add").clicked() || entered {
                        let source = std::mem::take(&mut self.adding);
                        match self.add(&source) {
                            Ok(()) => self.add_error = None,
                            Err(e) => {
                                self.adding = source;
                                self.add_error = Some(e);
                            }
                        }
                    }
                    if let Some(e) = &self.add_error {
                        ui.label(RichText::new(shown(e)).color(theme::ERROR));
                    }
                    let mut unfollow = None;
                    for (i, f) in self.follows.iter().enumerate() {
                        ui.separator();
                        let text = format!("Following {}: {} listed", f.listing.label, f.listed);
                        ui.label(RichText::new(text).color(theme::TEXT_WEAK));
                        if ui
                            .small_button("Stop following")
                            .on_hover_text("The tasks it found stay on the wall")
                            .clicked()
                        {
                            unfollow = Some(i);
                        }
                        // Last and cut at the window's edge: a long reason keeps the
                        // button in view (the whole reason shows on hover).
                        if let Some(problem) = &f.problem {
                            let problem = shown(problem);
                            ui.add(
                                egui::Label::new(
                                    RichText::new(problem.clone()).color(theme::ERROR),
                                )
                                .truncate(),
                            )
                            .on_hover_text(problem);
                        }
                    }
                    if let Some(i) = unfollow {
                        self.unfollow(i);
                    }
                    self.settings_button(ui);
                });
            });
    }

    /// The Settings button, at the right end of a bar (when the console has settings).
    fn settings_button(&mut self, ui: &mut egui::Ui) {
        if !self.has_settings() {
            return;
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let key = ui.ctx().format_shortcut(&SETTINGS_SHORTCUT);
            if ui
                .button("Settings")
                .on_hover_text(format!("Profiles, keys, pictures, recording ({key})"))
                .clicked()
            {
                self.open_settings();
            }
        });
    }

    /// Ends every task's sessions (the window is closing), keeping the workspace.
    pub fn stop(&self) {
        self.keep();
        for t in &self.tasks {
            t.app.stop();
        }
    }
}

/// The console's bars: the Add box over the wall, the way back over a task.
fn bar_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(theme::CHROME)
        .inner_margin(egui::Margin::symmetric(8, 4))
}

impl eframe::App for ConsoleApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let Some(stats) = &mut self.stats {
            stats.frame(frame.info().cpu_usage, self.thumbnails_made);
        }
        let made = |c: &ConsoleApp| c.tasks.iter().map(|t| t.thumbnail.times_made).sum::<u64>();
        let before = made(self);
        let started = Instant::now();
        ConsoleApp::ui(self, ui);
        if let Some(stats) = &mut self.stats {
            stats.ui_time(started.elapsed());
        }
        // Tasks made again (new settings) start their counts anew.
        self.thumbnails_made = made(self).saturating_sub(before);
    }

    fn clear_color(&self, _visuals: &egui::Visuals) -> [f32; 4] {
        theme::BACKDROP.to_normalized_gamma_f32()
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.stop();
    }
}
