//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding: CEL
//! validations run in process, with parameters, variables, match
//! conditions and the Deny, Warn and Audit actions, worded as upstream.

use serde_json::{Value, json};

use super::{Attributes, Lookup, conditions, configurations, expr, matching};
use crate::registry::ApiError;
use crate::registry::error::qualified;

/// A failed validation or a configuration error that denies.
struct Denial {
    policy: String,
    binding: Option<String>,
    message: String,
    /// `Invalid` when the validation names none.
    reason: String,
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Upstream's match of `matchConstraints` or a binding's `matchResources`.
fn matches(
    lookup: &dyn Lookup,
    resources: &Value,
    attrs: &Attributes<'_>,
) -> Result<bool, ApiError> {
    let ns =
        matching::namespace_selector_matches(lookup, resources.get("namespaceSelector"), attrs);
    if matches!(ns, Ok(false)) {
        return Ok(false);
    }
    if !matching::object_selector_matches(resources.get("objectSelector"), attrs) {
        return Ok(false);
    }
    let rules = |field: &str| -> Vec<&Value> {
        resources
            .get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    if rules("excludeResourceRules")
        .into_iter()
        .any(|r| matching::rule_matches(r, attrs))
    {
        return Ok(false);
    }
    let included = rules("resourceRules");
    if !included.is_empty()
        && !included
            .into_iter()
            .any(|r| matching::rule_matches(r, attrs))
    {
        return Ok(false);
    }
    ns
}

/// The parameter objects a binding selects: `[None]` when the policy takes
/// none, possibly empty when none were found.
fn params(
    lookup: &dyn Lookup,
    param_kind: Option<&Value>,
    param_ref: Option<&Value>,
    namespace: Option<&str>,
) -> Result<Vec<Option<Value>>, String> {
    let (Some(kind), Some(pref)) = (param_kind, param_ref) else {
        return Ok(vec![None]);
    };
    let api_version = kind.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind_name = kind.get("kind").and_then(Value::as_str).unwrap_or("");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let def = crate::registry::resources::find_kind(group, version, kind_name)
        .ok_or_else(|| format!("paramKind kind `{api_version}, Kind={kind_name}` not known"))?;
    let ref_ns = pref
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let scope_ns = if def.namespaced {
        match ref_ns.or(namespace) {
            Some(ns) => Some(ns),
            None => {
                return Err(
                    "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                        .into(),
                );
            }
        }
    } else if ref_ns.is_some() {
        return Err(
            "paramRef.namespace must not be provided for a cluster-scoped `paramKind`".into(),
        );
    } else {
        None
    };
    let name = pref
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let selector = pref.get("selector").filter(|s| s.is_object());
    let found: Vec<Option<Value>> = match (name, selector) {
        (Some(_), Some(_)) => {
            return Err("paramRef.name and paramRef.selector are mutually exclusive".into());
        }
        (Some(name), None) => lookup
            .get(&crate::registry::key(def, scope_ns, name))
            .map(|p| Some((*p).clone()))
            .into_iter()
            .collect(),
        (None, Some(selector)) => {
            let prefix = crate::registry::key(def, scope_ns, "");
            lookup
                .list(&prefix)
                .into_iter()
                .filter(|p| {
                    matching::selector_matches(Some(selector), &matching::labels_of(Some(p)))
                })
                .map(|p| Some((*p).clone()))
                .collect()
        }
        (None, None) => return Err("one of name or selector must be provided".into()),
    };
    if found.is_empty()
        && pref.get("parameterNotFoundAction").and_then(Value::as_str) == Some("Deny")
    {
        return Err(
            "no params found for policy binding with `Deny` parameterNotFoundAction".into(),
        );
    }
    Ok(found)
}

/// One failed validation of a policy under one parameter.
struct Failure {
    message: String,
    reason: String,
}

/// Runs a policy's conditions, variables and validations for one parameter.
fn evaluate(
    spec: &Value,
    attrs: &Attributes<'_>,
    param: Option<&Value>,
    namespace: Option<&Value>,
) -> Vec<Failure> {
    let fails_open = spec.get("failurePolicy").and_then(Value::as_str) == Some("Ignore");
    let vars = expr::policy_vars(spec.get("paramKind").is_some_and(|p| p.is_object()));
    let request = attrs.request();
    let mut bindings = expr::Bindings::new(&[
        ("object", attrs.object.unwrap_or(&Value::Null)),
        ("oldObject", attrs.old_object.unwrap_or(&Value::Null)),
        ("request", &request),
        ("namespaceObject", namespace.unwrap_or(&Value::Null)),
        ("params", param.unwrap_or(&Value::Null)),
    ]);
    // Variables are evaluated when an expression first uses them; one that
    // does not compile fails the expressions using it.
    let variables = super::items(spec, "variables")
        .filter_map(|v| {
            let name = v.get("name").and_then(Value::as_str)?;
            let expression = v.get("expression").and_then(Value::as_str)?;
            Some((name.to_string(), expr::compile(expression, &vars).ok()?))
        })
        .collect();
    bindings.set_variables(variables);
    let on_error = |message: String| {
        if fails_open {
            Vec::new()
        } else {
            vec![Failure {
                message,
                reason: String::new(),
            }]
        }
    };
    if let Some(conds) = spec.get("matchConditions").and_then(Value::as_array)
        && !conds.is_empty()
    {
        match conditions::evaluate(conds, &vars, &bindings, fails_open) {
            Ok(true) => {}
            Ok(false) => return Vec::new(),
            Err(e) => return on_error(e),
        }
    }
    let mut failures = Vec::new();
    for validation in super::items(spec, "validations") {
        let expression = validation
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or("");
        match expr::compile(expression, &vars).and_then(|p| bindings.eval_bool(&p)) {
            Ok(true) => {}
            Ok(false) => failures.push(Failure {
                message: failure_message(validation, &vars, &bindings),
                reason: validation
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("Invalid")
                    .to_string(),
            }),
            Err(e) => failures.extend(on_error(e)),
        }
    }
    failures
}

/// The message of a failed validation: its `messageExpression` when that
/// gives a one-line string, else its `message`, else the expression.
fn failure_message(validation: &Value, vars: &[&'static str], bindings: &expr::Bindings) -> String {
    let text = |field: &str| {
        validation
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let from_expression = validation
        .get("messageExpression")
        .and_then(Value::as_str)
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| expr::compile(e, vars).ok())
        .and_then(|p| bindings.eval(&p).ok())
        .and_then(|v| v.to_json().as_str().map(|s| s.trim().to_string()))
        .filter(|m| !m.is_empty() && !m.contains('\n') && m.len() <= 5 * 1024);
    from_expression
        .or_else(|| Some(text("message")).filter(|m| !m.is_empty()))
        .unwrap_or_else(|| format!("failed expression: {}", text("expression")))
}

/// Runs every policy bound to the request. Warn actions add warnings; the
/// first Deny is the request's error.
pub(super) fn validate(
    lookup: &dyn Lookup,
    attrs: &Attributes<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    let policies = configurations(lookup, "validatingadmissionpolicies");
    if policies.is_empty() {
        return Ok(());
    }
    let bindings = configurations(lookup, "validatingadmissionpolicybindings");
    let mut denials = Vec::new();
    for policy in &policies {
        let policy_name = name_of(policy);
        let spec = policy.get("spec").unwrap_or(&Value::Null);
        let fails_open = spec.get("failurePolicy").and_then(Value::as_str) == Some("Ignore");
        let config_error = |binding: Option<&str>, message: String, denials: &mut Vec<Denial>| {
            if !fails_open {
                denials.push(Denial {
                    policy: policy_name.to_string(),
                    binding: binding.map(String::from),
                    message,
                    reason: String::new(),
                });
            }
        };
        let constraints = spec.get("matchConstraints").unwrap_or(&Value::Null);
        match matches(lookup, constraints, attrs) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                config_error(
                    None,
                    format!("failed to configure policy: {}", e.message),
                    &mut denials,
                );
                continue;
            }
        }
        for binding in bindings
            .iter()
            .filter(|b| b.pointer("/spec/policyName").and_then(Value::as_str) == Some(policy_name))
        {
            let binding_name = name_of(binding);
            let bspec = binding.get("spec").unwrap_or(&Value::Null);
            if let Some(resources) = bspec.get("matchResources").filter(|m| m.is_object()) {
                match matches(lookup, resources, attrs) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        config_error(
                            Some(binding_name),
                            format!("failed to configure binding: {}", e.message),
                            &mut denials,
                        );
                        continue;
                    }
                }
            }
            let found = match params(
                lookup,
                spec.get("paramKind").filter(|p| p.is_object()),
                bspec.get("paramRef").filter(|p| p.is_object()),
                attrs.namespace,
            ) {
                Ok(p) => p,
                Err(e) => {
                    config_error(
                        Some(binding_name),
                        format!("failed to configure binding: {e}"),
                        &mut denials,
                    );
                    continue;
                }
            };
            let is_namespace = attrs.def.group.is_empty() && attrs.def.kind == "Namespace";
            let namespace = attrs
                .namespace
                .filter(|_| !is_namespace)
                .and_then(|ns| lookup.get(&format!("/namespaces//{ns}")));
            let actions: Vec<&str> = bspec
                .get("validationActions")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for param in &found {
                for failure in evaluate(spec, attrs, param.as_ref(), namespace.as_deref()) {
                    for action in &actions {
                        match *action {
                            "Deny" => denials.push(Denial {
                                policy: policy_name.to_string(),
                                binding: Some(binding_name.to_string()),
                                message: failure.message.clone(),
                                reason: failure.reason.clone(),
                            }),
                            "Warn" => warnings.push(format!(
                                "Validation failed for ValidatingAdmissionPolicy '{policy_name}' with binding '{binding_name}': {}",
                                failure.message
                            )),
                            // Audit annotations have no audit log to go to yet.
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    match denials.into_iter().next() {
        None => Ok(()),
        Some(d) => Err(denied(attrs, d)),
    }
}

/// Upstream's refusal: Forbidden's message and details, the validation's
/// reason and its code.
fn denied(attrs: &Attributes<'_>, d: Denial) -> ApiError {
    let message = match &d.binding {
        Some(b) => format!(
            "ValidatingAdmissionPolicy '{}' with binding '{b}' denied request: {}",
            d.policy, d.message
        ),
        None => format!(
            "ValidatingAdmissionPolicy '{}' denied request: {}",
            d.policy, d.message
        ),
    };
    let reason = if d.reason.is_empty() {
        "Invalid"
    } else {
        d.reason.as_str()
    };
    let code = match reason {
        "Forbidden" => 403,
        "Unauthorized" => 401,
        "RequestEntityTooLarge" => 413,
        _ => 422,
    };
    let name = if attrs.name.is_empty() {
        "Unknown"
    } else {
        attrs.name
    };
    let mut details =
        json!({ "name": name, "kind": attrs.def.plural, "causes": [{ "message": message }] });
    if !attrs.def.group.is_empty() {
        details["group"] = json!(attrs.def.group);
    }
    ApiError {
        details: Some(details),
        ..ApiError::new(
            code,
            super::status_reason(reason),
            format!(
                "{} \"{name}\" is forbidden: {message}",
                qualified(attrs.def)
            ),
        )
    }
}
