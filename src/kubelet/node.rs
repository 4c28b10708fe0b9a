//! This box's Node: registration, and a status kept current the way
//! upstream's kubelet does it. Status is recomputed every 10 s but only
//! written when something other than heartbeat times changed, or when the
//! last write is 5 minutes old; liveness is the Lease's job.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::sync::watch;

use super::config::KubeletConfig;
use super::host::{Host, HostInfo, Usage};
use super::{Error, Result};

/// How often the status is recomputed.
const STATUS_CHECK: Duration = Duration::from_secs(10);
/// Longest time between status writes when nothing changed
/// (upstream's nodeStatusReportFrequency).
const STATUS_REPORT: Duration = Duration::from_secs(300);
/// Upstream's default hard eviction thresholds.
const MEMORY_AVAILABLE_MIN: u64 = 100 * 1024 * 1024;
const NODEFS_AVAILABLE_MIN_PCT: u64 = 10;
const NODEFS_INODES_FREE_MIN_PCT: u64 = 5;
/// Upstream sets no default for pid.available; a tenth of pid_max left is
/// where an edge box starts to fail forks, so that is where we report it.
const PIDS_AVAILABLE_MIN_PCT: u64 = 10;

pub(crate) const ROLE_CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";

/// The labels the kubelet owns on its Node.
pub(crate) fn labels(cfg: &KubeletConfig) -> BTreeMap<String, String> {
    let arch = crate::api::version_info()["platform"]
        .as_str()
        .and_then(|p| p.strip_prefix("linux/"))
        .unwrap_or(std::env::consts::ARCH)
        .to_string();
    let mut l = BTreeMap::from([
        ("beta.kubernetes.io/arch".to_string(), arch.clone()),
        ("beta.kubernetes.io/os".into(), "linux".into()),
        ("kubernetes.io/arch".into(), arch),
        ("kubernetes.io/os".into(), "linux".into()),
        ("kubernetes.io/hostname".into(), cfg.node_name.clone()),
        ("topology.kubernetes.io/region".into(), cfg.region.clone()),
        ("topology.kubernetes.io/zone".into(), cfg.zone.clone()),
    ]);
    if cfg.control_plane {
        l.insert(ROLE_CONTROL_PLANE.into(), String::new());
    }
    l
}

/// Capacity and allocatable; allocatable keeps the hard eviction
/// thresholds back, as upstream computes it without reservations.
pub(crate) fn resources(
    info: &HostInfo,
    usage: &Usage,
    max_pods: u32,
) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    let q = |s: String| Quantity(s);
    let memory_kib = info.memory_bytes / 1024;
    let disk_kib = usage.disk_total / 1024;
    let capacity = BTreeMap::from([
        ("cpu".to_string(), q(info.cpus.to_string())),
        ("memory".into(), q(format!("{memory_kib}Ki"))),
        ("ephemeral-storage".into(), q(format!("{disk_kib}Ki"))),
        ("pods".into(), q(max_pods.to_string())),
    ]);
    let memory_alloc = memory_kib.saturating_sub(MEMORY_AVAILABLE_MIN / 1024);
    let disk_alloc = usage.disk_total - usage.disk_total * NODEFS_AVAILABLE_MIN_PCT / 100;
    let allocatable = BTreeMap::from([
        ("cpu".to_string(), q(info.cpus.to_string())),
        ("memory".into(), q(format!("{memory_alloc}Ki"))),
        ("ephemeral-storage".into(), q(disk_alloc.to_string())),
        ("pods".into(), q(max_pods.to_string())),
    ]);
    (capacity, allocatable)
}

fn below_pct(available: u64, total: u64, pct: u64) -> bool {
    total > 0 && available.saturating_mul(100) < total.saturating_mul(pct)
}

/// (type, status, reason, message) of each condition, in upstream's order.
pub(crate) fn condition_states(
    usage: &Usage,
    problem: Option<&str>,
) -> [(&'static str, bool, &'static str, String); 4] {
    let memory = usage.memory_available < MEMORY_AVAILABLE_MIN;
    let disk = below_pct(
        usage.disk_available,
        usage.disk_total,
        NODEFS_AVAILABLE_MIN_PCT,
    ) || below_pct(
        usage.inodes_free,
        usage.inodes_total,
        NODEFS_INODES_FREE_MIN_PCT,
    );
    let pids = below_pct(
        usage.pids_max.saturating_sub(usage.pids_used),
        usage.pids_max,
        PIDS_AVAILABLE_MIN_PCT,
    );
    [
        if memory {
            (
                "MemoryPressure",
                true,
                "KubeletHasInsufficientMemory",
                "kubelet has insufficient memory available".into(),
            )
        } else {
            (
                "MemoryPressure",
                false,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available".into(),
            )
        },
        if disk {
            (
                "DiskPressure",
                true,
                "KubeletHasDiskPressure",
                "kubelet has disk pressure".into(),
            )
        } else {
            (
                "DiskPressure",
                false,
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure".into(),
            )
        },
        if pids {
            (
                "PIDPressure",
                true,
                "KubeletHasInsufficientPID",
                "kubelet has insufficient PID available".into(),
            )
        } else {
            (
                "PIDPressure",
                false,
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available".into(),
            )
        },
        match problem {
            None => (
                "Ready",
                true,
                "KubeletReady",
                "kubelet is posting ready status".into(),
            ),
            Some(p) => (
                "Ready",
                false,
                "KubeletNotReady",
                format!("container runtime is down: {p}"),
            ),
        },
    ]
}

/// Conditions for `now`, keeping each transition time from `previous`
/// while the status stays the same.
pub(crate) fn conditions(
    usage: &Usage,
    problem: Option<&str>,
    previous: &[NodeCondition],
    now: Timestamp,
) -> Vec<NodeCondition> {
    condition_states(usage, problem)
        .into_iter()
        .map(|(kind, status, reason, message)| {
            let status = if status { "True" } else { "False" };
            let transition = previous
                .iter()
                .find(|c| c.type_ == kind && c.status == status)
                .and_then(|c| c.last_transition_time.clone())
                .unwrap_or(Time(now));
            NodeCondition {
                type_: kind.into(),
                status: status.into(),
                reason: Some(reason.into()),
                message: Some(message),
                last_heartbeat_time: Some(Time(now)),
                last_transition_time: Some(transition),
            }
        })
        .collect()
}

pub(crate) fn node_info(info: &HostInfo) -> NodeSystemInfo {
    let version = crate::api::version_info();
    let text = |k: &str| version[k].as_str().unwrap_or_default().to_string();
    NodeSystemInfo {
        architecture: text("platform")
            .strip_prefix("linux/")
            .unwrap_or_default()
            .to_string(),
        boot_id: info.boot_id.clone(),
        container_runtime_version: format!("sovedge://{}", env!("CARGO_PKG_VERSION")),
        kernel_version: info.kernel_version.clone(),
        kube_proxy_version: String::new(),
        kubelet_version: text("gitVersion"),
        machine_id: info.machine_id.clone(),
        operating_system: "linux".into(),
        os_image: info.os_image.clone(),
        swap: None,
        system_uuid: info.system_uuid.clone(),
    }
}

/// The whole status this kubelet reports.
pub(crate) fn status(
    cfg: &KubeletConfig,
    info: &HostInfo,
    usage: &Usage,
    problem: Option<&str>,
    previous: &[NodeCondition],
    now: Timestamp,
) -> NodeStatus {
    let (capacity, allocatable) = resources(info, usage, cfg.max_pods);
    NodeStatus {
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: info.internal_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: cfg.node_name.clone(),
            },
        ]),
        allocatable: Some(allocatable),
        capacity: Some(capacity),
        conditions: Some(conditions(usage, problem, previous, now)),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(cfg.api_port),
            }),
        }),
        node_info: Some(node_info(info)),
        ..NodeStatus::default()
    }
}

/// Whether two statuses differ in more than heartbeat times.
pub(crate) fn changed(old: &NodeStatus, new: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_heartbeat_time = None;
        }
        // Fields other writers own are not compared.
        s.images = None;
        s.volumes_attached = None;
        s.volumes_in_use = None;
        s.config = None;
        s.features = None;
        s.runtime_handlers = None;
        s.declared_features = None;
        s.phase = None;
        s
    };
    strip(old) != strip(new)
}

/// Creates this box's Node, or brings an existing one (from an earlier
/// run) up to date without touching what others set on it. Retries until
/// the API accepts it.
pub(crate) async fn register(client: &kube::Client, cfg: &KubeletConfig) -> Node {
    let mut delay = Duration::from_millis(200);
    loop {
        match try_register(client, cfg).await {
            Ok(node) => return node,
            Err(e) => {
                tracing::warn!(node = %cfg.node_name, error = %e, "node registration failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(7));
            }
        }
    }
}

async fn try_register(client: &kube::Client, cfg: &KubeletConfig) -> Result<Node> {
    let api: Api<Node> = Api::all(client.clone());
    let name = &cfg.node_name;
    let cidr = cfg.pod_cidr.to_string();
    if let Some(mut node) = api
        .get_opt(name)
        .await
        .map_err(Error::api("get node", name))?
    {
        let before = node.clone();
        let labels = node.metadata.labels.get_or_insert_with(BTreeMap::new);
        labels.extend(self::labels(cfg));
        if !cfg.control_plane {
            labels.remove(ROLE_CONTROL_PLANE);
        }
        let spec = node.spec.get_or_insert_with(NodeSpec::default);
        match spec.pod_cidr.as_deref() {
            None | Some("") => {
                spec.pod_cidr = Some(cidr.clone());
                spec.pod_cidrs = Some(vec![cidr]);
            }
            Some(existing) if existing != cidr => tracing::warn!(
                node = %name, existing, configured = %cidr,
                "the node keeps its registered pod cidr; the configured one is ignored"
            ),
            Some(_) => {}
        }
        if node == before {
            return Ok(node);
        }
        tracing::info!(node = %name, "updating the registered node");
        return api
            .replace(name, &PostParams::default(), &node)
            .await
            .map_err(Error::api("update node", name));
    }
    let node = Node {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(labels(cfg)),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(cidr.clone()),
            pod_cidrs: Some(vec![cidr]),
            ..NodeSpec::default()
        }),
        status: None,
    };
    tracing::info!(node = %name, "registering node");
    api.create(&PostParams::default(), &node)
        .await
        .map_err(Error::api("create node", name))
}

/// Keeps the Node's status current until the task is dropped.
pub(crate) async fn run_status(
    client: kube::Client,
    cfg: Arc<KubeletConfig>,
    host: Arc<dyn Host>,
    mut problems: watch::Receiver<Option<String>>,
    node: Node,
) {
    let api: Api<Node> = Api::all(client.clone());
    let name = cfg.node_name.clone();
    let mut posted = node.status.unwrap_or_default();
    let mut last_write: Option<Instant> = None;
    let mut info = host.info();
    loop {
        let usage = host.usage();
        let problem = problems
            .borrow_and_update()
            .clone()
            .or_else(|| host.runtime_problem());
        let previous = posted.conditions.clone().unwrap_or_default();
        let new = status(
            &cfg,
            &info,
            &usage,
            problem.as_deref(),
            &previous,
            Timestamp::now(),
        );
        let due = last_write.is_none_or(|t| t.elapsed() >= STATUS_REPORT);
        if changed(&posted, &new) || due {
            let patch = serde_json::json!({ "status": new });
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(n) => {
                    if changed(&posted, &new) {
                        tracing::info!(node = %name, ready = problem.is_none(), "node status updated");
                    }
                    posted = n.status.unwrap_or(new);
                    last_write = Some(Instant::now());
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    tracing::warn!(node = %name, "node object is gone; registering it again");
                    let node = register(&client, &cfg).await;
                    posted = node.status.unwrap_or_default();
                    last_write = None;
                    continue;
                }
                Err(e) => tracing::warn!(node = %name, error = %e, "node status update failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(STATUS_CHECK) => {}
            r = problems.changed() => if r.is_err() {
                // No one reports problems any more; keep the timer only.
                problems = watch::channel(None).1;
            },
        }
        // Addresses and identity can change (DHCP, hostname); cheap to read.
        info = host.info();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::config::Ipv4Cidr;

    fn cfg() -> KubeletConfig {
        KubeletConfig {
            node_name: "edge-1".into(),
            region: "eu".into(),
            zone: "eu-a".into(),
            pod_cidr: Ipv4Cidr::parse("10.42.0.0/24").unwrap(),
            bridge: "sovedge0".into(),
            run_dir: "/run/sovedge".into(),
            cgroup_parent: "sovedge".into(),
            registries_config: "/x/registries.yaml".into(),
            max_pods: 110,
            data_dir: "/x".into(),
            control_plane: true,
            api_port: 6443,
        }
    }

    fn healthy() -> Usage {
        Usage {
            memory_available: 4 << 30,
            disk_total: 100 << 30,
            disk_available: 50 << 30,
            inodes_total: 1000,
            inodes_free: 900,
            pids_max: 4_194_304,
            pids_used: 300,
        }
    }

    #[test]
    fn labels_and_roles() {
        let mut c = cfg();
        let l = labels(&c);
        assert_eq!(l["kubernetes.io/hostname"], "edge-1");
        assert_eq!(l["topology.kubernetes.io/region"], "eu");
        assert_eq!(l["topology.kubernetes.io/zone"], "eu-a");
        assert_eq!(l["kubernetes.io/os"], "linux");
        assert_eq!(l[ROLE_CONTROL_PLANE], "");
        assert!(["amd64", "arm64"].contains(&l["kubernetes.io/arch"].as_str()));
        c.control_plane = false;
        assert!(!labels(&c).contains_key(ROLE_CONTROL_PLANE));
    }

    #[test]
    fn allocatable_keeps_eviction_thresholds_back() {
        let info = HostInfo {
            cpus: 4,
            memory_bytes: 8 << 30,
            ..HostInfo::default()
        };
        let (cap, alloc) = resources(&info, &healthy(), 110);
        assert_eq!(cap["cpu"].0, "4");
        assert_eq!(cap["memory"].0, "8388608Ki");
        assert_eq!(alloc["memory"].0, format!("{}Ki", 8388608 - 102400));
        assert_eq!(cap["ephemeral-storage"].0, format!("{}Ki", 100u64 << 20));
        assert_eq!(
            alloc["ephemeral-storage"].0,
            (90u64 * (1 << 30)).to_string()
        );
        assert_eq!(cap["pods"].0, "110");
    }

    #[test]
    fn pressure_follows_thresholds() {
        let states = |u: &Usage, p: Option<&str>| {
            condition_states(u, p)
                .iter()
                .map(|(k, s, _, _)| (*k, *s))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            states(&healthy(), None),
            [
                ("MemoryPressure", false),
                ("DiskPressure", false),
                ("PIDPressure", false),
                ("Ready", true)
            ]
        );
        let low = Usage {
            memory_available: 99 << 20,
            disk_available: 9 << 30,
            pids_used: 4_000_000,
            ..healthy()
        };
        assert_eq!(
            states(&low, Some("no root")),
            [
                ("MemoryPressure", true),
                ("DiskPressure", true),
                ("PIDPressure", true),
                ("Ready", false)
            ]
        );
        let inodes = Usage {
            inodes_free: 40,
            ..healthy()
        };
        assert!(states(&inodes, None)[1].1);
        let ready = &condition_states(&healthy(), None)[3];
        assert_eq!(
            (ready.2, ready.3.as_str()),
            ("KubeletReady", "kubelet is posting ready status")
        );
        let not_ready = &condition_states(&healthy(), Some("not root"))[3];
        assert_eq!(not_ready.2, "KubeletNotReady");
        assert!(not_ready.3.contains("not root"));
    }

    #[test]
    fn transitions_keep_their_time_and_heartbeats_do_not_count() {
        let t0 = Timestamp::from_second(1_000_000).unwrap();
        let t1 = Timestamp::from_second(1_000_060).unwrap();
        let c = cfg();
        let info = HostInfo::default();
        let first = status(&c, &info, &healthy(), None, &[], t0);
        let prev = first.conditions.clone().unwrap();
        let second = status(&c, &info, &healthy(), None, &prev, t1);
        assert!(!changed(&first, &second), "only heartbeats moved");
        let ready = |s: &NodeStatus| s.conditions.clone().unwrap()[3].clone();
        assert_eq!(ready(&second).last_transition_time, Some(Time(t0)));
        assert_eq!(ready(&second).last_heartbeat_time, Some(Time(t1)));
        let third = status(&c, &info, &healthy(), Some("x"), &prev, t1);
        assert!(changed(&second, &third));
        assert_eq!(ready(&third).last_transition_time, Some(Time(t1)));
        let moved = HostInfo {
            internal_ip: "192.0.2.7".parse().unwrap(),
            ..HostInfo::default()
        };
        assert!(changed(
            &second,
            &status(&c, &moved, &healthy(), None, &prev, t1)
        ));
    }
}
