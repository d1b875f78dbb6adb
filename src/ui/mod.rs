//! The egui front end: the only place egui appears.
//!
//! [`run_viewer`] opens the native window (eframe, glow renderer) on the calling thread and
//! shows one task: its picture in a [`TaskView`], its log and prompts in a [`LogView`], or
//! both side by side. The core's [`Waker`] is built from the egui context, so the window
//! repaints only when a session has something new.
//!
//! [`run_console`] opens the console instead: many tasks on a wall of tiles ([`console`]),
//! each opened full-size as the single-task window shows it.
//!
//! Modules: [`app`] (the window), [`stream_view`] (a task's picture with its overlay,
//! toolbar, status line and control), [`picture`] (putting the picture on screen: the egui
//! texture, GL and X11 backends, the cursor, the downscale), [`layout`] (fit/1:1
//! geometry), [`overlay`] (state wording and card), [`rates`] (status line rates),
//! [`theme`] (the dark style), [`log_panel`] (a task's log: follow, search, filter, fold,
//! copy), [`prompt_panel`] (the question a task waits on, and the answer), [`log_view`]
//! (both for one task-log session) and [`audio`] (a video stream's sound).
//!
//! Unsafe code lives in [`picture`] only: OpenGL calls ([`picture::gl`]), SIMD intrinsics
//! after a run-time CPU check ([`picture::resample`]) and the memory shared with the X
//! server ([`picture::x11`]); each block says why it is sound.

pub mod app;
pub mod audio;
pub mod console;
pub mod control;
pub mod icon;
pub mod keys;
pub mod layout;
pub mod log_panel;
#[doc(hidden)]
pub mod log_sample;
pub mod log_view;
pub mod open_dialog;
pub mod overlay;
pub mod picture;
pub mod prompt_panel;
pub mod rates;
pub mod recordings;
pub mod settings;
pub mod stream_view;
pub mod theme;
pub mod timeline;
pub mod timeshift;

use std::sync::Arc;

pub use console::ConsoleApp;
pub use layout::ScaleMode;
pub use log_panel::{LogPanel, LogPanelResponse};
pub use log_view::LogView;
pub use prompt_panel::{PromptAction, PromptPanel};
pub use stream_view::TaskView;

use crate::core::event::{SessionState, Waker};
use crate::core::session::SessionHandle;

/// The application id: Wayland app id and X11 WM_CLASS, matching the .desktop file.
pub const APP_ID: &str = "dev.lookout.Lookout";

/// How the viewer window starts.
#[derive(Clone, Debug, Default)]
pub struct ViewerOptions {
    /// What is being watched, already redacted; shown in the window title.
    pub title: String,
    pub scale: ScaleMode,
}

/// The sessions one window shows: a picture, a task log, or both (one task).
#[derive(Default)]
pub struct Sessions {
    pub picture: Option<SessionHandle>,
    pub log: Option<SessionHandle>,
    /// Where the picture session plays its sound, for sources with sound.
    pub speaker: Option<Arc<audio::Speaker>>,
    /// A replay's controls: the window shows its timeline.
    pub playback: Option<crate::core::record::playback::Playback>,
    /// Where the sessions are recorded: the window shows a REC mark that pauses it.
    pub recording: Option<crate::core::record::writer::RecordSink>,
    /// The recordings directory: the window offers its list, to replay one.
    pub recordings_dir: Option<std::path::PathBuf>,
}

/// Opens the window and runs until it closes. `start` is called once with a [`Waker`] built
/// from the egui context and returns the sessions to show; `rt` sends desktop
/// notifications.
pub fn run_viewer(
    options: ViewerOptions,
    rt: tokio::runtime::Handle,
    start: Box<dyn FnOnce(Waker) -> Sessions>,
) -> anyhow::Result<()> {
    let ViewerOptions { title, scale } = options;
    let native = native_options(&app::window_title(&title, &SessionState::Loading));
    eframe::run_native(
        APP_ID,
        native,
        Box::new(move |cc| {
            theme::apply(&cc.egui_ctx);
            let ctx = cc.egui_ctx.clone();
            // `request_repaint` makes egui run two passes per call; a repaint after 1 ms
            // runs one, which measured ~30 % less CPU per update under software GL
            // (`cargo bench --bench peers`).
            let waker: Waker =
                Arc::new(move || ctx.request_repaint_after(std::time::Duration::from_millis(1)));
            let sessions = start(waker.clone());
            let backend = || self::picture::Backend::choose(cc.gl.clone(), x11_window(cc));
            let app = task_app(sessions, (title.clone(), scale), &backend, &waker, rt);
            Ok(Box::new(app))
        }),
    )
    // eframe's error is not Send; keep its text.
    .map_err(|e| anyhow::anyhow!("could not open the viewer window: {e}"))
}

/// The window: glow, titled `title`, 1280×800 to begin with.
fn native_options(title: &str) -> eframe::NativeOptions {
    let viewport = egui::ViewportBuilder::default()
        .with_title(title)
        .with_app_id(APP_ID)
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([480.0, 320.0]);
    let viewport = match icon::window_icon() {
        Some(icon) => viewport.with_icon(icon),
        None => viewport,
    };
    eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport,
        // Dithering adds shader work to every pixel and nothing to a picture that is
        // already 8-bit.
        dithering: false,
        ..Default::default()
    }
}

/// One task's view, from its sessions: the picture drawn through `backend`, the log beside
/// it, a replay's timeline or a live task's time-shift, the REC mark and the recordings.
fn task_app(
    sessions: Sessions,
    (title, scale): (String, ScaleMode),
    backend: &dyn Fn() -> self::picture::Backend,
    waker: &Waker,
    rt: tokio::runtime::Handle,
) -> app::ViewerApp {
    let speaker = sessions.speaker;
    let picture = sessions.picture.map(|h| {
        TaskView::new(h)
            .with_scale(scale)
            .with_speaker(speaker)
            .with_backend(backend(), waker)
    });
    let log = sessions.log.map(LogView::new);
    let mut app = app::ViewerApp::new(picture, log, title.clone(), Some(rt));
    if let Some(playback) = sessions.playback {
        app = app.with_timeline(timeline::Timeline::new(playback));
    }
    if let Some(sink) = sessions.recording {
        if app.picture().is_some() {
            let shift = timeshift::TimeShift::new(sink.clone(), title, waker.clone());
            app = app.with_timeshift(shift);
        }
        app = app.with_recording(sink);
    }
    if let Some(dir) = sessions.recordings_dir {
        let launch = Box::new(recordings::launch_replay);
        app = app.with_recordings_list(recordings::RecordingsList::new(dir, launch));
    }
    app
}

/// One task of the console: its title and its sessions.
pub struct ConsoleTask {
    pub title: String,
    pub sessions: Sessions,
}

/// Makes a task's sessions from a source the operator typed, or says why it cannot.
pub type SessionsMaker = Box<dyn FnMut(&str) -> Result<ConsoleTask, String>>;

/// What the console opens with.
pub struct ConsoleStart {
    pub tasks: Vec<ConsoleTask>,
    /// Makes the tasks the operator adds.
    pub maker: Option<SessionsMaker>,
    /// Where the workspace is kept, and what `tasks` are in it.
    pub workspace: Option<(std::path::PathBuf, crate::core::workspace::Workspace)>,
    /// The task lists followed from the start, and what starts following another.
    pub follows: Vec<crate::core::listing::Listing>,
    pub follower: Option<console::FollowMaker>,
    /// Links handed over by another `lookout open` (`core::instance`).
    pub links: Option<std::sync::mpsc::Receiver<Vec<String>>>,
    /// The settings window's needs, and the settings the tasks are made with.
    pub settings: Option<(console::SettingsHook, crate::core::config::Settings)>,
}

/// Opens the console on what `start` returns (called once with the window's [`Waker`])
/// and runs until the window closes.
pub fn run_console(
    rt: tokio::runtime::Handle,
    start: Box<dyn FnOnce(Waker) -> ConsoleStart>,
) -> anyhow::Result<()> {
    eframe::run_native(
        APP_ID,
        native_options("Lookout"),
        Box::new(move |cc| {
            theme::apply(&cc.egui_ctx);
            // News of a task on the wall is a glance: the window draws it at the wall's
            // next tick, within a quarter of a second, with the other tasks' news and the
            // new pictures in one frame (`console::tile::until_next_tick`). The task opened
            // full-size wakes it at once with each picture (`ConsoleApp`).
            let ctx = cc.egui_ctx.clone();
            let waker: Waker = Arc::new(move || {
                ctx.request_repaint_after(console::tile::until_next_tick());
            });
            let started = start(waker.clone());
            // Pictures are drawn in the window: one child window per task would have to
            // be hidden and shown as the wall changes.
            let gl = cc.gl.clone();
            let alerts = rt.clone();
            let build = move |t: ConsoleTask| {
                let backend = || self::picture::Backend::choose(gl.clone(), None);
                task_app(
                    t.sessions,
                    (t.title, ScaleMode::Fit),
                    &backend,
                    &waker,
                    rt.clone(),
                )
            };
            let tasks = started.tasks.into_iter().map(&build).collect();
            let mut app = console::ConsoleApp::new(tasks, Some(alerts));
            if let Some((hook, in_force)) = started.settings {
                app = app.with_settings(hook, in_force);
            }
            if let Some((path, kept)) = started.workspace {
                app = app.with_workspace(path, &kept);
            }
            if let Some(mut maker) = started.maker {
                app = app.with_maker(Box::new(move |source| maker(source).map(&build)));
            }
            app = app.with_follows(started.follows);
            if let Some(follower) = started.follower {
                app = app.with_follower(follower);
            }
            if let Some(links) = started.links {
                app = app.with_links(links);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the console window: {e}"))
}

/// The window's X11 id, when it is an X11 window.
fn x11_window(cc: &eframe::CreationContext<'_>) -> Option<u32> {
    use raw_window_handle::{HasWindowHandle as _, RawWindowHandle};
    match cc.window_handle().ok()?.as_raw() {
        RawWindowHandle::Xlib(h) => u32::try_from(h.window).ok(),
        RawWindowHandle::Xcb(h) => Some(h.window.get()),
        _ => None,
    }
}
