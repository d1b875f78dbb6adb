//! The one downscale: the remote picture made into BGRA at the size it is shown, never
//! larger than it is, one changed rectangle at a time.
//!
//! Both fast paths keep their copy of the picture this way: the GL texture
//! ([`super::gl`]) and the X11 canvas ([`super::x11`]). For each rectangle the source
//! changed, [`Downscale::output_rect`] says which output pixels show it, and
//! [`Downscale::draw`] (packed rows, for a texture upload) or [`Downscale::draw_into`] (in
//! place in an image of the output size, the X11 canvas) computes them: averaged down by a
//! box filter ([`Resampler`], `box_filter.rs`) when the picture is shown smaller, or with
//! only red and blue swapped (`bgra.rs`) when it is shown at its own size. The egui texture
//! ([`super::texture`]) holds the picture as it is and lets the GPU scale it.

mod bgra;
mod box_filter;

pub use box_filter::{Resampler, Scratch};

use crate::core::frame::{Framebuffer, Rect};

/// Pictures of one size made into BGRA at one size no larger.
#[derive(Debug)]
pub struct Downscale {
    source: [u32; 2],
    output: [u32; 2],
    /// Set when the output is smaller than the source (and not empty).
    resampler: Option<Resampler>,
    scratch: Scratch,
}

impl Default for Downscale {
    fn default() -> Self {
        Self::new([0, 0], [0, 0])
    }
}

impl Downscale {
    /// From pictures of `source` pixels to `output` pixels. An output larger than the
    /// source on either axis, or empty, is never drawn.
    pub fn new(source: [u32; 2], output: [u32; 2]) -> Self {
        let resampler = (source != output)
            .then(|| Resampler::new(source, output))
            .flatten();
        Self {
            source,
            output,
            resampler,
            scratch: Scratch::default(),
        }
    }

    pub fn source_size(&self) -> [u32; 2] {
        self.source
    }

    pub fn output_size(&self) -> [u32; 2] {
        self.output
    }

    /// True when pictures are averaged down, not only byte-swapped.
    pub fn is_resampled(&self) -> bool {
        self.resampler.is_some()
    }

    /// The output pixels that show the rectangle `r` of `fb`, if any do.
    pub fn output_rect(&self, fb: &Framebuffer, r: Rect) -> Option<Rect> {
        if r.is_empty() || fb.check_rect(r).is_err() {
            return None;
        }
        match &self.resampler {
            Some(resampler) => Some(resampler.output_rect(r)).filter(|out| !out.is_empty()),
            None if [fb.width(), fb.height()] == self.output => Some(r),
            None => None,
        }
    }

    /// Computes the output rectangle `out` from `fb` and writes it to `packed` as packed
    /// BGRA rows. False, writing nothing, when `fb` is not of the source size or `out` lies
    /// outside the output.
    pub fn draw(&mut self, fb: &Framebuffer, out: Rect, packed: &mut Vec<u8>) -> bool {
        match &self.resampler {
            Some(resampler) => resampler.resample_bgra(fb, out, &mut self.scratch, packed),
            None if [fb.width(), fb.height()] == self.output => {
                bgra::to_bgra(fb, out, packed);
                true
            }
            None => false,
        }
    }

    /// Computes the output rectangle `out` from `fb` into `image`, a picture of the output
    /// size whose rows are `stride` bytes apart, at `out`'s own place. False, writing
    /// nothing, when `fb` is not of the source size.
    pub fn draw_into(
        &mut self,
        fb: &Framebuffer,
        out: Rect,
        image: &mut [u8],
        stride: usize,
    ) -> bool {
        match &self.resampler {
            Some(resampler) => {
                resampler.resample_bgra_into(fb, out, &mut self.scratch, image, stride)
            }
            None if [fb.width(), fb.height()] == self.output => {
                bgra::to_bgra_into(fb, out, image, stride);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture with detail in every channel.
    fn picture(w: u32, h: u32) -> Framebuffer {
        let mut px = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                px.extend_from_slice(&[(x * 7 + y) as u8, (x ^ y) as u8, (y * 3) as u8, 255]);
            }
        }
        Framebuffer::from_rgba(w, h, px).unwrap_or_else(|| panic!("{w}x{h} picture"))
    }

    #[test]
    fn smaller_output_is_the_box_filter_and_in_place_matches_packed() {
        let fb = picture(300, 200);
        let mut down = Downscale::new([300, 200], [200, 120]);
        assert!(down.is_resampled());
        let out = down
            .output_rect(&fb, Rect::new(30, 30, 60, 20))
            .unwrap_or_else(|| panic!("no output rectangle"));
        let resampler =
            Resampler::new([300, 200], [200, 120]).unwrap_or_else(|| panic!("resampler"));
        assert_eq!(out, resampler.output_rect(Rect::new(30, 30, 60, 20)));

        let mut packed = Vec::new();
        assert!(down.draw(&fb, out, &mut packed));
        let mut want = Vec::new();
        assert!(resampler.resample_bgra(&fb, out, &mut Scratch::default(), &mut want));
        assert_eq!(packed, want);

        let stride = 200 * 4;
        let mut image = vec![0; stride * 120];
        assert!(down.draw_into(&fb, out, &mut image, stride));
        let row = out.w as usize * 4;
        for (dy, packed_row) in packed.chunks_exact(row).enumerate() {
            let start = (out.y as usize + dy) * stride + out.x as usize * 4;
            assert_eq!(&image[start..start + row], packed_row, "row {dy}");
        }
    }

    #[test]
    fn same_size_only_swaps_red_and_blue() {
        let fb = picture(40, 30);
        let mut same = Downscale::new([40, 30], [40, 30]);
        assert!(!same.is_resampled());
        let r = Rect::new(5, 6, 7, 8);
        assert_eq!(same.output_rect(&fb, r), Some(r));
        let mut packed = Vec::new();
        assert!(same.draw(&fb, r, &mut packed));
        let want: Vec<u8> = (0..r.h)
            .flat_map(|dy| fb.row(r, dy).to_vec())
            .collect::<Vec<u8>>()
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0], p[3]])
            .collect();
        assert_eq!(packed, want);
    }

    #[test]
    fn nothing_is_drawn_larger_or_from_another_size() {
        let fb = picture(40, 30);
        let mut larger = Downscale::new([40, 30], [80, 60]);
        assert!(!larger.is_resampled());
        assert_eq!(larger.output_rect(&fb, fb.full_rect()), None);
        assert!(!larger.draw(&fb, Rect::new(0, 0, 4, 4), &mut Vec::new()));

        let other = picture(50, 30);
        let mut down = Downscale::new([40, 30], [20, 15]);
        assert!(!down.draw(&other, Rect::new(0, 0, 4, 4), &mut Vec::new()));
        let mut same = Downscale::new([40, 30], [40, 30]);
        assert_eq!(same.output_rect(&other, Rect::new(0, 0, 4, 4)), None);
        assert!(!same.draw_into(&other, Rect::new(0, 0, 4, 4), &mut [0; 40 * 30 * 4], 160));
        // Empty rectangles and rectangles outside the picture have no output.
        assert_eq!(down.output_rect(&fb, Rect::new(0, 0, 0, 4)), None);
        assert_eq!(down.output_rect(&fb, Rect::new(30, 20, 20, 20)), None);
    }
}
