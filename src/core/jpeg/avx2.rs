//! The inverse DCT and colour conversion with AVX2 registers, used after a run-time CPU
//! check. Each `unsafe` block states why it is sound.

use std::arch::x86_64::*;

#[inline(always)]
unsafe fn transpose(v: &mut [__m256; 8]) {
    unsafe {
        let t0 = _mm256_unpacklo_ps(v[0], v[1]);
        let t1 = _mm256_unpackhi_ps(v[0], v[1]);
        let t2 = _mm256_unpacklo_ps(v[2], v[3]);
        let t3 = _mm256_unpackhi_ps(v[2], v[3]);
        let t4 = _mm256_unpacklo_ps(v[4], v[5]);
        let t5 = _mm256_unpackhi_ps(v[4], v[5]);
        let t6 = _mm256_unpacklo_ps(v[6], v[7]);
        let t7 = _mm256_unpackhi_ps(v[6], v[7]);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xee>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xee>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xee>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xee>(t5, t7);
        v[0] = _mm256_permute2f128_ps::<0x20>(s0, s4);
        v[1] = _mm256_permute2f128_ps::<0x20>(s1, s5);
        v[2] = _mm256_permute2f128_ps::<0x20>(s2, s6);
        v[3] = _mm256_permute2f128_ps::<0x20>(s3, s7);
        v[4] = _mm256_permute2f128_ps::<0x31>(s0, s4);
        v[5] = _mm256_permute2f128_ps::<0x31>(s1, s5);
        v[6] = _mm256_permute2f128_ps::<0x31>(s2, s6);
        v[7] = _mm256_permute2f128_ps::<0x31>(s3, s7);
    }
}

#[inline(always)]
unsafe fn block(coef: &mut [f32; 64], has_ac: bool) -> [__m256; 8] {
    unsafe {
        if !has_ac {
            let dc = _mm256_set1_ps(coef[0]);
            coef[0] = 0.0;
            return [dc; 8];
        }
        let p = coef.as_mut_ptr();
        let mut v: [__m256; 8] = std::array::from_fn(|r| _mm256_loadu_ps(p.add(r * 8)));
        // Columns, then rows; each pass ends transposed.
        for _ in 0..2 {
            idct_1d!(
                v,
                _mm256_add_ps,
                _mm256_sub_ps,
                _mm256_mul_ps,
                _mm256_set1_ps
            );
            transpose(&mut v);
        }
        let zero = _mm256_setzero_ps();
        for r in 0..8 {
            _mm256_storeu_ps(p.add(r * 8), zero);
        }
        v
    }
}

#[inline(always)]
unsafe fn clamp(a: __m256, lo: f32, hi: f32) -> __m256 {
    unsafe { _mm256_min_ps(_mm256_max_ps(a, _mm256_set1_ps(lo)), _mm256_set1_ps(hi)) }
}

#[inline(always)]
unsafe fn round(a: __m256) -> __m256 {
    unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
}

/// # Safety
/// The CPU must have AVX2, and `dst` must hold 8 rows of 32 bytes `stride` apart.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn render(
    coef: &mut [[f32; 64]; 3],
    has_ac: &[bool; 3],
    n: usize,
    dst: &mut [u8],
    stride: usize,
) {
    unsafe {
        let y = block(&mut coef[0], has_ac[0]);
        let chroma = if n == 3 {
            let [_, cb, cr] = coef;
            Some((block(cb, has_ac[1]), block(cr, has_ac[2])))
        } else {
            None
        };
        let alpha = _mm256_set1_epi32(0xff00_0000_u32 as i32);
        for row in 0..8 {
            let luma = round(clamp(
                _mm256_add_ps(y[row], _mm256_set1_ps(128.0)),
                0.0,
                255.0,
            ));
            let px = match &chroma {
                Some((cb, cr)) => {
                    let cb = round(clamp(cb[row], -128.0, 127.0));
                    let cr = round(clamp(cr[row], -128.0, 127.0));
                    let r = _mm256_add_ps(luma, _mm256_mul_ps(cr, _mm256_set1_ps(super::CR_R)));
                    let g = _mm256_sub_ps(
                        _mm256_sub_ps(luma, _mm256_mul_ps(cb, _mm256_set1_ps(super::CB_G))),
                        _mm256_mul_ps(cr, _mm256_set1_ps(super::CR_G)),
                    );
                    let b = _mm256_add_ps(luma, _mm256_mul_ps(cb, _mm256_set1_ps(super::CB_B)));
                    // Clamped to 0..=255, then rounded to the nearest as they become
                    // integers: ties to even in the default MXCSR mode, as the portable
                    // lanes round.
                    let r = _mm256_cvtps_epi32(clamp(r, 0.0, 255.0));
                    let g = _mm256_cvtps_epi32(clamp(g, 0.0, 255.0));
                    let b = _mm256_cvtps_epi32(clamp(b, 0.0, 255.0));
                    _mm256_or_si256(
                        _mm256_or_si256(r, _mm256_slli_epi32::<8>(g)),
                        _mm256_or_si256(_mm256_slli_epi32::<16>(b), alpha),
                    )
                }
                None => {
                    let l = _mm256_cvtps_epi32(luma);
                    _mm256_or_si256(
                        _mm256_or_si256(l, _mm256_slli_epi32::<8>(l)),
                        _mm256_or_si256(_mm256_slli_epi32::<16>(l), alpha),
                    )
                }
            };
            _mm256_storeu_si256(dst.as_mut_ptr().add(row * stride).cast(), px);
        }
    }
}
