//! The pod status the kubelet reports, computed from what the worker knows
//! about each container. Pure: no API calls here.

use std::net::IpAddr;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A finished container run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Terminated {
    pub(crate) container_id: String,
    pub(crate) exit_code: i32,
    pub(crate) signal: Option<i32>,
    pub(crate) reason: String,
    pub(crate) message: Option<String>,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) finished_at: Timestamp,
}

/// What the worker knows about one container of the pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContainerRecord {
    pub(crate) name: String,
    pub(crate) init: bool,
    pub(crate) image: String,
    pub(crate) image_id: String,
    /// The runtime id of the current (or last) run.
    pub(crate) id: Option<String>,
    pub(crate) restart_count: i32,
    pub(crate) running_since: Option<Timestamp>,
    /// The current run's end, when it ended.
    pub(crate) exited: Option<Terminated>,
    /// The run before the current one.
    pub(crate) last: Option<Terminated>,
    /// Why the container is not running (reason, message).
    pub(crate) waiting: Option<(String, Option<String>)>,
    pub(crate) started: bool,
    pub(crate) ready: bool,
}

impl ContainerRecord {
    pub(crate) fn new(name: &str, image: &str, init: bool) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            init,
            ..Default::default()
        }
    }

    pub(crate) fn succeeded(&self) -> bool {
        self.running_since.is_none() && self.exited.as_ref().is_some_and(|t| t.exit_code == 0)
    }
}

/// The reason for an exit as upstream reports it.
pub(crate) fn exit_reason(code: i32, oom_killed: bool) -> &'static str {
    if oom_killed {
        "OOMKilled"
    } else if code == 0 {
        "Completed"
    } else {
        "Error"
    }
}

fn time(t: Timestamp) -> Time {
    Time(t)
}

fn terminated(t: &Terminated) -> ContainerStateTerminated {
    ContainerStateTerminated {
        container_id: Some(format!("sovedge://{}", t.container_id)),
        exit_code: t.exit_code,
        signal: t.signal,
        reason: Some(t.reason.clone()),
        message: t.message.clone().filter(|m| !m.is_empty()),
        started_at: t.started_at.map(time),
        finished_at: Some(time(t.finished_at)),
    }
}

pub(crate) fn container_status(r: &ContainerRecord) -> ContainerStatus {
    let state = if let Some(since) = r.running_since {
        ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(time(since)),
            }),
            ..Default::default()
        }
    } else if let Some((reason, message)) = &r.waiting {
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.clone()),
                message: message.clone(),
            }),
            ..Default::default()
        }
    } else if let Some(t) = &r.exited {
        ContainerState {
            terminated: Some(terminated(t)),
            ..Default::default()
        }
    } else {
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("ContainerCreating".into()),
                message: None,
            }),
            ..Default::default()
        }
    };
    // While waiting to restart, the finished run is the last state.
    let last = if r.running_since.is_none() && r.waiting.is_some() && r.exited.is_some() {
        r.exited.as_ref()
    } else {
        r.last.as_ref()
    };
    ContainerStatus {
        name: r.name.clone(),
        image: r.image.clone(),
        image_id: r.image_id.clone(),
        container_id: r
            .id
            .as_ref()
            .filter(|_| r.running_since.is_some() || r.exited.is_some())
            .map(|id| format!("sovedge://{id}")),
        ready: r.ready,
        started: Some(r.running_since.is_some() && r.started),
        restart_count: r.restart_count,
        state: Some(state),
        last_state: Some(ContainerState {
            terminated: last.map(terminated),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's pod phase from the container states.
pub(crate) fn phase(
    restart_policy: &str,
    init: &[ContainerRecord],
    app: &[ContainerRecord],
) -> &'static str {
    let init_failed = init
        .iter()
        .any(|r| r.running_since.is_none() && r.exited.as_ref().is_some_and(|t| t.exit_code != 0));
    if restart_policy == "Never" && init_failed {
        return "Failed";
    }
    if !init.iter().all(ContainerRecord::succeeded) {
        return "Pending";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for r in app {
        if r.running_since.is_some() {
            running += 1;
        } else if r.waiting.is_some() {
            if r.exited.is_some() || r.last.is_some() {
                stopped += 1;
            } else {
                waiting += 1;
            }
        } else if let Some(t) = &r.exited {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else {
            waiting += 1;
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped == app.len() && !app.is_empty() {
        return match restart_policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        };
    }
    "Pending"
}

/// The inputs of a pod's status besides its container records.
pub(crate) struct StatusInput<'a> {
    pub(crate) pod: &'a Pod,
    pub(crate) sandbox_ready: bool,
    pub(crate) pod_ip: Option<IpAddr>,
    pub(crate) host_ip: IpAddr,
    pub(crate) start_time: Option<Timestamp>,
    pub(crate) init: &'a [ContainerRecord],
    pub(crate) app: &'a [ContainerRecord],
    pub(crate) qos_class: &'static str,
    /// A terminal reason set by the kubelet itself (DeadlineExceeded).
    pub(crate) failure: Option<(String, String)>,
    pub(crate) now: Timestamp,
}

fn condition(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.map(String::from),
        message,
        ..Default::default()
    }
}

fn names(rs: &[&ContainerRecord]) -> String {
    let v: Vec<&str> = rs.iter().map(|r| r.name.as_str()).collect();
    format!("[{}]", v.join(" "))
}

pub(crate) fn compute(input: &StatusInput<'_>) -> PodStatus {
    let old = input.pod.status.clone().unwrap_or_default();
    let policy = input
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone())
        .unwrap_or_else(|| "Always".into());
    let mut phase = phase(&policy, input.init, input.app).to_owned();
    let (mut reason, mut message) = (None, None);
    if let Some((r, m)) = &input.failure {
        phase = "Failed".into();
        reason = Some(r.clone());
        message = Some(m.clone());
    }
    let terminal = phase == "Succeeded" || phase == "Failed";

    let incomplete_init: Vec<&ContainerRecord> =
        input.init.iter().filter(|r| !r.succeeded()).collect();
    let unready: Vec<&ContainerRecord> = input.app.iter().filter(|r| !r.ready).collect();
    let initialized = incomplete_init.is_empty();
    let mut conds = vec![condition(
        "PodReadyToStartContainers",
        input.sandbox_ready && !(terminal && input.app.iter().all(|r| r.running_since.is_none())),
        None,
        None,
    )];
    conds.push(if initialized {
        condition("Initialized", true, None, None)
    } else {
        condition(
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: {}",
                names(&incomplete_init)
            )),
        )
    });
    let ready = initialized && unready.is_empty() && !terminal;
    let (r, m) = if ready {
        (None, None)
    } else if phase == "Succeeded" {
        (Some("PodCompleted"), None)
    } else if !initialized {
        (
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: {}",
                names(&incomplete_init)
            )),
        )
    } else {
        (
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: {}",
                names(&unready)
            )),
        )
    };
    conds.push(condition("ContainersReady", ready, r, m.clone()));
    conds.push(condition("Ready", ready, r, m));
    if let Some(sched) = old
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled")
    {
        conds.push(sched.clone());
    }
    // Keep transition times of unchanged conditions.
    for c in &mut conds {
        if c.last_transition_time.is_some() {
            continue;
        }
        let prev = old
            .conditions
            .iter()
            .flatten()
            .find(|o| o.type_ == c.type_ && o.status == c.status);
        c.last_transition_time = Some(
            prev.and_then(|p| p.last_transition_time.clone())
                .unwrap_or(Time(input.now)),
        );
    }

    // Containers that wait for init containers say so.
    let pending = |mut st: ContainerStatus| {
        if let Some(w) = st.state.as_mut().and_then(|s| s.waiting.as_mut())
            && w.reason.as_deref() == Some("ContainerCreating")
        {
            w.reason = Some("PodInitializing".into());
        }
        st
    };
    let app_statuses: Vec<ContainerStatus> = input
        .app
        .iter()
        .map(container_status)
        .map(|st| if initialized { st } else { pending(st) })
        .collect();
    let pod_ip = input.pod_ip;
    PodStatus {
        phase: Some(phase),
        reason,
        message,
        conditions: Some(conds),
        container_statuses: Some(app_statuses),
        init_container_statuses: (!input.init.is_empty()).then(|| {
            input
                .init
                .iter()
                .map(container_status)
                .map(pending)
                .collect()
        }),
        pod_ip: pod_ip.map(|ip| ip.to_string()),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip: ip.to_string() }]),
        host_ip: Some(input.host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: input.host_ip.to_string(),
        }]),
        start_time: input.start_time.map(Time).or(old.start_time),
        qos_class: Some(input.qos_class.into()),
        nominated_node_name: old.nominated_node_name,
        ..Default::default()
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
