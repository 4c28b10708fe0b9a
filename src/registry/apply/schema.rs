//! The schema apply merges a kind by.
//!
//! Until the shared schema catalog serves every definition with its
//! `x-kubernetes-*` extensions, this builds the structure of the common
//! built-in kinds from their k8s-openapi types and adds the list and map
//! semantics of upstream's published schemas for the lists that matter
//! most. Kinds without a schema here merge by the deduced schema (maps
//! granular, lists atomic), as upstream merges objects it has no schema for.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
use k8s_openapi::schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use crate::registry::resources::ResourceDef;
use crate::schema::{Definitions, Node};

type Built = (Definitions, Value);

/// Built schemas by group and kind, kept for the life of the process.
type Cache = Mutex<HashMap<(String, String), Option<&'static Built>>>;

/// Extensions of upstream's published schemas, by definition and property.
fn overlay() -> Vec<(&'static str, &'static str, Value)> {
    let map = |keys: &[&str]| json!({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": keys });
    let atomic_list = json!({ "x-kubernetes-list-type": "atomic" });
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
    let pod = "io.k8s.api.core.v1.PodSpec";
    let mut out = vec![
        (
            meta,
            "finalizers",
            json!({ "x-kubernetes-list-type": "set" }),
        ),
        (meta, "ownerReferences", map(&["uid"])),
        (meta, "managedFields", atomic_list.clone()),
        (pod, "containers", map(&["name"])),
        (pod, "initContainers", map(&["name"])),
        (pod, "ephemeralContainers", map(&["name"])),
        (pod, "volumes", map(&["name"])),
        (pod, "imagePullSecrets", map(&["name"])),
        (pod, "hostAliases", map(&["ip"])),
        (pod, "schedulingGates", map(&["name"])),
        (pod, "resourceClaims", map(&["name"])),
        (
            pod,
            "topologySpreadConstraints",
            map(&["topologyKey", "whenUnsatisfiable"]),
        ),
        (pod, "tolerations", atomic_list.clone()),
        (
            "io.k8s.api.core.v1.ServiceSpec",
            "ports",
            map(&["port", "protocol"]),
        ),
        (
            "io.k8s.api.core.v1.ServicePort",
            "protocol",
            json!({ "default": "TCP" }),
        ),
        (
            "io.k8s.api.core.v1.ContainerPort",
            "protocol",
            json!({ "default": "TCP" }),
        ),
    ];
    for c in [
        "io.k8s.api.core.v1.Container",
        "io.k8s.api.core.v1.EphemeralContainer",
    ] {
        out.push((c, "ports", map(&["containerPort", "protocol"])));
        out.push((c, "env", map(&["name"])));
        out.push((c, "volumeMounts", map(&["mountPath"])));
        out.push((c, "volumeDevices", map(&["devicePath"])));
        out.push((c, "command", atomic_list.clone()));
        out.push((c, "args", atomic_list.clone()));
    }
    for status in [
        "io.k8s.api.apps.v1.DeploymentStatus",
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "io.k8s.api.apps.v1.StatefulSetStatus",
        "io.k8s.api.apps.v1.DaemonSetStatus",
        "io.k8s.api.core.v1.PodStatus",
        "io.k8s.api.batch.v1.JobStatus",
    ] {
        out.push((status, "conditions", map(&["type"])));
    }
    out
}

/// Struct fields Go holds by value (not by pointer), which upstream's
/// schemas mark with `default: {}`: they exist in every object of the
/// kind, so a write never adds or removes them as a whole.
const VALUE_STRUCTS: &[(&str, &str)] = &[
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy"),
    ("io.k8s.api.apps.v1.DeploymentSpec", "template"),
    ("io.k8s.api.apps.v1.ReplicaSetSpec", "template"),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "template"),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "updateStrategy"),
    ("io.k8s.api.apps.v1.DaemonSetSpec", "template"),
    ("io.k8s.api.apps.v1.DaemonSetSpec", "updateStrategy"),
    ("io.k8s.api.batch.v1.JobSpec", "template"),
    ("io.k8s.api.batch.v1.CronJobSpec", "jobTemplate"),
    ("io.k8s.api.core.v1.PodTemplateSpec", "metadata"),
    ("io.k8s.api.core.v1.PodTemplateSpec", "spec"),
    ("io.k8s.api.batch.v1.JobTemplateSpec", "metadata"),
    ("io.k8s.api.batch.v1.JobTemplateSpec", "spec"),
    ("io.k8s.api.core.v1.Container", "resources"),
];

/// Structs upstream marks `x-kubernetes-map-type: atomic`.
const ATOMIC_STRUCTS: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    "io.k8s.api.core.v1.LocalObjectReference",
    "io.k8s.api.core.v1.ObjectReference",
    "io.k8s.api.core.v1.ConfigMapKeySelector",
    "io.k8s.api.core.v1.SecretKeySelector",
    "io.k8s.api.core.v1.ObjectFieldSelector",
    "io.k8s.api.core.v1.ResourceFieldSelector",
];

fn build<T: JsonSchema>() -> Built {
    let mut generator = SchemaGenerator::default();
    let root = serde_json::to_value(generator.subschema_for::<T>()).unwrap_or(Value::Null);
    let mut defs = generator.take_definitions(false);
    for (def, prop, ext) in overlay() {
        if let Some(Value::Object(p)) = defs
            .get_mut(def)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(prop))
            && let Value::Object(ext) = ext
        {
            p.extend(ext);
        }
    }
    let root_name = root
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(String::from);
    let value_structs = VALUE_STRUCTS.iter().copied().chain(
        ["metadata", "spec", "status"]
            .into_iter()
            .filter_map(|f| root_name.as_deref().map(|r| (r, f))),
    );
    for (def, prop) in value_structs {
        if let Some(Value::Object(p)) = defs
            .get_mut(def)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(prop))
        {
            p.insert("default".into(), json!({}));
        }
    }
    for s in ATOMIC_STRUCTS {
        if let Some(Value::Object(d)) = defs.get_mut(*s) {
            d.insert("x-kubernetes-map-type".into(), json!("atomic"));
        }
    }
    (defs, root)
}

fn built_for(def: &ResourceDef) -> Option<Built> {
    Some(match (def.group, def.kind) {
        ("apps", "Deployment") => build::<apps::Deployment>(),
        ("apps", "ReplicaSet") => build::<apps::ReplicaSet>(),
        ("apps", "StatefulSet") => build::<apps::StatefulSet>(),
        ("apps", "DaemonSet") => build::<apps::DaemonSet>(),
        ("batch", "Job") => build::<batch::Job>(),
        ("batch", "CronJob") => build::<batch::CronJob>(),
        ("", "Pod") => build::<core::Pod>(),
        ("", "Service") => build::<core::Service>(),
        ("", "ConfigMap") => build::<core::ConfigMap>(),
        ("", "Secret") => build::<core::Secret>(),
        ("", "ServiceAccount") => build::<core::ServiceAccount>(),
        ("", "Namespace") => build::<core::Namespace>(),
        ("", "PersistentVolumeClaim") => build::<core::PersistentVolumeClaim>(),
        _ => return None,
    })
}

/// The schema of objects of `def`, or `None` for the deduced schema.
pub(crate) fn lookup(def: &ResourceDef) -> Option<Node<'static>> {
    // Custom resources are walked by their CRD's structural schema.
    if let Some(schema) = def.custom.and_then(|c| c.schema.as_ref()) {
        static NO_DEFINITIONS: OnceLock<crate::schema::Definitions> = OnceLock::new();
        return Some(Node::new(
            NO_DEFINITIONS.get_or_init(Default::default),
            schema,
        ));
    }
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (def.group.to_string(), def.kind.to_string());
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    let built = *guard.entry(key).or_insert_with(|| {
        // Built once per kind and kept for the life of the process.
        built_for(def).map(|b| &*Box::leak(Box::new(b)))
    });
    built.map(|(defs, root)| Node::new(defs, root))
}
