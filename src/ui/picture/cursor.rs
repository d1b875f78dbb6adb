//! The remote cursor over the picture: where its image lies, and the two ways it is drawn.
//!
//! A remote sends its cursor's image and hotspot (RFB's Cursor pseudo-encoding) and, some,
//! where its pointer is; the [`FrameSlot`](crate::core::frame::FrameSlot) hands both on with
//! the pictures. The cursor is drawn here, over the picture: at the remote's pointer, or in
//! control at the operator's (the server does not echo it back). [`Bounds`] is where its
//! image lies in the picture's pixels, the pointer less the hotspot, whatever draws it:
//!
//! - in the window (the texture and GL backends, and the X11 one while it falls back),
//!   [`CursorTexture`] has egui's painter draw the image over the picture, scaled with it
//!   and clipped to it;
//! - the X11 backend's child window lies over everything egui draws, so [`Composited`]
//!   blends the image into that backend's canvas (nearest-neighbour, scaled like the
//!   picture, clipped to it) and keeps the picture it covers, to put back when it moves.

use egui::{Color32, Context, Painter, TextureHandle, TextureOptions};

use super::FULL_UV;
use crate::core::frame::{CursorShape, FrameView, Rect};
use crate::ui::layout::Placement;

/// Where the cursor's image lies over the picture, in the picture's pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// The image's top-left corner: the pointer less the hotspot (negative when the
    /// pointer is nearer the picture's edge than the hotspot is to the image's).
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Bounds {
    /// For an image of `size` pixels with its hotspot at `hotspot`, at the pointer `at`.
    pub fn new(size: [u32; 2], hotspot: [u32; 2], at: (u32, u32)) -> Self {
        Self {
            left: f64::from(at.0) - f64::from(hotspot[0]),
            top: f64::from(at.1) - f64::from(hotspot[1]),
            width: f64::from(size[0]),
            height: f64::from(size[1]),
        }
    }

    /// Where the image is drawn in the view, in points, over a picture `image_px` big drawn
    /// at `placement` (not clipped: the painter clips to the picture).
    pub fn in_view(&self, placement: &Placement, image_px: [u32; 2]) -> egui::Rect {
        let min = placement.to_view(image_px, self.left as f32, self.top as f32);
        let max = placement.to_view(
            image_px,
            (self.left + self.width) as f32,
            (self.top + self.height) as f32,
        );
        egui::Rect::from_min_max(min, max)
    }

    /// The whole output pixels the image touches when a `source` picture is shown at
    /// `output` pixels, clipped to the output; `None` when none are left.
    pub fn output_rect(&self, source: [u32; 2], output: [u32; 2]) -> Option<Rect> {
        let [sw, sh] = source.map(|v| f64::from(v.max(1)));
        let [ow, oh] = output.map(f64::from);
        let (fx, fy) = (ow / sw, oh / sh);
        let left = self.left * fx;
        let top = self.top * fy;
        let right = left + self.width * fx;
        let bottom = top + self.height * fy;
        let x0 = left.floor().max(0.0);
        let y0 = top.floor().max(0.0);
        let x1 = right.ceil().min(ow);
        let y1 = bottom.ceil().min(oh);
        (x1 > x0 && y1 > y0)
            .then(|| Rect::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
    }
}

/// The cursor as an egui texture, which egui's painter draws over the picture.
pub struct CursorTexture {
    texture: TextureHandle,
    size: [u32; 2],
    hotspot: [u32; 2],
}

impl CursorTexture {
    /// The cursor `c` as a texture; `None` (hidden) if its shape is empty or inconsistent,
    /// or larger than `max_side`, the GPU's largest texture.
    pub fn new(ctx: &Context, c: &CursorShape, max_side: usize) -> Option<Self> {
        let (w, h) = (c.width as usize, c.height as usize);
        let fits = w > 0 && h > 0 && w <= max_side && h <= max_side;
        if !fits || c.rgba.len() != w * h * 4 {
            return None;
        }
        let image = egui::ColorImage::from_rgba_unmultiplied([w, h], &c.rgba);
        Some(Self {
            texture: ctx.load_texture("lookout-cursor", image, TextureOptions::LINEAR),
            size: [c.width, c.height],
            hotspot: [c.hotspot_x, c.hotspot_y],
        })
    }

    /// Draws the cursor with its hotspot on the remote pixel `at` of a picture `image_px`
    /// big drawn at `placement`, clipped to the picture.
    pub fn paint(
        &self,
        painter: &Painter,
        placement: &Placement,
        image_px: [u32; 2],
        at: (u32, u32),
    ) {
        let rect = Bounds::new(self.size, self.hotspot, at).in_view(placement, image_px);
        painter.with_clip_rect(placement.rect).image(
            self.texture.id(),
            rect,
            FULL_UV,
            Color32::WHITE,
        );
    }
}

/// The cursor blended into a canvas (BGRA, packed rows) that shows the picture at some
/// output size, and the picture it covers there.
#[derive(Debug, Default)]
pub struct Composited {
    shape: Option<CursorShape>,
    /// The remote pointer, in source pixels.
    pointer: Option<(u32, u32)>,
    /// Where the cursor is drawn in the canvas, and the picture under it (packed rows).
    under: Option<(Rect, Vec<u8>)>,
}

impl Composited {
    /// Follows the cursor image (when it changed) and the pointer that `view` brings.
    pub fn follow(&mut self, view: &FrameView<'_>) {
        if let Some(cursor) = view.cursor {
            self.shape = cursor.cloned();
        }
        self.pointer = view.pointer;
    }

    /// Forgets what the cursor covered: the canvas was replaced.
    pub fn forget_canvas(&mut self) {
        self.under = None;
    }

    /// Puts the picture the drawn cursor covered back into `canvas`, whose rows are
    /// `stride` bytes apart; returns where the cursor was.
    pub fn take_off(&mut self, canvas: &mut [u8], stride: usize) -> Option<Rect> {
        let (r, saved) = self.under.take()?;
        let row = r.w as usize * 4;
        for (dy, src) in saved.chunks_exact(row).enumerate() {
            let start = (r.y as usize + dy) * stride + r.x as usize * 4;
            canvas[start..start + row].copy_from_slice(src);
        }
        Some(r)
    }

    /// Draws the cursor over `canvas`, which shows a `source` picture at `output` pixels,
    /// each output pixel taking the cursor pixel at its centre (nearest-neighbour, scaled
    /// like the picture); keeps the picture under it and returns where it is.
    pub fn put_on(
        &mut self,
        canvas: &mut [u8],
        source: [u32; 2],
        output: [u32; 2],
    ) -> Option<Rect> {
        let (shape, at) = (self.shape.as_ref()?, self.pointer?);
        let bounds = Bounds::new(
            [shape.width, shape.height],
            [shape.hotspot_x, shape.hotspot_y],
            at,
        );
        let c = bounds.output_rect(source, output)?;
        let stride = output[0] as usize * 4;
        let row = c.w as usize * 4;
        let mut saved = Vec::with_capacity(row * c.h as usize);
        for y in c.y..c.bottom() {
            let start = y as usize * stride + c.x as usize * 4;
            saved.extend_from_slice(&canvas[start..start + row]);
        }
        let [sw, sh] = source.map(|v| f64::from(v.max(1)));
        let [ow, oh] = output.map(f64::from);
        let (fx, fy) = (sw / ow, sh / oh);
        let cw = shape.width as usize;
        for y in c.y..c.bottom() {
            // The cursor pixel at this output pixel's centre.
            let cy = ((f64::from(y) + 0.5) * fy - bounds.top).floor();
            if cy < 0.0 || cy >= bounds.height {
                continue;
            }
            for x in c.x..c.right() {
                let cx = ((f64::from(x) + 0.5) * fx - bounds.left).floor();
                if cx < 0.0 || cx >= bounds.width {
                    continue;
                }
                let i = (cy as usize * cw + cx as usize) * 4;
                let Some(&[cr, cg, cb, a]) = shape.rgba.get(i..i + 4) else {
                    continue;
                };
                let o = y as usize * stride + x as usize * 4;
                let px = &mut canvas[o..o + 4];
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
}

#[cfg(test)]
mod tests {
    use egui::{pos2, vec2};

    use super::*;

    #[test]
    fn the_window_and_the_canvas_put_the_cursor_in_one_place() {
        // A 200×100 picture shown at 100×50 pixels, one pixel per point, from (0, 0); a
        // 4×4 cursor with its hotspot at (1, 1) on remote pixel (50, 50).
        let placement = Placement {
            rect: egui::Rect::from_min_size(pos2(0.0, 0.0), vec2(100.0, 50.0)),
            pixel_scale: 0.5,
        };
        let b = Bounds::new([4, 4], [1, 1], (50, 50));
        assert_eq!((b.left, b.top, b.width, b.height), (49.0, 49.0, 4.0, 4.0));
        let drawn = b.in_view(&placement, [200, 100]);
        assert_eq!(
            drawn,
            egui::Rect::from_min_max(pos2(24.5, 24.5), pos2(26.5, 26.5))
        );
        // The canvas touches the whole pixels the drawn image covers.
        assert_eq!(
            b.output_rect([200, 100], [100, 50]),
            Some(Rect::new(24, 24, 3, 3))
        );
    }

    #[test]
    fn the_cursor_is_clipped_to_the_picture() {
        // Hotspot (3, 3) at the top-left pixel: only the image's last column and row show.
        let b = Bounds::new([4, 4], [3, 3], (0, 0));
        assert_eq!(
            b.output_rect([100, 100], [100, 100]),
            Some(Rect::new(0, 0, 1, 1))
        );
        // Past the bottom-right corner nothing is left.
        let b = Bounds::new([4, 4], [0, 0], (100, 100));
        assert_eq!(b.output_rect([100, 100], [100, 100]), None);
    }

    #[test]
    fn a_blended_cursor_comes_off_leaving_the_picture() {
        let (source, output) = ([10, 10], [10, 10]);
        let picture: Vec<u8> = (0..10 * 10 * 4).map(|i| (i % 251) as u8).collect();
        let mut canvas = picture.clone();
        // 2×1: an opaque red pixel, then a half-transparent white one.
        let mut c = Composited {
            shape: Some(CursorShape {
                width: 2,
                height: 1,
                hotspot_x: 0,
                hotspot_y: 0,
                rgba: vec![255, 0, 0, 255, 255, 255, 255, 128],
            }),
            pointer: Some((3, 4)),
            under: None,
        };
        assert_eq!(
            c.put_on(&mut canvas, source, output),
            Some(Rect::new(3, 4, 2, 1))
        );
        let at = |x: usize, y: usize| (y * 10 + x) * 4;
        assert_eq!(
            canvas[at(3, 4)..at(3, 4) + 4],
            [0, 0, 255, 255],
            "red, in BGRA"
        );
        let under = &picture[at(4, 4)..at(4, 4) + 3];
        let blended: Vec<u8> = under
            .iter()
            .map(|&p| ((255 * 128 + u32::from(p) * 127 + 127) / 255) as u8)
            .collect();
        assert_eq!(canvas[at(4, 4)..at(4, 4) + 3], blended[..]);
        assert_eq!(c.take_off(&mut canvas, 40), Some(Rect::new(3, 4, 2, 1)));
        assert_eq!(canvas, picture);
        assert_eq!(c.take_off(&mut canvas, 40), None);
    }

    #[test]
    fn inconsistent_or_oversized_cursors_are_hidden() {
        let ctx = Context::default();
        let shape = |width, height, len| CursorShape {
            width,
            height,
            hotspot_x: 0,
            hotspot_y: 0,
            rgba: vec![255; len],
        };
        assert!(CursorTexture::new(&ctx, &shape(2, 2, 16), 64).is_some());
        assert!(CursorTexture::new(&ctx, &shape(2, 2, 15), 64).is_none());
        assert!(CursorTexture::new(&ctx, &shape(0, 2, 0), 64).is_none());
        assert!(CursorTexture::new(&ctx, &shape(65, 1, 65 * 4), 64).is_none());
    }
}
