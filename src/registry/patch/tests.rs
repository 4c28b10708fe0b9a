use super::*;
use serde_json::json;

/// The built-in schema of `obj`'s kind, read from its type meta.
pub(super) fn schema_of(obj: &Value) -> Strategic<'static> {
    let api = obj["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
    let kind = obj["kind"].as_str().unwrap_or("");
    Strategic::Schema(schemas::root(group, version, kind))
}

pub(super) fn smp(current: &Value, patch: Value) -> Result<Value, PatchError> {
    let body = serde_json::to_vec(&patch).unwrap();
    apply(
        PatchKind::StrategicMerge,
        current,
        &body,
        schema_of(current),
    )
}

/// Applies an SMP that must succeed and checks no directive leaked.
pub(super) fn ok(current: &Value, patch: Value) -> Value {
    fn clean(v: &Value) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| {
                assert!(!k.starts_with('$'), "directive {k} leaked");
                clean(v);
            }),
            Value::Array(a) => a.iter().for_each(clean),
            _ => {}
        }
    }
    let out = smp(current, patch).unwrap();
    clean(&out);
    out
}

pub(super) fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

const CONTAINERS: &str = "/spec/template/spec/containers";

fn deployment(containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
        "spec": {"replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {"spec": {"containers": containers,
                "tolerations": [{"key": "dedicated", "effect": "NoSchedule"}]}}}})
}

/// Wraps fields of a pod template's spec into a Deployment patch.
fn pod_patch(spec: Value) -> Value {
    json!({"spec": {"template": {"spec": spec}}})
}

#[test]
fn content_types() {
    use PatchKind::*;
    let cases = [
        ("application/json-patch+json", Some(Json)),
        ("application/merge-patch+json; charset=utf-8", Some(Merge)),
        (
            "Application/Strategic-Merge-Patch+JSON",
            Some(StrategicMerge),
        ),
        ("application/apply-patch+yaml", None),
        ("application/json", None),
    ];
    for (ct, want) in cases {
        assert_eq!(PatchKind::from_content_type(ct), want, "{ct}");
    }
}

#[test]
fn kubectl_apply_style_patch() {
    let live = deployment(json!([
        {"name": "app", "image": "app:v1", "ports": [{"containerPort": 80}]},
        {"name": "sidecar", "image": "proxy:1"}, {"name": "old", "image": "old:1"}]));
    // What kubectl apply sends: changed and added elements in the new
    // config's order, deletions last, plus the full desired order.
    let patch = pod_patch(json!({
        "$setElementOrder/containers": [{"name": "new"}, {"name": "app"}, {"name": "sidecar"}],
        "containers": [{"name": "new", "image": "new:1"}, {"name": "app", "image": "app:v2"},
            {"name": "old", "$patch": "delete"}]}));
    let out = ok(&live, patch);
    let want = json!([{"name": "new", "image": "new:1"},
        {"name": "app", "image": "app:v2", "ports": [{"containerPort": 80}]},
        {"name": "sidecar", "image": "proxy:1"}]);
    assert_eq!(at(&out, CONTAINERS), &want);
    assert_eq!(at(&out, "/spec/replicas"), &json!(2));
    assert_eq!(at(&out, "/metadata/labels/tier"), &json!("fe"));
}

#[test]
fn added_container_goes_first_and_tolerations_are_replaced() {
    // The kubectl patch task page: the redis container is listed before
    // nginx, and the tolerations list is replaced, not merged.
    let live = deployment(json!([{"name": "patch-demo-ctr", "image": "nginx"}]));
    let tolerations = json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]);
    let patch = pod_patch(json!({"tolerations": tolerations,
        "containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}));
    let out = ok(&live, patch);
    let want = json!([{"name": "patch-demo-ctr-2", "image": "redis"},
        {"name": "patch-demo-ctr", "image": "nginx"}]);
    assert_eq!(at(&out, CONTAINERS), &want);
    assert_eq!(at(&out, "/spec/template/spec/tolerations"), &tolerations);
}

#[test]
fn set_element_order() {
    let live = deployment(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
    // Live elements the order does not name keep their place after it.
    let patch = pod_patch(json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}));
    let want = json!([{"name": "b"}, {"name": "a"}, {"name": "c"}]);
    assert_eq!(at(&ok(&live, patch), CONTAINERS), &want);
    // The order must name merge keys, in the patch list's order.
    let no_key = pod_patch(json!({"$setElementOrder/containers": [{"image": "x"}]}));
    let err = smp(&live, no_key);
    assert!(matches!(err, Err(PatchError::Malformed(m)) if m.contains("merge key: name")));
    let mismatch = pod_patch(
        json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}),
    );
    assert!(matches!(
        smp(&live, mismatch),
        Err(PatchError::Malformed(_))
    ));
}

#[test]
fn env_merges_by_name_and_ports_by_their_keys() {
    let live = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}});
    let patch = json!({"spec": {"containers": [{"name": "c",
        "env": [{"name": "B", "value": "3"}, {"name": "A", "$patch": "delete"}],
        "ports": [{"containerPort": 80, "name": "http"}]}]}});
    let out = ok(&live, patch);
    assert_eq!(
        at(&out, "/spec/containers/0/env"),
        &json!([{"name": "B", "value": "3"}])
    );
    let want = json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}]);
    assert_eq!(at(&out, "/spec/containers/0/ports"), &want);
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "spec": {"ports": [{"port": 443, "targetPort": 8443}]}});
    let out = ok(
        &svc,
        json!({"spec": {"ports": [{"port": 443, "name": "https"}]}}),
    );
    let want = json!([{"port": 443, "targetPort": 8443, "name": "https"}]);
    assert_eq!(at(&out, "/spec/ports"), &want);
}

#[test]
fn retain_keys_clears_unlisted_fields() {
    // The retainKeys example of the kubectl patch task page.
    let live = deployment(json!([]));
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    assert_eq!(
        at(&ok(&live, patch), "/spec/strategy"),
        &json!({"type": "Recreate"})
    );
    let bad = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}});
    assert_eq!(smp(&live, bad), Err(malformed(ERR_RETAIN_KEYS)));
}

#[test]
fn map_merge_and_directives() {
    let live = deployment(json!([]));
    let patch = json!({"metadata": {"labels": {"tier": null, "env": "prod"}}});
    let want = json!({"app": "web", "env": "prod"});
    assert_eq!(at(&ok(&live, patch), "/metadata/labels"), &want);
    // SMP design doc: `rollingUpdate: {$patch: delete}` deletes the map.
    let patch = json!({"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}});
    assert_eq!(
        at(&ok(&live, patch), "/spec/strategy"),
        &json!({"type": "RollingUpdate"})
    );
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "only": "me"}}});
    assert_eq!(
        at(&ok(&live, patch), "/metadata/labels"),
        &json!({"only": "me"})
    );
    let patch = json!({"metadata": {"labels": {"$patch": "merge", "x": "y"}}});
    let want = json!({"app": "web", "tier": "fe", "x": "y"});
    assert_eq!(at(&ok(&live, patch), "/metadata/labels"), &want);
    let err = smp(
        &live,
        json!({"metadata": {"labels": {"$patch": "explode"}}}),
    );
    assert!(matches!(err, Err(PatchError::Malformed(m)) if m.contains("unknown patch type")));
}

#[test]
fn primitive_set_directives() {
    // Examples of the SMP design doc, on metadata.finalizers.
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"finalizers": ["a", "b", "c"]}});
    let cases = [
        (
            json!({"$deleteFromPrimitiveList/finalizers": ["b", "c"]}),
            json!(["a"]),
        ),
        (
            json!({"$setElementOrder/finalizers": ["b", "c", "a"]}),
            json!(["b", "c", "a"]),
        ),
        // A union; upstream puts new items after the live ones they follow.
        (
            json!({"finalizers": ["b", "d"]}),
            json!(["a", "b", "d", "c"]),
        ),
    ];
    for (patch, want) in cases {
        let out = ok(&live, json!({ "metadata": patch }));
        assert_eq!(at(&out, "/metadata/finalizers"), &want);
    }
}

#[test]
fn list_replace_and_errors() {
    let live = deployment(json!([{"name": "a"}, {"name": "b"}]));
    let patch = pod_patch(json!({"containers": [{"name": "z"}, {"$patch": "replace"}]}));
    assert_eq!(at(&ok(&live, patch), CONTAINERS), &json!([{"name": "z"}]));
    let lists = json!({"metadata": {"finalizers": [["x"]]}});
    assert_eq!(
        smp(&live, lists),
        Err(PatchError::Apply(ERR_LIST_OF_LISTS.into()))
    );
    let no_key = pod_patch(json!({"containers": [{"image": "x"}]}));
    assert!(matches!(smp(&live, no_key), Err(PatchError::Malformed(_))));
}

#[test]
fn merge_patch_follows_rfc7386() {
    // The example of RFC 7386, section 3.
    let target = json!({"title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"], "content": "This will be unchanged"});
    let patch = br#"{"title": "Hello!", "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": null}, "tags": ["example"]}"#;
    let want = json!({"title": "Hello!", "author": {"givenName": "John"},
        "tags": ["example"], "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890"});
    assert_eq!(
        apply(PatchKind::Merge, &target, patch, Strategic::Refused),
        Ok(want)
    );
}

#[test]
fn json_patch_ops() {
    let doc = json!({"foo": "bar", "list": [1, 2], "gone": true});
    let ops = br#"[{"op": "add", "path": "/baz", "value": "qux"},
        {"op": "replace", "path": "/foo", "value": "new"},
        {"op": "remove", "path": "/gone"},
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "test", "path": "/baz", "value": "qux"}]"#;
    let want = json!({"foo": "new", "baz": "qux", "list": [1, 2, 3]});
    assert_eq!(
        apply(PatchKind::Json, &doc, ops, Strategic::Refused),
        Ok(want)
    );

    let failing = br#"[{"op": "test", "path": "/foo", "value": "nope"}]"#;
    let err = apply(PatchKind::Json, &doc, failing, Strategic::Refused).unwrap_err();
    assert!(matches!(err, PatchError::Apply(_)));
    assert_eq!((err.status_code(), err.reason()), (422, "Invalid"));
    let missing = br#"[{"op": "remove", "path": "/nope"}]"#;
    let err = apply(PatchKind::Json, &doc, missing, Strategic::Refused);
    assert!(matches!(err, Err(PatchError::Apply(_))));
}

#[test]
fn malformed_bodies() {
    let doc = json!({"a": 1});
    for kind in [PatchKind::Json, PatchKind::Merge, PatchKind::StrategicMerge] {
        let err = apply(kind, &doc, b"{not json", schema_of(&doc)).unwrap_err();
        assert!(err.to_string().starts_with("error decoding patch"), "{err}");
        assert_eq!(err.status_code(), 400);
    }
    let cases: [(PatchKind, &[u8]); 6] = [
        (PatchKind::Json, br#"{"op": "add"}"#),
        (PatchKind::Json, br#"[{"op": "frobnicate", "path": "/a"}]"#),
        (PatchKind::Merge, b"[1, 2]"),
        (PatchKind::Merge, b"null"),
        (PatchKind::StrategicMerge, b"[]"),
        (PatchKind::StrategicMerge, b"\"x\""),
    ];
    for (kind, body) in cases {
        let err = apply(kind, &doc, body, schema_of(&doc)).unwrap_err();
        assert!(matches!(err, PatchError::Malformed(_)), "{kind:?} {err}");
    }
}

#[test]
fn custom_resources_refuse_strategic_merge() {
    let cr = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 1}});
    for body in [&br#"{"spec": {"size": 2}}"#[..], b"garbage"] {
        let err = apply(PatchKind::StrategicMerge, &cr, body, Strategic::Refused).unwrap_err();
        assert!(matches!(err, PatchError::Unsupported(_)));
        assert_eq!(
            (err.status_code(), err.reason()),
            (415, "UnsupportedMediaType")
        );
    }
    let merged = apply(
        PatchKind::Merge,
        &cr,
        br#"{"spec": {"size": 2}}"#,
        Strategic::Refused,
    );
    assert_eq!(merged.map(|v| v["spec"]["size"].clone()), Ok(json!(2)));
}
