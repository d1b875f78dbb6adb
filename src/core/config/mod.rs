//! Settings: a TOML file of named profiles, overridden by environment variables, overridden
//! by command-line flags.
//!
//! ```toml
//! default_profile = "prod"
//!
//! [profiles.prod]
//! optexity_base_url = "https://inference-api.optexity.com"
//! optexity_api_key = "…"
//! chaser_base_url = "https://api.chaser.sh"
//! chaser_key = "…"
//! waldiez_base_url = "https://runner.example"
//! waldiez_client_id = "…"      # or waldiez_token = "…"
//! waldiez_client_secret = "…"
//! waldiez_auth = "subprotocol" # or "bearer", "cookie", "query"
//! agentstation_base_url = "https://api.agentstation.ai"
//! agentstation_token = "…"
//! start_recording = false     # AgentStation: start the recorder when it is idle
//! vnc_password = "…"
//! encoding = "auto"     # or "raw", "hextile", "zrle", "tight"
//! jpeg_quality = 7      # 0..=9, Tight JPEG; "lossless = true" turns JPEG off
//! compress_level = 2    # 0..=9
//! max_fps = 15          # frame-protocol sources
//! pacing = "ack"        # or "push"
//! record = true         # the window records every session
//! recordings_dir = "/data/lookout"   # default: ~/.local/share/lookout/recordings
//! recordings_max_gib = 20            # retention: total size (0: no limit)
//! recordings_max_days = 30           # retention: age (0: no limit)
//! notifications = true  # a prompt sends a desktop notification
//! sound = true          # the task opened full-size is heard
//!
//! # What `lookout` (the console) always watches, besides its workspace:
//! [[watch]]
//! source = "optexity:42"
//! [[watch]]
//! source = "waldiez:*"   # every task of the runner that is not over
//! ```
//!
//! The file lives in the platform config directory (`~/.config/lookout/config.toml` on Linux).
//! Each profile, the environment and the flags are each one [`Settings`] (see
//! `settings`); [`resolve`] lays them over each other. Keys are held as
//! [`Secret`](super::redact::Secret)s and never printed.

pub mod edit;
mod settings;

pub use settings::{
    AgentStationSettings, ChaserSettings, DEFAULT_COMPRESS_LEVEL, DEFAULT_JPEG_QUALITY,
    DesktopSettings, EnvLookup, OptexitySettings, PreviewSettings, RecordingSettings, RfbSettings,
    Settings, WaldiezSettings,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::keyring;

/// Largest config file we read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path} is invalid: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("no profile named {name:?} in the config file (have: {available})")]
    UnknownProfile { name: String, available: String },
    #[error("{what} must be 0..=9, got {value}")]
    OutOfRange { what: &'static str, value: u8 },
    #[error("waldiez_auth must be subprotocol, bearer, cookie or query, got {0:?}")]
    BadWaldiezAuth(String),
}

/// The file as written: named profiles, each a layer of [`Settings`].
#[derive(Debug, Default, PartialEq)]
pub struct ConfigFile {
    pub default_profile: Option<String>,
    pub profiles: BTreeMap<String, Settings>,
    /// The `[[watch]]` list: what the console always watches (sources as `lookout view`
    /// takes them, or `waldiez:*`), in the file's order.
    pub watch: Vec<String>,
}

/// The file as serde reads it: a profile's keys that no setting takes are collected, so
/// that they can be refused by name (serde cannot deny unknown fields across flattened
/// groups).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    watch: Vec<RawWatch>,
}

/// One `[[watch]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    source: String,
}

/// One profile: each group takes its keys; what is left over is unknown. (Flattening
/// [`Settings`] whole would hide which keys its groups took.)
#[derive(Deserialize)]
struct RawProfile {
    #[serde(flatten)]
    optexity: OptexitySettings,
    #[serde(flatten)]
    chaser: ChaserSettings,
    #[serde(flatten)]
    waldiez: WaldiezSettings,
    #[serde(flatten)]
    agentstation: AgentStationSettings,
    #[serde(flatten)]
    rfb: RfbSettings,
    #[serde(flatten)]
    preview: PreviewSettings,
    #[serde(flatten)]
    recording: RecordingSettings,
    #[serde(flatten)]
    desktop: DesktopSettings,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

impl RawProfile {
    fn settings(self) -> Settings {
        Settings {
            optexity: self.optexity,
            chaser: self.chaser,
            waldiez: self.waldiez,
            agentstation: self.agentstation,
            rfb: self.rfb,
            preview: self.preview,
            recording: self.recording,
            desktop: self.desktop,
        }
    }
}

/// `~/.config/lookout/config.toml` or the platform's equivalent.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lookout").map(|d| d.config_dir().join("config.toml"))
}

/// Reads a config file; a missing file is an empty config.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = read_text(path)?;
    parse(&text).map_err(|reason| ConfigError::Parse {
        path: path.into(),
        reason,
    })
}

/// The text of the config file at `path` (at most 1 MiB); a missing file is empty.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    let failed = |reason: String| ConfigError::Read {
        path: path.into(),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(failed(e.to_string())),
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(failed(format!("larger than {MAX_CONFIG_BYTES} bytes")));
    }
    std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))
}

/// A warning when the config file at `path` holds a key (in any profile) and users other
/// than its owner can read it: it names the file and the fix.
pub fn exposure(path: &Path, file: &ConfigFile) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    let exposed = mode & 0o044 != 0 && file.profiles.values().any(Settings::holds_secret);
    exposed.then(|| {
        let shown = path.display();
        format!(
            "{shown} holds a key and other users can read it (mode {mode:o}): run `chmod 600 {shown}`"
        )
    })
}

/// Parses config text; the error names the problem without echoing values.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        // toml's message quotes the offending line, which may hold a key: keep only the
        // description and the position.
        let what = e.message().to_string();
        match e.span() {
            Some(span) => format!("{what} (line {})", line_at(text, span.start)),
            None => what,
        }
    })?;
    let mut profiles = BTreeMap::new();
    for (name, profile) in raw.profiles {
        if let Some(key) = profile.unknown.keys().next() {
            return Err(match line_of_key(text, &name, key) {
                Some(line) => format!("unknown setting `{key}` (line {line})"),
                None => format!("unknown setting `{key}` in profile {name:?}"),
            });
        }
        profiles.insert(name, profile.settings());
    }
    let mut watch = Vec::with_capacity(raw.watch.len());
    for (i, entry) in raw.watch.into_iter().enumerate() {
        let source = entry.source.trim();
        if source.is_empty() {
            return Err(format!("[[watch]] entry {} has an empty source", i + 1));
        }
        if !watch.iter().any(|s| s == source) {
            watch.push(source.to_string());
        }
    }
    Ok(ConfigFile {
        default_profile: raw.default_profile,
        profiles,
        watch,
    })
}

/// The 1-based line holding byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where `key` is set in profile `profile`, for error messages.
fn line_of_key(text: &str, profile: &str, key: &str) -> Option<usize> {
    let header = format!("[profiles.{profile}]");
    let mut in_profile = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_profile = line.replace(['"', ' '], "") == header;
        } else if in_profile
            && let Some(rest) = line.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    None
}

/// Keys kept apart from the config file (the desktop keyring): given a profile and the
/// providers the flags and the environment leave without a key, a layer with the keys it
/// holds for them.
pub type KeySource<'a> = &'a mut dyn FnMut(&str, &[&'static str]) -> Settings;

/// The one merge: flags over the environment over the chosen profile of the file (see
/// [`profile_name`]).
pub fn resolve(
    file: &ConfigFile,
    env: impl Fn(&str) -> Option<String>,
    profile: Option<&str>,
    flags: Settings,
) -> Result<Settings, ConfigError> {
    resolve_keyed(file, env, profile, flags, &mut |_, _| Settings::default())
}

/// The profile chosen: `--profile`, else `LOOKOUT_PROFILE`, else the file's
/// `default_profile`, else its profile named `default` when it has one; `None` when none
/// is.
pub fn profile_name(
    file: &ConfigFile,
    env: impl Fn(&str) -> Option<String>,
    profile: Option<&str>,
) -> Option<String> {
    profile
        .map(str::to_string)
        .or_else(|| env("LOOKOUT_PROFILE"))
        .or_else(|| file.default_profile.clone())
        .or_else(|| {
            let name = keyring::DEFAULT_PROFILE;
            file.profiles.contains_key(name).then(|| name.to_string())
        })
}

/// [`resolve`] with keys kept apart from the file between the environment and the file:
/// flags, environment, `keys`, file. `keys` is asked only for the providers still without
/// a key, under the chosen profile's name ([`keyring::DEFAULT_PROFILE`] when none is).
pub fn resolve_keyed(
    file: &ConfigFile,
    env: impl Fn(&str) -> Option<String>,
    profile: Option<&str>,
    flags: Settings,
    keys: KeySource<'_>,
) -> Result<Settings, ConfigError> {
    let name = profile_name(file, &env, profile);
    let from_file = match &name {
        Some(name) => {
            file.profiles
                .get(name)
                .cloned()
                .ok_or_else(|| ConfigError::UnknownProfile {
                    name: name.clone(),
                    available: if file.profiles.is_empty() {
                        "none".to_string()
                    } else {
                        file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                    },
                })?
        }
        None => Settings::default(),
    };
    let upper = flags.over(Settings::from_env(&env)?);
    let missing: Vec<&'static str> = keyring::PROVIDERS
        .into_iter()
        .filter(|p| !upper.has_key(p))
        .collect();
    let kept = match missing.is_empty() {
        true => Settings::default(),
        false => keys(
            name.as_deref().unwrap_or(keyring::DEFAULT_PROFILE),
            &missing,
        ),
    };
    let settings = upper.over(kept.over(from_file));
    settings.validate()?;
    settings.pin_secrets();
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::provider::waldiez::{Credentials, WsAuth};
    use crate::core::redact::Secret;

    const FILE: &str = r#"
default_profile = "prod"
[profiles.prod]
optexity_base_url = "https://prod.example"
optexity_api_key = "file-key"
jpeg_quality = 5
[profiles.staging]
optexity_base_url = "https://staging.example"
lossless = true
"#;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_watch_list_keeps_its_order_once_and_refuses_what_it_cannot_take() {
        let file = parse(
            "[[watch]]\nsource = \"optexity:42\"\n[[watch]]\nsource = \" waldiez:* \"\n\
             [[watch]]\nsource = \"optexity:42\"\n[profiles.a]\n",
        )
        .unwrap();
        assert_eq!(file.watch, ["optexity:42", "waldiez:*"]);
        assert!(file.profiles.contains_key("a"));
        assert_eq!(parse("").unwrap().watch, Vec::<String>::new());
        let empty = parse("[[watch]]\nsource = \"  \"\n").unwrap_err();
        assert!(empty.contains("[[watch]] entry 1"), "{empty}");
        let unknown = parse("[[watch]]\nsource = \"a:b\"\npinned = true\n").unwrap_err();
        assert!(unknown.contains("pinned"), "{unknown}");
    }

    #[test]
    fn file_then_env_then_flags() {
        let file = parse(FILE).unwrap();
        let s = resolve(&file, env_of(&[]), None, Settings::default()).unwrap();
        assert_eq!(s.optexity.base_url(), "https://prod.example");
        assert_eq!(s.optexity.api_key.as_ref().unwrap().expose(), "file-key");
        assert_eq!(s.rfb.jpeg_quality(), Some(5));

        let env = env_of(&[("OPTEXITY_API_KEY", "env-key")]);
        let s = resolve(&file, &env, None, Settings::default()).unwrap();
        assert_eq!(s.optexity.api_key.as_ref().unwrap().expose(), "env-key");

        let mut flags = Settings::default();
        flags.optexity.api_key = Some(Secret::new("flag-key"));
        let s = resolve(&file, &env, Some("staging"), flags).unwrap();
        assert_eq!(s.optexity.api_key.as_ref().unwrap().expose(), "flag-key");
        assert_eq!(s.optexity.base_url(), "https://staging.example");
        assert_eq!(s.rfb.jpeg_quality(), None, "staging is lossless");
    }

    #[test]
    fn chaser_key_and_base_come_from_file_env_and_flags() {
        let file = parse(
            r#"
[profiles.p]
chaser_key = "file-chaser"
chaser_base_url = "https://chaser.example"
"#,
        )
        .unwrap();
        let s = resolve(&file, env_of(&[]), Some("p"), Settings::default()).unwrap();
        assert_eq!(s.chaser.key.as_ref().unwrap().expose(), "file-chaser");
        assert_eq!(s.chaser.base_url(), "https://chaser.example");
        let env = env_of(&[
            ("CHASER_KEY", "env-chaser"),
            ("CHASER_BASE_URL", "http://127.0.0.1:9"),
        ]);
        let s = resolve(&file, &env, Some("p"), Settings::default()).unwrap();
        assert_eq!(s.chaser.key.as_ref().unwrap().expose(), "env-chaser");
        assert_eq!(s.chaser.base_url(), "http://127.0.0.1:9");
        let mut flags = Settings::default();
        flags.chaser.key = Some(Secret::new("flag-chaser"));
        let s = resolve(&file, &env, Some("p"), flags).unwrap();
        assert_eq!(s.chaser.key.as_ref().unwrap().expose(), "flag-chaser");
        assert!(
            !format!("{s:?}").contains("flag-chaser"),
            "keys never print"
        );
        let s = resolve(
            &ConfigFile::default(),
            env_of(&[]),
            None,
            Settings::default(),
        )
        .unwrap();
        assert_eq!(s.chaser.base_url(), "https://api.chaser.sh");
    }

    #[test]
    fn a_profile_named_default_is_used_when_none_is_chosen() {
        let file =
            parse("[profiles.default]\noptexity_base_url = \"https://d.example\"\n").unwrap();
        let s = resolve(&file, env_of(&[]), None, Settings::default()).unwrap();
        assert_eq!(s.optexity.base_url.as_deref(), Some("https://d.example"));
        let file = parse(
            "default_profile = \"x\"\n[profiles.x]\n[profiles.default]\n\
             optexity_base_url = \"https://d.example\"\n",
        )
        .unwrap();
        let s = resolve(&file, env_of(&[]), None, Settings::default()).unwrap();
        assert_eq!(s.optexity.base_url, None);
    }

    #[test]
    fn keys_come_from_flags_then_env_then_keyring_then_file() {
        let file = parse(
            "default_profile = \"p\"\n[profiles.p]\noptexity_api_key = \"file-o\"\n\
             chaser_key = \"file-c\"\nwaldiez_client_id = \"id\"\n\
             waldiez_client_secret = \"file-w\"\n",
        )
        .unwrap();
        let env = env_of(&[("CHASER_KEY", "env-c")]);
        let mut flags = Settings::default();
        flags.agentstation.token = Some(Secret::new("flag-a"));
        let mut asked = Vec::new();
        let mut keys = |profile: &str, providers: &[&'static str]| {
            asked.push((profile.to_string(), providers.to_vec()));
            let mut layer = Settings::default();
            for p in ["optexity", "chaser", "agentstation"] {
                *layer.key_mut(p).unwrap() = Some(Secret::new(format!("ring-{p}")));
            }
            layer
        };
        let s = resolve_keyed(&file, &env, None, flags, &mut keys).unwrap();
        // Asked only for what flags and environment leave out, under the chosen profile.
        assert_eq!(asked, vec![("p".to_string(), vec!["optexity", "waldiez"])]);
        assert_eq!(
            s.optexity.api_key.as_ref().unwrap().expose(),
            "ring-optexity"
        );
        assert_eq!(s.chaser.key.as_ref().unwrap().expose(), "env-c");
        assert_eq!(s.agentstation.token.as_ref().unwrap().expose(), "flag-a");
        // The keyring has no Waldiez token: the file's client credentials stand.
        assert_eq!(s.waldiez.client_secret.as_ref().unwrap().expose(), "file-w");
        assert!(s.waldiez.token.is_none());

        // No profile chosen: the keyring's "default"; nothing asked when all keys are given.
        let mut asked = Vec::new();
        let mut keys = |profile: &str, _: &[&'static str]| {
            asked.push(profile.to_string());
            Settings::default()
        };
        resolve_keyed(
            &ConfigFile::default(),
            env_of(&[]),
            None,
            Settings::default(),
            &mut keys,
        )
        .unwrap();
        assert_eq!(asked, ["default"]);
        let env = env_of(&[
            ("OPTEXITY_API_KEY", "e"),
            ("CHASER_KEY", "e"),
            ("WALDIEZ_TOKEN", "e"),
            ("AGENTSTATION_TOKEN", "e"),
        ]);
        let mut never = |_: &str, _: &[&'static str]| -> Settings { panic!("asked") };
        resolve_keyed(
            &ConfigFile::default(),
            env,
            None,
            Settings::default(),
            &mut never,
        )
        .unwrap();
    }

    #[test]
    fn missing_profile_and_bad_ranges_are_named() {
        let file = parse(FILE).unwrap();
        let err = resolve(&file, env_of(&[]), Some("nope"), Settings::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no profile named \"nope\" in the config file (have: prod, staging)"
        );
        let mut flags = Settings::default();
        flags.rfb.compress = Some(12);
        assert!(matches!(
            resolve(&ConfigFile::default(), env_of(&[]), None, flags),
            Err(ConfigError::OutOfRange { .. })
        ));
    }

    #[test]
    fn parse_errors_do_not_echo_values() {
        let err = parse("[profiles.a]\noptexity_api_key = \"sk-secret\"\nbogus = 1\n").unwrap_err();
        assert!(!err.contains("sk-secret"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        let dbg = format!("{:?}", parse(FILE).unwrap());
        assert!(!dbg.contains("file-key"), "{dbg}");
    }

    #[test]
    fn missing_file_is_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(&dir.path().join("none.toml")).unwrap(),
            ConfigFile::default()
        );
        let path = dir.path().join("c.toml");
        std::fs::write(&path, FILE).unwrap();
        assert_eq!(load(&path).unwrap().profiles.len(), 2);
    }
    #[test]
    fn waldiez_and_agentstation_take_each_field_from_the_highest_layer() {
        let file = parse(
            r#"
[profiles.p]
waldiez_base_url = "https://runner.file"
waldiez_client_id = "file-id"
waldiez_client_secret = "file-secret"
waldiez_auth = "Cookie"
agentstation_token = "file-as"
"#,
        )
        .unwrap();
        let s = resolve(&file, env_of(&[]), Some("p"), Settings::default()).unwrap();
        assert_eq!(s.waldiez.base_url(), Some("https://runner.file"));
        assert_eq!(s.waldiez.auth(), WsAuth::Cookie, "names are case-blind");
        assert_eq!(
            s.waldiez.credentials(),
            Some(Credentials::Client {
                id: "file-id".into(),
                secret: Secret::new("file-secret")
            })
        );
        assert_eq!(s.agentstation.base_url(), "https://api.agentstation.ai");
        // A token anywhere beats client credentials; blank values count as unset.
        let env = env_of(&[
            ("WALDIEZ_TOKEN", "env-token"),
            ("WALDIEZ_AUTH", "query"),
            ("AGENTSTATION_TOKEN", "  "),
        ]);
        let s = resolve(&file, &env, Some("p"), Settings::default()).unwrap();
        assert_eq!(
            s.waldiez.credentials(),
            Some(Credentials::Token(Secret::new("env-token")))
        );
        assert_eq!(s.waldiez.auth(), WsAuth::Query);
        assert_eq!(s.agentstation.token, Some(Secret::new("file-as")));
        let mut flags = Settings::default();
        flags.waldiez.auth = Some(WsAuth::Bearer);
        let s = resolve(&file, &env, Some("p"), flags).unwrap();
        assert_eq!(s.waldiez.auth(), WsAuth::Bearer);
        let bad = env_of(&[("WALDIEZ_AUTH", "smoke")]);
        let err = resolve(&file, &bad, Some("p"), Settings::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "waldiez_auth must be subprotocol, bearer, cookie or query, got \"smoke\""
        );
        let err = parse("[profiles.p]\nwaldiez_auth = \"smoke\"\n").unwrap_err();
        assert!(err.contains("waldiez_auth must be"), "{err}");
    }

    #[test]
    fn the_layer_that_names_quality_or_lossless_decides_both() {
        let file = parse(FILE).unwrap();
        let mut flags = Settings::default();
        flags.rfb.lossless = true;
        let s = resolve(&file, env_of(&[]), None, flags).unwrap();
        assert_eq!(
            s.rfb.jpeg_quality(),
            None,
            "--lossless beats the file's quality"
        );
        let mut flags = Settings::default();
        flags.rfb.quality = Some(3);
        let s = resolve(&file, env_of(&[]), Some("staging"), flags).unwrap();
        assert_eq!(
            s.rfb.jpeg_quality(),
            Some(3),
            "--quality beats lossless = true"
        );
        let s = resolve(
            &ConfigFile::default(),
            env_of(&[]),
            None,
            Settings::default(),
        )
        .unwrap();
        assert_eq!(s.rfb.jpeg_quality(), Some(DEFAULT_JPEG_QUALITY));
        assert_eq!(s.rfb.compress_level(), DEFAULT_COMPRESS_LEVEL);
    }

    #[test]
    fn recording_settings_come_from_file_env_and_flags() {
        use std::time::Duration;
        let none = resolve(
            &ConfigFile::default(),
            env_of(&[]),
            None,
            Settings::default(),
        )
        .unwrap();
        assert!(none.recording.enabled(), "recording is on by default");
        assert_eq!(
            none.recording.dir(),
            crate::core::record::library::default_dir()
        );
        assert_eq!(
            none.recording.retention(),
            crate::core::record::library::Retention::default()
        );
        let file = parse(
            r#"
[profiles.p]
record = false
recordings_dir = "/data/rec"
recordings_max_gib = 5
recordings_max_days = 0
"#,
        )
        .unwrap();
        let s = resolve(&file, env_of(&[]), Some("p"), Settings::default()).unwrap();
        assert!(!s.recording.enabled());
        assert_eq!(s.recording.dir(), Some(PathBuf::from("/data/rec")));
        let retention = s.recording.retention();
        assert_eq!(retention.max_bytes, Some(5 << 30));
        assert_eq!(retention.max_age, None, "0 days: no age limit");
        let env = env_of(&[("LOOKOUT_RECORDINGS_DIR", "/env/rec")]);
        let s = resolve(&file, &env, Some("p"), Settings::default()).unwrap();
        assert_eq!(s.recording.dir(), Some(PathBuf::from("/env/rec")));
        let mut flags = Settings::default();
        flags.recording.recordings_dir = Some(PathBuf::from("/flag/rec"));
        flags.recording.recordings_max_days = Some(7);
        let s = resolve(&file, &env, Some("p"), flags).unwrap();
        assert_eq!(s.recording.dir(), Some(PathBuf::from("/flag/rec")));
        assert_eq!(
            s.recording.retention().max_age,
            Some(Duration::from_secs(7 * 86_400))
        );
        // `--no-record` wins over a file that says `record = true`.
        let on = parse("[profiles.p]\nrecord = true\n").unwrap();
        let s = resolve(&on, env_of(&[]), Some("p"), Settings::default()).unwrap();
        assert!(s.recording.enabled());
        let mut flags = Settings::default();
        flags.recording.no_record = true;
        let s = resolve(&on, env_of(&[]), Some("p"), flags).unwrap();
        assert!(!s.recording.enabled());
    }

    #[test]
    fn unknown_settings_are_named_with_their_line() {
        let err = parse("[profiles.a]\nchaser_key = \"k\"\n\n[profiles.b]\nchaser_kee = \"k\"\n")
            .unwrap_err();
        assert_eq!(err, "unknown setting `chaser_kee` (line 5)");
        assert!(parse("bogus = 1\n").unwrap_err().contains("line 1"));
        let file =
            parse("[profiles.a]\nencoding = \"zrle\"\nmax_fps = 5\npacing = \"push\"\n").unwrap();
        let a = &file.profiles["a"];
        assert_eq!(
            a.rfb.encoding,
            Some(crate::core::source::rfb::EncodingPreference::Zrle)
        );
        assert_eq!(a.preview.max_fps, Some(5));
        assert_eq!(
            a.preview.pacing(),
            crate::core::source::preview::Pacing::Push
        );
    }

    #[test]
    fn a_key_in_a_file_others_can_read_is_named_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, FILE).unwrap();
        let file = load(&path).unwrap();
        let mode = |m| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
        mode(0o644);
        let warning = exposure(&path, &file).expect("a warning");
        assert!(warning.contains(&path.display().to_string()), "{warning}");
        assert!(
            warning.contains("mode 644") && warning.contains("chmod 600"),
            "{warning}"
        );
        assert!(!warning.contains("file-key"), "never the key itself");
        mode(0o640);
        assert!(exposure(&path, &file).is_some(), "the group can read it");
        mode(0o600);
        assert_eq!(exposure(&path, &file), None);
        // No key in it: nothing to warn of.
        mode(0o644);
        let keyless = parse("[profiles.a]\noptexity_base_url = \"https://a.example\"\n").unwrap();
        assert_eq!(exposure(&path, &keyless), None);
    }
}
