//! Area-averaging downscale of the remote picture to the size it is shown at, one changed
//! rectangle at a time.
//!
//! A fitted 1080p picture in a laptop-sized window is drawn at about two thirds of its
//! size. Letting the GPU sample the whole picture on every repaint costs, under software GL
//! (llvmpipe), about as much as everything else the viewer does; and bilinear sampling below
//! half size skips pixels, so text shimmers. Instead the view keeps a texture at the size it
//! is drawn, fills each of its pixels with the average of the remote pixels it covers (a box
//! filter: exact for any scale, no aliasing), redoes only the pixels a changed rectangle
//! touches, and draws the texture 1:1, which llvmpipe does as a copy.
//!
//! Weights are 8-bit fixed point per axis (each axis's weights for one output pixel sum to
//! 256), so a pass is integer multiply-adds the compiler vectorises: a vertical pass over
//! the source rows an output row covers, then a horizontal one.

use crate::core::frame::{Framebuffer, Rect};

/// The sum of one output pixel's weights along one axis.
const ONE: u32 = 256;

/// For each output index along one axis: the source indices it covers and their weights.
#[derive(Clone, Debug, PartialEq)]
struct Axis {
    /// First source index of each output index.
    first: Vec<u32>,
    /// Where each output index's weights start in `weights`.
    offset: Vec<u32>,
    /// Number of weights of each output index.
    len: Vec<u32>,
    weights: Vec<u16>,
    /// The most weights any output index has.
    stride: usize,
    /// Every output index's weights padded with zeros to `stride`: fixed-size taps for the
    /// horizontal pass.
    padded: Vec<u16>,
    /// The padded weights two by two, `w[k] | w[k + 1] << 16`, `stride.div_ceil(2)` per
    /// output index (the second of an odd last pair is 0): for [`horizontal_madd`].
    pairs: Vec<u32>,
}

impl Axis {
    /// `src` source pixels onto `dst` output pixels, `0 < dst <= src`.
    fn new(src: u32, dst: u32) -> Self {
        let scale = f64::from(src) / f64::from(dst);
        let mut axis = Axis {
            first: Vec::with_capacity(dst as usize),
            offset: Vec::with_capacity(dst as usize),
            len: Vec::with_capacity(dst as usize),
            weights: Vec::with_capacity(dst as usize * (scale.ceil() as usize + 1)),
            stride: 0,
            padded: Vec::new(),
            pairs: Vec::new(),
        };
        for i in 0..dst {
            let a = f64::from(i) * scale;
            let b = (f64::from(i + 1) * scale).min(f64::from(src));
            let start = axis.weights.len();
            let mut first = None;
            // Weights by rounding the running sum, so they add up to exactly ONE and a flat
            // colour stays the same colour.
            let (mut covered, mut given) = (0.0, 0u32);
            for j in (a.floor() as u32)..(b.ceil() as u32).min(src) {
                covered += b.min(f64::from(j + 1)) - a.max(f64::from(j));
                let upto = ((covered / scale * f64::from(ONE)).round() as u32).min(ONE);
                let w = (upto - given) as u16;
                given = upto;
                if w == 0 && first.is_none() {
                    continue;
                }
                first.get_or_insert(j);
                axis.weights.push(w);
            }
            while axis.weights.len() > start + 1 && axis.weights.last() == Some(&0) {
                axis.weights.pop();
            }
            if let Some(last) = axis.weights[start..].last_mut() {
                *last += (ONE - given) as u16;
            }
            axis.first.push(first.unwrap_or(a.floor() as u32));
            axis.offset.push(start as u32);
            axis.len.push((axis.weights.len() - start) as u32);
        }
        axis.stride = axis.len.iter().copied().max().unwrap_or(1) as usize;
        let mut padded = vec![0; dst as usize * axis.stride];
        for (i, taps) in padded.chunks_exact_mut(axis.stride).enumerate() {
            let (_, w) = axis.taps(i as u32);
            taps[..w.len()].copy_from_slice(w);
        }
        axis.pairs = padded
            .chunks_exact(axis.stride)
            .flat_map(|taps| {
                taps.chunks(2)
                    .map(|p| u32::from(p[0]) | u32::from(p.get(1).copied().unwrap_or(0)) << 16)
            })
            .collect();
        axis.padded = padded;
        axis
    }

    /// How many weight pairs each output index has in `pairs`.
    fn pair_count(&self) -> usize {
        self.stride.div_ceil(2)
    }

    #[inline(always)]
    fn taps(&self, i: u32) -> (u32, &[u16]) {
        let i = i as usize;
        let start = self.offset[i] as usize;
        (
            self.first[i],
            &self.weights[start..start + self.len[i] as usize],
        )
    }

    /// The output indices whose source span meets `from..to`. Both ends of the spans grow
    /// with the output index, so two binary searches find them.
    fn covering(&self, from: u32, to: u32) -> (u32, u32) {
        let n = self.first.len();
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.end(mid) <= from {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let end = self.first.partition_point(|&f| f < to);
        (lo as u32, end.max(lo) as u32)
    }

    /// One past the last source index output `i` reads.
    #[inline(always)]
    fn end(&self, i: usize) -> u32 {
        self.first[i] + self.len[i]
    }
}

/// Downscales pictures of one size to one smaller size.
#[derive(Clone, Debug, PartialEq)]
pub struct Resampler {
    src: [u32; 2],
    dst: [u32; 2],
    x: Axis,
    y: Axis,
}

/// Reused working memory for [`Resampler::resample_bgra`].
#[derive(Debug, Default)]
pub struct Scratch {
    /// One output row's vertical sums, per channel, over the source columns it needs.
    columns: Vec<u16>,
}

impl Resampler {
    /// A resampler from `src` to `dst` pixels, if `dst` is no larger than `src` on either
    /// axis and neither is empty.
    pub fn new(src: [u32; 2], dst: [u32; 2]) -> Option<Self> {
        let fits = (0..2).all(|i| dst[i] > 0 && dst[i] <= src[i]);
        fits.then(|| Self {
            src,
            dst,
            x: Axis::new(src[0], dst[0]),
            y: Axis::new(src[1], dst[1]),
        })
    }

    pub fn source_size(&self) -> [u32; 2] {
        self.src
    }

    pub fn output_size(&self) -> [u32; 2] {
        self.dst
    }

    /// The output pixels that read any source pixel of `r` (clipped to the source).
    pub fn output_rect(&self, r: Rect) -> Rect {
        let right = r.right().min(self.src[0]);
        let bottom = r.bottom().min(self.src[1]);
        if r.x >= right || r.y >= bottom {
            return Rect::default();
        }
        let (x0, x1) = self.x.covering(r.x, right);
        let (y0, y1) = self.y.covering(r.y, bottom);
        Rect::new(x0, y0, x1 - x0, y1 - y0)
    }

    /// Writes the output pixels of `out_rect` (inside the output size), computed from `fb`
    /// (of the source size), to `out` as packed BGRA rows, alpha 255. Returns false, writing
    /// nothing, when the sizes do not match.
    pub fn resample_bgra(
        &self,
        fb: &Framebuffer,
        out_rect: Rect,
        scratch: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> bool {
        let row_bytes = out_rect.w as usize * 4;
        let needed = row_bytes * out_rect.h as usize;
        if out.len() < needed {
            out.resize(needed, 0);
        }
        out.truncate(needed);
        let packed = Rect::new(0, 0, out_rect.w, out_rect.h);
        self.resample_into(fb, out_rect, scratch, out, row_bytes, packed)
    }

    /// Like [`Resampler::resample_bgra`], but into an image of the output size: `image`,
    /// with rows `stride` bytes apart, at `out_rect`'s own place. Returns false, writing
    /// nothing, when the sizes do not match or `image` is too small.
    pub fn resample_bgra_into(
        &self,
        fb: &Framebuffer,
        out_rect: Rect,
        scratch: &mut Scratch,
        image: &mut [u8],
        stride: usize,
    ) -> bool {
        self.resample_into(fb, out_rect, scratch, image, stride, out_rect)
    }

    /// Computes the output pixels of `out_rect` and writes them at `at` (of the same size) of
    /// `image`, whose rows are `stride` bytes apart.
    fn resample_into(
        &self,
        fb: &Framebuffer,
        out_rect: Rect,
        scratch: &mut Scratch,
        image: &mut [u8],
        stride: usize,
        at: Rect,
    ) -> bool {
        let inside = out_rect.right() <= self.dst[0] && out_rect.bottom() <= self.dst[1];
        if [fb.width(), fb.height()] != self.src || !inside || out_rect.is_empty() {
            return false;
        }
        let row_bytes = out_rect.w as usize * 4;
        let fits = (at.x as usize * 4 + row_bytes) <= stride
            && (at.bottom() as usize - 1) * stride + at.x as usize * 4 + row_bytes <= image.len();
        if !fits {
            return false;
        }
        // Source columns this output rectangle reads.
        let (sx0, _) = self.x.taps(out_rect.x);
        let sx1 = self.x.end(out_rect.right() as usize - 1);
        let span = Rect::new(sx0, 0, sx1 - sx0, 1);
        let columns = &mut scratch.columns;
        let used = span.w as usize * 4;
        columns.clear();
        // Zeros past the end for the padded taps of the last outputs to read.
        columns.resize(used + self.x.stride * 4, 0);
        let pixels = fb.pixels();
        let src_stride = fb.width() as usize * 4;
        #[cfg(target_arch = "x86_64")]
        let sse41 = std::arch::is_x86_feature_detected!("sse4.1")
            && std::arch::is_x86_feature_detected!("ssse3");
        // The source rows of a changed rectangle were just written by another thread and
        // are seldom in this core's caches: ask for the rows of the output row PREFETCH_AHEAD
        // ahead while working on this one (and for the first rows up front).
        let prefetch_rows = |oy: u32| {
            if oy < out_rect.bottom() {
                let (sy, wy) = self.y.taps(oy);
                for k in 0..wy.len() {
                    let start = (sy as usize + k) * src_stride + sx0 as usize * 4;
                    prefetch(&pixels[start..start + used]);
                }
            }
        };
        for oy in out_rect.y..out_rect.y + PREFETCH_AHEAD {
            prefetch_rows(oy);
        }
        for (dy, oy) in (out_rect.y..out_rect.bottom()).enumerate() {
            prefetch_rows(oy + PREFETCH_AHEAD);
            // And the output row written then (the canvas is as large as the caches).
            let ahead = at.y as usize + dy + PREFETCH_AHEAD as usize;
            if ahead < at.bottom() as usize {
                let start = ahead * stride + at.x as usize * 4;
                prefetch(&image[start..start + row_bytes]);
            }
            let start = (at.y as usize + dy) * stride + at.x as usize * 4;
            let out_row = &mut image[start..start + row_bytes];
            let (sy, wy) = self.y.taps(oy);
            for (k, &w) in wy.iter().enumerate() {
                let start = (sy as usize + k) * src_stride + sx0 as usize * 4;
                let src = &pixels[start..start + used];
                if k == 0 {
                    for (c, &p) in columns.iter_mut().zip(src) {
                        *c = w * u16::from(p);
                    }
                } else {
                    for (c, &p) in columns.iter_mut().zip(src) {
                        *c += w * u16::from(p);
                    }
                }
            }
            let xs = out_rect.x as usize..out_rect.right() as usize;
            let firsts = &self.x.first[xs.clone()];
            let taps = self.x.stride;
            let weights = &self.x.padded[xs.start * taps..xs.end * taps];
            #[cfg(target_arch = "x86_64")]
            if sse41 {
                let n = self.x.pair_count();
                let pairs = &self.x.pairs[xs.start * n..xs.end * n];
                // SAFETY: the CPU has SSE4.1 and SSSE3 (checked above).
                #[allow(unsafe_code)]
                unsafe {
                    match n {
                        1 => horizontal_madd::<1>(firsts, pairs, columns, sx0, out_row),
                        2 => horizontal_madd::<2>(firsts, pairs, columns, sx0, out_row),
                        3 => horizontal_madd::<3>(firsts, pairs, columns, sx0, out_row),
                        _ => horizontal_sse41_any(firsts, weights, taps, columns, sx0, out_row),
                    }
                }
                continue;
            }
            match taps {
                1 => horizontal::<1>(firsts, weights, columns, sx0, out_row),
                2 => horizontal::<2>(firsts, weights, columns, sx0, out_row),
                3 => horizontal::<3>(firsts, weights, columns, sx0, out_row),
                4 => horizontal::<4>(firsts, weights, columns, sx0, out_row),
                5 => horizontal::<5>(firsts, weights, columns, sx0, out_row),
                6 => horizontal::<6>(firsts, weights, columns, sx0, out_row),
                _ => horizontal_any(firsts, weights, taps, columns, sx0, out_row),
            }
        }
        true
    }
}

/// How many output rows ahead the vertical pass prefetches source rows.
pub(super) const PREFETCH_AHEAD: u32 = 2;

/// Asks the CPU to bring `bytes` into its caches.
#[inline(always)]
pub(super) fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of baseline x86-64, and a prefetch never faults.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// Rounds a sum of `ONE`-weighted `ONE`-weighted samples back to 8 bits. Each axis's
/// weights sum to `ONE`, so the sum is at most 255 * ONE * ONE and the result fits.
#[inline(always)]
fn to_u8(v: u32) -> u8 {
    ((v + ONE * ONE / 2) / (ONE * ONE)) as u8
}

/// The horizontal pass with `N` taps per output pixel, unrolled: one output row from the
/// vertical sums of the columns from `sx0`.
#[inline(always)]
fn horizontal<const N: usize>(
    firsts: &[u32],
    weights: &[u16],
    columns: &[u16],
    sx0: u32,
    out_row: &mut [u8],
) {
    for ((&first, w), px) in firsts
        .iter()
        .zip(weights.chunks_exact(N))
        .zip(out_row.chunks_exact_mut(4))
    {
        let base = (first - sx0) as usize * 4;
        let c = &columns[base..base + N * 4];
        let mut acc = [0u32; 4];
        for k in 0..N {
            let w = u32::from(w[k]);
            for (a, &v) in acc.iter_mut().zip(&c[k * 4..k * 4 + 4]) {
                *a += w * u32::from(v);
            }
        }
        px.copy_from_slice(&[to_u8(acc[2]), to_u8(acc[1]), to_u8(acc[0]), 255]);
    }
}

/// [`horizontal`] for up to `2 * PAIRS` taps with SSE4.1, four output pixels at a time.
///
/// Each tap pair's column sums (16-bit, up to `255 * ONE`) are interleaved channel by
/// channel, in BGRA order, and multiplied by the pair's weights with `pmaddwd`, which adds
/// each channel's two products into 32 bits. `pmaddwd` is signed, so the sums are biased by
/// -32768 first; the weights of an output pixel add up to `ONE`, so the bias comes back as
/// the constant `32768 * ONE`, added with the rounding. The results equal [`horizontal`]'s.
///
/// # Safety
/// The CPU must support SSE4.1 and SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.1,ssse3")]
#[allow(unsafe_code)]
unsafe fn horizontal_madd<const PAIRS: usize>(
    firsts: &[u32],
    pairs: &[u32],
    columns: &[u16],
    sx0: u32,
    out_row: &mut [u8],
) {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_madd_epi16, _mm_or_si128, _mm_packus_epi16, _mm_packus_epi32,
        _mm_set1_epi16, _mm_set1_epi32, _mm_setr_epi8, _mm_shuffle_epi8, _mm_srli_epi32,
        _mm_storeu_si128, _mm_xor_si128,
    };
    let bias = _mm_set1_epi16(i16::MIN);
    let round = _mm_set1_epi32((32768 * ONE + ONE * ONE / 2) as i32);
    // Two taps' RGBA sums (u16 lanes r0 g0 b0 a0 r1 g1 b1 a1) to b0 b1 g0 g1 r0 r1 a0 a1.
    let interleave = _mm_setr_epi8(4, 5, 12, 13, 2, 3, 10, 11, 0, 1, 8, 9, 6, 7, 14, 15);
    let alpha = _mm_set1_epi32(0xff00_0000_u32 as i32);
    // One output pixel: four 32-bit channel results in BGRA order.
    let pixel = |i: usize| -> __m128i {
        let base = (firsts[i] - sx0) as usize * 4;
        let taps = &columns[base..base + PAIRS * 8];
        let weights = &pairs[i * PAIRS..i * PAIRS + PAIRS];
        let mut acc = round;
        for (k, &w) in weights.iter().enumerate() {
            // SAFETY: `taps` holds PAIRS * 8 u16, so 16 bytes from 8 * k are inside it.
            let c = unsafe { std::ptr::read_unaligned(taps.as_ptr().add(8 * k).cast::<__m128i>()) };
            let c = _mm_shuffle_epi8(_mm_xor_si128(c, bias), interleave);
            acc = _mm_add_epi32(acc, _mm_madd_epi16(c, _mm_set1_epi32(w as i32)));
        }
        _mm_srli_epi32(acc, 16)
    };
    let n = firsts.len().min(out_row.len() / 4);
    let mut i = 0;
    while i + 4 <= n {
        let lo = _mm_packus_epi32(pixel(i), pixel(i + 1));
        let hi = _mm_packus_epi32(pixel(i + 2), pixel(i + 3));
        let bgra = _mm_or_si128(_mm_packus_epi16(lo, hi), alpha);
        let out = &mut out_row[i * 4..i * 4 + 16];
        // SAFETY: `out` is 16 bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast::<__m128i>(), bgra) };
        i += 4;
    }
    while i < n {
        let v = _mm_packus_epi32(pixel(i), pixel(i));
        let bgra = _mm_or_si128(_mm_packus_epi16(v, v), alpha);
        let mut px = [0u8; 16];
        // SAFETY: `px` is 16 bytes.
        unsafe { _mm_storeu_si128(px.as_mut_ptr().cast::<__m128i>(), bgra) };
        out_row[i * 4..i * 4 + 4].copy_from_slice(&px[..4]);
        i += 1;
    }
}

/// The horizontal pass with SSE4.1 for any number of taps, one output pixel at a time
/// ([`pixel_sse41`]), for strong downscales; [`horizontal_madd`] does up to six taps.
///
/// # Safety
/// The CPU must support SSE4.1 and SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.1,ssse3")]
#[allow(unsafe_code)]
unsafe fn horizontal_sse41_any(
    firsts: &[u32],
    weights: &[u16],
    stride: usize,
    columns: &[u16],
    sx0: u32,
    out_row: &mut [u8],
) {
    for ((&first, w), px) in firsts
        .iter()
        .zip(weights.chunks_exact(stride))
        .zip(out_row.chunks_exact_mut(4))
    {
        let base = (first - sx0) as usize * 4;
        // SAFETY: the caller's CPU has SSE4.1 and SSSE3.
        let out = unsafe { pixel_sse41(w, &columns[base..base + stride * 4]) };
        px.copy_from_slice(&out);
    }
}

/// One output pixel, BGRA: each tap's four 16-bit channel sums in `taps` widened to 32
/// bits, multiplied by its weight in `w` and added, in one register.
///
/// # Safety
/// The CPU must support SSE4.1 and SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.1,ssse3")]
#[inline]
#[allow(unsafe_code)]
unsafe fn pixel_sse41(w: &[u16], taps: &[u16]) -> [u8; 4] {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_cvtepu16_epi32, _mm_cvtsi128_si32, _mm_loadl_epi64,
        _mm_mullo_epi32, _mm_packus_epi16, _mm_packus_epi32, _mm_set1_epi32, _mm_setr_epi8,
        _mm_setzero_si128, _mm_shuffle_epi8, _mm_srli_epi32,
    };
    let mut acc = _mm_setzero_si128();
    for (&w, c) in w.iter().zip(taps.chunks_exact(4)) {
        // SAFETY: `c` is 4 u16 = 8 bytes, exactly what `_mm_loadl_epi64` reads.
        let v = unsafe { _mm_loadl_epi64(c.as_ptr().cast::<__m128i>()) };
        let v = _mm_mullo_epi32(_mm_cvtepu16_epi32(v), _mm_set1_epi32(i32::from(w)));
        acc = _mm_add_epi32(acc, v);
    }
    let half = _mm_set1_epi32((ONE * ONE / 2) as i32);
    let acc = _mm_srli_epi32(_mm_add_epi32(acc, half), 16);
    let bytes = _mm_packus_epi16(_mm_packus_epi32(acc, acc), acc);
    // RGBA bytes to BGRA.
    let bgra = _mm_setr_epi8(2, 1, 0, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    let out = _mm_cvtsi128_si32(_mm_shuffle_epi8(bytes, bgra)) as u32;
    // Alpha: every source pixel's is 255 and the weights sum to ONE * ONE.
    (out | 0xff00_0000).to_le_bytes()
}

/// The horizontal pass for any number of taps (strong downscales).
#[inline(always)]
fn horizontal_any(
    firsts: &[u32],
    weights: &[u16],
    stride: usize,
    columns: &[u16],
    sx0: u32,
    out_row: &mut [u8],
) {
    for ((&first, w), px) in firsts
        .iter()
        .zip(weights.chunks_exact(stride))
        .zip(out_row.chunks_exact_mut(4))
    {
        let base = (first - sx0) as usize * 4;
        let mut acc = [0u32; 4];
        for (&w, c) in w
            .iter()
            .zip(columns[base..base + stride * 4].chunks_exact(4))
        {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += u32::from(w) * u32::from(v);
            }
        }
        px.copy_from_slice(&[to_u8(acc[2]), to_u8(acc[1]), to_u8(acc[0]), 255]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Framebuffer {
        let mut px = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                px.extend_from_slice(&f(x, y));
            }
        }
        Framebuffer::from_rgba(w, h, px).unwrap()
    }

    fn whole(r: &Resampler, fb: &Framebuffer) -> Vec<u8> {
        let [w, h] = r.output_size();
        let mut out = Vec::new();
        assert!(r.resample_bgra(fb, Rect::new(0, 0, w, h), &mut Scratch::default(), &mut out));
        out
    }

    #[test]
    fn weights_sum_to_one_and_cover_the_source() {
        for (src, dst) in [
            (1920, 1280),
            (1920, 1279),
            (1080, 719),
            (7, 3),
            (5, 5),
            (100, 1),
        ] {
            let axis = Axis::new(src, dst);
            let mut reach = 0;
            for i in 0..dst {
                let (first, w) = axis.taps(i);
                assert_eq!(
                    w.iter().map(|&w| u32::from(w)).sum::<u32>(),
                    ONE,
                    "{src}->{dst} #{i}"
                );
                assert!(
                    first <= reach,
                    "{src}->{dst}: output {i} skips source pixels"
                );
                reach = first + w.len() as u32;
                assert!(reach <= src);
            }
            assert_eq!(
                reach, src,
                "{src}->{dst}: the last source pixels are unused"
            );
        }
    }

    #[test]
    fn halving_averages_each_two_by_two_block() {
        let fb = picture(4, 2, |x, y| {
            let v = if (x + y) % 2 == 0 { 200 } else { 100 };
            [v, 10 * x as u8, 40, 255]
        });
        let r = Resampler::new([4, 2], [2, 1]).unwrap();
        // BGRA: blue 40, green the mean of 0,10 / 20,30, red the mean of 200 and 100.
        assert_eq!(whole(&r, &fb), vec![40, 5, 150, 255, 40, 25, 150, 255]);
    }

    #[test]
    fn a_flat_colour_stays_exact_at_any_scale() {
        let fb = picture(37, 23, |_, _| [255, 1, 128, 255]);
        for dst in [[37, 23], [36, 22], [20, 11], [1, 1], [13, 23]] {
            let r = Resampler::new([37, 23], dst).unwrap();
            let out = whole(&r, &fb);
            assert!(
                out.chunks_exact(4).all(|p| p == [128, 1, 255, 255]),
                "{dst:?}"
            );
        }
    }

    #[test]
    fn same_size_is_a_copy_with_red_and_blue_swapped() {
        let fb = picture(9, 4, |x, y| [x as u8 * 20, y as u8 * 50, 7, 255]);
        let r = Resampler::new([9, 4], [9, 4]).unwrap();
        let out = whole(&r, &fb);
        for (rgba, bgra) in fb.pixels().chunks_exact(4).zip(out.chunks_exact(4)) {
            assert_eq!([rgba[2], rgba[1], rgba[0], rgba[3]], bgra);
        }
    }

    #[test]
    fn refuses_upscaling_and_mismatched_pictures() {
        assert!(Resampler::new([100, 100], [101, 50]).is_none());
        assert!(Resampler::new([100, 100], [0, 50]).is_none());
        let r = Resampler::new([100, 100], [50, 50]).unwrap();
        let other = picture(99, 100, |_, _| [0; 4]);
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        assert!(!r.resample_bgra(&other, Rect::new(0, 0, 50, 50), &mut scratch, &mut out));
        let fb = picture(100, 100, |_, _| [0; 4]);
        assert!(!r.resample_bgra(&fb, Rect::new(40, 0, 11, 1), &mut scratch, &mut out));
    }

    /// The property the view relies on: redoing only `output_rect(changed)` after a change
    /// gives the same texture as redoing everything.
    #[test]
    fn updating_only_the_covered_output_equals_a_full_resample() {
        let src = [211, 97];
        let before = picture(src[0], src[1], |x, y| {
            [(x * 7) as u8, (y * 5) as u8, 90, 255]
        });
        for dst in [[140, 64], [105, 48], [211, 97], [70, 97], [3, 2]] {
            let r = Resampler::new(src, dst).unwrap();
            for changed in [
                Rect::new(0, 0, 1, 1),
                Rect::new(50, 20, 33, 17),
                Rect::new(210, 96, 1, 1),
                Rect::new(100, 0, 111, 97),
                Rect::new(13, 40, 1, 57),
            ] {
                let mut after = before.clone();
                after.fill_rect(changed, [250, 3, 160, 255]).unwrap();
                let mut texture = whole(&r, &before);
                let o = r.output_rect(changed);
                assert!(!o.is_empty(), "{dst:?} {changed:?}");
                let mut patch = Vec::new();
                assert!(r.resample_bgra(&after, o, &mut Scratch::default(), &mut patch));
                for dy in 0..o.h as usize {
                    let at = ((o.y as usize + dy) * dst[0] as usize + o.x as usize) * 4;
                    let row = &patch[dy * o.w as usize * 4..(dy + 1) * o.w as usize * 4];
                    texture[at..at + row.len()].copy_from_slice(row);
                }
                assert_eq!(texture, whole(&r, &after), "{dst:?} {changed:?}");
            }
        }
    }

    #[test]
    fn output_rect_clips_to_the_source() {
        let r = Resampler::new([100, 50], [50, 25]).unwrap();
        assert_eq!(
            r.output_rect(Rect::new(90, 40, 50, 50)),
            Rect::new(45, 20, 5, 5)
        );
        assert!(r.output_rect(Rect::new(100, 0, 5, 5)).is_empty());
        assert_eq!(
            r.output_rect(Rect::new(0, 0, 100, 50)),
            Rect::new(0, 0, 50, 25)
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_sse41_pass_equals_the_portable_one() {
        if !std::arch::is_x86_feature_detected!("sse4.1") {
            return;
        }
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut pair_counts = std::collections::BTreeSet::<usize>::new();
        for (src, dst) in [
            (1920, 1280),
            (1920, 1283),
            (1920, 1440),
            (1920, 900),
            (1000, 220),
            (1000, 997),
            (1000, 130),
            (64, 64),
        ] {
            let axis = Axis::new(src, dst);
            // Column sums as the vertical pass leaves them: at most 255 * ONE.
            let columns: Vec<u16> = (0..(src as usize + axis.stride) * 4)
                .map(|_| (next() % (255 * ONE + 1)) as u16)
                .collect();
            let firsts = &axis.first[..];
            let weights = &axis.padded[..];
            let mut portable = vec![0; dst as usize * 4];
            horizontal_any(firsts, weights, axis.stride, &columns, 0, &mut portable);
            let mut sse = vec![0; dst as usize * 4];
            let mut madd = vec![0; dst as usize * 4];
            let pairs = &axis.pairs[..];
            pair_counts.insert(axis.pair_count());
            // SAFETY: SSE4.1 checked above (SSSE3 comes with it on every x86-64 CPU).
            #[allow(unsafe_code)]
            unsafe {
                horizontal_sse41_any(firsts, weights, axis.stride, &columns, 0, &mut sse);
                match axis.pair_count() {
                    1 => horizontal_madd::<1>(firsts, pairs, &columns, 0, &mut madd),
                    2 => horizontal_madd::<2>(firsts, pairs, &columns, 0, &mut madd),
                    3 => horizontal_madd::<3>(firsts, pairs, &columns, 0, &mut madd),
                    _ => madd.clone_from(&sse),
                }
            }
            // Alpha is 255 by construction in the SSE passes; compare colours.
            for (i, ((p, q), m)) in portable
                .chunks_exact(4)
                .zip(sse.chunks_exact(4))
                .zip(madd.chunks_exact(4))
                .enumerate()
            {
                assert_eq!(p[..3], q[..3], "{src} -> {dst}, pixel {i}");
                assert_eq!(p[..3], m[..3], "{src} -> {dst}, pixel {i} (pmaddwd)");
                assert_eq!(m[3], 255);
            }
        }
        assert!(
            [1, 2, 3].iter().all(|n| pair_counts.contains(n)),
            "{pair_counts:?}"
        );
    }
}
