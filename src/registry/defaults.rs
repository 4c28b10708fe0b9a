//! Server-side defaulting of built-in kinds, matching what a Kubernetes v1.35
//! API server fills in on create and update (the `SetDefaults_*` functions of
//! the versioned types, plus the few values upstream's create strategies and
//! default-on admission plugins add, which clients have come to rely on).
//!
//! Objects are handled in their wire JSON form. A value the user gave is never
//! replaced; "absent" follows the Go types: a missing or `null` field, and for
//! plain (non-pointer) Go strings and numbers also `""` and `0`, because upstream
//! cannot tell those apart from unset.

use serde_json::{Map, Value, json};

use super::resources::ResourceDef;

mod pod;

/// Applies the upstream defaults for `def`'s kind to `obj` in place.
pub(crate) fn apply(def: &ResourceDef, obj: &mut Value) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    match (def.group, def.kind) {
        ("", "Pod") => pod::pod(root),
        ("", "ReplicationController") => replication_controller(root),
        ("", "Service") => service(root),
        ("", "Namespace") => namespace(root),
        ("", "Secret") => {
            default_str(root, "type", "Opaque");
        }
        ("", "PersistentVolumeClaim") => pvc(root),
        ("", "PersistentVolume") => pv(root),
        ("", "Endpoints") => endpoints(root),
        ("", "Node") => node(root),
        ("", "LimitRange") => limit_range(root),
        ("apps", "Deployment") => deployment(root),
        ("apps", "ReplicaSet") => default_val(spec(root), "replicas", json!(1)),
        ("apps", "StatefulSet") => stateful_set(root),
        ("apps", "DaemonSet") => daemon_set(root),
        ("batch", "Job") => job(root),
        ("batch", "CronJob") => cron_job(root),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(def.version, root),
        ("networking.k8s.io", "NetworkPolicy") => network_policy(root),
        ("networking.k8s.io", "IngressClass") => {
            if let Some(p) = path_mut(root, &["spec", "parameters"]) {
                default_str(p, "scope", "Cluster");
            }
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            for port in list_mut(root, "ports") {
                default_val(port, "name", json!(""));
                default_val(port, "protocol", json!("TCP"));
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => binding(root),
        ("admissionregistration.k8s.io", kind) => crate::admission::defaults::apply(kind, root),
        ("scheduling.k8s.io", "PriorityClass") => {
            default_str(root, "preemptionPolicy", "PreemptLowerPriority");
        }
        ("storage.k8s.io", "StorageClass") => {
            default_str(root, "reclaimPolicy", "Delete");
            default_str(root, "volumeBindingMode", "Immediate");
        }
        _ => {}
    }
    // Embedded pod templates get the PodSpec defaults, not the Pod-only ones.
    if let Some(path) = pod_template_paths(def) {
        template_at(root, path);
    }
}

/// JSON paths (from the object root) of the pod template a kind embeds.
pub(crate) fn pod_template_paths(def: &ResourceDef) -> Option<&'static [&'static str]> {
    match (def.group, def.kind) {
        ("", "PodTemplate") => Some(&["template"]),
        ("", "ReplicationController")
        | ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("batch", "Job") => Some(&["spec", "template"]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// What upstream's create strategies fill in once an object has its uid:
/// a Job without `manualSelector: true` selects its pods by the Job's uid,
/// and its template carries the uid and job-name labels, in both the
/// current and the legacy spellings.
pub(crate) fn prepare_for_create(def: &ResourceDef, obj: &mut Value) {
    if (def.group, def.kind) == ("", "Pod") {
        if let Some(root) = obj.as_object_mut() {
            pod::service_account(root);
        }
        return;
    }
    if (def.group, def.kind) != ("batch", "Job") {
        return;
    }
    let uid = obj.pointer("/metadata/uid").cloned().unwrap_or_default();
    let name = obj.pointer("/metadata/name").cloned().unwrap_or_default();
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let spec = spec(root);
    if spec.get("manualSelector") == Some(&json!(true)) {
        return;
    }
    let template = obj_mut(spec, "template");
    let labels = obj_mut(obj_mut(template, "metadata"), "labels");
    for (key, value) in [
        ("job-name", &name),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("batch.kubernetes.io/controller-uid", &uid),
    ] {
        default_val(labels, key, value.clone());
    }
    let select = obj_mut(obj_mut(spec, "selector"), "matchLabels");
    default_val(select, "batch.kubernetes.io/controller-uid", uid);
}

fn is_unset(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Sets `key` unless the user gave a value (`null` counts as unset).
fn default_val(m: &mut Map<String, Value>, key: &str, v: Value) {
    if is_unset(m.get(key)) {
        m.insert(key.to_owned(), v);
    }
}

/// Like [`default_val`] for non-pointer Go strings, where `""` means unset.
fn default_str(m: &mut Map<String, Value>, key: &str, v: &str) {
    if is_unset(m.get(key)) || m.get(key).and_then(Value::as_str) == Some("") {
        m.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

/// Like [`default_val`] for non-pointer Go integers, where `0` means unset.
fn default_int(m: &mut Map<String, Value>, key: &str, v: i64) {
    if is_unset(m.get(key)) || m.get(key).and_then(Value::as_i64) == Some(0) {
        m.insert(key.to_owned(), json!(v));
    }
}

/// The object at `key`, created empty when missing or null.
fn obj_mut<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = m.entry(key.to_owned()).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(o) => o,
        // The slot was made an object just above.
        _ => unreachable!("slot is an object"),
    }
}

fn spec(root: &mut Map<String, Value>) -> &mut Map<String, Value> {
    obj_mut(root, "spec")
}

/// The existing object at `path`, without creating anything.
fn path_mut<'a>(
    m: &'a mut Map<String, Value>,
    path: &[&str],
) -> Option<&'a mut Map<String, Value>> {
    let (first, rest) = path.split_first()?;
    let next = m.get_mut(*first)?.as_object_mut()?;
    if rest.is_empty() {
        Some(next)
    } else {
        path_mut(next, rest)
    }
}

/// The object elements of the list at `key` (non-objects are skipped).
fn list_mut<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn has_items(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key)
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn template_at(root: &mut Map<String, Value>, path: &[&str]) {
    if let Some(t) = path_mut(root, path) {
        pod::pod_spec(obj_mut(t, "spec"));
    }
}

/// The labels of the pod template, when they are a map.
fn template_labels(root: &mut Map<String, Value>) -> Option<Value> {
    path_mut(root, &["spec", "template", "metadata"])
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned()
}

/// Sets `key` to `value` unless it already holds a non-empty map.
fn default_map(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map
        .get(key)
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty())
    {
        map.insert(key.into(), value);
    }
}

fn replication_controller(root: &mut Map<String, Value>) {
    // An RC without selector or labels takes them from its template.
    let labels = template_labels(root).filter(|l| l.as_object().is_some_and(|o| !o.is_empty()));
    if let Some(labels) = labels {
        default_map(spec(root), "selector", labels.clone());
        default_map(obj_mut(root, "metadata"), "labels", labels);
    }
    default_val(spec(root), "replicas", json!(1));
}

fn deployment(root: &mut Map<String, Value>) {
    let spec = spec(root);
    default_val(spec, "replicas", json!(1));
    let strategy = obj_mut(spec, "strategy");
    default_str(strategy, "type", "RollingUpdate");
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let ru = obj_mut(strategy, "rollingUpdate");
        default_val(ru, "maxUnavailable", json!("25%"));
        default_val(ru, "maxSurge", json!("25%"));
    }
    default_val(spec, "revisionHistoryLimit", json!(10));
    default_val(spec, "progressDeadlineSeconds", json!(600));
}

fn stateful_set(root: &mut Map<String, Value>) {
    let spec = spec(root);
    default_str(spec, "podManagementPolicy", "OrderedReady");
    let us = obj_mut(spec, "updateStrategy");
    if us
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        us.insert("type".into(), json!("RollingUpdate"));
        default_val(us, "rollingUpdate", json!({}));
    }
    if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
        && let Some(ru) = us.get_mut("rollingUpdate").and_then(Value::as_object_mut)
    {
        default_val(ru, "partition", json!(0));
        // MaxUnavailableStatefulSet is beta and on by default in v1.35.
        default_val(ru, "maxUnavailable", json!(1));
    }
    let policy = obj_mut(spec, "persistentVolumeClaimRetentionPolicy");
    default_str(policy, "whenDeleted", "Retain");
    default_str(policy, "whenScaled", "Retain");
    default_val(spec, "replicas", json!(1));
    default_val(spec, "revisionHistoryLimit", json!(10));
    for t in list_mut(spec, "volumeClaimTemplates") {
        default_val(obj_mut(t, "spec"), "volumeMode", json!("Filesystem"));
        default_str(obj_mut(t, "status"), "phase", "Pending");
    }
}

fn daemon_set(root: &mut Map<String, Value>) {
    let spec = spec(root);
    let us = obj_mut(spec, "updateStrategy");
    default_str(us, "type", "RollingUpdate");
    if us.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let ru = obj_mut(us, "rollingUpdate");
        default_val(ru, "maxUnavailable", json!(1));
        default_val(ru, "maxSurge", json!(0));
    }
    default_val(spec, "revisionHistoryLimit", json!(10));
}

fn job(root: &mut Map<String, Value>) {
    let spec = spec(root);
    // Both unset means a single, non-parallel run; completions stays unset
    // when only parallelism is given (a work-queue job).
    if is_unset(spec.get("completions")) && is_unset(spec.get("parallelism")) {
        spec.insert("completions".into(), json!(1));
    }
    default_val(spec, "parallelism", json!(1));
    let backoff = if is_unset(spec.get("backoffLimitPerIndex")) {
        6
    } else {
        i64::from(i32::MAX)
    };
    default_val(spec, "backoffLimit", json!(backoff));
    default_val(spec, "completionMode", json!("NonIndexed"));
    default_val(spec, "suspend", json!(false));
    let replacement = if is_unset(spec.get("podFailurePolicy")) {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    default_val(spec, "podReplacementPolicy", json!(replacement));
    default_val(spec, "manualSelector", json!(false));
    if let Some(pfp) = spec
        .get_mut("podFailurePolicy")
        .and_then(Value::as_object_mut)
    {
        for rule in list_mut(pfp, "rules") {
            for cond in list_mut(rule, "onPodConditions") {
                default_str(cond, "status", "True");
            }
        }
    }
    // A job without labels of its own takes its template's labels.
    if let Some(labels) = template_labels(root) {
        default_map(obj_mut(root, "metadata"), "labels", labels);
    }
}

fn cron_job(root: &mut Map<String, Value>) {
    let spec = spec(root);
    default_str(spec, "concurrencyPolicy", "Allow");
    default_val(spec, "suspend", json!(false));
    default_val(spec, "successfulJobsHistoryLimit", json!(3));
    default_val(spec, "failedJobsHistoryLimit", json!(1));
    // Of the job template only its pod template is defaulted: upstream's Job
    // defaults apply to Job objects, not to an embedded JobSpec.
}

fn hpa(version: &str, root: &mut Map<String, Value>) {
    let spec = spec(root);
    default_val(spec, "minReplicas", json!(1));
    if version != "v2" {
        return;
    }
    if !has_items(spec, "metrics") {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    // Behavior is only completed when the user gave one; scale-down keeps an
    // unset stabilization window so the controller's flag decides it.
    if let Some(b) = spec.get_mut("behavior").and_then(Value::as_object_mut) {
        let up = obj_mut(b, "scaleUp");
        default_val(up, "stabilizationWindowSeconds", json!(0));
        default_val(up, "selectPolicy", json!("Max"));
        default_val(
            up,
            "policies",
            json!([{"type": "Pods", "value": 4, "periodSeconds": 15},
                   {"type": "Percent", "value": 100, "periodSeconds": 15}]),
        );
        let down = obj_mut(b, "scaleDown");
        default_val(down, "selectPolicy", json!("Max"));
        default_val(
            down,
            "policies",
            json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
        );
    }
}

fn service(root: &mut Map<String, Value>) {
    // Go encodes the non-pointer LoadBalancerStatus of every Service.
    default_val(obj_mut(root, "status"), "loadBalancer", json!({}));
    let spec = spec(root);
    default_str(spec, "sessionAffinity", "None");
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP") {
        let timeout = spec
            .get("sessionAffinityConfig")
            .and_then(|c| c.pointer("/clientIP/timeoutSeconds"));
        if is_unset(timeout) {
            spec.insert(
                "sessionAffinityConfig".into(),
                json!({"clientIP": {"timeoutSeconds": 10800}}),
            );
        }
    }
    default_str(spec, "type", "ClusterIP");
    for p in list_mut(spec, "ports") {
        default_str(p, "protocol", "TCP");
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if unset {
            let port = p.get("port").cloned().unwrap_or(json!(0));
            p.insert("targetPort".into(), port);
        }
    }
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    // Upstream's "externally accessible": node ports, load balancers, and
    // cluster IPs that also carry external IPs.
    let external = matches!(ty.as_str(), "NodePort" | "LoadBalancer")
        || (ty == "ClusterIP" && has_items(spec, "externalIPs"));
    if external {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        default_val(spec, "internalTrafficPolicy", json!("Cluster"));
        // Set by the IP allocator upstream; this server is single-stack IPv4.
        default_val(spec, "ipFamilyPolicy", json!("SingleStack"));
        if !has_items(spec, "ipFamilies") {
            spec.insert("ipFamilies".into(), json!(["IPv4"]));
        }
    }
    if ty == "LoadBalancer" {
        default_val(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

fn namespace(root: &mut Map<String, Value>) {
    let name = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !name.is_empty() {
        // Upstream always (re)writes this identity label, so it can be trusted
        // in namespace selectors; it is the one default that overrides input.
        let labels = obj_mut(obj_mut(root, "metadata"), "labels");
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    let spec = spec(root);
    if !has_items(spec, "finalizers") {
        spec.insert("finalizers".into(), json!(["kubernetes"]));
    }
    default_str(obj_mut(root, "status"), "phase", "Active");
}

fn pvc(root: &mut Map<String, Value>) {
    default_val(spec(root), "volumeMode", json!("Filesystem"));
    default_str(obj_mut(root, "status"), "phase", "Pending");
}

fn pv(root: &mut Map<String, Value>) {
    let spec = spec(root);
    default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
    default_val(spec, "volumeMode", json!("Filesystem"));
    default_str(obj_mut(root, "status"), "phase", "Pending");
}

fn endpoints(root: &mut Map<String, Value>) {
    for subset in list_mut(root, "subsets") {
        for p in list_mut(subset, "ports") {
            default_str(p, "protocol", "TCP");
        }
    }
}

fn node(root: &mut Map<String, Value>) {
    if let Some(status) = root.get_mut("status").and_then(Value::as_object_mut)
        && is_unset(status.get("allocatable"))
        && let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned()
    {
        status.insert("allocatable".into(), cap);
    }
}

fn limit_range(root: &mut Map<String, Value>) {
    let Some(spec) = root.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for item in list_mut(spec, "limits") {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        // Default limit falls back to max; default request to the default
        // limit, then to min.
        let list = |k: &str| {
            item.get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (max, min, mut default, mut request) = (
            list("max"),
            list("min"),
            list("default"),
            list("defaultRequest"),
        );
        for (k, v) in max {
            default.entry(k).or_insert(v);
        }
        for (k, v) in default.clone().into_iter().chain(min) {
            request.entry(k).or_insert(v);
        }
        // Empty maps are omitted on the wire, as upstream's omitempty does.
        if !default.is_empty() {
            item.insert("default".into(), Value::Object(default));
        }
        if !request.is_empty() {
            item.insert("defaultRequest".into(), Value::Object(request));
        }
    }
}

fn network_policy(root: &mut Map<String, Value>) {
    let spec = spec(root);
    for key in ["ingress", "egress"] {
        for rule in list_mut(spec, key) {
            for p in list_mut(rule, "ports") {
                default_val(p, "protocol", json!("TCP"));
            }
        }
    }
    // A policy without policyTypes always covers ingress, and egress too
    // when it has egress rules.
    if !has_items(spec, "policyTypes") {
        let mut types = vec![json!("Ingress")];
        if has_items(spec, "egress") {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
}

fn binding(root: &mut Map<String, Value>) {
    if let Some(r) = root.get_mut("roleRef").and_then(Value::as_object_mut) {
        default_str(r, "apiGroup", "rbac.authorization.k8s.io");
    }
    // Service accounts default to the core group, which is "" and so stays
    // off the wire (omitempty); users and groups get the RBAC group.
    for s in list_mut(root, "subjects") {
        if matches!(
            s.get("kind").and_then(Value::as_str),
            Some("User" | "Group")
        ) {
            default_str(s, "apiGroup", "rbac.authorization.k8s.io");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::resources::find_kind;
    use super::*;

    fn def(group: &str, version: &str, kind: &str) -> &'static ResourceDef {
        find_kind(group, version, kind).expect("kind is served")
    }

    pub(super) fn defaulted(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        mut v: Value,
    ) -> Value {
        apply(def(group, version, kind), &mut v);
        v
    }

    #[test]
    fn bare_deployment_gets_upstream_defaults() {
        let d = defaulted(
            "apps",
            "v1",
            "Deployment",
            json!({
                "metadata": {"name": "web"},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}}
            }),
        );
        let spec = &d["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["containers"][0]["ports"][0]["protocol"], "TCP");
        // Pod-only defaults stay out of templates.
        assert!(pod.get("enableServiceLinks").is_none());
        assert!(d.get("status").is_none());
    }

    #[test]
    fn recreate_deployment_gets_no_rolling_update() {
        let d = defaulted(
            "apps",
            "v1",
            "Deployment",
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        );
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn service_defaults() {
        let s = defaulted(
            "",
            "v1",
            "Service",
            json!({"spec": {"ports": [{"port": 80}]}}),
        );
        assert_eq!(s["spec"]["type"], "ClusterIP");
        assert_eq!(s["spec"]["sessionAffinity"], "None");
        assert_eq!(
            s["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(s["spec"]["internalTrafficPolicy"], "Cluster");
        assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
        assert!(s["spec"].get("externalTrafficPolicy").is_none());
        let np = defaulted(
            "",
            "v1",
            "Service",
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]}}),
        );
        assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(np["spec"]["ports"][0]["targetPort"], "http");
    }

    #[test]
    fn job_namespace_and_policy_defaults() {
        let j = defaulted(
            "batch",
            "v1",
            "Job",
            json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}),
        );
        assert_eq!(j["spec"]["completions"], 1);
        assert_eq!(j["spec"]["parallelism"], 1);
        assert_eq!(j["spec"]["backoffLimit"], 6);
        assert_eq!(j["spec"]["completionMode"], "NonIndexed");
        assert_eq!(j["spec"]["podReplacementPolicy"], "TerminatingOrFailed");
        let wq = defaulted("batch", "v1", "Job", json!({"spec": {"parallelism": 3}}));
        assert!(wq["spec"].get("completions").is_none());
        let ns = defaulted(
            "",
            "v1",
            "Namespace",
            json!({"metadata": {"name": "team-a"}}),
        );
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(ns["status"]["phase"], "Active");
        let np = defaulted(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}}),
        );
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
        let rb = defaulted(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            json!({
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "a"}, {"kind": "User", "name": "b"}]}),
        );
        assert!(rb["subjects"][0].get("apiGroup").is_none());
        assert_eq!(rb["subjects"][1]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    }
}
