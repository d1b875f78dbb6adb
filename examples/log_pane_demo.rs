//! The log pane and the prompt pane in a window of their own, to look at them.
//!
//! `cargo run --example log_pane_demo` opens a 1280×800 window: a 20,000-line sample log
//! (`lookout::ui::log_sample`) that keeps growing by a few lines a second, and a prompt
//! waiting on an answer above it. Answers go nowhere (they are printed, masked).
//!
//! `cargo run --example log_pane_demo -- --screenshots DIR` (under Xvfb, say) instead
//! saves `log_pane_tail.png` (following the tail, a prompt waiting), `log_pane_search.png`
//! (a search with matches marked, a tool call expanded, a password prompt),
//! `log_pane_sent.png` (the answer sent) and `log_pane_paused.png` (scrolled up while lines
//! arrive), then closes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use egui::{CentralPanel, ColorImage, Panel};
use lookout::core::source::tasklog::{PendingPrompt, TaskLog, TaskLogConfig};
use lookout::ui::log_sample::push_sample;
use lookout::ui::{LogPanel, PromptAction, PromptPanel, theme};

const START_LINES: usize = 20_000;

struct Demo {
    log: TaskLog,
    next: usize,
    panel: LogPanel,
    prompt_panel: PromptPanel,
    prompt: Option<PendingPrompt>,
    /// When the prompt was asked (seconds on egui's clock), for the time left.
    asked_s: f64,
    screenshots: Option<PathBuf>,
    frame: u64,
    saved: Arc<AtomicUsize>,
    /// Input for the next frame (`--screenshots`), as if typed or scrolled.
    inject: Vec<egui::Event>,
}

impl Demo {
    fn new(screenshots: Option<PathBuf>) -> Demo {
        let mut log = TaskLog::new(TaskLogConfig::default());
        for n in 0..START_LINES {
            push_sample(&mut log, n);
        }
        Demo {
            log,
            next: START_LINES,
            panel: LogPanel::new(),
            prompt_panel: PromptPanel::new(),
            prompt: Some(PendingPrompt {
                request_id: "req-demo-1".into(),
                prompt: Some("Hold the 07:40 TP1351 fare to Lisbon for €89? (y/n)".into()),
                password: false,
                asked_at: None,
            }),
            asked_s: 0.0,
            screenshots,
            frame: 0,
            saved: Arc::new(AtomicUsize::new(0)),
            inject: Vec::new(),
        }
    }

    fn screenshot(&self, ctx: &egui::Context, name: &str) {
        let Some(dir) = &self.screenshots else {
            return;
        };
        let path = dir.join(name);
        let saved = self.saved.clone();
        ctx.request_screenshot(move |image| {
            save_png(&image, &path);
            println!("saved {}", path.display());
            saved.fetch_add(1, Ordering::SeqCst);
        });
    }

    /// The scripted steps of `--screenshots`, one per frame number.
    fn script(&mut self, ctx: &egui::Context) {
        match self.frame {
            10 => self.screenshot(ctx, "log_pane_tail.png"),
            14 => {
                self.panel.set_search("lisbon");
                self.panel.set_only_matching(false);
                let seq = self.log.end_seq() - 16;
                self.panel.set_expanded(&self.log, seq, true);
                self.prompt = Some(PendingPrompt {
                    request_id: "req-demo-2".into(),
                    prompt: Some("Airline account password:".into()),
                    password: true,
                    asked_at: None,
                });
            }
            24 => self.screenshot(ctx, "log_pane_search.png"),
            28 => {
                self.prompt = Some(PendingPrompt {
                    request_id: "req-demo-3".into(),
                    prompt: Some("Which dates? ".into()),
                    password: false,
                    asked_at: None,
                });
            }
            // Type and press Enter, through the window's input like a person.
            32 => self.inject.push(egui::Event::Text("July 3 to 5".into())),
            34 => self.inject.push(egui::Event::Key {
                key: egui::Key::Enter,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers: egui::Modifiers::NONE,
            }),
            40 => self.screenshot(ctx, "log_pane_sent.png"),
            44 => {
                // Scroll up over the list, then let lines arrive.
                self.prompt = None;
                self.panel.set_search("");
                self.inject
                    .push(egui::Event::PointerMoved(egui::pos2(640.0, 500.0)));
                self.inject.push(egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta: egui::vec2(0.0, 300.0),
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Unknown,
                    modifiers: egui::Modifiers::NONE,
                });
            }
            50..=59 => {
                for _ in 0..4 {
                    push_sample(&mut self.log, self.next);
                    self.next += 1;
                }
            }
            64 => self.screenshot(ctx, "log_pane_paused.png"),
            n if n > 68 && self.saved.load(Ordering::SeqCst) >= 4 => {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            _ => {}
        }
        ctx.request_repaint();
    }
}

impl eframe::App for Demo {
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        raw_input.events.append(&mut self.inject);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.frame += 1;
        let now = ctx.input(|i| i.time);
        if self.screenshots.is_some() {
            self.script(&ctx);
        } else {
            // A few lines a second, as a busy task prints them.
            let due = START_LINES + (now * 4.0) as usize;
            while self.next < due {
                push_sample(&mut self.log, self.next);
                self.next += 1;
            }
            ctx.request_repaint_after(Duration::from_millis(250));
        }
        let left = Duration::from_secs(180)
            .saturating_sub(Duration::from_secs_f64((now - self.asked_s).max(0.0)));
        if self.prompt.is_some() {
            Panel::top("demo_prompt")
                .frame(egui::Frame::new().inner_margin(8).fill(theme::CHROME))
                .show(ui, |ui| {
                    let action = self
                        .prompt_panel
                        .ui(ui, self.prompt.as_ref(), Some(left), true);
                    if let Some(PromptAction::Answer { request_id, answer }) = action {
                        println!("answer to {request_id}: {answer}");
                    }
                });
        }
        CentralPanel::default().show(ui, |ui| {
            self.panel.ui(ui, &self.log);
        });
    }
}

fn save_png(image: &ColorImage, path: &std::path::Path) {
    let [w, h] = image.size;
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
    writer.write_image_data(&bytes).unwrap();
}

fn main() -> eframe::Result {
    let mut args = std::env::args().skip(1);
    let screenshots = match args.next().as_deref() {
        Some("--screenshots") => Some(PathBuf::from(args.next().unwrap_or_else(|| ".".into()))),
        _ => None,
    };
    let native = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_title("Lookout — log pane demo")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    eframe::run_native(
        "lookout-log-pane-demo",
        native,
        Box::new(move |cc| {
            theme::apply(&cc.egui_ctx);
            Ok(Box::new(Demo::new(screenshots)))
        }),
    )
}
