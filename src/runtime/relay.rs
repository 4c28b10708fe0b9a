//! The shims' single-threaded I/O loop: container output to the CRI log
//! file and to attached clients, client stdin and resizes to the container,
//! and reaping of the container process.
//!
//! Wire format between shim and clients, both directions: frames of
//! `[kind: u8][len: u32 BE][payload]`. An attach client first sends one
//! byte: 1 when it wants to write stdin, 0 otherwise.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

pub(crate) const STDOUT: u8 = 1;
pub(crate) const STDERR: u8 = 2;
pub(crate) const EXIT: u8 = 3;
pub(crate) const STDIN: u8 = 4;
pub(crate) const RESIZE: u8 = 5;
pub(crate) const STDIN_CLOSE: u8 = 6;

/// Longest log line written as one record; longer ones are split with `P`.
const MAX_LOG_LINE: usize = 16 * 1024;
/// A client that falls this far behind is dropped rather than stalling.
const MAX_CLIENT_BACKLOG: usize = 4 * 1024 * 1024;
/// How long output is drained after the process exited (daemonized
/// grandchildren may hold the pipes open with a shared pid namespace).
const DRAIN: Duration = Duration::from_secs(2);

pub(crate) fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Pops complete frames off the front of `buf`.
pub(crate) fn next_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if buf.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < 5 + len {
        return None;
    }
    let kind = buf[0];
    let payload = buf[5..5 + len].to_vec();
    buf.drain(..5 + len);
    Some((kind, payload))
}

/// CRI log file writer: `<RFC3339Nano> <stream> <F|P> <line>`.
pub(crate) struct CriLog {
    file: File,
    partial: [Vec<u8>; 2],
}

impl CriLog {
    pub(crate) fn new(file: File) -> CriLog {
        CriLog {
            file,
            partial: [Vec::new(), Vec::new()],
        }
    }

    fn record(&mut self, stream: u8, tag: char, line: &[u8]) {
        let name = if stream == STDERR { "stderr" } else { "stdout" };
        let mut rec = format!("{} {name} {tag} ", super::now_rfc3339()).into_bytes();
        rec.extend_from_slice(line);
        rec.push(b'\n');
        // A full disk must not stop the container; the line is lost.
        let _ = self.file.write_all(&rec);
    }

    pub(crate) fn write(&mut self, stream: u8, data: &[u8]) {
        let idx = usize::from(stream == STDERR);
        let mut buf = std::mem::take(&mut self.partial[idx]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
            let mut line = &buf[start..start + nl];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            for (i, chunk) in line.chunks(MAX_LOG_LINE).enumerate() {
                let last = (i + 1) * MAX_LOG_LINE >= line.len();
                self.record(stream, if last { 'F' } else { 'P' }, chunk);
            }
            if line.is_empty() {
                self.record(stream, 'F', b"");
            }
            start += nl + 1;
        }
        buf.drain(..start);
        while buf.len() >= MAX_LOG_LINE {
            let rest = buf.split_off(MAX_LOG_LINE);
            self.record(stream, 'P', &buf);
            buf = rest;
        }
        self.partial[idx] = buf;
    }

    pub(crate) fn flush(&mut self) {
        for stream in [STDOUT, STDERR] {
            let idx = usize::from(stream == STDERR);
            let rest = std::mem::take(&mut self.partial[idx]);
            if !rest.is_empty() {
                self.record(stream, 'F', &rest);
            }
        }
        let _ = self.file.sync_data();
    }
}

struct Output {
    fd: File,
    kind: u8,
}

struct Client {
    sock: UnixStream,
    rbuf: Vec<u8>,
    wbuf: VecDeque<u8>,
    hello: bool,
    stdin: bool,
    dead: bool,
}

impl Client {
    fn new(sock: UnixStream, hello: bool, stdin: bool) -> io::Result<Client> {
        sock.set_nonblocking(true)?;
        Ok(Client {
            sock,
            rbuf: Vec::new(),
            wbuf: VecDeque::new(),
            hello,
            stdin,
            dead: false,
        })
    }
    fn send(&mut self, data: &[u8]) {
        if self.wbuf.len() + data.len() > MAX_CLIENT_BACKLOG {
            self.dead = true;
            return;
        }
        self.wbuf.extend(data);
    }
    fn flush(&mut self) {
        while !self.wbuf.is_empty() {
            let (a, _) = self.wbuf.as_slices();
            match self.sock.write(a) {
                Ok(0) => {
                    self.dead = true;
                    return;
                }
                Ok(n) => {
                    self.wbuf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
    }
}

/// Everything the loop moves bytes between.
pub(crate) struct Relay {
    pub(crate) child: Pid,
    outputs: Vec<Output>,
    stdin: Option<File>,
    stdin_buf: Vec<u8>,
    stdin_close_pending: bool,
    pty: Option<RawFd>,
    stdin_once: bool,
    listener: Option<UnixListener>,
    clients: Vec<Client>,
    log: Option<CriLog>,
}

impl Relay {
    pub(crate) fn new(child: Pid) -> Relay {
        Relay {
            child,
            outputs: Vec::new(),
            stdin: None,
            stdin_buf: Vec::new(),
            stdin_close_pending: false,
            pty: None,
            stdin_once: false,
            listener: None,
            clients: Vec::new(),
            log: None,
        }
    }
    pub(crate) fn output(&mut self, fd: OwnedFd, kind: u8) {
        self.outputs.push(Output {
            fd: File::from(fd),
            kind,
        });
    }
    pub(crate) fn stdin(&mut self, fd: OwnedFd, once: bool) {
        let file = File::from(fd);
        set_nonblocking(file.as_raw_fd());
        self.stdin = Some(file);
        self.stdin_once = once;
    }
    pub(crate) fn pty(&mut self, master: RawFd) {
        self.pty = Some(master);
    }
    pub(crate) fn listener(&mut self, l: UnixListener) -> io::Result<()> {
        l.set_nonblocking(true)?;
        self.listener = Some(l);
        Ok(())
    }
    pub(crate) fn client(&mut self, sock: UnixStream, stdin: bool) -> io::Result<()> {
        self.clients.push(Client::new(sock, false, stdin)?);
        Ok(())
    }
    /// Queues a frame for every connected client.
    pub(crate) fn broadcast(&mut self, kind: u8, payload: &[u8]) {
        let f = frame(kind, payload);
        for c in &mut self.clients {
            c.send(&f);
        }
    }
    pub(crate) fn log(&mut self, log: CriLog) {
        self.log = Some(log);
    }

    /// Runs until the child exited and its output is drained; returns its
    /// wait status. Every other child (orphans we adopted) is reaped too.
    pub(crate) fn run(&mut self) -> io::Result<WaitStatus> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGCHLD);
        mask.thread_block().map_err(io::Error::from)?;
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(io::Error::from)?;
        let mut status = self.reap();
        let mut drain_until: Option<Instant> = None;
        loop {
            if status.is_some() && drain_until.is_none() {
                drain_until = Some(Instant::now() + DRAIN);
            }
            if let Some(t) = drain_until
                && (self.outputs.is_empty() || Instant::now() >= t)
            {
                break;
            }
            let mut fds: Vec<libc::pollfd> = Vec::new();
            let pfd = |fd: RawFd, events: i16| libc::pollfd {
                fd,
                events,
                revents: 0,
            };
            fds.push(pfd(sfd.as_raw_fd(), libc::POLLIN));
            for o in &self.outputs {
                fds.push(pfd(o.fd.as_raw_fd(), libc::POLLIN));
            }
            let lst = self.listener.as_ref().map(|l| l.as_raw_fd()).unwrap_or(-1);
            fds.push(pfd(lst, libc::POLLIN));
            let stdin_fd = match &self.stdin {
                Some(f) if !self.stdin_buf.is_empty() => f.as_raw_fd(),
                _ => -1,
            };
            fds.push(pfd(stdin_fd, libc::POLLOUT));
            for c in &self.clients {
                let mut ev = libc::POLLIN;
                if !c.wbuf.is_empty() {
                    ev |= libc::POLLOUT;
                }
                fds.push(pfd(c.sock.as_raw_fd(), ev));
            }
            let timeout = if drain_until.is_some() { 100 } else { 1000 };
            // SAFETY: `fds` is a valid array of pollfd for its whole length.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let revents: Vec<i16> = fds.iter().map(|p| p.revents).collect();
            let n_out = self.outputs.len();
            if revents[0] != 0 {
                while let Ok(Some(_)) = sfd.read_signal() {}
                if let Some(s) = self.reap() {
                    status = Some(s);
                }
            }
            let mut gone = Vec::new();
            for k in 0..n_out {
                if revents[1 + k] != 0 && !self.read_output(k) {
                    gone.push(k);
                }
            }
            for k in gone.into_iter().rev() {
                self.outputs.remove(k);
            }
            let i = 1 + n_out;
            if revents[i] != 0 {
                self.accept();
            }
            if revents[i + 1] != 0 {
                self.write_stdin();
            }
            let base = i + 2;
            let nclients = self.clients.len();
            for k in 0..nclients {
                let ev = revents.get(base + k).copied().unwrap_or(0);
                if ev & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                    self.read_client(k);
                }
            }
            self.write_stdin();
            self.flush_clients();
        }
        if let Some(log) = &mut self.log {
            log.flush();
        }
        Ok(status.unwrap_or(WaitStatus::StillAlive))
    }

    /// Sends the exit frame to every client and flushes (bounded wait).
    pub(crate) fn finish(&mut self, code: i32) {
        let f = frame(EXIT, &code.to_be_bytes());
        for c in &mut self.clients {
            c.send(&f);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.clients.iter().any(|c| !c.dead && !c.wbuf.is_empty())
            && Instant::now() < deadline
        {
            self.flush_clients();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn reap(&mut self) -> Option<WaitStatus> {
        let mut found = None;
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return found,
                Ok(s) => {
                    if s.pid() == Some(self.child) {
                        found = Some(s);
                    }
                }
            }
        }
    }

    /// False when the output reached end of file.
    fn read_output(&mut self, k: usize) -> bool {
        let mut buf = [0u8; 32 * 1024];
        let kind = self.outputs[k].kind;
        let n = match self.outputs[k].fd.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) =>
            {
                return true;
            }
            // EIO is how a pty master reports that the slave side closed.
            Err(_) => return false,
        };
        let data = &buf[..n];
        if let Some(log) = &mut self.log {
            log.write(kind, data);
        }
        let f = frame(kind, data);
        for c in &mut self.clients {
            c.send(&f);
        }
        true
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        while let Ok((sock, _)) = l.accept() {
            if let Ok(c) = Client::new(sock, true, false) {
                self.clients.push(c);
            }
        }
    }

    fn read_client(&mut self, k: usize) {
        let mut buf = [0u8; 32 * 1024];
        loop {
            match self.clients[k].sock.read(&mut buf) {
                Ok(0) => {
                    self.clients[k].dead = true;
                    break;
                }
                Ok(n) => self.clients[k].rbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.clients[k].dead = true;
                    break;
                }
            }
        }
        let c = &mut self.clients[k];
        if c.hello && !c.rbuf.is_empty() {
            c.stdin = c.rbuf[0] == 1;
            c.hello = false;
            c.rbuf.drain(..1);
        }
        let mut rbuf = std::mem::take(&mut c.rbuf);
        let allowed = c.stdin;
        while let Some((kind, payload)) = next_frame(&mut rbuf) {
            match kind {
                STDIN if allowed => self.stdin_buf.extend_from_slice(&payload),
                STDIN_CLOSE if allowed => self.stdin_close_pending = true,
                RESIZE if payload.len() == 4 => {
                    let cols = u16::from_be_bytes([payload[0], payload[1]]);
                    let rows = u16::from_be_bytes([payload[2], payload[3]]);
                    if let Some(m) = self.pty {
                        resize(m, cols, rows);
                    }
                }
                _ => {}
            }
        }
        self.clients[k].rbuf = rbuf;
        if self.clients[k].dead && allowed && self.stdin_once {
            self.stdin_close_pending = true;
        }
    }

    fn write_stdin(&mut self) {
        if let Some(f) = &mut self.stdin {
            while !self.stdin_buf.is_empty() {
                match f.write(&self.stdin_buf) {
                    Ok(n) => {
                        self.stdin_buf.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(_) => {
                        self.stdin_buf.clear();
                        self.stdin = None;
                        return;
                    }
                }
            }
        }
        if self.stdin_close_pending && self.stdin_buf.is_empty() && self.pty.is_none() {
            self.stdin = None;
        }
        if self.stdin_close_pending && self.pty.is_some() {
            // A terminal has no half close: send end-of-file (^D) instead.
            if let Some(f) = &mut self.stdin {
                let _ = f.write(&[4]);
            }
            self.stdin_close_pending = false;
        }
    }

    fn flush_clients(&mut self) {
        for c in &mut self.clients {
            c.flush();
        }
        self.clients.retain(|c| !c.dead);
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on an fd we own; only adds O_NONBLOCK.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

pub(crate) fn resize(fd: RawFd, cols: u16, rows: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct that lives across the call.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// 128 + signal for signalled processes, as shells report it.
pub(crate) fn exit_code(status: &WaitStatus) -> (i32, Option<i32>) {
    match status {
        WaitStatus::Exited(_, code) => (*code, None),
        WaitStatus::Signaled(_, sig, _) => (128 + *sig as i32, Some(*sig as i32)),
        _ => (255, None),
    }
}
