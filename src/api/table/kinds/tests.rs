//! Each kind's cells against what `kubectl get -o wide` prints for the same
//! object upstream.

use serde_json::{Value, json};

use super::super::s;
use super::*;
use crate::registry::resources;

fn def(group: &str, kind: &str) -> &'static ResourceDef {
    resources::all()
        .into_iter()
        .find(|d| d.group == group && d.kind == kind)
        .unwrap_or_else(|| panic!("{group}/{kind} is not served"))
}

/// The cells of `obj`, checked to match the column count.
fn row(group: &str, kind: &str, obj: Value) -> Vec<Value> {
    let d = def(group, kind);
    let cols = columns(d).expect("columns");
    let cells = cells(d, &obj, json!(s(&obj, "/metadata/name")), json!("5m")).expect("cells");
    assert_eq!(cols.len(), cells.len(), "{kind}: columns and cells differ");
    cells
}

fn names(group: &str, kind: &str) -> Vec<&'static str> {
    columns(def(group, kind))
        .unwrap()
        .iter()
        .map(|c| c.name)
        .collect()
}

fn ago(secs: i64) -> String {
    let t = jiff::Timestamp::now().as_second() - secs;
    jiff::Timestamp::from_second(t).unwrap().to_string()
}

#[test]
fn every_served_kind_has_matching_columns_and_cells() {
    for d in resources::all() {
        if let Some(cols) = columns(d) {
            let obj = json!({"metadata": {"name": "x", "creationTimestamp": ago(10)}});
            let c = cells(d, &obj, json!("x"), json!("10s")).expect("cells");
            assert_eq!(cols.len(), c.len(), "{}", d.kind);
        } else {
            assert!(
                cells(d, &json!({}), json!("x"), json!("1s")).is_none(),
                "{}",
                d.kind
            );
        }
    }
}

#[test]
fn pod_statuses() {
    let pod = |status: Value| {
        json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": status})
    };
    let r = row("", "Pod", pod(json!({"phase": "Pending"})));
    assert_eq!(r[1..4], [json!("0/2"), json!("Pending"), json!("0")]);
    assert_eq!(
        r[5..],
        [
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );

    let running = json!({"phase": "Running", "podIPs": [{"ip": "10.42.0.5"}],
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [
            {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
             "lastState": {"terminated": {"finishedAt": ago(120)}}},
            {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}]});
    let r = row("", "Pod", pod(running));
    assert_eq!(
        r[1..4],
        [json!("2/2"), json!("Running"), json!("2 (2m ago)")]
    );
    assert_eq!(r[5], json!("10.42.0.5"));

    let waiting = json!({"phase": "Pending", "containerStatuses": [
        {"name": "a", "state": {"waiting": {"reason": "ImagePullBackOff"}}},
        {"name": "b", "state": {"waiting": {"reason": "ContainerCreating"}}}]});
    // The first container's reason wins: statuses are read last to first.
    assert_eq!(row("", "Pod", pod(waiting))[2], json!("ImagePullBackOff"));

    let exit = json!({"phase": "Failed", "containerStatuses": [
        {"name": "a", "state": {"terminated": {"exitCode": 3}}}]});
    assert_eq!(row("", "Pod", pod(exit))[2], json!("ExitCode:3"));

    let init = json!({"metadata": {"name": "p"},
        "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
            {"name": "i2", "state": {"running": {}}}]}});
    assert_eq!(row("", "Pod", init)[2], json!("Init:1/2"));

    let mut deleting = pod(json!({"phase": "Running"}));
    deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(row("", "Pod", deleting)[2], json!("Terminating"));

    let gated = json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]});
    assert_eq!(row("", "Pod", pod(gated))[2], json!("SchedulingGated"));
}

#[test]
fn workloads_print_containers_images_and_selectors() {
    assert_eq!(
        names("apps", "ReplicaSet"),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let rs = json!({"metadata": {"name": "web-1"}, "spec": {"replicas": 3,
        "selector": {"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]},
        "template": {"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]}}},
        "status": {"replicas": 3, "readyReplicas": 1}});
    let r = row("apps", "ReplicaSet", rs);
    assert_eq!(
        r,
        [
            json!("web-1"),
            json!(3),
            json!(3),
            json!(1),
            json!("5m"),
            json!("a,b"),
            json!("x:1,y:2"),
            json!("app=web,tier in (be,fe)")
        ]
    );
    let ds = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"k": "v"}},
        "template": {"spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "i"}]}}}});
    let r = row("apps", "DaemonSet", ds);
    assert_eq!(r[6], json!("disk=ssd"));
    assert_eq!(r[10], json!("k=v"));
    let sts = json!({"metadata": {"name": "db"}, "spec": {"replicas": 2}, "status": {"readyReplicas": 1}});
    assert_eq!(row("apps", "StatefulSet", sts)[1], json!("1/2"));
}

#[test]
fn jobs_and_cronjobs() {
    assert_eq!(
        names("batch", "Job"),
        [
            "Name",
            "Status",
            "Completions",
            "Duration",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let job = |spec: Value, status: Value| json!({"metadata": {"name": "j"}, "spec": spec, "status": status});
    let done = job(
        json!({"completions": 1}),
        json!({"succeeded": 1, "startTime": ago(100), "completionTime": ago(35),
            "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    let r = row("batch", "Job", done);
    assert_eq!(r[1..4], [json!("Complete"), json!("1/1"), json!("65s")]);
    let queue = job(json!({"parallelism": 3}), json!({}));
    let r = row("batch", "Job", queue);
    assert_eq!(r[1..4], [json!("Running"), json!("0/1 of 3"), json!("")]);
    let suspended = job(
        json!({"completions": 2}),
        json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
    );
    assert_eq!(row("batch", "Job", suspended)[1], json!("Suspended"));

    let cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "*/5 * * * *", "suspend": false,
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}}});
    let r = row("batch", "CronJob", cj);
    assert_eq!(
        r,
        [
            json!("c"),
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(0),
            json!("<none>"),
            json!("5m"),
            json!("c"),
            json!("busybox"),
            json!("<none>")
        ]
    );
}

#[test]
fn nodes_and_events() {
    let node = json!({"metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": "",
            "node-role.kubernetes.io/worker": ""}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "192.0.2.4"}],
            "nodeInfo": {"kubeletVersion": "v1.35.0", "osImage": "Debian", "kernelVersion": "6.1",
                "containerRuntimeVersion": "containerd://2.0"}}});
    assert_eq!(
        row("", "Node", node),
        [
            json!("n1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,worker"),
            json!("5m"),
            json!("v1.35.0"),
            json!("192.0.2.4"),
            json!("<none>"),
            json!("Debian"),
            json!("6.1"),
            json!("containerd://2.0")
        ]
    );
    let event = json!({"metadata": {"name": "web.1"}, "type": "Warning", "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{a}"},
        "source": {"component": "kubelet", "host": "n1"}, "message": "Back-off restarting ",
        "firstTimestamp": ago(600), "lastTimestamp": ago(30), "count": 4});
    assert_eq!(
        row("", "Event", event),
        [
            json!("30s"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web"),
            json!("spec.containers{a}"),
            json!("kubelet, n1"),
            json!("Back-off restarting"),
            json!("10m"),
            json!(4),
            json!("web.1")
        ]
    );
}

#[test]
fn storage_kinds() {
    assert_eq!(
        names("", "PersistentVolume"),
        [
            "Name",
            "Capacity",
            "Access Modes",
            "Reclaim Policy",
            "Status",
            "Claim",
            "StorageClass",
            "VolumeAttributesClass",
            "Reason",
            "Age",
            "VolumeMode"
        ]
    );
    let pv = json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "5Gi"},
        "accessModes": ["ReadWriteMany", "ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
        "claimRef": {"namespace": "ns", "name": "data"}, "storageClassName": "local", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound"}});
    assert_eq!(
        row("", "PersistentVolume", pv),
        [
            json!("pv1"),
            json!("5Gi"),
            json!("RWO,RWX"),
            json!("Retain"),
            json!("Bound"),
            json!("ns/data"),
            json!("local"),
            json!("<unset>"),
            json!(""),
            json!("5m"),
            json!("Filesystem")
        ]
    );
    let pvc = json!({"metadata": {"name": "data"}, "spec": {"storageClassName": "local"},
        "status": {"phase": "Pending"}});
    assert_eq!(
        row("", "PersistentVolumeClaim", pvc),
        [
            json!("data"),
            json!("Pending"),
            json!(""),
            json!(""),
            json!(""),
            json!("local"),
            json!("<unset>"),
            json!("5m"),
            json!("<unset>")
        ]
    );
    let sc = json!({"metadata": {"name": "local",
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
    assert_eq!(
        row("storage.k8s.io", "StorageClass", sc),
        [
            json!("local (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("WaitForFirstConsumer"),
            json!(false),
            json!("5m")
        ]
    );
}

#[test]
fn network_kinds() {
    let ing = json!({"metadata": {"name": "ing"}, "spec": {"ingressClassName": "nginx",
        "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}], "tls": [{"hosts": ["a.example.com"]}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}});
    assert_eq!(
        row("networking.k8s.io", "Ingress", ing),
        [
            json!("ing"),
            json!("nginx"),
            json!("a.example.com,b.example.com"),
            json!("192.0.2.1"),
            json!("80, 443"),
            json!("5m")
        ]
    );
    let np = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
    assert_eq!(
        row("networking.k8s.io", "NetworkPolicy", np)[1],
        json!("<none>")
    );
    let ep = json!({"metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"},
        {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}], "ports": [{"port": 80}]}]});
    assert_eq!(
        row("", "Endpoints", ep)[1],
        json!("10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...")
    );
    assert_eq!(
        row("", "Endpoints", json!({"metadata": {"name": "e"}}))[1],
        json!("<none>")
    );
    let slice = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4", "ports": [{"port": 80}],
        "endpoints": [{"addresses": ["10.0.0.1"]}]});
    assert_eq!(
        row("discovery.k8s.io", "EndpointSlice", slice)[1..4],
        [json!("IPv4"), json!("80"), json!("10.0.0.1")]
    );
    let svc = json!({"spec": {"type": "LoadBalancer"}});
    assert_eq!(service_external_ip(&svc), "<pending>");
    let svc = json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
    assert_eq!(service_external_ip(&svc), "db.example.com");
    let svc = json!({"spec": {"type": "ClusterIP", "externalIPs": ["192.0.2.9"]}});
    assert_eq!(service_external_ip(&svc), "192.0.2.9");
}

#[test]
fn rbac_policy_and_cluster_kinds() {
    assert_eq!(
        names("rbac.authorization.k8s.io", "Role"),
        ["Name", "Created At"]
    );
    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2026-01-02T03:04:05Z"}});
    assert_eq!(
        row("rbac.authorization.k8s.io", "Role", role)[1],
        json!("2026-01-02T03:04:05Z")
    );
    let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
            {"kind": "ServiceAccount", "namespace": "ns", "name": "robot"}]});
    assert_eq!(
        row("rbac.authorization.k8s.io", "RoleBinding", rb),
        [
            json!("rb"),
            json!("ClusterRole/view"),
            json!("5m"),
            json!("alice, bob"),
            json!(""),
            json!("ns/robot")
        ]
    );
    let pdb = json!({"metadata": {"name": "pdb"}, "spec": {"minAvailable": 1}, "status": {"disruptionsAllowed": 0}});
    assert_eq!(
        row("policy", "PodDisruptionBudget", pdb),
        [
            json!("pdb"),
            json!("1"),
            json!("N/A"),
            json!(0),
            json!("5m")
        ]
    );
    let pc = json!({"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "PreemptLowerPriority"});
    assert_eq!(
        row("scheduling.k8s.io", "PriorityClass", pc),
        [
            json!("high"),
            json!(1000),
            json!(false),
            json!("5m"),
            json!("PreemptLowerPriority")
        ]
    );
    let wh = json!({"metadata": {"name": "w"}, "webhooks": [{"name": "a"}, {"name": "b"}]});
    assert_eq!(
        row(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            wh
        )[1],
        json!(2)
    );
    let hpa = json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 5,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
        "status": {"currentReplicas": 2}});
    assert_eq!(
        row("autoscaling", "HorizontalPodAutoscaler", hpa),
        [
            json!("web"),
            json!("Deployment/web"),
            json!("cpu: <unknown>/80%"),
            json!("1"),
            json!(5),
            json!(2),
            json!("5m")
        ]
    );
    let csr = json!({"metadata": {"name": "c"}, "spec": {"signerName": "kubernetes.io/kube-apiserver-client",
        "username": "alice", "expirationSeconds": 86400},
        "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "Zm9v"}});
    assert_eq!(
        row("certificates.k8s.io", "CertificateSigningRequest", csr)[2..],
        [
            json!("kubernetes.io/kube-apiserver-client"),
            json!("alice"),
            json!("24h"),
            json!("Approved,Issued")
        ]
    );
    let quota = json!({"metadata": {"name": "q"}, "status": {"hard": {"pods": "2", "limits.cpu": "2"},
        "used": {"pods": "1", "limits.cpu": "500m"}}});
    assert_eq!(
        row("", "ResourceQuota", quota)[1..3],
        [json!("pods: 1/2"), json!("limits.cpu: 500m/2")]
    );
    let rc = json!({"metadata": {"name": "runc"}, "handler": "runc"});
    assert_eq!(row("node.k8s.io", "RuntimeClass", rc)[1], json!("runc"));
}
