//! Embedded container runtime: OCI containers through youki's libcontainer,
//! each owned by a per-container shim process (a re-exec of our binary) so
//! that no fork happens in the multi-threaded server and containers outlive
//! a server restart.
//!
//! Layout of `run_dir/<id>/`: `spec.json` (the [`ContainerSpec`]),
//! `bundle/config.json` (the OCI spec), `rootfs/` (overlay mount),
//! `shim.pid`, `state.json` (init pid and start time), `attach.sock`,
//! `exit.json` (the [`ExitRecord`]), `shim.log`. The writable overlay layer
//! lives in `state_dir/<id>/{upper,work}` so that a tmpfs `/run` does not hold
//! container writes. libcontainer keeps its own state in `run_dir/.oci/<id>`.

mod cgroup;
mod client;
mod relay;
mod rootfs;
mod seccomp;
pub(crate) mod shim;
mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

pub(crate) use client::ProcessIo;

/// Runtime errors, named after the step that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("container {id}: failed to start: {message}")]
    StartFailed { id: String, message: String },
    #[error("container {0} not found")]
    NotFound(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("invalid container id {0:?}")]
    InvalidId(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("container {id}: {message}")]
    Spec { id: String, message: String },
    #[error("container {id}: launching shim: {source}")]
    Shim {
        id: String,
        #[source]
        source: io::Error,
    },
    #[error("container {id}: libcontainer: {message}")]
    Oci { id: String, message: String },
    #[error("{path}: invalid record: {source}")]
    Record {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where the runtime keeps state and which binary serves as the shim.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeConfig {
    /// Shims, sockets, overlay mount points, exit records (tmpfs is fine).
    pub(crate) run_dir: PathBuf,
    /// Writable overlay layers (`<id>/upper`, `<id>/work`); on disk.
    pub(crate) state_dir: PathBuf,
    /// Top of our cgroup tree, e.g. "sovedge".
    pub(crate) cgroup_parent: String,
    /// Our own binary, re-executed as `sovedge shim ...`.
    pub(crate) exe: PathBuf,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct UserSpec {
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    /// "name", "name:group", "uid:gid"; resolved in the rootfs.
    pub(crate) name: Option<String>,
    pub(crate) supplementary: Vec<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum Propagation {
    Private,
    HostToContainer,
    Bidirectional,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum MountKind {
    Bind {
        source: PathBuf,
        readonly: bool,
        propagation: Propagation,
    },
    Tmpfs {
        size: Option<u64>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct MountSpec {
    pub(crate) destination: PathBuf,
    pub(crate) kind: MountKind,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct DeviceSpec {
    pub(crate) host_path: PathBuf,
    pub(crate) container_path: PathBuf,
    /// Any of "rwm".
    pub(crate) permissions: String,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum Seccomp {
    #[default]
    RuntimeDefault,
    Unconfined,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Resources {
    pub(crate) cpu_shares: Option<u64>,
    pub(crate) cpu_quota_us: Option<i64>,
    pub(crate) cpu_period_us: Option<u64>,
    pub(crate) memory_limit: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Namespaces {
    /// nsfs paths to join; None = the host's namespace.
    pub(crate) net: Option<PathBuf>,
    pub(crate) ipc: Option<PathBuf>,
    pub(crate) uts: Option<PathBuf>,
    pub(crate) host_pid: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ContainerSpec {
    pub(crate) id: String,
    pub(crate) labels: BTreeMap<String, String>,
    /// Overlay lower dirs, lowest first.
    pub(crate) layers: Vec<PathBuf>,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) cwd: String,
    pub(crate) user: UserSpec,
    pub(crate) hostname: String,
    pub(crate) mounts: Vec<MountSpec>,
    pub(crate) devices: Vec<DeviceSpec>,
    pub(crate) privileged: bool,
    pub(crate) cap_add: Vec<String>,
    pub(crate) cap_drop: Vec<String>,
    pub(crate) no_new_privs: bool,
    pub(crate) seccomp: Seccomp,
    pub(crate) read_only_rootfs: bool,
    pub(crate) resources: Resources,
    pub(crate) namespaces: Namespaces,
    /// Relative to the cgroup root, e.g. "sovedge/pod<uid>/<id>".
    pub(crate) cgroup_path: String,
    pub(crate) stdin: bool,
    pub(crate) stdin_once: bool,
    pub(crate) tty: bool,
    pub(crate) log_path: PathBuf,
    /// Signal sent first by `stop` (the image's StopSignal); SIGTERM if None.
    #[serde(default)]
    pub(crate) stop_signal: Option<i32>,
}

/// How a container ended; written by its shim atomically.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ExitRecord {
    pub(crate) exit_code: i32,
    pub(crate) signal: Option<i32>,
    pub(crate) oom_killed: bool,
    pub(crate) started_at: Option<String>,
    pub(crate) finished_at: String,
    pub(crate) message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StartRecord {
    pub(crate) pid: i32,
    pub(crate) started_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ContainerState {
    Running { pid: i32, started_at: String },
    Exited(ExitRecord),
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContainerInfo {
    pub(crate) id: String,
    pub(crate) labels: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) memory_bytes: u64,
    pub(crate) cpu_usage_ns: u64,
}

/// Files of one container under the run and state dirs.
#[derive(Clone, Debug)]
pub(crate) struct Paths {
    pub(crate) dir: PathBuf,
    pub(crate) layer_dir: PathBuf,
    pub(crate) oci_root: PathBuf,
}

impl Paths {
    pub(crate) fn new(run_dir: &Path, state_dir: &Path, id: &str) -> Paths {
        Paths {
            dir: run_dir.join(id),
            layer_dir: state_dir.join(id),
            oci_root: run_dir.join(".oci"),
        }
    }
    pub(crate) fn spec(&self) -> PathBuf {
        self.dir.join("spec.json")
    }
    pub(crate) fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }
    pub(crate) fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub(crate) fn shim_pid(&self) -> PathBuf {
        self.dir.join("shim.pid")
    }
    pub(crate) fn start_record(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    pub(crate) fn exit_record(&self) -> PathBuf {
        self.dir.join("exit.json")
    }
    pub(crate) fn attach_socket(&self) -> PathBuf {
        self.dir.join("attach.sock")
    }
    pub(crate) fn shim_log(&self) -> PathBuf {
        self.dir.join("shim.log")
    }
}

/// Writes `value` as JSON to `path` through a temporary file and a rename.
pub(crate) fn write_atomic<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let data = serde_json::to_vec(value).map_err(io::Error::other)?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(|source| Error::Record {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

/// Container ids become file and cgroup names: keep them plain.
fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(id.to_string()))
    }
}

/// Handle to the containers of one run dir. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Runtime {
    cfg: Arc<RuntimeConfig>,
}

impl Runtime {
    pub(crate) fn new(cfg: RuntimeConfig) -> Result<Runtime> {
        for dir in [&cfg.run_dir, &cfg.state_dir] {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        Ok(Runtime { cfg: Arc::new(cfg) })
    }

    pub(crate) fn config(&self) -> &RuntimeConfig {
        &self.cfg
    }

    fn paths(&self, id: &str) -> Result<Paths> {
        check_id(id)?;
        Ok(Paths::new(&self.cfg.run_dir, &self.cfg.state_dir, id))
    }

    /// Starts the container's shim; returns once the process runs (or
    /// `StartFailed` with the reason, e.g. the executable is missing).
    pub(crate) async fn start(&self, spec: &ContainerSpec) -> Result<()> {
        let paths = self.paths(&spec.id)?;
        if paths.dir.exists() {
            return Err(Error::Exists(spec.id.clone()));
        }
        std::fs::create_dir_all(&paths.dir).map_err(io_err(&paths.dir))?;
        write_atomic(&paths.spec(), spec).map_err(io_err(&paths.spec()))?;
        let exe = self.cfg.exe.clone();
        let run_dir = self.cfg.run_dir.clone();
        let state_dir = self.cfg.state_dir.clone();
        let id = spec.id.clone();
        let reply =
            tokio::task::spawn_blocking(move || shim::launch(&exe, &run_dir, &state_dir, &id))
                .await
                .map_err(|e| Error::Shim {
                    id: spec.id.clone(),
                    source: io::Error::other(e),
                })??;
        match reply {
            shim::Reply::Started => Ok(()),
            shim::Reply::Failed(message) => Err(Error::StartFailed {
                id: spec.id.clone(),
                message,
            }),
        }
    }

    pub(crate) fn state(&self, id: &str) -> Result<ContainerState> {
        let paths = self.paths(id)?;
        if !paths.dir.exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        if let Some(exit) = read_json::<ExitRecord>(&paths.exit_record())? {
            return Ok(ContainerState::Exited(exit));
        }
        let start = read_json::<StartRecord>(&paths.start_record())?;
        match (start, shim_alive(&paths)) {
            (Some(s), true) => Ok(ContainerState::Running {
                pid: s.pid,
                started_at: s.started_at,
            }),
            // The shim may have written the exit record between our reads.
            (Some(_), false) => match read_json::<ExitRecord>(&paths.exit_record())? {
                Some(exit) => Ok(ContainerState::Exited(exit)),
                None => Ok(ContainerState::Unknown),
            },
            _ => Ok(ContainerState::Unknown),
        }
    }

    /// Sends the stop signal, waits up to `grace`, then kills everything in
    /// the container's cgroup. Returns when the shim recorded the exit.
    pub(crate) async fn stop(&self, id: &str, grace: Duration) -> Result<()> {
        let paths = self.paths(id)?;
        let ContainerState::Running { pid, .. } = self.state(id)? else {
            return Ok(());
        };
        let spec: ContainerSpec =
            read_json(&paths.spec())?.ok_or_else(|| Error::NotFound(id.to_string()))?;
        let signal = spec.stop_signal.unwrap_or(libc::SIGTERM);
        tracing::info!(container = id, pid, signal, ?grace, "stopping container");
        send_signal(pid, signal);
        if self.wait_exit(id, grace).await? {
            return Ok(());
        }
        tracing::info!(container = id, "grace period over, killing container");
        cgroup::kill_all(&spec.cgroup_path, pid);
        if !self.wait_exit(id, Duration::from_secs(10)).await? {
            return Err(Error::Oci {
                id: id.to_string(),
                message: "processes survived SIGKILL".into(),
            });
        }
        Ok(())
    }

    /// True once the container is no longer running (within `limit`).
    async fn wait_exit(&self, id: &str, limit: Duration) -> Result<bool> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if !matches!(self.state(id)?, ContainerState::Running { .. }) {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills what is left, then removes cgroup, OCI state, overlay mount,
    /// writable layer and the container's run dir.
    pub(crate) async fn remove(&self, id: &str) -> Result<()> {
        let paths = self.paths(id)?;
        if !paths.dir.exists() && !paths.layer_dir.exists() {
            return Ok(());
        }
        if matches!(self.state(id), Ok(ContainerState::Running { .. })) {
            self.stop(id, Duration::ZERO).await?;
        }
        let spec: Option<ContainerSpec> = read_json(&paths.spec()).unwrap_or(None);
        let shim_pid = read_pid(&paths.shim_pid());
        let id_owned = id.to_string();
        let cgroup_parent = self.cfg.cgroup_parent.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            if let Some(pid) = shim_pid {
                wait_gone(pid, Duration::from_secs(10));
            }
            rootfs::delete_oci_state(&paths.oci_root, &id_owned);
            if let Some(spec) = &spec {
                cgroup::remove(&spec.cgroup_path, &cgroup_parent);
            }
            rootfs::unmount(&paths.rootfs())?;
            for dir in [&paths.layer_dir, &paths.dir] {
                match std::fs::remove_dir_all(dir) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(dir)(e)),
                    _ => {}
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Oci {
            id: id.to_string(),
            message: e.to_string(),
        })?
    }

    /// Containers with state in the run dir (running or not).
    pub(crate) fn list(&self) -> Result<Vec<ContainerInfo>> {
        let mut out = Vec::new();
        let dir = &self.cfg.run_dir;
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if check_id(&name).is_err() {
                continue;
            }
            let path = entry.path().join("spec.json");
            if let Ok(Some(spec)) = read_json::<ContainerSpec>(&path) {
                out.push(ContainerInfo {
                    id: name,
                    labels: spec.labels,
                });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Runs `cmd` inside the running container.
    pub(crate) async fn exec(
        &self,
        id: &str,
        cmd: Vec<String>,
        tty: bool,
        stdin: bool,
    ) -> Result<ProcessIo> {
        let paths = self.paths(id)?;
        if !matches!(self.state(id)?, ContainerState::Running { .. }) {
            return Err(Error::NotRunning(id.to_string()));
        }
        client::exec(&self.cfg, &paths, id, cmd, tty, stdin).await
    }

    /// Connects to the container's output (and stdin when asked).
    pub(crate) async fn attach(&self, id: &str, stdin: bool) -> Result<ProcessIo> {
        let paths = self.paths(id)?;
        if !matches!(self.state(id)?, ContainerState::Running { .. }) {
            return Err(Error::NotRunning(id.to_string()));
        }
        let spec: ContainerSpec =
            read_json(&paths.spec())?.ok_or_else(|| Error::NotFound(id.to_string()))?;
        client::attach(&paths, id, stdin, spec.tty).await
    }

    pub(crate) fn stats(&self, id: &str) -> Result<Stats> {
        let paths = self.paths(id)?;
        let spec: ContainerSpec =
            read_json(&paths.spec())?.ok_or_else(|| Error::NotFound(id.to_string()))?;
        Ok(cgroup::stats(&spec.cgroup_path))
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

fn shim_alive(paths: &Paths) -> bool {
    read_pid(&paths.shim_pid()).is_some_and(|pid| {
        // A recycled pid would not run our shim: check its command line.
        pid_alive(pid)
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == b"shim"))
    })
}

fn send_signal(pid: i32, signal: i32) {
    // SAFETY: plain kill(2) on a pid we started.
    unsafe { libc::kill(pid, signal) };
}

fn wait_gone(pid: i32, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    while pid_alive(pid) && !is_zombie(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

/// Boxed stream halves handed to callers of exec and attach.
pub(crate) type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;
pub(crate) type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
pub(crate) type ResizeTx = mpsc::Sender<(u16, u16)>;
pub(crate) type ExitRx = oneshot::Receiver<i32>;
