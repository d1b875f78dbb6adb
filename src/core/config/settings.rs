//! Every setting a session reads, grouped per provider, declared once.
//!
//! [`Settings`] is one type for three places: the command line parses it (each field is a
//! flag, `clap`), the config file holds one per profile (each field is a key, `serde`), and
//! the environment fills one ([`Settings::from_env`]). Every field is optional, so each of
//! these is a *layer*; [`Settings::over`] lays one over another, field by field, and
//! [`super::resolve`] does flags over environment over file. Sessions read the result
//! through accessors that supply the defaults.
//!
//! Adding a setting: one field in its group (flag and key in its attributes), one line in
//! its group's `from_env` if it has an environment variable, one line in its `over`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::core::provider::waldiez::{Credentials, WsAuth};
use crate::core::provider::{agentstation, chaser, optexity};
use crate::core::record::library::{self, Retention};
use crate::core::redact::Secret;
use crate::core::source::preview::Pacing;
use crate::core::source::rfb::{EncodingPreference, RfbOptions};

/// Good pictures at a fraction of lossless bandwidth; x11vnc sends 4× more updates with it.
pub const DEFAULT_JPEG_QUALITY: u8 = 7;
/// Cheap for the server, still small on the wire.
pub const DEFAULT_COMPRESS_LEVEL: u8 = 2;

/// Reads one environment variable (the process environment, or a map in tests).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// All settings, one group per provider. (The config file reads the groups one by one:
/// `RawProfile` in the parent module.)
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct Settings {
    #[command(flatten)]
    pub optexity: OptexitySettings,
    #[command(flatten)]
    pub chaser: ChaserSettings,
    #[command(flatten)]
    pub waldiez: WaldiezSettings,
    #[command(flatten)]
    pub agentstation: AgentStationSettings,
    #[command(flatten)]
    pub rfb: RfbSettings,
    #[command(flatten)]
    pub preview: PreviewSettings,
    #[command(flatten)]
    pub recording: RecordingSettings,
    #[command(flatten)]
    pub desktop: DesktopSettings,
}

/// Optexity: REST gives a websockify URL for each connection.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
#[command(next_help_heading = "Optexity")]
pub struct OptexitySettings {
    /// Optexity API base URL (overrides OPTEXITY_BASE_URL and the config file).
    #[arg(
        id = "optexity_base_url",
        long = "optexity-base-url",
        value_name = "URL"
    )]
    #[serde(rename = "optexity_base_url")]
    pub base_url: Option<String>,
    /// Optexity API key (overrides OPTEXITY_API_KEY and the config file).
    #[arg(id = "optexity_api_key", long = "optexity-api-key", value_name = "KEY")]
    #[serde(rename = "optexity_api_key")]
    pub api_key: Option<Secret>,
}

/// Chaser: REST mints a preview token for the frame protocol.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
#[command(next_help_heading = "Chaser")]
pub struct ChaserSettings {
    /// Chaser API base URL (overrides CHASER_BASE_URL and the config file).
    #[arg(id = "chaser_base_url", long = "chaser-base-url", value_name = "URL")]
    #[serde(rename = "chaser_base_url")]
    pub base_url: Option<String>,
    /// Chaser API key (overrides CHASER_KEY and the config file).
    #[arg(id = "chaser_key", long = "chaser-key", value_name = "KEY")]
    #[serde(rename = "chaser_key")]
    pub key: Option<Secret>,
}

/// Waldiez Runner: a task's log and prompts.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
#[command(next_help_heading = "Waldiez Runner")]
pub struct WaldiezSettings {
    /// Waldiez Runner base URL (overrides WALDIEZ_BASE_URL and the config file).
    #[arg(id = "waldiez_base_url", long = "waldiez-base-url", value_name = "URL")]
    #[serde(rename = "waldiez_base_url")]
    pub base_url: Option<String>,
    /// Waldiez Runner access token (overrides WALDIEZ_TOKEN and the config file).
    #[arg(id = "waldiez_token", long = "waldiez-token", value_name = "TOKEN")]
    #[serde(rename = "waldiez_token")]
    pub token: Option<Secret>,
    /// Waldiez Runner client id, exchanged for tokens with --waldiez-client-secret.
    #[arg(
        id = "waldiez_client_id",
        long = "waldiez-client-id",
        value_name = "ID"
    )]
    #[serde(rename = "waldiez_client_id")]
    pub client_id: Option<String>,
    /// Waldiez Runner client secret (overrides WALDIEZ_CLIENT_SECRET).
    #[arg(
        id = "waldiez_client_secret",
        long = "waldiez-client-secret",
        value_name = "SECRET"
    )]
    #[serde(rename = "waldiez_client_secret")]
    pub client_secret: Option<Secret>,
    /// How the token reaches the runner's WebSocket (default: subprotocol).
    #[arg(
        id = "waldiez_auth",
        long = "waldiez-auth",
        value_name = "HOW",
        value_enum
    )]
    #[serde(rename = "waldiez_auth")]
    pub auth: Option<WsAuth>,
}

/// AgentStation: a workstation's screen and sound (HLS) and its log (SSE).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
#[command(next_help_heading = "AgentStation")]
pub struct AgentStationSettings {
    /// AgentStation API base URL (overrides AGENTSTATION_BASE_URL and the config file).
    #[arg(
        id = "agentstation_base_url",
        long = "agentstation-base-url",
        value_name = "URL"
    )]
    #[serde(rename = "agentstation_base_url")]
    pub base_url: Option<String>,
    /// AgentStation API token (overrides AGENTSTATION_TOKEN and the config file).
    #[arg(
        id = "agentstation_token",
        long = "agentstation-token",
        value_name = "TOKEN"
    )]
    #[serde(rename = "agentstation_token")]
    pub token: Option<Secret>,
    /// AgentStation: start the workstation's recorder first if it is not recording (there
    /// is no video otherwise).
    #[arg(id = "start_recording", long = "start-recording")]
    pub start_recording: bool,
}

/// VNC (RFB) pictures: Optexity tasks, `rfb+ws://` and `vnc://`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
#[command(next_help_heading = "Pictures (VNC)")]
pub struct RfbSettings {
    /// VNC password, if the server asks for one (also LOOKOUT_VNC_PASSWORD).
    #[arg(id = "vnc_password", long = "vnc-password", value_name = "PASSWORD")]
    #[serde(rename = "vnc_password")]
    pub password: Option<Secret>,
    /// Picture encodings to ask for (default: auto).
    #[arg(
        id = "encoding",
        long = "encoding",
        value_name = "ENCODING",
        value_enum
    )]
    pub encoding: Option<EncodingPreference>,
    /// Tight JPEG quality, 0 (smallest) to 9 (best).
    #[arg(
        id = "quality",
        long = "quality",
        value_name = "0-9",
        value_parser = clap::value_parser!(u8).range(0..=9)
    )]
    #[serde(rename = "jpeg_quality")]
    pub quality: Option<u8>,
    /// Ask for lossless pictures only (no JPEG).
    #[arg(id = "lossless", long = "lossless", conflicts_with = "quality")]
    pub lossless: bool,
    /// Compression level, 0 (fast) to 9 (small).
    #[arg(
        id = "compress",
        long = "compress",
        value_name = "0-9",
        value_parser = clap::value_parser!(u8).range(0..=9)
    )]
    #[serde(rename = "compress_level")]
    pub compress: Option<u8>,
}

/// The frame protocol: Chaser sessions and `preview+ws://` streams.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
#[command(next_help_heading = "Pictures (frame protocol)")]
pub struct PreviewSettings {
    /// Frame-protocol sources (chaser:, preview+ws://): the most frames per second to ask for.
    #[arg(
        id = "max_fps",
        long = "max-fps",
        value_name = "FPS",
        value_parser = clap::value_parser!(u32).range(1..=60)
    )]
    pub max_fps: Option<u32>,
    /// Frame-protocol sources: acknowledge each frame, so a slow link shows the newest one
    /// (ack, the default), or let the server send as fast as it likes (push).
    #[arg(id = "pacing", long = "pacing", value_name = "PACING", value_enum)]
    pub pacing: Option<Pacing>,
}

/// Recording: whether the window records its sessions, where to, and how much it keeps.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
#[command(next_help_heading = "Recording")]
pub struct RecordingSettings {
    /// Record nothing (the window records every session by default; config `record`).
    #[arg(id = "no_record", long = "no-record")]
    #[serde(skip)]
    pub no_record: bool,
    /// `record = false` in the config file turns recording off.
    #[arg(skip)]
    pub record: Option<bool>,
    /// Where recordings go (default: the platform data dir's lookout/recordings; also
    /// LOOKOUT_RECORDINGS_DIR).
    #[arg(id = "recordings_dir", long = "recordings-dir", value_name = "DIR")]
    pub recordings_dir: Option<PathBuf>,
    /// Keep at most this many GiB of recordings, deleting the oldest (default 20; 0: no
    /// limit).
    #[arg(
        id = "recordings_max_gib",
        long = "recordings-max-gib",
        value_name = "GIB"
    )]
    pub recordings_max_gib: Option<u32>,
    /// Delete recordings last written more than this many days ago (default 30; 0: keep
    /// them).
    #[arg(
        id = "recordings_max_days",
        long = "recordings-max-days",
        value_name = "DAYS"
    )]
    pub recordings_max_days: Option<u32>,
}

/// The desktop: how a prompt reaches the operator, and whether the task opened is heard.
/// Config-file only (the settings window writes them).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(default)]
pub struct DesktopSettings {
    /// `notifications = false`: a prompt that arrives while the window is not focused sends
    /// no desktop notification (the window still asks for attention).
    #[arg(skip)]
    pub notifications: Option<bool>,
    /// `sound = false`: the task opened full-size is not heard either.
    #[arg(skip)]
    pub sound: Option<bool>,
}

impl DesktopSettings {
    /// Whether prompts send desktop notifications (yes unless turned off).
    pub fn notifications(&self) -> bool {
        self.notifications.unwrap_or(true)
    }

    /// Whether the task opened full-size is heard (yes unless turned off).
    pub fn sound(&self) -> bool {
        self.sound.unwrap_or(true)
    }
}

/// A value that counts as set: blank text (and an empty secret) does not.
trait Given {
    fn is_given(&self) -> bool;
}

impl Given for String {
    fn is_given(&self) -> bool {
        !self.trim().is_empty()
    }
}

impl Settings {
    /// Every key, token, secret and password these settings can hold.
    fn secrets(&self) -> [&Option<Secret>; 6] {
        [
            &self.optexity.api_key,
            &self.chaser.key,
            &self.waldiez.token,
            &self.waldiez.client_secret,
            &self.agentstation.token,
            &self.rfb.password,
        ]
    }

    /// The key or token of `provider` (a name of [`PROVIDERS`](crate::core::keyring::PROVIDERS)): what `lookout
    /// login PROVIDER` keeps in the keyring. `None` for any other name.
    pub fn key_mut(&mut self, provider: &str) -> Option<&mut Option<Secret>> {
        match provider {
            "optexity" => Some(&mut self.optexity.api_key),
            "chaser" => Some(&mut self.chaser.key),
            "waldiez" => Some(&mut self.waldiez.token),
            "agentstation" => Some(&mut self.agentstation.token),
            _ => None,
        }
    }

    /// The base URL set for `provider` (a name of
    /// [`PROVIDERS`](crate::core::keyring::PROVIDERS)), if one is.
    pub fn base_url_of(&self, provider: &str) -> Option<&str> {
        match provider {
            "optexity" => self.optexity.base_url.as_deref(),
            "chaser" => self.chaser.base_url.as_deref(),
            "waldiez" => self.waldiez.base_url.as_deref(),
            "agentstation" => self.agentstation.base_url.as_deref(),
            _ => None,
        }
    }

    /// The key or token of `provider`, when these settings hold one.
    pub fn key(&self, provider: &str) -> Option<&Secret> {
        match provider {
            "optexity" => self.optexity.api_key.as_ref(),
            "chaser" => self.chaser.key.as_ref(),
            "waldiez" => self.waldiez.token.as_ref(),
            "agentstation" => self.agentstation.token.as_ref(),
            _ => None,
        }
    }

    /// Whether `provider` has what it signs in with: its key or token (Waldiez: or a client
    /// secret).
    pub fn has_key(&self, provider: &str) -> bool {
        let set = |s: &Option<Secret>| s.as_ref().is_some_and(Given::is_given);
        match provider {
            "optexity" => set(&self.optexity.api_key),
            "chaser" => set(&self.chaser.key),
            "waldiez" => set(&self.waldiez.token) || set(&self.waldiez.client_secret),
            "agentstation" => set(&self.agentstation.token),
            _ => false,
        }
    }

    /// Whether these settings hold a key, token, secret or password.
    pub fn holds_secret(&self) -> bool {
        self.secrets().iter().any(|s| s.is_some())
    }
}

impl Given for Secret {
    fn is_given(&self) -> bool {
        !self.expose().trim().is_empty()
    }
}

macro_rules! given_always {
    ($($t:ty),*) => { $(impl Given for $t { fn is_given(&self) -> bool { true } })* };
}
given_always!(u8, u32, bool, WsAuth, EncodingPreference, Pacing);

impl Given for PathBuf {
    fn is_given(&self) -> bool {
        !self.as_os_str().is_empty()
    }
}

/// `upper` when it is set, else `lower`, never a blank value.
fn first<T: Given>(upper: Option<T>, lower: Option<T>) -> Option<T> {
    upper
        .filter(Given::is_given)
        .or_else(|| lower.filter(Given::is_given))
}

impl Settings {
    /// The settings the environment gives (the variables the README lists).
    pub fn from_env(env: EnvLookup<'_>) -> Result<Settings, ConfigError> {
        let text = |name: &str| env(name).filter(Given::is_given);
        let secret = |name: &str| text(name).map(Secret::new);
        let auth = match text("WALDIEZ_AUTH") {
            Some(name) => Some(WsAuth::from_name(&name).ok_or(ConfigError::BadWaldiezAuth(name))?),
            None => None,
        };
        Ok(Settings {
            optexity: OptexitySettings {
                base_url: text("OPTEXITY_BASE_URL"),
                api_key: secret("OPTEXITY_API_KEY"),
            },
            chaser: ChaserSettings {
                base_url: text("CHASER_BASE_URL"),
                key: secret("CHASER_KEY"),
            },
            waldiez: WaldiezSettings {
                base_url: text("WALDIEZ_BASE_URL"),
                token: secret("WALDIEZ_TOKEN"),
                client_id: text("WALDIEZ_CLIENT_ID"),
                client_secret: secret("WALDIEZ_CLIENT_SECRET"),
                auth,
            },
            agentstation: AgentStationSettings {
                base_url: text("AGENTSTATION_BASE_URL"),
                token: secret("AGENTSTATION_TOKEN"),
                start_recording: false,
            },
            rfb: RfbSettings {
                password: secret("LOOKOUT_VNC_PASSWORD"),
                ..RfbSettings::default()
            },
            preview: PreviewSettings::default(),
            recording: RecordingSettings {
                recordings_dir: text("LOOKOUT_RECORDINGS_DIR").map(PathBuf::from),
                ..RecordingSettings::default()
            },
            desktop: DesktopSettings::default(),
        })
    }

    /// These settings laid over `lower`: each field from `self` where it is set, else from
    /// `lower`. Blank values count as unset.
    pub fn over(self, lower: Settings) -> Settings {
        Settings {
            optexity: OptexitySettings {
                base_url: first(self.optexity.base_url, lower.optexity.base_url),
                api_key: first(self.optexity.api_key, lower.optexity.api_key),
            },
            chaser: ChaserSettings {
                base_url: first(self.chaser.base_url, lower.chaser.base_url),
                key: first(self.chaser.key, lower.chaser.key),
            },
            waldiez: WaldiezSettings {
                base_url: first(self.waldiez.base_url, lower.waldiez.base_url),
                token: first(self.waldiez.token, lower.waldiez.token),
                client_id: first(self.waldiez.client_id, lower.waldiez.client_id),
                client_secret: first(self.waldiez.client_secret, lower.waldiez.client_secret),
                auth: first(self.waldiez.auth, lower.waldiez.auth),
            },
            agentstation: AgentStationSettings {
                base_url: first(self.agentstation.base_url, lower.agentstation.base_url),
                token: first(self.agentstation.token, lower.agentstation.token),
                start_recording: self.agentstation.start_recording
                    || lower.agentstation.start_recording,
            },
            rfb: self.rfb.over(lower.rfb),
            preview: PreviewSettings {
                max_fps: first(self.preview.max_fps, lower.preview.max_fps),
                pacing: first(self.preview.pacing, lower.preview.pacing),
            },
            recording: RecordingSettings {
                no_record: self.recording.no_record || lower.recording.no_record,
                record: first(self.recording.record, lower.recording.record),
                recordings_dir: first(
                    self.recording.recordings_dir,
                    lower.recording.recordings_dir,
                ),
                recordings_max_gib: first(
                    self.recording.recordings_max_gib,
                    lower.recording.recordings_max_gib,
                ),
                recordings_max_days: first(
                    self.recording.recordings_max_days,
                    lower.recording.recordings_max_days,
                ),
            },
            desktop: DesktopSettings {
                notifications: first(self.desktop.notifications, lower.desktop.notifications),
                sound: first(self.desktop.sound, lower.desktop.sound),
            },
        }
    }

    /// Keeps every key, token and password of these settings masked in all text the process
    /// writes, for as long as it runs (`redact::text`).
    pub fn pin_secrets(&self) {
        for secret in self.secrets().into_iter().flatten() {
            secret.pin();
        }
    }

    /// Checks what the type cannot: the 0..=9 ranges (flags are checked as parsed).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let in_range = |what: &'static str, value: Option<u8>| match value {
            Some(value) if value > 9 => Err(ConfigError::OutOfRange { what, value }),
            _ => Ok(()),
        };
        in_range("jpeg_quality", self.rfb.quality)?;
        in_range("compress_level", self.rfb.compress)
    }
}

impl OptexitySettings {
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(optexity::DEFAULT_BASE_URL)
    }
}

impl ChaserSettings {
    pub fn base_url(&self) -> &str {
        self.base_url.as_deref().unwrap_or(chaser::DEFAULT_BASE_URL)
    }
}

impl AgentStationSettings {
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(agentstation::DEFAULT_BASE_URL)
    }
}

impl WaldiezSettings {
    /// Waldiez Runner has no public service: `None` until configured.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// A token when one is given, else client credentials when both parts are.
    pub fn credentials(&self) -> Option<Credentials> {
        match (&self.token, &self.client_id, &self.client_secret) {
            (Some(token), _, _) => Some(Credentials::Token(token.clone())),
            (None, Some(id), Some(secret)) => Some(Credentials::Client {
                id: id.clone(),
                secret: secret.clone(),
            }),
            _ => None,
        }
    }

    pub fn auth(&self) -> WsAuth {
        self.auth.unwrap_or_default()
    }
}

impl RfbSettings {
    /// Quality and lossless come as a pair: the layer that says either decides both.
    fn over(self, lower: RfbSettings) -> RfbSettings {
        let picks_jpeg = self.quality.is_some() || self.lossless;
        let (quality, lossless) = match picks_jpeg {
            true => (self.quality, self.lossless),
            false => (lower.quality, lower.lossless),
        };
        RfbSettings {
            password: first(self.password, lower.password),
            encoding: first(self.encoding, lower.encoding),
            quality,
            lossless,
            compress: first(self.compress, lower.compress),
        }
    }

    /// The Tight JPEG quality to ask for; `None`: lossless only.
    pub fn jpeg_quality(&self) -> Option<u8> {
        match self.lossless {
            true => None,
            false => Some(self.quality.unwrap_or(DEFAULT_JPEG_QUALITY)),
        }
    }

    pub fn compress_level(&self) -> u8 {
        self.compress.unwrap_or(DEFAULT_COMPRESS_LEVEL)
    }

    /// The client options for one connection; a password given in the source's URL wins,
    /// and the configured one is offered only when `configured` (never to a server a link
    /// named).
    pub fn options(&self, url_password: Option<&Secret>, configured: bool) -> RfbOptions {
        let own = self.password.as_ref().filter(|_| configured);
        RfbOptions {
            encodings: self.encoding.unwrap_or_default(),
            jpeg_quality: self.jpeg_quality(),
            compress_level: self.compress_level(),
            password: url_password.or(own).cloned(),
            shared: true,
        }
    }
}

impl RecordingSettings {
    /// Whether sessions are recorded: yes unless `--no-record` or `record = false`.
    pub fn enabled(&self) -> bool {
        !self.no_record && self.record.unwrap_or(true)
    }

    /// Where recordings go: the one set, else [`library::default_dir`] (`None` only when
    /// the platform has no home directory).
    pub fn dir(&self) -> Option<PathBuf> {
        self.recordings_dir.clone().or_else(library::default_dir)
    }

    /// The retention limits: 20 GiB and 30 days unless set; 0 turns a limit off.
    pub fn retention(&self) -> Retention {
        let max_bytes = match self.recordings_max_gib {
            None => Some(library::DEFAULT_MAX_BYTES),
            Some(0) => None,
            Some(gib) => Some(u64::from(gib) << 30),
        };
        let max_age = match self.recordings_max_days {
            None => Some(library::DEFAULT_MAX_AGE),
            Some(0) => None,
            Some(days) => Some(Duration::from_secs(u64::from(days) * 86_400)),
        };
        Retention { max_bytes, max_age }
    }
}

impl PreviewSettings {
    pub fn pacing(&self) -> Pacing {
        self.pacing.unwrap_or_default()
    }
}
