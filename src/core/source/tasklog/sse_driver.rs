//! The AgentStation log session driver: a workstation's log as Server-Sent Events
//! (PROVIDERS.md §2), what `agentstation:ID` means where a task log is asked for.
//!
//! Each event's data becomes a log line with its level ([`super::parse_log_entry`]). The
//! stream URL expires: every connection resolves a fresh one, and a reconnect sends
//! `Last-Event-ID` so the server can resume where the last stream stopped.

use super::driver::{log_live, log_ready};
use super::{MAX_MESSAGE_BYTES, SseParser, parse_log_entry};
use crate::core::error::CoreError;
use crate::core::net::NetError;
use crate::core::provider::agentstation::{AgentStationClient, AgentStationError};
use crate::core::redact;
use crate::core::session::driver::{ConnEnd, Driver, Outlet, Resolve, Routed, Session};
use crate::core::source::hls::driver::agentstation_client;

pub(crate) struct SseLogDriver {
    workstation_id: String,
    client: Option<AgentStationClient>,
    /// The last event id seen, sent as `Last-Event-ID` on reconnecting.
    last_event_id: Option<String>,
}

impl SseLogDriver {
    pub fn new(workstation_id: String) -> Self {
        Self {
            workstation_id,
            client: None,
            last_event_id: None,
        }
    }

    fn client(&mut self, out: &Outlet) -> Result<AgentStationClient, CoreError> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let client = agentstation_client(out)?;
        self.client = Some(client.clone());
        Ok(client)
    }
}

impl Driver for SseLogDriver {
    type Endpoint = url::Url;
    type Connection = reqwest::Response;

    async fn resolve(&mut self, s: &mut Session, _had_live: bool) -> Result<url::Url, Resolve> {
        log_ready(&s.out, false, false);
        let client = self.client(&s.out)?;
        Ok(client.log_stream_url(&self.workstation_id).await?)
    }

    async fn connect(&mut self, url: url::Url, out: &Outlet) -> Result<reqwest::Response, ConnEnd> {
        let http = self.client(out).map_err(ConnEnd::failed)?.http().clone();
        let mut req = http
            .get(url)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = &self.last_event_id {
            req = req.header("Last-Event-ID", id.as_str());
        }
        let resp = req.send().await.map_err(|e| {
            ConnEnd::failed(NetError::Connect {
                target: "the log stream".into(),
                reason: redact::url(&e.without_url().to_string()),
            })
        })?;
        let status = resp.status().as_u16();
        if status != 200 {
            // 404/410: the stream URL expired; the next attempt asks for a fresh one.
            return Err(ConnEnd::failed(AgentStationError::Http {
                status,
                detail: "the log stream URL answered with an error".into(),
            }));
        }
        Ok(resp)
    }

    async fn run(&mut self, mut resp: reqwest::Response, s: &mut Session) -> ConnEnd {
        s.out.set_state(log_live(&s.out, "AgentStation log")).await;
        let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
        loop {
            tokio::select! {
                chunk = resp.chunk() => {
                    let bytes = match chunk {
                        Ok(Some(bytes)) => bytes,
                        Ok(None) => return dropped("the log stream ended".into()),
                        Err(e) => return dropped(redact::url(&e.without_url().to_string())),
                    };
                    self.chunk(&bytes, &mut parser, &s.out);
                }
                routed = s.commands.next() => match routed {
                    Routed::End(end) => return end,
                    Routed::Command(_) => {}
                },
            }
        }
    }
}

impl SseLogDriver {
    /// Feeds one chunk to the parser and its events to the log.
    fn chunk(&mut self, bytes: &[u8], parser: &mut SseParser, out: &Outlet) {
        out.stats.add_bytes(bytes.len());
        let events = parser.feed(bytes);
        if events.is_empty() {
            return;
        }
        out.log.update(|s| {
            for event in events {
                match event {
                    Ok(ev) if ev.data.is_empty() => {}
                    Ok(ev) => s.log.push_log_entry(parse_log_entry(&ev.data)),
                    Err(e) => s.log.push_error(&e.to_string()),
                }
            }
        });
        out.stats.add_update(1);
        self.last_event_id = parser.last_event_id().map(str::to_string);
        out.wake();
    }
}

fn dropped(why: String) -> ConnEnd {
    ConnEnd::Dropped {
        was_live: true,
        error: NetError::Closed(Some(why)).into(),
    }
}
