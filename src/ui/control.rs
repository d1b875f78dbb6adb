//! Interactive mode: turning the operator's egui events into remote input.
//!
//! A view starts view-only. [`Control`] holds whether the operator has taken control and
//! translates one frame's egui events into [`InputEvent`]s in remote pixels, through one
//! mapping ([`layout::remote_pixel`]) that knows the picture's scale, letterboxing and the
//! screen's HiDPI factor. Nothing is produced while view-only: the translation is not even
//! run.
//!
//! - Pointer moves are coalesced to at most one per display frame ([`PointerCoalescer`]);
//!   buttons, wheel notches, keys and text arrive in order. A drag that leaves the picture
//!   keeps going at its edge, so the release is never lost.
//! - Double-clicks: a press of the same button within [`DOUBLE_CLICK_S`] and a few pixels
//!   of the last one counts up (`click_count` 2, 3), for sources that need it.
//! - Touch points become touch events; the pointer events egui synthesises from the first
//!   finger are dropped while a finger is down, so a tap is not sent twice.
//! - The wheel: lines are notches; smooth (point) scrolling is accumulated
//!   ([`WheelAccumulator`]) at [`POINTS_PER_NOTCH`].
//! - Releasing control, losing window focus, or holding Escape for [`ESCAPE_HOLD_S`]
//!   releases everything the remote holds because of us ([`InputEvent::ReleaseAll`]).

use egui::{Event, Key, KeyboardShortcut, Modifiers as EguiModifiers, MouseWheelUnit, Pos2};

use super::keys;
use super::layout::{self, Placement};
use crate::core::input::{
    InputEvent, PointerButton, PointerCoalescer, RemotePx, TouchPhase, WheelAccumulator,
};

/// Takes and releases control. F8 is the key VNC viewers reserve for their own menu, so
/// operators expect it to stay with the viewer, and remote pages rarely need it.
pub const CONTROL_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(EguiModifiers::NONE, Key::F8);
/// Holding Escape this long releases control (a tap still goes to the remote).
pub const ESCAPE_HOLD_S: f64 = 1.0;
/// Most time between two presses of a double-click.
pub const DOUBLE_CLICK_S: f64 = 0.5;
/// Farthest two presses of a double-click may be apart, in points.
const DOUBLE_CLICK_SLOP: f32 = 4.0;
/// Smooth scrolling: points of scroll per wheel notch.
pub const POINTS_PER_NOTCH: f32 = 50.0;

/// Why input cannot be sent, when it cannot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Availability {
    Available,
    /// The session is not live (nothing to send to).
    NotLive,
    /// The provider disabled input for this session; the text says so.
    Disabled(String),
}

/// The last press, for click counting.
#[derive(Clone, Copy, Debug)]
struct LastPress {
    button: PointerButton,
    at: Pos2,
    time: f64,
    count: u8,
}

/// Interactive mode and its translation state.
#[derive(Debug, Default)]
pub struct Control {
    interactive: bool,
    coalescer: PointerCoalescer,
    wheel: WheelAccumulator,
    /// Buttons down because of us.
    held: Vec<PointerButton>,
    last_press: Option<LastPress>,
    /// Touch points down.
    touches: Vec<u64>,
    /// When Escape went down, while it is held.
    escape_since: Option<f64>,
    /// Where the pointer was last sent, to skip repeats.
    last_sent: Option<RemotePx>,
    /// The operator asked to paste the local clipboard to the remote: the next
    /// `Event::Paste` carries it.
    paste_requested: bool,
}

/// Where the picture is this frame, for mapping pointer positions.
struct View<'a> {
    picture: Option<(&'a Placement, [u32; 2])>,
    pixels_per_point: f32,
}

/// What one frame's events come to.
#[derive(Debug, Default, PartialEq)]
pub struct Translated {
    /// Input to send, oldest first.
    pub input: Vec<InputEvent>,
    /// The local clipboard's text, when the operator asked to paste it to the remote.
    pub paste: Option<String>,
    /// The operator released control by holding Escape.
    pub released: bool,
}

impl Control {
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// Switches to interactive mode.
    pub fn take(&mut self) {
        self.interactive = true;
        self.escape_since = None;
    }

    /// Back to view-only. Returns the events that let go of everything held (send them).
    pub fn release(&mut self) -> Vec<InputEvent> {
        if !self.interactive {
            return Vec::new();
        }
        self.interactive = false;
        let mut out: Vec<InputEvent> = self.coalescer.flush().into_iter().collect();
        out.push(InputEvent::ReleaseAll);
        self.forget_held();
        out
    }

    fn forget_held(&mut self) {
        self.held.clear();
        self.touches.clear();
        self.wheel.reset();
        self.escape_since = None;
        self.last_press = None;
        self.paste_requested = false;
    }

    /// Where the pointer was last sent to the remote.
    pub fn last_pointer(&self) -> Option<RemotePx> {
        self.last_sent
    }

    /// Marks the next clipboard paste event as the operator's "Paste to remote" (the caller
    /// asks the window for the clipboard, which arrives as `Event::Paste`).
    pub fn request_paste(&mut self) {
        self.paste_requested = self.interactive;
    }

    /// True while Escape is being held toward a release; the caller repaints until then.
    pub fn escape_pending(&self) -> Option<f64> {
        self.escape_since
    }

    /// Translates one frame's events. `placement` is where the picture is drawn (`None`:
    /// no picture, pointer events are ignored); `image_px` its size; `now` egui's time.
    pub fn translate(
        &mut self,
        events: &[Event],
        held_modifiers: EguiModifiers,
        picture: Option<(&Placement, [u32; 2])>,
        pixels_per_point: f32,
        now: f64,
    ) -> Translated {
        if !self.interactive {
            return Translated::default();
        }
        let view = View {
            picture,
            pixels_per_point,
        };
        let mut out = Vec::new();
        let mut paste = None;
        for event in events {
            let input = match event {
                Event::Paste(text) if self.paste_requested => {
                    self.paste_requested = false;
                    paste = Some(text.clone());
                    None
                }
                Event::Key { .. } | Event::Text(_) | Event::Copy | Event::Cut | Event::Paste(_) => {
                    self.keys(event, held_modifiers, now, &mut out);
                    None
                }
                Event::WindowFocused(false) => {
                    if let Some(ev) = self.coalescer.flush() {
                        out.push(ev);
                    }
                    out.push(InputEvent::ReleaseAll);
                    self.forget_held();
                    None
                }
                Event::PointerMoved(pos) if self.touches.is_empty() => {
                    self.pointer_moved(*pos, &view)
                }
                Event::PointerButton {
                    pos,
                    button,
                    pressed,
                    modifiers,
                } if self.touches.is_empty() => {
                    self.pointer_button(*pos, *button, *pressed, *modifiers, &view, now)
                }
                Event::MouseWheel {
                    unit,
                    delta,
                    modifiers,
                    ..
                } => self.wheel(*unit, *delta, *modifiers, &view),
                Event::Touch { id, phase, pos, .. } => self.touch(id.0, *phase, *pos, &view),
                _ => None,
            };
            if let Some(ev) = input {
                out.extend(self.coalescer.push(ev));
            }
        }
        // One pointer move per display frame: the newest.
        if let Some(ev) = self.coalescer.flush() {
            out.push(ev);
        }
        let released = self
            .escape_since
            .is_some_and(|since| now - since >= ESCAPE_HOLD_S);
        if released {
            out.extend(self.release());
        }
        Translated {
            input: out,
            paste,
            released,
        }
    }

    /// Keys and typed text (Escape also starts or ends the hold that releases control).
    fn keys(&mut self, event: &Event, held: EguiModifiers, now: f64, out: &mut Vec<InputEvent>) {
        if let Event::Key {
            key: Key::Escape,
            pressed,
            repeat,
            ..
        } = event
        {
            if *pressed && !*repeat {
                self.escape_since = Some(now);
            } else if !*pressed {
                self.escape_since = None;
            }
        }
        let mut keys = Vec::new();
        keys::keyboard_input(event, held, &mut keys);
        for k in keys {
            out.extend(self.coalescer.push(k));
        }
    }

    fn pointer_moved(&mut self, pos: Pos2, view: &View<'_>) -> Option<InputEvent> {
        let at = self.map(view.picture, pos, view.pixels_per_point)?;
        if self.last_sent == Some(at) {
            return None;
        }
        self.last_sent = Some(at);
        Some(InputEvent::PointerMove { at })
    }

    /// A press must land on the picture; a release goes wherever it is, and only for a
    /// button we pressed.
    fn pointer_button(
        &mut self,
        pos: Pos2,
        button: egui::PointerButton,
        pressed: bool,
        modifiers: EguiModifiers,
        view: &View<'_>,
        now: f64,
    ) -> Option<InputEvent> {
        let button = pointer_button(button)?;
        if !pressed && !self.held.contains(&button) {
            return None;
        }
        let at = if pressed {
            layout_pixel(view.picture, pos, view.pixels_per_point)?
        } else {
            self.map(view.picture, pos, view.pixels_per_point)?
        };
        let click_count = if pressed {
            self.count_click(button, pos, now)
        } else {
            self.last_press.map_or(1, |p| p.count)
        };
        if pressed {
            self.held.push(button);
        } else {
            self.held.retain(|b| *b != button);
        }
        self.last_sent = Some(at);
        Some(InputEvent::PointerButton {
            at,
            button,
            down: pressed,
            click_count,
            modifiers: keys::modifiers(modifiers),
        })
    }

    /// The wheel event carries no position: it turns at the last one sent over the picture.
    fn wheel(
        &mut self,
        unit: MouseWheelUnit,
        delta: egui::Vec2,
        modifiers: EguiModifiers,
        view: &View<'_>,
    ) -> Option<InputEvent> {
        let at = self.last_sent.filter(|_| view.picture.is_some())?;
        // egui's delta moves the content: positive y reveals what is above, which is a
        // scroll up; ours counts down as positive.
        let notches = match unit {
            MouseWheelUnit::Point => -delta / POINTS_PER_NOTCH,
            MouseWheelUnit::Line => -delta,
            MouseWheelUnit::Page => -delta * 3.0,
        };
        let (steps_x, steps_y) = self.wheel.add(notches.x, notches.y);
        (steps_x != 0 || steps_y != 0).then(|| InputEvent::Wheel {
            at,
            steps_x,
            steps_y,
            modifiers: keys::modifiers(modifiers),
        })
    }

    /// A finger starts on the picture; once down it is followed to the picture's edge.
    fn touch(
        &mut self,
        id: u64,
        phase: egui::TouchPhase,
        pos: Pos2,
        view: &View<'_>,
    ) -> Option<InputEvent> {
        let phase = match phase {
            egui::TouchPhase::Start => TouchPhase::Start,
            egui::TouchPhase::Move => TouchPhase::Move,
            egui::TouchPhase::End => TouchPhase::End,
            egui::TouchPhase::Cancel => TouchPhase::Cancel,
        };
        let down = self.touches.contains(&id);
        let at = match phase {
            TouchPhase::Start => layout_pixel(view.picture, pos, view.pixels_per_point),
            _ if down => self.map(view.picture, pos, view.pixels_per_point),
            _ => None,
        }?;
        match phase {
            TouchPhase::Start => self.touches.push(id),
            TouchPhase::End | TouchPhase::Cancel => self.touches.retain(|t| *t != id),
            TouchPhase::Move => {}
        }
        Some(InputEvent::Touch { id, phase, at })
    }

    /// The remote pixel under `pos`: on the picture, or (while a button or finger is down)
    /// the nearest pixel on its edge.
    fn map(
        &self,
        picture: Option<(&Placement, [u32; 2])>,
        pos: Pos2,
        pixels_per_point: f32,
    ) -> Option<RemotePx> {
        let (placement, size) = picture?;
        let dragging = !self.held.is_empty() || !self.touches.is_empty();
        let pos = if dragging {
            // Just inside the far edges, which belong to what lies beyond.
            let r = placement.rect;
            let eps = 0.5 / pixels_per_point.max(0.01);
            Pos2::new(
                pos.x.clamp(r.min.x, (r.max.x - eps).max(r.min.x)),
                pos.y.clamp(r.min.y, (r.max.y - eps).max(r.min.y)),
            )
        } else {
            pos
        };
        layout_pixel(Some((placement, size)), pos, pixels_per_point)
    }

    fn count_click(&mut self, button: PointerButton, pos: Pos2, now: f64) -> u8 {
        let count = match self.last_press {
            Some(p)
                if p.button == button
                    && now - p.time <= DOUBLE_CLICK_S
                    && p.at.distance(pos) <= DOUBLE_CLICK_SLOP =>
            {
                p.count % 3 + 1
            }
            _ => 1,
        };
        self.last_press = Some(LastPress {
            button,
            at: pos,
            time: now,
            count,
        });
        count
    }
}

fn layout_pixel(
    picture: Option<(&Placement, [u32; 2])>,
    pos: Pos2,
    pixels_per_point: f32,
) -> Option<RemotePx> {
    let (placement, size) = picture?;
    layout::remote_pixel(placement.rect, size, pos, pixels_per_point)
        .map(|[x, y]| RemotePx::new(x, y))
}

fn pointer_button(b: egui::PointerButton) -> Option<PointerButton> {
    match b {
        egui::PointerButton::Primary => Some(PointerButton::Left),
        egui::PointerButton::Secondary => Some(PointerButton::Right),
        egui::PointerButton::Middle => Some(PointerButton::Middle),
        egui::PointerButton::Extra1 | egui::PointerButton::Extra2 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::Modifiers;
    use egui::{Rect, TouchDeviceId, TouchId, pos2, vec2};

    /// A 1920×1080 picture drawn at half size from (100, 50) on a 1 px/pt screen.
    fn placement() -> Placement {
        Placement {
            rect: Rect::from_min_size(pos2(100.0, 50.0), vec2(960.0, 540.0)),
            pixel_scale: 0.5,
        }
    }

    const SIZE: [u32; 2] = [1920, 1080];

    fn run(c: &mut Control, events: &[Event], now: f64) -> Vec<InputEvent> {
        let p = placement();
        c.translate(events, EguiModifiers::NONE, Some((&p, SIZE)), 1.0, now)
            .input
    }

    fn press(x: f32, y: f32, pressed: bool) -> Event {
        Event::PointerButton {
            pos: pos2(x, y),
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: EguiModifiers::NONE,
        }
    }

    #[test]
    fn view_only_produces_nothing() {
        let mut c = Control::default();
        let events = [
            Event::PointerMoved(pos2(200.0, 100.0)),
            press(200.0, 100.0, true),
            press(200.0, 100.0, false),
            Event::Text("hello".into()),
        ];
        assert!(run(&mut c, &events, 0.0).is_empty());
        assert!(c.release().is_empty(), "nothing to release either");
    }

    #[test]
    fn a_click_lands_on_the_remote_pixel_under_the_pointer() {
        let mut c = Control::default();
        c.take();
        // (200.5, 100.5) is 100.5 points into a half-size picture: remote (201, 101).
        let out = run(
            &mut c,
            &[
                Event::PointerMoved(pos2(200.5, 100.5)),
                press(200.5, 100.5, true),
                press(200.5, 100.5, false),
            ],
            0.0,
        );
        let at = RemotePx::new(201, 101);
        assert_eq!(
            out,
            vec![
                InputEvent::PointerMove { at },
                InputEvent::PointerButton {
                    at,
                    button: PointerButton::Left,
                    down: true,
                    click_count: 1,
                    modifiers: Modifiers::NONE
                },
                InputEvent::PointerButton {
                    at,
                    button: PointerButton::Left,
                    down: false,
                    click_count: 1,
                    modifiers: Modifiers::NONE
                },
            ]
        );
    }

    #[test]
    fn moves_coalesce_to_one_per_frame_and_clicks_outside_are_ignored() {
        let mut c = Control::default();
        c.take();
        let moves: Vec<Event> = (0..50)
            .map(|i| Event::PointerMoved(pos2(150.0 + i as f32, 80.0)))
            .collect();
        let out = run(&mut c, &moves, 0.0);
        assert_eq!(
            out,
            vec![InputEvent::PointerMove {
                // 99 points in, the screen pixel's centre at 99.5: remote 199.
                at: RemotePx::new(199, 61)
            }]
        );
        // In the letterbox: nothing.
        assert!(
            run(
                &mut c,
                &[press(50.0, 40.0, true), press(50.0, 40.0, false)],
                1.0
            )
            .is_empty()
        );
    }

    #[test]
    fn a_drag_out_of_the_picture_releases_at_its_edge() {
        let mut c = Control::default();
        c.take();
        run(&mut c, &[press(500.0, 300.0, true)], 0.0);
        let out = run(
            &mut c,
            &[
                Event::PointerMoved(pos2(5000.0, -40.0)),
                press(5000.0, -40.0, false),
            ],
            0.1,
        );
        // The top screen row's centre shows remote row 1 at half size.
        let edge = RemotePx::new(1919, 1);
        assert_eq!(out[0], InputEvent::PointerMove { at: edge });
        assert!(matches!(
            out[1],
            InputEvent::PointerButton { at, down: false, .. } if at == edge
        ));
    }

    #[test]
    fn presses_in_quick_succession_count_up() {
        let mut c = Control::default();
        c.take();
        let click = [press(300.0, 200.0, true), press(300.0, 200.0, false)];
        let counts = |out: Vec<InputEvent>| -> Vec<u8> {
            out.into_iter()
                .filter_map(|e| match e {
                    InputEvent::PointerButton {
                        down: true,
                        click_count,
                        ..
                    } => Some(click_count),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(counts(run(&mut c, &click, 0.0)), [1]);
        assert_eq!(counts(run(&mut c, &click, 0.2)), [2]);
        // Too late for a double-click: a new single click.
        assert_eq!(counts(run(&mut c, &click, 2.0)), [1]);
    }

    #[test]
    fn wheel_lines_and_smooth_points_become_notches() {
        let mut c = Control::default();
        c.take();
        run(&mut c, &[Event::PointerMoved(pos2(300.0, 200.0))], 0.0);
        let wheel = |unit, delta| Event::MouseWheel {
            unit,
            delta,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: EguiModifiers::NONE,
        };
        // One line toward the user (negative y in egui) is one notch down.
        let out = run(&mut c, &[wheel(MouseWheelUnit::Line, vec2(0.0, -1.0))], 0.1);
        assert!(matches!(
            out[..],
            [InputEvent::Wheel {
                steps_x: 0,
                steps_y: 1,
                ..
            }]
        ));
        // 30 points then 30 more: one notch up once 50 have built up.
        assert!(
            run(
                &mut c,
                &[wheel(MouseWheelUnit::Point, vec2(0.0, 30.0))],
                0.2
            )
            .is_empty()
        );
        let out = run(
            &mut c,
            &[wheel(MouseWheelUnit::Point, vec2(0.0, 30.0))],
            0.3,
        );
        assert!(matches!(out[..], [InputEvent::Wheel { steps_y: -1, .. }]));
        let out = run(&mut c, &[wheel(MouseWheelUnit::Line, vec2(-2.0, 0.0))], 0.4);
        assert!(matches!(
            out[..],
            [InputEvent::Wheel {
                steps_x: 2,
                steps_y: 0,
                ..
            }]
        ));
    }

    #[test]
    fn touches_become_touch_events_without_a_duplicate_click() {
        let mut c = Control::default();
        c.take();
        let touch = |id: u64, phase, x: f32, y: f32| Event::Touch {
            device_id: TouchDeviceId(1),
            id: TouchId(id),
            phase,
            pos: pos2(x, y),
            force: None,
        };
        let out = run(
            &mut c,
            &[
                touch(7, egui::TouchPhase::Start, 200.0, 100.0),
                // egui's simulated mouse for the first finger: dropped.
                press(200.0, 100.0, true),
                touch(8, egui::TouchPhase::Start, 300.0, 100.0),
                touch(7, egui::TouchPhase::Move, 210.0, 100.0),
                touch(7, egui::TouchPhase::End, 210.0, 100.0),
                press(210.0, 100.0, false),
                touch(8, egui::TouchPhase::End, 300.0, 100.0),
            ],
            0.0,
        );
        let summary: Vec<(u64, TouchPhase, u32)> = out
            .iter()
            .map(|e| match e {
                InputEvent::Touch { id, phase, at } => (*id, *phase, at.x),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                (7, TouchPhase::Start, 201),
                (8, TouchPhase::Start, 401),
                (7, TouchPhase::Move, 221),
                (7, TouchPhase::End, 221),
                (8, TouchPhase::End, 401),
            ]
        );
    }

    #[test]
    fn typing_goes_through_as_text_and_keys() {
        let mut c = Control::default();
        c.take();
        let out = run(
            &mut c,
            &[
                Event::Text("é€".into()),
                Event::Key {
                    key: Key::Enter,
                    physical_key: None,
                    pressed: true,
                    repeat: false,
                    modifiers: EguiModifiers::NONE,
                },
            ],
            0.0,
        );
        assert_eq!(
            out[0],
            InputEvent::Text {
                text: "é€".into()
            }
        );
        assert!(matches!(
            out[1],
            InputEvent::Key {
                keysym: 0xff0d,
                down: true,
                ..
            }
        ));
    }

    #[test]
    fn holding_escape_releases_control_and_everything_held() {
        let mut c = Control::default();
        c.take();
        let esc = Event::Key {
            key: Key::Escape,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: EguiModifiers::NONE,
        };
        let t = c.translate(&[esc], EguiModifiers::NONE, None, 1.0, 10.0);
        assert!(!t.released);
        assert!(matches!(
            t.input[..],
            [InputEvent::Key {
                keysym: 0xff1b,
                down: true,
                ..
            }]
        ));
        assert!(c.escape_pending().is_some());
        let t = c.translate(&[], EguiModifiers::NONE, None, 1.0, 10.5);
        assert_eq!(t, Translated::default());
        let t = c.translate(&[], EguiModifiers::NONE, None, 1.0, 11.0);
        assert!(t.released);
        assert_eq!(t.input, vec![InputEvent::ReleaseAll]);
        assert!(!c.is_interactive());
    }

    #[test]
    fn paste_to_remote_takes_the_requested_clipboard_and_ctrl_v_stays_a_key() {
        let mut c = Control::default();
        c.request_paste();
        c.take();
        // Ctrl+V typed by the operator: a key chord for the remote's own clipboard.
        let t = c.translate(
            &[Event::Paste("local".into())],
            EguiModifiers::NONE,
            None,
            1.0,
            0.0,
        );
        assert_eq!(
            t.paste, None,
            "a request made while view-only does not count"
        );
        assert_eq!(t.input.len(), 2);
        c.request_paste();
        let t = c.translate(
            &[Event::Paste("héllo".into())],
            EguiModifiers::NONE,
            None,
            1.0,
            0.0,
        );
        assert_eq!(t.paste.as_deref(), Some("héllo"));
        assert!(t.input.is_empty());
    }

    #[test]
    fn losing_focus_releases_what_is_held() {
        let mut c = Control::default();
        c.take();
        run(&mut c, &[press(300.0, 200.0, true)], 0.0);
        let out = run(&mut c, &[Event::WindowFocused(false)], 0.1);
        assert_eq!(out, vec![InputEvent::ReleaseAll]);
        // The button is no longer ours: its late release is not sent.
        assert!(run(&mut c, &[press(300.0, 200.0, false)], 0.2).is_empty());
        assert!(c.is_interactive(), "focus loss does not end control");
    }
}
