//! Server side of exec and attach: speaks the shims' frame protocol and
//! hands plain async streams to the caller.

use std::os::fd::OwnedFd;
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

use super::relay::{EXIT, RESIZE, STDERR, STDIN, STDIN_CLOSE, STDOUT, frame, next_frame};
use super::{BoxRead, BoxWrite, Error, ExitRx, Paths, ResizeTx, Result, RuntimeConfig, io_err};

/// Streams of an exec'd process or an attached container. `exit` yields
/// the exec exit code, or for attach the container's exit code.
pub(crate) struct ProcessIo {
    pub(crate) stdin: Option<BoxWrite>,
    pub(crate) stdout: Option<BoxRead>,
    pub(crate) stderr: Option<BoxRead>,
    pub(crate) resize: Option<ResizeTx>,
    pub(crate) exit: ExitRx,
}

const PIPE: usize = 64 * 1024;

pub(crate) async fn attach(paths: &Paths, id: &str, stdin: bool, tty: bool) -> Result<ProcessIo> {
    let sock = paths.attach_socket();
    let mut stream = UnixStream::connect(&sock)
        .await
        .map_err(|_| Error::NotRunning(id.to_string()))?;
    stream
        .write_all(&[u8::from(stdin)])
        .await
        .map_err(io_err(&sock))?;
    Ok(framed(stream, stdin, tty))
}

pub(crate) async fn exec(
    cfg: &RuntimeConfig,
    paths: &Paths,
    id: &str,
    cmd: Vec<String>,
    tty: bool,
    stdin: bool,
) -> Result<ProcessIo> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(io_err(&paths.dir))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.shim_log())
        .map_err(io_err(&paths.shim_log()))?;
    let mut command = tokio::process::Command::new(&cfg.exe);
    command
        .arg("shim")
        .arg("exec")
        .arg("--run-dir")
        .arg(&cfg.run_dir)
        .arg("--state-dir")
        .arg(&cfg.state_dir)
        .arg("--id")
        .arg(id);
    if tty {
        command.arg("--tty");
    }
    if stdin {
        command.arg("--stdin");
    }
    command
        .arg("--")
        .args(&cmd)
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(false);
    let mut child = command.spawn().map_err(|source| Error::Shim {
        id: id.to_string(),
        source,
    })?;
    // The shim ends on its own once the process exited; reap it.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    ours.set_nonblocking(true).map_err(io_err(&paths.dir))?;
    let stream = UnixStream::from_std(ours).map_err(io_err(&paths.dir))?;
    Ok(framed(stream, stdin, tty))
}

fn framed(stream: UnixStream, stdin: bool, tty: bool) -> ProcessIo {
    let (rd, wr) = stream.into_split();
    let (out_ours, out_theirs) = tokio::io::duplex(PIPE);
    let (err_ours, err_theirs) = if tty {
        (None, None)
    } else {
        let (a, b) = tokio::io::duplex(PIPE);
        (Some(a), Some(b))
    };
    let (exit_tx, exit_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        read_frames(rd, out_ours, err_ours, exit_tx).await;
        let _ = done_tx.send(());
    });
    let (resize_tx, resize_rx) = mpsc::channel(8);
    let (in_theirs, in_ours) = if stdin {
        let (a, b) = tokio::io::duplex(PIPE);
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    tokio::spawn(write_frames(wr, in_ours, resize_rx, done_rx));
    ProcessIo {
        stdin: in_theirs.map(|s| Box::new(s) as BoxWrite),
        stdout: Some(Box::new(out_theirs)),
        stderr: err_theirs.map(|s| Box::new(s) as BoxRead),
        resize: tty.then_some(resize_tx),
        exit: exit_rx,
    }
}

async fn read_frames(
    mut rd: OwnedReadHalf,
    mut out: DuplexStream,
    mut err: Option<DuplexStream>,
    exit: oneshot::Sender<i32>,
) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 32 * 1024];
    let mut exit = Some(exit);
    loop {
        while let Some((kind, payload)) = next_frame(&mut buf) {
            match kind {
                // A caller that stopped reading must not stop the exit code.
                STDOUT => {
                    let _ = out.write_all(&payload).await;
                }
                STDERR => match &mut err {
                    Some(e) => {
                        let _ = e.write_all(&payload).await;
                    }
                    None => {
                        let _ = out.write_all(&payload).await;
                    }
                },
                EXIT if payload.len() == 4 => {
                    let code = i32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                    let _ = out.shutdown().await;
                    if let Some(e) = &mut err {
                        let _ = e.shutdown().await;
                    }
                    if let Some(tx) = exit.take() {
                        let _ = tx.send(code);
                    }
                    return;
                }
                _ => {}
            }
        }
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn write_frames(
    mut wr: OwnedWriteHalf,
    mut stdin: Option<DuplexStream>,
    mut resize: mpsc::Receiver<(u16, u16)>,
    mut done: oneshot::Receiver<()>,
) {
    let mut chunk = vec![0u8; 32 * 1024];
    let mut resize_open = true;
    loop {
        tokio::select! {
            n = async {
                match stdin.as_mut() {
                    Some(s) => s.read(&mut chunk).await,
                    None => Ok(0),
                }
            }, if stdin.is_some() => {
                let f = match n {
                    Ok(0) | Err(_) => {
                        stdin = None;
                        frame(STDIN_CLOSE, &[])
                    }
                    Ok(n) => frame(STDIN, &chunk[..n]),
                };
                if wr.write_all(&f).await.is_err() {
                    return;
                }
            }
            r = resize.recv(), if resize_open => match r {
                Some((cols, rows)) => {
                    let mut p = cols.to_be_bytes().to_vec();
                    p.extend_from_slice(&rows.to_be_bytes());
                    if wr.write_all(&frame(RESIZE, &p)).await.is_err() {
                        return;
                    }
                }
                None => resize_open = false,
            },
            // The write half stays open until the output ended: closing it
            // early would read as a hang-up on the other side.
            _ = &mut done => return,
        }
    }
}
