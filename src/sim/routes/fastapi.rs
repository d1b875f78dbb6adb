//! FastAPI's error bodies, which the Optexity API and the Waldiez Runner (both FastAPI
//! services) answer with.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer, `{"detail": text}`.
pub(crate) fn detail(code: StatusCode, text: &str) -> Response {
    (code, axum::Json(json!({ "detail": text }))).into_response()
}

/// FastAPI's answer to a body missing a field.
pub(crate) fn missing_field(location: &str, field: &str) -> Response {
    let body = json!({ "detail": [{
        "type": "missing",
        "loc": [location, field],
        "msg": "Field required",
    }]});
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// FastAPI's answer to a query parameter it cannot take.
pub(crate) fn bad_query(field: &str, msg: &str) -> Response {
    let body = json!({ "detail": [{
        "type": "value_error",
        "loc": ["query", field],
        "msg": msg,
    }]});
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}
