//! The built-in definitions carry upstream's list, map and patch semantics
//! (expected values from the upstream API reference).

use super::*;
use crate::registry::resources::{self, RESOURCES};

fn kind(group: &str, version: &str, kind: &str) -> Node<'static> {
    let def = resources::find_kind(group, version, kind).expect("served kind");
    root_for(def).expect("schema")
}

fn path(mut n: Node<'static>, steps: &[&str]) -> Node<'static> {
    for s in steps {
        n = if *s == "[]" {
            n.items().expect("items")
        } else {
            n.field(s).unwrap_or_else(|| panic!("no field {s}"))
        };
    }
    n
}

#[test]
fn every_served_kind_has_a_definition_with_its_gvk() {
    for d in RESOURCES {
        let n = root_for(d).unwrap_or_else(|| panic!("no schema for {}", d.kind));
        let gvk = n
            .get("x-kubernetes-group-version-kind")
            .and_then(|v| v.get(0))
            .expect("gvk");
        assert_eq!(gvk["kind"], d.kind);
        assert_eq!(gvk["group"], d.group);
        assert!(
            n.field("metadata").is_some()
                || n.field("spec").is_some()
                || n.field("status").is_some(),
            "{}",
            d.kind
        );
    }
    let defs = builtin_definitions();
    let list = &defs["io.k8s.api.apps.v1.DeploymentList"];
    assert_eq!(
        list["x-kubernetes-group-version-kind"][0]["kind"],
        "DeploymentList"
    );
    for meta in [
        "ObjectMeta",
        "ListMeta",
        "Status",
        "DeleteOptions",
        "WatchEvent",
        "APIResourceList",
    ] {
        assert!(
            defs.contains_key(&format!("io.k8s.apimachinery.pkg.apis.meta.v1.{meta}")),
            "{meta}"
        );
    }
}

#[test]
fn deployment_containers_are_a_map_keyed_by_name() {
    let c = path(
        kind("apps", "v1", "Deployment"),
        &["spec", "template", "spec", "containers"],
    );
    assert_eq!(c.list_type(), ListType::Map(vec!["name"]));
    assert_eq!(c.patch_merge_key(), Some("name"));
    assert!(c.patch_strategy().merge);
    let ports = path(c, &["[]", "ports"]);
    assert_eq!(
        ports.list_type(),
        ListType::Map(vec!["containerPort", "protocol"])
    );
    assert_eq!(ports.patch_merge_key(), Some("containerPort"));
    let env = path(c, &["[]", "env"]);
    assert_eq!(env.patch_merge_key(), Some("name"));
    let mounts = path(c, &["[]", "volumeMounts"]);
    assert_eq!(mounts.patch_merge_key(), Some("mountPath"));
    let strategy = path(kind("apps", "v1", "Deployment"), &["spec", "strategy"]);
    let s = strategy.patch_strategy();
    assert!(s.retain_keys && !s.merge);
    let volumes = path(kind("", "v1", "Pod"), &["spec", "volumes"]);
    let v = volumes.patch_strategy();
    assert!(v.merge && v.retain_keys);
    assert_eq!(volumes.patch_merge_key(), Some("name"));
    // Ephemeral containers embed the container fields upstream.
    let eph = path(
        kind("", "v1", "Pod"),
        &["spec", "ephemeralContainers", "[]", "env"],
    );
    assert_eq!(eph.patch_merge_key(), Some("name"));
}

#[test]
fn service_ports_metadata_and_atomic_maps() {
    let ports = path(kind("", "v1", "Service"), &["spec", "ports"]);
    assert_eq!(ports.list_type(), ListType::Map(vec!["port", "protocol"]));
    assert_eq!(ports.patch_merge_key(), Some("port"));
    let meta = path(kind("", "v1", "ConfigMap"), &["metadata"]);
    let fin = meta.field("finalizers").expect("finalizers");
    assert_eq!(fin.list_type(), ListType::Set);
    assert!(fin.patch_strategy().merge);
    assert_eq!(fin.patch_merge_key(), None);
    let owners = meta.field("ownerReferences").expect("ownerReferences");
    assert_eq!(owners.list_type(), ListType::Map(vec!["uid"]));
    assert_eq!(owners.patch_merge_key(), Some("uid"));
    assert!(path(kind("", "v1", "Pod"), &["spec", "nodeSelector"]).is_atomic_map());
    assert!(path(kind("apps", "v1", "Deployment"), &["spec", "selector"]).is_atomic_map());
    let conds = path(kind("", "v1", "Pod"), &["status", "conditions"]);
    assert_eq!(conds.patch_merge_key(), Some("type"));
    let addrs = path(kind("", "v1", "Node"), &["status", "addresses"]);
    assert_eq!(addrs.patch_merge_key(), Some("type"));
    let secrets = path(kind("", "v1", "ServiceAccount"), &["secrets"]);
    assert_eq!(secrets.patch_merge_key(), Some("name"));
    let port = path(
        kind("", "v1", "Service"),
        &["spec", "ports", "[]", "targetPort"],
    );
    assert_eq!(port.type_name(), Some("string"));
    assert_eq!(
        port.get("format").and_then(Value::as_str),
        Some("int-or-string")
    );
}

#[test]
fn fields_carry_upstream_defaults() {
    // Upstream's published schemas: `+default="TCP"` on port protocols,
    // `{}` on struct fields Go holds by value, none on pointer fields.
    let pod = kind("", "v1", "Pod");
    let port = path(pod, &["spec", "containers", "[]", "ports", "[]"]);
    assert_eq!(
        port.field("protocol").and_then(|p| p.get("default")),
        Some(&serde_json::json!("TCP"))
    );
    let svc = kind("", "v1", "Service");
    let sport = path(svc, &["spec", "ports", "[]"]);
    assert_eq!(
        sport.field("protocol").and_then(|p| p.get("default")),
        Some(&serde_json::json!("TCP"))
    );
    let deploy = kind("apps", "v1", "Deployment");
    let spec = path(deploy, &["spec"]);
    for by_value in ["template", "strategy"] {
        assert_eq!(
            spec.field(by_value).and_then(|f| f.get("default")),
            Some(&serde_json::json!({})),
            "{by_value}"
        );
    }
    assert_eq!(
        deploy.field("metadata").and_then(|f| f.get("default")),
        Some(&serde_json::json!({}))
    );
    // `selector` is a pointer, `replicas` an optional scalar.
    assert!(
        spec.field("selector")
            .and_then(|f| f.get("default"))
            .is_none()
    );
    assert!(
        spec.field("replicas")
            .and_then(|f| f.get("default"))
            .is_none()
    );
    let strategy = path(deploy, &["spec", "strategy"]);
    assert!(
        strategy
            .field("rollingUpdate")
            .and_then(|f| f.get("default"))
            .is_none()
    );
}

#[test]
fn walker_form_drops_descriptions_but_not_fields_named_description() {
    let name = "io.k8s.api.scheduling.v1.PriorityClass";
    let kept = &super::builtin().defs[name];
    assert!(kept.get("description").is_none());
    let field = kept
        .pointer("/properties/description")
        .expect("PriorityClass.description is a field");
    assert_eq!(field.get("type").and_then(Value::as_str), Some("string"));
    assert!(field.get("description").is_none());
    let documented = super::documented();
    assert!(documented.defs[name].get("description").is_some());
    assert!(
        documented.defs[name]
            .pointer("/properties/description/description")
            .is_some()
    );
}
