//! OpenAPI v3 documents: one per group version, listing every path and
//! operation with its group-version-kind, so kubectl finds the
//! server-side field validation it relies on.

use axum::extract::Path;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::discovery::KUBE_VERSION;
use super::respond::{json, status_response};
use crate::registry::ApiError;
use crate::registry::resources::{self, ResourceDef, VerbSet};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// OpenAPI v2. kubectl asks for gnostic's protobuf encoding and reads
/// what it understands; schemas are not published yet, so the document
/// carries only its version (field 1, `swagger`), which makes clients fall
/// back to their built-in knowledge of the types.
pub(crate) async fn v2(headers: axum::http::HeaderMap) -> Response {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("protobuf") {
        let mut resp = Response::new(axum::body::Body::from(&[0x0a, 0x03, b'2', b'.', b'0'][..]));
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static(
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            ),
        );
        return resp;
    }
    json(
        200,
        &json!({ "swagger": "2.0", "info": { "title": "Kubernetes", "version": KUBE_VERSION }, "paths": {}, "definitions": {} }),
    )
}

pub(crate) async fn root() -> Response {
    let mut paths = Map::new();
    let mut seen = Vec::new();
    for d in resources::all() {
        let p = gv_path(d.group, d.version);
        if !seen.contains(&p) {
            paths.insert(
                p.clone(),
                json!({ "serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash()) }),
            );
            seen.push(p);
        }
    }
    json(200, &json!({ "paths": paths }))
}

/// Documents change only with the binary.
fn hash() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn param(name: &str) -> Value {
    json!({ "name": name, "in": "query", "schema": { "type": "string", "uniqueItems": true } })
}

fn operation(def: &ResourceDef, action: &str, params: &[&str]) -> Value {
    json!({
        "operationId": format!("{action}{}", def.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": { "group": def.group, "version": def.version, "kind": def.kind },
        "parameters": params.iter().map(|p| param(p)).collect::<Vec<_>>(),
        "responses": { "200": { "description": "OK" } },
    })
}

fn doc(group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let base = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for d in resources::all()
        .into_iter()
        .filter(|d| d.group == group && d.version == version)
    {
        let scope = if d.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", d.plural)
        } else {
            format!("{base}/{}", d.plural)
        };
        let write = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
        let mut collection = Map::new();
        let mut item = Map::new();
        match d.verbs {
            VerbSet::CreateOnly => {
                collection.insert("post".into(), operation(d, "post", &write));
            }
            VerbSet::ReadOnly => {
                collection.insert(
                    "get".into(),
                    operation(d, "list", &["labelSelector", "fieldSelector"]),
                );
                item.insert("get".into(), operation(d, "get", &["pretty"]));
            }
            VerbSet::Crud => {
                collection.insert(
                    "get".into(),
                    operation(
                        d,
                        "list",
                        &[
                            "labelSelector",
                            "fieldSelector",
                            "limit",
                            "continue",
                            "resourceVersion",
                            "watch",
                        ],
                    ),
                );
                collection.insert("post".into(), operation(d, "post", &write));
                collection.insert(
                    "delete".into(),
                    operation(
                        d,
                        "deletecollection",
                        &["dryRun", "labelSelector", "fieldSelector"],
                    ),
                );
                item.insert("get".into(), operation(d, "get", &["pretty"]));
                item.insert("put".into(), operation(d, "put", &write));
                item.insert(
                    "patch".into(),
                    operation(
                        d,
                        "patch",
                        &["dryRun", "fieldManager", "fieldValidation", "force"],
                    ),
                );
                item.insert(
                    "delete".into(),
                    operation(
                        d,
                        "delete",
                        &["dryRun", "gracePeriodSeconds", "propagationPolicy"],
                    ),
                );
            }
        }
        paths.insert(scope.clone(), Value::Object(collection));
        if !item.is_empty() {
            paths.insert(format!("{scope}/{{name}}"), Value::Object(item));
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": KUBE_VERSION },
        "paths": paths,
        "components": { "schemas": {} },
    })
}

pub(crate) async fn group_version(Path(path): Path<String>) -> Response {
    let segs: Vec<&str> = path.split('/').collect();
    let gv = match segs.as_slice() {
        ["api", v] => Some(("", *v)),
        ["apis", g, v] => Some((*g, *v)),
        _ => None,
    };
    match gv {
        Some((g, v))
            if resources::all()
                .iter()
                .any(|d| d.group == g && d.version == v) =>
        {
            json(200, &doc(g, v))
        }
        _ => status_response(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )),
    }
}
