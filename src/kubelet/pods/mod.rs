//! Pod workers: turn the pods bound to this node into running containers
//! and report their status.
//!
//! `start` watches the node's pods and runs one `Worker` per pod UID. The
//! workers talk to the runtime, network, image store and volumes through the
//! traits in `backend`, and to the API through `PodApi`, so the lifecycle
//! logic is tested with fakes.

pub(crate) mod api;
pub(crate) mod backend;
mod backoff;
mod containers;
mod events;
pub(crate) mod logs;
mod podfiles;
mod probe;
mod recovery;
pub(crate) mod resolve;
mod resources;
mod spec;
mod status;
mod terminate;
mod worker;

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod worker_tests;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) use backend::{Backends, PodApi};
use backend::{ContainerInfo, HostPort, Protocol};
use worker::{Shared, Worker};

#[derive(Debug, Clone)]
pub(crate) struct PodsConfig {
    pub(crate) node_name: String,
    /// DATA: pods live under DATA/pods/<uid>/.
    pub(crate) data_dir: PathBuf,
    pub(crate) cgroup_parent: String,
    pub(crate) host_ip: IpAddr,
    pub(crate) cluster_dns: Option<Ipv4Addr>,
    pub(crate) cluster_domain: String,
    /// How often running containers are checked for exits.
    pub(crate) poll_interval: Duration,
}

impl PodsConfig {
    pub(crate) fn new(
        node_name: &str,
        data_dir: PathBuf,
        cgroup_parent: &str,
        host_ip: IpAddr,
    ) -> Self {
        Self {
            node_name: node_name.to_owned(),
            data_dir,
            cgroup_parent: cgroup_parent.to_owned(),
            host_ip,
            cluster_dns: None,
            cluster_domain: "cluster.local".into(),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// A container as exec, attach and logs see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerView {
    pub(crate) name: String,
    pub(crate) init: bool,
    pub(crate) id: Option<String>,
    pub(crate) running: bool,
    pub(crate) restart_count: i32,
}

/// A pod as exec, attach, logs and port-forward see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodView {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) netns: Option<PathBuf>,
    pub(crate) pod_ip: Option<Ipv4Addr>,
    pub(crate) pod_dir: PathBuf,
    pub(crate) containers: Vec<ContainerView>,
}

/// The workers' published views, keyed by pod UID.
#[derive(Clone, Default)]
pub(crate) struct Registry {
    pods: Arc<RwLock<HashMap<String, PodView>>>,
}

impl Registry {
    pub(crate) fn insert(&self, uid: &str, view: PodView) {
        self.pods
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uid.to_owned(), view);
    }

    pub(crate) fn remove(&self, uid: &str) {
        self.pods
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }

    pub(crate) fn find(&self, namespace: &str, name: &str) -> Option<PodView> {
        self.pods
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .find(|p| p.namespace == namespace && p.name == name)
            .cloned()
    }
}

/// Host ports the pod's containers ask for.
pub(crate) fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return vec![];
    };
    spec.containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let host_port = u16::try_from(p.host_port?).ok().filter(|p| *p > 0)?;
            Some(HostPort {
                protocol: if p.protocol.as_deref() == Some("UDP") {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                },
                host_port,
                container_port: u16::try_from(p.container_port).ok()?,
                host_ip: p.host_ip.as_deref().and_then(|h| h.parse().ok()),
            })
        })
        .collect()
}

/// The running pod workers; dropping it does not stop them, `shutdown` does
/// (containers keep running for the next start to adopt).
pub(crate) struct PodsHandle {
    pub(crate) registry: Registry,
    pub(crate) backends: Backends,
    pub(crate) cfg: PodsConfig,
    task: JoinHandle<()>,
}

impl PodsHandle {
    pub(crate) fn shutdown(&self) {
        self.task.abort();
    }
}

struct Dispatcher {
    shared: Arc<Shared>,
    workers: HashMap<String, (watch::Sender<Option<Pod>>, JoinHandle<()>)>,
    adopted: HashMap<String, Vec<ContainerInfo>>,
}

impl Dispatcher {
    fn apply(&mut self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        self.workers.retain(|_, (_, task)| !task.is_finished());
        if let Some((tx, _)) = self.workers.get(&uid) {
            tx.send_replace(Some(pod));
            return;
        }
        let (tx, rx) = watch::channel(Some(pod.clone()));
        let adopted = self.adopted.remove(&uid).unwrap_or_default();
        let worker = Worker::new(self.shared.clone(), pod, rx, adopted);
        self.workers.insert(uid, (tx, tokio::spawn(worker.run())));
    }

    fn delete(&mut self, uid: &str) {
        if let Some((tx, _)) = self.workers.get(uid) {
            tx.send_replace(None);
        }
    }
}

/// Starts the pod workers for `cfg.node_name` with the kube-rs client.
pub(crate) fn start(client: kube::Client, cfg: PodsConfig, backends: Backends) -> PodsHandle {
    let api: Arc<dyn PodApi> = Arc::new(api::KubePodApi::new(client.clone()));
    let pods: kube::Api<Pod> = kube::Api::all(client);
    let selector = format!("spec.nodeName={}", cfg.node_name);
    let stream = watcher(pods, watcher::Config::default().fields(&selector)).boxed();
    start_with(stream, api, cfg, backends)
}

/// `start` with the watch stream and API given, for tests.
pub(crate) fn start_with(
    mut stream: futures_util::stream::BoxStream<
        'static,
        Result<watcher::Event<Pod>, watcher::Error>,
    >,
    api: Arc<dyn PodApi>,
    cfg: PodsConfig,
    backends: Backends,
) -> PodsHandle {
    let registry = Registry::default();
    let shared = Arc::new(Shared {
        backends: backends.clone(),
        events: events::Recorder::new(api.clone(), &cfg.node_name),
        api,
        cfg: cfg.clone(),
        registry: registry.clone(),
    });
    let task = tokio::spawn(async move {
        let mut d = Dispatcher {
            shared,
            workers: HashMap::new(),
            adopted: HashMap::new(),
        };
        let mut initial: Option<Vec<Pod>> = None;
        let mut recovered = false;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Init) => initial = Some(Vec::new()),
                Ok(watcher::Event::InitApply(p)) => initial.get_or_insert_with(Vec::new).push(p),
                Ok(watcher::Event::InitDone) => {
                    let list = initial.take().unwrap_or_default();
                    if !recovered {
                        d.adopted = recovery::recover(&d.shared, &list).await;
                        recovered = true;
                    }
                    let present: Vec<String> =
                        list.iter().filter_map(|p| p.metadata.uid.clone()).collect();
                    let gone: Vec<String> = d
                        .workers
                        .keys()
                        .filter(|u| !present.contains(u))
                        .cloned()
                        .collect();
                    for uid in gone {
                        d.delete(&uid);
                    }
                    for p in list {
                        d.apply(p);
                    }
                }
                Ok(watcher::Event::Apply(p)) => d.apply(p),
                Ok(watcher::Event::Delete(p)) => {
                    if let Some(uid) = p.metadata.uid.as_deref() {
                        d.delete(uid);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pod watch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    PodsHandle {
        registry,
        backends,
        cfg,
        task,
    }
}
