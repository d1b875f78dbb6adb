//! UI tests of one task's window with a task log, headless with egui_kittest: the log and
//! prompt wired to a session driven by hand through its `SessionPeer`, the answer reaching
//! the core as a command (and closing its prompt at once, confirmed later by the echo, or
//! reopened when not delivered), a prompt known before its question, the attention mark
//! in the title, and the log beside a picture.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use egui::accesskit::Role;
use egui::{Key, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lookout::core::event::{
    Command, ErrorKind, LiveInfo, SessionError, SessionEvent, SessionState, noop_waker,
};
use lookout::core::session::{SessionHandle, SessionPeer};
use lookout::ui::app::{ATTENTION_MARK, ViewerApp};
use lookout::ui::log_view::SENT_UNCONFIRMED;
use lookout::ui::prompt_panel::WAITING_FOR_TEXT;
use lookout::ui::{LogView, TaskView, theme};

struct Setup {
    harness: Harness<'static, ViewerApp>,
    log: SessionPeer,
    picture: Option<SessionPeer>,
}

fn setup(with_picture: bool) -> Setup {
    let (log_handle, log) = SessionHandle::pair("waldiez:t1", noop_waker());
    let (picture, picture_view) = if with_picture {
        let (h, p) = SessionHandle::pair("optexity:t1", noop_waker());
        (Some(p), Some(TaskView::new(h)))
    } else {
        (None, None)
    };
    let app = ViewerApp::new(
        picture_view,
        Some(LogView::new(log_handle)),
        "waldiez:t1".into(),
        None,
    );
    let harness = Harness::builder()
        .with_size(vec2(1100.0, 700.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, app: &mut ViewerApp| app.ui(ui), app);
    Setup {
        harness,
        log,
        picture,
    }
}

fn live() -> SessionState {
    SessionState::Live(LiveInfo {
        width: 0,
        height: 0,
        desktop_name: "waldiez:t1".into(),
        protocol: "Waldiez Runner".into(),
        input: Default::default(),
    })
}

impl Setup {
    fn push(&mut self, text: &str) {
        self.log.log.update(|s| {
            s.active = true;
            s.can_answer = true;
            s.log.push_text(text);
        });
        self.harness.run();
    }

    fn event(&mut self, e: SessionEvent) {
        self.log.events.try_send(e).unwrap();
        self.harness.run();
    }

    /// Types `text` in the focused answer box and presses Enter.
    fn answer(&mut self, text: &str) {
        self.harness
            .get_all_by_role(Role::TextInput)
            .find(|n| n.is_focused())
            .expect("a focused answer box")
            .type_text(text);
        self.harness.run();
        self.harness.key_press(Key::Enter);
        self.harness.run();
    }

    fn commands(&mut self) -> Vec<Command> {
        let mut out = Vec::new();
        while let Ok(c) = self.log.commands.try_recv() {
            out.push(c);
        }
        out
    }
}

const ASK: &str = r#"{"type":"input_request","id":"1-2","request_id":"r-1","data":"Book the 9:40 train?","password":"False","timestamp":"1711210101210000"}"#;

#[test]
fn a_prompt_answered_from_the_window_closes_at_once_and_the_echo_confirms_it() {
    let mut s = setup(false);
    s.event(SessionEvent::State(live()));
    s.push(r#"{"type":"print","id":"1-1","data":"looking up trains\n"}"#);
    assert!(!s.harness.state().window_title().starts_with(ATTENTION_MARK));
    s.push(ASK);
    s.harness.get_by_label("Book the 9:40 train?");
    assert!(
        s.harness.state().window_title().starts_with(ATTENTION_MARK),
        "{}",
        s.harness.state().window_title()
    );
    // The answer box has the keyboard as soon as the prompt appears.
    s.answer("yes, book it");
    let sent = s.commands();
    assert!(
        matches!(&sent[..], [Command::Answer { request_id, answer }] if request_id == "r-1" && answer.expose() == "yes, book it"),
        "{sent:?}"
    );
    // Closed at once: the runner may take seconds to echo a socket answer.
    assert!(s.harness.query_by_label("Book the 9:40 train?").is_none());
    assert!(s.harness.query_by_label("Send").is_none(), "no answer box");
    assert!(!s.harness.state().window_title().starts_with(ATTENTION_MARK));
    s.harness.get_by_label(SENT_UNCONFIRMED);
    // A replay of the request (a reconnect) does not reopen it.
    s.push(r#"{"type":"status","data":{"status":"WAITING_FOR_INPUT","input_request_id":"r-1"}}"#);
    assert!(s.harness.query_by_label("Book the 9:40 train?").is_none());
    // The runner echoes the answer: confirmed.
    s.push(r#"{"type":"input_response","id":"1-3","request_id":"r-1","data":"yes, book it"}"#);
    assert!(s.harness.query_by_label(SENT_UNCONFIRMED).is_none());
    assert!(!s.harness.state().window_title().starts_with(ATTENTION_MARK));
    s.harness.get_by_label_contains("Answered: yes, book it");
}

#[test]
fn an_undelivered_answer_says_why_and_another_viewers_answer_closes_the_prompt() {
    let mut s = setup(false);
    s.event(SessionEvent::State(live()));
    s.push(ASK);
    s.event(SessionEvent::AnswerFailed {
        request_id: "r-1".into(),
        message: "the task is not waiting for this answer (400)".into(),
    });
    s.harness
        .get_by_label_contains("Not delivered: the task is not waiting");
    // Someone else answers.
    s.push(r#"{"type":"input_response","id":"1-3","request_id":"r-1","data":"no"}"#);
    assert!(s.harness.query_by_label("Book the 9:40 train?").is_none());
    assert!(s.harness.query_by_label_contains("Not delivered").is_none());
    assert!(s.commands().is_empty(), "nothing was sent by us");
}

#[test]
fn an_answer_that_was_not_delivered_reopens_its_prompt() {
    let mut s = setup(false);
    s.event(SessionEvent::State(live()));
    s.push(ASK);
    s.answer("yes");
    assert_eq!(s.commands().len(), 1);
    assert!(s.harness.query_by_label("Book the 9:40 train?").is_none());
    s.event(SessionEvent::AnswerFailed {
        request_id: "r-1".into(),
        message: "Not connected to the task; try again when it is live".into(),
    });
    s.harness.get_by_label("Book the 9:40 train?");
    s.harness.get_by_label("Send");
    s.harness
        .get_by_label_contains("Not delivered: Not connected");
    assert!(s.harness.query_by_label(SENT_UNCONFIRMED).is_none());
    assert!(s.harness.state().window_title().starts_with(ATTENTION_MARK));
}

#[test]
fn a_prompt_named_before_its_question_waits_for_the_text() {
    let mut s = setup(false);
    s.event(SessionEvent::State(live()));
    // A late joiner: the status names the request before the replay brings it.
    s.push(r#"{"type":"status","data":{"status":"WAITING_FOR_INPUT","input_request_id":"r-1"}}"#);
    s.harness.get_by_label(WAITING_FOR_TEXT);
    assert!(s.harness.query_by_label("Send").is_none(), "no answer box");
    assert!(
        s.harness.query_by_role(Role::PasswordInput).is_none(),
        "no hidden answer is asked for"
    );
    s.push(ASK);
    s.harness.get_by_label("Book the 9:40 train?");
    assert!(s.harness.query_by_label(WAITING_FOR_TEXT).is_none());
    s.harness.get_by_label("Send");
    assert!(
        s.harness
            .get_all_by_role(Role::TextInput)
            .any(|n| n.is_focused()),
        "the answer box has the keyboard"
    );
}

#[test]
fn a_failed_log_session_shows_its_message_and_retries() {
    let mut s = setup(false);
    s.event(SessionEvent::State(SessionState::Failed {
        error: SessionError::new(
            ErrorKind::NotFound,
            false,
            "Waldiez task t1 not found (404)",
        ),
    }));
    s.harness.get_by_label("Waldiez task t1 not found (404)");
    s.harness.get_by_label("Retry").click();
    s.harness.run();
    assert!(matches!(&s.commands()[..], [Command::Retry]));
    assert!(
        s.harness.state().window_title().ends_with("— error"),
        "{}",
        s.harness.state().window_title()
    );
}

#[test]
fn the_log_sits_beside_the_picture_of_the_same_task() {
    let mut s = setup(true);
    s.picture
        .as_ref()
        .unwrap()
        .events
        .try_send(SessionEvent::State(SessionState::Connecting { attempt: 1 }))
        .unwrap();
    s.event(SessionEvent::State(live()));
    s.push(ASK);
    // The picture's toolbar and the log's prompt are both there.
    s.harness.get_by_label("Take control");
    s.harness.get_by_label("Book the 9:40 train?");
    // The title follows the picture's state, marked while the prompt waits.
    let title = s.harness.state().window_title();
    assert!(title.starts_with(ATTENTION_MARK), "{title}");
    assert!(title.ends_with("— connecting"), "{title}");
    assert!(s.harness.query_by_label_contains("release it").is_none());

    // In control of the remote, keys go there: the prompt says how to answer.
    s.picture
        .as_ref()
        .unwrap()
        .events
        .try_send(SessionEvent::State(live_picture()))
        .unwrap();
    s.harness.run();
    s.harness.key_press(Key::F8);
    s.harness.run();
    s.harness.run();
    s.harness
        .get_by_label_contains("You are in control of the remote: release it");
}

fn live_picture() -> SessionState {
    SessionState::Live(LiveInfo {
        width: 640,
        height: 480,
        desktop_name: "page".into(),
        protocol: "RFB 3.8".into(),
        input: Default::default(),
    })
}

/// Whether the last frame asked the window manager for attention.
fn asked_for_attention(h: &Harness<'static, ViewerApp>) -> bool {
    h.output().viewport_output[&egui::ViewportId::ROOT]
        .commands
        .iter()
        .any(|c| matches!(c, egui::ViewportCommand::RequestUserAttention(_)))
}

#[test]
fn a_new_prompt_asks_for_attention_only_when_the_window_is_not_focused() {
    let mut s = setup(false);
    s.event(SessionEvent::State(live()));
    // Focused: the pane and the title say it; no alert.
    s.harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(true);
    s.log.log.update(|st| {
        st.can_answer = true;
        st.log.push_text(ASK)
    });
    s.harness.step();
    assert!(!asked_for_attention(&s.harness));
    s.harness.get_by_label("Book the 9:40 train?");
    s.push(r#"{"type":"input_response","id":"1-3","request_id":"r-1","data":"ok"}"#);

    // Not focused: the next prompt alerts, once.
    s.harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(false);
    s.log.log.update(|st| {
        st.log.push_text(r#"{"type":"input_request","id":"1-4","request_id":"r-2","data":"Second question?","password":"False"}"#)
    });
    s.harness.step();
    assert!(asked_for_attention(&s.harness), "no alert for a new prompt");
    s.harness.step();
    assert!(
        !asked_for_attention(&s.harness),
        "alerted twice for one prompt"
    );
}
