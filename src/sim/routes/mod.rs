//! The simulator's HTTP server: one router for every provider's REST routes and
//! WebSocket upgrades, each provider's in its own file, all sharing [`state::AppState`].
//!
//! `GET /api/v1/tasks/{id}` is both Optexity's and Waldiez's: a request with
//! `Authorization` and no `x-api-key` goes to Waldiez. Any other path answers 404
//! `{"detail":"Not Found"}`.

mod agentstation;
mod chaser;
mod fastapi;
mod optexity;
pub(crate) mod state;
mod waldiez;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use state::AppState;

/// Every route, over `state`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/tasks/{id}", get(task))
        .merge(optexity::routes())
        .merge(chaser::routes())
        .merge(waldiez::routes())
        .merge(agentstation::routes())
        .fallback(|| async { fastapi::detail(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(state)
}

/// `GET /api/v1/tasks/{id}`: Waldiez's for a request with `Authorization` and no
/// `x-api-key`, else Optexity's.
async fn task(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if waldiez::is_waldiez_request(&headers) {
        return waldiez::get_task(&s, &id, &headers).await;
    }
    optexity::task_status(&s, &id, &headers)
}
