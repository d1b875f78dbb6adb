//! Client messages: pacing, acknowledgements and operator input as JSON text.
//!
//! Mouse: `{"type":"input_mouse","eventType","x","y","button","modifiers"}`, plus
//! `clickCount` on presses and releases and `deltaX`/`deltaY` (CSS pixels, positive down
//! and right, [`WHEEL_NOTCH_PX`] a notch) on wheel turns. Moves carry the held button, as
//! Chrome needs to see a drag. Keys: `{"type":"input_keyboard","eventType":"keyDown"|
//! "keyUp","key","code","keyCode","modifiers"}` named from the keysym ([`key_names`]);
//! a key press that types something without Ctrl, Alt or Meta also carries `text` (so a
//! front end that sends keys rather than text still types, as RFB does), and typed text is
//! one `char` event per character. Touch: `{"type":"input_touch","eventType",
//! "touchPoints":[{"x","y","id"}]}`, where, as in `Input.dispatchTouchEvent`, the points are
//! all those still down: a point lifting while others stay is a `touchMove` without it, the
//! last one lifting is a `touchEnd` with no points, and a cancel cancels them all.
//!
//! [`key_names`]: super::key_names

use serde_json::{Map, Value, json};

use super::keys::key_names;
use crate::core::input::keysym::{self, ModifierKind};
use crate::core::input::{
    ButtonMask, InputEvent, MAX_TEXT_CHARS, MAX_WHEEL_STEPS, Modifiers, PointerButton, RemotePx,
    TouchPhase,
};

/// Keys we track as held; pressing more releases the oldest.
pub const MAX_HELD_KEYS: usize = 32;
/// Touch points we track as down; more are ignored until one lifts.
pub const MAX_TOUCH_POINTS: usize = 10;
/// CSS pixels one wheel notch scrolls (Chrome's step on Linux and Windows).
pub const WHEEL_NOTCH_PX: i32 = 100;

/// How the server paces frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pacing {
    /// The server sends the next frame once the previous one is acknowledged
    /// ([`ack_message`]): a slow viewer gets fewer frames, never a backlog.
    #[default]
    Ack,
    /// The server sends frames as they come.
    Push,
}

impl Pacing {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Pacing::Ack => "ack",
            Pacing::Push => "push",
        }
    }
}

/// `{"type":"config","maxFps":N,"pacing":"ack"|"push"}`, without `maxFps` when `None`.
pub fn config_message(max_fps: Option<u32>, pacing: Pacing) -> String {
    let mut m = Map::new();
    m.insert("type".into(), "config".into());
    if let Some(fps) = max_fps {
        m.insert("maxFps".into(), fps.into());
    }
    m.insert("pacing".into(), pacing.as_str().into());
    Value::Object(m).to_string()
}

/// `{"type":"ack","seq":N}`: frame `seq` is shown.
pub fn ack_message(seq: u64) -> String {
    json!({"type": "ack", "seq": seq}).to_string()
}

/// The wire name of a button.
fn button_name(button: PointerButton) -> &'static str {
    match button {
        PointerButton::Left => "left",
        PointerButton::Middle => "middle",
        PointerButton::Right => "right",
    }
}

const BUTTONS: [PointerButton; 3] = [
    PointerButton::Left,
    PointerButton::Middle,
    PointerButton::Right,
];

/// Encodes input events for one preview connection, remembering what the remote holds:
/// the pointer position (for events that carry none), held buttons and keys (releases
/// pair with presses; [`InputEvent::ReleaseAll`] lets go of them all, and of any touch
/// points) and the last modifiers seen (for moves and touches, which carry none).
#[derive(Clone, Debug, Default)]
pub struct PreviewInput {
    /// The last pointer position.
    at: RemotePx,
    buttons: ButtonMask,
    /// The modifiers of the last event that carried them, for those that do not.
    modifiers: Modifiers,
    /// Keysyms held down because of us, oldest first (modifier keys included).
    keys: Vec<u32>,
    /// Touch points down, in the order they went down.
    touches: Vec<(u64, RemotePx)>,
}

impl PreviewInput {
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages for `ev`, in order (none for events that change nothing on the remote,
    /// like releasing a button it does not hold).
    pub fn encode(&mut self, ev: &InputEvent) -> Vec<String> {
        let mut out = Vec::new();
        match ev {
            InputEvent::PointerMove { at } => {
                self.at = *at;
                let held = BUTTONS.into_iter().find(|b| self.buttons.is_held(*b));
                let button = held.map_or("none", button_name);
                out.push(self.mouse("mouseMoved", button, None, None));
            }
            InputEvent::PointerButton {
                at,
                button,
                down,
                click_count,
                modifiers,
            } => {
                self.at = *at;
                self.modifiers = *modifiers;
                if *down || self.buttons.is_held(*button) {
                    self.buttons.set(*button, *down);
                    let kind = if *down {
                        "mousePressed"
                    } else {
                        "mouseReleased"
                    };
                    let clicks = (*click_count).max(1);
                    out.push(self.mouse(kind, button_name(*button), Some(clicks), None));
                }
            }
            InputEvent::Wheel {
                at,
                steps_x,
                steps_y,
                modifiers,
            } => {
                self.at = *at;
                self.modifiers = *modifiers;
                let px =
                    |steps: i32| steps.clamp(-MAX_WHEEL_STEPS, MAX_WHEEL_STEPS) * WHEEL_NOTCH_PX;
                if *steps_x != 0 || *steps_y != 0 {
                    let delta = (px(*steps_x), px(*steps_y));
                    out.push(self.mouse("mouseWheel", "none", None, Some(delta)));
                }
            }
            InputEvent::Key {
                keysym,
                down,
                modifiers,
                ..
            } => {
                self.modifiers = *modifiers;
                self.key(*keysym, *down, *modifiers, &mut out);
            }
            InputEvent::Text { text } => self.text(text, &mut out),
            InputEvent::Touch { id, phase, at } => self.touch(*id, *phase, *at, &mut out),
            InputEvent::ReleaseAll => self.release_all(&mut out),
        }
        out
    }

    fn mouse(
        &self,
        kind: &str,
        button: &str,
        click_count: Option<u8>,
        delta: Option<(i32, i32)>,
    ) -> String {
        let mut m = Map::new();
        m.insert("type".into(), "input_mouse".into());
        m.insert("eventType".into(), kind.into());
        m.insert("x".into(), self.at.x.into());
        m.insert("y".into(), self.at.y.into());
        m.insert("button".into(), button.into());
        if let Some(clicks) = click_count {
            m.insert("clickCount".into(), clicks.into());
        }
        if let Some((dx, dy)) = delta {
            m.insert("deltaX".into(), dx.into());
            m.insert("deltaY".into(), dy.into());
        }
        m.insert("modifiers".into(), self.modifiers.cdp_bits().into());
        Value::Object(m).to_string()
    }

    /// A keyDown or keyUp message, or `None` for keysyms a browser has no name for.
    fn key_message(keysym: u32, down: bool, modifiers: Modifiers) -> Option<String> {
        let names = key_names(keysym, modifiers.shift)?;
        let mut m = Map::new();
        m.insert("type".into(), "input_keyboard".into());
        let kind = if down { "keyDown" } else { "keyUp" };
        m.insert("eventType".into(), kind.into());
        m.insert("key".into(), names.key.into());
        m.insert("code".into(), names.code.into());
        if let Some(vk) = names.key_code {
            m.insert("keyCode".into(), vk.into());
        }
        let shortcut = modifiers.ctrl || modifiers.alt || modifiers.meta;
        if let Some(text) = names.text.filter(|_| down && !shortcut) {
            m.insert("text".into(), text.into());
        }
        m.insert("modifiers".into(), modifiers.cdp_bits().into());
        Some(Value::Object(m).to_string())
    }

    fn key(&mut self, keysym: u32, down: bool, modifiers: Modifiers, out: &mut Vec<String>) {
        let held = self.keys.iter().position(|k| *k == keysym);
        if down {
            let Some(msg) = Self::key_message(keysym, true, modifiers) else {
                return;
            };
            if held.is_none() {
                if self.keys.len() >= MAX_HELD_KEYS {
                    let oldest = self.keys.remove(0);
                    out.extend(Self::key_message(oldest, false, modifiers));
                }
                self.keys.push(keysym);
            }
            // A press of a held key is auto-repeat: the remote sees it too.
            out.push(msg);
        } else if let Some(i) = held {
            self.keys.remove(i);
            out.extend(Self::key_message(keysym, false, modifiers));
        }
    }

    /// Types each character as a `char` event; line breaks, tabs, backspace, escape and
    /// delete as presses of their keys (`"\r\n"` is one Enter). Never with modifiers, so
    /// text does not turn into shortcuts.
    fn text(&mut self, text: &str, out: &mut Vec<String>) {
        let mut after_cr = false;
        for c in text.chars().take(MAX_TEXT_CHARS) {
            let skip = after_cr && c == '\n';
            after_cr = c == '\r';
            if skip {
                continue;
            }
            if keysym::to_char(keysym::from_char(c).unwrap_or(0)) == Some(c) {
                let s = c.to_string();
                let msg = json!({
                    "type": "input_keyboard",
                    "eventType": "char",
                    "key": s,
                    "text": s,
                    "modifiers": 0,
                });
                out.push(msg.to_string());
            } else if let Some(sym) = keysym::from_char(c) {
                out.extend(Self::key_message(sym, true, Modifiers::NONE));
                out.extend(Self::key_message(sym, false, Modifiers::NONE));
            }
        }
    }

    fn touch(&mut self, id: u64, phase: TouchPhase, at: RemotePx, out: &mut Vec<String>) {
        let known = self.touches.iter().position(|t| t.0 == id);
        let kind = match (phase, known) {
            (TouchPhase::Start, None) => {
                if self.touches.len() >= MAX_TOUCH_POINTS {
                    return;
                }
                self.touches.push((id, at));
                "touchStart"
            }
            (TouchPhase::Start | TouchPhase::Move, Some(i)) => {
                self.touches[i].1 = at;
                "touchMove"
            }
            (TouchPhase::End, Some(i)) => {
                self.touches.remove(i);
                if self.touches.is_empty() {
                    "touchEnd"
                } else {
                    "touchMove"
                }
            }
            (TouchPhase::Cancel, Some(_)) => {
                self.touches.clear();
                "touchCancel"
            }
            (TouchPhase::Move | TouchPhase::End | TouchPhase::Cancel, None) => return,
        };
        out.push(self.touch_message(kind));
    }

    fn touch_message(&self, kind: &str) -> String {
        let points: Vec<Value> = self
            .touches
            .iter()
            .map(|(id, at)| json!({"x": at.x, "y": at.y, "id": id}))
            .collect();
        json!({
            "type": "input_touch",
            "eventType": kind,
            "touchPoints": points,
            "modifiers": self.modifiers.cdp_bits(),
        })
        .to_string()
    }

    /// Lets go of every key (newest first), button and touch point the remote holds
    /// because of us.
    fn release_all(&mut self, out: &mut Vec<String>) {
        while let Some(keysym) = self.keys.pop() {
            // The modifier keys still down after this release.
            let mut still = Modifiers::NONE;
            for k in &self.keys {
                match keysym::modifier_kind(*k) {
                    Some(ModifierKind::Shift) => still.shift = true,
                    Some(ModifierKind::Ctrl) => still.ctrl = true,
                    Some(ModifierKind::Alt) => still.alt = true,
                    Some(ModifierKind::Meta) => still.meta = true,
                    None => {}
                }
            }
            out.extend(Self::key_message(keysym, false, still));
        }
        self.modifiers = Modifiers::NONE;
        for button in BUTTONS {
            if self.buttons.is_held(button) {
                self.buttons.set(button, false);
                out.push(self.mouse("mouseReleased", button_name(button), Some(1), None));
            }
        }
        if !self.touches.is_empty() {
            self.touches.clear();
            out.push(self.touch_message("touchCancel"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::keysym::{BACKSPACE, ENTER, SHIFT_L, TAB};

    fn at(x: u32, y: u32) -> RemotePx {
        RemotePx::new(x, y)
    }

    fn run(input: &mut PreviewInput, events: &[InputEvent]) -> Vec<Value> {
        events
            .iter()
            .flat_map(|ev| input.encode(ev))
            .map(|s| serde_json::from_str(&s).unwrap())
            .collect()
    }

    fn button(b: PointerButton, x: u32, y: u32, down: bool, clicks: u8) -> InputEvent {
        InputEvent::PointerButton {
            at: at(x, y),
            button: b,
            down,
            click_count: clicks,
            modifiers: Modifiers::NONE,
        }
    }

    fn key(keysym: u32, down: bool, modifiers: Modifiers) -> InputEvent {
        InputEvent::Key {
            keysym,
            scancode: None,
            down,
            modifiers,
        }
    }

    fn touch(id: u64, phase: TouchPhase, x: u32, y: u32) -> InputEvent {
        InputEvent::Touch {
            id,
            phase,
            at: at(x, y),
        }
    }

    fn mouse(kind: &str, x: u32, y: u32, button: &str, mods: u8) -> Value {
        json!({"type": "input_mouse", "eventType": kind, "x": x, "y": y, "button": button, "modifiers": mods})
    }

    fn with(mut v: Value, extra: Value) -> Value {
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    }

    fn kbd(kind: &str, key: &str, code: &str, key_code: Option<u16>, mods: u8) -> Value {
        let mut v = json!({"type": "input_keyboard", "eventType": kind, "key": key, "code": code, "modifiers": mods});
        if let Some(vk) = key_code {
            v = with(v, json!({"keyCode": vk}));
        }
        v
    }

    fn char_event(c: &str) -> Value {
        json!({"type": "input_keyboard", "eventType": "char", "key": c, "text": c, "modifiers": 0})
    }

    fn points(kind: &str, pts: &[(u64, u32, u32)]) -> Value {
        let pts: Vec<Value> = pts
            .iter()
            .map(|(id, x, y)| json!({"x": x, "y": y, "id": id}))
            .collect();
        json!({"type": "input_touch", "eventType": kind, "touchPoints": pts, "modifiers": 0})
    }

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn config_and_ack_messages() {
        assert_eq!(
            parse(&config_message(Some(10), Pacing::Ack)),
            json!({"type": "config", "maxFps": 10, "pacing": "ack"})
        );
        assert_eq!(
            parse(&config_message(None, Pacing::Push)),
            json!({"type": "config", "pacing": "push"})
        );
        assert_eq!(
            parse(&ack_message(u64::MAX)),
            json!({"type": "ack", "seq": u64::MAX})
        );
        assert_eq!(Pacing::default(), Pacing::Ack);
    }

    #[test]
    fn pointer_moves_buttons_and_drags() {
        let mut input = PreviewInput::new();
        assert_eq!(
            run(
                &mut input,
                &[
                    InputEvent::PointerMove { at: at(5, 6) },
                    button(PointerButton::Left, 10, 20, true, 2),
                    InputEvent::PointerMove { at: at(11, 21) },
                    button(PointerButton::Left, 12, 22, false, 2),
                    button(PointerButton::Left, 12, 22, false, 1),
                    button(PointerButton::Right, 1, 2, true, 0),
                ]
            ),
            vec![
                mouse("mouseMoved", 5, 6, "none", 0),
                with(
                    mouse("mousePressed", 10, 20, "left", 0),
                    json!({"clickCount": 2})
                ),
                mouse("mouseMoved", 11, 21, "left", 0),
                with(
                    mouse("mouseReleased", 12, 22, "left", 0),
                    json!({"clickCount": 2})
                ),
                // The second release pairs with no press: nothing.
                with(
                    mouse("mousePressed", 1, 2, "right", 0),
                    json!({"clickCount": 1})
                ),
            ]
        );
    }

    #[test]
    fn wheel_notches_are_css_pixels_at_the_wheel_position() {
        let mut input = PreviewInput::new();
        let wheel = |x, y, sx, sy| InputEvent::Wheel {
            at: at(x, y),
            steps_x: sx,
            steps_y: sy,
            modifiers: Modifiers::SHIFT,
        };
        assert_eq!(
            run(
                &mut input,
                &[
                    wheel(7, 8, 0, 2),
                    wheel(7, 8, -1, 0),
                    wheel(7, 8, 0, -1000),
                    wheel(7, 8, 0, 0),
                    InputEvent::PointerMove { at: at(9, 9) },
                ]
            ),
            vec![
                with(
                    mouse("mouseWheel", 7, 8, "none", 8),
                    json!({"deltaX": 0, "deltaY": 200})
                ),
                with(
                    mouse("mouseWheel", 7, 8, "none", 8),
                    json!({"deltaX": -100, "deltaY": 0})
                ),
                with(
                    mouse("mouseWheel", 7, 8, "none", 8),
                    json!({"deltaX": 0, "deltaY": -MAX_WHEEL_STEPS * WHEEL_NOTCH_PX})
                ),
                // A move carries the last modifiers seen.
                mouse("mouseMoved", 9, 9, "none", 8),
            ]
        );
    }

    #[test]
    fn modifier_bits_follow_cdp() {
        let mut input = PreviewInput::new();
        let all = Modifiers {
            shift: true,
            ctrl: true,
            alt: true,
            meta: true,
        };
        for (mods, bits) in [
            (Modifiers::NONE, 0),
            (Modifiers::ALT, 1),
            (Modifiers::CTRL, 2),
            (Modifiers::META, 4),
            (Modifiers::SHIFT, 8),
            (all, 15),
        ] {
            let got = run(
                &mut input,
                &[InputEvent::PointerButton {
                    at: at(1, 1),
                    button: PointerButton::Middle,
                    down: true,
                    click_count: 1,
                    modifiers: mods,
                }],
            );
            assert_eq!(got[0]["modifiers"], json!(bits), "{mods:?}");
            assert_eq!(got[0]["button"], json!("middle"));
        }
    }

    #[test]
    fn keys_are_named_and_type_only_without_shortcut_modifiers() {
        let mut input = PreviewInput::new();
        let ctrl_shift = Modifiers {
            ctrl: true,
            shift: true,
            ..Modifiers::NONE
        };
        assert_eq!(
            run(
                &mut input,
                &[
                    key(0x61, true, ctrl_shift),
                    key(0x61, false, ctrl_shift),
                    key(0x61, true, Modifiers::NONE),
                    key(0x61, true, Modifiers::NONE),
                    key(0x61, false, Modifiers::NONE),
                    key(ENTER, true, Modifiers::NONE),
                    key(ENTER, false, Modifiers::NONE),
                    key(BACKSPACE, true, Modifiers::SHIFT),
                    key(BACKSPACE, false, Modifiers::SHIFT),
                ]
            ),
            vec![
                kbd("keyDown", "A", "KeyA", Some(0x41), 10),
                kbd("keyUp", "A", "KeyA", Some(0x41), 10),
                with(
                    kbd("keyDown", "a", "KeyA", Some(0x41), 0),
                    json!({"text": "a"})
                ),
                with(
                    kbd("keyDown", "a", "KeyA", Some(0x41), 0),
                    json!({"text": "a"})
                ),
                kbd("keyUp", "a", "KeyA", Some(0x41), 0),
                with(
                    kbd("keyDown", "Enter", "Enter", Some(13), 0),
                    json!({"text": "\r"})
                ),
                kbd("keyUp", "Enter", "Enter", Some(13), 0),
                kbd("keyDown", "Backspace", "Backspace", Some(8), 8),
                kbd("keyUp", "Backspace", "Backspace", Some(8), 8),
            ]
        );
        // Releasing what is not held, and keys a browser cannot name, send nothing.
        assert_eq!(
            run(&mut input, &[key(0x62, false, Modifiers::NONE)]),
            Vec::<Value>::new()
        );
        assert_eq!(
            run(&mut input, &[key(0xfe50, true, Modifiers::NONE)]),
            Vec::<Value>::new()
        );
        assert_eq!(
            run(&mut input, &[InputEvent::ReleaseAll]),
            Vec::<Value>::new()
        );
    }

    #[test]
    fn text_is_char_events_and_control_characters_are_keys() {
        let mut input = PreviewInput::new();
        let text = |t: &str| InputEvent::Text { text: t.into() };
        assert_eq!(
            run(&mut input, &[text("hé€😀")]),
            vec![
                char_event("h"),
                char_event("é"),
                char_event("€"),
                char_event("😀")
            ]
        );
        let enter_down = with(
            kbd("keyDown", "Enter", "Enter", Some(13), 0),
            json!({"text": "\r"}),
        );
        let enter_up = kbd("keyUp", "Enter", "Enter", Some(13), 0);
        assert_eq!(
            run(&mut input, &[text("a\r\nb\n\tc\u{1}")]),
            vec![
                char_event("a"),
                enter_down.clone(),
                enter_up.clone(),
                char_event("b"),
                enter_down,
                enter_up,
                kbd("keyDown", "Tab", "Tab", Some(9), 0),
                kbd("keyUp", "Tab", "Tab", Some(9), 0),
                char_event("c"),
            ]
        );
        let long = "x".repeat(MAX_TEXT_CHARS + 5);
        assert_eq!(run(&mut input, &[text(&long)]).len(), MAX_TEXT_CHARS);
        // Typing leaves nothing held.
        assert_eq!(
            run(&mut input, &[InputEvent::ReleaseAll]),
            Vec::<Value>::new()
        );
    }

    #[test]
    fn touch_points_are_sent_as_the_set_still_down() {
        let mut input = PreviewInput::new();
        assert_eq!(
            run(
                &mut input,
                &[
                    touch(1, TouchPhase::Start, 10, 10),
                    touch(2, TouchPhase::Start, 50, 60),
                    touch(1, TouchPhase::Move, 12, 14),
                    touch(7, TouchPhase::Move, 0, 0),
                    touch(1, TouchPhase::End, 12, 14),
                    touch(2, TouchPhase::Move, 51, 61),
                    touch(2, TouchPhase::End, 51, 61),
                    touch(2, TouchPhase::End, 51, 61),
                ]
            ),
            vec![
                points("touchStart", &[(1, 10, 10)]),
                points("touchStart", &[(1, 10, 10), (2, 50, 60)]),
                points("touchMove", &[(1, 12, 14), (2, 50, 60)]),
                points("touchMove", &[(2, 50, 60)]),
                points("touchMove", &[(2, 51, 61)]),
                points("touchEnd", &[]),
            ]
        );
        assert_eq!(
            run(
                &mut input,
                &[
                    touch(3, TouchPhase::Start, 1, 1),
                    touch(4, TouchPhase::Start, 2, 2),
                    touch(3, TouchPhase::Cancel, 1, 1),
                    touch(4, TouchPhase::Cancel, 2, 2),
                ]
            ),
            vec![
                points("touchStart", &[(3, 1, 1)]),
                points("touchStart", &[(3, 1, 1), (4, 2, 2)]),
                points("touchCancel", &[]),
            ]
        );
        let starts: Vec<_> = (0..MAX_TOUCH_POINTS as u64 + 2)
            .map(|id| touch(id, TouchPhase::Start, 0, 0))
            .collect();
        assert_eq!(run(&mut input, &starts).len(), MAX_TOUCH_POINTS);
    }

    #[test]
    fn release_all_lets_go_of_keys_buttons_and_touches() {
        let mut input = PreviewInput::new();
        run(
            &mut input,
            &[
                button(PointerButton::Left, 4, 4, true, 1),
                button(PointerButton::Right, 5, 5, true, 1),
                key(SHIFT_L, true, Modifiers::SHIFT),
                key(0x61, true, Modifiers::SHIFT),
                key(TAB, true, Modifiers::SHIFT),
                touch(9, TouchPhase::Start, 3, 3),
            ],
        );
        assert_eq!(
            run(&mut input, &[InputEvent::ReleaseAll]),
            vec![
                kbd("keyUp", "Tab", "Tab", Some(9), 8),
                // Shift is still down: the key is named as shifted.
                kbd("keyUp", "A", "KeyA", Some(0x41), 8),
                kbd("keyUp", "Shift", "ShiftLeft", Some(0x10), 0),
                with(
                    mouse("mouseReleased", 5, 5, "left", 0),
                    json!({"clickCount": 1})
                ),
                with(
                    mouse("mouseReleased", 5, 5, "right", 0),
                    json!({"clickCount": 1})
                ),
                points("touchCancel", &[]),
            ]
        );
        assert_eq!(
            run(&mut input, &[InputEvent::ReleaseAll]),
            Vec::<Value>::new()
        );
        assert_eq!(
            run(&mut input, &[InputEvent::PointerMove { at: at(6, 6) }]),
            vec![mouse("mouseMoved", 6, 6, "none", 0)]
        );
    }

    #[test]
    fn too_many_held_keys_release_the_oldest() {
        let mut input = PreviewInput::new();
        let presses: Vec<_> = "abcdefghijklmnopqrstuvwxyz0123456789"
            .chars()
            .take(MAX_HELD_KEYS + 1)
            .map(|c| key(u32::from(c), true, Modifiers::CTRL))
            .collect();
        let got = run(&mut input, &presses);
        assert_eq!(got.len(), MAX_HELD_KEYS + 2);
        assert_eq!(got[MAX_HELD_KEYS], kbd("keyUp", "a", "KeyA", Some(0x41), 2));
        assert_eq!(
            run(&mut input, &[key(0x61, false, Modifiers::CTRL)]),
            Vec::<Value>::new()
        );
        assert_eq!(
            run(&mut input, &[InputEvent::ReleaseAll]).len(),
            MAX_HELD_KEYS
        );
    }
}
