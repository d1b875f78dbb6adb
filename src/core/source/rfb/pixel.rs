//! The one pixel format Lookout asks for, and the row conversions into RGBA8.
//!
//! We send SetPixelFormat for 32 bits per pixel, depth 24, true colour, little-endian,
//! red/green/blue shifts 0/8/16 and maxima 255. On the wire that makes:
//! - `PIXEL` (Raw, Hextile, Cursor): 4 bytes R, G, B, X: already our RGBA layout, except
//!   that X is padding (Xvnc sends 0), so alpha is forced to 255;
//! - `CPIXEL` (ZRLE) and `TPIXEL` (Tight): 3 bytes R, G, B.

/// Bytes per `PIXEL` on the wire.
pub(crate) const PIXEL_BYTES: usize = 4;
/// Bytes per ZRLE `CPIXEL` / Tight `TPIXEL`.
pub(crate) const CPIXEL_BYTES: usize = 3;

/// The 16-byte PIXEL_FORMAT structure of SetPixelFormat.
pub(crate) const PIXEL_FORMAT: [u8; 16] = [
    32, // bits per pixel
    24, // depth
    0,  // big-endian flag: little-endian
    1,  // true colour
    0, 255, // red max
    0, 255, // green max
    0, 255, // blue max
    0,   // red shift
    8,   // green shift
    16,  // blue shift
    0, 0, 0, // padding
];

/// An opaque RGBA8 pixel from a 3-byte CPIXEL/TPIXEL (the caller passes exactly 3 bytes).
pub(crate) fn rgba_from_cpixel(c: &[u8]) -> [u8; 4] {
    match c {
        [r, g, b, ..] => [*r, *g, *b, 255],
        _ => [0, 0, 0, 255],
    }
}

/// An opaque RGBA8 pixel from a 4-byte PIXEL.
pub(crate) fn rgba_from_pixel(p: [u8; 4]) -> [u8; 4] {
    [p[0], p[1], p[2], 255]
}

/// Expands packed 3-byte pixels into an RGBA8 row; `dst` decides how many.
pub(crate) fn cpixels_to_row(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(CPIXEL_BYTES)) {
        d[0] = s[0];
        d[1] = s[1];
        d[2] = s[2];
        d[3] = 255;
    }
}

/// Sets every alpha byte of an RGBA8 row to 255.
pub(crate) fn force_opaque(row: &mut [u8]) {
    for px in row.chunks_exact_mut(4) {
        px[3] = 255;
    }
}

/// Fills an RGBA8 row segment with one pixel.
pub(crate) fn fill_row(row: &mut [u8], px: [u8; 4]) {
    for d in row.chunks_exact_mut(4) {
        d.copy_from_slice(&px);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_produce_opaque_rgba() {
        let mut row = [9u8; 8];
        cpixels_to_row(&mut row, &[1, 2, 3, 4, 5, 6]);
        assert_eq!(row, [1, 2, 3, 255, 4, 5, 6, 255]);
        let mut row = [1, 2, 3, 0, 4, 5, 6, 7];
        force_opaque(&mut row);
        assert_eq!(row, [1, 2, 3, 255, 4, 5, 6, 255]);
        fill_row(&mut row, [7, 8, 9, 255]);
        assert_eq!(row, [7, 8, 9, 255, 7, 8, 9, 255]);
        assert_eq!(rgba_from_pixel([1, 2, 3, 0]), [1, 2, 3, 255]);
        assert_eq!(rgba_from_cpixel(&[4, 5, 6]), [4, 5, 6, 255]);
    }
}
