//! Rectangle decoders: one file per encoding, and the per-connection state they share
//! (zlib streams and scratch buffers, kept in `Decoders`).
//!
//! Each rectangle of a FramebufferUpdate starts with a 12-byte header
//! (`x, y, w, h: u16`, `encoding: i32`), followed by that encoding's payload. Picture
//! encodings (id >= 0) write into the framebuffer after checking that the rectangle lies
//! inside it; pseudo-encodings (id < 0) carry a resize, a cursor, the pointer position or a
//! capability, and reuse the header fields for their own meaning.

mod copyrect;
pub(crate) mod cursor;
mod desktop;
pub mod hextile;
mod raw;
pub mod tight;
pub mod zrle;

use std::io::Read;

use super::RfbError;
use super::zlib::Inflater;
use crate::core::frame::{CursorShape, Framebuffer, Rect};
use crate::core::jpeg::Baseline;

pub const RAW: i32 = 0;
pub const COPY_RECT: i32 = 1;
pub const RRE: i32 = 2;
pub const CORRE: i32 = 4;
pub const HEXTILE: i32 = 5;
pub const ZLIB: i32 = 6;
pub const TIGHT: i32 = 7;
pub const ZLIBHEX: i32 = 8;
pub const TRLE: i32 = 15;
pub const ZRLE: i32 = 16;
pub const JPEG_QUALITY_0: i32 = -32;
pub const JPEG_QUALITY_9: i32 = -23;
pub const DESKTOP_SIZE: i32 = -223;
pub const LAST_RECT: i32 = -224;
pub const POINTER_POS: i32 = -232;
pub const CURSOR: i32 = -239;
pub const X_CURSOR: i32 = -240;
pub const COMPRESS_LEVEL_0: i32 = -256;
pub const COMPRESS_LEVEL_9: i32 = -247;
pub const QEMU_EXTENDED_KEY: i32 = -258;
pub const EXTENDED_DESKTOP_SIZE: i32 = -308;

/// A short name for an encoding or pseudo-encoding id, for the status line.
pub fn encoding_name(id: i32) -> &'static str {
    match id {
        RAW => "Raw",
        COPY_RECT => "CopyRect",
        RRE => "RRE",
        CORRE => "CoRRE",
        HEXTILE => "Hextile",
        ZLIB => "Zlib",
        TIGHT => "Tight",
        ZLIBHEX => "ZlibHex",
        TRLE => "TRLE",
        ZRLE => "ZRLE",
        JPEG_QUALITY_0..=JPEG_QUALITY_9 => "JPEG quality",
        DESKTOP_SIZE => "DesktopSize",
        LAST_RECT => "LastRect",
        POINTER_POS => "PointerPos",
        CURSOR => "Cursor",
        X_CURSOR => "XCursor",
        COMPRESS_LEVEL_0..=COMPRESS_LEVEL_9 => "compress level",
        QEMU_EXTENDED_KEY => "QEMU extended key",
        EXTENDED_DESKTOP_SIZE => "ExtendedDesktopSize",
        _ => "unknown",
    }
}

/// One rectangle header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RectHeader {
    pub rect: Rect,
    pub encoding: i32,
}

impl RectHeader {
    pub(crate) fn parse(b: [u8; 12]) -> Self {
        let u16_at = |i: usize| u32::from(u16::from_be_bytes([b[i], b[i + 1]]));
        Self {
            rect: Rect::new(u16_at(0), u16_at(2), u16_at(4), u16_at(6)),
            encoding: i32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }
}

/// What a rectangle did, for the update summary.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RectOutcome {
    /// Pixels inside the rectangle changed.
    Drawn,
    /// The framebuffer has a new size (and undefined, black content).
    Resized,
    /// A new cursor shape; `None` hides it.
    Cursor(Option<CursorShape>),
    Pointer(u32, u32),
    /// The server confirmed QEMU extended key events.
    QemuKeys,
    /// The update ends here.
    LastRect,
    /// Nothing to report (a quality or compression level echo).
    Nothing,
}

/// Decoder state that lives as long as the connection.
pub(crate) struct Decoders {
    zrle: Inflater,
    tight: [Inflater; 4],
    /// Scratch for payloads read whole (Tight raw data and JPEG bytes, cursors).
    buf: Vec<u8>,
    /// Scratch for decoded rows or images (Tight gradient rows, JPEG output).
    pixels: Vec<u8>,
    /// Tight's common JPEGs, with the tables they share.
    jpeg: Baseline,
}

impl Decoders {
    pub(crate) fn new() -> Self {
        Self {
            zrle: Inflater::new(),
            tight: std::array::from_fn(|_| Inflater::new()),
            buf: Vec::new(),
            pixels: Vec::new(),
            jpeg: Baseline::new(),
        }
    }

    /// The zlib streams a keyframe saves: ZRLE's, then Tight's four.
    pub(crate) const STREAMS: usize = 5;

    fn stream_mut(&mut self, i: usize) -> &mut Inflater {
        match i {
            0 => &mut self.zrle,
            i => &mut self.tight[(i - 1) % 4],
        }
    }

    /// Every zlib stream keeps its window from now on.
    pub(crate) fn keep_windows(&mut self) {
        for i in 0..Self::STREAMS {
            self.stream_mut(i).keep_window();
        }
    }

    /// Each stream's saved state, in [`Decoders::STREAMS`] order; `None` unless
    /// [`Decoders::keep_windows`] was called.
    pub(crate) fn saved(&self) -> Option<[(bool, &[u8]); Self::STREAMS]> {
        Some([
            self.zrle.saved()?,
            self.tight[0].saved()?,
            self.tight[1].saved()?,
            self.tight[2].saved()?,
            self.tight[3].saved()?,
        ])
    }

    /// Continues stream `i` from a saved state.
    pub(crate) fn restore(
        &mut self,
        i: usize,
        started: bool,
        window: &[u8],
    ) -> Result<(), RfbError> {
        self.stream_mut(i).restore(started, window)
    }

    /// Reads one rectangle's payload and applies it to `fb`.
    pub(crate) fn rect(
        &mut self,
        r: &mut dyn Read,
        fb: &mut Framebuffer,
        h: RectHeader,
    ) -> Result<RectOutcome, RfbError> {
        let rect = h.rect;
        match h.encoding {
            RAW => raw::decode(r, fb, rect)?,
            COPY_RECT => copyrect::decode(r, fb, rect)?,
            HEXTILE => hextile::decode(r, fb, rect)?,
            ZRLE => zrle::decode(r, fb, rect, &mut self.zrle)?,
            TIGHT => tight::decode(r, fb, rect, self)?,
            DESKTOP_SIZE => {
                fb.resize(rect.w, rect.h)?;
                return Ok(RectOutcome::Resized);
            }
            EXTENDED_DESKTOP_SIZE => {
                let resized = desktop::extended(r, fb, rect)?;
                return Ok(if resized {
                    RectOutcome::Resized
                } else {
                    RectOutcome::Nothing
                });
            }
            CURSOR => return cursor::decode(r, rect, &mut self.buf).map(RectOutcome::Cursor),
            POINTER_POS => return Ok(RectOutcome::Pointer(rect.x, rect.y)),
            LAST_RECT => return Ok(RectOutcome::LastRect),
            QEMU_EXTENDED_KEY => return Ok(RectOutcome::QemuKeys),
            JPEG_QUALITY_0..=JPEG_QUALITY_9 | COMPRESS_LEVEL_0..=COMPRESS_LEVEL_9 => {
                return Ok(RectOutcome::Nothing);
            }
            id => return Err(RfbError::UnsupportedEncoding { id }),
        }
        Ok(RectOutcome::Drawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_what_we_advertise() {
        assert_eq!(encoding_name(TIGHT), "Tight");
        assert_eq!(encoding_name(ZRLE), "ZRLE");
        assert_eq!(encoding_name(RAW), "Raw");
        assert_eq!(encoding_name(-25), "JPEG quality");
        assert_eq!(encoding_name(-254), "compress level");
        assert_eq!(encoding_name(12345), "unknown");
    }

    #[test]
    fn header_fields_are_big_endian() {
        let h = RectHeader::parse([0, 1, 0, 2, 1, 0, 0, 4, 0xff, 0xff, 0xff, 0x21]);
        assert_eq!(h.rect, Rect::new(1, 2, 256, 4));
        assert_eq!(h.encoding, DESKTOP_SIZE);
    }
}
