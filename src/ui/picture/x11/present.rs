//! The X11 backend's presenter: the child window's thread and what the UI asks of it.
//!
//! [`Presenter`] is the UI's handle: it says where to show the picture or to hide it
//! ([`Presenter::place`]), and the `x11-present` thread ([`Worker`]) carries that out, takes
//! new pictures from the [`FrameSlot`] when its listener says there are some, brings the
//! [`Canvas`] up to date and sends what changed to the [`XWindow`]. The two share
//! [`Wanted`] under a mutex, with condition variables to wake the thread and to say a
//! placement was carried out.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::canvas::{Canvas, Sink as _};
use super::window::{XWindow, watch_events};
use crate::core::event::Waker;
use crate::core::frame::{FrameSlot, FrameView, Rect};

/// The UI is woken at most this often by presented pictures, for its status line.
const UI_WAKE_EVERY: Duration = Duration::from_secs(1);
/// How long [`Presenter::place`] waits for the window to be hidden.
pub const HIDE_WAIT: Duration = Duration::from_millis(250);
/// How long the X server may take to draw from shared memory before the presenter gives up.
const DRAW_WAIT: Duration = Duration::from_secs(2);

/// Why the picture cannot be presented through X11; the view then draws it with GL.
#[derive(Debug, thiserror::Error)]
pub enum PresentError {
    #[error("no X11 display: {0}")]
    Connect(String),
    #[error("X11 request failed: {0}")]
    X(String),
    #[error("the window's visual is not 32-bit TrueColor with little-endian images")]
    Visual,
    #[error("could not start the presenter thread: {0}")]
    Thread(String),
}

pub(super) fn x_err(e: impl std::fmt::Display) -> PresentError {
    PresentError::X(e.to_string())
}

/// Where the child window goes, in physical pixels of the parent window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

/// What the UI asks of the presenter thread.
#[derive(Debug, Default)]
pub(super) struct Wanted {
    /// Show the picture here; `None`: hide the window and leave the pictures to the UI.
    place: Option<Placement>,
    /// Pictures were published since the thread last looked.
    frames: bool,
    pub(super) stop: bool,
    /// Set by the thread when X failed; the view then stays on GL.
    failed: bool,
    /// What the thread last made of `place`, once the X server has done it.
    shown: Option<Placement>,
    /// Parts of the window X asks to be redrawn (from the `x11-events` thread).
    pub(super) exposed: Vec<Rect>,
    /// More were exposed than `exposed` keeps: redraw it all.
    pub(super) exposed_all: bool,
    /// Why X failed, seen by the `x11-events` thread (a refused request, a lost window).
    pub(super) x_error: Option<String>,
    /// Batches of shared-memory puts the X server has finished (`ShmCompletion` events).
    pub(super) shm_done: u64,
    /// The canvas is in memory shared with the X server (MIT-SHM).
    shm_in_use: bool,
    /// When the UI last drew a frame ([`Presenter::ui_drew`]).
    ui_frame: Option<Instant>,
}

impl Wanted {
    fn has_exposures(&self) -> bool {
        self.exposed_all || !self.exposed.is_empty()
    }
}

pub(super) struct Shared {
    wanted: Mutex<Wanted>,
    pub(super) wake: Condvar,
    /// Signalled when the thread has carried out a new `place`.
    placed: Condvar,
    /// Held by the thread while it takes from the slot, and by [`Presenter::place`] when
    /// it takes the pictures back: after `place(None)` returns, the thread takes no more.
    taking: Mutex<()>,
}

impl Shared {
    pub(super) fn wanted(&self) -> MutexGuard<'_, Wanted> {
        self.wanted.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One view's child window and the thread that fills it.
pub struct Presenter {
    shared: Arc<Shared>,
    slot: Arc<FrameSlot>,
    thread: Option<JoinHandle<()>>,
    placed: Option<Placement>,
}

impl std::fmt::Debug for Presenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presenter")
            .field("placed", &self.placed)
            .finish_non_exhaustive()
    }
}

/// How pictures reach the X server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// From memory shared with the X server (MIT-SHM 1.2, `ShmPutImage`) where it offers
    /// that, as a local server does; else over the socket.
    Auto,
    /// Over the socket (`PutImage`) always.
    Socket,
}

impl Presenter {
    /// A presenter for the pictures of `slot`, as a child of the X11 window `parent` on
    /// `display` (`None`: `$DISPLAY`, where the viewer's window is). `ui_waker` repaints the
    /// UI: it is called for pictures while the UI draws them, and about once a second while
    /// the presenter does.
    pub fn new(
        display: Option<&str>,
        parent: u32,
        slot: Arc<FrameSlot>,
        ui_waker: Waker,
        transfer: Transfer,
    ) -> Result<Self, PresentError> {
        let window = XWindow::new(display, parent, transfer)?;
        let shared = Arc::new(Shared {
            wanted: Mutex::new(Wanted::default()),
            wake: Condvar::new(),
            placed: Condvar::new(),
            taking: Mutex::new(()),
        });
        let (events_conn, events_shared, child) =
            (window.conn.clone(), shared.clone(), window.window);
        // Not joined: it ends when our window is destroyed (on drop) or the connection goes.
        std::thread::Builder::new()
            .name("x11-events".into())
            .spawn(move || watch_events(&events_conn, child, &events_shared))
            .map_err(|e| PresentError::Thread(e.to_string()))?;
        let listener_shared = shared.clone();
        let ui = ui_waker.clone();
        let listener: Waker = Arc::new(move || {
            let mut w = listener_shared.wanted();
            if w.place.is_some() && !w.failed {
                w.frames = true;
                listener_shared.wake.notify_one();
            } else {
                drop(w);
                ui();
            }
        });
        let thread_shared = shared.clone();
        let thread_slot = slot.clone();
        let thread = std::thread::Builder::new()
            .name("x11-present".into())
            .spawn(move || {
                let mut worker = Worker {
                    shared: thread_shared.clone(),
                    slot: thread_slot,
                    window,
                    canvas: Canvas::default(),
                    ui_waker,
                    ui_woken: None,
                };
                if let Err(e) = worker.run() {
                    tracing::warn!("drawing the picture with GL instead of X11: {e}");
                    let mut w = thread_shared.wanted();
                    w.failed = true;
                    w.shown = None;
                    drop(w);
                    thread_shared.placed.notify_all();
                    // The UI takes the pictures back on its next frame.
                    (worker.ui_waker)();
                }
            })
            .map_err(|e| PresentError::Thread(e.to_string()))?;
        slot.set_listener(Some(listener));
        Ok(Self {
            shared,
            slot,
            thread: Some(thread),
            placed: None,
        })
    }

    /// False once X failed: the view should draw with GL from now on.
    pub fn is_working(&self) -> bool {
        !self.shared.wanted().failed
    }

    /// Tells the presenter the UI just drew a frame, so it need not wake the UI for a while.
    pub fn ui_drew(&self) {
        self.shared.wanted().ui_frame = Some(Instant::now());
    }

    /// True while the canvas is in memory shared with the X server (it is made when the
    /// picture is first placed).
    pub fn uses_shared_memory(&self) -> bool {
        self.shared.wanted().shm_in_use
    }

    /// True while the presenter, not the UI, takes and shows the pictures.
    pub fn is_presenting(&self) -> bool {
        self.placed.is_some()
    }

    /// Shows the picture at `place` (the presenter takes the pictures from now on), or with
    /// `None` hides it. Hiding returns once the X server has unmapped the window (or after
    /// [`HIDE_WAIT`]), so what the GL window draws next is seen; from then on the presenter
    /// takes no more pictures, and the UI should take them all ([`FrameSlot::take_all`]).
    pub fn place(&mut self, place: Option<Placement>) {
        if place == self.placed {
            return;
        }
        self.placed = place;
        if place.is_some() {
            self.shared.wanted().place = place;
            self.shared.wake.notify_one();
            return;
        }
        let taking = self.shared.taking.lock().unwrap_or_else(|p| p.into_inner());
        let mut w = self.shared.wanted();
        w.place = None;
        drop(taking);
        self.shared.wake.notify_one();
        let deadline = Instant::now() + HIDE_WAIT;
        while w.shown.is_some() && !w.failed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::debug!("the X11 presenter did not hide its window in time");
                break;
            }
            w = self
                .shared
                .placed
                .wait_timeout(w, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Presenter {
    fn drop(&mut self) {
        self.slot.set_listener(None);
        self.shared.wanted().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The presenter thread's side.
struct Worker {
    shared: Arc<Shared>,
    slot: Arc<FrameSlot>,
    window: XWindow,
    canvas: Canvas,
    ui_waker: Waker,
    ui_woken: Option<Instant>,
}

impl Worker {
    fn run(&mut self) -> Result<(), PresentError> {
        let mut shown: Option<Placement> = None;
        loop {
            let (place, frames) = {
                let mut w = self.shared.wanted();
                loop {
                    if w.stop {
                        return Ok(());
                    }
                    if let Some(e) = w.x_error.take() {
                        return Err(PresentError::X(e));
                    }
                    if w.frames || w.place != shown || w.has_exposures() {
                        break;
                    }
                    w = self.shared.wake.wait(w).unwrap_or_else(|p| p.into_inner());
                }
                (w.place, std::mem::take(&mut w.frames))
            };
            if place != shown {
                match place {
                    Some(p) => {
                        self.window.place(p)?;
                        let output = [p.width, p.height];
                        if output != self.canvas.output() {
                            let len = p.width as usize * p.height as usize * 4;
                            let pixels = self.window.pixels(len);
                            self.shared.wanted().shm_in_use = pixels.is_shared();
                            self.canvas.set_output(output, pixels);
                        }
                    }
                    None => self.window.hide()?,
                }
                shown = place;
                self.shared.wanted().shown = shown;
                self.shared.placed.notify_all();
            }
            let mut send = {
                let mut w = self.shared.wanted();
                if std::mem::take(&mut w.exposed_all) {
                    w.exposed.clear();
                    vec![Rect::new(0, 0, u32::MAX / 2, u32::MAX / 2)]
                } else {
                    std::mem::take(&mut w.exposed)
                }
            };
            if shown.is_some() {
                let full = self.canvas.needs_full();
                if full || frames {
                    // The X server may still be reading the canvas for the last pictures.
                    self.wait_drawn()?;
                    let taking = self.shared.taking.lock().unwrap_or_else(|p| p.into_inner());
                    // `place(None)` may have come while we waited for the lock.
                    if self.shared.wanted().place.is_some() {
                        let canvas = &mut self.canvas;
                        let update = |view: FrameView<'_>| canvas.update(&view, &mut send);
                        if full {
                            self.slot.take_all(update);
                        } else {
                            self.slot.take(update);
                        }
                    }
                    drop(taking);
                    self.wake_ui();
                }
                self.canvas.send(&send, &mut self.window)?;
            }
        }
    }

    /// Returns once the X server has drawn every shared-memory put sent so far, so the
    /// canvas can change; at once when the canvas is not shared.
    fn wait_drawn(&self) -> Result<(), PresentError> {
        let sent = self.window.shm_sent;
        let deadline = Instant::now() + DRAW_WAIT;
        let mut w = self.shared.wanted();
        while w.shm_done < sent && !w.stop {
            if let Some(e) = w.x_error.take() {
                return Err(PresentError::X(e));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PresentError::X(format!(
                    "the X server did not draw from shared memory within {} s",
                    DRAW_WAIT.as_secs()
                )));
            }
            w = self
                .shared
                .wake
                .wait_timeout(w, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(())
    }

    /// Wakes the UI, so its rates follow the pictures it no longer draws: only when it has
    /// neither been woken nor drawn a frame for a second. While pictures flow, the rates
    /// schedule their own once-a-second repaint, and a wake of ours would double it.
    fn wake_ui(&mut self) {
        let now = Instant::now();
        let ui_frame = self.shared.wanted().ui_frame;
        let last = self.ui_woken.max(ui_frame);
        if last.is_none_or(|t| now.duration_since(t) >= UI_WAKE_EVERY) {
            self.ui_woken = Some(now);
            (self.ui_waker)();
        }
    }
}
