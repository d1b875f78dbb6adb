//! Pixels: the session framebuffer, dirty rectangles and the latest-wins [`FrameSlot`].
//!
//! A source decodes into its own [`Framebuffer`] (RGBA8, alpha always 255) and, at each
//! end of update, calls [`FrameSlot::publish`] with the rectangles it touched. The slot
//! copies just those rectangles into its shared buffer and accumulates their union; the UI
//! (or a headless command) later calls [`FrameSlot::take`] and uploads only what changed.
//! A slow consumer therefore always sees the newest picture and never a backlog.
//!
//! A source that changes a little of a large picture many times a second (RFB) publishes
//! with [`FrameSlot::publish_swap`] instead: its framebuffer and the slot's trade places, and
//! only the areas where the traded-back buffer lags ([`StaleAreas`]) and that the next
//! update does not paint over are ever copied, at the next publish.

use std::sync::Mutex;

use super::event::Waker;

/// Largest framebuffer side we accept from any source (RFB allows 65535).
#[cfg(not(fuzzing))]
pub const MAX_DIMENSION: u32 = 16384;
/// Under `cargo fuzz` (`cfg(fuzzing)`) a side is at most 1024, so that fuzz inputs spend
/// their time in the parsers rather than in filling and copying gigabyte pictures; every
/// check against the bound stays the same.
#[cfg(fuzzing)]
pub const MAX_DIMENSION: u32 = 1024;

/// Above this many pending dirty rectangles the slot merges them ([`coalesce`]).
const MAX_PENDING_RECTS: usize = 128;

/// Most rectangles [`StaleAreas`] keeps; more are merged into tiles ([`coalesce`]). Naming
/// more than lags is harmless: catching up an area that does not lag copies equal pixels.
pub const MAX_STALE_RECTS: usize = 256;

/// The tile size [`coalesce`] rounds changed areas up to.
const COALESCE_TILE: u32 = 64;

/// A rectangle in remote pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub const fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    pub fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// Exclusive right edge, saturating so hostile values cannot overflow.
    pub fn right(&self) -> u32 {
        self.x.saturating_add(self.w)
    }

    /// Exclusive bottom edge, saturating.
    pub fn bottom(&self) -> u32 {
        self.y.saturating_add(self.h)
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }

    pub fn area(&self) -> u64 {
        u64::from(self.w) * u64::from(self.h)
    }

    /// The area both rectangles hold, if any.
    pub fn intersection(&self, other: &Rect) -> Option<Rect> {
        let x = self.x.max(other.x);
        let y = self.y.max(other.y);
        let right = self.right().min(other.right());
        let bottom = self.bottom().min(other.bottom());
        (x < right && y < bottom).then(|| Rect::new(x, y, right - x, bottom - y))
    }
}

/// Calls `f` with the parts of `r` that no rectangle of `cover` touches, as disjoint
/// rectangles: `r` is cut into bands of rows at the covers' top and bottom edges, and each
/// band's uncovered runs are reported. Work grows with the square of the number of covers
/// that overlap `r`.
fn for_each_uncovered(r: Rect, cover: &[Rect], mut f: impl FnMut(Rect)) {
    if r.is_empty() {
        return;
    }
    // Usually the same area changed again: one cover holds it all.
    let holds =
        |c: &Rect| c.x <= r.x && c.y <= r.y && c.right() >= r.right() && c.bottom() >= r.bottom();
    if cover.iter().any(holds) {
        return;
    }
    let mut hits: Vec<Rect> = cover.iter().filter_map(|c| r.intersection(c)).collect();
    if hits.is_empty() {
        f(r);
        return;
    }
    hits.sort_unstable_by_key(|h| h.x);
    let mut edges: Vec<u32> = Vec::with_capacity(hits.len() * 2 + 2);
    edges.extend([r.y, r.bottom()]);
    for h in &hits {
        edges.extend([h.y, h.bottom()]);
    }
    edges.sort_unstable();
    edges.dedup();
    for band in edges.windows(2) {
        let (top, bottom) = (band[0], band[1]);
        let mut x = r.x;
        for h in hits.iter().filter(|h| h.y <= top && h.bottom() >= bottom) {
            if h.x > x {
                f(Rect::new(x, top, h.x - x, bottom - top));
            }
            x = x.max(h.right());
        }
        if x < r.right() {
            f(Rect::new(x, top, r.right() - x, bottom - top));
        }
    }
}

/// Errors about picture geometry, shared by every picture source.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("framebuffer size {w}x{h} is outside 1..={MAX_DIMENSION} on a side")]
    FramebufferTooLarge { w: u32, h: u32 },
    #[error("rectangle {x},{y} {w}x{h} lies outside the {fb_w}x{fb_h} framebuffer")]
    RectOutOfBounds {
        x: u32,
        y: u32,
        w: u32,
        h: u32,
        fb_w: u32,
        fb_h: u32,
    },
}

/// An RGBA8 picture, row-major, stride `width * 4`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framebuffer {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Framebuffer {
    /// An opaque black picture of the given size, if the size is within bounds.
    pub fn new(width: u32, height: u32) -> Result<Self, FrameError> {
        check_size(width, height)?;
        let mut pixels = vec![0u8; width as usize * height as usize * 4];
        for px in pixels.chunks_exact_mut(4) {
            px[3] = 255;
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// Wraps RGBA8 pixels; `None` if the length does not match or the size is out of bounds.
    pub fn from_rgba(width: u32, height: u32, pixels: Vec<u8>) -> Option<Self> {
        check_size(width, height).ok()?;
        (pixels.len() == width as usize * height as usize * 4).then_some(Self {
            width,
            height,
            pixels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn full_rect(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// All pixels, RGBA8, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.pixels
    }

    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// Resizes to a new geometry, keeping no old content (RFB DesktopSize semantics).
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), FrameError> {
        *self = Self::new(width, height)?;
        Ok(())
    }

    /// Checks that `r` lies wholly inside the picture.
    pub fn check_rect(&self, r: Rect) -> Result<(), FrameError> {
        if r.right() <= self.width
            && r.bottom() <= self.height
            && r.x < u32::MAX - r.w
            && r.y < u32::MAX - r.h
        {
            Ok(())
        } else {
            Err(FrameError::RectOutOfBounds {
                x: r.x,
                y: r.y,
                w: r.w,
                h: r.h,
                fb_w: self.width,
                fb_h: self.height,
            })
        }
    }

    /// Byte offset of pixel (x, y). The caller has checked the coordinates.
    fn offset(&self, x: u32, y: u32) -> usize {
        (y as usize * self.width as usize + x as usize) * 4
    }

    /// The bytes of one row segment of `r`. The caller has checked `r`.
    pub fn row(&self, r: Rect, dy: u32) -> &[u8] {
        let start = self.offset(r.x, r.y + dy);
        &self.pixels[start..start + r.w as usize * 4]
    }

    /// The mutable bytes of one row segment of `r`. The caller has checked `r`.
    pub fn row_mut(&mut self, r: Rect, dy: u32) -> &mut [u8] {
        let start = self.offset(r.x, r.y + dy);
        &mut self.pixels[start..start + r.w as usize * 4]
    }

    /// The bytes from `r`'s first pixel to its last, and the distance between its rows, for
    /// a decoder that writes the rows itself.
    pub fn area_mut(&mut self, r: Rect) -> Result<(&mut [u8], usize), FrameError> {
        self.check_rect(r)?;
        let stride = self.width as usize * 4;
        if r.is_empty() {
            return Ok((&mut [], stride));
        }
        let start = self.offset(r.x, r.y);
        let end = self.offset(r.x + r.w, r.y + r.h - 1);
        Ok((&mut self.pixels[start..end], stride))
    }

    /// Fills `r` with one colour (alpha forced to 255).
    pub fn fill_rect(&mut self, r: Rect, rgba: [u8; 4]) -> Result<(), FrameError> {
        self.check_rect(r)?;
        let px = [rgba[0], rgba[1], rgba[2], 255];
        for dy in 0..r.h {
            for chunk in self.row_mut(r, dy).chunks_exact_mut(4) {
                chunk.copy_from_slice(&px);
            }
        }
        Ok(())
    }

    /// Copies the `dst.w`×`dst.h` area at (`src_x`, `src_y`) to `dst`; overlap is fine.
    pub fn copy_rect(&mut self, src_x: u32, src_y: u32, dst: Rect) -> Result<(), FrameError> {
        self.check_rect(dst)?;
        self.check_rect(Rect::new(src_x, src_y, dst.w, dst.h))?;
        let row_bytes = dst.w as usize * 4;
        let copy_row = |fb: &mut Self, dy: u32| {
            let from = fb.offset(src_x, src_y + dy);
            let to = fb.offset(dst.x, dst.y + dy);
            fb.pixels.copy_within(from..from + row_bytes, to);
        };
        if dst.y > src_y {
            for dy in (0..dst.h).rev() {
                copy_row(self, dy);
            }
        } else {
            for dy in 0..dst.h {
                copy_row(self, dy);
            }
        }
        Ok(())
    }

    /// Writes rows of packed RGBA8 pixels (`r.w * 4` bytes each) into `r`, forcing alpha to 255.
    pub fn put_rgba(&mut self, r: Rect, src: &[u8]) -> Result<(), FrameError> {
        self.check_rect(r)?;
        let row_bytes = r.w as usize * 4;
        for (dy, src_row) in src.chunks_exact(row_bytes).take(r.h as usize).enumerate() {
            let dst = self.row_mut(r, dy as u32);
            dst.copy_from_slice(src_row);
            for px in dst.chunks_exact_mut(4) {
                px[3] = 255;
            }
        }
        Ok(())
    }

    /// Writes rows of packed RGBA8 pixels whose alpha is already 255 (a JPEG decoder's
    /// output) into `r`: [`Framebuffer::put_rgba`] without its pass over every alpha byte.
    pub fn put_opaque_rgba(&mut self, r: Rect, src: &[u8]) -> Result<(), FrameError> {
        self.check_rect(r)?;
        let row_bytes = r.w as usize * 4;
        for (dy, src_row) in src.chunks_exact(row_bytes).take(r.h as usize).enumerate() {
            self.row_mut(r, dy as u32).copy_from_slice(src_row);
        }
        Ok(())
    }

    /// A copy of the pixels inside `r` as packed rows. The caller has checked `r`.
    pub fn crop(&self, r: Rect) -> Vec<u8> {
        let mut out = Vec::with_capacity(r.area() as usize * 4);
        for dy in 0..r.h {
            out.extend_from_slice(self.row(r, dy));
        }
        out
    }

    fn same_geometry(&self, other: &Framebuffer) -> bool {
        (self.width, self.height) == (other.width, other.height)
    }

    /// Copies the area `r` from `src`, which must have the same geometry.
    fn copy_area_from(&mut self, src: &Framebuffer, r: Rect) {
        for dy in 0..r.h {
            let start = self.offset(r.x, r.y + dy);
            let end = start + r.w as usize * 4;
            self.pixels[start..end].copy_from_slice(&src.pixels[start..end]);
        }
    }
}

fn check_size(w: u32, h: u32) -> Result<(), FrameError> {
    if w == 0 || h == 0 || w > MAX_DIMENSION || h > MAX_DIMENSION {
        Err(FrameError::FramebufferTooLarge { w, h })
    } else {
        Ok(())
    }
}

/// A cursor image drawn locally over the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorShape {
    pub width: u32,
    pub height: u32,
    pub hotspot_x: u32,
    pub hotspot_y: u32,
    /// RGBA8 with real alpha (0 where the cursor mask is clear).
    pub rgba: Vec<u8>,
}

/// What a consumer gets from [`FrameSlot::take`].
#[derive(Debug)]
pub struct FrameView<'a> {
    /// The whole current picture.
    pub frame: &'a Framebuffer,
    /// The areas changed since the last take. When `resized` is true, treat the whole picture
    /// as changed.
    pub dirty: &'a [Rect],
    pub resized: bool,
    /// The cursor, when it changed since the last take (`Some(None)`: hide it).
    pub cursor: Option<Option<&'a CursorShape>>,
    /// The remote pointer position as last reported, if any.
    pub pointer: Option<(u32, u32)>,
    /// How many updates were published in all.
    pub seq: u64,
}

/// Which pixels have been painted since the picture took its current size.
///
/// One bit per pixel (at most 32 MiB at the largest size), dropped as soon as every pixel
/// is painted; until then a consumer knows the picture still has unpainted parts.
#[derive(Debug)]
struct Coverage {
    width: u32,
    bits: Vec<u64>,
    painted: u64,
    total: u64,
}

impl Coverage {
    fn new(width: u32, height: u32) -> Self {
        let total = u64::from(width) * u64::from(height);
        Self {
            width,
            bits: vec![0; total.div_ceil(64) as usize],
            painted: 0,
            total,
        }
    }

    /// Marks a rectangle (already clipped to the picture) as painted.
    fn paint(&mut self, r: Rect) {
        for y in r.y..r.bottom() {
            let start = u64::from(y) * u64::from(self.width) + u64::from(r.x);
            self.paint_span(start, start + u64::from(r.w));
        }
    }

    fn paint_span(&mut self, mut from: u64, to: u64) {
        while from < to {
            let word = (from / 64) as usize;
            let bit = from % 64;
            let n = (to - from).min(64 - bit);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << bit
            };
            let w = &mut self.bits[word];
            self.painted += u64::from((mask & !*w).count_ones());
            *w |= mask;
            from += n;
        }
    }

    fn is_complete(&self) -> bool {
        self.painted >= self.total
    }
}

/// Where a source's own framebuffer lags the picture in its [`FrameSlot`], after it was
/// published by [`FrameSlot::publish_swap`].
#[derive(Clone, Debug, Default)]
pub struct StaleAreas {
    rects: Vec<Rect>,
}

impl StaleAreas {
    /// Stale everywhere: for a fresh framebuffer about to be published to a slot that may
    /// already hold a picture of the same size (a reconnect), which the parts the first
    /// update leaves out should keep showing.
    pub fn everywhere(fb: &Framebuffer) -> Self {
        Self {
            rects: vec![fb.full_rect()],
        }
    }

    /// Copies the stale areas outside `written` from `shared` into `fb`; nothing is stale
    /// afterwards.
    fn copy_from(&mut self, shared: &Framebuffer, fb: &mut Framebuffer, written: &[Rect]) {
        let (width, height) = (fb.width, fb.height);
        for stale in self.rects.drain(..) {
            // Clipped again in case the picture changed size since the area was noted.
            let stale = clip(stale, width, height);
            for_each_uncovered(stale, written, |r| fb.copy_area_from(shared, r));
        }
    }
}

#[derive(Debug, Default)]
struct SlotState {
    frame: Option<Framebuffer>,
    /// `None` once the current picture has been painted everywhere.
    coverage: Option<Coverage>,
    dirty: Vec<Rect>,
    resized: bool,
    cursor: Option<CursorShape>,
    cursor_changed: bool,
    pointer: Option<(u32, u32)>,
    pointer_changed: bool,
    seq: u64,
    taken_seq: u64,
}

impl SlotState {
    /// Takes a copy of `fb` as a picture of a new size: everything changed.
    fn replace(&mut self, fb: &Framebuffer) {
        self.frame = Some(fb.clone());
        self.dirty.clear();
        self.resized = true;
        self.coverage = Some(Coverage::new(fb.width, fb.height));
    }

    /// Records a published update: painted areas, the change set, the sequence number.
    fn note_update(&mut self, dirty: &[Rect], width: u32, height: u32) {
        if let Some(coverage) = self.coverage.as_mut() {
            for r in dirty {
                coverage.paint(clip(*r, width, height));
            }
            if coverage.is_complete() {
                self.coverage = None;
            }
        }
        // After a size change everything counts as changed until a consumer has looked.
        if !self.resized {
            add_clipped(&mut self.dirty, dirty, [width, height], MAX_PENDING_RECTS);
        }
        self.seq += 1;
    }

    /// Clears the change set once a consumer has seen it.
    fn mark_taken(&mut self) {
        self.dirty.clear();
        self.resized = false;
        self.cursor_changed = false;
        self.pointer_changed = false;
        self.taken_seq = self.seq;
    }
}

/// How often a source waiting out its consumer's pace looks whether it changed (a console
/// task opened full-size gets its full rate back within this).
pub const PACE_CHECK: std::time::Duration = std::time::Duration::from_millis(50);

/// The latest-wins hand-over point between a source and its consumer.
#[derive(Default)]
pub struct FrameSlot {
    state: Mutex<SlotState>,
    /// The least time the consumer wants between pictures, in ms (0: every picture): a
    /// console tile glances at its task, and its source need not work at full rate.
    pace_ms: std::sync::atomic::AtomicU32,
    /// Who is told of a new picture instead of the session's waker, when set
    /// ([`FrameSlot::notify`]): a presenter that draws pictures without the UI.
    listener: Mutex<Option<Waker>>,
}

impl std::fmt::Debug for FrameSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSlot")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl FrameSlot {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // A panic while holding this lock cannot leave the pixels unsafe, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes the end of an update: copies the `dirty` areas of `fb` into the slot.
    /// Rectangles outside `fb` are clipped away.
    pub fn publish(&self, fb: &Framebuffer, dirty: &[Rect]) {
        let mut guard = self.lock();
        let s = &mut *guard;
        match s.frame.as_mut() {
            Some(shared) if shared.same_geometry(fb) => {
                for r in dirty {
                    let clipped = clip(*r, fb.width, fb.height);
                    if !clipped.is_empty() {
                        shared.copy_area_from(fb, clipped);
                    }
                }
            }
            _ => s.replace(fb),
        }
        s.note_update(dirty, fb.width, fb.height);
    }

    /// Publishes the end of an update without copying its pixels: `fb` and the slot's
    /// picture trade places. `fb` comes back holding the previous picture, and `stale`
    /// names the areas where it lags the slot (this update's `dirty` areas).
    ///
    /// Before the trade, the areas `stale` named from the last publish that `dirty` does
    /// not cover are copied from the slot into `fb`, so the slot's picture is whole. So
    /// `dirty` must name every area written into `fb` since the last publish, and nothing
    /// more unless [`FrameSlot::catch_up`] was called before it grew beyond them.
    /// After a size change the slot takes a copy instead, as [`FrameSlot::publish`] does.
    pub fn publish_swap(&self, fb: &mut Framebuffer, dirty: &[Rect], stale: &mut StaleAreas) {
        let mut guard = self.lock();
        let s = &mut *guard;
        let (width, height) = (fb.width, fb.height);
        match s.frame.as_mut() {
            Some(shared) if shared.same_geometry(fb) => {
                stale.copy_from(shared, fb, dirty);
                std::mem::swap(shared, fb);
                add_clipped(&mut stale.rects, dirty, [width, height], MAX_STALE_RECTS);
            }
            _ => {
                s.replace(fb);
                stale.rects.clear();
            }
        }
        s.note_update(dirty, width, height);
    }

    /// Brings `fb` up to date with the slot's picture everywhere except in `written` (the
    /// areas written into it since the last [`FrameSlot::publish_swap`]): for a source that
    /// is about to read its own pixels (an RFB CopyRect), or whose list of written areas is
    /// about to lose precision. Afterwards `stale` is empty.
    pub fn catch_up(&self, fb: &mut Framebuffer, written: &[Rect], stale: &mut StaleAreas) {
        if stale.rects.is_empty() {
            return;
        }
        let s = self.lock();
        match s.frame.as_ref() {
            Some(shared) if shared.same_geometry(fb) => stale.copy_from(shared, fb, written),
            // The slot holds another picture (or none): there is nothing to catch up with.
            _ => stale.rects.clear(),
        }
    }

    /// Tells whoever consumes pictures that one was published: the listener if one is set
    /// ([`FrameSlot::set_listener`]), else `waker` (the session's, which wakes the UI).
    pub fn notify(&self, waker: &Waker) {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match listener {
            Some(listener) => listener(),
            None => waker(),
        }
    }

    /// Sets (or with `None` removes) who [`FrameSlot::notify`] calls instead of the waker.
    pub fn set_listener(&self, listener: Option<Waker>) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    /// The current picture's size, if any was published.
    pub fn size(&self) -> Option<[u32; 2]> {
        self.lock().frame.as_ref().map(|f| [f.width, f.height])
    }

    /// Replaces the cursor image (`None` hides it).
    pub fn set_cursor(&self, cursor: Option<CursorShape>) {
        let mut s = self.lock();
        s.cursor = cursor;
        s.cursor_changed = true;
    }

    /// Records where the remote pointer is.
    pub fn set_pointer(&self, x: u32, y: u32) {
        let mut s = self.lock();
        s.pointer = Some((x, y));
        s.pointer_changed = true;
    }

    /// Number of updates published so far.
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// True once some picture was published and every pixel of it has been painted since it
    /// took its current size (an update may carry only a size change, or part of the screen).
    pub fn is_complete(&self) -> bool {
        let s = self.lock();
        s.frame.is_some() && s.coverage.is_none()
    }

    /// Calls `f` with what changed since the last take, then clears the change set.
    /// Returns `None` without calling `f` when nothing changed.
    pub fn take<T>(&self, f: impl FnOnce(FrameView<'_>) -> T) -> Option<T> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let changed = s.seq != s.taken_seq || s.cursor_changed || s.pointer_changed;
        let frame = s.frame.as_ref()?;
        if !changed {
            return None;
        }
        let out = f(FrameView {
            frame,
            dirty: &s.dirty,
            resized: s.resized,
            cursor: s.cursor_changed.then_some(s.cursor.as_ref()),
            pointer: s.pointer,
            seq: s.seq,
        });
        s.mark_taken();
        Some(out)
    }

    /// Like [`FrameSlot::take`], but as if everything changed: `f` sees the whole picture as
    /// dirty and resized, and the current cursor, whether or not anything is new. For a
    /// consumer taking over from another one. `None` only before the first picture.
    pub fn take_all<T>(&self, f: impl FnOnce(FrameView<'_>) -> T) -> Option<T> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let frame = s.frame.as_ref()?;
        let out = f(FrameView {
            frame,
            dirty: &[frame.full_rect()],
            resized: true,
            cursor: Some(s.cursor.as_ref()),
            pointer: s.pointer,
            seq: s.seq,
        });
        s.mark_taken();
        Some(out)
    }

    /// Asks the source for a picture at most every `pace` (`None`: every picture, the
    /// default). The source applies it from its next picture on, and a source waiting
    /// out a pace looks again at least every [`PACE_CHECK`].
    pub fn set_pace(&self, pace: Option<std::time::Duration>) {
        let ms = pace.map_or(0, |p| {
            u32::try_from(p.as_millis()).unwrap_or(u32::MAX).max(1)
        });
        self.pace_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// The least time the consumer wants between pictures; `None` for every picture.
    pub fn pace(&self) -> Option<std::time::Duration> {
        match self.pace_ms.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            ms => Some(std::time::Duration::from_millis(u64::from(ms))),
        }
    }

    /// Calls `f` with the current picture and how many updates were published, leaving
    /// the change set to the consumer that takes it: a second, occasional reader (a
    /// thumbnail). `None` before the first picture.
    pub fn peek<T>(&self, f: impl FnOnce(&Framebuffer, u64) -> T) -> Option<T> {
        let s = self.lock();
        let frame = s.frame.as_ref()?;
        Some(f(frame, s.seq))
    }

    /// A copy of the current picture, if any update was published.
    pub fn snapshot(&self) -> Option<Framebuffer> {
        self.lock().frame.clone()
    }
}

/// Joins rectangles that stack into one without adding any area: those of equal columns
/// whose rows touch or overlap, then those of equal rows whose columns touch or overlap.
/// A server cuts a large change into a grid of rectangles (x11vnc's Tight: at most 256 wide
/// and 6144 pixels); a consumer that works per rectangle and reads a margin around each (a
/// downscale) does its fixed work, and the margins, once per joined rectangle instead.
pub fn join_neighbours(rects: &mut Vec<Rect>) {
    rects.retain(|r| !r.is_empty());
    rects.sort_unstable_by_key(|r| (r.x, r.w, r.y));
    join_sorted(rects, |a, b| (a.x, a.w) == (b.x, b.w) && b.y <= a.bottom());
    rects.sort_unstable_by_key(|r| (r.y, r.h, r.x));
    join_sorted(rects, |a, b| (a.y, a.h) == (b.y, b.h) && b.x <= a.right());
}

/// Merges each rectangle into the one before it while `joins` says they stack.
fn join_sorted(rects: &mut Vec<Rect>, joins: impl Fn(&Rect, &Rect) -> bool) {
    let mut kept = 0;
    for i in 0..rects.len() {
        let r = rects[i];
        if kept > 0 && joins(&rects[kept - 1], &r) {
            rects[kept - 1] = rects[kept - 1].union(&r);
        } else {
            rects[kept] = r;
            kept += 1;
        }
    }
    rects.truncate(kept);
}

/// Replaces many dirty rectangles inside a `width`×`height` picture by fewer that cover
/// them: the 64-pixel tiles they touch, as runs along each tile row, runs of equal extent
/// in consecutive rows joined. Unlike one bounding box, two small changes far apart stay
/// small: an animating page's scattered tiles cost their own area, not the screen's.
pub fn coalesce(rects: &mut Vec<Rect>, width: u32, height: u32) {
    let cols = width.div_ceil(COALESCE_TILE) as usize;
    let rows = height.div_ceil(COALESCE_TILE) as usize;
    if cols == 0 || rows == 0 {
        rects.clear();
        return;
    }
    let mut tiles = vec![false; cols * rows];
    for r in rects.iter() {
        let r = clip(*r, width, height);
        if r.is_empty() {
            continue;
        }
        let (x0, x1) = (r.x / COALESCE_TILE, (r.right() - 1) / COALESCE_TILE);
        let (y0, y1) = (r.y / COALESCE_TILE, (r.bottom() - 1) / COALESCE_TILE);
        for ty in y0..=y1 {
            let row = ty as usize * cols;
            tiles[row + x0 as usize..=row + x1 as usize].fill(true);
        }
    }
    rects.clear();
    // Runs of the previous tile row, as (first tile, end tile, index in `rects`).
    let mut open: Vec<(usize, usize, usize)> = Vec::new();
    let mut next: Vec<(usize, usize, usize)> = Vec::new();
    for ty in 0..rows {
        let row = &tiles[ty * cols..(ty + 1) * cols];
        let mut tx = 0;
        next.clear();
        while tx < cols {
            if !row[tx] {
                tx += 1;
                continue;
            }
            let start = tx;
            while tx < cols && row[tx] {
                tx += 1;
            }
            let y = ty as u32 * COALESCE_TILE;
            let h = COALESCE_TILE.min(height - y);
            let index = match open.iter().find(|&&(a, b, _)| (a, b) == (start, tx)) {
                Some(&(_, _, i)) => {
                    rects[i].h += h;
                    i
                }
                None => {
                    let x = start as u32 * COALESCE_TILE;
                    let right = (tx as u32 * COALESCE_TILE).min(width);
                    rects.push(Rect::new(x, y, right - x, h));
                    rects.len() - 1
                }
            };
            next.push((start, tx, index));
        }
        std::mem::swap(&mut open, &mut next);
    }
}

/// Adds `rects`, clipped to a `width`×`height` picture, to `list`, merging the list into
/// tiles ([`coalesce`]) when it grows past `max`.
fn add_clipped(list: &mut Vec<Rect>, rects: &[Rect], [width, height]: [u32; 2], max: usize) {
    list.extend(
        rects
            .iter()
            .map(|r| clip(*r, width, height))
            .filter(|r| !r.is_empty()),
    );
    if list.len() > max {
        coalesce(list, width, height);
    }
}

fn clip(r: Rect, w: u32, h: u32) -> Rect {
    let x = r.x.min(w);
    let y = r.y.min(h);
    Rect::new(x, y, r.right().min(w) - x, r.bottom().min(h) - y)
}

#[cfg(test)]
mod tests;
