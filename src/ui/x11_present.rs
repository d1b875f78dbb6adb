//! The remote picture put straight into an X11 child window, beside the GL renderer.
//!
//! eframe redraws the whole window on every repaint, and under software GL (Mesa llvmpipe
//! on servers, VMs and Xvfb) that costs about 0.6 ms per megapixel per frame even for a
//! picture that is only copied: at 10 updates/s it was a third of the viewer's CPU time
//! (`cargo bench --bench peers`). Native VNC viewers instead `PutImage` only the changed
//! rectangles into their window. The [`Presenter`] does the same: it owns a child window of
//! the viewer's X11 window over the picture's rectangle, takes new pictures from the
//! session's [`FrameSlot`] on a thread of its own ("x11-present"), averages each changed
//! rectangle down to the shown size ([`super::resample`]), draws the remote cursor over it,
//! and sends it to the X server. The UI is not woken for pictures at all while it presents
//! (only about once a second, for the status line's rates), so the GL window repaints only
//! when its own widgets change.
//!
//! It presents only the simple case: a whole picture, shown at or below its size, not
//! dimmed under an overlay, not in control, with nothing of egui's (a menu, a tooltip) on
//! top of it. The view switches to the GL path otherwise ([`Presenter::place`] with `None`)
//! and back when it can. X clips the GL window's drawing by the child, so the two never
//! fight over pixels. Set `LOOKOUT_PRESENT=gl` to always draw through GL.
//!
//! x11rb's pure-Rust connection carries it; the window needs a 24- or 32-bit TrueColor
//! visual with 32 bits per pixel and little-endian images (every X server of the last two
//! decades), anything else stays on the GL path.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, ImageFormat,
    ImageOrder, VisualClass, WindowClass,
};
use x11rb::rust_connection::RustConnection;

use super::gl_picture::to_bgra_into;
use super::resample::{Resampler, Scratch};
use crate::core::event::Waker;
use crate::core::frame::{CursorShape, FrameSlot, FrameView, Framebuffer, Rect, join_neighbours};

/// Exposed rectangles kept before the next redraw; past this the whole window is redrawn.
const MAX_EXPOSED: usize = 64;
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

fn x_err(e: impl std::fmt::Display) -> PresentError {
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
struct Wanted {
    /// Show the picture here; `None`: hide the window and leave the pictures to the UI.
    place: Option<Placement>,
    /// Pictures were published since the thread last looked.
    frames: bool,
    stop: bool,
    /// Set by the thread when X failed; the view then stays on GL.
    failed: bool,
    /// What the thread last made of `place`, once the X server has done it.
    shown: Option<Placement>,
    /// Parts of the window X asks to be redrawn (from the `x11-events` thread).
    exposed: Vec<Rect>,
    /// More were exposed than `exposed` keeps: redraw it all.
    exposed_all: bool,
    /// Why X failed, seen by the `x11-events` thread (a refused request, a lost window).
    x_error: Option<String>,
    /// Batches of shared-memory puts the X server has finished (`ShmCompletion` events).
    shm_done: u64,
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

struct Shared {
    wanted: Mutex<Wanted>,
    wake: Condvar,
    /// Signalled when the thread has carried out a new `place`.
    placed: Condvar,
    /// Held by the thread while it takes from the slot, and by [`Presenter::place`] when
    /// it takes the pictures back: after `place(None)` returns, the thread takes no more.
    taking: Mutex<()>,
}

impl Shared {
    fn wanted(&self) -> MutexGuard<'_, Wanted> {
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

/// True unless `LOOKOUT_PRESENT=gl` asks for the GL path only.
pub fn enabled() -> bool {
    std::env::var("LOOKOUT_PRESENT").map_or(true, |v| v != "gl")
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

impl Transfer {
    /// `Auto`, unless `LOOKOUT_PRESENT=x11-socket` asks for the socket.
    pub fn from_env() -> Self {
        match std::env::var("LOOKOUT_PRESENT") {
            Ok(v) if v == "x11-socket" => Transfer::Socket,
            _ => Transfer::Auto,
        }
    }
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
                        if output != self.canvas.output {
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

/// The memory a canvas is drawn in: our own, or shared with the X server.
enum Pixels {
    Heap(Vec<u8>),
    Shared(ShmImage),
}

impl Default for Pixels {
    fn default() -> Self {
        Pixels::Heap(Vec::new())
    }
}

impl Pixels {
    fn is_shared(&self) -> bool {
        matches!(self, Pixels::Shared(_))
    }
}

impl std::ops::Deref for Pixels {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Pixels::Heap(v) => v,
            Pixels::Shared(s) => &s.map[..s.len],
        }
    }
}

impl std::ops::DerefMut for Pixels {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Pixels::Heap(v) => v,
            Pixels::Shared(s) => &mut s.map[..s.len],
        }
    }
}

/// Where pixels go: the X window, or a test's record.
trait Sink {
    /// Zeroed memory for a canvas of `len` bytes: shared with the X server where it can be.
    fn pixels(&mut self, len: usize) -> Pixels {
        Pixels::Heap(vec![0; len])
    }

    /// Shows the rectangles `rects` (inside it) of `image`, a BGRA picture of `size` pixels.
    fn put(&mut self, rects: &[Rect], image: &Pixels, size: [u32; 2]) -> Result<(), PresentError>;
}

/// The picture as shown: at the output size, BGRA, with the remote cursor drawn over it.
#[derive(Default)]
struct Canvas {
    /// The shown size; zero until placed.
    output: [u32; 2],
    /// The source picture's size the canvas was last filled from.
    source: [u32; 2],
    resampler: Option<Resampler>,
    scratch: Scratch,
    /// `output` pixels, BGRA, rows packed.
    pixels: Pixels,
    /// False until the canvas holds a whole picture at `output` size.
    filled: bool,
    cursor: Option<CursorShape>,
    /// The remote pointer, in source pixels.
    pointer: Option<(u32, u32)>,
    /// Where the cursor is drawn in `pixels`, and the picture under it (packed rows).
    under: Option<(Rect, Vec<u8>)>,
    /// Reused list of the output rectangles an update changes.
    outputs: Vec<Rect>,
}

impl Canvas {
    /// Takes `pixels` (zeroed, `output` pixels of BGRA) to draw in at the `output` size.
    fn set_output(&mut self, output: [u32; 2], pixels: Pixels) {
        self.output = output;
        self.pixels = pixels;
        self.filled = false;
        self.under = None;
    }

    fn needs_full(&self) -> bool {
        !self.filled
    }

    /// Brings the canvas up to date with `view` and lists the output rectangles to send.
    fn update(&mut self, view: &FrameView<'_>, send: &mut Vec<Rect>) {
        let fb = view.frame;
        let source = [fb.width(), fb.height()];
        let old_cursor = self.take_cursor_off();
        if let Some(cursor) = view.cursor {
            self.cursor = cursor.cloned();
        }
        self.pointer = view.pointer;
        if source != self.source || !self.filled || view.resized {
            self.source = source;
            self.resampler = (source != self.output)
                .then(|| Resampler::new(source, self.output))
                .flatten();
            self.filled = self.draw(fb, Rect::new(0, 0, source[0], source[1]), send);
            self.put_cursor_on();
            send.clear();
            send.push(Rect::new(0, 0, self.output[0], self.output[1]));
            return;
        }
        // Joined first, so the pixels on the edges between a server's rectangles are
        // computed once, not once for each.
        let mut outputs = std::mem::take(&mut self.outputs);
        outputs.clear();
        outputs.extend(view.dirty.iter().filter_map(|r| self.output_of(fb, *r)));
        join_neighbours(&mut outputs);
        for out in &outputs {
            self.draw_output(fb, *out, send);
        }
        self.outputs = outputs;
        let new_cursor = self.put_cursor_on();
        if old_cursor != new_cursor {
            send.extend(old_cursor);
            send.extend(new_cursor);
        } else if view.cursor.is_some() {
            send.extend(new_cursor);
        }
    }

    /// Resamples the source rectangle `r` of `fb` into the canvas and lists the output
    /// rectangle it changed. False (nothing drawn) when the output is larger than the
    /// source, which the view never asks for.
    fn draw(&mut self, fb: &Framebuffer, r: Rect, send: &mut Vec<Rect>) -> bool {
        if r.is_empty() || fb.check_rect(r).is_err() {
            return true;
        }
        self.output_of(fb, r)
            .is_some_and(|out| self.draw_output(fb, out, send))
    }

    /// The output pixels that show the source rectangle `r` of `fb`, if any do.
    fn output_of(&self, fb: &Framebuffer, r: Rect) -> Option<Rect> {
        if r.is_empty() || fb.check_rect(r).is_err() {
            return None;
        }
        match &self.resampler {
            Some(resampler) => Some(resampler.output_rect(r)).filter(|out| !out.is_empty()),
            None if [fb.width(), fb.height()] == self.output => Some(r),
            None => None,
        }
    }

    /// Computes the output rectangle `out` from `fb` into the canvas and lists it to send.
    fn draw_output(&mut self, fb: &Framebuffer, out: Rect, send: &mut Vec<Rect>) -> bool {
        let stride = self.output[0] as usize * 4;
        let drawn = match &self.resampler {
            Some(resampler) => {
                resampler.resample_bgra_into(fb, out, &mut self.scratch, &mut self.pixels, stride)
            }
            None if [fb.width(), fb.height()] == self.output => {
                to_bgra_into(fb, out, &mut self.pixels, stride);
                true
            }
            None => false,
        };
        if drawn {
            send.push(out);
        }
        drawn
    }

    /// Where the cursor is drawn, in output pixels, clipped to the output.
    fn cursor_rect(&self) -> Option<Rect> {
        let (c, (px, py)) = (self.cursor.as_ref()?, self.pointer?);
        let [sw, sh] = self.source.map(|v| f64::from(v.max(1)));
        let [ow, oh] = self.output.map(f64::from);
        let (fx, fy) = (ow / sw, oh / sh);
        let left = (f64::from(px) - f64::from(c.hotspot_x)) * fx;
        let top = (f64::from(py) - f64::from(c.hotspot_y)) * fy;
        let right = left + f64::from(c.width) * fx;
        let bottom = top + f64::from(c.height) * fy;
        let x0 = left.floor().max(0.0);
        let y0 = top.floor().max(0.0);
        let x1 = right.ceil().min(ow);
        let y1 = bottom.ceil().min(oh);
        (x1 > x0 && y1 > y0)
            .then(|| Rect::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
    }

    /// Puts back the picture under the drawn cursor; returns where the cursor was.
    fn take_cursor_off(&mut self) -> Option<Rect> {
        let (r, saved) = self.under.take()?;
        let stride = self.output[0] as usize * 4;
        let row = r.w as usize * 4;
        for (dy, src) in saved.chunks_exact(row).enumerate() {
            let start = (r.y as usize + dy) * stride + r.x as usize * 4;
            self.pixels[start..start + row].copy_from_slice(src);
        }
        Some(r)
    }

    /// Draws the cursor (nearest-neighbour scaled like the picture) over the canvas, keeping
    /// the picture under it; returns where it is. Nothing while the canvas is not filled.
    fn put_cursor_on(&mut self) -> Option<Rect> {
        if !self.filled {
            return None;
        }
        let c = self.cursor_rect()?;
        let (Some(shape), Some((px, py))) = (&self.cursor, self.pointer) else {
            return None;
        };
        let stride = self.output[0] as usize * 4;
        let row = c.w as usize * 4;
        let mut saved = Vec::with_capacity(row * c.h as usize);
        for y in c.y..c.bottom() {
            let start = y as usize * stride + c.x as usize * 4;
            saved.extend_from_slice(&self.pixels[start..start + row]);
        }
        let [sw, sh] = self.source.map(|v| f64::from(v.max(1)));
        let [ow, oh] = self.output.map(f64::from);
        let (fx, fy) = (sw / ow, sh / oh);
        let left = f64::from(px) - f64::from(shape.hotspot_x);
        let top = f64::from(py) - f64::from(shape.hotspot_y);
        let cw = shape.width as usize;
        for y in c.y..c.bottom() {
            // The cursor pixel at this output pixel's centre.
            let cy = ((f64::from(y) + 0.5) * fy - top).floor();
            if cy < 0.0 || cy >= f64::from(shape.height) {
                continue;
            }
            for x in c.x..c.right() {
                let cx = ((f64::from(x) + 0.5) * fx - left).floor();
                if cx < 0.0 || cx >= f64::from(shape.width) {
                    continue;
                }
                let i = (cy as usize * cw + cx as usize) * 4;
                let Some(&[cr, cg, cb, a]) = shape.rgba.get(i..i + 4) else {
                    continue;
                };
                let o = y as usize * stride + x as usize * 4;
                let px = &mut self.pixels[o..o + 4];
                let a = u32::from(a);
                for (dst, src) in px.iter_mut().zip([cb, cg, cr]) {
                    *dst = ((u32::from(src) * a + u32::from(*dst) * (255 - a) + 127) / 255) as u8;
                }
                px[3] = 255;
            }
        }
        self.under = Some((c, saved));
        Some(c)
    }

    /// Sends the listed output rectangles (clipped to the output).
    fn send(&mut self, rects: &[Rect], sink: &mut dyn Sink) -> Result<(), PresentError> {
        if !self.filled {
            return Ok(());
        }
        let [ow, oh] = self.output;
        let rects: Vec<Rect> = rects
            .iter()
            .map(|r| clip(*r, ow, oh))
            .filter(|r| !r.is_empty())
            .collect();
        if rects.is_empty() {
            return Ok(());
        }
        sink.put(&rects, &self.pixels, self.output)
    }
}

fn clip(r: Rect, w: u32, h: u32) -> Rect {
    let x1 = r.right().min(w);
    let y1 = r.bottom().min(h);
    if r.x >= x1 || r.y >= y1 {
        return Rect::default();
    }
    Rect::new(r.x, r.y, x1 - r.x, y1 - r.y)
}

/// Our child window on the X server, and what it takes to draw into it.
struct XWindow {
    /// Shared with the `x11-events` thread, which waits for its events.
    conn: Arc<RustConnection>,
    window: u32,
    gc: u32,
    depth: u8,
    mapped: bool,
    /// The largest request the server takes, in bytes.
    max_request: usize,
    /// The server offers shared memory we may use (MIT-SHM 1.2, with file descriptors).
    shm: bool,
    /// Batches of shared-memory puts sent; the server reports each done with an event.
    shm_sent: u64,
    /// Rows being sent over the socket.
    staging: Vec<u8>,
}

impl XWindow {
    fn new(display: Option<&str>, parent: u32, transfer: Transfer) -> Result<Self, PresentError> {
        let (conn, _screen) =
            x11rb::connect(display).map_err(|e| PresentError::Connect(e.to_string()))?;
        let attrs = conn
            .get_window_attributes(parent)
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        let geometry = conn
            .get_geometry(parent)
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        let setup = conn.setup();
        let bpp = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == geometry.depth)
            .map(|f| f.bits_per_pixel);
        let visual = setup
            .roots
            .iter()
            .flat_map(|s| &s.allowed_depths)
            .flat_map(|d| &d.visuals)
            .find(|v| v.visual_id == attrs.visual);
        let true_colour = visual.is_some_and(|v| {
            v.class == VisualClass::TRUE_COLOR
                && (v.red_mask, v.green_mask, v.blue_mask) == (0xff_0000, 0xff00, 0xff)
        });
        let depth_ok = matches!(geometry.depth, 24 | 32);
        if !true_colour
            || !depth_ok
            || bpp != Some(32)
            || setup.image_byte_order != ImageOrder::LSB_FIRST
        {
            return Err(PresentError::Visual);
        }
        let window = conn.generate_id().map_err(x_err)?;
        let gc = conn.generate_id().map_err(x_err)?;
        // No background: X leaves the window's pixels alone until we draw them.
        let aux = CreateWindowAux::new()
            .background_pixmap(x11rb::NONE)
            .event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY);
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            parent,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            x11rb::COPY_FROM_PARENT,
            &aux,
        )
        .map_err(x_err)?;
        conn.create_gc(gc, window, &CreateGCAux::new().graphics_exposures(0))
            .map_err(x_err)?;
        let max_request = conn.maximum_request_bytes();
        let shm = transfer == Transfer::Auto && shm_version(&conn).is_some_and(|v| v >= (1, 2));
        conn.flush().map_err(x_err)?;
        Ok(Self {
            conn: Arc::new(conn),
            window,
            gc,
            depth: geometry.depth,
            mapped: false,
            max_request,
            shm,
            shm_sent: 0,
            staging: Vec::new(),
        })
    }

    fn place(&mut self, p: Placement) -> Result<(), PresentError> {
        let aux = ConfigureWindowAux::new()
            .x(p.x)
            .y(p.y)
            .width(p.width.max(1))
            .height(p.height.max(1));
        self.conn
            .configure_window(self.window, &aux)
            .map_err(x_err)?;
        if !self.mapped {
            self.conn.map_window(self.window).map_err(x_err)?;
            self.mapped = true;
        }
        self.conn.flush().map_err(x_err)
    }

    /// Unmaps the window, and returns once the X server has done so (a round trip).
    fn hide(&mut self) -> Result<(), PresentError> {
        if self.mapped {
            self.conn.unmap_window(self.window).map_err(x_err)?;
            self.mapped = false;
        }
        self.conn
            .get_input_focus()
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        Ok(())
    }
}

/// The server's MIT-SHM version, if it has the extension.
fn shm_version(conn: &RustConnection) -> Option<(u16, u16)> {
    conn.extension_information(shm::X11_EXTENSION_NAME)
        .ok()
        .flatten()?;
    let v = conn.shm_query_version().ok()?.reply().ok()?;
    Some((v.major_version, v.minor_version))
}

/// A block of memory the X server draws from (`ShmPutImage`): a segment it made for us
/// (`ShmCreateSegment`), mapped into our address space too.
struct ShmImage {
    conn: Arc<RustConnection>,
    seg: shm::Seg,
    map: memmap2::MmapMut,
    len: usize,
}

impl ShmImage {
    fn new(conn: &Arc<RustConnection>, len: usize) -> Result<Self, PresentError> {
        let size = u32::try_from(len)
            .map_err(|_| PresentError::X(format!("{len} bytes is too large a segment")))?;
        let seg = conn.generate_id().map_err(x_err)?;
        let reply = conn
            .shm_create_segment(seg, size, true)
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        let file = std::fs::File::from(reply.shm_fd);
        // SAFETY: the file is a fresh shared-memory object the X server made for this
        // segment; it maps it read-only (we asked for that) and nobody resizes it, so the
        // mapping stays valid and only we write to it.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::MmapMut::map_mut(&file) };
        match map {
            Ok(map) if map.len() >= len => Ok(Self {
                conn: conn.clone(),
                seg,
                map,
                len,
            }),
            other => {
                let _ = conn.shm_detach(seg);
                Err(PresentError::X(match other {
                    Err(e) => format!("cannot map the shared segment: {e}"),
                    Ok(map) => format!("the shared segment has {} bytes, not {len}", map.len()),
                }))
            }
        }
    }
}

impl Drop for ShmImage {
    fn drop(&mut self) {
        // The server keeps its own mapping until it has carried out the requests before.
        let _ = self.conn.shm_detach(self.seg);
        let _ = self.conn.flush();
    }
}

/// The `x11-events` thread: waits on the X connection (no polling) and hands exposures
/// and failures to the presenter thread. It ends when the window is destroyed, on an X
/// error or when the connection closes; after an error nobody reads the connection, so
/// the presenter thread stops too and drops it.
fn watch_events(conn: &RustConnection, window: u32, shared: &Shared) {
    loop {
        let event = conn.wait_for_event();
        let mut w = shared.wanted();
        let end = match event {
            Ok(Event::Expose(e)) => {
                let r = Rect::new(
                    u32::from(e.x),
                    u32::from(e.y),
                    u32::from(e.width),
                    u32::from(e.height),
                );
                if w.exposed.len() < MAX_EXPOSED {
                    w.exposed.push(r);
                } else {
                    w.exposed_all = true;
                }
                None
            }
            Ok(Event::ShmCompletion(_)) => {
                w.shm_done += 1;
                None
            }
            Ok(Event::DestroyNotify(e)) if e.window == window => {
                Some("the window was destroyed".to_string())
            }
            Ok(Event::Error(e)) => Some(format!("{e:?}")),
            Ok(_) => continue,
            Err(e) => Some(e.to_string()),
        };
        let done = end.is_some();
        if let Some(why) = end.filter(|_| !w.stop) {
            w.x_error = Some(why);
        }
        drop(w);
        shared.wake.notify_one();
        if done {
            return;
        }
    }
}

impl Sink for XWindow {
    fn pixels(&mut self, len: usize) -> Pixels {
        if self.shm {
            match ShmImage::new(&self.conn, len) {
                Ok(image) => return Pixels::Shared(image),
                Err(e) => {
                    tracing::debug!("sending pictures over the X socket: {e}");
                    self.shm = false;
                }
            }
        }
        Pixels::Heap(vec![0; len])
    }

    fn put(&mut self, rects: &[Rect], image: &Pixels, size: [u32; 2]) -> Result<(), PresentError> {
        let [width, height] = size.map(|v| u16::try_from(v).unwrap_or(u16::MAX));
        match image {
            Pixels::Shared(shm) => {
                for (i, r) in rects.iter().enumerate() {
                    // The last put of the batch asks for a ShmCompletion event.
                    let last = i + 1 == rects.len();
                    self.conn
                        .shm_put_image(
                            self.window,
                            self.gc,
                            width,
                            height,
                            r.x as u16,
                            r.y as u16,
                            r.w as u16,
                            r.h as u16,
                            r.x as i16,
                            r.y as i16,
                            self.depth,
                            ImageFormat::Z_PIXMAP.into(),
                            last,
                            shm.seg,
                            0,
                        )
                        .map_err(x_err)?;
                }
                self.shm_sent += 1;
            }
            Pixels::Heap(pixels) => {
                let stride = width as usize * 4;
                for r in rects {
                    let row = r.w as usize * 4;
                    self.staging.clear();
                    for y in r.y..r.bottom() {
                        let start = y as usize * stride + r.x as usize * 4;
                        self.staging.extend_from_slice(&pixels[start..start + row]);
                    }
                    // PutImage's own header is 24 bytes; bands of rows stay under the
                    // request limit.
                    let rows = ((self.max_request.saturating_sub(64)) / row.max(1)).clamp(1, 4096);
                    for (i, band) in self.staging.chunks(rows * row).enumerate() {
                        let h = band.len() / row;
                        let y = r.y as usize + i * rows;
                        self.conn
                            .put_image(
                                ImageFormat::Z_PIXMAP,
                                self.window,
                                self.gc,
                                r.w as u16,
                                h as u16,
                                r.x as i16,
                                y as i16,
                                0,
                                self.depth,
                                band,
                            )
                            .map_err(x_err)?;
                    }
                }
            }
        }
        self.conn.flush().map_err(x_err)
    }
}

impl Drop for XWindow {
    fn drop(&mut self) {
        // The parent may be gone already (the window closed): errors do not matter here.
        let _ = self.conn.free_gc(self.gc);
        let _ = self.conn.destroy_window(self.window);
        let _ = self.conn.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what was sent, and paints it into a picture of the output's size.
    struct Screen {
        size: [u32; 2],
        bgra: Vec<u8>,
        puts: Vec<Rect>,
    }

    impl Screen {
        fn new(size: [u32; 2]) -> Self {
            Self {
                size,
                bgra: vec![0; size[0] as usize * size[1] as usize * 4],
                puts: Vec::new(),
            }
        }

        fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
            let i = (y as usize * self.size[0] as usize + x as usize) * 4;
            [
                self.bgra[i],
                self.bgra[i + 1],
                self.bgra[i + 2],
                self.bgra[i + 3],
            ]
        }
    }

    impl Sink for Screen {
        fn put(
            &mut self,
            rects: &[Rect],
            image: &Pixels,
            size: [u32; 2],
        ) -> Result<(), PresentError> {
            assert_eq!(size, self.size);
            assert_eq!(image.len(), size[0] as usize * size[1] as usize * 4);
            let stride = self.size[0] as usize * 4;
            for r in rects {
                let row = r.w as usize * 4;
                for y in r.y..r.bottom() {
                    let start = y as usize * stride + r.x as usize * 4;
                    self.bgra[start..start + row].copy_from_slice(&image[start..start + row]);
                }
                self.puts.push(*r);
            }
            Ok(())
        }
    }

    fn solid(w: u32, h: u32, rgba: [u8; 4]) -> Framebuffer {
        let mut fb = Framebuffer::new(w, h).unwrap_or_else(|e| panic!("{e}"));
        fb.fill_rect(fb.full_rect(), rgba)
            .unwrap_or_else(|e| panic!("{e}"));
        fb
    }

    /// A slot holding `fb`, and a canvas and screen of the output size.
    fn shown_at(fb: &Framebuffer, output: [u32; 2]) -> (FrameSlot, Canvas, Screen) {
        let slot = FrameSlot::new();
        slot.publish(fb, &[fb.full_rect()]);
        let mut canvas = Canvas::default();
        let mut screen = Screen::new(output);
        let pixels = screen.pixels(output[0] as usize * output[1] as usize * 4);
        canvas.set_output(output, pixels);
        (slot, canvas, screen)
    }

    fn present(slot: &FrameSlot, canvas: &mut Canvas, screen: &mut Screen, all: bool) {
        let mut send = Vec::new();
        let update = |view: FrameView<'_>| canvas.update(&view, &mut send);
        if all {
            slot.take_all(update);
        } else {
            slot.take(update);
        }
        canvas.send(&send, screen).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_downscaled_picture_then_only_what_changed() {
        let mut fb = solid(200, 100, [10, 20, 30, 255]);
        let (slot, mut canvas, mut screen) = shown_at(&fb, [100, 50]);
        present(&slot, &mut canvas, &mut screen, true);
        assert_eq!(screen.puts, [Rect::new(0, 0, 100, 50)]);
        // BGRA on the wire.
        assert_eq!(screen.pixel(99, 49), [30, 20, 10, 255]);

        // A 20×20 square at (40, 40) covers output (20, 20)–(30, 30) only.
        fb.fill_rect(Rect::new(40, 40, 20, 20), [200, 0, 0, 255])
            .unwrap_or_else(|e| panic!("{e}"));
        slot.publish(&fb, &[Rect::new(40, 40, 20, 20)]);
        screen.puts.clear();
        present(&slot, &mut canvas, &mut screen, false);
        assert_eq!(screen.puts, [Rect::new(20, 20, 10, 10)]);
        assert_eq!(screen.pixel(25, 25), [0, 0, 200, 255]);
        assert_eq!(screen.pixel(19, 25), [30, 20, 10, 255]);
        // Nothing new: nothing sent.
        screen.puts.clear();
        present(&slot, &mut canvas, &mut screen, false);
        assert!(screen.puts.is_empty());
    }

    #[test]
    fn the_cursor_is_drawn_over_the_picture_and_taken_away_when_it_moves() {
        let fb = solid(100, 100, [0, 0, 0, 255]);
        let (slot, mut canvas, mut screen) = shown_at(&fb, [100, 100]);
        // A 4×4 white cursor whose left column is transparent, hotspot (1, 1).
        let mut rgba = vec![255; 4 * 4 * 4];
        for y in 0..4 {
            rgba[y * 16 + 3] = 0;
        }
        slot.set_cursor(Some(CursorShape {
            width: 4,
            height: 4,
            hotspot_x: 1,
            hotspot_y: 1,
            rgba,
        }));
        slot.set_pointer(50, 50);
        present(&slot, &mut canvas, &mut screen, true);
        // Cursor pixels (0..4, 0..4) land at (49..53, 49..53); column 49 is transparent.
        assert_eq!(screen.pixel(50, 50), [255, 255, 255, 255]);
        assert_eq!(screen.pixel(52, 52), [255, 255, 255, 255]);
        assert_eq!(screen.pixel(49, 50), [0, 0, 0, 255]);
        assert_eq!(screen.pixel(53, 50), [0, 0, 0, 255]);

        slot.set_pointer(10, 10);
        screen.puts.clear();
        present(&slot, &mut canvas, &mut screen, false);
        assert_eq!(
            screen.puts,
            [Rect::new(49, 49, 4, 4), Rect::new(9, 9, 4, 4)]
        );
        assert_eq!(
            screen.pixel(50, 50),
            [0, 0, 0, 255],
            "the old cursor is gone"
        );
        assert_eq!(screen.pixel(10, 10), [255, 255, 255, 255]);
    }

    #[test]
    fn a_change_under_the_cursor_keeps_the_cursor_and_shows_when_it_moves() {
        let mut fb = solid(100, 100, [0, 0, 0, 255]);
        let (slot, mut canvas, mut screen) = shown_at(&fb, [50, 50]);
        slot.set_cursor(Some(CursorShape {
            width: 4,
            height: 4,
            hotspot_x: 0,
            hotspot_y: 0,
            rgba: vec![255; 4 * 4 * 4],
        }));
        slot.set_pointer(40, 40);
        present(&slot, &mut canvas, &mut screen, true);
        // Output pixel (20, 20) shows cursor pixel (0, 0), (19, 19) the black picture.
        assert_eq!(screen.pixel(20, 20), [255, 255, 255, 255]);
        assert_eq!(screen.pixel(19, 19), [0, 0, 0, 255]);

        // Red everywhere around the cursor: the cursor stays on top of it.
        fb.fill_rect(Rect::new(30, 30, 30, 30), [255, 0, 0, 255])
            .unwrap_or_else(|e| panic!("{e}"));
        slot.publish(&fb, &[Rect::new(30, 30, 30, 30)]);
        present(&slot, &mut canvas, &mut screen, false);
        assert_eq!(screen.pixel(20, 20), [255, 255, 255, 255]);
        assert_eq!(screen.pixel(19, 19), [0, 0, 255, 255]);

        // The cursor leaves: what it covered is the red picture, not the black from before.
        slot.set_pointer(0, 90);
        present(&slot, &mut canvas, &mut screen, false);
        assert_eq!(screen.pixel(20, 20), [0, 0, 255, 255]);
        assert_eq!(screen.pixel(21, 21), [0, 0, 255, 255]);
        assert_eq!(screen.pixel(0, 45), [255, 255, 255, 255]);
    }

    #[test]
    fn a_new_picture_size_redraws_everything() {
        let fb = solid(200, 100, [1, 2, 3, 255]);
        let (slot, mut canvas, mut screen) = shown_at(&fb, [100, 50]);
        present(&slot, &mut canvas, &mut screen, true);
        let fb = solid(400, 200, [9, 8, 7, 255]);
        slot.publish(&fb, &[Rect::new(0, 0, 10, 10)]);
        screen.puts.clear();
        present(&slot, &mut canvas, &mut screen, false);
        assert_eq!(screen.puts, [Rect::new(0, 0, 100, 50)]);
        assert_eq!(screen.pixel(70, 40), [7, 8, 9, 255]);
    }

    #[test]
    fn a_larger_output_than_the_picture_is_never_drawn() {
        let fb = solid(50, 50, [1, 2, 3, 255]);
        let (slot, mut canvas, mut screen) = shown_at(&fb, [100, 100]);
        present(&slot, &mut canvas, &mut screen, true);
        assert!(screen.puts.is_empty());
        assert!(canvas.needs_full());
    }
}
