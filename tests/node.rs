//! The server's own Node: registration from the host's facts, the Lease
//! heartbeat, binding of unbound pods, and identity across restarts.

mod common;

use std::time::{Duration, Instant};

use common::{Server, json};
use serde_json::Value;

const KUBECTL: &str = "1.33";

/// Polls `f` until it returns Some, failing with `what` and the server
/// log after a generous deadline.
fn wait_for<T>(s: &Server, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\nserver log:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn get(s: &Server, args: &[&str]) -> Value {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    json(&s.ok(KUBECTL, &a))
}

fn nodes(s: &Server) -> Vec<Value> {
    get(s, &["nodes"])["items"].as_array().unwrap().clone()
}

/// The only node, once its status has been posted.
fn the_node(s: &Server) -> Value {
    wait_for(s, "node status", || {
        let items = nodes(s);
        assert!(items.len() <= 1, "more than one node: {items:?}");
        items.into_iter().next().filter(|n| {
            n["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.len() == 4)
        })
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_lowercase()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap()
}

fn condition<'a>(node: &'a Value, kind: &str) -> &'a Value {
    node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} condition: {node}"))
}

#[test]
fn node_registered_with_host_facts() {
    let s = Server::start_kubelet();
    let slot = s.slot.as_ref().unwrap();
    let node = the_node(&s);
    let name = hostname();
    assert_eq!(node["metadata"]["name"], name.as_str());

    let labels = &node["metadata"]["labels"];
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(labels["kubernetes.io/arch"], arch);
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["kubernetes.io/hostname"], name.as_str());
    assert_eq!(labels["topology.kubernetes.io/region"], "local");
    assert_eq!(labels["topology.kubernetes.io/zone"], "local");
    assert_eq!(labels["node-role.kubernetes.io/control-plane"], "");

    let cap = &node["status"]["capacity"];
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(cap["cpu"], cpus.to_string().as_str());
    assert_eq!(cap["pods"], "110");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim();
    assert_eq!(cap["memory"], format!("{total_kib}Ki").as_str());
    let storage = cap["ephemeral-storage"].as_str().unwrap();
    let storage_kib: u64 = storage.strip_suffix("Ki").unwrap().parse().unwrap();
    assert!(storage_kib > 0);
    let alloc = &node["status"]["allocatable"];
    let alloc_mem: u64 = alloc["memory"]
        .as_str()
        .unwrap()
        .trim_end_matches("Ki")
        .parse()
        .unwrap();
    assert_eq!(alloc_mem, total_kib.parse::<u64>().unwrap() - 100 * 1024);
    let alloc_storage: u64 = alloc["ephemeral-storage"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(alloc_storage < storage_kib * 1024);
    assert_eq!(alloc["pods"], "110");

    let addresses = node["status"]["addresses"].as_array().unwrap();
    let internal = addresses
        .iter()
        .find(|a| a["type"] == "InternalIP")
        .unwrap();
    let ip: std::net::Ipv4Addr = internal["address"].as_str().unwrap().parse().unwrap();
    assert!(!ip.is_unspecified());
    assert!(
        addresses
            .iter()
            .any(|a| a["type"] == "Hostname" && a["address"] == name.as_str())
    );

    for (kind, reason) in [
        ("MemoryPressure", "KubeletHasSufficientMemory"),
        ("DiskPressure", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "KubeletHasSufficientPID"),
    ] {
        let c = condition(&node, kind);
        // The host may really be under pressure; the reason must agree.
        if c["status"] == "False" {
            assert_eq!(c["reason"], reason, "{c}");
        } else {
            assert_eq!(c["status"], "True", "{c}");
            assert_ne!(c["reason"], reason, "{c}");
        }
        assert!(c["lastHeartbeatTime"].is_string() && c["lastTransitionTime"].is_string());
    }
    let ready = condition(&node, "Ready");
    if is_root() {
        assert_eq!(ready["status"], "True", "{ready}");
        assert_eq!(ready["reason"], "KubeletReady");
        assert_eq!(ready["message"], "kubelet is posting ready status");
        let table = s.ok(KUBECTL, &["get", "nodes"]);
        let row = table.lines().nth(1).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            &cols[..3],
            &[name.as_str(), "Ready", "control-plane"],
            "{table}"
        );
    } else {
        eprintln!("not root: checking the NotReady report instead of Ready");
        assert_eq!(ready["status"], "False", "{ready}");
        assert_eq!(ready["reason"], "KubeletNotReady");
        assert!(
            ready["message"]
                .as_str()
                .unwrap()
                .contains("without root privileges"),
            "{ready}"
        );
    }

    let info = &node["status"]["nodeInfo"];
    let version = json(&s.ok(KUBECTL, &["get", "--raw", "/version"]));
    assert_eq!(info["kubeletVersion"], version["gitVersion"]);
    assert_eq!(
        info["containerRuntimeVersion"],
        format!("sovedge://{}", env!("CARGO_PKG_VERSION")).as_str()
    );
    assert_eq!(info["architecture"], arch);
    assert_eq!(info["operatingSystem"], "linux");
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(info["bootID"], boot_id.trim());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info["kernelVersion"], kernel.trim());
    if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
        assert_eq!(info["machineID"], id.trim());
    }
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    if let Some(pretty) = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
    {
        assert_eq!(info["osImage"], pretty.trim_matches('"'));
    }
    assert!(!info["systemUUID"].as_str().unwrap().is_empty());

    assert_eq!(node["spec"]["podCIDR"], slot.pod_cidr.as_str());
    assert_eq!(node["spec"]["podCIDRs"], serde_json::json!([slot.pod_cidr]));
    assert_eq!(
        node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"],
        s.port
    );
    assert!(
        s.log().contains(&format!("node=\"{name}\"")) || s.log().contains(&format!("node={name}"))
    );
}

#[test]
fn lease_is_renewed() {
    let s = Server::start_kubelet_with(&["--node-name", "lease-node"]);
    let node = the_node(&s);
    let lease = wait_for(&s, "the node lease", || {
        let out = s.kubectl(
            KUBECTL,
            &[
                "get",
                "lease",
                "-n",
                "kube-node-lease",
                "lease-node",
                "-o",
                "json",
            ],
        );
        out.status
            .success()
            .then(|| json(&String::from_utf8(out.stdout).unwrap()))
    });
    assert_eq!(lease["spec"]["holderIdentity"], "lease-node");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 40);
    let owner = &lease["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Node");
    assert_eq!(owner["name"], "lease-node");
    assert_eq!(owner["uid"], node["metadata"]["uid"]);
    let first = lease["spec"]["renewTime"].as_str().unwrap().to_string();
    let renewed = wait_for(&s, "a lease renewal", || {
        let l = get(&s, &["lease", "-n", "kube-node-lease", "lease-node"]);
        let t = l["spec"]["renewTime"].as_str().unwrap().to_string();
        (t != first).then_some(t)
    });
    // RFC 3339 in UTC with the same layout compares in time order.
    assert!(renewed > first, "{renewed} after {first}");
}

fn pod_json(s: &Server, ns: &str, name: &str) -> Value {
    get(s, &["pod", "-n", ns, name])
}

#[test]
fn unbound_pods_are_bound_to_the_node() {
    let s = Server::start_kubelet_with(&["--node-name", "binder-node"]);
    the_node(&s);
    for version in common::KUBECTL_VERSIONS {
        let ns = s.namespace(version, "bind");
        s.ok(
            version,
            &[
                "run",
                "web",
                "-n",
                &ns,
                "--image=busybox",
                "--restart=Never",
            ],
        );
        let pod = wait_for(&s, "the pod to be bound", || {
            let p = pod_json(&s, &ns, "web");
            (p["spec"]["nodeName"] == "binder-node").then_some(p)
        });
        let scheduled = pod["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "PodScheduled")
            .cloned()
            .unwrap();
        assert_eq!(scheduled["status"], "True", "{pod}");
        let events = get(&s, &["events", "-n", &ns]);
        let scheduled_event = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["reason"] == "Scheduled")
            .cloned()
            .unwrap_or_else(|| panic!("no Scheduled event: {events}"));
        assert_eq!(
            scheduled_event["message"],
            format!("Successfully assigned {ns}/web to binder-node").as_str()
        );
        assert_eq!(scheduled_event["involvedObject"]["name"], "web");
    }
}

#[test]
fn node_selector_mismatch_stays_pending_until_labelled() {
    let s = Server::start_kubelet_with(&["--node-name", "sel-node"]);
    the_node(&s);
    let ns = s.namespace(KUBECTL, "sel");
    s.ok(
        KUBECTL,
        &[
            "run",
            "picky",
            "-n",
            &ns,
            "--image=busybox",
            "--restart=Never",
            "--overrides",
            r#"{"apiVersion":"v1","spec":{"nodeSelector":{"disk":"ssd"}}}"#,
        ],
    );
    let cond = wait_for(&s, "the unschedulable condition", || {
        let p = pod_json(&s, &ns, "picky");
        p["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")
            .cloned()
    });
    assert_eq!(cond["reason"], "Unschedulable");
    let message = cond["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        ),
        "{message}"
    );
    let pod = pod_json(&s, &ns, "picky");
    assert_eq!(pod["status"]["phase"], "Pending");
    assert!(pod["spec"]["nodeName"].is_null(), "{pod}");
    let event = wait_for(&s, "the FailedScheduling event", || {
        let events = get(&s, &["events", "-n", &ns]);
        events["items"]
            .as_array()?
            .iter()
            .find(|e| e["reason"] == "FailedScheduling")
            .cloned()
    });
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["message"], message);

    // Giving the node the label lets the pod through.
    s.ok(KUBECTL, &["label", "node", "sel-node", "disk=ssd"]);
    wait_for(&s, "the pod to be bound after labelling", || {
        (pod_json(&s, &ns, "picky")["spec"]["nodeName"] == "sel-node").then_some(())
    });
    // The kubelet keeps the label an admin added.
    let node = the_node(&s);
    assert_eq!(node["metadata"]["labels"]["disk"], "ssd");
}

#[test]
fn restart_keeps_the_node_and_applies_new_topology() {
    let mut s = Server::start_kubelet_with(&[
        "--node-name",
        "edge-a",
        "--region",
        "eu-central",
        "--zone",
        "plant-7",
    ]);
    let node = the_node(&s);
    let labels = &node["metadata"]["labels"];
    assert_eq!(labels["topology.kubernetes.io/region"], "eu-central");
    assert_eq!(labels["topology.kubernetes.io/zone"], "plant-7");
    assert_eq!(labels["kubernetes.io/hostname"], "edge-a");
    let uid = node["metadata"]["uid"].as_str().unwrap().to_string();
    s.ok(KUBECTL, &["label", "node", "edge-a", "site=hall-2"]);

    s.kill();
    s.spawn();
    let node = the_node(&s);
    assert_eq!(nodes(&s).len(), 1);
    assert_eq!(node["metadata"]["uid"], uid.as_str());
    assert_eq!(node["metadata"]["labels"]["site"], "hall-2");

    // A new zone on the next start is reflected on the same Node.
    s.kill();
    s.set_flag("--zone", "plant-8");
    s.spawn();
    let node = wait_for(&s, "the new zone label", || {
        let n = the_node(&s);
        (n["metadata"]["labels"]["topology.kubernetes.io/zone"] == "plant-8").then_some(n)
    });
    assert_eq!(node["metadata"]["uid"], uid.as_str());
    assert_eq!(nodes(&s).len(), 1);
}

#[test]
fn disabled_kubelet_registers_no_node() {
    let s = Server::start();
    // The API is ready before this check, and nothing registers later.
    assert!(nodes(&s).is_empty());
    let leases = get(&s, &["leases", "-n", "kube-node-lease"]);
    assert!(leases["items"].as_array().unwrap().is_empty());
    assert!(s.log().contains("kubelet disabled"));
}
