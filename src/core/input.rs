//! Operator input, modelled once, in the remote picture's pixels.
//!
//! The front end maps its own coordinates and key codes to [`InputEvent`]s (pointer moves,
//! buttons with click counts, wheel notches on both axes, keys as X11 [`keysym`]s with their
//! modifiers, typed text, touch points) and sends them as `Command::Input` only in
//! interactive mode. Sources encode them for their wire: RFB in
//! `source::rfb::input` (PointerEvent with the [`ButtonMask`], KeyEvent or the QEMU extended
//! key event), the preview protocol as JSON.
//!
//! Pointer moves are cheap to drop and expensive to queue: a [`PointerCoalescer`] keeps at
//! most one pending move and lets everything else through in order, so a slow link or a
//! busy frame sends the newest position, never a backlog, and never loses a click.

pub mod keysym;

/// A position in the remote picture, in remote pixels from its top-left corner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RemotePx {
    pub x: u32,
    pub y: u32,
}

impl RemotePx {
    pub fn new(x: u32, y: u32) -> Self {
        Self { x, y }
    }
}

/// Modifier keys held during an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Modifiers {
    pub shift: bool,
    pub ctrl: bool,
    pub alt: bool,
    /// Super / Windows / Command.
    pub meta: bool,
}

impl Modifiers {
    pub const NONE: Modifiers = Modifiers {
        shift: false,
        ctrl: false,
        alt: false,
        meta: false,
    };
    pub const SHIFT: Modifiers = Modifiers {
        shift: true,
        ..Self::NONE
    };
    pub const CTRL: Modifiers = Modifiers {
        ctrl: true,
        ..Self::NONE
    };
    pub const ALT: Modifiers = Modifiers {
        alt: true,
        ..Self::NONE
    };
    pub const META: Modifiers = Modifiers {
        meta: true,
        ..Self::NONE
    };

    /// Whether `kind` is held.
    pub fn has(self, kind: keysym::ModifierKind) -> bool {
        match kind {
            keysym::ModifierKind::Shift => self.shift,
            keysym::ModifierKind::Ctrl => self.ctrl,
            keysym::ModifierKind::Alt => self.alt,
            keysym::ModifierKind::Meta => self.meta,
        }
    }

    /// Both sets' modifiers.
    pub fn union(self, other: Modifiers) -> Modifiers {
        Modifiers {
            shift: self.shift || other.shift,
            ctrl: self.ctrl || other.ctrl,
            alt: self.alt || other.alt,
            meta: self.meta || other.meta,
        }
    }

    /// Bit flags as the DevTools protocol counts them: Alt 1, Ctrl 2, Meta 4, Shift 8.
    pub fn cdp_bits(self) -> u8 {
        u8::from(self.alt)
            | (u8::from(self.ctrl) << 1)
            | (u8::from(self.meta) << 2)
            | (u8::from(self.shift) << 3)
    }
}

/// A mouse button.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PointerButton {
    Left,
    Middle,
    Right,
}

/// Where a touch point is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TouchPhase {
    Start,
    Move,
    End,
    Cancel,
}

/// Most characters one [`InputEvent::Text`] may type; the rest is dropped.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most wheel notches one [`InputEvent::Wheel`] may turn on each axis.
pub const MAX_WHEEL_STEPS: i32 = 32;

/// One input event, already in the remote picture's pixel space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputEvent {
    /// The pointer moved to `at` (buttons stay as they are).
    PointerMove { at: RemotePx },
    /// A button went down or up at `at`. `click_count` is 1 for a single click, 2 for the
    /// second press of a double-click (sources that know click counts use it; RFB does not
    /// need it, as the remote sees both presses).
    PointerButton {
        at: RemotePx,
        button: PointerButton,
        down: bool,
        click_count: u8,
        modifiers: Modifiers,
    },
    /// The wheel turned at `at`, in notches: `steps_y > 0` scrolls down (toward the end of
    /// the page), `steps_x > 0` scrolls right.
    Wheel {
        at: RemotePx,
        steps_x: i32,
        steps_y: i32,
        modifiers: Modifiers,
    },
    /// A key went down or up. `scancode` is the physical key as an XT scancode in QEMU's
    /// numbering (extended keys `0x80 | code`), when the front end knows it.
    Key {
        keysym: u32,
        scancode: Option<u16>,
        down: bool,
        modifiers: Modifiers,
    },
    /// Text typed (or pasted as typing): any Unicode, at most [`MAX_TEXT_CHARS`] characters.
    Text { text: String },
    /// A touch point `id` changed; ids are stable from start to end or cancel.
    Touch {
        id: u64,
        phase: TouchPhase,
        at: RemotePx,
    },
    /// The operator let go (control released, focus lost): release every button and key
    /// the remote still holds because of us.
    ReleaseAll,
}

impl InputEvent {
    /// What a newer event may replace this one under: pointer moves, and moves of one touch
    /// point. Everything else must arrive.
    fn coalesce_key(&self) -> Option<CoalesceKey> {
        match self {
            InputEvent::PointerMove { .. } => Some(CoalesceKey::Pointer),
            InputEvent::Touch {
                id,
                phase: TouchPhase::Move,
                ..
            } => Some(CoalesceKey::Touch(*id)),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CoalesceKey {
    Pointer,
    Touch(u64),
}

/// Keeps at most one pending pointer (or touch) move; every other event passes at once,
/// after the pending move, so nothing is reordered and no button or wheel event is dropped.
///
/// Feed events with [`push`](Self::push), send what it returns, and call
/// [`flush`](Self::flush) when it is time to send a move (once per display frame in the
/// front end, whenever the socket has room in a session).
#[derive(Clone, Debug, Default)]
pub struct PointerCoalescer {
    pending: Option<InputEvent>,
}

impl PointerCoalescer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event; returns the events to send now, oldest first (none, one or two).
    pub fn push(&mut self, ev: InputEvent) -> impl Iterator<Item = InputEvent> + use<> {
        let key = ev.coalesce_key();
        let pending_key = self.pending.as_ref().and_then(InputEvent::coalesce_key);
        let (first, second) = match key {
            // A newer position of the same thing: the old one is stale.
            Some(k) if pending_key == Some(k) => {
                self.pending = Some(ev);
                (None, None)
            }
            Some(_) => (self.pending.replace(ev), None),
            None => (self.pending.take(), Some(ev)),
        };
        first.into_iter().chain(second)
    }

    /// The pending move, if any, now due.
    pub fn flush(&mut self) -> Option<InputEvent> {
        self.pending.take()
    }

    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }
}

/// The RFB PointerEvent button mask and its state machine: bits 0/1/2 are the left,
/// middle and right buttons (held until released); wheel notches are a press and release
/// of buttons 4/5 (up/down, bits 3/4) and 6/7 (left/right, bits 5/6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ButtonMask {
    held: u8,
}

impl ButtonMask {
    pub const LEFT: u8 = 1 << 0;
    pub const MIDDLE: u8 = 1 << 1;
    pub const RIGHT: u8 = 1 << 2;
    pub const WHEEL_UP: u8 = 1 << 3;
    pub const WHEEL_DOWN: u8 = 1 << 4;
    pub const WHEEL_LEFT: u8 = 1 << 5;
    pub const WHEEL_RIGHT: u8 = 1 << 6;

    /// The bit of a button.
    pub fn bit(button: PointerButton) -> u8 {
        match button {
            PointerButton::Left => Self::LEFT,
            PointerButton::Middle => Self::MIDDLE,
            PointerButton::Right => Self::RIGHT,
        }
    }

    /// The buttons held now.
    pub fn bits(self) -> u8 {
        self.held
    }

    pub fn is_held(self, button: PointerButton) -> bool {
        self.held & Self::bit(button) != 0
    }

    /// Presses or releases `button`; returns the new mask.
    pub fn set(&mut self, button: PointerButton, down: bool) -> u8 {
        if down {
            self.held |= Self::bit(button);
        } else {
            self.held &= !Self::bit(button);
        }
        self.held
    }

    /// Releases every button; returns the new (empty) mask.
    pub fn release_all(&mut self) -> u8 {
        self.held = 0;
        self.held
    }

    /// The masks to send for a wheel turn, in order: for each notch (vertical first, each
    /// axis at most [`MAX_WHEEL_STEPS`]), one mask with the wheel bit pressed and one with
    /// it released, held buttons kept throughout.
    pub fn wheel(self, steps_x: i32, steps_y: i32) -> impl Iterator<Item = u8> + use<> {
        let axis = |steps: i32, negative: u8, positive: u8| {
            let bit = if steps < 0 { negative } else { positive };
            let n = steps.unsigned_abs().min(MAX_WHEEL_STEPS as u32);
            std::iter::repeat_n(bit, n as usize)
        };
        let held = self.held;
        axis(steps_y, Self::WHEEL_UP, Self::WHEEL_DOWN)
            .chain(axis(steps_x, Self::WHEEL_LEFT, Self::WHEEL_RIGHT))
            .flat_map(move |bit| [held | bit, held])
    }
}

/// Turns fractional wheel deltas (smooth scrolling, touchpads) into whole notches, carrying
/// the remainder so slow scrolling still arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WheelAccumulator {
    rest_x: f32,
    rest_y: f32,
}

impl WheelAccumulator {
    /// Adds a delta in notches (same directions as [`InputEvent::Wheel`]) and returns the
    /// whole notches now due, each axis bounded by [`MAX_WHEEL_STEPS`]. Non-finite input is
    /// ignored.
    pub fn add(&mut self, notches_x: f32, notches_y: f32) -> (i32, i32) {
        let limit = MAX_WHEEL_STEPS as f32;
        let take = |rest: &mut f32, delta: f32| {
            if delta.is_finite() {
                *rest = (*rest + delta).clamp(-limit, limit);
            }
            let whole = rest.trunc();
            *rest -= whole;
            whole as i32
        };
        let x = take(&mut self.rest_x, notches_x);
        let y = take(&mut self.rest_y, notches_y);
        (x, y)
    }

    /// Forgets any part-notch (when the pointer leaves or control is released).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(x: u32, y: u32) -> InputEvent {
        InputEvent::PointerMove {
            at: RemotePx::new(x, y),
        }
    }

    fn button(x: u32, y: u32, down: bool) -> InputEvent {
        InputEvent::PointerButton {
            at: RemotePx::new(x, y),
            button: PointerButton::Left,
            down,
            click_count: 1,
            modifiers: Modifiers::NONE,
        }
    }

    fn wheel(steps_y: i32) -> InputEvent {
        InputEvent::Wheel {
            at: RemotePx::new(1, 1),
            steps_x: 0,
            steps_y,
            modifiers: Modifiers::NONE,
        }
    }

    fn touch(id: u64, phase: TouchPhase, x: u32) -> InputEvent {
        InputEvent::Touch {
            id,
            phase,
            at: RemotePx::new(x, 0),
        }
    }

    /// Pushes everything, flushing at the end, and returns what would be sent.
    fn run(c: &mut PointerCoalescer, events: Vec<InputEvent>) -> Vec<InputEvent> {
        let mut sent = Vec::new();
        for ev in events {
            sent.extend(c.push(ev));
        }
        sent.extend(c.flush());
        sent
    }

    #[test]
    fn moves_coalesce_to_the_newest() {
        let mut c = PointerCoalescer::new();
        assert_eq!(c.push(mv(1, 1)).count(), 0);
        assert_eq!(c.push(mv(2, 2)).count(), 0);
        assert!(c.has_pending());
        assert_eq!(c.flush(), Some(mv(2, 2)));
        assert!(!c.has_pending());
        assert_eq!(c.flush(), None);
    }

    #[test]
    fn buttons_and_wheel_flush_the_pending_move_first_and_are_never_dropped() {
        let mut c = PointerCoalescer::new();
        let sent = run(
            &mut c,
            vec![
                mv(1, 1),
                mv(5, 5),
                button(5, 5, true),
                mv(6, 6),
                mv(7, 7),
                mv(8, 8),
                button(8, 8, false),
                wheel(1),
                wheel(-2),
                mv(9, 9),
            ],
        );
        assert_eq!(
            sent,
            vec![
                mv(5, 5),
                button(5, 5, true),
                mv(8, 8),
                button(8, 8, false),
                wheel(1),
                wheel(-2),
                mv(9, 9),
            ]
        );
    }

    #[test]
    fn a_button_after_a_move_comes_out_in_one_push() {
        let mut c = PointerCoalescer::new();
        assert_eq!(c.push(mv(3, 4)).count(), 0);
        let now: Vec<_> = c.push(button(3, 4, true)).collect();
        assert_eq!(now, vec![mv(3, 4), button(3, 4, true)]);
        assert!(!c.has_pending());
    }

    #[test]
    fn touch_moves_coalesce_per_touch_point_in_order() {
        let mut c = PointerCoalescer::new();
        let sent = run(
            &mut c,
            vec![
                touch(1, TouchPhase::Start, 0),
                touch(1, TouchPhase::Move, 1),
                touch(1, TouchPhase::Move, 2),
                touch(2, TouchPhase::Move, 10),
                touch(1, TouchPhase::Move, 3),
                touch(1, TouchPhase::End, 3),
                mv(4, 4),
                touch(2, TouchPhase::Move, 11),
            ],
        );
        assert_eq!(
            sent,
            vec![
                touch(1, TouchPhase::Start, 0),
                touch(1, TouchPhase::Move, 2),
                touch(2, TouchPhase::Move, 10),
                touch(1, TouchPhase::Move, 3),
                touch(1, TouchPhase::End, 3),
                mv(4, 4),
                touch(2, TouchPhase::Move, 11),
            ]
        );
    }

    #[test]
    fn button_mask_tracks_held_buttons() {
        let mut m = ButtonMask::default();
        assert_eq!(m.set(PointerButton::Left, true), 0b001);
        assert_eq!(m.set(PointerButton::Right, true), 0b101);
        assert!(m.is_held(PointerButton::Right));
        assert_eq!(m.set(PointerButton::Middle, true), 0b111);
        assert_eq!(m.set(PointerButton::Left, false), 0b110);
        assert_eq!(m.set(PointerButton::Left, false), 0b110, "release twice");
        assert_eq!(m.release_all(), 0);
        assert!(!m.is_held(PointerButton::Middle));
    }

    #[test]
    fn wheel_notches_are_press_release_pairs_of_buttons_4_to_7() {
        let m = ButtonMask::default();
        assert_eq!(m.wheel(0, -1).collect::<Vec<_>>(), vec![0x08, 0x00]);
        assert_eq!(
            m.wheel(0, 2).collect::<Vec<_>>(),
            vec![0x10, 0x00, 0x10, 0x00]
        );
        assert_eq!(m.wheel(-1, 0).collect::<Vec<_>>(), vec![0x20, 0x00]);
        assert_eq!(m.wheel(1, 0).collect::<Vec<_>>(), vec![0x40, 0x00]);
        // Vertical first, then horizontal; nothing for no turn.
        assert_eq!(
            m.wheel(1, 1).collect::<Vec<_>>(),
            vec![0x10, 0x00, 0x40, 0x00]
        );
        assert_eq!(m.wheel(0, 0).count(), 0);
    }

    #[test]
    fn wheel_keeps_held_buttons_and_is_bounded() {
        let mut m = ButtonMask::default();
        m.set(PointerButton::Left, true);
        assert_eq!(m.wheel(0, 1).collect::<Vec<_>>(), vec![0x11, 0x01]);
        let huge: Vec<u8> = m.wheel(i32::MIN, i32::MAX).collect();
        assert_eq!(huge.len(), 4 * MAX_WHEEL_STEPS as usize);
        assert_eq!(huge[0], 0x11);
        assert_eq!(huge[2 * MAX_WHEEL_STEPS as usize], 0x21);
    }

    #[test]
    fn wheel_accumulator_carries_fractions() {
        let mut a = WheelAccumulator::default();
        assert_eq!(a.add(0.0, 0.4), (0, 0));
        assert_eq!(a.add(0.0, 0.4), (0, 0));
        assert_eq!(a.add(0.0, 0.4), (0, 1));
        assert_eq!(a.add(-2.5, 0.0), (-2, 0));
        assert_eq!(a.add(-0.5, 0.0), (-1, 0));
        assert_eq!(a.add(f32::NAN, f32::INFINITY), (0, 0));
        assert_eq!(a.add(0.0, 1e9), (0, MAX_WHEEL_STEPS));
        a.add(0.0, 0.9);
        a.reset();
        assert_eq!(a.add(0.0, 0.2), (0, 0));
    }

    #[test]
    fn modifier_helpers() {
        use keysym::ModifierKind;
        let m = Modifiers::CTRL.union(Modifiers::SHIFT);
        assert!(m.has(ModifierKind::Ctrl) && m.has(ModifierKind::Shift));
        assert!(!m.has(ModifierKind::Alt) && !m.has(ModifierKind::Meta));
        assert_eq!(Modifiers::ALT.cdp_bits(), 1);
        assert_eq!(Modifiers::CTRL.cdp_bits(), 2);
        assert_eq!(Modifiers::META.cdp_bits(), 4);
        assert_eq!(m.cdp_bits(), 10);
    }
}
