//! Typed decoding of request bodies for built-in kinds.
//!
//! A body is decoded into its k8s-openapi type and encoded back, which does
//! what upstream's typed decoding does: fields outside the schema are dropped
//! (and reported, so the handler can warn or, under strict field validation,
//! refuse), wrong JSON types are refused with the path of the bad field, and
//! required fields left out are refused too.
//!
//! k8s-openapi fills almost every required field it finds missing with its
//! default instead of failing, so missing required fields are found by
//! comparing the round-tripped object with the input: a required field is
//! always written out, an optional one only when set, so a key that the
//! output has and the input lacks is a required field the client left out.

use std::borrow::Cow;
use std::fmt;

use k8s_openapi::api::admissionregistration::v1 as admissionregistration_v1;
use k8s_openapi::api::apps::v1 as apps_v1;
use k8s_openapi::api::authentication::v1 as authentication_v1;
use k8s_openapi::api::authorization::v1 as authorization_v1;
use k8s_openapi::api::autoscaling::v2 as autoscaling_v2;
use k8s_openapi::api::batch::v1 as batch_v1;
use k8s_openapi::api::certificates::v1 as certificates_v1;
use k8s_openapi::api::coordination::v1 as coordination_v1;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::api::discovery::v1 as discovery_v1;
use k8s_openapi::api::events::v1 as events_v1;
use k8s_openapi::api::flowcontrol::v1 as flowcontrol_v1;
use k8s_openapi::api::networking::v1 as networking_v1;
use k8s_openapi::api::node::v1 as node_v1;
use k8s_openapi::api::policy::v1 as policy_v1;
use k8s_openapi::api::rbac::v1 as rbac_v1;
use k8s_openapi::api::resource::v1 as resource_v1;
use k8s_openapi::api::scheduling::v1 as scheduling_v1;
use k8s_openapi::api::storage::v1 as storage_v1;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions_v1;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration_v1;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::resources::ResourceDef;

/// Upstream stops collecting strict-decoding errors at 100; so do we, so a
/// hostile body cannot make the list (and the warning header) unbounded.
const MAX_UNKNOWN_FIELDS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A value has the wrong JSON type (upstream answers 400 BadRequest).
    /// `path` like "spec.replicas", message like what serde says.
    Type { path: String, message: String },
    /// A required field is missing (upstream answers 422 Invalid, FieldValueRequired).
    /// `path` is the full dotted path of the missing field, e.g. "spec.containers[0].name".
    Missing { path: String },
    /// The table lists a kind this module has no typed form for. Never
    /// expected for the built-in table (a test checks that); a caller should
    /// treat it as an internal error or store the body as sent.
    Unsupported,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Type { path, message } if path.is_empty() => f.write_str(message),
            Self::Type { path, message } => write!(f, "{path}: {message}"),
            Self::Missing { path } => write!(f, "{path}: Required value"),
            Self::Unsupported => f.write_str("no typed decoder for this kind"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    /// The object after a round trip through its typed Rust form: unknown fields dropped
    /// (this is what gets stored), apiVersion and kind set.
    pub(crate) value: Value,
    /// Paths of fields that were in the input (non-null) but are not part of the schema,
    /// formatted as upstream's strict decoder prints them: "spec.foo",
    /// "spec.template.spec.containers[0].bogus", "metadata.labelz".
    pub(crate) unknown_fields: Vec<String>,
}

/// Decodes `input` as an object of the resource `def`.
///
/// Errors come in upstream's order of precedence: a wrong apiVersion or kind
/// first, then wrong JSON types, then missing required fields. When a
/// required field is missing, unknown fields are not returned; upstream
/// refuses such a request too, though under strict field validation its
/// answer names the unknown fields (400) rather than the missing one (422).
pub(crate) fn decode(def: &ResourceDef, input: &Value) -> Result<Decoded, DecodeError> {
    let input = check_type_meta(def, input)?;
    let decoded = decode_typed(def, &input)?;
    if let Some(path) = first_missing(def, &input, &decoded.value) {
        return Err(DecodeError::Missing { path });
    }
    Ok(decoded)
}

/// Picks the k8s-openapi type of the resource and round-trips through it.
fn decode_typed(def: &ResourceDef, input: &Value) -> Result<Decoded, DecodeError> {
    match (def.group, def.version, def.kind) {
        // Core.
        ("", "v1", "Binding") => roundtrip::<core_v1::Binding>(input),
        ("", "v1", "ComponentStatus") => roundtrip::<core_v1::ComponentStatus>(input),
        ("", "v1", "ConfigMap") => roundtrip::<core_v1::ConfigMap>(input),
        ("", "v1", "Endpoints") => roundtrip::<core_v1::Endpoints>(input),
        ("", "v1", "Event") => roundtrip::<core_v1::Event>(input),
        ("", "v1", "LimitRange") => roundtrip::<core_v1::LimitRange>(input),
        ("", "v1", "Namespace") => roundtrip::<core_v1::Namespace>(input),
        ("", "v1", "Node") => roundtrip::<core_v1::Node>(input),
        ("", "v1", "PersistentVolumeClaim") => roundtrip::<core_v1::PersistentVolumeClaim>(input),
        ("", "v1", "PersistentVolume") => roundtrip::<core_v1::PersistentVolume>(input),
        ("", "v1", "Pod") => roundtrip::<core_v1::Pod>(input),
        ("", "v1", "PodTemplate") => roundtrip::<core_v1::PodTemplate>(input),
        ("", "v1", "ReplicationController") => roundtrip::<core_v1::ReplicationController>(input),
        ("", "v1", "ResourceQuota") => roundtrip::<core_v1::ResourceQuota>(input),
        ("", "v1", "Secret") => roundtrip::<core_v1::Secret>(input),
        ("", "v1", "ServiceAccount") => roundtrip::<core_v1::ServiceAccount>(input),
        ("", "v1", "Service") => roundtrip::<core_v1::Service>(input),
        // admissionregistration.k8s.io
        ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration") => {
            roundtrip::<admissionregistration_v1::MutatingWebhookConfiguration>(input)
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy") => {
            roundtrip::<admissionregistration_v1::ValidatingAdmissionPolicy>(input)
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding") => {
            roundtrip::<admissionregistration_v1::ValidatingAdmissionPolicyBinding>(input)
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration") => {
            roundtrip::<admissionregistration_v1::ValidatingWebhookConfiguration>(input)
        }
        // apiextensions.k8s.io, apiregistration.k8s.io
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") => {
            roundtrip::<apiextensions_v1::CustomResourceDefinition>(input)
        }
        ("apiregistration.k8s.io", "v1", "APIService") => {
            roundtrip::<apiregistration_v1::APIService>(input)
        }
        // apps
        ("apps", "v1", "ControllerRevision") => roundtrip::<apps_v1::ControllerRevision>(input),
        ("apps", "v1", "DaemonSet") => roundtrip::<apps_v1::DaemonSet>(input),
        ("apps", "v1", "Deployment") => roundtrip::<apps_v1::Deployment>(input),
        ("apps", "v1", "ReplicaSet") => roundtrip::<apps_v1::ReplicaSet>(input),
        ("apps", "v1", "StatefulSet") => roundtrip::<apps_v1::StatefulSet>(input),
        // authentication.k8s.io, authorization.k8s.io
        ("authentication.k8s.io", "v1", "SelfSubjectReview") => {
            roundtrip::<authentication_v1::SelfSubjectReview>(input)
        }
        ("authentication.k8s.io", "v1", "TokenReview") => {
            roundtrip::<authentication_v1::TokenReview>(input)
        }
        ("authorization.k8s.io", "v1", "LocalSubjectAccessReview") => {
            roundtrip::<authorization_v1::LocalSubjectAccessReview>(input)
        }
        ("authorization.k8s.io", "v1", "SelfSubjectAccessReview") => {
            roundtrip::<authorization_v1::SelfSubjectAccessReview>(input)
        }
        ("authorization.k8s.io", "v1", "SelfSubjectRulesReview") => {
            roundtrip::<authorization_v1::SelfSubjectRulesReview>(input)
        }
        ("authorization.k8s.io", "v1", "SubjectAccessReview") => {
            roundtrip::<authorization_v1::SubjectAccessReview>(input)
        }
        // autoscaling, batch
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            roundtrip::<autoscaling_v2::HorizontalPodAutoscaler>(input)
        }
        ("batch", "v1", "CronJob") => roundtrip::<batch_v1::CronJob>(input),
        ("batch", "v1", "Job") => roundtrip::<batch_v1::Job>(input),
        // certificates.k8s.io, coordination.k8s.io, discovery.k8s.io, events.k8s.io
        ("certificates.k8s.io", "v1", "CertificateSigningRequest") => {
            roundtrip::<certificates_v1::CertificateSigningRequest>(input)
        }
        ("coordination.k8s.io", "v1", "Lease") => roundtrip::<coordination_v1::Lease>(input),
        ("discovery.k8s.io", "v1", "EndpointSlice") => {
            roundtrip::<discovery_v1::EndpointSlice>(input)
        }
        ("events.k8s.io", "v1", "Event") => roundtrip::<events_v1::Event>(input),
        // flowcontrol.apiserver.k8s.io
        ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema") => {
            roundtrip::<flowcontrol_v1::FlowSchema>(input)
        }
        ("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration") => {
            roundtrip::<flowcontrol_v1::PriorityLevelConfiguration>(input)
        }
        // networking.k8s.io
        ("networking.k8s.io", "v1", "IngressClass") => {
            roundtrip::<networking_v1::IngressClass>(input)
        }
        ("networking.k8s.io", "v1", "Ingress") => roundtrip::<networking_v1::Ingress>(input),
        ("networking.k8s.io", "v1", "IPAddress") => roundtrip::<networking_v1::IPAddress>(input),
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            roundtrip::<networking_v1::NetworkPolicy>(input)
        }
        ("networking.k8s.io", "v1", "ServiceCIDR") => {
            roundtrip::<networking_v1::ServiceCIDR>(input)
        }
        // node.k8s.io, policy
        ("node.k8s.io", "v1", "RuntimeClass") => roundtrip::<node_v1::RuntimeClass>(input),
        ("policy", "v1", "PodDisruptionBudget") => {
            roundtrip::<policy_v1::PodDisruptionBudget>(input)
        }
        // rbac.authorization.k8s.io
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            roundtrip::<rbac_v1::ClusterRoleBinding>(input)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => {
            roundtrip::<rbac_v1::ClusterRole>(input)
        }
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => {
            roundtrip::<rbac_v1::RoleBinding>(input)
        }
        ("rbac.authorization.k8s.io", "v1", "Role") => roundtrip::<rbac_v1::Role>(input),
        // resource.k8s.io
        ("resource.k8s.io", "v1", "DeviceClass") => roundtrip::<resource_v1::DeviceClass>(input),
        ("resource.k8s.io", "v1", "ResourceClaim") => {
            roundtrip::<resource_v1::ResourceClaim>(input)
        }
        ("resource.k8s.io", "v1", "ResourceClaimTemplate") => {
            roundtrip::<resource_v1::ResourceClaimTemplate>(input)
        }
        ("resource.k8s.io", "v1", "ResourceSlice") => {
            roundtrip::<resource_v1::ResourceSlice>(input)
        }
        // scheduling.k8s.io
        ("scheduling.k8s.io", "v1", "PriorityClass") => {
            roundtrip::<scheduling_v1::PriorityClass>(input)
        }
        // storage.k8s.io
        ("storage.k8s.io", "v1", "CSIDriver") => roundtrip::<storage_v1::CSIDriver>(input),
        ("storage.k8s.io", "v1", "CSINode") => roundtrip::<storage_v1::CSINode>(input),
        ("storage.k8s.io", "v1", "CSIStorageCapacity") => {
            roundtrip::<storage_v1::CSIStorageCapacity>(input)
        }
        ("storage.k8s.io", "v1", "StorageClass") => roundtrip::<storage_v1::StorageClass>(input),
        ("storage.k8s.io", "v1", "VolumeAttachment") => {
            roundtrip::<storage_v1::VolumeAttachment>(input)
        }
        ("storage.k8s.io", "v1", "VolumeAttributesClass") => {
            roundtrip::<storage_v1::VolumeAttributesClass>(input)
        }
        _ => Err(DecodeError::Unsupported),
    }
}

/// Decodes `input` as `T`, encodes it back, and lists the input's fields
/// that the round trip dropped.
fn roundtrip<T: DeserializeOwned + serde::Serialize>(
    input: &Value,
) -> Result<Decoded, DecodeError> {
    let typed: T = serde_path_to_error::deserialize(input).map_err(|err| {
        let path = format_path(err.path());
        serde_error(path, err.inner())
    })?;
    // Encoding a decoded k8s-openapi object into a Value cannot fail (every
    // map key is a string), but a failure must not panic a request handler.
    let mut value = serde_json::to_value(&typed).map_err(|err| DecodeError::Type {
        path: String::new(),
        message: err.to_string(),
    })?;
    if let (Value::Object(input), Value::Object(output)) = (input, &mut value) {
        for (key, out_value) in output.iter_mut() {
            if let Some(in_value) = input.get(key) {
                drop_added_type_meta(in_value, out_value);
            }
        }
    }
    let mut unknown_fields = Vec::new();
    collect_unknown(input, &value, &mut String::new(), &mut unknown_fields);
    Ok(Decoded {
        value,
        unknown_fields,
    })
}

/// Removes apiVersion and kind that the encoder added to a nested object.
/// k8s-openapi writes them for every object of a top-level type, also when
/// one is nested (a StatefulSet's volumeClaimTemplates are
/// PersistentVolumeClaims); upstream leaves them out there unless sent.
fn drop_added_type_meta(input: &Value, output: &mut Value) {
    match (input, output) {
        (Value::Object(input), Value::Object(output)) => {
            for key in ["apiVersion", "kind"] {
                // Only strings are ones the encoder added: a free-form
                // value keeps a null it was sent with.
                let added = input.get(key).is_none_or(Value::is_null)
                    && output.get(key).is_some_and(Value::is_string);
                if added {
                    output.remove(key);
                }
            }
            for (key, out_value) in output.iter_mut() {
                if let Some(in_value) = input.get(key) {
                    drop_added_type_meta(in_value, out_value);
                }
            }
        }
        (Value::Array(input), Value::Array(output)) => {
            for (in_value, out_value) in input.iter().zip(output.iter_mut()) {
                drop_added_type_meta(in_value, out_value);
            }
        }
        _ => {}
    }
}

/// Turns a serde error at `path` into a DecodeError. k8s-openapi reports the
/// few required fields it cannot default (times such as a condition's
/// lastTransitionTime) as serde's "missing field `x`", raised at the parent.
fn serde_error(path: String, err: &serde_json::Error) -> DecodeError {
    let message = err.to_string();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let mut path = path;
        push_key(&mut path, field);
        return DecodeError::Missing { path };
    }
    DecodeError::Type { path, message }
}

/// Formats a serde_path_to_error path the way upstream prints field paths:
/// keys joined with dots, list indices in brackets.
fn format_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => push_index(&mut out, *index),
            Segment::Map { key } => push_key(&mut out, key),
            // Kubernetes JSON has no enums and every object key is a
            // string, so these cannot carry anything worth printing.
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn push_index(path: &mut String, index: usize) {
    use fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(path, "[{index}]");
}

/// The apiVersion objects of `def` carry: "v1" for core, "group/version" otherwise.
fn api_version(def: &ResourceDef) -> Cow<'static, str> {
    if def.group.is_empty() {
        Cow::Borrowed(def.version)
    } else {
        Cow::Owned(format!("{}/{}", def.group, def.version))
    }
}

/// Checks apiVersion and kind before the typed decoder sees them:
/// k8s-openapi refuses a wrong one without saying which field was wrong,
/// and refuses an explicit null, which upstream takes as "not set". Returns
/// the input with null apiVersion/kind removed.
fn check_type_meta<'a>(def: &ResourceDef, input: &'a Value) -> Result<Cow<'a, Value>, DecodeError> {
    // A body that is not an object is left to the typed decoder, which
    // reports it with serde's message.
    let Value::Object(map) = input else {
        return Ok(Cow::Borrowed(input));
    };
    let expected_api_version = api_version(def);
    let mut has_null = false;
    for (field, expected, what) in [
        ("apiVersion", expected_api_version.as_ref(), "API version"),
        ("kind", def.kind, "kind"),
    ] {
        match map.get(field) {
            None => {}
            Some(Value::Null) => has_null = true,
            Some(value) => {
                let actual = String::deserialize(value).map_err(|err| DecodeError::Type {
                    path: field.to_owned(),
                    message: err.to_string(),
                })?;
                if actual != expected {
                    return Err(DecodeError::Type {
                        path: field.to_owned(),
                        message: format!(
                            "the {what} in the data ({actual}) does not match the expected {what} ({expected})"
                        ),
                    });
                }
            }
        }
    }
    if !has_null {
        return Ok(Cow::Borrowed(input));
    }
    let mut map = map.clone();
    map.retain(|key, value| !(value.is_null() && (key == "apiVersion" || key == "kind")));
    Ok(Cow::Owned(Value::Object(map)))
}

/// Records, in `out`, the input fields (non-null) that the typed round trip
/// dropped. Free-form values (maps, RawExtension, JSON) come back whole, so
/// nothing inside them is reported; typed objects inside maps are walked like
/// any other, with the map key as a path segment, as upstream prints them.
fn collect_unknown(input: &Value, output: &Value, path: &mut String, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(input), Value::Object(output)) => {
            for (key, value) in input {
                if value.is_null() {
                    continue;
                }
                let len = path.len();
                push_key(path, key);
                match output.get(key) {
                    None => {
                        if out.len() < MAX_UNKNOWN_FIELDS {
                            out.push(path.clone());
                        }
                    }
                    Some(output) => collect_unknown(value, output, path, out),
                }
                path.truncate(len);
            }
        }
        (Value::Array(input), Value::Array(output)) => {
            for (index, (value, output)) in input.iter().zip(output).enumerate() {
                let len = path.len();
                push_index(path, index);
                collect_unknown(value, output, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Required fields that upstream accepts when left out, because their zero
/// value is valid. Matched against the end of the field's path with list
/// indices written as "[]".
const MAY_BE_LEFT_OUT: &[&str] = &[
    // A nested ObjectMeta (a volume claim template's) has no required
    // fields of its own.
    "metadata",
    // LocalObjectReference and the selectors built on it: "effectively
    // required, but due to backwards compatibility is allowed to be empty".
    "imagePullSecrets[].name",
    "configMapRef.name",
    "secretRef.name",
    "configMapKeyRef.name",
    "secretKeyRef.name",
    "configMap.name",
    "secret.name",
    "nodePublishSecretRef.name",
    // LUN 0 is the usual LUN; a zero-second sleep is allowed.
    "iscsi.lun",
    "sleep.seconds",
    // Header and sysctl values may be empty.
    "httpHeaders[].value",
    "sysctls[].value",
];

/// Like MAY_BE_LEFT_OUT, for single kinds: (group, kind, full path).
const MAY_BE_LEFT_OUT_IN_KIND: &[(&str, &str, &str)] = &[
    ("apps", "ControllerRevision", "revision"),
    ("scheduling.k8s.io", "PriorityClass", "value"),
    ("storage.k8s.io", "CSINode", "spec.drivers"),
    ("discovery.k8s.io", "EndpointSlice", "endpoints"),
    ("", "LimitRange", "spec.limits"),
    ("resource.k8s.io", "ResourceSlice", "spec.pool.generation"),
    // Only the storage version needs `storage: true`; any version may be
    // unserved.
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "spec.versions[].served",
    ),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "spec.versions[].storage",
    ),
];

/// The first required field that the round trip had to default, i.e. a key
/// in `output` that `input` lacks, or holds null where the output does
/// not. At the top level,
/// apiVersion and kind are set by the server, metadata may be left out
/// (name checks happen elsewhere), and status is not checked at all:
/// clients rarely send it, the server resets it on create, and the
/// controllers that write it send whole objects.
fn first_missing(def: &ResourceDef, input: &Value, output: &Value) -> Option<String> {
    let (Value::Object(input), Value::Object(output)) = (input, output) else {
        return None;
    };
    for (key, out_value) in output {
        match key.as_str() {
            "apiVersion" | "kind" | "status" => continue,
            "metadata" => match input.get(key) {
                None | Some(Value::Null) => continue,
                Some(in_value) => {
                    let mut path = key.clone();
                    if let Some(found) = missing_in(def, in_value, out_value, &mut path) {
                        return Some(found);
                    }
                }
            },
            _ => {
                let mut path = String::new();
                if let Some(found) = missing_field(def, input.get(key), key, out_value, &mut path) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// Checks one field of an object: missing itself, or missing something inside.
fn missing_field(
    def: &ResourceDef,
    in_value: Option<&Value>,
    key: &str,
    out_value: &Value,
    path: &mut String,
) -> Option<String> {
    let len = path.len();
    push_key(path, key);
    let found = match in_value {
        // A null that came back as null is a free-form value kept as sent,
        // not a required field filled in.
        Some(Value::Null) if out_value.is_null() => None,
        None | Some(Value::Null) => (!may_be_left_out(def, path)).then(|| path.clone()),
        Some(in_value) => missing_in(def, in_value, out_value, path),
    };
    path.truncate(len);
    found
}

/// Walks objects and lists present on both sides.
fn missing_in(
    def: &ResourceDef,
    input: &Value,
    output: &Value,
    path: &mut String,
) -> Option<String> {
    match (input, output) {
        (Value::Object(input), Value::Object(output)) => output
            .iter()
            .find_map(|(key, out_value)| missing_field(def, input.get(key), key, out_value, path)),
        (Value::Array(input), Value::Array(output)) => input
            .iter()
            .zip(output)
            .enumerate()
            .find_map(|(index, (in_value, out_value))| {
                let len = path.len();
                push_index(path, index);
                let found = missing_in(def, in_value, out_value, path);
                path.truncate(len);
                found
            }),
        _ => None,
    }
}

fn may_be_left_out(def: &ResourceDef, path: &str) -> bool {
    let shape = without_indices(path);
    let suffix_matches = |pattern: &str| {
        shape
            .strip_suffix(pattern)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
    };
    MAY_BE_LEFT_OUT.iter().any(|p| suffix_matches(p))
        || MAY_BE_LEFT_OUT_IN_KIND
            .iter()
            .any(|(group, kind, p)| *group == def.group && *kind == def.kind && shape == *p)
}

/// "spec.containers[0].ports[12].name" -> "spec.containers[].ports[].name".
fn without_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
