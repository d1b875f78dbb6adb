//! The synthetic agent desktop: a browser-like picture (tab strip, URL bar, a page with
//! headings, text, pictures, a search field the agent types into, an "I'm not a robot" box
//! it clicks, a page that scrolls) and the agent's pointer.
//!
//! Everything is a pure function of the tick number, so tests and benches reproduce frames
//! exactly: [`render_desktop`] draws any tick from scratch, and [`Desktop::advance`] moves
//! one tick forward, repainting only what changed and reporting it as [`Damage`]: a page
//! [`Scroll`] (done in place; RFB sends it as CopyRect) and dirty rectangles. An idle area
//! costs nothing. With the cursor overlay on (for RFB clients that cannot draw the cursor
//! themselves) the pointer is painted into the picture and its moves are damage too.
//! Data goes next to the RFB server, which encodes the damaged areas per connection.
//!
//! Input reacts too: [`Desktop::widget_at`] tells what a click hit, and
//! [`Desktop::set_interaction`] applies what people did (a solved captcha, text typed into
//! the search field) with the same damage tracking, so RFB clients get just those areas.

mod paint;
mod scene;

pub use paint::arrow_cursor;
pub use scene::{CYCLE_TICKS, Interaction, Script, TICKS_PER_SECOND, Widget};

use paint::{Area, cursor_area};
use scene::{Layout, SceneState};

use crate::core::frame::{CursorShape, FrameError, Framebuffer, Rect};

/// A vertical shift of the pixels inside `area`: content moves by `dy` (negative = up, as
/// when a page scrolls down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scroll {
    pub area: Rect,
    pub dy: i32,
}

impl Scroll {
    /// The copy that performs the shift as (destination, source x, source y); `None` when
    /// nothing of the area survives it.
    pub fn copy(&self) -> Option<(Rect, u32, u32)> {
        let shift = self.dy.unsigned_abs();
        if shift == 0 || shift >= self.area.h {
            return None;
        }
        let a = self.area;
        let h = a.h - shift;
        Some(if self.dy < 0 {
            (Rect::new(a.x, a.y, a.w, h), a.x, a.y + shift)
        } else {
            (Rect::new(a.x, a.y + shift, a.w, h), a.x, a.y)
        })
    }

    /// What the copy leaves to repaint (the whole area when there is no copy).
    pub fn exposed(&self) -> Rect {
        let a = self.area;
        let shift = self.dy.unsigned_abs();
        match self.copy() {
            None => a,
            Some(_) if self.dy < 0 => Rect::new(a.x, a.bottom() - shift, a.w, shift),
            Some(_) => Rect::new(a.x, a.y, a.w, shift),
        }
    }

    /// The part of `r` inside the area, moved along with the shift and clipped to the area.
    pub fn translate(&self, r: Rect) -> Rect {
        let inside = Area::from_rect(r).clip_to(self.area);
        if inside.is_empty() {
            return Rect::default();
        }
        let (x, y) = (inside.x as i32, inside.y as i32 + self.dy);
        Area::new(x, y, inside.w as i32, inside.h as i32).clip_to(self.area)
    }
}

/// What one tick changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Damage {
    /// Applied first, before the dirty areas are repainted.
    pub scroll: Option<Scroll>,
    /// Areas whose pixels changed (after the scroll).
    pub dirty: Vec<Rect>,
    /// The agent pointer moved.
    pub pointer_moved: bool,
}

impl Damage {
    pub fn is_empty(&self) -> bool {
        self.scroll.is_none() && self.dirty.is_empty() && !self.pointer_moved
    }
}

/// The agent desktop of one viewer.
pub struct Desktop {
    fb: Framebuffer,
    layout: Layout,
    label: String,
    tick: u64,
    script: Script,
    human: Interaction,
    state: SceneState,
    cursor: CursorShape,
    overlay: bool,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("width", &self.fb.width())
            .field("height", &self.fb.height())
            .field("label", &self.label)
            .field("tick", &self.tick)
            .field("script", &self.script)
            .field("overlay", &self.overlay)
            .finish()
    }
}

impl Desktop {
    /// The desktop as it is at `tick`, labelled `label` (shown in the tab and the URL),
    /// without the pointer drawn in, with the agent's script and nobody's input.
    pub fn new(width: u32, height: u32, label: &str, tick: u64) -> Result<Self, FrameError> {
        Self::with_script(
            width,
            height,
            label,
            tick,
            Script::Agent,
            &Interaction::default(),
        )
    }

    /// The desktop at `tick` following `script`, with what people did (`human`) applied.
    pub fn with_script(
        width: u32,
        height: u32,
        label: &str,
        tick: u64,
        script: Script,
        human: &Interaction,
    ) -> Result<Self, FrameError> {
        let fb = Framebuffer::new(width, height)?;
        let layout = Layout::new(width, height);
        let state = SceneState::at(tick, &layout, script, human);
        let mut desktop = Self {
            fb,
            layout,
            label: label.to_string(),
            tick,
            script,
            human: human.clone(),
            state,
            cursor: arrow_cursor(),
            overlay: false,
        };
        desktop.repaint(desktop.layout.screen);
        Ok(desktop)
    }

    pub fn framebuffer(&self) -> &Framebuffer {
        &self.fb
    }

    pub fn tick(&self) -> u64 {
        self.tick
    }

    pub fn script(&self) -> Script {
        self.script
    }

    /// What people did, as last applied.
    pub fn interaction(&self) -> &Interaction {
        &self.human
    }

    /// The widget at screen pixel (`x`, `y`) as the page is scrolled now, if any.
    pub fn widget_at(&self, x: i64, y: i64) -> Option<Widget> {
        self.layout.widget_at(x, y, self.state.scroll)
    }

    /// Applies what people did, repainting what that changes (at the current tick).
    pub fn set_interaction(&mut self, human: &Interaction) -> Damage {
        if *human == self.human {
            return Damage::default();
        }
        self.human = human.clone();
        let new = SceneState::at(self.tick, &self.layout, self.script, &self.human);
        self.change_to(new)
    }

    /// Where the agent pointer's hotspot is.
    pub fn pointer(&self) -> (u32, u32) {
        self.state.cursor
    }

    /// The pointer's shape (for the RFB Cursor pseudo-encoding).
    pub fn cursor_shape(&self) -> &CursorShape {
        &self.cursor
    }

    /// Whether the pointer is painted into the picture. Returns the area that changed.
    pub fn set_cursor_overlay(&mut self, on: bool) -> Option<Rect> {
        if on == self.overlay {
            return None;
        }
        self.overlay = on;
        let r = self.cursor_rect();
        self.repaint(r);
        (!r.is_empty()).then_some(r)
    }

    /// Moves one tick forward, repainting what changed.
    pub fn advance(&mut self) -> Damage {
        self.tick += 1;
        let new = SceneState::at(self.tick, &self.layout, self.script, &self.human);
        self.change_to(new)
    }

    /// Replaces the scene state, repainting (and reporting) what differs.
    fn change_to(&mut self, new: SceneState) -> Damage {
        let old = std::mem::replace(&mut self.state, new);
        let new = &self.state;
        let l = &self.layout;
        let old_cursor =
            cursor_area(&self.cursor, old.cursor.0 as i32, old.cursor.1 as i32).clip_to(l.screen);
        let mut dirty = Vec::new();
        let mut scroll = None;
        if new.scroll != old.scroll {
            let s = Scroll {
                area: l.viewport,
                dy: old.scroll as i32 - new.scroll as i32,
            };
            if let Some((dst, sx, sy)) = s.copy()
                && self.fb.copy_rect(sx, sy, dst).is_ok()
            {
                scroll = Some(s);
            }
            dirty.push(if scroll.is_some() {
                s.exposed()
            } else {
                s.area
            });
            // The copy dragged screen-fixed overlays (pointer, click ring) along.
            if self.overlay {
                dirty.push(s.translate(old_cursor));
            }
            if let Some(ring) = old.click_area() {
                dirty.push(s.translate(ring.clip_to(l.screen)));
            }
        }
        if new.click != old.click {
            for ring in [old.click_area(), new.click_area()].into_iter().flatten() {
                dirty.push(ring.clip_to(l.viewport));
            }
        }
        if new.seconds != old.seconds {
            dirty.push(l.clock.clip_to(l.screen));
        }
        if new.step != old.step {
            dirty.push(l.status.clip_to(l.screen));
        }
        if (&new.text, new.focused, new.caret_on) != (&old.text, old.focused, old.caret_on) {
            dirty.push(l.on_screen(l.field, new.scroll).clip_to(l.viewport));
        }
        if new.captcha != old.captcha {
            dirty.push(l.on_screen(l.checkbox, new.scroll).clip_to(l.viewport));
        }
        let pointer_moved = new.cursor != old.cursor;
        if self.overlay && (pointer_moved || scroll.is_some()) {
            dirty.push(old_cursor);
            dirty.push(self.cursor_rect());
        }
        dirty.retain(|r| !r.is_empty());
        for &r in &dirty {
            self.repaint(r);
        }
        Damage {
            scroll,
            dirty,
            pointer_moved,
        }
    }

    fn cursor_rect(&self) -> Rect {
        let (x, y) = self.state.cursor;
        cursor_area(&self.cursor, x as i32, y as i32).clip_to(self.layout.screen)
    }

    fn repaint(&mut self, r: Rect) {
        let cursor = self.overlay.then_some(&self.cursor);
        scene::paint(
            &mut self.fb,
            &self.layout,
            &self.state,
            &self.label,
            cursor,
            r,
        );
    }
}

/// The desktop at `tick` without the pointer, labelled "demo".
pub fn render_desktop(tick: u64, width: u32, height: u32) -> Result<Framebuffer, FrameError> {
    Desktop::new(width, height, "demo", tick).map(|d| d.fb)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scroll_copy_and_exposed_strip_cover_the_area() {
        let area = Rect::new(0, 100, 50, 200);
        let down = Scroll { area, dy: -8 };
        assert_eq!(down.copy(), Some((Rect::new(0, 100, 50, 192), 0, 108)));
        assert_eq!(down.exposed(), Rect::new(0, 292, 50, 8));
        let up = Scroll { area, dy: 8 };
        assert_eq!(up.copy(), Some((Rect::new(0, 108, 50, 192), 0, 100)));
        assert_eq!(up.exposed(), Rect::new(0, 100, 50, 8));
        let huge = Scroll { area, dy: -300 };
        assert_eq!((huge.copy(), huge.exposed()), (None, area));
        assert_eq!(
            down.translate(Rect::new(0, 104, 10, 10)),
            Rect::new(0, 100, 10, 6)
        );
        assert_eq!(down.translate(Rect::new(0, 0, 10, 10)), Rect::default());
    }

    /// The heart of the dirty tracking: stepping tick by tick must give exactly the picture
    /// a fresh render of that tick gives, through a whole cycle (typing, clicks, scrolling).
    #[test]
    fn incremental_ticks_match_full_renders_through_a_cycle() {
        for overlay in [false, true] {
            let mut d = Desktop::new(900, 700, "t1", 0).unwrap();
            d.set_cursor_overlay(overlay);
            let (mut scrolls, mut idle) = (0, 0);
            for _ in 0..CYCLE_TICKS + 2 {
                let damage = d.advance();
                scrolls += usize::from(damage.scroll.is_some());
                idle += usize::from(damage.dirty.is_empty() && damage.scroll.is_none());
                let mut fresh = Desktop::new(900, 700, "t1", d.tick()).unwrap();
                fresh.set_cursor_overlay(overlay);
                assert!(
                    fresh.framebuffer() == d.framebuffer(),
                    "tick {} differs (overlay {overlay})",
                    d.tick()
                );
            }
            assert!(scrolls >= 100, "only {scrolls} scrolling ticks");
            assert!(idle > 10, "only {idle} idle ticks");
        }
    }

    /// Input applied between ticks (at any point of the script, scrolling included)
    /// repaints exactly what a fresh render with that input shows.
    #[test]
    fn interaction_changes_repaint_exactly_what_changed() {
        let steps = [
            Interaction {
                field_focused: true,
                ..Interaction::default()
            },
            Interaction {
                field_focused: true,
                text: "hé".into(),
                ..Interaction::default()
            },
            Interaction {
                captcha_solved: true,
                field_focused: false,
                text: "hé".into(),
            },
            Interaction {
                captcha_solved: true,
                field_focused: true,
                text: "x".repeat(100),
            },
        ];
        for script in [Script::Agent, Script::AwaitHuman] {
            let mut d =
                Desktop::with_script(900, 700, "t", 0, script, &Interaction::default()).unwrap();
            d.set_cursor_overlay(true);
            for tick in 0..CYCLE_TICKS {
                if tick % 37 == 5 {
                    let human = &steps[(tick / 37) as usize % steps.len()];
                    let damage = d.set_interaction(human);
                    assert!(damage.scroll.is_none());
                }
                d.advance();
                let mut fresh =
                    Desktop::with_script(900, 700, "t", d.tick(), script, d.interaction()).unwrap();
                fresh.set_cursor_overlay(true);
                assert!(
                    fresh.framebuffer() == d.framebuffer(),
                    "tick {} differs ({script:?}, {:?})",
                    d.tick(),
                    d.interaction()
                );
            }
        }
    }

    #[test]
    fn a_waiting_agent_never_touches_the_widgets() {
        let l = Layout::new(1920, 1080);
        let idle = Interaction::default();
        let first = SceneState::at(0, &l, Script::AwaitHuman, &idle);
        for tick in 0..CYCLE_TICKS * 2 {
            let s = SceneState::at(tick, &l, Script::AwaitHuman, &idle);
            assert_eq!((s.cursor, s.click, s.scroll), (first.cursor, None, 0));
            assert_eq!((s.text.as_ref(), s.focused), ("", false));
            assert_eq!(s.captcha, scene::Captcha::Unchecked);
            let (x, y) = s.cursor;
            assert_eq!(l.widget_at(x.into(), y.into(), 0), None);
        }
    }

    #[test]
    fn widgets_are_found_where_they_are_drawn() {
        let d = Desktop::new(640, 480, "t", 0).unwrap();
        assert_eq!(d.widget_at(0, 0), None);
        assert_eq!(d.widget_at(-5, i64::MAX), None);
        let hits: Vec<Widget> = (0..480)
            .flat_map(|y| (0..640).map(move |x| (x, y)))
            .filter_map(|(x, y)| d.widget_at(x, y))
            .collect();
        let boxes = hits.iter().filter(|w| **w == Widget::CaptchaBox).count();
        assert_eq!(boxes, 36 * 36);
        assert!(hits.contains(&Widget::SearchField));
    }

    #[test]
    fn most_ticks_touch_little_of_a_1080p_screen() {
        let mut d = Desktop::new(1920, 1080, "demo", 0).unwrap();
        let mut area = 0u64;
        for _ in 0..CYCLE_TICKS {
            area += d.advance().dirty.iter().map(Rect::area).sum::<u64>();
        }
        let screen = 1920u64 * 1080;
        assert!(
            area / CYCLE_TICKS < screen / 50,
            "mean dirty area {} px",
            area / CYCLE_TICKS
        );
    }

    #[test]
    fn renders_are_deterministic_and_show_the_typed_text() {
        let a = render_desktop(100, 640, 480).unwrap();
        let b = render_desktop(100, 640, 480).unwrap();
        assert_eq!(a, b);
        let before = render_desktop(scene::TYPE_START - 1, 1920, 1080).unwrap();
        let after = render_desktop(scene::TYPE_START + 30, 1920, 1080).unwrap();
        assert_ne!(before, after);
        assert!(
            Desktop::new(1, 1, "tiny", 5).is_ok(),
            "tiny screens must not panic"
        );
    }
}
