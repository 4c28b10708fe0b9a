//! Until a scheduler exists, the kubelet of a single-node server assigns
//! unbound pods to its own node, honouring what a pod demands of its node
//! (nodeSelector, required node affinity, taints) and reporting a pod that
//! cannot go there the way upstream's scheduler does.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, PodCondition, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::json;

use super::Error;
use super::placement::{Fit, fits};

const SCHEDULER: &str = "default-scheduler";
/// How often binds that failed for other reasons are tried again.
const RETRY: Duration = Duration::from_secs(5);

type PodKey = (String, String);

fn key(pod: &Pod) -> PodKey {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

/// Watches unbound pods and this node, binding what fits. Runs until the
/// task is dropped.
pub(crate) async fn run(client: kube::Client, node_name: String) {
    let pods: Api<Pod> = Api::all(client.clone());
    let nodes: Api<Node> = Api::all(client.clone());
    let mut pod_events = watcher::watcher(
        pods.clone(),
        watcher::Config::default().fields("spec.nodeName="),
    )
    .default_backoff()
    .boxed();
    let mut node_events = watcher::watcher(
        nodes,
        watcher::Config::default().fields(&format!("metadata.name={node_name}")),
    )
    .default_backoff()
    .boxed();
    let mut binder = Binder {
        client,
        node_name,
        node: None,
        pending: BTreeMap::new(),
        relist: BTreeMap::new(),
        reported: HashMap::new(),
    };
    let mut retry = tokio::time::interval(RETRY);
    loop {
        tokio::select! {
            ev = pod_events.next() => match ev {
                Some(Ok(ev)) => binder.on_pod_event(ev),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "unbound pod watch interrupted");
                    continue;
                }
                None => return,
            },
            ev = node_events.next() => match ev {
                Some(Ok(Event::Apply(n) | Event::InitApply(n))) => binder.node = Some(n),
                Some(Ok(Event::Delete(_))) => binder.node = None,
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "node watch interrupted");
                    continue;
                }
                None => return,
            },
            _ = retry.tick() => {}
        }
        binder.schedule_pending().await;
    }
}

struct Binder {
    client: kube::Client,
    node_name: String,
    /// This node as last seen; nothing is bound before it is known.
    node: Option<Node>,
    pending: BTreeMap<PodKey, Pod>,
    /// Pods listed during a watch restart.
    relist: BTreeMap<PodKey, Pod>,
    /// Pods last reported as unschedulable, by uid, with the message, so
    /// a pod gets one event per distinct reason.
    reported: HashMap<String, String>,
}

impl Binder {
    fn on_pod_event(&mut self, ev: Event<Pod>) {
        match ev {
            Event::Apply(p) => {
                self.pending.insert(key(&p), p);
            }
            Event::Delete(p) => {
                self.pending.remove(&key(&p));
                if let Some(uid) = &p.metadata.uid {
                    self.reported.remove(uid);
                }
            }
            Event::Init => self.relist.clear(),
            Event::InitApply(p) => {
                self.relist.insert(key(&p), p);
            }
            Event::InitDone => self.pending = std::mem::take(&mut self.relist),
        }
    }

    async fn schedule_pending(&mut self) {
        let Some(node) = self.node.clone() else {
            return;
        };
        let pods: Vec<Pod> = self.pending.values().cloned().collect();
        for pod in pods {
            if self.schedule(&pod, &node).await {
                self.pending.remove(&key(&pod));
            }
        }
    }

    /// Returns whether the pod is done with (bound or not ours to bind).
    async fn schedule(&mut self, pod: &Pod, node: &Node) -> bool {
        let (ns, name) = key(pod);
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let Some(spec) = &pod.spec else { return true };
        if pod.metadata.deletion_timestamp.is_some() {
            return true;
        }
        if spec.node_name.as_deref().is_some_and(|n| !n.is_empty()) {
            return true;
        }
        if !matches!(
            spec.scheduler_name.as_deref(),
            None | Some("") | Some(SCHEDULER)
        ) {
            return true;
        }
        if spec
            .scheduling_gates
            .as_ref()
            .is_some_and(|g| !g.is_empty())
        {
            self.report(
                pod,
                "SchedulingGated",
                "Scheduling is blocked due to non-empty scheduling gates",
                false,
            )
            .await;
            return false;
        }
        if let Fit::No(message) = fits(spec, node) {
            self.report(pod, "Unschedulable", &message, true).await;
            return false;
        }
        match self.bind(&ns, &name, spec).await {
            Ok(()) => {
                self.reported.remove(&uid);
                tracing::info!(pod = %format!("{ns}/{name}"), node = %self.node_name, "pod bound");
                let message = format!("Successfully assigned {ns}/{name} to {}", self.node_name);
                self.event(pod, "Normal", "Scheduled", &message).await;
                true
            }
            // Already bound or gone: nothing left to do.
            Err(Error::Api { source, .. }) if matches!(*source, kube::Error::Api(ref s) if s.code == 409 || s.code == 404) => {
                true
            }
            Err(e) => {
                tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "binding failed; will retry");
                false
            }
        }
    }

    async fn bind(&self, ns: &str, name: &str, _spec: &PodSpec) -> Result<(), Error> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let binding = json!({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": { "name": name, "namespace": ns },
            "target": { "apiVersion": "v1", "kind": "Node", "name": self.node_name },
        });
        api.create_subresource::<_, serde_json::Value>(
            "binding",
            name,
            &PostParams::default(),
            &binding,
        )
        .await
        .map(drop)
        .map_err(Error::api("bind pod", name))
    }

    /// Sets PodScheduled=False with `reason` and, for real scheduling
    /// failures, records a FailedScheduling event; once per message.
    async fn report(&mut self, pod: &Pod, reason: &str, message: &str, event: bool) {
        let (ns, name) = key(pod);
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if self.reported.get(&uid).is_some_and(|m| m == message) {
            return;
        }
        let mut conditions: Vec<PodCondition> = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        conditions.retain(|c| c.type_ != "PodScheduled");
        conditions.push(PodCondition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_transition_time: Some(Time(Timestamp::now())),
            ..PodCondition::default()
        });
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let patch = json!({ "status": { "conditions": conditions } });
        if let Err(e) = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "recording the scheduling condition failed");
            return;
        }
        if event {
            tracing::info!(pod = %format!("{ns}/{name}"), %message, "pod cannot be placed on this node");
            self.event(pod, "Warning", "FailedScheduling", message)
                .await;
        }
        self.reported.insert(uid, message.into());
    }

    async fn event(&self, pod: &Pod, kind: &str, reason: &str, message: &str) {
        let (ns, name) = key(pod);
        let now = Timestamp::now();
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": format!("{name}.{:x}", now.as_nanosecond()),
                "namespace": ns,
            },
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": ns,
                "name": name,
                "uid": pod.metadata.uid,
                "resourceVersion": pod.metadata.resource_version,
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "source": { "component": SCHEDULER },
            "reportingComponent": SCHEDULER,
            "reportingInstance": format!("{SCHEDULER}-{}", self.node_name),
            "firstTimestamp": Time(now),
            "lastTimestamp": Time(now),
            "count": 1,
        });
        let api: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(self.client.clone(), &ns);
        let event = match serde_json::from_value(event) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "building an event failed");
                return;
            }
        };
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            tracing::debug!(pod = %format!("{ns}/{name}"), error = %e, "recording an event failed");
        }
    }
}
