//! Moving bytes between a client's streams and a process or a pod port,
//! whatever protocol carries the streams.

use base64::Engine;
use bytes::Bytes;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::mux;
use crate::kubelet::streams::{BoxFuture, ProcessIo};
use crate::registry::ApiError;

const CHUNK: usize = 32 * 1024;

/// One outgoing stream of a client connection.
pub(super) enum Sink {
    Spdy {
        id: u32,
        writer: mux::Writer,
    },
    Ws {
        channel: u8,
        base64: bool,
        tx: mpsc::Sender<Message>,
    },
}

impl Sink {
    /// False when the client is gone.
    pub(super) async fn write(&self, data: Bytes) -> bool {
        match self {
            Sink::Spdy { id, writer } => writer.data(*id, data).await,
            Sink::Ws {
                channel,
                base64,
                tx,
            } => {
                let msg = if *base64 {
                    let mut text = String::with_capacity(data.len() * 4 / 3 + 4);
                    text.push(char::from(b'0' + channel));
                    base64::engine::general_purpose::STANDARD.encode_string(&data, &mut text);
                    Message::text(text)
                } else {
                    let mut framed = Vec::with_capacity(data.len() + 1);
                    framed.push(*channel);
                    framed.extend_from_slice(&data);
                    Message::binary(framed)
                };
                tx.send(msg).await.is_ok()
            }
        }
    }

    /// No more data on this stream. Websocket channels end with the
    /// connection.
    pub(super) async fn close(&self) {
        if let Sink::Spdy { id, writer } = self {
            writer.fin(*id).await;
        }
    }
}

/// Tells when the client's connection is gone.
#[derive(Clone)]
pub(super) struct Gone(pub(super) watch::Receiver<bool>);

impl Gone {
    pub(super) async fn wait(&mut self) {
        // A dropped sender means the connection's reader ended too.
        let _ = self.0.wait_for(|gone| *gone).await;
    }
}

/// The client side of an exec or attach session.
pub(super) struct Client {
    pub(super) stdin: Option<mpsc::Receiver<Bytes>>,
    pub(super) resize: Option<mpsc::Receiver<Bytes>>,
    pub(super) stdout: Option<Sink>,
    pub(super) stderr: Option<Sink>,
    pub(super) error: Option<Sink>,
    /// v4 and later: the error stream carries a JSON Status, success too.
    pub(super) status_json: bool,
    pub(super) gone: Gone,
}

/// Runs a session to its end: the process exits (its output drained) or
/// the client goes away. The final status goes to the error stream.
pub(super) async fn run(client: Client, start: BoxFuture<'static, Result<ProcessIo, ApiError>>) {
    let Client {
        stdin,
        resize,
        stdout,
        stderr,
        error,
        status_json,
        mut gone,
    } = client;
    let outcome = tokio::select! {
        r = start => r,
        () = gone.wait() => return,
    };
    let io = match outcome {
        Ok(io) => io,
        Err(e) => {
            finish(error, status_json, Err(e)).await;
            return;
        }
    };
    let ProcessIo {
        stdin: proc_in,
        stdout: proc_out,
        stderr: proc_err,
        resize: proc_resize,
        exit,
    } = io;
    let mut side_tasks = Vec::new();
    if let (Some(mut rx), Some(mut w)) = (stdin, proc_in) {
        side_tasks.push(tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if w.write_all(&chunk).await.is_err() || w.flush().await.is_err() {
                    return;
                }
            }
            // The client closed its stdin: so does the process's.
            let _ = w.shutdown().await;
        }));
    }
    if let (Some(rx), Some(tx)) = (resize, proc_resize) {
        side_tasks.push(tokio::spawn(forward_resizes(rx, tx)));
    }
    let out = pump(proc_out, stdout);
    let err = pump(proc_err, stderr);
    let done = async {
        let (code, (), ()) = tokio::join!(exit, out, err);
        code
    };
    let code = tokio::select! {
        c = done => c,
        () = gone.wait() => {
            for t in &side_tasks {
                t.abort();
            }
            return;
        }
    };
    for t in &side_tasks {
        t.abort();
    }
    let result = code.map_err(|_| {
        ApiError::internal(
            "error executing command in container: the process ended without an exit status",
        )
    });
    finish(error, status_json, result).await;
}

async fn pump(from: Option<Box<dyn AsyncRead + Send + Unpin>>, to: Option<Sink>) {
    let (Some(mut from), Some(to)) = (from, to) else {
        return;
    };
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !to.write(Bytes::copy_from_slice(&buf[..n])).await {
                    return;
                }
            }
        }
    }
    to.close().await;
}

/// Terminal sizes arrive as JSON objects `{"Width":..,"Height":..}`,
/// possibly split or joined across frames.
async fn forward_resizes(mut rx: mpsc::Receiver<Bytes>, tx: mpsc::Sender<(u16, u16)>) {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Size {
        width: u16,
        height: u16,
    }
    let mut pending: Vec<u8> = Vec::new();
    while let Some(chunk) = rx.recv().await {
        pending.extend_from_slice(&chunk);
        let mut values = serde_json::Deserializer::from_slice(&pending).into_iter::<Size>();
        let mut consumed = 0;
        loop {
            match values.next() {
                Some(Ok(size)) => {
                    consumed = values.byte_offset();
                    if tx.send((size.width, size.height)).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(_)) => {
                    // Not a size: drop what was buffered and carry on.
                    consumed = pending.len();
                    break;
                }
                None => {
                    consumed = pending.len();
                    break;
                }
            }
        }
        pending.drain(..consumed);
    }
}

/// What the error stream says about the end of a session.
pub(super) fn status_bytes(status_json: bool, result: &Result<i32, ApiError>) -> Option<Bytes> {
    match result {
        Ok(0) if status_json => Some(Bytes::from_static(
            br#"{"metadata":{},"status":"Success"}"#,
        )),
        Ok(0) => None,
        Ok(code) if status_json => Some(Bytes::from(
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("command terminated with non-zero exit code: exit status {code}"),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
            })
            .to_string(),
        )),
        Ok(code) => Some(Bytes::from(format!(
            "command terminated with non-zero exit code: exit status {code}"
        ))),
        Err(e) if status_json => Some(Bytes::from(e.status().to_string())),
        Err(e) => Some(Bytes::from(e.message.clone())),
    }
}

async fn finish(error: Option<Sink>, status_json: bool, result: Result<i32, ApiError>) {
    let Some(error) = error else { return };
    if let Some(bytes) = status_bytes(status_json, &result) {
        error.write(bytes).await;
    }
    error.close().await;
}

/// Copies between a client's data stream and a connection into the pod
/// until the pod side ends (or the client goes away). The client's end of
/// input half-closes the pod connection.
pub(super) async fn forward(
    tcp: TcpStream,
    mut input: mpsc::Receiver<Bytes>,
    out: Sink,
    mut gone: Gone,
) {
    let (mut rd, mut wr) = tcp.into_split();
    let upstream = tokio::spawn(async move {
        while let Some(chunk) = input.recv().await {
            if wr.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    let downstream = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !out.write(Bytes::copy_from_slice(&buf[..n])).await {
                        break;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = downstream => {}
        () = gone.wait() => {}
    }
    upstream.abort();
    out.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_as_kubectl_reads_them() {
        let ok = status_bytes(true, &Ok(0)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&ok).unwrap();
        assert_eq!(v["status"], "Success");
        let failed = status_bytes(true, &Ok(3)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&failed).unwrap();
        assert_eq!(v["reason"], "NonZeroExitCode");
        assert_eq!(v["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(v["details"]["causes"][0]["message"], "3");
        assert!(status_bytes(false, &Ok(0)).is_none());
        let e = status_bytes(true, &Err(ApiError::bad_request("container not running"))).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&e).unwrap();
        assert_eq!(v["message"], "container not running");
    }

    #[tokio::test]
    async fn resizes_split_across_frames_are_parsed() {
        let (in_tx, in_rx) = mpsc::channel(8);
        let (out_tx, mut out_rx) = mpsc::channel(8);
        let task = tokio::spawn(forward_resizes(in_rx, out_tx));
        in_tx
            .send(Bytes::from_static(b"{\"Width\":80,"))
            .await
            .unwrap();
        in_tx
            .send(Bytes::from_static(
                b"\"Height\":24}{\"Width\":100,\"Height\":30}",
            ))
            .await
            .unwrap();
        assert_eq!(out_rx.recv().await, Some((80, 24)));
        assert_eq!(out_rx.recv().await, Some((100, 30)));
        drop(in_tx);
        task.await.unwrap();
    }
}
