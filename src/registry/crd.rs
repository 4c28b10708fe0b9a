//! CustomResourceDefinitions: what a CRD adds to a served resource, and the
//! hooks the generic write, read and delete paths call for CRDs and for
//! custom objects.
//!
//! A CRD's served versions join the resource table when it is written
//! (`register`), so discovery, routing and every handler serve them at
//! once. Custom objects are decoded by pruning against their version's
//! structural schema (`values`), defaulted, validated, and stored at the
//! storage version; reads convert back to the requested version.

mod cleanup;
pub(crate) mod columns;
mod definition;
mod pattern;
mod rules;
mod structural;
mod values;
pub(crate) mod webhook;

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::resources::{self, Persistence, ResourceDef, Subresource, VerbSet, leak};
use super::validation::FieldError;
use super::write::FieldValidation;

/// The part of a served resource that comes from its CRD.
#[derive(Debug)]
pub(crate) struct CustomInfo {
    /// `metadata.name` of the CRD, `<plural>.<group>`.
    pub(crate) crd_name: String,
    /// The version objects are stored at.
    pub(crate) storage_version: String,
    /// This version's `openAPIV3Schema`.
    pub(crate) schema: Option<Value>,
    pub(crate) list_kind: String,
    /// The scale subresource's paths, when it is served.
    pub(crate) scale: Option<ScalePaths>,
    /// `additionalPrinterColumns` of this version.
    pub(crate) columns: Vec<columns::PrinterColumn>,
    pub(crate) conversion: Conversion,
    /// `selectableFields` JSONPaths (field selectors beyond name/namespace).
    pub(crate) selectable_fields: Vec<String>,
    /// The warning every request to a deprecated version gets.
    pub(crate) deprecation: Option<String>,
}

/// JSONPaths of the scale subresource (`.spec.replicas` and so on).
#[derive(Debug, Clone)]
pub(crate) struct ScalePaths {
    pub(crate) spec_replicas: String,
    pub(crate) status_replicas: String,
    pub(crate) label_selector: Option<String>,
}

/// How objects move between versions.
#[derive(Debug, Clone)]
pub(crate) enum Conversion {
    /// Only apiVersion changes.
    None,
    /// A conversion webhook; its `spec.conversion.webhook` object.
    Webhook(Value),
}

fn is_crd(def: &ResourceDef) -> bool {
    def.group == "apiextensions.k8s.io" && def.kind == "CustomResourceDefinition"
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

fn leak_list(items: Vec<String>) -> &'static [&'static str] {
    let v: Vec<&'static str> = items.iter().map(|s| leak(s)).collect();
    Box::leak(v.into_boxed_slice())
}

/// The served resources of a CRD, one per served version.
fn resource_defs(crd: &Value) -> Vec<ResourceDef> {
    let names = crd
        .pointer("/status/acceptedNames")
        .cloned()
        .unwrap_or(json!({}));
    let group = leak(str_at(crd, "/spec/group"));
    let kind = leak(str_at(&names, "/kind"));
    let plural = leak(str_at(&names, "/plural"));
    let singular = leak(str_at(&names, "/singular"));
    let list_kind = str_at(&names, "/listKind").to_string();
    let short_names = leak_list(strings(names.get("shortNames")));
    let categories = leak_list(strings(names.get("categories")));
    let namespaced = str_at(crd, "/spec/scope") == "Namespaced";
    let storage_version = definition::storage_version(crd).unwrap_or_default();
    let conversion = match str_at(crd, "/spec/conversion/strategy") {
        "Webhook" => Conversion::Webhook(
            crd.pointer("/spec/conversion/webhook")
                .cloned()
                .unwrap_or(Value::Null),
        ),
        _ => Conversion::None,
    };
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut served: Vec<&Value> = versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .collect();
    // Discovery lists a group's versions by priority; the first is preferred.
    served.sort_by_key(|v| version_priority(str_at(v, "/name")));
    served
        .into_iter()
        .map(|v| {
            let mut subs = Vec::new();
            if v.pointer("/subresources/status").is_some() {
                subs.push(Subresource::Status);
            }
            let scale = v.pointer("/subresources/scale").map(|s| ScalePaths {
                spec_replicas: str_at(s, "/specReplicasPath").to_string(),
                status_replicas: str_at(s, "/statusReplicasPath").to_string(),
                label_selector: s
                    .get("labelSelectorPath")
                    .and_then(Value::as_str)
                    .map(String::from),
            });
            if scale.is_some() {
                subs.push(Subresource::Scale);
            }
            let info = CustomInfo {
                crd_name: super::meta::name(crd).to_string(),
                storage_version: storage_version.clone(),
                schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                list_kind: list_kind.clone(),
                scale,
                columns: columns::parse(v.get("additionalPrinterColumns")),
                conversion: conversion.clone(),
                selectable_fields: v
                    .get("selectableFields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                    .map(String::from)
                    .collect(),
                deprecation: deprecation(crd, v),
            };
            ResourceDef {
                group,
                version: leak(str_at(v, "/name")),
                kind,
                plural,
                singular,
                namespaced,
                short_names,
                categories,
                subresources: Box::leak(subs.into_boxed_slice()),
                verbs: VerbSet::Crud,
                persistence: Persistence::Durable,
                custom: Some(Box::leak(Box::new(info))),
            }
        })
        .collect()
}

/// Upstream's warning for a deprecated version: its deprecationWarning, or
/// `<group>/<version> <Kind> is deprecated`, naming the most preferred
/// served, not deprecated version that ranks above it.
fn deprecation(crd: &Value, version: &Value) -> Option<String> {
    if version.get("deprecated").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    if let Some(w) = version.get("deprecationWarning").and_then(Value::as_str) {
        return Some(w.to_string());
    }
    let group = str_at(crd, "/spec/group");
    let kind = str_at(crd, "/spec/names/kind");
    let name = str_at(version, "/name");
    let mut msg = format!("{group}/{name} {kind} is deprecated");
    let mut newer: Vec<&str> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| {
            v.get("served").and_then(Value::as_bool) == Some(true)
                && v.get("deprecated").and_then(Value::as_bool) != Some(true)
                && version_priority(str_at(v, "/name")) < version_priority(name)
        })
        .map(|v| str_at(v, "/name"))
        .collect();
    newer.sort_by_key(|v| version_priority(v));
    if let Some(v) = newer.first() {
        msg.push_str(&format!("; use {group}/{v} {kind}"));
    }
    Some(msg)
}

/// The deprecation warning of a custom resource version, if any.
pub(crate) fn deprecation_warning(def: &ResourceDef) -> Option<&'static str> {
    def.custom.and_then(|c| c.deprecation.as_deref())
}

/// Upstream's "kube-aware" version order as a sort key: GA before beta
/// before alpha, higher numbers first, other names last, alphabetically.
fn version_priority(v: &str) -> (u8, std::cmp::Reverse<u64>, std::cmp::Reverse<u64>, String) {
    let parsed = v.strip_prefix('v').and_then(|rest| {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: u64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        let (level, minor) = if tail.is_empty() {
            (0, "0")
        } else if let Some(m) = tail.strip_prefix("beta") {
            (1, m)
        } else if let Some(m) = tail.strip_prefix("alpha") {
            (2, m)
        } else {
            return None;
        };
        let minor: u64 = if minor.is_empty() {
            0
        } else {
            minor.parse().ok()?
        };
        (major > 0).then_some((level, major, minor))
    });
    match parsed {
        Some((level, major, minor)) => (
            level,
            std::cmp::Reverse(major),
            std::cmp::Reverse(minor),
            String::new(),
        ),
        None => (3, std::cmp::Reverse(0), std::cmp::Reverse(0), v.to_string()),
    }
}

/// Serves (or stops serving) what a stored CRD defines: nothing unless it
/// is established.
pub(crate) fn register(crd: &Value) {
    let name = super::meta::name(crd);
    // Rows are leaked for the life of the process, so they are only
    // rebuilt when what they are made of changed (not on metadata edits).
    let shape = definition::established(crd)
        .then(|| json!([crd.get("spec"), crd.pointer("/status/acceptedNames")]));
    {
        let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
        let registered = registered.get_or_insert_with(Default::default);
        if registered.get(name) == Some(&shape) {
            return;
        }
        registered.insert(name.to_string(), shape.clone());
    }
    match shape {
        Some(_) => resources::set_custom(name, resource_defs(crd)),
        None => resources::set_custom(name, Vec::new()),
    }
}

/// Stops serving a CRD's resources.
pub(crate) fn unregister(name: &str) {
    REGISTERED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Default::default)
        .remove(name);
    resources::set_custom(name, Vec::new());
}

/// What each CRD's served rows were built from (spec and accepted names;
/// `None` when its names are not accepted).
static REGISTERED: std::sync::Mutex<Option<std::collections::HashMap<String, Option<Value>>>> =
    std::sync::Mutex::new(None);

/// The resource of the storage version of a CRD, if it is served.
fn storage_def(crd_name: &str) -> Option<&'static ResourceDef> {
    resources::all().into_iter().find(|d| {
        d.custom
            .is_some_and(|c| c.crd_name == crd_name && c.storage_version == d.version)
    })
}

/// Decoding of a custom object: unknown fields are pruned and reported as
/// the typed decoder reports them.
pub(crate) fn decode(
    def: &ResourceDef,
    body: &Value,
    mode: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    // metadata is ObjectMeta whatever the schema says: its types are checked
    // as the typed decoder checks them.
    if let Some(m) = body.get("metadata") {
        let checked: std::result::Result<
            k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            _,
        > = serde_path_to_error::deserialize(m);
        if let Err(e) = checked {
            return Err(ApiError::bad_request(format!(
                "{kind} in version \"{v}\" cannot be handled as a {kind}: metadata.{path}: {err}",
                kind = def.kind,
                v = def.version,
                path = e.path(),
                err = e.inner(),
            )));
        }
    }
    let mut obj = body.clone();
    let mut unknown = Vec::new();
    if let Some(schema) = def.custom.and_then(|c| c.schema.as_ref()) {
        values::prune(schema, &mut obj, "", true, &mut unknown);
    }
    if !unknown.is_empty() {
        let msgs: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        match mode {
            FieldValidation::Strict => {
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                    msgs.join(", "),
                    kind = def.kind,
                    v = def.version,
                )));
            }
            FieldValidation::Warn => warnings.extend(msgs),
            FieldValidation::Ignore => {}
        }
    }
    // Everything after decoding works on the stored form; the schema
    // checks ignore apiVersion, so they still apply to the request's.
    // Defaults are those of the request's version, as upstream applies
    // them when decoding.
    if needs_webhook_to_storage(def)
        && let Some(schema) = def.custom.and_then(|c| c.schema.as_ref())
    {
        values::default(schema, &mut obj);
    }
    to_storage(def, &mut obj)?;
    Ok(obj)
}

/// Without a status subresource, status is part of what a client changes:
/// a status change is a new generation too.
pub(crate) fn status_bumps_generation(def: &ResourceDef, old: &Value, new: &Value) -> bool {
    def.custom.is_some()
        && !def.subresources.contains(&Subresource::Status)
        && old.get("status") != new.get("status")
}

/// What the server adds before validation: schema defaults of custom
/// objects; defaults and server-owned status of CRDs.
pub(crate) fn prepare(def: &ResourceDef, obj: &mut Value, old: Option<&Value>, status_only: bool) {
    if needs_webhook(def, obj) {
        // Another version's fields: the stored form gets its own defaults.
        if let Some(schema) = stored_schema(def, obj) {
            values::default(schema, obj);
        }
    } else if let Some(schema) = def.custom.and_then(|c| c.schema.as_ref()) {
        values::default(schema, obj);
    } else if is_crd(def) && !status_only {
        definition::apply_defaults(obj);
        definition::set_status(obj, old);
    }
}

/// Schema validation of custom objects and validation of CRDs.
///
/// An object stored at another version through a conversion webhook is
/// converted back first: the request's version is validated with its own
/// schema, as upstream validates before converting for storage.
pub(crate) fn validate(
    def: &ResourceDef,
    obj: &Value,
    old: Option<&Value>,
) -> Result<Vec<FieldError>> {
    if needs_webhook(def, obj) {
        let (obj, old) = at_request_version(def, obj, old)?;
        return validate(def, &obj, old.as_ref());
    }
    let mut errs = Vec::new();
    if let Some(schema) = def.custom.and_then(|c| c.schema.as_ref()) {
        values::validate(schema, obj, "", &mut errs);
        if let Some(old) = old {
            values::ratchet(&mut errs, obj, old);
        }
        // Rules see well-typed values only, as upstream's do.
        if !errs.iter().any(|e| e.detail.contains(" must be of type ")) {
            rules::check(schema, obj, old, "", &mut errs);
        }
    } else if is_crd(def) {
        errs = definition::validate(obj, old);
    }
    Ok(errs)
}

/// Converts a custom object to the version `to` of its resource.
///
/// Strategy None rewrites apiVersion only; Webhook sends the object to the
/// CRD's conversion webhook in a ConversionReview.
pub(crate) fn convert(def: &ResourceDef, obj: &mut Value, to: &str) -> Result<()> {
    let mut all = convert_all(def, vec![obj.clone()], to)?;
    *obj = all.pop().unwrap_or_default();
    Ok(())
}

/// Converts objects of `def`'s kind to its version `to`; webhook
/// conversion sends all that need it in one ConversionReview, as upstream
/// converts a list.
fn convert_all(def: &ResourceDef, mut objects: Vec<Value>, to: &str) -> Result<Vec<Value>> {
    let Some(info) = def.custom else {
        return Ok(objects);
    };
    let want = format!("{}/{to}", def.group);
    match &info.conversion {
        Conversion::None => {
            for o in objects.iter_mut().filter_map(Value::as_object_mut) {
                o.insert("apiVersion".into(), json!(want));
            }
            Ok(objects)
        }
        Conversion::Webhook(config) => webhook::convert(config, objects, &want),
    }
}

/// Whether `obj` is at another version than `def`'s and only a webhook
/// can convert it.
fn needs_webhook(def: &ResourceDef, obj: &Value) -> bool {
    def.custom
        .is_some_and(|c| matches!(c.conversion, Conversion::Webhook(_)))
        && obj.get("apiVersion").and_then(Value::as_str)
            != Some(format!("{}/{}", def.group, def.version).as_str())
}

/// Whether writes at `def`'s version go through the conversion webhook.
fn needs_webhook_to_storage(def: &ResourceDef) -> bool {
    def.custom.is_some_and(|c| {
        matches!(c.conversion, Conversion::Webhook(_)) && c.storage_version != def.version
    })
}

/// The schema of the version `obj` is at.
fn stored_schema(def: &ResourceDef, obj: &Value) -> Option<&'static Value> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str)?;
    let version = api_version.rsplit_once('/').map_or(api_version, |(_, v)| v);
    resources::find(def.group, version, def.plural)?
        .custom?
        .schema
        .as_ref()
}

/// A stored-form object and its old version converted back to `def`'s
/// version, with one ConversionReview.
fn at_request_version(
    def: &ResourceDef,
    obj: &Value,
    old: Option<&Value>,
) -> Result<(Value, Option<Value>)> {
    let mut objects = vec![obj.clone()];
    objects.extend(old.cloned());
    let mut out = convert_all(def, objects, def.version)?.into_iter();
    let obj = out.next().unwrap_or_default();
    Ok((obj, out.next()))
}

/// The object at the version it is stored at.
fn to_storage(def: &ResourceDef, obj: &mut Value) -> Result<()> {
    match def.custom {
        Some(info) => convert(def, obj, &info.storage_version),
        None => Ok(()),
    }
}

/// A stored custom object as a client of `def`'s version sees it: converted
/// and with that version's defaults applied.
pub(crate) fn present(def: &ResourceDef, stored: &Value) -> Result<Value> {
    let mut all = present_all(def, vec![stored.clone()])?;
    Ok(all.pop().unwrap_or_default())
}

/// [`present`] of the objects of one list, converted together.
pub(crate) fn present_all(def: &ResourceDef, stored: Vec<Value>) -> Result<Vec<Value>> {
    let mut all = convert_all(def, stored, def.version)?;
    if let Some(schema) = def.custom.and_then(|c| c.schema.as_ref()) {
        for obj in &mut all {
            values::default(schema, obj);
        }
    }
    Ok(all)
}

/// Custom resources have no strategic merge patch (no patch strategies
/// without Go types), as upstream refuses it.
pub(crate) fn check_patch_kind(def: &ResourceDef, kind: super::patch::PatchKind) -> Result<()> {
    if def.custom.is_some() && kind == super::patch::PatchKind::StrategicMerge {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        ));
    }
    Ok(())
}

/// After a CRD was committed: serve what it defines now.
pub(crate) fn committed(def: &ResourceDef, stored: &Value) {
    if is_crd(def) && !super::meta::is_deleting(stored) {
        register(stored);
    }
}

/// The field labels a custom resource's selectableFields add to field
/// selectors (`.spec.color` selects as `spec.color`).
pub(crate) fn field_labels(def: &ResourceDef) -> Vec<String> {
    def.custom
        .map(|c| {
            c.selectable_fields
                .iter()
                .map(|p| p.trim_start_matches('.').to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the value at a simple JSONPath (`.spec.replicas`).
pub(crate) fn at_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
    {
        cur = cur.get(seg)?;
    }
    Some(cur)
}

fn set_path(obj: &mut Value, path: &str, value: Value) {
    let segs: Vec<&str> = path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    let mut cur = obj;
    for (i, seg) in segs.iter().enumerate() {
        let Some(o) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == segs.len() {
            o.insert((*seg).to_string(), value);
            return;
        }
        cur = o.entry(*seg).or_insert_with(|| json!({}));
    }
}

/// The Scale of a custom object at `def`'s version: its scale paths are
/// that version's, so an object stored at another version through a
/// webhook is converted first.
pub(crate) fn scale_at_version(def: &ResourceDef, info: &CustomInfo, obj: &Value) -> Result<Value> {
    if needs_webhook(def, obj) {
        return Ok(scale_of(info, &present(def, obj)?));
    }
    Ok(scale_of(info, obj))
}

/// A stored custom object with its replicas set at `def`'s version's
/// path, converted through the webhook there and back when needed.
pub(crate) fn with_replicas(
    def: &ResourceDef,
    info: &CustomInfo,
    stored: &Value,
    replicas: i64,
) -> Result<Value> {
    if !needs_webhook(def, stored) {
        let mut new = stored.clone();
        set_replicas(info, &mut new, replicas);
        return Ok(new);
    }
    let mut new = present(def, stored)?;
    set_replicas(info, &mut new, replicas);
    to_storage(def, &mut new)?;
    Ok(new)
}

/// The autoscaling/v1 Scale of a custom object.
pub(crate) fn scale_of(info: &CustomInfo, obj: &Value) -> Value {
    let paths = info.scale.clone().unwrap_or(ScalePaths {
        spec_replicas: ".spec.replicas".into(),
        status_replicas: ".status.replicas".into(),
        label_selector: None,
    });
    let scale_meta = super::write::scale_metadata(obj);
    let mut status = json!({
        "replicas": at_path(obj, &paths.status_replicas).cloned().unwrap_or(json!(0)),
    });
    if let Some(sel) = paths
        .label_selector
        .as_deref()
        .and_then(|p| at_path(obj, p))
        .and_then(Value::as_str)
    {
        status["selector"] = json!(sel);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": { "replicas": at_path(obj, &paths.spec_replicas).cloned().unwrap_or(json!(0)) },
        "status": status,
    })
}

/// Writes the desired replicas of a scale update into a custom object.
fn set_replicas(info: &CustomInfo, obj: &mut Value, replicas: i64) {
    let path = info
        .scale
        .as_ref()
        .map_or(".spec.replicas", |s| s.spec_replicas.as_str());
    set_path(obj, path, json!(replicas));
}

/// Registers the stored CRDs again at start-up and resumes the cleanup of
/// those being deleted.
pub(crate) fn load(registry: &super::Registry) {
    let Some(def) = resources::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return;
    };
    let crds = registry.list_all(def);
    for crd in &crds {
        register(crd);
    }
    for crd in crds.iter().filter(|c| super::meta::is_deleting(c)) {
        registry.clean_up_crd(super::meta::name(crd).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def_with(conversion: Conversion) -> ResourceDef {
        let info = CustomInfo {
            crd_name: "crontabs.stable.example.com".into(),
            storage_version: "v1".into(),
            schema: None,
            list_kind: "CronTabList".into(),
            scale: None,
            columns: Vec::new(),
            conversion,
            selectable_fields: Vec::new(),
            deprecation: None,
        };
        let mut def = ResourceDef::new(
            "stable.example.com",
            "v1beta1",
            "CronTab",
            "crontabs",
            "crontab",
            true,
        );
        def.custom = Some(Box::leak(Box::new(info)));
        def
    }

    #[test]
    fn conversion_none_rewrites_api_version_only() {
        let def = def_with(Conversion::None);
        let stored =
            json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab", "spec": {"a": 1}});
        let shown = present(&def, &stored).unwrap();
        assert_eq!(
            shown,
            json!({"apiVersion": "stable.example.com/v1beta1", "kind": "CronTab", "spec": {"a": 1}})
        );
        let mut back = shown;
        to_storage(&def, &mut back).unwrap();
        assert_eq!(back, stored);
    }

    #[test]
    fn webhook_conversion_outside_the_server_runtime_fails_cleanly() {
        let def = def_with(Conversion::Webhook(json!({
            "conversionReviewVersions": ["v1"],
            "clientConfig": {"service": {"namespace": "crons", "name": "converter"}}
        })));
        let want = "Internal error occurred: conversion webhook for stable.example.com/v1beta1, Kind=CronTab failed: conversion webhooks need the server's multi-threaded runtime";
        // No runtime at all.
        let mut obj = json!({"apiVersion": "stable.example.com/v1beta1", "kind": "CronTab"});
        let err = to_storage(&def, &mut obj).unwrap_err();
        assert_eq!((err.code, err.reason), (500, "InternalError"));
        assert_eq!(err.message, want);
        // A single-threaded runtime cannot block for the webhook.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(async { to_storage(&def, &mut obj).unwrap_err() });
        assert_eq!(err.message, want);
        // Reads and writes at the storage version need no conversion.
        let mut same = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab"});
        assert!(to_storage(&def, &mut same).is_ok());
        // Reading it at v1beta1 names the stored version.
        let err = present_all(&def, vec![same]).unwrap_err();
        assert!(
            err.message.starts_with(
                "Internal error occurred: conversion webhook for stable.example.com/v1, Kind=CronTab failed: "
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn decoding_checks_metadata_types_and_reports_unknown_fields() {
        let def = def_with(Conversion::None);
        let bad = json!({"apiVersion": "stable.example.com/v1beta1", "kind": "CronTab",
            "metadata": {"name": "x", "labels": {"a": 1}}});
        let err = decode(&def, &bad, FieldValidation::Strict, &mut Vec::new()).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message.starts_with(
                "CronTab in version \"v1beta1\" cannot be handled as a CronTab: metadata.labels.a: "
            ),
            "{}",
            err.message
        );
        // Without a schema nothing is pruned; the object is stored at v1.
        let ok = json!({"apiVersion": "stable.example.com/v1beta1", "kind": "CronTab",
            "metadata": {"name": "x"}, "spec": {"any": 1}});
        let stored = decode(&def, &ok, FieldValidation::Strict, &mut Vec::new()).unwrap();
        assert_eq!(stored["apiVersion"], "stable.example.com/v1");
        assert_eq!(stored["spec"]["any"], 1);
    }

    #[test]
    fn versions_sort_like_upstream_discovery() {
        let mut v = vec![
            "foo",
            "v1beta1",
            "v2alpha1",
            "v1",
            "v11beta2",
            "v10",
            "v12alpha1",
            "v3beta1",
            "bar",
            "v10beta3",
        ];
        v.sort_by_key(|x| version_priority(x));
        assert_eq!(
            v,
            [
                "v10",
                "v1",
                "v11beta2",
                "v10beta3",
                "v3beta1",
                "v1beta1",
                "v12alpha1",
                "v2alpha1",
                "bar",
                "foo"
            ]
        );
    }
}
