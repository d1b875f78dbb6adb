//! RGB8 pictures: X screenshots, decoded PNG snapshots, and the comparison between them.
//!
//! Both sides are normalised to 8-bit RGB (alpha dropped) so a snapshot written by lookout
//! can be compared pixel for pixel with what the X server holds.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

/// An 8-bit RGB picture, rows top to bottom, 3 bytes per pixel.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Rgb {
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        let expected = width as usize * height as usize * 3;
        ensure!(
            data.len() == expected,
            "{width}x{height} RGB picture needs {expected} bytes, got {}",
            data.len()
        );
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// How many pixels have exactly this colour.
    pub fn count(&self, colour: [u8; 3]) -> usize {
        self.data.chunks_exact(3).filter(|p| *p == colour).count()
    }

    /// Decodes a PNG file; fails if any pixel is not fully opaque.
    pub fn read_png(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut decoder = png::Decoder::new(BufReader::new(file));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let size = reader
            .output_buffer_size()
            .context("PNG too large for this platform")?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf)?;
        buf.truncate(info.buffer_size());
        let channels = match info.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => bail!("unexpected PNG colour type after normalising: {other:?}"),
        };
        if channels % 2 == 0 {
            let transparent = buf
                .chunks_exact(channels)
                .filter(|p| p[channels - 1] != 255)
                .count();
            ensure!(
                transparent == 0,
                "{} has {transparent} pixels that are not fully opaque",
                path.display()
            );
        }
        let data = buf
            .chunks_exact(channels)
            .flat_map(|p| match channels {
                1 | 2 => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Self::new(info.width, info.height, data)
    }

    pub fn write_png(&self, path: &Path) -> Result<()> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut encoder = png::Encoder::new(BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.data)?;
        writer.finish()?;
        Ok(())
    }
}

/// A rectangle left out of comparisons (around the pointer, where a cursor may be drawn).
#[derive(Clone, Copy, Debug)]
pub struct Mask {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Mask {
    /// A square of `radius` pixels on each side of `(x, y)`.
    pub fn around(x: u32, y: u32, radius: u32) -> Self {
        Self {
            x0: x.saturating_sub(radius),
            y0: y.saturating_sub(radius),
            x1: x.saturating_add(radius),
            y1: y.saturating_add(radius),
        }
    }

    fn contains(&self, x: u32, y: u32) -> bool {
        (self.x0..=self.x1).contains(&x) && (self.y0..=self.y1).contains(&y)
    }
}

/// How far a snapshot is from the screen outside the mask.
#[derive(Debug, Default)]
pub struct Diff {
    /// Pixels compared (outside the mask).
    pub compared: u64,
    /// Pixels with any channel different.
    pub differing: u64,
    /// Pixels with some channel more than [`Tolerance::pixel`] off.
    pub beyond_pixel_tolerance: u64,
    /// Sum of absolute channel differences.
    pub sum_abs: u64,
    /// Bounding box `(x0, y0, x1, y1)` of differing pixels.
    pub bbox: Option<(u32, u32, u32, u32)>,
    /// The first differing pixel in row order.
    pub first: Option<Mismatch>,
}

/// One pixel that differs: where, and its colour on screen and in the snapshot.
#[derive(Debug)]
pub struct Mismatch {
    pub x: u32,
    pub y: u32,
    pub expected: [u8; 3],
    pub actual: [u8; 3],
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [er, eg, eb] = self.expected;
        let [ar, ag, ab] = self.actual;
        write!(
            f,
            "({}, {}) is #{er:02x}{eg:02x}{eb:02x} on screen, #{ar:02x}{ag:02x}{ab:02x} in the snapshot",
            self.x, self.y
        )
    }
}

/// What counts as equal: exact for lossless encodings, bounded for JPEG.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    /// Largest channel difference a pixel may have and still count as "within".
    pub pixel: u8,
    /// Share of compared pixels that must be within `pixel`.
    pub min_within: f64,
    /// Upper bound for the mean absolute difference per channel.
    pub max_mean_abs: f64,
}

impl Tolerance {
    pub const EXACT: Self = Self {
        pixel: 0,
        min_within: 1.0,
        max_mean_abs: 0.0,
    };
    pub const LOSSY: Self = Self {
        pixel: 24,
        min_within: 0.99,
        max_mean_abs: 3.0,
    };
}

impl Diff {
    pub fn between(expected: &Rgb, actual: &Rgb, mask: Mask, tolerance: Tolerance) -> Result<Self> {
        ensure!(
            (expected.width, expected.height) == (actual.width, actual.height),
            "size differs: screen {}x{}, snapshot {}x{}",
            expected.width,
            expected.height,
            actual.width,
            actual.height
        );
        let mut diff = Self::default();
        let pairs = expected
            .data
            .chunks_exact(3)
            .zip(actual.data.chunks_exact(3));
        for (i, (e, a)) in pairs.enumerate() {
            let (x, y) = (
                (i % expected.width as usize) as u32,
                (i / expected.width as usize) as u32,
            );
            if mask.contains(x, y) {
                continue;
            }
            diff.compared += 1;
            if e == a {
                continue;
            }
            let worst = e
                .iter()
                .zip(a)
                .map(|(e, a)| e.abs_diff(*a))
                .max()
                .unwrap_or(0);
            diff.sum_abs += e
                .iter()
                .zip(a)
                .map(|(e, a)| u64::from(e.abs_diff(*a)))
                .sum::<u64>();
            diff.differing += 1;
            if worst > tolerance.pixel {
                diff.beyond_pixel_tolerance += 1;
            }
            diff.bbox = Some(match diff.bbox {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
            if diff.first.is_none() {
                diff.first = Some(Mismatch {
                    x,
                    y,
                    expected: [e[0], e[1], e[2]],
                    actual: [a[0], a[1], a[2]],
                });
            }
        }
        Ok(diff)
    }

    pub fn mean_abs(&self) -> f64 {
        self.sum_abs as f64 / (self.compared.max(1) * 3) as f64
    }

    pub fn share_within(&self) -> f64 {
        1.0 - self.beyond_pixel_tolerance as f64 / self.compared.max(1) as f64
    }

    pub fn is_within(&self, tolerance: Tolerance) -> bool {
        self.share_within() >= tolerance.min_within && self.mean_abs() <= tolerance.max_mean_abs
    }
}
