//! Table output (`as=Table`) and metadata-only views, so `kubectl get`
//! prints what it prints against upstream.

use std::sync::Arc;

use serde_json::{Value, json};

use super::handlers::{Render, api_version};
use super::query::Query;
use crate::registry::ListResult;
use crate::registry::resources::ResourceDef;

struct Column {
    name: &'static str,
    kind: &'static str,
    priority: u8,
    description: &'static str,
}

const fn col(
    name: &'static str,
    kind: &'static str,
    priority: u8,
    description: &'static str,
) -> Column {
    Column {
        name,
        kind,
        priority,
        description,
    }
}

const NAME: Column = col(
    "Name",
    "string",
    0,
    "Name must be unique within a namespace.",
);
const AGE: Column = col(
    "Age",
    "string",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

fn columns(def: &ResourceDef) -> Vec<Column> {
    match (def.group, def.kind) {
        ("", "Pod") => vec![
            NAME,
            col(
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            col(
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            col(
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            col(
                "IP",
                "string",
                1,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            col(
                "Node",
                "string",
                1,
                "NodeName is a request to schedule this pod onto a specific node.",
            ),
            col(
                "Nominated Node",
                "string",
                1,
                "nominatedNodeName is set when this pod preempts other pods on the node.",
            ),
            col(
                "Readiness Gates",
                "string",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        ("", "Namespace") => vec![
            NAME,
            col("Status", "string", 0, "The status of the namespace"),
            AGE,
        ],
        ("", "ConfigMap") => vec![
            NAME,
            col("Data", "string", 0, "Data contains the configuration data."),
            AGE,
        ],
        ("", "Secret") => vec![
            NAME,
            col("Type", "string", 0, "The type of the secret"),
            col("Data", "string", 0, "The number of entries in the secret"),
            AGE,
        ],
        ("", "Service") => vec![
            NAME,
            col("Type", "string", 0, "The type of the service"),
            col("Cluster-IP", "string", 0, "The cluster ip of the service"),
            col(
                "External-IP",
                "string",
                0,
                "The external ips of the service",
            ),
            col("Port(s)", "string", 0, "The ports of the service"),
            AGE,
            col("Selector", "string", 1, "The selector of the service"),
        ],
        ("", "ServiceAccount") => vec![
            NAME,
            col(
                "Secrets",
                "string",
                0,
                "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
            ),
            AGE,
        ],
        ("", "Node") => vec![
            NAME,
            col("Status", "string", 0, "The status of the node"),
            col("Roles", "string", 0, "The roles of the node"),
            AGE,
            col(
                "Version",
                "string",
                0,
                "Kubelet Version reported by the node.",
            ),
        ],
        ("", "Event") | ("events.k8s.io", "Event") => vec![
            col(
                "Last Seen",
                "string",
                0,
                "Time when this Event was last seen",
            ),
            col(
                "Type",
                "string",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            col(
                "Reason",
                "string",
                0,
                "This should be a short, machine understandable string that gives the reason for this event being generated.",
            ),
            col("Object", "string", 0, "The object this Event is about."),
            col(
                "Message",
                "string",
                0,
                "A human-readable description of the status of this operation.",
            ),
        ],
        ("apps", "Deployment") => vec![
            NAME,
            col("Ready", "string", 0, "Number of the pod with ready state"),
            col(
                "Up-to-date",
                "string",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            col(
                "Available",
                "string",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            col(
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            col(
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
            col("Selector", "string", 1, "Label selector for pods."),
        ],
        ("apps", "ReplicaSet") => vec![
            NAME,
            col("Desired", "integer", 0, "Number of desired pods."),
            col("Current", "integer", 0, "Number of actual replicas."),
            col(
                "Ready",
                "integer",
                0,
                "The number of ready replicas for this replica set.",
            ),
            AGE,
        ],
        ("apps", "StatefulSet") => vec![
            NAME,
            col("Ready", "string", 0, "Number of the pod with ready state"),
            AGE,
        ],
        ("apps", "DaemonSet") => vec![
            NAME,
            col(
                "Desired",
                "integer",
                0,
                "The total number of nodes that should be running the daemon pod.",
            ),
            col(
                "Current",
                "integer",
                0,
                "The number of nodes that are running at least 1 daemon pod.",
            ),
            col(
                "Ready",
                "integer",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            ),
            col(
                "Up-to-date",
                "integer",
                0,
                "The total number of nodes that are running updated daemon pod",
            ),
            col(
                "Available",
                "integer",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
            ),
            col(
                "Node Selector",
                "string",
                0,
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            AGE,
        ],
        ("batch", "Job") => vec![
            NAME,
            col("Status", "string", 0, "Status of the job."),
            col(
                "Completions",
                "string",
                0,
                "The desired number of successfully finished pods the job should be run with.",
            ),
            col(
                "Duration",
                "string",
                0,
                "Time required to complete the job.",
            ),
            AGE,
        ],
        ("batch", "CronJob") => vec![
            NAME,
            col("Schedule", "string", 0, "The schedule in Cron format."),
            col(
                "Timezone",
                "string",
                0,
                "The time zone name for the given schedule.",
            ),
            col(
                "Suspend",
                "boolean",
                0,
                "This flag tells the controller to suspend subsequent executions.",
            ),
            col(
                "Active",
                "integer",
                0,
                "A list of pointers to currently running jobs.",
            ),
            col(
                "Last Schedule",
                "string",
                0,
                "Information when was the last time the job was successfully scheduled.",
            ),
            AGE,
        ],
        ("coordination.k8s.io", "Lease") => vec![
            NAME,
            col("Holder", "string", 0, "The holder of the lease."),
            AGE,
        ],
        _ => vec![NAME, AGE],
    }
}

/// Upstream's short human duration: `45s`, `3m12s`, `5h3m`, `12d`.
pub(crate) fn human_duration(secs: i64) -> String {
    if secs < 0 {
        return "0s".into();
    }
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        if secs % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", secs % 60)
        }
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        if h % 24 == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{}h", h % 24)
        }
    } else if h < 24 * 365 * 2 {
        format!("{d}d")
    } else if h < 24 * 365 * 8 {
        let y = d / 365;
        if d % 365 == 0 {
            format!("{y}y")
        } else {
            format!("{y}y{}d", d % 365)
        }
    } else {
        format!("{}y", d / 365)
    }
}

fn age(ts: Option<&str>) -> String {
    let Some(ts) = ts else {
        return "<unknown>".into();
    };
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => human_duration(jiff::Timestamp::now().as_second() - t.as_second()),
        Err(_) => "<unknown>".into(),
    }
}

fn s<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn n(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn len(obj: &Value, ptr: &str) -> usize {
    match obj.pointer(ptr) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn or_none(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

fn pod_status(obj: &Value) -> String {
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let statuses = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for cs in statuses.into_iter().flatten() {
        if let Some(reason) = cs.pointer("/state/waiting/reason").and_then(Value::as_str) {
            return reason.into();
        }
        if let Some(reason) = cs
            .pointer("/state/terminated/reason")
            .and_then(Value::as_str)
        {
            return reason.into();
        }
    }
    let reason = s(obj, "/status/reason");
    if !reason.is_empty() {
        return reason.into();
    }
    let phase = s(obj, "/status/phase");
    if phase.is_empty() {
        "Pending".into()
    } else {
        phase.into()
    }
}

fn cells(def: &ResourceDef, obj: &Value) -> Vec<Value> {
    let name = json!(s(obj, "/metadata/name"));
    let created = age(obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str));
    match (def.group, def.kind) {
        ("", "Pod") => {
            let total = len(obj, "/spec/containers");
            let statuses = obj
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let ready = statuses
                .into_iter()
                .flatten()
                .filter(|c| c.get("ready") == Some(&json!(true)))
                .count();
            let restarts: i64 = statuses
                .into_iter()
                .flatten()
                .map(|c| n(c, "/restartCount"))
                .sum();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_status(obj)),
                json!(restarts.to_string()),
                json!(created),
                json!(or_none(s(obj, "/status/podIP").into())),
                json!(or_none(s(obj, "/spec/nodeName").into())),
                json!(or_none(s(obj, "/status/nominatedNodeName").into())),
                json!("<none>"),
            ]
        }
        ("", "Namespace") => vec![name, json!(s(obj, "/status/phase")), json!(created)],
        ("", "ConfigMap") => vec![
            name,
            json!(len(obj, "/data") + len(obj, "/binaryData")),
            json!(created),
        ],
        ("", "Secret") => vec![
            name,
            json!(s(obj, "/type")),
            json!(len(obj, "/data")),
            json!(created),
        ],
        ("", "Service") => {
            let ports: Vec<String> = obj
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    let np = p
                        .get("nodePort")
                        .and_then(Value::as_i64)
                        .map(|np| format!(":{np}"))
                        .unwrap_or_default();
                    format!(
                        "{}{np}/{}",
                        n(p, "/port"),
                        p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                    )
                })
                .collect();
            let external: Vec<&str> = obj
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i.get("ip").and_then(Value::as_str))
                .collect();
            let selector: Vec<String> = obj
                .pointer("/spec/selector")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            let ty = s(obj, "/spec/type");
            let external = if !external.is_empty() {
                external.join(",")
            } else if ty == "LoadBalancer" {
                "<pending>".into()
            } else {
                "<none>".into()
            };
            vec![
                name,
                json!(ty),
                json!(or_none(s(obj, "/spec/clusterIP").into())),
                json!(external),
                json!(or_none(ports.join(","))),
                json!(created),
                json!(or_none(selector.join(","))),
            ]
        }
        ("", "ServiceAccount") => vec![name, json!(len(obj, "/secrets")), json!(created)],
        ("", "Node") => {
            let ready = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c.get("type") == Some(&json!("Ready")))
                .map(|c| {
                    if c.get("status") == Some(&json!("True")) {
                        "Ready"
                    } else {
                        "NotReady"
                    }
                })
                .unwrap_or("Unknown");
            let roles: Vec<&str> = obj
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
                .collect();
            vec![
                name,
                json!(ready),
                json!(or_none(roles.join(","))),
                json!(created),
                json!(s(obj, "/status/nodeInfo/kubeletVersion")),
            ]
        }
        ("", "Event") | ("events.k8s.io", "Event") => {
            let last = [
                "/lastTimestamp",
                "/deprecatedLastTimestamp",
                "/eventTime",
                "/metadata/creationTimestamp",
            ]
            .iter()
            .find_map(|p| obj.pointer(p).and_then(Value::as_str));
            let regarding = obj
                .get("involvedObject")
                .or_else(|| obj.get("regarding"))
                .cloned()
                .unwrap_or(Value::Null);
            let object = format!(
                "{}/{}",
                s(&regarding, "/kind").to_lowercase(),
                s(&regarding, "/name")
            );
            let message = obj
                .get("message")
                .or_else(|| obj.get("note"))
                .and_then(Value::as_str)
                .unwrap_or("");
            vec![
                json!(age(last)),
                json!(s(obj, "/type")),
                json!(s(obj, "/reason")),
                json!(object),
                json!(message),
            ]
        }
        ("apps", "Deployment") => {
            let containers = obj
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array);
            let names: Vec<&str> = containers
                .into_iter()
                .flatten()
                .map(|c| s(c, "/name"))
                .collect();
            let images: Vec<&str> = containers
                .into_iter()
                .flatten()
                .map(|c| s(c, "/image"))
                .collect();
            let selector: Vec<String> = obj
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n(obj, "/status/readyReplicas"),
                    n(obj, "/spec/replicas")
                )),
                json!(n(obj, "/status/updatedReplicas")),
                json!(n(obj, "/status/availableReplicas")),
                json!(created),
                json!(names.join(",")),
                json!(images.join(",")),
                json!(selector.join(",")),
            ]
        }
        ("apps", "ReplicaSet") => vec![
            name,
            json!(n(obj, "/spec/replicas")),
            json!(n(obj, "/status/replicas")),
            json!(n(obj, "/status/readyReplicas")),
            json!(created),
        ],
        ("apps", "StatefulSet") => vec![
            name,
            json!(format!(
                "{}/{}",
                n(obj, "/status/readyReplicas"),
                n(obj, "/spec/replicas")
            )),
            json!(created),
        ],
        ("apps", "DaemonSet") => {
            let selector: Vec<String> = obj
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            vec![
                name,
                json!(n(obj, "/status/desiredNumberScheduled")),
                json!(n(obj, "/status/currentNumberScheduled")),
                json!(n(obj, "/status/numberReady")),
                json!(n(obj, "/status/updatedNumberScheduled")),
                json!(n(obj, "/status/numberAvailable")),
                json!(or_none(selector.join(","))),
                json!(created),
            ]
        }
        ("batch", "Job") => {
            let done = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c.get("status") == Some(&json!("True")))
                .and_then(|c| c.get("type").and_then(Value::as_str))
                .unwrap_or("Running");
            let status = if done == "Complete" {
                "Complete"
            } else if done == "Failed" {
                "Failed"
            } else {
                "Running"
            };
            let completions = obj
                .pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            vec![
                name,
                json!(status),
                json!(format!("{}/{completions}", n(obj, "/status/succeeded"))),
                json!(""),
                json!(created),
            ]
        }
        ("batch", "CronJob") => vec![
            name,
            json!(s(obj, "/spec/schedule")),
            json!(or_none(s(obj, "/spec/timeZone").into())),
            json!(
                obj.pointer("/spec/suspend")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            json!(len(obj, "/status/active")),
            json!(
                obj.pointer("/status/lastScheduleTime")
                    .and_then(Value::as_str)
                    .map(|t| age(Some(t)))
                    .unwrap_or("<none>".into())
            ),
            json!(created),
        ],
        ("coordination.k8s.io", "Lease") => {
            vec![name, json!(s(obj, "/spec/holderIdentity")), json!(created)]
        }
        _ => vec![name, json!(created)],
    }
}

fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

fn row(def: &ResourceDef, obj: &Value, include: Option<&str>) -> Value {
    let object = match include.unwrap_or("Metadata") {
        "None" => Value::Null,
        "Object" => obj.clone(),
        _ => partial(obj),
    };
    json!({ "cells": cells(def, obj), "object": object })
}

fn table(
    def: &ResourceDef,
    objs: &[&Value],
    rev: Option<u64>,
    cont: Option<&str>,
    include: Option<&str>,
) -> Value {
    let cols: Vec<Value> = columns(def)
        .iter()
        .map(|c| {
            let format = if c.name == "Name" { "name" } else { "" };
            json!({ "name": c.name, "type": c.kind, "format": format, "description": c.description, "priority": c.priority })
        })
        .collect();
    let mut meta = json!({});
    if let Some(r) = rev {
        meta["resourceVersion"] = json!(r.to_string());
    }
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": cols,
        "rows": objs.iter().map(|o| row(def, o, include)).collect::<Vec<_>>(),
    })
}

pub(crate) fn render_one(
    def: &ResourceDef,
    obj: &Arc<Value>,
    render: Render,
    query: &Query,
) -> Value {
    match render {
        Render::Full => (**obj).clone(),
        Render::Metadata => partial(obj),
        Render::Table => {
            let rev = obj
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|r| r.parse().ok());
            table(def, &[obj.as_ref()], rev, None, query.get("includeObject"))
        }
    }
}

pub(crate) fn render_event(
    def: &ResourceDef,
    obj: &Arc<Value>,
    render: Render,
    include: Option<&str>,
) -> Value {
    match render {
        Render::Full => (**obj).clone(),
        Render::Metadata => partial(obj),
        Render::Table => table(def, &[obj.as_ref()], None, None, include),
    }
}

/// List items, written from their stored JSON where there is one.
struct StoredItems<'a> {
    items: &'a [Arc<Value>],
    raw: &'a [Option<Arc<[u8]>>],
}

impl serde::Serialize for StoredItems<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.items.len()))?;
        for (i, item) in self.items.iter().enumerate() {
            match self
                .raw
                .get(i)
                .and_then(|r| r.as_deref())
                .and_then(|b| serde_json::from_slice::<&serde_json::value::RawValue>(b).ok())
            {
                Some(raw) => seq.serialize_element(raw)?,
                None => seq.serialize_element(item.as_ref())?,
            }
        }
        seq.end()
    }
}

/// A list as response bytes; items are serialized straight from the store's
/// shared copies, without cloning them.
pub(crate) fn render_list(
    def: &ResourceDef,
    list: &ListResult,
    render: Render,
    query: &Query,
) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct ListBody<'a, T: serde::Serialize> {
        kind: &'a str,
        #[serde(rename = "apiVersion")]
        api_version: &'a str,
        metadata: &'a Value,
        items: T,
    }
    let cont = list.continue_token.as_deref();
    let mut meta = json!({ "resourceVersion": list.rev.to_string() });
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    if let Some(r) = list.remaining {
        meta["remainingItemCount"] = json!(r);
    }
    let bytes = match render {
        Render::Table => {
            let objs: Vec<&Value> = list.items.iter().map(|o| o.as_ref()).collect();
            serde_json::to_vec(&table(
                def,
                &objs,
                Some(list.rev),
                cont,
                query.get("includeObject"),
            ))
        }
        Render::Metadata => {
            let items: Vec<Value> = list.items.iter().map(|o| partial(o)).collect();
            let body = ListBody {
                kind: "PartialObjectMetadataList",
                api_version: "meta.k8s.io/v1",
                metadata: &meta,
                items,
            };
            serde_json::to_vec(&body)
        }
        Render::Full => {
            let kind = format!("{}List", def.kind);
            let api_version = api_version(def);
            let items = StoredItems {
                items: &list.items,
                raw: &list.raw,
            };
            serde_json::to_vec(&ListBody {
                kind: &kind,
                api_version: &api_version,
                metadata: &meta,
                items,
            })
        }
    };
    bytes.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(100 * 86400), "100d");
    }
}
