//! The schema a strategic merge patch walks for each built-in kind.
//!
//! Only the patch extensions matter to the merge, so the definitions here
//! (`builtin_meta.json`) hold just the paths from each kind down to the
//! fields upstream tags with a patch strategy, under upstream's definition
//! names; a field the schema does not describe merges as a map or is
//! replaced as a list, which is what upstream does with untagged fields.
//! When the full built-in OpenAPI definitions are available, [`root`] looks
//! the same names up there instead.

use std::sync::LazyLock;

use serde_json::Value;

use crate::registry::resources::ResourceDef;
use crate::schema::{Definitions, Node};

static DEFINITIONS: LazyLock<Definitions> = LazyLock::new(|| {
    match serde_json::from_str(include_str!("builtin_meta.json")) {
        Ok(Value::Object(defs)) => defs,
        // The file is compiled in and checked by a unit test.
        _ => Definitions::new(),
    }
});

/// Upstream's definition name of a built-in kind, e.g.
/// `io.k8s.api.apps.v1.Deployment`.
pub(crate) fn definition_name(group: &str, version: &str, kind: &str) -> String {
    match group {
        "" => format!("io.k8s.api.core.{version}.{kind}"),
        "apiextensions.k8s.io" => {
            format!("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}.{kind}")
        }
        "apiregistration.k8s.io" => {
            format!("io.k8s.kube-aggregator.pkg.apis.apiregistration.{version}.{kind}")
        }
        g => {
            let first = g.split('.').next().unwrap_or(g);
            format!("io.k8s.api.{first}.{version}.{kind}")
        }
    }
}

/// The schema of a kind in `defs`, if `defs` has its definition.
pub(crate) fn root_in<'a>(
    defs: &'a Definitions,
    group: &str,
    version: &str,
    kind: &str,
) -> Option<Node<'a>> {
    let schema = defs.get(&definition_name(group, version, kind))?;
    Some(Node::new(defs, schema))
}

/// The schema strategic merge patch walks for objects of the built-in
/// resource `def`. This is the one place to point at the full built-in
/// definitions once they are served.
pub(crate) fn root_of(def: &ResourceDef) -> Node<'static> {
    root(def.group, def.version, def.kind)
}

/// The schema strategic merge patch walks for a built-in kind. A kind
/// without patch-tagged fields of its own gets one with just the object
/// metadata, whose finalizers and owner references every kind shares.
pub(crate) fn root(group: &str, version: &str, kind: &str) -> Node<'static> {
    // Served kinds walk the full built-in definitions.
    if let Some(n) = crate::registry::resources::find_kind(group, version, kind)
        .and_then(crate::schema::root_for)
    {
        return n;
    }
    let defs: &'static Definitions = &DEFINITIONS;
    root_in(defs, group, version, kind).unwrap_or_else(|| {
        static GENERIC: Value = Value::Null;
        Node::new(defs, defs.get("generic").unwrap_or(&GENERIC))
    })
}
