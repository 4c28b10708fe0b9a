//! The kubelet inside the server: registers this box as a Node, keeps its
//! status and Lease current, binds unbound pods to it, and (through its
//! pod workers) runs the pods bound here. It talks to the API through an
//! in-process client, as the node's own identity.

mod backends;
mod binder;
pub(crate) mod client;
pub(crate) mod config;
mod host;
mod lease;
mod node;
mod placement;
pub(crate) mod pods;
mod stack;
pub(crate) mod streams;
pub(crate) mod volumes;

use std::sync::Arc;

use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) use config::{KubeletArgs, KubeletConfig};

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("invalid kubelet configuration: {0}")]
    Config(String),
    #[error("{what} {name}")]
    Api {
        what: &'static str,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
}

impl Error {
    /// Maps a client error of step `what` on object `name`.
    pub(crate) fn api(what: &'static str, name: &str) -> impl FnOnce(kube::Error) -> Error {
        let name = name.to_string();
        move |e| Error::Api {
            what,
            name,
            source: Box::new(e),
        }
    }
}

/// A running kubelet; its background tasks stop when it is dropped.
pub(crate) struct Kubelet {
    pub(crate) config: Arc<KubeletConfig>,
    /// Client acting as `system:node:<name>`, for the pod workers too.
    #[allow(dead_code)] // Taken by the pod workers.
    pub(crate) client: kube::Client,
    #[allow(dead_code)] // Fed by the pod workers' runtime checks.
    problems: watch::Sender<Option<String>>,
    tasks: Vec<JoinHandle<()>>,
    /// Runtime, network, images and pod workers; `None` when the host
    /// cannot run pods.
    stack: Option<Arc<stack::Stack>>,
}

impl Kubelet {
    /// Registers the Node (waiting until the API accepts it), then starts
    /// the node status, Lease and binder tasks. `router` is the API the
    /// client talks to in-process.
    pub(crate) async fn start(
        config: KubeletConfig,
        router: Router,
        service_ip: Option<std::net::IpAddr>,
    ) -> Kubelet {
        let config = Arc::new(config);
        let client = client::in_process(router, client::node_identity(&config.node_name));
        let host: Arc<dyn host::Host> = Arc::new(host::LinuxHost {
            data_dir: config.data_dir.clone(),
        });
        let runnable = host.runtime_problem().is_none();
        if let Some(problem) = host.runtime_problem() {
            tracing::warn!(node = %config.node_name, %problem, "pods cannot run on this node; it reports NotReady");
        }
        let registered = node::register(&client, &config).await;
        let uid = registered.metadata.uid.clone();
        let (problems, problems_rx) = watch::channel(None);
        let tasks = vec![
            tokio::spawn(node::run_status(
                client.clone(),
                config.clone(),
                host,
                problems_rx,
                registered,
            )),
            tokio::spawn(lease::run(client.clone(), config.node_name.clone(), uid)),
            tokio::spawn(binder::run(client.clone(), config.node_name.clone())),
        ];
        let mut stack = None;
        if runnable {
            match stack::start(&config, client.clone(), service_ip).await {
                Ok(s) => stack = Some(Arc::new(s)),
                Err(e) => {
                    let problem = format!("{e:#}");
                    tracing::error!(node = %config.node_name, %problem, "pods cannot run on this node");
                    problems.send_replace(Some(problem));
                }
            }
        }
        Kubelet {
            config,
            client,
            problems,
            tasks,
            stack,
        }
    }

    /// Logs, exec, attach and port-forward of this node's pods.
    pub(crate) fn streams(&self) -> Option<Arc<dyn streams::PodStreams>> {
        self.stack
            .clone()
            .map(|s| Arc::new(stack::NodeStreams(s)) as Arc<dyn streams::PodStreams>)
    }

    pub(crate) fn node_name(&self) -> &str {
        &self.config.node_name
    }

    /// Marks the node NotReady with `problem` (e.g. the container runtime
    /// failed to start), or clears it with `None`. Host checks (root,
    /// cgroups, overlayfs) are reported regardless.
    #[allow(dead_code)] // Called by the pod workers.
    pub(crate) fn report_runtime_problem(&self, problem: Option<String>) {
        self.problems.send_replace(problem);
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
