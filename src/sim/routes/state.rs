//! What every HTTP handler shares ([`AppState`]: each provider's state, the stream
//! context, the counters) and the URLs handlers hand out, built from the address the client
//! reached us at.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::http::{HeaderMap, header};

use crate::sim::agentstation::station::AgentStation;
use crate::sim::chaser::sessions::Chaser;
use crate::sim::optexity::tasks::TaskTable;
use crate::sim::stats::Counters;
use crate::sim::streams::StreamContext;
use crate::sim::token::TokenIssuer;
use crate::sim::waldiez::runner::Waldiez;

/// What every handler and stream shares.
pub(crate) struct AppState {
    /// The key Optexity clients must send as `x-api-key`.
    pub api_key: String,
    pub tasks: Arc<TaskTable>,
    /// Optexity's stream tokens.
    pub tokens: TokenIssuer,
    pub counters: Arc<Counters>,
    /// Where the HTTP server listens, for stream URLs when a request names no host.
    pub http_addr: SocketAddr,
    pub streams: StreamContext,
    pub chaser: Arc<Chaser>,
    pub waldiez: Arc<Waldiez>,
    pub agentstation: Arc<AgentStation>,
}

/// Loopback in place of an unspecified address (0.0.0.0 / ::), for URLs.
pub(crate) fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// The scheme of a URL a handler hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    Ws,
    Http,
}

impl AppState {
    /// `ws://host:port` as the client reached us (its Host header), else our address.
    pub(crate) fn ws_origin(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
            });
        match host {
            Some(h) => format!("ws://{h}"),
            None => format!("ws://{}", loopback_if_unspecified(self.http_addr)),
        }
    }

    /// `{scheme}://HOST/{path…}?token={token}`, HOST as in [`Self::ws_origin`]; `None` if
    /// that makes no URL (the caller answers 500).
    pub(crate) fn token_url(
        &self,
        headers: &HeaderMap,
        scheme: Scheme,
        path: &[&str],
        token: &str,
    ) -> Option<url::Url> {
        let origin = self.ws_origin(headers);
        let origin = match scheme {
            Scheme::Ws => origin,
            Scheme::Http => origin.replacen("ws://", "http://", 1),
        };
        let mut url = url::Url::parse(&origin).ok()?;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().extend(path);
        }
        url.query_pairs_mut().append_pair("token", token);
        Some(url)
    }
}
