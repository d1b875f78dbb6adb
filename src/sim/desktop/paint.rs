//! Drawing primitives for the synthetic desktop: filled boxes, outlines, 8×8 bitmap text
//! (font8x8, scaled), procedural "photos" and the arrow cursor. Every call draws only
//! inside the painter's clip rectangle, so repainting one dirty area touches nothing else.
//! Coordinates are signed: page content scrolled above the viewport has negative `y`.

use crate::core::frame::{CursorShape, Framebuffer, Rect};

pub(super) type Rgb = [u8; 3];

/// Draws into `fb`, never outside `clip` (which lies inside `fb`).
pub(super) struct Painter<'a> {
    fb: &'a mut Framebuffer,
    clip: Rect,
}

/// A signed rectangle for drawing; converted to a clipped [`Rect`] at the last moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Area {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Area {
    pub const fn new(x: i32, y: i32, w: i32, h: i32) -> Self {
        Self { x, y, w, h }
    }

    pub fn from_rect(r: Rect) -> Self {
        Self::new(r.x as i32, r.y as i32, r.w as i32, r.h as i32)
    }

    /// The part inside `bound`, as an unsigned rectangle (empty when they do not meet).
    pub fn clip_to(&self, bound: Rect) -> Rect {
        let x0 = i64::from(self.x).max(i64::from(bound.x));
        let y0 = i64::from(self.y).max(i64::from(bound.y));
        let x1 = (i64::from(self.x) + i64::from(self.w)).min(i64::from(bound.right()));
        let y1 = (i64::from(self.y) + i64::from(self.h)).min(i64::from(bound.bottom()));
        if x1 <= x0 || y1 <= y0 {
            Rect::default()
        } else {
            Rect::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
        }
    }
}

/// Glyph width and height of the font before scaling.
pub(super) const GLYPH: i32 = 8;

impl<'a> Painter<'a> {
    /// A painter for `clip` (clipped again to the framebuffer).
    pub fn new(fb: &'a mut Framebuffer, clip: Rect) -> Self {
        let clip = Area::from_rect(clip).clip_to(fb.full_rect());
        Self { fb, clip }
    }

    /// Narrows the clip for the duration of `f`.
    pub fn with_clip(&mut self, area: Area, f: impl FnOnce(&mut Painter<'_>)) {
        let clip = area.clip_to(self.clip);
        if !clip.is_empty() {
            f(&mut Painter { fb: self.fb, clip });
        }
    }

    pub fn touches(&self, a: Area) -> bool {
        !a.clip_to(self.clip).is_empty()
    }

    pub fn fill(&mut self, a: Area, c: Rgb) {
        let r = a.clip_to(self.clip);
        if r.is_empty() {
            return;
        }
        let px = [c[0], c[1], c[2], 255];
        for dy in 0..r.h {
            for p in self.fb.row_mut(r, dy).chunks_exact_mut(4) {
                p.copy_from_slice(&px);
            }
        }
    }

    /// A `t`-pixel frame just inside `a`.
    pub fn outline(&mut self, a: Area, t: i32, c: Rgb) {
        self.fill(Area::new(a.x, a.y, a.w, t), c);
        self.fill(Area::new(a.x, a.y + a.h - t, a.w, t), c);
        self.fill(Area::new(a.x, a.y, t, a.h), c);
        self.fill(Area::new(a.x + a.w - t, a.y, t, a.h), c);
    }

    /// Text with its top-left at (`x`, `y`): ASCII and Latin-1; other characters draw as '?'.
    pub fn text(&mut self, x: i32, y: i32, scale: i32, c: Rgb, s: &str) {
        let cell = GLYPH * scale;
        if !self.touches(Area::new(x, y, cell * s.len() as i32, cell)) {
            return;
        }
        for (i, ch) in s.chars().enumerate() {
            let gx = x + i as i32 * cell;
            if !self.touches(Area::new(gx, y, cell, cell)) {
                continue;
            }
            let glyph = match u32::from(ch) {
                code @ 0..=0x7f => font8x8::legacy::BASIC_LEGACY[code as usize],
                code @ 0xa0..=0xff => font8x8::legacy::LATIN_LEGACY[(code - 0xa0) as usize],
                _ => font8x8::legacy::BASIC_LEGACY['?' as usize],
            };
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits >> col & 1 == 1 {
                        let a = Area::new(gx + col * scale, y + row as i32 * scale, scale, scale);
                        self.fill(a, c);
                    }
                }
            }
        }
    }

    /// A ring of thickness `t` and outer radius `r` around (`cx`, `cy`).
    pub fn ring(&mut self, cx: i32, cy: i32, r: i32, t: i32, c: Rgb) {
        let area = ring_area(cx, cy, r);
        let clipped = area.clip_to(self.clip);
        let (outer, inner) = (r * r, (r - t).max(0).pow(2));
        for dy in 0..clipped.h {
            let y = clipped.y as i32 + dy as i32 - cy;
            let row = self.fb.row_mut(clipped, dy);
            for (dx, p) in row.chunks_exact_mut(4).enumerate() {
                let x = clipped.x as i32 + dx as i32 - cx;
                let d2 = x * x + y * y;
                if (inner..=outer).contains(&d2) {
                    p[..3].copy_from_slice(&c);
                }
            }
        }
    }

    /// A procedural picture: smooth gradients, a "sun" and soft stripes, seeded by `seed`.
    /// Pixel colours depend only on the position inside `a`, so scrolling does not change them.
    pub fn photo(&mut self, a: Area, seed: u32) {
        let r = a.clip_to(self.clip);
        if r.is_empty() {
            return;
        }
        let (w, h) = (a.w.max(1), a.h.max(1));
        let (sun_x, sun_y) = (w * (2 + (seed % 5) as i32) / 8, h / 3);
        let sun_r2 = (h / 5).pow(2);
        let hue = seed.wrapping_mul(73) % 256;
        for dy in 0..r.h {
            let v = r.y as i32 + dy as i32 - a.y;
            let row = self.fb.row_mut(r, dy);
            for (dx, p) in row.chunks_exact_mut(4).enumerate() {
                let u = r.x as i32 + dx as i32 - a.x;
                let d2 = (u - sun_x).pow(2) + (v - sun_y).pow(2);
                let rgb = if d2 < sun_r2 {
                    [250, 220 - (d2 * 40 / sun_r2.max(1)) as u8, 120]
                } else if v > h * 2 / 3 + ((u * 7 + seed as i32 * 13) % 23) - 11 {
                    let g = 90 + (u * 60 / w) as u32 + ((u / 9 + v / 5) % 3) as u32 * 6;
                    [(40 + hue / 4) as u8, g as u8, 60]
                } else {
                    let t = (v * 255 / h) as u32;
                    [
                        ((hue + t / 3) % 256) as u8,
                        (120 + t / 4) as u8,
                        (255 - t / 3) as u8,
                    ]
                };
                p[..3].copy_from_slice(&rgb);
                p[3] = 255;
            }
        }
    }

    /// Draws `shape` with its hotspot at (`x`, `y`), blending on alpha (which is 0 or 255).
    pub fn cursor(&mut self, shape: &CursorShape, x: i32, y: i32) {
        let a = cursor_area(shape, x, y);
        let r = a.clip_to(self.clip);
        for dy in 0..r.h {
            let sy = (r.y as i32 - a.y) as usize + dy as usize;
            let sx0 = (r.x as i32 - a.x) as usize;
            let src = &shape.rgba[(sy * shape.width as usize + sx0) * 4..][..r.w as usize * 4];
            for (p, s) in self
                .fb
                .row_mut(r, dy)
                .chunks_exact_mut(4)
                .zip(src.chunks_exact(4))
            {
                if s[3] >= 128 {
                    p[..3].copy_from_slice(&s[..3]);
                }
            }
        }
    }
}

/// The square a ring of radius `r` around (`cx`, `cy`) covers.
pub(super) fn ring_area(cx: i32, cy: i32, r: i32) -> Area {
    Area::new(cx - r, cy - r, 2 * r + 1, 2 * r + 1)
}

/// The screen area the cursor covers with its hotspot at (`x`, `y`).
pub(super) fn cursor_area(shape: &CursorShape, x: i32, y: i32) -> Area {
    Area::new(
        x - shape.hotspot_x as i32,
        y - shape.hotspot_y as i32,
        shape.width as i32,
        shape.height as i32,
    )
}

/// The classic arrow: black outline, white inside, hotspot at the tip.
pub fn arrow_cursor() -> CursorShape {
    const ART: [&str; 19] = [
        "X           ",
        "XX          ",
        "XoX         ",
        "XooX        ",
        "XoooX       ",
        "XooooX      ",
        "XoooooX     ",
        "XooooooX    ",
        "XoooooooX   ",
        "XooooooooX  ",
        "XoooooooooX ",
        "XooooooXXXXX",
        "XoooXooX    ",
        "XooX XooX   ",
        "XoX  XooX   ",
        "XX    XooX  ",
        "X     XooX  ",
        "       XooX ",
        "        XX  ",
    ];
    let rgba = ART
        .iter()
        .flat_map(|row| row.chars())
        .flat_map(|c| match c {
            'X' => [0, 0, 0, 255],
            'o' => [255, 255, 255, 255],
            _ => [0, 0, 0, 0],
        })
        .collect();
    CursorShape {
        width: 12,
        height: 19,
        hotspot_x: 0,
        hotspot_y: 0,
        rgba,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn drawing_never_leaves_the_clip() {
        let mut fb = Framebuffer::new(64, 64).unwrap();
        let clip = Rect::new(10, 10, 20, 20);
        let mut p = Painter::new(&mut fb, clip);
        p.fill(Area::new(-100, -100, 400, 400), [255, 0, 0]);
        p.text(-5, 12, 2, [0, 255, 0], "Hello");
        p.photo(Area::new(0, -30, 64, 100), 3);
        p.cursor(&arrow_cursor(), 25, 25);
        for y in 0..64u32 {
            for x in 0..64u32 {
                let i = ((y * 64 + x) * 4) as usize;
                let inside = (10..30).contains(&x) && (10..30).contains(&y);
                let black = fb.pixels()[i..i + 3] == [0, 0, 0];
                assert!(inside || black, "pixel {x},{y} drawn outside the clip");
            }
        }
    }

    #[test]
    fn text_uses_the_font_bitmap() {
        let mut fb = Framebuffer::new(16, 16).unwrap();
        let full = fb.full_rect();
        Painter::new(&mut fb, full).text(0, 0, 2, [255, 255, 255], "I");
        let lit = fb.pixels().chunks(4).filter(|p| p[0] == 255).count();
        let bits: u32 = font8x8::legacy::BASIC_LEGACY['I' as usize]
            .iter()
            .map(|b| b.count_ones())
            .sum();
        assert_eq!(lit as u32, bits * 4);
    }

    #[test]
    fn arrow_cursor_has_consistent_size() {
        let c = arrow_cursor();
        assert_eq!(c.rgba.len(), (c.width * c.height * 4) as usize);
    }
}
