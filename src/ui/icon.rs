//! Lookout's icon (`assets/lookout.svg`, its PNG sizes made by `packaging/make-icons.sh`):
//! the window's, built into the program; the desktop entry and the notifications name the
//! installed one, [`ICON_NAME`] in the hicolor theme (the application's ID, as the
//! desktop entry's file name and the window's class are).

use std::sync::Arc;

/// The icon's name in the icon theme, and the desktop entry's
/// (`dev.lookout.Lookout.desktop`).
pub const ICON_NAME: &str = super::APP_ID;

/// The window's icon, at 128 pixels.
const PNG: &[u8] = include_bytes!("../../assets/icons/lookout-128.png");

/// The window's icon; `None` (the window manager's default) should it not decode.
pub fn window_icon() -> Option<Arc<egui::IconData>> {
    match decode(PNG) {
        Ok(icon) => Some(Arc::new(icon)),
        Err(e) => {
            tracing::warn!("the window's icon does not decode: {e}");
            None
        }
    }
}

/// An 8-bit RGBA PNG as icon data.
fn decode(png_bytes: &[u8]) -> Result<egui::IconData, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("the icon is too large")?;
    let mut rgba = vec![0; size];
    let info = reader.next_frame(&mut rgba).map_err(|e| e.to_string())?;
    if (info.color_type, info.bit_depth) != (png::ColorType::Rgba, png::BitDepth::Eight) {
        return Err(format!(
            "the icon is {:?} {:?}, not RGBA8",
            info.color_type, info.bit_depth
        ));
    }
    rgba.truncate(info.buffer_size());
    Ok(egui::IconData {
        rgba,
        width: info.width,
        height: info.height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_icon_is_the_built_in_picture() {
        let icon = window_icon().expect("decodes");
        assert_eq!((icon.width, icon.height), (128, 128));
        assert_eq!(icon.rgba.len(), 128 * 128 * 4);
        // Rounded corners: the corner is clear, the middle is opaque.
        assert_eq!(icon.rgba[3], 0, "corner alpha");
        let mid = (64 * 128 + 64) * 4;
        assert_eq!(icon.rgba[mid + 3], 255, "middle alpha");
        assert!(decode(b"not a png").is_err());
    }
}
