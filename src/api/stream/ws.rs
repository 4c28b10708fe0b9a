//! WebSocket transport of the channel protocols: the handshake, and the
//! split of a connection into channel-tagged messages in and out.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, frame::coding::CloseCode};

use super::header_list;
use super::session::Gone;
use crate::registry::{ApiError, Result};

pub(super) type Ws = WebSocketStream<TokioIo<Upgraded>>;

const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// v5 clients end a channel with [255, channel].
const CLOSE_CHANNEL: u8 = 255;

/// The protocol the handshake will confirm: the first of the client's that
/// this side speaks; none offered is the legacy unnamed protocol.
pub(super) fn choose(req: &Request, server: &[&str]) -> Result<String> {
    let offered = header_list(req.headers(), "sec-websocket-protocol");
    if offered.is_empty() {
        return Ok(String::new());
    }
    super::negotiate(&offered, server).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unable to upgrade: requested protocol(s) are not supported: {offered:?}; supports {server:?}"
        ))
    })
}

/// Answers the handshake and runs `session` on the connection.
pub(super) fn upgrade<F, Fut>(mut req: Request, protocol: String, session: F) -> Result<Response>
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request("websocket upgrade without Sec-WebSocket-Key"))?
        .to_string();
    let version = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok());
    if version != Some("13") {
        return Err(ApiError::bad_request(
            "websocket upgrade: unsupported Sec-WebSocket-Version, expected 13",
        ));
    }
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{ACCEPT_GUID}").as_bytes(),
    );
    let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                session(ws).await;
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if !protocol.is_empty()
        && let Ok(v) = HeaderValue::from_str(&protocol)
    {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    Ok(resp)
}

/// A channel protocol name split into (version, base64): `v5.channel.k8s.io`
/// is (5, false), `base64.channel.k8s.io` is (1, true).
pub(super) fn channel_protocol(name: &str) -> (u8, bool) {
    let (version, rest) = match name.split_once('.') {
        Some((v, rest)) if v.starts_with('v') && v[1..].parse::<u8>().is_ok() => {
            (v[1..].parse().unwrap_or(1), rest)
        }
        _ => (1, name),
    };
    (version, rest.starts_with("base64."))
}

/// What the client sent on a channel.
pub(super) enum In {
    Data(u8, Bytes),
    /// v5: the client will send no more on this channel.
    Closed(u8),
}

/// A connection split into channels.
pub(super) struct Channels {
    /// Messages to send; the connection closes once every sender is gone.
    pub(super) out: mpsc::Sender<Message>,
    pub(super) incoming: mpsc::Receiver<In>,
    pub(super) gone: Gone,
    supervisor: JoinHandle<()>,
}

impl Channels {
    pub(super) fn start(ws: Ws, base64: bool, v5: bool) -> Channels {
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::channel::<Message>(32);
        let (in_tx, incoming) = mpsc::channel(16);
        let (gone_tx, gone_rx) = watch::channel(false);
        let reader = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let raw: Vec<u8> = match msg {
                    Message::Binary(b) => b.to_vec(),
                    Message::Text(t) if base64 => {
                        let t = t.as_str();
                        let Some(first) = t.bytes().next() else {
                            continue;
                        };
                        let Ok(data) = base64::engine::general_purpose::STANDARD.decode(&t[1..])
                        else {
                            continue;
                        };
                        let mut raw = vec![first.wrapping_sub(b'0')];
                        raw.extend_from_slice(&data);
                        raw
                    }
                    Message::Text(t) => t.as_bytes().to_vec(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let Some((&channel, data)) = raw.split_first() else {
                    continue;
                };
                let event = if v5 && channel == CLOSE_CHANNEL {
                    match data.first() {
                        Some(&c) => In::Closed(c),
                        None => continue,
                    }
                } else {
                    In::Data(channel, Bytes::copy_from_slice(data))
                };
                if in_tx.send(event).await.is_err() {
                    // Nobody listens: keep reading so pings and the close
                    // handshake are still answered.
                    continue;
                }
            }
            let _ = gone_tx.send(true);
        });
        let supervisor = tokio::spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
            let _ = sink
                .send(Message::Close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                })))
                .await;
            let _ = sink.flush().await;
            // Give the client a moment to answer the close, then drop.
            let abort = reader.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), reader)
                .await
                .is_err()
            {
                abort.abort();
            }
            let _ = sink.close().await;
        });
        Channels {
            out,
            incoming,
            gone: Gone(gone_rx),
            supervisor,
        }
    }

    /// Closes the connection once the last sender clone is dropped.
    pub(super) async fn finish(self) {
        drop(self.out);
        drop(self.incoming);
        let _ = self.supervisor.await;
    }
}

/// Carries a byte stream (SPDY) in binary messages: what one side writes
/// becomes a message, messages read are concatenated.
pub(super) fn tunnel(ws: Ws) -> DuplexStream {
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    let (mut rd, mut wr) = tokio::io::split(ours);
    let (mut sink, mut stream) = ws.split();
    tokio::spawn(async move {
        let inbound = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Binary(b) if wr.write_all(&b).await.is_err() => break,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            let _ = wr.shutdown().await;
        });
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
        let abort = inbound.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), inbound)
            .await
            .is_err()
        {
            abort.abort();
        }
        let _ = sink.close().await;
    });
    theirs
}

#[cfg(test)]
mod tests {
    use super::channel_protocol;

    #[test]
    fn channel_protocol_names() {
        assert_eq!(channel_protocol("v5.channel.k8s.io"), (5, false));
        assert_eq!(channel_protocol("v4.base64.channel.k8s.io"), (4, true));
        assert_eq!(channel_protocol("channel.k8s.io"), (1, false));
        assert_eq!(channel_protocol("base64.channel.k8s.io"), (1, true));
        assert_eq!(channel_protocol(""), (1, false));
    }
}
