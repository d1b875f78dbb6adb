//! Keysyms as a browser names keys: DOM `key` and `code`, and the Windows virtual-key code
//! Chrome needs before it acts on keys that type nothing (without `keyCode` a remote
//! Backspace, Delete or arrow key reaches the page's listeners but edits nothing).
//!
//! `key` is what the key means (`"Enter"`, `"a"`, `"A"` with Shift); `code` is the physical
//! key on a US layout (`"KeyA"`, `"Digit1"`), which is what pages reading `code` expect from
//! a keyboard we cannot see. Covered: every key `ui::keys` produces (the named keys,
//! F1–F35, the XF86 browser and media keys, printable characters of any script) and the
//! keypad's Enter.

use crate::core::input::keysym::{
    self, ALT_L, ALT_R, BACKSPACE, CAPS_LOCK, CLEAR, CONTROL_L, CONTROL_R, DELETE, DOWN, END,
    ENTER, ESCAPE, F1, HELP, HOME, INSERT, LEFT, MENU, META_L, META_R, NUM_LOCK, PAGE_DOWN,
    PAGE_UP, PAUSE, PRINT, RIGHT, SCROLL_LOCK, SHIFT_L, SHIFT_R, SUPER_L, SUPER_R, TAB, UP,
};

/// The keypad's Enter key.
const KP_ENTER: u32 = 0xff8d;

/// How a browser names one key press.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyNames {
    /// DOM `KeyboardEvent.key`.
    pub key: String,
    /// DOM `KeyboardEvent.code` on a US layout; empty when no physical key is implied.
    pub code: String,
    /// Windows virtual-key code (`keyCode`), when the key has one.
    pub key_code: Option<u16>,
    /// What the key types, if anything (`"\r"` for Enter).
    pub text: Option<String>,
}

/// Keys that type nothing: keysym, DOM key, DOM code, virtual-key code (0: none).
const NAMED: &[(u32, &str, &str, u16)] = &[
    (BACKSPACE, "Backspace", "Backspace", 0x08),
    (TAB, "Tab", "Tab", 0x09),
    (CLEAR, "Clear", "", 0x0c),
    (ENTER, "Enter", "Enter", 0x0d),
    (KP_ENTER, "Enter", "NumpadEnter", 0x0d),
    (PAUSE, "Pause", "Pause", 0x13),
    (SCROLL_LOCK, "ScrollLock", "ScrollLock", 0x91),
    (ESCAPE, "Escape", "Escape", 0x1b),
    (HOME, "Home", "Home", 0x24),
    (LEFT, "ArrowLeft", "ArrowLeft", 0x25),
    (UP, "ArrowUp", "ArrowUp", 0x26),
    (RIGHT, "ArrowRight", "ArrowRight", 0x27),
    (DOWN, "ArrowDown", "ArrowDown", 0x28),
    (PAGE_UP, "PageUp", "PageUp", 0x21),
    (PAGE_DOWN, "PageDown", "PageDown", 0x22),
    (END, "End", "End", 0x23),
    (PRINT, "PrintScreen", "PrintScreen", 0x2c),
    (INSERT, "Insert", "Insert", 0x2d),
    (MENU, "ContextMenu", "ContextMenu", 0x5d),
    (HELP, "Help", "Help", 0x2f),
    (NUM_LOCK, "NumLock", "NumLock", 0x90),
    (SHIFT_L, "Shift", "ShiftLeft", 0x10),
    (SHIFT_R, "Shift", "ShiftRight", 0x10),
    (CONTROL_L, "Control", "ControlLeft", 0x11),
    (CONTROL_R, "Control", "ControlRight", 0x11),
    (CAPS_LOCK, "CapsLock", "CapsLock", 0x14),
    (META_L, "Meta", "MetaLeft", 0x5b),
    (META_R, "Meta", "MetaRight", 0x5c),
    (ALT_L, "Alt", "AltLeft", 0x12),
    (ALT_R, "Alt", "AltRight", 0x12),
    (SUPER_L, "Meta", "MetaLeft", 0x5b),
    (SUPER_R, "Meta", "MetaRight", 0x5c),
    (DELETE, "Delete", "Delete", 0x2e),
    // XF86 keys (X11/XF86keysym.h).
    (0x1008_ff57, "Copy", "Copy", 0),
    (0x1008_ff58, "Cut", "Cut", 0),
    (0x1008_ff6d, "Paste", "Paste", 0),
    (0x1008_ff26, "BrowserBack", "BrowserBack", 0xa6),
    (0x1008_ff27, "BrowserForward", "BrowserForward", 0xa7),
    (0x1008_ff29, "BrowserRefresh", "BrowserRefresh", 0xa8),
    (0x1008_ff28, "BrowserStop", "BrowserStop", 0xa9),
    (0x1008_ff1b, "BrowserSearch", "BrowserSearch", 0xaa),
    (0x1008_ff30, "BrowserFavorites", "BrowserFavorites", 0xab),
    (0x1008_ff18, "BrowserHome", "BrowserHome", 0xac),
    (0x1008_ff12, "AudioVolumeMute", "AudioVolumeMute", 0xad),
    (0x1008_ff11, "AudioVolumeDown", "AudioVolumeDown", 0xae),
    (0x1008_ff13, "AudioVolumeUp", "AudioVolumeUp", 0xaf),
    (0x1008_ff17, "MediaTrackNext", "MediaTrackNext", 0xb0),
    (
        0x1008_ff16,
        "MediaTrackPrevious",
        "MediaTrackPrevious",
        0xb1,
    ),
    (0x1008_ff15, "MediaStop", "MediaStop", 0xb2),
    (0x1008_ff14, "MediaPlayPause", "MediaPlayPause", 0xb3),
    (0x1008_ff19, "LaunchMail", "LaunchMail", 0xb4),
    (0x1008_ff2c, "Eject", "Eject", 0),
    (0x1008_ff2a, "Power", "Power", 0),
    (0x1008_ff2f, "Standby", "Sleep", 0x5f),
];

/// The US layout's character keys other than letters: unshifted, shifted, DOM code,
/// virtual-key code.
const US_KEYS: &[(char, char, &str, u16)] = &[
    ('`', '~', "Backquote", 0xc0),
    ('1', '!', "Digit1", 0x31),
    ('2', '@', "Digit2", 0x32),
    ('3', '#', "Digit3", 0x33),
    ('4', '$', "Digit4", 0x34),
    ('5', '%', "Digit5", 0x35),
    ('6', '^', "Digit6", 0x36),
    ('7', '&', "Digit7", 0x37),
    ('8', '*', "Digit8", 0x38),
    ('9', '(', "Digit9", 0x39),
    ('0', ')', "Digit0", 0x30),
    ('-', '_', "Minus", 0xbd),
    ('=', '+', "Equal", 0xbb),
    ('[', '{', "BracketLeft", 0xdb),
    (']', '}', "BracketRight", 0xdd),
    ('\\', '|', "Backslash", 0xdc),
    (';', ':', "Semicolon", 0xba),
    ('\'', '"', "Quote", 0xde),
    (',', '<', "Comma", 0xbc),
    ('.', '>', "Period", 0xbe),
    ('/', '?', "Slash", 0xbf),
    (' ', ' ', "Space", 0x20),
];

/// How a browser names `keysym`, pressed with or without Shift; `None` for keysyms that
/// name no key a browser knows.
///
/// Character keysyms are named by their character (`key` is the character Shift makes of
/// it on a US layout, or its upper case for letters of other scripts); their `code` and
/// `keyCode` are the US-layout key's, none for characters a US keyboard has no key for.
pub fn key_names(keysym: u32, shift: bool) -> Option<KeyNames> {
    if let Some(&(_, key, code, vk)) = NAMED.iter().find(|n| n.0 == keysym) {
        return Some(KeyNames {
            key: key.to_string(),
            code: code.to_string(),
            key_code: (vk != 0).then_some(vk),
            text: matches!(keysym, ENTER | KP_ENTER).then(|| "\r".to_string()),
        });
    }
    if (F1..F1 + 35).contains(&keysym) {
        let n = keysym - F1 + 1;
        let standard = n <= 24;
        return Some(KeyNames {
            key: format!("F{n}"),
            code: if standard {
                format!("F{n}")
            } else {
                String::new()
            },
            // VK_F1 is 0x70; VK_F24 is the last.
            key_code: standard.then(|| 0x6f + n as u16),
            text: None,
        });
    }
    let c = keysym::to_char(keysym)?;
    let (key, code, key_code) = if c.is_ascii_alphabetic() {
        let upper = c.to_ascii_uppercase();
        let key = if shift { upper } else { c };
        (
            key.to_string(),
            format!("Key{upper}"),
            Some(u16::from(upper as u8)),
        )
    } else if let Some(&(base, shifted, code, vk)) = US_KEYS.iter().find(|k| k.0 == c || k.1 == c) {
        let key = if shift { shifted } else { base };
        // A shifted character typed without Shift (another layout) is still itself.
        let key = if c == shifted && !shift { c } else { key };
        (key.to_string(), code.to_string(), Some(vk))
    } else {
        let key = if shift {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u.to_string(),
                _ => c.to_string(),
            }
        } else {
            c.to_string()
        };
        (key, String::new(), None)
    };
    Some(KeyNames {
        text: Some(key.clone()),
        key,
        code,
        key_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::keysym::{NamedKey, from_char, function_key};

    fn names(keysym: u32, shift: bool) -> (String, String, Option<u16>, Option<String>) {
        let n = key_names(keysym, shift).unwrap();
        (n.key, n.code, n.key_code, n.text)
    }

    #[test]
    fn named_keys_have_dom_names_and_virtual_key_codes() {
        assert_eq!(
            names(ENTER, false),
            ("Enter".into(), "Enter".into(), Some(13), Some("\r".into()))
        );
        assert_eq!(
            names(KP_ENTER, false),
            (
                "Enter".into(),
                "NumpadEnter".into(),
                Some(13),
                Some("\r".into())
            )
        );
        assert_eq!(
            names(BACKSPACE, true),
            ("Backspace".into(), "Backspace".into(), Some(8), None)
        );
        assert_eq!(
            names(LEFT, false),
            ("ArrowLeft".into(), "ArrowLeft".into(), Some(0x25), None)
        );
        assert_eq!(
            names(SHIFT_R, true),
            ("Shift".into(), "ShiftRight".into(), Some(0x10), None)
        );
        assert_eq!(names(SUPER_L, false).0, "Meta");
        assert_eq!(names(0x1008_ff26, false).0, "BrowserBack");
        assert_eq!(names(0x1008_ff57, false).2, None, "Copy has no keyCode");
    }

    #[test]
    fn every_named_key_agrees_with_the_keysym_table() {
        for key in NamedKey::ALL {
            let sym = key.keysym().unwrap();
            let n = key_names(sym, false).unwrap();
            assert_eq!(n.key, key.dom_key(), "{key:?}");
            assert!(!n.code.is_empty(), "{key:?}");
            assert!(n.key_code.is_some(), "{key:?}");
        }
    }

    #[test]
    fn function_keys_go_to_f35() {
        assert_eq!(
            names(function_key(1).unwrap(), false),
            ("F1".into(), "F1".into(), Some(0x70), None)
        );
        assert_eq!(names(function_key(24).unwrap(), false).2, Some(0x87));
        assert_eq!(
            names(function_key(35).unwrap(), false),
            ("F35".into(), String::new(), None, None)
        );
    }

    #[test]
    fn characters_are_their_own_key_on_the_us_layout_position() {
        assert_eq!(
            names(0x61, false),
            ("a".into(), "KeyA".into(), Some(0x41), Some("a".into()))
        );
        assert_eq!(names(0x61, true).0, "A");
        assert_eq!(names(0x41, false).0, "A", "an upper-case keysym stays");
        assert_eq!(
            names(0x31, false),
            ("1".into(), "Digit1".into(), Some(0x31), Some("1".into()))
        );
        assert_eq!(names(0x31, true).0, "!");
        assert_eq!(names(from_char('!').unwrap(), false).1, "Digit1");
        assert_eq!(names(0x20, false).1, "Space");
        assert_eq!(names(from_char('/').unwrap(), true).0, "?");
        assert_eq!(
            names(from_char('é').unwrap(), true),
            ("É".into(), String::new(), None, Some("É".into()))
        );
        assert_eq!(names(from_char('日').unwrap(), false).0, "日");
        assert_eq!(key_names(0x0000_fe50, false), None, "a dead key");
    }
}
