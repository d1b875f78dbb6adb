//! X11 keysyms: the key identity every input event carries, whatever the wire.
//!
//! RFB KeyEvent sends keysyms as they are; the preview protocol's keyboard messages are
//! derived from them ([`NamedKey::dom_key`] and the character itself). Characters map by
//! rule ([`from_char`]): Latin-1 keysyms equal their code point, other Unicode characters
//! are `0x0100_0000 + code point` (the X11 Unicode keysym range). Keys without a character
//! come from the [`NamedKey`] table. The front end maps its own key codes onto these (the
//! window's: `ui::keys`).

/// `0x0100_0000 + code point`: how X11 names a character outside Latin-1.
pub const UNICODE_OFFSET: u32 = 0x0100_0000;

pub const BACKSPACE: u32 = 0xff08;
pub const TAB: u32 = 0xff09;
pub const CLEAR: u32 = 0xff0b;
/// Return (the main Enter key).
pub const ENTER: u32 = 0xff0d;
pub const PAUSE: u32 = 0xff13;
pub const SCROLL_LOCK: u32 = 0xff14;
pub const ESCAPE: u32 = 0xff1b;
pub const HOME: u32 = 0xff50;
pub const LEFT: u32 = 0xff51;
pub const UP: u32 = 0xff52;
pub const RIGHT: u32 = 0xff53;
pub const DOWN: u32 = 0xff54;
pub const PAGE_UP: u32 = 0xff55;
pub const PAGE_DOWN: u32 = 0xff56;
pub const END: u32 = 0xff57;
pub const PRINT: u32 = 0xff61;
pub const INSERT: u32 = 0xff63;
pub const MENU: u32 = 0xff67;
pub const HELP: u32 = 0xff6a;
pub const NUM_LOCK: u32 = 0xff7f;
/// F1; F2..F35 follow it without gaps.
pub const F1: u32 = 0xffbe;
pub const F12: u32 = 0xffc9;
pub const SHIFT_L: u32 = 0xffe1;
pub const SHIFT_R: u32 = 0xffe2;
pub const CONTROL_L: u32 = 0xffe3;
pub const CONTROL_R: u32 = 0xffe4;
pub const CAPS_LOCK: u32 = 0xffe5;
pub const META_L: u32 = 0xffe7;
pub const META_R: u32 = 0xffe8;
pub const ALT_L: u32 = 0xffe9;
pub const ALT_R: u32 = 0xffea;
pub const SUPER_L: u32 = 0xffeb;
pub const SUPER_R: u32 = 0xffec;
pub const DELETE: u32 = 0xffff;

/// The keysym of a typed character; `None` for control characters that are not keys
/// (`'\n'`, `'\r'` and `'\t'` are Enter and Tab, `'\u{8}'` Backspace, `'\u{1b}'` Escape,
/// `'\u{7f}'` Delete).
pub fn from_char(c: char) -> Option<u32> {
    let code = u32::from(c);
    match code {
        0x0a | 0x0d => Some(ENTER),
        0x09 => Some(TAB),
        0x08 => Some(BACKSPACE),
        0x1b => Some(ESCAPE),
        0x7f => Some(DELETE),
        0x20..=0x7e | 0xa0..=0xff => Some(code),
        // C0 and C1 controls name no key.
        0x00..=0x1f | 0x80..=0x9f => None,
        _ => Some(UNICODE_OFFSET + code),
    }
}

/// The character a keysym types, for keysyms that are characters (the inverse of
/// [`from_char`] on printable characters).
pub fn to_char(keysym: u32) -> Option<char> {
    match keysym {
        0x20..=0x7e | 0xa0..=0xff => char::from_u32(keysym),
        k if k > UNICODE_OFFSET => {
            char::from_u32(k - UNICODE_OFFSET).filter(|c| !c.is_control() && u32::from(*c) > 0xff)
        }
        _ => None,
    }
}

/// The keysym of function key F`n`, for `n` in 1..=35.
pub fn function_key(n: u8) -> Option<u32> {
    (1..=35).contains(&n).then(|| F1 + u32::from(n) - 1)
}

/// A modifier as the remote sees it; several keysyms may press the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModifierKind {
    Shift,
    Ctrl,
    Alt,
    /// Super / Windows / Command (and X11's Meta keys).
    Meta,
}

impl ModifierKind {
    pub const ALL: [ModifierKind; 4] = [Self::Shift, Self::Ctrl, Self::Alt, Self::Meta];

    /// The keysym pressed on the remote to hold this modifier (the left-hand key).
    pub fn left_keysym(self) -> u32 {
        match self {
            Self::Shift => SHIFT_L,
            Self::Ctrl => CONTROL_L,
            Self::Alt => ALT_L,
            Self::Meta => SUPER_L,
        }
    }
}

/// Which modifier a keysym holds down, if it is a modifier key.
pub fn modifier_kind(keysym: u32) -> Option<ModifierKind> {
    match keysym {
        SHIFT_L | SHIFT_R => Some(ModifierKind::Shift),
        CONTROL_L | CONTROL_R => Some(ModifierKind::Ctrl),
        ALT_L | ALT_R => Some(ModifierKind::Alt),
        META_L | META_R | SUPER_L | SUPER_R => Some(ModifierKind::Meta),
        _ => None,
    }
}

/// Keys that type no character, with their keysyms and their DOM `KeyboardEvent.key` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NamedKey {
    Enter,
    Tab,
    Backspace,
    Escape,
    Delete,
    Insert,
    Home,
    End,
    PageUp,
    PageDown,
    ArrowLeft,
    ArrowUp,
    ArrowRight,
    ArrowDown,
    /// F1..=F12.
    F(u8),
    ShiftLeft,
    ShiftRight,
    ControlLeft,
    ControlRight,
    AltLeft,
    AltRight,
    MetaLeft,
    MetaRight,
    CapsLock,
    NumLock,
    ScrollLock,
    PrintScreen,
    Pause,
    ContextMenu,
}

impl NamedKey {
    /// Every named key, F1..F12 included.
    pub const ALL: [NamedKey; 40] = [
        Self::Enter,
        Self::Tab,
        Self::Backspace,
        Self::Escape,
        Self::Delete,
        Self::Insert,
        Self::Home,
        Self::End,
        Self::PageUp,
        Self::PageDown,
        Self::ArrowLeft,
        Self::ArrowUp,
        Self::ArrowRight,
        Self::ArrowDown,
        Self::F(1),
        Self::F(2),
        Self::F(3),
        Self::F(4),
        Self::F(5),
        Self::F(6),
        Self::F(7),
        Self::F(8),
        Self::F(9),
        Self::F(10),
        Self::F(11),
        Self::F(12),
        Self::ShiftLeft,
        Self::ShiftRight,
        Self::ControlLeft,
        Self::ControlRight,
        Self::AltLeft,
        Self::AltRight,
        Self::MetaLeft,
        Self::MetaRight,
        Self::CapsLock,
        Self::NumLock,
        Self::ScrollLock,
        Self::PrintScreen,
        Self::Pause,
        Self::ContextMenu,
    ];

    /// The X11 keysym; `None` only for `F(n)` outside 1..=12.
    pub fn keysym(self) -> Option<u32> {
        Some(match self {
            Self::Enter => ENTER,
            Self::Tab => TAB,
            Self::Backspace => BACKSPACE,
            Self::Escape => ESCAPE,
            Self::Delete => DELETE,
            Self::Insert => INSERT,
            Self::Home => HOME,
            Self::End => END,
            Self::PageUp => PAGE_UP,
            Self::PageDown => PAGE_DOWN,
            Self::ArrowLeft => LEFT,
            Self::ArrowUp => UP,
            Self::ArrowRight => RIGHT,
            Self::ArrowDown => DOWN,
            Self::F(n) if (1..=12).contains(&n) => F1 + u32::from(n) - 1,
            Self::F(_) => return None,
            Self::ShiftLeft => SHIFT_L,
            Self::ShiftRight => SHIFT_R,
            Self::ControlLeft => CONTROL_L,
            Self::ControlRight => CONTROL_R,
            Self::AltLeft => ALT_L,
            Self::AltRight => ALT_R,
            Self::MetaLeft => SUPER_L,
            Self::MetaRight => SUPER_R,
            Self::CapsLock => CAPS_LOCK,
            Self::NumLock => NUM_LOCK,
            Self::ScrollLock => SCROLL_LOCK,
            Self::PrintScreen => PRINT,
            Self::Pause => PAUSE,
            Self::ContextMenu => MENU,
        })
    }

    /// The named key a keysym stands for (both sides of a modifier, Meta as well as Super).
    pub fn from_keysym(keysym: u32) -> Option<NamedKey> {
        match keysym {
            META_L => Some(Self::MetaLeft),
            META_R => Some(Self::MetaRight),
            // The keypad's Enter types the same as Return.
            0xff8d => Some(Self::Enter),
            k => Self::ALL.into_iter().find(|n| n.keysym() == Some(k)),
        }
    }

    /// The DOM `KeyboardEvent.key` value (what browser-level input protocols expect).
    pub fn dom_key(self) -> &'static str {
        const F_KEYS: [&str; 12] = [
            "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
        ];
        match self {
            Self::Enter => "Enter",
            Self::Tab => "Tab",
            Self::Backspace => "Backspace",
            Self::Escape => "Escape",
            Self::Delete => "Delete",
            Self::Insert => "Insert",
            Self::Home => "Home",
            Self::End => "End",
            Self::PageUp => "PageUp",
            Self::PageDown => "PageDown",
            Self::ArrowLeft => "ArrowLeft",
            Self::ArrowUp => "ArrowUp",
            Self::ArrowRight => "ArrowRight",
            Self::ArrowDown => "ArrowDown",
            Self::F(n) => F_KEYS
                .get(usize::from(n).wrapping_sub(1))
                .copied()
                .unwrap_or("Unidentified"),
            Self::ShiftLeft | Self::ShiftRight => "Shift",
            Self::ControlLeft | Self::ControlRight => "Control",
            Self::AltLeft | Self::AltRight => "Alt",
            Self::MetaLeft | Self::MetaRight => "Meta",
            Self::CapsLock => "CapsLock",
            Self::NumLock => "NumLock",
            Self::ScrollLock => "ScrollLock",
            Self::PrintScreen => "PrintScreen",
            Self::Pause => "Pause",
            Self::ContextMenu => "ContextMenu",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_characters_are_their_own_keysyms() {
        assert_eq!(from_char(' '), Some(0x20));
        assert_eq!(from_char('a'), Some(0x61));
        assert_eq!(from_char('Z'), Some(0x5a));
        assert_eq!(from_char('~'), Some(0x7e));
        assert_eq!(from_char('\u{a0}'), Some(0xa0));
        assert_eq!(from_char('é'), Some(0xe9));
        assert_eq!(from_char('ÿ'), Some(0xff));
    }

    #[test]
    fn other_unicode_goes_to_the_unicode_keysym_range() {
        assert_eq!(from_char('€'), Some(0x0100_20ac));
        assert_eq!(from_char('Ā'), Some(0x0100_0100));
        assert_eq!(from_char('日'), Some(0x0100_65e5));
        assert_eq!(from_char('😀'), Some(0x0101_f600));
        for c in ['a', 'é', '€', '日', '😀'] {
            assert_eq!(from_char(c).and_then(to_char), Some(c));
        }
    }

    #[test]
    fn control_characters_are_keys_or_nothing() {
        assert_eq!(from_char('\n'), Some(ENTER));
        assert_eq!(from_char('\r'), Some(ENTER));
        assert_eq!(from_char('\t'), Some(TAB));
        assert_eq!(from_char('\u{8}'), Some(BACKSPACE));
        assert_eq!(from_char('\u{1b}'), Some(ESCAPE));
        assert_eq!(from_char('\u{7f}'), Some(DELETE));
        for c in ['\0', '\u{1}', '\u{1f}', '\u{80}', '\u{9f}'] {
            assert_eq!(from_char(c), None, "{c:?}");
        }
        assert_eq!(to_char(ENTER), None);
        assert_eq!(to_char(UNICODE_OFFSET + 0x41), None, "not canonical");
    }

    #[test]
    fn named_keys_have_the_x11_values() {
        let expect = [
            (NamedKey::Enter, 0xff0d),
            (NamedKey::Tab, 0xff09),
            (NamedKey::Backspace, 0xff08),
            (NamedKey::Escape, 0xff1b),
            (NamedKey::Delete, 0xffff),
            (NamedKey::Insert, 0xff63),
            (NamedKey::Home, 0xff50),
            (NamedKey::End, 0xff57),
            (NamedKey::PageUp, 0xff55),
            (NamedKey::PageDown, 0xff56),
            (NamedKey::ArrowLeft, 0xff51),
            (NamedKey::ArrowUp, 0xff52),
            (NamedKey::ArrowRight, 0xff53),
            (NamedKey::ArrowDown, 0xff54),
            (NamedKey::F(1), 0xffbe),
            (NamedKey::F(12), 0xffc9),
            (NamedKey::ShiftLeft, 0xffe1),
            (NamedKey::ControlLeft, 0xffe3),
            (NamedKey::AltLeft, 0xffe9),
            (NamedKey::MetaLeft, 0xffeb),
        ];
        for (key, sym) in expect {
            assert_eq!(key.keysym(), Some(sym), "{key:?}");
        }
        assert_eq!(NamedKey::F(13).keysym(), None);
        assert_eq!(NamedKey::F(0).keysym(), None);
        assert_eq!(function_key(12), Some(F12));
        assert_eq!(function_key(35), Some(0xffe0));
        assert_eq!(function_key(36), None);
        assert_eq!(function_key(0), None);
    }

    #[test]
    fn the_table_round_trips_and_names_dom_keys() {
        let mut seen = std::collections::HashSet::new();
        for key in NamedKey::ALL {
            let sym = key.keysym().unwrap();
            assert!(seen.insert(sym), "{key:?} shares keysym {sym:#x}");
            assert_eq!(NamedKey::from_keysym(sym), Some(key));
            assert_ne!(key.dom_key(), "Unidentified", "{key:?}");
        }
        assert_eq!(NamedKey::from_keysym(0x61), None);
        assert_eq!(NamedKey::F(7).dom_key(), "F7");
        assert_eq!(NamedKey::F(0).dom_key(), "Unidentified");
        assert_eq!(NamedKey::ShiftRight.dom_key(), "Shift");
    }

    #[test]
    fn modifier_keysyms_name_their_modifier() {
        for kind in ModifierKind::ALL {
            assert_eq!(modifier_kind(kind.left_keysym()), Some(kind));
        }
        assert_eq!(modifier_kind(SHIFT_R), Some(ModifierKind::Shift));
        assert_eq!(modifier_kind(META_L), Some(ModifierKind::Meta));
        assert_eq!(modifier_kind(CAPS_LOCK), None);
        assert_eq!(modifier_kind(0x61), None);
    }
}
