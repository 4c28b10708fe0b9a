//! From (namespace, pod, container) to what exec, attach, port-forward and
//! logs need: runtime container id, network namespace, log file.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;

use super::logs::{self, LogRequest};
use super::{ContainerView, PodView, PodsHandle, Registry};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResolveError {
    /// 404.
    #[error("pods \"{0}\" not found")]
    PodNotFound(String),
    /// 400.
    #[error("a container name must be specified for pod {pod}, choose one of: [{choices}]")]
    ContainerRequired { pod: String, choices: String },
    /// 400.
    #[error("container {container} is not valid for pod {pod}")]
    ContainerNotFound { pod: String, container: String },
    /// 400.
    #[error("container {container} is not running in pod {pod}")]
    NotRunning { pod: String, container: String },
    /// 400.
    #[error("{0}")]
    NoLogs(String),
}

impl Registry {
    /// The pod and the named container (or its only app container).
    pub(crate) fn container(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Result<(PodView, ContainerView), ResolveError> {
        let view = self
            .find(namespace, pod)
            .ok_or_else(|| ResolveError::PodNotFound(pod.to_owned()))?;
        let found = match container.filter(|c| !c.is_empty()) {
            Some(name) => view
                .containers
                .iter()
                .find(|c| c.name == name)
                .cloned()
                .ok_or_else(|| ResolveError::ContainerNotFound {
                    pod: pod.to_owned(),
                    container: name.to_owned(),
                })?,
            None => {
                let app: Vec<&ContainerView> = view.containers.iter().filter(|c| !c.init).collect();
                match app.as_slice() {
                    [one] => (*one).clone(),
                    _ => {
                        let names: Vec<&str> =
                            view.containers.iter().map(|c| c.name.as_str()).collect();
                        return Err(ResolveError::ContainerRequired {
                            pod: pod.to_owned(),
                            choices: names.join(" "),
                        });
                    }
                }
            }
        };
        Ok((view, found))
    }

    /// The runtime id of a running container, for exec and attach.
    pub(crate) fn running_container(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Result<String, ResolveError> {
        let (_, c) = self.container(namespace, pod, container)?;
        match (&c.id, c.running) {
            (Some(id), true) => Ok(id.clone()),
            _ => Err(ResolveError::NotRunning {
                pod: pod.to_owned(),
                container: c.name,
            }),
        }
    }

    /// The pod's network namespace (None = host network), for port-forward
    /// through `Network::connect`.
    pub(crate) fn netns(
        &self,
        namespace: &str,
        pod: &str,
    ) -> Result<Option<PathBuf>, ResolveError> {
        self.find(namespace, pod)
            .map(|v| v.netns)
            .ok_or_else(|| ResolveError::PodNotFound(pod.to_owned()))
    }
}

impl PodsHandle {
    /// `kubectl logs`: the container's current (or previous) run, following
    /// while that run is alive.
    pub(crate) async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        req: &LogRequest,
    ) -> Result<impl Stream<Item = io::Result<Bytes>> + Send + use<>, ResolveError> {
        let (view, c) = self.registry.container(namespace, pod, container)?;
        let path = logs::select(&view.pod_dir, pod, &c.name, req.previous)
            .map_err(|e| ResolveError::NoLogs(e.to_string()))?;
        let registry = self.registry.clone();
        let (ns, name, cname) = (namespace.to_owned(), pod.to_owned(), c.name.clone());
        let restart = c.restart_count;
        let previous = req.previous;
        let running = Arc::new(move || {
            !previous
                && registry
                    .container(&ns, &name, Some(&cname))
                    .is_ok_and(|(_, c)| c.running && c.restart_count == restart)
        });
        logs::read(&path, req, running).await.map_err(|e| {
            ResolveError::NoLogs(format!("cannot read logs of container {}: {e}", c.name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let r = Registry::default();
        let c = |name: &str, init: bool, running: bool| ContainerView {
            name: name.into(),
            init,
            id: Some(format!("id-{name}")),
            running,
            restart_count: 0,
        };
        r.insert(
            "u1",
            PodView {
                namespace: "ns".into(),
                name: "web".into(),
                uid: "u1".into(),
                netns: Some("/run/sovedge/sandboxes/u1/net".into()),
                pod_ip: None,
                pod_dir: "/data/pods/u1".into(),
                containers: vec![c("setup", true, false), c("app", false, true)],
            },
        );
        r
    }

    #[test]
    fn resolves_containers_like_upstream() {
        let r = registry();
        assert_eq!(r.running_container("ns", "web", None).unwrap(), "id-app");
        assert_eq!(
            r.running_container("ns", "web", Some("app")).unwrap(),
            "id-app"
        );
        assert_eq!(
            r.running_container("ns", "web", Some("setup"))
                .unwrap_err()
                .to_string(),
            "container setup is not running in pod web"
        );
        assert_eq!(
            r.running_container("ns", "web", Some("x"))
                .unwrap_err()
                .to_string(),
            "container x is not valid for pod web"
        );
        assert_eq!(
            r.running_container("ns", "nope", None).unwrap_err(),
            ResolveError::PodNotFound("nope".into())
        );
        assert_eq!(
            r.netns("ns", "web").unwrap(),
            Some(PathBuf::from("/run/sovedge/sandboxes/u1/net"))
        );
        r.remove("u1");
        assert!(r.netns("ns", "web").is_err());
    }
}
