//! The streaming subresources of pods: `log` as a plain (chunked) response,
//! and `exec`, `attach` and `portforward` over an upgraded connection
//! (SPDY/3.1 for older kubectl, WebSocket channels or SPDY tunneled in
//! WebSocket for newer).

mod exec;
mod mux;
mod portforward;
mod session;
mod spdy;
mod ws;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::AppState;
use super::handlers::Target;
use crate::kubelet::streams::{LogOptions, PodStreams};
use crate::registry::{ApiError, Result};

/// Whether a resource URL names one of the streaming subresources.
pub(crate) fn is_streaming(target: &Target) -> bool {
    target.def.kind == "Pod"
        && target.def.group.is_empty()
        && target.name.is_some()
        && matches!(
            target.sub.as_deref(),
            Some("exec" | "attach" | "portforward" | "log")
        )
}

/// The query of a streaming request, repeated parameters kept.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> Params {
        Params(
            raw.unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (super::query::decode(k), super::query::decode(v))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True" | "TRUE"))
    }
}

/// What an exec or attach asks for.
#[derive(Debug, Clone)]
pub(super) struct ExecRequest {
    pub(super) ns: String,
    pub(super) pod: String,
    pub(super) container: String,
    pub(super) command: Vec<String>,
    pub(super) stdin: bool,
    pub(super) stdout: bool,
    pub(super) stderr: bool,
    pub(super) tty: bool,
}

pub(crate) async fn serve(state: Arc<AppState>, target: Target, req: Request) -> Result<Response> {
    let sub = target.sub.as_deref().unwrap_or("");
    let name = target.name.as_deref().unwrap_or("");
    let ns = target.ns.as_deref().unwrap_or("default");
    let allowed = match sub {
        "log" => req.method() == Method::GET,
        _ => req.method() == Method::GET || req.method() == Method::POST,
    };
    if !allowed {
        return Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource (pods/{sub})"),
        ));
    }
    let pod = state.registry.get(target.def, Some(ns), name)?;
    let params = Params::parse(req.uri().query());
    let Some(streams) = state.streams.get().cloned() else {
        return Err(ApiError::new(
            503,
            "ServiceUnavailable",
            format!("pods/{sub} is not available: the kubelet is disabled on this server"),
        ));
    };
    match sub {
        "log" => {
            let mut opts = LogOptions::parse(name, |k| params.get(k))?;
            opts.container = Some(container_of(&pod, name, opts.container.as_deref())?);
            logs(streams, ns, name, opts).await
        }
        "portforward" => portforward::serve(streams, ns, name, &params, req),
        _ => {
            let container = container_of(&pod, name, params.get("container"))?;
            let tty = params.flag("tty");
            let exec = ExecRequest {
                ns: ns.to_string(),
                pod: name.to_string(),
                container,
                command: params.all("command"),
                stdin: params.flag("stdin"),
                stdout: params.flag("stdout"),
                // A terminal carries stderr on stdout.
                stderr: params.flag("stderr") && !tty,
                tty,
            };
            if sub == "exec" && exec.command.is_empty() {
                return Err(ApiError::bad_request(
                    "you must specify at least one command for the container",
                ));
            }
            if !exec.stdin && !exec.stdout && !exec.stderr {
                return Err(ApiError::bad_request(
                    "you must specify at least 1 of stdin, stdout, stderr",
                ));
            }
            exec::serve(streams, exec, sub == "attach", req)
        }
    }
}

async fn logs(
    streams: Arc<dyn PodStreams>,
    ns: &str,
    name: &str,
    opts: LogOptions,
) -> Result<Response> {
    let stream = streams.logs(ns, name, opts).await?;
    let mut resp = Body::from_stream(stream).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

/// The container a request names, checked against the pod; without a
/// name, the pod's default container (annotation) or its first one.
fn container_of(pod: &Value, pod_name: &str, asked: Option<&str>) -> Result<String> {
    let names = |key: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{key}"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let containers = names("containers");
    let init = names("initContainers");
    let ephemeral = names("ephemeralContainers");
    match asked.filter(|c| !c.is_empty()) {
        Some(c) => {
            if containers
                .iter()
                .chain(&init)
                .chain(&ephemeral)
                .any(|n| n == c)
            {
                Ok(c.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {pod_name}"
                )))
            }
        }
        None => {
            let annotated = pod
                .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
                .and_then(Value::as_str)
                .filter(|a| containers.iter().any(|n| n == a));
            annotated
                .map(String::from)
                .or_else(|| containers.first().cloned())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "a container name must be specified for pod {pod_name}"
                    ))
                })
        }
    }
}

/// How the client asked to upgrade.
enum Upgrade {
    Spdy,
    WebSocket,
}

fn upgrade_kind(req: &Request) -> Result<Upgrade> {
    let wanted = header_list(req.headers(), "upgrade");
    if req.version() == Version::HTTP_11 || req.version() == Version::HTTP_10 {
        if wanted.iter().any(|u| u.eq_ignore_ascii_case("websocket")) {
            return Ok(Upgrade::WebSocket);
        }
        if wanted.iter().any(|u| u.eq_ignore_ascii_case("SPDY/3.1")) {
            return Ok(Upgrade::Spdy);
        }
    }
    // HTTP/2 has no Upgrade; clients must come over HTTP/1.1 for streams.
    Err(ApiError::bad_request("Upgrade request required"))
}

/// Values of a header that may be repeated and comma-separated.
fn header_list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The first of the client's protocols this side speaks.
fn negotiate(client: &[String], server: &[&str]) -> Option<String> {
    client
        .iter()
        .find(|c| server.contains(&c.as_str()))
        .cloned()
}

/// Answers an SPDY upgrade with the chosen protocol and runs `session` on
/// the upgraded connection.
fn spdy_upgrade<F, Fut>(mut req: Request, server: &[&str], session: F) -> Result<Response>
where
    F: FnOnce(mux::Conn, String) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let offered = header_list(req.headers(), "x-stream-protocol-version");
    let protocol = if offered.is_empty() {
        String::new()
    } else {
        negotiate(&offered, server).ok_or_else(|| {
            ApiError::new(
                403,
                "Forbidden",
                format!(
                    "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports {server:?}"
                ),
            )
        })?
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let chosen = protocol.clone();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let conn = mux::Conn::start(TokioIo::new(upgraded));
                session(conn, chosen).await;
            }
            Err(e) => tracing::debug!(error = %e, "spdy upgrade failed"),
        }
    });
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    if !protocol.is_empty()
        && let Ok(v) = HeaderValue::from_str(&protocol)
    {
        h.insert("x-stream-protocol-version", v);
    }
    Ok(resp)
}
