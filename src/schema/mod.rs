//! OpenAPI schemas of served kinds, and one walker over them that strategic
//! merge patch, server-side apply, pruning, defaulting and the OpenAPI
//! documents share.
//!
//! A schema is plain OpenAPI v3 JSON, as upstream publishes it: `$ref`s into
//! a map of named definitions (`#/components/schemas/<name>` or
//! `#/definitions/<name>`), single-element `allOf` wrappers around a `$ref`,
//! and the `x-kubernetes-*` extensions that carry list, map and patch
//! semantics. Built-in kinds and CRD schemas are walked the same way.

use serde_json::{Map, Value};

mod builtin;
mod extensions;
mod served;
#[cfg(test)]
mod table_tests;

pub(crate) use builtin::{Builtin, REF_PREFIX, builtin, documented};
pub(crate) use served::{custom_definition_name, custom_schema, root_for};

/// The built-in definitions (every built-in kind, its list, and the meta
/// types), built on the first call.
pub(crate) fn builtin_definitions() -> &'static Definitions {
    &builtin().defs
}

/// Named schema definitions a `$ref` can point into.
pub(crate) type Definitions = Map<String, Value>;

/// How a list is merged by server-side apply (`x-kubernetes-list-type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListType<'a> {
    /// Replaced as a whole (the default).
    Atomic,
    /// Scalars, each owned on its own.
    Set,
    /// Objects identified by the values of these keys.
    Map(Vec<&'a str>),
}

/// Strategic merge patch semantics of a field (`x-kubernetes-patch-strategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PatchStrategy {
    /// `merge`: lists are merged (by the merge key for lists of objects).
    pub(crate) merge: bool,
    /// `retainKeys`: fields absent from the patch are cleared.
    pub(crate) retain_keys: bool,
    /// `replace`: the field is replaced as a whole.
    pub(crate) replace: bool,
}

/// One place in a schema. `outer` is the schema as written at the place
/// (a property, `items`, `additionalProperties`), which may hold extensions
/// beside a `$ref`; `inner` is what the reference resolves to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    defs: &'a Definitions,
    outer: &'a Value,
    inner: &'a Value,
}

fn resolve<'a>(defs: &'a Definitions, mut v: &'a Value) -> &'a Value {
    // Bounded, so a reference cycle cannot hang a request.
    for _ in 0..16 {
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r);
            match defs.get(name) {
                Some(d) => {
                    v = d;
                    continue;
                }
                None => return v,
            }
        }
        match v.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            Some([one]) if v.get("properties").is_none() => v = one,
            _ => return v,
        }
    }
    v
}

impl<'a> Node<'a> {
    /// A node for `schema`, resolving references against `defs`.
    pub(crate) fn new(defs: &'a Definitions, schema: &'a Value) -> Node<'a> {
        Node {
            defs,
            outer: schema,
            inner: resolve(defs, schema),
        }
    }

    /// The resolved schema.
    pub(crate) fn schema(&self) -> &'a Value {
        self.inner
    }

    /// The definitions references resolve against.
    pub(crate) fn definitions(&self) -> &'a Definitions {
        self.defs
    }

    /// An extension or keyword, looked up where it was written first and
    /// then on the resolved definition.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.outer.get(key).or_else(|| self.inner.get(key))
    }

    /// `type` of the resolved schema ("object", "array", "string", ...).
    pub(crate) fn type_name(&self) -> Option<&'a str> {
        self.inner.get("type").and_then(Value::as_str)
    }

    /// The schema of property `name` of an object.
    pub(crate) fn field(&self, name: &str) -> Option<Node<'a>> {
        let p = self.inner.get("properties")?.get(name)?;
        Some(Node::new(self.defs, p))
    }

    /// The property names of an object, if it declares any.
    pub(crate) fn field_names(&self) -> impl Iterator<Item = &'a str> {
        self.inner
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }

    /// The schema of a list's items.
    pub(crate) fn items(&self) -> Option<Node<'a>> {
        let i = self.inner.get("items")?;
        i.is_object().then(|| Node::new(self.defs, i))
    }

    /// The schema of a map's values (`additionalProperties` as a schema).
    pub(crate) fn additional(&self) -> Option<Node<'a>> {
        let a = self.inner.get("additionalProperties")?;
        a.is_object().then(|| Node::new(self.defs, a))
    }

    /// `x-kubernetes-list-type`, with `x-kubernetes-list-map-keys`.
    pub(crate) fn list_type(&self) -> ListType<'a> {
        match self.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                self.get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|ks| ks.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default(),
            ),
            _ => ListType::Atomic,
        }
    }

    /// Whether a map or struct is replaced as a whole by apply
    /// (`x-kubernetes-map-type: atomic`).
    pub(crate) fn is_atomic_map(&self) -> bool {
        self.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
    }

    /// `x-kubernetes-patch-strategy`, a comma-separated list.
    pub(crate) fn patch_strategy(&self) -> PatchStrategy {
        let mut s = PatchStrategy::default();
        if let Some(v) = self
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
        {
            for part in v.split(',') {
                match part.trim() {
                    "merge" => s.merge = true,
                    "retainKeys" => s.retain_keys = true,
                    "replace" => s.replace = true,
                    _ => {}
                }
            }
        }
        s
    }

    /// `x-kubernetes-patch-merge-key`.
    pub(crate) fn patch_merge_key(&self) -> Option<&'a str> {
        self.get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
    }

    /// `x-kubernetes-preserve-unknown-fields: true`.
    pub(crate) fn preserves_unknown_fields(&self) -> bool {
        self.get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// `x-kubernetes-int-or-string: true`.
    pub(crate) fn is_int_or_string(&self) -> bool {
        self.get("x-kubernetes-int-or-string")
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// `x-kubernetes-embedded-resource: true`.
    pub(crate) fn is_embedded_resource(&self) -> bool {
        self.get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Definitions {
        json!({
            "io.k8s.api.core.v1.PodSpec": {
                "type": "object",
                "properties": {
                    "containers": {
                        "type": "array",
                        "items": { "$ref": "#/components/schemas/io.k8s.api.core.v1.Container" },
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "x-kubernetes-patch-strategy": "merge",
                        "x-kubernetes-patch-merge-key": "name",
                    },
                    "nodeSelector": {
                        "type": "object",
                        "additionalProperties": { "type": "string" },
                        "x-kubernetes-map-type": "atomic",
                    },
                    "volumes": {
                        "type": "array",
                        "items": { "type": "object" },
                        "x-kubernetes-patch-strategy": "merge,retainKeys",
                    },
                },
            },
            "io.k8s.api.core.v1.Container": {
                "type": "object",
                "properties": { "name": { "type": "string" } },
            },
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    #[test]
    fn walks_references_and_reads_extensions() {
        let defs = defs();
        let root = json!({ "allOf": [{ "$ref": "#/definitions/io.k8s.api.core.v1.PodSpec" }] });
        let spec = Node::new(&defs, &root);
        assert_eq!(spec.type_name(), Some("object"));
        let containers = spec.field("containers").expect("containers");
        assert_eq!(containers.list_type(), ListType::Map(vec!["name"]));
        assert_eq!(containers.patch_merge_key(), Some("name"));
        assert!(containers.patch_strategy().merge);
        let item = containers.items().expect("items");
        assert_eq!(item.field_names().collect::<Vec<_>>(), vec!["name"]);
        assert!(spec.field("nodeSelector").expect("ns").is_atomic_map());
        let volumes = spec.field("volumes").expect("volumes").patch_strategy();
        assert!(volumes.merge && volumes.retain_keys && !volumes.replace);
        assert!(spec.field("missing").is_none());
        assert_eq!(
            spec.field("volumes").expect("v").list_type(),
            ListType::Atomic
        );
    }

    #[test]
    fn a_reference_cycle_ends() {
        let defs =
            json!({ "a": { "$ref": "#/definitions/b" }, "b": { "$ref": "#/definitions/a" } })
                .as_object()
                .cloned()
                .expect("object");
        let root = json!({ "$ref": "#/definitions/a" });
        assert!(Node::new(&defs, &root).type_name().is_none());
    }
}
