//! One worker per pod UID: a level-triggered loop that compares the pod's
//! spec with what runs and acts, on every change of the pod, on probe
//! results and on timers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::backend::{
    Backends, ContainerInfo, ContainerState, Image, PodApi, PreparedVolume, Sandbox,
};
use super::backoff::Backoff;
use super::events::{Recorder, field_path};
use super::probe;
use super::resources::qos_class;
use super::spec::{LABEL_CONTAINER, LABEL_INIT, LABEL_RESTART};
use super::status::{self, ContainerRecord, Terminated, exit_reason};
use super::{PodView, PodsConfig, Registry};

/// What all workers share.
pub(crate) struct Shared {
    pub(crate) backends: Backends,
    pub(crate) api: Arc<dyn PodApi>,
    pub(crate) events: Recorder,
    pub(crate) cfg: PodsConfig,
    pub(crate) registry: Registry,
}

pub(crate) struct ProbeSet {
    pub(crate) id: String,
    pub(crate) tasks: Vec<JoinHandle<()>>,
    pub(crate) started: watch::Sender<bool>,
    pub(crate) has_startup: bool,
    pub(crate) has_readiness: bool,
    pub(crate) readiness: bool,
}

impl Drop for ProbeSet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub(crate) enum Flow {
    Continue(Option<Instant>),
    Done,
}

/// How often volume content is compared with its sources.
const VOLUME_REFRESH: Duration = Duration::from_secs(60);

pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) pod: Pod,
    pub(crate) rx: watch::Receiver<Option<Pod>>,
    pub(crate) uid: String,
    pub(crate) pod_dir: PathBuf,
    pub(crate) sandbox: Option<Sandbox>,
    pub(crate) volumes: Option<Vec<PreparedVolume>>,
    pub(crate) volume_retry: Option<Instant>,
    /// When volume content is next compared with its sources.
    pub(crate) volume_refresh: Option<Instant>,
    pub(crate) init: Vec<ContainerRecord>,
    pub(crate) app: Vec<ContainerRecord>,
    pub(crate) images: HashMap<String, Image>,
    pub(crate) backoff: Backoff,
    /// When each container's last run was seen to end (back-off clock).
    pub(crate) exited_at: HashMap<String, Instant>,
    pub(crate) pull_failed_at: HashMap<String, Instant>,
    pub(crate) probes: HashMap<String, ProbeSet>,
    pub(crate) probe_tx: mpsc::UnboundedSender<probe::Update>,
    pub(crate) probe_rx: mpsc::UnboundedReceiver<probe::Update>,
    pub(crate) start_time: Option<Timestamp>,
    pub(crate) active_since: Instant,
    pub(crate) failure: Option<(String, String)>,
    pub(crate) last_status: Option<PodStatus>,
    pub(crate) wake: Option<Instant>,
}

fn earliest(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl Worker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        pod: Pod,
        rx: watch::Receiver<Option<Pod>>,
        adopted: Vec<ContainerInfo>,
    ) -> Self {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let rec = |c: &Container, init: bool| {
            ContainerRecord::new(&c.name, c.image.as_deref().unwrap_or(""), init)
        };
        let mut init: Vec<ContainerRecord> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| rec(c, true))
            .collect();
        let mut app: Vec<ContainerRecord> = spec.containers.iter().map(|c| rec(c, false)).collect();
        for info in adopted {
            let name = info
                .labels
                .get(LABEL_CONTAINER)
                .cloned()
                .unwrap_or_default();
            let restart: i32 = info
                .labels
                .get(LABEL_RESTART)
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            let list = if info.labels.contains_key(LABEL_INIT) {
                &mut init
            } else {
                &mut app
            };
            if let Some(r) = list.iter_mut().find(|r| r.name == name)
                && (r.id.is_none() || restart >= r.restart_count)
            {
                r.id = Some(info.id);
                r.restart_count = restart;
                // Known running until the first refresh says otherwise.
                r.running_since = Some(Timestamp::now());
                r.started = true;
            }
        }
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        let pod_dir = shared.cfg.data_dir.join("pods").join(&uid);
        let start_time = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0);
        Worker {
            shared,
            pod,
            rx,
            uid,
            pod_dir,
            sandbox: None,
            volumes: None,
            volume_retry: None,
            volume_refresh: None,
            init,
            app,
            images: HashMap::new(),
            backoff: Backoff::default(),
            exited_at: HashMap::new(),
            pull_failed_at: HashMap::new(),
            probes: HashMap::new(),
            probe_tx,
            probe_rx,
            start_time,
            active_since: Instant::now(),
            failure: None,
            last_status: None,
            wake: None,
        }
    }

    pub(crate) fn name(&self) -> String {
        let m = &self.pod.metadata;
        format!(
            "{}_{}({})",
            m.name.as_deref().unwrap_or(""),
            m.namespace.as_deref().unwrap_or(""),
            self.uid
        )
    }

    pub(crate) fn restart_policy(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    pub(crate) fn container_spec(&self, name: &str, init: bool) -> Option<Container> {
        let spec = self.pod.spec.as_ref()?;
        if init {
            spec.init_containers
                .iter()
                .flatten()
                .find(|c| c.name == name)
                .cloned()
        } else {
            spec.containers.iter().find(|c| c.name == name).cloned()
        }
    }

    pub(crate) fn record(&mut self, name: &str, init: bool) -> &mut ContainerRecord {
        let list = if init { &mut self.init } else { &mut self.app };
        list.iter_mut()
            .find(|r| r.name == name)
            .expect("records follow the pod's containers")
    }

    pub(crate) async fn event(
        &self,
        container: Option<(&str, bool)>,
        warning: bool,
        reason: &str,
        msg: &str,
    ) {
        let fp = container.map(|(c, init)| field_path(c, init));
        self.shared
            .events
            .record(&self.pod, fp.as_deref(), warning, reason, msg)
            .await;
    }

    pub(crate) fn schedule(&mut self, at: Instant) {
        self.wake = earliest(self.wake, at);
    }

    pub(crate) fn grace_period(&self) -> Duration {
        let spec = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30);
        let secs = match self.pod.metadata.deletion_grace_period_seconds {
            Some(d) => d.min(spec),
            None => spec,
        };
        Duration::from_secs(secs.max(0) as u64)
    }

    /// Brings ConfigMap, Secret and token content of the pod's volumes up
    /// to date once a minute, as upstream's kubelet sync does.
    async fn refresh_volumes(&mut self) {
        let now = Instant::now();
        match self.volume_refresh {
            Some(at) if now < at => {
                self.schedule(at);
                return;
            }
            Some(_) => {
                if let Err(e) = self
                    .shared
                    .backends
                    .volumes
                    .refresh(&self.pod, &self.pod_dir)
                    .await
                {
                    tracing::warn!(pod = %self.uid, error = %e, "volume refresh failed");
                }
            }
            None => {}
        }
        let next = now + VOLUME_REFRESH;
        self.volume_refresh = Some(next);
        self.schedule(next);
    }

    /// Runs until the pod is gone.
    pub(crate) async fn run(mut self) {
        loop {
            match self.sync().await {
                Flow::Done => break,
                Flow::Continue(wake) => {
                    let poll = Instant::now() + self.shared.cfg.poll_interval;
                    let until = wake.map_or(poll, |w| w.min(poll));
                    tokio::select! {
                        changed = self.rx.changed() => {
                            let next = if changed.is_ok() { self.rx.borrow_and_update().clone() } else { None };
                            match next {
                                Some(p) => self.pod = p,
                                None => {
                                    self.teardown(false).await;
                                    break;
                                }
                            }
                        }
                        Some(update) = self.probe_rx.recv() => self.on_probe(update).await,
                        _ = tokio::time::sleep_until(until) => {}
                    }
                }
            }
        }
        self.shared.registry.remove(&self.uid);
        self.shared.events.forget(&self.uid);
    }

    /// A finished pod, as this worker computed it or, after a restart, as
    /// the store says: its containers are never started again.
    fn terminal(&self) -> bool {
        let done = |s: &PodStatus| matches!(s.phase.as_deref(), Some("Succeeded" | "Failed"));
        match &self.last_status {
            Some(s) => done(s),
            None => self.pod.status.as_ref().is_some_and(done),
        }
    }

    /// One reconcile pass.
    pub(crate) async fn sync(&mut self) -> Flow {
        self.wake = None;
        self.refresh().await;
        if self.pod.metadata.deletion_timestamp.is_some() {
            self.teardown(true).await;
            return Flow::Done;
        }
        if self.terminal() {
            self.kill_all(Duration::ZERO, false).await;
            if self.last_status.is_some() {
                self.write_status().await;
            }
            return Flow::Continue(None);
        }
        if let Some(deadline) = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.active_deadline_seconds)
        {
            let at = self.active_since + Duration::from_secs(deadline.max(0) as u64);
            if Instant::now() >= at {
                let msg = "Pod was active on the node longer than the specified deadline";
                self.event(None, false, "DeadlineExceeded", msg).await;
                self.failure = Some(("DeadlineExceeded".into(), msg.into()));
                let grace = self.grace_period();
                self.kill_all(grace, true).await;
                self.write_status().await;
                return Flow::Continue(None);
            }
            self.schedule(at);
        }
        if self.start_time.is_none() {
            self.start_time = Some(Timestamp::now());
        }
        if self.prepare_pod().await {
            self.run_containers().await;
        }
        self.write_status().await;
        self.publish();
        Flow::Continue(self.wake)
    }

    /// Reads the runtime's state of every known container.
    async fn refresh(&mut self) {
        let mut exits = Vec::new();
        for r in self.init.iter().chain(self.app.iter()) {
            let (Some(id), Some(_)) = (&r.id, r.running_since) else {
                continue;
            };
            match self.shared.backends.runtime.state(id) {
                Ok(ContainerState::Running { started_at, .. }) => {
                    exits.push((r.name.clone(), r.init, Some(started_at), None))
                }
                Ok(ContainerState::Exited(rec)) => {
                    let message = std::fs::read(super::spec::termination_log_path(
                        &self.pod_dir,
                        &r.name,
                        r.restart_count,
                    ))
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned())
                    .filter(|m| !m.is_empty())
                    .or_else(|| {
                        let fallback = self
                            .container_spec(&r.name, r.init)
                            .and_then(|c| c.termination_message_policy)
                            .is_some_and(|p| p == "FallbackToLogsOnError");
                        let log = super::spec::log_path(&self.pod_dir, &r.name, r.restart_count);
                        (fallback && rec.code != 0)
                            .then(|| super::logs::tail_text(&log, 80, 2048))
                            .flatten()
                    })
                    .or_else(|| Some(rec.message.clone()));
                    let t = Terminated {
                        container_id: id.clone(),
                        exit_code: rec.code,
                        signal: rec.signal,
                        reason: exit_reason(rec.code, rec.oom_killed).into(),
                        message,
                        started_at: Some(rec.started_at),
                        finished_at: rec.finished_at,
                    };
                    exits.push((r.name.clone(), r.init, None, Some(t)));
                }
                Ok(ContainerState::Unknown) | Err(_) => {
                    let t = Terminated {
                        container_id: id.clone(),
                        exit_code: 137,
                        signal: None,
                        reason: "ContainerStatusUnknown".into(),
                        message: Some(
                            "The container could not be located when the pod was terminated".into(),
                        ),
                        started_at: r.running_since,
                        finished_at: Timestamp::now(),
                    };
                    exits.push((r.name.clone(), r.init, None, Some(t)));
                }
            }
        }
        for (name, init, running, exited) in exits {
            let readiness = self
                .probes
                .get(&name)
                .map(|p| (p.has_readiness, p.readiness));
            let rec = self.record(&name, init);
            if let Some(since) = running {
                rec.running_since = Some(since);
                rec.ready = !init && rec.started && readiness.is_none_or(|(has, ok)| !has || ok);
                continue;
            }
            rec.running_since = None;
            rec.ready = false;
            rec.exited = exited;
            self.probes.remove(&name);
            self.exited_at.insert(name, Instant::now());
        }
    }

    async fn on_probe(&mut self, u: probe::Update) {
        let init = self.init.iter().any(|r| r.name == u.container);
        let Some(set) = self.probes.get_mut(&u.container) else {
            return;
        };
        if set.id != u.container_id {
            return;
        }
        match u.outcome {
            probe::Outcome::Failed(msg) => {
                self.event(Some((u.container.as_str(), init)), true, "Unhealthy", &msg)
                    .await;
            }
            probe::Outcome::Changed(ok) => match u.kind {
                probe::Kind::Readiness => {
                    set.readiness = ok;
                    let rec = self.record(&u.container, init);
                    rec.ready = ok && rec.running_since.is_some() && rec.started;
                    self.write_status().await;
                }
                probe::Kind::Startup if ok => {
                    let _ = set.started.send(true);
                    let has_readiness = set.has_readiness;
                    let rec = self.record(&u.container, init);
                    rec.started = true;
                    rec.ready = !has_readiness;
                    self.write_status().await;
                }
                probe::Kind::Liveness if ok => {}
                probe::Kind::Startup | probe::Kind::Liveness => {
                    let what = if u.kind == probe::Kind::Startup {
                        "startup"
                    } else {
                        "liveness"
                    };
                    let msg = format!(
                        "Container {} failed {what} probe, will be restarted",
                        u.container
                    );
                    self.event(Some((u.container.as_str(), init)), false, "Killing", &msg)
                        .await;
                    self.probes.remove(&u.container);
                    let grace = self.grace_period();
                    if let Err(e) = self
                        .shared
                        .backends
                        .runtime
                        .stop(&u.container_id, grace)
                        .await
                    {
                        tracing::warn!(container = %u.container, error = %e, "cannot stop container");
                    }
                }
            },
        }
    }

    /// Sandbox, host ports, volumes and pod files; false while not ready.
    async fn prepare_pod(&mut self) -> bool {
        let spec = self.pod.spec.clone().unwrap_or_default();
        if self.sandbox.is_none() {
            let host = super::spec::hostname(&self.pod);
            match self
                .shared
                .backends
                .net
                .create_sandbox(
                    &self.uid,
                    &host,
                    spec.host_network.unwrap_or(false),
                    spec.host_ipc.unwrap_or(false),
                )
                .await
            {
                Ok(sb) => {
                    let ports = super::host_ports(&self.pod);
                    if let (Some(ip), false) = (sb.ip, ports.is_empty())
                        && let Err(e) = self
                            .shared
                            .backends
                            .net
                            .set_host_ports(&self.uid, ip, &ports)
                            .await
                    {
                        self.event(
                            None,
                            true,
                            "FailedCreatePodSandBox",
                            &format!("Failed to set host ports: {e}"),
                        )
                        .await;
                    }
                    self.sandbox = Some(sb);
                }
                Err(e) => {
                    let msg = format!("Failed to create pod sandbox: {e}");
                    self.event(None, true, "FailedCreatePodSandBox", &msg).await;
                    self.schedule(Instant::now() + Duration::from_secs(5));
                    return false;
                }
            }
        }
        if self.volumes.is_some() {
            self.refresh_volumes().await;
        }
        if self.volumes.is_none() {
            if self.volume_retry.is_some_and(|t| Instant::now() < t) {
                self.schedule(self.volume_retry.unwrap_or_else(Instant::now));
                return false;
            }
            match self
                .shared
                .backends
                .volumes
                .prepare(&self.pod, &self.pod_dir)
                .await
            {
                Ok(v) => self.volumes = Some(v),
                Err(e) => {
                    self.event(
                        None,
                        true,
                        "FailedMount",
                        &format!("MountVolume.SetUp failed: {e}"),
                    )
                    .await;
                    let at = Instant::now() + Duration::from_secs(10);
                    self.volume_retry = Some(at);
                    self.schedule(at);
                    return false;
                }
            }
            let ip = self.sandbox.as_ref().and_then(|s| s.ip);
            let cfg = &self.shared.cfg;
            if let Err(e) = super::podfiles::write(
                &self.pod_dir,
                &self.pod,
                ip,
                cfg.cluster_dns,
                &cfg.cluster_domain,
            ) {
                tracing::warn!(pod = %self.name(), error = %e, "cannot write pod files");
            }
        }
        true
    }

    pub(crate) async fn write_status(&mut self) {
        let pod_ip = self
            .sandbox
            .as_ref()
            .and_then(|s| s.ip)
            .map(std::net::IpAddr::V4)
            .or_else(|| {
                let host_net = self
                    .pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.host_network)
                    .unwrap_or(false);
                host_net.then_some(self.shared.cfg.host_ip)
            });
        let status = status::compute(&status::StatusInput {
            pod: &self.pod,
            sandbox_ready: self.sandbox.is_some(),
            pod_ip,
            host_ip: self.shared.cfg.host_ip,
            start_time: self.start_time,
            init: &self.init,
            app: &self.app,
            qos_class: qos_class(&self.pod),
            failure: self.failure.clone(),
            now: Timestamp::now(),
        });
        if self.last_status.as_ref() == Some(&status) || self.pod.status.as_ref() == Some(&status) {
            self.last_status = Some(status);
            return;
        }
        match self.shared.api.write_status(&self.pod, &status).await {
            Ok(()) => {
                self.pod.status = Some(status.clone());
                self.last_status = Some(status);
            }
            Err(e) => {
                tracing::warn!(pod = %self.name(), error = %e, "cannot write pod status");
                self.schedule(Instant::now() + Duration::from_secs(1));
            }
        }
    }

    /// What exec, attach, logs and port-forward need to find.
    fn publish(&self) {
        let containers = self
            .init
            .iter()
            .chain(self.app.iter())
            .map(|r| super::ContainerView {
                name: r.name.clone(),
                init: r.init,
                id: r.id.clone(),
                running: r.running_since.is_some(),
                restart_count: r.restart_count,
            })
            .collect();
        self.shared.registry.insert(
            &self.uid,
            PodView {
                namespace: self.pod.metadata.namespace.clone().unwrap_or_default(),
                name: self.pod.metadata.name.clone().unwrap_or_default(),
                uid: self.uid.clone(),
                netns: self.sandbox.as_ref().and_then(|s| s.net.clone()),
                pod_ip: self.sandbox.as_ref().and_then(|s| s.ip),
                pod_dir: self.pod_dir.clone(),
                containers,
            },
        );
    }
}
