//! Picture geometry: where the remote picture goes inside the view, at what scale, and
//! which texture filter keeps it sharp. Pure functions of sizes, used by
//! [`stream_view`](super::stream_view) each frame.
//!
//! Sizes come in remote pixels; egui lays out in points, and one point is
//! `pixels_per_point` physical pixels. Rectangles are snapped to the physical pixel grid so
//! a 1:1 picture maps each remote pixel onto exactly one screen pixel.

use egui::{Pos2, Rect, TextureOptions, Vec2, pos2, vec2};

/// How the remote picture is sized in the view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScaleMode {
    /// Scaled to fill the view with its aspect ratio kept, centred, letterboxed.
    #[default]
    Fit,
    /// One remote pixel per physical screen pixel; scrolls when larger than the view.
    OneToOne,
}

impl ScaleMode {
    /// The other mode.
    pub fn toggled(self) -> Self {
        match self {
            ScaleMode::Fit => ScaleMode::OneToOne,
            ScaleMode::OneToOne => ScaleMode::Fit,
        }
    }

    /// The button text.
    pub fn label(self) -> &'static str {
        match self {
            ScaleMode::Fit => "Fit",
            ScaleMode::OneToOne => "1:1",
        }
    }
}

/// Where the picture is drawn and how much it is scaled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// The picture's rectangle in points.
    pub rect: Rect,
    /// Physical screen pixels per remote pixel (1.0 in 1:1 mode).
    pub pixel_scale: f32,
}

impl Placement {
    /// The point in the view showing remote pixel (`x`, `y`) of a picture `image_px` big.
    pub fn to_view(&self, image_px: [u32; 2], x: f32, y: f32) -> Pos2 {
        let [w, h] = image_px.map(|v| v.max(1) as f32);
        self.rect.min + vec2(x * self.rect.width() / w, y * self.rect.height() / h)
    }
}

/// The picture scaled to fit `avail`, keeping its aspect ratio, centred (letterboxed).
pub fn fit(avail: Rect, image_px: [u32; 2], pixels_per_point: f32) -> Placement {
    let [w, h] = image_px.map(|v| v.max(1) as f32);
    let scale = (avail.width() / w).min(avail.height() / h).max(0.0);
    let size = vec2(w, h) * scale;
    let min = snap(avail.center() - size / 2.0, pixels_per_point);
    Placement {
        rect: Rect::from_min_size(min, size),
        pixel_scale: scale * pixels_per_point,
    }
}

/// The size in points of the picture at one remote pixel per physical pixel.
pub fn one_to_one_size(image_px: [u32; 2], pixels_per_point: f32) -> Vec2 {
    let ppp = pixels_per_point.max(f32::MIN_POSITIVE);
    vec2(image_px[0] as f32, image_px[1] as f32) / ppp
}

/// The picture at 1:1 inside `area` (the scrollable content): centred when smaller, from the
/// top-left corner otherwise.
pub fn one_to_one(area: Rect, image_px: [u32; 2], pixels_per_point: f32) -> Placement {
    let size = one_to_one_size(image_px, pixels_per_point);
    let slack = (area.size() - size).max(Vec2::ZERO);
    let min = snap(area.min + slack / 2.0, pixels_per_point);
    Placement {
        rect: Rect::from_min_size(min, size),
        pixel_scale: 1.0,
    }
}

/// Nearest filtering when each remote pixel covers a whole number of screen pixels (crisp),
/// linear otherwise (smooth when scaling down or by a fraction).
pub fn texture_options(pixel_scale: f32) -> TextureOptions {
    let integral = pixel_scale >= 1.0 && (pixel_scale - pixel_scale.round()).abs() < 1e-3;
    if integral {
        TextureOptions::NEAREST
    } else {
        TextureOptions::LINEAR
    }
}

/// Rounds a position to the physical pixel grid.
fn snap(p: Pos2, pixels_per_point: f32) -> Pos2 {
    let ppp = pixels_per_point.max(f32::MIN_POSITIVE);
    pos2((p.x * ppp).round() / ppp, (p.y * ppp).round() / ppp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(w: f32, h: f32) -> Rect {
        Rect::from_min_size(pos2(0.0, 0.0), vec2(w, h))
    }

    #[test]
    fn fit_letterboxes_a_wide_picture_vertically() {
        // 1920×1080 into 960×1000 points: width-limited, scale 0.5, bars above and below.
        let p = fit(area(960.0, 1000.0), [1920, 1080], 1.0);
        assert_eq!(p.rect.size(), vec2(960.0, 540.0));
        assert_eq!(p.rect.min, pos2(0.0, 230.0));
        assert_eq!(p.pixel_scale, 0.5);
        assert_eq!(texture_options(p.pixel_scale), TextureOptions::LINEAR);
    }

    #[test]
    fn fit_pillarboxes_a_tall_picture_and_keeps_aspect() {
        let p = fit(area(1000.0, 500.0), [800, 1000], 1.0);
        assert_eq!(p.rect.size(), vec2(400.0, 500.0));
        assert_eq!(p.rect.min, pos2(300.0, 0.0));
        let aspect = p.rect.width() / p.rect.height();
        assert!((aspect - 0.8).abs() < 1e-6);
    }

    #[test]
    fn fit_snaps_to_physical_pixels_and_upscales() {
        // 100×100 into 301×300 points at 2 px/pt: scale 3 pt/px = 6 screen px per remote px.
        let p = fit(
            Rect::from_min_size(pos2(0.3, 0.0), vec2(301.0, 300.0)),
            [100, 100],
            2.0,
        );
        assert_eq!(p.pixel_scale, 6.0);
        assert_eq!(texture_options(p.pixel_scale), TextureOptions::NEAREST);
        let min_px = p.rect.min.to_vec2() * 2.0;
        assert_eq!(min_px, min_px.round(), "origin on the pixel grid");
    }

    #[test]
    fn fit_survives_an_empty_view() {
        let p = fit(area(0.0, 0.0), [640, 480], 1.0);
        assert_eq!(p.rect.size(), Vec2::ZERO);
        assert_eq!(p.pixel_scale, 0.0);
    }

    #[test]
    fn one_to_one_is_one_screen_pixel_per_remote_pixel_on_hidpi() {
        assert_eq!(one_to_one_size([1920, 1080], 2.0), vec2(960.0, 540.0));
        assert_eq!(one_to_one_size([1920, 1080], 1.0), vec2(1920.0, 1080.0));
        let p = one_to_one(area(2000.0, 1000.0), [1920, 1080], 2.0);
        assert_eq!(p.pixel_scale, 1.0);
        assert_eq!(p.rect.size(), vec2(960.0, 540.0));
        // Centred in the spare room, on the pixel grid.
        assert_eq!(p.rect.min, pos2(520.0, 230.0));
        assert_eq!(texture_options(p.pixel_scale), TextureOptions::NEAREST);
    }

    #[test]
    fn one_to_one_larger_than_view_starts_top_left() {
        let p = one_to_one(area(800.0, 600.0), [1920, 1080], 1.0);
        assert_eq!(p.rect.min, pos2(0.0, 0.0));
        assert_eq!(p.rect.size(), vec2(1920.0, 1080.0));
    }

    #[test]
    fn to_view_maps_remote_pixels_into_the_rect() {
        let p = fit(area(960.0, 1000.0), [1920, 1080], 1.0);
        assert_eq!(p.to_view([1920, 1080], 0.0, 0.0), pos2(0.0, 230.0));
        assert_eq!(p.to_view([1920, 1080], 1920.0, 1080.0), p.rect.max);
        assert_eq!(p.to_view([1920, 1080], 100.0, 50.0), pos2(50.0, 255.0));
    }

    #[test]
    fn filter_choice() {
        assert_eq!(texture_options(1.0), TextureOptions::NEAREST);
        assert_eq!(texture_options(2.0), TextureOptions::NEAREST);
        assert_eq!(texture_options(0.75), TextureOptions::LINEAR);
        assert_eq!(texture_options(1.5), TextureOptions::LINEAR);
    }

    #[test]
    fn scale_mode_toggles() {
        assert_eq!(ScaleMode::default(), ScaleMode::Fit);
        assert_eq!(ScaleMode::Fit.toggled(), ScaleMode::OneToOne);
        assert_eq!(ScaleMode::OneToOne.toggled().label(), "Fit");
    }
}
