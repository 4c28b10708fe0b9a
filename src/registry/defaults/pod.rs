//! Pod defaults: SetDefaults_PodSpec and everything it reaches (containers,
//! volumes, probes), the Pod-only extras, and the QoS class.

use serde_json::{Map, Value, json};

use super::super::validation::parse_quantity;
use super::{default_int, default_str, default_val, list_mut, obj_mut, path_mut, spec};

pub(super) fn pod(root: &mut Map<String, Value>) {
    let spec = spec(root);
    pod_spec(spec);
    // Pod-only defaults: upstream keeps these out of PodSpec defaulting so
    // they never show up in (and never roll) workload templates.
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for key in ["containers", "initContainers"] {
        for c in list_mut(spec, key) {
            requests_from_limits(c);
            if host_network {
                // With host networking a container port is a host port.
                for p in list_mut(c, "ports") {
                    if let Some(cp) = p.get("containerPort").cloned() {
                        default_int(p, "hostPort", cp.as_i64().unwrap_or(0));
                    }
                }
            }
        }
    }
    default_val(spec, "enableServiceLinks", json!(true));
    // The Priority admission plugin resolves priorityClassName; without a
    // class it assigns priority 0 and the default preemption policy.
    if spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        default_val(spec, "priority", json!(0));
        default_val(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    default_toleration_seconds(spec);
    let qos = qos_class(spec);
    let status = obj_mut(root, "status");
    default_str(status, "phase", "Pending");
    default_str(status, "qosClass", qos);
}

/// The DefaultTolerationSeconds admission plugin: pods tolerate a node being
/// not-ready or unreachable for 300s unless they already say otherwise.
pub(super) fn default_toleration_seconds(spec: &mut Map<String, Value>) {
    let tols: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut added = Vec::new();
    for taint in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let covered = tols.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        });
        if !covered {
            added.push(json!({"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if !added.is_empty() {
        let mut all = tols;
        all.extend(added);
        spec.insert("tolerations".into(), Value::Array(all));
    }
}

/// On pods (not templates) a limit without a request also sets the request.
pub(super) fn requests_from_limits(c: &mut Map<String, Value>) {
    let res = obj_mut(c, "resources");
    let Some(limits) = res
        .get("limits")
        .and_then(Value::as_object)
        .filter(|l| !l.is_empty())
        .cloned()
    else {
        return;
    };
    let requests = obj_mut(res, "requests");
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

/// SetDefaults_PodSpec and everything it reaches (containers, volumes, probes).
pub(super) fn pod_spec(spec: &mut Map<String, Value>) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_val(spec, "securityContext", json!({}));
    default_val(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    for v in list_mut(spec, "volumes") {
        volume(v);
    }
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        for c in list_mut(spec, key) {
            container(c);
        }
    }
}

pub(super) fn volume(v: &mut Map<String, Value>) {
    // A volume naming no source at all is an emptyDir.
    if !v.iter().any(|(k, val)| k != "name" && !val.is_null()) {
        v.insert("emptyDir".into(), json!({}));
    }
    for key in ["configMap", "secret", "downwardAPI", "projected"] {
        if let Some(src) = v.get_mut(key).and_then(Value::as_object_mut) {
            default_val(src, "defaultMode", json!(420));
        }
    }
    if let Some(hp) = v.get_mut("hostPath").and_then(Value::as_object_mut) {
        default_val(hp, "type", json!(""));
    }
    if let Some(p) = v.get_mut("projected").and_then(Value::as_object_mut) {
        for s in list_mut(p, "sources") {
            if let Some(t) = s
                .get_mut("serviceAccountToken")
                .and_then(Value::as_object_mut)
            {
                default_val(t, "expirationSeconds", json!(3600));
            }
        }
    }
    if let Some(t) = path_mut(v, &["ephemeral", "volumeClaimTemplate", "spec"]) {
        default_val(t, "volumeMode", json!("Filesystem"));
    }
}

pub(super) fn container(c: &mut Map<String, Value>) {
    if c.get("imagePullPolicy")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = if image_tag(image) == Some("latest") {
            "Always"
        } else {
            "IfNotPresent"
        };
        c.insert("imagePullPolicy".into(), json!(policy));
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    default_val(c, "resources", json!({}));
    for p in list_mut(c, "ports") {
        default_str(p, "protocol", "TCP");
    }
    for e in list_mut(c, "env") {
        if let Some(f) = path_mut(e, &["valueFrom", "fieldRef"]) {
            default_str(f, "apiVersion", "v1");
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(key).and_then(Value::as_object_mut) {
            // Probe fields are plain int32s upstream, so an explicit 0 is
            // indistinguishable from unset and gets the default too.
            default_int(p, "timeoutSeconds", 1);
            default_int(p, "periodSeconds", 10);
            default_int(p, "successThreshold", 1);
            default_int(p, "failureThreshold", 3);
            handler(p);
            if let Some(g) = p.get_mut("grpc").and_then(Value::as_object_mut) {
                default_val(g, "service", json!(""));
            }
        }
    }
    for key in ["postStart", "preStop"] {
        if let Some(h) = path_mut(c, &["lifecycle", key]) {
            handler(h);
        }
    }
}

pub(super) fn handler(h: &mut Map<String, Value>) {
    if let Some(g) = h.get_mut("httpGet").and_then(Value::as_object_mut) {
        default_str(g, "path", "/");
        default_str(g, "scheme", "HTTP");
    }
}

/// The tag upstream's image-name parser reports: `latest` when the reference
/// has neither tag nor digest, `None` for digest-only or unparsable names.
pub(super) fn image_tag(image: &str) -> Option<&str> {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let repo_len = name.len() - last.len();
    let (last_name, tag) = match last.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (last, None),
    };
    // Repository paths must be lower case; anything else fails to parse.
    let repo = &name[..repo_len];
    let path_start = repo.find('/').map(|i| {
        let host = &repo[..i];
        if host.contains('.') || host.contains(':') || host == "localhost" {
            i + 1
        } else {
            0
        }
    });
    let path = &repo[path_start.unwrap_or(0)..];
    if last_name.is_empty()
        || path
            .chars()
            .chain(last_name.chars())
            .any(|c| c.is_ascii_uppercase())
    {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) if !t.is_empty() => Some(t),
        (Some(_), _) => None,
        (None, Some(_)) => None,
        (None, None) => Some("latest"),
    }
}

/// Upstream's ComputePodQOS over regular and init containers.
pub(super) fn qos_class(spec: &Map<String, Value>) -> &'static str {
    let mut requests: Vec<(String, i128)> = Vec::new();
    let mut limits: Vec<(String, i128)> = Vec::new();
    let mut guaranteed = true;
    let add = |acc: &mut Vec<(String, i128)>, name: &str, q: i128| match acc
        .iter_mut()
        .find(|(n, _)| n == name)
    {
        Some((_, v)) => *v = v.saturating_add(q),
        None => acc.push((name.to_owned(), q)),
    };
    let containers = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten();
    for c in containers {
        let res = c.get("resources");
        let list = |k: &str| {
            res.and_then(|r| r.get(k))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        for (name, q) in list("requests") {
            if matches!(name.as_str(), "cpu" | "memory")
                && let Some(v) = quantity_of(&q).filter(|v| *v > 0)
            {
                add(&mut requests, &name, v);
            }
        }
        let mut found = (false, false);
        for (name, q) in list("limits") {
            if matches!(name.as_str(), "cpu" | "memory")
                && let Some(v) = quantity_of(&q).filter(|v| *v > 0)
            {
                add(&mut limits, &name, v);
                if name == "cpu" {
                    found.0 = true
                } else {
                    found.1 = true
                }
            }
        }
        if !(found.0 && found.1) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        let equal = requests
            .iter()
            .all(|(n, r)| limits.iter().any(|(ln, l)| ln == n && l == r));
        if equal && requests.len() == limits.len() {
            return "Guaranteed";
        }
    }
    "Burstable"
}

pub(super) fn quantity_of(v: &Value) -> Option<i128> {
    match v {
        Value::String(s) => parse_quantity(s),
        Value::Number(n) => parse_quantity(&n.to_string()),
        _ => None,
    }
}

/// Where containers find their service account credentials.
const SA_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What upstream's ServiceAccount admission does to a new pod: the
/// `default` service account when none is named, and (unless
/// `automountServiceAccountToken: false`) a `kube-api-access-*` projected
/// volume with a bound token, the cluster CA and the namespace, mounted
/// read-only into every container.
pub(super) fn service_account(root: &mut Map<String, Value>) {
    let spec = spec(root);
    let name = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| spec.get("serviceAccount").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    spec.insert("serviceAccountName".into(), json!(name));
    spec.insert("serviceAccount".into(), json!(name));
    if spec.get("automountServiceAccountToken") == Some(&json!(false)) {
        return;
    }
    let mounted = |c: &Map<String, Value>| {
        c.get("volumeMounts")
            .and_then(Value::as_array)
            .is_some_and(|m| {
                m.iter()
                    .any(|m| m.get("mountPath") == Some(&json!(SA_MOUNT)))
            })
    };
    let suffix: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .take(5)
        .collect();
    let volume = format!("kube-api-access-{suffix}");
    let mut used = false;
    for key in ["initContainers", "containers"] {
        for c in list_mut(spec, key) {
            if mounted(c) {
                continue;
            }
            let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
            if let Some(m) = mounts.as_array_mut() {
                m.push(json!({"name": volume, "readOnly": true, "mountPath": SA_MOUNT}));
                used = true;
            }
        }
    }
    if !used {
        return;
    }
    let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
    if let Some(v) = volumes.as_array_mut() {
        v.push(json!({
            "name": volume,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ]
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::defaulted;
    use serde_json::Value;
    use serde_json::json;

    #[test]
    fn bare_pod_gets_upstream_defaults() {
        let pod = defaulted(
            "",
            "v1",
            "Pod",
            json!({
                "metadata": {"name": "web"},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}
            }),
        );
        let spec = &pod["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["resources"], json!({}));
        assert_eq!(pod["status"]["phase"], "Pending");
        assert_eq!(pod["status"]["qosClass"], "BestEffort");
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
        assert_eq!(spec["tolerations"][0]["tolerationSeconds"], 300);
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        for (image, want) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("registry.local:5000/team/app", "Always"),
            ("registry.local:5000/team/app:v2", "IfNotPresent"),
            (
                "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "IfNotPresent",
            ),
        ] {
            let pod = defaulted(
                "",
                "v1",
                "Pod",
                json!({"spec": {"containers": [{"name": "c", "image": image}]}}),
            );
            assert_eq!(
                pod["spec"]["containers"][0]["imagePullPolicy"], want,
                "{image}"
            );
        }
    }

    #[test]
    fn qos_classes_match_upstream_rules() {
        let with = |res: Value| {
            let pod = defaulted(
                "",
                "v1",
                "Pod",
                json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": res}]}}),
            );
            pod["status"]["qosClass"].clone()
        };
        // Limits alone are copied into requests, which makes the pod Guaranteed.
        assert_eq!(
            with(json!({"limits": {"cpu": "500m", "memory": "128Mi"}})),
            "Guaranteed"
        );
        assert_eq!(with(json!({"requests": {"cpu": "100m"}})), "Burstable");
        assert_eq!(
            with(
                json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "1Gi"}})
            ),
            "Burstable"
        );
        assert_eq!(with(json!({})), "BestEffort");
    }

    #[test]
    fn user_values_are_kept() {
        let pod = defaulted(
            "",
            "v1",
            "Pod",
            json!({
                "spec": {"restartPolicy": "Never", "dnsPolicy": "Default", "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never",
                        "ports": [{"containerPort": 53, "protocol": "UDP"}]}]},
                "status": {"phase": "Running"}
            }),
        );
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["dnsPolicy"], "Default");
        assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 0);
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Never");
        assert_eq!(pod["spec"]["containers"][0]["ports"][0]["protocol"], "UDP");
        assert_eq!(pod["status"]["phase"], "Running");
    }
}
