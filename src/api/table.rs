//! Table output (`as=Table`) and metadata-only views, so `kubectl get`
//! prints what it prints against upstream.

use std::sync::Arc;

use serde_json::{Value, json};

use super::handlers::{Render, api_version};
use super::query::Query;
use crate::registry::ListResult;
use crate::registry::crd;
use crate::registry::resources::ResourceDef;

mod kinds;

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
    if let Some(cols) = kinds::columns(def) {
        return cols;
    }
    match (def.group, def.kind) {
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

fn cells(def: &ResourceDef, obj: &Value) -> Vec<Value> {
    let name = json!(s(obj, "/metadata/name"));
    let created = age(obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str));
    if let Some(cells) = kinds::cells(def, obj, name.clone(), json!(created)) {
        return cells;
    }
    match (def.group, def.kind) {
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
            let selector: Vec<String> = obj
                .pointer("/spec/selector")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            let ty = s(obj, "/spec/type");
            let external = kinds::service_external_ip(obj);
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
        ("apps", "Deployment") => {
            let (names, images) = kinds::containers(obj, "/spec/template/spec/containers");
            let selector: Vec<String> = obj
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            vec![
                name,
                json!(kinds::ready_replicas(obj)),
                json!(n(obj, "/status/updatedReplicas")),
                json!(n(obj, "/status/availableReplicas")),
                json!(created),
                json!(names),
                json!(images),
                json!(selector.join(",")),
            ]
        }
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
    let cells = match def.custom {
        Some(info) => crd::columns::cells(info, obj, |ts| age(Some(ts))),
        None => cells(def, obj),
    };
    json!({ "cells": cells, "object": object })
}

fn table(
    def: &ResourceDef,
    objs: &[&Value],
    rev: Option<u64>,
    cont: Option<&str>,
    include: Option<&str>,
) -> Value {
    let cols: Vec<Value> = match def.custom {
        Some(info) => crd::columns::definitions(info),
        None => columns(def)
            .iter()
            .map(|c| {
                let format = if c.name == "Name" { "name" } else { "" };
                json!({ "name": c.name, "type": c.kind, "format": format, "description": c.description, "priority": c.priority })
            })
            .collect(),
    };
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
