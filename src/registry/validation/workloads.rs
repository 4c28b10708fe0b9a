//! Workload controllers: apps (Deployment, ReplicaSet, DaemonSet,
//! StatefulSet), ReplicationController, and batch (Job, CronJob).

use super::cron::parse_cron;
use super::pod::validate_pod_template;
use super::{
    FieldError, child, get_arr, get_obj, get_str, go_quote, present, render, render_opt,
    render_selector, selector_is_empty, selector_matches, validate_label_selector,
};
use serde_json::Value;

type Errs = Vec<FieldError>;

const NONNEGATIVE: &str = "must be greater than or equal to 0";

const MISMATCH: &str = "`selector` does not match template `labels`";

fn nonnegative(v: &Value, k: &str, path: &str, errs: &mut Errs) {
    if let Some(n) = v.get(k).and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(FieldError::invalid(
            &child(path, k),
            n.to_string(),
            NONNEGATIVE,
        ));
    }
}

fn template_labels(spec: &Value) -> Option<&Value> {
    spec.pointer("/template/metadata/labels")
        .filter(|l| !l.is_null())
}

/// The LabelSelector checks shared by Deployment, ReplicaSet and StatefulSet.
fn required_selector(spec: &Value, empty_msg: &str, errs: &mut Errs) {
    match spec.get("selector").filter(|s| !s.is_null()) {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            validate_label_selector(Some(sel), "spec.selector", errs);
            if selector_is_empty(sel) {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    render_selector(Some(sel)),
                    empty_msg,
                ));
            }
        }
    }
}

/// Template labels must satisfy the selector. A missing selector matches
/// nothing upstream, an empty one everything.
fn match_template(spec: &Value, errs: &mut Errs) {
    let labels = template_labels(spec);
    let matches = match spec.get("selector").filter(|s| !s.is_null()) {
        None => Some(false),
        Some(sel) if selector_is_empty(sel) => Some(true),
        Some(sel) => selector_matches(sel, labels),
    };
    match matches {
        Some(false) => errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            render_opt(labels),
            MISMATCH,
        )),
        Some(true) => {}
        None => errs.push(FieldError::invalid(
            "spec.selector",
            render_selector(spec.get("selector")),
            "invalid label selector",
        )),
    }
}

/// Template checks for controllers whose pods must always restart.
fn always_restart_template(
    spec: &Value,
    kind: &str,
    extra_volumes: Option<&[String]>,
    errs: &mut Errs,
) {
    validate_pod_template(spec.get("template"), "spec.template", extra_volumes, errs);
    let pod = spec.pointer("/template/spec").unwrap_or(&Value::Null);
    let rp = get_str(pod, "restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            go_quote(rp),
            &["Always"],
        ));
    }
    if present(pod, "activeDeadlineSeconds") {
        let msg = format!("activeDeadlineSeconds in {kind} is not Supported");
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            &msg,
        ));
    }
}

/// An int-or-percent value (`maxSurge`, `maxUnavailable`); returns its
/// numeric value for the zero and 100% checks.
fn int_or_percent(v: Option<&Value>, path: &str, errs: &mut Errs) -> i64 {
    match v {
        Some(Value::String(s)) => {
            let digits = s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            match digits.and_then(|d| d.parse::<i64>().ok()) {
                Some(n) => {
                    if n > 100 {
                        errs.push(FieldError::invalid_str(
                            path,
                            s,
                            "must not be greater than 100%",
                        ));
                    }
                    n
                }
                None => {
                    let msg = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";
                    errs.push(FieldError::invalid_str(path, s, msg));
                    0
                }
            }
        }
        Some(n) => {
            let n = n.as_i64().unwrap_or(0);
            if n < 0 {
                errs.push(FieldError::invalid(path, n.to_string(), NONNEGATIVE));
            }
            n
        }
        None => 0,
    }
}

/// Immutable selector on update (enforced by the apps/v1 strategies).
fn immutable_selector(spec: &Value, old_spec: &Value, errs: &mut Errs) {
    let norm = |s: &Value| s.get("selector").map(|v| render_selector(Some(v)));
    if norm(spec) != norm(old_spec) {
        errs.push(FieldError::invalid(
            "spec.selector",
            render_selector(spec.get("selector")),
            "field is immutable",
        ));
    }
}

pub(super) fn apps(kind: &str, obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let old_spec = old.map(|o| o.get("spec").unwrap_or(&Value::Null));
    match kind {
        "Deployment" => deployment(spec, errs),
        "ReplicaSet" => {
            nonnegative(spec, "replicas", "spec", errs);
            nonnegative(spec, "minReadySeconds", "spec", errs);
            // Upstream's ReplicaSet check really says "deployment".
            required_selector(spec, "empty selector is invalid for deployment", errs);
            match_template(spec, errs);
            always_restart_template(spec, "ReplicaSet", None, errs);
        }
        "DaemonSet" => daemon_set(spec, errs),
        _ => stateful_set(spec, old_spec, errs),
    }
    if let Some(old_spec) = old_spec.filter(|_| kind != "StatefulSet") {
        immutable_selector(spec, old_spec, errs);
    }
}

fn deployment(spec: &Value, errs: &mut Errs) {
    nonnegative(spec, "replicas", "spec", errs);
    required_selector(spec, "empty selector is invalid for deployment", errs);
    match_template(spec, errs);
    always_restart_template(spec, "ReplicaSet", None, errs);
    let strategy = spec.get("strategy").unwrap_or(&Value::Null);
    match get_str(strategy, "type") {
        "Recreate" if present(strategy, "rollingUpdate") => {
            errs.push(FieldError::forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            ));
        }
        "Recreate" => {}
        "RollingUpdate" => match strategy.get("rollingUpdate").filter(|r| !r.is_null()) {
            None => errs.push(FieldError::required(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let p = "spec.strategy.rollingUpdate";
                let unavailable =
                    int_or_percent(ru.get("maxUnavailable"), &child(p, "maxUnavailable"), errs);
                let surge = int_or_percent(ru.get("maxSurge"), &child(p, "maxSurge"), errs);
                if unavailable == 0 && surge == 0 {
                    errs.push(FieldError::invalid(
                        &child(p, "maxUnavailable"),
                        render_opt(ru.get("maxUnavailable")),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
            }
        },
        _ => errs.push(FieldError::not_supported(
            "spec.strategy",
            render(strategy),
            &["Recreate", "RollingUpdate"],
        )),
    }
    for k in [
        "minReadySeconds",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    ] {
        nonnegative(spec, k, "spec", errs);
    }
    if let Some(pds) = spec.get("progressDeadlineSeconds").and_then(Value::as_i64)
        && pds
            <= spec
                .get("minReadySeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0)
    {
        errs.push(FieldError::invalid(
            "spec.progressDeadlineSeconds",
            pds.to_string(),
            "must be greater than minReadySeconds",
        ));
    }
}

fn daemon_set(spec: &Value, errs: &mut Errs) {
    validate_label_selector(spec.get("selector"), "spec.selector", errs);
    match_template(spec, errs);
    if let Some(sel) = spec
        .get("selector")
        .filter(|s| !s.is_null() && selector_is_empty(s))
    {
        errs.push(FieldError::invalid(
            "spec.selector",
            render_selector(Some(sel)),
            "empty selector is invalid for daemonset",
        ));
    }
    always_restart_template(spec, "DaemonSet", None, errs);
    for k in ["minReadySeconds", "templateGeneration"] {
        nonnegative(spec, k, "spec", errs);
    }
    let strategy = spec.get("updateStrategy").unwrap_or(&Value::Null);
    match get_str(strategy, "type") {
        "OnDelete" => {}
        "RollingUpdate" => match strategy.get("rollingUpdate").filter(|r| !r.is_null()) {
            None => errs.push(FieldError::required(
                "spec.updateStrategy.rollingUpdate",
                "",
            )),
            Some(ru) => {
                let p = "spec.updateStrategy.rollingUpdate";
                let unavailable =
                    int_or_percent(ru.get("maxUnavailable"), &child(p, "maxUnavailable"), errs);
                let surge = int_or_percent(ru.get("maxSurge"), &child(p, "maxSurge"), errs);
                // Exactly one of the two may be non-zero.
                if unavailable != 0 && surge != 0 {
                    errs.push(FieldError::invalid(
                        &child(p, "maxSurge"),
                        render_opt(ru.get("maxSurge")),
                        "may not be set when maxUnavailable is non-zero",
                    ));
                } else if unavailable == 0 && surge == 0 {
                    errs.push(FieldError::required(
                        &child(p, "maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    ));
                }
            }
        },
        _ => errs.push(FieldError::not_supported(
            "spec.updateStrategy",
            render(strategy),
            &["RollingUpdate", "OnDelete"],
        )),
    }
    nonnegative(spec, "revisionHistoryLimit", "spec", errs);
}

fn stateful_set(spec: &Value, old_spec: Option<&Value>, errs: &mut Errs) {
    match get_str(spec, "podManagementPolicy") {
        "" => errs.push(FieldError::required("spec.podManagementPolicy", "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid_str(
            "spec.podManagementPolicy",
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let strategy = spec.get("updateStrategy").unwrap_or(&Value::Null);
    let ru = strategy.get("rollingUpdate").filter(|r| !r.is_null());
    match get_str(strategy, "type") {
        "" => errs.push(FieldError::required("spec.updateStrategy", "")),
        "OnDelete" => {
            if let Some(ru) = ru {
                errs.push(FieldError::invalid(
                    "spec.updateStrategy.rollingUpdate",
                    render(ru),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = ru {
                let p = "spec.updateStrategy.rollingUpdate";
                nonnegative(ru, "partition", p, errs);
                if present(ru, "maxUnavailable") {
                    let mp = child(p, "maxUnavailable");
                    if int_or_percent(ru.get("maxUnavailable"), &mp, errs) == 0 {
                        errs.push(FieldError::invalid(
                            &mp,
                            render_opt(ru.get("maxUnavailable")),
                            "cannot be 0",
                        ));
                    }
                }
            }
        }
        _ => errs.push(FieldError::invalid(
            "spec.updateStrategy",
            render(strategy),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = spec
        .get("persistentVolumeClaimRetentionPolicy")
        .filter(|p| !p.is_null())
    {
        for k in ["whenDeleted", "whenScaled"] {
            let v = get_str(policy, k);
            if !matches!(v, "Retain" | "Delete") {
                let p = format!("spec.persistentVolumeClaimRetentionPolicy.{k}");
                errs.push(FieldError::not_supported(
                    &p,
                    go_quote(v),
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    nonnegative(spec, "replicas", "spec", errs);
    nonnegative(spec, "minReadySeconds", "spec", errs);
    if let Some(o) = spec.get("ordinals") {
        nonnegative(o, "start", "spec.ordinals", errs);
    }
    required_selector(spec, "empty selector is invalid for statefulset", errs);
    match_template(spec, errs);
    // Upstream checks only template metadata here; validating the pod spec as
    // well (claim templates count as volumes) rejects pods that could never run.
    let claims: Vec<String> = get_arr(spec, "volumeClaimTemplates")
        .iter()
        .map(|c| {
            c.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    always_restart_template(spec, "StatefulSet", Some(&claims), errs);
    if let Some(old) = old_spec {
        const MUTABLE: [&str; 6] = [
            "replicas",
            "ordinals",
            "template",
            "updateStrategy",
            "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds",
        ];
        let strip = |s: &Value| {
            let mut m = s.as_object().cloned().unwrap_or_default();
            m.retain(|k, v| !MUTABLE.contains(&k.as_str()) && !v.is_null());
            m
        };
        if strip(spec) != strip(old) {
            errs.push(FieldError::forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
    }
}

/// ReplicationController: a plain map selector that must match the template.
pub(super) fn replication_controller(obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    nonnegative(spec, "minReadySeconds", "spec", errs);
    let selector = get_obj(spec, "selector").filter(|s| !s.is_empty());
    if selector.is_none() {
        errs.push(FieldError::required("spec.selector", ""));
    }
    nonnegative(spec, "replicas", "spec", errs);
    if !present(spec, "template") {
        errs.push(FieldError::required("spec.template", ""));
        return;
    }
    if let Some(sel) = selector {
        let labels = template_labels(spec);
        let ok = sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !ok {
            errs.push(FieldError::invalid(
                "spec.template.metadata.labels",
                render_opt(labels),
                MISMATCH,
            ));
        }
    }
    always_restart_template(spec, "ReplicationController", None, errs);
}

/// upstream's validateJobSpec, for Jobs and CronJob job templates.
fn job_spec(spec: &Value, path: &str, errs: &mut Errs) {
    for k in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "ttlSecondsAfterFinished",
    ] {
        nonnegative(spec, k, path, errs);
    }
    let mode = get_str(spec, "completionMode");
    match mode {
        "" | "NonIndexed" | "Indexed" => {}
        other => errs.push(FieldError::not_supported(
            &child(path, "completionMode"),
            go_quote(other),
            &["NonIndexed", "Indexed"],
        )),
    }
    if mode == "Indexed" {
        match spec.get("completions").and_then(Value::as_i64) {
            None => errs.push(FieldError::required(
                &child(path, "completions"),
                "when completion mode is Indexed",
            )),
            Some(c) if c > 100_000 => errs.push(FieldError::invalid(
                &child(path, "completions"),
                c.to_string(),
                "must be less than or equal to 100000 when completion mode is Indexed",
            )),
            Some(_) => {}
        }
    } else if present(spec, "backoffLimitPerIndex") {
        errs.push(FieldError::invalid(
            &child(path, "backoffLimitPerIndex"),
            render_opt(spec.get("backoffLimitPerIndex")),
            "requires indexed completion mode",
        ));
    }
    if let Some(p) = spec.get("podReplacementPolicy").and_then(Value::as_str) {
        let pp = child(path, "podReplacementPolicy");
        if !matches!(p, "Failed" | "TerminatingOrFailed") {
            errs.push(FieldError::not_supported(
                &pp,
                go_quote(p),
                &["Failed", "TerminatingOrFailed"],
            ));
        } else if present(spec, "podFailurePolicy") && p != "Failed" {
            errs.push(FieldError::not_supported(&pp, go_quote(p), &["Failed"]));
        }
    }
    let tpl_path = child(path, "template");
    validate_pod_template(spec.get("template"), &tpl_path, None, errs);
    let rp = spec
        .pointer("/template/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !matches!(rp, "OnFailure" | "Never") {
        errs.push(FieldError::not_supported(
            &child(&tpl_path, "spec.restartPolicy"),
            go_quote(rp),
            &["OnFailure", "Never"],
        ));
    } else if present(spec, "podFailurePolicy") && rp != "Never" {
        // Failure rules judge pod phases, which OnFailure restarts hide.
        errs.push(FieldError::invalid_str(
            &child(&tpl_path, "spec.restartPolicy"),
            rp,
            "only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
}

pub(super) fn job(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    job_spec(spec, "spec", errs);
    // The generated selector is added by the create path; only a manual one
    // is required from the user.
    match spec.get("selector").filter(|s| !s.is_null()) {
        Some(sel) => {
            validate_label_selector(Some(sel), "spec.selector", errs);
            if selector_matches(sel, template_labels(spec)) == Some(false) {
                errs.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    render_opt(template_labels(spec)),
                    MISMATCH,
                ));
            }
        }
        None if spec.get("manualSelector").and_then(Value::as_bool) == Some(true) => {
            errs.push(FieldError::required("spec.selector", ""));
        }
        None => {}
    }
    let Some(old_spec) = old.map(|o| o.get("spec").unwrap_or(&Value::Null)) else {
        return;
    };
    let indexed_elastic = get_str(spec, "completionMode") == "Indexed"
        && spec.get("completions") == spec.get("parallelism");
    if spec.get("completions") != old_spec.get("completions") && !indexed_elastic {
        errs.push(FieldError::immutable(
            "spec.completions",
            spec.get("completions"),
        ));
    }
    if old_spec.get("selector").is_some() {
        immutable_selector(spec, old_spec, errs);
    }
    // A suspended job that never started may still have its scheduling
    // directives changed; everything else in the template is fixed.
    let never_started = old
        .and_then(|o| o.pointer("/status/startTime"))
        .is_none_or(Value::is_null);
    let suspended = old_spec.get("suspend").and_then(Value::as_bool) == Some(true);
    let strip = |s: &Value| {
        let mut t = s.get("template").cloned().unwrap_or(Value::Null);
        if suspended && never_started {
            for p in ["/spec", "/metadata"] {
                if let Some(m) = t.pointer_mut(p).and_then(Value::as_object_mut) {
                    for k in [
                        "nodeSelector",
                        "tolerations",
                        "affinity",
                        "schedulingGates",
                        "labels",
                        "annotations",
                    ] {
                        m.remove(k);
                    }
                }
            }
        }
        t
    };
    if strip(spec) != strip(old_spec) {
        errs.push(FieldError::immutable("spec.template", spec.get("template")));
    }
    for k in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ] {
        if spec.get(k) != old_spec.get(k) {
            errs.push(FieldError::immutable(&child("spec", k), spec.get(k)));
        }
    }
}

pub(super) fn cron_job(obj: &Value, create: bool, errs: &mut Errs) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    // Job names get an 11-character suffix and must stay DNS-1035 labels.
    if create && name.len() > 52 {
        errs.push(FieldError::invalid_str(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let schedule = get_str(spec, "schedule");
    if schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else {
        if let Err(e) = parse_cron(schedule) {
            errs.push(FieldError::invalid_str("spec.schedule", schedule, &e));
        }
        if schedule.contains("TZ") {
            errs.push(FieldError::invalid_str(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    if spec.get("timeZone").and_then(Value::as_str) == Some("") {
        errs.push(FieldError::invalid_str(
            "spec.timeZone",
            "",
            "timeZone must be nil or non-empty string",
        ));
    }
    nonnegative(spec, "startingDeadlineSeconds", "spec", errs);
    match get_str(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        other => errs.push(FieldError::not_supported(
            "spec.concurrencyPolicy",
            go_quote(other),
            &["Allow", "Forbid", "Replace"],
        )),
    }
    for k in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        nonnegative(spec, k, "spec", errs);
    }
    let jt = spec.get("jobTemplate").unwrap_or(&Value::Null);
    let jt_spec = jt.get("spec").unwrap_or(&Value::Null);
    job_spec(jt_spec, "spec.jobTemplate.spec", errs);
    if let Some(sel) = jt_spec.get("selector").filter(|s| !s.is_null()) {
        errs.push(FieldError::invalid(
            "spec.jobTemplate.spec.selector",
            render_selector(Some(sel)),
            "`selector` will be auto-generated",
        ));
    }
    if jt_spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::not_supported(
            "spec.jobTemplate.spec.manualSelector",
            "true".into(),
            &["nil", "false"],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use super::*;
    use serde_json::json;

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {
            "replicas": 1, "selector": selector, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "template": {"metadata": {"labels": labels}, "spec": {
                "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
                "containers": [{"name": "web", "image": "nginx", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]}}}})
    }

    #[test]
    fn valid_deployment_passes() {
        let d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web", "tier": "x"}),
        );
        assert_eq!(
            messages(&validate(def("apps", "Deployment"), &d, None)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn selector_mismatch() {
        let d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "api"}),
        );
        assert_eq!(
            messages(&validate(def("apps", "Deployment"), &d, None)),
            vec![
                "spec.template.metadata.labels: Invalid value: {\"app\":\"api\"}: `selector` does not match template `labels`"
            ]
        );
        let mut no_sel = deployment(json!(null), json!({"app": "web"}));
        if let Some(s) = no_sel["spec"].as_object_mut() {
            s.remove("selector");
        }
        let msgs = messages(&validate(def("apps", "Deployment"), &no_sel, None));
        assert_eq!(msgs[0], "spec.selector: Required value");
    }

    #[test]
    fn immutable_selector_on_update() {
        let old = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web", "v": "2"}),
        );
        let new = deployment(
            json!({"matchLabels": {"app": "web", "v": "2"}}),
            json!({"app": "web", "v": "2"}),
        );
        assert_eq!(
            messages(&validate(def("apps", "Deployment"), &new, Some(&old))),
            vec![
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}: field is immutable"
            ]
        );
        let mut scaled = old.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert!(validate(def("apps", "ReplicaSet"), &scaled, Some(&old)).is_empty());
    }

    #[test]
    fn deployment_template_rules() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        d["spec"]["replicas"] = json!(-1);
        assert_eq!(
            messages(&validate(def("apps", "Deployment"), &d, None)),
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );
    }

    #[test]
    fn job_restart_policy() {
        let j = json!({"metadata": {"name": "pi"}, "spec": {"template": {"spec": {
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "pi", "image": "perl", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]}}}});
        assert_eq!(
            messages(&validate(def("batch", "Job"), &j, None)),
            vec![
                "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
            ]
        );
    }
}
