//! exec and attach: the client's streams over SPDY or WebSocket channels,
//! joined to a process on the node.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use tokio::sync::mpsc;

use super::session::{self, Client, Sink};
use super::ws::{self, Channels, In};
use super::{ExecRequest, Upgrade, mux, spdy_upgrade, upgrade_kind};
use crate::kubelet::streams::{BoxFuture, PodStreams, ProcessIo};
use crate::registry::{ApiError, Result};

const SPDY_PROTOCOLS: &[&str] = &[
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];
const WS_PROTOCOLS: &[&str] = &[
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
];
/// How long the client has to open the streams it announced.
const STREAM_WAIT: Duration = Duration::from_secs(30);

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;

pub(super) fn serve(
    streams: Arc<dyn PodStreams>,
    exec: ExecRequest,
    attach: bool,
    req: Request,
) -> Result<Response> {
    match upgrade_kind(&req)? {
        Upgrade::Spdy => spdy_upgrade(req, SPDY_PROTOCOLS, move |conn, protocol| {
            over_spdy(streams, exec, attach, conn, protocol)
        }),
        Upgrade::WebSocket => {
            let protocol = ws::choose(&req, WS_PROTOCOLS)?;
            ws::upgrade(req, protocol.clone(), move |socket| {
                over_websocket(streams, exec, attach, socket, protocol)
            })
        }
    }
}

fn start(
    streams: &Arc<dyn PodStreams>,
    exec: &ExecRequest,
    attach: bool,
) -> BoxFuture<'static, Result<ProcessIo, ApiError>> {
    let container = Some(exec.container.clone());
    if attach {
        streams.attach(&exec.ns, &exec.pod, container, exec.stdin, exec.tty)
    } else {
        streams.exec(
            &exec.ns,
            &exec.pod,
            container,
            exec.command.clone(),
            exec.tty,
            exec.stdin,
        )
    }
}

async fn over_spdy(
    streams: Arc<dyn PodStreams>,
    exec: ExecRequest,
    attach: bool,
    mut conn: mux::Conn,
    protocol: String,
) {
    let with_resize =
        exec.tty && matches!(protocol.as_str(), "v4.channel.k8s.io" | "v3.channel.k8s.io");
    let expected = 1
        + usize::from(exec.stdin)
        + usize::from(exec.stdout)
        + usize::from(exec.stderr)
        + usize::from(with_resize);
    let mut got: HashMap<String, mux::Stream> = HashMap::new();
    let collect = async {
        while got.len() < expected {
            let Some(stream) = conn.incoming.recv().await else {
                return false;
            };
            let kind = stream.header("streamtype").unwrap_or("").to_string();
            got.insert(kind, stream);
        }
        true
    };
    match tokio::time::timeout(STREAM_WAIT, collect).await {
        Ok(true) => {}
        Ok(false) => return conn.close().await,
        Err(_) => {
            tracing::debug!(pod = %exec.pod, "client did not open its streams in time");
            return conn.close().await;
        }
    }
    let sink = |s: &mux::Stream| Sink::Spdy {
        id: s.id,
        writer: conn.writer.clone(),
    };
    let client = Client {
        stdout: got.get("stdout").map(sink),
        stderr: got.get("stderr").map(sink),
        error: got.get("error").map(sink),
        stdin: got.remove("stdin").map(|s| s.data),
        resize: got.remove("resize").map(|s| s.data),
        status_json: protocol == "v4.channel.k8s.io",
        gone: conn.gone.clone(),
    };
    session::run(client, start(&streams, &exec, attach)).await;
    conn.close().await;
}

async fn over_websocket(
    streams: Arc<dyn PodStreams>,
    exec: ExecRequest,
    attach: bool,
    socket: ws::Ws,
    protocol: String,
) {
    let (version, base64) = ws::channel_protocol(&protocol);
    let mut channels = Channels::start(socket, base64, version >= 5);
    let (stdin_tx, stdin_rx) = mpsc::channel(16);
    let (resize_tx, resize_rx) = mpsc::channel(4);
    let mut incoming = std::mem::replace(&mut channels.incoming, mpsc::channel(1).1);
    let router = tokio::spawn(async move {
        let mut stdin_tx = Some(stdin_tx);
        while let Some(event) = incoming.recv().await {
            match event {
                In::Data(STDIN, data) => {
                    if let Some(tx) = &stdin_tx {
                        let _ = tx.send(data).await;
                    }
                }
                In::Data(RESIZE, data) => {
                    let _ = resize_tx.send(data).await;
                }
                In::Closed(STDIN) => stdin_tx = None,
                _ => {}
            }
        }
    });
    let sink = |channel: u8| Sink::Ws {
        channel,
        base64,
        tx: channels.out.clone(),
    };
    let client = Client {
        stdin: exec.stdin.then_some(stdin_rx),
        resize: exec.tty.then_some(resize_rx),
        stdout: exec.stdout.then(|| sink(STDOUT)),
        stderr: exec.stderr.then(|| sink(STDERR)),
        error: Some(sink(ERROR)),
        status_json: version >= 4,
        gone: channels.gone.clone(),
    };
    session::run(client, start(&streams, &exec, attach)).await;
    router.abort();
    channels.finish().await;
}
