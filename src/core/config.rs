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
//! jpeg_quality = 7      # 0..=9, Tight JPEG; "lossless = true" turns JPEG off
//! compress_level = 2    # 0..=9
//! ```
//!
//! The file lives in the platform config directory (`~/.config/lookout/config.toml` on Linux).
//! Keys are held as [`Secret`]s and never printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::provider::waldiez::{Credentials, WsAuth};
use super::provider::{agentstation, chaser, optexity};
use super::redact::Secret;

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

/// The file as written.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One named set of endpoints and credentials. Every field is optional.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub optexity_base_url: Option<String>,
    pub optexity_api_key: Option<String>,
    pub chaser_base_url: Option<String>,
    pub chaser_key: Option<String>,
    pub waldiez_base_url: Option<String>,
    pub waldiez_token: Option<String>,
    pub waldiez_client_id: Option<String>,
    pub waldiez_client_secret: Option<String>,
    pub waldiez_auth: Option<String>,
    pub agentstation_base_url: Option<String>,
    pub agentstation_token: Option<String>,
    pub vnc_password: Option<String>,
    pub jpeg_quality: Option<u8>,
    pub lossless: Option<bool>,
    pub compress_level: Option<u8>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("optexity_base_url", &self.optexity_base_url)
            .field(
                "optexity_api_key",
                &self.optexity_api_key.as_ref().map(|_| "***"),
            )
            .field("chaser_base_url", &self.chaser_base_url)
            .field("chaser_key", &self.chaser_key.as_ref().map(|_| "***"))
            .field("waldiez_base_url", &self.waldiez_base_url)
            .field("waldiez_token", &self.waldiez_token.as_ref().map(|_| "***"))
            .field("waldiez_client_id", &self.waldiez_client_id)
            .field(
                "waldiez_client_secret",
                &self.waldiez_client_secret.as_ref().map(|_| "***"),
            )
            .field("waldiez_auth", &self.waldiez_auth)
            .field("agentstation_base_url", &self.agentstation_base_url)
            .field(
                "agentstation_token",
                &self.agentstation_token.as_ref().map(|_| "***"),
            )
            .field("vnc_password", &self.vnc_password.as_ref().map(|_| "***"))
            .field("jpeg_quality", &self.jpeg_quality)
            .field("lossless", &self.lossless)
            .field("compress_level", &self.compress_level)
            .finish()
    }
}

/// Values from the command line; they win over everything.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub profile: Option<String>,
    pub optexity_base_url: Option<String>,
    pub optexity_api_key: Option<Secret>,
    pub chaser_base_url: Option<String>,
    pub chaser_key: Option<Secret>,
    pub waldiez_base_url: Option<String>,
    pub waldiez_token: Option<Secret>,
    pub waldiez_client_id: Option<String>,
    pub waldiez_client_secret: Option<Secret>,
    pub waldiez_auth: Option<String>,
    pub agentstation_base_url: Option<String>,
    pub agentstation_token: Option<Secret>,
    pub vnc_password: Option<Secret>,
    pub jpeg_quality: Option<u8>,
    pub lossless: bool,
    pub compress_level: Option<u8>,
}

/// What a session uses, after merging.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub optexity_base_url: String,
    pub optexity_api_key: Option<Secret>,
    pub chaser_base_url: String,
    pub chaser_key: Option<Secret>,
    /// Waldiez Runner has no public service: `None` until configured.
    pub waldiez_base_url: Option<String>,
    pub waldiez_credentials: Option<Credentials>,
    pub waldiez_auth: WsAuth,
    pub agentstation_base_url: String,
    pub agentstation_token: Option<Secret>,
    pub vnc_password: Option<Secret>,
    /// `None`: lossless only.
    pub jpeg_quality: Option<u8>,
    pub compress_level: u8,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            optexity_base_url: optexity::DEFAULT_BASE_URL.to_string(),
            optexity_api_key: None,
            chaser_base_url: chaser::DEFAULT_BASE_URL.to_string(),
            chaser_key: None,
            waldiez_base_url: None,
            waldiez_credentials: None,
            waldiez_auth: WsAuth::default(),
            agentstation_base_url: agentstation::DEFAULT_BASE_URL.to_string(),
            agentstation_token: None,
            vnc_password: None,
            jpeg_quality: Some(DEFAULT_JPEG_QUALITY),
            compress_level: DEFAULT_COMPRESS_LEVEL,
        }
    }
}

/// Good pictures at a fraction of lossless bandwidth; x11vnc sends 4× more updates with it.
pub const DEFAULT_JPEG_QUALITY: u8 = 7;
/// Cheap for the server, still small on the wire.
pub const DEFAULT_COMPRESS_LEVEL: u8 = 2;

/// `~/.config/lookout/config.toml` or the platform's equivalent.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lookout").map(|d| d.config_dir().join("config.toml"))
}

/// Reads a config file; a missing file is an empty config.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => {
            return Err(ConfigError::Read {
                path: path.into(),
                reason: e.to_string(),
            });
        }
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::Read {
            path: path.into(),
            reason: format!("larger than {MAX_CONFIG_BYTES} bytes"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.into(),
        reason: e.to_string(),
    })?;
    parse(&text).map_err(|reason| ConfigError::Parse {
        path: path.into(),
        reason,
    })
}

/// Parses config text; the error names the problem without echoing values.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| {
        // toml's message quotes the offending line, which may hold a key: keep only the
        // description and the position.
        let what = e.message().to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("{what} (line {line})")
            }
            None => what,
        }
    })
}

/// Merges file, environment and flags, in rising order of precedence.
pub fn resolve(
    file: &ConfigFile,
    env: impl Fn(&str) -> Option<String>,
    flags: &Overrides,
) -> Result<Settings, ConfigError> {
    let profile_name = flags
        .profile
        .clone()
        .or_else(|| env("LOOKOUT_PROFILE"))
        .or_else(|| file.default_profile.clone());
    let profile = match &profile_name {
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
        None => Profile::default(),
    };
    let non_empty = |s: Option<String>| s.filter(|v| !v.trim().is_empty());

    let mut s = Settings::default();
    if let Some(v) = non_empty(profile.optexity_base_url) {
        s.optexity_base_url = v;
    }
    s.optexity_api_key = non_empty(profile.optexity_api_key).map(Secret::new);
    if let Some(v) = non_empty(profile.chaser_base_url) {
        s.chaser_base_url = v;
    }
    s.chaser_key = non_empty(profile.chaser_key).map(Secret::new);
    s.vnc_password = non_empty(profile.vnc_password).map(Secret::new);
    if let Some(q) = profile.jpeg_quality {
        s.jpeg_quality = Some(q);
    }
    if profile.lossless == Some(true) {
        s.jpeg_quality = None;
    }
    if let Some(c) = profile.compress_level {
        s.compress_level = c;
    }

    if let Some(v) = non_empty(env("OPTEXITY_BASE_URL")) {
        s.optexity_base_url = v;
    }
    if let Some(v) = non_empty(env("OPTEXITY_API_KEY")) {
        s.optexity_api_key = Some(Secret::new(v));
    }
    if let Some(v) = non_empty(env("CHASER_BASE_URL")) {
        s.chaser_base_url = v;
    }
    if let Some(v) = non_empty(env("CHASER_KEY")) {
        s.chaser_key = Some(Secret::new(v));
    }
    if let Some(v) = non_empty(env("LOOKOUT_VNC_PASSWORD")) {
        s.vnc_password = Some(Secret::new(v));
    }

    if let Some(v) = non_empty(flags.optexity_base_url.clone()) {
        s.optexity_base_url = v;
    }
    if let Some(v) = flags.optexity_api_key.clone().filter(|k| !k.is_empty()) {
        s.optexity_api_key = Some(v);
    }
    if let Some(v) = non_empty(flags.chaser_base_url.clone()) {
        s.chaser_base_url = v;
    }
    if let Some(v) = flags.chaser_key.clone().filter(|k| !k.is_empty()) {
        s.chaser_key = Some(v);
    }
    if let Some(v) = flags.vnc_password.clone().filter(|k| !k.is_empty()) {
        s.vnc_password = Some(v);
    }
    if let Some(q) = flags.jpeg_quality {
        s.jpeg_quality = Some(q);
    }
    if flags.lossless {
        s.jpeg_quality = None;
    }
    if let Some(c) = flags.compress_level {
        s.compress_level = c;
    }

    // Waldiez and AgentStation: each field from the highest layer that sets it.
    let pick = |file: Option<String>, env_key: &str, flag: Option<String>| {
        non_empty(flag)
            .or_else(|| non_empty(env(env_key)))
            .or_else(|| non_empty(file))
    };
    let pick_secret = |file: Option<String>, env_key: &str, flag: &Option<Secret>| {
        flag.clone()
            .filter(|k| !k.is_empty())
            .or_else(|| non_empty(env(env_key)).map(Secret::new))
            .or_else(|| non_empty(file).map(Secret::new))
    };
    s.waldiez_base_url = pick(
        profile.waldiez_base_url,
        "WALDIEZ_BASE_URL",
        flags.waldiez_base_url.clone(),
    );
    let token = pick_secret(profile.waldiez_token, "WALDIEZ_TOKEN", &flags.waldiez_token);
    let client_id = pick(
        profile.waldiez_client_id,
        "WALDIEZ_CLIENT_ID",
        flags.waldiez_client_id.clone(),
    );
    let client_secret = pick_secret(
        profile.waldiez_client_secret,
        "WALDIEZ_CLIENT_SECRET",
        &flags.waldiez_client_secret,
    );
    s.waldiez_credentials = match (token, client_id, client_secret) {
        (Some(t), _, _) => Some(Credentials::Token(t)),
        (None, Some(id), Some(secret)) => Some(Credentials::Client { id, secret }),
        _ => None,
    };
    if let Some(name) = pick(
        profile.waldiez_auth,
        "WALDIEZ_AUTH",
        flags.waldiez_auth.clone(),
    ) {
        s.waldiez_auth = WsAuth::from_name(&name).ok_or(ConfigError::BadWaldiezAuth(name))?;
    }
    if let Some(v) = pick(
        profile.agentstation_base_url,
        "AGENTSTATION_BASE_URL",
        flags.agentstation_base_url.clone(),
    ) {
        s.agentstation_base_url = v;
    }
    s.agentstation_token = pick_secret(
        profile.agentstation_token,
        "AGENTSTATION_TOKEN",
        &flags.agentstation_token,
    );

    if let Some(q) = s.jpeg_quality.filter(|q| *q > 9) {
        return Err(ConfigError::OutOfRange {
            what: "jpeg_quality",
            value: q,
        });
    }
    if s.compress_level > 9 {
        return Err(ConfigError::OutOfRange {
            what: "compress_level",
            value: s.compress_level,
        });
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn file_then_env_then_flags() {
        let file = parse(FILE).unwrap();
        let s = resolve(&file, env_of(&[]), &Overrides::default()).unwrap();
        assert_eq!(s.optexity_base_url, "https://prod.example");
        assert_eq!(s.optexity_api_key.as_ref().unwrap().expose(), "file-key");
        assert_eq!(s.jpeg_quality, Some(5));

        let env = env_of(&[("OPTEXITY_API_KEY", "env-key")]);
        let s = resolve(&file, &env, &Overrides::default()).unwrap();
        assert_eq!(s.optexity_api_key.as_ref().unwrap().expose(), "env-key");

        let flags = Overrides {
            optexity_api_key: Some(Secret::new("flag-key")),
            profile: Some("staging".into()),
            ..Default::default()
        };
        let s = resolve(&file, &env, &flags).unwrap();
        assert_eq!(s.optexity_api_key.as_ref().unwrap().expose(), "flag-key");
        assert_eq!(s.optexity_base_url, "https://staging.example");
        assert_eq!(s.jpeg_quality, None, "staging is lossless");
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
        let pick = Overrides {
            profile: Some("p".into()),
            ..Default::default()
        };
        let s = resolve(&file, env_of(&[]), &pick).unwrap();
        assert_eq!(s.chaser_key.as_ref().unwrap().expose(), "file-chaser");
        assert_eq!(s.chaser_base_url, "https://chaser.example");
        let env = env_of(&[
            ("CHASER_KEY", "env-chaser"),
            ("CHASER_BASE_URL", "http://127.0.0.1:9"),
        ]);
        let s = resolve(&file, &env, &pick).unwrap();
        assert_eq!(s.chaser_key.as_ref().unwrap().expose(), "env-chaser");
        assert_eq!(s.chaser_base_url, "http://127.0.0.1:9");
        let flags = Overrides {
            chaser_key: Some(Secret::new("flag-chaser")),
            ..pick
        };
        let s = resolve(&file, &env, &flags).unwrap();
        assert_eq!(s.chaser_key.as_ref().unwrap().expose(), "flag-chaser");
        assert!(
            !format!("{s:?}").contains("flag-chaser"),
            "keys never print"
        );
        let s = resolve(&ConfigFile::default(), env_of(&[]), &Overrides::default()).unwrap();
        assert_eq!(s.chaser_base_url, "https://api.chaser.sh");
    }

    #[test]
    fn missing_profile_and_bad_ranges_are_named() {
        let file = parse(FILE).unwrap();
        let flags = Overrides {
            profile: Some("nope".into()),
            ..Default::default()
        };
        let err = resolve(&file, env_of(&[]), &flags).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no profile named \"nope\" in the config file (have: prod, staging)"
        );
        let flags = Overrides {
            compress_level: Some(12),
            ..Default::default()
        };
        assert!(matches!(
            resolve(&ConfigFile::default(), env_of(&[]), &flags),
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
}
