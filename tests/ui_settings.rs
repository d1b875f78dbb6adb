//! UI tests of the settings window, headless with egui_kittest, on a config file of the
//! test's own and a keyring stand-in: a base URL and keys edited, saved and the window
//! reopened (the file keeps its comments and other profiles and never holds a key; a key
//! that was in the file moves to the keyring); a key the keyring refuses saves nothing; a
//! base URL that is not one is named; the console's Settings button opens the window, and
//! a save puts the new settings in force without a restart.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use lookout::core::config::{self, Settings};
use lookout::core::event::{Command, noop_waker};
use lookout::core::keyring::{KeyName, KeyStore, KeyringError};
use lookout::core::redact::Secret;
use lookout::core::session::{SessionHandle, SessionPeer};
use lookout::ui::app::ViewerApp;
use lookout::ui::console::{ConsoleApp, SettingsHook, TaskMaker};
use lookout::ui::settings::SettingsWindow;
use lookout::ui::{LogView, theme};

/// Keys by (provider, profile); `refuse` makes every store fail as a missing keyring does.
#[derive(Clone, Default)]
struct MemoryKeys {
    keys: Rc<RefCell<BTreeMap<(String, String), String>>>,
    refuse: Rc<Cell<bool>>,
}

impl MemoryKeys {
    fn get(&self, provider: &str, profile: &str) -> Option<String> {
        self.keys
            .borrow()
            .get(&(provider.to_string(), profile.to_string()))
            .cloned()
    }
}

impl KeyStore for MemoryKeys {
    fn lookup(&self, name: &KeyName) -> Result<Option<Secret>, KeyringError> {
        Ok(self.get(name.provider, &name.profile).map(Secret::new))
    }

    fn store(&self, name: &KeyName, key: &Secret) -> Result<(), KeyringError> {
        if self.refuse.get() {
            return Err(KeyringError::Unavailable("no bus in this test".into()));
        }
        self.keys.borrow_mut().insert(
            (name.provider.to_string(), name.profile.clone()),
            key.expose().to_string(),
        );
        Ok(())
    }

    fn delete(&self, name: &KeyName) -> Result<bool, KeyringError> {
        Ok(self
            .keys
            .borrow_mut()
            .remove(&(name.provider.to_string(), name.profile.clone()))
            .is_some())
    }
}

const FILE: &str = r#"# my Lookout settings
default_profile = "work"

[profiles.work]
chaser_key = "file-chaser-key" # to move
jpeg_quality = 5

[profiles.other]
optexity_base_url = "https://other.example"
"#;

fn config_in(dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, FILE).unwrap();
    path
}

fn window(path: &Path, keys: &MemoryKeys) -> Harness<'static, SettingsWindow> {
    let window = SettingsWindow::open(
        path.to_path_buf(),
        None,
        Box::new(keys.clone()),
        Settings::default(),
    );
    let mut harness = Harness::builder()
        .with_size(vec2(760.0, 900.0))
        .with_context_setup(theme::apply)
        .build_ui_state(
            |ui, w: &mut SettingsWindow| {
                w.ui(ui);
            },
            window,
        );
    harness.run();
    harness
}

/// Types `text` into the field labelled `label`.
fn type_into(harness: &mut Harness<'_, SettingsWindow>, label: &str, text: &str) {
    harness.get_by_label(label).click();
    harness.run();
    harness.get_by_label(label).type_text(text);
    harness.run();
}

fn field_value(harness: &Harness<'_, SettingsWindow>, label: &str) -> String {
    harness
        .get_by_label(label)
        .value()
        .unwrap_or_default()
        .to_string()
}

/// The whole text of the one label that contains `part`.
fn text_of(harness: &Harness<'_, SettingsWindow>, part: &str) -> String {
    let node = harness.get_by_label_contains(part);
    node.value()
        .or_else(|| node.accesskit_node().label())
        .unwrap_or_default()
}

#[test]
fn a_base_url_and_keys_are_edited_saved_and_shown_again_on_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_in(dir.path());
    let keys = MemoryKeys::default();
    let mut w = window(&path, &keys);
    assert_eq!(w.state().profile(), "work");
    w.get_by_label("Chaser API key");
    assert!(w.query_by_label("Save").is_some());

    type_into(&mut w, "Optexity base URL", "http://127.0.0.1:9/api");
    type_into(&mut w, "Optexity API key", "typed-optexity-key");
    type_into(&mut w, "Chaser API key", "typed-chaser-key");
    assert!(w.state().changed());
    w.get_by_label("Save").click();
    w.run();
    assert!(!w.state().changed(), "the form was not saved");
    w.get_by_label(&format!(
        "Saved to {}, keys in the desktop keyring",
        path.display()
    ));

    // The file: the new base URL in the profile, comments and the other profile as they
    // were, and no key: the Chaser key that was in it moved to the keyring.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# my Lookout settings\n"), "{text}");
    assert!(!text.contains("typed-"), "a key went to the file: {text}");
    assert!(!text.contains("file-chaser-key"), "{text}");
    let file = config::parse(&text).unwrap();
    let work = &file.profiles["work"];
    assert_eq!(
        work.optexity.base_url.as_deref(),
        Some("http://127.0.0.1:9/api")
    );
    assert_eq!(work.rfb.quality, Some(5), "an untouched setting changed");
    assert!(work.chaser.key.is_none());
    assert_eq!(
        file.profiles["other"].optexity.base_url.as_deref(),
        Some("https://other.example")
    );
    assert_eq!(
        keys.get("optexity", "work").as_deref(),
        Some("typed-optexity-key")
    );
    assert_eq!(
        keys.get("chaser", "work").as_deref(),
        Some("typed-chaser-key")
    );

    // Reopened: the base URL is there, the keys are kept (each can be forgotten), and the
    // key fields are empty (a key is never shown).
    drop(w);
    let mut w = window(&path, &keys);
    assert_eq!(
        field_value(&w, "Optexity base URL"),
        "http://127.0.0.1:9/api"
    );
    assert_eq!(w.get_all_by_label("Forget").count(), 2);
    assert!(!field_value(&w, "Optexity API key").contains("typed"));

    // Forget one and save: it leaves the keyring.
    w.get_all_by_label("Forget").next().unwrap().click();
    w.run();
    w.get_by_label("Save").click();
    w.run();
    assert_eq!(keys.get("optexity", "work"), None);
    assert_eq!(
        keys.get("chaser", "work").as_deref(),
        Some("typed-chaser-key")
    );
}

#[test]
fn a_key_the_keyring_refuses_saves_nothing_and_a_bad_url_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_in(dir.path());
    let keys = MemoryKeys::default();
    keys.refuse.set(true);
    let mut w = window(&path, &keys);
    type_into(&mut w, "AgentStation base URL", "http://127.0.0.1:7");
    type_into(&mut w, "AgentStation token", "typed-token");
    w.get_by_label("Save").click();
    w.run();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
    assert!(w.state().changed(), "the edits were dropped");
    let said = text_of(&w, "was not saved");
    assert!(said.contains("no desktop keyring"), "{said}");
    assert!(!said.contains("typed-token"), "{said}");

    let keys = MemoryKeys::default();
    let mut w = window(&path, &keys);
    type_into(&mut w, "Chaser base URL", "ftp://files.example");
    w.get_by_label("Save").click();
    w.run();
    let said = text_of(&w, "Chaser base URL: ");
    assert!(said.contains("https://"), "{said}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
}

/// A maker that counts what it made, keeping each task's peer.
fn maker(peers: Rc<RefCell<Vec<SessionPeer>>>) -> TaskMaker {
    Box::new(move |source: &str| {
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
fn the_console_opens_settings_and_a_save_reconnects_its_tasks_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_in(dir.path());
    let keys = MemoryKeys::default();
    let made: Rc<RefCell<Vec<SessionPeer>>> = Rc::default();
    let reloads = Rc::new(Cell::new(0));
    let hook = {
        let keys = keys.clone();
        let reloads = Rc::clone(&reloads);
        let path = path.clone();
        SettingsHook {
            path: path.clone(),
            profile: None,
            overridden: Settings::default(),
            keys: Box::new(move || Box::new(keys.clone())),
            reload: Box::new(move || {
                reloads.set(reloads.get() + 1);
                let file = config::load(&path).map_err(|e| e.to_string())?;
                config::resolve(&file, |_| None, None, Settings::default())
                    .map_err(|e| e.to_string())
            }),
        }
    };
    let in_force = config::resolve(
        &config::load(&path).unwrap(),
        |_| None,
        None,
        Settings::default(),
    )
    .unwrap();
    let console = ConsoleApp::new(Vec::new(), None)
        .with_maker(maker(Rc::clone(&made)))
        .with_settings(hook, in_force);
    let mut harness = Harness::builder()
        .with_size(vec2(1280.0, 900.0))
        .with_context_setup(theme::apply)
        .build_ui_state(|ui, c: &mut ConsoleApp| c.ui(ui), console);
    harness.state_mut().add("waldiez:one").unwrap();
    harness.run();
    assert_eq!(made.borrow().len(), 1);

    harness.get_by_label("Settings").click();
    harness.run();
    assert!(harness.state().settings_open());
    harness.get_by_label("Waldiez Runner base URL").click();
    harness.run();
    harness
        .get_by_label("Waldiez Runner base URL")
        .type_text("http://127.0.0.1:5");
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    assert_eq!(reloads.get(), 1);
    // The task was made again with the new settings, and its old sessions stopped.
    assert_eq!(made.borrow().len(), 2);
    let mut stopped = Vec::new();
    while let Ok(c) = made.borrow_mut()[0].commands.try_recv() {
        stopped.push(c);
    }
    assert!(
        stopped.iter().any(|c| matches!(c, Command::Stop)),
        "{stopped:?}"
    );
    assert_eq!(harness.state().len(), 1);

    // Notifications and sound change at once: the tasks stay connected.
    harness
        .get_by_label("Hear the task opened full-size")
        .click();
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    assert_eq!(reloads.get(), 2);
    assert_eq!(made.borrow().len(), 2);
    let file = config::load(&path).unwrap();
    assert_eq!(file.profiles["work"].desktop.sound, Some(false));

    harness.get_by_label("Close").click();
    harness.run();
    assert!(!harness.state().settings_open());
}
