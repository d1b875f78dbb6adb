//! The keyboard in interactive mode: egui's key and text events as core [`InputEvent`]s.
//!
//! egui reports a keystroke as `Event::Key` (logical key, physical key, modifiers) and the
//! character it typed, if any, as `Event::Text`. The remote gets each keystroke once:
//! keys that type characters go as text (keysyms from the characters, so any keyboard
//! layout and non-ASCII characters work) unless Ctrl, Alt or Command is held, when they are
//! shortcuts and go as keys (and their text is dropped); keys that type nothing (Enter,
//! arrows, F-keys, the modifiers themselves) always go as keys, with the XT scancode of the
//! physical key for servers that take QEMU extended key events. egui turns Ctrl+C/X/V into
//! `Copy`/`Cut`/`Paste` events; those reach the remote as the same keystrokes, never as the
//! local clipboard's contents.

use egui::{Event, Key};

use crate::core::input::keysym::{self, NamedKey};
use crate::core::input::{InputEvent, Modifiers};

/// The X11 keysym for an egui key (letters as lower case, whatever Shift says: the
/// remote applies its own Shift). `None` for keys X11 has no keysym for.
pub fn keysym(key: Key) -> Option<u32> {
    let named = |n: NamedKey| n.keysym();
    let ch = |c: char| keysym::from_char(c);
    match key {
        Key::ArrowDown => named(NamedKey::ArrowDown),
        Key::ArrowLeft => named(NamedKey::ArrowLeft),
        Key::ArrowRight => named(NamedKey::ArrowRight),
        Key::ArrowUp => named(NamedKey::ArrowUp),
        Key::Escape => named(NamedKey::Escape),
        Key::Tab => named(NamedKey::Tab),
        Key::Backspace => named(NamedKey::Backspace),
        Key::Enter => named(NamedKey::Enter),
        Key::Space => ch(' '),
        Key::Insert => named(NamedKey::Insert),
        Key::Delete => named(NamedKey::Delete),
        Key::Home => named(NamedKey::Home),
        Key::End => named(NamedKey::End),
        Key::PageUp => named(NamedKey::PageUp),
        Key::PageDown => named(NamedKey::PageDown),
        Key::Copy => Some(0x1008_ff57),
        Key::Cut => Some(0x1008_ff58),
        Key::Paste => Some(0x1008_ff6d),
        Key::Colon => ch(':'),
        Key::Comma => ch(','),
        Key::Backslash => ch('\\'),
        Key::Slash => ch('/'),
        Key::Pipe => ch('|'),
        Key::Questionmark => ch('?'),
        Key::Exclamationmark => ch('!'),
        Key::OpenBracket => ch('['),
        Key::CloseBracket => ch(']'),
        Key::OpenCurlyBracket => ch('{'),
        Key::CloseCurlyBracket => ch('}'),
        Key::Backtick => ch('`'),
        Key::Minus => ch('-'),
        Key::Period => ch('.'),
        Key::Plus => ch('+'),
        Key::Equals => ch('='),
        Key::Semicolon => ch(';'),
        Key::Quote => ch('\''),
        Key::F1 => keysym::function_key(1),
        Key::F2 => keysym::function_key(2),
        Key::F3 => keysym::function_key(3),
        Key::F4 => keysym::function_key(4),
        Key::F5 => keysym::function_key(5),
        Key::F6 => keysym::function_key(6),
        Key::F7 => keysym::function_key(7),
        Key::F8 => keysym::function_key(8),
        Key::F9 => keysym::function_key(9),
        Key::F10 => keysym::function_key(10),
        Key::F11 => keysym::function_key(11),
        Key::F12 => keysym::function_key(12),
        Key::F13 => keysym::function_key(13),
        Key::F14 => keysym::function_key(14),
        Key::F15 => keysym::function_key(15),
        Key::F16 => keysym::function_key(16),
        Key::F17 => keysym::function_key(17),
        Key::F18 => keysym::function_key(18),
        Key::F19 => keysym::function_key(19),
        Key::F20 => keysym::function_key(20),
        Key::F21 => keysym::function_key(21),
        Key::F22 => keysym::function_key(22),
        Key::F23 => keysym::function_key(23),
        Key::F24 => keysym::function_key(24),
        Key::F25 => keysym::function_key(25),
        Key::F26 => keysym::function_key(26),
        Key::F27 => keysym::function_key(27),
        Key::F28 => keysym::function_key(28),
        Key::F29 => keysym::function_key(29),
        Key::F30 => keysym::function_key(30),
        Key::F31 => keysym::function_key(31),
        Key::F32 => keysym::function_key(32),
        Key::F33 => keysym::function_key(33),
        Key::F34 => keysym::function_key(34),
        Key::F35 => keysym::function_key(35),
        // XF86 keysyms (X11/XF86keysym.h).
        Key::BrowserBack => Some(0x1008_ff26),
        Key::BrowserForward => Some(0x1008_ff27),
        Key::BrowserRefresh => Some(0x1008_ff29),
        Key::BrowserSearch => Some(0x1008_ff1b),
        Key::BrowserHome => Some(0x1008_ff18),
        Key::BrowserFavorites => Some(0x1008_ff30),
        Key::BrowserStop => Some(0x1008_ff28),
        Key::MediaPlayPause => Some(0x1008_ff14),
        Key::MediaTrackNext => Some(0x1008_ff17),
        Key::MediaTrackPrevious => Some(0x1008_ff16),
        Key::MediaStop => Some(0x1008_ff15),
        Key::AudioVolumeMute => Some(0x1008_ff12),
        Key::AudioVolumeDown => Some(0x1008_ff11),
        Key::AudioVolumeUp => Some(0x1008_ff13),
        Key::LaunchMail => Some(0x1008_ff19),
        Key::Eject => Some(0x1008_ff2c),
        Key::Power => Some(0x1008_ff2a),
        Key::Sleep => Some(0x1008_ff2f),
        Key::ShiftLeft => named(NamedKey::ShiftLeft),
        Key::ShiftRight => named(NamedKey::ShiftRight),
        Key::ControlLeft => named(NamedKey::ControlLeft),
        Key::ControlRight => named(NamedKey::ControlRight),
        Key::AltLeft => named(NamedKey::AltLeft),
        Key::AltRight => named(NamedKey::AltRight),
        Key::SuperLeft => named(NamedKey::MetaLeft),
        Key::SuperRight => named(NamedKey::MetaRight),
        Key::CapsLock => named(NamedKey::CapsLock),
        Key::NumLock => named(NamedKey::NumLock),
        Key::ScrollLock => named(NamedKey::ScrollLock),
        Key::PrintScreen => named(NamedKey::PrintScreen),
        Key::Pause => named(NamedKey::Pause),
        Key::Menu => named(NamedKey::ContextMenu),
        Key::Help => Some(keysym::HELP),
        Key::Clear => Some(keysym::CLEAR),
        other => letter_or_digit(other).and_then(ch),
    }
}

/// The character of a letter (lower case) or digit key.
fn letter_or_digit(key: Key) -> Option<char> {
    const LETTERS: [Key; 26] = [
        Key::A,
        Key::B,
        Key::C,
        Key::D,
        Key::E,
        Key::F,
        Key::G,
        Key::H,
        Key::I,
        Key::J,
        Key::K,
        Key::L,
        Key::M,
        Key::N,
        Key::O,
        Key::P,
        Key::Q,
        Key::R,
        Key::S,
        Key::T,
        Key::U,
        Key::V,
        Key::W,
        Key::X,
        Key::Y,
        Key::Z,
    ];
    const DIGITS: [Key; 10] = [
        Key::Num0,
        Key::Num1,
        Key::Num2,
        Key::Num3,
        Key::Num4,
        Key::Num5,
        Key::Num6,
        Key::Num7,
        Key::Num8,
        Key::Num9,
    ];
    let nth = |keys: &[Key], first: u8| {
        let i = keys.iter().position(|&k| k == key)?;
        Some(char::from(first + u8::try_from(i).ok()?))
    };
    nth(&LETTERS, b'a').or_else(|| nth(&DIGITS, b'0'))
}

/// True for keys that type a character (letters, digits, punctuation, space): without a
/// shortcut modifier their keystroke reaches the remote as `Event::Text`.
pub fn types_text(key: Key) -> bool {
    keysym(key).is_some_and(|k| (0x20..=0x7e).contains(&k))
}

/// The XT scancode (set 1, QEMU numbering: extended keys `0x80 | code`) of a physical key,
/// for the QEMU extended key event. egui names physical keys by their US-layout key.
pub fn xt_scancode(physical: Key) -> Option<u16> {
    const QWERTY: [(Key, u16); 26] = [
        (Key::Q, 0x10),
        (Key::W, 0x11),
        (Key::E, 0x12),
        (Key::R, 0x13),
        (Key::T, 0x14),
        (Key::Y, 0x15),
        (Key::U, 0x16),
        (Key::I, 0x17),
        (Key::O, 0x18),
        (Key::P, 0x19),
        (Key::A, 0x1e),
        (Key::S, 0x1f),
        (Key::D, 0x20),
        (Key::F, 0x21),
        (Key::G, 0x22),
        (Key::H, 0x23),
        (Key::J, 0x24),
        (Key::K, 0x25),
        (Key::L, 0x26),
        (Key::Z, 0x2c),
        (Key::X, 0x2d),
        (Key::C, 0x2e),
        (Key::V, 0x2f),
        (Key::B, 0x30),
        (Key::N, 0x31),
        (Key::M, 0x32),
    ];
    if let Some(&(_, code)) = QWERTY.iter().find(|(k, _)| *k == physical) {
        return Some(code);
    }
    Some(match physical {
        Key::Escape => 0x01,
        Key::Num1 => 0x02,
        Key::Num2 => 0x03,
        Key::Num3 => 0x04,
        Key::Num4 => 0x05,
        Key::Num5 => 0x06,
        Key::Num6 => 0x07,
        Key::Num7 => 0x08,
        Key::Num8 => 0x09,
        Key::Num9 => 0x0a,
        Key::Num0 => 0x0b,
        Key::Minus => 0x0c,
        Key::Equals => 0x0d,
        Key::Backspace => 0x0e,
        Key::Tab => 0x0f,
        Key::OpenBracket => 0x1a,
        Key::CloseBracket => 0x1b,
        Key::Enter => 0x1c,
        Key::ControlLeft => 0x1d,
        Key::Semicolon => 0x27,
        Key::Quote => 0x28,
        Key::Backtick => 0x29,
        Key::ShiftLeft => 0x2a,
        Key::Backslash => 0x2b,
        Key::Comma => 0x33,
        Key::Period => 0x34,
        Key::Slash => 0x35,
        Key::ShiftRight => 0x36,
        Key::AltLeft => 0x38,
        Key::Space => 0x39,
        Key::CapsLock => 0x3a,
        Key::F1 => 0x3b,
        Key::F2 => 0x3c,
        Key::F3 => 0x3d,
        Key::F4 => 0x3e,
        Key::F5 => 0x3f,
        Key::F6 => 0x40,
        Key::F7 => 0x41,
        Key::F8 => 0x42,
        Key::F9 => 0x43,
        Key::F10 => 0x44,
        Key::NumLock => 0x45,
        Key::ScrollLock => 0x46,
        Key::Plus => 0x4e, // only the keypad has a physical plus key
        Key::IntlBackslash => 0x56,
        Key::F11 => 0x57,
        Key::F12 => 0x58,
        Key::ControlRight => 0x9d,
        Key::PrintScreen => 0xb7,
        Key::AltRight => 0xb8,
        Key::Pause => 0xc6,
        Key::Home => 0xc7,
        Key::ArrowUp => 0xc8,
        Key::PageUp => 0xc9,
        Key::ArrowLeft => 0xcb,
        Key::ArrowRight => 0xcd,
        Key::End => 0xcf,
        Key::ArrowDown => 0xd0,
        Key::PageDown => 0xd1,
        Key::Insert => 0xd2,
        Key::Delete => 0xd3,
        Key::SuperLeft => 0xdb,
        Key::SuperRight => 0xdc,
        Key::Menu => 0xdd,
        _ => return None,
    })
}

/// egui's modifier state in core terms (the Mac Command key is Meta).
pub fn modifiers(m: egui::Modifiers) -> Modifiers {
    Modifiers {
        shift: m.shift,
        ctrl: m.ctrl,
        alt: m.alt,
        meta: m.mac_cmd,
    }
}

/// Ctrl, Alt or Command held: character keys are shortcuts, not typing.
fn is_shortcut(m: egui::Modifiers) -> bool {
    m.ctrl || m.alt || m.command || m.mac_cmd
}

/// A press and release of a character key with Ctrl held.
fn ctrl_chord(c: char, out: &mut Vec<InputEvent>) {
    if let Some(sym) = keysym::from_char(c) {
        for down in [true, false] {
            out.push(InputEvent::Key {
                keysym: sym,
                scancode: None,
                down,
                modifiers: Modifiers::CTRL,
            });
        }
    }
}

/// Appends the remote input for one egui event to `out` (nothing for non-keyboard events).
/// `held` is the modifier state now (`egui::InputState::modifiers`); it decides whether a
/// `Text` event is typing or the side effect of a shortcut already sent as a key.
pub fn keyboard_input(event: &Event, held: egui::Modifiers, out: &mut Vec<InputEvent>) {
    match event {
        Event::Key {
            key,
            physical_key,
            pressed,
            modifiers: mods,
            ..
        } => {
            let Some(sym) = keysym(*key) else {
                return;
            };
            if *pressed && types_text(*key) && !is_shortcut(*mods) {
                // The character arrives as `Event::Text`. Releases still go: the remote
                // ignores a release it has no press for, and a shortcut's press may be
                // released after its modifier.
                return;
            }
            out.push(InputEvent::Key {
                keysym: sym,
                scancode: physical_key.and_then(xt_scancode),
                down: *pressed,
                modifiers: modifiers(*mods),
            });
        }
        Event::Text(text) if !text.is_empty() && !is_shortcut(held) => {
            out.push(InputEvent::Text { text: text.clone() });
        }
        Event::Copy => ctrl_chord('c', out),
        Event::Cut => ctrl_chord('x', out),
        Event::Paste(_) => ctrl_chord('v', out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::keysym::{ENTER, SHIFT_L};

    fn key_event(key: Key, physical: Option<Key>, pressed: bool, m: egui::Modifiers) -> Event {
        Event::Key {
            key,
            physical_key: physical,
            pressed,
            repeat: false,
            modifiers: m,
        }
    }

    fn run(events: &[Event], held: egui::Modifiers) -> Vec<InputEvent> {
        let mut out = Vec::new();
        for e in events {
            keyboard_input(e, held, &mut out);
        }
        out
    }

    #[test]
    fn named_keys_map_to_the_core_table() {
        let pairs = [
            (Key::Enter, 0xff0d),
            (Key::Tab, 0xff09),
            (Key::Backspace, 0xff08),
            (Key::Escape, 0xff1b),
            (Key::Delete, 0xffff),
            (Key::Home, 0xff50),
            (Key::End, 0xff57),
            (Key::PageUp, 0xff55),
            (Key::PageDown, 0xff56),
            (Key::ArrowLeft, 0xff51),
            (Key::ArrowUp, 0xff52),
            (Key::ArrowRight, 0xff53),
            (Key::ArrowDown, 0xff54),
            (Key::Insert, 0xff63),
            (Key::F1, 0xffbe),
            (Key::F12, 0xffc9),
            (Key::F35, 0xffe0),
            (Key::ShiftLeft, 0xffe1),
            (Key::ShiftRight, 0xffe2),
            (Key::ControlLeft, 0xffe3),
            (Key::AltLeft, 0xffe9),
            (Key::SuperLeft, 0xffeb),
            (Key::A, 0x61),
            (Key::Z, 0x7a),
            (Key::Num0, 0x30),
            (Key::Num9, 0x39),
            (Key::Space, 0x20),
            (Key::Quote, 0x27),
            (Key::Backslash, 0x5c),
        ];
        for (key, sym) in pairs {
            assert_eq!(keysym(key), Some(sym), "{key:?}");
        }
        assert_eq!(keysym(Key::Fn), None);
    }

    #[test]
    fn almost_every_egui_key_has_a_keysym_and_text_keys_are_printable() {
        let unmapped: Vec<Key> = Key::ALL
            .iter()
            .copied()
            .filter(|k| keysym(*k).is_none())
            .collect();
        assert_eq!(
            unmapped,
            vec![
                Key::LaunchApp1,
                Key::LaunchApp2,
                Key::IntlBackslash,
                Key::Fn
            ]
        );
        for key in Key::ALL {
            let printable = keysym(*key).and_then(keysym::to_char).is_some();
            assert_eq!(types_text(*key), printable, "{key:?}");
        }
        assert!(types_text(Key::A) && types_text(Key::Space) && types_text(Key::Comma));
        assert!(!types_text(Key::Enter) && !types_text(Key::ShiftLeft));
    }

    #[test]
    fn scancodes_follow_the_xt_layout() {
        assert_eq!(xt_scancode(Key::A), Some(0x1e));
        assert_eq!(xt_scancode(Key::Q), Some(0x10));
        assert_eq!(xt_scancode(Key::M), Some(0x32));
        assert_eq!(xt_scancode(Key::Num1), Some(0x02));
        assert_eq!(xt_scancode(Key::Enter), Some(0x1c));
        assert_eq!(xt_scancode(Key::ArrowUp), Some(0xc8));
        assert_eq!(xt_scancode(Key::ControlRight), Some(0x9d));
        assert_eq!(xt_scancode(Key::F12), Some(0x58));
        assert_eq!(xt_scancode(Key::Colon), None, "no such physical key");
        let mut seen = std::collections::HashMap::new();
        for key in Key::ALL {
            if let Some(code) = xt_scancode(*key) {
                assert!(code != 0 && code <= 0xff, "{key:?}");
                assert_eq!(seen.insert(code, *key), None, "{key:?} reuses {code:#x}");
            }
        }
    }

    #[test]
    fn typing_goes_as_text_once() {
        let none = egui::Modifiers::NONE;
        let shift = egui::Modifiers::SHIFT;
        let got = run(
            &[
                key_event(Key::H, Some(Key::H), true, none),
                Event::Text("h".into()),
                key_event(Key::H, Some(Key::H), false, none),
                key_event(Key::ShiftLeft, Some(Key::ShiftLeft), true, shift),
                Event::Text("É".into()),
                key_event(Key::Enter, Some(Key::Enter), true, none),
            ],
            none,
        );
        let text = |t: &str| InputEvent::Text { text: t.into() };
        assert_eq!(
            got,
            vec![
                text("h"),
                InputEvent::Key {
                    keysym: 0x68,
                    scancode: Some(0x23),
                    down: false,
                    modifiers: Modifiers::NONE,
                },
                InputEvent::Key {
                    keysym: SHIFT_L,
                    scancode: Some(0x2a),
                    down: true,
                    modifiers: Modifiers::SHIFT,
                },
                text("É"),
                InputEvent::Key {
                    keysym: ENTER,
                    scancode: Some(0x1c),
                    down: true,
                    modifiers: Modifiers::NONE,
                },
            ]
        );
    }

    #[test]
    fn shortcuts_go_as_keys_and_their_text_is_dropped() {
        let ctrl = egui::Modifiers::CTRL;
        let got = run(
            &[
                key_event(Key::A, Some(Key::A), true, ctrl),
                Event::Text("a".into()),
                key_event(Key::A, Some(Key::A), false, ctrl),
            ],
            ctrl,
        );
        let a = |down| InputEvent::Key {
            keysym: 0x61,
            scancode: Some(0x1e),
            down,
            modifiers: Modifiers::CTRL,
        };
        assert_eq!(got, vec![a(true), a(false)]);
    }

    #[test]
    fn clipboard_events_are_remote_keystrokes_not_local_text() {
        let got = run(
            &[Event::Copy, Event::Paste("local secret".into())],
            egui::Modifiers::CTRL,
        );
        let k = |sym, down| InputEvent::Key {
            keysym: sym,
            scancode: None,
            down,
            modifiers: Modifiers::CTRL,
        };
        assert_eq!(
            got,
            vec![k(0x63, true), k(0x63, false), k(0x76, true), k(0x76, false)]
        );
        assert!(!format!("{got:?}").contains("secret"));
    }

    #[test]
    fn mac_command_is_meta() {
        let m = modifiers(egui::Modifiers::MAC_CMD);
        assert!(m.meta && !m.ctrl);
        assert_eq!(
            modifiers(egui::Modifiers::SHIFT | egui::Modifiers::ALT),
            Modifiers::SHIFT.union(Modifiers::ALT)
        );
    }
}
