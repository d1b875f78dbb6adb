use super::*;

fn covered(rects: &[Rect], x: u32, y: u32) -> bool {
    rects
        .iter()
        .any(|r| x >= r.x && x < r.right() && y >= r.y && y < r.bottom())
}

#[test]
fn uncovered_parts_are_exactly_what_no_cover_touches() {
    let r = Rect::new(10, 5, 40, 30);
    let covers = [
        Rect::new(0, 0, 15, 12),   // over the top-left corner
        Rect::new(20, 10, 5, 5),   // inside
        Rect::new(22, 12, 10, 30), // overlapping the last, past the bottom
        Rect::new(45, 0, 2, 100),  // a full-height stripe
        Rect::new(100, 100, 5, 5), // elsewhere
        Rect::new(30, 20, 0, 9),   // empty
    ];
    let mut pieces = Vec::new();
    for_each_uncovered(r, &covers, |p| pieces.push(p));
    for y in 0..50 {
        for x in 0..60 {
            let inside = x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
            let want = inside && !covered(&covers, x, y);
            let hits = pieces
                .iter()
                .filter(|p| x >= p.x && x < p.right() && y >= p.y && y < p.bottom())
                .count();
            assert_eq!(hits, usize::from(want), "pixel {x},{y}: {pieces:?}");
        }
    }
    // Nothing covered: the rectangle itself; all covered: nothing.
    let mut pieces = Vec::new();
    for_each_uncovered(r, &covers[4..], |p| pieces.push(p));
    assert_eq!(pieces, [r]);
    for_each_uncovered(r, &[Rect::new(0, 0, 100, 100)], |p| panic!("{p:?}"));
}

#[test]
fn neighbours_join_without_growing() {
    // A 600x50 change cut as a server cuts it: 256 wide, 24 high, in row order.
    let mut rects = Vec::new();
    for y in (100..150).step_by(24) {
        for x in (40..640).step_by(256) {
            rects.push(Rect::new(x, y, 256.min(640 - x), 24.min(150 - y)));
        }
    }
    // Output rectangles of a downscale overlap by a row; an unrelated one stays apart.
    rects.push(Rect::new(40, 149, 256, 3));
    rects.push(Rect::new(700, 0, 5, 5));
    rects.push(Rect::new(710, 0, 0, 5));
    let before = rects.clone();
    join_neighbours(&mut rects);
    rects.sort_unstable_by_key(|r| r.x);
    // Each column joined down (the first with the overlapping row), then the two
    // columns of equal rows joined across.
    assert_eq!(
        rects,
        [
            Rect::new(40, 100, 256, 52),
            Rect::new(296, 100, 344, 50),
            Rect::new(700, 0, 5, 5)
        ]
    );
    // Every pixel of before is covered, and nothing else.
    for y in 0..160 {
        for x in 0..720 {
            assert_eq!(covered(&rects, x, y), covered(&before, x, y), "{x},{y}");
        }
    }
}

#[test]
fn coalesce_covers_every_changed_pixel_and_stays_local() {
    let (w, h) = (1000, 700);
    let mut rects: Vec<Rect> = (0..300)
        .map(|i| Rect::new((i * 37) % 990, (i * 53) % 690, 3 + i % 9, 2 + i % 7))
        .collect();
    // Two far-apart changes, plus one reaching past the picture.
    rects.push(Rect::new(0, 0, 1, 1));
    rects.push(Rect::new(990, 690, 50, 50));
    let before = rects.clone();
    coalesce(&mut rects, w, h);
    assert!(rects.len() < before.len(), "{} rects", rects.len());
    for r in &before {
        for (x, y) in [(r.x, r.y), (r.right() - 1, r.bottom() - 1)] {
            if x < w && y < h {
                assert!(covered(&rects, x, y), "{x},{y} of {r:?} lost");
            }
        }
    }
    for r in &rects {
        assert!(
            r.right() <= w && r.bottom() <= h,
            "{r:?} leaves the picture"
        );
        assert!(!r.is_empty());
    }
    // No overlaps: the total area is at most the picture's.
    let area: u64 = rects.iter().map(Rect::area).sum();
    assert!(area <= u64::from(w * h));
}

#[test]
fn coalesce_keeps_distant_changes_apart_and_joins_columns() {
    let mut rects = vec![
        Rect::new(0, 0, 1, 1),
        Rect::new(1900, 1000, 5, 5),
        // A column of changes two tiles wide down the middle.
        Rect::new(640, 0, 100, 10),
        Rect::new(640, 500, 100, 10),
    ];
    rects.extend((0..17).map(|ty| Rect::new(700, ty * 64, 60, 1)));
    coalesce(&mut rects, 1920, 1080);
    assert!(rects.contains(&Rect::new(0, 0, 64, 64)), "{rects:?}");
    assert!(rects.contains(&Rect::new(1856, 960, 64, 64)), "{rects:?}");
    assert!(rects.contains(&Rect::new(640, 0, 128, 1080)), "{rects:?}");
    let area: u64 = rects.iter().map(Rect::area).sum();
    assert_eq!(area, 2 * 64 * 64 + 128 * 1080);
}

#[test]
fn new_rejects_zero_and_oversized() {
    assert!(Framebuffer::new(0, 10).is_err());
    assert_eq!(
        Framebuffer::new(MAX_DIMENSION + 1, 1),
        Err(FrameError::FramebufferTooLarge {
            w: MAX_DIMENSION + 1,
            h: 1
        })
    );
    let fb = Framebuffer::new(3, 2).unwrap();
    assert_eq!(fb.pixels().len(), 24);
    assert!(fb.pixels().chunks(4).all(|p| p == [0, 0, 0, 255]));
}

#[test]
fn check_rect_rejects_overflowing_rects() {
    let fb = Framebuffer::new(10, 10).unwrap();
    assert!(fb.check_rect(Rect::new(0, 0, 10, 10)).is_ok());
    assert!(fb.check_rect(Rect::new(5, 5, 6, 1)).is_err());
    assert!(fb.check_rect(Rect::new(u32::MAX, 0, 2, 1)).is_err());
    assert!(fb.check_rect(Rect::new(0, u32::MAX - 1, 1, 5)).is_err());
}

#[test]
fn copy_rect_handles_overlap_both_ways() {
    let mut fb = Framebuffer::new(4, 4).unwrap();
    for y in 0..4u32 {
        fb.fill_rect(Rect::new(0, y, 4, 1), [y as u8 * 10, 0, 0, 0])
            .unwrap();
    }
    // Scroll down by one: rows 0..3 move to 1..4.
    fb.copy_rect(0, 0, Rect::new(0, 1, 4, 3)).unwrap();
    let reds: Vec<u8> = (0..4).map(|y| fb.pixels()[y * 16]).collect();
    assert_eq!(reds, vec![0, 0, 10, 20]);
    // Scroll up by two.
    fb.copy_rect(0, 2, Rect::new(0, 0, 4, 2)).unwrap();
    let reds: Vec<u8> = (0..4).map(|y| fb.pixels()[y * 16]).collect();
    assert_eq!(reds, vec![10, 20, 10, 20]);
    assert!(fb.copy_rect(1, 1, Rect::new(0, 0, 4, 4)).is_err());
}

#[test]
fn put_rgba_forces_opaque_alpha() {
    let mut fb = Framebuffer::new(2, 1).unwrap();
    fb.put_rgba(Rect::new(0, 0, 2, 1), &[1, 2, 3, 0, 4, 5, 6, 7])
        .unwrap();
    assert_eq!(fb.pixels(), &[1, 2, 3, 255, 4, 5, 6, 255]);
}

#[test]
fn slot_accumulates_dirty_rects_and_latest_pixels_win() {
    let slot = FrameSlot::new();
    assert!(slot.take(|_| ()).is_none());
    let mut fb = Framebuffer::new(8, 8).unwrap();
    slot.publish(&fb, &[fb.full_rect()]);
    let first = slot.take(|v| (v.resized, v.seq)).unwrap();
    assert_eq!(first, (true, 1));
    assert!(slot.take(|_| ()).is_none(), "nothing new after a take");

    fb.fill_rect(Rect::new(0, 0, 2, 2), [9, 9, 9, 255]).unwrap();
    slot.publish(&fb, &[Rect::new(0, 0, 2, 2)]);
    fb.fill_rect(Rect::new(4, 4, 2, 2), [7, 7, 7, 255]).unwrap();
    slot.publish(&fb, &[Rect::new(4, 4, 2, 2), Rect::new(6, 6, 9, 9)]);
    let (dirty, px, seq) = slot
        .take(|v| (v.dirty.to_vec(), v.frame.pixels()[(4 * 8 + 4) * 4], v.seq))
        .unwrap();
    assert_eq!(
        dirty,
        vec![
            Rect::new(0, 0, 2, 2),
            Rect::new(4, 4, 2, 2),
            Rect::new(6, 6, 2, 2)
        ]
    );
    assert_eq!(px, 7);
    assert_eq!(seq, 3);
}

#[test]
fn slot_merges_many_pending_rects_into_tiles() {
    let slot = FrameSlot::new();
    let fb = Framebuffer::new(300, 300).unwrap();
    slot.publish(&fb, &[]);
    slot.take(|_| ());
    // Two updates the consumer has not taken yet: 200 single pixels on the diagonal.
    let rects: Vec<Rect> = (0..200).map(|i| Rect::new(i, i, 1, 1)).collect();
    slot.publish(&fb, &rects[..100]);
    slot.publish(&fb, &rects[100..]);
    let dirty = slot.take(|v| v.dirty.to_vec()).unwrap();
    // The diagonal's four 64-pixel tiles, not their 200x200 bounding box.
    assert_eq!(
        dirty,
        vec![
            Rect::new(0, 0, 64, 64),
            Rect::new(64, 64, 64, 64),
            Rect::new(128, 128, 64, 64),
            Rect::new(192, 192, 64, 64)
        ]
    );
}

#[test]
fn slot_is_complete_only_once_every_pixel_was_painted() {
    let slot = FrameSlot::new();
    assert!(!slot.is_complete(), "nothing published yet");
    let fb = Framebuffer::new(100, 70).unwrap();
    // A size-only update (RFB ExtendedDesktopSize) paints nothing.
    slot.publish(&fb, &[]);
    assert!(!slot.is_complete());
    slot.publish(&fb, &[Rect::new(0, 0, 100, 35), Rect::new(0, 35, 63, 35)]);
    assert!(!slot.is_complete(), "a 37x35 corner is unpainted");
    // Overlapping and out-of-bounds parts count once.
    slot.publish(&fb, &[Rect::new(50, 30, 500, 500), Rect::new(0, 0, 10, 10)]);
    assert!(slot.is_complete());
    // A new size starts over.
    slot.publish(
        &Framebuffer::new(64, 64).unwrap(),
        &[Rect::new(0, 0, 64, 63)],
    );
    assert!(!slot.is_complete());
    slot.publish(
        &Framebuffer::new(64, 64).unwrap(),
        &[Rect::new(0, 63, 64, 1)],
    );
    assert!(slot.is_complete());
}

#[test]
fn coverage_counts_bits_across_word_edges() {
    let mut c = Coverage::new(130, 1);
    c.paint(Rect::new(0, 0, 64, 1));
    c.paint(Rect::new(60, 0, 70, 1));
    assert_eq!(c.painted, 130);
    assert!(c.is_complete());
}

#[test]
fn slot_reports_resize_and_cursor() {
    let slot = FrameSlot::new();
    slot.publish(&Framebuffer::new(4, 4).unwrap(), &[]);
    slot.take(|_| ());
    slot.publish(&Framebuffer::new(5, 4).unwrap(), &[Rect::new(0, 0, 1, 1)]);
    slot.set_cursor(None);
    let (resized, w, cursor_hidden) = slot
        .take(|v| (v.resized, v.frame.width(), v.cursor == Some(None)))
        .unwrap();
    assert!(resized);
    assert_eq!(w, 5);
    assert!(cursor_hidden);
}
