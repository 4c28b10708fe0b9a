//! What the kubelet relies on in the API: graceful deletion of bound pods,
//! pods/binding and pods/status through kube-rs, and the
//! `kube-root-ca.crt` ConfigMap in every namespace.

mod common;

use std::time::{Duration, Instant};

use common::{KUBECTL_VERSIONS, Server, json};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

fn pod_manifest(name: &str, node: Option<&str>, grace: Option<i64>) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name },
        "spec": { "containers": [{ "name": "main", "image": "busybox" }] }
    });
    if let Some(n) = node {
        p["spec"]["nodeName"] = json!(n);
    }
    if let Some(g) = grace {
        p["spec"]["terminationGracePeriodSeconds"] = json!(g);
    }
    p
}

fn get_pod(s: &Server, v: &str, ns: &str, name: &str) -> Option<Value> {
    let out = s.kubectl(v, &["-n", ns, "get", "pod", name, "-o", "json"]);
    out.status
        .success()
        .then(|| json(&String::from_utf8(out.stdout).unwrap()))
}

#[test]
fn kubectl_delete_of_a_bound_pod_is_graceful_until_forced() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "grace");
        let manifest = pod_manifest("bound", Some("edge-1"), Some(45)).to_string();
        s.ok_stdin(v, &["-n", &ns, "apply", "-f", "-"], &manifest);

        s.ok(v, &["-n", &ns, "delete", "pod", "bound", "--wait=false"]);
        let p = get_pod(&s, v, &ns, "bound").expect("a bound pod stays while it terminates");
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 45);
        let deadline: jiff::Timestamp = p["metadata"]["deletionTimestamp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let ahead = deadline.as_second() - jiff::Timestamp::now().as_second();
        assert!((30..=46).contains(&ahead), "deadline {ahead}s ahead");
        let table = s.ok(v, &["-n", &ns, "get", "pod", "bound"]);
        assert!(table.contains("Terminating"), "{table}");

        // A shorter period shortens; a longer one is ignored.
        s.ok(
            v,
            &[
                "-n",
                &ns,
                "delete",
                "pod",
                "bound",
                "--grace-period=10",
                "--wait=false",
            ],
        );
        let p = get_pod(&s, v, &ns, "bound").unwrap();
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 10);
        s.ok(
            v,
            &[
                "-n",
                &ns,
                "delete",
                "pod",
                "bound",
                "--grace-period=60",
                "--wait=false",
            ],
        );
        let p = get_pod(&s, v, &ns, "bound").unwrap();
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 10);

        let warn = s.ok_stderr(
            v,
            &[
                "-n",
                &ns,
                "delete",
                "pod",
                "bound",
                "--grace-period=0",
                "--force",
            ],
        );
        assert!(warn.contains("Immediate deletion"), "{warn}");
        assert!(get_pod(&s, v, &ns, "bound").is_none());

        // Unbound pods go at once, and kubectl's wait returns.
        let manifest = pod_manifest("unbound", None, Some(45)).to_string();
        s.ok_stdin(v, &["-n", &ns, "apply", "-f", "-"], &manifest);
        let out = s.ok(v, &["-n", &ns, "delete", "pod", "unbound", "--timeout=20s"]);
        assert!(out.contains("pod \"unbound\" deleted"), "{out}");
        assert!(get_pod(&s, v, &ns, "unbound").is_none());
    }
}

async fn next_event(
    stream: &mut (impl futures_util::Stream<Item = kube::Result<WatchEvent<Pod>>> + Unpin),
) -> WatchEvent<Pod> {
    tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("watch event in time")
        .expect("watch open")
        .expect("watch event")
}

#[tokio::test]
async fn kube_rs_binding_status_and_graceful_delete() {
    let s = Server::start();
    let client = common::kube_client(&s).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(pod_manifest("web", None, None)).unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();

    // Binding, as the kubelet's binder does it.
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": { "name": "web" },
        "target": { "apiVersion": "v1", "kind": "Node", "name": "edge-1" }
    });
    let status: kube::core::Status = pods
        .create_subresource("binding", "web", &PostParams::default(), &binding)
        .await
        .unwrap();
    assert!(status.is_success(), "{status:?}");
    let bound = pods.get("web").await.unwrap();
    assert_eq!(
        bound.spec.as_ref().unwrap().node_name.as_deref(),
        Some("edge-1")
    );
    let conditions = bound.status.as_ref().unwrap().conditions.clone().unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "PodScheduled" && c.status == "True")
    );
    // A second binding is refused.
    let again = pods
        .create_subresource::<_, kube::core::Status>(
            "binding",
            "web",
            &PostParams::default(),
            &binding,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(again, kube::Error::Api(ref e) if e.code == 409),
        "{again:?}"
    );

    // Status writes: merge patch, then a full replace; spec stays.
    let patched = pods
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running", "podIP": "10.99.0.7", "podIPs": [{"ip": "10.99.0.7"}]}})),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.status.as_ref().unwrap().pod_ip.as_deref(),
        Some("10.99.0.7")
    );
    let mut replaced = patched.clone();
    replaced.status.as_mut().unwrap().host_ip = Some("192.168.1.10".into());
    replaced.spec.as_mut().unwrap().node_name = Some("elsewhere".into());
    let replaced = pods
        .replace_status("web", &PostParams::default(), &replaced)
        .await
        .unwrap();
    assert_eq!(
        replaced.status.as_ref().unwrap().host_ip.as_deref(),
        Some("192.168.1.10")
    );
    assert_eq!(
        replaced.spec.as_ref().unwrap().node_name.as_deref(),
        Some("edge-1")
    );

    // Deletion: MODIFIED with the deletion timestamp, then DELETED once
    // the node deletes with grace 0 and the pod's uid.
    let rv = replaced.metadata.resource_version.clone().unwrap();
    let mut stream = pods
        .watch(&WatchParams::default().fields("metadata.name=web"), &rv)
        .await
        .unwrap()
        .boxed();
    let marked = pods
        .delete("web", &DeleteParams::default().grace_period(20))
        .await
        .unwrap();
    let marked = marked.left().expect("the pod stays while it terminates");
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(20));
    match next_event(&mut stream).await {
        WatchEvent::Modified(p) => {
            assert!(p.metadata.deletion_timestamp.is_some());
            assert_eq!(p.metadata.deletion_grace_period_seconds, Some(20));
        }
        other => panic!("expected MODIFIED, got {other:?}"),
    }
    // Status updates during termination keep the pod.
    pods.patch_status(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Succeeded"}})),
    )
    .await
    .unwrap();
    assert!(pods.get_opt("web").await.unwrap().is_some());
    let _ = next_event(&mut stream).await;
    // A uid precondition that does not match is refused.
    let mut wrong = DeleteParams::default().grace_period(0);
    wrong.preconditions = Some(kube::api::Preconditions {
        uid: Some("not-the-uid".into()),
        resource_version: None,
    });
    let err = pods.delete("web", &wrong).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 409),
        "{err:?}"
    );
    let mut right = DeleteParams::default().grace_period(0);
    right.preconditions = Some(kube::api::Preconditions {
        uid: marked.metadata.uid.clone(),
        resource_version: None,
    });
    let gone = pods.delete("web", &right).await.unwrap();
    assert!(gone.is_right(), "deleted at once");
    match next_event(&mut stream).await {
        WatchEvent::Deleted(p) => assert_eq!(p.metadata.name.as_deref(), Some("web")),
        other => panic!("expected DELETED, got {other:?}"),
    }
    assert!(pods.get_opt("web").await.unwrap().is_none());

    // A pod that ran to completion is deleted at once.
    let pod: Pod = serde_json::from_value(pod_manifest("done", Some("edge-1"), None)).unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    pods.patch_status(
        "done",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Failed", "containerStatuses": [{
            "name": "main", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 1}}
        }]}})),
    )
    .await
    .unwrap();
    assert!(
        pods.delete("done", &DeleteParams::default())
            .await
            .unwrap()
            .is_right()
    );
}

async fn root_ca(client: &kube::Client, ns: &str) -> Option<ConfigMap> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let start = Instant::now();
    loop {
        if let Some(cm) = api.get_opt("kube-root-ca.crt").await.unwrap() {
            return Some(cm);
        }
        if start.elapsed() > Duration::from_secs(20) {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_namespace_gets_the_root_ca() {
    let mut s = Server::start();
    let ca = std::fs::read_to_string(s.data_dir().join("tls/ca.crt")).unwrap();
    let client = common::kube_client(&s).await;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let cm = root_ca(&client, ns)
            .await
            .unwrap_or_else(|| panic!("no kube-root-ca.crt in {ns}"));
        assert_eq!(cm.data.unwrap()["ca.crt"], ca);
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let cm = root_ca(&client, "team-a")
        .await
        .expect("published in a new namespace");
    assert_eq!(cm.data.as_ref().unwrap()["ca.crt"], ca);

    // Deleted or edited, it comes back as it was.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team-a");
    cms.delete("kube-root-ca.crt", &DeleteParams::default())
        .await
        .unwrap();
    let back = root_ca(&client, "team-a").await.expect("recreated");
    assert_ne!(back.metadata.uid, cm.metadata.uid);
    cms.patch(
        "kube-root-ca.crt",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"ca.crt": "tampered"}})),
    )
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let now = cms.get("kube-root-ca.crt").await.unwrap();
        if now.data.as_ref().unwrap()["ca.crt"] == ca {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "not restored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Namespaces that existed before a start without it get it at start.
    s.kill();
    s.spawn();
    let client = common::kube_client(&s).await;
    assert!(root_ca(&client, "team-a").await.is_some());
    // A terminating namespace is left to empty.
    namespaces
        .delete("team-a", &DeleteParams::default())
        .await
        .ok();
    let api: Api<Namespace> = Api::all(client.clone());
    let start = Instant::now();
    while api.get_opt("team-a").await.unwrap().is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "namespace not removed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
