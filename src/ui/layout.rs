//! Picture geometry: where the remote picture goes inside the view, at what scale, which
//! texture filter keeps it sharp, and which remote pixel is under the pointer. Pure
//! functions of sizes, used each frame by [`stream_view`](super::stream_view) to lay the
//! picture out and by [`picture`](super::picture) to choose how its texture holds it.
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

    /// The remote pixel under the point `pos` (in points), the inverse of
    /// [`to_view`](Self::to_view); see [`remote_pixel`].
    pub fn to_remote(
        &self,
        image_px: [u32; 2],
        pos: Pos2,
        pixels_per_point: f32,
    ) -> Option<[u32; 2]> {
        remote_pixel(self.rect, image_px, pos, pixels_per_point)
    }

    /// The picture's drawn size in physical pixels when that is smaller than the picture
    /// (`pixel_scale` below 1), as the renderer rounds it; `None` at 1:1 or larger.
    pub fn downscaled_px(&self, pixels_per_point: f32) -> Option<[u32; 2]> {
        let size = self.rect.size() * pixels_per_point;
        let px = [size.x.round(), size.y.round()];
        (self.pixel_scale < 1.0 && px.iter().all(|&v| v >= 1.0)).then(|| px.map(|v| v as u32))
    }
}

/// The remote pixel shown under the point `pos`, for a picture `image_px` big drawn in
/// `rect` (points; in 1:1 mode scrolled, it may start at negative coordinates), on a screen
/// with `pixels_per_point` physical pixels per point. `None` outside the picture (the
/// letterbox bars, beyond a scrolled edge) or when nothing is drawn.
///
/// The pointer sits on one physical pixel; the answer is the remote pixel drawn at that
/// pixel's centre, so a click lands where the operator sees it at any scale, letterboxing
/// or HiDPI factor. The result is always inside the picture: the last column is `w - 1`.
pub fn remote_pixel(
    rect: Rect,
    image_px: [u32; 2],
    pos: Pos2,
    pixels_per_point: f32,
) -> Option<[u32; 2]> {
    let [w, h] = image_px;
    let values = [
        rect.min.x,
        rect.min.y,
        rect.max.x,
        rect.max.y,
        pos.x,
        pos.y,
        pixels_per_point,
    ];
    if w == 0 || h == 0 || values.iter().any(|v| !v.is_finite()) || pixels_per_point <= 0.0 {
        return None;
    }
    // Half-open: the right and bottom edges belong to what lies beyond.
    let inside = |p: f32, min: f32, max: f32| min < max && (min..max).contains(&p);
    if !inside(pos.x, rect.min.x, rect.max.x) || !inside(pos.y, rect.min.y, rect.max.y) {
        return None;
    }
    let axis = |p: f32, min: f32, len: f32, n: u32| {
        // In physical pixels: the centre of the pixel the pointer is on, from the
        // picture's edge, scaled to remote pixels. Pointers sit on whole physical pixels
        // that reach us divided by `pixels_per_point` (66.666664 for pixel 100 at 1.5):
        // the nudge undoes that rounding before `floor`.
        let ppp = f64::from(pixels_per_point);
        let centre_px = (f64::from(p) * ppp + 1e-3).floor() + 0.5;
        let offset_px = centre_px - f64::from(min) * ppp;
        let remote = offset_px * f64::from(n) / (f64::from(len) * ppp);
        // Float error (or a picture edge off the pixel grid) never leaves the picture.
        remote.floor().clamp(0.0, f64::from(n - 1)) as u32
    };
    Some([
        axis(pos.x, rect.min.x, rect.width(), w),
        axis(pos.y, rect.min.y, rect.height(), h),
    ])
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

    /// A picture at an offset with a given size in points.
    fn placed(x: f32, y: f32, w: f32, h: f32) -> Placement {
        Placement {
            rect: Rect::from_min_size(pos2(x, y), vec2(w, h)),
            pixel_scale: 1.0,
        }
    }

    #[test]
    fn to_remote_scales_down_and_up() {
        // 1920×1080 fitted to 960 points wide at 1 px/pt: two remote pixels per point.
        let p = fit(area(960.0, 1000.0), [1920, 1080], 1.0);
        assert_eq!(
            p.to_remote([1920, 1080], pos2(0.0, 230.0), 1.0),
            Some([1, 1])
        );
        assert_eq!(
            p.to_remote([1920, 1080], pos2(100.0, 280.0), 1.0),
            Some([201, 101])
        );
        assert_eq!(
            p.to_remote([1920, 1080], pos2(100.9, 280.2), 1.0),
            Some([201, 101])
        );
        // 100×100 drawn 300 points wide: three points per remote pixel.
        let up = placed(0.0, 0.0, 300.0, 300.0);
        assert_eq!(up.to_remote([100, 100], pos2(2.9, 0.0), 1.0), Some([0, 0]));
        assert_eq!(up.to_remote([100, 100], pos2(3.0, 5.99), 1.0), Some([1, 1]));
        assert_eq!(
            up.to_remote([100, 100], pos2(299.5, 150.0), 1.0),
            Some([99, 50])
        );
    }

    #[test]
    fn to_remote_is_none_in_the_letterbox_and_outside() {
        let p = fit(area(960.0, 1000.0), [1920, 1080], 1.0);
        let img = [1920, 1080];
        // Bars above and below the picture (it spans y 230..770).
        assert_eq!(p.to_remote(img, pos2(480.0, 229.9), 1.0), None);
        assert_eq!(p.to_remote(img, pos2(480.0, 770.0), 1.0), None);
        assert_eq!(p.to_remote(img, pos2(480.0, 10.0), 1.0), None);
        assert_eq!(p.to_remote(img, pos2(-0.1, 400.0), 1.0), None);
        assert_eq!(p.to_remote(img, pos2(960.0, 400.0), 1.0), None);
        assert_eq!(p.to_remote(img, pos2(f32::NAN, 400.0), 1.0), None);
        // Nothing drawn, or nothing to map to.
        assert_eq!(
            placed(0.0, 0.0, 0.0, 0.0).to_remote(img, pos2(0.0, 0.0), 1.0),
            None
        );
        assert_eq!(
            placed(0.0, 0.0, 10.0, 10.0).to_remote([0, 10], pos2(1.0, 1.0), 1.0),
            None
        );
        assert_eq!(
            placed(0.0, 0.0, 10.0, 10.0).to_remote(img, pos2(1.0, 1.0), 0.0),
            None
        );
        // Pillarbox: a tall picture centred in a wide view.
        let tall = fit(area(1000.0, 500.0), [800, 1000], 1.0);
        assert_eq!(tall.to_remote([800, 1000], pos2(299.0, 250.0), 1.0), None);
        assert_eq!(tall.to_remote([800, 1000], pos2(700.0, 250.0), 1.0), None);
        assert_eq!(
            tall.to_remote([800, 1000], pos2(300.0, 0.0), 1.0),
            Some([1, 1])
        );
    }

    #[test]
    fn to_remote_edges_map_to_the_first_and_last_pixel() {
        let img = [1920, 1080];
        for (view, ppp) in [
            ((960.0, 1000.0), 1.0),
            ((960.0, 1000.0), 2.0),
            ((1237.0, 811.0), 1.5),
        ] {
            let p = fit(area(view.0, view.1), img, ppp);
            let last = p.rect.max - vec2(1e-3, 1e-3);
            assert_eq!(
                p.to_remote(img, p.rect.min, ppp)
                    .map(|[x, y]| x <= 2 && y <= 2),
                Some(true)
            );
            assert_eq!(
                p.to_remote(img, last, ppp),
                Some([1919, 1079]),
                "{view:?} at {ppp}"
            );
            assert_eq!(p.to_remote(img, p.rect.max, ppp), None);
        }
        // 1:1: the last point of the picture is the last pixel, never w.
        let p = one_to_one(area(800.0, 600.0), [640, 480], 1.0);
        assert_eq!(
            p.to_remote([640, 480], p.rect.max - vec2(0.5, 0.5), 1.0),
            Some([639, 479])
        );
        assert_eq!(p.to_remote([640, 480], p.rect.min, 1.0), Some([0, 0]));
    }

    #[test]
    fn to_remote_on_hidpi_picks_the_pixel_under_the_physical_pointer() {
        // 1:1 at 2 px/pt: a point covers two remote pixels; half-points pick between them.
        let p = one_to_one(area(2000.0, 1000.0), [1920, 1080], 2.0);
        assert_eq!(p.rect.min, pos2(520.0, 230.0));
        let img = [1920, 1080];
        assert_eq!(p.to_remote(img, pos2(520.0, 230.0), 2.0), Some([0, 0]));
        assert_eq!(p.to_remote(img, pos2(520.5, 230.5), 2.0), Some([1, 1]));
        assert_eq!(p.to_remote(img, pos2(521.0, 230.0), 2.0), Some([2, 0]));
        assert_eq!(p.to_remote(img, pos2(1000.0, 500.0), 2.0), Some([960, 540]));
        // At 1.5 px/pt physical pixel n is at n/1.5 points: remote pixel n.
        let p = one_to_one(area(1280.0, 720.0), img, 1.5);
        assert_eq!(p.rect.min, pos2(0.0, 0.0));
        for n in [0u32, 1, 2, 3, 100, 1919] {
            let pos = pos2(n as f32 / 1.5, 0.0);
            assert_eq!(
                p.to_remote(img, pos, 1.5),
                Some([n, 0]),
                "physical pixel {n}"
            );
        }
        // Fit at 1.5 px/pt: 1920 remote pixels over 960 physical ones, two per pixel.
        let p = fit(area(640.0, 360.0), img, 1.5);
        assert_eq!(p.pixel_scale, 0.5);
        assert_eq!(p.to_remote(img, pos2(10.0 / 1.5, 0.0), 1.5), Some([21, 1]));
    }

    #[test]
    fn to_remote_follows_a_scrolled_one_to_one_picture() {
        // Scrolled right by 300.25 points and down by 100: the picture starts off-screen.
        let p = placed(-300.25, -100.0, 1920.0, 1080.0);
        let img = [1920, 1080];
        assert_eq!(p.to_remote(img, pos2(0.0, 0.0), 1.0), Some([300, 100]));
        assert_eq!(p.to_remote(img, pos2(0.5, 0.0), 1.0), Some([300, 100]));
        assert_eq!(p.to_remote(img, pos2(1.0, 0.0), 1.0), Some([301, 100]));
        assert_eq!(
            p.to_remote(img, pos2(1619.0, 979.0), 1.0),
            Some([1919, 1079])
        );
        assert_eq!(p.to_remote(img, pos2(1620.0, 0.0), 1.0), None);
        // The same scroll on a HiDPI screen.
        let p = placed(-150.0, -50.0, 960.0, 540.0);
        assert_eq!(p.to_remote(img, pos2(0.0, 0.0), 2.0), Some([300, 100]));
        assert_eq!(p.to_remote(img, pos2(0.5, 0.0), 2.0), Some([301, 100]));
    }

    #[test]
    fn to_remote_inverts_to_view() {
        let img = [1280, 720];
        for ppp in [1.0, 1.5, 2.0] {
            let p = fit(area(1000.0, 800.0), img, ppp);
            for (x, y) in [(0u32, 0u32), (17, 33), (640, 360), (1279, 719)] {
                // The centre of remote pixel (x, y), snapped to the physical pixel under it.
                let c = p.to_view(img, x as f32 + 0.5, y as f32 + 0.5);
                let snapped = pos2((c.x * ppp).floor() / ppp, (c.y * ppp).floor() / ppp);
                let got = p.to_remote(img, snapped, ppp).unwrap();
                assert!(
                    got[0].abs_diff(x) <= 1 && got[1].abs_diff(y) <= 1,
                    "{x},{y} at {ppp}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn filter_choice() {
        assert_eq!(texture_options(1.0), TextureOptions::NEAREST);
        assert_eq!(texture_options(2.0), TextureOptions::NEAREST);
        assert_eq!(texture_options(0.75), TextureOptions::LINEAR);
        assert_eq!(texture_options(1.5), TextureOptions::LINEAR);
    }

    #[test]
    fn downscaled_size_is_the_drawn_size_in_physical_pixels() {
        // 1920×1080 into 1280×776 points at 1 px/pt: 2/3 scale, 1280×720 pixels.
        let area = Rect::from_min_size(pos2(0.0, 24.0), vec2(1280.0, 776.0));
        let p = fit(area, [1920, 1080], 1.0);
        assert_eq!(p.downscaled_px(1.0), Some([1280, 720]));
        // The same picture on a 2 px/pt screen fills 1280×720 points = 2560×1440 pixels:
        // larger than the picture, so no resampling.
        let p = fit(area, [1920, 1080], 2.0);
        assert_eq!(p.downscaled_px(2.0), None);
        // 640×388 points at 2 px/pt: 1280×720 pixels again.
        let small = Rect::from_min_size(pos2(0.0, 0.0), vec2(640.0, 388.0));
        let p = fit(small, [1920, 1080], 2.0);
        assert_eq!(p.downscaled_px(2.0), Some([1280, 720]));
        // 1:1 is never resampled.
        assert_eq!(one_to_one(area, [1920, 1080], 1.0).downscaled_px(1.0), None);
    }

    #[test]
    fn scale_mode_toggles() {
        assert_eq!(ScaleMode::default(), ScaleMode::Fit);
        assert_eq!(ScaleMode::Fit.toggled(), ScaleMode::OneToOne);
        assert_eq!(ScaleMode::OneToOne.toggled().label(), "Fit");
    }
}
