//! The default backend: the picture in an egui texture, which egui's painter draws and the
//! GPU scales.
//!
//! [`super::Picture`] decides what to upload: the whole picture with
//! [`EguiTexture::set_whole`] (the first picture, a new size, other filtering), then each
//! dirty rectangle with [`EguiTexture::set_rect`]. egui hands the pixels to its renderer
//! (glow or wgpu) at the end of the frame, or to the test renderer in UI tests, which all
//! draw with this backend.

use egui::{Color32, ColorImage, Context, Painter, Rect, TextureHandle, TextureOptions};

use super::FULL_UV;
use crate::core::frame::{self, Framebuffer};

/// The picture as an egui texture.
pub struct EguiTexture(TextureHandle);

impl EguiTexture {
    /// A texture holding the whole of `fb`.
    pub fn new(ctx: &Context, fb: &Framebuffer, options: TextureOptions) -> Self {
        let image = color_image(fb, fb.full_rect());
        Self(ctx.load_texture("lookout-picture", image, options))
    }

    /// Replaces the whole picture, and the filtering.
    pub fn set_whole(&mut self, fb: &Framebuffer, options: TextureOptions) {
        self.0.set(color_image(fb, fb.full_rect()), options);
    }

    /// Replaces the area `r` (inside `fb`, which has the texture's size).
    pub fn set_rect(&mut self, fb: &Framebuffer, r: frame::Rect, options: TextureOptions) {
        let pos = [r.x as usize, r.y as usize];
        self.0.set_partial(pos, color_image(fb, r), options);
    }

    /// Draws the whole texture to fill `rect` (in points).
    pub fn paint(&self, painter: &Painter, rect: Rect) {
        painter.image(self.0.id(), rect, FULL_UV, Color32::WHITE);
    }
}

/// The pixels of `r` (inside `fb`) as an egui image, in one pass.
fn color_image(fb: &Framebuffer, r: frame::Rect) -> ColorImage {
    let mut pixels = Vec::with_capacity(r.area() as usize);
    for dy in 0..r.h {
        // Alpha is always 255 in a Framebuffer, so premultiplied and straight agree.
        pixels.extend(
            fb.row(r, dy)
                .chunks_exact(4)
                .map(|p| Color32::from_rgba_premultiplied(p[0], p[1], p[2], p[3])),
        );
    }
    ColorImage::new([r.w as usize, r.h as usize], pixels)
}
