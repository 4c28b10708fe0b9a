//! `x-kubernetes-validations`: CEL rules in CRD schemas.
//!
//! Rules are compiled when a CRD is written (a rule that does not compile
//! refuses the CRD with the compiler's message) and evaluated against every
//! write of a custom object, with `self` bound to the value at the rule's
//! node and, on update, `oldSelf` to the stored value there. Rules that use
//! `oldSelf` (transition rules) are checked on update only, where the old
//! value exists. Failures read like upstream's:
//! `spec: Invalid value: "object": <message or "failed rule: <rule>">`.
//!
//! A failed rule's message is its `messageExpression` when that evaluates
//! to a non-blank string, else its `message`, else `failed rule: <rule>`.
//! The expression language is `crate::cel`, behind [`RuleProgram`] so the
//! plumbing is tested with a stand-in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::registry::validation::{ErrorType, FieldError, go_quote};

/// A compiled rule (or message expression). Variables come with the
/// schema of their value, which decides their CEL types.
pub(crate) trait RuleProgram: Send + Sync {
    fn eval_bool(&self, schema: &Value, vars: &[(&str, &Value)]) -> Result<bool, String>;
    fn eval_string(&self, schema: &Value, vars: &[(&str, &Value)]) -> Result<String, String>;
    fn uses(&self, name: &str) -> bool;
}

/// A JSON value as CEL sees it under its schema (timestamps, durations,
/// bytes, doubles and list types as upstream types them).
fn to_cel(schema: &Value, v: &Value) -> crate::cel::Value {
    static NO_DEFINITIONS: OnceLock<crate::schema::Definitions> = OnceLock::new();
    let node = crate::schema::Node::new(NO_DEFINITIONS.get_or_init(Default::default), schema);
    crate::cel::typed::from_json_with_schema(Some(node), v)
}

impl RuleProgram for crate::cel::Program {
    fn eval_bool(&self, schema: &Value, vars: &[(&str, &Value)]) -> Result<bool, String> {
        match self.eval_cel(schema, vars)? {
            crate::cel::Value::Bool(b) => Ok(b),
            other => Err(format!("expected bool, got {}", other.type_name())),
        }
    }

    fn eval_string(&self, schema: &Value, vars: &[(&str, &Value)]) -> Result<String, String> {
        match self.eval_cel(schema, vars)? {
            crate::cel::Value::String(s) => Ok(s.to_string()),
            other => Err(format!(
                "messageExpression must evaluate to a string, got {}",
                other.type_name()
            )),
        }
    }

    fn uses(&self, name: &str) -> bool {
        crate::cel::Program::uses(self, name)
    }
}

/// Binds the variables a program uses, typed by the schema, and runs it.
trait EvalCel {
    fn eval_cel(
        &self,
        schema: &Value,
        vars: &[(&str, &Value)],
    ) -> Result<crate::cel::Value, String>;
}

impl EvalCel for crate::cel::Program {
    fn eval_cel(
        &self,
        schema: &Value,
        vars: &[(&str, &Value)],
    ) -> Result<crate::cel::Value, String> {
        let bound: Vec<(&str, crate::cel::Value)> = vars
            .iter()
            .filter(|(name, _)| self.uses(name))
            .map(|(name, v)| (*name, to_cel(schema, v)))
            .collect();
        self.eval_values(&bound, crate::cel::COST_LIMIT)
            .map_err(|e| e.message)
    }
}

/// Variables a rule may name.
const VARS: &[&str] = &["self", "oldSelf"];

/// Compiles a rule with the server's CEL implementation.
fn compile_with_engine(expr: &str) -> Result<Arc<dyn RuleProgram>, String> {
    crate::cel::compile(expr, VARS).map(|p| Arc::new(p) as Arc<dyn RuleProgram>)
}

type Compiler = fn(&str) -> Result<Arc<dyn RuleProgram>, String>;

/// Compiled rules by source text: CRDs share few distinct rules, and
/// objects are checked far more often than CRDs are written.
static CACHE: OnceLock<Mutex<HashMap<String, Arc<dyn RuleProgram>>>> = OnceLock::new();

/// Compiles `expr` for a schema rule (with `self` and `oldSelf` in scope),
/// once per distinct expression.
pub(crate) fn compile(expr: &str) -> Result<Arc<dyn RuleProgram>, String> {
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(expr) {
        return Ok(p.clone());
    }
    let p = compile_with_engine(expr)?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(expr.to_string(), p.clone());
    Ok(p)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Upstream prints a refused rule as its Go struct.
fn go_rule(rule: &Value) -> String {
    let ptr = |key: &str, ty: &str| match rule.get(key) {
        Some(Value::String(s)) => format!("(*{ty})({})", go_quote(s)),
        Some(Value::Bool(b)) => format!("(*{ty})({b})"),
        _ => format!("(*{ty})(nil)"),
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:{}, FieldPath:{}, OptionalOldSelf:{}}}",
        go_quote(text(rule, "rule")),
        go_quote(text(rule, "message")),
        go_quote(text(rule, "messageExpression")),
        ptr("reason", "apiextensions.FieldValueErrorReason"),
        go_quote(text(rule, "fieldPath")),
        ptr("optionalOldSelf", "bool"),
    )
}

const REASONS: &[&str] = &[
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
];

/// Checks the rules of one schema node at CRD write; `path` is the node's.
pub(crate) fn validate_node(schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    validate_node_with(compile, schema, path, errs);
}

fn validate_node_with(
    compiler: fn(&str) -> Result<Arc<dyn RuleProgram>, String>,
    schema: &Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    else {
        return;
    };
    for (i, rule) in rules.iter().enumerate() {
        let p = format!("{path}.x-kubernetes-validations[{i}]");
        let expr = text(rule, "rule");
        if expr.trim().is_empty() {
            errs.push(FieldError::required(&format!("{p}.rule"), ""));
            continue;
        }
        if let Some(reason) = rule.get("reason").and_then(Value::as_str)
            && !REASONS.contains(&reason)
        {
            errs.push(FieldError::not_supported(
                &format!("{p}.reason"),
                go_quote(reason),
                REASONS,
            ));
        }
        if let Err(e) = compiler(expr) {
            errs.push(FieldError::invalid(
                &p,
                go_rule(rule),
                &format!("compilation failed: {e}"),
            ));
        }
        let message_expr = text(rule, "messageExpression");
        if !message_expr.trim().is_empty()
            && let Err(e) = compiler(message_expr)
        {
            errs.push(FieldError::invalid(
                &p,
                go_rule(rule),
                &format!("messageExpression compilation failed: {e}"),
            ));
        }
    }
}

/// The message of a failed rule.
fn failure_message(
    compiler: Compiler,
    schema: &Value,
    rule: &Value,
    vars: &[(&str, &Value)],
) -> String {
    let expr = text(rule, "messageExpression");
    if !expr.trim().is_empty()
        && let Ok(p) = compiler(expr)
        && let Ok(m) = p.eval_string(schema, vars)
        && !m.trim().is_empty()
    {
        return m;
    }
    match text(rule, "message") {
        "" => format!("failed rule: {}", text(rule, "rule")),
        m => m.to_string(),
    }
}

/// The schema type upstream names in a failed rule's message.
fn type_of(schema: &Value) -> &str {
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return "int-or-string";
    }
    schema.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Evaluates every rule of `schema` over `value` (and `old`, on update).
/// As upstream ratchets, a rule that does not use oldSelf is not checked
/// against a value the update left unchanged.
pub(crate) fn check(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    check_with(compile, schema, value, old, path, errs);
}

fn check_with(
    compiler: Compiler,
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for rule in rules {
            let Ok(program) = compiler(text(rule, "rule")) else {
                continue;
            };
            let transition = program.uses("oldSelf");
            let vars: Vec<(&str, &Value)> = match (transition, old) {
                (true, None) => continue,
                // Ratcheting: an unchanged value keeps passing.
                (false, Some(o)) if o == value => continue,
                (true, Some(o)) => vec![("self", value), ("oldSelf", o)],
                (false, _) => vec![("self", value)],
            };
            let result = program.eval_bool(schema, &vars);
            let mut field = path.to_string();
            let fp = text(rule, "fieldPath");
            if !fp.is_empty() {
                field.push_str(fp);
            }
            let field = field.trim_start_matches('.');
            let field = if field.is_empty() { "<nil>" } else { field };
            let detail = match result {
                Ok(true) => continue,
                Ok(false) => failure_message(compiler, schema, rule, &vars),
                Err(e) => format!("{e} evaluating rule: {}", text(rule, "rule")),
            };
            let kind = match text(rule, "reason") {
                "FieldValueForbidden" => ErrorType::Forbidden,
                "FieldValueRequired" => ErrorType::Required,
                "FieldValueDuplicate" => ErrorType::Duplicate,
                _ => ErrorType::Invalid,
            };
            errs.push(FieldError {
                field: field.to_string(),
                kind,
                value: Some(go_quote(type_of(schema))),
                detail,
            });
        }
    }
    let child = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                if path.is_empty() && k == "metadata" {
                    continue;
                }
                let old_v = old.and_then(|o| o.get(k));
                if let Some(s) = props.and_then(|p| p.get(k)) {
                    check_with(compiler, s, v, old_v, &child(k), errs);
                } else if let Some(s) = additional {
                    check_with(compiler, s, v, old_v, &format!("{path}[{k}]"), errs);
                }
            }
        }
        Value::Array(items) => {
            let Some(s) = schema.get("items") else {
                return;
            };
            // Only map lists correlate items with the old list (by key).
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let is_map =
                schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map");
            for (i, v) in items.iter().enumerate() {
                let old_v = if is_map {
                    old.and_then(Value::as_array).and_then(|olds| {
                        olds.iter()
                            .find(|o| keys.iter().all(|k| o.get(*k) == v.get(*k)))
                    })
                } else {
                    None
                };
                check_with(compiler, s, v, old_v, &format!("{path}[{i}]"), errs);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A stand-in engine for the plumbing: understands `true`, `false`,
    /// `self == oldSelf` and `has-a` (whether self has field "a").
    struct Fake(String);

    impl RuleProgram for Fake {
        fn eval_bool(&self, _schema: &Value, vars: &[(&str, &Value)]) -> Result<bool, String> {
            let get = |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
            match self.0.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                "self == oldSelf" => Ok(get("self") == get("oldSelf")),
                "has-a" => Ok(get("self").is_some_and(|s| s.get("a").is_some())),
                _ => Err("no such overload".into()),
            }
        }
        fn eval_string(&self, _schema: &Value, _vars: &[(&str, &Value)]) -> Result<String, String> {
            Err("no such overload".into())
        }

        fn uses(&self, name: &str) -> bool {
            name == "oldSelf" && self.0.contains("oldSelf")
        }
    }

    fn fake(expr: &str) -> Result<Arc<dyn RuleProgram>, String> {
        match expr {
            "true" | "false" | "self == oldSelf" | "has-a" => Ok(Arc::new(Fake(expr.into()))),
            _ => Err(format!("ERROR: <input>:1:1: Syntax error: {expr}")),
        }
    }

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "has-a", "message": "a is needed"},
                {"rule": "self == oldSelf", "message": "spec is immutable"},
                {"rule": "false", "fieldPath": ".b", "reason": "FieldValueForbidden"}
            ],
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}}
        }}})
    }

    fn errors(obj: Value, old: Option<Value>) -> Vec<String> {
        let mut errs = Vec::new();
        check_with(fake, &schema(), &obj, old.as_ref(), "", &mut errs);
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn failed_rules_read_like_upstream() {
        assert_eq!(
            errors(json!({"spec": {"b": "x"}}), None),
            [
                "spec: Invalid value: \"object\": a is needed",
                "spec.b: Forbidden: failed rule: false",
            ]
        );
    }

    #[test]
    fn transition_rules_run_on_update_only() {
        let obj = json!({"spec": {"a": "x"}});
        assert_eq!(
            errors(obj.clone(), None),
            ["spec.b: Forbidden: failed rule: false"]
        );
        assert_eq!(
            errors(obj, Some(json!({"spec": {"a": "y"}}))),
            [
                "spec: Invalid value: \"object\": spec is immutable",
                "spec.b: Forbidden: failed rule: false",
            ]
        );
    }

    #[test]
    fn rules_that_do_not_compile_refuse_the_crd() {
        let mut errs = Vec::new();
        let node = json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.x >"}, {"rule": ""}]});
        validate_node_with(
            fake,
            &node,
            "spec.versions[0].schema.openAPIV3Schema",
            &mut errs,
        );
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0]: Invalid value: apiextensions.ValidationRule{Rule:\"self.x >\", Message:\"\", MessageExpression:\"\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:1: Syntax error: self.x >",
                "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[1].rule: Required value",
            ]
        );
    }
}

#[cfg(test)]
mod cel_tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<String> {
        let mut errs = Vec::new();
        check(schema, obj, old, "", &mut errs);
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rules_evaluate_with_cel() {
        let schema = json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.minReplicas <= self.replicas", "message": "replicas should be greater than or equal to minReplicas"},
                {"rule": "self.replicas <= 10", "messageExpression": "'replicas ' + string(self.replicas) + ' is too many'"},
                {"rule": "self.replicas >= oldSelf.replicas", "message": "replicas may not decrease"}
            ],
            "properties": {"replicas": {"type": "integer"}, "minReplicas": {"type": "integer"}}
        }}});
        assert!(
            errors(
                &schema,
                &json!({"spec": {"replicas": 3, "minReplicas": 1}}),
                None
            )
            .is_empty()
        );
        assert_eq!(
            errors(
                &schema,
                &json!({"spec": {"replicas": 11, "minReplicas": 12}}),
                None
            ),
            [
                "spec: Invalid value: \"object\": replicas should be greater than or equal to minReplicas",
                "spec: Invalid value: \"object\": replicas 11 is too many",
            ]
        );
        assert_eq!(
            errors(
                &schema,
                &json!({"spec": {"replicas": 2, "minReplicas": 1}}),
                Some(&json!({"spec": {"replicas": 3, "minReplicas": 1}}))
            ),
            ["spec: Invalid value: \"object\": replicas may not decrease"]
        );
        // A rule that cannot be evaluated says why.
        let errs = errors(&schema, &json!({"spec": {"replicas": 3}}), None);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("spec: Invalid value: \"object\": no such key: minReplicas evaluating rule: self.minReplicas <= self.replicas"),
            "{errs:?}"
        );
    }

    #[test]
    fn date_times_and_durations_are_typed_by_format() {
        let schema = json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.end > self.start", "message": "end must follow start"},
                {"rule": "self.timeout < duration('1h')", "message": "timeout too long"}
            ],
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "timeout": {"type": "string", "format": "duration"}
            }
        }}});
        // Compared as instants: 10:30+01:00 is before 10:00Z, though its
        // text sorts after it.
        let ok = json!({"spec": {"start": "2024-01-01T10:00:00Z", "end": "2024-01-01T10:30:00+01:00", "timeout": "30m"}});
        assert_eq!(
            errors(&schema, &ok, None),
            ["spec: Invalid value: \"object\": end must follow start"]
        );
        let ok = json!({"spec": {"start": "2024-01-01T10:00:00Z", "end": "2024-01-01T12:30:00+01:00", "timeout": "30m"}});
        assert!(errors(&schema, &ok, None).is_empty());
        let long = json!({"spec": {"start": "2024-01-01T10:00:00Z", "end": "2024-01-01T12:30:00+01:00", "timeout": "2h"}});
        assert_eq!(
            errors(&schema, &long, None),
            ["spec: Invalid value: \"object\": timeout too long"]
        );
    }

    #[test]
    fn rules_compile_at_crd_write() {
        let mut errs = Vec::new();
        validate_node(
            &json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.a >"}]}),
            "spec.versions[0].schema.openAPIV3Schema",
            &mut errs,
        );
        assert_eq!(errs.len(), 1);
        let msg = errs[0].to_string();
        assert!(
            msg.starts_with("spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0]: Invalid value: apiextensions.ValidationRule{Rule:\"self.a >\""),
            "{msg}"
        );
        assert!(
            msg.contains(": compilation failed: ERROR: <input>:1:"),
            "{msg}"
        );
    }
}
