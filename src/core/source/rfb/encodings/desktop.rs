//! ExtendedDesktopSize pseudo-encoding (-308): x is the reason, y the status of a requested
//! change, w and h the framebuffer size; then `screens: u8`, 3 padding bytes and 16 bytes a
//! screen (`id: u32, x, y, w, h: u16, flags: u32`). Lookout shows the whole framebuffer, so
//! the screen layout is read and dropped. (Plain DesktopSize, -223, carries only w and h.)

use std::io::Read;

use super::super::RfbError;
use super::super::wire::Wire;
use crate::core::frame::{Framebuffer, Rect};

const SCREEN_BYTES: u64 = 16;

/// Applies the rectangle; true when the framebuffer changed size.
pub(super) fn extended(
    r: &mut dyn Read,
    fb: &mut Framebuffer,
    rect: Rect,
) -> Result<bool, RfbError> {
    let [screens, _, _, _] = r.array()?;
    r.skip(u64::from(screens) * SCREEN_BYTES)?;
    // A refused request repeats the current size; only a real change discards the picture.
    if (rect.w, rect.h) == (fb.width(), fb.height()) {
        return Ok(false);
    }
    fb.resize(rect.w, rect.h)?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::core::frame::FrameError;

    #[test]
    fn resizes_only_on_change_and_skips_screens() {
        let mut fb = Framebuffer::new(4, 4).unwrap();
        let mut data = vec![2, 0, 0, 0];
        data.extend([0u8; 32]);
        data.push(99);
        let mut r = &data[..];
        assert!(!extended(&mut r, &mut fb, Rect::new(1, 3, 4, 4)).unwrap());
        assert_eq!(r, [99]);
        let mut r = &data[..];
        assert!(extended(&mut r, &mut fb, Rect::new(0, 0, 8, 2)).unwrap());
        assert_eq!((fb.width(), fb.height()), (8, 2));
        let mut r = &[0u8, 0, 0, 0][..];
        let err = extended(&mut r, &mut fb, Rect::new(0, 0, 0, 2)).unwrap_err();
        assert!(matches!(
            err,
            RfbError::Frame(FrameError::FramebufferTooLarge { .. })
        ));
        assert!(extended(&mut &data[..20], &mut fb, Rect::new(0, 0, 8, 8)).is_err());
    }
}
