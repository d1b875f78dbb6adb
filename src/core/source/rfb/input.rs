//! Operator input on the RFB wire: [`InputEvent`]s become client messages.
//!
//! Wire: PointerEvent `5, button-mask u8, x u16, y u16` (the mask is absolute: every
//! message says which buttons are down, see [`ButtonMask`]; wheel notches are a press and
//! release of buttons 4–7); KeyEvent `4, down u8, pad×2, keysym u32`; the QEMU extended key
//! event `255, 0, down u16, keysym u32, scancode u32` once the server confirmed
//! pseudo-encoding -258 and the key's scancode is known; ClientCutText for pasted text.
//!
//! [`RfbInput`] keeps what the remote holds because of us (buttons, keys, modifiers, the
//! touch point emulating the left button) so modifiers follow each event's state, releases
//! pair with presses, and [`InputEvent::ReleaseAll`] can let go of everything.
//! [`RfbInputQueue`] sits between the session's command channel and the socket: pointer
//! moves coalesce while the socket is busy, everything else waits its turn, in order.

use std::collections::VecDeque;

use super::messages;
use crate::core::input::keysym::{self, ModifierKind};
use crate::core::input::{
    ButtonMask, InputEvent, MAX_TEXT_CHARS, Modifiers, PointerButton, PointerCoalescer, RemotePx,
    TouchPhase,
};

/// Keys (other than modifiers) we track as held; pressing more releases the oldest.
pub const MAX_HELD_KEYS: usize = 32;
/// Encoded input messages waiting for the socket; beyond this new input is dropped.
pub const MAX_QUEUED_MESSAGES: usize = 1024;
/// Bytes of encoded input waiting for the socket; beyond this new input is dropped.
pub const MAX_QUEUED_BYTES: usize = 4 << 20;

/// A key the remote holds down because we pressed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HeldKey {
    keysym: u32,
    scancode: Option<u16>,
}

/// The XT scancode (QEMU numbering) of the left-hand key of a modifier.
fn left_scancode(kind: ModifierKind) -> u16 {
    match kind {
        ModifierKind::Shift => 0x2a,
        ModifierKind::Ctrl => 0x1d,
        ModifierKind::Alt => 0x38,
        ModifierKind::Meta => 0xdb,
    }
}

/// Encodes input events for one RFB connection, remembering what the remote holds.
#[derive(Clone, Debug, Default)]
pub struct RfbInput {
    buttons: ButtonMask,
    at: (u16, u16),
    qemu_keys: bool,
    keys: Vec<HeldKey>,
    modifiers: Vec<HeldKey>,
    touch: Option<u64>,
}

impl RfbInput {
    pub fn new() -> Self {
        Self::default()
    }

    /// Use QEMU extended key events for keys with a scancode (the server confirmed -258).
    pub fn set_qemu_key_events(&mut self, on: bool) {
        self.qemu_keys = on;
    }

    /// The button mask the remote last saw.
    pub fn buttons(&self) -> u8 {
        self.buttons.bits()
    }

    /// Appends the client messages for `ev` to `out` (nothing for events that change
    /// nothing on the remote, like releasing a key it does not hold).
    pub fn encode(&mut self, ev: &InputEvent, out: &mut Vec<u8>) {
        match ev {
            InputEvent::PointerMove { at } => {
                self.move_to(*at);
                self.pointer(self.buttons.bits(), out);
            }
            InputEvent::PointerButton {
                at,
                button,
                down,
                modifiers,
                ..
            } => {
                self.sync_modifiers(*modifiers, out);
                self.move_to(*at);
                let mask = self.buttons.set(*button, *down);
                self.pointer(mask, out);
            }
            InputEvent::Wheel {
                at,
                steps_x,
                steps_y,
                modifiers,
            } => {
                self.sync_modifiers(*modifiers, out);
                self.move_to(*at);
                for mask in self.buttons.wheel(*steps_x, *steps_y) {
                    self.pointer(mask, out);
                }
            }
            InputEvent::Key {
                keysym,
                scancode,
                down,
                modifiers,
            } => self.key(*keysym, *scancode, *down, *modifiers, out),
            InputEvent::Text { text } => self.text(text, out),
            InputEvent::Touch { id, phase, at } => self.touch(*id, *phase, *at, out),
            InputEvent::ReleaseAll => self.release_all(out),
        }
    }

    fn move_to(&mut self, at: RemotePx) {
        let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        self.at = (clamp(at.x), clamp(at.y));
    }

    fn pointer(&self, mask: u8, out: &mut Vec<u8>) {
        out.extend_from_slice(&messages::pointer_event(mask, self.at.0, self.at.1));
    }

    fn key_message(&self, key: HeldKey, down: bool, out: &mut Vec<u8>) {
        match key.scancode.filter(|_| self.qemu_keys) {
            Some(code) => {
                out.extend_from_slice(&messages::qemu_key_event(down, key.keysym, code.into()));
            }
            None => out.extend_from_slice(&messages::key_event(down, key.keysym)),
        }
    }

    /// Presses and releases modifier keys until the remote holds exactly `want`.
    fn sync_modifiers(&mut self, want: Modifiers, out: &mut Vec<u8>) {
        for kind in ModifierKind::ALL {
            let held = self
                .modifiers
                .iter()
                .any(|k| keysym::modifier_kind(k.keysym) == Some(kind));
            if want.has(kind) && !held {
                let key = HeldKey {
                    keysym: kind.left_keysym(),
                    scancode: Some(left_scancode(kind)),
                };
                self.modifiers.push(key);
                self.key_message(key, true, out);
            } else if !want.has(kind) && held {
                let (release, keep): (Vec<_>, Vec<_>) = self
                    .modifiers
                    .iter()
                    .partition(|k| keysym::modifier_kind(k.keysym) == Some(kind));
                self.modifiers = keep;
                for key in release {
                    self.key_message(key, false, out);
                }
            }
        }
    }

    /// The modifiers the remote holds because of us.
    fn held_modifiers(&self) -> Modifiers {
        let mut m = Modifiers::NONE;
        for k in &self.modifiers {
            match keysym::modifier_kind(k.keysym) {
                Some(ModifierKind::Shift) => m.shift = true,
                Some(ModifierKind::Ctrl) => m.ctrl = true,
                Some(ModifierKind::Alt) => m.alt = true,
                Some(ModifierKind::Meta) => m.meta = true,
                None => {}
            }
        }
        m
    }

    fn key(
        &mut self,
        keysym: u32,
        scancode: Option<u16>,
        down: bool,
        modifiers: Modifiers,
        out: &mut Vec<u8>,
    ) {
        let key = HeldKey { keysym, scancode };
        if keysym::modifier_kind(keysym).is_some() {
            // A modifier key itself: pressed and released as it is.
            let held = self.modifiers.iter().position(|k| k.keysym == keysym);
            match (down, held) {
                (true, None) => {
                    self.modifiers.push(key);
                    self.key_message(key, true, out);
                }
                (true, Some(_)) => self.key_message(key, true, out),
                (false, Some(i)) => {
                    let pressed = self.modifiers.remove(i);
                    self.key_message(pressed, false, out);
                }
                (false, None) => {}
            }
            return;
        }
        self.sync_modifiers(modifiers, out);
        let held = self.keys.iter().position(|k| k.keysym == keysym);
        if down {
            if held.is_none() {
                if self.keys.len() >= MAX_HELD_KEYS {
                    let oldest = self.keys.remove(0);
                    self.key_message(oldest, false, out);
                }
                self.keys.push(key);
            }
            // A press of a held key is auto-repeat: the remote sees it too.
            self.key_message(key, true, out);
        } else if let Some(i) = held {
            let pressed = self.keys.remove(i);
            self.key_message(pressed, false, out);
        }
    }

    /// Types each character as a press and release of its keysym. Ctrl, Alt and Meta are
    /// let go first so text never turns into shortcuts; Shift stays as it is (the server
    /// picks the keycode and shift level for the keysym).
    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        let keep_shift = Modifiers {
            shift: self.held_modifiers().shift,
            ..Modifiers::NONE
        };
        self.sync_modifiers(keep_shift, out);
        for c in text.chars().take(MAX_TEXT_CHARS) {
            if let Some(keysym) = keysym::from_char(c) {
                let key = HeldKey {
                    keysym,
                    scancode: None,
                };
                self.key_message(key, true, out);
                self.key_message(key, false, out);
            }
        }
    }

    /// RFB has no touch: the first touch point drives the pointer with the left button
    /// held; other touch points are ignored until it ends.
    fn touch(&mut self, id: u64, phase: TouchPhase, at: RemotePx, out: &mut Vec<u8>) {
        match phase {
            TouchPhase::Start if self.touch.is_none() => {
                self.touch = Some(id);
                self.move_to(at);
                // Move there first so the press lands where the finger is.
                self.pointer(self.buttons.bits(), out);
                let mask = self.buttons.set(PointerButton::Left, true);
                self.pointer(mask, out);
            }
            TouchPhase::Move if self.touch == Some(id) => {
                self.move_to(at);
                self.pointer(self.buttons.bits(), out);
            }
            TouchPhase::End | TouchPhase::Cancel if self.touch == Some(id) => {
                self.touch = None;
                self.move_to(at);
                let mask = self.buttons.set(PointerButton::Left, false);
                self.pointer(mask, out);
            }
            _ => {}
        }
    }

    fn release_all(&mut self, out: &mut Vec<u8>) {
        for key in std::mem::take(&mut self.keys).into_iter().rev() {
            self.key_message(key, false, out);
        }
        for key in std::mem::take(&mut self.modifiers).into_iter().rev() {
            self.key_message(key, false, out);
        }
        self.touch = None;
        if self.buttons.bits() != 0 {
            let mask = self.buttons.release_all();
            self.pointer(mask, out);
        }
    }
}

/// A PointerEvent's length: what the waiting move becomes.
const POINTER_EVENT_BYTES: usize = 6;

/// Input waiting for the socket: encoded messages in order, plus at most one pointer move
/// that newer moves replace while the socket is busy.
#[derive(Debug, Default)]
pub struct RfbInputQueue {
    encoder: RfbInput,
    coalescer: PointerCoalescer,
    ready: VecDeque<Vec<u8>>,
    ready_bytes: usize,
    dropped: u64,
}

impl RfbInputQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_qemu_key_events(&mut self, on: bool) {
        self.encoder.set_qemu_key_events(on);
    }

    /// Queues one event (a pointer move replaces the waiting one).
    pub fn push(&mut self, ev: InputEvent) {
        for due in self.coalescer.push(ev) {
            self.encode_ready(&due);
        }
    }

    /// Queues ClientCutText with `text` (Latin-1; other characters become `?`), after any
    /// waiting pointer move.
    pub fn push_paste(&mut self, text: &str) {
        if let Some(due) = self.coalescer.flush() {
            self.encode_ready(&due);
        }
        self.enqueue(messages::client_cut_text(text));
    }

    /// True while something waits for the socket.
    pub fn has_pending(&self) -> bool {
        !self.ready.is_empty() || self.coalescer.has_pending()
    }

    /// The length of the message [`pop`](Self::pop) gives next, to make room for it.
    pub fn next_len(&self) -> Option<usize> {
        match self.ready.front() {
            Some(msg) => Some(msg.len()),
            None => self.coalescer.has_pending().then_some(POINTER_EVENT_BYTES),
        }
    }

    /// The next message to write, oldest first; the waiting move goes last.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        if let Some(msg) = self.ready.pop_front() {
            self.ready_bytes -= msg.len();
            return Some(msg);
        }
        let due = self.coalescer.flush()?;
        let mut msg = Vec::new();
        self.encoder.encode(&due, &mut msg);
        (!msg.is_empty()).then_some(msg)
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn encode_ready(&mut self, ev: &InputEvent) {
        let mut msg = Vec::new();
        self.encoder.encode(ev, &mut msg);
        self.enqueue(msg);
    }

    fn enqueue(&mut self, msg: Vec<u8>) {
        if msg.is_empty() {
            return;
        }
        if self.ready.len() >= MAX_QUEUED_MESSAGES
            || self.ready_bytes + msg.len() > MAX_QUEUED_BYTES
        {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(
                    dropped = self.dropped,
                    "the connection is not taking input; dropping operator input"
                );
            }
            return;
        }
        self.ready_bytes += msg.len();
        self.ready.push_back(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::keysym::{CONTROL_L, ENTER, SHIFT_L, SHIFT_R, TAB};

    /// One client message, decoded for readable assertions.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Msg {
        Pointer(u8, u16, u16),
        Key(bool, u32),
        Qemu(bool, u32, u32),
        Cut(Vec<u8>),
    }

    fn decode(mut b: &[u8]) -> Vec<Msg> {
        let u16_at = |b: &[u8], i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32_at = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut msgs = Vec::new();
        while !b.is_empty() {
            let (msg, n) = match b[0] {
                5 => (Msg::Pointer(b[1], u16_at(b, 2), u16_at(b, 4)), 6),
                4 => (Msg::Key(b[1] == 1, u32_at(b, 4)), 8),
                255 => (Msg::Qemu(u16_at(b, 2) == 1, u32_at(b, 4), u32_at(b, 8)), 12),
                6 => {
                    let len = u32_at(b, 4) as usize;
                    (Msg::Cut(b[8..8 + len].to_vec()), 8 + len)
                }
                other => panic!("unexpected message type {other}"),
            };
            msgs.push(msg);
            b = &b[n..];
        }
        msgs
    }

    fn encode(input: &mut RfbInput, events: &[InputEvent]) -> Vec<Msg> {
        let mut out = Vec::new();
        for ev in events {
            input.encode(ev, &mut out);
        }
        decode(&out)
    }

    fn at(x: u32, y: u32) -> RemotePx {
        RemotePx::new(x, y)
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

    fn press_release(keysyms: &[u32]) -> Vec<Msg> {
        keysyms
            .iter()
            .flat_map(|&k| [Msg::Key(true, k), Msg::Key(false, k)])
            .collect()
    }

    #[test]
    fn a_click_is_a_press_and_release_at_the_pixel() {
        let mut input = RfbInput::new();
        let got = encode(
            &mut input,
            &[
                InputEvent::PointerMove { at: at(300, 200) },
                button(PointerButton::Left, 301, 202, true, 1),
                button(PointerButton::Left, 301, 202, false, 1),
            ],
        );
        assert_eq!(
            got,
            vec![
                Msg::Pointer(0, 300, 200),
                Msg::Pointer(1, 301, 202),
                Msg::Pointer(0, 301, 202),
            ]
        );
        assert_eq!(input.buttons(), 0);
    }

    #[test]
    fn held_buttons_ride_along_with_moves_and_double_clicks_are_two_clicks() {
        let mut input = RfbInput::new();
        let got = encode(
            &mut input,
            &[
                button(PointerButton::Right, 1, 1, true, 1),
                InputEvent::PointerMove { at: at(2, 3) },
                button(PointerButton::Middle, 2, 3, true, 1),
                button(PointerButton::Right, 2, 3, false, 1),
                button(PointerButton::Middle, 2, 3, false, 1),
                button(PointerButton::Left, 9, 9, true, 1),
                button(PointerButton::Left, 9, 9, false, 1),
                button(PointerButton::Left, 9, 9, true, 2),
                button(PointerButton::Left, 9, 9, false, 2),
            ],
        );
        assert_eq!(
            got,
            vec![
                Msg::Pointer(4, 1, 1),
                Msg::Pointer(4, 2, 3),
                Msg::Pointer(6, 2, 3),
                Msg::Pointer(2, 2, 3),
                Msg::Pointer(0, 2, 3),
                Msg::Pointer(1, 9, 9),
                Msg::Pointer(0, 9, 9),
                Msg::Pointer(1, 9, 9),
                Msg::Pointer(0, 9, 9),
            ]
        );
    }

    #[test]
    fn wheel_on_both_axes_is_buttons_4_to_7_at_the_pointer() {
        let mut input = RfbInput::new();
        let wheel = |steps_x, steps_y| InputEvent::Wheel {
            at: at(5, 6),
            steps_x,
            steps_y,
            modifiers: Modifiers::NONE,
        };
        assert_eq!(
            encode(&mut input, &[wheel(0, -1)]),
            vec![Msg::Pointer(0x08, 5, 6), Msg::Pointer(0, 5, 6)]
        );
        assert_eq!(
            encode(&mut input, &[wheel(0, 2)]),
            vec![
                Msg::Pointer(0x10, 5, 6),
                Msg::Pointer(0, 5, 6),
                Msg::Pointer(0x10, 5, 6),
                Msg::Pointer(0, 5, 6),
            ]
        );
        assert_eq!(
            encode(&mut input, &[wheel(-1, 0), wheel(1, 0)]),
            vec![
                Msg::Pointer(0x20, 5, 6),
                Msg::Pointer(0, 5, 6),
                Msg::Pointer(0x40, 5, 6),
                Msg::Pointer(0, 5, 6),
            ]
        );
        // Ctrl+wheel (zoom) holds Ctrl around the notches.
        let zoom = InputEvent::Wheel {
            at: at(5, 6),
            steps_x: 0,
            steps_y: -1,
            modifiers: Modifiers::CTRL,
        };
        assert_eq!(
            encode(
                &mut input,
                &[zoom, InputEvent::PointerMove { at: at(5, 6) }]
            ),
            vec![
                Msg::Key(true, CONTROL_L),
                Msg::Pointer(0x08, 5, 6),
                Msg::Pointer(0, 5, 6),
                Msg::Pointer(0, 5, 6),
            ]
        );
    }

    #[test]
    fn coordinates_beyond_u16_clamp() {
        let mut input = RfbInput::new();
        assert_eq!(
            encode(
                &mut input,
                &[InputEvent::PointerMove {
                    at: at(70_000, u32::MAX)
                }]
            ),
            vec![Msg::Pointer(0, u16::MAX, u16::MAX)]
        );
    }

    #[test]
    fn modifiers_are_pressed_before_and_released_when_no_longer_held() {
        let mut input = RfbInput::new();
        let got = encode(
            &mut input,
            &[
                key(TAB, true, Modifiers::SHIFT),
                key(TAB, false, Modifiers::SHIFT),
                key(0x61, true, Modifiers::CTRL),
                key(0x61, false, Modifiers::CTRL),
                key(ENTER, true, Modifiers::NONE),
                key(ENTER, false, Modifiers::NONE),
            ],
        );
        assert_eq!(
            got,
            vec![
                Msg::Key(true, SHIFT_L),
                Msg::Key(true, TAB),
                Msg::Key(false, TAB),
                Msg::Key(false, SHIFT_L),
                Msg::Key(true, CONTROL_L),
                Msg::Key(true, 0x61),
                Msg::Key(false, 0x61),
                Msg::Key(false, CONTROL_L),
                Msg::Key(true, ENTER),
                Msg::Key(false, ENTER),
            ]
        );
    }

    #[test]
    fn modifier_key_events_are_sent_as_they_are_and_not_doubled() {
        let mut input = RfbInput::new();
        let got = encode(
            &mut input,
            &[
                key(SHIFT_R, true, Modifiers::SHIFT),
                key(TAB, true, Modifiers::SHIFT),
                key(TAB, false, Modifiers::SHIFT),
                key(SHIFT_R, false, Modifiers::NONE),
                key(SHIFT_R, false, Modifiers::NONE),
            ],
        );
        assert_eq!(
            got,
            vec![
                Msg::Key(true, SHIFT_R),
                Msg::Key(true, TAB),
                Msg::Key(false, TAB),
                Msg::Key(false, SHIFT_R),
            ]
        );
    }

    #[test]
    fn releases_without_a_press_are_dropped_and_repeats_pass() {
        let mut input = RfbInput::new();
        let got = encode(
            &mut input,
            &[
                key(0x61, false, Modifiers::NONE),
                key(0x62, true, Modifiers::NONE),
                key(0x62, true, Modifiers::NONE),
                key(0x62, false, Modifiers::NONE),
                key(0x62, false, Modifiers::NONE),
            ],
        );
        assert_eq!(
            got,
            vec![
                Msg::Key(true, 0x62),
                Msg::Key(true, 0x62),
                Msg::Key(false, 0x62),
            ]
        );
    }

    #[test]
    fn text_types_each_character_including_non_ascii() {
        let mut input = RfbInput::new();
        let got = encode(
            &mut input,
            &[InputEvent::Text {
                text: "héllo €\n".into(),
            }],
        );
        assert_eq!(
            got,
            press_release(&[0x68, 0xe9, 0x6c, 0x6c, 0x6f, 0x20, 0x0100_20ac, ENTER])
        );
    }

    #[test]
    fn text_lets_go_of_shortcut_modifiers_but_keeps_shift() {
        let mut input = RfbInput::new();
        let got = encode(
            &mut input,
            &[
                key(0x63, true, Modifiers::CTRL.union(Modifiers::SHIFT)),
                key(0x63, false, Modifiers::CTRL.union(Modifiers::SHIFT)),
                InputEvent::Text { text: "A".into() },
            ],
        );
        assert_eq!(
            got,
            vec![
                Msg::Key(true, SHIFT_L),
                Msg::Key(true, CONTROL_L),
                Msg::Key(true, 0x63),
                Msg::Key(false, 0x63),
                Msg::Key(false, CONTROL_L),
                Msg::Key(true, 0x41),
                Msg::Key(false, 0x41),
            ]
        );
    }

    #[test]
    fn text_is_bounded() {
        let mut input = RfbInput::new();
        let mut out = Vec::new();
        input.encode(
            &InputEvent::Text {
                text: "x".repeat(MAX_TEXT_CHARS + 5),
            },
            &mut out,
        );
        assert_eq!(out.len(), MAX_TEXT_CHARS * 2 * 8);
    }

    #[test]
    fn qemu_key_events_carry_scancodes_once_the_server_offers_them() {
        let mut input = RfbInput::new();
        let a = |down| InputEvent::Key {
            keysym: 0x61,
            scancode: Some(0x1e),
            down,
            modifiers: Modifiers::NONE,
        };
        assert_eq!(encode(&mut input, &[a(true)]), vec![Msg::Key(true, 0x61)]);
        input.set_qemu_key_events(true);
        let ctrl_a = InputEvent::Key {
            keysym: 0x61,
            scancode: Some(0x1e),
            down: true,
            modifiers: Modifiers::CTRL,
        };
        assert_eq!(
            encode(
                &mut input,
                &[
                    a(false),
                    ctrl_a,
                    key(0x62, true, Modifiers::CTRL),
                    InputEvent::Text { text: "z".into() },
                ]
            ),
            vec![
                // The release pairs with the press, which had no QEMU form yet: the
                // scancode it was pressed with is used.
                Msg::Qemu(false, 0x61, 0x1e),
                Msg::Qemu(true, CONTROL_L, 0x1d),
                Msg::Qemu(true, 0x61, 0x1e),
                // No scancode known: a plain KeyEvent.
                Msg::Key(true, 0x62),
                Msg::Qemu(false, CONTROL_L, 0x1d),
                Msg::Key(true, 0x7a),
                Msg::Key(false, 0x7a),
            ]
        );
    }

    #[test]
    fn the_first_touch_point_drives_the_left_button() {
        let mut input = RfbInput::new();
        let t = |id, phase, x| InputEvent::Touch {
            id,
            phase,
            at: at(x, 7),
        };
        let got = encode(
            &mut input,
            &[
                t(1, TouchPhase::Start, 10),
                t(2, TouchPhase::Start, 50),
                t(1, TouchPhase::Move, 12),
                t(2, TouchPhase::Move, 52),
                t(2, TouchPhase::End, 52),
                t(1, TouchPhase::End, 13),
                t(2, TouchPhase::Start, 60),
                t(2, TouchPhase::Cancel, 61),
            ],
        );
        assert_eq!(
            got,
            vec![
                Msg::Pointer(0, 10, 7),
                Msg::Pointer(1, 10, 7),
                Msg::Pointer(1, 12, 7),
                Msg::Pointer(0, 13, 7),
                Msg::Pointer(0, 60, 7),
                Msg::Pointer(1, 60, 7),
                Msg::Pointer(0, 61, 7),
            ]
        );
    }

    #[test]
    fn release_all_lets_go_of_everything_once() {
        let mut input = RfbInput::new();
        encode(
            &mut input,
            &[
                button(PointerButton::Left, 4, 4, true, 1),
                key(SHIFT_L, true, Modifiers::SHIFT),
                key(0x61, true, Modifiers::SHIFT),
                key(0x62, true, Modifiers::SHIFT),
            ],
        );
        assert_eq!(
            encode(&mut input, &[InputEvent::ReleaseAll]),
            vec![
                Msg::Key(false, 0x62),
                Msg::Key(false, 0x61),
                Msg::Key(false, SHIFT_L),
                Msg::Pointer(0, 4, 4),
            ]
        );
        assert_eq!(encode(&mut input, &[InputEvent::ReleaseAll]), vec![]);
    }

    #[test]
    fn too_many_held_keys_release_the_oldest() {
        let mut input = RfbInput::new();
        let presses: Vec<_> = (0..=MAX_HELD_KEYS as u32)
            .map(|i| key(0x1000 + i, true, Modifiers::NONE))
            .collect();
        let got = encode(&mut input, &presses);
        assert_eq!(got.len(), MAX_HELD_KEYS + 2);
        assert_eq!(got[MAX_HELD_KEYS], Msg::Key(false, 0x1000));
        assert_eq!(
            encode(&mut input, &[key(0x1000, false, Modifiers::NONE)]),
            vec![]
        );
    }

    fn drain(q: &mut RfbInputQueue) -> Vec<Msg> {
        let mut out = Vec::new();
        while let Some(m) = q.pop() {
            out.extend(decode(&m));
        }
        assert!(!q.has_pending());
        out
    }

    #[test]
    fn the_queue_coalesces_moves_while_the_socket_is_busy_but_keeps_clicks() {
        let mut q = RfbInputQueue::new();
        assert!(!q.has_pending());
        for x in 0..100 {
            q.push(InputEvent::PointerMove { at: at(x, 1) });
        }
        assert!(q.has_pending());
        q.push(button(PointerButton::Left, 99, 1, true, 1));
        for x in 100..200 {
            q.push(InputEvent::PointerMove { at: at(x, 1) });
        }
        q.push(button(PointerButton::Left, 199, 1, false, 1));
        q.push(InputEvent::PointerMove { at: at(5, 5) });
        q.push_paste("hé€");
        q.push(InputEvent::PointerMove { at: at(6, 6) });
        assert_eq!(
            drain(&mut q),
            vec![
                Msg::Pointer(0, 99, 1),
                Msg::Pointer(1, 99, 1),
                Msg::Pointer(1, 199, 1),
                Msg::Pointer(0, 199, 1),
                Msg::Pointer(0, 5, 5),
                Msg::Cut(vec![b'h', 0xe9, b'?']),
                Msg::Pointer(0, 6, 6),
            ]
        );
        assert_eq!(q.dropped(), 0);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut q = RfbInputQueue::new();
        for _ in 0..MAX_QUEUED_MESSAGES + 3 {
            q.push(InputEvent::Text { text: "a".into() });
        }
        assert_eq!(q.dropped(), 3);
        assert_eq!(drain(&mut q).len(), 2 * MAX_QUEUED_MESSAGES);
        // Bytes too: a few large pastes fill it.
        let big = "x".repeat(messages::MAX_CUT_TEXT_BYTES);
        for _ in 0..5 {
            q.push_paste(&big);
        }
        assert_eq!(
            q.dropped(),
            3 + 5 - (MAX_QUEUED_BYTES / (big.len() + 8)) as u64
        );
        q.push(InputEvent::PointerMove { at: at(1, 1) });
        assert!(q.has_pending());
    }
}
