//! The documents carry the schemas, custom resources included, and the
//! protobuf form decodes to the same document.

use serde_json::json;

use super::{docs, gnostic};
use crate::registry::crd::{Conversion, CustomInfo};
use crate::registry::resources::{self, ResourceDef};
use crate::schema::{ListType, root_for};

/// Length-delimited fields of a protobuf message: (field number, bytes).
fn fields(mut buf: &[u8]) -> Vec<(u32, &[u8])> {
    fn varint(buf: &mut &[u8]) -> u64 {
        let mut v = 0;
        for shift in (0..64).step_by(7) {
            let b = buf[0];
            *buf = &buf[1..];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf);
        match key & 7 {
            0 => {
                varint(&mut buf);
            }
            1 => buf = &buf[8..],
            2 => {
                let n = varint(&mut buf) as usize;
                out.push(((key >> 3) as u32, &buf[..n]));
                buf = &buf[n..];
            }
            w => panic!("unexpected wire type {w}"),
        }
    }
    out
}

fn field(buf: &[u8], n: u32) -> Vec<&[u8]> {
    fields(buf)
        .into_iter()
        .filter(|(f, _)| *f == n)
        .map(|(_, b)| b)
        .collect()
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("utf-8")
}

#[test]
fn protobuf_v2_decodes_to_the_json_document() {
    let built = docs::v2();
    let pb = gnostic::encode(&built);
    let doc = built.to_value();
    assert_eq!(text(field(&pb, 1)[0]), "2.0");
    let defs = field(&pb, 9);
    assert_eq!(defs.len(), 1);
    let named = field(defs[0], 1);
    assert_eq!(
        named.len(),
        doc["definitions"].as_object().expect("defs").len()
    );
    let deploy_spec = named
        .iter()
        .find(|n| text(field(n, 1)[0]) == "io.k8s.api.apps.v1.DeploymentSpec")
        .expect("DeploymentSpec");
    let schema = field(deploy_spec, 2)[0];
    // type (22) is TypeItem { value: ["object"] }.
    assert_eq!(text(field(field(schema, 22)[0], 1)[0]), "object");
    // properties (25): strategy carries retainKeys as a vendor extension (31).
    let props = field(field(schema, 25)[0], 1);
    let strategy = props
        .iter()
        .find(|p| text(field(p, 1)[0]) == "strategy")
        .expect("strategy");
    let s = field(strategy, 2)[0];
    assert_eq!(
        text(field(s, 1)[0]),
        "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
    );
    let ext = field(s, 31)
        .into_iter()
        .map(|e| (text(field(e, 1)[0]), text(field(field(e, 2)[0], 2)[0])))
        .collect::<Vec<_>>();
    assert!(
        ext.contains(&("x-kubernetes-patch-strategy", "\"retainKeys\"")),
        "{ext:?}"
    );
    // Paths (8) hold NamedPathItems (2), and a patch operation lists fieldValidation.
    let paths = field(field(&pb, 8)[0], 2);
    let item = paths
        .iter()
        .find(|p| text(field(p, 1)[0]) == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        .expect("deployment path");
    let patch = field(field(item, 2)[0], 8)[0];
    let names: Vec<&str> = field(patch, 8)
        .into_iter()
        .filter_map(|pi| {
            let param = field(pi, 1)[0];
            let nb = field(param, 2);
            nb.first().map(|nb| text(field(field(nb, 3)[0], 4)[0]))
        })
        .collect();
    assert!(names.contains(&"fieldValidation"), "{names:?}");
}

#[test]
fn v3_documents_carry_the_reachable_schemas() {
    let apps = docs::v3("apps", "v1").expect("apps/v1").to_value();
    let schemas = apps["components"]["schemas"].as_object().expect("schemas");
    for n in [
        "io.k8s.api.apps.v1.Deployment",
        "io.k8s.api.apps.v1.DeploymentList",
        "io.k8s.api.core.v1.PodSpec",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    ] {
        assert!(schemas.contains_key(n), "{n}");
    }
    assert!(!schemas.contains_key("io.k8s.api.core.v1.Service"));
    let selector = &schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["selector"];
    assert_eq!(
        selector["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
    );
    let ios = &schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(
        ios["oneOf"],
        json!([{ "type": "integer" }, { "type": "string" }])
    );
    assert!(ios.get("type").is_none());
    assert!(docs::v3("apps", "v9").is_none());
}

#[test]
fn custom_resources_join_both_documents() {
    let before = docs::served_hash(Some(("stable.example.com", "v1")));
    let info: &'static CustomInfo = Box::leak(Box::new(CustomInfo {
        crd_name: "crontabs.stable.example.com".into(),
        storage_version: "v1".into(),
        list_kind: "CronTabList".into(),
        scale: None,
        columns: Vec::new(),
        conversion: Conversion::None,
        selectable_fields: Vec::new(),
        deprecation: None,
        schema: Some(json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "cronSpec": { "type": "string" },
                        "replicas": { "type": "integer" },
                    },
                },
            },
        })),
    }));
    let mut def = ResourceDef::new(
        "stable.example.com",
        "v1",
        "CronTab",
        "crontabs",
        "crontab",
        true,
    );
    def.custom = Some(info);
    resources::set_custom("crontabs.stable.example.com", vec![def]);
    let after = docs::served_hash(Some(("stable.example.com", "v1")));
    assert_ne!(before, after);

    let v3 = docs::v3("stable.example.com", "v1")
        .expect("served")
        .to_value();
    let schemas = &v3["components"]["schemas"];
    let cron = &schemas["com.example.stable.v1.CronTab"];
    assert_eq!(
        cron["properties"]["spec"]["properties"]["cronSpec"]["type"],
        "string"
    );
    assert_eq!(
        cron["x-kubernetes-group-version-kind"],
        json!([{ "group": "stable.example.com", "version": "v1", "kind": "CronTab" }])
    );
    assert!(
        schemas
            .get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            .is_some()
    );
    assert!(schemas.get("com.example.stable.v1.CronTabList").is_some());
    assert!(
        v3["paths"]
            .get("/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}")
            .is_some()
    );
    let v2 = docs::v2().to_value();
    assert!(
        v2["definitions"]
            .get("com.example.stable.v1.CronTab")
            .is_some()
    );

    let def = resources::find("stable.example.com", "v1", "crontabs").expect("served");
    let root = root_for(def).expect("schema");
    let fin = root
        .field("metadata")
        .and_then(|m| m.field("finalizers"))
        .expect("finalizers");
    assert_eq!(fin.list_type(), ListType::Set);
    assert_eq!(
        root.field("spec")
            .and_then(|s| s.field("replicas"))
            .and_then(|r| r.type_name()),
        Some("integer")
    );

    resources::set_custom("crontabs.stable.example.com", Vec::new());
    assert!(docs::v3("stable.example.com", "v1").is_none());
    assert!(
        docs::v2().to_value()["definitions"]
            .get("com.example.stable.v1.CronTab")
            .is_none()
    );
}
