use super::*;

#[test]
fn groups_thousands() {
    assert_eq!(group(0), "0");
    assert_eq!(group(999), "999");
    assert_eq!(group(1_000), "1,000");
    assert_eq!(group(1_234_567), "1,234,567");
}

/// The arrows drawn are in the monospace font (the proportional one has none).
#[test]
fn the_glyphs_used_exist() {
    let ctx = egui::Context::default();
    let mut out = ctx.run_ui(egui::RawInput::default(), |_| {});
    out.textures_delta.clear();
    let mono = FontId::monospace(12.0);
    assert!(ctx.fonts_mut(|f| f.has_glyphs(&mono, "↑↓▸▾→…")));
}

#[test]
fn rows_map_through_expansions() {
    // Lines at positions 0..10; position 2 expanded by 3 rows, position 5 by 1.
    let rows = Rows {
        shown: 10,
        folds: vec![(2, 2, 3), (5, 5, 1)],
    };
    assert_eq!(rows.total(), 14);
    let got: Vec<(usize, usize)> = (0..14).map(|r| rows.locate(r)).collect();
    assert_eq!(
        got,
        [
            (0, 0),
            (1, 0),
            (2, 0),
            (2, 1),
            (2, 2),
            (2, 3),
            (3, 0),
            (4, 0),
            (5, 0),
            (5, 1),
            (6, 0),
            (7, 0),
            (8, 0),
            (9, 0)
        ]
    );
    assert_eq!(rows.row_of(2), 2);
    assert_eq!(rows.row_of(3), 6);
    assert_eq!(rows.row_of(6), 10);
}
