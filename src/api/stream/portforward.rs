//! port-forward: SPDY streams in pairs (error + data per connection) as
//! kubectl up to 1.30 sends them, the same tunneled in WebSocket messages
//! (kubectl 1.31+), or WebSocket channel pairs per `ports` entry.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::session::{self, Gone, Sink};
use super::ws::{self, Channels, In};
use super::{Params, Upgrade, mux, spdy_upgrade, upgrade_kind};
use crate::kubelet::streams::PodStreams;
use crate::registry::{ApiError, Result};

const SPDY_PROTOCOL: &str = "portforward.k8s.io";
const TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
const WS_PROTOCOLS: &[&str] = &[
    TUNNEL_PROTOCOL,
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
];

#[derive(Clone)]
struct Target {
    streams: Arc<dyn PodStreams>,
    ns: String,
    pod: String,
}

pub(super) fn serve(
    streams: Arc<dyn PodStreams>,
    ns: &str,
    pod: &str,
    params: &Params,
    req: Request,
) -> Result<Response> {
    let target = Target {
        streams,
        ns: ns.to_string(),
        pod: pod.to_string(),
    };
    match upgrade_kind(&req)? {
        Upgrade::Spdy => spdy_upgrade(req, &[SPDY_PROTOCOL], move |conn, _| {
            over_spdy(target, conn)
        }),
        Upgrade::WebSocket => {
            let protocol = ws::choose(&req, WS_PROTOCOLS)?;
            if protocol == TUNNEL_PROTOCOL {
                return ws::upgrade(req, protocol, move |socket| {
                    over_spdy(target, mux::Conn::start(ws::tunnel(socket)))
                });
            }
            let ports = ports(params)?;
            let (_, base64) = ws::channel_protocol(&protocol);
            ws::upgrade(req, protocol, move |socket| {
                over_channels(target, ports, socket, base64)
            })
        }
    }
}

fn ports(params: &Params) -> Result<Vec<u16>> {
    let mut out = Vec::new();
    for value in params.all("ports").iter().flat_map(|v| v.split(',')) {
        let port = value
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ApiError::bad_request(format!("unable to parse {value:?} as a port")))?;
        out.push(port);
    }
    if out.is_empty() {
        return Err(ApiError::bad_request(
            "query parameter \"port\" is required",
        ));
    }
    Ok(out)
}

async fn over_spdy(target: Target, mut conn: mux::Conn) {
    let mut pending: HashMap<String, (Option<mux::Stream>, Option<mux::Stream>)> = HashMap::new();
    let mut forwards = JoinSet::new();
    while let Some(stream) = conn.incoming.recv().await {
        let key = format!(
            "{}/{}",
            stream.header("requestid").unwrap_or(""),
            stream.header("port").unwrap_or("")
        );
        let slot = pending.entry(key.clone()).or_default();
        match stream.header("streamtype") {
            Some("error") => slot.0 = Some(stream),
            Some("data") => slot.1 = Some(stream),
            _ => {
                conn.writer.fin(stream.id).await;
                continue;
            }
        }
        if !matches!(pending.get(&key), Some((Some(_), Some(_)))) {
            continue;
        }
        if let Some((Some(error), Some(data))) = pending.remove(&key) {
            forwards.spawn(one_connection(
                target.clone(),
                error,
                data,
                conn.writer.clone(),
                conn.gone.clone(),
            ));
        }
    }
    forwards.abort_all();
    conn.close().await;
}

async fn one_connection(
    target: Target,
    error: mux::Stream,
    data: mux::Stream,
    writer: mux::Writer,
    gone: Gone,
) {
    let port = data.header("port").unwrap_or("");
    match port.parse::<u16>().ok().filter(|p| *p > 0) {
        None => {
            let msg = format!("unable to parse {port:?} as a port");
            writer.data(error.id, Bytes::from(msg)).await;
            writer.fin(data.id).await;
        }
        Some(port) => match target
            .streams
            .port_forward(&target.ns, &target.pod, port)
            .await
        {
            Ok(tcp) => {
                let out = Sink::Spdy {
                    id: data.id,
                    writer: writer.clone(),
                };
                session::forward(tcp, data.data, out, gone).await;
            }
            Err(e) => {
                let msg = format!(
                    "error forwarding port {port} to pod {}: {}",
                    target.pod, e.message
                );
                writer.data(error.id, Bytes::from(msg)).await;
                writer.fin(data.id).await;
            }
        },
    }
    writer.fin(error.id).await;
}

/// v4 channels: for the i-th port, channel 2i carries data and 2i+1
/// errors; each starts with the port, little-endian, from this side.
async fn over_channels(target: Target, ports: Vec<u16>, socket: ws::Ws, base64: bool) {
    let mut channels = Channels::start(socket, base64, false);
    let mut inputs = Vec::new();
    let mut forwards = JoinSet::new();
    for (i, port) in ports.iter().copied().enumerate() {
        let data_channel = (2 * i) as u8;
        let sink = |channel: u8| Sink::Ws {
            channel,
            base64,
            tx: channels.out.clone(),
        };
        let (data, error) = (sink(data_channel), sink(data_channel + 1));
        data.write(Bytes::copy_from_slice(&port.to_le_bytes()))
            .await;
        error
            .write(Bytes::copy_from_slice(&port.to_le_bytes()))
            .await;
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        inputs.push(tx);
        let target = target.clone();
        let gone = channels.gone.clone();
        forwards.spawn(async move {
            match target
                .streams
                .port_forward(&target.ns, &target.pod, port)
                .await
            {
                Ok(tcp) => session::forward(tcp, rx, data, gone).await,
                Err(e) => {
                    let msg = format!(
                        "error forwarding port {port} to pod {}: {}",
                        target.pod, e.message
                    );
                    error.write(Bytes::from(msg)).await;
                }
            }
        });
    }
    let mut incoming = std::mem::replace(&mut channels.incoming, mpsc::channel(1).1);
    let router = tokio::spawn(async move {
        while let Some(event) = incoming.recv().await {
            if let In::Data(channel, data) = event
                && channel % 2 == 0
                && let Some(tx) = inputs.get(usize::from(channel / 2))
            {
                let _ = tx.send(data).await;
            }
        }
    });
    // The connection ends with the first forwarded connection to end.
    forwards.join_next().await;
    forwards.abort_all();
    router.abort();
    channels.finish().await;
}
