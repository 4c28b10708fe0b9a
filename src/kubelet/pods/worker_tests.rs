//! Pod worker behaviour against the fakes, on paused time.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, ExecAction, Lifecycle, LifecycleHandler, Pod, PodSpec, Probe,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::backend::{PullErrorKind, PullFailure};
use super::events::Recorder;
use super::fakes::Fakes;
use super::worker::{Shared, Worker};
use super::{PodsConfig, Registry};

struct Harness {
    f: Fakes,
    tx: watch::Sender<Option<Pod>>,
    task: JoinHandle<()>,
    pod: Pod,
    registry: Registry,
    _dir: tempfile::TempDir,
}

fn container(name: &str) -> Container {
    Container {
        name: name.into(),
        image: Some(format!("registry.local/{name}:1")),
        ..Default::default()
    }
}

fn pod(init: Vec<Container>, app: Vec<Container>, policy: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("ns".into()),
            uid: Some("u1".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some("node1".into()),
            init_containers: (!init.is_empty()).then_some(init),
            containers: app,
            restart_policy: Some(policy.into()),
            termination_grace_period_seconds: Some(20),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn shared(f: &Fakes, dir: &std::path::Path, registry: Registry) -> Arc<Shared> {
    Arc::new(Shared {
        backends: f.backends(),
        api: f.api.clone(),
        events: Recorder::new(f.api.clone(), "node1"),
        cfg: PodsConfig::new(
            "node1",
            dir.to_owned(),
            "sovedge",
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2)),
        ),
        registry,
    })
}

fn start(f: Fakes, pod: Pod) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::default();
    let (tx, rx) = watch::channel(Some(pod.clone()));
    let w = Worker::new(
        shared(&f, dir.path(), registry.clone()),
        pod.clone(),
        rx,
        vec![],
    );
    let task = tokio::spawn(w.run());
    Harness {
        f,
        tx,
        task,
        pod,
        registry,
        _dir: dir,
    }
}

fn status_of(h: &Harness, name: &str) -> ContainerStatus {
    let st = h.f.api.last();
    st.container_statuses
        .into_iter()
        .flatten()
        .chain(st.init_container_statuses.into_iter().flatten())
        .find(|c| c.name == name)
        .unwrap()
}

fn waiting(cs: &ContainerStatus) -> Option<(String, String)> {
    let w = cs.state.as_ref()?.waiting.as_ref()?;
    Some((w.reason.clone()?, w.message.clone().unwrap_or_default()))
}

async fn pass(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn crash_loop_backs_off_10_20_40_seconds() {
    let f = Fakes::new();
    f.runtime.auto_exit.lock().unwrap().insert("app".into(), 1);
    let h = start(f, pod(vec![], vec![container("app")], "Always"));
    pass(90).await;
    let mut messages: Vec<String> = vec![];
    for st in h.f.api.statuses.lock().unwrap().iter() {
        for cs in st.container_statuses.iter().flatten() {
            if let Some((reason, msg)) = waiting(cs).filter(|(r, _)| r == "CrashLoopBackOff")
                && messages.last() != Some(&msg)
            {
                assert_eq!(reason, "CrashLoopBackOff");
                messages.push(msg);
            }
        }
    }
    assert_eq!(
        messages[..3],
        [
            "back-off 10s restarting failed container=app pod=web_ns(u1)",
            "back-off 20s restarting failed container=app pod=web_ns(u1)",
            "back-off 40s restarting failed container=app pod=web_ns(u1)",
        ]
    );
    let cs = status_of(&h, "app");
    assert!(cs.restart_count >= 3, "restart count {}", cs.restart_count);
    let last = cs.last_state.unwrap().terminated.unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    assert_eq!(h.f.api.last().phase.as_deref(), Some("Running"));
    assert!(
        h.f.api
            .event_texts()
            .iter()
            .any(|e| e == "BackOff: Back-off restarting failed container app in pod web_ns(u1)")
    );
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn image_pull_failure_goes_err_image_pull_then_back_off_then_recovers() {
    let f = Fakes::new();
    f.images.fail.lock().unwrap().insert(
        "registry.local/app:1".into(),
        PullFailure {
            kind: PullErrorKind::NotFound,
            message: "manifest unknown".into(),
        },
    );
    let h = start(f, pod(vec![], vec![container("app")], "Always"));
    pass(1).await;
    let reasons: Vec<String> =
        h.f.api
            .statuses
            .lock()
            .unwrap()
            .iter()
            .filter_map(|s| waiting(&s.container_statuses.clone()?[0]).map(|w| w.0))
            .collect();
    assert_eq!(reasons.first().map(String::as_str), Some("ErrImagePull"));
    pass(3).await;
    let (reason, msg) = waiting(&status_of(&h, "app")).unwrap();
    assert_eq!(reason, "ImagePullBackOff");
    assert_eq!(msg, "Back-off pulling image \"registry.local/app:1\"");
    let events = h.f.api.event_texts();
    assert!(events.contains(
        &"Failed: Failed to pull image \"registry.local/app:1\": manifest unknown".to_string()
    ));
    assert!(events.contains(&"Failed: Error: ErrImagePull".to_string()));
    assert!(
        events.contains(&"BackOff: Back-off pulling image \"registry.local/app:1\"".to_string())
    );
    // Only one pull inside the first 10 s back-off.
    let pulls = || {
        h.f.calls()
            .iter()
            .filter(|c| c.starts_with("pull "))
            .count()
    };
    assert_eq!(pulls(), 1);
    h.f.images.fail.lock().unwrap().clear();
    pass(12).await;
    assert_eq!(pulls(), 2);
    let cs = status_of(&h, "app");
    assert!(cs.state.unwrap().running.is_some());
    assert_eq!(cs.image_id, "registry.local/app@sha256:feed");
    assert!(
        h.f.api.event_texts().iter().any(
            |e| e.starts_with("Pulled: Successfully pulled image \"registry.local/app:1\" in ")
        )
    );
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn init_containers_run_in_order_before_app_containers() {
    let f = Fakes::new();
    let h = start(
        f,
        pod(
            vec![container("one"), container("two")],
            vec![container("app")],
            "Always",
        ),
    );
    pass(2).await;
    assert_eq!(h.f.runtime.started(), ["one"]);
    assert_eq!(waiting(&status_of(&h, "app")).unwrap().0, "PodInitializing");
    assert_eq!(waiting(&status_of(&h, "two")).unwrap().0, "PodInitializing");
    let st = h.f.api.last();
    let init = st
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Initialized")
        .unwrap();
    assert_eq!(init.status, "False");
    assert_eq!(
        init.message.as_deref(),
        Some("containers with incomplete status: [one two]")
    );
    h.f.runtime.exit("one", 0, false);
    pass(2).await;
    assert_eq!(h.f.runtime.started(), ["one", "two"]);
    h.f.runtime.exit("two", 0, false);
    pass(2).await;
    assert_eq!(h.f.runtime.started(), ["one", "two", "app"]);
    let st = h.f.api.last();
    assert_eq!(st.phase.as_deref(), Some("Running"));
    let terminated = status_of(&h, "one").state.unwrap().terminated.unwrap();
    assert_eq!(terminated.reason.as_deref(), Some("Completed"));
    let ready = st
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "True");
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn failed_init_container_with_never_fails_the_pod() {
    let f = Fakes::new();
    f.runtime.auto_exit.lock().unwrap().insert("one".into(), 2);
    let h = start(
        f,
        pod(vec![container("one")], vec![container("app")], "Never"),
    );
    pass(5).await;
    assert_eq!(h.f.runtime.started(), ["one"]);
    assert_eq!(h.f.api.last().phase.as_deref(), Some("Failed"));
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn restart_policies_decide_the_final_phase() {
    for (policy, code, phase, starts) in [
        ("Never", 1, "Failed", 1),
        ("Never", 0, "Succeeded", 1),
        ("OnFailure", 0, "Succeeded", 1),
    ] {
        let f = Fakes::new();
        f.runtime
            .auto_exit
            .lock()
            .unwrap()
            .insert("app".into(), code);
        let h = start(f, pod(vec![], vec![container("app")], policy));
        pass(30).await;
        assert_eq!(
            h.f.api.last().phase.as_deref(),
            Some(phase),
            "{policy} {code}"
        );
        assert_eq!(h.f.runtime.started().len(), starts, "{policy} {code}");
        // Finished containers stay until the pod is deleted.
        assert!(!h.f.calls().iter().any(|c| c.starts_with("remove ")));
        let cs = status_of(&h, "app");
        assert_eq!(cs.state.unwrap().terminated.unwrap().exit_code, code);
        h.task.abort();
    }
    // OnFailure restarts a failing container.
    let f = Fakes::new();
    f.runtime.auto_exit.lock().unwrap().insert("app".into(), 3);
    let h = start(f, pod(vec![], vec![container("app")], "OnFailure"));
    pass(15).await;
    assert!(h.f.runtime.started().len() >= 2);
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn exit_reasons_oom_and_start_errors() {
    let f = Fakes::new();
    f.runtime
        .start_fail
        .lock()
        .unwrap()
        .insert("bad".into(), "executable file not found: /nope".into());
    let h = start(
        f,
        pod(vec![], vec![container("app"), container("bad")], "Always"),
    );
    pass(2).await;
    h.f.runtime.exit("app", 137, true);
    pass(2).await;
    let app = status_of(&h, "app").last_state.unwrap().terminated.unwrap();
    assert_eq!(app.reason.as_deref(), Some("OOMKilled"));
    let bad = status_of(&h, "bad");
    let (reason, _) = waiting(&bad).unwrap();
    assert_eq!(reason, "CrashLoopBackOff");
    let last = bad.last_state.unwrap().terminated.unwrap();
    assert_eq!(last.reason.as_deref(), Some("StartError"));
    assert_eq!(
        last.message.as_deref(),
        Some("executable file not found: /nope")
    );
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn deletion_runs_pre_stop_before_stop_then_removes_and_deletes() {
    let f = Fakes::new();
    let mut app = container("app");
    app.lifecycle = Some(Lifecycle {
        pre_stop: Some(LifecycleHandler {
            exec: Some(ExecAction {
                command: Some(vec!["drain".into()]),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let mut h = start(f, pod(vec![], vec![app], "Always"));
    pass(2).await;
    h.pod.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::now()));
    h.pod.metadata.deletion_grace_period_seconds = Some(5);
    h.tx.send_replace(Some(h.pod.clone()));
    (&mut h.task).await.unwrap();
    let calls = h.f.calls();
    let tail: Vec<&str> = calls
        .iter()
        .skip_while(|c| !c.starts_with("exec"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "exec app drain",
            "stop app 5s",
            "remove app",
            "remove-sandbox u1",
            "cleanup u1",
            "delete ns/web uid=u1"
        ]
    );
    assert!(h.registry.find("ns", "web").is_none());
}

#[tokio::test(start_paused = true)]
async fn liveness_failures_restart_and_readiness_drives_ready() {
    let f = Fakes::new();
    f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("live".into(), 1);
    f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("ready".into(), 1);
    let probe = |cmd: &str| Probe {
        exec: Some(ExecAction {
            command: Some(vec![cmd.into()]),
        }),
        period_seconds: Some(10),
        failure_threshold: Some(3),
        ..Default::default()
    };
    let mut app = container("app");
    app.liveness_probe = Some(probe("live"));
    app.readiness_probe = Some(probe("ready"));
    let h = start(f, pod(vec![], vec![app], "Always"));
    pass(5).await;
    assert!(!status_of(&h, "app").ready);
    // Failures at 0 s, 10 s: not yet at the threshold.
    pass(10).await;
    assert_eq!(h.f.runtime.started().len(), 1);
    pass(20).await;
    assert_eq!(h.f.runtime.started().len(), 2, "{:?}", h.f.calls());
    let events = h.f.api.event_texts();
    assert!(
        events.contains(
            &"Killing: Container app failed liveness probe, will be restarted".to_string()
        )
    );
    assert!(events.contains(&"Unhealthy: Liveness probe failed: probe says no".to_string()));
    assert_eq!(status_of(&h, "app").restart_count, 1);
    // Readiness passes: the container and the pod become ready.
    h.f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("ready".into(), 0);
    h.f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("live".into(), 0);
    pass(12).await;
    assert!(
        status_of(&h, "app").ready,
        "{:?} {:?}",
        h.f.calls(),
        h.f.api.event_texts()
    );
    let st = h.f.api.last();
    for cond in ["ContainersReady", "Ready"] {
        let c = st
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == cond)
            .unwrap();
        assert_eq!(c.status, "True");
    }
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn failed_mount_keeps_the_pod_pending() {
    let f = Fakes::new();
    *f.volumes.fail.lock().unwrap() = Some("configmap \"cfg\" not found".into());
    let h = start(f, pod(vec![], vec![container("app")], "Always"));
    pass(3).await;
    assert_eq!(h.f.api.last().phase.as_deref(), Some("Pending"));
    assert!(h.f.runtime.started().is_empty());
    assert!(h.f.api.event_texts().contains(
        &"FailedMount: MountVolume.SetUp failed: configmap \"cfg\" not found".to_string()
    ));
    *h.f.volumes.fail.lock().unwrap() = None;
    pass(10).await;
    assert_eq!(h.f.runtime.started(), ["app"]);
    let st = h.f.api.last();
    assert_eq!(st.pod_ip.as_deref(), Some("10.42.0.7"));
    assert_eq!(st.host_ip.as_deref(), Some("192.168.1.2"));
    assert_eq!(st.qos_class.as_deref(), Some("BestEffort"));
    assert!(st.start_time.is_some());
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn adopted_containers_keep_their_restart_count() {
    let f = Fakes::new();
    let p = pod(vec![], vec![container("app")], "Always");
    // A container from before a restart, running, third run.
    let dir = tempfile::tempdir().unwrap();
    let spec = super::backend::ContainerInfo {
        id: "old".into(),
        labels: [
            (super::spec::LABEL_POD_UID.to_string(), "u1".to_string()),
            (super::spec::LABEL_CONTAINER.to_string(), "app".to_string()),
            (super::spec::LABEL_RESTART.to_string(), "2".to_string()),
        ]
        .into(),
    };
    f.runtime.containers.lock().unwrap().insert(
        "old".into(),
        (
            "app".into(),
            crate::kubelet::pods::fakes::test_spec(&spec),
            super::backend::ContainerState::Running {
                pid: 9,
                started_at: jiff::Timestamp::now(),
            },
        ),
    );
    let orphan = super::backend::ContainerInfo {
        id: "orphan".into(),
        labels: [(super::spec::LABEL_POD_UID.to_string(), "gone".to_string())].into(),
    };
    f.runtime.containers.lock().unwrap().insert(
        "orphan".into(),
        (
            "x".into(),
            crate::kubelet::pods::fakes::test_spec(&orphan),
            super::backend::ContainerState::Running {
                pid: 10,
                started_at: jiff::Timestamp::now(),
            },
        ),
    );
    let registry = Registry::default();
    let sh = shared(&f, dir.path(), registry);
    let adopted = super::recovery::recover(&sh, std::slice::from_ref(&p)).await;
    assert_eq!(adopted["u1"].len(), 1);
    assert!(f.calls().contains(&"remove x".to_string()));
    let (_tx, rx) = watch::channel(Some(p.clone()));
    let w = Worker::new(sh, p, rx, adopted.get("u1").cloned().unwrap_or_default());
    let task = tokio::spawn(w.run());
    pass(2).await;
    assert!(
        f.runtime.started().is_empty(),
        "the adopted container keeps running"
    );
    let cs = f.api.last().container_statuses.unwrap().remove(0);
    assert_eq!(cs.restart_count, 2);
    assert_eq!(cs.container_id.as_deref(), Some("sovedge://old"));
    f.runtime.exit("app", 1, false);
    pass(2).await;
    assert_eq!(f.api.last().container_statuses.unwrap()[0].restart_count, 3);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn startup_probe_gates_readiness_and_restarts_on_failure() {
    let f = Fakes::new();
    f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("boot".into(), 1);
    let mut app = container("app");
    app.startup_probe = Some(Probe {
        exec: Some(ExecAction {
            command: Some(vec!["boot".into()]),
        }),
        period_seconds: Some(5),
        failure_threshold: Some(4),
        ..Default::default()
    });
    let h = start(f, pod(vec![], vec![app], "Always"));
    pass(3).await;
    let cs = status_of(&h, "app");
    assert_eq!((cs.started, cs.ready), (Some(false), false));
    // Four failures (0, 5, 10, 15 s) and the container is restarted.
    pass(15).await;
    assert_eq!(h.f.runtime.started().len(), 2);
    assert!(
        h.f.api.event_texts().contains(
            &"Killing: Container app failed startup probe, will be restarted".to_string()
        )
    );
    h.f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("boot".into(), 0);
    pass(6).await;
    let cs = status_of(&h, "app");
    assert_eq!((cs.started, cs.ready), (Some(true), true));
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn watch_events_start_update_and_stop_workers() {
    use kube::runtime::watcher::Event as W;
    let f = Fakes::new();
    let orphan = super::backend::ContainerInfo {
        id: "orphan".into(),
        labels: [(super::spec::LABEL_POD_UID.to_string(), "gone".to_string())].into(),
    };
    f.runtime.containers.lock().unwrap().insert(
        "orphan".into(),
        (
            "x".into(),
            super::fakes::test_spec(&orphan),
            super::backend::ContainerState::Running {
                pid: 10,
                started_at: jiff::Timestamp::now(),
            },
        ),
    );
    f.net.sandboxes.lock().unwrap().insert("gone".into());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    let dir = tempfile::tempdir().unwrap();
    let cfg = PodsConfig::new(
        "node1",
        dir.path().to_owned(),
        "sovedge",
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    );
    let handle = super::start_with(Box::pin(stream), f.api.clone(), cfg, f.backends());
    let mut p = pod(vec![], vec![container("app")], "Always");
    tx.send(Ok(W::Init)).unwrap();
    tx.send(Ok(W::InitApply(p.clone()))).unwrap();
    tx.send(Ok(W::InitDone)).unwrap();
    pass(2).await;
    let calls = f.calls();
    assert!(calls.contains(&"remove x".to_string()), "{calls:?}");
    assert!(
        calls.contains(&"remove-sandbox gone".to_string()),
        "{calls:?}"
    );
    assert_eq!(f.runtime.started(), ["app"]);
    let id = handle
        .registry
        .running_container("ns", "web", None)
        .unwrap();
    assert_eq!(f.runtime.spec_of("app").unwrap().id, id);
    p.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::now()));
    tx.send(Ok(W::Apply(p))).unwrap();
    pass(2).await;
    assert!(f.calls().contains(&"delete ns/web uid=u1".to_string()));
    assert!(handle.registry.find("ns", "web").is_none());
    handle.shutdown();
}

#[tokio::test(start_paused = true)]
async fn termination_message_falls_back_to_logs_on_error() {
    let f = Fakes::new();
    let mut app = container("app");
    app.termination_message_policy = Some("FallbackToLogsOnError".into());
    let h = start(f, pod(vec![], vec![app], "Never"));
    pass(2).await;
    let log = h._dir.path().join("pods/u1/logs/app/0.log");
    std::fs::write(&log, "2026-01-01T00:00:01Z stderr F boom\n").unwrap();
    h.f.runtime.exit("app", 3, false);
    pass(2).await;
    let t = status_of(&h, "app").state.unwrap().terminated.unwrap();
    assert_eq!((t.exit_code, t.message.as_deref()), (3, Some("boom\n")));
    assert_eq!(h.f.api.last().phase.as_deref(), Some("Failed"));
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn finished_pods_are_not_started_again() {
    let mut p = pod(vec![], vec![container("app")], "Never");
    p.status = Some(k8s_openapi::api::core::v1::PodStatus {
        phase: Some("Succeeded".into()),
        ..Default::default()
    });
    let h = start(Fakes::new(), p);
    pass(5).await;
    assert!(h.f.runtime.started().is_empty());
    assert!(h.f.api.statuses.lock().unwrap().is_empty());
    h.task.abort();
}
