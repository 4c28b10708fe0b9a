//! OpenAPI documents: v2 (JSON, or gnostic protobuf as kubectl asks for
//! it) and v3 (a root listing one document per group version), with the
//! schemas of every served kind, so `kubectl explain`, client-side
//! validation and client-side patch computation work as upstream.

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::{Map, json};

use super::respond::{json, json_bytes, status_response};
use crate::registry::ApiError;
use crate::registry::resources;

mod docs;
mod gnostic;
#[cfg(test)]
mod tests;

const PROTOBUF_V2: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Answers 304 when the client already holds the document with `etag`.
fn not_modified(headers: &HeaderMap, etag: &str) -> Option<Response> {
    let sent = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    sent.split(',').any(|t| t.trim() == etag).then(|| {
        let mut resp = Response::new(axum::body::Body::empty());
        *resp.status_mut() = axum::http::StatusCode::NOT_MODIFIED;
        set_etag(&mut resp, etag);
        resp
    })
}

fn set_etag(resp: &mut Response, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
}

/// `/openapi/v2`, in gnostic protobuf when the client accepts it.
pub(crate) async fn v2(headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let protobuf = accept.contains("protobuf");
    let etag = format!(
        "\"{}{}\"",
        docs::served_hash(None),
        if protobuf { "-pb" } else { "" }
    );
    if let Some(r) = not_modified(&headers, &etag) {
        return r;
    }
    let doc = docs::v2();
    let mut resp = if protobuf {
        let mut r = Response::new(axum::body::Body::from(gnostic::encode(&doc)));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROTOBUF_V2));
        r
    } else {
        json_bytes(200, serde_json::to_vec(&doc).unwrap_or_default())
    };
    set_etag(&mut resp, &etag);
    resp
}

/// `/openapi/v3`: where each group version's document is, with its hash.
pub(crate) async fn root() -> Response {
    let mut paths = Map::new();
    for d in resources::all() {
        let p = docs::gv_path(d.group, d.version);
        if !paths.contains_key(&p) {
            let hash = docs::served_hash(Some((d.group, d.version)));
            paths.insert(
                p.clone(),
                json!({ "serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}") }),
            );
        }
    }
    json(200, &json!({ "paths": paths }))
}

/// `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`. With the
/// current `hash=` the answer may be cached for good; an outdated hash is
/// redirected to the current one, as upstream does.
pub(crate) async fn group_version(
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let segs: Vec<&str> = path.split('/').collect();
    let gv = match segs.as_slice() {
        ["api", v] => Some(("", *v)),
        ["apis", g, v] => Some((*g, *v)),
        _ => None,
    };
    let not_found = || {
        status_response(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ))
    };
    let Some((g, v)) = gv else {
        return not_found();
    };
    let hash = docs::served_hash(Some((g, v)));
    let etag = format!("\"{hash}\"");
    if !resources::all()
        .iter()
        .any(|d| d.group == g && d.version == v)
    {
        return not_found();
    }
    let asked = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("hash="));
    let cache = match asked {
        Some(h) if h != hash => {
            let mut r = Response::new(axum::body::Body::empty());
            *r.status_mut() = axum::http::StatusCode::MOVED_PERMANENTLY;
            if let Ok(v) = HeaderValue::from_str(&format!("/openapi/v3/{path}?hash={hash}")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        Some(_) => "public, immutable",
        None => "no-cache, private",
    };
    if let Some(r) = not_modified(&headers, &etag) {
        return r;
    }
    let Some(doc) = docs::v3(g, v) else {
        return not_found();
    };
    let mut resp = json_bytes(200, serde_json::to_vec(&doc).unwrap_or_default());
    set_etag(&mut resp, &etag);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
