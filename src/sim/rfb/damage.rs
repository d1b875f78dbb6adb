//! What one connection's client has not been sent yet: at most one pending scroll (sent as
//! CopyRect, applied first) and the areas to repaint after it.
//!
//! Invariant: the client's picture, after applying the pending scroll, equals the desktop's
//! picture everywhere outside the dirty areas. A new scroll therefore drags the pending
//! dirty areas along with it; two scrolls of the same area add up; anything the copy cannot
//! express becomes dirty.

use crate::core::frame::Rect;
use crate::sim::desktop::Scroll;

/// Above this many areas we send their bounding box instead.
const MAX_RECTS: usize = 32;

/// The damage not yet sent to one client (see the module docs).
#[derive(Debug)]
pub struct PendingDamage {
    screen: Rect,
    scroll: Option<Scroll>,
    dirty: Vec<Rect>,
}

impl PendingDamage {
    pub fn new(screen: Rect) -> Self {
        Self {
            screen,
            scroll: None,
            dirty: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.scroll.is_none() && self.dirty.is_empty()
    }

    /// The whole screen needs sending (a new client, a non-incremental request, a resize).
    pub fn add_full(&mut self, screen: Rect) {
        self.screen = screen;
        self.scroll = None;
        self.dirty = vec![screen];
    }

    pub fn add_rect(&mut self, r: Rect) {
        let r = clip(r, self.screen);
        if r.is_empty() || self.dirty.iter().any(|d| contains(d, &r)) {
            return;
        }
        self.dirty.push(r);
        if self.dirty.len() > MAX_RECTS * 2 {
            self.dirty = vec![bounding_box(&self.dirty)];
        }
    }

    pub fn add_scroll(&mut self, s: Scroll) {
        let moved: Vec<Rect> = self.dirty.iter().map(|&r| s.translate(r)).collect();
        for r in moved {
            self.add_rect(r);
        }
        self.add_rect(s.exposed());
        match self.scroll {
            None => self.scroll = s.copy().is_some().then_some(s),
            Some(p) if p.area == s.area => {
                let sum = Scroll {
                    area: s.area,
                    dy: p.dy + s.dy,
                };
                self.scroll = None;
                if sum.copy().is_some() {
                    self.scroll = Some(sum);
                } else if sum.dy != 0 {
                    self.add_rect(sum.area);
                }
            }
            Some(p) => {
                self.scroll = None;
                self.add_rect(p.area);
                self.add_rect(s.area);
            }
        }
    }

    /// Takes everything pending: the scroll (only when the client can copy; otherwise its
    /// area is repainted) and a short list of areas to repaint.
    pub fn take(&mut self, can_copy: bool) -> (Option<Scroll>, Vec<Rect>) {
        let mut scroll = self.scroll.take();
        if !can_copy && let Some(s) = scroll.take() {
            self.add_rect(s.area);
        }
        let mut rects = std::mem::take(&mut self.dirty);
        merge(&mut rects);
        if rects.len() > MAX_RECTS {
            rects = vec![bounding_box(&rects)];
        }
        (scroll, rects)
    }
}

fn clip(r: Rect, to: Rect) -> Rect {
    let x0 = r.x.max(to.x);
    let y0 = r.y.max(to.y);
    let x1 = r.right().min(to.right());
    let y1 = r.bottom().min(to.bottom());
    if x1 <= x0 || y1 <= y0 {
        Rect::default()
    } else {
        Rect::new(x0, y0, x1 - x0, y1 - y0)
    }
}

fn contains(outer: &Rect, inner: &Rect) -> bool {
    inner.x >= outer.x
        && inner.y >= outer.y
        && inner.right() <= outer.right()
        && inner.bottom() <= outer.bottom()
}

fn bounding_box(rects: &[Rect]) -> Rect {
    rects.iter().fold(Rect::default(), |a, r| a.union(r))
}

/// Joins areas whose union costs no more pixels than the two apart (overlapping or
/// touching), until no pair qualifies.
fn merge(rects: &mut Vec<Rect>) {
    let mut i = 0;
    while i < rects.len() {
        let mut merged = false;
        for j in (i + 1)..rects.len() {
            let u = rects[i].union(&rects[j]);
            if u.area() <= rects[i].area() + rects[j].area() {
                rects[i] = u;
                rects.swap_remove(j);
                merged = true;
                break;
            }
        }
        if !merged {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREEN: Rect = Rect::new(0, 0, 100, 100);
    const PAGE: Rect = Rect::new(0, 20, 100, 80);

    #[test]
    fn pending_dirty_areas_move_with_a_scroll() {
        let mut d = PendingDamage::new(SCREEN);
        d.add_rect(Rect::new(10, 50, 5, 5));
        d.add_scroll(Scroll {
            area: PAGE,
            dy: -10,
        });
        let (scroll, rects) = d.take(true);
        assert_eq!(
            scroll,
            Some(Scroll {
                area: PAGE,
                dy: -10
            })
        );
        // The original area, its moved copy and the exposed strip at the bottom.
        for r in [
            Rect::new(10, 50, 5, 5),
            Rect::new(10, 40, 5, 5),
            Rect::new(0, 90, 100, 10),
        ] {
            assert!(
                rects.iter().any(|d| contains(d, &r)),
                "{r:?} missing from {rects:?}"
            );
        }
        assert!(d.is_empty());
    }

    #[test]
    fn scrolls_add_up_and_cancel() {
        let mut d = PendingDamage::new(SCREEN);
        d.add_scroll(Scroll { area: PAGE, dy: -8 });
        d.add_scroll(Scroll { area: PAGE, dy: -8 });
        let (scroll, rects) = d.take(true);
        assert_eq!(
            scroll,
            Some(Scroll {
                area: PAGE,
                dy: -16
            })
        );
        assert!(
            rects
                .iter()
                .any(|d| contains(d, &Rect::new(0, 84, 100, 16)))
        );

        d.add_scroll(Scroll { area: PAGE, dy: -8 });
        d.add_scroll(Scroll { area: PAGE, dy: 8 });
        let (scroll, _) = d.take(true);
        assert_eq!(scroll, None);

        d.add_scroll(Scroll {
            area: PAGE,
            dy: -50,
        });
        d.add_scroll(Scroll {
            area: PAGE,
            dy: -50,
        });
        assert_eq!(d.take(true), (None, vec![PAGE]));
    }

    #[test]
    fn without_copy_support_the_scrolled_area_is_repainted() {
        let mut d = PendingDamage::new(SCREEN);
        d.add_scroll(Scroll { area: PAGE, dy: -8 });
        assert_eq!(d.take(false), (None, vec![PAGE]));
    }

    #[test]
    fn many_small_areas_collapse() {
        let mut d = PendingDamage::new(SCREEN);
        for i in 0..90 {
            d.add_rect(Rect::new(i, (i * 7) % 90, 1, 1));
        }
        d.add_rect(Rect::new(95, 95, 50, 50));
        let (_, rects) = d.take(true);
        assert!(rects.len() <= MAX_RECTS);
        assert!(rects.iter().all(|r| r.right() <= 100 && r.bottom() <= 100));
    }
}
