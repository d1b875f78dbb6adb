//! The wall's thumbnails, made off the window's thread.
//!
//! A tile shows its task's picture shrunk to the tile a few times a second. Shrinking is
//! the costly part: a wall of 64 tasks shrinks some twenty-five on-screen pictures per tick,
//! and on the window's thread that made every fourth frame three to four times as long as
//! the others (40 ms against 10 at the 95th percentile, `cargo bench --bench console`).
//! So the window only asks and uploads: once per tick it hands every tile whose picture
//! has news to the [`Thumbnailer`]'s thread as one batch; that thread, a few steps below
//! the window's priority, shrinks them all, and the next tick's frame uploads them and
//! asks for the next batch. The wall draws a frame a tick for its pictures, not two,
//! and not one per tile; a picture reaches its tile a tick later than it was asked.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use egui::{ColorImage, TextureHandle, TextureOptions, Ui};

use crate::core::frame::FrameSlot;

/// The largest thumbnail made, in pixels (a lone tile in a large window).
const MAX_THUMBNAIL: [u32; 2] = [1920, 1080];

/// How many batches may wait for the thread. A tile asks again only once its last picture
/// is made, so what waits is bounded by the tiles on the wall either way.
const BATCHES: usize = 4;

/// Where the thumbnailer leaves a picture asked of it.
#[derive(Default)]
enum Handover {
    /// Not made yet.
    #[default]
    Asked,
    /// Made: the picture and the slot's update count it shows.
    Made(ColorImage, u64),
    /// The slot had no picture to make.
    Nothing,
}

type Cell = Arc<Mutex<Handover>>;

fn lock(cell: &Cell) -> std::sync::MutexGuard<'_, Handover> {
    // A picture is replaced whole: a panic elsewhere cannot leave half of one.
    cell.lock().unwrap_or_else(|p| p.into_inner())
}

/// One picture to make: from which slot, at most how large, and where to leave it.
struct Job {
    slot: Arc<FrameSlot>,
    bound: [u32; 2],
    out: Cell,
}

impl Job {
    fn make(self, packed: &mut Vec<u8>) {
        let made = self.slot.peek(|fb, seq| {
            let output = fit([fb.width(), fb.height()], self.bound);
            if output[0] == 0 || output[1] == 0 {
                return None;
            }
            shrink(fb, output, packed);
            let size = [output[0] as usize, output[1] as usize];
            Some((ColorImage::from_rgba_premultiplied(size, packed), seq))
        });
        *lock(&self.out) = match made.flatten() {
            Some((image, seq)) => Handover::Made(image, seq),
            None => Handover::Nothing,
        };
    }
}

/// The thread that shrinks the wall's pictures, and the batch asked of it this frame.
pub struct Thumbnailer {
    jobs: Option<mpsc::SyncSender<Vec<Job>>>,
    thread: Option<JoinHandle<()>>,
    batch: Vec<Job>,
    packed: Vec<u8>,
}

impl Thumbnailer {
    /// Starts the thread. What it makes is uploaded at the wall's next tick, with the next
    /// batch asked (a tile with a picture on its way asks for that tick). Should no thread
    /// start, the pictures are made on the window's thread (slower, never missing).
    pub fn start() -> Self {
        let (tx, rx) = mpsc::sync_channel::<Vec<Job>>(BATCHES);
        let thread = std::thread::Builder::new()
            .name("lookout-thumbnails".into())
            .spawn(move || {
                crate::core::priority::below_the_window();
                let mut packed = Vec::new();
                while let Ok(batch) = rx.recv() {
                    for job in batch {
                        // A picture that cannot be made must not leave its tile waiting.
                        let out = Arc::clone(&job.out);
                        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            job.make(&mut packed);
                        }));
                        if made.is_err() {
                            *lock(&out) = Handover::Nothing;
                        }
                    }
                }
            });
        match thread {
            Ok(thread) => Self {
                jobs: Some(tx),
                thread: Some(thread),
                batch: Vec::new(),
                packed: Vec::new(),
            },
            Err(e) => {
                tracing::warn!("thumbnails are made on the window's thread: {e}");
                Self::inline()
            }
        }
    }

    /// A thumbnailer that makes each batch on the caller's thread, when it is sent.
    pub fn inline() -> Self {
        Self {
            jobs: None,
            thread: None,
            batch: Vec::new(),
            packed: Vec::new(),
        }
    }

    /// Sends the pictures asked since the last send (once per frame, after the tiles).
    pub fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let batch = match &self.jobs {
            Some(jobs) => match jobs.try_send(batch) {
                Ok(()) => return,
                // The thread is behind: these go with the next batch.
                Err(mpsc::TrySendError::Full(batch)) => {
                    self.batch = batch;
                    return;
                }
                // The thread is gone (it panicked): make them here.
                Err(mpsc::TrySendError::Disconnected(batch)) => batch,
            },
            None => batch,
        };
        for job in batch {
            job.make(&mut self.packed);
        }
    }
}

impl Drop for Thumbnailer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A tile's picture: asked of the [`Thumbnailer`] a few times a second, uploaded when made.
#[derive(Default)]
pub struct Thumbnail {
    pub(super) texture: Option<TextureHandle>,
    /// The slot's update count the texture shows.
    seq: u64,
    /// The wall's tick it was last asked in, and the size asked for.
    asked: Option<u64>,
    bound: [u32; 2],
    /// The size made last, in pixels.
    output: [u32; 2],
    /// How the texture is sampled.
    options: Option<TextureOptions>,
    /// Where the picture asked for is left; `None` when none is on its way.
    coming: Option<Cell>,
    /// How many times it was made and uploaded.
    pub times_made: u64,
}

impl Thumbnail {
    /// Uploads the picture made since the last frame, if any, and asks for a new one, at
    /// most `bound` pixels, when the slot has a newer one (or the tile changed size): once
    /// per `tick` of the wall, every tile in the same batch ([`Thumbnailer`]). True when
    /// a picture is on its way or a newer one waits: the wall draws again at its next tick.
    pub fn update(
        &mut self,
        ui: &Ui,
        slot: &Arc<FrameSlot>,
        bound: [u32; 2],
        tick: u64,
        maker: &mut Thumbnailer,
    ) -> bool {
        if let Some(cell) = &self.coming {
            let handover = std::mem::take(&mut *lock(cell));
            match handover {
                Handover::Asked => return true,
                Handover::Made(image, seq) => self.upload(ui, image, seq),
                Handover::Nothing => {}
            }
            self.coming = None;
        }
        let bound = [
            bound[0].min(MAX_THUMBNAIL[0]),
            bound[1].min(MAX_THUMBNAIL[1]),
        ];
        let Some(size) = slot.size() else {
            return false;
        };
        let resized = fit(size, bound) != self.output;
        if self.texture.is_some() && slot.seq() == self.seq && !resized {
            return false;
        }
        if self.asked == Some(tick) {
            return true;
        }
        let cell = Cell::default();
        maker.batch.push(Job {
            slot: Arc::clone(slot),
            bound,
            out: Arc::clone(&cell),
        });
        self.coming = Some(cell);
        self.asked = Some(tick);
        self.bound = bound;
        true
    }

    fn upload(&mut self, ui: &Ui, image: ColorImage, seq: u64) {
        let size = [image.width() as u32, image.height() as u32];
        let options = sampling(size, self.bound);
        let same = self.output == size && self.options == Some(options);
        self.output = size;
        self.options = Some(options);
        self.seq = seq;
        self.times_made += 1;
        match &mut self.texture {
            // The same size: written over in place, not made anew.
            Some(t) if same => t.set_partial([0, 0], image, options),
            Some(t) => t.set(image, options),
            None => {
                let name = format!("lookout_tile_{seq}_{:p}", self);
                self.texture = Some(ui.ctx().load_texture(name, image, options));
            }
        }
    }
}

/// How a thumbnail of `size` pixels made for a tile of `bound` is sampled. It is made at
/// the tile's own size (it fills the tile across or down), so each of its pixels is one on
/// screen and the nearest is exact, and under software GL much cheaper than filtering
/// (measured: the wall's frames at 64 tasks drew in less time). A picture smaller than
/// its tile is stretched to it, smoothly.
fn sampling(size: [u32; 2], bound: [u32; 2]) -> TextureOptions {
    if size[0] < bound[0] && size[1] < bound[1] {
        TextureOptions::LINEAR
    } else {
        TextureOptions::NEAREST
    }
}

/// `fb` made `out` pixels (no larger than it) into `rgba`: each pixel the mean of eight
/// samples spread over the area it stands for. A glance, not a view: for a tile a
/// fifteenth of the work of averaging the whole area (the window's box filter), which for
/// a wall of tiles a few times a second is the difference between a little of a core and
/// all of it (measured: the box filter took the UI thread to 100 % with 16 tiles).
pub fn shrink(fb: &crate::core::frame::Framebuffer, out: [u32; 2], rgba: &mut Vec<u8>) {
    let [sw, sh] = [fb.width() as usize, fb.height() as usize];
    let [ow, oh] = [out[0] as usize, out[1] as usize];
    rgba.clear();
    if sw == 0 || sh == 0 || ow == 0 || oh == 0 {
        return;
    }
    // The sample at a quarter and three quarters across each output pixel's area.
    let at = |o: usize, len: usize, n: usize, q: usize| ((4 * o + q) * len / (4 * n)).min(len - 1);
    // Each sample is a pair of neighbouring pixels across, so that lines one pixel wide
    // (text, borders) count as they should.
    let xs: Vec<[usize; 4]> = (0..ow)
        .map(|x| {
            // The source columns of this output pixel's area: the quarter sample pairs
            // with its right neighbour, the three-quarter one with its left, inside it.
            let first = x * sw / ow;
            let last = ((x + 1) * sw / ow).clamp(first + 1, sw) - 1;
            let (q1, q3) = (at(x, sw, ow, 1), at(x, sw, ow, 3));
            [q1, (q1 + 1).min(last), q3.saturating_sub(1).max(first), q3].map(|c| c * 4)
        })
        .collect();
    let px = fb.pixels();
    let row = sw * 4;
    rgba.resize(ow * oh * 4, 255);
    for (y, out) in rgba.chunks_exact_mut(ow * 4).enumerate() {
        let (a, b) = (at(y, sh, oh, 1) * row, at(y, sh, oh, 3) * row);
        let (ra, rb) = (&px[a..a + row], &px[b..b + row]);
        for (o, &[x0, x1, x2, x3]) in out.chunks_exact_mut(4).zip(&xs) {
            for c in 0..3 {
                let at = |r: &[u8], x: usize| u32::from(r[x + c]);
                let sum = at(ra, x0)
                    + at(ra, x1)
                    + at(ra, x2)
                    + at(ra, x3)
                    + at(rb, x0)
                    + at(rb, x1)
                    + at(rb, x2)
                    + at(rb, x3);
                o[c] = ((sum + 4) / 8) as u8;
            }
        }
    }
}

/// `source` made to fit in `bound`, keeping its shape; never larger than it is.
pub fn fit(source: [u32; 2], bound: [u32; 2]) -> [u32; 2] {
    let [w, h] = source;
    if w == 0 || h == 0 {
        return [0, 0];
    }
    let scale = (f64::from(bound[0]) / f64::from(w))
        .min(f64::from(bound[1]) / f64::from(h))
        .min(1.0);
    [
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::frame::{Framebuffer, Rect};

    /// A slot holding a `w`×`h` picture of one colour.
    fn slot_of(w: u32, h: u32, rgba: [u8; 4]) -> Arc<FrameSlot> {
        let slot = Arc::new(FrameSlot::new());
        publish(&slot, w, h, rgba);
        slot
    }

    fn publish(slot: &FrameSlot, w: u32, h: u32, rgba: [u8; 4]) {
        let mut fb = Framebuffer::new(w, h).unwrap();
        fb.fill_rect(Rect::new(0, 0, w, h), rgba).unwrap();
        slot.publish(&fb, &[fb.full_rect()]);
    }

    /// One frame of the wall for one tile: `update`, then the batch sent.
    fn frame(
        ctx: &egui::Context,
        thumb: &mut Thumbnail,
        slot: &Arc<FrameSlot>,
        bound: [u32; 2],
        tick: u64,
        maker: &mut Thumbnailer,
    ) -> bool {
        let mut stale = false;
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            stale = thumb.update(ui, slot, bound, tick, maker);
        });
        maker.send();
        // The tile's uploads this frame: where each is written (`None`: made anew).
        let uploads: Vec<_> = out
            .textures_delta
            .set
            .iter()
            .filter(|(id, _)| Some(**id) == thumb.texture.as_ref().map(|t| t.id()))
            .flat_map(|(_, deltas)| deltas.iter().map(|d| d.pos))
            .collect();
        out.textures_delta.clear();
        LAST_UPLOADS.with(|u| *u.borrow_mut() = uploads);
        stale
    }

    thread_local! {
        static LAST_UPLOADS: std::cell::RefCell<Vec<Option<[usize; 2]>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }

    fn last_uploads() -> Vec<Option<[usize; 2]>> {
        LAST_UPLOADS.with(|u| u.borrow().clone())
    }

    #[test]
    fn a_picture_asked_at_one_tick_is_uploaded_at_the_next_and_asked_again_only_when_new() {
        let ctx = egui::Context::default();
        let mut maker = Thumbnailer::inline();
        let slot = slot_of(640, 360, [10, 200, 30, 255]);
        let mut thumb = Thumbnail::default();
        // Asked (and, inline, made) at tick 1; on its way until the next frame.
        assert!(frame(&ctx, &mut thumb, &slot, [320, 180], 1, &mut maker));
        assert!(thumb.texture.is_none());
        // The next frame uploads it: the tile's size, nothing more to do.
        assert!(!frame(&ctx, &mut thumb, &slot, [320, 180], 2, &mut maker));
        assert_eq!(thumb.times_made, 1);
        assert_eq!(thumb.texture.as_ref().unwrap().size(), [320, 180]);
        assert_eq!(last_uploads(), [None]);
        assert!(!frame(&ctx, &mut thumb, &slot, [320, 180], 3, &mut maker));
        assert_eq!(
            thumb.times_made, 1,
            "an unchanged picture is not made again"
        );
        // A new picture is asked for once per tick: twice in one tick waits for the next.
        publish(&slot, 640, 360, [0, 0, 0, 255]);
        assert!(frame(&ctx, &mut thumb, &slot, [320, 180], 4, &mut maker));
        assert!(!frame(&ctx, &mut thumb, &slot, [320, 180], 4, &mut maker));
        assert_eq!(thumb.times_made, 2);
        assert_eq!(
            last_uploads(),
            [Some([0, 0])],
            "the same size is written in place"
        );
        publish(&slot, 640, 360, [1, 1, 1, 255]);
        assert!(frame(&ctx, &mut thumb, &slot, [320, 180], 4, &mut maker));
        assert_eq!(thumb.times_made, 2, "not twice in one tick");
        // A tile made larger asks again, with no new picture.
        assert!(frame(&ctx, &mut thumb, &slot, [480, 270], 5, &mut maker));
        assert!(!frame(&ctx, &mut thumb, &slot, [480, 270], 6, &mut maker));
        assert_eq!(thumb.texture.as_ref().unwrap().size(), [480, 270]);
        assert_eq!(last_uploads(), [None], "a new size is a new texture");
        // No picture yet: nothing asked.
        let empty = Arc::new(FrameSlot::new());
        let mut none = Thumbnail::default();
        assert!(!frame(&ctx, &mut none, &empty, [320, 180], 1, &mut maker));
        assert!(maker.batch.is_empty() && none.coming.is_none());
    }

    #[test]
    fn the_thread_makes_what_the_window_would() {
        let slot = slot_of(64, 36, [200, 100, 50, 255]);
        let mut threaded = Thumbnailer::start();
        let cell = Cell::default();
        threaded.batch.push(Job {
            slot: Arc::clone(&slot),
            bound: [32, 18],
            out: Arc::clone(&cell),
        });
        threaded.send();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let image = loop {
            if let Handover::Made(image, seq) = std::mem::take(&mut *lock(&cell)) {
                assert_eq!(seq, slot.seq());
                break image;
            }
            assert!(std::time::Instant::now() < deadline, "never made");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(image.size, [32, 18]);
        assert!(
            image
                .pixels
                .iter()
                .all(|p| *p == egui::Color32::from_rgb(200, 100, 50))
        );
        drop(threaded); // joins its thread
    }

    #[test]
    fn a_thumbnail_is_sampled_pixel_for_pixel_unless_stretched() {
        assert_eq!(sampling([320, 180], [320, 200]), TextureOptions::NEAREST);
        assert_eq!(sampling([300, 200], [320, 200]), TextureOptions::NEAREST);
        assert_eq!(sampling([200, 100], [320, 200]), TextureOptions::LINEAR);
    }

    #[test]
    fn a_thumbnail_averages_what_each_pixel_stands_for() {
        let mut fb = crate::core::frame::Framebuffer::new(8, 4).unwrap();
        fb.fill_rect(crate::core::frame::Rect::new(0, 0, 4, 4), [200, 0, 0, 255])
            .unwrap();
        fb.fill_rect(crate::core::frame::Rect::new(4, 0, 4, 4), [0, 0, 100, 255])
            .unwrap();
        let mut out = Vec::new();
        shrink(&fb, [2, 1], &mut out);
        assert_eq!(out, [200, 0, 0, 255, 0, 0, 100, 255]);
        // Fine stripes come out as their mean.
        for x in 0..8 {
            let v = if x % 2 == 0 { 0 } else { 200 };
            fb.fill_rect(crate::core::frame::Rect::new(x, 0, 1, 4), [v, v, v, 255])
                .unwrap();
        }
        shrink(&fb, [2, 2], &mut out);
        assert!(out.chunks(4).all(|p| p == [100, 100, 100, 255]), "{out:?}");
        // Its own size: the picture as it is.
        shrink(&fb, [8, 4], &mut out);
        assert_eq!(
            out,
            fb.pixels()
                .chunks(4)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn fit_keeps_the_shape_and_never_enlarges() {
        assert_eq!(fit([1920, 1080], [480, 270]), [480, 270]);
        assert_eq!(fit([1280, 1024], [480, 270]), [338, 270]);
        assert_eq!(fit([320, 240], [480, 270]), [320, 240]);
        assert_eq!(fit([0, 10], [480, 270]), [0, 0]);
    }
}
