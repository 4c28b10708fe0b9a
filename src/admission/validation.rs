//! Upstream's validation of webhook configurations, admission policies and
//! their bindings: the checks clients meet most, including compiling every
//! CEL expression.

use serde_json::Value;

use crate::registry::validation::{FieldError, go_quote};

fn strs(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn enum_field(obj: &Value, field: &str, path: &str, valid: &[&str], errs: &mut Vec<FieldError>) {
    if let Some(v) = obj.get(field).and_then(Value::as_str)
        && !valid.contains(&v)
    {
        errs.push(FieldError::not_supported(
            &format!("{path}.{field}"),
            go_quote(v),
            valid,
        ));
    }
}

/// A `RuleWithOperations` (webhooks) or `NamedRuleWithOperations` (policies).
fn rule(rule: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let ops = strs(rule.get("operations"));
    if ops.is_empty() {
        errs.push(FieldError::required(&format!("{path}.operations"), ""));
    }
    const OPS: &[&str] = &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
    for (i, op) in ops.iter().enumerate() {
        if !OPS.contains(op) {
            errs.push(FieldError::not_supported(
                &format!("{path}.operations[{i}]"),
                go_quote(op),
                OPS,
            ));
        }
    }
    if strs(rule.get("apiGroups")).is_empty() {
        errs.push(FieldError::required(&format!("{path}.apiGroups"), ""));
    }
    if strs(rule.get("apiVersions")).is_empty() {
        errs.push(FieldError::required(&format!("{path}.apiVersions"), ""));
    }
    if strs(rule.get("resources")).is_empty() {
        errs.push(FieldError::required(&format!("{path}.resources"), ""));
    }
    enum_field(rule, "scope", path, &["*", "Cluster", "Namespaced"], errs);
}

/// ValidatingWebhookConfiguration and MutatingWebhookConfiguration. On
/// update, values only an older server accepted stay allowed, as upstream
/// allows them.
pub(crate) fn webhook_configuration(
    kind: &str,
    obj: &Value,
    old: Option<&Value>,
    errs: &mut Vec<FieldError>,
) {
    let mutating = kind == "MutatingWebhookConfiguration";
    let old_hooks: Vec<&Value> = old
        .and_then(|o| o.get("webhooks"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let require_no_side_effects = old.is_none()
        || old_hooks.iter().all(|h| {
            matches!(
                h.get("sideEffects").and_then(Value::as_str),
                Some("None" | "NoneOnDryRun")
            )
        });
    let mut names = std::collections::HashSet::new();
    let hooks = obj
        .get("webhooks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, hook) in hooks.iter().enumerate() {
        let path = format!("webhooks[{i}]");
        let name = hook.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            errs.push(FieldError::required(&format!("{path}.name"), ""));
        } else if name.split('.').count() < 3 {
            errs.push(FieldError::invalid_str(
                &format!("{path}.name"),
                name,
                "should be a domain with at least three segments separated by dots",
            ));
        } else if !names.insert(name) {
            errs.push(FieldError::duplicate(
                &format!("{path}.name"),
                go_quote(name),
            ));
        }
        for (j, r) in super::items(hook, "rules").enumerate() {
            rule(r, &format!("{path}.rules[{j}]"), errs);
        }
        enum_field(hook, "failurePolicy", &path, &["Fail", "Ignore"], errs);
        enum_field(hook, "matchPolicy", &path, &["Equivalent", "Exact"], errs);
        if mutating {
            enum_field(
                hook,
                "reinvocationPolicy",
                &path,
                &["IfNeeded", "Never"],
                errs,
            );
        }
        let side_effects: &[&str] = if require_no_side_effects {
            &["None", "NoneOnDryRun"]
        } else {
            &["None", "NoneOnDryRun", "Some", "Unknown"]
        };
        match hook.get("sideEffects").and_then(Value::as_str) {
            None => errs.push(FieldError::required(
                &format!("{path}.sideEffects"),
                &format!("must specify one of {}", side_effects.join(", ")),
            )),
            Some(_) => enum_field(hook, "sideEffects", &path, side_effects, errs),
        }
        if let Some(t) = hook.get("timeoutSeconds").and_then(Value::as_i64)
            && !(1..=30).contains(&t)
        {
            errs.push(FieldError::invalid(
                &format!("{path}.timeoutSeconds"),
                t.to_string(),
                "the timeout value must be between 1 and 30 seconds",
            ));
        }
        let cc = hook.get("clientConfig").unwrap_or(&Value::Null);
        match (cc.get("url").and_then(Value::as_str), cc.get("service")) {
            (Some(_), Some(s)) if !s.is_null() => errs.push(FieldError::required(
                &format!("{path}.clientConfig"),
                "exactly one of url or service is required",
            )),
            (None, None | Some(Value::Null)) => errs.push(FieldError::required(
                &format!("{path}.clientConfig"),
                "exactly one of url or service is required",
            )),
            (Some(url), _) => {
                if !url.starts_with("https://") {
                    errs.push(FieldError::invalid_str(
                        &format!("{path}.clientConfig.url"),
                        url,
                        "'https' is the only allowed URL scheme",
                    ));
                }
            }
            (None, Some(svc)) => {
                let sp = format!("{path}.clientConfig.service");
                for f in ["name", "namespace"] {
                    if svc.get(f).and_then(Value::as_str).unwrap_or("").is_empty() {
                        errs.push(FieldError::required(
                            &format!("{sp}.{f}"),
                            &format!("service {f} is required"),
                        ));
                    }
                }
            }
        }
        match_conditions(hook, &path, super::expr::CONDITION_VARS, errs);
        let versions = strs(hook.get("admissionReviewVersions"));
        let vpath = format!("{path}.admissionReviewVersions");
        if versions.is_empty() {
            errs.push(FieldError::required(
                &vpath,
                "must specify one of v1, v1beta1",
            ));
        } else if !versions.iter().any(|v| *v == "v1" || *v == "v1beta1") {
            let quoted: Vec<String> = versions.iter().map(|v| go_quote(v)).collect();
            errs.push(FieldError::invalid(
                &vpath,
                format!("[]string{{{}}}", quoted.join(", ")),
                "must include at least one of v1, v1beta1",
            ));
        }
    }
}

/// `matchConditions` of a webhook or policy: named, compiling expressions.
fn match_conditions(obj: &Value, path: &str, vars: &[&'static str], errs: &mut Vec<FieldError>) {
    let mut names = std::collections::HashSet::new();
    for (i, c) in super::items(obj, "matchConditions").enumerate() {
        let p = format!("{path}.matchConditions[{i}]");
        let expression = c.get("expression").and_then(Value::as_str).unwrap_or("");
        if expression.trim().is_empty() {
            errs.push(FieldError::required(&format!("{p}.expression"), ""));
        } else if let Err(e) = super::expr::compile(expression.trim(), vars) {
            errs.push(FieldError::invalid_str(
                &format!("{p}.expression"),
                expression,
                &e,
            ));
        }
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            errs.push(FieldError::required(&format!("{p}.name"), ""));
        } else if !names.insert(name) {
            errs.push(FieldError::duplicate(&format!("{p}.name"), go_quote(name)));
        }
    }
}

/// An expression field: required, and compiling against `vars`.
fn expression(
    obj: &Value,
    field: &str,
    path: &str,
    vars: &[&'static str],
    required: &str,
    errs: &mut Vec<FieldError>,
) {
    let text = obj.get(field).and_then(Value::as_str).unwrap_or("");
    if text.trim().is_empty() {
        errs.push(FieldError::required(&format!("{path}.{field}"), required));
    } else if let Err(e) = super::expr::compile(text, vars) {
        errs.push(FieldError::invalid_str(
            &format!("{path}.{field}"),
            text,
            &e,
        ));
    }
}

fn match_resources(m: &Value, path: &str, errs: &mut Vec<FieldError>) {
    enum_field(m, "matchPolicy", path, &["Equivalent", "Exact"], errs);
    for field in ["resourceRules", "excludeResourceRules"] {
        for (i, r) in super::items(m, field).enumerate() {
            rule(r, &format!("{path}.{field}[{i}]"), errs);
        }
    }
}

/// ValidatingAdmissionPolicy.
pub(crate) fn policy(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    enum_field(spec, "failurePolicy", "spec", &["Fail", "Ignore"], errs);
    let has_params = match spec.get("paramKind").filter(|p| p.is_object()) {
        Some(pk) => {
            for f in ["apiVersion", "kind"] {
                if pk.get(f).and_then(Value::as_str).unwrap_or("").is_empty() {
                    errs.push(FieldError::required(&format!("spec.paramKind.{f}"), ""));
                }
            }
            true
        }
        None => false,
    };
    match spec.get("matchConstraints").filter(|m| m.is_object()) {
        None => errs.push(FieldError::required("spec.matchConstraints", "")),
        Some(m) => {
            match_resources(m, "spec.matchConstraints", errs);
            if m.get("resourceRules")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                errs.push(FieldError::required(
                    "spec.matchConstraints.resourceRules",
                    "",
                ));
            }
        }
    }
    let vars = super::expr::policy_vars(has_params);
    match_conditions(spec, "spec", &vars, errs);
    for (i, v) in super::items(spec, "variables").enumerate() {
        let p = format!("spec.variables[{i}]");
        if v.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .is_empty()
        {
            errs.push(FieldError::required(
                &format!("{p}.name"),
                "name is not specified",
            ));
        }
        expression(
            v,
            "expression",
            &p,
            &vars,
            "expression is not specified",
            errs,
        );
    }
    let validations = spec
        .get("validations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let audit = spec
        .get("auditAnnotations")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if validations.is_empty() && audit == 0 {
        let msg = "validations or auditAnnotations must contain at least one item";
        errs.push(FieldError::required("spec.validations", msg));
        errs.push(FieldError::required("spec.auditAnnotations", msg));
    }
    for (i, v) in validations.iter().enumerate() {
        let p = format!("spec.validations[{i}]");
        expression(
            v,
            "expression",
            &p,
            &vars,
            "expression is not specified",
            errs,
        );
        if let Some(m) = v.get("messageExpression").and_then(Value::as_str) {
            if m.trim().is_empty() {
                errs.push(FieldError::invalid_str(
                    &format!("{p}.messageExpression"),
                    m,
                    "must be non-empty if specified",
                ));
            } else {
                expression(v, "messageExpression", &p, &vars, "", errs);
            }
        }
        enum_field(
            v,
            "reason",
            &p,
            &["Forbidden", "Invalid", "RequestEntityTooLarge"],
            errs,
        );
    }
}

/// ValidatingAdmissionPolicyBinding.
pub(crate) fn binding(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if spec
        .get("policyName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        errs.push(FieldError::required("spec.policyName", ""));
    }
    if let Some(pr) = spec.get("paramRef").filter(|p| p.is_object()) {
        let has_name = pr
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let has_selector = pr.get("selector").is_some_and(Value::is_object);
        if has_name && has_selector {
            let msg = "name and selector are mutually exclusive";
            errs.push(FieldError::forbidden("spec.paramRef.name", msg));
            errs.push(FieldError::forbidden("spec.paramRef.selector", msg));
        }
        if !has_name && !has_selector {
            errs.push(FieldError::required(
                "spec.paramRef",
                "one of name or selector must be specified",
            ));
        }
        match pr.get("parameterNotFoundAction").and_then(Value::as_str) {
            None | Some("") => errs.push(FieldError::required(
                "spec.paramRef.parameterNotFoundAction",
                "",
            )),
            Some(_) => enum_field(
                pr,
                "parameterNotFoundAction",
                "spec.paramRef",
                &["Deny", "Allow"],
                errs,
            ),
        }
    }
    if let Some(m) = spec.get("matchResources").filter(|m| m.is_object()) {
        // Upstream's field path carries this spelling.
        match_resources(m, "spec.matchResouces", errs);
    }
    let actions = strs(spec.get("validationActions"));
    const ACTIONS: &[&str] = &["Audit", "Deny", "Warn"];
    let mut seen = std::collections::HashSet::new();
    for (i, a) in actions.iter().enumerate() {
        let p = format!("spec.validationActions[{i}]");
        if !ACTIONS.contains(a) {
            errs.push(FieldError::not_supported(&p, go_quote(a), ACTIONS));
        }
        if !seen.insert(*a) {
            errs.push(FieldError::duplicate(&p, go_quote(a)));
        }
    }
    if seen.contains("Deny") && seen.contains("Warn") {
        let quoted: Vec<String> = actions.iter().map(|a| go_quote(a)).collect();
        errs.push(FieldError::invalid(
            "spec.validationActions",
            format!("[]admissionregistration.ValidationAction{{{}}}", quoted.join(", ")),
            "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
        ));
    }
    if seen.is_empty() {
        errs.push(FieldError::required(
            "spec.validationActions",
            "at least one validation action is required",
        ));
    }
}
