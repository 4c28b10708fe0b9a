//! A server-side SPDY/3.1 connection: streams the client opens arrive on a
//! channel, each with its headers and incoming data; one writer task
//! serialises frames onto the connection.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::session::Gone;
use super::spdy::{Decoder, Encoder, FLAG_FIN, Frame, Headers};

/// Data frames queued per stream before the reader waits for the consumer.
const STREAM_QUEUE: usize = 16;

enum Out {
    Frame(Frame),
    /// Say goodbye, flush and shut the connection down.
    Close(oneshot::Sender<()>),
}

/// Sends frames on the connection.
#[derive(Clone)]
pub(super) struct Writer(mpsc::Sender<Out>);

impl Writer {
    pub(super) async fn data(&self, id: u32, data: Bytes) -> bool {
        self.0
            .send(Out::Frame(Frame::Data { id, flags: 0, data }))
            .await
            .is_ok()
    }

    /// Half-closes a stream: no more data from this side.
    pub(super) async fn fin(&self, id: u32) {
        let _ = self
            .0
            .send(Out::Frame(Frame::Data {
                id,
                flags: FLAG_FIN,
                data: Bytes::new(),
            }))
            .await;
    }

    async fn frame(&self, f: Frame) {
        let _ = self.0.send(Out::Frame(f)).await;
    }
}

/// A stream the client opened.
pub(super) struct Stream {
    pub(super) id: u32,
    pub(super) headers: Headers,
    /// Data from the client; ends when the client half-closes or resets.
    pub(super) data: mpsc::Receiver<Bytes>,
}

impl Stream {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(super) struct Conn {
    pub(super) incoming: mpsc::Receiver<Stream>,
    pub(super) writer: Writer,
    /// Set when the client's side of the connection ended.
    pub(super) gone: Gone,
    reader: JoinHandle<()>,
    writer_task: JoinHandle<()>,
}

impl Conn {
    pub(super) fn start<T>(io: T) -> Conn
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut rd, wr) = tokio::io::split(io);
        let (out_tx, out_rx) = mpsc::channel(64);
        let writer = Writer(out_tx);
        let writer_task = tokio::spawn(write_loop(wr, out_rx));
        let (in_tx, incoming) = mpsc::channel(16);
        let w = writer.clone();
        let (gone_tx, gone_rx) = watch::channel(false);
        let reader = tokio::spawn(async move {
            if let Err(e) = read_loop(&mut rd, w, in_tx).await {
                tracing::debug!(error = %e, "spdy connection ended");
            }
            let _ = gone_tx.send(true);
        });
        Conn {
            incoming,
            writer,
            gone: Gone(gone_rx),
            reader,
            writer_task,
        }
    }

    /// Ends the connection: GOAWAY, flush, shutdown; the reader gets a
    /// moment to see the client close its side, then is stopped.
    pub(super) async fn close(self) {
        let (tx, rx) = oneshot::channel();
        if self.writer.0.send(Out::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
        drop(self.incoming);
        let reader = self.reader;
        let abort = reader.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .is_err()
        {
            abort.abort();
        }
        self.writer_task.abort();
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::Receiver<Out>) {
    let mut enc = Encoder::new();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    while let Some(msg) = rx.recv().await {
        match msg {
            Out::Frame(f) => {
                enc.encode(&f, &mut buf);
                // Frames already queued go out in the same write.
                if rx.is_empty() || buf.len() >= 64 * 1024 {
                    if wr.write_all(&buf).await.is_err() || wr.flush().await.is_err() {
                        return;
                    }
                    buf.clear();
                }
            }
            Out::Close(done) => {
                enc.encode(
                    &Frame::GoAway {
                        last_id: 0,
                        status: 0,
                    },
                    &mut buf,
                );
                let _ = wr.write_all(&buf).await;
                let _ = wr.flush().await;
                let _ = wr.shutdown().await;
                let _ = done.send(());
                return;
            }
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    rd: &mut R,
    writer: Writer,
    incoming: mpsc::Sender<Stream>,
) -> Result<(), super::spdy::Error> {
    let mut dec = Decoder::new();
    let mut streams: HashMap<u32, mpsc::Sender<Bytes>> = HashMap::new();
    while let Some(frame) = dec.read(rd).await? {
        match frame {
            Frame::SynStream { id, flags, headers } => {
                let (tx, rx) = mpsc::channel(STREAM_QUEUE);
                writer
                    .frame(Frame::SynReply {
                        id,
                        flags: 0,
                        headers: Vec::new(),
                    })
                    .await;
                if flags & FLAG_FIN == 0 {
                    streams.insert(id, tx);
                }
                let stream = Stream {
                    id,
                    headers,
                    data: rx,
                };
                if incoming.send(stream).await.is_err() {
                    // Nobody takes streams any more: refuse it.
                    streams.remove(&id);
                    writer.frame(Frame::Rst { id, status: 3 }).await;
                }
            }
            Frame::Data { id, flags, data } => {
                if !data.is_empty()
                    && let Some(tx) = streams.get(&id)
                    && tx.send(data).await.is_err()
                {
                    streams.remove(&id);
                }
                if flags & FLAG_FIN != 0 {
                    streams.remove(&id);
                }
            }
            Frame::Headers { id, flags, .. } if flags & FLAG_FIN != 0 => {
                streams.remove(&id);
            }
            Frame::Rst { id, .. } => {
                streams.remove(&id);
            }
            // Pings from the client are odd-numbered; answer them.
            Frame::Ping(n) if n % 2 == 1 => writer.frame(Frame::Ping(n)).await,
            Frame::GoAway { .. } => break,
            _ => {}
        }
    }
    Ok(())
}
