//! UI tests of the console, headless with egui_kittest: a wall of tasks whose sessions are
//! driven by hand through their `SessionPeer`s: the layout at several window sizes, a
//! prompt's badge and the title's count, waiting tasks first, Ctrl+J, opening a task and
//! going back, the arrow keys, an answer sent from a tile, tasks added and removed, the
//! workspace kept across a restart, only the task opened heard, and a followed task list
//! adding its tasks once.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use egui::accesskit::Role;
use egui::{Key, Modifiers, Vec2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lookout::core::audio::AudioFormat;
use lookout::core::event::{Command, LiveInfo, SessionEvent, SessionState, noop_waker};
use lookout::core::frame::Framebuffer;
use lookout::core::listing::{ListNews, Listing};
use lookout::core::session::{SessionHandle, SessionPeer};
use lookout::core::workspace::Workspace;
use lookout::ui::app::ViewerApp;
use lookout::ui::audio::Speaker;
use lookout::ui::console::{ConsoleApp, TaskMaker};
use lookout::ui::{LogView, TaskView, theme};

/// One task's peers: its picture's and its log's, as it has them.
struct Peers {
    picture: Option<SessionPeer>,
    log: Option<SessionPeer>,
}

struct Wall {
    harness: Harness<'static, ConsoleApp>,
    peers: Vec<Peers>,
}

fn live(width: u32, height: u32) -> SessionState {
    SessionState::Live(LiveInfo {
        width,
        height,
        desktop_name: String::new(),
        protocol: "test".into(),
        input: Default::default(),
    })
}

/// A wall of `n` tasks in a window of `size`: every third has only a log, every other
/// has a picture and a log, the rest only a picture. Each is live, its picture a
/// colour of its own.
fn wall(n: usize, size: Vec2) -> Wall {
    let mut apps = Vec::new();
    let mut peers = Vec::new();
    for i in 0..n {
        let name = format!("task-{i:02}");
        let (with_picture, with_log) = match i % 3 {
            0 => (false, true),
            1 => (true, true),
            _ => (true, false),
        };
        let (picture, view) = if with_picture {
            let (h, p) = SessionHandle::pair(format!("{name} picture"), noop_waker());
            let mut fb = Framebuffer::new(64, 36).unwrap();
            let shade = (i * 15 % 256) as u8;
            fb.fill_rect(fb.full_rect(), [shade, 80, 200, 255]).unwrap();
            p.frames.publish(&fb, &[fb.full_rect()]);
            p.events
                .try_send(SessionEvent::State(live(64, 36)))
                .unwrap();
            (Some(p), Some(TaskView::new(h)))
        } else {
            (None, None)
        };
        let (log, log_view) = if with_log {
            let (h, p) = SessionHandle::pair(format!("{name} log"), noop_waker());
            p.events.try_send(SessionEvent::State(live(0, 0))).unwrap();
            p.log.update(|s| {
                s.active = true;
                s.can_answer = true;
                s.log.push_text(&format!(
                    r#"{{"type":"print","id":"{i}-1","data":"{name} is working\n"}}"#
                ));
            });
            (Some(p), Some(LogView::new(h)))
        } else {
            (None, None)
        };
        apps.push(ViewerApp::new(view, log_view, name, None));
        peers.push(Peers { picture, log });
    }
    let harness = Harness::builder()
        .with_size(size)
        .with_context_setup(theme::apply)
        .build_ui_state(
            |ui, app: &mut ConsoleApp| app.ui(ui),
            ConsoleApp::new(apps, None),
        );
    let mut wall = Wall { harness, peers };
    wall.harness.run();
    wall
}

impl Wall {
    /// Task `i` asks `question` (request `id`).
    fn ask(&mut self, i: usize, id: &str, question: &str) {
        let log = self.peers[i].log.as_ref().expect("a task with a log");
        log.log.update(|s| {
            s.log.push_text(&format!(
                r#"{{"type":"input_request","id":"{id}-q","request_id":"{id}","data":"{question}","password":"False"}}"#
            ));
        });
        self.harness.run();
    }

    fn title(&self) -> String {
        self.harness.state().window_title()
    }

    fn key(&mut self, key: Key) {
        self.harness.key_press(key);
        self.harness.run();
    }

    /// The titles of the tiles on screen, in the wall's order.
    fn shown(&self) -> Vec<String> {
        let console = self.harness.state();
        console
            .order()
            .into_iter()
            .filter_map(|i| {
                let title = console.task(i)?.title().to_string();
                let on_screen = self
                    .harness
                    .query_by_label(&format!("{title} tile"))
                    .is_some();
                on_screen.then_some(title)
            })
            .collect()
    }
}

#[test]
fn sixteen_tasks_fit_a_window_and_one_fills_it() {
    let w = wall(16, vec2(1280.0, 800.0));
    assert_eq!(w.shown().len(), 16, "every tile on screen");
    assert_eq!(w.title(), "Lookout — 16 tasks");
    // Their states and latest lines are on the tiles.
    w.harness.get_by_label("task-01 is working");
    assert_eq!(w.harness.get_all_by_label("live").count(), 16);

    // One task: one tile, as wide as the window allows.
    let w = wall(1, vec2(1280.0, 800.0));
    let tile = w.harness.get_by_label("task-00 tile");
    let width = tile.rect().width();
    assert!(width > 1000.0, "a lone tile {width} px wide");

    // Sixty-four in a small window: the wall scrolls, the first tiles are on screen.
    let w = wall(64, vec2(900.0, 600.0));
    let shown = w.shown();
    assert!(
        !shown.is_empty() && shown.len() < 64,
        "{} tiles on screen",
        shown.len()
    );
    assert_eq!(shown[0], "task-00");
}

#[test]
fn a_prompt_badges_its_tile_counts_in_the_title_and_sorts_first() {
    let mut w = wall(6, vec2(1280.0, 800.0));
    assert!(w.harness.query_by_label_contains("Needs you").is_none());
    w.ask(4, "r-4", "Pay 12 EUR?");
    w.harness.get_by_label_contains("Needs you");
    assert_eq!(w.title(), "● 1 needs you — Lookout — 6 tasks");
    assert_eq!(w.harness.state().order()[0], 4, "the waiting task first");
    w.ask(1, "r-1", "Which address?");
    assert_eq!(w.title(), "● 2 need you — Lookout — 6 tasks");
    // Longest waiting first.
    assert_eq!(&w.harness.state().order()[..2], &[4, 1]);
    // A pinned task keeps its place at the front.
    w.harness.state_mut().set_pinned(2, true);
    w.harness.run();
    assert_eq!(&w.harness.state().order()[..3], &[2, 4, 1]);
}

#[test]
fn ctrl_j_opens_the_task_waiting_longest_and_esc_returns_to_the_wall() {
    let mut w = wall(6, vec2(1280.0, 800.0));
    w.harness.key_press_modifiers(Modifiers::COMMAND, Key::J);
    w.harness.run();
    assert_eq!(w.harness.state().focused(), None, "nothing waits");
    w.ask(3, "r-3", "First?");
    w.ask(1, "r-1", "Second?");
    w.harness.key_press_modifiers(Modifiers::COMMAND, Key::J);
    w.harness.run();
    assert_eq!(w.harness.state().focused(), Some(3));
    assert!(
        w.title().ends_with("Lookout — task-03 — live"),
        "{}",
        w.title()
    );
    // Full-size: the task's own log pane and prompt, and a way back.
    w.harness.get_by_label("1 other task needs you (Ctrl+J)");
    let answer_box = w
        .harness
        .get_all_by_role(Role::TextInput)
        .find(|n| n.is_focused());
    assert!(answer_box.is_some(), "the answer box has the keys");
    // Esc leaves the answer box, then the task.
    w.key(Key::Escape);
    assert_eq!(w.harness.state().focused(), Some(3));
    w.key(Key::Escape);
    assert_eq!(w.harness.state().focused(), None);
}

#[test]
fn arrows_move_between_tiles_and_enter_opens_one() {
    let mut w = wall(6, vec2(1280.0, 800.0));
    let order = w.harness.state().order();
    assert_eq!(w.harness.state().selected(), order[0]);
    w.key(Key::ArrowRight);
    assert_eq!(w.harness.state().selected(), order[1]);
    w.key(Key::ArrowDown);
    let at = order
        .iter()
        .position(|&i| i == w.harness.state().selected())
        .unwrap();
    assert!(at > 1, "down moves a row");
    w.key(Key::ArrowUp);
    assert_eq!(w.harness.state().selected(), order[1]);
    w.key(Key::Enter);
    assert_eq!(w.harness.state().focused(), Some(order[1]));
    w.harness.get_by_label("Wall").click();
    w.harness.run();
    assert_eq!(w.harness.state().focused(), None);
}

#[test]
fn a_click_selects_a_tile_and_a_double_click_opens_it() {
    let mut w = wall(6, vec2(1280.0, 800.0));
    let order = w.harness.state().order();
    let tile = w.harness.get_by_label("task-03 tile");
    tile.click();
    w.harness.run();
    assert_eq!(w.harness.state().selected(), 3);
    assert_eq!(w.harness.state().focused(), None, "one click only selects");
    assert_ne!(order[0], 3);
    // Two clicks in one frame (the harness gives each queued event a frame of its own,
    // a quarter of a second apart: too slow for a double click).
    let at = w.harness.get_by_label("task-03 tile").rect().center();
    let input = w.harness.input_mut();
    input.events.push(egui::Event::PointerMoved(at));
    for pressed in [true, false, true, false] {
        input.events.push(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    w.harness.run();
    assert_eq!(w.harness.state().focused(), Some(3), "a double click opens");
}

#[test]
fn a_prompt_is_answered_from_its_tile_without_leaving_the_wall() {
    let mut w = wall(6, vec2(1280.0, 800.0));
    w.ask(4, "r-4", "Pay 12 EUR?");
    w.harness.get_by_label("task-04 tile").click();
    w.harness.run();
    assert_eq!(w.harness.state().selected(), 4);
    // The selected tile shows the question and an answer box in place of its picture.
    w.harness.get_by_label("Pay 12 EUR?");
    w.harness
        .get_all_by_role(Role::TextInput)
        .find(|n| n.is_focused())
        .expect("the tile's answer box has the keys")
        .type_text("yes");
    w.harness.run();
    w.key(Key::Enter);
    assert_eq!(w.harness.state().focused(), None, "still on the wall");
    let log = w.peers[4].log.as_mut().unwrap();
    let mut sent = Vec::new();
    while let Ok(c) = log.commands.try_recv() {
        sent.push(c);
    }
    assert!(
        matches!(&sent[..], [Command::Answer { request_id, answer }] if request_id == "r-4" && answer.expose() == "yes"),
        "{sent:?}"
    );
    w.harness.run();
    assert_eq!(w.title(), "Lookout — 6 tasks");
}

#[test]
fn ended_failed_and_unwatchable_tasks_say_so_on_their_tiles() {
    let mut w = wall(3, vec2(1280.0, 800.0));
    let picture = w.peers[2].picture.as_ref().unwrap();
    picture
        .events
        .try_send(SessionEvent::State(SessionState::Ended {
            reason: "the task finished".into(),
            task_failed: false,
        }))
        .unwrap();
    let log = w.peers[0].log.as_ref().unwrap();
    log.events
        .try_send(SessionEvent::State(SessionState::Failed {
            error: lookout::core::event::SessionError::new(
                lookout::core::event::ErrorKind::NotFound,
                false,
                "no such task",
            ),
        }))
        .unwrap();
    // The provider says the task failed: that is the task's state, not an error of ours.
    let both = &w.peers[1];
    for peer in [&both.picture, &both.log] {
        peer.as_ref()
            .unwrap()
            .events
            .try_send(SessionEvent::State(SessionState::Ended {
                reason: "the task is over (failed)".into(),
                task_failed: true,
            }))
            .unwrap();
    }
    w.harness.run();
    w.harness.run();
    w.harness.get_by_label("ended");
    w.harness.get_by_label("the task finished");
    w.harness.get_by_label("error");
    w.harness.get_by_label("no such task");
    w.harness.get_by_label("failed");
    w.harness.get_by_label("the task is over (failed)");
}

/// A task made as the Add box makes one: a log session for `source`, its peer kept.
fn maker(peers: std::rc::Rc<std::cell::RefCell<Vec<SessionPeer>>>) -> TaskMaker {
    Box::new(move |source: &str| {
        if !source.contains(':') {
            return Err(format!("{source} is not a source"));
        }
        let (h, p) = SessionHandle::pair(source, noop_waker());
        peers.borrow_mut().push(p);
        Ok(ViewerApp::new(
            None,
            Some(LogView::new(h)),
            source.into(),
            None,
        ))
    })
}

#[test]
fn tasks_are_added_from_the_wall_and_removed_from_their_tiles() {
    let mut w = wall(2, vec2(1280.0, 800.0));
    let made = std::rc::Rc::default();
    let console = std::mem::replace(w.harness.state_mut(), ConsoleApp::new(Vec::new(), None));
    *w.harness.state_mut() = console.with_maker(maker(std::rc::Rc::clone(&made)));
    w.harness.run();
    w.harness
        .get_all_by_role(Role::TextInput)
        .next()
        .expect("the Add box")
        .click();
    w.harness.run();
    w.harness
        .get_all_by_role(Role::TextInput)
        .next()
        .unwrap()
        .type_text("nonsense");
    w.harness.run();
    w.harness.get_by_label("Add").click();
    w.harness.run();
    w.harness.get_by_label("nonsense is not a source");
    assert_eq!(w.harness.state().len(), 2);
    w.harness.state_mut().add("waldiez:added").unwrap();
    w.harness.run();
    assert_eq!(w.harness.state().len(), 3);
    w.harness.get_by_label("waldiez:added tile");
    assert_eq!(made.borrow().len(), 1);

    // Remove on a tile stops its sessions.
    let remove = w
        .harness
        .get_all_by_label("Remove")
        .last()
        .expect("a Remove button");
    remove.click();
    w.harness.run();
    assert_eq!(w.harness.state().len(), 2);
    assert!(w.harness.query_by_label("waldiez:added tile").is_none());
    let mut commands = Vec::new();
    while let Ok(c) = made.borrow_mut()[0].commands.try_recv() {
        commands.push(c);
    }
    assert!(matches!(commands[..], [Command::Stop]), "{commands:?}");
}

#[test]
fn the_workspace_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.json");
    let made = std::rc::Rc::default();
    let mut console = ConsoleApp::new(Vec::new(), None)
        .with_workspace(path.clone(), &Workspace::default())
        .with_maker(maker(std::rc::Rc::clone(&made)));
    for source in ["waldiez:a", "chaser:b", "optexity:c"] {
        console.add(source).unwrap();
    }
    console
        .add("rfb+ws://127.0.0.1:1/ws?token=sk-never-kept-1234")
        .unwrap();
    console.set_pinned(2, true);
    console.open(1);
    console.stop();
    drop(console);
    let kept = Workspace::load(&path).unwrap();
    let sources: Vec<_> = kept.tasks.iter().map(|t| t.source.as_str()).collect();
    assert_eq!(sources, ["waldiez:a", "chaser:b", "optexity:c"]);
    assert_eq!(
        kept.tasks.iter().map(|t| t.pinned).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(kept.focused, Some(1));
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("sk-never-kept")
    );

    // Opened again on what was kept: the same tasks, pins and the one opened.
    let apps = kept
        .tasks
        .iter()
        .map(|t| {
            let (h, _) = SessionHandle::pair(t.source.as_str(), noop_waker());
            ViewerApp::new(None, Some(LogView::new(h)), t.source.clone(), None)
        })
        .collect();
    let again = ConsoleApp::new(apps, None).with_workspace(path, &kept);
    assert_eq!(again.focused(), Some(1));
    assert_eq!(again.order()[0], 2, "the pinned task first");
    assert_eq!(again.workspace(), kept);
}

#[test]
fn only_the_task_opened_is_heard_and_runs_at_full_rate() {
    let format = AudioFormat {
        rate: 48_000,
        channels: 2,
    };
    let speakers: Vec<_> = (0..3).map(|_| Speaker::detached(format, true)).collect();
    let apps = speakers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (h, _) = SessionHandle::pair(format!("hls-{i}"), noop_waker());
            let view = TaskView::new(h).with_speaker(Some(s.clone()));
            ViewerApp::new(Some(view), None, format!("hls-{i}"), None)
        })
        .collect();
    let mut console = ConsoleApp::new(apps, None);
    let heard = || speakers.iter().map(|s| !s.is_muted()).collect::<Vec<_>>();
    let full_rate = |c: &ConsoleApp| {
        (0..3)
            .map(|i| {
                c.task(i)
                    .unwrap()
                    .picture()
                    .unwrap()
                    .frames()
                    .pace()
                    .is_none()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(heard(), [false, false, false]);
    assert_eq!(
        full_rate(&console),
        [false, false, false],
        "tiles are paced"
    );
    console.open(1);
    assert_eq!(heard(), [false, true, false]);
    assert_eq!(full_rate(&console), [false, true, false]);
    console.open(2);
    assert_eq!(heard(), [false, false, true]);
    console.back_to_wall();
    assert_eq!(heard(), [false, false, false]);
    assert_eq!(full_rate(&console), [false, false, false]);
}

#[test]
fn a_followed_list_adds_each_task_once_and_is_kept_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.json");
    let made = std::rc::Rc::default();
    let (listing, news) = Listing::fed("waldiez:*");
    let feeds = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let follower = {
        let feeds = std::rc::Rc::clone(&feeds);
        Box::new(move |text: &str| {
            let (listing, tx) = Listing::fed(text);
            feeds.borrow_mut().push(tx);
            Ok(listing)
        })
    };
    let console = ConsoleApp::new(Vec::new(), None)
        .with_workspace(path.clone(), &Workspace::default())
        .with_maker(maker(std::rc::Rc::clone(&made)))
        .with_follows(vec![listing])
        .with_follower(follower);
    assert_eq!(Workspace::load(&path).unwrap().follow, ["waldiez:*"]);
    let mut harness = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ConsoleApp| app.ui(ui), console);
    let list = |ids: &[&str]| {
        Some(ListNews::Tasks(
            ids.iter().map(|i| format!("waldiez:{i}")).collect(),
        ))
    };
    news.send(list(&["a", "b"])).unwrap();
    harness.run();
    harness.get_by_label("waldiez:a tile");
    harness.get_by_label("waldiez:b tile");
    harness.get_by_label("Following waldiez:*: 2 listed");
    // Listed again with a new one: only the new one is added.
    news.send(list(&["a", "b", "c"])).unwrap();
    harness.run();
    assert_eq!(harness.state().len(), 3);
    // A task removed stays removed while the list names it.
    let b = (0..3)
        .find(|&i| harness.state().task(i).unwrap().title() == "waldiez:b")
        .unwrap();
    harness.state_mut().remove(b);
    news.send(list(&["a", "b", "c"])).unwrap();
    harness.run();
    assert!(harness.query_by_label("waldiez:b tile").is_none());
    // A reading that fails says so; the tasks stay.
    news.send(Some(ListNews::Failed(
        "the runner refused the credentials (401)".into(),
    )))
    .unwrap();
    harness.run();
    harness.get_by_label("the runner refused the credentials (401)");
    assert_eq!(harness.state().len(), 2);

    // The list is kept, the tasks it found are not; following it twice is refused.
    let kept = Workspace::load(&path).unwrap();
    assert_eq!(kept.follow, ["waldiez:*"]);
    assert!(kept.tasks.is_empty(), "{kept:?}");
    assert!(harness.state_mut().add("waldiez:*").is_err());
    // Stop following: the list goes, its tasks stay.
    harness.get_by_label("Stop following").click();
    harness.run();
    assert!(harness.state().follows().is_empty());
    assert_eq!(harness.state().len(), 2);
    assert!(Workspace::load(&path).unwrap().follow.is_empty());
    // Typed in the Add box, it is followed again.
    harness.state_mut().add("waldiez:*").unwrap();
    assert_eq!(feeds.borrow().len(), 1);
    assert_eq!(harness.state().follows().len(), 1);
    harness.state().stop();
}
