//! Whether a CRD schema is structural, as apiextensions.k8s.io/v1 requires:
//! every specified node has a type, arrays have items, metadata is only
//! constrained in name and generateName, extensions are consistent, and
//! defaults fit their schema. Messages and paths are upstream's.

use serde_json::{Value, json};

use super::{pattern, rules, values};
use crate::registry::validation::{FieldError, render};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Field,
    Item,
}

const TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

/// Checks `schema` (found at `path`, e.g.
/// `spec.versions[0].schema.openAPIV3Schema`), pushing upstream's errors.
pub(crate) fn validate(schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    node(schema, Level::Root, path, errs);
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn node(schema: &Value, lvl: Level, path: &str, errs: &mut Vec<FieldError>) {
    let Some(obj) = schema.as_object() else {
        return;
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let embedded = flag(schema, "x-kubernetes-embedded-resource");
    let int_or_string = flag(schema, "x-kubernetes-int-or-string");
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    for key in [
        "id",
        "additionalItems",
        "patternProperties",
        "definitions",
        "dependencies",
        "$ref",
    ] {
        if obj.contains_key(key) {
            errs.push(FieldError::forbidden(
                &format!("{path}.{key}"),
                &format!("{key} is not supported"),
            ));
        }
    }
    if ty == "null" {
        errs.push(FieldError::forbidden(
            &format!("{path}.type"),
            "type cannot be set to null",
        ));
    }
    if flag(schema, "uniqueItems") {
        errs.push(FieldError::forbidden(
            &format!("{path}.uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if embedded && ty != "object" {
        let p = format!("{path}.type");
        let d = "must be object if x-kubernetes-embedded-resource is true";
        if ty.is_empty() {
            errs.push(FieldError::required(&p, d));
        } else {
            errs.push(FieldError::invalid(&p, render(&json!(ty)), d));
        }
    } else if ty.is_empty() && !int_or_string && !preserve {
        let d = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(&format!("{path}.type"), d));
    }
    if !ty.is_empty() && ty != "null" && !TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(
            &format!("{path}.type"),
            render(&json!(ty)),
            TYPES,
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        errs.push(FieldError::invalid(
            &format!("{path}.type"),
            render(&json!(ty)),
            "must be object at the root",
        ));
    }
    if int_or_string && !ty.is_empty() {
        errs.push(FieldError::invalid(
            &format!("{path}.type"),
            render(&json!(ty)),
            "must be empty if x-kubernetes-int-or-string is true",
        ));
    }
    if obj.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(false)) {
        errs.push(FieldError::invalid(
            &format!("{path}.x-kubernetes-preserve-unknown-fields"),
            "false".into(),
            "must be true or undefined",
        ));
    }
    if embedded && obj.contains_key("additionalProperties") {
        errs.push(FieldError::forbidden(
            &format!("{path}.additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        errs.push(FieldError::forbidden(
            &format!("{path}.additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    if ty == "array" && !obj.contains_key("items") {
        errs.push(FieldError::required(
            &format!("{path}.items"),
            "must be specified",
        ));
    }
    if let Some(p) = obj.get("pattern").and_then(Value::as_str)
        && let Some(e) = pattern::compile_error(p)
    {
        errs.push(FieldError::invalid(
            &format!("{path}.pattern"),
            render(&json!(p)),
            &format!("must be a valid regular expression, but isn't: {e}"),
        ));
    }
    match obj.get("x-kubernetes-list-type").and_then(Value::as_str) {
        None | Some("atomic") | Some("set") => {}
        Some("map") => {
            if obj
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .is_none_or(|k| k.is_empty())
            {
                errs.push(FieldError::required(
                    &format!("{path}.x-kubernetes-list-map-keys"),
                    "must not be empty if x-kubernetes-list-type is map",
                ));
            }
        }
        Some(other) => errs.push(FieldError::not_supported(
            &format!("{path}.x-kubernetes-list-type"),
            render(&json!(other)),
            &["atomic", "set", "map"],
        )),
    }
    rules::validate_node(schema, path, errs);
    if lvl == Level::Root || embedded {
        for field in ["kind", "apiVersion"] {
            if let Some(f) = obj.get("properties").and_then(|p| p.get(field)) {
                let t = f.get("type").and_then(Value::as_str).unwrap_or("");
                if t != "string" {
                    errs.push(FieldError::invalid(
                        &format!("{path}.properties[{field}].type"),
                        render(&json!(t)),
                        "must be string",
                    ));
                }
            }
        }
        metadata(obj.get("properties"), path, errs);
    }
    if embedded
        && !preserve
        && obj
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(|p| p.is_empty())
    {
        errs.push(FieldError::required(
            &format!("{path}.properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
    if let Some(d) = obj.get("default") {
        let p = format!("{path}.default");
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(&p, "must not be set at the root"));
        } else {
            let mut pruned = d.clone();
            let mut unknown = Vec::new();
            values::prune(schema, &mut pruned, "", embedded, &mut unknown);
            if !unknown.is_empty() {
                errs.push(FieldError::invalid(
                    &p,
                    render(d),
                    "must not have unknown fields",
                ));
            }
            values::validate(schema, d, &p, errs);
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let mut names: Vec<&String> = props.keys().collect();
        names.sort();
        for k in names {
            node(
                &props[k],
                Level::Field,
                &format!("{path}.properties[{k}]"),
                errs,
            );
        }
    }
    if let Some(a) = obj.get("additionalProperties").filter(|a| a.is_object()) {
        node(
            a,
            Level::Field,
            &format!("{path}.additionalProperties"),
            errs,
        );
    }
    if let Some(items) = obj.get("items") {
        if items.is_array() {
            errs.push(FieldError::forbidden(
                &format!("{path}.items"),
                "items must be a schema object and not an array",
            ));
        } else {
            node(items, Level::Item, &format!("{path}.items"), errs);
        }
    }
}

/// At the root (and in embedded resources) metadata may only constrain
/// name and generateName.
fn metadata(props: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = props.and_then(|p| p.get("metadata")) else {
        return;
    };
    let p = format!("{path}.properties[metadata]");
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    if ty != "object" {
        errs.push(FieldError::invalid(
            &format!("{p}.type"),
            render(&json!(ty)),
            "must be object",
        ));
    }
    if let Some(fields) = m.get("properties").and_then(Value::as_object)
        && fields.keys().any(|k| k != "name" && k != "generateName")
    {
        errs.push(FieldError::forbidden(
            &p,
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(schema: Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate(
            &schema,
            "spec.versions[0].schema.openAPIV3Schema",
            &mut errs,
        );
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn missing_types_are_named_like_upstream() {
        assert_eq!(
            errors(
                json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}})
            ),
            [
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"
            ]
        );
        assert_eq!(
            errors(json!({"properties": {"list": {"type": "array", "items": {}}}})),
            [
                "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root",
                "spec.versions[0].schema.openAPIV3Schema.properties[list].items.type: Required value: must not be empty for specified array items"
            ]
        );
        assert_eq!(
            errors(json!({"type": "string"})),
            [
                "spec.versions[0].schema.openAPIV3Schema.type: Invalid value: \"string\": must be object at the root"
            ]
        );
    }

    #[test]
    fn forbidden_constructs() {
        let errs = errors(json!({"type": "object", "properties": {
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
            "a": {"type": "array"},
            "b": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": {"type": "string"}},
            "c": {"type": "string", "x-kubernetes-int-or-string": true},
            "d": {"type": "integer", "default": "ten"}
        }}));
        assert_eq!(
            errs,
            [
                "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
                "spec.versions[0].schema.openAPIV3Schema.properties[a].items: Required value: must be specified",
                "spec.versions[0].schema.openAPIV3Schema.properties[b].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
                "spec.versions[0].schema.openAPIV3Schema.properties[c].type: Invalid value: \"string\": must be empty if x-kubernetes-int-or-string is true",
                "spec.versions[0].schema.openAPIV3Schema.properties[d].default: Invalid value: \"string\": spec.versions[0].schema.openAPIV3Schema.properties[d].default in body must be of type integer: \"string\"",
            ]
        );
    }

    #[test]
    fn type_meta_and_embedded_resources() {
        assert_eq!(
            errors(json!({"type": "object", "properties": {
                "kind": {"type": "integer"},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true}
            }})),
            [
                "spec.versions[0].schema.openAPIV3Schema.properties[kind].type: Invalid value: \"integer\": must be string",
                "spec.versions[0].schema.openAPIV3Schema.properties[template].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
            ]
        );
    }

    #[test]
    fn crontab_schema_is_structural() {
        assert!(errors(json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "cronSpec": {"type": "string"}, "image": {"type": "string"}, "replicas": {"type": "integer", "default": 1}
        }}}})).is_empty());
    }
}
