//! Operator input in remote pixels. The UI maps its own coordinates to these; sources
//! encode them for their wire (RFB PointerEvent/KeyEvent, preview JSON).

/// One input event, already in the remote picture's pixel space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputEvent {
    /// The pointer is at (x, y) with these buttons held (bit 0 left, 1 middle, 2 right,
    /// 3/4 wheel up/down, 5/6 wheel left/right: the RFB button mask).
    Pointer { x: u32, y: u32, buttons: u8 },
    /// A key went down or up, as an X11 keysym.
    Key { keysym: u32, down: bool },
}
