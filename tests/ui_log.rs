//! UI tests of the log pane and the prompt pane, headless with egui_kittest: each pane
//! alone in a window, driven by a `TaskLog` (or a `PendingPrompt`) changed between frames
//! as the core would, and by clicks, keys and the mouse wheel.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, MouseWheelUnit, OutputCommand, Rect, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use lookout::core::source::tasklog::{PendingPrompt, TaskLog, TaskLogConfig};
use lookout::ui::log_panel::MinLevel;
use lookout::ui::log_sample::{push_sample, sample_log};
use lookout::ui::prompt_panel::WAITING_FOR_TEXT;
use lookout::ui::{LogPanel, LogPanelResponse, PromptAction, PromptPanel, theme};

// ---- the log pane ----

struct LogState {
    panel: LogPanel,
    log: TaskLog,
    last: LogPanelResponse,
}

fn log_harness(log: TaskLog) -> Harness<'static, LogState> {
    Harness::builder()
        .with_size(vec2(1000.0, 600.0))
        .with_context_setup(theme::apply)
        .build_ui_state(
            |ui, s: &mut LogState| {
                egui::CentralPanel::default().show(ui, |ui| {
                    s.last = s.panel.ui(ui, &s.log);
                });
            },
            LogState {
                panel: LogPanel::new(),
                log,
                last: LogPanelResponse::default(),
            },
        )
}

fn append(h: &mut Harness<'static, LogState>, lines: std::ops::Range<usize>) {
    for n in lines {
        push_sample(&mut h.state_mut().log, n);
    }
    h.run();
}

/// Line `n` of the sample when `n % 20 == 19`.
fn draft(n: usize) -> String {
    assert_eq!(n % 20, 19);
    format!("Saved itinerary draft #{n}")
}

/// Runs one frame with `event` (a step runs a frame per queued event and keeps the last
/// output only) and returns what it copied.
fn copied_by(h: &mut Harness<'static, LogState>, event: Event) -> Option<String> {
    h.event(event);
    h.step();
    h.output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
}

fn ctrl(key: Key) -> Event {
    Event::Key {
        key,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Modifiers::COMMAND,
    }
}

fn wheel_up(h: &mut Harness<'static, LogState>, points: f32) {
    h.hover_at(egui::pos2(500.0, 300.0));
    h.event(Event::MouseWheel {
        unit: MouseWheelUnit::Point,
        delta: vec2(0.0, points),
        modifiers: Modifiers::NONE,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
    });
    h.run();
}

#[test]
fn shows_the_newest_lines_and_follows_the_tail() {
    let mut h = log_harness(sample_log(200));
    h.run();
    assert!(h.state().last.following);
    h.get_by_label(&draft(199));
    assert!(
        h.query_by_label(&draft(19)).is_none(),
        "the top is out of view"
    );
    h.get_by_label("200 lines");

    append(&mut h, 200..260);
    h.get_by_label(&draft(259));
    assert!(h.state().last.following);
}

#[test]
fn scrolling_up_pauses_and_the_button_resumes() {
    let mut h = log_harness(sample_log(400));
    h.run();
    wheel_up(&mut h, 400.0);
    assert!(!h.state().last.following, "scrolling up pauses following");
    h.get_by_label("↓ Follow");

    append(&mut h, 400..420);
    assert!(
        h.query_by_label(&draft(419)).is_none(),
        "paused: the view stays"
    );
    h.get_by_label("↓ 20 new lines").click();
    h.run();
    assert!(h.state().last.following);
    h.get_by_label(&draft(419));
    assert!(h.query_by_label_contains("new lines").is_none());

    append(&mut h, 420..440);
    h.get_by_label(&draft(439));
}

#[test]
fn search_filters_counts_and_clears_with_escape() {
    let mut h = log_harness(sample_log(400));
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run();
    let search = h.get_by_role(Role::TextInput);
    assert!(search.is_focused(), "Ctrl+F focuses the search box");
    search.type_text("DRAFT #3");
    h.run();
    // Lines 39 and 319, 339, ..., 399: six.
    let last = h.state().last;
    assert_eq!(last.matches, Some(6));
    assert_eq!(last.shown_lines, 6);
    h.get_by_label("6 matches");
    h.get_by_label("6 of 400 lines shown");
    for n in [39, 319, 339, 359, 379, 399] {
        h.get_by_label(&draft(n));
    }
    assert!(
        h.query_by_label_contains("mousemove").is_none(),
        "others are hidden"
    );

    // Highlight instead of filter: every line is back, the count stays.
    h.state_mut().panel.set_only_matching(false);
    h.run();
    let last = h.state().last;
    assert_eq!((last.shown_lines, last.matches), (400, Some(6)));
    h.state_mut().panel.set_only_matching(true);
    h.run();

    h.key_press(Key::Escape);
    h.run();
    assert_eq!(h.state().panel.search(), "");
    assert_eq!(h.state().last.shown_lines, 400);
    assert_eq!(h.state().last.matches, None);
}

#[test]
fn new_lines_extend_an_active_filter() {
    let mut h = log_harness(sample_log(100));
    h.state_mut().panel.set_search("itinerary");
    h.run();
    assert_eq!(h.state().last.shown_lines, 5);
    append(&mut h, 100..140);
    assert_eq!(h.state().last.shown_lines, 7);
    h.get_by_label(&draft(139));
}

#[test]
fn enter_in_the_search_box_jumps_between_matches() {
    let mut h = log_harness(sample_log(2_000));
    h.state_mut().panel.set_only_matching(false);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run();
    h.get_by_role(Role::TextInput).type_text("draft #19");
    h.run();
    assert_eq!(h.state().last.matches, Some(7), "19, 199, 1919 .. 1999");
    // With nothing selected, Enter goes to the first match at or below the top of the view
    // (the tail: 1979), then on, wrapping round to the oldest.
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().panel.selected(), Some(1_979));
    assert!(!h.state().last.following, "a jump pauses following");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().panel.selected(), Some(1_999));
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().panel.selected(), Some(19));
    h.get_by_label(&draft(19));
    assert!(h.query_by_label(&draft(1_999)).is_none(), "scrolled away");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().panel.selected(), Some(199));
    h.key_press_modifiers(Modifiers::SHIFT, Key::Enter);
    h.run();
    assert_eq!(h.state().panel.selected(), Some(19));
    assert!(
        h.get_by_role(Role::TextInput).is_focused(),
        "the search box keeps the keyboard"
    );
}

#[test]
fn level_filter_keeps_errors() {
    let mut h = log_harness(sample_log(200));
    h.state_mut().panel.set_min_level(MinLevel::Error);
    h.run();
    // Line 18 of every 20 is an AgentStation error; line 13 (not JSON) is raw output.
    assert_eq!(h.state().last.shown_lines, 10);
    h.get_by_label("click target not found: #book-198");
    assert!(h.query_by_label_contains("draft").is_none());
}

#[test]
fn expanding_a_tool_call_shows_its_arguments() {
    let mut h = log_harness(sample_log(20));
    h.run();
    let row = h.get_by_label_contains("calls search_flights(").rect();
    assert!(
        h.query_by_label_contains("\"cabin\": \"economy\"")
            .is_none()
    );
    let expand = expand_button_on(&h, row, "Expand");
    expand.click();
    h.run();
    h.get_by_label("search_flights (call_4)");
    h.get_by_label_contains("\"cabin\": \"economy\"");
    assert!(h.state().panel.is_expanded(4));

    // The rows it added scrolled the view (it follows the tail): find the line again.
    let row = h.get_by_label_contains("calls search_flights(").rect();
    let collapse = expand_button_on(&h, row, "Collapse");
    collapse.click();
    h.run();
    assert!(
        h.query_by_label_contains("\"cabin\": \"economy\"")
            .is_none()
    );
    assert!(!h.state().panel.is_expanded(4));
}

fn expand_button_on<'h>(
    h: &'h Harness<'static, LogState>,
    row: Rect,
    label: &'h str,
) -> egui_kittest::Node<'h> {
    h.get_all_by_role_and_label(Role::Button, label)
        .find(|b| (b.rect().center().y - row.center().y).abs() < 2.0)
        .expect("the row's fold button")
}

#[test]
fn multi_line_messages_fold_behind_their_first_line() {
    let mut h = log_harness(sample_log(20));
    h.run();
    h.get_by_label("planner → user_proxy: Day 1: Alfama and the castle.");
    assert!(h.query_by_label("Day 2: Belém and the tower.").is_none());
    // Select it, then → expands it.
    h.get_by_label("planner → user_proxy: Day 1: Alfama and the castle.")
        .click();
    h.run();
    h.key_press(Key::ArrowRight);
    h.run();
    h.get_by_label("Day 2: Belém and the tower.");
    h.get_by_label("Day 3: Sintra by train.");
}

#[test]
fn a_clicked_line_is_copied_with_ctrl_c() {
    let mut h = log_harness(sample_log(40));
    h.run();
    h.get_by_label(&draft(39)).click();
    h.run();
    assert_eq!(h.state().panel.selected(), Some(39));
    let want = Some("16:13:29 Saved itinerary draft #39".to_string());
    // Ctrl+C as a key, and as the copy event the window's integration makes of it.
    assert_eq!(copied_by(&mut h, ctrl(Key::C)), want);
    assert_eq!(copied_by(&mut h, Event::Copy), want);
    // Not while a text box has the keyboard: Ctrl+C is then that box's.
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run();
    assert_eq!(copied_by(&mut h, Event::Copy), None);
}

#[test]
fn the_context_menu_copies_a_line() {
    let mut h = log_harness(sample_log(40));
    h.run();
    h.get_by_label(&draft(19)).click_secondary();
    h.run();
    assert_eq!(h.state().panel.selected(), Some(19));
    h.get_by_label("Copy line").click();
    h.step();
    let copied = h
        .output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        });
    assert_eq!(
        copied.as_deref(),
        Some("16:13:24 Saved itinerary draft #19")
    );
    h.run();
    assert!(h.query_by_label("Copy line").is_none(), "the menu closed");
}

#[test]
fn copy_shown_copies_the_filtered_lines() {
    let mut h = log_harness(sample_log(100));
    h.state_mut().panel.set_search("itinerary");
    h.state_mut().panel.set_show_times(false);
    h.run();
    let at = h.get_by_label("Copy shown").rect().center();
    h.hover_at(at);
    h.run();
    let press = |pressed| Event::PointerButton {
        pos: at,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: Modifiers::NONE,
    };
    h.event(press(true));
    h.step();
    let text = copied_by(&mut h, press(false)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].ends_with("Saved itinerary draft #19"));
    assert!(lines[4].ends_with("Saved itinerary draft #99"));
}

#[test]
fn dropped_lines_are_counted_at_the_top() {
    let mut log = TaskLog::new(TaskLogConfig {
        max_lines: 50,
        recent_ids: 100,
        ..TaskLogConfig::default()
    });
    for n in 0..80 {
        push_sample(&mut log, n);
    }
    let mut h = log_harness(log);
    h.run();
    h.get_by_label("30 older lines dropped (the log keeps the newest 50 lines, 64 MiB)");
    h.get_by_label(&draft(79));
}

#[test]
fn a_hundred_thousand_lines_lay_out_only_the_rows_in_view() {
    let mut h = log_harness(sample_log(100_000));
    h.run();
    let last = h.state().last;
    assert_eq!(last.shown_lines, 100_000);
    // 600 points of window, rows of about 18: a few dozen rows, never thousands.
    assert!(
        (10..=60).contains(&last.rows_laid_out),
        "{} rows laid out",
        last.rows_laid_out
    );
    let labels = h.get_all_by_role(Role::Label).count();
    assert!(labels < 100, "{labels} labels in the tree");
    h.get_by_label(&draft(99_999));

    append(&mut h, 100_000..100_020);
    h.get_by_label(&draft(100_019));
    assert!(h.state().last.rows_laid_out <= 60);
}

// ---- the prompt pane ----

struct PromptState {
    panel: PromptPanel,
    prompt: Option<PendingPrompt>,
    time_left: Option<Duration>,
    enabled: bool,
    actions: Vec<PromptAction>,
}

fn prompt(request_id: &str, question: &str, password: bool) -> PendingPrompt {
    PendingPrompt {
        request_id: request_id.to_string(),
        prompt: Some(question.to_string()),
        password,
        asked_at: None,
    }
}

fn prompt_harness(p: Option<PendingPrompt>) -> Harness<'static, PromptState> {
    Harness::builder()
        .with_size(vec2(700.0, 300.0))
        .with_context_setup(theme::apply)
        .build_ui_state(
            |ui, s: &mut PromptState| {
                egui::CentralPanel::default().show(ui, |ui| {
                    if let Some(a) = s.panel.ui(ui, s.prompt.as_ref(), s.time_left, s.enabled) {
                        s.actions.push(a);
                    }
                });
            },
            PromptState {
                panel: PromptPanel::new(),
                prompt: p,
                time_left: None,
                enabled: true,
                actions: Vec::new(),
            },
        )
}

fn answers(h: &Harness<'static, PromptState>) -> Vec<(String, String)> {
    h.state()
        .actions
        .iter()
        .map(|a| match a {
            PromptAction::Answer { request_id, answer } => {
                (request_id.clone(), answer.expose().to_string())
            }
        })
        .collect()
}

/// Every label and value in the accessibility tree.
fn all_text(h: &Harness<'static, PromptState>) -> String {
    h.root()
        .children_recursive()
        .map(|n| {
            let n = n.accesskit_node();
            format!(
                "{} {}\n",
                n.label().unwrap_or_default(),
                n.value().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn a_prompt_shows_its_question_and_enter_answers_it() {
    let mut h = prompt_harness(Some(prompt("req-7", "Hold this fare? (y/n) ", false)));
    h.state_mut().time_left = Some(Duration::from_secs(161));
    h.run();
    h.get_by_label("The task waits for your answer");
    h.get_by_label("Hold this fare? (y/n)");
    h.get_by_label("answer within 2:41");
    let answer = h.get_by_role(Role::TextInput);
    assert!(answer.is_focused(), "the answer box has the keyboard");
    answer.type_text("y, hold it");
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(
        answers(&h),
        [("req-7".to_string(), "y, hold it".to_string())]
    );
    assert!(h.state().panel.is_sent());
    h.get_by_label("Sent, waiting for the task…");
    assert!(h.query_by_role(Role::TextInput).is_none());
    assert!(!all_text(&h).contains("hold it"), "the draft is gone");

    // The log saw the answer: the prompt closes and the pane is empty.
    h.state_mut().prompt = None;
    h.run();
    assert!(h.query_by_label("The task waits for your answer").is_none());
    assert!(h.query_by_label_contains("Sent").is_none());
    assert_eq!(answers(&h).len(), 1);
}

#[test]
fn the_send_button_answers_too() {
    let mut h = prompt_harness(Some(prompt("req-8", "Which dates?", false)));
    h.run();
    h.get_by_role(Role::TextInput).type_text("July 3 to 5");
    h.run();
    h.get_by_label("Send").click();
    h.run();
    assert_eq!(
        answers(&h),
        [("req-8".to_string(), "July 3 to 5".to_string())]
    );
}

#[test]
fn a_password_prompt_masks_what_is_typed() {
    let secret = "hunter2-s3cret";
    let mut h = prompt_harness(Some(prompt("req-2", "Airline account password:", true)));
    h.run();
    h.get_by_label("Airline account password:");
    let field = h.get_by_role(Role::PasswordInput);
    assert!(field.is_focused());
    field.type_text(secret);
    h.run();
    let text = all_text(&h);
    assert!(!text.contains("hunter2"), "the secret shows: {text}");
    assert!(text.contains('•'), "the mask shows: {text}");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(answers(&h), [("req-2".to_string(), secret.to_string())]);
    match &h.state().actions[0] {
        PromptAction::Answer { answer, .. } => {
            assert_eq!(format!("{answer:?}"), "Secret(***)");
        }
    }
    assert!(!all_text(&h).contains("hunter2"));
}

#[test]
fn a_new_prompt_replaces_the_sent_one() {
    let mut h = prompt_harness(Some(prompt("req-1", "First?", false)));
    h.run();
    h.get_by_role(Role::TextInput).type_text("one");
    h.key_press(Key::Enter);
    h.run();
    h.get_by_label("Sent, waiting for the task…");
    h.state_mut().prompt = Some(prompt("req-2", "Second?", false));
    h.run();
    h.get_by_label("Second?");
    assert!(h.query_by_label_contains("Sent").is_none());
    let field = h.get_by_role(Role::TextInput);
    assert!(field.is_focused());
    assert_eq!(field.value().as_deref(), Some(""));
}

#[test]
fn a_partial_answer_is_dropped_when_the_prompt_closes() {
    let mut h = prompt_harness(Some(prompt("req-3", "Name?", false)));
    h.run();
    h.get_by_role(Role::TextInput).type_text("half an ans");
    h.run();
    h.state_mut().prompt = None;
    h.run();
    h.state_mut().prompt = Some(prompt("req-4", "Name again?", false));
    h.run();
    assert_eq!(h.get_by_role(Role::TextInput).value().as_deref(), Some(""));
    assert!(!all_text(&h).contains("half"));
}

#[test]
fn without_a_connection_send_is_disabled() {
    let mut h = prompt_harness(Some(prompt("req-5", "Proceed?", false)));
    h.state_mut().enabled = false;
    h.run();
    assert!(h.get_by_label("Send").accesskit_node().is_disabled());
    h.get_by_role(Role::TextInput).type_text("yes");
    h.key_press(Key::Enter);
    h.run();
    assert!(answers(&h).is_empty(), "nothing is sent while disconnected");
    // Reconnected: the typed answer is still there and goes out.
    h.state_mut().enabled = true;
    h.run();
    h.get_by_label("Send").click();
    h.run();
    assert_eq!(answers(&h), [("req-5".to_string(), "yes".to_string())]);
}

#[test]
fn time_is_up_at_zero_and_no_prompt_draws_nothing() {
    let mut h = prompt_harness(Some(prompt("req-6", "Still there?", false)));
    h.state_mut().time_left = Some(Duration::ZERO);
    h.run();
    h.get_by_label("time is up");
    h.state_mut().prompt = None;
    h.run();
    assert!(h.query_by_label("time is up").is_none());
    assert!(h.query_by_role(Role::TextInput).is_none());
}

#[test]
fn a_prompt_known_only_by_status_waits_for_its_question() {
    let mut h = prompt_harness(Some(PendingPrompt {
        request_id: "req-9".into(),
        prompt: None,
        password: true,
        asked_at: None,
    }));
    h.run();
    h.get_by_label(WAITING_FOR_TEXT);
    assert!(
        h.query_by_role(Role::PasswordInput).is_none(),
        "no guess at a password"
    );
    assert!(h.query_by_role(Role::TextInput).is_none());
    assert!(h.query_by_label("Send").is_none());
}
