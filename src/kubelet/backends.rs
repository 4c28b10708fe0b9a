//! The pod workers' boundaries bound to the real modules: the container
//! runtime, the pod network, the image store and the volume plugins. Each
//! adapter only converts types and errors; the behaviour lives in the
//! modules themselves.

use std::io;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use tokio::io::AsyncReadExt;

use super::pods::backend::{
    self as b, BackendError, BackendResult, BoxFuture, ImageBackend, NetBackend, RuntimeBackend,
    VolumeBackend,
};
use super::volumes::{ServiceEnv, Volumes};
use crate::image::{self, ImageStore, PullProgress};
use crate::net::Network;
use crate::runtime::{self as rt, Runtime};

fn err(e: impl std::fmt::Display) -> BackendError {
    BackendError::new(e.to_string())
}

pub(crate) struct RuntimeAdapter(pub(crate) Runtime);

fn timestamp(s: Option<&str>) -> jiff::Timestamp {
    s.and_then(|s| s.parse().ok())
        .unwrap_or_else(jiff::Timestamp::now)
}

fn state(s: rt::ContainerState) -> b::ContainerState {
    match s {
        rt::ContainerState::Running { pid, started_at } => b::ContainerState::Running {
            pid: u32::try_from(pid).unwrap_or(0),
            started_at: timestamp(Some(&started_at)),
        },
        rt::ContainerState::Exited(e) => b::ContainerState::Exited(b::ExitRecord {
            code: e.exit_code,
            signal: e.signal,
            oom_killed: e.oom_killed,
            started_at: timestamp(e.started_at.as_deref()),
            finished_at: timestamp(Some(&e.finished_at)),
            message: e.message,
        }),
        rt::ContainerState::Unknown => b::ContainerState::Unknown,
    }
}

impl RuntimeBackend for RuntimeAdapter {
    fn start<'a>(&'a self, spec: &'a b::ContainerSpec) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.0.start(spec).await.map_err(err) })
    }

    fn state(&self, id: &str) -> BackendResult<b::ContainerState> {
        self.0.state(id).map(state).map_err(err)
    }

    fn stop<'a>(&'a self, id: &'a str, grace: Duration) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.0.stop(id, grace).await.map_err(err) })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.0.remove(id).await.map_err(err) })
    }

    fn list(&self) -> BackendResult<Vec<b::ContainerInfo>> {
        self.0.list().map_err(err)
    }

    fn exec_sync<'a>(
        &'a self,
        id: &'a str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<b::ExecOutput>> {
        Box::pin(async move {
            let run = async {
                let io = self.0.exec(id, cmd, false, false).await.map_err(err)?;
                let mut output = Vec::new();
                let mut stderr = Vec::new();
                let out = async {
                    if let Some(mut r) = io.stdout {
                        let _ = r.read_to_end(&mut output).await;
                    }
                };
                let errs = async {
                    if let Some(mut r) = io.stderr {
                        let _ = r.read_to_end(&mut stderr).await;
                    }
                };
                tokio::join!(out, errs);
                output.extend_from_slice(&stderr);
                let exit_code = io
                    .exit
                    .await
                    .map_err(|_| BackendError::new("exec ended without an exit code"))?;
                Ok(b::ExecOutput { exit_code, output })
            };
            tokio::time::timeout(timeout, run).await.map_err(|_| {
                BackendError::new(format!("command timed out after {}s", timeout.as_secs()))
            })?
        })
    }
}

pub(crate) struct NetAdapter(pub(crate) Network);

impl NetBackend for NetAdapter {
    fn create_sandbox<'a>(
        &'a self,
        pod_uid: &'a str,
        hostname: &'a str,
        host_network: bool,
        host_ipc: bool,
    ) -> BoxFuture<'a, BackendResult<b::Sandbox>> {
        Box::pin(async move {
            self.0
                .create_sandbox(pod_uid, hostname, host_network, host_ipc)
                .await
                .map_err(err)
        })
    }

    fn remove_sandbox<'a>(&'a self, pod_uid: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.0.remove_sandbox(pod_uid).await.map_err(err) })
    }

    fn set_host_ports<'a>(
        &'a self,
        pod_uid: &'a str,
        ip: Ipv4Addr,
        ports: &'a [b::HostPort],
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.0.set_host_ports(pod_uid, ip, ports).await.map_err(err) })
    }

    fn sandboxes(&self) -> BackendResult<Vec<String>> {
        self.0.sandboxes().map_err(err)
    }

    fn connect<'a>(
        &'a self,
        netns: Option<&'a Path>,
        port: u16,
    ) -> BoxFuture<'a, io::Result<tokio::net::TcpStream>> {
        Box::pin(self.0.connect(netns, port))
    }
}

pub(crate) struct ImageAdapter(pub(crate) ImageStore);

impl ImageBackend for ImageAdapter {
    fn resolve(&self, reference: &str) -> BackendResult<Option<b::Image>> {
        self.0.resolve(reference).map_err(err)
    }

    fn pull<'a>(
        &'a self,
        reference: &'a str,
        auth: &'a [b::RegistryAuth],
    ) -> BoxFuture<'a, Result<b::Image, b::PullFailure>> {
        Box::pin(async move {
            let progress = |p: PullProgress| log_progress(reference, &p);
            self.0
                .pull(reference, auth, &progress)
                .await
                .map_err(|e| b::PullFailure {
                    kind: match e {
                        image::PullError::NotFound { .. } => b::PullErrorKind::NotFound,
                        image::PullError::Unauthorized { .. } => b::PullErrorKind::Unauthorized,
                        image::PullError::DigestMismatch { .. } => b::PullErrorKind::DigestMismatch,
                        image::PullError::Tls { .. } => b::PullErrorKind::Tls,
                        image::PullError::NoSpace { .. } => b::PullErrorKind::NoSpace,
                        image::PullError::Network { .. } => b::PullErrorKind::Network,
                        image::PullError::Invalid { .. } => b::PullErrorKind::Invalid,
                    },
                    message: e.message(),
                })
        })
    }
}

/// Pull progress in the server log: each layer at its start, every 25 %
/// and at its end, so a slow link shows movement without flooding.
pub(crate) fn log_progress(reference: &str, p: &PullProgress) {
    match p {
        PullProgress::Resolving { reference } => tracing::info!(image = %reference, "resolving"),
        PullProgress::Layer {
            digest,
            done,
            total,
        } => {
            let quarter = |n: u64| n.saturating_mul(4) / (*total).max(1);
            if *done == 0
                || done == total
                || quarter(*done) != quarter(done.saturating_sub(1 << 20))
            {
                tracing::info!(image = %reference, layer = %digest, done, total, "pulling layer");
            }
        }
        PullProgress::Unpacking { digest } => {
            tracing::info!(image = %reference, layer = %digest, "unpacking layer")
        }
        PullProgress::Done { digest, bytes } => {
            tracing::info!(image = %reference, %digest, bytes, "image ready")
        }
    }
}

pub(crate) struct VolumeAdapter {
    pub(crate) volumes: Volumes,
    pub(crate) service: Option<ServiceEnv>,
}

impl VolumeBackend for VolumeAdapter {
    fn prepare<'a>(
        &'a self,
        pod: &'a Pod,
        pod_dir: &'a Path,
    ) -> BoxFuture<'a, BackendResult<Vec<b::PreparedVolume>>> {
        Box::pin(async move {
            let prepared = self
                .volumes
                .prepare(pod, pod_dir)
                .await
                .map_err(|e| BackendError::new(e.event_message()))?;
            Ok(prepared
                .into_iter()
                .map(|v| b::PreparedVolume {
                    name: v.name,
                    host_path: v.host_path,
                    read_only_default: v.read_only_default,
                })
                .collect())
        })
    }

    fn resolve_env<'a>(
        &'a self,
        pod: &'a Pod,
        container: &'a Container,
    ) -> BoxFuture<'a, BackendResult<Vec<String>>> {
        Box::pin(async move {
            let env = self
                .volumes
                .resolve_env(pod, container, self.service.as_ref())
                .await
                .map_err(err)?;
            Ok(env
                .vars
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect())
        })
    }

    fn refresh<'a>(&'a self, pod: &'a Pod, pod_dir: &'a Path) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.volumes
                .refresh(pod, pod_dir)
                .await
                .map(|_| ())
                .map_err(|e| BackendError::new(e.event_message()))
        })
    }

    fn cleanup<'a>(
        &'a self,
        _pod_uid: &'a str,
        pod_dir: &'a Path,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.volumes.cleanup(pod_dir).map_err(err) })
    }
}

/// The four adapters as the workers take them.
pub(crate) fn backends(
    runtime: Runtime,
    network: Network,
    images: ImageStore,
    volumes: VolumeAdapter,
) -> b::Backends {
    b::Backends {
        runtime: Arc::new(RuntimeAdapter(runtime)),
        net: Arc::new(NetAdapter(network)),
        images: Arc::new(ImageAdapter(images)),
        volumes: Arc::new(volumes),
    }
}
