//! The boundaries of the pod workers: container runtime, pod network, image
//! store, volumes and the Kubernetes API. Each is a trait whose methods carry
//! the names and argument shapes of the real modules, so the adapters to
//! `runtime`, `net`, `image` and `volumes` stay thin; the fakes in tests
//! implement the same traits.

use std::future::Future;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod, PodStatus, Secret};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A failure reported by a backend; `message` is shown in pod status and
/// events as is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct BackendError {
    pub(crate) message: String,
}

impl BackendError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

pub(crate) type BackendResult<T> = Result<T, BackendError>;

// ---- runtime ----

pub(crate) use crate::runtime::{
    ContainerInfo, ContainerSpec, DeviceSpec, MountKind, MountSpec, Namespaces, Propagation,
    Resources, Seccomp, UserSpec,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExitRecord {
    pub(crate) code: i32,
    pub(crate) signal: Option<i32>,
    pub(crate) oom_killed: bool,
    pub(crate) started_at: Timestamp,
    pub(crate) finished_at: Timestamp,
    pub(crate) message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContainerState {
    Running { pid: u32, started_at: Timestamp },
    Exited(ExitRecord),
    Unknown,
}

/// The output of a command run to completion in a container (probes, hooks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecOutput {
    pub(crate) exit_code: i32,
    pub(crate) output: Vec<u8>,
}

/// `runtime::Runtime`. `exec_sync` is `Runtime::exec` without tty or stdin,
/// reading stdout and stderr until the exit code arrives, bounded by `timeout`
/// (an elapsed timeout is an error).
pub(crate) trait RuntimeBackend: Send + Sync {
    fn start<'a>(&'a self, spec: &'a ContainerSpec) -> BoxFuture<'a, BackendResult<()>>;
    fn state(&self, id: &str) -> BackendResult<ContainerState>;
    fn stop<'a>(&'a self, id: &'a str, grace: Duration) -> BoxFuture<'a, BackendResult<()>>;
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, BackendResult<()>>;
    fn list(&self) -> BackendResult<Vec<ContainerInfo>>;
    fn exec_sync<'a>(
        &'a self,
        id: &'a str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<ExecOutput>>;
}

// ---- net ----

pub(crate) use crate::net::{HostPort, Protocol, Sandbox};

/// `net::Network`.
pub(crate) trait NetBackend: Send + Sync {
    fn create_sandbox<'a>(
        &'a self,
        pod_uid: &'a str,
        hostname: &'a str,
        host_network: bool,
        host_ipc: bool,
    ) -> BoxFuture<'a, BackendResult<Sandbox>>;
    fn remove_sandbox<'a>(&'a self, pod_uid: &'a str) -> BoxFuture<'a, BackendResult<()>>;
    fn set_host_ports<'a>(
        &'a self,
        pod_uid: &'a str,
        ip: Ipv4Addr,
        ports: &'a [HostPort],
    ) -> BoxFuture<'a, BackendResult<()>>;
    fn sandboxes(&self) -> BackendResult<Vec<String>>;
    fn connect<'a>(
        &'a self,
        netns: Option<&'a Path>,
        port: u16,
    ) -> BoxFuture<'a, io::Result<tokio::net::TcpStream>>;
}

// ---- image ----

pub(crate) use crate::image::{Image, RegistryAuth};

/// The class of a failed pull, mirroring `image::PullError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PullErrorKind {
    NotFound,
    Unauthorized,
    DigestMismatch,
    Tls,
    NoSpace,
    Network,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PullFailure {
    pub(crate) kind: PullErrorKind,
    /// `PullError::message()`.
    pub(crate) message: String,
}

/// `image::ImageStore`. Pull progress is logged by the adapter.
pub(crate) trait ImageBackend: Send + Sync {
    fn resolve(&self, reference: &str) -> BackendResult<Option<Image>>;
    fn pull<'a>(
        &'a self,
        reference: &'a str,
        auth: &'a [RegistryAuth],
    ) -> BoxFuture<'a, Result<Image, PullFailure>>;
}

// ---- volumes ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PreparedVolume {
    pub(crate) name: String,
    pub(crate) host_path: PathBuf,
    pub(crate) read_only_default: bool,
}

/// `kubelet::volumes`: `prepare` materializes the pod's volumes under
/// `pod_dir`, `resolve_env` gives a container's env and envFrom as
/// `NAME=value` (ConfigMap/Secret/fieldRef/resourceFieldRef resolved),
/// `cleanup` undoes `prepare`.
pub(crate) trait VolumeBackend: Send + Sync {
    fn prepare<'a>(
        &'a self,
        pod: &'a Pod,
        pod_dir: &'a Path,
    ) -> BoxFuture<'a, BackendResult<Vec<PreparedVolume>>>;
    fn resolve_env<'a>(
        &'a self,
        pod: &'a Pod,
        container: &'a k8s_openapi::api::core::v1::Container,
    ) -> BoxFuture<'a, BackendResult<Vec<String>>>;
    /// Rewrites volume content whose source changed (ConfigMap and Secret
    /// updates, service account tokens near expiry).
    fn refresh<'a>(
        &'a self,
        _pod: &'a Pod,
        _pod_dir: &'a Path,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async { Ok(()) })
    }
    fn cleanup<'a>(
        &'a self,
        pod_uid: &'a str,
        pod_dir: &'a Path,
    ) -> BoxFuture<'a, BackendResult<()>>;
}

// ---- Kubernetes API ----

/// The API writes of the pod workers; `api.rs` implements it with kube-rs.
pub(crate) trait PodApi: Send + Sync {
    /// Writes `status` to pods/status (merge patch).
    fn write_status<'a>(
        &'a self,
        pod: &'a Pod,
        status: &'a PodStatus,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Creates the event, or replaces it when `event` carries a name that was
    /// created before (a repeat with a higher count).
    fn write_event<'a>(
        &'a self,
        event: &'a Event,
        repeat: bool,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Deletes the pod with gracePeriodSeconds=0 and a UID precondition.
    fn delete_pod<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        uid: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>>;
    fn get_secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<Option<Secret>>>;
}

/// The real modules behind the pod workers.
#[derive(Clone)]
pub(crate) struct Backends {
    pub(crate) runtime: Arc<dyn RuntimeBackend>,
    pub(crate) net: Arc<dyn NetBackend>,
    pub(crate) images: Arc<dyn ImageBackend>,
    pub(crate) volumes: Arc<dyn VolumeBackend>,
}
