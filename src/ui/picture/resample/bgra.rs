//! The picture at its own size, as the fast paths keep it: each rectangle's RGBA pixels
//! with red and blue swapped, into BGRA, the order Mesa's fast path and X11 images take
//! ([`super::Downscale`] at the same size).

use super::box_filter::{PREFETCH_AHEAD, prefetch};
use crate::core::frame::{Framebuffer, Rect};

/// Writes the pixels of `r` (inside `fb`) to `out` as packed BGRA rows.
pub(super) fn to_bgra(fb: &Framebuffer, r: Rect, out: &mut Vec<u8>) {
    let row_bytes = r.w as usize * 4;
    let needed = row_bytes * r.h as usize;
    // Grown, never cleared: every byte is written below.
    if out.len() < needed {
        out.resize(needed, 0);
    }
    out.truncate(needed);
    for (dy, dst_row) in (0..r.h).zip(out.chunks_exact_mut(row_bytes)) {
        swap_red_blue(fb.row(r, dy), dst_row);
    }
}

/// Writes the pixels of `r` (inside `fb`) as BGRA at the same place of `image`, a picture
/// of `fb`'s size whose rows are `stride` bytes apart. Writes nothing if `image` is too
/// small.
pub(super) fn to_bgra_into(fb: &Framebuffer, r: Rect, image: &mut [u8], stride: usize) {
    let row_bytes = r.w as usize * 4;
    let x = r.x as usize * 4;
    let fits = x + row_bytes <= stride
        && (r.bottom() as usize).saturating_sub(1) * stride + x + row_bytes <= image.len();
    if r.is_empty() || !fits {
        return;
    }
    // The rows were just written by another thread: ask for them a few rows ahead.
    for dy in 0..r.h.min(PREFETCH_AHEAD) {
        prefetch(fb.row(r, dy));
    }
    for dy in 0..r.h {
        if dy + PREFETCH_AHEAD < r.h {
            prefetch(fb.row(r, dy + PREFETCH_AHEAD));
            let ahead = (r.y + dy + PREFETCH_AHEAD) as usize * stride + x;
            prefetch(&image[ahead..ahead + row_bytes]);
        }
        let start = (r.y + dy) as usize * stride + x;
        swap_red_blue(fb.row(r, dy), &mut image[start..start + row_bytes]);
    }
}

/// RGBA pixels to BGRA: 16 bytes at a time with SSSE3 where the CPU has it (the compiler
/// does not vectorise the byte shuffle for baseline x86-64), else pixel by pixel.
#[inline]
fn swap_red_blue(src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len()) / 4 * 4;
    let (src, dst) = (&src[..n], &mut dst[..n]);
    #[cfg(target_arch = "x86_64")]
    let done = if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the CPU has SSSE3 (checked above).
        #[allow(unsafe_code)]
        unsafe {
            swap_red_blue_ssse3(src, dst)
        }
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (s, d) in src[done..]
        .chunks_exact(4)
        .zip(dst[done..].chunks_exact_mut(4))
    {
        d.copy_from_slice(&[s[2], s[1], s[0], s[3]]);
    }
}

/// [`swap_red_blue`] for whole 16-byte blocks; returns how many bytes it did.
///
/// # Safety
/// The CPU must support SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
#[allow(unsafe_code)]
unsafe fn swap_red_blue_ssse3(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm_setr_epi8, _mm_shuffle_epi8, _mm_storeu_si128,
    };
    let order = _mm_setr_epi8(2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15);
    let mut done = 0;
    for (s, d) in src.chunks_exact(16).zip(dst.chunks_exact_mut(16)) {
        // SAFETY: `s` and `d` are 16 bytes each, what the unaligned load and store touch.
        unsafe {
            let v = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
            _mm_storeu_si128(d.as_mut_ptr().cast::<__m128i>(), _mm_shuffle_epi8(v, order));
        }
        done += 16;
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_swap_matches_the_pixel_by_pixel_one() {
        // Lengths around the 16-byte blocks, so the tail is exercised too.
        for len in [0, 4, 12, 16, 20, 64, 68, 1020] {
            let src: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut fast = vec![0; len];
            swap_red_blue(&src, &mut fast);
            let slow: Vec<u8> = src
                .chunks_exact(4)
                .flat_map(|p| [p[2], p[1], p[0], p[3]])
                .collect();
            assert_eq!(fast, slow, "{len} bytes");
        }
    }

    #[test]
    fn bgra_rows_of_a_rectangle() {
        let mut fb = Framebuffer::new(3, 2).unwrap_or_else(|e| panic!("{e}"));
        for (i, px) in fb.pixels_mut().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[i as u8, 10 + i as u8, 20 + i as u8, 255]);
        }
        let mut out = vec![9; 100];
        to_bgra(&fb, Rect::new(1, 0, 2, 2), &mut out);
        assert_eq!(
            out,
            [
                21, 11, 1, 255, 22, 12, 2, 255, // row 0, pixels 1 and 2
                24, 14, 4, 255, 25, 15, 5, 255, // row 1, pixels 4 and 5
            ]
        );
    }
}
