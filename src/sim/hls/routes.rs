//! The HLS GET routes: playlists and segments.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{HlsKind, HlsRefusal};
use crate::sim::agentstation::error;
use crate::sim::api::AppState;

/// The playlist and segment routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/agentstation/hls/{id}/{kind}", get(get_hls))
        .route("/agentstation/hls/{id}/{kind}/{file}", get(get_hls))
}

fn refused(why: HlsRefusal) -> Response {
    match why {
        HlsRefusal::Forbidden => error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The stream token is invalid or expired.",
        ),
        HlsRefusal::NotFound => error(StatusCode::NOT_FOUND, "not_found", "No such stream."),
        HlsRefusal::Gone => error(StatusCode::GONE, "gone", "The stream has ended."),
    }
}

fn token(query: &HashMap<String, String>) -> &str {
    query.get("token").map(String::as_str).unwrap_or_default()
}

/// `GET /agentstation/hls/{id}/{kind}?token=T` (the playlist) and
/// `GET /agentstation/hls/{id}/{kind}/{seq}.ts?token=T` (a segment).
async fn get_hls(
    State(s): State<Arc<AppState>>,
    Path(path): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let part = |name: &str| path.get(name).map(String::as_str).unwrap_or_default();
    let (id, token) = (part("id"), token(&query));
    let recorders = s.agentstation.recorders();
    let answer = HlsKind::from_name(part("kind"))
        .ok_or(HlsRefusal::NotFound)
        .and_then(|kind| match path.get("file") {
            None => {
                let text = recorders.playlist(id, kind, token)?;
                let kind = [
                    (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
                    (header::CACHE_CONTROL, "no-cache"),
                ];
                Ok((kind, text).into_response())
            }
            Some(file) => {
                let bytes = recorders.segment(id, kind, file, token)?;
                Ok(([(header::CONTENT_TYPE, "video/mp2t")], bytes).into_response())
            }
        });
    answer.unwrap_or_else(refused)
}
