//! Starts what runs pods on this node: the container runtime, the pod
//! network, the image store (with the air-gap drop-in directory) and the
//! pod workers, and serves logs, exec, attach and port-forward from them.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::net::TcpStream;

use super::KubeletConfig;
use super::backends::{self, VolumeAdapter};
use super::pods::logs::LogRequest;
use super::pods::resolve::ResolveError;
use super::pods::{self, PodsConfig, PodsHandle};
use super::streams::{BoxFuture, LogOptions, PodStreams, ProcessIo};
use super::volumes::{HostMounter, KubeSource, ServiceEnv, Volumes};
use crate::image::{ImageStore, RegistriesConfig};
use crate::net::{NetConfig, Network};
use crate::registry::ApiError;
use crate::runtime::{Runtime, RuntimeConfig};

/// How often `DATA/images` is checked for new air-gap archives.
const IMPORT_INTERVAL: Duration = Duration::from_secs(5);

/// The running pod side of the kubelet.
pub(crate) struct Stack {
    pub(crate) pods: Arc<PodsHandle>,
    pub(crate) runtime: Runtime,
    pub(crate) network: Network,
}

/// Brings up runtime, network and images, then the pod workers. An error
/// names the part that could not start; the node then reports NotReady.
pub(crate) async fn start(
    cfg: &KubeletConfig,
    client: kube::Client,
    service_ip: Option<IpAddr>,
) -> anyhow::Result<Stack> {
    use anyhow::Context;
    let runtime = Runtime::new(RuntimeConfig {
        run_dir: cfg.run_dir.join("containers"),
        state_dir: cfg.data_dir.join("containers"),
        cgroup_parent: cfg.cgroup_parent.clone(),
        exe: std::env::current_exe().context("locate our own binary for the shims")?,
    })
    .context("container runtime")?;
    let network = Network::new(NetConfig {
        bridge: cfg.bridge.clone(),
        pod_cidr: cfg
            .pod_cidr
            .to_string()
            .parse()
            .map_err(|e| anyhow::anyhow!("pod cidr {}: {e}", cfg.pod_cidr))?,
        state_dir: cfg.net_dir(),
        run_dir: cfg.run_dir.clone(),
    })
    .context("pod network")?;
    network.setup_host().await.context("pod network")?;
    let images = ImageStore::open(&cfg.content_dir()).context("image store")?;
    images.set_registries(
        RegistriesConfig::load(&cfg.registries_config).context("registries configuration")?,
    );
    spawn_imports(images.clone(), cfg.images_dir());

    let volumes = Volumes::new(
        Arc::new(KubeSource::new(client.clone())),
        Arc::new(HostMounter),
        BTreeMap::new(),
    );
    let service = service_ip.map(|host| ServiceEnv { host, port: 443 });
    let backends = backends::backends(
        runtime.clone(),
        network.clone(),
        images,
        VolumeAdapter { volumes, service },
    );
    let host_ip = IpAddr::V4(super::host::internal_ip());
    let pods_cfg = PodsConfig::new(
        &cfg.node_name,
        cfg.data_dir.clone(),
        &cfg.cgroup_parent,
        host_ip,
    );
    let pods = Arc::new(pods::start(client, pods_cfg, backends));
    Ok(Stack {
        pods,
        runtime,
        network,
    })
}

/// Imports air-gap archives dropped into `dir`, at start and whenever new
/// ones appear; each shows its progress in the log.
fn spawn_imports(images: ImageStore, dir: std::path::PathBuf) {
    tokio::spawn(async move {
        loop {
            let (store, d) = (images.clone(), dir.clone());
            let done = tokio::task::spawn_blocking(move || {
                if !d.is_dir() {
                    return Ok(Vec::new());
                }
                store.import_dir(&d, &|p| backends::log_progress("air-gap archive", &p))
            })
            .await;
            match done {
                Ok(Ok(list)) => {
                    for i in list {
                        tracing::info!(image = ?i.references, digest = %i.digest, "imported air-gap image");
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "air-gap import failed")
                }
                Err(_) => {}
            }
            tokio::time::sleep(IMPORT_INTERVAL).await;
        }
    });
}

fn api_error(e: ResolveError) -> ApiError {
    match e {
        ResolveError::PodNotFound(_) => ApiError::new(404, "NotFound", e.to_string()),
        e => ApiError::bad_request(e.to_string()),
    }
}

/// Logs, exec, attach and port-forward of the pods on this node.
pub(crate) struct NodeStreams(pub(crate) Arc<Stack>);

impl PodStreams for NodeStreams {
    fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: Option<String>,
        cmd: Vec<String>,
        tty: bool,
        stdin: bool,
    ) -> BoxFuture<'static, Result<ProcessIo, ApiError>> {
        let stack = self.0.clone();
        let found = stack
            .pods
            .registry
            .running_container(ns, pod, container.as_deref());
        Box::pin(async move {
            let id = found.map_err(api_error)?;
            stack
                .runtime
                .exec(&id, cmd, tty, stdin)
                .await
                .map_err(|e| ApiError::internal(e.to_string()))
        })
    }

    fn attach(
        &self,
        ns: &str,
        pod: &str,
        container: Option<String>,
        stdin: bool,
        _tty: bool,
    ) -> BoxFuture<'static, Result<ProcessIo, ApiError>> {
        let stack = self.0.clone();
        let found = stack
            .pods
            .registry
            .running_container(ns, pod, container.as_deref());
        Box::pin(async move {
            let id = found.map_err(api_error)?;
            stack
                .runtime
                .attach(&id, stdin)
                .await
                .map_err(|e| ApiError::internal(e.to_string()))
        })
    }

    fn port_forward(
        &self,
        ns: &str,
        pod: &str,
        port: u16,
    ) -> BoxFuture<'static, Result<TcpStream, ApiError>> {
        let stack = self.0.clone();
        let netns = stack.pods.registry.netns(ns, pod);
        let pod = pod.to_string();
        Box::pin(async move {
            let netns = netns.map_err(api_error)?;
            stack
                .network
                .connect(netns.as_deref(), port)
                .await
                .map_err(|e| {
                    ApiError::internal(format!("error forwarding port {port} to pod {pod}: {e}"))
                })
        })
    }

    fn logs(
        &self,
        ns: &str,
        pod: &str,
        opts: LogOptions,
    ) -> BoxFuture<'static, Result<BoxStream<'static, io::Result<Bytes>>, ApiError>> {
        let stack = self.0.clone();
        let (ns, pod) = (ns.to_string(), pod.to_string());
        Box::pin(async move {
            let req = LogRequest {
                follow: opts.follow,
                previous: opts.previous,
                tail_lines: opts.tail_lines,
                since_seconds: opts.since_seconds,
                since_time: opts.since_time,
                timestamps: opts.timestamps,
                limit_bytes: opts.limit_bytes,
            };
            let stream = stack
                .pods
                .logs(&ns, &pod, opts.container.as_deref(), &req)
                .await
                .map_err(api_error)?;
            Ok(stream.boxed())
        })
    }
}
