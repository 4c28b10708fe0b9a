//! Object metadata: labels, annotations, owner references, finalizers,
//! names, and what an update may not change.

use super::*;

/// Label keys and values at `path` (upstream reports both at the map's path).
pub(super) fn validate_labels(labels: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in sorted(m) {
        errs.extend(
            is_qualified_name(k)
                .iter()
                .map(|msg| FieldError::invalid_str(path, k, msg)),
        );
        match v.as_str() {
            Some(s) => errs.extend(
                is_label_value(s)
                    .iter()
                    .map(|msg| FieldError::invalid_str(path, s, msg)),
            ),
            None => errs.push(FieldError::invalid(path, render(v), "must be a string")),
        }
    }
}

pub(super) fn validate_annotations(ann: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = ann.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0usize;
    for (k, v) in sorted(m) {
        // Case does not matter in annotation keys.
        errs.extend(
            is_qualified_name(&k.to_lowercase())
                .iter()
                .map(|msg| FieldError::invalid_str(path, k, msg)),
        );
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > 256 * 1024 {
        errs.push(FieldError::too_long(path, 256 * 1024));
    }
}

pub(super) fn validate_owner_references(refs: &[Value], errs: &mut Vec<FieldError>) {
    let path = "metadata.ownerReferences";
    let mut controller: Option<String> = None;
    for r in refs {
        let api_version = get_str(r, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        for (field, value, msg) in [
            ("apiVersion", version, "version must not be empty"),
            ("kind", get_str(r, "kind"), "must not be empty"),
            ("name", get_str(r, "name"), "must not be empty"),
            ("uid", get_str(r, "uid"), "must not be empty"),
        ] {
            if value.is_empty() {
                let shown = if field == "apiVersion" {
                    api_version
                } else {
                    value
                };
                errs.push(FieldError::invalid_str(&child(path, field), shown, msg));
            }
        }
        if api_version == "v1" && get_str(r, "kind") == "Event" {
            errs.push(FieldError::invalid(
                path,
                render(r),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let this = format!("{}/{}", get_str(r, "kind"), get_str(r, "name"));
            match &controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    render(&Value::Array(refs.to_vec())),
                    &format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"),
                )),
                None => controller = Some(this),
            }
        }
    }
}

pub(super) fn validate_finalizers(list: &[Value], errs: &mut Vec<FieldError>) {
    let path = "metadata.finalizers";
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for n in &names {
        errs.extend(
            is_qualified_name(n)
                .iter()
                .map(|m| FieldError::invalid_str(path, n, m)),
        );
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            render(&Value::Array(list.to_vec())),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    for (i, n) in names.iter().enumerate() {
        // Unprefixed finalizers are reserved for the standard ones.
        if !n.contains('/') && !matches!(*n, "kubernetes" | "orphan" | "foregroundDeletion") {
            errs.push(FieldError::invalid_str(
                &index(path, i),
                n,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

pub(super) fn validate_meta(obj: &Value, rule: NameRule, errs: &mut Vec<FieldError>) {
    let meta = obj.get("metadata").unwrap_or(&Value::Null);
    let generate = get_str(meta, "generateName");
    if !generate.is_empty() {
        for m in name_errors(rule, generate, true) {
            errs.push(FieldError::invalid_str(
                "metadata.generateName",
                generate,
                &m,
            ));
        }
    }
    let name = get_str(meta, "name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for m in name_errors(rule, name, false) {
            errs.push(FieldError::invalid_str("metadata.name", name, &m));
        }
    }
    validate_labels(meta.get("labels"), "metadata.labels", errs);
    validate_annotations(meta.get("annotations"), "metadata.annotations", errs);
    validate_owner_references(get_arr(meta, "ownerReferences"), errs);
    validate_finalizers(get_arr(meta, "finalizers"), errs);
}

pub(super) fn validate_meta_update(obj: &Value, old: &Value, errs: &mut Vec<FieldError>) {
    for field in ["name", "namespace", "uid"] {
        let new_v = obj.get("metadata").and_then(|m| m.get(field));
        let old_v = old.get("metadata").and_then(|m| m.get(field));
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
        if text(new_v) != text(old_v) {
            errs.push(FieldError::invalid_str(
                &child("metadata", field),
                &text(new_v),
                "field is immutable",
            ));
        }
    }
}
