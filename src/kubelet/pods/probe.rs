//! Probe and lifecycle-hook handlers (exec, HTTP, TCP, gRPC) and the prober
//! loop that turns single results into threshold-crossing transitions.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::{ContainerPort, HTTPHeader, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::backend::{NetBackend, RuntimeBackend};

/// Where a container's probes and hooks go.
pub(crate) struct Target {
    pub(crate) runtime: Arc<dyn RuntimeBackend>,
    pub(crate) net: Arc<dyn NetBackend>,
    pub(crate) container_id: String,
    pub(crate) netns: Option<PathBuf>,
    pub(crate) pod_ip: Option<Ipv4Addr>,
    pub(crate) ports: Vec<ContainerPort>,
}

/// One probe or hook action, taken from the API types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Exec(Vec<String>),
    Http {
        host: Option<String>,
        https: bool,
        path: String,
        port: IntOrString,
        headers: Vec<HTTPHeader>,
    },
    Tcp {
        host: Option<String>,
        port: IntOrString,
    },
    Grpc {
        port: u16,
        service: String,
    },
    Sleep(Duration),
}

impl Action {
    pub(crate) fn from_probe(p: &Probe) -> Option<Action> {
        if let Some(e) = &p.exec {
            return Some(Action::Exec(e.command.clone().unwrap_or_default()));
        }
        if let Some(h) = &p.http_get {
            return Some(Action::Http {
                host: h.host.clone().filter(|h| !h.is_empty()),
                https: h.scheme.as_deref() == Some("HTTPS"),
                path: h.path.clone().unwrap_or_else(|| "/".into()),
                port: h.port.clone(),
                headers: h.http_headers.clone().unwrap_or_default(),
            });
        }
        if let Some(t) = &p.tcp_socket {
            return Some(Action::Tcp {
                host: t.host.clone().filter(|h| !h.is_empty()),
                port: t.port.clone(),
            });
        }
        if let Some(g) = &p.grpc {
            return Some(Action::Grpc {
                port: u16::try_from(g.port).unwrap_or(0),
                service: g.service.clone().unwrap_or_default(),
            });
        }
        None
    }

    pub(crate) fn from_hook(h: &LifecycleHandler) -> Option<Action> {
        if let Some(s) = &h.sleep {
            return Some(Action::Sleep(Duration::from_secs(s.seconds.max(0) as u64)));
        }
        Action::from_probe(&Probe {
            exec: h.exec.clone(),
            http_get: h.http_get.clone(),
            tcp_socket: h.tcp_socket.clone(),
            ..Default::default()
        })
    }
}

fn resolve_port(port: &IntOrString, ports: &[ContainerPort]) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port number: {n}")),
        IntOrString::String(name) => ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| format!("couldn't find port: {name}")),
    }
}

async fn connect(t: &Target, host: Option<&str>, port: u16) -> Result<TcpStream, String> {
    let result = match (host, t.pod_ip) {
        (Some(h), _) => match h.parse::<IpAddr>() {
            Ok(ip) => TcpStream::connect(SocketAddr::new(ip, port)).await,
            Err(_) => TcpStream::connect((h, port)).await,
        },
        (None, Some(ip)) => TcpStream::connect(SocketAddr::new(ip.into(), port)).await,
        (None, None) => t.net.connect(t.netns.as_deref(), port).await,
    };
    result.map_err(|e| format!("dial tcp :{port}: {e}"))
}

/// Runs `action` once; `Err` carries the failure text for events.
pub(crate) async fn run(t: &Target, action: &Action, timeout: Duration) -> Result<(), String> {
    let work = async {
        match action {
            Action::Exec(cmd) => {
                let out = t
                    .runtime
                    .exec_sync(&t.container_id, cmd.clone(), timeout)
                    .await
                    .map_err(|e| e.message)?;
                if out.exit_code == 0 {
                    Ok(())
                } else {
                    let text = String::from_utf8_lossy(&out.output).trim_end().to_owned();
                    Err(if text.is_empty() {
                        format!("command {cmd:?} exited with {}", out.exit_code)
                    } else {
                        text
                    })
                }
            }
            Action::Tcp { host, port } => {
                let port = resolve_port(port, &t.ports)?;
                connect(t, host.as_deref(), port).await.map(drop)
            }
            Action::Http {
                host,
                https,
                path,
                port,
                headers,
            } => {
                if *https {
                    return Err("HTTPS probes are not supported yet".into());
                }
                let port = resolve_port(port, &t.ports)?;
                let stream = connect(t, host.as_deref(), port).await?;
                http_get(stream, host.as_deref(), t.pod_ip, port, path, headers).await
            }
            Action::Grpc { port, service } => {
                let stream = connect(t, None, *port).await?;
                let authority = match t.pod_ip {
                    Some(ip) => format!("{ip}:{port}"),
                    None => format!("localhost:{port}"),
                };
                grpc_check(stream, &authority, service).await
            }
            Action::Sleep(d) => {
                tokio::time::sleep(*d).await;
                Ok(())
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("timeout after {}s", timeout.as_secs())),
    }
}

async fn http_get(
    stream: TcpStream,
    host: Option<&str>,
    pod_ip: Option<Ipv4Addr>,
    port: u16,
    path: &str,
    headers: &[HTTPHeader],
) -> Result<(), String> {
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let authority = match (host, pod_ip) {
        (Some(h), _) => format!("{h}:{port}"),
        (None, Some(ip)) => format!("{ip}:{port}"),
        (None, None) => format!("localhost:{port}"),
    };
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let mut req = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "kube-probe/1.35")
        .header(hyper::header::ACCEPT, "*/*");
    for h in headers {
        req = req.header(h.name.as_str(), h.value.as_str());
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
    let code = resp.status().as_u16();
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}

/// `grpc.health.v1.Health/Check` over HTTP/2 cleartext; SERVING (1) passes.
async fn grpc_check(stream: TcpStream, authority: &str, service: &str) -> Result<(), String> {
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| format!("failed to connect service: {e}"))?;
    tokio::spawn(conn);
    // HealthCheckRequest { string service = 1; } in a gRPC length-prefixed frame.
    let mut msg = Vec::new();
    if !service.is_empty() {
        msg.push(0x0a);
        msg.push(u8::try_from(service.len()).map_err(|_| "service name too long")?);
        msg.extend_from_slice(service.as_bytes());
    }
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    frame.extend_from_slice(&msg);
    // HTTP/2 needs the scheme and authority pseudo-headers: an absolute URI.
    let req = hyper::Request::post(format!("http://{authority}/grpc.health.v1.Health/Check"))
        .version(hyper::Version::HTTP_2)
        .header(hyper::header::CONTENT_TYPE, "application/grpc")
        .header("te", "trailers")
        .header(hyper::header::USER_AGENT, "kube-probe/1.35")
        .body(Full::new(Bytes::from(frame)))
        .map_err(|e| e.to_string())?;
    let resp = send
        .send_request(req)
        .await
        .map_err(|e| format!("health rpc failed: {e}"))?;
    let header_status = resp.headers().get("grpc-status").cloned();
    let collected = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("health rpc failed: {e}"))?;
    let trailer_status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .cloned()
        .or(header_status);
    if let Some(s) = trailer_status.filter(|s| s.as_bytes() != b"0") {
        return Err(format!(
            "health rpc failed with grpc-status {}",
            String::from_utf8_lossy(s.as_bytes())
        ));
    }
    let mut body = collected.to_bytes();
    if body.len() < 5 {
        return Err("health rpc returned no message".into());
    }
    body.advance(5);
    match parse_health_status(&body) {
        1 => Ok(()),
        s => Err(format!(
            "service unhealthy (responded with \"{}\")",
            status_name(s)
        )),
    }
}

fn status_name(s: u64) -> &'static str {
    match s {
        1 => "SERVING",
        2 => "NOT_SERVING",
        3 => "SERVICE_UNKNOWN",
        _ => "UNKNOWN",
    }
}

/// Field 1 (varint) of HealthCheckResponse; 0 (UNKNOWN) when absent.
pub(crate) fn parse_health_status(msg: &[u8]) -> u64 {
    let mut i = 0;
    let varint = |i: &mut usize| {
        let mut v = 0u64;
        let mut shift = 0;
        while *i < msg.len() {
            let b = msg[*i];
            *i += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 || shift > 56 {
                break;
            }
            shift += 7;
        }
        v
    };
    while i < msg.len() {
        let key = varint(&mut i);
        match (key >> 3, key & 7) {
            (1, 0) => return varint(&mut i),
            (_, 0) => {
                varint(&mut i);
            }
            (_, 2) => {
                let len = varint(&mut i) as usize;
                i += len;
            }
            (_, 1) => i += 8,
            (_, 5) => i += 4,
            _ => return 0,
        }
    }
    0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Startup,
    Liveness,
    Readiness,
}

impl Kind {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// One failed attempt (for an Unhealthy event).
    Failed(String),
    /// The thresholds were crossed: now passing (true) or failing (false).
    Changed(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Update {
    pub(crate) container: String,
    pub(crate) container_id: String,
    pub(crate) kind: Kind,
    pub(crate) outcome: Outcome,
}

/// Probes until aborted. Liveness and readiness wait for `started`.
pub(crate) fn spawn(
    kind: Kind,
    probe: Probe,
    target: Arc<Target>,
    container: String,
    mut started: watch::Receiver<bool>,
    tx: mpsc::UnboundedSender<Update>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(action) = Action::from_probe(&probe) else {
            return;
        };
        if kind != Kind::Startup && started.wait_for(|s| *s).await.is_err() {
            return;
        }
        let secs = |v: Option<i32>, d: i32| Duration::from_secs(v.unwrap_or(d).max(0) as u64);
        let period = secs(probe.period_seconds, 10).max(Duration::from_secs(1));
        let timeout = secs(probe.timeout_seconds, 1).max(Duration::from_secs(1));
        let success_threshold = probe.success_threshold.unwrap_or(1).max(1);
        let failure_threshold = probe.failure_threshold.unwrap_or(3).max(1);
        tokio::time::sleep(secs(probe.initial_delay_seconds, 0)).await;
        let (mut successes, mut failures) = (0, 0);
        let mut passing: Option<bool> = None;
        let send = |outcome| {
            tx.send(Update {
                container: container.clone(),
                container_id: target.container_id.clone(),
                kind,
                outcome,
            })
            .is_ok()
        };
        loop {
            match run(&target, &action, timeout).await {
                Ok(()) => {
                    failures = 0;
                    successes += 1;
                    if successes >= success_threshold && passing != Some(true) {
                        passing = Some(true);
                        if !send(Outcome::Changed(true)) {
                            return;
                        }
                    }
                }
                Err(msg) => {
                    successes = 0;
                    failures += 1;
                    if !send(Outcome::Failed(format!(
                        "{} probe failed: {msg}",
                        kind.title()
                    ))) {
                        return;
                    }
                    if failures >= failure_threshold && passing != Some(false) {
                        passing = Some(false);
                        if !send(Outcome::Changed(false)) {
                            return;
                        }
                    }
                }
            }
            if kind == Kind::Startup && passing == Some(true) {
                return;
            }
            tokio::time::sleep(period).await;
        }
    })
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
