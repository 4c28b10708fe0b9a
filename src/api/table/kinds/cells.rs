//! The cells of one object of each kind, in the order of its columns.

use serde_json::{Value, json};

use super::super::{age, human_duration, len, n, or_none, s};
use super::format::*;
use crate::registry::resources::ResourceDef;

pub(crate) fn cells(
    def: &ResourceDef,
    obj: &Value,
    name: Value,
    created: Value,
) -> Option<Vec<Value>> {
    let created_s = created;
    Some(match (def.group, def.kind) {
        ("", "Pod") => pod_cells(obj, name, created_s),
        ("", "PodTemplate") => {
            let (names, images) = containers(obj, "/template/spec/containers");
            vec![
                name,
                json!(names),
                json!(images),
                json!(labels(obj_at(obj, "/template/metadata/labels"))),
            ]
        }
        ("", "ReplicationController") | ("apps", "ReplicaSet") => {
            let (names, images) = containers(obj, "/spec/template/spec/containers");
            let sel = if def.kind == "ReplicationController" {
                labels(obj_at(obj, "/spec/selector"))
            } else {
                selector(obj.pointer("/spec/selector"))
            };
            vec![
                name,
                json!(n(obj, "/spec/replicas")),
                json!(n(obj, "/status/replicas")),
                json!(n(obj, "/status/readyReplicas")),
                created_s,
                json!(names),
                json!(images),
                json!(sel),
            ]
        }
        ("apps", "DaemonSet") => {
            let (names, images) = containers(obj, "/spec/template/spec/containers");
            vec![
                name,
                json!(n(obj, "/status/desiredNumberScheduled")),
                json!(n(obj, "/status/currentNumberScheduled")),
                json!(n(obj, "/status/numberReady")),
                json!(n(obj, "/status/updatedNumberScheduled")),
                json!(n(obj, "/status/numberAvailable")),
                json!(labels(obj_at(obj, "/spec/template/spec/nodeSelector"))),
                created_s,
                json!(names),
                json!(images),
                json!(selector(obj.pointer("/spec/selector"))),
            ]
        }
        ("apps", "StatefulSet") => {
            let (names, images) = containers(obj, "/spec/template/spec/containers");
            vec![
                name,
                json!(ready_replicas(obj)),
                created_s,
                json!(names),
                json!(images),
            ]
        }
        ("apps", "ControllerRevision") => {
            let owner = arr(obj, "/metadata/ownerReferences")
                .iter()
                .find(|o| o.get("controller") == Some(&json!(true)));
            let controller = match owner {
                Some(o) => {
                    let api = s(o, "/apiVersion");
                    let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
                    let kind = s(o, "/kind").to_lowercase();
                    let kind = if group.is_empty() {
                        kind
                    } else {
                        format!("{kind}.{group}")
                    };
                    format!("{kind}/{}", s(o, "/name"))
                }
                None => "<none>".into(),
            };
            vec![
                name,
                json!(controller),
                json!(n(obj, "/revision")),
                created_s,
            ]
        }
        ("batch", "Job") => job_cells(obj, name, created_s),
        ("batch", "CronJob") => {
            let (names, images) =
                containers(obj, "/spec/jobTemplate/spec/template/spec/containers");
            let last = obj
                .pointer("/status/lastScheduleTime")
                .and_then(Value::as_str)
                .map(|t| age(Some(t)))
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                json!(s(obj, "/spec/schedule")),
                json!(or_none(s(obj, "/spec/timeZone").into())),
                // Upstream prints the pointer as text: True, False or <unset>.
                json!(
                    match obj.pointer("/spec/suspend").and_then(Value::as_bool) {
                        Some(true) => "True",
                        Some(false) => "False",
                        None => "<unset>",
                    }
                ),
                json!(len(obj, "/status/active")),
                json!(last),
                created_s,
                json!(names),
                json!(images),
                json!(selector(obj.pointer("/spec/jobTemplate/spec/selector"))),
            ]
        }
        ("", "Node") => node_cells(obj, name, created_s),
        ("", "Event") | ("events.k8s.io", "Event") => event_cells(obj),
        ("", "Endpoints") => {
            let mut list = Vec::new();
            let mut count = 0;
            for subset in arr(obj, "/subsets") {
                for port in arr(subset, "/ports") {
                    for addr in arr(subset, "/addresses") {
                        if list.len() < 3 {
                            let ip = s(addr, "/ip");
                            let p = n(port, "/port");
                            list.push(if ip.contains(':') {
                                format!("[{ip}]:{p}")
                            } else {
                                format!("{ip}:{p}")
                            });
                        }
                        count += 1;
                    }
                }
            }
            let text = if arr(obj, "/subsets").is_empty() {
                "<none>".to_owned()
            } else if count > 3 {
                format!("{} + {} more...", list.join(","), count - 3)
            } else {
                list.join(",")
            };
            vec![name, json!(text), created_s]
        }
        ("", "PersistentVolume") => {
            let claim = match obj.pointer("/spec/claimRef") {
                Some(c) => format!("{}/{}", s(c, "/namespace"), s(c, "/name")),
                None => String::new(),
            };
            vec![
                name,
                json!(s(obj, "/spec/capacity/storage")),
                json!(access_modes(arr(obj, "/spec/accessModes"))),
                json!(s(obj, "/spec/persistentVolumeReclaimPolicy")),
                json!(s(obj, "/status/phase")),
                json!(claim),
                json!(s(obj, "/spec/storageClassName")),
                json!(or_unset(s(obj, "/spec/volumeAttributesClassName"))),
                json!(s(obj, "/status/reason")),
                created_s,
                json!(volume_mode(obj)),
            ]
        }
        ("", "PersistentVolumeClaim") => {
            let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating"
            } else {
                s(obj, "/status/phase")
            };
            let bound = !s(obj, "/spec/volumeName").is_empty();
            let (capacity, modes) = if bound {
                (
                    s(obj, "/status/capacity/storage").to_owned(),
                    access_modes(arr(obj, "/status/accessModes")),
                )
            } else {
                (String::new(), String::new())
            };
            let class = obj
                .pointer("/spec/storageClassName")
                .and_then(Value::as_str)
                .unwrap_or_else(|| {
                    s(
                        obj,
                        "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
                    )
                });
            vec![
                name,
                json!(phase),
                json!(s(obj, "/spec/volumeName")),
                json!(capacity),
                json!(modes),
                json!(class),
                json!(or_unset(s(obj, "/spec/volumeAttributesClassName"))),
                created_s,
                json!(volume_mode(obj)),
            ]
        }
        ("", "ResourceQuota") => vec![
            name,
            json!(quantity_pairs(obj, false)),
            json!(quantity_pairs(obj, true)),
            created_s,
        ],
        ("", "LimitRange") => vec![name, rfc3339(obj)],
        ("networking.k8s.io", "Ingress") => {
            let rules = arr(obj, "/spec/rules");
            let hosts: Vec<&str> = rules
                .iter()
                .map(|r| s(r, "/host"))
                .filter(|h| !h.is_empty())
                .take(3)
                .collect();
            let hosts = if hosts.is_empty() {
                "*".to_owned()
            } else if rules.len() > 3 {
                format!("{} + {} more...", hosts.join(","), rules.len() - 3)
            } else {
                hosts.join(",")
            };
            let ports = if arr(obj, "/spec/tls").is_empty() {
                "80"
            } else {
                "80, 443"
            };
            vec![
                name,
                json!(or_none(s(obj, "/spec/ingressClassName").into())),
                json!(hosts),
                json!(load_balancer(obj, "/status/loadBalancer/ingress")),
                json!(ports),
                created_s,
            ]
        }
        ("networking.k8s.io", "IngressClass") => {
            let params = match obj.pointer("/spec/parameters") {
                Some(p) => {
                    let group = s(p, "/apiGroup");
                    let kind = if group.is_empty() {
                        s(p, "/kind").to_owned()
                    } else {
                        format!("{}.{group}", s(p, "/kind"))
                    };
                    format!("{kind}/{}", s(p, "/name"))
                }
                None => "<none>".into(),
            };
            vec![
                name,
                json!(s(obj, "/spec/controller")),
                json!(params),
                created_s,
            ]
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            vec![
                name,
                json!(selector_or_everything(obj.pointer("/spec/podSelector"))),
                created_s,
            ]
        }
        ("networking.k8s.io", "ServiceCIDR") => {
            let cidrs: Vec<&str> = arr(obj, "/spec/cidrs")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            vec![name, json!(cidrs.join(",")), created_s]
        }
        ("networking.k8s.io", "IPAddress") => {
            let parent = match obj.pointer("/spec/parentRef") {
                Some(p) => {
                    let group = s(p, "/group");
                    let res = if group.is_empty() {
                        s(p, "/resource").to_owned()
                    } else {
                        format!("{}.{group}", s(p, "/resource"))
                    };
                    format!("{res}/{}/{}", s(p, "/namespace"), s(p, "/name"))
                }
                None => String::new(),
            };
            vec![name, json!(parent)]
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            let ports: Vec<String> = arr(obj, "/ports")
                .iter()
                .map(|p| {
                    p.get("port")
                        .and_then(Value::as_i64)
                        .map_or("<unset>".to_owned(), |p| p.to_string())
                })
                .collect();
            let ports = if ports.is_empty() {
                "<unset>".to_owned()
            } else {
                ports.join(",")
            };
            let mut addrs = Vec::new();
            let mut count = 0;
            for e in arr(obj, "/endpoints") {
                for a in arr(e, "/addresses").iter().filter_map(Value::as_str) {
                    if addrs.len() < 3 {
                        addrs.push(a.to_owned());
                    }
                    count += 1;
                }
            }
            let endpoints = if count == 0 {
                "<unset>".to_owned()
            } else if count > 3 {
                format!("{} + {} more...", addrs.join(","), count - 3)
            } else {
                addrs.join(",")
            };
            vec![
                name,
                json!(s(obj, "/addressType")),
                json!(ports),
                json!(endpoints),
                created_s,
            ]
        }
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => vec![name, rfc3339(obj)],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            name,
            json!(format!(
                "{}/{}",
                s(obj, "/roleRef/kind"),
                s(obj, "/roleRef/name")
            )),
            created_s,
            json!(subjects(obj, "User")),
            json!(subjects(obj, "Group")),
            json!(subjects(obj, "ServiceAccount")),
        ],
        ("storage.k8s.io", "StorageClass") => {
            let default = [
                "storageclass.kubernetes.io~1is-default-class",
                "storageclass.beta.kubernetes.io~1is-default-class",
            ]
            .iter()
            .any(|a| s(obj, &format!("/metadata/annotations/{a}")) == "true");
            let shown = if default {
                json!(format!("{} (default)", s(obj, "/metadata/name")))
            } else {
                name
            };
            let reclaim = match s(obj, "/reclaimPolicy") {
                "" => "Delete",
                r => r,
            };
            let binding = match s(obj, "/volumeBindingMode") {
                "" => "Immediate",
                m => m,
            };
            vec![
                shown,
                json!(s(obj, "/provisioner")),
                json!(reclaim),
                json!(binding),
                json!(
                    obj.get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
                created_s,
            ]
        }
        ("storage.k8s.io", "VolumeAttributesClass") => {
            vec![name, json!(s(obj, "/driverName")), created_s]
        }
        ("storage.k8s.io", "CSIDriver") => {
            let b = |ptr: &str| obj.pointer(ptr).and_then(Value::as_bool).unwrap_or(false);
            let tokens: Vec<&str> = arr(obj, "/spec/tokenRequests")
                .iter()
                .map(|t| s(t, "/audience"))
                .collect();
            let tokens = if tokens.is_empty() {
                "<unset>".to_owned()
            } else {
                tokens.join(",")
            };
            let modes: Vec<&str> = arr(obj, "/spec/volumeLifecycleModes")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            vec![
                name,
                json!(
                    obj.pointer("/spec/attachRequired")
                        .and_then(Value::as_bool)
                        .unwrap_or(true)
                ),
                json!(b("/spec/podInfoOnMount")),
                json!(b("/spec/storageCapacity")),
                json!(tokens),
                json!(b("/spec/requiresRepublish")),
                json!(or_none(modes.join(","))),
                created_s,
            ]
        }
        ("storage.k8s.io", "CSINode") => vec![name, json!(len(obj, "/spec/drivers")), created_s],
        ("storage.k8s.io", "CSIStorageCapacity") => {
            let cap = obj
                .get("capacity")
                .and_then(Value::as_str)
                .unwrap_or("<unset>");
            vec![name, json!(s(obj, "/storageClassName")), json!(cap)]
        }
        ("storage.k8s.io", "VolumeAttachment") => vec![
            name,
            json!(s(obj, "/spec/attacher")),
            json!(s(obj, "/spec/source/persistentVolumeName")),
            json!(s(obj, "/spec/nodeName")),
            json!(
                obj.pointer("/status/attached")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            created_s,
        ],
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => {
            vec![name, json!(len(obj, "/webhooks")), created_s]
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            let param = match obj.pointer("/spec/paramKind") {
                Some(p) => format!("{}/{}", s(p, "/apiVersion"), s(p, "/kind")),
                None => "<unset>".into(),
            };
            vec![
                name,
                json!(len(obj, "/spec/validations")),
                json!(param),
                created_s,
            ]
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            let param = match obj.pointer("/spec/paramRef") {
                Some(p) => {
                    let ns = s(p, "/namespace");
                    let name = s(p, "/name");
                    let target = if name.is_empty() { "*" } else { name };
                    if ns.is_empty() {
                        target.to_owned()
                    } else {
                        format!("{ns}/{target}")
                    }
                }
                None => "<unset>".into(),
            };
            vec![
                name,
                json!(s(obj, "/spec/policyName")),
                json!(param),
                created_s,
            ]
        }
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            let mut conds: Vec<&str> = arr(obj, "/status/conditions")
                .iter()
                .filter(|c| s(c, "/status") != "False")
                .map(|c| s(c, "/type"))
                .collect();
            let issued = obj
                .pointer("/status/certificate")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.is_empty());
            if issued {
                conds.push("Issued");
            }
            let condition = if conds.is_empty() {
                "Pending".to_owned()
            } else {
                conds.join(",")
            };
            let duration = obj
                .pointer("/spec/expirationSeconds")
                .and_then(Value::as_i64)
                .map(human_duration)
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                created_s,
                json!(s(obj, "/spec/signerName")),
                json!(s(obj, "/spec/username")),
                json!(duration),
                json!(condition),
            ]
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            let min = obj
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .map_or("<unset>".into(), |m| m.to_string());
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    s(obj, "/spec/scaleTargetRef/kind"),
                    s(obj, "/spec/scaleTargetRef/name")
                )),
                json!(hpa_targets(obj)),
                json!(min),
                json!(n(obj, "/spec/maxReplicas")),
                json!(n(obj, "/status/currentReplicas")),
                created_s,
            ]
        }
        ("policy", "PodDisruptionBudget") => vec![
            name,
            json!(int_or_string(obj.pointer("/spec/minAvailable"))),
            json!(int_or_string(obj.pointer("/spec/maxUnavailable"))),
            json!(n(obj, "/status/disruptionsAllowed")),
            created_s,
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            name,
            json!(n(obj, "/value")),
            json!(
                obj.get("globalDefault")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            created_s,
            json!(s(obj, "/preemptionPolicy")),
        ],
        ("node.k8s.io", "RuntimeClass") => vec![name, json!(s(obj, "/handler")), created_s],
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => {
            let missing = arr(obj, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Dangling")
                .map(|c| s(c, "/status"))
                .unwrap_or("?");
            let method = match s(obj, "/spec/distinguisherMethod/type") {
                "" => "*",
                m => m,
            };
            vec![
                name,
                json!(s(obj, "/spec/priorityLevelConfiguration/name")),
                json!(n(obj, "/spec/matchingPrecedence").to_string()),
                json!(method),
                created_s,
                json!(missing),
            ]
        }
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => {
            let limited = s(obj, "/spec/type") == "Limited";
            let (shares, queues, hand, limit) = if limited {
                let queuing = obj.pointer("/spec/limited/limitResponse/queuing");
                let q = |f: &str| {
                    queuing
                        .and_then(|x| x.get(f))
                        .and_then(Value::as_i64)
                        .map_or("<none>".into(), |v| v.to_string())
                };
                (
                    n(obj, "/spec/limited/nominalConcurrencyShares").to_string(),
                    q("queues"),
                    q("handSize"),
                    q("queueLengthLimit"),
                )
            } else {
                let none = || "<none>".to_owned();
                (none(), none(), none(), none())
            };
            vec![
                name,
                json!(s(obj, "/spec/type")),
                json!(shares),
                json!(queues),
                json!(hand),
                json!(limit),
                created_s,
            ]
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => vec![name, rfc3339(obj)],
        ("apiregistration.k8s.io", "APIService") => {
            let service = match obj.pointer("/spec/service") {
                Some(svc) => format!("{}/{}", s(svc, "/namespace"), s(svc, "/name")),
                None => "Local".into(),
            };
            let available = match arr(obj, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Available")
            {
                Some(c) if s(c, "/status") == "True" => "True".to_owned(),
                Some(c) => format!("{} ({})", s(c, "/status"), s(c, "/reason")),
                None => "Unknown".into(),
            };
            vec![name, json!(service), json!(available), created_s]
        }
        ("resource.k8s.io", "ResourceClaim") => {
            let mut state = Vec::new();
            if obj.pointer("/metadata/deletionTimestamp").is_some() {
                state.push("deleted");
            }
            if obj.pointer("/status/allocation").is_some() {
                state.push("allocated");
            } else {
                state.push("pending");
            }
            if !arr(obj, "/status/reservedFor").is_empty() {
                state.push("reserved");
            }
            vec![name, json!(state.join(",")), created_s]
        }
        ("resource.k8s.io", "ResourceSlice") => vec![
            name,
            json!(s(obj, "/spec/nodeName")),
            json!(s(obj, "/spec/driver")),
            json!(s(obj, "/spec/pool/name")),
            created_s,
        ],
        _ => return None,
    })
}
