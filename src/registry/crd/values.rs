//! Custom objects against their structural schema: pruning of unknown
//! fields, defaulting, and value validation with upstream's field paths and
//! messages (`spec.replicas in body should be less than or equal to 10`).
//!
//! Schemas are CRD `openAPIV3Schema`s, already checked to be structural when
//! the CRD was written, so every node states its type and no `$ref` occurs.

use serde_json::{Map, Value};

use crate::registry::validation::{ErrorType, FieldError, go_quote, render};

/// Fields of `metadata` that ObjectMeta knows; others are pruned.
const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

fn props(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Removes fields the schema does not know, collecting their paths (as
/// upstream's strict decoding names them: `spec.foo`, `spec.list[0].x`).
/// `root` is true at the object root and at embedded resources, where
/// apiVersion, kind and metadata are always kept.
pub(crate) fn prune(
    schema: &Value,
    value: &mut Value,
    path: &str,
    root: bool,
    unknown: &mut Vec<String>,
) {
    let embedded = root || flag(schema, "x-kubernetes-embedded-resource");
    match value {
        Value::Object(map) => {
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            let known = props(schema);
            let additional = schema.get("additionalProperties");
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let p = child(path, &k);
                if embedded && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                if embedded && k == "metadata" {
                    if let Some(m) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                        let fields: Vec<String> = m.keys().cloned().collect();
                        for f in fields {
                            if !OBJECT_META_FIELDS.contains(&f.as_str()) {
                                m.remove(&f);
                                unknown.push(format!("{p}.{f}"));
                            }
                        }
                    }
                    continue;
                }
                if let Some(s) = known.and_then(|k2| k2.get(&k)) {
                    if let Some(v) = map.get_mut(&k) {
                        prune(s, v, &p, false, unknown);
                    }
                } else if let Some(s) = additional.filter(|a| a.is_object()) {
                    if let Some(v) = map.get_mut(&k) {
                        prune(s, v, &p, false, unknown);
                    }
                } else if additional == Some(&Value::Bool(true)) || preserve {
                    // Kept as sent.
                } else {
                    map.remove(&k);
                    unknown.push(p);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter_mut().enumerate() {
                    prune(s, v, &format!("{path}[{i}]"), false, unknown);
                }
            }
        }
        _ => {}
    }
}

/// Applies schema defaults to absent fields (and to nulls where the field
/// is not nullable), recursively.
pub(crate) fn default(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(known) = props(schema) {
                for (k, s) in known {
                    let absent = match map.get(k) {
                        None => true,
                        Some(Value::Null) => !flag(s, "nullable"),
                        Some(_) => false,
                    };
                    if absent && let Some(d) = s.get("default") {
                        map.insert(k.clone(), d.clone());
                    }
                    if let Some(v) = map.get_mut(k) {
                        default(s, v);
                    }
                }
            }
            if let Some(s) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for v in map.values_mut() {
                    default(s, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for v in items.iter_mut() {
                    default(s, v);
                }
            }
        }
        _ => {}
    }
}

/// The JSON type name upstream reports for a value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    match (want, type_name(v)) {
        ("number", "integer") => true,
        (w, t) => w == t,
    }
}

/// A number as Go's `%v` prints it.
fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Validates `value` against `schema`; errors name the field as upstream's
/// `field.Path` does (`spec.list[0].name`, `spec.map[key]` are both written
/// with dots and brackets the way kube-openapi reports them).
pub(crate) fn validate(schema: &Value, value: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let shown = if path.is_empty() { "<root>" } else { path };
    if value.is_null() {
        if flag(schema, "nullable") {
            return;
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            errs.push(FieldError::invalid(
                path,
                go_quote("null"),
                &format!("{shown} in body must be of type {t}: \"null\""),
            ));
        }
        return;
    }
    let int_or_string = flag(schema, "x-kubernetes-int-or-string");
    if int_or_string {
        if !matches!(type_name(value), "integer" | "string") {
            errs.push(FieldError::invalid(
                path,
                go_quote(type_name(value)),
                &format!(
                    "{shown} in body must be of type integer,string: {}",
                    go_quote(type_name(value))
                ),
            ));
            return;
        }
    } else if let Some(t) = schema.get("type").and_then(Value::as_str)
        && !type_matches(t, value)
    {
        errs.push(FieldError::invalid(
            path,
            go_quote(type_name(value)),
            &format!(
                "{shown} in body must be of type {t}: {}",
                go_quote(type_name(value))
            ),
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let rendered: Vec<String> = allowed.iter().map(render).collect();
        errs.push(FieldError {
            field: path.to_string(),
            kind: ErrorType::NotSupported,
            value: Some(render(value)),
            detail: format!("supported values: {}", rendered.join(", ")),
        });
    }
    match value {
        Value::Number(n) => number(schema, n.as_f64().unwrap_or(0.0), value, path, errs),
        Value::String(s) => string(schema, s, path, errs),
        Value::Array(items) => array(schema, items, path, errs),
        Value::Object(map) => object(schema, map, path, errs),
        _ => {}
    }
}

fn number(schema: &Value, n: f64, value: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let shown = render(value);
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if flag(schema, "exclusiveMaximum") && n >= max {
            errs.push(FieldError::invalid(
                path,
                shown.clone(),
                &format!("{path} in body should be less than {}", num(max)),
            ));
        } else if n > max {
            errs.push(FieldError::invalid(
                path,
                shown.clone(),
                &format!(
                    "{path} in body should be less than or equal to {}",
                    num(max)
                ),
            ));
        }
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if flag(schema, "exclusiveMinimum") && n <= min {
            errs.push(FieldError::invalid(
                path,
                shown.clone(),
                &format!("{path} in body should be greater than {}", num(min)),
            ));
        } else if n < min {
            errs.push(FieldError::invalid(
                path,
                shown.clone(),
                &format!(
                    "{path} in body should be greater than or equal to {}",
                    num(min)
                ),
            ));
        }
    }
    if let Some(m) = schema.get("multipleOf").and_then(Value::as_f64)
        && m > 0.0
        && (n / m).fract() != 0.0
    {
        errs.push(FieldError::invalid(
            path,
            shown.clone(),
            &format!("{path} in body should be a multiple of {}", num(m)),
        ));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some("int32") if n < i32::MIN as f64 || n > i32::MAX as f64 => {
            errs.push(FieldError::invalid(
                path,
                shown,
                &format!(
                    "{path} in body must be of type int32: {}",
                    go_quote(&num(n))
                ),
            ));
        }
        _ => {}
    }
}

fn string(schema: &Value, s: &str, path: &str, errs: &mut Vec<FieldError>) {
    let chars = s.chars().count();
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && chars as u64 > max
    {
        errs.push(FieldError::too_long(path, max as usize));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && (chars as u64) < min
    {
        errs.push(FieldError::invalid_str(
            path,
            s,
            &format!("{path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str)
        && !super::pattern::matches(p, s)
    {
        errs.push(FieldError::invalid_str(
            path,
            s,
            &format!("{path} in body should match '{p}'"),
        ));
    }
    if let Some(f) = schema.get("format").and_then(Value::as_str)
        && !format_ok(f, s)
    {
        errs.push(FieldError::invalid_str(
            path,
            s,
            &format!("{path} in body must be of type {f}: {}", go_quote(s)),
        ));
    }
}

/// The string formats upstream checks (others are accepted as annotations).
fn format_ok(format: &str, s: &str) -> bool {
    use crate::registry::validation::{is_dns1123_label, is_dns1123_subdomain};
    match format {
        "date-time" | "datetime" => s.parse::<jiff::Timestamp>().is_ok(),
        "date" => s.parse::<jiff::civil::Date>().is_ok() && s.len() == 10,
        "uuid" => uuid::Uuid::parse_str(s).is_ok() && s.len() == 36,
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        "int-or-string" => true,
        "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
        "cidr" => s.split_once('/').is_some_and(|(ip, bits)| {
            ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok()
        }),
        "hostname" => is_dns1123_subdomain(s).is_empty(),
        "dns1123label" => is_dns1123_label(s).is_empty(),
        _ => true,
    }
}

fn array(schema: &Value, items: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        errs.push(FieldError::too_many(path, items.len(), max as usize));
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        errs.push(FieldError::invalid(
            path,
            items.len().to_string(),
            &format!("{path} in body should have at least {min} items"),
        ));
    }
    let set = schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set")
        || flag(schema, "uniqueItems");
    if set {
        for (i, v) in items.iter().enumerate() {
            if items[..i].contains(v) {
                errs.push(FieldError::duplicate(&format!("{path}[{i}]"), render(v)));
            }
        }
    }
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map")
        && let Some(keys) = schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
    {
        let key_of = |v: &Value| -> Vec<Value> {
            keys.iter()
                .map(|k| {
                    v.get(k.as_str().unwrap_or(""))
                        .cloned()
                        .unwrap_or(Value::Null)
                })
                .collect()
        };
        for (i, v) in items.iter().enumerate() {
            let k = key_of(v);
            if items[..i].iter().any(|o| key_of(o) == k) {
                let shown = if k.len() == 1 {
                    render(&k[0])
                } else {
                    render(&Value::Array(k))
                };
                errs.push(FieldError::duplicate(&format!("{path}[{i}]"), shown));
            }
        }
    }
    if let Some(s) = schema.get("items") {
        for (i, v) in items.iter().enumerate() {
            validate(s, v, &format!("{path}[{i}]"), errs);
        }
    }
}

fn object(schema: &Value, map: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    if flag(schema, "x-kubernetes-embedded-resource") && !map.is_empty() {
        for f in ["apiVersion", "kind"] {
            if map.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
                errs.push(FieldError::required(&child(path, f), "must not be empty"));
            }
        }
    }
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if !map.contains_key(r) {
                errs.push(FieldError::required(&child(path, r), ""));
            }
        }
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
        && map.len() as u64 > max
    {
        errs.push(FieldError::too_many(path, map.len(), max as usize));
    }
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
        && (map.len() as u64) < min
    {
        errs.push(FieldError::invalid(
            path,
            map.len().to_string(),
            &format!("{path} in body should have at least {min} properties"),
        ));
    }
    let known = props(schema);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (k, v) in map {
        let p = child(path, k);
        let embedded = path.is_empty() || flag(schema, "x-kubernetes-embedded-resource");
        if embedded && (k == "metadata" || k == "apiVersion" || k == "kind") {
            continue;
        }
        if let Some(s) = known.and_then(|m| m.get(k)) {
            validate(s, v, &p, errs);
        } else if let Some(s) = additional {
            validate(s, v, &format!("{path}[{k}]"), errs);
        }
    }
}

/// The value a field path names (`spec.list[0].name`, `spec.map[key]`).
fn value_at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let key = &r[..end];
            cur = match cur {
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                Value::Object(map) => map.get(key)?,
                _ => return None,
            };
            rest = &r[end + 1..];
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.get(&r[..end])?;
            rest = &r[end..];
        }
    }
    Some(cur)
}

/// The path of the object holding a field (`spec.a` for `spec.a.b`).
fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

/// Validation ratcheting (upstream's default since 1.30): on update, an
/// error about a value the update did not change is dropped, so objects
/// stored under an older, looser schema stay updatable. A missing required
/// field counts as unchanged when its parent object is.
pub(crate) fn ratchet(errs: &mut Vec<FieldError>, new: &Value, old: &Value) {
    errs.retain(|e| {
        let at = if e.kind == ErrorType::Required {
            parent(&e.field)
        } else {
            e.field.as_str()
        };
        let (n, o) = if at.is_empty() {
            (Some(new), Some(old))
        } else {
            (value_at(new, at), value_at(old, at))
        };
        n.is_none() || n != o
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crontab_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["cronSpec"],
                    "properties": {
                        "cronSpec": { "type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$" },
                        "image": { "type": "string" },
                        "replicas": { "type": "integer", "minimum": 1, "maximum": 10, "default": 1 },
                        "mode": { "type": "string", "enum": ["fast", "slow"] },
                        "tags": { "type": "array", "maxItems": 2, "items": { "type": "string" } },
                        "extra": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                        "port": { "x-kubernetes-int-or-string": true },
                        "when": { "type": "string", "format": "date-time" },
                        "name": { "type": "string", "maxLength": 3 }
                    }
                }
            }
        })
    }

    fn errors(obj: Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate(&crontab_schema(), &obj, "", &mut errs);
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn value_errors_read_like_upstream() {
        assert_eq!(
            errors(json!({"spec": {"cronSpec": "* * * * */5", "replicas": 15}})),
            [
                "spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10"
            ]
        );
        assert_eq!(
            errors(json!({"spec": {"cronSpec": 3}})),
            [
                "spec.cronSpec: Invalid value: \"integer\": spec.cronSpec in body must be of type string: \"integer\""
            ]
        );
        assert_eq!(
            errors(json!({"spec": {}})),
            ["spec.cronSpec: Required value"]
        );
        assert_eq!(
            errors(json!({"spec": {"cronSpec": "* * * * *", "mode": "medium"}})),
            ["spec.mode: Unsupported value: \"medium\": supported values: \"fast\", \"slow\""]
        );
        assert_eq!(
            errors(json!({"spec": {"cronSpec": "often"}})),
            [
                "spec.cronSpec: Invalid value: \"often\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'"
            ]
        );
        assert_eq!(
            errors(json!({"spec": {"cronSpec": "* * * * *", "tags": ["a", "b", "c"]}})),
            ["spec.tags: Too many: 3: must have at most 2 items"]
        );
        assert_eq!(
            errors(json!({"spec": {"cronSpec": "* * * * *", "when": "yesterday"}})),
            [
                "spec.when: Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\""
            ]
        );
        assert_eq!(
            errors(json!({"spec": {"cronSpec": "* * * * *", "replicas": 0}})),
            [
                "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"
            ]
        );
        assert!(errors(json!({"spec": {"cronSpec": "* * * * *", "port": "http", "when": "2024-01-01T00:00:00Z"}})).is_empty());
        assert_eq!(
            errors(json!({"spec": {"cronSpec": "* * * * *", "port": true}})).len(),
            1
        );
    }

    #[test]
    fn embedded_resources_need_type_meta() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
        }}}});
        let mut errs = Vec::new();
        validate(
            &schema,
            &json!({"spec": {"template": {"metadata": {"name": "x"}}}}),
            "",
            &mut errs,
        );
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "spec.template.apiVersion: Required value: must not be empty",
                "spec.template.kind: Required value: must not be empty"
            ]
        );
        let mut obj = json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "junk": 1}, "x": 1}}});
        let mut unknown = Vec::new();
        prune(&schema, &mut obj, "", true, &mut unknown);
        assert_eq!(unknown, ["spec.template.metadata.junk"]);
        assert_eq!(obj["spec"]["template"]["x"], 1);
    }

    #[test]
    fn pruning_keeps_known_and_preserved_fields() {
        let mut obj = json!({
            "apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "x", "bogus": 1},
            "spec": {"cronSpec": "* * * * *", "foo": 1, "extra": {"anything": {"goes": true}}},
            "top": 2
        });
        let mut unknown = Vec::new();
        prune(&crontab_schema(), &mut obj, "", true, &mut unknown);
        assert_eq!(unknown, ["metadata.bogus", "spec.foo", "top"]);
        assert_eq!(
            obj,
            json!({
                "apiVersion": "stable.example.com/v1", "kind": "CronTab",
                "metadata": {"name": "x"},
                "spec": {"cronSpec": "* * * * *", "extra": {"anything": {"goes": true}}}
            })
        );
    }

    #[test]
    fn unchanged_invalid_values_ratchet_on_update() {
        let old = json!({"spec": {"cronSpec": "* * * * *", "replicas": 15, "image": "a"}});
        let new = json!({"spec": {"cronSpec": "* * * * *", "replicas": 15, "image": "b"}});
        let mut errs = Vec::new();
        validate(&crontab_schema(), &new, "", &mut errs);
        assert_eq!(errs.len(), 1);
        ratchet(&mut errs, &new, &old);
        assert!(errs.is_empty());
        let changed = json!({"spec": {"cronSpec": "* * * * *", "replicas": 12, "image": "b"}});
        let mut errs = Vec::new();
        validate(&crontab_schema(), &changed, "", &mut errs);
        ratchet(&mut errs, &changed, &old);
        assert_eq!(
            errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "spec.replicas: Invalid value: 12: spec.replicas in body should be less than or equal to 10"
            ]
        );
    }

    #[test]
    fn defaults_fill_absent_fields() {
        let mut obj = json!({"spec": {"cronSpec": "* * * * *"}});
        default(&crontab_schema(), &mut obj);
        assert_eq!(obj["spec"]["replicas"], json!(1));
        let mut obj = json!({"spec": {"cronSpec": "* * * * *", "replicas": 3}});
        default(&crontab_schema(), &mut obj);
        assert_eq!(obj["spec"]["replicas"], json!(3));
    }
}
