//! RBAC: roles, cluster roles and their bindings.

use serde_json::Value;

use super::other::subdomain_field;
use super::{
    FieldError, child, get_arr, get_str, go_quote, index, is_path_segment_name, render_opt,
    validate_label_selector,
};

type Errs = Vec<FieldError>;

pub(super) const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub(super) fn rbac(kind: &str, obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let namespaced = matches!(kind, "Role" | "RoleBinding");
    match kind {
        "Role" | "ClusterRole" => {
            for (i, rule) in get_arr(obj, "rules").iter().enumerate() {
                policy_rule(rule, namespaced, &index("rules", i), errs);
            }
            if let Some(agg) = obj
                .get("aggregationRule")
                .filter(|a| !a.is_null() && kind == "ClusterRole")
            {
                let selectors = get_arr(agg, "clusterRoleSelectors");
                if selectors.is_empty() {
                    let msg =
                        "at least one clusterRoleSelector required if aggregationRule is non-nil";
                    errs.push(FieldError::required(
                        "aggregationRule.clusterRoleSelectors",
                        msg,
                    ));
                }
                for (i, s) in selectors.iter().enumerate() {
                    validate_label_selector(
                        Some(s),
                        &index("aggregationRule.clusterRoleSelectors", i),
                        errs,
                    );
                }
            }
        }
        "RoleBinding" | "ClusterRoleBinding" => binding(obj, old, namespaced, errs),
        _ => {}
    }
}

pub(super) fn policy_rule(rule: &Value, namespaced: bool, path: &str, errs: &mut Errs) {
    if get_arr(rule, "verbs").is_empty() {
        errs.push(FieldError::required(
            &child(path, "verbs"),
            "verbs must contain at least one value",
        ));
    }
    let urls = get_arr(rule, "nonResourceURLs");
    if !urls.is_empty() {
        let shown = render_opt(rule.get("nonResourceURLs"));
        if namespaced {
            errs.push(FieldError::invalid(
                &child(path, "nonResourceURLs"),
                shown.clone(),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if ["apiGroups", "resources", "resourceNames"]
            .iter()
            .any(|k| !get_arr(rule, k).is_empty())
        {
            errs.push(FieldError::invalid(
                &child(path, "nonResourceURLs"),
                shown,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return;
    }
    if get_arr(rule, "apiGroups").is_empty() {
        errs.push(FieldError::required(
            &child(path, "apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if get_arr(rule, "resources").is_empty() {
        errs.push(FieldError::required(
            &child(path, "resources"),
            "resource rules must supply at least one resource",
        ));
    }
}

pub(super) fn binding(obj: &Value, old: Option<&Value>, namespaced: bool, errs: &mut Errs) {
    let role_ref = obj.get("roleRef").unwrap_or(&Value::Null);
    let group = get_str(role_ref, "apiGroup");
    if group != RBAC_GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            go_quote(group),
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    let kind = get_str(role_ref, "kind");
    if !kinds.contains(&kind) {
        errs.push(FieldError::not_supported(
            "roleRef.kind",
            go_quote(kind),
            kinds,
        ));
    }
    let name = get_str(role_ref, "name");
    if name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        errs.extend(
            is_path_segment_name(name, false)
                .iter()
                .map(|m| FieldError::invalid_str("roleRef.name", name, m)),
        );
    }
    for (i, s) in get_arr(obj, "subjects").iter().enumerate() {
        subject(s, namespaced, &index("subjects", i), errs);
    }
    if let Some(old_ref) = old.map(|o| o.get("roleRef").unwrap_or(&Value::Null)) {
        let triple = |r: &Value| {
            (
                get_str(r, "apiGroup").to_owned(),
                get_str(r, "kind").to_owned(),
                get_str(r, "name").to_owned(),
            )
        };
        if triple(role_ref) != triple(old_ref) {
            // Upstream renders its internal RoleRef (Go field names).
            let shown = format!(
                "{{\"APIGroup\":{},\"Kind\":{},\"Name\":{}}}",
                go_quote(group),
                go_quote(kind),
                go_quote(name)
            );
            errs.push(FieldError::invalid(
                "roleRef",
                shown,
                "cannot change roleRef",
            ));
        }
    }
}

pub(super) fn subject(s: &Value, namespaced: bool, path: &str, errs: &mut Errs) {
    let (name, group) = (get_str(s, "name"), get_str(s, "apiGroup"));
    if name.is_empty() {
        errs.push(FieldError::required(&child(path, "name"), ""));
    }
    match get_str(s, "kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                subdomain_field(name, &child(path, "name"), errs);
            }
            if !group.is_empty() {
                errs.push(FieldError::not_supported(
                    &child(path, "apiGroup"),
                    go_quote(group),
                    &[""],
                ));
            }
            if !namespaced && get_str(s, "namespace").is_empty() {
                errs.push(FieldError::required(&child(path, "namespace"), ""));
            }
        }
        k @ ("User" | "Group") => {
            if name.is_empty() {
                let msg = if k == "User" {
                    "user name cannot be empty"
                } else {
                    "group name cannot be empty"
                };
                errs.push(FieldError::invalid_str(&child(path, "name"), name, msg));
            }
            if group != RBAC_GROUP {
                errs.push(FieldError::not_supported(
                    &child(path, "apiGroup"),
                    go_quote(group),
                    &[RBAC_GROUP],
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            &child(path, "kind"),
            go_quote(other),
            &["ServiceAccount", "User", "Group"],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use serde_json::json;

    #[test]
    fn rbac_rules_and_bindings() {
        let role = json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}, {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]});
        assert_eq!(
            messages(&validate(
                def("rbac.authorization.k8s.io", "Role"),
                &role,
                None
            )),
            vec![
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[1].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs",
            ]
        );
        let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "Robot", "name": "r2"}]});
        assert_eq!(
            messages(&validate(
                def("rbac.authorization.k8s.io", "RoleBinding"),
                &rb,
                None
            )),
            vec![
                "subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\""
            ]
        );
        let mut changed = rb.clone();
        changed["roleRef"]["name"] = json!("writer");
        changed["subjects"] = json!([]);
        assert_eq!(
            messages(&validate(
                def("rbac.authorization.k8s.io", "RoleBinding"),
                &changed,
                Some(&rb)
            )),
            vec![
                "roleRef: Invalid value: {\"APIGroup\":\"rbac.authorization.k8s.io\",\"Kind\":\"Role\",\"Name\":\"writer\"}: cannot change roleRef"
            ]
        );
    }
}
