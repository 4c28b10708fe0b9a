//! Upstream's validation of webhook configurations and admission policies
//! (the checks clients meet most; CEL expressions are compiled when the
//! policy code evaluates them).

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
        for (j, r) in hook
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
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
