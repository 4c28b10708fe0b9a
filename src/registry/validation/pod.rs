//! Pod, pod template and pod spec validation (upstream's ValidatePodSpec and
//! friends), shared by every workload kind that embeds a pod template.

use serde_json::Value;

use super::container::{container_common, validate_containers, validate_init_containers};
use super::volume::validate_volumes;
use super::{
    FieldError, child, get_arr, get_str, go_quote, index, is_dns1123_label, is_dns1123_subdomain,
    is_qualified_name, present, range_error, render, validate_annotations, validate_labels,
};

type Errs = Vec<FieldError>;

pub(super) const NONNEGATIVE: &str = "must be greater than or equal to 0";

const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

pub(super) fn nonnegative(v: &Value, k: &str, path: &str, errs: &mut Errs) {
    if let Some(n) = v.get(k).and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(FieldError::invalid(
            &child(path, k),
            n.to_string(),
            NONNEGATIVE,
        ));
    }
}

pub(super) fn dns_label_field(v: &str, path: &str, errs: &mut Errs) {
    errs.extend(
        is_dns1123_label(v)
            .iter()
            .map(|m| FieldError::invalid_str(path, v, m)),
    );
}

pub(super) fn subdomain_field(v: &str, path: &str, errs: &mut Errs) {
    errs.extend(
        is_dns1123_subdomain(v)
            .iter()
            .map(|m| FieldError::invalid_str(path, v, m)),
    );
}

/// Validates a Pod on create or update.
pub(super) fn validate_pod(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    validate_pod_spec(spec, "spec", true, &[], errs);
    if get_str(spec, "serviceAccountName").is_empty() {
        for (i, v) in get_arr(spec, "volumes").iter().enumerate() {
            for (j, s) in v
                .get("projected")
                .map(|p| get_arr(p, "sources"))
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if present(s, "serviceAccountToken") {
                    let p = format!("spec.volumes[{i}].projected.sources[{j}].serviceAccountToken");
                    errs.push(FieldError::forbidden(
                        &p,
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for list in ["containers", "initContainers"] {
        for (i, c) in get_arr(spec, list).iter().enumerate() {
            let image = get_str(c, "image");
            if image.trim() != image {
                let p = child(&index(&child("spec", list), i), "image");
                errs.push(FieldError::invalid_str(
                    &p,
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    match old {
        None => {
            if !get_arr(spec, "ephemeralContainers").is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.ephemeralContainers",
                    "cannot be set on create",
                ));
            }
            if !get_str(spec, "nodeName").is_empty() && !get_arr(spec, "schedulingGates").is_empty()
            {
                errs.push(FieldError::forbidden(
                    "spec.nodeName",
                    "cannot be set until all schedulingGates have been cleared",
                ));
            }
        }
        Some(old) => pod_update(spec, old.get("spec").unwrap_or(&null), errs),
    }
}

/// Validates a PodTemplateSpec at `path`; `extra_volumes` are names that
/// mounts may reference besides the pod's own volumes (StatefulSet claims).
pub(super) fn validate_pod_template(
    tpl: Option<&Value>,
    path: &str,
    extra_volumes: Option<&[String]>,
    errs: &mut Errs,
) {
    let null = Value::Null;
    let tpl = tpl.unwrap_or(&null);
    let meta = tpl.get("metadata").unwrap_or(&null);
    // Upstream reports template labels at `<path>.labels`, without `metadata`.
    validate_labels(meta.get("labels"), &child(path, "labels"), errs);
    validate_annotations(meta.get("annotations"), &child(path, "annotations"), errs);
    let spec = tpl.get("spec").unwrap_or(&null);
    let spec_path = child(path, "spec");
    validate_pod_spec(
        spec,
        &spec_path,
        false,
        extra_volumes.unwrap_or_default(),
        errs,
    );
    if !get_arr(spec, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(
            &child(&spec_path, "ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
}

/// Upstream's ValidatePodSpec, for pods (`is_pod`) and templates.
pub(super) fn validate_pod_spec(
    spec: &Value,
    path: &str,
    is_pod: bool,
    extra_volumes: &[String],
    errs: &mut Errs,
) {
    if !present(spec, "terminationGracePeriodSeconds") {
        errs.push(FieldError::required(
            &child(path, "terminationGracePeriodSeconds"),
            "",
        ));
    }
    let mut volumes = validate_volumes(get_arr(spec, "volumes"), &child(path, "volumes"), errs);
    for extra in extra_volumes {
        volumes.entry(extra.clone()).or_insert(Value::Null);
    }
    validate_containers(spec, path, &volumes, errs);
    validate_init_containers(spec, path, &volumes, errs);
    for (i, c) in get_arr(spec, "ephemeralContainers").iter().enumerate() {
        container_common(
            c,
            &index(&child(path, "ephemeralContainers"), i),
            &volumes,
            errs,
        );
    }
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    if host_network {
        for (i, c) in get_arr(spec, "containers").iter().enumerate() {
            for (j, p) in get_arr(c, "ports").iter().enumerate() {
                let (hp, cp) = (
                    p.get("hostPort").and_then(Value::as_i64).unwrap_or(0),
                    p.get("containerPort").and_then(Value::as_i64).unwrap_or(0),
                );
                // Templates may leave hostPort to be defaulted on the pod.
                if (is_pod || hp != 0) && hp != cp {
                    let pp = format!("{path}.containers[{i}].ports[{j}].hostPort");
                    errs.push(FieldError::invalid(
                        &pp,
                        hp.to_string(),
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    match get_str(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(&child(path, "restartPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &child(path, "restartPolicy"),
            go_quote(other),
            &["Always", "OnFailure", "Never"],
        )),
    }
    let dns = get_str(spec, "dnsPolicy");
    match dns {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required(&child(path, "dnsPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &child(path, "dnsPolicy"),
            go_quote(other),
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    validate_labels(spec.get("nodeSelector"), &child(path, "nodeSelector"), errs);
    if dns == "None" {
        match spec.get("dnsConfig").filter(|c| !c.is_null()) {
            None => errs.push(FieldError::required(
                &child(path, "dnsConfig"),
                "must provide `dnsConfig` when `dnsPolicy` is None",
            )),
            Some(c) if get_arr(c, "nameservers").is_empty() => errs.push(FieldError::required(
                &child(path, "dnsConfig.nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )),
            Some(_) => {}
        }
    }
    for k in ["serviceAccountName", "nodeName", "priorityClassName"] {
        let v = get_str(spec, k);
        if !v.is_empty() {
            subdomain_field(v, &child(path, k), errs);
        }
    }
    if let Some(ads) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        errs.push(FieldError::invalid(
            &child(path, "activeDeadlineSeconds"),
            ads.to_string(),
            &range_error(1, i64::from(i32::MAX)),
        ));
    }
    for k in ["hostname", "subdomain"] {
        let v = get_str(spec, k);
        if !v.is_empty() {
            dns_label_field(v, &child(path, k), errs);
        }
    }
    validate_tolerations(
        get_arr(spec, "tolerations"),
        &child(path, "tolerations"),
        errs,
    );
    if let Some(pp) = spec.get("preemptionPolicy").filter(|v| !v.is_null()) {
        match pp.as_str().unwrap_or("") {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required(&child(path, "preemptionPolicy"), "")),
            _ => errs.push(FieldError::not_supported(
                &child(path, "preemptionPolicy"),
                render(pp),
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
}

fn validate_tolerations(tols: &[Value], path: &str, errs: &mut Errs) {
    for (i, t) in tols.iter().enumerate() {
        let p = index(path, i);
        let (k, op, value, effect) = (
            get_str(t, "key"),
            get_str(t, "operator"),
            get_str(t, "value"),
            get_str(t, "effect"),
        );
        if !k.is_empty() {
            errs.extend(
                is_qualified_name(k)
                    .iter()
                    .map(|m| FieldError::invalid_str(&child(&p, "key"), k, m)),
            );
        } else if op != "Exists" {
            errs.push(FieldError::invalid_str(
                &child(&p, "operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if present(t, "tolerationSeconds") && effect != "NoExecute" {
            errs.push(FieldError::invalid_str(
                &child(&p, "effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let msgs = super::is_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid_str(
                        &child(&p, "operator"),
                        value,
                        &msgs.join(";"),
                    ));
                }
            }
            "Exists" if !value.is_empty() => {
                errs.push(FieldError::invalid_str(
                    &child(&p, "operator"),
                    value,
                    "value must be empty when `operator` is 'Exists'",
                ));
            }
            "Exists" => {}
            other => errs.push(FieldError::not_supported(
                &child(&p, "operator"),
                go_quote(other),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
        {
            errs.push(FieldError::not_supported(
                &child(&p, "effect"),
                go_quote(effect),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
}

/// Drops nulls and empty lists, which upstream's semantic equality treats as
/// unset.
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null() && !v.as_array().is_some_and(Vec::is_empty))
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

fn pod_update(new: &Value, old: &Value, errs: &mut Errs) {
    for list in ["containers", "initContainers"] {
        let (n, o) = (get_arr(new, list), get_arr(old, list));
        if n.len() != o.len() {
            errs.push(FieldError::forbidden(
                &child("spec", list),
                "pod updates may not add or remove containers",
            ));
            return;
        }
    }
    let ads_path = "spec.activeDeadlineSeconds";
    match (
        new.get("activeDeadlineSeconds").and_then(Value::as_i64),
        old.get("activeDeadlineSeconds").and_then(Value::as_i64),
    ) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            errs.push(FieldError::invalid(
                ads_path,
                n.to_string(),
                &range_error(0, i64::from(i32::MAX)),
            ));
            return;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                ads_path,
                n.to_string(),
                "must be less than or equal to previous value",
            ));
            return;
        }
        (None, Some(_)) => errs.push(FieldError::invalid(
            ads_path,
            "null".into(),
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    // Tolerations may only be added; existing ones may change their seconds.
    let strip = |t: &Value| {
        let mut t = normalized(t);
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    let new_tols: Vec<Value> = get_arr(new, "tolerations").iter().map(strip).collect();
    if get_arr(old, "tolerations")
        .iter()
        .any(|t| !new_tols.contains(&strip(t)))
    {
        errs.push(FieldError::forbidden(
            "spec.tolerations",
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
    let old_gates: Vec<&str> = get_arr(old, "schedulingGates")
        .iter()
        .map(|g| get_str(g, "name"))
        .collect();
    for (i, g) in get_arr(new, "schedulingGates").iter().enumerate() {
        let name = get_str(g, "name");
        if !old_gates.contains(&name) {
            let msg = format!("only deletion is allowed, but found new scheduling gate '{name}'");
            errs.push(FieldError::forbidden(
                &format!("spec.schedulingGates[{i}].name"),
                &msg,
            ));
        }
    }
    // Compare the specs with every updatable field taken from the old one.
    let mut munged = normalized(new);
    let old_n = normalized(old);
    if let (Some(m), Some(o)) = (munged.as_object_mut(), old_n.as_object()) {
        for list in ["containers", "initContainers"] {
            let old_list = o.get(list).and_then(Value::as_array);
            for (i, c) in m
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let old_image = old_list
                    .and_then(|l| l.get(i))
                    .and_then(|c| c.get("image"))
                    .cloned();
                if let (Some(c), Some(img)) = (c.as_object_mut(), old_image) {
                    c.insert("image".into(), img);
                }
            }
        }
        let gated = !old_gates.is_empty();
        for k in [
            "activeDeadlineSeconds",
            "tolerations",
            "schedulingGates",
            "nodeSelector",
            "affinity",
        ] {
            if matches!(k, "nodeSelector" | "affinity") && !gated {
                continue;
            }
            match o.get(k) {
                Some(v) => m.insert(k.to_owned(), v.clone()),
                None => m.remove(k),
            };
        }
        let old_grace = o
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        if old_grace.is_some_and(|g| g < 0)
            && m.get("terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                == Some(1)
        {
            m.insert(
                "terminationGracePeriodSeconds".into(),
                render_value(old_grace),
            );
        }
    }
    if munged != old_n {
        errs.push(FieldError::forbidden(
            "spec",
            &format!("pod updates may not change fields other than {UPDATABLE_POD_FIELDS}"),
        ));
    }
}

fn render_value(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::from)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use super::*;
    use serde_json::json;

    fn pod(spec: Value) -> Value {
        let mut p = json!({"metadata": {"name": "web"}, "spec": spec});
        if let Some(s) = p["spec"].as_object_mut() {
            for (k, v) in [("restartPolicy", "Always"), ("dnsPolicy", "ClusterFirst")] {
                s.entry(k).or_insert(json!(v));
            }
            s.entry("terminationGracePeriodSeconds")
                .or_insert(json!(30));
            for c in s
                .get_mut("containers")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = c.as_object_mut() {
                    c.entry("imagePullPolicy").or_insert(json!("IfNotPresent"));
                    c.entry("terminationMessagePolicy").or_insert(json!("File"));
                }
            }
        }
        p
    }

    fn check(p: &Value) -> Vec<String> {
        messages(&validate(def("", "Pod"), p, None))
    }

    #[test]
    fn valid_pod_passes() {
        let p = pod(
            json!({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}]}),
        );
        assert_eq!(check(&p), Vec::<String>::new());
    }

    #[test]
    fn missing_containers_and_image() {
        assert_eq!(
            check(&pod(json!({"containers": []}))),
            vec!["spec.containers: Required value"]
        );
        let p = pod(json!({"containers": [{"name": "web"}]}));
        assert_eq!(check(&p), vec!["spec.containers[0].image: Required value"]);
    }

    #[test]
    fn duplicate_container_names() {
        let p = pod(
            json!({"containers": [{"name": "app", "image": "a"}, {"name": "app", "image": "b"}],
            "initContainers": [{"name": "app", "image": "c", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]}),
        );
        assert_eq!(
            check(&p),
            vec![
                "spec.containers[1].name: Duplicate value: \"app\"",
                "spec.initContainers[0].name: Duplicate value: \"app\"",
            ]
        );
    }

    #[test]
    fn enum_fields_and_ports() {
        let p = pod(
            json!({"restartPolicy": "Sometimes", "containers": [{"name": "Web", "image": "x", "imagePullPolicy": "Maybe",
            "ports": [{"containerPort": 70000, "protocol": "HTTP"}]}]}),
        );
        let msgs = check(&p);
        assert!(
            msgs[0].starts_with(
                "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label"
            ),
            "{msgs:?}"
        );
        assert_eq!(
            msgs[1..].to_vec(),
            vec![
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Maybe\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            ]
        );
    }

    #[test]
    fn volumes_and_mounts() {
        let p = pod(
            json!({"containers": [{"name": "c", "image": "x", "volumeMounts": [{"name": "missing", "mountPath": "/m"}]}],
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "configMap": {"name": "cfg"}}, {"name": "Bad", "secret": {}}]}),
        );
        assert_eq!(
            check(&p),
            vec![
                "spec.volumes[1].name: Duplicate value: \"v\"",
                "spec.volumes[2].secret.secretName: Required value",
                "spec.volumes[2].name: Invalid value: \"Bad\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"",
            ]
        );
    }

    #[test]
    fn requests_above_limits() {
        let p = pod(json!({"containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "2Gi"}}}]}));
        assert_eq!(
            check(&p),
            vec![
                "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 500m"
            ]
        );
        let p = pod(
            json!({"containers": [{"name": "c", "image": "x", "resources": {"limits": {"cpu": "lots"}}}]}),
        );
        assert_eq!(check(&p).len(), 1);
    }

    #[test]
    fn pod_update_rules() {
        let old = pod(json!({"containers": [{"name": "c", "image": "nginx:1"}]}));
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert_eq!(
            messages(&validate(def("", "Pod"), &new, Some(&old))),
            Vec::<String>::new()
        );
        new["spec"]["restartPolicy"] = json!("Never");
        let msgs = messages(&validate(def("", "Pod"), &new, Some(&old)));
        assert_eq!(
            msgs,
            vec![format!(
                "spec: Forbidden: pod updates may not change fields other than {UPDATABLE_POD_FIELDS}"
            )]
        );
        let mut more = old.clone();
        more["spec"]["containers"] = json!([{"name": "c", "image": "a", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"},
            {"name": "d", "image": "b", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]);
        assert_eq!(
            messages(&validate(def("", "Pod"), &more, Some(&old))),
            vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
        );
    }

    #[test]
    fn template_labels_path_quirk() {
        let mut errs = Vec::new();
        let tpl = json!({"metadata": {"labels": {"a": "b c"}}, "spec": {}});
        validate_pod_template(Some(&tpl), "spec.template", None, &mut errs);
        assert!(messages(&errs)[0].starts_with("spec.template.labels: Invalid value: \"b c\""));
    }
}
