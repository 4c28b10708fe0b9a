//! The shim processes: `sovedge shim start` owns one container for its
//! whole life, `sovedge shim exec` one exec'd process. Both run
//! single-threaded, so forking through libcontainer is safe.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use nix::fcntl::OFlag;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use nix::unistd::{ForkResult, Pid, fork, setsid};

use super::relay::{self, CriLog, Relay};
use super::seccomp::SeccompExecutor;
use super::{
    ContainerSpec, Error, ExitRecord, Paths, Result, StartRecord, cgroup, now_rfc3339, read_json,
    rootfs, spec, write_atomic,
};

/// What a shim reported back to `Runtime::start`.
pub(crate) enum Reply {
    Started,
    Failed(String),
}

/// Starts `sovedge shim start` for `id` and waits for its verdict.
pub(crate) fn launch(exe: &Path, run_dir: &Path, state_dir: &Path, id: &str) -> Result<Reply> {
    let paths = Paths::new(run_dir, state_dir, id);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.shim_log())
        .map_err(super::io_err(&paths.shim_log()))?;
    let shim_err = |source| Error::Shim {
        id: id.to_string(),
        source,
    };
    let mut child = Command::new(exe)
        .arg("shim")
        .arg("start")
        .arg("--run-dir")
        .arg(run_dir)
        .arg("--state-dir")
        .arg(state_dir)
        .arg("--id")
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(shim_err)?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line).map_err(shim_err)?;
    }
    child.wait().map_err(shim_err)?;
    let line = line.trim_end();
    if line == "ok" {
        Ok(Reply::Started)
    } else if let Some(msg) = line.strip_prefix("error ") {
        Ok(Reply::Failed(msg.to_string()))
    } else {
        let log = std::fs::read_to_string(paths.shim_log()).unwrap_or_default();
        Ok(Reply::Failed(format!(
            "shim exited without a result: {}",
            log.trim()
        )))
    }
}

/// Arguments of `sovedge shim start`.
pub(crate) struct StartArgs {
    pub(crate) run_dir: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) id: String,
}

fn dev_null() -> io::Result<OwnedFd> {
    Ok(OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into())
}

/// Moves the reply pipe off fd 1 and points stdin/stdout at /dev/null so
/// no container process inherits the pipe to the server.
fn take_reply_pipe() -> io::Result<File> {
    // SAFETY: fd 1 is open (the server gave us a pipe); dup returns a new fd
    // that we own from here on.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    let reply = unsafe { File::from_raw_fd(fd) };
    let null = dev_null()?;
    for target in [0, 1] {
        // SAFETY: dup2 onto the standard descriptors we own.
        unsafe { libc::dup2(null.as_raw_fd(), target) };
    }
    Ok(reply)
}

/// A close-on-exec pipe: libcontainer puts the ends it needs on 0-2.
fn pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC)
}

fn subreaper() {
    // SAFETY: prctl with integer arguments; makes orphans of the container
    // ours to reap.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Receives the pty master libcontainer sends over the console socket.
fn receive_pty(listener: &UnixListener) -> io::Result<OwnedFd> {
    let (sock, _) = listener.accept()?;
    let mut buf = [0u8; 4096];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel installed this fd for us with SCM_RIGHTS.
            return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    Err(io::Error::other("no terminal received on console socket"))
}

fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Entry point of `sovedge shim start`; never returns to the caller's
/// normal flow in the daemon half.
pub(crate) fn run_start(args: StartArgs) -> anyhow::Result<()> {
    let mut reply = take_reply_pipe()?;
    // SAFETY: the shim is single-threaded at this point (no runtime, no
    // threads started), so the child may keep running Rust code.
    match unsafe { fork() }? {
        ForkResult::Parent { .. } => return Ok(()),
        ForkResult::Child => {}
    }
    setsid()?;
    subreaper();
    let paths = Paths::new(&args.run_dir, &args.state_dir, &args.id);
    std::fs::write(paths.shim_pid(), std::process::id().to_string())?;
    let (mut relay, spec, started_at) = match create(&paths, &args.id) {
        Ok(v) => v,
        Err(message) => {
            eprintln!("container {}: {message}", args.id);
            let _ = rootfs::unmount(&paths.rootfs());
            let record = ExitRecord {
                exit_code: 128,
                message: message.clone(),
                finished_at: now_rfc3339(),
                ..Default::default()
            };
            let _ = write_atomic(&paths.exit_record(), &record);
            let _ = writeln!(reply, "error {}", message.replace('\n', " "));
            std::process::exit(1);
        }
    };
    let _ = writeln!(reply, "ok");
    drop(reply);
    let status = relay.run()?;
    let (exit_code, signal) = relay::exit_code(&status);
    let oom = cgroup::oom_killed(&spec.cgroup_path);
    let message = match (oom, signal) {
        (true, _) => "container was killed for using more memory than its limit".to_string(),
        (false, Some(s)) => format!("killed by signal {s}"),
        _ => String::new(),
    };
    let record = ExitRecord {
        exit_code,
        signal,
        oom_killed: oom,
        started_at: Some(started_at),
        finished_at: now_rfc3339(),
        message,
    };
    write_atomic(&paths.exit_record(), &record)?;
    relay.finish(exit_code);
    let _ = std::fs::remove_file(paths.attach_socket());
    std::process::exit(0);
}

/// Creates and starts the container; returns the loop that serves it.
fn create(paths: &Paths, id: &str) -> Result<(Relay, ContainerSpec, String), String> {
    let spec: ContainerSpec = read_json(&paths.spec())
        .map_err(|e| e.to_string())?
        .ok_or("container spec missing")?;
    let root = paths.rootfs();
    rootfs::mount_overlay(&spec.layers, &paths.layer_dir, &root).map_err(|e| e.to_string())?;
    let config = spec::oci_config(&spec, &root)?;
    let bundle = paths.bundle();
    std::fs::create_dir_all(&bundle).map_err(|e| e.to_string())?;
    std::fs::write(bundle.join("config.json"), config.to_string()).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&paths.oci_root).map_err(|e| e.to_string())?;

    let mut builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
        .with_root_path(&paths.oci_root)
        .map_err(|e| describe(&e))?
        .with_executor(SeccompExecutor);
    let mut pipes = None;
    let mut console = None;
    let mut stdin_w = None;
    if spec.tty {
        let sock = paths.dir.join("console.sock");
        let _ = std::fs::remove_file(&sock);
        console = Some(UnixListener::bind(&sock).map_err(|e| e.to_string())?);
        builder = builder.with_console_socket(Some(sock));
    } else {
        let (out_r, out_w) = pipe().map_err(|e| e.to_string())?;
        let (err_r, err_w) = pipe().map_err(|e| e.to_string())?;
        builder = builder.with_stdout(out_w).with_stderr(err_w);
        pipes = Some((out_r, err_r));
        if spec.stdin {
            let (in_r, in_w) = pipe().map_err(|e| e.to_string())?;
            builder = builder.with_stdin(in_r);
            stdin_w = Some(in_w);
        } else {
            builder = builder.with_stdin(dev_null().map_err(|e| e.to_string())?);
        }
    }
    let mut container = builder
        .as_init(&bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| describe(&e))?;
    let pid = container.pid().ok_or("container has no pid")?;
    let mut relay = Relay::new(Pid::from_raw(pid.as_raw()));
    if let Some(l) = console {
        let master = receive_pty(&l).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(paths.dir.join("console.sock"));
        relay.pty(master.as_raw_fd());
        let input = master.try_clone().map_err(|e| e.to_string())?;
        relay.output(master, relay::STDOUT);
        if spec.stdin {
            relay.stdin(input, spec.stdin_once);
        }
    }
    if let Some((out_r, err_r)) = pipes {
        relay.output(out_r, relay::STDOUT);
        relay.output(err_r, relay::STDERR);
    }
    if let Some(w) = stdin_w {
        relay.stdin(w, spec.stdin_once);
    }
    if let Some(parent) = spec.log_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log_path)
        .map_err(|e| format!("log file {}: {e}", spec.log_path.display()))?;
    relay.log(CriLog::new(log));
    let sock = paths.attach_socket();
    let _ = std::fs::remove_file(&sock);
    relay
        .listener(UnixListener::bind(&sock).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    container.start().map_err(|e| describe(&e))?;
    let started_at = now_rfc3339();
    write_atomic(
        &paths.start_record(),
        &StartRecord {
            pid: pid.as_raw(),
            started_at: started_at.clone(),
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((relay, spec, started_at))
}

/// Writes to `out` the process of the container's OCI config at `config`
/// with `cmd` as its arguments and a terminal.
fn tty_process(config: &Path, cmd: &[String], out: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config)?;
    let spec: serde_json::Value = serde_json::from_str(&text)?;
    let mut process = spec
        .get("process")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no process in {}", config.display()))?;
    process["terminal"] = serde_json::json!(true);
    process["args"] = serde_json::json!(cmd);
    std::fs::write(out, process.to_string())?;
    Ok(())
}

/// Arguments of `sovedge shim exec`; fd 0 is the framed client socket.
pub(crate) struct ExecArgs {
    pub(crate) run_dir: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) id: String,
    pub(crate) tty: bool,
    pub(crate) stdin: bool,
    pub(crate) cmd: Vec<String>,
}

/// Entry point of `sovedge shim exec`: runs the process, relays its I/O
/// over fd 0 and reports its exit code as the last frame.
pub(crate) fn run_exec(args: ExecArgs) -> anyhow::Result<()> {
    subreaper();
    // SAFETY: fd 0 is the socket the runtime handed us; we own it.
    let client = unsafe { UnixStream::from_raw_fd(0) };
    let paths = Paths::new(&args.run_dir, &args.state_dir, &args.id);
    let mut builder = ContainerBuilder::new(args.id.clone(), SyscallType::default())
        .with_root_path(&paths.oci_root)?
        .with_executor(SeccompExecutor);
    let mut console = None;
    let mut outputs = Vec::new();
    let mut stdin_w = None;
    let sock = paths.dir.join(format!("exec-{}.sock", std::process::id()));
    if args.tty {
        let _ = std::fs::remove_file(&sock);
        console = Some(UnixListener::bind(&sock)?);
        builder = builder.with_console_socket(Some(&sock));
    } else {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        builder = builder.with_stdout(out_w).with_stderr(err_w);
        outputs = vec![(out_r, relay::STDOUT), (err_r, relay::STDERR)];
        if args.stdin {
            let (in_r, in_w) = pipe()?;
            builder = builder.with_stdin(in_r);
            stdin_w = Some(in_w);
        } else {
            builder = builder.with_stdin(dev_null()?);
        }
    }
    let tenant = builder.as_tenant().with_detach(true);
    let built = if args.tty {
        // A terminal needs `terminal: true` in the process, which the
        // container's own process (no terminal) does not carry: hand
        // libcontainer the container's process with the command swapped.
        let process = paths.dir.join(format!("exec-{}.json", std::process::id()));
        tty_process(&paths.bundle().join("config.json"), &args.cmd, &process)?;
        let built = tenant.with_process(Some(&process)).build();
        let _ = std::fs::remove_file(&process);
        built
    } else {
        tenant.with_container_args(args.cmd.clone()).build()
    };
    let mut relay = match built {
        Ok(pid) => Relay::new(Pid::from_raw(pid.as_raw())),
        Err(e) => {
            let msg = describe(&e);
            let code = if msg.contains("not found") { 127 } else { 126 };
            let _ = std::fs::remove_file(&sock);
            let mut relay = Relay::new(Pid::from_raw(0));
            relay.client(client, false)?;
            relay.broadcast(relay::STDERR, format!("exec failed: {msg}\n").as_bytes());
            relay.finish(code);
            return Ok(());
        }
    };
    relay.client(client, args.stdin)?;
    if let Some(l) = console {
        let master = receive_pty(&l)?;
        let _ = std::fs::remove_file(&sock);
        relay.pty(master.as_raw_fd());
        let input = master.try_clone()?;
        relay.output(master, relay::STDOUT);
        if args.stdin {
            relay.stdin(input, false);
        }
    }
    for (fd, kind) in outputs {
        relay.output(fd, kind);
    }
    if let Some(w) = stdin_w {
        relay.stdin(w, false);
    }
    let status = relay.run()?;
    let (code, _) = relay::exit_code(&status);
    relay.finish(code);
    Ok(())
}
