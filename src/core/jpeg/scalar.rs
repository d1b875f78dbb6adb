//! The portable lanes of the inverse DCT and colour conversion: `[f32; 8]`.

type F8 = [f32; 8];

fn add(a: F8, b: F8) -> F8 {
    std::array::from_fn(|i| a[i] + b[i])
}
fn sub(a: F8, b: F8) -> F8 {
    std::array::from_fn(|i| a[i] - b[i])
}
fn mul(a: F8, b: F8) -> F8 {
    std::array::from_fn(|i| a[i] * b[i])
}
fn splat(v: f32) -> F8 {
    [v; 8]
}
fn clamp(a: F8, lo: f32, hi: f32) -> F8 {
    // As `maxps` then `minps`.
    a.map(|x| {
        let x = if x > lo { x } else { lo };
        if x < hi { x } else { hi }
    })
}
fn round(a: F8) -> F8 {
    a.map(f32::round_ties_even)
}

/// The block's pixels (level shift not applied), as eight rows.
pub(super) fn block(coef: &mut [f32; 64], has_ac: bool) -> [F8; 8] {
    let mut v: [F8; 8] = if has_ac {
        std::array::from_fn(|r| std::array::from_fn(|c| coef[r * 8 + c]))
    } else {
        [[coef[0]; 8]; 8]
    };
    if has_ac {
        // Columns, then rows; each pass ends transposed.
        for _ in 0..2 {
            idct_1d!(v, add, sub, mul, splat);
            v = std::array::from_fn(|r| std::array::from_fn(|c| v[c][r]));
        }
        *coef = [0.0; 64];
    } else {
        coef[0] = 0.0;
    }
    v
}

pub(super) fn render(
    coef: &mut [[f32; 64]; 3],
    has_ac: &[bool; 3],
    n: usize,
    dst: &mut [u8],
    stride: usize,
) {
    let y = block(&mut coef[0], has_ac[0]);
    let chroma = (n == 3).then(|| {
        let [_, cb, cr] = coef;
        (block(cb, has_ac[1]), block(cr, has_ac[2]))
    });
    for row in 0..8 {
        let luma = round(clamp(add(y[row], splat(128.0)), 0.0, 255.0));
        let (r, g, b) = match &chroma {
            Some((cb, cr)) => {
                let cb = round(clamp(cb[row], -128.0, 127.0));
                let cr = round(clamp(cr[row], -128.0, 127.0));
                (
                    add(luma, mul(cr, splat(super::CR_R))),
                    sub(
                        sub(luma, mul(cb, splat(super::CB_G))),
                        mul(cr, splat(super::CR_G)),
                    ),
                    add(luma, mul(cb, splat(super::CB_B))),
                )
            }
            None => (luma, luma, luma),
        };
        let (r, g, b) = (
            round(clamp(r, 0.0, 255.0)),
            round(clamp(g, 0.0, 255.0)),
            round(clamp(b, 0.0, 255.0)),
        );
        let out = &mut dst[row * stride..row * stride + 32];
        for (i, px) in out.chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[r[i] as u8, g[i] as u8, b[i] as u8, 255]);
        }
    }
}
