//! RFB pixel formats as the simulator's server sees them: the 16-byte `PIXEL_FORMAT` wire
//! structure, which client formats we serve, and the conversion of our RGBA8 pixels into the
//! client's pixel values (and the shorter ZRLE `CPIXEL` and Tight `TPIXEL` forms).
//!
//! Wire layout (16 bytes): `bits-per-pixel u8, depth u8, big-endian u8, true-colour u8,
//! red-max u16, green-max u16, blue-max u16, red-shift u8, green-shift u8, blue-shift u8,
//! 3 padding`. We serve any 32-bpp true-colour format whose channel maxima are `2^n - 1`
//! and whose fields fit in 32 bits, in either byte order; anything else is refused.

/// An RFB pixel format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelFormat {
    pub bits_per_pixel: u8,
    pub depth: u8,
    pub big_endian: bool,
    pub true_colour: bool,
    pub red_max: u16,
    pub green_max: u16,
    pub blue_max: u16,
    pub red_shift: u8,
    pub green_shift: u8,
    pub blue_shift: u8,
}

/// Why a client's pixel format cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PixelFormatError {
    #[error("{bits_per_pixel} bits per pixel is not served (only 32)")]
    BitsPerPixel { bits_per_pixel: u8 },
    #[error("colour-map pixel formats are not served")]
    ColourMap,
    #[error("channel maximum {max} is not 2^n - 1 or its field does not fit (shift {shift})")]
    Channel { max: u16, shift: u8 },
}

/// How a ZRLE `CPIXEL` is cut from a full pixel's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpixelLayout {
    /// All four bytes.
    Full,
    /// Three bytes starting at this offset in the (endian-ordered) four pixel bytes.
    Three { offset: usize },
}

impl PixelFormat {
    /// The simulator's native format: 32 bpp, depth 24, little-endian, `0x00RRGGBB`
    /// (what x11vnc on a 24-bit Xvfb announces).
    pub const SERVER: Self = Self {
        bits_per_pixel: 32,
        depth: 24,
        big_endian: false,
        true_colour: true,
        red_max: 255,
        green_max: 255,
        blue_max: 255,
        red_shift: 16,
        green_shift: 8,
        blue_shift: 0,
    };

    /// Parses the 16-byte wire structure.
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        Self {
            bits_per_pixel: b[0],
            depth: b[1],
            big_endian: b[2] != 0,
            true_colour: b[3] != 0,
            red_max: u16::from_be_bytes([b[4], b[5]]),
            green_max: u16::from_be_bytes([b[6], b[7]]),
            blue_max: u16::from_be_bytes([b[8], b[9]]),
            red_shift: b[10],
            green_shift: b[11],
            blue_shift: b[12],
        }
    }

    /// The 16-byte wire structure.
    pub fn to_bytes(&self) -> [u8; 16] {
        let [rh, rl] = self.red_max.to_be_bytes();
        let [gh, gl] = self.green_max.to_be_bytes();
        let [bh, bl] = self.blue_max.to_be_bytes();
        [
            self.bits_per_pixel,
            self.depth,
            u8::from(self.big_endian),
            u8::from(self.true_colour),
            rh,
            rl,
            gh,
            gl,
            bh,
            bl,
            self.red_shift,
            self.green_shift,
            self.blue_shift,
            0,
            0,
            0,
        ]
    }

    /// Checks that we can produce this format.
    pub fn check_supported(&self) -> Result<(), PixelFormatError> {
        if self.bits_per_pixel != 32 {
            return Err(PixelFormatError::BitsPerPixel {
                bits_per_pixel: self.bits_per_pixel,
            });
        }
        if !self.true_colour {
            return Err(PixelFormatError::ColourMap);
        }
        for (max, shift) in self.channels() {
            let bits = 16 - max.leading_zeros();
            let is_mask = max != 0 && (u32::from(max) + 1).is_power_of_two();
            if !is_mask || u32::from(shift) + bits > 32 {
                return Err(PixelFormatError::Channel { max, shift });
            }
        }
        Ok(())
    }

    fn channels(&self) -> [(u16, u8); 3] {
        [
            (self.red_max, self.red_shift),
            (self.green_max, self.green_shift),
            (self.blue_max, self.blue_shift),
        ]
    }

    /// The pixel value for an 8-bit-per-channel colour. The format must be supported.
    pub fn value(&self, r: u8, g: u8, b: u8) -> u32 {
        scale(r, self.red_max) << self.red_shift
            | scale(g, self.green_max) << self.green_shift
            | scale(b, self.blue_max) << self.blue_shift
    }

    /// The four bytes of a pixel value in the format's byte order.
    pub fn value_bytes(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Appends the pixel for an RGBA8 colour (alpha ignored).
    pub fn put(&self, out: &mut Vec<u8>, rgba: &[u8]) {
        out.extend_from_slice(&self.value_bytes(self.value(rgba[0], rgba[1], rgba[2])));
    }

    /// The ZRLE compressed-pixel layout (RFB spec, ZRLE: `CPIXEL`).
    pub fn cpixel(&self) -> CpixelLayout {
        let mask = self
            .channels()
            .iter()
            .fold(0u64, |m, &(max, shift)| m | u64::from(max) << shift);
        let fits_low = mask & 0xFF00_0000 == 0;
        let fits_high = mask & 0x0000_00FF == 0;
        if self.depth > 24 || !(fits_low || fits_high) {
            return CpixelLayout::Full;
        }
        // The low three bytes come last in big-endian order and first in little-endian.
        let offset = match (fits_low, self.big_endian) {
            (true, true) | (false, false) => 1,
            (true, false) | (false, true) => 0,
        };
        CpixelLayout::Three { offset }
    }

    /// Whether a Tight `TPIXEL` is the 3-byte R, G, B form (32 bpp, depth 24, 8 bits each).
    pub fn tpixel_is_rgb(&self) -> bool {
        self.depth == 24 && self.red_max == 255 && self.green_max == 255 && self.blue_max == 255
    }
}

/// Scales an 8-bit channel to `0..=max`, rounding.
fn scale(c: u8, max: u16) -> u32 {
    if max == 255 {
        u32::from(c)
    } else {
        (u32::from(c) * u32::from(max) + 127) / 255
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_server_format_is_bgrx() {
        let b = PixelFormat::SERVER.to_bytes();
        assert_eq!(PixelFormat::from_bytes(&b), PixelFormat::SERVER);
        assert_eq!(b[..4], [32, 24, 0, 1]);
        let px = PixelFormat::SERVER.value_bytes(PixelFormat::SERVER.value(1, 2, 3));
        assert_eq!(px, [3, 2, 1, 0]);
    }

    #[test]
    fn refuses_other_depths_colour_maps_and_bad_channels() {
        let mut pf = PixelFormat::SERVER;
        pf.bits_per_pixel = 16;
        assert!(matches!(
            pf.check_supported(),
            Err(PixelFormatError::BitsPerPixel { .. })
        ));
        let mut pf = PixelFormat::SERVER;
        pf.true_colour = false;
        assert_eq!(pf.check_supported(), Err(PixelFormatError::ColourMap));
        let mut pf = PixelFormat::SERVER;
        pf.red_max = 200;
        assert!(pf.check_supported().is_err());
        let mut pf = PixelFormat::SERVER;
        pf.red_shift = 30;
        assert!(pf.check_supported().is_err());
        let mut pf = PixelFormat::SERVER;
        pf.red_max = 1023;
        pf.red_shift = 20;
        pf.green_max = 1023;
        pf.green_shift = 10;
        pf.blue_max = 1023;
        pf.blue_shift = 0;
        pf.depth = 30;
        assert!(pf.check_supported().is_ok());
        assert_eq!(pf.value(255, 0, 255) >> 20, 1023);
        assert_eq!(pf.cpixel(), CpixelLayout::Full);
    }

    #[test]
    fn cpixel_picks_the_three_meaningful_bytes() {
        let le_low = PixelFormat::SERVER;
        assert_eq!(le_low.cpixel(), CpixelLayout::Three { offset: 0 });
        let be_low = PixelFormat {
            big_endian: true,
            ..PixelFormat::SERVER
        };
        assert_eq!(be_low.cpixel(), CpixelLayout::Three { offset: 1 });
        let le_high = PixelFormat {
            red_shift: 24,
            green_shift: 16,
            blue_shift: 8,
            ..PixelFormat::SERVER
        };
        assert_eq!(le_high.cpixel(), CpixelLayout::Three { offset: 1 });
        let be_high = PixelFormat {
            big_endian: true,
            ..le_high
        };
        assert_eq!(be_high.cpixel(), CpixelLayout::Three { offset: 0 });
        let depth32 = PixelFormat {
            depth: 32,
            ..PixelFormat::SERVER
        };
        assert_eq!(depth32.cpixel(), CpixelLayout::Full);
    }
}
