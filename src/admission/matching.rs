//! Which requests a webhook or policy applies to: rules with operations,
//! groups, versions, resources and scope, and label selectors over the
//! object and its namespace.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Attributes, Lookup};
use crate::registry::ApiError;

/// Whether one `RuleWithOperations` (or a policy's `NamedRuleWithOperations`)
/// covers the request.
pub(crate) fn rule_matches(rule: &Value, attrs: &Attributes<'_>) -> bool {
    let list = |field: &str| -> Vec<&str> {
        rule.get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let any_or = |items: &[&str], want: &str| items.iter().any(|i| *i == "*" || *i == want);
    let def = attrs.def;
    let is_namespace_object = def.group.is_empty() && def.plural == "namespaces";
    let scope_ok = match rule.get("scope").and_then(Value::as_str).unwrap_or("*") {
        "*" => true,
        "Namespaced" => !is_namespace_object && attrs.namespace.is_some(),
        "Cluster" => is_namespace_object || attrs.namespace.is_none(),
        _ => false,
    };
    let resource_ok = list("resources").iter().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r, ""));
        (res == "*" || res == def.plural) && (sub == "*" || sub == attrs.subresource)
    });
    let names = list("resourceNames");
    let name_ok = names.is_empty() || names.contains(&attrs.name);
    scope_ok
        && any_or(&list("operations"), attrs.operation.as_str())
        && any_or(&list("apiGroups"), def.group)
        && any_or(&list("apiVersions"), def.version)
        && resource_ok
        && name_ok
}

/// A `metav1.LabelSelector` against a label set. An absent selector
/// matches everything, as an empty one does.
pub(crate) fn selector_matches(
    selector: Option<&Value>,
    labels: &BTreeMap<String, String>,
) -> bool {
    let Some(sel) = selector.filter(|s| s.is_object()) else {
        return true;
    };
    let match_labels = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let exprs = super::items(sel, "matchExpressions").all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let have = labels.get(key).map(String::as_str);
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    match_labels && exprs
}

fn is_empty_selector(selector: Option<&Value>) -> bool {
    selector.and_then(Value::as_object).is_none_or(|s| {
        s.get("matchLabels")
            .and_then(Value::as_object)
            .is_none_or(|m| m.is_empty())
            && s.get("matchExpressions")
                .and_then(Value::as_array)
                .is_none_or(|m| m.is_empty())
    })
}

pub(crate) fn labels_of(obj: Option<&Value>) -> BTreeMap<String, String> {
    obj.and_then(|o| o.pointer("/metadata/labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The namespace object a request concerns: the object itself when a
/// Namespace is created or updated, the stored namespace otherwise.
pub(crate) fn namespace_object(lookup: &dyn Lookup, attrs: &Attributes<'_>) -> Option<Value> {
    let def = attrs.def;
    if def.group.is_empty()
        && def.plural == "namespaces"
        && attrs.subresource.is_empty()
        && matches!(
            attrs.operation,
            super::Operation::Create | super::Operation::Update
        )
    {
        return attrs.object.cloned();
    }
    let ns = attrs
        .namespace
        .or_else(|| (def.group.is_empty() && def.plural == "namespaces").then_some(attrs.name))?;
    lookup
        .get(&format!("/namespaces//{ns}"))
        .map(|v| (*v).clone())
}

/// Upstream's namespaceSelector: cluster-scoped requests (other than for
/// Namespaces) always match; a missing namespace is a 404.
pub(crate) fn namespace_selector_matches(
    lookup: &dyn Lookup,
    selector: Option<&Value>,
    attrs: &Attributes<'_>,
) -> Result<bool, ApiError> {
    let is_namespace = attrs.def.group.is_empty() && attrs.def.plural == "namespaces";
    if attrs.namespace.is_none() && !is_namespace {
        return Ok(true);
    }
    if is_empty_selector(selector) {
        return Ok(true);
    }
    match namespace_object(lookup, attrs) {
        Some(ns) => Ok(selector_matches(selector, &labels_of(Some(&ns)))),
        None => {
            let ns_def = crate::registry::resources::find("", "v1", "namespaces")
                .ok_or_else(|| ApiError::internal("no namespaces resource"))?;
            Err(ApiError::not_found(
                ns_def,
                attrs.namespace.unwrap_or(attrs.name),
            ))
        }
    }
}

/// Upstream's objectSelector: either the new or the old object matches.
pub(crate) fn object_selector_matches(selector: Option<&Value>, attrs: &Attributes<'_>) -> bool {
    if is_empty_selector(selector) {
        return true;
    }
    [attrs.object, attrs.old_object]
        .into_iter()
        .flatten()
        .any(|o| selector_matches(selector, &labels_of(Some(o))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn attrs<'a>(
        plural: &str,
        sub: &'a str,
        ns: Option<&'a str>,
        user: &'a crate::registry::UserInfo,
    ) -> Attributes<'a> {
        let def = crate::registry::resources::all()
            .into_iter()
            .find(|d| d.plural == plural && d.custom.is_none())
            .unwrap();
        Attributes {
            def,
            subresource: sub,
            namespace: ns,
            name: "x",
            operation: super::super::Operation::Update,
            object: None,
            old_object: None,
            dry_run: false,
            user,
            options: Value::Null,
        }
    }

    #[test]
    fn rules_match_resources_subresources_and_scope() {
        let user = Default::default();
        let rule = |resources: &[&str], scope: &str| {
            json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
                "resources": resources, "scope": scope})
        };
        let pod = attrs("pods", "", Some("default"), &user);
        let pod_status = attrs("pods", "status", Some("default"), &user);
        assert!(rule_matches(&rule(&["pods"], "*"), &pod));
        assert!(!rule_matches(&rule(&["pods"], "*"), &pod_status));
        assert!(rule_matches(&rule(&["pods/*"], "*"), &pod_status));
        // Upstream's `x/*` covers the resource itself too.
        assert!(rule_matches(&rule(&["pods/*"], "*"), &pod));
        assert!(rule_matches(&rule(&["*/status"], "*"), &pod_status));
        assert!(!rule_matches(&rule(&["*"], "*"), &pod_status));
        assert!(rule_matches(&rule(&["*/*"], "*"), &pod));
        assert!(rule_matches(&rule(&["pods"], "Namespaced"), &pod));
        assert!(!rule_matches(&rule(&["pods"], "Cluster"), &pod));
        // Namespaces are cluster-scoped even though they name a namespace.
        let namespace = attrs("namespaces", "", Some("x"), &user);
        assert!(rule_matches(&rule(&["namespaces"], "Cluster"), &namespace));
        assert!(!rule_matches(
            &rule(&["namespaces"], "Namespaced"),
            &namespace
        ));
        let node = attrs("nodes", "", None, &user);
        assert!(rule_matches(&rule(&["*"], "Cluster"), &node));
        let only_create = json!({"operations": ["CREATE"], "apiGroups": [""],
            "apiVersions": ["v1"], "resources": ["pods"]});
        assert!(!rule_matches(&only_create, &pod));
        let other_group = json!({"operations": ["*"], "apiGroups": ["apps"],
            "apiVersions": ["*"], "resources": ["*"]});
        assert!(!rule_matches(&other_group, &pod));
    }

    #[test]
    fn label_selectors_follow_metav1_semantics() {
        let l = labels(&[("env", "prod"), ("tier", "web")]);
        assert!(selector_matches(None, &l));
        assert!(selector_matches(Some(&json!({})), &l));
        assert!(selector_matches(
            Some(&json!({"matchLabels": {"env": "prod"}})),
            &l
        ));
        assert!(!selector_matches(
            Some(&json!({"matchLabels": {"env": "dev"}})),
            &l
        ));
        let expr = |op: &str, values: &[&str]| json!({"matchExpressions": [{"key": "env", "operator": op, "values": values}]});
        assert!(selector_matches(Some(&expr("In", &["prod", "dev"])), &l));
        assert!(!selector_matches(Some(&expr("NotIn", &["prod"])), &l));
        assert!(selector_matches(
            Some(&expr("NotIn", &["prod"])),
            &labels(&[])
        ));
        assert!(selector_matches(Some(&expr("Exists", &[])), &l));
        assert!(!selector_matches(Some(&expr("DoesNotExist", &[])), &l));
    }
}
