//! The log pane's frame time with a 100,000-line task log (issue 4's target: under 5 ms).
//!
//! One frame is what the window does for the pane: `egui::Context::run_ui` on a headless
//! 1280×800 window holding the prompt pane (no prompt) above the log pane, then tessellating
//! the shapes into triangles. Only the GPU upload and drawing are left out. The log is
//! `lookout::ui::log_sample`'s mix of runner messages and AgentStation entries.
//!
//! Scenarios, each on a log of 100,000 lines capped at 100,000 (so appending drops the
//! oldest, as a long task's log does):
//! - `steady`: following the tail, nothing new;
//! - `arriving`: following the tail while 10 lines arrive before each frame (appending is
//!   not timed: it is the core's work, measured by `benches/tasklog.rs`);
//! - `search`: the same, with a search shown as a filter (only matching lines);
//! - `highlight`: the same, every line shown and the matches marked.
//!
//! Criterion reports its own estimates; after them the median, 95th percentile and worst of
//! 300 more frames per scenario are printed, and the one-off cost of a frame that changes
//! the search (the one frame that reads the whole log again).
//!
//! `cargo bench --bench log_pane`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use egui::{CentralPanel, Context, Panel, RawInput, Rect, pos2, vec2};
use lookout::core::source::tasklog::{TaskLog, TaskLogConfig};
use lookout::ui::log_panel::{FilterKey, LineSet, MinLevel, Needle};
use lookout::ui::log_sample::push_sample;
use lookout::ui::{LogPanel, LogPanelResponse, PromptPanel, theme};

const LINES: usize = 100_000;
const ARRIVING_PER_FRAME: usize = 10;
const FRAMES: usize = 300;
const TARGET: Duration = Duration::from_millis(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Steady,
    Arriving,
    Search,
    Highlight,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::Steady,
        Scenario::Arriving,
        Scenario::Search,
        Scenario::Highlight,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::Arriving => "arriving",
            Scenario::Search => "search",
            Scenario::Highlight => "highlight",
        }
    }
}

/// One window: a context, the panes and their log.
struct Window {
    ctx: Context,
    log: TaskLog,
    next_line: usize,
    panel: LogPanel,
    prompt: PromptPanel,
    time: f64,
    arriving: bool,
    last: LogPanelResponse,
}

impl Window {
    fn new(scenario: Scenario) -> Window {
        let mut log = TaskLog::new(TaskLogConfig {
            max_lines: LINES,
            ..TaskLogConfig::default()
        });
        for n in 0..LINES {
            push_sample(&mut log, n);
        }
        let ctx = Context::default();
        theme::apply(&ctx);
        let mut panel = LogPanel::new();
        match scenario {
            Scenario::Steady | Scenario::Arriving => {}
            Scenario::Search => panel.set_search("lisbon"),
            Scenario::Highlight => {
                panel.set_search("lisbon");
                panel.set_only_matching(false);
            }
        }
        let mut w = Window {
            ctx,
            log,
            next_line: LINES,
            panel,
            prompt: PromptPanel::new(),
            time: 0.0,
            arriving: scenario != Scenario::Steady,
            last: LogPanelResponse::default(),
        };
        // Fonts, the first scan of the log, the scroll area settling.
        for _ in 0..10 {
            w.frame();
        }
        assert!(w.panel.is_following());
        w
    }

    /// What happens between frames (not timed).
    fn between(&mut self) {
        if self.arriving {
            for _ in 0..ARRIVING_PER_FRAME {
                push_sample(&mut self.log, self.next_line);
                self.next_line += 1;
            }
        }
    }

    /// One frame: layout and tessellation. Returns the number of triangles' meshes.
    fn frame(&mut self) -> usize {
        self.time += 1.0 / 60.0;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), vec2(1280.0, 800.0))),
            time: Some(self.time),
            ..RawInput::default()
        };
        let (panel, prompt, log) = (&mut self.panel, &mut self.prompt, &self.log);
        let mut last = LogPanelResponse::default();
        let output = self.ctx.run_ui(input, |ui| {
            Panel::top("prompt").show(ui, |ui| {
                // The sample's prompts are all answered: this draws nothing, as usual.
                prompt.ui(ui, log.pending_prompt(), None, true);
            });
            CentralPanel::default().show(ui, |ui| {
                last = panel.ui(ui, log);
            });
        });
        self.last = last;
        let primitives = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        black_box(primitives.len())
    }

    fn timed_frame(&mut self) -> Duration {
        self.between();
        let start = Instant::now();
        self.frame();
        start.elapsed()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut group = c.benchmark_group("log_pane_100k_frame");
        for scenario in Scenario::ALL {
            let mut w = Window::new(scenario);
            group.bench_function(scenario.name(), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| w.timed_frame()).sum())
            });
        }
        group.finish();
    }
    c.final_summary();

    println!(
        "log_pane: one 1280×800 frame (layout + tessellation) with {LINES} lines, {FRAMES} frames each; target under {} ms",
        TARGET.as_millis()
    );
    for scenario in Scenario::ALL {
        let mut w = Window::new(scenario);
        let mut times: Vec<Duration> = (0..FRAMES).map(|_| w.timed_frame()).collect();
        times.sort();
        let median = percentile(&times, 0.5);
        let last = w.last;
        println!(
            "log_pane: {:<9} median {:.2} ms, p95 {:.2} ms, worst {:.2} ms ({} rows laid out, {} lines shown{}): {}",
            scenario.name(),
            ms(median),
            ms(percentile(&times, 0.95)),
            ms(*times.last().unwrap()),
            last.rows_laid_out,
            last.shown_lines,
            if w.arriving {
                format!(", {ARRIVING_PER_FRAME} new lines a frame")
            } else {
                String::new()
            },
            if median < TARGET { "met" } else { "MISSED" }
        );
    }

    // The frame that changes the search: the one that reads the whole log again; and the
    // index alone (`LineSet::refresh`), for a new word and for one more letter typed.
    let mut w = Window::new(Scenario::Steady);
    for word in ["lisbon", "fare", "click", "#book-9"] {
        w.panel.set_search(word);
        let frame = w.timed_frame();
        let mut longer = word.to_string();
        longer.push('0');
        w.panel.set_search(&longer);
        let narrowed_frame = w.timed_frame();

        let key = |text: &str| FilterKey {
            min_level: MinLevel::All,
            needle: Needle::new(text),
        };
        let mut set = LineSet::default();
        let start = Instant::now();
        assert!(set.refresh(&w.log, &key(word)));
        let scan = start.elapsed();
        let matched = set.len(&w.log);
        let start = Instant::now();
        assert!(!set.refresh(&w.log, &key(&longer)));
        let narrow = start.elapsed();
        println!(
            "log_pane: search {word:?} ({matched} lines): frame {:.2} ms (index {:.2} ms); one more letter: frame {:.2} ms (index {:.2} ms)",
            ms(frame),
            ms(scan),
            ms(narrowed_frame),
            ms(narrow)
        );
    }
}
