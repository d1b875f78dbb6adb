//! Operator input acting on the simulated page, for "Take control" (issue 3): a viewer
//! that clicks the captcha or types into the search field must see the page react, the
//! same way in every viewer of that task, whichever protocol it speaks.
//!
//! A page is keyed by its source (`optexity:{task}`, `chaser:{session}`, `vnc:demo`). Its
//! [`Interaction`] lives in a watch channel ([`Page`]): any connection showing the page (RFB
//! or preview) changes it through the page's methods and repaints when it changes, so the
//! picture and [`super::SimStats`] (`captcha_solved`, `typed_text`) agree. Per connection,
//! [`Clicks`] turns a press and a release on the same widget into a click, and [`RfbKeys`]
//! turns RFB KeyEvents into typing (the preview protocol's keys are handled beside it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::desktop::{Interaction, Widget};
use super::stats::Counters;
use crate::core::input::keysym::{self, BACKSPACE, ModifierKind, UNICODE_OFFSET};

/// Most characters the search field holds; typing past it is dropped.
pub(crate) const MAX_FIELD_CHARS: usize = 256;
/// Most modifier keys one RFB connection tracks as held (there are eight).
const MAX_HELD_MODIFIERS: usize = 16;

/// The page key of an Optexity task's streams.
pub(crate) fn optexity_page(task: &str) -> String {
    format!("optexity:{task}")
}

/// The page key of a Chaser session's previews.
pub(crate) fn chaser_page(session: &str) -> String {
    format!("chaser:{session}")
}

/// The page key of the plain TCP RFB endpoint.
pub(crate) const VNC_PAGE: &str = "vnc:demo";

/// Every page someone may act on, created on first use.
#[derive(Debug)]
pub(crate) struct Pages {
    pages: Mutex<HashMap<String, Page>>,
    counters: Arc<Counters>,
}

impl Pages {
    pub fn new(counters: Arc<Counters>) -> Self {
        Self {
            pages: Mutex::new(HashMap::new()),
            counters,
        }
    }

    /// The page `key`, created untouched if new.
    pub fn page(&self, key: &str) -> Page {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages
            .entry(key.to_string())
            .or_insert_with(|| Page {
                key: Arc::from(key),
                state: Arc::new(watch::Sender::new(Interaction::default())),
                counters: self.counters.clone(),
            })
            .clone()
    }

    /// Forgets what people did on page `key` (a new session under an old id); viewers
    /// still open repaint.
    pub fn reset(&self, key: &str) {
        self.page(key).state.send_if_modified(|i| {
            let changed = *i != Interaction::default();
            *i = Interaction::default();
            changed
        });
    }
}

/// One page's shared interaction state.
#[derive(Clone)]
pub(crate) struct Page {
    key: Arc<str>,
    state: Arc<watch::Sender<Interaction>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("key", &self.key)
            .field("state", &*self.state.borrow())
            .finish()
    }
}

impl Page {
    /// A receiver that sees every later change (the current state counts as seen).
    pub fn subscribe(&self) -> watch::Receiver<Interaction> {
        self.state.subscribe()
    }

    #[cfg(test)]
    pub fn current(&self) -> Interaction {
        self.state.borrow().clone()
    }

    /// Applies `f`; when it changed something, records the result in the stats.
    fn update(&self, f: impl FnOnce(&mut Interaction) -> bool) {
        let mut text_changed = false;
        let changed = self.state.send_if_modified(|i| {
            // At most MAX_FIELD_CHARS: cheap to keep for the comparison.
            let old_text = i.text.clone();
            let changed = f(i);
            text_changed = i.text != old_text;
            changed
        });
        if changed {
            let i = self.state.borrow();
            let text = text_changed.then_some(i.text.as_str());
            self.counters
                .page_changed(&self.key, i.captcha_solved, text);
        }
    }

    /// A completed click on `target` (`None`: on nothing that reacts). The captcha box
    /// solves the captcha; the field takes the focus; anything else takes it away.
    pub fn click(&self, target: Option<Widget>) {
        self.update(|i| {
            let old = (i.captcha_solved, i.field_focused);
            match target {
                Some(Widget::CaptchaBox) => {
                    i.captcha_solved = true;
                    i.field_focused = false;
                }
                Some(Widget::SearchField) => i.field_focused = true,
                None => i.field_focused = false,
            }
            old != (i.captcha_solved, i.field_focused)
        });
    }

    /// Types `text` into the field if it has the focus (control characters are skipped).
    pub fn type_text(&self, text: &str) {
        self.update(|i| {
            if !i.field_focused {
                return false;
            }
            let mut room = MAX_FIELD_CHARS.saturating_sub(i.text.chars().count());
            let mut changed = false;
            for c in text.chars().filter(|c| !c.is_control()) {
                if room == 0 {
                    break;
                }
                i.text.push(c);
                room -= 1;
                changed = true;
            }
            changed
        });
    }

    /// Deletes the field's last character if it has the focus.
    pub fn backspace(&self) {
        self.update(|i| i.field_focused && i.text.pop().is_some());
    }
}

/// Turns presses and releases into clicks: a release on the widget the press was on
/// (or on nothing, when the press was on nothing) completes a click.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Clicks {
    pressed: Option<Option<Widget>>,
}

impl Clicks {
    pub fn press(&mut self, at: Option<Widget>) {
        self.pressed = Some(at);
    }

    /// The click a release at `at` completes, if any.
    pub fn release(&mut self, at: Option<Widget>) -> Option<Option<Widget>> {
        self.pressed.take().filter(|&p| p == at)
    }

    pub fn cancel(&mut self) {
        self.pressed = None;
    }
}

/// The character an RFB keysym types: Latin-1 keysyms, Unicode keysyms
/// (`0x0100_0000 + code point`, also for code points below 0x100) and keypad digits.
pub(crate) fn keysym_char(k: u32) -> Option<char> {
    keysym::to_char(k)
        .or_else(|| {
            k.checked_sub(UNICODE_OFFSET)
                .and_then(char::from_u32)
                .filter(|c| !c.is_control())
        })
        .or_else(|| match k {
            // KP_0 ..= KP_9
            0xffb0..=0xffb9 => char::from_u32(u32::from('0') + (k - 0xffb0)),
            _ => None,
        })
}

/// One RFB connection's keyboard: tracks held modifiers, types printable keys (unless
/// Ctrl, Alt or Meta is held: those are shortcuts), BackSpace deletes.
#[derive(Clone, Debug, Default)]
pub(crate) struct RfbKeys {
    held: Vec<u32>,
}

impl RfbKeys {
    pub fn key(&mut self, page: &Page, down: bool, k: u32) {
        if let Some(kind) = keysym::modifier_kind(k) {
            self.held.retain(|&h| h != k);
            if down && kind != ModifierKind::Shift && self.held.len() < MAX_HELD_MODIFIERS {
                self.held.push(k);
            }
            return;
        }
        if !down || !self.held.is_empty() {
            return;
        }
        if k == BACKSPACE {
            page.backspace();
        } else if let Some(c) = keysym_char(k) {
            let mut buf = [0u8; 4];
            page.type_text(c.encode_utf8(&mut buf));
        }
    }
}

/// One RFB connection's pointer: the left button going down then up is a press and a
/// release at those positions.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RfbPointer {
    buttons: u8,
    clicks: Clicks,
}

impl RfbPointer {
    /// A PointerEvent; `at` is the widget under it.
    pub fn event(&mut self, page: &Page, buttons: u8, at: Option<Widget>) {
        let (was, now) = (self.buttons & 1 != 0, buttons & 1 != 0);
        self.buttons = buttons;
        match (was, now) {
            (false, true) => self.clicks.press(at),
            (true, false) => {
                if let Some(target) = self.clicks.release(at) {
                    page.click(target);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::keysym::CONTROL_L;

    fn page() -> (Page, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        (Pages::new(counters.clone()).page("t"), counters)
    }

    #[test]
    fn clicks_need_press_and_release_on_one_widget() {
        let (p, counters) = page();
        let mut ptr = RfbPointer::default();
        ptr.event(&p, 1, Some(Widget::CaptchaBox));
        ptr.event(&p, 0, None);
        assert!(!p.current().captcha_solved, "released elsewhere");
        ptr.event(&p, 1, Some(Widget::CaptchaBox));
        ptr.event(&p, 1, Some(Widget::CaptchaBox));
        ptr.event(&p, 0, Some(Widget::CaptchaBox));
        assert!(p.current().captcha_solved);
        assert!(counters.snapshot().captcha_solved.contains("t"));
    }

    #[test]
    fn typing_needs_focus_and_skips_shortcuts() {
        let (p, counters) = page();
        let mut keys = RfbKeys::default();
        keys.key(&p, true, u32::from('x'));
        assert_eq!(p.current().text, "", "no focus yet");
        p.click(Some(Widget::SearchField));
        for k in [
            u32::from('h'),
            0xe9,
            UNICODE_OFFSET + 0x20ac,
            0xffb1,
            0xff0d,
        ] {
            keys.key(&p, true, k);
            keys.key(&p, false, k);
        }
        keys.key(&p, true, CONTROL_L);
        keys.key(&p, true, u32::from('c'));
        keys.key(&p, false, CONTROL_L);
        keys.key(&p, true, BACKSPACE);
        keys.key(&p, true, u32::from('!'));
        assert_eq!(p.current().text, "hé€!");
        assert_eq!(counters.snapshot().typed_text["t"], "hé€!");
        p.click(None);
        keys.key(&p, true, u32::from('z'));
        assert_eq!(p.current().text, "hé€!");
        assert!(!p.current().field_focused);
    }

    #[test]
    fn the_field_holds_a_bounded_text() {
        let (p, _) = page();
        p.click(Some(Widget::SearchField));
        p.type_text(&"a".repeat(MAX_FIELD_CHARS + 50));
        assert_eq!(p.current().text.len(), MAX_FIELD_CHARS);
    }
}
