//! Validation of built-in kinds with upstream Kubernetes' rules, field paths
//! and message texts (kubectl users read these verbatim).
//!
//! Objects are validated after defaulting, in their wire JSON form. The
//! syntax checks live in `format`, object metadata rules in `meta`; the per-kind rules in `config`
//! (ConfigMap, Secret, Namespace), `pod`, `container` and `volume` (pod specs
//! and templates), `workloads` (apps and batch), `network` and `ingress`,
//! `rbac`, and `other` (storage and the remaining kinds).

use std::fmt;

use serde_json::{Map, Value};

use super::resources::{RESOURCES, ResourceDef, VerbSet};
use meta::{validate_annotations, validate_labels, validate_meta, validate_meta_update};

mod config;
mod container;
mod cron;
mod format;
mod ingress;
mod meta;
mod network;
mod other;
mod pod;
mod rbac;
mod volume;
mod workloads;

use format::{
    QUANTITY_FORMAT_ERROR, is_config_map_key, is_label_value, is_path_segment_name, is_port_name,
    is_qualified_name, port_num_errors, quantity, range_error,
};
pub(crate) use format::{is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, parse_quantity};

/// The kinds of field error upstream reports (`field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    Required,
    Invalid,
    NotSupported,
    Duplicate,
    TooLong,
    TooMany,
    Forbidden,
    /// A reference to something that does not exist (e.g. a volume mount
    /// naming an undeclared volume).
    NotFound,
}

/// One validation failure, as upstream's `field.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// Path in upstream notation, e.g. `spec.containers[0].image`.
    pub(crate) field: String,
    pub(crate) kind: ErrorType,
    /// The offending value, already rendered the way upstream prints it:
    /// strings Go-quoted, numbers bare, lists and objects as JSON. `None`
    /// when the message carries no value.
    pub(crate) value: Option<String>,
    pub(crate) detail: String,
}

impl FieldError {
    fn new(field: &str, kind: ErrorType, value: Option<String>, detail: &str) -> Self {
        Self {
            field: field.to_owned(),
            kind,
            value,
            detail: detail.to_owned(),
        }
    }

    pub(crate) fn required(field: &str, detail: &str) -> Self {
        Self::new(field, ErrorType::Required, None, detail)
    }

    /// `value` is already rendered (see [`render`] and [`go_quote`]).
    pub(crate) fn invalid(field: &str, value: String, detail: &str) -> Self {
        Self::new(field, ErrorType::Invalid, Some(value), detail)
    }

    pub(crate) fn invalid_str(field: &str, value: &str, detail: &str) -> Self {
        Self::invalid(field, go_quote(value), detail)
    }

    pub(crate) fn not_supported(field: &str, value: String, valid: &[&str]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| go_quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(field, ErrorType::NotSupported, Some(value), &detail)
    }

    pub(crate) fn duplicate(field: &str, value: String) -> Self {
        Self::new(field, ErrorType::Duplicate, Some(value), "")
    }

    pub(crate) fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(field, ErrorType::Forbidden, None, detail)
    }

    pub(crate) fn too_long(field: &str, max_bytes: usize) -> Self {
        Self::new(
            field,
            ErrorType::TooLong,
            None,
            &format!("must have at most {max_bytes} bytes"),
        )
    }

    pub(crate) fn too_many(field: &str, actual: usize, max: usize) -> Self {
        Self::new(
            field,
            ErrorType::TooMany,
            Some(actual.to_string()),
            &format!("must have at most {max} items"),
        )
    }

    pub(crate) fn not_found(field: &str, value: String) -> Self {
        Self::new(field, ErrorType::NotFound, Some(value), "")
    }

    /// Upstream's "field is immutable" error, showing the new value.
    pub(crate) fn immutable(field: &str, new: Option<&Value>) -> Self {
        Self::invalid(field, render_opt(new), "field is immutable")
    }

    /// Upstream reason string for the causes of a Status.
    pub(crate) fn reason(&self) -> &'static str {
        match self.kind {
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::NotFound => "FieldValueNotFound",
        }
    }

    /// The message without the field (upstream's `ErrorBody`), e.g.
    /// `Invalid value: "Foo": a lowercase RFC 1123 ...`.
    pub(crate) fn message(&self) -> String {
        let head = match self.kind {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::NotFound => "Not found",
        };
        // Upstream never prints the value of these three kinds.
        let hide_value = matches!(
            self.kind,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong
        );
        let mut s = match (&self.value, hide_value) {
            (Some(v), false) => format!("{head}: {v}"),
            _ => head.to_owned(),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// The kind as upstream names it in messages: `Pod`, `Deployment.apps`.
pub(crate) fn qualified_kind(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        def.kind.to_owned()
    } else {
        format!("{}.{}", def.kind, def.group)
    }
}

/// Qualifies a bare kind with the group serving it (core kinds stay bare),
/// so callers may pass either `Deployment` or `Deployment.apps`.
fn qualify(kind: &str) -> String {
    if kind.contains('.') {
        return kind.to_owned();
    }
    // The core group comes first in the table, so a kind served by several
    // groups (Event) resolves to the core one.
    RESOURCES
        .iter()
        .find(|d| d.kind == kind)
        .map_or_else(|| kind.to_owned(), qualified_kind)
}

/// The message of an Invalid Status, exactly as upstream formats it:
/// `Pod "web" is invalid: spec.containers[0].image: Required value` for one
/// error, a bracketed, comma-separated list for several (duplicates dropped).
/// `kind` is qualified with its group when given bare (see [`qualified_kind`]).
pub(crate) fn invalid_message(kind: &str, name: &str, errs: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        let msg = e.to_string();
        if !seen.contains(&msg) {
            seen.push(msg);
        }
    }
    let head = format!("{} {} is invalid", qualify(kind), go_quote(name));
    match seen.len() {
        0 => head,
        1 => format!("{head}: {}", seen[0]),
        _ => format!("{head}: [{}]", seen.join(", ")),
    }
}

/// Go's `strconv.Quote`, which upstream uses for string values.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a bad value the way upstream (v1.34+) prints it: strings quoted,
/// scalars bare, composite values as compact JSON.
pub(crate) fn render(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Array(_) | Value::Object(_) => canonical_json(v),
        other => other.to_string(),
    }
}

/// Compact JSON with object keys sorted, as Go's encoder writes maps
/// (independent of how the map was built).
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let fields: Vec<String> = sorted(m)
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), canonical_json(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

pub(crate) fn render_opt(v: Option<&Value>) -> String {
    v.map_or_else(|| "null".to_owned(), render)
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

fn get_str<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn get_arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn get_obj<'a>(v: &'a Value, k: &str) -> Option<&'a Map<String, Value>> {
    v.get(k).and_then(Value::as_object)
}

fn present(v: &Value, k: &str) -> bool {
    v.get(k).is_some_and(|x| !x.is_null())
}

/// Entries of a JSON object in key order, so error order is stable.
fn sorted(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// A port given as number or IANA name (probes, target ports).
fn validate_port_num_or_name(v: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Some(Value::String(s)) => {
            errs.extend(
                is_port_name(s)
                    .iter()
                    .map(|m| FieldError::invalid_str(path, s, m)),
            );
        }
        Some(n) => errs.extend(
            port_num_errors(n)
                .iter()
                .map(|m| FieldError::invalid(path, render(n), m)),
        ),
        None => errs.push(FieldError::invalid(
            path,
            "0".into(),
            &range_error(1, 65535),
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    Subdomain,
    Label,
    Dns1035,
    PathSegment,
    /// Name formats that are not (re)checked, e.g. on update.
    Unchecked,
}

fn name_rule(group: &str, kind: &str) -> NameRule {
    match (group, kind) {
        ("", "Namespace") | ("apps", "StatefulSet") => NameRule::Label,
        ("", "Service") => NameRule::Dns1035,
        ("rbac.authorization.k8s.io", _)
        | ("certificates.k8s.io", "CertificateSigningRequest")
        | ("apiregistration.k8s.io", "APIService") => NameRule::PathSegment,
        // IPAddress names are IP addresses (IPv6 ones are no DNS names).
        ("", "Event") | ("networking.k8s.io", "IPAddress") => NameRule::Unchecked,
        _ => NameRule::Subdomain,
    }
}

/// Applies a name rule; `prefix` is for generateName, whose trailing dash is
/// masked the way upstream does before checking.
fn name_errors(rule: NameRule, name: &str, prefix: bool) -> Vec<String> {
    let masked;
    let name = if prefix && rule != NameRule::PathSegment && name.ends_with('-') {
        masked = format!(
            "{}a",
            name.get(..name.len().saturating_sub(2)).unwrap_or("")
        );
        masked.as_str()
    } else {
        name
    };
    match rule {
        NameRule::Subdomain => is_dns1123_subdomain(name),
        NameRule::Label => is_dns1123_label(name),
        NameRule::Dns1035 => is_dns1035_label(name),
        NameRule::PathSegment => is_path_segment_name(name, prefix),
        NameRule::Unchecked => Vec::new(),
    }
}

/// metav1 `ValidateLabelSelector`.
fn validate_label_selector(sel: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return;
    };
    validate_labels(sel.get("matchLabels"), &child(path, "matchLabels"), errs);
    for (i, expr) in get_arr(sel, "matchExpressions").iter().enumerate() {
        let p = index(&child(path, "matchExpressions"), i);
        let values = get_arr(expr, "values");
        match get_str(expr, "operator") {
            "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                &child(&p, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                &child(&p, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errs.push(FieldError::invalid_str(
                &child(&p, "operator"),
                op,
                "not a valid selector operator",
            )),
        }
        let k = get_str(expr, "key");
        errs.extend(
            is_qualified_name(k)
                .iter()
                .map(|m| FieldError::invalid_str(&child(&p, "key"), k, m)),
        );
        for (j, v) in values.iter().enumerate() {
            let s = v.as_str().unwrap_or("");
            let vp = index(&child(&p, "values"), j);
            errs.extend(
                is_label_value(s)
                    .iter()
                    .map(|m| FieldError::invalid_str(&vp, s, m)),
            );
        }
    }
}

/// Whether a LabelSelector matches `labels`; `None` if the selector cannot
/// be evaluated (upstream then skips the match check).
fn selector_matches(sel: &Value, labels: Option<&Value>) -> Option<bool> {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    for (k, v) in get_obj(sel, "matchLabels").into_iter().flatten() {
        if label(k) != Some(v.as_str()?) {
            return Some(false);
        }
    }
    for expr in get_arr(sel, "matchExpressions") {
        let have = label(get_str(expr, "key"));
        let values: Vec<&str> = get_arr(expr, "values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let ok = match get_str(expr, "operator") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

fn selector_is_empty(sel: &Value) -> bool {
    get_obj(sel, "matchLabels").is_none_or(Map::is_empty)
        && get_arr(sel, "matchExpressions").is_empty()
}

/// A LabelSelector rendered as Go's JSON encoder orders it (matchLabels first).
fn render_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return "null".to_owned();
    };
    let mut parts = Vec::new();
    if let Some(ml) = get_obj(sel, "matchLabels").filter(|m| !m.is_empty()) {
        parts.push(format!(
            "\"matchLabels\":{}",
            canonical_json(&Value::Object(ml.clone()))
        ));
    }
    let exprs = get_arr(sel, "matchExpressions");
    if !exprs.is_empty() {
        let items: Vec<String> = exprs
            .iter()
            .map(|e| {
                let mut f = vec![
                    format!("\"key\":{}", render(e.get("key").unwrap_or(&Value::Null))),
                    format!(
                        "\"operator\":{}",
                        render(e.get("operator").unwrap_or(&Value::Null))
                    ),
                ];
                if !get_arr(e, "values").is_empty() {
                    f.push(format!(
                        "\"values\":{}",
                        render(e.get("values").unwrap_or(&Value::Null))
                    ));
                }
                format!("{{{}}}", f.join(","))
            })
            .collect();
        parts.push(format!("\"matchExpressions\":[{}]", items.join(",")));
    }
    format!("{{{}}}", parts.join(","))
}

/// Validates `obj` (already defaulted) for `def`'s kind. `old` is the stored
/// object on update, `None` on create. The caller fills generated names and
/// checks the namespace against the resource's scope.
pub(crate) fn validate(def: &ResourceDef, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        validate_meta_update(obj, old, &mut errs);
    }
    // Review-style resources carry no name; upstream skips their metadata.
    if def.verbs != VerbSet::CreateOnly {
        // The name cannot change on update, so its format is not rechecked
        // (old objects may predate a stricter rule).
        let rule = if old.is_some() {
            NameRule::Unchecked
        } else {
            name_rule(def.group, def.kind)
        };
        if def.group.is_empty() && def.kind == "Event" {
            // Core events keep their legacy, metadata-light validation.
            if get_str(obj.get("metadata").unwrap_or(&Value::Null), "name").is_empty() {
                errs.push(FieldError::required(
                    "metadata.name",
                    "name or generateName is required",
                ));
            }
        } else {
            validate_meta(obj, rule, &mut errs);
        }
    }
    let e = &mut errs;
    match (def.group, def.kind) {
        ("", "Pod") => pod::validate_pod(obj, old, e),
        ("", "PodTemplate") => pod::validate_pod_template(obj.get("template"), "template", None, e),
        ("", "ReplicationController") => workloads::replication_controller(obj, e),
        ("", "ConfigMap") => config::config_map(obj, old, e),
        ("", "Secret") => config::secret(obj, old, e),
        ("", "Namespace") => config::namespace(obj, e),
        ("", "Service") => network::service(obj, old, e),
        ("", "Endpoints") => network::endpoints(obj, e),
        ("", "Node") => other::node(obj, old, e),
        ("", "PersistentVolume") => other::persistent_volume(obj, old, e),
        ("", "PersistentVolumeClaim") => other::persistent_volume_claim(obj, old, e),
        ("", "Event") => other::event(obj, e),
        ("", "ResourceQuota" | "LimitRange") => other::quantities(def.kind, obj, e),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet") => {
            workloads::apps(def.kind, obj, old, e)
        }
        ("batch", "Job") => workloads::job(obj, old, e),
        ("batch", "CronJob") => workloads::cron_job(obj, old.is_none(), e),
        ("networking.k8s.io", "Ingress") => ingress::ingress(obj, e),
        ("networking.k8s.io", "IngressClass") => ingress::ingress_class(obj, old, e),
        ("networking.k8s.io", "NetworkPolicy") => ingress::network_policy(obj, e),
        ("discovery.k8s.io", "EndpointSlice") => network::endpoint_slice(obj, old, e),
        ("rbac.authorization.k8s.io", kind) => rbac::rbac(kind, obj, old, e),
        ("storage.k8s.io", "StorageClass") => other::storage_class(obj, old, e),
        ("scheduling.k8s.io", "PriorityClass") => other::priority_class(obj, old, e),
        ("coordination.k8s.io", "Lease") => other::lease(obj, e),
        ("autoscaling", "HorizontalPodAutoscaler") => other::hpa(obj, e),
        ("policy", "PodDisruptionBudget") => other::pdb(obj, e),
        (
            "admissionregistration.k8s.io",
            kind @ ("ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"),
        ) => crate::admission::validation::webhook_configuration(kind, obj, old, e),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            crate::admission::validation::policy(obj, e)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            crate::admission::validation::binding(obj, e)
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition")
        | ("apiregistration.k8s.io", "APIService")
            if old.is_none() =>
        {
            other::derived_name(def.kind, obj, e)
        }
        _ => {}
    }
    errs
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// The served resource of a kind, from the real table.
    pub(crate) fn def(group: &str, kind: &str) -> &'static ResourceDef {
        RESOURCES
            .iter()
            .find(|d| d.group == group && d.kind == kind)
            .expect("kind is served")
    }

    pub(crate) fn messages(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reasons_and_bodies_match_upstream() {
        let e = FieldError::required("spec.containers[0].image", "");
        assert_eq!(e.reason(), "FieldValueRequired");
        assert_eq!(e.to_string(), "spec.containers[0].image: Required value");
        let e = FieldError::not_supported(
            "spec.restartPolicy",
            go_quote("Sometimes"),
            &["Always", "OnFailure", "Never"],
        );
        assert_eq!(e.reason(), "FieldValueNotSupported");
        assert_eq!(
            e.message(),
            r#"Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never""#
        );
        let e = FieldError::too_long("metadata.annotations", 262144);
        assert_eq!(e.message(), "Too long: must have at most 262144 bytes");
        assert_eq!(
            FieldError::duplicate("x", go_quote("a")).message(),
            "Duplicate value: \"a\""
        );
    }

    #[test]
    fn invalid_message_formats() {
        let one = [FieldError::required("spec.containers[0].image", "")];
        assert_eq!(
            invalid_message("Pod", "web", &one),
            r#"Pod "web" is invalid: spec.containers[0].image: Required value"#
        );
        let two = [
            FieldError::required("spec.containers[0].image", ""),
            FieldError::invalid_str("metadata.name", "Web", "bad"),
            FieldError::required("spec.containers[0].image", ""),
        ];
        assert_eq!(
            invalid_message("Deployment.apps", "web", &two),
            r#"Deployment.apps "web" is invalid: [spec.containers[0].image: Required value, metadata.name: Invalid value: "Web": bad]"#
        );
        assert_eq!(qualified_kind(def("apps", "Deployment")), "Deployment.apps");
        // A bare kind is qualified the way upstream names it.
        assert!(
            invalid_message("Deployment", "web", &one)
                .starts_with("Deployment.apps \"web\" is invalid: ")
        );
        assert!(invalid_message("Event", "e", &one).starts_with("Event \"e\" is invalid: "));
    }

    #[test]
    fn bad_name_and_generate_name() {
        let errs = validate(
            def("", "ConfigMap"),
            &json!({"metadata": {"name": "Bad_Name"}}),
            None,
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "metadata.name");
        assert!(
            errs[0]
                .message()
                .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        );
        let errs = validate(
            def("", "ConfigMap"),
            &json!({"metadata": {"generateName": "web-", "name": "web-x7k2p"}}),
            None,
        );
        assert!(errs.is_empty(), "{:?}", messages(&errs));
        let errs = validate(def("", "ConfigMap"), &json!({"metadata": {}}), None);
        assert_eq!(
            messages(&errs),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
        let errs = validate(
            def("rbac.authorization.k8s.io", "ClusterRole"),
            &json!({"metadata": {"name": "system:admin"}}),
            None,
        );
        assert!(errs.is_empty(), "{:?}", messages(&errs));
        let errs = validate(
            def("", "Service"),
            &json!({"metadata": {"name": "1web"}, "spec": {"clusterIP": "None"}}),
            None,
        );
        assert!(
            errs[0].message().contains("a DNS-1035 label"),
            "{:?}",
            messages(&errs)
        );
    }

    #[test]
    fn bad_labels_and_annotations() {
        let obj = json!({"metadata": {"name": "x",
            "labels": {"app": "web", "bad key": "v", "ok": "-bad-"},
            "annotations": {"example.com/Mixed_Case": "fine", "a/b/c": "x"}}});
        let errs = validate(def("", "ConfigMap"), &obj, None);
        let msgs = messages(&errs);
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].starts_with("metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters"));
        assert!(msgs[1].starts_with(
            "metadata.labels: Invalid value: \"-bad-\": a valid label must be an empty string"
        ));
        assert!(msgs[2].starts_with(
            "metadata.annotations: Invalid value: \"a/b/c\": a valid label key must consist"
        ));
        let big = json!({"metadata": {"name": "x", "annotations": {"k": "v".repeat(262144)}}});
        let errs = validate(def("", "ConfigMap"), &big, None);
        assert_eq!(
            messages(&errs),
            vec!["metadata.annotations: Too long: must have at most 262144 bytes"]
        );
    }

    #[test]
    fn selectors() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]});
        assert_eq!(
            selector_matches(&sel, Some(&json!({"app": "web", "tier": "b"}))),
            Some(true)
        );
        assert_eq!(
            selector_matches(&sel, Some(&json!({"app": "web"}))),
            Some(false)
        );
        assert_eq!(
            render_selector(Some(&sel)),
            r#"{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]}"#
        );
        let mut errs = Vec::new();
        validate_label_selector(
            Some(&json!({"matchExpressions": [{"key": "k", "operator": "In"}]})),
            "spec.selector",
            &mut errs,
        );
        assert_eq!(
            messages(&errs),
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
            ]
        );
    }
}
