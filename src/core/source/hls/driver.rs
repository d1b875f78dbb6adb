//! The HLS session driver: AgentStation workstations (REST gives the recorder's playlists,
//! PROVIDERS.md §2) and any live playlist URL.
//!
//! The end of a stream is decided once over: when the playlist ends (`#EXT-X-ENDLIST`) or
//! answers 404/410, the session resolves again once (for AgentStation a fresh
//! `recorder/stream`); if that fails, or leads to a playlist that has ended too, the view
//! ends with [`STREAM_ENDED`].

use super::fetch::{self, FollowEnd, Opened};
use super::{HlsError, Outputs, Player, PlayerNote};
use crate::core::error::CoreError;
use crate::core::event::{
    ErrorKind, InputAccess, LiveInfo, PictureFormat, SessionError, SessionState,
};
use crate::core::net;
use crate::core::provider::agentstation::{
    AgentStationClient, AgentStationError, MediaKind, RecorderStatus,
};
use crate::core::record::format::Kind;
use crate::core::record::{SOUND_TRACK, TrackSink};
use crate::core::session::driver::{
    ConnEnd, Driver, DriverCommand, Outlet, Resolve, Routed, Session, Stop,
};

/// What the view says when a stream is over.
pub const STREAM_ENDED: &str = "Stream ended";

enum Target {
    AgentStation { workstation_id: String },
    Url(url::Url),
}

/// Where an HLS stream is read.
pub(crate) struct Endpoint {
    main: url::Url,
    /// A separate audio playlist (AgentStation's `type: audio` stream).
    audio: Option<url::Url>,
}

/// A stream whose playlist has been read.
pub(crate) struct Connection {
    http: reqwest::Client,
    opened: Opened,
}

pub(crate) struct HlsDriver {
    target: Target,
    agentstation: Option<AgentStationClient>,
    /// The stream ended (or its playlist went away) and one fresh resolve is under way;
    /// the next end is final.
    end_seen: bool,
    /// AgentStation: the recorder was started for this session (`--start-recording`).
    recording_started: bool,
}

impl HlsDriver {
    fn new(target: Target) -> Self {
        Self {
            target,
            agentstation: None,
            end_seen: false,
            recording_started: false,
        }
    }

    pub fn agentstation(workstation_id: String) -> Self {
        Self::new(Target::AgentStation { workstation_id })
    }

    pub fn url(url: url::Url) -> Self {
        Self::new(Target::Url(url))
    }

    fn client(&mut self, out: &Outlet) -> Result<AgentStationClient, CoreError> {
        if let Some(c) = &self.agentstation {
            return Ok(c.clone());
        }
        let client = agentstation_client(out)?;
        self.agentstation = Some(client.clone());
        Ok(client)
    }

    /// Asks AgentStation for the recorder's playlists, starting the recorder first when
    /// the operator asked for that.
    async fn resolve_agentstation(
        &mut self,
        workstation_id: &str,
        out: &Outlet,
    ) -> Result<Endpoint, Resolve> {
        let client = self.client(out)?;
        let settings = &out.config.settings.agentstation;
        if settings.start_recording && !self.recording_started {
            let status = client.recorder_status(workstation_id).await;
            if !matches!(status, Ok(RecorderStatus::Recording)) {
                tracing::info!(workstation_id, "starting the recorder");
                client.recorder_start(workstation_id).await?;
            }
            self.recording_started = true;
        }
        let main = match client
            .recorder_stream_url(workstation_id, MediaKind::Video)
            .await
        {
            Ok(url) => url,
            Err(e) if self.end_seen && !e.is_retryable() => {
                tracing::info!(workstation_id, "no fresh stream after the end: {e}");
                return Err(Resolve::Stop(Stop::Ended(STREAM_ENDED.into())));
            }
            Err(e @ AgentStationError::BadRequest { .. }) => {
                return Err(not_recording(&client, workstation_id, e).await);
            }
            Err(e) => return Err(e.into()),
        };
        let audio = match client
            .recorder_stream_url(workstation_id, MediaKind::Audio)
            .await
        {
            Ok(url) => Some(url),
            Err(e) => {
                tracing::info!(workstation_id, "no sound stream: {e}");
                None
            }
        };
        Ok(Endpoint { main, audio })
    }

    /// The playlist ended or went away: resolve once more, then end.
    fn over(&mut self, end: FollowEnd, out: &Outlet) -> ConnEnd {
        if self.end_seen {
            return ConnEnd::Over(Stop::Ended(STREAM_ENDED.into()));
        }
        tracing::info!(source = %out.label, "{end:?}: asking for a fresh stream once");
        self.end_seen = true;
        ConnEnd::RetryNow
    }
}

/// An AgentStation client from the session's settings (the SSE log driver shares it).
pub(crate) fn agentstation_client(out: &Outlet) -> Result<AgentStationClient, CoreError> {
    let settings = &out.config.settings.agentstation;
    Ok(AgentStationClient::new(
        net::streaming_http_client()?,
        settings.base_url(),
        settings.token.clone(),
    ))
}

/// Explains a refused `recorder/stream`: usually a recorder that is not recording.
async fn not_recording(
    client: &AgentStationClient,
    workstation_id: &str,
    e: AgentStationError,
) -> Resolve {
    let state = match client.recorder_status(workstation_id).await {
        Ok(RecorderStatus::Recording) | Err(_) => return e.into(),
        Ok(RecorderStatus::Idle) => "idle".to_string(),
        Ok(RecorderStatus::Paused) => "paused".to_string(),
        Ok(RecorderStatus::Stopped) => "stopped".to_string(),
        Ok(RecorderStatus::Other(s)) => s,
    };
    Resolve::Stop(Stop::Failed(SessionError::new(
        ErrorKind::Unavailable,
        false,
        format!(
            "The recorder of workstation {workstation_id} is {state}, so there is no video. \
             Start it with `lookout view agentstation:{workstation_id} --start-recording` \
             (or POST /v1/workstations/{workstation_id}/recorder/start)"
        ),
    )))
}

impl Driver for HlsDriver {
    type Endpoint = Endpoint;
    type Connection = Connection;

    async fn resolve(&mut self, s: &mut Session, _had_live: bool) -> Result<Endpoint, Resolve> {
        match &self.target {
            Target::Url(url) => Ok(Endpoint {
                main: url.clone(),
                audio: None,
            }),
            Target::AgentStation { workstation_id } => {
                let id = workstation_id.clone();
                self.resolve_agentstation(&id, &s.out).await
            }
        }
    }

    async fn connect(&mut self, endpoint: Endpoint, out: &Outlet) -> Result<Connection, ConnEnd> {
        let http = net::streaming_http_client().map_err(ConnEnd::failed)?;
        let mut opened = match fetch::open(&http, &endpoint.main, &out.stats).await {
            Ok(opened) => opened,
            Err(HlsError::Gone { status }) => return Err(self.over(FollowEnd::Gone(status), out)),
            Err(e) => return Err(ConnEnd::failed(e)),
        };
        if self.end_seen && opened.first.end_list {
            return Err(ConnEnd::Over(Stop::Ended(STREAM_ENDED.into())));
        }
        self.end_seen = false;
        if opened.choice.audio.is_none() {
            opened.choice.audio = endpoint.audio;
        }
        Ok(Connection { http, opened })
    }

    async fn run(&mut self, connection: Connection, s: &mut Session) -> ConnEnd {
        let out = &s.out;
        let record = out.config.record.clone();
        // A separate audio playlist's segments go to the recording's sound track.
        let record_sound = record.as_ref().and_then(|r| {
            connection.opened.choice.audio.as_ref()?;
            Some(TrackSink::new(r.sink.clone(), SOUND_TRACK))
        });
        for record in record.iter().chain(&record_sound) {
            record.put_json(Kind::Connect, &serde_json::json!({"protocol": "hls"}));
        }
        let mut player = Player::start(
            connection.http,
            connection.opened,
            Outputs {
                frames: out.frames.clone(),
                audio: out.config.audio.clone(),
                stats: out.stats.clone(),
                waker: out.waker.clone(),
                record,
                record_sound,
            },
        );
        out.stats.set_picture_format(PictureFormat::H264);
        let mut was_live = false;
        loop {
            tokio::select! {
                note = player.next_note() => {
                    if let Some(end) = self.noted(note, &mut was_live, out).await {
                        return end;
                    }
                }
                routed = s.commands.next() => match routed {
                    Routed::End(end) => return end,
                    Routed::Command(DriverCommand::JumpToLive) => {
                        player.jump_to_live();
                        if let Some(audio) = &out.config.audio {
                            audio.clear();
                        }
                    }
                    Routed::Command(_) => {}
                },
            }
        }
    }
}

impl HlsDriver {
    /// Acts on what the player says; `Some` when the connection is over.
    async fn noted(
        &mut self,
        note: Option<PlayerNote>,
        was_live: &mut bool,
        out: &Outlet,
    ) -> Option<ConnEnd> {
        let end = match note {
            Some(PlayerNote::Picture {
                width,
                height,
                codec,
            }) => {
                *was_live = true;
                let info = LiveInfo {
                    width,
                    height,
                    desktop_name: String::new(),
                    protocol: format!("HLS {codec}"),
                    input: InputAccess::Refused("HLS video is view-only".into()),
                };
                out.set_state(SessionState::Live(info)).await;
                return None;
            }
            Some(PlayerNote::Sound { codec }) => {
                tracing::info!(source = %out.label, "sound: {codec}");
                return None;
            }
            Some(PlayerNote::Over { end }) => {
                tracing::info!(source = %out.label, "HLS stream over: {end:?}");
                match end {
                    FollowEnd::Stalled(for_) => ConnEnd::Dropped {
                        was_live: *was_live,
                        error: HlsError::Stalled {
                            secs: for_.as_secs(),
                        }
                        .into(),
                    },
                    end => self.over(end, out),
                }
            }
            Some(PlayerNote::Failed(e)) => ConnEnd::Dropped {
                was_live: *was_live,
                error: e.into(),
            },
            None => ConnEnd::Dropped {
                was_live: *was_live,
                error: HlsError::Decode("the player stopped".into()).into(),
            },
        };
        Some(end)
    }
}
