//! Health, version and API discovery (legacy and aggregated).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::respond::{json, status_response};
use crate::registry::ApiError;
use crate::registry::resources::{self, ResourceDef, Subresource, VerbSet};

/// The upstream Kubernetes release whose API this server serves.
pub(crate) const KUBE_VERSION: &str = "v1.35.0";

pub(crate) async fn health() -> &'static str {
    "ok"
}

pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

pub(crate) fn version_info() -> Value {
    let (major, minor) = {
        let mut parts = KUBE_VERSION.trim_start_matches('v').split('.');
        (
            parts.next().unwrap_or("1").to_string(),
            parts.next().unwrap_or("0").to_string(),
        )
    };
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": format!("{KUBE_VERSION}+sovedge.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": option_env!("SOVEDGE_GIT_COMMIT").unwrap_or("unknown"),
        "gitTreeState": "clean",
        "buildDate": option_env!("SOVEDGE_BUILD_DATE").unwrap_or("1970-01-01T00:00:00Z"),
        "goVersion": "none (rust)",
        "compiler": "rustc",
        "platform": format!("linux/{}", arch()),
    })
}

pub(crate) fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub(crate) async fn version() -> Response {
    json(200, &version_info())
}

fn verbs(def: &ResourceDef) -> Vec<&'static str> {
    match def.verbs {
        VerbSet::Crud if def.kind == "Namespace" => vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        VerbSet::Crud => vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        VerbSet::CreateOnly => vec!["create"],
        VerbSet::ReadOnly => vec!["get", "list"],
    }
}

fn group_versions() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in resources::all().into_iter().filter(|d| !d.group.is_empty()) {
        let versions = groups.entry(d.group).or_default();
        if !versions.contains(&d.version) {
            versions.push(d.version);
        }
    }
    groups
}

/// Groups in the order upstream lists them: a fixed priority for the
/// built-in groups keeps `kubectl api-versions` stable.
fn ordered_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    const ORDER: &[&str] = &[
        "apiregistration.k8s.io",
        "apps",
        "events.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "networking.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "node.k8s.io",
        "discovery.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
    ];
    let mut groups: Vec<_> = group_versions().into_iter().collect();
    groups.sort_by_key(|(g, _)| ORDER.iter().position(|o| o == g).unwrap_or(ORDER.len()));
    groups
}

fn resource_list(group: &str, version: &str) -> Value {
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut resources = Vec::new();
    for d in resources::all()
        .into_iter()
        .filter(|d| d.group == group && d.version == version)
    {
        let mut r = json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced,
            "kind": d.kind,
            "verbs": verbs(d),
        });
        if !d.short_names.is_empty() {
            r["shortNames"] = json!(d.short_names);
        }
        if !d.categories.is_empty() {
            r["categories"] = json!(d.categories);
        }
        resources.push(r);
        for sub in d.subresources {
            resources.push(match sub {
                Subresource::Status => json!({
                    "name": format!("{}/status", d.plural), "singularName": "", "namespaced": d.namespaced,
                    "kind": d.kind, "verbs": ["get", "patch", "update"],
                }),
                Subresource::Scale => json!({
                    "name": format!("{}/scale", d.plural), "singularName": "", "namespaced": d.namespaced,
                    "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
                }),
            });
        }
        if is_service_account(d) {
            resources.push(json!({
                "name": "serviceaccounts/token", "singularName": "", "namespaced": true,
                "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"],
            }));
        }
    }
    json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources })
}

fn discovery_resources(group: &str, version: &str) -> Vec<Value> {
    resources::all()
        .into_iter()
        .filter(|d| d.group == group && d.version == version)
        .map(|d| {
            let mut r = json!({
                "resource": d.plural,
                "responseKind": { "group": "", "version": "", "kind": d.kind },
                "scope": if d.namespaced { "Namespaced" } else { "Cluster" },
                "singularResource": d.singular,
                "verbs": verbs(d),
            });
            if !d.short_names.is_empty() {
                r["shortNames"] = json!(d.short_names);
            }
            if !d.categories.is_empty() {
                r["categories"] = json!(d.categories);
            }
            let mut subs: Vec<Value> = d
                .subresources
                .iter()
                .map(|s| match s {
                    Subresource::Status => json!({
                        "subresource": "status", "responseKind": { "group": "", "version": "", "kind": d.kind },
                        "verbs": ["get", "patch", "update"],
                    }),
                    Subresource::Scale => json!({
                        "subresource": "scale", "responseKind": { "group": "autoscaling", "version": "v1", "kind": "Scale" },
                        "verbs": ["get", "patch", "update"],
                    }),
                })
                .collect();
            if is_service_account(d) {
                subs.push(json!({
                    "subresource": "token",
                    "responseKind": { "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest" },
                    "verbs": ["create"],
                }));
            }
            if !subs.is_empty() {
                r["subresources"] = json!(subs);
            }
            r
        })
        .collect()
}

/// ServiceAccounts serve the TokenRequest subresource (`api/sa_token.rs`).
fn is_service_account(d: &ResourceDef) -> bool {
    d.group.is_empty() && d.kind == "ServiceAccount"
}

/// The aggregated discovery version a client asked for, if any.
fn aggregated(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    let mut best = None;
    for part in accept.split(',') {
        if !part.contains("as=APIGroupDiscoveryList") || !part.contains("g=apidiscovery.k8s.io") {
            continue;
        }
        if part.contains("v=v2beta1") {
            best = best.or(Some("v2beta1"));
        } else if part.contains("v=v2") {
            return Some("v2");
        }
    }
    best
}

fn aggregated_response(version: &str, items: Vec<Value>) -> Response {
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    let mut resp = json(200, &body);
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    if let Ok(v) = HeaderValue::from_str(&ct) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

pub(crate) async fn legacy_versions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    if let Some(v) = aggregated(&headers) {
        let item = json!({
            "metadata": { "creationTimestamp": null },
            "versions": [{ "version": "v1", "resources": discovery_resources("", "v1"), "freshness": "Current" }],
        });
        return aggregated_response(v, vec![item]);
    }
    json(
        200,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": state.advertise }],
        }),
    )
}

pub(crate) async fn legacy_resources() -> Response {
    json(200, &resource_list("", "v1"))
}

fn group_entry(group: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{group}/{v}"), "version": v }))
        .collect();
    json!({ "name": group, "versions": vs, "preferredVersion": vs[0] })
}

pub(crate) async fn groups(headers: HeaderMap) -> Response {
    let groups = ordered_groups();
    if let Some(v) = aggregated(&headers) {
        let items = groups
            .iter()
            .map(|(g, versions)| {
                let vs: Vec<Value> = versions
                    .iter()
                    .map(|ver| json!({ "version": ver, "resources": discovery_resources(g, ver), "freshness": "Current" }))
                    .collect();
                json!({ "metadata": { "name": g, "creationTimestamp": null }, "versions": vs })
            })
            .collect();
        return aggregated_response(v, items);
    }
    let list: Vec<Value> = groups.iter().map(|(g, vs)| group_entry(g, vs)).collect();
    json(
        200,
        &json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": list }),
    )
}

fn not_found() -> Response {
    status_response(&ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    ))
}

pub(crate) async fn group(Path(group): Path<String>) -> Response {
    match group_versions().get(group.as_str()) {
        Some(vs) => {
            let mut g = group_entry(&group, vs);
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            json(200, &g)
        }
        None => not_found(),
    }
}

pub(crate) async fn group_resources(Path((group, version)): Path<(String, String)>) -> Response {
    if resources::all()
        .into_iter()
        .any(|d| d.group == group && d.version == version)
    {
        json(200, &resource_list(&group, &version))
    } else {
        not_found()
    }
}
