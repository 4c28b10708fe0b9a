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
mod tests {
    use super::super::resources::{RESOURCES, VerbSet, find, find_kind};
    use super::*;
    use serde_json::json;
    use std::any::TypeId;

    fn def(group: &str, version: &str, kind: &str) -> &'static ResourceDef {
        find_kind(group, version, kind).expect("kind in table")
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn every_table_entry_has_a_typed_form() {
        for r in RESOURCES {
            let input = json!({
                "apiVersion": api_version(r),
                "kind": r.kind,
                "metadata": {"name": "x"},
            });
            match decode(r, &input) {
                Ok(decoded) => {
                    assert_eq!(decoded.value["kind"], json!(r.kind));
                    assert_eq!(decoded.value["apiVersion"], json!(api_version(r)));
                    assert_eq!(decoded.value["metadata"]["name"], json!("x"));
                    assert!(decoded.unknown_fields.is_empty());
                }
                // Kinds with a required spec (or a required top-level field
                // such as a Binding's target) refuse the bare object.
                Err(DecodeError::Missing { path }) => {
                    assert!(!path.starts_with("metadata"), "{}: {path}", r.kind);
                }
                Err(err) => panic!("{}/{} {}: {err}", r.group, r.version, r.kind),
            }
        }
    }

    /// What k8s-openapi says about a type, to hold the table against.
    struct Facts {
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        namespaced: bool,
    }

    fn facts<T: k8s_openapi::Resource>() -> Facts
    where
        T::Scope: 'static,
    {
        Facts {
            group: T::GROUP,
            version: T::VERSION,
            kind: T::KIND,
            plural: T::URL_PATH_SEGMENT,
            namespaced: TypeId::of::<T::Scope>()
                == TypeId::of::<k8s_openapi::NamespaceResourceScope>(),
        }
    }

    /// Every GA top-level type k8s-openapi v1_35 has (each listable type,
    /// plus the create-only reviews and Binding), with the table's entry.
    #[test]
    fn table_agrees_with_k8s_openapi() {
        let all = [
            facts::<core_v1::Binding>(),
            facts::<core_v1::ComponentStatus>(),
            facts::<core_v1::ConfigMap>(),
            facts::<core_v1::Endpoints>(),
            facts::<core_v1::Event>(),
            facts::<core_v1::LimitRange>(),
            facts::<core_v1::Namespace>(),
            facts::<core_v1::Node>(),
            facts::<core_v1::PersistentVolumeClaim>(),
            facts::<core_v1::PersistentVolume>(),
            facts::<core_v1::Pod>(),
            facts::<core_v1::PodTemplate>(),
            facts::<core_v1::ReplicationController>(),
            facts::<core_v1::ResourceQuota>(),
            facts::<core_v1::Secret>(),
            facts::<core_v1::ServiceAccount>(),
            facts::<core_v1::Service>(),
            facts::<admissionregistration_v1::MutatingWebhookConfiguration>(),
            facts::<admissionregistration_v1::ValidatingAdmissionPolicy>(),
            facts::<admissionregistration_v1::ValidatingAdmissionPolicyBinding>(),
            facts::<admissionregistration_v1::ValidatingWebhookConfiguration>(),
            facts::<apiextensions_v1::CustomResourceDefinition>(),
            facts::<apiregistration_v1::APIService>(),
            facts::<apps_v1::ControllerRevision>(),
            facts::<apps_v1::DaemonSet>(),
            facts::<apps_v1::Deployment>(),
            facts::<apps_v1::ReplicaSet>(),
            facts::<apps_v1::StatefulSet>(),
            facts::<authentication_v1::SelfSubjectReview>(),
            facts::<authentication_v1::TokenReview>(),
            facts::<authorization_v1::LocalSubjectAccessReview>(),
            facts::<authorization_v1::SelfSubjectAccessReview>(),
            facts::<authorization_v1::SelfSubjectRulesReview>(),
            facts::<authorization_v1::SubjectAccessReview>(),
            facts::<autoscaling_v2::HorizontalPodAutoscaler>(),
            facts::<batch_v1::CronJob>(),
            facts::<batch_v1::Job>(),
            facts::<certificates_v1::CertificateSigningRequest>(),
            facts::<coordination_v1::Lease>(),
            facts::<discovery_v1::EndpointSlice>(),
            facts::<events_v1::Event>(),
            facts::<flowcontrol_v1::FlowSchema>(),
            facts::<flowcontrol_v1::PriorityLevelConfiguration>(),
            facts::<networking_v1::IngressClass>(),
            facts::<networking_v1::Ingress>(),
            facts::<networking_v1::IPAddress>(),
            facts::<networking_v1::NetworkPolicy>(),
            facts::<networking_v1::ServiceCIDR>(),
            facts::<node_v1::RuntimeClass>(),
            facts::<policy_v1::PodDisruptionBudget>(),
            facts::<rbac_v1::ClusterRoleBinding>(),
            facts::<rbac_v1::ClusterRole>(),
            facts::<rbac_v1::RoleBinding>(),
            facts::<rbac_v1::Role>(),
            facts::<resource_v1::DeviceClass>(),
            facts::<resource_v1::ResourceClaim>(),
            facts::<resource_v1::ResourceClaimTemplate>(),
            facts::<resource_v1::ResourceSlice>(),
            facts::<scheduling_v1::PriorityClass>(),
            facts::<storage_v1::CSIDriver>(),
            facts::<storage_v1::CSINode>(),
            facts::<storage_v1::CSIStorageCapacity>(),
            facts::<storage_v1::StorageClass>(),
            facts::<storage_v1::VolumeAttachment>(),
            facts::<storage_v1::VolumeAttributesClass>(),
        ];
        for f in &all {
            let r = find_kind(f.group, f.version, f.kind)
                .unwrap_or_else(|| panic!("{}/{} {} not in table", f.group, f.version, f.kind));
            assert_eq!(r.plural, f.plural, "{}", f.kind);
            assert_eq!(r.namespaced, f.namespaced, "{}", f.kind);
            assert!(find(f.group, f.version, f.plural).is_some());
        }
        // And nothing in the table beyond them.
        assert_eq!(RESOURCES.len(), all.len());
    }

    #[test]
    fn create_only_kinds_are_the_reviews_and_binding() {
        let create_only: Vec<&str> = RESOURCES
            .iter()
            .filter(|r| r.verbs == VerbSet::CreateOnly)
            .map(|r| r.kind)
            .collect();
        assert_eq!(
            create_only,
            [
                "Binding",
                "SelfSubjectReview",
                "TokenReview",
                "LocalSubjectAccessReview",
                "SelfSubjectAccessReview",
                "SelfSubjectRulesReview",
                "SubjectAccessReview",
            ]
        );
    }

    fn deployment(spec: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": spec,
        })
    }

    fn pod_template() -> Value {
        json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]},
        })
    }

    #[test]
    fn valid_deployment_round_trips_unchanged() {
        let input = deployment(json!({
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": pod_template(),
        }));
        let decoded = decode(def("apps", "v1", "Deployment"), &input).expect("decodes");
        assert_eq!(decoded.value, input);
        assert!(decoded.unknown_fields.is_empty());
    }

    #[test]
    fn unknown_fields_are_reported_with_upstream_paths_and_dropped() {
        let mut template = pod_template();
        template["spec"]["containers"][0]["bogus"] = json!(1);
        let mut input = deployment(json!({
            "foo": {"bar": 1},
            "selector": {"matchLabels": {"app": "web"}},
            "template": template,
        }));
        input["metadata"]["labelz"] = json!({"a": "b"});
        let decoded = decode(def("apps", "v1", "Deployment"), &input).expect("decodes");
        assert_eq!(
            sorted(decoded.unknown_fields),
            [
                "metadata.labelz",
                "spec.foo",
                "spec.template.spec.containers[0].bogus",
            ]
        );
        assert!(decoded.value["spec"].get("foo").is_none());
        assert!(decoded.value["metadata"].get("labelz").is_none());
        assert!(
            decoded.value["spec"]["template"]["spec"]["containers"][0]
                .get("bogus")
                .is_none()
        );
    }

    #[test]
    fn wrong_type_is_reported_at_its_path() {
        let input = deployment(json!({
            "replicas": "three",
            "selector": {"matchLabels": {"app": "web"}},
            "template": pod_template(),
        }));
        match decode(def("apps", "v1", "Deployment"), &input) {
            Err(DecodeError::Type { path, message }) => {
                assert_eq!(path, "spec.replicas");
                assert!(message.contains("invalid type"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_type_inside_a_list_has_the_index() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b", "ports": [{"containerPort": "x"}]}]},
        });
        match decode(def("", "v1", "Pod"), &input) {
            Err(DecodeError::Type { path, .. }) => {
                assert_eq!(path, "spec.containers[1].ports[0].containerPort");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_container_name_is_reported() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"image": "nginx"}]},
        });
        assert_eq!(
            decode(def("", "v1", "Pod"), &input),
            Err(DecodeError::Missing {
                path: "spec.containers[0].name".into()
            })
        );
    }

    #[test]
    fn null_required_field_counts_as_missing() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": null},
        });
        assert_eq!(
            decode(def("", "v1", "Pod"), &input),
            Err(DecodeError::Missing {
                path: "spec.containers".into()
            })
        );
    }

    #[test]
    fn missing_required_spec_fields_of_a_deployment() {
        let input = deployment(json!({"template": pod_template()}));
        assert_eq!(
            decode(def("apps", "v1", "Deployment"), &input),
            Err(DecodeError::Missing {
                path: "spec.selector".into()
            })
        );
    }

    #[test]
    fn missing_field_reported_by_k8s_openapi_itself() {
        // Condition.lastTransitionTime has no default, so k8s-openapi's own
        // deserializer refuses; the path still ends at the field.
        let input = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "r", "message": "m"}]},
        });
        assert_eq!(
            decode(def("", "v1", "Service"), &input),
            Err(DecodeError::Missing {
                path: "status.conditions[0].lastTransitionTime".into()
            })
        );
    }

    #[test]
    fn fields_upstream_lets_clients_leave_out_are_not_missing() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "imagePullSecrets": [{}],
                "containers": [{
                    "name": "c",
                    "envFrom": [{"configMapRef": {}}],
                    "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"key": "k"}}}],
                }],
            },
        });
        let decoded = decode(def("", "v1", "Pod"), &input).expect("decodes");
        // The defaulted name is stored, as upstream stores it.
        assert_eq!(
            decoded.value["spec"]["imagePullSecrets"],
            json!([{"name": ""}])
        );

        let revision = json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "r"},
        });
        let decoded = decode(def("apps", "v1", "ControllerRevision"), &revision).expect("decodes");
        assert_eq!(decoded.value["revision"], json!(0));
    }

    #[test]
    fn status_is_not_checked_for_missing_fields() {
        let input = json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "p"},
            "spec": {"minAvailable": 1},
            "status": {},
        });
        let decoded = decode(def("policy", "v1", "PodDisruptionBudget"), &input).expect("decodes");
        assert_eq!(decoded.value["status"]["currentHealthy"], json!(0));
    }

    #[test]
    fn missing_field_inside_metadata_is_reported() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p"}]},
        });
        assert_eq!(
            decode(def("", "v1", "ConfigMap"), &input),
            Err(DecodeError::Missing {
                path: "metadata.ownerReferences[0].uid".into()
            })
        );
    }

    #[test]
    fn maps_round_trip_intact() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "c",
                "labels": {"app": "web", "tier": "front"},
                "annotations": {"example.com/x": "{\"a\":1}"},
            },
            "data": {"a.conf": "x=1\n", "b": ""},
            "binaryData": {"bin": "AAEC"},
        });
        let decoded = decode(def("", "v1", "ConfigMap"), &input).expect("decodes");
        assert_eq!(decoded.value, input);
        assert!(decoded.unknown_fields.is_empty());
    }

    #[test]
    fn free_form_values_are_not_walked() {
        let input = json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "r"},
            "revision": 2,
            "data": {"anything": {"goes": [1, {"here": null}]}},
        });
        let decoded = decode(def("apps", "v1", "ControllerRevision"), &input).expect("decodes");
        assert_eq!(decoded.value, input);
        assert!(decoded.unknown_fields.is_empty());
    }

    #[test]
    fn typed_values_inside_maps_are_walked_with_the_key_in_the_path() {
        let input = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1",
                    "served": true,
                    "storage": true,
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {"size": {"type": "integer", "bogus": true, "default": {"free": 1}}},
                    }},
                }],
            },
        });
        let decoded = decode(
            def("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            &input,
        )
        .expect("decodes");
        assert_eq!(
            decoded.unknown_fields,
            ["spec.versions[0].schema.openAPIV3Schema.properties.size.bogus"]
        );
        assert_eq!(
            decoded.value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["size"]
                ["default"],
            json!({"free": 1})
        );
    }

    #[test]
    fn nulls_are_not_unknown_fields() {
        let input = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": null, "bogus": null},
            "spec": {
                "replicas": null,
                "foo": null,
                "selector": {"matchLabels": {"app": "web"}},
                "template": pod_template(),
            },
            "status": null,
        });
        let decoded = decode(def("apps", "v1", "Deployment"), &input).expect("decodes");
        assert!(
            decoded.unknown_fields.is_empty(),
            "{:?}",
            decoded.unknown_fields
        );
        assert!(decoded.value["spec"].get("replicas").is_none());
    }

    #[test]
    fn type_meta_is_checked_and_filled_in() {
        let d = def("apps", "v1", "Deployment");
        let spec = json!({"selector": {}, "template": pod_template()});

        let mut wrong_kind = deployment(spec.clone());
        wrong_kind["kind"] = json!("StatefulSet");
        match decode(d, &wrong_kind) {
            Err(DecodeError::Type { path, message }) => {
                assert_eq!(path, "kind");
                assert!(message.contains("StatefulSet"), "{message}");
            }
            other => panic!("{other:?}"),
        }

        let mut kind_not_string = deployment(spec.clone());
        kind_not_string["kind"] = json!(7);
        assert!(matches!(
            decode(d, &kind_not_string),
            Err(DecodeError::Type { path, .. }) if path == "kind"
        ));

        let mut wrong_version = deployment(spec.clone());
        wrong_version["apiVersion"] = json!("apps/v1beta2");
        assert!(matches!(
            decode(d, &wrong_version),
            Err(DecodeError::Type { path, .. }) if path == "apiVersion"
        ));

        let mut absent = deployment(spec.clone());
        let Some(map) = absent.as_object_mut() else {
            panic!("object")
        };
        map.remove("kind");
        map.insert("apiVersion".into(), Value::Null);
        let decoded = decode(d, &absent).expect("decodes");
        assert_eq!(decoded.value["kind"], json!("Deployment"));
        assert_eq!(decoded.value["apiVersion"], json!("apps/v1"));
    }

    #[test]
    fn non_object_body_is_a_type_error() {
        assert!(matches!(
            decode(def("", "v1", "Pod"), &json!([1, 2])),
            Err(DecodeError::Type { path, .. }) if path.is_empty()
        ));
    }

    #[test]
    fn secret_data_must_be_base64() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "data": {"ok": "aGk=", "bad": "%%%"},
        });
        assert!(matches!(
            decode(def("", "v1", "Secret"), &input),
            Err(DecodeError::Type { path, .. }) if path == "data.bad"
        ));
    }

    #[test]
    fn quantities_accept_numbers() {
        let input = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": 1, "memory": "64Mi"}}}]},
        });
        let decoded = decode(def("", "v1", "Pod"), &input).expect("decodes");
        assert_eq!(
            decoded.value["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            json!("1")
        );
    }

    #[test]
    fn review_kinds_decode() {
        let input = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}},
        });
        let r = def("authorization.k8s.io", "v1", "SelfSubjectAccessReview");
        let decoded = decode(r, &input).expect("decodes");
        assert_eq!(decoded.value["spec"], input["spec"]);
    }

    #[test]
    fn unknown_fields_are_capped() {
        let mut spec = serde_json::Map::new();
        for i in 0..150 {
            spec.insert(format!("f{i}"), json!(1));
        }
        let input = json!({"apiVersion": "v1", "kind": "ConfigMap", "bogus": spec});
        let decoded = decode(def("", "v1", "ConfigMap"), &input).expect("decodes");
        assert_eq!(decoded.unknown_fields, ["bogus"]);
        let mut wide = serde_json::Map::new();
        wide.insert("apiVersion".into(), json!("v1"));
        wide.insert("kind".into(), json!("ConfigMap"));
        for i in 0..150 {
            wide.insert(format!("f{i}"), json!(1));
        }
        let decoded = decode(def("", "v1", "ConfigMap"), &Value::Object(wide)).expect("decodes");
        assert_eq!(decoded.unknown_fields.len(), MAX_UNKNOWN_FIELDS);
    }

    /// Everyday manifests, as people write them, decode without errors,
    /// without unknown fields, and come back as sent.
    #[test]
    fn everyday_manifests_round_trip() {
        let manifests = [
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "type": "ClusterIP",
                         "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]},
            }),
            json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "db"},
                "spec": {
                    "serviceName": "db", "replicas": 1,
                    "selector": {"matchLabels": {"app": "db"}},
                    "template": {
                        "metadata": {"labels": {"app": "db"}},
                        "spec": {
                            "containers": [{
                                "name": "db", "image": "postgres:16",
                                "ports": [{"containerPort": 5432, "name": "pg"}],
                                "env": [{"name": "PGDATA", "value": "/data/pg"}],
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                                "readinessProbe": {"tcpSocket": {"port": 5432}, "periodSeconds": 5},
                                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                            }],
                            "tolerations": [{"operator": "Exists"}],
                            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}],
                            }}},
                        },
                    },
                    "volumeClaimTemplates": [{
                        "metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                    }],
                },
            }),
            json!({
                "apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "tick"},
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [{"name": "tick", "image": "busybox", "command": ["date"]}],
                }}}}},
            }),
            json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "web", "annotations": {"a": "b"}},
                "spec": {"ingressClassName": "nginx", "rules": [{"host": "example.com", "http": {"paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                }]}}], "tls": [{"hosts": ["example.com"], "secretName": "tls"}]},
            }),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "rb", "namespace": "default"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
            }),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "cr"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
            }),
            json!({
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web"},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 1, "maxReplicas": 5,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80}}}],
                },
            }),
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s"}, "type": "Opaque",
                "stringData": {"password": "hunter2"}, "data": {"user": "YWRtaW4="},
            }),
            json!({
                "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": "low"}, "value": 1000, "globalDefault": false,
            }),
            json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "l"},
                "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15,
                         "renewTime": "2026-01-01T00:00:00.000000Z"},
            }),
            json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "deny"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            }),
            json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"},
            }),
        ];
        for input in manifests {
            let def = def_of(&input);
            let decoded = decode(def, &input).unwrap_or_else(|err| panic!("{}: {err}", def.kind));
            assert!(
                decoded.unknown_fields.is_empty(),
                "{}: {:?}",
                def.kind,
                decoded.unknown_fields
            );
            assert_eq!(decoded.value, input, "{}", def.kind);
        }
    }

    fn def_of(input: &Value) -> &'static ResourceDef {
        let api_version = input["apiVersion"].as_str().expect("apiVersion");
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        def(group, version, input["kind"].as_str().expect("kind"))
    }

    #[test]
    fn index_free_shapes() {
        assert_eq!(
            without_indices("spec.containers[0].ports[12].name"),
            "spec.containers[].ports[].name"
        );
        let pod = def("", "v1", "Pod");
        assert!(may_be_left_out(
            pod,
            "spec.template.spec.imagePullSecrets[3].name"
        ));
        assert!(!may_be_left_out(pod, "spec.containers[0].name"));
        // A suffix only matches whole path segments.
        assert!(!may_be_left_out(pod, "spec.xconfigMap.name"));
    }
}
