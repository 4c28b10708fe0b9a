//! The resource endpoints: parse the URL and query, call the registry,
//! shape the answer (JSON, Table or metadata-only).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::query::Query;
use super::respond::{json, json_bytes, status_response, with_warnings};
use super::{AppState, MAX_BODY, table, watch};
use crate::registry::patch::PatchKind;
use crate::registry::resources::{self, ResourceDef, Subresource};
use crate::registry::{ApiError, Deleted, Result, UserInfo};

/// What a resource URL names.
pub(crate) struct Target {
    pub(crate) def: &'static ResourceDef,
    pub(crate) ns: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) sub: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

pub(crate) fn parse_target(path: &str) -> Result<Target> {
    // Segments are split before they are decoded, and a decoded segment
    // may not contain a slash, so an escaped name cannot reach other keys.
    let decoded: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(super::query::decode)
        .collect();
    if decoded.iter().any(|s| s.is_empty() || s.contains('/')) {
        return Err(not_found());
    }
    let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(not_found()),
    };
    let (ns, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if *plural != "status" && *plural != "finalize" => {
            (Some(*ns), {
                let mut v = vec![*plural];
                v.extend_from_slice(tail);
                v
            })
        }
        other => (None, other.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return Err(not_found()),
    };
    let def = resources::find(group, version, plural).ok_or_else(not_found)?;
    if ns.is_some() && !def.namespaced {
        return Err(not_found());
    }
    if ns.is_none() && def.namespaced && name.is_some() {
        return Err(not_found());
    }
    Ok(Target {
        def,
        ns: ns.map(String::from),
        name: name.map(String::from),
        sub: sub.map(String::from),
    })
}

/// How the client wants objects rendered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Render {
    Full,
    Table,
    Metadata,
}

pub(crate) fn render_of(headers: &axum::http::HeaderMap) -> Render {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first acceptable alternative wins, as content negotiation goes.
    for part in accept.split(',') {
        if part.contains("as=Table") {
            return Render::Table;
        }
        if part.contains("as=PartialObjectMetadata") {
            return Render::Metadata;
        }
        if part.trim_start().starts_with("application/json") || part.contains("*/*") {
            return Render::Full;
        }
    }
    Render::Full
}

pub(crate) async fn resource(State(state): State<Arc<AppState>>, req: Request) -> Response {
    // Logs, exec, attach and port-forward stream rather than read or write
    // an object.
    if let Ok(target) = parse_target(req.uri().path())
        && super::stream::is_streaming(&target)
    {
        return super::stream::serve(state, target, req)
            .await
            .unwrap_or_else(|e| status_response(&e));
    }
    // Every request to a deprecated custom resource version is warned.
    let deprecation = parse_target(req.uri().path())
        .ok()
        .and_then(|t| crate::registry::crd::deprecation_warning(t.def));
    let result = if req.method() == Method::GET {
        handle(state, req).await
    } else {
        // A write runs to its end (and its follow-up work is started) even
        // when the client goes away mid-request.
        match tokio::spawn(handle(state, req)).await {
            Ok(r) => r,
            Err(e) => Err(ApiError::internal(format!("request handler failed: {e}"))),
        }
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(e) => with_warnings(status_response(&e), &e.warnings),
    };
    match deprecation {
        Some(w) => with_warnings(resp, &[w.to_string()]),
        None => resp,
    }
}

fn with_name(mut v: serde_json::Value, name: &str) -> serde_json::Value {
    if let Some(m) = v.as_object_mut() {
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.entry("name").or_insert_with(|| json!(name));
        }
    }
    v
}

async fn handle(state: Arc<AppState>, req: Request) -> Result<Response> {
    let (parts, body) = req.into_parts();
    let target = parse_target(parts.uri.path())?;
    let query = Query::parse(parts.uri.query());
    let user = parts
        .extensions
        .get::<UserInfo>()
        .cloned()
        .unwrap_or_default();
    let body = read_body(body).await?;
    let render = render_of(&parts.headers);
    let registry = &state.registry;
    let def = target.def;
    let ns = target.ns.as_deref();
    let sub = match target.sub.as_deref() {
        None => None,
        Some("status") if def.subresources.contains(&Subresource::Status) => {
            Some(Subresource::Status)
        }
        Some("scale") if def.subresources.contains(&Subresource::Scale) => Some(Subresource::Scale),
        Some("binding") if def.kind == "Pod" && parts.method == Method::POST => {
            let body_value = parse_body(&body, &parts.headers)?;
            let body_name = body_value
                .pointer("/metadata/name")
                .and_then(serde_json::Value::as_str);
            if body_name.is_some_and(|n| Some(n) != target.name.as_deref()) {
                return Err(ApiError::bad_request(
                    "name in the binding does not match the pod name in the URL",
                ));
            }
            let binding = resources::find("", "v1", "bindings").ok_or_else(not_found)?;
            let opts = write_opts(&query, user, &parts)?;
            let out = registry
                .create(
                    binding,
                    ns,
                    with_name(body_value, target.name.as_deref().unwrap_or("")),
                    &opts,
                )
                .await?;
            return Ok(json(201, &out.object));
        }
        Some("token")
            if def.kind == "ServiceAccount"
                && def.group.is_empty()
                && parts.method == Method::POST =>
        {
            let body_value = parse_body(&body, &parts.headers)?;
            let (Some(ns), Some(name)) = (ns, target.name.as_deref()) else {
                return Err(not_found());
            };
            let out = super::sa_token::request(&state.signer, registry, ns, name, &body_value)?;
            return Ok(json(201, &out));
        }
        Some(_) => return Err(not_found()),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Across all namespaces a namespaced resource can only be read.
    if def.namespaced && ns.is_none() && parts.method != Method::GET {
        return Err(ApiError::method_not_allowed(def));
    }
    if def.kind == "Namespace"
        && def.group.is_empty()
        && parts.method == Method::DELETE
        && target.name.is_none()
    {
        return Err(ApiError::method_not_allowed(def));
    }
    match (parts.method.clone(), target.name.as_deref()) {
        (Method::GET, Some(name)) => {
            if sub == Some(Subresource::Scale) {
                return Ok(json(200, &registry.get_scale(def, ns, name)?));
            }
            if query.flag("watch") {
                let mut q = query;
                let by_name = format!("metadata.name={name}");
                let combined = match q.get("fieldSelector").filter(|f| !f.is_empty()) {
                    Some(f) => format!("{f},{by_name}"),
                    None => by_name,
                };
                q.0.insert("fieldSelector".into(), combined);
                return watch::serve(registry.clone(), def, ns, &q, render).await;
            }
            let obj = registry.get(def, ns, name)?;
            Ok(json(200, &table::render_one(def, &obj, render, &query)))
        }
        (Method::GET, None) => {
            if query.flag("watch") {
                return watch::serve(registry.clone(), def, ns, &query, render).await;
            }
            let opts = query.list_opts(def)?;
            let list = registry.list(def, ns, &opts)?;
            Ok(json_bytes(
                200,
                table::render_list(def, &list, render, &query),
            ))
        }
        (Method::POST, None) => {
            let opts = write_opts(&query, user, &parts)?;
            let obj = parse_body(&body, &parts.headers)?;
            let out = registry.create(def, ns, obj, &opts).await?;
            Ok(with_warnings(json(201, &out.object), &out.warnings))
        }
        (Method::PUT, Some(name)) => {
            let opts = write_opts(&query, user, &parts)?;
            let obj = parse_body(&body, &parts.headers)?;
            let out = registry.update(def, ns, name, obj, sub, &opts).await?;
            Ok(with_warnings(json(200, &out.object), &out.warnings))
        }
        (Method::PATCH, Some(name)) => {
            let opts = write_opts(&query, user, &parts)?;
            if is_apply(content_type) {
                let (out, created) = registry.apply(def, ns, name, &body, sub, &opts).await?;
                let code = if created { 201 } else { 200 };
                return Ok(with_warnings(json(code, &out.object), &out.warnings));
            }
            if opts.force {
                return Err(crate::registry::apply::options_invalid(
                    "PatchOptions",
                    "force: Forbidden: may not be specified for non-apply patch",
                ));
            }
            let kind = PatchKind::from_content_type(content_type)
                .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
            let out = registry
                .patch(def, ns, name, kind, &body, sub, &opts)
                .await?;
            Ok(with_warnings(json(200, &out.object), &out.warnings))
        }
        (Method::DELETE, Some(name)) if sub.is_none() => {
            let (opts, dry_run) = query.delete_opts(&body)?;
            let mut wopts = query.write_opts()?;
            wopts.dry_run |= dry_run;
            wopts.user = user;
            match registry.delete(def, ns, name, &opts, &wopts).await? {
                Deleted::Gone(obj) => Ok(json(200, &success(def, &obj))),
                // Upstream answers 200 with the object while finalizers or
                // termination hold it.
                Deleted::Pending(obj) => Ok(json(200, &obj)),
            }
        }
        (Method::DELETE, None) => {
            let (opts, dry_run) = query.delete_opts(&body)?;
            let mut wopts = query.write_opts()?;
            wopts.dry_run |= dry_run;
            wopts.user = user;
            let list = query.list_opts(def)?;
            let deleted = registry
                .delete_collection(def, ns, &list, &opts, &wopts)
                .await?;
            let items: Vec<Value> = deleted.iter().map(|o| (**o).clone()).collect();
            let list_kind = format!("{}List", def.kind);
            Ok(json(
                200,
                &json!({ "kind": list_kind, "apiVersion": api_version(def), "metadata": {}, "items": items }),
            ))
        }
        _ => Err(ApiError::method_not_allowed(def)),
    }
}

/// Write options of a request: query parameters, the user and the
/// User-Agent (which names the field manager when the query does not).
fn write_opts(
    query: &Query,
    user: UserInfo,
    parts: &axum::http::request::Parts,
) -> Result<crate::registry::WriteOpts> {
    let options_kind = match parts.method {
        Method::POST => "CreateOptions",
        Method::PUT => "UpdateOptions",
        _ => "PatchOptions",
    };
    crate::registry::apply::validate_manager(options_kind, query.get("fieldManager"))?;
    let mut opts = query.write_opts()?;
    opts.user = user;
    opts.user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Ok(opts)
}

/// `application/apply-patch+yaml` (parameters and case aside).
fn is_apply(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/apply-patch+yaml")
}

/// Reads the body up to [`MAX_BODY`]. A larger body is read to its end
/// (up to a hard cap) and discarded, so the client gets the 413 instead of
/// a connection reset.
async fn read_body(body: axum::body::Body) -> Result<Bytes> {
    use http_body_util::BodyExt;
    const DRAIN_CAP: usize = 64 * 1024 * 1024;
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("read request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= MAX_BODY {
                buf.extend_from_slice(&data);
            } else if seen > DRAIN_CAP {
                break;
            }
        }
    }
    if seen > MAX_BODY {
        return Err(ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {MAX_BODY}"),
        ));
    }
    Ok(Bytes::from(buf))
}

pub(crate) fn api_version(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        def.version.to_string()
    } else {
        format!("{}/{}", def.group, def.version)
    }
}

fn success(def: &ResourceDef, obj: &Value) -> Value {
    let mut details = json!({
        "name": obj.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
        "kind": def.plural,
        "uid": obj.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
    });
    if !def.group.is_empty() {
        details["group"] = json!(def.group);
    }
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details })
}

fn parse_body(body: &Bytes, headers: &axum::http::HeaderMap) -> Result<Value> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media == super::protobuf::MEDIA_TYPE {
        return super::protobuf::to_json(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding protobuf body: {e}")));
    }
    if !media.is_empty() && media != "application/json" && media != "*/*" {
        return Err(ApiError::unsupported_media_type(ct));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("error decoding request body: invalid JSON: {e}"))
    })
}
