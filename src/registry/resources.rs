//! The table of served resources. Built-in kinds and (later) custom resources
//! share one code path: every handler looks the resource up here.

use std::sync::RwLock;

/// Subresources a resource serves besides the main object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subresource {
    Status,
    Scale,
}

/// How the objects of a resource are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    /// Written to disk before a write is acknowledged.
    Durable,
    /// High-churn objects (Leases, Events) kept in memory only.
    Ephemeral,
}

/// Which verbs a resource serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerbSet {
    /// get, list, watch, create, update, patch, delete, deletecollection.
    Crud,
    /// Only create; nothing is stored (reviews such as TokenReview).
    CreateOnly,
    /// get and list only (read-only views such as ComponentStatus).
    ReadOnly,
}

#[derive(Debug)]
pub(crate) struct ResourceDef {
    /// API group, "" for the legacy core group.
    pub(crate) group: &'static str,
    pub(crate) version: &'static str,
    pub(crate) kind: &'static str,
    /// Lower-case plural used in URLs, e.g. "deployments".
    pub(crate) plural: &'static str,
    /// Lower-case singular, e.g. "deployment".
    pub(crate) singular: &'static str,
    pub(crate) namespaced: bool,
    pub(crate) short_names: &'static [&'static str],
    pub(crate) categories: &'static [&'static str],
    pub(crate) subresources: &'static [Subresource],
    pub(crate) verbs: VerbSet,
    pub(crate) persistence: Persistence,
    /// What a CustomResourceDefinition adds; `None` for built-in kinds.
    pub(crate) custom: Option<&'static super::crd::CustomInfo>,
}

use Subresource::{Scale, Status};

/// Cluster-scoped or namespaced, spelled out at each table entry.
const NAMESPACED: bool = true;
const CLUSTER: bool = false;

/// Upstream's "all" category: what `kubectl get all` lists.
const ALL: &[&str] = &["all"];
/// Upstream's category for the kinds that extend the API itself.
const API_EXTENSIONS: &[&str] = &["api-extensions"];

const STATUS: &[Subresource] = &[Status];
const STATUS_SCALE: &[Subresource] = &[Status, Scale];

impl ResourceDef {
    /// A durable CRUD resource without short names, categories or
    /// subresources; the builder methods below add what differs, so each
    /// table row states only what is special about it.
    pub(crate) const fn new(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        singular: &'static str,
        namespaced: bool,
    ) -> Self {
        Self {
            group,
            version,
            kind,
            plural,
            singular,
            namespaced,
            short_names: &[],
            categories: &[],
            subresources: &[],
            verbs: VerbSet::Crud,
            persistence: Persistence::Durable,
            custom: None,
        }
    }

    pub(crate) const fn short(mut self, short_names: &'static [&'static str]) -> Self {
        self.short_names = short_names;
        self
    }

    pub(crate) const fn categories(mut self, categories: &'static [&'static str]) -> Self {
        self.categories = categories;
        self
    }

    pub(crate) const fn subresources(mut self, subresources: &'static [Subresource]) -> Self {
        self.subresources = subresources;
        self
    }

    const fn verbs(mut self, verbs: VerbSet) -> Self {
        self.verbs = verbs;
        self
    }

    const fn ephemeral(mut self) -> Self {
        self.persistence = Persistence::Ephemeral;
        self
    }
}

/// Every resource an upstream v1.35 API server serves in its GA group
/// versions (what `kubectl api-resources` lists on a stock cluster), with
/// upstream's short names, categories and subresources. Alpha and beta
/// versions are left out on purpose, and so is autoscaling/v1: only one
/// version of each group is served, the newest GA one.
pub(crate) static RESOURCES: &[ResourceDef] = &[
    // Core ("" group, v1).
    ResourceDef::new("", "v1", "Binding", "bindings", "binding", NAMESPACED)
        .verbs(VerbSet::CreateOnly),
    ResourceDef::new(
        "",
        "v1",
        "ComponentStatus",
        "componentstatuses",
        "componentstatus",
        CLUSTER,
    )
    .short(&["cs"])
    .verbs(VerbSet::ReadOnly),
    ResourceDef::new("", "v1", "ConfigMap", "configmaps", "configmap", NAMESPACED).short(&["cm"]),
    ResourceDef::new("", "v1", "Endpoints", "endpoints", "endpoints", NAMESPACED).short(&["ep"]),
    ResourceDef::new("", "v1", "Event", "events", "event", NAMESPACED)
        .short(&["ev"])
        .ephemeral(),
    ResourceDef::new(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        "limitrange",
        NAMESPACED,
    )
    .short(&["limits"]),
    ResourceDef::new("", "v1", "Namespace", "namespaces", "namespace", CLUSTER)
        .short(&["ns"])
        .subresources(STATUS),
    ResourceDef::new("", "v1", "Node", "nodes", "node", CLUSTER)
        .short(&["no"])
        .subresources(STATUS),
    ResourceDef::new(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        NAMESPACED,
    )
    .short(&["pvc"])
    .subresources(STATUS),
    ResourceDef::new(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        CLUSTER,
    )
    .short(&["pv"])
    .subresources(STATUS),
    ResourceDef::new("", "v1", "Pod", "pods", "pod", NAMESPACED)
        .short(&["po"])
        .categories(ALL)
        .subresources(STATUS),
    ResourceDef::new(
        "",
        "v1",
        "PodTemplate",
        "podtemplates",
        "podtemplate",
        NAMESPACED,
    ),
    ResourceDef::new(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        "replicationcontroller",
        NAMESPACED,
    )
    .short(&["rc"])
    .categories(ALL)
    .subresources(STATUS_SCALE),
    ResourceDef::new(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        NAMESPACED,
    )
    .short(&["quota"])
    .subresources(STATUS),
    ResourceDef::new("", "v1", "Secret", "secrets", "secret", NAMESPACED),
    ResourceDef::new(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        NAMESPACED,
    )
    .short(&["sa"]),
    ResourceDef::new("", "v1", "Service", "services", "service", NAMESPACED)
        .short(&["svc"])
        .categories(ALL)
        .subresources(STATUS),
    // admissionregistration.k8s.io/v1. MutatingAdmissionPolicy is still beta
    // in 1.35, so it is not here.
    ResourceDef::new(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        CLUSTER,
    )
    .categories(API_EXTENSIONS),
    ResourceDef::new(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        "validatingadmissionpolicy",
        CLUSTER,
    )
    .categories(API_EXTENSIONS)
    .subresources(STATUS),
    ResourceDef::new(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        "validatingadmissionpolicybinding",
        CLUSTER,
    )
    .categories(API_EXTENSIONS),
    ResourceDef::new(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        CLUSTER,
    )
    .categories(API_EXTENSIONS),
    // apiextensions.k8s.io/v1
    ResourceDef::new(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        CLUSTER,
    )
    .short(&["crd", "crds"])
    .categories(API_EXTENSIONS)
    .subresources(STATUS),
    // apiregistration.k8s.io/v1
    ResourceDef::new(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        "apiservice",
        CLUSTER,
    )
    .categories(API_EXTENSIONS)
    .subresources(STATUS),
    // apps/v1
    ResourceDef::new(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        NAMESPACED,
    ),
    ResourceDef::new(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        NAMESPACED,
    )
    .short(&["ds"])
    .categories(ALL)
    .subresources(STATUS),
    ResourceDef::new(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        NAMESPACED,
    )
    .short(&["deploy"])
    .categories(ALL)
    .subresources(STATUS_SCALE),
    ResourceDef::new(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        NAMESPACED,
    )
    .short(&["rs"])
    .categories(ALL)
    .subresources(STATUS_SCALE),
    ResourceDef::new(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        NAMESPACED,
    )
    .short(&["sts"])
    .categories(ALL)
    .subresources(STATUS_SCALE),
    // authentication.k8s.io/v1: reviews are answered, never stored.
    ResourceDef::new(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        CLUSTER,
    )
    .verbs(VerbSet::CreateOnly),
    ResourceDef::new(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        "tokenreview",
        CLUSTER,
    )
    .verbs(VerbSet::CreateOnly),
    // authorization.k8s.io/v1
    ResourceDef::new(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        NAMESPACED,
    )
    .verbs(VerbSet::CreateOnly),
    ResourceDef::new(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        CLUSTER,
    )
    .verbs(VerbSet::CreateOnly),
    ResourceDef::new(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        CLUSTER,
    )
    .verbs(VerbSet::CreateOnly),
    ResourceDef::new(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        "subjectaccessreview",
        CLUSTER,
    )
    .verbs(VerbSet::CreateOnly),
    // autoscaling/v2 only: v1 is a lossy view of the same objects.
    ResourceDef::new(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        NAMESPACED,
    )
    .short(&["hpa"])
    .categories(ALL)
    .subresources(STATUS),
    // batch/v1
    ResourceDef::new("batch", "v1", "CronJob", "cronjobs", "cronjob", NAMESPACED)
        .short(&["cj"])
        .categories(ALL)
        .subresources(STATUS),
    ResourceDef::new("batch", "v1", "Job", "jobs", "job", NAMESPACED)
        .categories(ALL)
        .subresources(STATUS),
    // certificates.k8s.io/v1 (its approval subresource is not modelled here).
    ResourceDef::new(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        "certificatesigningrequest",
        CLUSTER,
    )
    .short(&["csr"])
    .subresources(STATUS),
    // coordination.k8s.io/v1: leases are renewed every few seconds.
    ResourceDef::new(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        NAMESPACED,
    )
    .ephemeral(),
    // discovery.k8s.io/v1
    ResourceDef::new(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        NAMESPACED,
    ),
    // events.k8s.io/v1
    ResourceDef::new(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        NAMESPACED,
    )
    .short(&["ev"])
    .ephemeral(),
    // flowcontrol.apiserver.k8s.io/v1
    ResourceDef::new(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "FlowSchema",
        "flowschemas",
        "flowschema",
        CLUSTER,
    )
    .subresources(STATUS),
    ResourceDef::new(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        "prioritylevelconfigurations",
        "prioritylevelconfiguration",
        CLUSTER,
    )
    .subresources(STATUS),
    // networking.k8s.io/v1 (IPAddress and ServiceCIDR are GA since 1.33).
    ResourceDef::new(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        "ingressclass",
        CLUSTER,
    ),
    ResourceDef::new(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        NAMESPACED,
    )
    .short(&["ing"])
    .subresources(STATUS),
    ResourceDef::new(
        "networking.k8s.io",
        "v1",
        "IPAddress",
        "ipaddresses",
        "ipaddress",
        CLUSTER,
    )
    .short(&["ip"]),
    ResourceDef::new(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        NAMESPACED,
    )
    .short(&["netpol"]),
    ResourceDef::new(
        "networking.k8s.io",
        "v1",
        "ServiceCIDR",
        "servicecidrs",
        "servicecidr",
        CLUSTER,
    )
    .subresources(STATUS),
    // node.k8s.io/v1
    ResourceDef::new(
        "node.k8s.io",
        "v1",
        "RuntimeClass",
        "runtimeclasses",
        "runtimeclass",
        CLUSTER,
    ),
    // policy/v1
    ResourceDef::new(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        NAMESPACED,
    )
    .short(&["pdb"])
    .subresources(STATUS),
    // rbac.authorization.k8s.io/v1
    ResourceDef::new(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        CLUSTER,
    ),
    ResourceDef::new(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        CLUSTER,
    ),
    ResourceDef::new(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        NAMESPACED,
    ),
    ResourceDef::new(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        "role",
        NAMESPACED,
    ),
    // resource.k8s.io/v1 (dynamic resource allocation, GA since 1.34).
    ResourceDef::new(
        "resource.k8s.io",
        "v1",
        "DeviceClass",
        "deviceclasses",
        "deviceclass",
        CLUSTER,
    ),
    ResourceDef::new(
        "resource.k8s.io",
        "v1",
        "ResourceClaim",
        "resourceclaims",
        "resourceclaim",
        NAMESPACED,
    )
    .subresources(STATUS),
    ResourceDef::new(
        "resource.k8s.io",
        "v1",
        "ResourceClaimTemplate",
        "resourceclaimtemplates",
        "resourceclaimtemplate",
        NAMESPACED,
    ),
    ResourceDef::new(
        "resource.k8s.io",
        "v1",
        "ResourceSlice",
        "resourceslices",
        "resourceslice",
        CLUSTER,
    ),
    // scheduling.k8s.io/v1
    ResourceDef::new(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        "priorityclass",
        CLUSTER,
    )
    .short(&["pc"]),
    // storage.k8s.io/v1 (VolumeAttributesClass is GA since 1.34).
    ResourceDef::new(
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        "csidrivers",
        "csidriver",
        CLUSTER,
    ),
    ResourceDef::new(
        "storage.k8s.io",
        "v1",
        "CSINode",
        "csinodes",
        "csinode",
        CLUSTER,
    ),
    ResourceDef::new(
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        "csistoragecapacities",
        "csistoragecapacity",
        NAMESPACED,
    ),
    ResourceDef::new(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        "storageclass",
        CLUSTER,
    )
    .short(&["sc"]),
    ResourceDef::new(
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        "volumeattachments",
        "volumeattachment",
        CLUSTER,
    )
    .subresources(STATUS),
    ResourceDef::new(
        "storage.k8s.io",
        "v1",
        "VolumeAttributesClass",
        "volumeattributesclasses",
        "volumeattributesclass",
        CLUSTER,
    )
    .short(&["vac"]),
];

/// Resources served for CustomResourceDefinitions, one entry per served
/// version. Definitions are leaked on purpose: handlers hold
/// `&'static ResourceDef` for the length of a request, and a CRD changes
/// rarely enough that the few hundred bytes per change do not matter.
static CUSTOM: RwLock<Vec<&'static ResourceDef>> = RwLock::new(Vec::new());

fn custom() -> std::sync::RwLockReadGuard<'static, Vec<&'static ResourceDef>> {
    CUSTOM.read().unwrap_or_else(|e| e.into_inner())
}

/// Every served resource: the built-in table, then custom resources.
pub(crate) fn all() -> Vec<&'static ResourceDef> {
    let mut v: Vec<&'static ResourceDef> = RESOURCES.iter().collect();
    v.extend(custom().iter().copied());
    v
}

/// Looks a resource up the way URLs name it: group, version and plural.
pub(crate) fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    let hit = |r: &&ResourceDef| r.group == group && r.version == version && r.plural == plural;
    RESOURCES
        .iter()
        .find(hit)
        .or_else(|| custom().iter().copied().find(hit))
}

/// Looks a resource up the way objects name it: group, version and kind.
pub(crate) fn find_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceDef> {
    let hit = |r: &&ResourceDef| r.group == group && r.version == version && r.kind == kind;
    RESOURCES
        .iter()
        .find(hit)
        .or_else(|| custom().iter().copied().find(hit))
}

/// Replaces the resources served for the CRD named `crd` (its
/// `metadata.name`) with `defs`; an empty `defs` stops serving them.
pub(crate) fn set_custom(crd: &str, defs: Vec<ResourceDef>) {
    let mut table = CUSTOM.write().unwrap_or_else(|e| e.into_inner());
    table.retain(|d| d.custom.is_none_or(|c| c.crd_name != crd));
    for d in defs {
        table.push(Box::leak(Box::new(d)));
    }
}

/// Leaks a string so it can sit in a [`ResourceDef`].
pub(crate) fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_per_group_version() {
        let mut plurals = HashSet::new();
        let mut kinds = HashSet::new();
        for r in RESOURCES {
            assert!(
                plurals.insert((r.group, r.version, r.plural)),
                "duplicate plural {}/{} {}",
                r.group,
                r.version,
                r.plural
            );
            assert!(
                kinds.insert((r.group, r.version, r.kind)),
                "duplicate kind {}/{} {}",
                r.group,
                r.version,
                r.kind
            );
        }
    }

    #[test]
    fn short_names_are_unique_across_groups_except_events() {
        // Upstream gives both Event kinds "ev"; every other short name is
        // unique, so `kubectl get <short>` resolves to one resource.
        let mut seen = HashSet::new();
        for r in RESOURCES {
            for s in r.short_names {
                if *s == "ev" {
                    continue;
                }
                assert!(seen.insert(*s), "short name {s} used twice");
            }
        }
    }

    #[test]
    fn names_are_lower_case_and_singular_matches_kind() {
        for r in RESOURCES {
            assert_eq!(r.plural, r.plural.to_lowercase());
            assert_eq!(r.singular, r.kind.to_lowercase(), "{}", r.kind);
        }
    }

    #[test]
    fn lookups() {
        let pods = find("", "v1", "pods").expect("pods");
        assert_eq!(pods.kind, "Pod");
        assert!(pods.namespaced);
        assert_eq!(pods.subresources, &[Subresource::Status]);
        let deploy = find_kind("apps", "v1", "Deployment").expect("deployments");
        assert_eq!(deploy.plural, "deployments");
        assert!(deploy.subresources.contains(&Subresource::Scale));
        assert!(find("autoscaling", "v1", "horizontalpodautoscalers").is_none());
        assert!(find("apps", "v1beta1", "deployments").is_none());
        assert_eq!(
            find("coordination.k8s.io", "v1", "leases").map(|r| r.persistence),
            Some(Persistence::Ephemeral)
        );
        assert_eq!(
            find("", "v1", "componentstatuses").map(|r| (r.verbs, r.namespaced)),
            Some((VerbSet::ReadOnly, false))
        );
    }
}
