//! Recorded RFB sessions: the exact server-to-client byte stream the simulator's server would
//! send to one Lookout client, made offline and deterministically, for decoder benches and
//! cross-checks against other RFB clients.
//!
//! The stream (RFB 3.8, all integers big-endian):
//!
//! ```text
//! "RFB 003.008\n"                          ProtocolVersion
//! [1, 1]                                   one security type: None
//! [0, 0, 0, 0]                             SecurityResult OK
//! w u16, h u16, PIXEL_FORMAT, name         ServerInit (announcing the client's format)
//! FramebufferUpdate                        the whole screen
//! FramebufferUpdate × updates              CopyRect for scrolls, then the damaged areas
//! ```
//!
//! The modelled client sent SetPixelFormat for Lookout's format (32 bpp, depth 24,
//! little-endian, R/G/B shifts 0/8/16), SetEncodings with only the chosen encoding (plus
//! CopyRect, except for Raw, which stands for a client that lists nothing else) and no
//! Cursor pseudo-encoding, so the pointer is painted into the picture, and an incremental
//! request after every update. ServerInit already announces that format, so the stream
//! decodes right whether or not the reader sends SetPixelFormat.
//!
//! The picture is a [`Desktop`] from [`CAPTURE_START_TICK`] (the pointer leaving the
//! captcha box, then the page scrolling down). Each update carries the damage of the next
//! ticks up to the first that changed anything (idle ticks send nothing), folded and encoded
//! by the same `PendingDamage` and [`EncoderSet`] code the live server uses.

use crate::core::frame::{FrameError, Framebuffer};
use crate::sim::desktop::{CYCLE_TICKS, Desktop};
use crate::sim::rfb::damage::PendingDamage;
use crate::sim::rfb::encode::{self, EncodeError, EncoderSet, Encoding};
use crate::sim::rfb::pixel::PixelFormat;

/// The first tick shown: 15 ticks before the page starts scrolling, so even a short capture
/// has CopyRects and a long one (5 s at 24 fps) the whole scroll down.
pub const CAPTURE_START_TICK: u64 = 190;
/// JPEG quality level used for [`CaptureEncoding::TightJpeg`] when none is given.
pub const DEFAULT_JPEG_QUALITY: u8 = 7;

/// The pixel format Lookout's RFB client asks for.
pub const CLIENT_FORMAT: PixelFormat = PixelFormat {
    red_shift: 0,
    green_shift: 8,
    blue_shift: 16,
    ..PixelFormat::SERVER
};

/// The encoding a recorded client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaptureEncoding {
    Raw,
    Hextile,
    Zrle,
    /// Tight without the JPEG quality pseudo-encoding: every rectangle is lossless.
    TightLossless,
    /// Tight with a JPEG quality level: photo-like areas go as JPEG.
    TightJpeg,
}

impl CaptureEncoding {
    pub const ALL: [CaptureEncoding; 5] = [
        CaptureEncoding::Raw,
        CaptureEncoding::Hextile,
        CaptureEncoding::Zrle,
        CaptureEncoding::TightLossless,
        CaptureEncoding::TightJpeg,
    ];

    /// A short name for reports ("zrle", "tight-jpeg", …).
    pub fn name(self) -> &'static str {
        match self {
            CaptureEncoding::Raw => "raw",
            CaptureEncoding::Hextile => "hextile",
            CaptureEncoding::Zrle => "zrle",
            CaptureEncoding::TightLossless => "tight",
            CaptureEncoding::TightJpeg => "tight-jpeg",
        }
    }

    fn encoding(self) -> Encoding {
        match self {
            CaptureEncoding::Raw => Encoding::Raw,
            CaptureEncoding::Hextile => Encoding::Hextile,
            CaptureEncoding::Zrle => Encoding::Zrle,
            CaptureEncoding::TightLossless | CaptureEncoding::TightJpeg => Encoding::Tight,
        }
    }

    /// Whether the modelled client listed CopyRect.
    fn copy_rect(self) -> bool {
        self != CaptureEncoding::Raw
    }
}

/// Why a session could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("the desktop stayed idle for a whole cycle")]
    Idle,
    #[error("an update of {0} rectangles does not fit one message")]
    TooManyRects(u32),
}

/// A recorded session and what it shows.
#[derive(Debug)]
pub struct Capture {
    /// The server-to-client byte stream.
    pub bytes: Vec<u8>,
    /// Where the incremental updates start (after the handshake and the full update).
    pub first_incremental: usize,
    /// FramebufferUpdate messages in `bytes` (the full one included).
    pub updates: usize,
    /// Rectangles in all updates, and how many of them are CopyRects.
    pub rects: usize,
    pub copy_rects: usize,
    /// The desktop as the last update leaves it (pointer painted in).
    pub desktop: Desktop,
}

impl Capture {
    /// The picture a correct decoder ends with.
    pub fn final_frame(&self) -> &Framebuffer {
        self.desktop.framebuffer()
    }
}

/// The server-to-client bytes of a `width`×`height` session in `encoding`: handshake, one
/// full-screen update, then `updates` incremental ones. `jpeg_quality` (0–9, default
/// [`DEFAULT_JPEG_QUALITY`]) only matters for [`CaptureEncoding::TightJpeg`].
pub fn synthetic_session(
    encoding: CaptureEncoding,
    width: u32,
    height: u32,
    updates: usize,
    jpeg_quality: Option<u8>,
) -> Result<Vec<u8>, CaptureError> {
    record(encoding, width, height, updates, jpeg_quality).map(|c| c.bytes)
}

/// [`synthetic_session`] with the final desktop and the message boundaries.
pub fn record(
    encoding: CaptureEncoding,
    width: u32,
    height: u32,
    updates: usize,
    jpeg_quality: Option<u8>,
) -> Result<Capture, CaptureError> {
    let mut desktop = Desktop::new(width, height, "capture", CAPTURE_START_TICK)?;
    // The client did not ask for the Cursor pseudo-encoding: the server paints the pointer.
    desktop.set_cursor_overlay(true);
    let mut encoders = EncoderSet::new(CLIENT_FORMAT);
    if encoding == CaptureEncoding::TightJpeg {
        encoders.set_jpeg_quality(Some(jpeg_quality.unwrap_or(DEFAULT_JPEG_QUALITY).min(9)));
    }

    let mut out = handshake(width, height, encoding);
    let screen = desktop.framebuffer().full_rect();
    let mut damage = PendingDamage::new(screen);
    damage.add_full(screen);
    let mut counts = RectCounts::default();
    write_update(
        &mut out,
        &mut damage,
        &desktop,
        &mut encoders,
        encoding,
        &mut counts,
    )?;
    let first_incremental = out.len();

    for _ in 0..updates {
        let mut idle_ticks = 0;
        while damage.is_empty() {
            if idle_ticks == CYCLE_TICKS {
                return Err(CaptureError::Idle);
            }
            let d = desktop.advance();
            if let Some(s) = d.scroll {
                damage.add_scroll(s);
            }
            for r in d.dirty {
                damage.add_rect(r);
            }
            idle_ticks += 1;
        }
        write_update(
            &mut out,
            &mut damage,
            &desktop,
            &mut encoders,
            encoding,
            &mut counts,
        )?;
    }
    Ok(Capture {
        bytes: out,
        first_incremental,
        updates: updates + 1,
        rects: counts.rects,
        copy_rects: counts.copy_rects,
        desktop,
    })
}

/// ProtocolVersion, security types, SecurityResult and ServerInit.
fn handshake(width: u32, height: u32, encoding: CaptureEncoding) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"RFB 003.008\n");
    out.extend_from_slice(&[1, 1]);
    out.extend_from_slice(&0u32.to_be_bytes());
    // Desktop sizes are checked by `Desktop::new` (≤ 16384), inside u16.
    out.extend_from_slice(&(width as u16).to_be_bytes());
    out.extend_from_slice(&(height as u16).to_be_bytes());
    out.extend_from_slice(&CLIENT_FORMAT.to_bytes());
    let name = format!("Lookout capture - {}", encoding.name());
    out.extend_from_slice(&(name.len() as u32).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out
}

#[derive(Debug, Default)]
struct RectCounts {
    rects: usize,
    copy_rects: usize,
}

/// Appends one FramebufferUpdate with everything pending, as the live server sends it.
fn write_update(
    out: &mut Vec<u8>,
    damage: &mut PendingDamage,
    desktop: &Desktop,
    encoders: &mut EncoderSet,
    encoding: CaptureEncoding,
    counts: &mut RectCounts,
) -> Result<(), CaptureError> {
    let start = out.len();
    out.extend_from_slice(&encode::update_header(0));
    let mut count = 0u32;
    let (scroll, rects) = damage.take(encoding.copy_rect());
    if let Some((dst, sx, sy)) = scroll.and_then(|s| s.copy()) {
        encode::copy_rect(out, dst, sx, sy);
        count += 1;
        counts.copy_rects += 1;
    }
    let fb = desktop.framebuffer();
    for r in rects {
        count += u32::from(encoders.encode(encoding.encoding(), fb, r, out)?);
    }
    let n = u16::try_from(count).map_err(|_| CaptureError::TooManyRects(count))?;
    out[start + 2..start + 4].copy_from_slice(&n.to_be_bytes());
    counts.rects += usize::from(n);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::core::source::rfb::{
        EncodingPreference, RfbClient, RfbError, RfbOptions, ServerEvent,
    };

    fn options(encoding: CaptureEncoding) -> RfbOptions {
        let (encodings, jpeg_quality) = match encoding {
            CaptureEncoding::Raw => (EncodingPreference::Raw, None),
            CaptureEncoding::Hextile => (EncodingPreference::Hextile, None),
            CaptureEncoding::Zrle => (EncodingPreference::Zrle, None),
            CaptureEncoding::TightLossless => (EncodingPreference::Tight, None),
            CaptureEncoding::TightJpeg => (EncodingPreference::Tight, Some(DEFAULT_JPEG_QUALITY)),
        };
        RfbOptions {
            encodings,
            jpeg_quality,
            ..RfbOptions::default()
        }
    }

    /// Decodes a whole capture with our client; returns its picture and the update count.
    fn decode(capture: &Capture, encoding: CaptureEncoding) -> (Framebuffer, usize) {
        let mut r = capture.bytes.as_slice();
        let mut sink = Vec::new();
        let mut client = RfbClient::connect(&mut r, &mut sink, &options(encoding)).unwrap();
        let mut updates = 0;
        loop {
            match client.read_message(&mut r, &mut sink) {
                Ok(ServerEvent::Update(_)) => updates += 1,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(RfbError::Closed) => break,
                Err(e) => panic!("{encoding:?}: {e}"),
            }
        }
        (client.framebuffer().clone(), updates)
    }

    /// Mean and largest per-channel difference (RGB).
    fn difference(a: &Framebuffer, b: &Framebuffer) -> (f64, u8) {
        let (mut sum, mut max) = (0u64, 0u8);
        for (pa, pb) in a.pixels().chunks_exact(4).zip(b.pixels().chunks_exact(4)) {
            for c in 0..3 {
                let d = pa[c].abs_diff(pb[c]);
                sum += u64::from(d);
                max = max.max(d);
            }
        }
        (sum as f64 / (a.pixels().len() / 4 * 3) as f64, max)
    }

    #[test]
    fn our_client_decodes_every_capture_to_the_desktop_picture() {
        for encoding in CaptureEncoding::ALL {
            let capture = record(encoding, 1280, 720, 40, None).unwrap();
            assert_eq!(&capture.bytes[..12], b"RFB 003.008\n");
            let (fb, updates) = decode(&capture, encoding);
            assert_eq!(updates, 41, "{encoding:?}");
            // The capture really ran the scene forward, pointer painted in.
            let mut fresh = Desktop::new(1280, 720, "capture", capture.desktop.tick()).unwrap();
            fresh.set_cursor_overlay(true);
            assert!(fresh.framebuffer() == capture.final_frame());
            assert!(capture.desktop.tick() >= CAPTURE_START_TICK + 40);
            if encoding == CaptureEncoding::TightJpeg {
                let (mean, max) = difference(&fb, capture.final_frame());
                assert!(mean < 3.0 && max > 0, "JPEG off by {mean:.2} on average");
            } else {
                assert!(fb == *capture.final_frame(), "{encoding:?} differs");
            }
        }
    }

    #[test]
    fn scrolls_become_copy_rects_except_for_raw() {
        let zrle = record(CaptureEncoding::Zrle, 480, 360, 30, None).unwrap();
        assert!(zrle.copy_rects >= 10, "{} CopyRects", zrle.copy_rects);
        assert!(zrle.rects > zrle.copy_rects);
        let raw = record(CaptureEncoding::Raw, 480, 360, 30, None).unwrap();
        assert_eq!(raw.copy_rects, 0);
        // Without CopyRect the scrolled page is repainted: far more bytes.
        let incremental = |c: &Capture| c.bytes.len() - c.first_incremental;
        assert!(incremental(&raw) > 4 * incremental(&zrle));
    }

    #[test]
    fn captures_are_deterministic() {
        let a = synthetic_session(CaptureEncoding::TightJpeg, 320, 240, 10, Some(5)).unwrap();
        let b = synthetic_session(CaptureEncoding::TightJpeg, 320, 240, 10, Some(5)).unwrap();
        assert_eq!(a, b);
        assert!(synthetic_session(CaptureEncoding::Raw, 0, 240, 1, None).is_err());
    }
}
