//! Sources: what a session watches, named the way the operator types it.
//!
//! [`SourceSpec`] parses `optexity:TASK`, `chaser:SESSION`, `waldiez:TASK`,
//! `agentstation:WORKSTATION`, `rfb+ws://…`, `rfb+wss://…`, `vnc://host:port`,
//! `preview+ws://…` / `preview+wss://…`, `tasklog+ws://…` / `tasklog+wss://…` and HLS
//! playlists (`https://…`, `hls+https://…`). The protocol decoders live below: [`rfb`] for
//! VNC, [`preview`] for the JPEG frame protocol, [`tasklog`] for task logs and prompts,
//! [`hls`] for live HLS video and sound.

pub mod hls;
pub mod preview;
pub mod rfb;
pub mod tasklog;

use std::fmt;
use std::str::FromStr;

use crate::core::redact;

/// Default TCP port for `vnc://` without one.
pub const DEFAULT_VNC_PORT: u16 = 5900;

/// What to watch.
#[derive(Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// An Optexity task: REST gives a websockify URL for each connection.
    Optexity { task_id: String },
    /// A Chaser session: REST mints a preview token (a frame-protocol WebSocket URL).
    Chaser { session_id: String },
    /// The frame protocol (agent-browser streaming) at a fixed WebSocket URL.
    Preview { url: url::Url },
    /// RFB over a WebSocket (websockify), `ws://` or `wss://`.
    RfbWebSocket { url: url::Url },
    /// A Waldiez Runner task's log and prompts: REST for the token and status, then the
    /// runner's WebSocket.
    Waldiez { task_id: String },
    /// The Waldiez Runner task-log protocol at a fixed WebSocket URL (no REST).
    TaskLog { url: url::Url },
    /// An AgentStation workstation's screen and sound: REST gives HLS playlists.
    AgentStation { workstation_id: String },
    /// An AgentStation workstation's log stream (SSE); what `agentstation:ID` means where
    /// a task log is asked for (`lookout logs`, `--log`).
    AgentStationLog { workstation_id: String },
    /// Any live HLS stream (`http(s)://…`, e.g. a `.m3u8` playlist URL).
    Hls { url: url::Url },
    /// RFB over plain TCP.
    RfbTcp {
        host: String,
        port: u16,
        /// A password given in the URL's userinfo.
        password: Option<redact::Secret>,
        /// A link named this server (`vnc+link://`, what `lookout open vnc://…` makes): the
        /// configured VNC password is never sent to it, only one the link holds.
        linked: bool,
    },
}

/// Why a source string was not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceParseError {
    #[error(
        "unknown source {0:?}: expected optexity:TASK_ID, chaser:SESSION_ID, waldiez:TASK_ID, agentstation:WORKSTATION_ID, rfb+ws://HOST:PORT/PATH, rfb+wss://…, vnc://HOST:PORT, preview+ws://HOST:PORT, tasklog+ws://HOST:PORT/ws/TASK_ID, or an HLS playlist https://…"
    )]
    Unknown(String),
    #[error("invalid URL in source {source_text:?}: {reason}")]
    BadUrl { source_text: String, reason: String },
    #[error("empty task or session id in {0:?}")]
    EmptyTaskId(String),
}

impl FromStr for SourceSpec {
    type Err = SourceParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let id_after = |prefix: &str| -> Option<Result<String, SourceParseError>> {
            let id = s.strip_prefix(prefix)?.trim_start_matches("//");
            Some(if id.is_empty() {
                Err(SourceParseError::EmptyTaskId(s.to_string()))
            } else {
                Ok(id.to_string())
            })
        };
        if let Some(id) = id_after("optexity:") {
            return Ok(SourceSpec::Optexity { task_id: id? });
        }
        if let Some(id) = id_after("chaser:") {
            return Ok(SourceSpec::Chaser { session_id: id? });
        }
        if let Some(id) = id_after("waldiez:") {
            return Ok(SourceSpec::Waldiez { task_id: id? });
        }
        if let Some(id) = id_after("agentstation:") {
            return Ok(SourceSpec::AgentStation {
                workstation_id: id?,
            });
        }
        let bad = |reason: String| SourceParseError::BadUrl {
            source_text: redact::url(s),
            reason,
        };
        if let Some(rest) = s
            .strip_prefix("rfb+")
            .filter(|r| r.starts_with("ws://") || r.starts_with("wss://"))
        {
            let url = url::Url::parse(rest).map_err(|e| bad(e.to_string()))?;
            if url.host_str().is_none() {
                return Err(bad("no host".into()));
            }
            return Ok(SourceSpec::RfbWebSocket { url });
        }
        if let Some(rest) = s
            .strip_prefix("preview+")
            .filter(|r| r.starts_with("ws://") || r.starts_with("wss://"))
        {
            let url = url::Url::parse(rest).map_err(|e| bad(e.to_string()))?;
            if url.host_str().is_none() {
                return Err(bad("no host".into()));
            }
            return Ok(SourceSpec::Preview { url });
        }
        if let Some(rest) = s
            .strip_prefix("tasklog+")
            .filter(|r| r.starts_with("ws://") || r.starts_with("wss://"))
        {
            let url = url::Url::parse(rest).map_err(|e| bad(e.to_string()))?;
            if url.host_str().is_none() {
                return Err(bad("no host".into()));
            }
            return Ok(SourceSpec::TaskLog { url });
        }
        if let Some(rest) = s.strip_prefix("hls+").or(Some(s)).filter(|r| {
            let lower = r.get(..8).unwrap_or(r).to_ascii_lowercase();
            lower.starts_with("http://") || lower.starts_with("https://")
        }) {
            let url = url::Url::parse(rest).map_err(|e| bad(e.to_string()))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(bad("no host".into()));
            }
            return Ok(SourceSpec::Hls { url });
        }
        let (linked, vnc) = match s.strip_prefix("vnc+link://") {
            Some(rest) => (true, format!("vnc://{rest}")),
            None => (false, s.to_string()),
        };
        if vnc.starts_with("vnc://") {
            let url = url::Url::parse(&vnc).map_err(|e| bad(e.to_string()))?;
            let host = url
                .host_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| bad("no host".into()))?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            return Ok(SourceSpec::RfbTcp {
                host,
                port: url.port().unwrap_or(DEFAULT_VNC_PORT),
                password: url.password().map(|p| {
                    redact::Secret::new(percent_decode(p).unwrap_or_else(|| p.to_string()))
                }),
                linked,
            });
        }
        Err(SourceParseError::Unknown(redact::url(s)))
    }
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl SourceSpec {
    /// What the operator sees: the source with every secret hidden.
    pub fn label(&self) -> String {
        match self {
            SourceSpec::Optexity { task_id } => format!("optexity:{task_id}"),
            SourceSpec::Chaser { session_id } => format!("chaser:{session_id}"),
            SourceSpec::Waldiez { task_id } => format!("waldiez:{task_id}"),
            SourceSpec::TaskLog { url } => format!("tasklog+{}", redact::url(url.as_str())),
            SourceSpec::AgentStation { workstation_id } => {
                format!("agentstation:{workstation_id}")
            }
            SourceSpec::AgentStationLog { workstation_id } => {
                format!("agentstation:{workstation_id} (log)")
            }
            SourceSpec::Hls { url } => redact::url(url.as_str()),
            SourceSpec::Preview { url } => format!("preview+{}", redact::url(url.as_str())),
            SourceSpec::RfbWebSocket { url } => format!("rfb+{}", redact::url(url.as_str())),
            SourceSpec::RfbTcp { host, port, .. } => {
                if host.contains(':') {
                    format!("vnc://[{host}]:{port}")
                } else {
                    format!("vnc://{host}:{port}")
                }
            }
        }
    }
}

impl SourceSpec {
    /// Whether the source carries a task log (and maybe prompts) rather than a picture.
    pub fn is_log(&self) -> bool {
        matches!(
            self,
            SourceSpec::Waldiez { .. }
                | SourceSpec::TaskLog { .. }
                | SourceSpec::AgentStationLog { .. }
        )
    }

    /// Whether the source's picture comes with sound (video streams).
    pub fn has_sound(&self) -> bool {
        matches!(
            self,
            SourceSpec::AgentStation { .. } | SourceSpec::Hls { .. }
        )
    }

    /// The task log this source names where a log is asked for: a log source itself, or
    /// an AgentStation workstation's log stream.
    pub fn as_log(&self) -> Option<SourceSpec> {
        match self {
            SourceSpec::AgentStation { workstation_id } => Some(SourceSpec::AgentStationLog {
                workstation_id: workstation_id.clone(),
            }),
            s if s.is_log() => Some(s.clone()),
            _ => None,
        }
    }

    /// Whether the source can ask the operator questions.
    pub fn has_prompts(&self) -> bool {
        matches!(
            self,
            SourceSpec::Waldiez { .. } | SourceSpec::TaskLog { .. }
        )
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceSpec({})", self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(
            "optexity:bf98".parse::<SourceSpec>().unwrap(),
            SourceSpec::Optexity {
                task_id: "bf98".into()
            }
        );
        let ws: SourceSpec = "rfb+ws://127.0.0.1:6080/websockify?token=abc"
            .parse()
            .unwrap();
        match &ws {
            SourceSpec::RfbWebSocket { url } => {
                assert_eq!(url.scheme(), "ws");
                assert_eq!(url.port(), Some(6080));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ws.label(), "rfb+ws://127.0.0.1:6080/websockify?token=***");
        assert_eq!(
            "chaser:sess_1".parse::<SourceSpec>().unwrap(),
            SourceSpec::Chaser {
                session_id: "sess_1".into()
            }
        );
        let preview: SourceSpec = "preview+ws://127.0.0.1:9223/?token=t0p".parse().unwrap();
        assert!(matches!(&preview, SourceSpec::Preview { url } if url.port() == Some(9223)));
        assert_eq!(preview.label(), "preview+ws://127.0.0.1:9223/?token=***");
        let tcp: SourceSpec = "vnc://localhost".parse().unwrap();
        assert_eq!(tcp.label(), "vnc://localhost:5900");
        let pw: SourceSpec = "vnc://:s%40cret@[::1]:5901".parse().unwrap();
        match pw {
            SourceSpec::RfbTcp {
                host,
                port,
                password,
                linked,
            } => {
                assert!(!linked, "typed, not linked");
                assert_eq!((host.as_str(), port), ("::1", 5901));
                assert_eq!(password.unwrap().expose(), "s@cret");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_garbage_without_leaking_tokens() {
        assert_eq!(
            "optexity:".parse::<SourceSpec>(),
            Err(SourceParseError::EmptyTaskId("optexity:".into()))
        );
        let err = "ftp://x/?token=SECRET".parse::<SourceSpec>().unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = "https://?token=SECRET".parse::<SourceSpec>().unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(matches!(
            "rfb+ws://".parse::<SourceSpec>(),
            Err(SourceParseError::BadUrl { .. })
        ));
        assert!("vnc://:5900".parse::<SourceSpec>().is_err());
        assert!("chaser:".parse::<SourceSpec>().is_err());
        assert!("preview+http://x/".parse::<SourceSpec>().is_err());
        assert!("waldiez:".parse::<SourceSpec>().is_err());
        assert!("tasklog+http://x/".parse::<SourceSpec>().is_err());
    }

    #[test]
    fn parses_hls_urls() {
        let h: SourceSpec = "https://cdn.example/live/playlist.m3u8?token=SECRET"
            .parse()
            .unwrap();
        assert!(matches!(&h, SourceSpec::Hls { url } if url.path() == "/live/playlist.m3u8"));
        assert!(!h.is_log());
        assert_eq!(
            h.label(),
            "https://cdn.example/live/playlist.m3u8?token=***"
        );
        let explicit: SourceSpec = "hls+http://127.0.0.1:8/hls/ws/video".parse().unwrap();
        assert!(matches!(&explicit, SourceSpec::Hls { url } if url.scheme() == "http"));
    }

    #[test]
    fn parses_log_sources() {
        let w: SourceSpec = "waldiez:task-7".parse().unwrap();
        assert_eq!(
            w,
            SourceSpec::Waldiez {
                task_id: "task-7".into()
            }
        );
        assert!(w.is_log() && w.has_prompts());
        let a: SourceSpec = "agentstation://ws_1".parse().unwrap();
        assert_eq!(
            a,
            SourceSpec::AgentStation {
                workstation_id: "ws_1".into()
            }
        );
        assert!(!a.is_log(), "agentstation: is the workstation's picture");
        let log = a.as_log().unwrap();
        assert_eq!(
            log,
            SourceSpec::AgentStationLog {
                workstation_id: "ws_1".into()
            }
        );
        assert!(log.is_log() && !log.has_prompts());
        assert_eq!(log.as_log().as_ref(), Some(&log));
        assert_eq!("optexity:1".parse::<SourceSpec>().unwrap().as_log(), None);
        let t: SourceSpec = "tasklog+ws://127.0.0.1:8000/ws/t1?access_token=SECRET"
            .parse()
            .unwrap();
        assert!(matches!(&t, SourceSpec::TaskLog { url } if url.path() == "/ws/t1"));
        assert!(!t.label().contains("SECRET"), "{}", t.label());
        assert!(!"optexity:1".parse::<SourceSpec>().unwrap().is_log());
    }
}
