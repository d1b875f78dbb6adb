//! Server-side RFB encoders: turn an area of a [`Framebuffer`] into `FramebufferUpdate`
//! rectangles (12-byte header + encoded data) appended to a byte vector.
//!
//! Rectangle header (big-endian): `x u16, y u16, w u16, h u16, encoding s32`, then data:
//! Raw (0) pixels row by row; CopyRect (1) `src-x u16, src-y u16`; Hextile (5) 16×16
//! tiles; Tight (7) a control byte and Fill / JPEG / zlib data; ZRLE (16) `u32 length` +
//! zlib data of 64×64 tiles. Pseudo-rectangles carry capabilities: DesktopSize (-223, the
//! new size in w/h), Cursor (-239, hotspot in x/y, pixels + mask), PointerPos (-232, the
//! position in x/y). A whole update is `type 0, padding, count u16` then the rectangles.
//!
//! [`EncoderSet`] keeps the per-connection state the stateful encodings need (one zlib
//! stream for ZRLE, one for Tight), so benches and the server drive the same code.

pub mod hextile;
pub mod raw;
pub mod rect;
pub mod tight;
pub mod zrle;

#[cfg(test)]
pub(crate) mod testdec;

pub use rect::{DEFAULT_COMPRESS_LEVEL, EncodeError, ZlibStream, rect_header};

use super::pixel::PixelFormat;
use crate::core::frame::{CursorShape, Framebuffer, Rect};
use crate::core::source::rfb::{FRAMEBUFFER_UPDATE, encodings};

/// The real (pixel-carrying) encodings we produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Raw,
    Hextile,
    Tight,
    Zrle,
}

impl Encoding {
    pub const ALL: [Encoding; 4] = [
        Encoding::Raw,
        Encoding::Hextile,
        Encoding::Tight,
        Encoding::Zrle,
    ];

    pub fn id(self) -> i32 {
        match self {
            Encoding::Raw => encodings::RAW,
            Encoding::Hextile => encodings::HEXTILE,
            Encoding::Tight => encodings::TIGHT,
            Encoding::Zrle => encodings::ZRLE,
        }
    }

    pub fn from_id(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.id() == n)
    }
}

/// Per-connection encoder state: the client's pixel format and the zlib streams.
#[derive(Debug)]
pub struct EncoderSet {
    format: PixelFormat,
    zrle: zrle::ZrleEncoder,
    tight: tight::TightEncoder,
}

impl EncoderSet {
    /// `format` must pass [`PixelFormat::check_supported`].
    pub fn new(format: PixelFormat) -> Self {
        Self {
            format,
            zrle: zrle::ZrleEncoder::new(DEFAULT_COMPRESS_LEVEL),
            tight: tight::TightEncoder::new(DEFAULT_COMPRESS_LEVEL),
        }
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Switches the pixel format; the zlib streams carry on (as the protocol requires).
    pub fn set_format(&mut self, format: PixelFormat) {
        self.format = format;
    }

    /// The client's JPEG quality level (0–9), `None` for lossless Tight only.
    pub fn set_jpeg_quality(&mut self, level: Option<u8>) {
        self.tight.set_jpeg_quality(level);
    }

    /// The client's compression level (0–9).
    pub fn set_compress_level(&mut self, level: u8) {
        self.zrle.set_level(level);
        self.tight.set_level(level);
    }

    /// Appends `r` of `fb` as one or more rectangles; returns how many were written.
    pub fn encode(
        &mut self,
        encoding: Encoding,
        fb: &Framebuffer,
        r: Rect,
        out: &mut Vec<u8>,
    ) -> Result<u16, EncodeError> {
        match encoding {
            Encoding::Raw => raw::encode(&self.format, fb, r, out).map(|()| 1),
            Encoding::Hextile => hextile::encode(&self.format, fb, r, out).map(|()| 1),
            Encoding::Zrle => self.zrle.encode(&self.format, fb, r, out).map(|()| 1),
            Encoding::Tight => self.tight.encode(&self.format, fb, r, out),
        }
    }
}

/// The 4-byte `FramebufferUpdate` header for `count` rectangles.
pub fn update_header(count: u16) -> [u8; 4] {
    let [hi, lo] = count.to_be_bytes();
    [FRAMEBUFFER_UPDATE, 0, hi, lo]
}

/// Appends a CopyRect: the client copies the `dst.w`×`dst.h` area at (`src_x`, `src_y`) to `dst`.
pub fn copy_rect(out: &mut Vec<u8>, dst: Rect, src_x: u32, src_y: u32) {
    rect_header(out, dst, encodings::COPY_RECT);
    out.extend_from_slice(&(src_x as u16).to_be_bytes());
    out.extend_from_slice(&(src_y as u16).to_be_bytes());
}

/// Appends a DesktopSize pseudo-rectangle announcing a new framebuffer size.
pub fn desktop_size(out: &mut Vec<u8>, width: u32, height: u32) {
    rect_header(out, Rect::new(0, 0, width, height), encodings::DESKTOP_SIZE);
}

/// Appends a PointerPos pseudo-rectangle: the remote pointer is at (`x`, `y`).
pub fn pointer_pos(out: &mut Vec<u8>, x: u32, y: u32) {
    rect_header(out, Rect::new(x, y, 0, 0), encodings::POINTER_POS);
}

/// Appends a Cursor pseudo-rectangle: pixels in the client's format, then a 1-bpp mask
/// (rows padded to bytes, most significant bit leftmost) set where alpha ≥ 128.
pub fn cursor(out: &mut Vec<u8>, format: &PixelFormat, shape: &CursorShape) {
    let r = Rect::new(shape.hotspot_x, shape.hotspot_y, shape.width, shape.height);
    rect_header(out, r, encodings::CURSOR);
    for px in shape.rgba.chunks_exact(4) {
        format.put(out, px);
    }
    let row_bytes = (shape.width as usize).div_ceil(8);
    for row in shape.rgba.chunks_exact(shape.width as usize * 4) {
        let start = out.len();
        out.resize(start + row_bytes, 0);
        for (x, px) in row.chunks_exact(4).enumerate() {
            if px[3] >= 128 {
                out[start + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::testdec::ClientFb;
    use super::*;

    /// A picture with solid areas, two-colour text-like areas and smooth gradients, so
    /// every tile kind of every encoder is exercised.
    pub(crate) fn test_picture(w: u32, h: u32) -> Framebuffer {
        let mut fb = Framebuffer::new(w, h).unwrap();
        let px = fb.pixels_mut();
        for y in 0..h as usize {
            for x in 0..w as usize {
                let i = (y * w as usize + x) * 4;
                let rgb = if x < 70 {
                    [200, 210, 220]
                } else if x < 140 {
                    if (x / 3 + y / 5) % 4 == 0 {
                        [0, 0, 0]
                    } else {
                        [255, 255, 255]
                    }
                } else if x < 200 {
                    [((x * 7) % 5 * 50) as u8, (y % 3 * 90) as u8, 40]
                } else {
                    [(x * 3) as u8, (y * 5) as u8, ((x + y) * 2) as u8]
                };
                px[i..i + 3].copy_from_slice(&rgb);
            }
        }
        fb
    }

    fn formats() -> Vec<PixelFormat> {
        vec![
            PixelFormat::SERVER,
            PixelFormat {
                big_endian: true,
                ..PixelFormat::SERVER
            },
            // RGBX in memory, high bytes, as many browsers' canvases like it.
            PixelFormat {
                red_shift: 0,
                green_shift: 8,
                blue_shift: 16,
                ..PixelFormat::SERVER
            },
            PixelFormat {
                red_shift: 24,
                green_shift: 16,
                blue_shift: 8,
                big_endian: true,
                ..PixelFormat::SERVER
            },
            PixelFormat {
                depth: 32,
                ..PixelFormat::SERVER
            },
        ]
    }

    fn round_trip(encoding: Encoding, fb: &Framebuffer, rects: &[Rect], jpeg: Option<u8>) {
        for format in formats() {
            let mut set = EncoderSet::new(format);
            set.set_jpeg_quality(jpeg);
            let mut client = ClientFb::new(fb.width(), fb.height(), format);
            for &r in rects {
                let mut out = Vec::new();
                let n = set.encode(encoding, fb, r, &mut out).unwrap();
                let mut msg = update_header(n).to_vec();
                msg.extend_from_slice(&out);
                let used = client.apply_update(&msg).unwrap();
                assert_eq!(used, msg.len(), "{encoding:?} {format:?}: trailing bytes");
            }
            for &r in rects {
                for dy in 0..r.h {
                    let want = fb.row(r, dy);
                    let got = client.fb.row(r, dy);
                    assert_eq!(got, want, "{encoding:?} {format:?} row {dy} of {r:?}");
                }
            }
        }
    }

    #[test]
    fn every_lossless_encoder_reproduces_the_source_pixels() {
        let fb = test_picture(300, 150);
        let rects = [
            Rect::new(0, 0, 300, 150),
            Rect::new(5, 7, 1, 1),
            Rect::new(65, 60, 80, 70),
            Rect::new(290, 140, 10, 10),
        ];
        for encoding in Encoding::ALL {
            round_trip(encoding, &fb, &rects, None);
        }
    }

    #[test]
    fn tight_splits_wide_rectangles() {
        let fb = test_picture(2100, 20);
        let mut set = EncoderSet::new(PixelFormat::SERVER);
        let mut out = Vec::new();
        let n = set
            .encode(Encoding::Tight, &fb, fb.full_rect(), &mut out)
            .unwrap();
        assert_eq!(n, 2);
        round_trip(Encoding::Tight, &fb, &[fb.full_rect()], None);
    }

    #[test]
    fn tight_jpeg_is_close_to_the_source_and_text_stays_lossless() {
        let fb = test_picture(300, 150);
        let mut set = EncoderSet::new(PixelFormat::SERVER);
        set.set_jpeg_quality(Some(9));
        let mut client = ClientFb::new(300, 150, PixelFormat::SERVER);
        // The gradient area becomes JPEG, the two-colour area stays zlib.
        for r in [Rect::new(200, 0, 100, 150), Rect::new(70, 0, 70, 150)] {
            let mut out = Vec::new();
            let n = set.encode(Encoding::Tight, &fb, r, &mut out).unwrap();
            let mut msg = update_header(n).to_vec();
            msg.extend_from_slice(&out);
            client.apply_update(&msg).unwrap();
        }
        assert!(client.jpeg_rects > 0, "no JPEG rectangle was sent");
        let r = Rect::new(200, 0, 100, 150);
        let diff: u64 = (0..r.h)
            .flat_map(|dy| {
                fb.row(r, dy)
                    .iter()
                    .zip(client.fb.row(r, dy))
                    .map(|(a, b)| u64::from(a.abs_diff(*b)))
                    .collect::<Vec<_>>()
            })
            .sum();
        assert!(diff / (r.area() * 3) < 8, "JPEG too far off: {diff}");
        let text = Rect::new(70, 0, 70, 150);
        for dy in 0..text.h {
            assert_eq!(fb.row(text, dy), client.fb.row(text, dy));
        }
    }

    #[test]
    fn zrle_uses_solid_and_palette_tiles_for_flat_content() {
        let fb = test_picture(300, 150);
        let mut set = EncoderSet::new(PixelFormat::SERVER);
        let mut solid = Vec::new();
        set.encode(Encoding::Zrle, &fb, Rect::new(0, 0, 64, 64), &mut solid)
            .unwrap();
        let mut photo = Vec::new();
        set.encode(Encoding::Zrle, &fb, Rect::new(200, 0, 64, 64), &mut photo)
            .unwrap();
        assert!(solid.len() < 40, "solid tile took {} bytes", solid.len());
        assert!(photo.len() > solid.len() * 10);
        let mut client = ClientFb::new(300, 150, PixelFormat::SERVER);
        client
            .apply_update(&[&update_header(1)[..], &solid].concat())
            .unwrap();
        assert_eq!(client.zrle_subencodings, vec![1]);
        // The zlib stream is shared: the client must inflate every rectangle in order.
        client
            .apply_update(&[&update_header(1)[..], &photo].concat())
            .unwrap();
        // A whole picture uses the palette forms for text-like tiles and raw/RLE for photos.
        let mut out = update_header(1).to_vec();
        set.encode(Encoding::Zrle, &fb, fb.full_rect(), &mut out)
            .unwrap();
        client.apply_update(&out).unwrap();
        let subs = &client.zrle_subencodings;
        assert!(
            subs.iter().any(|s| (2..=16).contains(s) || *s >= 130),
            "{subs:?}"
        );
        assert!(subs.iter().any(|&s| s == 0 || s == 128), "{subs:?}");
    }

    #[test]
    fn cursor_pseudo_rect_carries_pixels_and_mask() {
        let shape = CursorShape {
            width: 9,
            height: 2,
            hotspot_x: 1,
            hotspot_y: 0,
            rgba: (0..18)
                .flat_map(|i| [i as u8, 0, 0, if i % 2 == 0 { 255 } else { 0 }])
                .collect(),
        };
        let mut out = Vec::new();
        cursor(&mut out, &PixelFormat::SERVER, &shape);
        assert_eq!(out.len(), 12 + 18 * 4 + 2 * 2);
        assert_eq!(&out[8..12], &encodings::CURSOR.to_be_bytes());
        // Row 0: pixels 0,2,4,6,8 visible -> 1010_1010 1000_0000.
        assert_eq!(&out[12 + 72..], &[0xAA, 0x80, 0x55, 0x00]);
    }
}
