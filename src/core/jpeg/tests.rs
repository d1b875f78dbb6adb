use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::*;

/// A picture with edges, gradients and noise, as `channels` bytes a pixel.
fn picture(rng: &mut StdRng, w: usize, h: usize, channels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * channels);
    for y in 0..h {
        for x in 0..w {
            for c in 0..channels {
                let v = match (x / 5 + y / 3 + c) % 3 {
                    0 => (x * 255 / w.max(1)) as u8,
                    1 => {
                        if (x + y) % 7 < 3 {
                            250
                        } else {
                            5
                        }
                    }
                    _ => rng.random(),
                };
                out.push(v);
            }
        }
    }
    out
}

fn encode(
    pixels: &[u8],
    (w, h): (usize, usize),
    color: ColorType,
    quality: u8,
    set: impl Fn(&mut Encoder<&mut Vec<u8>>),
) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let mut e = Encoder::new(&mut jpeg, quality);
    set(&mut e);
    e.encode(pixels, w as u16, h as u16, color).unwrap();
    jpeg
}

fn zune(jpeg: &[u8]) -> Vec<u8> {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGBA);
    JpegDecoder::new_with_options(ZCursor::new(jpeg), options)
        .decode()
        .unwrap()
}

/// Decodes into rows `pad` bytes wider than the picture, filled with 0x5a, and checks
/// that the padding is untouched. Returns the result and the packed pixels.
fn ours(
    d: &mut Baseline,
    jpeg: &[u8],
    w: usize,
    h: usize,
) -> (Result<Decoded, JpegError>, Vec<u8>) {
    let pad = 12;
    let stride = w * 4 + pad;
    let mut buf = vec![0x5au8; stride * h];
    let got = d.decode(
        jpeg,
        Target {
            pixels: &mut buf,
            stride,
            w: w as u32,
            h: h as u32,
        },
    );
    let mut packed = Vec::new();
    for row in buf.chunks_exact(stride) {
        packed.extend_from_slice(&row[..w * 4]);
        assert!(
            row[w * 4..].iter().all(|&b| b == 0x5a),
            "wrote past a row's end"
        );
    }
    (got, packed)
}

fn assert_close(ours: &[u8], theirs: &[u8], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}");
    let mut worst = 0;
    let mut total = 0u64;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if i % 4 == 3 {
            assert_eq!(*a, 255, "{what}: alpha at byte {i}");
        }
        worst = worst.max(a.abs_diff(*b));
        total += u64::from(a.abs_diff(*b));
    }
    let mean = total as f64 / ours.len() as f64;
    assert!(
        worst <= 3 && mean < 0.3,
        "{what}: differs from zune-jpeg by up to {worst}, {mean:.3} on average"
    );
}

#[test]
fn decodes_what_zune_jpeg_decodes_and_keeps_tables_across_images() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut d = Baseline::new();
    let sizes = [
        (8, 8),
        (1, 1),
        (13, 7),
        (16, 24),
        (256, 24),
        (33, 65),
        (120, 9),
    ];
    let mut decoded = 0;
    for round in 0..2 {
        for &(w, h) in &sizes {
            for quality in [30u8, 75, 92, 100] {
                for grey in [false, true] {
                    let (color, channels) = if grey {
                        (ColorType::Luma, 1)
                    } else {
                        (ColorType::Rgb, 3)
                    };
                    let pixels = picture(&mut rng, w, h, channels);
                    // Grey pictures alternate between the standard Huffman tables and
                    // tables made for each image, so the cached ones must be replaced.
                    let optimise = grey && (w + round) % 2 == 0;
                    let jpeg = encode(&pixels, (w, h), color, quality, |e| {
                        e.set_sampling_factor(SamplingFactor::F_1_1);
                        e.set_optimized_huffman_tables(optimise);
                    });
                    let what = format!("{w}x{h} q{quality} grey {grey} optimised {optimise}");
                    let (got, out) = ours(&mut d, &jpeg, w, h);
                    assert_eq!(got, Ok(Decoded::Done), "{what}");
                    assert_close(&out, &zune(&jpeg), &what);
                    decoded += 1;
                }
            }
        }
    }
    assert_eq!(decoded, 2 * 7 * 4 * 2);
}

#[test]
fn the_transform_is_the_inverse_dct() {
    let mut rng = StdRng::seed_from_u64(11);
    let c = |k: usize| {
        if k == 0 {
            std::f64::consts::FRAC_1_SQRT_2
        } else {
            1.0
        }
    };
    let mut worst = 0f64;
    for _ in 0..200 {
        let freq: [f64; 64] = std::array::from_fn(|k| {
            if k == 0 || rng.random_bool(0.4) {
                rng.random_range(-300.0..300.0)
            } else {
                0.0
            }
        });
        let mut coef: [f32; 64] =
            std::array::from_fn(|k| (freq[k] * aan_scale(k / 8) * aan_scale(k % 8) / 8.0) as f32);
        let out = scalar::block(&mut coef, true);
        assert_eq!(coef, [0.0; 64], "the block is left zeroed");
        for (y, row) in out.iter().enumerate() {
            for (x, &got) in row.iter().enumerate() {
                let mut want = 0.0;
                for v in 0..8 {
                    for u in 0..8 {
                        want += c(u)
                            * c(v)
                            * freq[v * 8 + u]
                            * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos()
                            * ((2 * y + 1) as f64 * v as f64 * std::f64::consts::PI / 16.0).cos();
                    }
                }
                worst = worst.max((f64::from(got) - want / 4.0).abs());
            }
        }
    }
    assert!(worst < 0.01, "off the exact inverse DCT by {worst}");
}

#[test]
fn avx2_and_portable_lanes_give_the_same_bytes() {
    #[cfg(target_arch = "x86_64")]
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("no AVX2 on this CPU: only the portable lanes run here");
        return;
    }
    #[cfg(not(target_arch = "x86_64"))]
    return;
    let mut rng = StdRng::seed_from_u64(3);
    let stride = 40;
    for case in 0..3000 {
        let n = if case % 3 == 0 { 1 } else { 3 };
        let has_ac: [bool; 3] = std::array::from_fn(|_| rng.random_bool(0.7));
        let mut coef = Box::new([[0f32; 64]; 3]);
        for (block, &ac) in coef.iter_mut().zip(&has_ac).take(n) {
            // Wide enough to clamp at both ends.
            block[0] = rng.random_range(-400.0..400.0);
            if ac {
                for c in &mut block[1..] {
                    if rng.random_bool(0.3) {
                        *c = rng.random_range(-150.0..150.0);
                    }
                }
            }
        }
        let mut portable = coef.clone();
        let (mut a, mut b) = ([0u8; 8 * 40], [0u8; 8 * 40]);
        render(true, &mut coef, &has_ac, n, &mut a, stride);
        render(false, &mut portable, &has_ac, n, &mut b, stride);
        assert_eq!(a, b, "case {case}: {n} component(s), AC {has_ac:?}");
        assert!(coef.iter().chain(portable.iter()).all(|b| *b == [0.0; 64]));
    }
    // And whole pictures.
    let mut simd = Baseline::with_simd(true);
    let mut portable = Baseline::with_simd(false);
    assert!(simd.avx2 && !portable.avx2);
    for (w, h, color, channels) in [(64, 40, ColorType::Rgb, 3), (37, 21, ColorType::Luma, 1)] {
        let pixels = picture(&mut rng, w, h, channels);
        let jpeg = encode(&pixels, (w, h), color, 85, |e| {
            e.set_sampling_factor(SamplingFactor::F_1_1)
        });
        let a = ours(&mut simd, &jpeg, w, h);
        assert_eq!(a.0, Ok(Decoded::Done));
        assert_eq!(a, ours(&mut portable, &jpeg, w, h));
    }
}

#[test]
fn other_jpegs_are_left_to_zune_jpeg_before_a_pixel_is_written() {
    let mut rng = StdRng::seed_from_u64(5);
    let (w, h) = (40, 24);
    let rgb = picture(&mut rng, w, h, 3);
    let cmyk = picture(&mut rng, w, h, 4);
    let cases: [(&str, Vec<u8>); 5] = [
        (
            "4:2:0",
            encode(&rgb, (w, h), ColorType::Rgb, 80, |e| {
                e.set_sampling_factor(SamplingFactor::F_2_2)
            }),
        ),
        (
            "4:2:2",
            encode(&rgb, (w, h), ColorType::Rgb, 80, |e| {
                e.set_sampling_factor(SamplingFactor::F_2_1)
            }),
        ),
        (
            "progressive",
            encode(&rgb, (w, h), ColorType::Rgb, 95, |e| {
                e.set_progressive(true)
            }),
        ),
        (
            "restart markers",
            encode(&rgb, (w, h), ColorType::Rgb, 95, |e| {
                e.set_restart_interval(2)
            }),
        ),
        ("CMYK", encode(&cmyk, (w, h), ColorType::Cmyk, 95, |_| {})),
    ];
    let mut d = Baseline::new();
    for (what, jpeg) in cases {
        let (got, out) = ours(&mut d, &jpeg, w, h);
        assert_eq!(got, Ok(Decoded::Unsupported), "{what}");
        assert!(out.iter().all(|&b| b == 0x5a), "{what}: wrote pixels");
    }
    // A scan per component (what encoders write with optimised tables).
    let jpeg = encode(&rgb, (w, h), ColorType::Rgb, 95, |e| {
        e.set_optimized_huffman_tables(true)
    });
    assert_eq!(ours(&mut d, &jpeg, w, h).0, Ok(Decoded::Unsupported));
}

#[test]
fn cut_and_damaged_data_are_errors_never_panics() {
    let mut rng = StdRng::seed_from_u64(9);
    let (w, h) = (48, 16);
    let rgb = picture(&mut rng, w, h, 3);
    let jpeg = encode(&rgb, (w, h), ColorType::Rgb, 92, |_| {});
    let mut d = Baseline::new();
    assert_eq!(ours(&mut d, &jpeg, w, h).0, Ok(Decoded::Done));
    // Without its end-of-image marker the picture is whole; any shorter and it is not.
    assert_eq!(
        ours(&mut d, &jpeg[..jpeg.len() - 2], w, h).0,
        Ok(Decoded::Done)
    );
    for cut in 0..jpeg.len() - 2 {
        let (got, _) = ours(&mut d, &jpeg[..cut], w, h);
        assert!(got.is_err(), "cut at {cut} of {}: {got:?}", jpeg.len());
    }
    let mut errors = 0;
    for _ in 0..3000 {
        let mut bad = jpeg.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..bad.len());
            bad[at] = rng.random();
        }
        errors += usize::from(ours(&mut d, &bad, w, h).0.is_err());
    }
    assert!(errors > 0, "no damaged JPEG was refused");
    // After all that, the tables it keeps still decode a good picture.
    let (got, out) = ours(&mut d, &jpeg, w, h);
    assert_eq!(got, Ok(Decoded::Done));
    assert_close(&out, &zune(&jpeg), "after damaged ones");
}

/// `jpeg` without its segments of type `marker` before the scan.
fn without(jpeg: &[u8], marker: u8) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    while jpeg[pos + 1] != 0xda {
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        if jpeg[pos + 1] != marker {
            out.extend(&jpeg[pos..pos + 2 + len]);
        }
        pos += 2 + len;
    }
    out.extend(&jpeg[pos..]);
    out
}

#[test]
fn tables_an_image_does_not_define_are_not_borrowed_from_the_last() {
    let mut rng = StdRng::seed_from_u64(13);
    let (w, h) = (24, 16);
    let grey = picture(&mut rng, w, h, 1);
    let standard = encode(&grey, (w, h), ColorType::Luma, 90, |_| {});
    let optimised = encode(&grey, (w, h), ColorType::Luma, 60, |e| {
        e.set_optimized_huffman_tables(true)
    });
    let mut d = Baseline::new();
    assert_eq!(ours(&mut d, &optimised, w, h).0, Ok(Decoded::Done));
    // Without DHT, a JPEG means the standard tables, not the optimised ones kept.
    let no_dht = without(&standard, 0xc4);
    assert!(no_dht.len() < standard.len());
    let (got, out) = ours(&mut d, &no_dht, w, h);
    assert_eq!(got, Ok(Decoded::Unsupported));
    assert!(out.iter().all(|&b| b == 0x5a));
    // Nor another image's quantisation.
    let no_dqt = without(&standard, 0xdb);
    assert!(no_dqt.len() < standard.len());
    assert_eq!(ours(&mut d, &no_dqt, w, h).0, Ok(Decoded::Unsupported));
    // With both, the kept tables are replaced and the picture is right.
    let (got, out) = ours(&mut d, &standard, w, h);
    assert_eq!(got, Ok(Decoded::Done));
    assert_close(&out, &zune(&standard), "standard after optimised");
}

/// An 8×8 grey JPEG with one-code Huffman tables: DC "0" is size 0; AC "0" is
/// `ac_symbol`. All quantisers 1.
fn hand_made(
    dc_counts: [u8; 16],
    dc_symbols: &[u8],
    ac_symbol: u8,
    sos_tables: u8,
    data: &[u8],
) -> Vec<u8> {
    fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
        out.extend([0xff, marker]);
        out.extend(((body.len() + 2) as u16).to_be_bytes());
        out.extend(body);
    }
    let mut out = vec![0xff, 0xd8];
    segment(&mut out, 0xdb, &[[0u8].as_slice(), &[1; 64]].concat());
    segment(&mut out, 0xc0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    segment(
        &mut out,
        0xc4,
        &[[0x00].as_slice(), &dc_counts, dc_symbols].concat(),
    );
    let mut ac_counts = [0u8; 16];
    ac_counts[0] = 1;
    segment(
        &mut out,
        0xc4,
        &[[0x10].as_slice(), &ac_counts, &[ac_symbol]].concat(),
    );
    segment(&mut out, 0xda, &[1, 1, sos_tables, 0, 63, 0]);
    out.extend(data);
    out.extend([0xff, 0xd9]);
    out
}

#[test]
fn hand_made_faults_are_named() {
    let one_code = {
        let mut c = [0u8; 16];
        c[0] = 1;
        c
    };
    let mut d = Baseline::new();
    let mut decode = |jpeg: &[u8], w: usize| ours(&mut d, jpeg, w, 8).0;
    // DC 0, then EOB: a flat mid-grey block.
    let good = hand_made(one_code, &[0], 0x00, 0x00, &[0x3f]);
    assert_eq!(decode(&good, 8), Ok(Decoded::Done));
    assert_eq!(
        decode(&good, 16),
        Err(JpegError::Size {
            w: 16,
            h: 8,
            got_w: 8,
            got_h: 8
        })
    );
    // Runs of 15 zeros and a 1: the fourth goes past coefficient 63.
    let runs = hand_made(one_code, &[0], 0xf1, 0x00, &[0b0010_1010, 0xff, 0x00]);
    assert_eq!(decode(&runs, 8), Err(JpegError::BlockOverrun));
    // A 1 bit where the DC table has only the code 0.
    let stray = hand_made(one_code, &[0], 0x00, 0x00, &[0x80]);
    assert_eq!(decode(&stray, 8), Err(JpegError::HuffmanCode));
    // Three codes of length 1 cannot be.
    let mut three = one_code;
    three[0] = 3;
    let bad_table = hand_made(three, &[0, 1, 2], 0x00, 0x00, &[0x3f]);
    assert_eq!(decode(&bad_table, 8), Err(JpegError::HuffmanTable));
    // The scan names DC table 1, which this image does not define.
    let missing = hand_made(one_code, &[0], 0x00, 0x10, &[0x3f]);
    assert_eq!(decode(&missing, 8), Ok(Decoded::Unsupported));
    assert_eq!(decode(b"GIF89a", 8), Err(JpegError::NotJpeg));
    assert_eq!(
        decode(&[0xff, 0xd8, 0xff, 0xd9], 8),
        Err(JpegError::Marker(0xd9))
    );
    // The decoder is still good for the good one.
    assert_eq!(decode(&good, 8), Ok(Decoded::Done));
}
