//! The egui front end: the only place egui appears.
//!
//! [`run_viewer`] opens the native window (eframe, glow renderer) on the calling thread and
//! shows one session in a [`TaskView`]: the core's [`Waker`] is built from the egui context,
//! so the window repaints only when the session has something new.
//!
//! Modules: [`app`] (the window), [`stream_view`] (picture, overlay, toolbar, status line),
//! [`layout`] (fit/1:1 geometry), [`overlay`] (state wording and card), [`rates`] (status
//! line rates), [`theme`] (the dark style), [`log_panel`] (a task's log: follow, search,
//! filter, fold, copy) and [`prompt_panel`] (the question a task waits on, and the answer).

pub mod app;
pub mod control;
pub mod gl_picture;
pub mod keys;
pub mod layout;
pub mod log_panel;
#[doc(hidden)]
pub mod log_sample;
pub mod overlay;
pub mod prompt_panel;
pub mod rates;
pub mod resample;
pub mod stream_view;
pub mod theme;

use std::sync::Arc;

pub use layout::ScaleMode;
pub use log_panel::{LogPanel, LogPanelResponse};
pub use prompt_panel::{PromptAction, PromptPanel};
pub use stream_view::TaskView;

use crate::core::event::{SessionState, Waker};
use crate::core::session::SessionHandle;

/// The application id: Wayland app id and X11 WM_CLASS, matching the .desktop file.
pub const APP_ID: &str = "lookout";

/// How the viewer window starts.
#[derive(Clone, Debug, Default)]
pub struct ViewerOptions {
    /// What is being watched, already redacted; shown in the window title.
    pub title: String,
    pub scale: ScaleMode,
}

/// Opens the window and runs until it closes. `start` is called once with a [`Waker`] built
/// from the egui context and returns the session to show.
pub fn run_viewer(
    options: ViewerOptions,
    start: Box<dyn FnOnce(Waker) -> SessionHandle>,
) -> anyhow::Result<()> {
    let ViewerOptions { title, scale } = options;
    let viewport = egui::ViewportBuilder::default()
        .with_title(app::window_title(&title, &SessionState::Loading))
        .with_app_id(APP_ID)
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([480.0, 320.0]);
    let native = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport,
        // Dithering adds shader work to every pixel and nothing to a picture that is
        // already 8-bit.
        dithering: false,
        ..Default::default()
    };
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
            let view = TaskView::new(start(waker))
                .with_scale(scale)
                .with_gl(cc.gl.clone());
            Ok(Box::new(app::ViewerApp::new(view, title)))
        }),
    )
    // eframe's error is not Send; keep its text.
    .map_err(|e| anyhow::anyhow!("could not open the viewer window: {e}"))
}
