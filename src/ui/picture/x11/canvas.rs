//! The X11 backend's canvas: the picture as the child window shows it, at the shown size,
//! BGRA, with the remote cursor drawn over it, and the rectangles of it to send.
//!
//! The presenter thread ([`super::present`]) brings it up to date from each [`FrameView`]:
//! the whole picture on a new size or placement, else only the output rectangles the dirty
//! ones cover, made by the one downscale ([`crate::ui::picture::resample`]); then it sends
//! what changed to a [`Sink`]: the X window ([`super::window`]), or a test's record.

use super::present::PresentError;
use super::window::ShmImage;
use crate::core::frame::{FrameView, Framebuffer, Rect, join_neighbours};
use crate::ui::picture::cursor::Composited;
use crate::ui::picture::resample::Downscale;

/// The memory a canvas is drawn in: our own, or shared with the X server.
pub(super) enum Pixels {
    Heap(Vec<u8>),
    Shared(ShmImage),
}

impl Default for Pixels {
    fn default() -> Self {
        Pixels::Heap(Vec::new())
    }
}

impl Pixels {
    pub(super) fn is_shared(&self) -> bool {
        matches!(self, Pixels::Shared(_))
    }
}

impl std::ops::Deref for Pixels {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Pixels::Heap(v) => v,
            Pixels::Shared(s) => s.bytes(),
        }
    }
}

impl std::ops::DerefMut for Pixels {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Pixels::Heap(v) => v,
            Pixels::Shared(s) => s.bytes_mut(),
        }
    }
}

/// Where pixels go: the X window, or a test's record.
pub(super) trait Sink {
    /// Zeroed memory for a canvas of `len` bytes: shared with the X server where it can be.
    fn pixels(&mut self, len: usize) -> Pixels {
        Pixels::Heap(vec![0; len])
    }

    /// Shows the rectangles `rects` (inside it) of `image`, a BGRA picture of `size` pixels.
    fn put(&mut self, rects: &[Rect], image: &Pixels, size: [u32; 2]) -> Result<(), PresentError>;
}

/// The picture as shown: at the output size, BGRA, with the remote cursor drawn over it.
#[derive(Default)]
pub(super) struct Canvas {
    /// The shown size; zero until placed.
    output: [u32; 2],
    /// From the source picture's size the canvas was last filled from to `output`.
    downscale: Downscale,
    /// `output` pixels, BGRA, rows packed.
    pixels: Pixels,
    /// False until the canvas holds a whole picture at `output` size.
    filled: bool,
    cursor: Composited,
    /// Reused list of the output rectangles an update changes.
    outputs: Vec<Rect>,
}

impl Canvas {
    /// Takes `pixels` (zeroed, `output` pixels of BGRA) to draw in at the `output` size.
    pub(super) fn set_output(&mut self, output: [u32; 2], pixels: Pixels) {
        self.output = output;
        self.pixels = pixels;
        self.filled = false;
        self.cursor.forget_canvas();
    }

    /// The shown size; zero until placed.
    pub(super) fn output(&self) -> [u32; 2] {
        self.output
    }

    pub(super) fn needs_full(&self) -> bool {
        !self.filled
    }

    /// Brings the canvas up to date with `view` and lists the output rectangles to send.
    pub(super) fn update(&mut self, view: &FrameView<'_>, send: &mut Vec<Rect>) {
        let fb = view.frame;
        let source = [fb.width(), fb.height()];
        let stride = self.output[0] as usize * 4;
        let old_cursor = self.cursor.take_off(&mut self.pixels, stride);
        self.cursor.follow(view);
        if source != self.downscale.source_size() || !self.filled || view.resized {
            self.downscale = Downscale::new(source, self.output);
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
        outputs.extend(
            view.dirty
                .iter()
                .filter_map(|r| self.downscale.output_rect(fb, *r)),
        );
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
        self.downscale
            .output_rect(fb, r)
            .is_some_and(|out| self.draw_output(fb, out, send))
    }

    /// Computes the output rectangle `out` from `fb` into the canvas and lists it to send.
    fn draw_output(&mut self, fb: &Framebuffer, out: Rect, send: &mut Vec<Rect>) -> bool {
        let stride = self.output[0] as usize * 4;
        let drawn = self.downscale.draw_into(fb, out, &mut self.pixels, stride);
        if drawn {
            send.push(out);
        }
        drawn
    }

    /// Draws the cursor over the canvas ([`Composited::put_on`]); returns where it is.
    /// Nothing while the canvas is not filled.
    fn put_cursor_on(&mut self) -> Option<Rect> {
        if !self.filled {
            return None;
        }
        let source = self.downscale.source_size();
        self.cursor.put_on(&mut self.pixels, source, self.output)
    }

    /// Sends the listed output rectangles (clipped to the output).
    pub(super) fn send(&mut self, rects: &[Rect], sink: &mut dyn Sink) -> Result<(), PresentError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::frame::{CursorShape, FrameSlot};

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
