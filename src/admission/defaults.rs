//! Upstream's defaults for admissionregistration.k8s.io/v1 objects, so the
//! stored configurations read back as a v1.35 server returns them.

use serde_json::{Map, Value, json};

fn default(obj: &mut Map<String, Value>, field: &str, value: Value) {
    if obj.get(field).is_none_or(Value::is_null) {
        obj.insert(field.into(), value);
    }
}

fn each<'a>(
    obj: &'a mut Map<String, Value>,
    field: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    obj.get_mut(field)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn rules(obj: &mut Map<String, Value>, field: &str) {
    for rule in each(obj, field) {
        default(rule, "scope", json!("*"));
    }
}

fn webhook(hook: &mut Map<String, Value>, mutating: bool) {
    default(hook, "failurePolicy", json!("Fail"));
    default(hook, "matchPolicy", json!("Equivalent"));
    default(hook, "namespaceSelector", json!({}));
    default(hook, "objectSelector", json!({}));
    default(hook, "timeoutSeconds", json!(10));
    if mutating {
        default(hook, "reinvocationPolicy", json!("Never"));
    }
    rules(hook, "rules");
    if let Some(svc) = hook
        .get_mut("clientConfig")
        .and_then(|c| c.get_mut("service"))
        .and_then(Value::as_object_mut)
    {
        default(svc, "port", json!(443));
    }
}

fn match_resources(m: &mut Map<String, Value>) {
    default(m, "namespaceSelector", json!({}));
    default(m, "objectSelector", json!({}));
    default(m, "matchPolicy", json!("Equivalent"));
    rules(m, "resourceRules");
    rules(m, "excludeResourceRules");
}

/// Fills in the defaults of an admissionregistration.k8s.io/v1 `kind`.
pub(crate) fn apply(kind: &str, root: &mut Map<String, Value>) {
    match kind {
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => {
            let mutating = kind == "MutatingWebhookConfiguration";
            for hook in each(root, "webhooks") {
                webhook(hook, mutating);
            }
        }
        "ValidatingAdmissionPolicy" => {
            if let Some(spec) = root.get_mut("spec").and_then(Value::as_object_mut) {
                default(spec, "failurePolicy", json!("Fail"));
                if let Some(m) = spec
                    .get_mut("matchConstraints")
                    .and_then(Value::as_object_mut)
                {
                    match_resources(m);
                }
            }
        }
        "ValidatingAdmissionPolicyBinding" => {
            if let Some(m) = root
                .get_mut("spec")
                .and_then(|s| s.get_mut("matchResources"))
                .and_then(Value::as_object_mut)
            {
                match_resources(m);
            }
        }
        _ => {}
    }
}
