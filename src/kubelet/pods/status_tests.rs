use super::*;
use k8s_openapi::api::core::v1::PodSpec;

fn rec(name: &str) -> ContainerRecord {
    ContainerRecord::new(name, "img", false)
}

fn running(name: &str) -> ContainerRecord {
    ContainerRecord {
        id: Some("id".into()),
        running_since: Some(Timestamp::UNIX_EPOCH),
        started: true,
        ready: true,
        ..rec(name)
    }
}

fn exited(name: &str, code: i32) -> ContainerRecord {
    ContainerRecord {
        id: Some("id".into()),
        exited: Some(Terminated {
            container_id: "id".into(),
            exit_code: code,
            signal: None,
            reason: exit_reason(code, false).into(),
            message: None,
            started_at: None,
            finished_at: Timestamp::UNIX_EPOCH,
        }),
        ..rec(name)
    }
}

#[test]
fn phases_as_upstream() {
    assert_eq!(phase("Always", &[], &[rec("a")]), "Pending");
    assert_eq!(phase("Always", &[], &[running("a"), rec("b")]), "Pending");
    assert_eq!(
        phase("Always", &[], &[running("a"), exited("b", 1)]),
        "Running"
    );
    assert_eq!(phase("Always", &[], &[exited("a", 0)]), "Running");
    assert_eq!(
        phase("Never", &[], &[exited("a", 0), exited("b", 0)]),
        "Succeeded"
    );
    assert_eq!(
        phase("Never", &[], &[exited("a", 0), exited("b", 1)]),
        "Failed"
    );
    assert_eq!(phase("OnFailure", &[], &[exited("a", 1)]), "Running");
    let mut init = exited("i", 0);
    init.init = true;
    assert_eq!(phase("Always", &[init.clone()], &[running("a")]), "Running");
    assert_eq!(phase("Always", &[running("i")], &[rec("a")]), "Pending");
    assert_eq!(phase("Never", &[exited("i", 1)], &[rec("a")]), "Failed");
    assert_eq!(phase("Always", &[exited("i", 1)], &[rec("a")]), "Pending");
    // Waiting to restart after a crash counts as stopped, not pending.
    let mut crash = exited("a", 1);
    crash.waiting = Some(("CrashLoopBackOff".into(), None));
    assert_eq!(phase("Always", &[], &[crash]), "Running");
}

#[test]
fn container_status_shapes() {
    let mut crash = exited("a", 2);
    crash.restart_count = 4;
    crash.waiting = Some(("CrashLoopBackOff".into(), Some("back-off 40s".into())));
    let cs = container_status(&crash);
    let w = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(w.reason.as_deref(), Some("CrashLoopBackOff"));
    let last = cs.last_state.unwrap().terminated.unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (2, Some("Error")));
    assert_eq!(last.container_id.as_deref(), Some("sovedge://id"));
    assert_eq!(cs.restart_count, 4);
    assert!(!cs.ready);
    let cs = container_status(&running("b"));
    assert!(cs.state.unwrap().running.is_some());
    assert_eq!(cs.started, Some(true));
    assert_eq!(cs.container_id.as_deref(), Some("sovedge://id"));
    assert_eq!(exit_reason(137, true), "OOMKilled");
    assert_eq!(exit_reason(0, false), "Completed");
}

#[test]
fn conditions_keep_transition_times_and_pod_scheduled() {
    let old_time = Time(Timestamp::from_second(1000).unwrap());
    let pod = Pod {
        spec: Some(PodSpec::default()),
        status: Some(PodStatus {
            conditions: Some(vec![
                PodCondition {
                    type_: "PodScheduled".into(),
                    status: "True".into(),
                    last_transition_time: Some(old_time.clone()),
                    ..Default::default()
                },
                PodCondition {
                    type_: "Initialized".into(),
                    status: "True".into(),
                    last_transition_time: Some(old_time.clone()),
                    ..Default::default()
                },
                PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(old_time.clone()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let app = [running("a"), {
        let mut b = running("b");
        b.ready = false;
        b
    }];
    let now = Timestamp::from_second(5000).unwrap();
    let st = compute(&StatusInput {
        pod: &pod,
        sandbox_ready: true,
        pod_ip: Some("10.42.0.3".parse().unwrap()),
        host_ip: "192.168.0.1".parse().unwrap(),
        start_time: Some(now),
        init: &[],
        app: &app,
        qos_class: "Burstable",
        failure: None,
        now,
    });
    let conds = st.conditions.unwrap();
    let get = |t: &str| conds.iter().find(|c| c.type_ == t).unwrap().clone();
    assert_eq!(
        get("Initialized").last_transition_time,
        Some(old_time.clone())
    );
    assert_eq!(get("PodScheduled").last_transition_time, Some(old_time));
    let ready = get("Ready");
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [b]")
    );
    assert_eq!(ready.last_transition_time, Some(Time(now)));
    assert_eq!(get("PodReadyToStartContainers").status, "True");
    assert_eq!(st.phase.as_deref(), Some("Running"));
    assert_eq!(st.pod_ips.unwrap()[0].ip, "10.42.0.3");
    assert_eq!(st.host_ips.unwrap()[0].ip, "192.168.0.1");
    assert_eq!(st.qos_class.as_deref(), Some("Burstable"));
}

#[tokio::test]
async fn events_fold_repeats_into_counts() {
    use crate::kubelet::pods::events::{Recorder, field_path};
    use crate::kubelet::pods::fakes::Fakes;
    let f = Fakes::new();
    let rec = Recorder::new(f.api.clone(), "node1");
    let pod = Pod {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("web".into()),
            namespace: Some("ns".into()),
            uid: Some("u1".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let fp = field_path("app", false);
    for _ in 0..3 {
        rec.record(&pod, Some(&fp), true, "BackOff", "Back-off")
            .await;
    }
    rec.record(&pod, None, false, "Scheduled", "other").await;
    let events = f.api.events.lock().unwrap().clone();
    assert_eq!(events.len(), 4);
    let (first, repeat) = &events[0];
    assert!(!repeat);
    assert_eq!(
        first.involved_object.field_path.as_deref(),
        Some("spec.containers{app}")
    );
    assert_eq!(first.involved_object.uid.as_deref(), Some("u1"));
    assert_eq!(
        first.source.as_ref().unwrap().component.as_deref(),
        Some("kubelet")
    );
    assert_eq!(
        first.source.as_ref().unwrap().host.as_deref(),
        Some("node1")
    );
    assert_eq!(first.type_.as_deref(), Some("Warning"));
    let (third, repeat) = &events[2];
    assert!(repeat);
    assert_eq!(third.metadata.name, first.metadata.name);
    assert_eq!(third.count, Some(3));
    assert_eq!(third.first_timestamp, first.first_timestamp);
    assert!(!events[3].1);
    assert_eq!(events[3].0.count, Some(1));
}
