//! Strategic merge patch cases taken from upstream's documentation: the
//! task page "Update API Objects in Place Using kubectl patch" and the
//! "Strategic Merge Patch" developer document. Each test names the example
//! it follows; expected results are the documents' own.

use super::tests::{at, ok, schema_of, smp};
use super::*;
use serde_json::json;

/// The task page's `patch-demo` Deployment.
fn patch_demo() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "patch-demo"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                    "tolerations": [{"effect": "NoSchedule", "key": "dedicated",
                        "value": "test-team"}]}}}})
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

#[test]
fn task_page_containers_merge_by_name() {
    let patch = json!({"spec": {"template": {"spec": {"containers":
        [{"name": "patch-demo-ctr-2", "image": "redis"}]}}}});
    let out = ok(&patch_demo(), patch);
    assert_eq!(
        at(&out, "/spec/template/spec/containers"),
        &json!([{"name": "patch-demo-ctr-2", "image": "redis"},
            {"name": "patch-demo-ctr", "image": "nginx"}])
    );
    assert_eq!(at(&out, "/spec/replicas"), &json!(2));
}

#[test]
fn task_page_tolerations_are_replaced() {
    let patch = json!({"spec": {"template": {"spec": {"tolerations":
        [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}}}});
    let out = ok(&patch_demo(), patch);
    assert_eq!(
        at(&out, "/spec/template/spec/tolerations"),
        &json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}])
    );
    assert_eq!(
        at(&out, "/spec/template/spec/containers/0/name"),
        &json!("patch-demo-ctr")
    );
}

#[test]
fn task_page_json_merge_patch_replaces_containers() {
    let body = br#"{"spec": {"template": {"spec": {"containers":
        [{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}]}}}}"#;
    let out = apply(
        PatchKind::Merge,
        &patch_demo(),
        body,
        schema_of(&patch_demo()),
    )
    .unwrap();
    assert_eq!(
        at(&out, "/spec/template/spec/containers"),
        &json!([{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}])
    );
}

#[test]
fn task_page_retain_keys_strategy() {
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "retainkeys-demo"},
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}}});
    // Without the directive the old rollingUpdate stays (validation then
    // refuses it for a Recreate strategy).
    let out = ok(&live, json!({"spec": {"strategy": {"type": "Recreate"}}}));
    assert_eq!(
        at(&out, "/spec/strategy"),
        &json!({"type": "Recreate", "rollingUpdate": {"maxSurge": "30%"}})
    );
    let out = ok(
        &live,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    );
    assert_eq!(at(&out, "/spec/strategy"), &json!({"type": "Recreate"}));
}

#[test]
fn task_page_volumes_retain_keys_per_element() {
    // volumes merge by name and carry retainKeys, so an element switched
    // from one volume source to another drops the old source.
    let live = pod(json!({"containers": [{"name": "c"}],
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "x"}}]}));
    let patch = json!({"spec": {"volumes": [{"$retainKeys": ["hostPath", "name"],
        "name": "data", "hostPath": {"path": "/srv"}}]}});
    let out = ok(&live, patch);
    assert_eq!(
        at(&out, "/spec/volumes"),
        &json!([{"name": "data", "hostPath": {"path": "/srv"}},
            {"name": "cfg", "configMap": {"name": "x"}}])
    );
}

#[test]
fn doc_background_adds_a_container() {
    let live = pod(json!({"containers": [{"name": "nginx", "image": "nginx-1.0"}]}));
    let patch =
        json!({"spec": {"containers": [{"name": "log-tailer", "image": "log-tailer-1.0"}]}});
    let out = ok(&live, patch);
    let names: Vec<&Value> = at(&out, "/spec/containers")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&&json!("nginx")) && names.contains(&&json!("log-tailer")));
}

#[test]
fn doc_replace_directive_on_a_map() {
    let live = pod(
        json!({"containers": [{"name": "nginx", "image": "nginx-0.9"},
        {"name": "log-tailer", "image": "lt"}], "restartPolicy": "Always"}),
    );
    let patch = json!({"spec": {"$patch": "replace",
        "containers": [{"name": "nginx", "image": "nginx-1.0"}]}});
    let out = ok(&live, patch);
    assert_eq!(
        at(&out, "/spec"),
        &json!({"containers": [{"name": "nginx", "image": "nginx-1.0"}]})
    );
}

#[test]
fn doc_replace_directive_on_a_list_of_maps() {
    let live = pod(
        json!({"containers": [{"name": "nginx", "image": "nginx-0.9", "ports": [{"containerPort": 80}]},
        {"name": "log-tailer", "image": "lt"}]}),
    );
    let patch = json!({"spec": {"containers": [{"name": "nginx", "image": "nginx-1.0"},
        {"$patch": "replace"}]}});
    let out = ok(&live, patch);
    assert_eq!(
        at(&out, "/spec/containers"),
        &json!([{"name": "nginx", "image": "nginx-1.0"}])
    );
}

#[test]
fn doc_delete_directive_in_a_list_deletes_every_match() {
    let live = pod(
        json!({"containers": [{"name": "nginx", "image": "nginx-0.9"},
        {"name": "log-tailer", "image": "a"}, {"name": "log-tailer", "image": "b"}]}),
    );
    let patch = json!({"spec": {"containers": [{"name": "nginx", "image": "nginx-1.0"},
        {"$patch": "delete", "name": "log-tailer"}]}});
    let out = ok(&live, patch);
    assert_eq!(
        at(&out, "/spec/containers"),
        &json!([{"name": "nginx", "image": "nginx-1.0"}])
    );
}

#[test]
fn doc_delete_a_map_by_directive_or_null() {
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let by_directive = ok(
        &live,
        json!({"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}}),
    );
    let by_null = ok(
        &live,
        json!({"spec": {"strategy": {"rollingUpdate": null}}}),
    );
    assert_eq!(
        at(&by_directive, "/spec/strategy"),
        &json!({"type": "RollingUpdate"})
    );
    assert_eq!(by_directive, by_null);
}

fn with_finalizers(list: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "n", "finalizers": list}})
}

#[test]
fn doc_delete_from_primitive_list() {
    let out = ok(
        &with_finalizers(json!(["a", "b", "c"])),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "c"]}}),
    );
    assert_eq!(at(&out, "/metadata/finalizers"), &json!(["a"]));
    // Duplicates in an erroneous set all go.
    let out = ok(
        &with_finalizers(json!(["a", "b", "b"])),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
    );
    assert_eq!(at(&out, "/metadata/finalizers"), &json!(["a"]));
}

#[test]
fn doc_primitive_set_merges_deduplicated() {
    let out = ok(
        &with_finalizers(json!(["a", "b"])),
        json!({"metadata": {"finalizers": ["b", "c", "c"]}}),
    );
    assert_eq!(at(&out, "/metadata/finalizers"), &json!(["a", "b", "c"]));
}

#[test]
fn doc_set_element_order_of_primitives() {
    let out = ok(
        &with_finalizers(json!(["a", "b", "c"])),
        json!({"metadata": {"$setElementOrder/finalizers": ["b", "c", "a"]}}),
    );
    assert_eq!(at(&out, "/metadata/finalizers"), &json!(["b", "c", "a"]));
}

#[test]
fn doc_set_element_order_of_maps() {
    let live = pod(json!({"containers": [{"name": "a", "image": "1"},
        {"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}));
    let patch = json!({"spec": {"$setElementOrder/containers":
        [{"name": "b"}, {"name": "c"}, {"name": "a"}]}});
    let out = ok(&live, patch);
    assert_eq!(
        at(&out, "/spec/containers"),
        &json!([{"name": "b", "image": "2"}, {"name": "c", "image": "3"},
            {"name": "a", "image": "1"}])
    );
}

#[test]
fn doc_retain_keys_on_a_union() {
    // The document's `union` example, on a Deployment's strategy (a union
    // of type and rollingUpdate).
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    assert_eq!(
        at(&ok(&live, patch), "/spec/strategy"),
        &json!({"type": "Recreate"})
    );
}

#[test]
fn doc_unknown_directives_are_ignored() {
    let live = with_finalizers(json!(["a"]));
    let out = ok(
        &live,
        json!({"metadata": {"$someFutureDirective/finalizers": ["x"], "labels": {"k": "v"}}}),
    );
    assert_eq!(at(&out, "/metadata/finalizers"), &json!(["a"]));
    assert_eq!(at(&out, "/metadata/labels"), &json!({"k": "v"}));
}

/// Lists follow the strategy of their own type, not their name: container
/// ports merge by containerPort, Service ports by port, Endpoints ports and
/// a Service's externalIPs are replaced.
#[test]
fn strategies_follow_each_type() {
    let endpoints = json!({"apiVersion": "v1", "kind": "Endpoints",
        "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]});
    let out = ok(
        &endpoints,
        json!({"subsets": [{"addresses": [{"ip": "10.0.0.2"}], "ports": [{"port": 81}]}]}),
    );
    assert_eq!(
        at(&out, "/subsets"),
        &json!([{"addresses": [{"ip": "10.0.0.2"}], "ports": [{"port": 81}]}])
    );

    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "spec": {"ports": [{"port": 80, "name": "http"}], "externalIPs": ["1.1.1.1"]}});
    let out = ok(
        &svc,
        json!({"spec": {"ports": [{"port": 443, "name": "https"}], "externalIPs": ["2.2.2.2"]}}),
    );
    assert_eq!(
        at(&out, "/spec/ports"),
        &json!([{"port": 443, "name": "https"}, {"port": 80, "name": "http"}])
    );
    assert_eq!(at(&out, "/spec/externalIPs"), &json!(["2.2.2.2"]));

    // A ConfigMap has no merge lists beyond its metadata.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}});
    let out = ok(
        &cm,
        json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]}}),
    );
    assert_eq!(
        at(&out, "/metadata/ownerReferences"),
        &json!([{"uid": "2", "name": "b"}, {"uid": "1", "name": "a"}])
    );
}

#[test]
fn templates_in_every_workload_merge_containers() {
    let kinds = [
        ("apps/v1", "DaemonSet", "/spec/template/spec/containers"),
        ("apps/v1", "StatefulSet", "/spec/template/spec/containers"),
        ("apps/v1", "ReplicaSet", "/spec/template/spec/containers"),
        (
            "v1",
            "ReplicationController",
            "/spec/template/spec/containers",
        ),
        ("batch/v1", "Job", "/spec/template/spec/containers"),
        ("v1", "PodTemplate", "/template/spec/containers"),
        (
            "batch/v1",
            "CronJob",
            "/spec/jobTemplate/spec/template/spec/containers",
        ),
    ];
    for (api, kind, ptr) in kinds {
        let mut live = json!({"apiVersion": api, "kind": kind});
        let mut patch = json!({});
        set(&mut live, ptr, json!([{"name": "a", "image": "1"}]));
        set(&mut patch, ptr, json!([{"name": "b", "image": "2"}]));
        let out = ok(&live, patch);
        assert_eq!(
            at(&out, ptr),
            &json!([{"name": "b", "image": "2"}, {"name": "a", "image": "1"}]),
            "{kind}"
        );
    }
}

/// Sets `value` at a JSON pointer, creating maps on the way.
fn set(doc: &mut Value, ptr: &str, value: Value) {
    let mut cur = doc;
    let parts: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(p.to_string())
            .or_insert_with(|| json!({}));
    }
    cur[parts[parts.len() - 1]] = value;
}

#[test]
fn pdb_selector_is_replaced() {
    let live = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "spec": {"selector": {"matchLabels": {"app": "a", "tier": "t"}}}});
    let out = ok(
        &live,
        json!({"spec": {"selector": {"matchLabels": {"app": "b"}}}}),
    );
    assert_eq!(
        at(&out, "/spec/selector"),
        &json!({"matchLabels": {"app": "b"}})
    );
}

#[test]
fn webhooks_merge_by_name() {
    let live = json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "webhooks": [{"name": "a.example.com", "sideEffects": "None"}]});
    let out = ok(
        &live,
        json!({"webhooks": [{"name": "a.example.com", "timeoutSeconds": 5}]}),
    );
    assert_eq!(
        at(&out, "/webhooks"),
        &json!([{"name": "a.example.com", "sideEffects": "None", "timeoutSeconds": 5}])
    );
}

/// The merge reads any schema given to it: a hand-written kind whose list
/// merges by a key of its own, found with the same lookup as built-ins.
/// A set member new to the list goes ahead of the live ones, as upstream
/// orders items the live list does not place.
#[test]
fn hand_written_schema_drives_the_merge() {
    let defs: crate::schema::Definitions = serde_json::from_value(json!({
        "io.k8s.api.example.v1.Gadget": {"type": "object", "properties": {
            "parts": {"type": "array", "items": {"$ref": "#/definitions/part"},
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "serial"},
            "tags": {"type": "array", "items": {"type": "string"},
                "x-kubernetes-patch-strategy": "merge"},
            "labels": {"type": "array", "items": {"type": "string"}}}},
        "part": {"type": "object", "properties": {
            "notes": {"type": "array", "items": {"type": "object"},
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id"}}}
    }))
    .unwrap();
    let root = schemas::root_in(&defs, "example.k8s.io", "v1", "Gadget").expect("root");
    assert!(schemas::root_in(&defs, "example.k8s.io", "v1", "Other").is_none());
    let live = json!({"parts": [{"serial": 1, "notes": [{"id": "x", "t": 1}]}],
        "tags": ["a"], "labels": ["a"]});
    let body = serde_json::to_vec(&json!({
        "parts": [{"serial": 1, "notes": [{"id": "y", "t": 2}]}, {"serial": 2}],
        "tags": ["b"], "labels": ["b"]}))
    .unwrap();
    let out = apply(
        PatchKind::StrategicMerge,
        &live,
        &body,
        Strategic::Schema(root),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"parts": [{"serial": 1, "notes": [{"id": "y", "t": 2}, {"id": "x", "t": 1}]},
            {"serial": 2}], "tags": ["b", "a"], "labels": ["b"]})
    );
}

#[test]
fn built_in_definitions_parse_and_name_upstream_types() {
    assert_eq!(
        schemas::definition_name("apps", "v1", "Deployment"),
        "io.k8s.api.apps.v1.Deployment"
    );
    assert_eq!(
        schemas::definition_name("", "v1", "Pod"),
        "io.k8s.api.core.v1.Pod"
    );
    let pod = schemas::root("", "v1", "Pod");
    let containers = pod
        .field("spec")
        .and_then(|s| s.field("containers"))
        .expect("containers");
    assert_eq!(containers.patch_merge_key(), Some("name"));
    let ports = containers
        .items()
        .and_then(|c| c.field("ports"))
        .expect("ports");
    assert_eq!(ports.patch_merge_key(), Some("containerPort"));
    let volumes = pod
        .field("spec")
        .and_then(|s| s.field("volumes"))
        .expect("v");
    assert!(volumes.patch_strategy().merge && volumes.patch_strategy().retain_keys);
    // Kinds without tagged fields still merge their metadata lists.
    let cm = schemas::root("", "v1", "ConfigMap");
    assert!(
        cm.field("metadata")
            .and_then(|m| m.field("finalizers"))
            .is_some()
    );
    let _ = smp;
}
