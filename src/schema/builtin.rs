//! The definitions of every built-in kind, as upstream publishes them:
//! k8s-openapi's JSON schemas (descriptions, types, references) plus the
//! `x-kubernetes-*` extensions k8s-openapi leaves out (list, map and patch
//! semantics from `extensions.rs`, group-version-kinds), and a `<Kind>List`
//! definition per kind.
//!
//! Two forms are built on demand. The walker form, kept for the life of
//! the process, has no descriptions (they are three quarters of the bytes):
//! patch, apply and pruning only need types, references and extensions.
//! The documented form, with descriptions, is built when an OpenAPI
//! document is served and released a minute after the last one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::Resource;
use k8s_openapi::schemars::JsonSchema;
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use super::Definitions;
use super::extensions::{ATOMIC_STRUCTS, DEFAULTS, FIELDS};

/// `x-kubernetes-list-type` of a field in the extension table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListKind {
    /// No list type declared.
    Unset,
    Atomic,
    Set,
    Map,
}

/// The extensions of one field of one definition.
#[derive(Debug)]
pub(super) struct FieldExt {
    pub(super) def: &'static str,
    pub(super) field: &'static str,
    pub(super) list: ListKind,
    pub(super) keys: &'static [&'static str],
    pub(super) map_type: Option<&'static str>,
    pub(super) strategy: Option<&'static str>,
    pub(super) key: Option<&'static str>,
}

/// Where definitions live in the built map; documents rewrite the prefix.
pub(crate) const REF_PREFIX: &str = "#/definitions/";

/// The built definitions and, per group-version-kind, the definition name.
pub(crate) struct Builtin {
    pub(crate) defs: Definitions,
    /// `group/version/kind` to definition name.
    kinds: HashMap<String, String>,
}

impl Builtin {
    /// The definition name of a built-in kind, e.g.
    /// `io.k8s.api.apps.v1.Deployment` for ("apps", "v1", "Deployment").
    pub(crate) fn name_of(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.kinds
            .get(&format!("{group}/{version}/{kind}"))
            .map(String::as_str)
    }
}

static BUILTIN: OnceLock<Builtin> = OnceLock::new();

/// The built-in definitions without descriptions, built on the first call.
pub(crate) fn builtin() -> &'static Builtin {
    BUILTIN.get_or_init(|| {
        let mut b = build();
        for d in b.defs.values_mut() {
            strip_descriptions(d);
        }
        b
    })
}

/// How long the documented form is kept after its last use: kubectl
/// fetches several documents in a row, each should not rebuild it.
const KEEP_DOCUMENTED: Duration = Duration::from_secs(60);

/// The documented form and when it was last asked for.
static DOCUMENTED: Mutex<Option<(Arc<Builtin>, Instant)>> = Mutex::new(None);

/// The built-in definitions with descriptions, for OpenAPI documents:
/// built on demand, kept while documents are asked for, and released a
/// minute after the last one so an idle server does not hold them.
pub(crate) fn documented() -> Arc<Builtin> {
    let mut slot = DOCUMENTED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((b, used)) = slot.as_mut() {
        *used = Instant::now();
        return b.clone();
    }
    let b = Arc::new(build());
    *slot = Some((b.clone(), Instant::now()));
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(release_when_unused());
    }
    b
}

/// Drops the documented form once it went unused for [`KEEP_DOCUMENTED`].
async fn release_when_unused() {
    loop {
        tokio::time::sleep(KEEP_DOCUMENTED).await;
        let mut slot = DOCUMENTED.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            Some((_, used)) if used.elapsed() < KEEP_DOCUMENTED => {}
            _ => {
                *slot = None;
                return;
            }
        }
    }
}

/// Removes `description` from a schema and the schemas inside it; property
/// names are left alone (PriorityClass has a field called `description`).
fn strip_descriptions(schema: &mut Value) {
    let Some(m) = schema.as_object_mut() else {
        return;
    };
    m.remove("description");
    for (k, v) in m.iter_mut() {
        match k.as_str() {
            "properties" | "patternProperties" => {
                if let Some(props) = v.as_object_mut() {
                    props.values_mut().for_each(strip_descriptions);
                }
            }
            "items" | "additionalProperties" | "not" => strip_descriptions(v),
            "allOf" | "anyOf" | "oneOf" => {
                if let Some(list) = v.as_array_mut() {
                    list.iter_mut().for_each(strip_descriptions);
                }
            }
            _ => {}
        }
    }
}

/// Whether the built-in definitions were built yet (for memory figures).
#[cfg(test)]
pub(crate) fn is_built() -> bool {
    BUILTIN.get().is_some()
}

type Gvk<'a> = (&'a str, &'a str, &'a str);

/// Collects kinds into the generator and remembers their names and GVKs.
struct Collector {
    generator: SchemaGenerator,
    kinds: Vec<(String, Gvk<'static>)>,
    lists: Vec<(String, Gvk<'static>)>,
}

impl Collector {
    /// A top-level kind with a `<Kind>List`.
    fn kind<T: JsonSchema + Resource>(&mut self) {
        self.single::<T>();
        self.lists.push((
            T::schema_name().into_owned(),
            (T::GROUP, T::VERSION, T::KIND),
        ));
    }

    /// A kind without a list (reviews, subresource kinds).
    fn single<T: JsonSchema + Resource>(&mut self) {
        self.generator.subschema_for::<T>();
        self.kinds.push((
            T::schema_name().into_owned(),
            (T::GROUP, T::VERSION, T::KIND),
        ));
    }

    /// A type referenced by clients but not a kind of its own.
    fn other<T: JsonSchema>(&mut self) {
        self.generator.subschema_for::<T>();
    }
}

fn collect(c: &mut Collector) {
    use k8s_openapi::api::admissionregistration::v1 as admissionregistration;
    use k8s_openapi::api::apps::v1 as apps;
    use k8s_openapi::api::authentication::v1 as authentication;
    use k8s_openapi::api::authorization::v1 as authorization;
    use k8s_openapi::api::autoscaling::v1 as autoscaling_v1;
    use k8s_openapi::api::autoscaling::v2 as autoscaling;
    use k8s_openapi::api::batch::v1 as batch;
    use k8s_openapi::api::certificates::v1 as certificates;
    use k8s_openapi::api::coordination::v1 as coordination;
    use k8s_openapi::api::core::v1 as core;
    use k8s_openapi::api::discovery::v1 as discovery;
    use k8s_openapi::api::events::v1 as events;
    use k8s_openapi::api::flowcontrol::v1 as flowcontrol;
    use k8s_openapi::api::networking::v1 as networking;
    use k8s_openapi::api::node::v1 as node;
    use k8s_openapi::api::policy::v1 as policy;
    use k8s_openapi::api::rbac::v1 as rbac;
    use k8s_openapi::api::resource::v1 as resource;
    use k8s_openapi::api::scheduling::v1 as scheduling;
    use k8s_openapi::api::storage::v1 as storage;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;

    c.single::<core::Binding>();
    c.kind::<core::ComponentStatus>();
    c.kind::<core::ConfigMap>();
    c.kind::<core::Endpoints>();
    c.kind::<core::Event>();
    c.kind::<core::LimitRange>();
    c.kind::<core::Namespace>();
    c.kind::<core::Node>();
    c.kind::<core::PersistentVolumeClaim>();
    c.kind::<core::PersistentVolume>();
    c.kind::<core::Pod>();
    c.kind::<core::PodTemplate>();
    c.kind::<core::ReplicationController>();
    c.kind::<core::ResourceQuota>();
    c.kind::<core::Secret>();
    c.kind::<core::ServiceAccount>();
    c.kind::<core::Service>();
    c.kind::<admissionregistration::MutatingWebhookConfiguration>();
    c.kind::<admissionregistration::ValidatingAdmissionPolicy>();
    c.kind::<admissionregistration::ValidatingAdmissionPolicyBinding>();
    c.kind::<admissionregistration::ValidatingWebhookConfiguration>();
    c.kind::<apiextensions::CustomResourceDefinition>();
    c.kind::<apiregistration::APIService>();
    c.kind::<apps::ControllerRevision>();
    c.kind::<apps::DaemonSet>();
    c.kind::<apps::Deployment>();
    c.kind::<apps::ReplicaSet>();
    c.kind::<apps::StatefulSet>();
    c.single::<authentication::SelfSubjectReview>();
    c.single::<authentication::TokenReview>();
    c.single::<authentication::TokenRequest>();
    c.single::<authorization::LocalSubjectAccessReview>();
    c.single::<authorization::SelfSubjectAccessReview>();
    c.single::<authorization::SelfSubjectRulesReview>();
    c.single::<authorization::SubjectAccessReview>();
    c.kind::<autoscaling::HorizontalPodAutoscaler>();
    c.single::<autoscaling_v1::Scale>();
    c.kind::<batch::CronJob>();
    c.kind::<batch::Job>();
    c.kind::<certificates::CertificateSigningRequest>();
    c.kind::<coordination::Lease>();
    c.kind::<discovery::EndpointSlice>();
    c.kind::<events::Event>();
    c.kind::<flowcontrol::FlowSchema>();
    c.kind::<flowcontrol::PriorityLevelConfiguration>();
    c.kind::<networking::IngressClass>();
    c.kind::<networking::Ingress>();
    c.kind::<networking::IPAddress>();
    c.kind::<networking::NetworkPolicy>();
    c.kind::<networking::ServiceCIDR>();
    c.kind::<node::RuntimeClass>();
    c.kind::<policy::PodDisruptionBudget>();
    c.single::<policy::Eviction>();
    c.kind::<rbac::ClusterRoleBinding>();
    c.kind::<rbac::ClusterRole>();
    c.kind::<rbac::RoleBinding>();
    c.kind::<rbac::Role>();
    c.kind::<resource::DeviceClass>();
    c.kind::<resource::ResourceClaim>();
    c.kind::<resource::ResourceClaimTemplate>();
    c.kind::<resource::ResourceSlice>();
    c.kind::<scheduling::PriorityClass>();
    c.kind::<storage::CSIDriver>();
    c.kind::<storage::CSINode>();
    c.kind::<storage::CSIStorageCapacity>();
    c.kind::<storage::StorageClass>();
    c.kind::<storage::VolumeAttachment>();
    c.kind::<storage::VolumeAttributesClass>();
    // What clients read beside the kinds.
    c.other::<meta::ObjectMeta>();
    c.other::<meta::ListMeta>();
    c.other::<meta::Status>();
    c.other::<meta::DeleteOptions>();
    c.other::<meta::WatchEvent<core::Pod>>();
    c.other::<meta::Patch>();
    c.other::<meta::APIGroup>();
    c.other::<meta::APIGroupList>();
    c.other::<meta::APIResourceList>();
    c.other::<meta::APIVersions>();
}

fn build() -> Builtin {
    let settings = SchemaSettings::draft07().with(|s| {
        s.definitions_path = "/definitions".into();
        s.meta_schema = None;
        // Descriptions beside a `$ref` are kept, as upstream's v2 has them.
        s.transforms.clear();
    });
    let mut c = Collector {
        generator: settings.into_generator(),
        kinds: Vec::new(),
        lists: Vec::new(),
    };
    collect(&mut c);
    let mut defs: Definitions = c.generator.take_definitions(false);
    fix_primitives(&mut defs);
    for e in FIELDS {
        if let Some(p) = defs
            .get_mut(e.def)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(e.field))
            .and_then(Value::as_object_mut)
        {
            add_field_extensions(p, e);
        }
    }
    add_defaults(&mut defs);
    for name in ATOMIC_STRUCTS {
        if let Some(Value::Object(d)) = defs.get_mut(*name) {
            d.insert("x-kubernetes-map-type".into(), "atomic".into());
        }
    }
    let mut kinds = HashMap::new();
    for (name, gvk) in &c.kinds {
        set_gvk(&mut defs, name, &[*gvk]);
        kinds.insert(format!("{}/{}/{}", gvk.0, gvk.1, gvk.2), name.clone());
    }
    for (name, (g, v, k)) in &c.lists {
        let list_name = format!("{name}List");
        let list_kind = format!("{k}List");
        defs.insert(list_name.clone(), list_definition(name, k));
        set_gvk(&mut defs, &list_name, &[(g, v, &list_kind)]);
        kinds.insert(format!("{g}/{v}/{list_kind}"), list_name);
    }
    meta_gvks(&mut defs, &c.kinds);
    Builtin { defs, kinds }
}

fn add_field_extensions(p: &mut Map<String, Value>, e: &FieldExt) {
    let list = match e.list {
        ListKind::Unset => None,
        ListKind::Atomic => Some("atomic"),
        ListKind::Set => Some("set"),
        ListKind::Map => Some("map"),
    };
    if let Some(l) = list {
        p.insert("x-kubernetes-list-type".into(), l.into());
    }
    if !e.keys.is_empty() {
        p.insert("x-kubernetes-list-map-keys".into(), json!(e.keys));
    }
    if let Some(m) = e.map_type {
        p.insert("x-kubernetes-map-type".into(), m.into());
    }
    if let Some(s) = e.strategy {
        p.insert("x-kubernetes-patch-strategy".into(), s.into());
    }
    if let Some(k) = e.key {
        p.insert("x-kubernetes-patch-merge-key".into(), k.into());
    }
}

/// Field defaults as upstream's openapi-gen writes them: `+default=`
/// markers, and `{}` on struct fields Go holds by value. The `{}` is kept to
/// fields whose definition is an object here: Time, Quantity and the like
/// are strings in these schemas and stay without a default.
fn add_defaults(defs: &mut Definitions) {
    let is_object = |defs: &Definitions, prop: &Value| {
        let name = prop
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next());
        let target = name.and_then(|n| defs.get(n)).unwrap_or(prop);
        target.get("type").and_then(Value::as_str) == Some("object")
    };
    for (def, field, text) in DEFAULTS {
        let Ok(default) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let Some(prop) = defs
            .get(*def)
            .and_then(|d| d.get("properties"))
            .and_then(|p| p.get(*field))
        else {
            continue;
        };
        if default.is_object() && !is_object(defs, prop) {
            continue;
        }
        if let Some(Value::Object(p)) = defs
            .get_mut(*def)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(*field))
        {
            p.insert("default".into(), default);
        }
    }
}

/// Upstream publishes IntOrString as a string of format int-or-string and
/// Quantity as a string; k8s-openapi marks both int-or-string only.
fn fix_primitives(defs: &mut Definitions) {
    if let Some(Value::Object(d)) = defs.get_mut("io.k8s.apimachinery.pkg.util.intstr.IntOrString")
    {
        d.insert("type".into(), "string".into());
        d.insert("format".into(), "int-or-string".into());
    }
    if let Some(Value::Object(d)) = defs.get_mut("io.k8s.apimachinery.pkg.api.resource.Quantity") {
        d.remove("x-kubernetes-int-or-string");
        d.insert("type".into(), "string".into());
    }
}

fn set_gvk(defs: &mut Definitions, name: &str, gvks: &[Gvk<'_>]) {
    if let Some(Value::Object(d)) = defs.get_mut(name) {
        let list: Vec<Value> = gvks
            .iter()
            .map(|(g, v, k)| json!({ "group": g, "version": v, "kind": k }))
            .collect();
        d.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
    }
}

/// The meta types carry the group-version-kinds upstream gives them:
/// discovery types and Status in core v1, DeleteOptions and WatchEvent in
/// every served group version.
fn meta_gvks(defs: &mut Definitions, kinds: &[(String, Gvk<'_>)]) {
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.";
    for k in [
        "Status",
        "APIGroup",
        "APIGroupList",
        "APIResourceList",
        "APIVersions",
    ] {
        set_gvk(defs, &format!("{meta}{k}"), &[("", "v1", k)]);
    }
    let mut gvs: Vec<(&str, &str)> = kinds.iter().map(|(_, (g, v, _))| (*g, *v)).collect();
    gvs.sort_unstable();
    gvs.dedup();
    for k in ["DeleteOptions", "WatchEvent"] {
        let all: Vec<Gvk> = gvs.iter().map(|(g, v)| (*g, *v, k)).collect();
        set_gvk(defs, &format!("{meta}{k}"), &all);
    }
}

fn list_definition(item: &str, kind: &str) -> Value {
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                "type": "string",
            },
            "items": {
                "description": format!("List of {kind} objects."),
                "type": "array",
                "items": { "$ref": format!("{REF_PREFIX}{item}") },
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "type": "string",
            },
            "metadata": {
                "$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"),
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            },
        },
        "required": ["items"],
    })
}
