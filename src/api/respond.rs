//! Building HTTP responses from registry results.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::registry::ApiError;

pub(crate) fn json(code: u16, body: &Value) -> Response {
    json_bytes(code, serde_json::to_vec(body).unwrap_or_default())
}

pub(crate) fn json_bytes(code: u16, bytes: Vec<u8>) -> Response {
    let mut resp = (StatusCode::from_u16(code).unwrap_or(StatusCode::OK), bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn status_response(e: &ApiError) -> Response {
    json(e.code, &e.status())
}

/// Adds `Warning: 299 - "..."` headers, as upstream reports field
/// validation warnings.
pub(crate) fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}
