//! The schema of each served resource, built-in or custom, as one [`Node`].
//!
//! Built-in kinds resolve into the built-in definitions. A custom resource's
//! schema is its CRD's `openAPIV3Schema` completed the way upstream
//! publishes it: `apiVersion`, `kind` and `metadata` (a reference to
//! ObjectMeta, so finalizers and owner references carry their semantics)
//! are added, and so is its group-version-kind. The completed schema is
//! made once per served definition and kept, like the definitions
//! themselves (see `registry::resources::set_custom`).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::Node;
use super::builtin::{REF_PREFIX, builtin};
use crate::registry::resources::ResourceDef;

/// The schema of the objects of `def`: `None` for a custom resource whose
/// CRD declares no schema (or a kind without a definition).
pub(crate) fn root_for(def: &ResourceDef) -> Option<Node<'static>> {
    let b = builtin();
    let root = match def.custom {
        None => b.defs.get(b.name_of(def.group, def.version, def.kind)?)?,
        Some(_) => custom_schema(def)?,
    };
    Some(Node::new(&b.defs, root))
}

/// Upstream's definition name of a custom resource's kind: the reversed
/// group, the version and the kind (`com.example.stable.v1.CronTab`).
pub(crate) fn custom_definition_name(def: &ResourceDef) -> String {
    let mut parts: Vec<&str> = def.group.split('.').collect();
    parts.reverse();
    format!("{}.{}.{}", parts.join("."), def.version, def.kind)
}

/// Completed schemas of custom resources, by the address of their
/// definition (leaked and never freed, so an address names one CRD
/// version for good).
static CUSTOM: Mutex<Option<HashMap<usize, &'static Value>>> = Mutex::new(None);

/// The completed schema of a custom resource, made on first use.
pub(crate) fn custom_schema(def: &ResourceDef) -> Option<&'static Value> {
    let schema = def.custom?.schema.as_ref()?;
    let key = std::ptr::from_ref(def) as usize;
    let mut cache = CUSTOM.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(v) = cache.get(&key) {
        return Some(v);
    }
    let done: &'static Value = Box::leak(Box::new(complete(def, schema)));
    cache.insert(key, done);
    Some(done)
}

fn complete(def: &ResourceDef, schema: &Value) -> Value {
    let mut out = schema.clone();
    if let Value::Object(o) = &mut out {
        o.entry("type").or_insert_with(|| "object".into());
        let props = o
            .entry("properties")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(props) = props {
            props.insert(
                "apiVersion".into(),
                json!({ "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources", "type": "string" }),
            );
            props.insert(
                "kind".into(),
                json!({ "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds", "type": "string" }),
            );
            props.insert(
                "metadata".into(),
                json!({ "$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata" }),
            );
        }
        o.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{ "group": def.group, "version": def.version, "kind": def.kind }]),
        );
    }
    out
}
