//! One connection to an HLS stream (AgentStation's recorder, or any live playlist URL).
//!
//! The end of a stream is decided once over: when the playlist ends (`#EXT-X-ENDLIST`) or
//! answers 404/410, the session resolves again once (for AgentStation a fresh
//! `recorder/stream`, PROVIDERS.md §2); if that fails, or leads to a playlist that has
//! ended too, the view ends with "Stream ended".

use super::{ConnEnd, Resolve, Runner, Stop, wait_stop_or_retry};
use crate::core::event::{
    Command, InputAccess, LiveInfo, PictureFormat, SessionEvent, SessionState,
};
use crate::core::net;
use crate::core::provider::agentstation::{AgentStationError, MediaKind, RecorderStatus};
use crate::core::source::hls::fetch::{self, FollowEnd};
use crate::core::source::hls::{HlsError, Outputs, Player, PlayerNote};

/// What the view says when a stream is over.
pub const STREAM_ENDED: &str = "Stream ended";

/// Where an HLS stream is read.
#[derive(Debug)]
pub(super) struct HlsEndpoint {
    pub main: url::Url,
    /// A separate audio playlist (AgentStation's `type: audio` stream).
    pub audio: Option<url::Url>,
}

impl Runner {
    /// Asks AgentStation for the recorder's playlists, starting the recorder first when
    /// the operator asked for that.
    pub(super) async fn resolve_agentstation(
        &mut self,
        workstation_id: &str,
    ) -> Result<HlsEndpoint, Resolve> {
        let client = self.agentstation().map_err(Resolve::Error)?;
        if self.config.settings.agentstation.start_recording && !self.recording_started {
            let status = client.recorder_status(workstation_id).await;
            if !matches!(status, Ok(RecorderStatus::Recording)) {
                tracing::info!(workstation_id, "starting the recorder");
                client
                    .recorder_start(workstation_id)
                    .await
                    .map_err(|e| Resolve::Error(e.into()))?;
            }
            self.recording_started = true;
        }
        let main = match client
            .recorder_stream_url(workstation_id, MediaKind::Video)
            .await
        {
            Ok(url) => url,
            Err(e) if self.hls_end_seen && !e.is_retryable() => {
                tracing::info!(workstation_id, "no fresh stream after the end: {e}");
                return Err(Resolve::Stop(Stop::Ended(STREAM_ENDED.into())));
            }
            Err(e @ AgentStationError::BadRequest { .. }) => {
                return Err(self.not_recording(workstation_id, e).await);
            }
            Err(e) => return Err(Resolve::Error(e.into())),
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
        Ok(HlsEndpoint { main, audio })
    }

    /// Explains a refused `recorder/stream`: usually a recorder that is not recording.
    async fn not_recording(&mut self, workstation_id: &str, e: AgentStationError) -> Resolve {
        let Ok(client) = self.agentstation() else {
            return Resolve::Error(e.into());
        };
        match client.recorder_status(workstation_id).await {
            Ok(RecorderStatus::Recording) | Err(_) => Resolve::Error(e.into()),
            Ok(status) => {
                let state = match &status {
                    RecorderStatus::Idle => "idle",
                    RecorderStatus::Paused => "paused",
                    RecorderStatus::Stopped => "stopped",
                    RecorderStatus::Recording => "recording",
                    RecorderStatus::Other(s) => s.as_str(),
                };
                Resolve::Stop(Stop::Failed(format!(
                    "The recorder of workstation {workstation_id} is {state}, so there is no video. \
                     Start it with `lookout view agentstation:{workstation_id} --start-recording` \
                     (or POST /v1/workstations/{workstation_id}/recorder/start)"
                )))
            }
        }
    }

    /// Plays one HLS connection until it ends.
    pub(super) async fn run_hls(&mut self, endpoint: HlsEndpoint) -> ConnEnd {
        let http = match net::streaming_http_client() {
            Ok(h) => h,
            Err(e) => {
                return ConnEnd::Dropped {
                    was_live: false,
                    error: e.into(),
                };
            }
        };
        let opened = tokio::select! {
            opened = fetch::open(&http, &endpoint.main, &self.peer.stats) => opened,
            cmd = wait_stop_or_retry(&mut self.peer.commands, &self.peer.events) => return cmd,
        };
        let mut opened = match opened {
            Ok(o) => o,
            Err(HlsError::Gone { status }) => return self.hls_over(FollowEnd::Gone(status)),
            Err(e) => {
                return ConnEnd::Dropped {
                    was_live: false,
                    error: e.into(),
                };
            }
        };
        if self.hls_end_seen && opened.first.end_list {
            return ConnEnd::Over(Stop::Ended(STREAM_ENDED.into()));
        }
        self.hls_end_seen = false;
        if opened.choice.audio.is_none() {
            opened.choice.audio = endpoint.audio;
        }
        let mut player = Player::start(
            http,
            opened,
            Outputs {
                frames: self.peer.frames.clone(),
                audio: self.config.audio.clone(),
                stats: self.peer.stats.clone(),
                waker: self.peer.waker.clone(),
            },
        );
        self.peer.stats.set_picture_format(PictureFormat::H264);
        let mut was_live = false;
        loop {
            tokio::select! {
                note = player.next_note() => match note {
                    Some(PlayerNote::Picture { width, height, codec }) => {
                        was_live = true;
                        let info = LiveInfo {
                            width,
                            height,
                            desktop_name: String::new(),
                            protocol: format!("HLS {codec}"),
                            input: InputAccess::Refused("HLS video is view-only".into()),
                        };
                        self.live = Some(info.clone());
                        self.emit(SessionEvent::State(SessionState::Live(info))).await;
                    }
                    Some(PlayerNote::Sound { codec }) => {
                        tracing::info!(source = %self.source, "sound: {codec}");
                    }
                    Some(PlayerNote::Over { end }) => {
                        tracing::info!(source = %self.source, "HLS stream over: {end:?}");
                        return match end {
                            FollowEnd::Stalled(for_) => ConnEnd::Dropped {
                                was_live,
                                error: HlsError::Stalled { secs: for_.as_secs() }.into(),
                            },
                            end => self.hls_over(end),
                        };
                    }
                    Some(PlayerNote::Failed(e)) => {
                        return ConnEnd::Dropped { was_live, error: e.into() };
                    }
                    None => {
                        return ConnEnd::Dropped {
                            was_live,
                            error: HlsError::Decode("the player stopped".into()).into(),
                        };
                    }
                },
                cmd = self.peer.commands.recv() => match cmd {
                    Some(Command::Stop) | None => return ConnEnd::Stop,
                    Some(Command::Retry) => return ConnEnd::RetryNow,
                    Some(Command::JumpToLive) => {
                        player.jump_to_live();
                        if let Some(audio) = &self.config.audio {
                            audio.clear();
                        }
                    }
                    Some(Command::Answer { request_id, .. }) => self.refuse_answer(request_id).await,
                    Some(_) => {
                        tracing::debug!(source = %self.source, "HLS video takes no input: dropped");
                    }
                },
            }
        }
    }

    /// The playlist ended or went away: resolve once more, then end.
    fn hls_over(&mut self, end: FollowEnd) -> ConnEnd {
        if self.hls_end_seen {
            return ConnEnd::Over(Stop::Ended(STREAM_ENDED.into()));
        }
        tracing::info!(source = %self.source, "{end:?}: asking for a fresh stream once");
        self.hls_end_seen = true;
        ConnEnd::RetryNow
    }
}
