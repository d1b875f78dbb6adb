//! What the synthetic desktop shows at a given tick: the layout (fixed for a screen size)
//! and the scene state (a pure function of the tick), plus [`paint`], which draws the whole
//! scene inside one clip rectangle.
//!
//! The agent's script repeats every [`CYCLE_TICKS`] ticks (20 s at 24 ticks per second):
//! move to the search field, click, type a query letter by letter, move to the captcha
//! box, click ("I'm not a robot" spins, then shows a check), scroll the page down and back
//! up, return home. Page content lives in document coordinates and moves with the scroll.
//!
//! Two things bend the script. A [`Script::AwaitHuman`] agent never touches the page: it
//! parks its pointer and says it is waiting for a human. And an [`Interaction`] (what
//! operators did through input, shared by every viewer of a task) overrides the widgets it
//! names: a solved captcha shows its check, a field a human clicked shows the human's text.

use std::borrow::Cow;

use super::paint::{Area, GLYPH, Painter, Rgb, ring_area};
use crate::core::frame::{CursorShape, Framebuffer, Rect};

/// Nominal animation rate of the script.
pub const TICKS_PER_SECOND: u64 = 24;
/// Length of one repetition of the agent's script.
pub const CYCLE_TICKS: u64 = 480;
/// The query the agent types.
pub(super) const QUERY: &str = "noise cancelling headphones";
/// Scroll speed and maximum, in pixels.
const SCROLL_STEP: u32 = 8;
const SCROLL_MAX: u32 = 480;

// Script milestones, in ticks into the cycle.
const CLICK_FIELD: u64 = 36;
pub(super) const TYPE_START: u64 = 40;
const TICKS_PER_CHAR: u64 = 3;
const TYPE_END: u64 = TYPE_START + TICKS_PER_CHAR * QUERY.len() as u64;
const CLICK_CAPTCHA: u64 = TYPE_END + 36;
const CAPTCHA_DONE: u64 = CLICK_CAPTCHA + 24;
const SCROLL_DOWN: u64 = CAPTCHA_DONE + 24;
const SCROLL_HOLD: u64 = SCROLL_DOWN + (SCROLL_MAX / SCROLL_STEP) as u64;
const SCROLL_UP: u64 = SCROLL_HOLD + 48;
const SCROLL_END: u64 = SCROLL_UP + (SCROLL_MAX / SCROLL_STEP) as u64;
const HOME_AGAIN: u64 = SCROLL_END + 36;
/// A click shows a ring growing around the pointer for this many ticks.
const CLICK_RING_TICKS: u64 = 8;

const WHITE: Rgb = [255, 255, 255];
const TAB_STRIP: Rgb = [222, 225, 230];
const TOOLBAR: Rgb = [247, 248, 250];
const INK: Rgb = [32, 33, 36];
const GREY_TEXT: Rgb = [95, 99, 104];
const BORDER: Rgb = [218, 220, 224];
const BLUE: Rgb = [26, 115, 232];
const GREEN: Rgb = [30, 142, 62];

/// Who drives the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Script {
    /// The agent's loop: it types the query, clicks the captcha and scrolls.
    #[default]
    Agent,
    /// The agent waits for a human: its pointer stays put, it never clicks or types, and
    /// the status says it is waiting (then that the human solved the captcha).
    AwaitHuman,
}

/// What operators did to the page through input. Every viewer of one task or session
/// shares one, so a captcha solved in one viewer shows solved in all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Interaction {
    /// Someone clicked (or tapped) the "I'm not a robot" box.
    pub captcha_solved: bool,
    /// The search field has the focus because someone clicked it.
    pub field_focused: bool,
    /// What people typed into the search field.
    pub text: String,
}

impl Interaction {
    /// Whether people took the search field over from the agent's script.
    pub fn owns_field(&self) -> bool {
        self.field_focused || !self.text.is_empty()
    }
}

/// The page elements that react to input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Widget {
    /// The "I'm not a robot" checkbox.
    CaptchaBox,
    /// The search text field.
    SearchField,
}

/// Where everything sits for one screen size.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    pub screen: Rect,
    pub tab_strip: Rect,
    pub toolbar: Rect,
    /// The page's visible area.
    pub viewport: Rect,
    pub status: Area,
    pub clock: Area,
    /// Page elements in document coordinates.
    pub field: Area,
    pub captcha: Area,
    pub checkbox: Area,
    pub doc_height: i32,
    pub home: (i32, i32),
    pub rest: (i32, i32),
    content_x: i32,
}

impl Layout {
    pub fn new(width: u32, height: u32) -> Self {
        let (w, h) = (width as i32, height as i32);
        let screen = Rect::new(0, 0, width, height);
        let tab_strip = Area::new(0, 0, w, 40).clip_to(screen);
        let toolbar = Area::new(0, 40, w, 48).clip_to(screen);
        let viewport = Area::new(0, 88, w, h - 88).clip_to(screen);
        let content_x = (w / 20).min(96);
        let field = Area::new(content_x, 232, 640, 48);
        let checkbox = Area::new(content_x + 24, 350, 36, 36);
        Self {
            screen,
            tab_strip,
            toolbar,
            viewport,
            status: Area::new(w - 760, 12, 560, 16),
            clock: Area::new(w - 120, 12, 80, 16),
            field,
            captcha: Area::new(content_x, 320, 440, 96),
            checkbox,
            doc_height: (viewport.h as i32 + SCROLL_MAX as i32).max(1800),
            home: (w * 3 / 4, h * 2 / 3),
            rest: (w / 2, h / 2),
            content_x,
        }
    }

    /// A document area on screen for a scroll offset.
    pub fn on_screen(&self, doc: Area, scroll: u32) -> Area {
        Area::new(
            doc.x,
            doc.y + self.viewport.y as i32 - scroll as i32,
            doc.w,
            doc.h,
        )
    }

    fn centre(&self, doc: Area) -> (i32, i32) {
        let a = self.on_screen(doc, 0);
        (a.x + a.w / 2, a.y + a.h / 2)
    }

    /// The widget under screen point (`x`, `y`) with the page scrolled by `scroll`.
    pub fn widget_at(&self, x: i64, y: i64, scroll: u32) -> Option<Widget> {
        let inside = |a: Area| {
            (i64::from(a.x)..i64::from(a.x) + i64::from(a.w)).contains(&x)
                && (i64::from(a.y)..i64::from(a.y) + i64::from(a.h)).contains(&y)
        };
        if !inside(Area::from_rect(self.viewport)) {
            return None;
        }
        [
            (self.checkbox, Widget::CaptchaBox),
            (self.field, Widget::SearchField),
        ]
        .into_iter()
        .find(|&(doc, _)| inside(self.on_screen(doc, scroll)))
        .map(|(_, w)| w)
    }
}

/// The captcha widget's look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Captcha {
    Unchecked,
    Checking { frame: u8 },
    Checked,
}

/// Everything that changes over time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SceneState {
    pub seconds: u64,
    pub step: usize,
    pub scroll: u32,
    /// The search field's text.
    pub text: Cow<'static, str>,
    pub focused: bool,
    pub caret_on: bool,
    pub captcha: Captcha,
    pub cursor: (u32, u32),
    /// A click's feedback ring: centre and radius, in screen pixels.
    pub click: Option<(i32, i32, i32)>,
}

impl SceneState {
    /// The screen area the click ring covers (empty without one).
    pub fn click_area(&self) -> Option<Area> {
        self.click.map(|(x, y, r)| ring_area(x, y, r))
    }
}

const STEPS: [&str; 7] = [
    "opening the checkout page",
    "typing the search query",
    "solving the captcha",
    "reviewing products",
    "waiting for the next step",
    "waiting for a human to solve the captcha",
    "a human solved the captcha; continuing",
];
/// The [`STEPS`] a waiting agent shows, before and after the captcha is solved.
const STEP_WAITING: usize = 5;
const STEP_HUMAN_DONE: usize = 6;

impl SceneState {
    /// The scene at `tick` for `script`, with what people did applied on top.
    pub fn at(tick: u64, layout: &Layout, script: Script, human: &Interaction) -> Self {
        let mut s = match script {
            Script::Agent => Self::scripted(tick, layout),
            Script::AwaitHuman => Self::waiting(tick, layout),
        };
        let c = tick % CYCLE_TICKS;
        if human.captcha_solved {
            s.captcha = Captcha::Checked;
            if script == Script::AwaitHuman {
                s.step = STEP_HUMAN_DONE;
            }
        }
        if human.owns_field() {
            s.text = Cow::Owned(human.text.clone());
            s.focused = human.field_focused;
            s.caret_on = s.focused && (c / 12).is_multiple_of(2);
        }
        s
    }

    /// A waiting agent: the pointer parked at home, nothing clicked, typed or scrolled.
    fn waiting(tick: u64, layout: &Layout) -> Self {
        Self {
            seconds: tick / TICKS_PER_SECOND,
            step: STEP_WAITING,
            scroll: 0,
            text: Cow::Borrowed(""),
            focused: false,
            caret_on: false,
            captcha: Captcha::Unchecked,
            cursor: cursor_at(0, layout),
            click: None,
        }
    }

    /// The agent's loop at `tick`.
    fn scripted(tick: u64, layout: &Layout) -> Self {
        let c = tick % CYCLE_TICKS;
        let focused = c >= CLICK_FIELD;
        let typed = if c < TYPE_START {
            0
        } else {
            (((c - TYPE_START) / TICKS_PER_CHAR + 1) as usize).min(QUERY.len())
        };
        let captcha = if c < CLICK_CAPTCHA {
            Captcha::Unchecked
        } else if c < CAPTCHA_DONE {
            Captcha::Checking {
                frame: ((c - CLICK_CAPTCHA) / 3 % 8) as u8,
            }
        } else {
            Captcha::Checked
        };
        let scroll = if (SCROLL_DOWN..SCROLL_HOLD).contains(&c) {
            (c - SCROLL_DOWN) as u32 * SCROLL_STEP
        } else if (SCROLL_HOLD..SCROLL_UP).contains(&c) {
            SCROLL_MAX
        } else if (SCROLL_UP..SCROLL_END).contains(&c) {
            SCROLL_MAX - (c - SCROLL_UP) as u32 * SCROLL_STEP
        } else {
            0
        };
        let max_scroll = (layout.doc_height - layout.viewport.h as i32).max(0) as u32;
        let step = match c {
            _ if c < CLICK_FIELD => 0,
            _ if c < TYPE_END => 1,
            _ if c < SCROLL_DOWN => 2,
            _ if c < SCROLL_END => 3,
            _ => 4,
        };
        Self {
            seconds: tick / TICKS_PER_SECOND,
            step,
            scroll: scroll.min(max_scroll),
            text: Cow::Borrowed(&QUERY[..typed]),
            focused,
            caret_on: focused && (c / 12).is_multiple_of(2),
            captcha,
            cursor: cursor_at(c, layout),
            click: click_at(c, layout),
        }
    }
}

/// The ring after a click: it grows for a few ticks around where the pointer clicked.
fn click_at(c: u64, l: &Layout) -> Option<(i32, i32, i32)> {
    [(CLICK_FIELD, l.field), (CLICK_CAPTCHA, l.checkbox)]
        .into_iter()
        .find(|&(at, _)| (at..at + CLICK_RING_TICKS).contains(&c))
        .map(|(at, target)| {
            let (x, y) = l.centre(target);
            (x, y, 8 + 3 * (c - at) as i32)
        })
}

/// The agent pointer: eased moves between waypoints, clamped to the screen.
fn cursor_at(c: u64, l: &Layout) -> (u32, u32) {
    let field = l.centre(l.field);
    let check = l.centre(l.checkbox);
    let keys = [
        (0, l.home),
        (CLICK_FIELD, field),
        (TYPE_END, field),
        (CLICK_CAPTCHA, check),
        (CAPTCHA_DONE, check),
        (SCROLL_DOWN, l.rest),
        (SCROLL_END, l.rest),
        (HOME_AGAIN, l.home),
        (CYCLE_TICKS, l.home),
    ];
    let (mut x, mut y) = l.home;
    for pair in keys.windows(2) {
        let ((t0, p0), (t1, p1)) = (pair[0], pair[1]);
        if (t0..t1).contains(&c) {
            let s = (c - t0) as f64 / (t1 - t0) as f64;
            let s = s * s * (3.0 - 2.0 * s);
            x = p0.0 + ((p1.0 - p0.0) as f64 * s).round() as i32;
            y = p0.1 + ((p1.1 - p0.1) as f64 * s).round() as i32;
            break;
        }
    }
    let max_x = l.screen.w.saturating_sub(1) as i32;
    let max_y = l.screen.h.saturating_sub(1) as i32;
    (x.clamp(0, max_x) as u32, y.clamp(0, max_y) as u32)
}

/// The fixed page text, as (doc x offset from content, doc y, scale, colour, text).
fn page_text(l: &Layout) -> Vec<(i32, i32, i32, Rgb, &'static str)> {
    let x = l.content_x;
    let mut t = vec![
        (x, 28, 3, INK, "Checkout: noise-cancelling headphones"),
        (
            x,
            84,
            2,
            GREY_TEXT,
            "Step 2 of 4. Find the product, confirm you are human, then",
        ),
        (
            x,
            108,
            2,
            GREY_TEXT,
            "review the related items before placing the order.",
        ),
        (x, 200, 2, INK, "Search products"),
        (x, 460, 3, INK, "Related products"),
        (x, 900, 3, INK, "Product details"),
        (x, 1260, 3, INK, "Customer reviews"),
    ];
    let para = [
        "Over-ear design with adaptive noise cancelling and 30 hours of",
        "battery life. Fast charging gives 5 hours of listening in 10",
        "minutes. Multipoint pairing switches between phone and laptop.",
        "Controls: touch panel on the right ear cup, voice assistant.",
        "In the box: headphones, carrying case, USB-C cable, audio cable.",
    ];
    for (i, line) in para.iter().enumerate() {
        t.push((x, 950 + i as i32 * 28, 2, GREY_TEXT, line));
    }
    let reviews = [
        "***** Great sound and the noise cancelling works on trains.",
        "****  Comfortable for long flights; the case is a bit bulky.",
        "***** Battery lasts all week. Pairing with two devices works.",
        "***   Good, but the touch controls take some getting used to.",
    ];
    for (i, line) in reviews.iter().enumerate() {
        t.push((x, 1310 + i as i32 * 36, 2, INK, line));
    }
    t
}

/// Draws the whole scene, clipped to `clip`. With `cursor`, the agent pointer is drawn on top.
pub(super) fn paint(
    fb: &mut Framebuffer,
    l: &Layout,
    s: &SceneState,
    label: &str,
    cursor: Option<&CursorShape>,
    clip: Rect,
) {
    let mut p = Painter::new(fb, clip);
    paint_chrome(&mut p, l, s, label);
    p.with_clip(Area::from_rect(l.viewport), |p| paint_page(p, l, s));
    if let Some(shape) = cursor {
        p.cursor(shape, s.cursor.0 as i32, s.cursor.1 as i32);
    }
}

fn paint_chrome(p: &mut Painter<'_>, l: &Layout, s: &SceneState, label: &str) {
    let strip = Area::from_rect(l.tab_strip);
    if p.touches(strip) {
        p.fill(strip, TAB_STRIP);
        p.fill(Area::new(8, 6, 300, 34), WHITE);
        p.fill(Area::new(20, 14, 16, 16), BLUE);
        let title: String = format!("{label} - Lookout Shop").chars().take(28).collect();
        p.text(44, 16, 1, INK, &title);
        p.text(286, 16, 1, GREY_TEXT, "x");
        p.text(324, 16, 1, GREY_TEXT, "+");
        let status = format!("Agent: {}", STEPS[s.step]);
        p.fill(Area::new(l.status.x - 14, 16, 8, 8), GREEN);
        p.text(l.status.x, l.status.y + 4, 1, INK, &status);
        let clock = format!("{:02}:{:02}", s.seconds / 60 % 100, s.seconds % 60);
        p.text(l.clock.x, l.clock.y, 2, INK, &clock);
    }
    let bar = Area::from_rect(l.toolbar);
    if p.touches(bar) {
        p.fill(bar, TOOLBAR);
        for (i, sym) in ["<", ">", "o"].iter().enumerate() {
            p.text(16 + i as i32 * 28, 56, 2, GREY_TEXT, sym);
        }
        let url = Area::new(110, 46, bar.w - 180, 36);
        p.fill(url, WHITE);
        p.outline(url, 1, BORDER);
        p.text(128, 56, 2, INK, "https://shop.example.com/checkout?task=");
        p.text(128 + 39 * 16, 56, 2, BLUE, label);
        p.fill(Area::new(0, 87, bar.w, 1), BORDER);
    }
}

fn paint_page(p: &mut Painter<'_>, l: &Layout, s: &SceneState) {
    let at = |a: Area| l.on_screen(a, s.scroll);
    p.fill(Area::from_rect(l.viewport), WHITE);
    for (x, y, scale, colour, text) in page_text(l) {
        p.text(x, at(Area::new(0, y, 0, 0)).y, scale, colour, text);
    }
    let x = l.content_x;
    // Hero picture beside the form, then four product cards, then a footer.
    p.photo(at(Area::new(x + 760, 150, 480, 290)), 1);
    for i in 0..4 {
        let card = at(Area::new(x + i * 320, 510, 290, 350));
        if p.touches(card) {
            p.outline(card, 1, BORDER);
            p.photo(
                Area::new(card.x + 1, card.y + 1, card.w - 2, 200),
                2 + i as u32,
            );
            p.text(
                card.x + 16,
                card.y + 220,
                2,
                INK,
                ["Model A", "Model B", "Model C", "Model D"][i as usize],
            );
            p.text(
                card.x + 16,
                card.y + 256,
                2,
                GREEN,
                ["$199", "$249", "$149", "$329"][i as usize],
            );
            p.fill(Area::new(card.x + 16, card.y + 296, 120, 36), BLUE);
            p.text(card.x + 28, card.y + 306, 2, WHITE, "Add");
        }
    }
    p.fill(
        at(Area::new(0, l.doc_height - 120, l.screen.w as i32, 120)),
        [60, 64, 67],
    );
    p.text(
        x,
        at(Area::new(0, l.doc_height - 70, 0, 0)).y,
        2,
        [232, 234, 237],
        "Lookout Shop - simulated page",
    );
    paint_field(p, at(l.field), s);
    paint_captcha(p, l, s);
    if let Some((x, y, r)) = s.click {
        p.ring(x, y, r, 3, [120, 170, 245]);
    }
}

fn paint_field(p: &mut Painter<'_>, f: Area, s: &SceneState) {
    if !p.touches(f) {
        return;
    }
    p.fill(f, WHITE);
    if s.focused {
        p.outline(f, 2, BLUE);
    } else {
        p.outline(f, 1, BORDER);
    }
    let (tx, ty) = (f.x + 12, f.y + 16);
    if s.text.is_empty() && !s.focused {
        p.text(tx, ty, 2, GREY_TEXT, "Search...");
    }
    // The end of the text, as much as fits (the caret stays at the end, in view).
    let fits = ((f.w - 24) / (GLYPH * 2)).max(0) as usize;
    let len = s.text.chars().count();
    let shown: String = s.text.chars().skip(len.saturating_sub(fits)).collect();
    p.text(tx, ty, 2, INK, &shown);
    if s.caret_on {
        let n = len.min(fits) as i32;
        p.fill(Area::new(tx + n * GLYPH * 2 + 1, f.y + 10, 2, 28), INK);
    }
}

fn paint_captcha(p: &mut Painter<'_>, l: &Layout, s: &SceneState) {
    let b = l.on_screen(l.captcha, s.scroll);
    if !p.touches(b) {
        return;
    }
    p.fill(b, [249, 249, 249]);
    p.outline(b, 1, [211, 211, 211]);
    let c = l.on_screen(l.checkbox, s.scroll);
    p.text(c.x + c.w + 20, c.y + 10, 2, INK, "I'm not a robot");
    p.text(
        b.x + b.w - 112,
        b.y + b.h - 16,
        1,
        GREY_TEXT,
        "Privacy-Terms",
    );
    match s.captcha {
        Captcha::Unchecked => {
            p.fill(c, WHITE);
            p.outline(c, 2, [193, 193, 193]);
        }
        Captcha::Checking { frame } => {
            // Eight dots around a circle; the lit one goes round.
            const RING: [(i32, i32); 8] = [
                (0, -12),
                (8, -8),
                (12, 0),
                (8, 8),
                (0, 12),
                (-8, 8),
                (-12, 0),
                (-8, -8),
            ];
            for (i, (dx, dy)) in RING.iter().enumerate() {
                let colour = if i as u8 == frame {
                    BLUE
                } else {
                    [190, 210, 240]
                };
                p.fill(
                    Area::new(c.x + c.w / 2 + dx - 3, c.y + c.h / 2 + dy - 3, 6, 6),
                    colour,
                );
            }
        }
        Captcha::Checked => {
            // A tick: a short stroke down-right, then a long one up-right.
            for i in 0..8 {
                p.fill(Area::new(c.x + 6 + i, c.y + 16 + i, 4, 4), GREEN);
            }
            for i in 0..18 {
                p.fill(Area::new(c.x + 13 + i, c.y + 22 - i, 4, 4), GREEN);
            }
        }
    }
}
