//! Cases from upstream's server-side apply documentation: field
//! management, conflicts, merge strategies, transferring ownership and
//! resetting managed fields. Expected results follow the documentation.

use serde_json::{Value, json};

use super::fieldpath::{Pe, Set};
use super::managed::{self, Managed, Operation, Scope};
use crate::schema::{Definitions, Node};

const NOW: &str = "2026-01-01T00:00:00Z";

fn schema() -> (Definitions, Value) {
    let defs = json!({
        "Widget": {
            "type": "object",
            "properties": {
                "apiVersion": { "type": "string" },
                "kind": { "type": "string" },
                "metadata": { "type": "object", "properties": {
                    "name": { "type": "string" },
                    "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                    "managedFields": { "type": "array", "items": { "type": "object" } },
                }},
                "spec": { "$ref": "#/definitions/WidgetSpec" },
            }
        },
        "WidgetSpec": {
            "type": "object",
            "properties": {
                "replicas": { "type": "integer" },
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["port", "protocol"],
                    "items": { "type": "object", "properties": {
                        "port": { "type": "integer" },
                        "protocol": { "type": "string", "default": "TCP" },
                        "name": { "type": "string" },
                    }},
                },
                "finalizers": { "type": "array", "x-kubernetes-list-type": "set", "items": { "type": "string" } },
                "args": { "type": "array", "items": { "type": "string" } },
                "data": { "type": "object", "additionalProperties": { "type": "string" } },
                "selector": {
                    "type": "object",
                    "x-kubernetes-map-type": "atomic",
                    "additionalProperties": { "type": "string" },
                },
            }
        }
    });
    (
        defs.as_object().cloned().expect("object"),
        json!({ "$ref": "#/definitions/Widget" }),
    )
}

struct World {
    defs: Definitions,
    root: Value,
}

impl World {
    fn new() -> World {
        let (defs, root) = schema();
        World { defs, root }
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            node: Some(Node::new(&self.defs, &self.root)),
            api_version: "example.com/v1".into(),
            subresource: "",
            has_status: false,
            go_structs: false,
        }
    }

    fn apply(
        &self,
        live: &Value,
        cfg: Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, Vec<managed::Conflict>> {
        let m = Managed::decode(live).expect("decode");
        let cfg = widget(cfg);
        let out = managed::apply(&self.scope(), m, live, &cfg, manager, force, NOW)?;
        let mut obj = out.object;
        super::set_managed(&mut obj, &out.managed);
        Ok(obj)
    }

    fn update(&self, live: &Value, new: Value, manager: &str) -> Value {
        let m = Managed::decode(live).expect("decode");
        let mut new = new;
        let out = managed::update(&self.scope(), m, live, &new, manager, NOW);
        super::set_managed(&mut new, &out);
        new
    }
}

fn widget(spec: Value) -> Value {
    json!({ "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w" }, "spec": spec })
}

fn entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
}

fn owns(obj: &Value, manager: &str, path: &[&str]) -> bool {
    let Some(e) = entry(obj, manager) else {
        return false;
    };
    let set = Set::from_fields_v1(&e["fieldsV1"]).expect("fieldsV1");
    let path: Vec<Pe> = path
        .iter()
        .map(|p| Pe::decode(p).expect("pe").expect("known"))
        .collect();
    set.has(&path)
}

#[test]
fn apply_records_the_applied_fields_only() {
    let w = World::new();
    let obj = w
        .apply(&Value::Null, json!({ "replicas": 1 }), "kubectl", false)
        .expect("apply");
    let e = entry(&obj, "kubectl").expect("entry");
    assert_eq!(e["operation"], "Apply");
    assert_eq!(e["apiVersion"], "example.com/v1");
    assert_eq!(e["fieldsType"], "FieldsV1");
    // Name, apiVersion and kind are never owned; what was applied is.
    assert_eq!(e["fieldsV1"], json!({ "f:spec": { "f:replicas": {} } }));
}

#[test]
fn a_different_value_owned_by_another_manager_conflicts() {
    let w = World::new();
    let obj = w
        .apply(&Value::Null, json!({ "replicas": 1 }), "alice", false)
        .expect("apply");
    let err = w
        .apply(&obj, json!({ "replicas": 2 }), "bob", false)
        .expect_err("conflict");
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].field(), ".spec.replicas");
    assert_eq!(
        managed::conflict_message(&err),
        "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas"
    );
}

#[test]
fn conflict_with_an_updater_names_its_api_version() {
    let w = World::new();
    let created = w.update(
        &Value::Null,
        widget(json!({ "replicas": 1, "args": ["a"] })),
        "editor",
    );
    let err = w
        .apply(
            &created,
            json!({ "replicas": 2, "args": ["b"] }),
            "applier",
            false,
        )
        .expect_err("conflict");
    assert_eq!(
        managed::conflict_message(&err),
        "Apply failed with 2 conflicts: conflicts with \"editor\" using example.com/v1:\n- .spec.args\n- .spec.replicas"
    );
}

#[test]
fn the_same_value_is_shared_ownership() {
    let w = World::new();
    let obj = w
        .apply(&Value::Null, json!({ "replicas": 1 }), "alice", false)
        .expect("apply");
    let obj = w
        .apply(&obj, json!({ "replicas": 1 }), "bob", false)
        .expect("no conflict");
    assert!(owns(&obj, "alice", &["f:spec", "f:replicas"]));
    assert!(owns(&obj, "bob", &["f:spec", "f:replicas"]));
    // One sharer stopping to apply the field leaves it to the other.
    let obj = w.apply(&obj, json!({}), "alice", false).expect("apply");
    assert_eq!(obj["spec"]["replicas"], 1);
    assert!(owns(&obj, "bob", &["f:spec", "f:replicas"]));
}

#[test]
fn force_takes_ownership() {
    let w = World::new();
    let obj = w
        .apply(&Value::Null, json!({ "replicas": 1 }), "alice", false)
        .expect("apply");
    let obj = w
        .apply(&obj, json!({ "replicas": 3 }), "bob", true)
        .expect("forced");
    assert_eq!(obj["spec"]["replicas"], 3);
    assert!(owns(&obj, "bob", &["f:spec", "f:replicas"]));
    // alice owned nothing else, so her entry is gone.
    assert!(entry(&obj, "alice").is_none());
}

#[test]
fn reapplying_without_a_field_removes_it() {
    let w = World::new();
    let obj = w
        .apply(
            &Value::Null,
            json!({ "replicas": 1, "data": { "a": "1", "b": "2" } }),
            "m",
            false,
        )
        .expect("apply");
    let obj = w
        .apply(&obj, json!({ "data": { "a": "1" } }), "m", false)
        .expect("apply");
    assert_eq!(obj["spec"], json!({ "data": { "a": "1" } }));
    assert!(!owns(&obj, "m", &["f:spec", "f:replicas"]));
}

#[test]
fn a_field_another_manager_owns_stays_when_dropped() {
    let w = World::new();
    let obj = w
        .apply(&Value::Null, json!({ "data": { "a": "1" } }), "m", false)
        .expect("apply");
    let obj = w
        .apply(&obj, json!({ "data": { "a": "1" } }), "other", false)
        .expect("apply");
    let obj = w.apply(&obj, json!({}), "m", false).expect("apply");
    assert_eq!(obj["spec"]["data"], json!({ "a": "1" }));
}

#[test]
fn keyed_lists_merge_item_by_item_with_defaulted_keys() {
    let w = World::new();
    let obj = w
        .apply(
            &Value::Null,
            json!({ "ports": [{ "port": 80, "name": "http" }] }),
            "a",
            false,
        )
        .expect("apply");
    let obj = w
        .apply(
            &obj,
            json!({ "ports": [{ "port": 443, "name": "https" }] }),
            "b",
            false,
        )
        .expect("apply");
    assert_eq!(
        obj["spec"]["ports"],
        json!([{ "port": 80, "name": "http" }, { "port": 443, "name": "https" }])
    );
    // The key takes the protocol's default, as upstream's key does.
    assert!(owns(
        &obj,
        "a",
        &["f:spec", "f:ports", r#"k:{"port":80,"protocol":"TCP"}"#]
    ));
    assert!(owns(
        &obj,
        "b",
        &[
            "f:spec",
            "f:ports",
            r#"k:{"port":443,"protocol":"TCP"}"#,
            "f:name"
        ]
    ));
    // a drops its item: only b's stays.
    let obj = w
        .apply(&obj, json!({ "ports": [] }), "a", false)
        .expect("apply");
    assert_eq!(
        obj["spec"]["ports"],
        json!([{ "port": 443, "name": "https" }])
    );
}

#[test]
fn sets_merge_value_by_value() {
    let w = World::new();
    let obj = w
        .apply(
            &Value::Null,
            json!({ "finalizers": ["a", "b"] }),
            "x",
            false,
        )
        .expect("apply");
    let obj = w
        .apply(&obj, json!({ "finalizers": ["c"] }), "y", false)
        .expect("apply");
    assert_eq!(obj["spec"]["finalizers"], json!(["a", "b", "c"]));
    assert!(owns(&obj, "y", &["f:spec", "f:finalizers", r#"v:"c""#]));
    let obj = w
        .apply(&obj, json!({ "finalizers": ["a"] }), "x", false)
        .expect("apply");
    assert_eq!(obj["spec"]["finalizers"], json!(["a", "c"]));
}

#[test]
fn atomic_lists_and_maps_are_replaced_and_owned_whole() {
    let w = World::new();
    let obj = w
        .apply(
            &Value::Null,
            json!({ "args": ["a", "b"], "selector": { "app": "x", "tier": "y" } }),
            "x",
            false,
        )
        .expect("apply");
    assert!(owns(&obj, "x", &["f:spec", "f:args"]));
    assert!(owns(&obj, "x", &["f:spec", "f:selector"]));
    assert!(!owns(&obj, "x", &["f:spec", "f:selector", "f:app"]));
    let err = w
        .apply(&obj, json!({ "selector": { "app": "x" } }), "y", false)
        .expect_err("the whole map is one field");
    assert_eq!(err[0].field(), ".spec.selector");
    let obj = w
        .apply(&obj, json!({ "args": ["c"] }), "x", false)
        .expect("apply");
    assert_eq!(obj["spec"]["args"], json!(["c"]));
}

#[test]
fn granular_maps_merge_key_by_key() {
    let w = World::new();
    let obj = w
        .apply(&Value::Null, json!({ "data": { "a": "1" } }), "x", false)
        .expect("apply");
    let obj = w
        .apply(&obj, json!({ "data": { "b": "2" } }), "y", false)
        .expect("apply");
    assert_eq!(obj["spec"]["data"], json!({ "a": "1", "b": "2" }));
    assert!(owns(&obj, "x", &["f:spec", "f:data", "f:a"]));
    assert!(owns(&obj, "y", &["f:spec", "f:data", "f:b"]));
}

#[test]
fn transferring_ownership_of_replicas() {
    // The documentation's HPA example: the autoscaler updates replicas with
    // its own manager; the applier then drops replicas from its manifest and
    // the value the autoscaler set stays.
    let w = World::new();
    let obj = w
        .apply(
            &Value::Null,
            json!({ "replicas": 1, "args": ["a"] }),
            "kubectl",
            false,
        )
        .expect("apply");
    let mut scaled = obj.clone();
    scaled["spec"]["replicas"] = json!(5);
    let obj = w.update(&obj, scaled, "hpa");
    assert!(owns(&obj, "hpa", &["f:spec", "f:replicas"]));
    assert!(!owns(&obj, "kubectl", &["f:spec", "f:replicas"]));
    assert_eq!(entry(&obj, "hpa").expect("hpa")["operation"], "Update");
    let obj = w
        .apply(&obj, json!({ "args": ["a"] }), "kubectl", false)
        .expect("no conflict");
    assert_eq!(obj["spec"]["replicas"], 5);
}

#[test]
fn updates_merge_into_one_entry_per_manager_and_version() {
    let w = World::new();
    let obj = w.update(&Value::Null, widget(json!({ "replicas": 1 })), "editor");
    let mut next = obj.clone();
    next["spec"]["args"] = json!(["x"]);
    let obj = w.update(&obj, next, "editor");
    let entries = obj["metadata"]["managedFields"].as_array().expect("list");
    assert_eq!(entries.len(), 1);
    assert!(owns(&obj, "editor", &["f:spec", "f:replicas"]));
    assert!(owns(&obj, "editor", &["f:spec", "f:args"]));
    // A write that changes nothing adds nothing.
    let same = w.update(&obj, obj.clone(), "someone-else");
    assert!(entry(&same, "someone-else").is_none());
}

#[test]
fn empty_managed_fields_reset_them() {
    assert!(managed::is_reset(Some(&json!([]))));
    assert!(managed::is_reset(Some(&json!([{}]))));
    assert!(!managed::is_reset(None));
    let w = World::new();
    let obj = w
        .apply(&Value::Null, json!({ "replicas": 1 }), "kubectl", false)
        .expect("apply");
    let def = crate::registry::resources::find("", "v1", "configmaps").expect("configmaps");
    // Reset, then this write records only its own change.
    let mut new = obj.clone();
    super::record_write(def, None, Some(&obj), Some(&json!([])), &mut new, "x");
    assert!(new.pointer("/metadata/managedFields").is_none());
    // Unchanged managedFields keep the server's view.
    let mut kept = obj.clone();
    let sent = obj["metadata"]["managedFields"].clone();
    super::record_write(def, None, Some(&obj), Some(&sent), &mut kept, "x");
    assert_eq!(kept["metadata"]["managedFields"], sent);
}

#[test]
fn update_entries_are_capped() {
    let w = World::new();
    let mut obj = w.update(&Value::Null, widget(json!({ "data": {} })), "m0");
    for i in 1..=12 {
        let mut next = obj.clone();
        next["spec"]["data"][format!("k{i}")] = json!("v");
        obj = w.update(&obj, next, &format!("m{i}"));
    }
    let entries = obj["metadata"]["managedFields"].as_array().expect("list");
    let updates = entries
        .iter()
        .filter(|e| e["operation"] == "Update")
        .count();
    assert_eq!(updates, 10);
    assert!(entry(&obj, "ancient-changes").is_some());
    assert!(Operation::Apply < Operation::Update);
}

#[test]
fn manager_names_come_from_the_parameter_or_the_user_agent() {
    assert_eq!(super::manager_for(Some("mine"), "kubectl/v1.33.0"), "mine");
    assert_eq!(
        super::manager_for(None, "kubectl/v1.33.0 (linux/amd64) kubernetes/abc"),
        "kubectl"
    );
    assert_eq!(super::manager_for(Some(""), "kube-rs/1"), "kube-rs");
}

#[test]
fn untracked_fields_belong_to_before_first_apply() {
    let w = World::new();
    let untracked = widget(json!({ "replicas": 1, "args": ["a"] }));
    let err = w
        .apply(&untracked, json!({ "replicas": 2 }), "kubectl", false)
        .expect_err("conflict");
    assert_eq!(
        managed::conflict_message(&err),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using example.com/v1: .spec.replicas"
    );
    // The same value is shared, and the rest stays with the old owner.
    let obj = w
        .apply(&untracked, json!({ "replicas": 1 }), "kubectl", false)
        .expect("shared");
    assert!(owns(&obj, "before-first-apply", &["f:spec", "f:args"]));
    assert!(owns(&obj, "kubectl", &["f:spec", "f:replicas"]));
}

#[test]
fn shared_items_follow_the_applied_order() {
    let w = World::new();
    let obj = w
        .apply(
            &Value::Null,
            json!({ "finalizers": ["a", "b", "c"] }),
            "x",
            false,
        )
        .expect("apply");
    let obj = w
        .apply(&obj, json!({ "finalizers": ["c", "a", "d"] }), "x", false)
        .expect("apply");
    // b is no longer applied by anyone and goes; c and a take the applied
    // order, d comes after them.
    assert_eq!(obj["spec"]["finalizers"], json!(["c", "a", "d"]));
    let obj = w
        .apply(&obj, json!({ "finalizers": ["e"] }), "y", false)
        .expect("apply");
    assert_eq!(obj["spec"]["finalizers"], json!(["c", "a", "d", "e"]));
}

/// The field set a create of a Deployment records, with the shared
/// built-in schema: by-value structs (`spec`, `template`, its `metadata`
/// and `spec`, `strategy`) exist in every Deployment, so only what is
/// added below them is recorded, while the pointer struct `rollingUpdate`,
/// the `labels` map, list items and the `ports` list are added themselves
/// (`.`); a port without a protocol is keyed by its default, TCP.
#[test]
fn a_created_deployment_records_upstream_field_set() {
    let def = crate::registry::resources::find_kind("apps", "v1", "Deployment").expect("kind");
    let scope = Scope {
        node: crate::schema::root_for(def),
        api_version: "apps/v1".into(),
        subresource: "",
        has_status: true,
        go_structs: true,
    };
    let new = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": "web", "namespace": "default" },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app": "web" } },
            "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1 } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": [{
                    "name": "nginx",
                    "image": "nginx",
                    "ports": [{ "containerPort": 80 }],
                }]},
            },
        },
    });
    let out = managed::update(&scope, Managed::default(), &json!({}), &new, "kubectl", NOW);
    let mut obj = new.clone();
    super::set_managed(&mut obj, &out);
    let e = entry(&obj, "kubectl").expect("entry");
    assert_eq!(
        e["fieldsV1"],
        json!({ "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:strategy": {
                "f:rollingUpdate": { ".": {}, "f:maxSurge": {} },
                "f:type": {},
            },
            "f:template": {
                "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
                "f:spec": { "f:containers": { "k:{\"name\":\"nginx\"}": {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                        ".": {},
                        "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {},
                            "f:containerPort": {},
                        },
                    },
                }}},
            },
        }})
    );
}
