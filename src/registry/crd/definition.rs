//! The CustomResourceDefinition object itself: upstream's defaults, its
//! validation (names, versions, structural schemas), and the status the
//! server keeps (conditions, acceptedNames, storedVersions).

use serde_json::{Value, json};

use super::structural;
use crate::registry::meta;
use crate::registry::resources;
use crate::registry::validation::{FieldError, is_dns1035_label, is_dns1123_subdomain, render};

/// The finalizer that holds a CRD until its objects are deleted.
pub(crate) const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Upstream's v1 defaults: singular and listKind from the kind, conversion
/// strategy None.
pub(crate) fn apply_defaults(crd: &mut Value) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if names
            .get("singular")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if names
            .get("listKind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
            && !kind.is_empty()
        {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    if !spec.contains_key("conversion") {
        spec.insert("conversion".into(), json!({ "strategy": "None" }));
    }
    if let Some(versions) = spec.get_mut("versions").and_then(Value::as_array_mut) {
        for v in versions {
            if let Some(schema) = v.pointer_mut("/schema/openAPIV3Schema") {
                whole_bounds(schema);
            }
        }
    }
}

/// Bounds are float64 in the typed form; Go writes a whole one as `10`,
/// not `10.0`, so they are kept as integers when they are whole.
fn whole_bounds(schema: &mut Value) {
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    for key in ["maximum", "minimum", "multipleOf"] {
        if let Some(n) = o.get(key).and_then(Value::as_f64)
            && n.fract() == 0.0
            && n.abs() < 9.0e15
        {
            o.insert(key.into(), json!(n as i64));
        }
    }
    for key in ["properties", "patternProperties", "definitions"] {
        if let Some(m) = o.get_mut(key).and_then(Value::as_object_mut) {
            m.values_mut().for_each(whole_bounds);
        }
    }
    for key in ["items", "additionalProperties", "not", "additionalItems"] {
        if let Some(s) = o.get_mut(key) {
            match s {
                Value::Array(a) => a.iter_mut().for_each(whole_bounds),
                other => whole_bounds(other),
            }
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(a) = o.get_mut(key).and_then(Value::as_array_mut) {
            a.iter_mut().for_each(whole_bounds);
        }
    }
}

/// The version objects are stored at, if exactly one is marked.
pub(crate) fn storage_version(crd: &Value) -> Option<String> {
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array)?;
    let mut storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true));
    let first = storage.next()?;
    storage
        .next()
        .is_none()
        .then(|| s(first, "/name").to_string())
}

fn condition(kind: &str, ok: bool, reason: &str, message: &str, old: Option<&Value>) -> Value {
    let status = if ok { "True" } else { "False" };
    // The transition time moves only when the status does.
    let time = old
        .and_then(|c| c.as_array())
        .and_then(|cs| cs.iter().find(|c| s(c, "/type") == kind))
        .filter(|c| s(c, "/status") == status)
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(meta::now()));
    json!({ "type": kind, "status": status, "lastTransitionTime": time, "reason": reason, "message": message })
}

/// A name of `crd` that another served resource of its group already uses:
/// (condition reason, message).
fn name_conflict(crd: &Value) -> Option<(&'static str, String)> {
    let group = s(crd, "/spec/group");
    let own = meta::name(crd);
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let others: Vec<_> = resources::all()
        .into_iter()
        .filter(|d| d.group == group && d.custom.is_none_or(|c| c.crd_name != own))
        .collect();
    let plural = s(&names, "/plural");
    if others
        .iter()
        .any(|d| d.plural == plural || d.singular == plural)
    {
        return Some(("PluralConflict", format!("\"{plural}\" is already in use")));
    }
    let singular = s(&names, "/singular");
    if others
        .iter()
        .any(|d| d.plural == singular || d.singular == singular)
    {
        return Some((
            "SingularConflict",
            format!("\"{singular}\" is already in use"),
        ));
    }
    for short in names
        .get("shortNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if others.iter().any(|d| d.short_names.contains(&short)) {
            return Some((
                "ShortNamesConflict",
                format!("\"{short}\" is already in use"),
            ));
        }
    }
    let kind = s(&names, "/kind");
    if others.iter().any(|d| d.kind == kind) {
        return Some(("KindConflict", format!("\"{kind}\" is already in use")));
    }
    let list_kind = s(&names, "/listKind");
    if others
        .iter()
        .any(|d| d.custom.is_some_and(|c| c.list_kind == list_kind))
    {
        return Some((
            "ListKindConflict",
            format!("\"{list_kind}\" is already in use"),
        ));
    }
    None
}

/// Sets the status the server owns: accepted names, the NamesAccepted and
/// Established conditions, and the stored versions. `old` is the stored
/// CRD on update.
pub(crate) fn set_status(crd: &mut Value, old: Option<&Value>) {
    let old_status = old.and_then(|o| o.get("status")).cloned();
    let mut status = old_status
        .clone()
        .and_then(|s| s.as_object().cloned())
        .unwrap_or_default();
    let old_conditions = old_status.as_ref().and_then(|s| s.get("conditions"));
    let mut conditions: Vec<Value> = old_conditions
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    conditions.retain(|c| !matches!(s(c, "/type"), "NamesAccepted" | "Established"));
    let established = match name_conflict(crd) {
        Some((reason, message)) => {
            conditions.insert(
                0,
                condition("NamesAccepted", false, reason, &message, old_conditions),
            );
            let was = old_conditions.and_then(Value::as_array).is_some_and(|cs| {
                cs.iter()
                    .any(|c| s(c, "/type") == "Established" && s(c, "/status") == "True")
            });
            if !status.contains_key("acceptedNames") {
                status.insert("acceptedNames".into(), json!({ "plural": "", "kind": "" }));
            }
            if was {
                condition(
                    "Established",
                    true,
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                    old_conditions,
                )
            } else {
                condition(
                    "Established",
                    false,
                    "NotAccepted",
                    "not all names are accepted",
                    old_conditions,
                )
            }
        }
        None => {
            conditions.insert(
                0,
                condition(
                    "NamesAccepted",
                    true,
                    "NoConflicts",
                    "no conflicts found",
                    old_conditions,
                ),
            );
            let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
            status.insert("acceptedNames".into(), names);
            condition(
                "Established",
                true,
                "InitialNamesAccepted",
                "the initial names have been accepted",
                old_conditions,
            )
        }
    };
    conditions.insert(1, established);
    status.insert("conditions".into(), Value::Array(conditions));
    let mut stored: Vec<Value> = status
        .get("storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(v) = storage_version(crd)
        && !stored.contains(&json!(v))
    {
        stored.push(json!(v));
    }
    status.insert("storedVersions".into(), Value::Array(stored));
    if let Some(o) = crd.as_object_mut() {
        o.insert("status".into(), Value::Object(status));
    }
}

/// Whether the CRD's names were accepted (its resources may be served).
pub(crate) fn names_accepted(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| s(c, "/type") == "NamesAccepted" && s(c, "/status") == "True")
        })
}

/// Whether the CRD is established: its resources are served (under its
/// accepted names, which may lag behind a conflicting rename).
pub(crate) fn established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| s(c, "/type") == "Established" && s(c, "/status") == "True")
        })
}

/// Sets (or adds) a condition in the CRD's status.
pub(crate) fn put_condition(crd: &mut Value, kind: &str, ok: bool, reason: &str, message: &str) {
    let old = crd.pointer("/status/conditions").cloned();
    let c = condition(kind, ok, reason, message, old.as_ref());
    let status = crd
        .as_object_mut()
        .map(|o| o.entry("status").or_insert_with(|| json!({})));
    let Some(conditions) = status
        .and_then(Value::as_object_mut)
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    match conditions.iter_mut().find(|x| s(x, "/type") == kind) {
        Some(x) => *x = c,
        None => conditions.push(c),
    }
}

fn dns1035(path: &str, value: &str, errs: &mut Vec<FieldError>) {
    let msgs = is_dns1035_label(value);
    if !msgs.is_empty() {
        errs.push(FieldError::invalid_str(path, value, &msgs.join(",")));
    }
}

fn validate_names(names: &Value, errs: &mut Vec<FieldError>) {
    let path = "spec.names";
    let plural = s(names, "/plural");
    if plural.is_empty() {
        errs.push(FieldError::required(&format!("{path}.plural"), ""));
    } else {
        dns1035(&format!("{path}.plural"), plural, errs);
    }
    let singular = s(names, "/singular");
    if singular.is_empty() {
        errs.push(FieldError::required(&format!("{path}.singular"), ""));
    } else {
        dns1035(&format!("{path}.singular"), singular, errs);
    }
    let shorts: Vec<&str> = names
        .get("shortNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (i, short) in shorts.iter().enumerate() {
        dns1035(&format!("{path}.shortNames[{i}]"), short, errs);
    }
    for (i, category) in strings_at(names, "categories").iter().enumerate() {
        dns1035(&format!("{path}.categories[{i}]"), category, errs);
    }
    let kind = s(names, "/kind");
    let list_kind = s(names, "/listKind");
    if kind.is_empty() {
        errs.push(FieldError::required(&format!("{path}.kind"), ""));
    } else {
        let msgs = is_dns1035_label(&kind.to_lowercase());
        if !msgs.is_empty() {
            errs.push(FieldError::invalid_str(
                &format!("{path}.kind"),
                kind,
                &format!(
                    "may have mixed case, but should otherwise match: {}",
                    msgs.join(",")
                ),
            ));
        }
    }
    if list_kind.is_empty() {
        errs.push(FieldError::required(&format!("{path}.listKind"), ""));
    } else {
        let msgs = is_dns1035_label(&list_kind.to_lowercase());
        if !msgs.is_empty() {
            errs.push(FieldError::invalid_str(
                &format!("{path}.listKind"),
                list_kind,
                &format!(
                    "may have mixed case, but should otherwise match: {}",
                    msgs.join(",")
                ),
            ));
        }
        if kind == list_kind {
            errs.push(FieldError::invalid_str(
                &format!("{path}.listKind"),
                list_kind,
                "kind and listKind may not be the same",
            ));
        }
    }
}

const COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const COLUMN_FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";

fn strings_at<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Upstream's check of a "simple JSONPath" (`.spec.replicas`).
fn simple_json_path(path: &str, value: &str, errs: &mut Vec<FieldError>) -> bool {
    let msg = if value.is_empty() {
        "must not be empty"
    } else if !value.starts_with('.') {
        "must be a simple json path starting with ."
    } else {
        return true;
    };
    errs.push(FieldError::invalid_str(path, value, msg));
    false
}

fn validate_version(v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let schema = v.pointer("/schema/openAPIV3Schema");
    match schema {
        None => errs.push(FieldError::required(
            &format!("{path}.schema.openAPIV3Schema"),
            "schemas are required",
        )),
        Some(schema) => {
            structural::validate(schema, &format!("{path}.schema.openAPIV3Schema"), errs);
        }
    }
    if let Some(scale) = v.pointer("/subresources/scale") {
        let spec = s(scale, "/specReplicasPath");
        let sp = format!("{path}.subresources.scale.specReplicasPath");
        if spec.is_empty() {
            errs.push(FieldError::required(&sp, ""));
        } else if simple_json_path(&sp, spec, errs) && !spec.starts_with(".spec.") {
            errs.push(FieldError::invalid_str(
                &sp,
                spec,
                "should be a json path under .spec",
            ));
        }
        let status = s(scale, "/statusReplicasPath");
        let stp = format!("{path}.subresources.scale.statusReplicasPath");
        if status.is_empty() {
            errs.push(FieldError::required(&stp, ""));
        } else if simple_json_path(&stp, status, errs) && !status.starts_with(".status.") {
            errs.push(FieldError::invalid_str(
                &stp,
                status,
                "should be a json path under .status",
            ));
        }
        let sel = s(scale, "/labelSelectorPath");
        let lp = format!("{path}.subresources.scale.labelSelectorPath");
        if !sel.is_empty()
            && simple_json_path(&lp, sel, errs)
            && !sel.starts_with(".spec.")
            && !sel.starts_with(".status.")
        {
            errs.push(FieldError::invalid_str(
                &lp,
                sel,
                "should be a json path under either .spec or .status",
            ));
        }
    }
    for (i, col) in v
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let p = format!("{path}.additionalPrinterColumns[{i}]");
        if s(col, "/name").is_empty() {
            errs.push(FieldError::required(&format!("{p}.name"), ""));
        }
        let t = s(col, "/type");
        let must = format!("must be one of {COLUMN_TYPES}");
        if t.is_empty() {
            errs.push(FieldError::required(&format!("{p}.type"), &must));
        } else if !COLUMN_TYPES.split(',').any(|x| x == t) {
            errs.push(FieldError::invalid_str(&format!("{p}.type"), t, &must));
        }
        let f = s(col, "/format");
        if !f.is_empty() && !COLUMN_FORMATS.split(',').any(|x| x == f) {
            errs.push(FieldError::invalid_str(
                &format!("{p}.format"),
                f,
                &format!("must be one of {COLUMN_FORMATS}"),
            ));
        }
        let jp = s(col, "/jsonPath");
        if jp.is_empty() {
            errs.push(FieldError::required(&format!("{p}.jsonPath"), ""));
        } else {
            simple_json_path(&format!("{p}.jsonPath"), jp, errs);
        }
    }
}

/// Upstream's validation of a CRD (after defaulting).
pub(crate) fn validate(crd: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = crd.get("spec").cloned().unwrap_or(json!({}));
    let group = s(&spec, "/group");
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let msgs = is_dns1123_subdomain(group);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid_str(
                "spec.group",
                group,
                &msgs.join(","),
            ));
        } else if group.split('.').count() < 2 {
            errs.push(FieldError::invalid_str(
                "spec.group",
                group,
                "should be a domain with at least one dot",
            ));
        }
    }
    match s(&spec, "/scope") {
        "" => errs.push(FieldError::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            render(&json!(other)),
            &["Cluster", "Namespaced"],
        )),
    }
    validate_names(spec.get("names").unwrap_or(&Value::Null), &mut errs);
    let versions: Vec<Value> = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        errs.push(FieldError::invalid(
            "spec.versions",
            "null".into(),
            "must have exactly one version marked as storage version",
        ));
    } else {
        let mut seen: Vec<&str> = Vec::new();
        let mut unique = true;
        for (i, v) in versions.iter().enumerate() {
            let path = format!("spec.versions[{i}]");
            let name = s(v, "/name");
            if name.is_empty() {
                errs.push(FieldError::required(&format!("{path}.name"), ""));
            } else {
                dns1035(&format!("{path}.name"), name, &mut errs);
                if seen.contains(&name) {
                    unique = false;
                }
                seen.push(name);
            }
            validate_version(v, &path, &mut errs);
        }
        if !unique {
            errs.push(FieldError::invalid(
                "spec.versions",
                render(&Value::Array(versions.clone())),
                "must contain unique version names",
            ));
        }
        let storage = versions
            .iter()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .count();
        if storage != 1 {
            errs.push(FieldError::invalid(
                "spec.versions",
                render(&Value::Array(versions.clone())),
                "must have exactly one version marked as storage version",
            ));
        }
    }
    match s(&spec, "/conversion/strategy") {
        "None" => {}
        "Webhook" => {
            match spec.pointer("/conversion/webhook/clientConfig") {
                None => errs.push(FieldError::required(
                    "spec.conversion.webhookClientConfig",
                    "required when strategy is set to Webhook",
                )),
                Some(cc) if cc.get("url").is_some() == cc.get("service").is_some() => {
                    errs.push(FieldError::required(
                        "spec.conversion.webhookClientConfig",
                        "exactly one of url or service is required",
                    ))
                }
                Some(_) => {}
            }
            if spec
                .pointer("/conversion/webhook/conversionReviewVersions")
                .and_then(Value::as_array)
                .is_none_or(|a| a.is_empty())
            {
                errs.push(FieldError::required(
                    "spec.conversion.conversionReviewVersions",
                    "must include at least one of v1, v1beta1",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.conversion.strategy",
            render(&json!(other)),
            &["None", "Webhook"],
        )),
    }
    if spec.get("preserveUnknownFields") == Some(&json!(true)) {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            "true".into(),
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    if let Some(old) = old {
        let established = old
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| s(c, "/type") == "Established" && s(c, "/status") == "True")
            });
        if established {
            for (field, label) in [
                ("/spec/scope", "spec.scope"),
                ("/spec/names/kind", "spec.names.kind"),
            ] {
                if old.pointer(field) != crd.pointer(field) {
                    errs.push(FieldError::immutable(label, crd.pointer(field)));
                }
            }
        }
        for (field, label) in [
            ("/spec/group", "spec.group"),
            ("/spec/names/plural", "spec.names.plural"),
        ] {
            if old.pointer(field) != crd.pointer(field) {
                errs.push(FieldError::immutable(label, crd.pointer(field)));
            }
        }
        if let Some(stored) = old
            .pointer("/status/storedVersions")
            .and_then(Value::as_array)
        {
            for (i, v) in stored.iter().enumerate() {
                let name = v.as_str().unwrap_or("");
                if !versions.iter().any(|x| s(x, "/name") == name) {
                    errs.push(FieldError::invalid(
                        &format!("status.storedVersions[{i}]"),
                        render(v),
                        "must appear in spec.versions",
                    ));
                }
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {
                "group": "stable.example.com",
                "scope": "Namespaced",
                "names": {"plural": "crontabs", "kind": "CronTab", "shortNames": ["ct"]},
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object"}}
                }]
            }
        })
    }

    fn errors(mut c: Value) -> Vec<String> {
        apply_defaults(&mut c);
        validate(&c, None).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_follow_upstream() {
        let mut c = crd();
        apply_defaults(&mut c);
        assert_eq!(c["spec"]["names"]["singular"], "crontab");
        assert_eq!(c["spec"]["names"]["listKind"], "CronTabList");
        assert_eq!(c["spec"]["conversion"], json!({"strategy": "None"}));
        let mut c = crd();
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = json!({"type": "object",
            "properties": {"n": {"type": "number", "maximum": 10.0, "minimum": 0.5}}});
        apply_defaults(&mut c);
        let n = &c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["n"];
        assert_eq!(
            serde_json::to_string(n).unwrap(),
            r#"{"maximum":10,"minimum":0.5,"type":"number"}"#
        );
        assert!(errors(crd()).is_empty());
    }

    #[test]
    fn names_group_and_scope() {
        let mut c = crd();
        c["spec"]["group"] = json!("example");
        c["spec"]["scope"] = json!("Global");
        c["spec"]["names"]["plural"] = json!("Cron_Tabs");
        c["spec"]["names"]["kind"] = json!("");
        let errs = errors(c);
        assert!(
            errs.contains(
                &"spec.group: Invalid value: \"example\": should be a domain with at least one dot"
                    .to_string()
            ),
            "{errs:?}"
        );
        assert!(errs.contains(
            &"spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\"".to_string()
        ));
        assert!(
            errs.iter()
                .any(|e| e.starts_with("spec.names.plural: Invalid value: \"Cron_Tabs\""))
        );
        assert!(errs.contains(&"spec.names.kind: Required value".to_string()));
    }

    #[test]
    fn versions_need_one_storage_version_and_a_schema() {
        let mut c = crd();
        c["spec"]["versions"] = json!([
            {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {"name": "v1", "served": false, "storage": true}
        ]);
        let errs = errors(c);
        assert!(
            errs.iter()
                .any(|e| e.starts_with("spec.versions: Invalid value: ")
                    && e.ends_with(": must contain unique version names"))
        );
        assert!(
            errs.contains(
                &"spec.versions[1].schema.openAPIV3Schema: Required value: schemas are required"
                    .to_string()
            )
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("spec.versions: Invalid value: ")
                    && e.ends_with(": must have exactly one version marked as storage version"))
        );
    }

    #[test]
    fn status_reports_accepted_names_and_stored_versions() {
        let mut c = crd();
        apply_defaults(&mut c);
        set_status(&mut c, None);
        assert!(names_accepted(&c));
        assert_eq!(c["status"]["acceptedNames"]["listKind"], "CronTabList");
        assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
        let types: Vec<&str> = c["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["NamesAccepted", "Established"]);
        // A new storage version is added to storedVersions, never replacing.
        let old = c.clone();
        c["spec"]["versions"] = json!([
            {"name": "v1", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {"name": "v2", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}
        ]);
        set_status(&mut c, Some(&old));
        assert_eq!(c["status"]["storedVersions"], json!(["v1", "v2"]));
    }

    #[test]
    fn a_conflict_keeps_the_previous_accepted_names() {
        // apps serves "deployments": a CRD that was accepted as "deploys"
        // and now asks for a name in use keeps serving under the old ones.
        let mut c = json!({
            "metadata": {"name": "deploys.apps"},
            "spec": {"group": "apps", "scope": "Namespaced",
                "names": {"plural": "deploys", "singular": "deploy", "kind": "Deploy", "shortNames": ["deploy"]},
                "versions": [{"name": "v1", "served": true, "storage": true}]}
        });
        apply_defaults(&mut c);
        let mut accepted = c.clone();
        accepted["spec"]["names"]["shortNames"] = json!(["dp"]);
        set_status(&mut accepted, None);
        assert!(names_accepted(&accepted));
        set_status(&mut c, Some(&accepted));
        assert!(!names_accepted(&c));
        assert_eq!(c["status"]["conditions"][0]["reason"], "ShortNamesConflict");
        assert_eq!(c["status"]["acceptedNames"]["shortNames"], json!(["dp"]));
        assert_eq!(c["status"]["conditions"][1]["status"], "True");
    }

    #[test]
    fn a_kind_in_use_is_not_accepted() {
        // apps already serves the kind Deployment.
        let mut c = json!({
            "metadata": {"name": "deploys.apps"},
            "spec": {"group": "apps", "scope": "Namespaced",
                "names": {"plural": "deploys", "singular": "deploy", "kind": "Deployment"},
                "versions": [{"name": "v1", "served": true, "storage": true}]}
        });
        apply_defaults(&mut c);
        set_status(&mut c, None);
        assert!(!names_accepted(&c));
        let cond = &c["status"]["conditions"][0];
        assert_eq!(cond["reason"], "KindConflict");
        assert_eq!(cond["message"], "\"Deployment\" is already in use");
        assert_eq!(c["status"]["conditions"][1]["reason"], "NotAccepted");
    }
}
