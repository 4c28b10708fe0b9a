//! Builders of the OpenAPI documents: v2 (every served resource in one
//! document) and v3 (one document per group version), both with full
//! schemas. Definitions come from `schema::builtin_definitions` and, for
//! custom resources, from their CRD's schema, so a custom resource appears
//! as soon as it is served. Documents are built per request (they are
//! large and asked for rarely; caching them would cost megabytes of idle
//! memory); `served_hash` is cheap, so unchanged documents answer 304.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::super::discovery::KUBE_VERSION;
use crate::registry::resources::{self, ResourceDef, VerbSet};
use crate::schema::{self, REF_PREFIX};

const V3_PREFIX: &str = "#/components/schemas/";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";

/// Which document is being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    V2,
    V3,
}

pub(super) fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A digest of what the documents for the served resources (all of them,
/// or those of one group version) contain: changes when a resource or a
/// CRD schema is added, changed or removed, and with the binary.
pub(super) fn served_hash(gv: Option<(&str, &str)>) -> String {
    let mut h = DefaultHasher::new();
    build_id().hash(&mut h);
    for d in resources::all() {
        if gv.is_some_and(|(g, v)| d.group != g || d.version != v) {
            continue;
        }
        (d.group, d.version, d.kind, d.plural, d.namespaced).hash(&mut h);
        if let Some(s) = d.custom.and_then(|c| c.schema.as_ref()) {
            s.to_string().hash(&mut h);
        }
    }
    format!("{:016X}", h.finish())
}

/// Identifies this build of the binary, whose built-in schemas it carries:
/// the package version, and the executable's size and modification time,
/// so a rebuilt binary gets new hashes without a version bump.
fn build_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let meta = std::env::current_exe().and_then(std::fs::metadata).ok();
        let stamp = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!(
            "{}-{}-{stamp}",
            env!("CARGO_PKG_VERSION"),
            meta.map_or(0, |m| m.len())
        )
    })
}

/// The definition name of a served resource's kind and of its list.
fn names(d: &'static ResourceDef) -> Option<(String, Option<String>)> {
    if let Some(c) = d.custom {
        let n = schema::custom_definition_name(d);
        let list = n
            .strip_suffix(d.kind)
            .map(|p| format!("{p}{}", c.list_kind));
        return Some((n, list));
    }
    let b = schema::builtin();
    let kind = b.name_of(d.group, d.version, d.kind)?.to_owned();
    let list = b
        .name_of(d.group, d.version, &format!("{}List", d.kind))
        .map(str::to_owned);
    Some((kind, list))
}

/// The definitions a custom resource adds: its kind and its list.
fn custom_definitions(d: &'static ResourceDef, out: &mut Map<String, Value>) {
    let (Some(s), Some((name, Some(list)))) = (schema::custom_schema(d), names(d)) else {
        return;
    };
    let list_kind = d.custom.map_or("", |c| c.list_kind.as_str());
    out.insert(name.clone(), s.clone());
    out.insert(
        list,
        json!({
            "description": format!("{list_kind} is a list of {}", d.kind),
            "type": "object",
            "properties": {
                "apiVersion": { "type": "string", "description": "APIVersion defines the versioned schema of this representation of an object." },
                "items": {
                    "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/api-conventions.md", d.plural),
                    "type": "array",
                    "items": { "$ref": format!("{REF_PREFIX}{name}") },
                },
                "kind": { "type": "string", "description": "Kind is a string value representing the REST resource this object represents." },
                "metadata": { "$ref": format!("{REF_PREFIX}{META}ListMeta"), "description": "Standard list metadata." },
            },
            "required": ["items"],
            "x-kubernetes-group-version-kind": [{ "group": d.group, "version": d.version, "kind": list_kind }],
        }),
    );
}

fn param(style: Style, name: &str, place: &str) -> Value {
    let mut p = match style {
        Style::V2 => json!({ "name": name, "in": place, "type": "string", "uniqueItems": true }),
        Style::V3 => {
            json!({ "name": name, "in": place, "schema": { "type": "string", "uniqueItems": true } })
        }
    };
    if place == "path" {
        p["required"] = true.into();
    }
    p
}

fn reference(style: Style, name: &str) -> Value {
    match style {
        Style::V2 => json!({ "$ref": format!("{REF_PREFIX}{name}") }),
        Style::V3 => json!({ "$ref": format!("{V3_PREFIX}{name}") }),
    }
}

fn operation(
    style: Style,
    def: &ResourceDef,
    action: &str,
    params: &[&str],
    body: Option<&str>,
    returns: Option<&str>,
) -> Value {
    let mut parameters: Vec<Value> = params.iter().map(|p| param(style, p, "query")).collect();
    let mut op = json!({
        "operationId": format!("{action}{}", def.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": { "group": def.group, "version": def.version, "kind": def.kind },
    });
    let ok = match (style, returns) {
        (_, None) => json!({ "description": "OK" }),
        (Style::V2, Some(r)) => json!({ "description": "OK", "schema": reference(style, r) }),
        (Style::V3, Some(r)) => {
            json!({ "description": "OK", "content": { "application/json": { "schema": reference(style, r) } } })
        }
    };
    op["responses"] = json!({ "200": ok });
    if let Some(b) = body {
        match style {
            Style::V2 => parameters.push(json!({ "name": "body", "in": "body", "required": true, "schema": reference(style, b) })),
            Style::V3 => {
                op["requestBody"] = json!({ "content": { "*/*": { "schema": reference(style, b) } }, "required": true });
            }
        }
    }
    if style == Style::V2 {
        op["consumes"] = json!(["*/*"]);
        op["produces"] = json!(["application/json", "application/yaml"]);
        op["schemes"] = json!(["https"]);
    }
    op["parameters"] = Value::Array(parameters);
    op
}

/// The paths of one served resource.
fn resource_paths(style: Style, d: &'static ResourceDef, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(d.group, d.version));
    let scope = if d.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", d.plural)
    } else {
        format!("{base}/{}", d.plural)
    };
    let (kind, list) = names(d).unzip();
    let (kind, list) = (kind.as_deref(), list.flatten());
    let status = format!("{META}Status");
    let write = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
    let mut collection = Map::new();
    let mut item = Map::new();
    let list_params = [
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "watch",
    ];
    match d.verbs {
        VerbSet::CreateOnly => {
            collection.insert(
                "post".into(),
                operation(style, d, "post", &write, kind, kind),
            );
        }
        VerbSet::ReadOnly => {
            collection.insert(
                "get".into(),
                operation(style, d, "list", &list_params, None, list.as_deref()),
            );
            item.insert(
                "get".into(),
                operation(style, d, "get", &["pretty"], None, kind),
            );
        }
        VerbSet::Crud => {
            collection.insert(
                "get".into(),
                operation(style, d, "list", &list_params, None, list.as_deref()),
            );
            collection.insert(
                "post".into(),
                operation(style, d, "post", &write, kind, kind),
            );
            collection.insert(
                "delete".into(),
                operation(
                    style,
                    d,
                    "deletecollection",
                    &["dryRun", "labelSelector", "fieldSelector"],
                    None,
                    Some(&status),
                ),
            );
            item.insert(
                "get".into(),
                operation(style, d, "get", &["pretty"], None, kind),
            );
            item.insert("put".into(), operation(style, d, "put", &write, kind, kind));
            item.insert(
                "patch".into(),
                operation(
                    style,
                    d,
                    "patch",
                    &["dryRun", "fieldManager", "fieldValidation", "force"],
                    Some(&format!("{META}Patch")),
                    kind,
                ),
            );
            item.insert(
                "delete".into(),
                operation(
                    style,
                    d,
                    "delete",
                    &["dryRun", "gracePeriodSeconds", "propagationPolicy"],
                    None,
                    Some(&status),
                ),
            );
        }
    }
    let mut path_params = Vec::new();
    if d.namespaced {
        path_params.push(param(style, "namespace", "path"));
    }
    collection.insert("parameters".into(), Value::Array(path_params.clone()));
    paths.insert(scope.clone(), Value::Object(collection));
    if !item.is_empty() {
        path_params.push(param(style, "name", "path"));
        item.insert("parameters".into(), Value::Array(path_params));
        paths.insert(format!("{scope}/{{name}}"), Value::Object(item));
    }
}

/// A built document: everything but the definitions as JSON, and the
/// definitions by reference, so the built-in ones are written out without
/// being copied.
pub(super) struct Doc {
    pub(super) head: Map<String, Value>,
    /// Definitions of custom resources.
    custom: Map<String, Value>,
    /// The definitions in the document; `None`: every built-in and custom one.
    names: Option<Vec<String>>,
    style: Style,
    /// The built-in definitions with descriptions, held while the document
    /// is written.
    builtin: Arc<schema::Builtin>,
}

impl Doc {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.custom
            .get(name)
            .or_else(|| self.builtin.defs.get(name))
    }

    /// The definitions, by name, in v2 form.
    pub(super) fn definitions(&self) -> Box<dyn Iterator<Item = (&str, &Value)> + '_> {
        match &self.names {
            Some(names) => Box::new(
                names
                    .iter()
                    .filter_map(|n| self.lookup(n).map(|v| (n.as_str(), v))),
            ),
            None => Box::new(
                self.builtin
                    .defs
                    .iter()
                    .filter(|(n, _)| !self.custom.contains_key(*n))
                    .chain(self.custom.iter())
                    .map(|(n, v)| (n.as_str(), v)),
            ),
        }
    }

    /// The document as one JSON value (tests look into it).
    #[cfg(test)]
    pub(super) fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The definitions of a document as a JSON object.
struct Definitions<'a>(&'a Doc);

impl Serialize for Definitions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (name, v) in self.0.definitions() {
            match self.0.style {
                Style::V2 => m.serialize_entry(name, v)?,
                Style::V3 => m.serialize_entry(name, &V3Definition(name, v))?,
            }
        }
        m.end()
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in &self.head {
            m.serialize_entry(k, v)?;
        }
        match self.style {
            Style::V2 => m.serialize_entry("definitions", &Definitions(self))?,
            Style::V3 => {
                let mut schemas = BTreeMap::new();
                schemas.insert("schemas", Definitions(self));
                m.serialize_entry("components", &schemas)?;
            }
        }
        m.end()
    }
}

/// The Swagger 2.0 document of every served resource.
pub(super) fn v2() -> Doc {
    let mut paths = Map::new();
    let mut custom = Map::new();
    for d in resources::all() {
        resource_paths(Style::V2, d, &mut paths);
        if d.custom.is_some() {
            custom_definitions(d, &mut custom);
        }
    }
    let head = json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": KUBE_VERSION },
        "paths": paths,
    });
    Doc {
        head: head.as_object().cloned().unwrap_or_default(),
        custom,
        names: None,
        style: Style::V2,
        builtin: schema::documented(),
    }
}

/// The OpenAPI 3.0 document of one group version, `None` if nothing is
/// served there.
pub(super) fn v3(group: &str, version: &str) -> Option<Doc> {
    let served: Vec<&'static ResourceDef> = resources::all()
        .into_iter()
        .filter(|d| d.group == group && d.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut custom = Map::new();
    let mut roots = BTreeSet::new();
    for d in &served {
        resource_paths(Style::V3, d, &mut paths);
        if d.custom.is_some() {
            custom_definitions(d, &mut custom);
        }
        if let Some((k, l)) = names(d) {
            roots.insert(k);
            roots.extend(l);
        }
    }
    for m in ["Status", "DeleteOptions", "WatchEvent", "Patch"] {
        roots.insert(format!("{META}{m}"));
    }
    let head = json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": KUBE_VERSION },
        "paths": paths,
    });
    let mut doc = Doc {
        head: head.as_object().cloned().unwrap_or_default(),
        custom,
        names: None,
        style: Style::V3,
        builtin: schema::documented(),
    };
    // Everything the roots reference, transitively.
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    while let Some(n) = todo.pop() {
        if seen.contains(&n) {
            continue;
        }
        if let Some(s) = doc.lookup(&n) {
            collect_refs(s, &mut todo);
            seen.insert(n);
        }
    }
    doc.names = Some(seen.into_iter().collect());
    Some(doc)
}

/// A definition as v3 publishes it (see [`V3Schema`]). The two types that
/// take more than one JSON type are written as `oneOf` there (a string in
/// v2), which is also what makes `kubectl explain` name them
/// (`<IntOrString>`, `<Quantity>`).
struct V3Definition<'a>(&'a str, &'a Value);

impl Serialize for V3Definition<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let one_of = match self.0 {
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => ["integer", "string"],
            "io.k8s.apimachinery.pkg.api.resource.Quantity" => ["string", "number"],
            _ => return V3Schema(self.1).serialize(s),
        };
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.1.as_object().into_iter().flatten() {
            if k != "type" {
                m.serialize_entry(k, &V3Schema(v))?;
            }
        }
        m.serialize_entry(
            "oneOf",
            &json!([{ "type": one_of[0] }, { "type": one_of[1] }]),
        )?;
        m.end()
    }
}

/// A schema written for OpenAPI v3 while it is serialized: references
/// point into `components/schemas`, and a reference with siblings (a
/// field's own description) is wrapped in `allOf`, as upstream writes it.
struct V3Schema<'a>(&'a Value);

impl Serialize for V3Schema<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    match v.as_str() {
                        Some(r) if k == "$ref" => {
                            let target = format!("{V3_PREFIX}{}", r.trim_start_matches(REF_PREFIX));
                            if o.len() == 1 {
                                m.serialize_entry(k, &target)?;
                            } else {
                                m.serialize_entry("allOf", &[json!({ "$ref": target })])?;
                            }
                        }
                        _ => m.serialize_entry(k, &V3Schema(v))?,
                    }
                }
                m.end()
            }
            Value::Array(a) => s.collect_seq(a.iter().map(V3Schema)),
            other => other.serialize(s),
        }
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                out.push(r.trim_start_matches(REF_PREFIX).to_owned());
            }
            o.values().for_each(|c| collect_refs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}
