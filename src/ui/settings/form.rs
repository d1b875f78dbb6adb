//! What the settings window edits, apart from how it is drawn: one profile of the config
//! file as fields ([`Form::load`]), and what a save changes ([`Form::changes`]): the file's
//! keys set or removed, keys stored in or removed from the keyring. Only what the operator
//! changed is written.

use std::fmt;

use crate::core::config::edit::{Edit, Value};
use crate::core::config::{ConfigFile, DEFAULT_COMPRESS_LEVEL, DEFAULT_JPEG_QUALITY, Settings};
use crate::core::keyring::{KeyName, KeyStore};
use crate::core::record::library;
use crate::core::redact::Secret;

/// A provider as the window shows it: its name for `Settings::key_mut` and the keyring,
/// its label, and its config keys for the base URL and the key.
pub struct Provider {
    pub name: &'static str,
    pub label: &'static str,
    pub key_label: &'static str,
    pub base_url_key: &'static str,
    pub key_key: &'static str,
}

/// The providers, in the window's order (that of [`crate::core::keyring::PROVIDERS`]).
pub const PROVIDERS: [Provider; 4] = [
    Provider {
        name: "optexity",
        label: "Optexity",
        key_label: "API key",
        base_url_key: "optexity_base_url",
        key_key: "optexity_api_key",
    },
    Provider {
        name: "chaser",
        label: "Chaser",
        key_label: "API key",
        base_url_key: "chaser_base_url",
        key_key: "chaser_key",
    },
    Provider {
        name: "waldiez",
        label: "Waldiez Runner",
        key_label: "token",
        base_url_key: "waldiez_base_url",
        key_key: "waldiez_token",
    },
    Provider {
        name: "agentstation",
        label: "AgentStation",
        key_label: "token",
        base_url_key: "agentstation_base_url",
        key_key: "agentstation_token",
    },
];

/// Where a provider's key is kept now.
#[derive(Clone, Debug, PartialEq)]
pub enum Kept {
    Nothing,
    Keyring,
    /// In the config file (a save of a new key moves it to the keyring).
    File,
    /// The keyring could not be asked (why), and the file holds none.
    Unknown(String),
}

/// One provider's fields.
#[derive(Clone, PartialEq)]
pub struct ProviderFields {
    pub base_url: String,
    /// A key typed to replace the one kept (empty: keep it).
    pub new_key: String,
    pub kept: Kept,
    /// Remove the key kept.
    pub forget: bool,
}

impl fmt::Debug for ProviderFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderFields")
            .field("base_url", &self.base_url)
            .field("new_key", &if self.new_key.is_empty() { "" } else { "***" })
            .field("kept", &self.kept)
            .field("forget", &self.forget)
            .finish()
    }
}

/// One profile's settings as fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    pub profile: String,
    /// It is (or is to become) the file's `default_profile`.
    pub is_default: bool,
    pub providers: [ProviderFields; 4],
    pub jpeg_quality: u8,
    pub lossless: bool,
    pub compress: u8,
    pub record: bool,
    /// Empty: the default folder.
    pub recordings_dir: String,
    pub max_gib: u32,
    pub max_days: u32,
    pub notifications: bool,
    pub sound: bool,
}

/// What a save does.
#[derive(Debug, Default)]
pub struct Changes {
    pub edit: Edit,
    /// Keys to store in the keyring, by provider.
    pub store: Vec<(&'static str, Secret)>,
    /// Keys to remove from the keyring, by provider.
    pub forget: Vec<&'static str>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.edit.set.is_empty()
            && !self.edit.make_default
            && self.store.is_empty()
            && self.forget.is_empty()
    }
}

/// The longest profile name taken.
const MAX_PROFILE_CHARS: usize = 64;

impl Form {
    /// Profile `profile` of `file` (empty when the file has none), and where each key is
    /// kept (`store` is asked once per provider).
    pub fn load(file: &ConfigFile, profile: &str, store: &dyn KeyStore) -> Form {
        let s = file.profiles.get(profile).cloned().unwrap_or_default();
        let providers = PROVIDERS.map(|p| provider_fields(&s, &p, profile, store));
        let days = library::DEFAULT_MAX_AGE.as_secs() / 86_400;
        Form {
            profile: profile.to_string(),
            is_default: match &file.default_profile {
                Some(name) => name == profile,
                None => profile == crate::core::keyring::DEFAULT_PROFILE,
            },
            providers,
            jpeg_quality: s.rfb.quality.unwrap_or(DEFAULT_JPEG_QUALITY),
            lossless: s.rfb.lossless,
            compress: s.rfb.compress.unwrap_or(DEFAULT_COMPRESS_LEVEL),
            record: s.recording.record.unwrap_or(true),
            recordings_dir: s
                .recording
                .recordings_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            max_gib: s
                .recording
                .recordings_max_gib
                .unwrap_or((library::DEFAULT_MAX_BYTES >> 30) as u32),
            max_days: s.recording.recordings_max_days.unwrap_or(days as u32),
            notifications: s.desktop.notifications(),
            sound: s.desktop.sound(),
        }
    }

    /// What saving this form over `before` (the form as loaded) changes; why it cannot be
    /// saved, naming the field.
    pub fn changes(&self, before: &Form) -> Result<Changes, String> {
        let profile = self.profile.trim();
        if profile.is_empty() {
            return Err("The profile needs a name".into());
        }
        if profile.chars().count() > MAX_PROFILE_CHARS || profile.chars().any(char::is_control) {
            return Err(format!(
                "A profile name is at most {MAX_PROFILE_CHARS} characters, without control characters"
            ));
        }
        let mut set = Vec::new();
        let mut store = Vec::new();
        let mut forget = Vec::new();
        for ((p, now), was) in PROVIDERS.iter().zip(&self.providers).zip(&before.providers) {
            let url = now.base_url.trim();
            if url != was.base_url.trim() {
                set.push((p.base_url_key, text_or_none(url)));
                if !url.is_empty() {
                    check_url(url).map_err(|why| format!("{} base URL: {why}", p.label))?;
                }
            }
            let key = now.new_key.trim();
            if !key.is_empty() {
                if key.chars().any(char::is_control) {
                    return Err(format!(
                        "{} {}: it holds a control character",
                        p.label, p.key_label
                    ));
                }
                store.push((p.name, Secret::new(key)));
            } else if now.forget && now.kept == Kept::Keyring {
                forget.push(p.name);
            }
            // A key typed or forgotten leaves none in the file: the keyring keeps keys.
            if now.kept == Kept::File && (!key.is_empty() || now.forget) {
                set.push((p.key_key, None));
            }
        }
        if (self.jpeg_quality, self.lossless) != (before.jpeg_quality, before.lossless) {
            set.push((
                "jpeg_quality",
                Some(Value::Int(self.jpeg_quality.min(9).into())),
            ));
            set.push(("lossless", Some(Value::Bool(self.lossless))));
        }
        if self.compress != before.compress {
            set.push((
                "compress_level",
                Some(Value::Int(self.compress.min(9).into())),
            ));
        }
        if self.record != before.record {
            set.push(("record", Some(Value::Bool(self.record))));
        }
        let dir = self.recordings_dir.trim();
        if dir != before.recordings_dir.trim() {
            if !dir.is_empty() && !dir.starts_with('/') {
                return Err("Recordings folder: give a full path (starting with /)".into());
            }
            set.push(("recordings_dir", text_or_none(dir)));
        }
        if self.max_gib != before.max_gib {
            set.push(("recordings_max_gib", Some(Value::Int(self.max_gib.into()))));
        }
        if self.max_days != before.max_days {
            set.push((
                "recordings_max_days",
                Some(Value::Int(self.max_days.into())),
            ));
        }
        if self.notifications != before.notifications {
            set.push(("notifications", Some(Value::Bool(self.notifications))));
        }
        if self.sound != before.sound {
            set.push(("sound", Some(Value::Bool(self.sound))));
        }
        Ok(Changes {
            edit: Edit {
                profile: profile.to_string(),
                make_default: self.is_default && !before.is_default,
                set,
            },
            store,
            forget,
        })
    }
}

/// A provider's fields from the file's profile `s` and the keyring.
fn provider_fields(
    s: &Settings,
    p: &Provider,
    profile: &str,
    store: &dyn KeyStore,
) -> ProviderFields {
    let in_file = s.key(p.name).is_some();
    let name = KeyName {
        provider: p.name,
        profile: profile.to_string(),
    };
    let kept = match store.lookup(&name) {
        Ok(Some(_)) => Kept::Keyring,
        _ if in_file => Kept::File,
        Ok(None) => Kept::Nothing,
        Err(e) => Kept::Unknown(e.to_string()),
    };
    ProviderFields {
        base_url: s.base_url_of(p.name).unwrap_or_default().to_string(),
        new_key: String::new(),
        kept,
        forget: false,
    }
}

fn text_or_none(s: &str) -> Option<Value> {
    (!s.is_empty()).then(|| Value::Text(s.to_string()))
}

/// Whether `url` is an http(s) URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    match (parsed.scheme(), parsed.host_str()) {
        ("http" | "https", Some(_)) => Ok(()),
        ("http" | "https", None) => Err("it has no host".into()),
        (other, _) => Err(format!(
            "it must start with https:// or http://, not {other}:"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keyring::KeyringError;

    /// A keyring that cannot be asked.
    struct NoKeyring;

    impl KeyStore for NoKeyring {
        fn lookup(&self, _: &KeyName) -> Result<Option<Secret>, KeyringError> {
            Err(KeyringError::Unavailable("no bus".into()))
        }
        fn store(&self, _: &KeyName, _: &Secret) -> Result<(), KeyringError> {
            Err(KeyringError::Unavailable("no bus".into()))
        }
        fn delete(&self, _: &KeyName) -> Result<bool, KeyringError> {
            Err(KeyringError::Unavailable("no bus".into()))
        }
    }

    fn loaded(text: &str) -> Form {
        let file = crate::core::config::parse(text).unwrap();
        Form::load(&file, "p", &NoKeyring)
    }

    #[test]
    fn only_what_was_changed_is_written() {
        let before = loaded("[profiles.p]\njpeg_quality = 3\nchaser_key = \"k\"\n");
        assert_eq!(before.jpeg_quality, 3);
        assert_eq!(before.providers[1].kept, Kept::File);
        assert!(matches!(before.providers[0].kept, Kept::Unknown(_)));
        assert!(before.changes(&before).unwrap().is_empty());

        let mut now = before.clone();
        now.lossless = true;
        now.max_days = 0;
        now.sound = false;
        let changes = now.changes(&before).unwrap();
        assert_eq!(
            changes.edit.set,
            vec![
                ("jpeg_quality", Some(Value::Int(3))),
                ("lossless", Some(Value::Bool(true))),
                ("recordings_max_days", Some(Value::Int(0))),
                ("sound", Some(Value::Bool(false))),
            ]
        );
        assert!(changes.store.is_empty() && changes.forget.is_empty());
    }

    #[test]
    fn a_key_in_the_file_is_moved_or_forgotten_never_rewritten() {
        let before = loaded("[profiles.p]\nchaser_key = \"k\"\n");
        let mut now = before.clone();
        now.providers[1].new_key = " zq-typed ".into();
        let changes = now.changes(&before).unwrap();
        assert_eq!(changes.store.len(), 1);
        assert_eq!(changes.store[0].1.expose(), "zq-typed");
        assert_eq!(changes.edit.set, vec![("chaser_key", None)]);
        assert!(
            !format!("{now:?}").contains("zq-typed"),
            "Debug shows the key"
        );

        let mut now = before.clone();
        now.providers[1].forget = true;
        let changes = now.changes(&before).unwrap();
        assert!(changes.store.is_empty() && changes.forget.is_empty());
        assert_eq!(changes.edit.set, vec![("chaser_key", None)]);
    }

    #[test]
    fn bad_fields_are_named() {
        let before = loaded("");
        let mut now = before.clone();
        now.recordings_dir = "videos".into();
        assert!(
            now.changes(&before)
                .unwrap_err()
                .starts_with("Recordings folder")
        );
        let mut now = before.clone();
        now.profile = " ".into();
        assert!(now.changes(&before).unwrap_err().contains("name"));
        let mut now = before.clone();
        now.providers[0].base_url = "optexity.example".into();
        assert!(
            now.changes(&before)
                .unwrap_err()
                .starts_with("Optexity base URL")
        );
        let mut now = before;
        now.providers[2].new_key = "a\u{7}b".into();
        assert!(now.changes(&loaded("")).unwrap_err().contains("control"));
    }
}
