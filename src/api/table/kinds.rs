//! Columns and cells of `kubectl get` for each built-in kind, as upstream's
//! printers define them; kinds upstream serves with its default converter
//! (roles, limit ranges, CRDs) print name and RFC 3339 creation time. The server fills every column, wide ones
//! (priority 1) included; kubectl shows those with `-o wide`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{AGE, Column, NAME, age, col, human_duration, len, n, or_none, s};
use crate::registry::resources::ResourceDef;

const CONTAINERS: Column = col(
    "Containers",
    "string",
    1,
    "Names of each container in the template.",
);
const IMAGES: Column = col(
    "Images",
    "string",
    1,
    "Images referenced by each container in the template.",
);
const SELECTOR: Column = col("Selector", "string", 1, "Label selector of the pods.");
const CREATED_AT: Column = col(
    "Created At",
    "date",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

/// Upstream's columns of `def`, or `None` for kinds printed as name and age.
pub(super) fn columns(def: &ResourceDef) -> Option<Vec<Column>> {
    let c = |name, kind, description| col(name, kind, 0, description);
    let wide = |name, description| col(name, "string", 1, description);
    Some(match (def.group, def.kind) {
        ("", "Pod") => vec![
            NAME,
            c(
                "Ready",
                "string",
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            c(
                "Status",
                "string",
                "The aggregate status of the containers in this pod.",
            ),
            c(
                "Restarts",
                "string",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            wide(
                "IP",
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            wide(
                "Node",
                "NodeName is a request to schedule this pod onto a specific node.",
            ),
            wide(
                "Nominated Node",
                "nominatedNodeName is set when this pod preempts other pods on the node.",
            ),
            wide(
                "Readiness Gates",
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        ("", "PodTemplate") => vec![
            NAME,
            c(
                "Containers",
                "string",
                "Names of each container in the template.",
            ),
            c(
                "Images",
                "string",
                "Images referenced by each container in the template.",
            ),
            c("Pod Labels", "string", "The labels for the pod template."),
        ],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => vec![
            NAME,
            c("Desired", "integer", "Number of desired pods."),
            c("Current", "integer", "Number of actual replicas."),
            c("Ready", "integer", "The number of ready replicas."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        ("apps", "DaemonSet") => vec![
            NAME,
            c(
                "Desired",
                "integer",
                "The total number of nodes that should be running the daemon pod.",
            ),
            c(
                "Current",
                "integer",
                "The number of nodes that are running at least 1 daemon pod.",
            ),
            c(
                "Ready",
                "integer",
                "The number of nodes running the daemon pod with it ready.",
            ),
            c(
                "Up-to-date",
                "integer",
                "The total number of nodes that are running updated daemon pod.",
            ),
            c(
                "Available",
                "integer",
                "The number of nodes running the daemon pod with it available.",
            ),
            c(
                "Node Selector",
                "string",
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        ("apps", "StatefulSet") => vec![
            NAME,
            c("Ready", "string", "Number of the pod with ready state"),
            AGE,
            CONTAINERS,
            IMAGES,
        ],
        ("apps", "ControllerRevision") => vec![
            NAME,
            c("Controller", "string", "Controller of the object"),
            c(
                "Revision",
                "string",
                "Revision indicates the revision of the state represented by Data.",
            ),
            AGE,
        ],
        ("batch", "Job") => vec![
            NAME,
            c("Status", "string", "Status of the job."),
            c(
                "Completions",
                "string",
                "The desired number of successfully finished pods the job should be run with.",
            ),
            c("Duration", "string", "Time required to complete the job."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        ("batch", "CronJob") => vec![
            NAME,
            c("Schedule", "string", "The schedule in Cron format."),
            c(
                "Timezone",
                "string",
                "The time zone name for the given schedule.",
            ),
            c(
                "Suspend",
                "boolean",
                "This flag tells the controller to suspend subsequent executions.",
            ),
            c(
                "Active",
                "integer",
                "A list of pointers to currently running jobs.",
            ),
            c(
                "Last Schedule",
                "string",
                "Information when was the last time the job was successfully scheduled.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        ("", "Node") => vec![
            NAME,
            c("Status", "string", "The status of the node"),
            c("Roles", "string", "The roles of the node"),
            AGE,
            c("Version", "string", "Kubelet Version reported by the node."),
            wide("Internal-IP", "List of addresses reachable to the node."),
            wide("External-IP", "List of addresses reachable to the node."),
            wide(
                "OS-Image",
                "OS Image reported by the node from /etc/os-release.",
            ),
            wide("Kernel-Version", "Kernel Version reported by the node."),
            wide(
                "Container-Runtime",
                "ContainerRuntime Version reported by the node.",
            ),
        ],
        ("", "Event") | ("events.k8s.io", "Event") => vec![
            c(
                "Last Seen",
                "string",
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            c(
                "Type",
                "string",
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            c(
                "Reason",
                "string",
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            c("Object", "string", "The object that this event is about."),
            wide("Subobject", "The field of the object this event is about."),
            wide("Source", "The component reporting this event."),
            c(
                "Message",
                "string",
                "A human-readable description of the status of this operation.",
            ),
            wide(
                "First Seen",
                "The time at which the event was first recorded.",
            ),
            wide("Count", "The number of times this event has occurred."),
            col(
                "Name",
                "string",
                1,
                "Name must be unique within a namespace.",
            ),
        ],
        ("", "Endpoints") => vec![
            NAME,
            c(
                "Endpoints",
                "string",
                "The set of all endpoints is the union of all subsets.",
            ),
            AGE,
        ],
        ("", "PersistentVolume") => vec![
            NAME,
            c(
                "Capacity",
                "string",
                "A description of the persistent volume's resources and capacity.",
            ),
            c(
                "Access Modes",
                "string",
                "AccessModes contains all ways the volume can be mounted.",
            ),
            c(
                "Reclaim Policy",
                "string",
                "What happens to a persistent volume when released from its claim.",
            ),
            c(
                "Status",
                "string",
                "Phase indicates if a volume is available, bound to a claim, or released by a claim.",
            ),
            c(
                "Claim",
                "string",
                "ClaimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
            ),
            c("StorageClass", "string", "StorageClass of the pv"),
            c(
                "VolumeAttributesClass",
                "string",
                "VolumeAttributesClass of the pv",
            ),
            c(
                "Reason",
                "string",
                "Reason is a brief CamelCase string that describes any failure.",
            ),
            AGE,
            wide(
                "VolumeMode",
                "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
            ),
        ],
        ("", "PersistentVolumeClaim") => vec![
            NAME,
            c(
                "Status",
                "string",
                "Phase represents the current phase of PersistentVolumeClaim.",
            ),
            c(
                "Volume",
                "string",
                "VolumeName is the binding reference to the PersistentVolume backing this claim.",
            ),
            c(
                "Capacity",
                "string",
                "Capacity represents the actual resources of the underlying volume.",
            ),
            c(
                "Access Modes",
                "string",
                "AccessModes contains the actual access modes the volume backing the PVC has.",
            ),
            c("StorageClass", "string", "StorageClass of the pvc"),
            c(
                "VolumeAttributesClass",
                "string",
                "VolumeAttributesClass of the pvc",
            ),
            AGE,
            wide(
                "VolumeMode",
                "volumeMode defines what type of volume is required by the claim.",
            ),
        ],
        ("", "ResourceQuota") => vec![
            NAME,
            c(
                "Request",
                "string",
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
            c(
                "Limit",
                "string",
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
            AGE,
        ],
        ("", "LimitRange") => vec![NAME, CREATED_AT],
        ("networking.k8s.io", "Ingress") => vec![
            NAME,
            c("Class", "string", "The name of the IngressClass resource."),
            c(
                "Hosts",
                "string",
                "Hosts that incoming requests are matched against before the ingress rule",
            ),
            c(
                "Address",
                "string",
                "Address is a list containing ingress points for the load-balancer",
            ),
            c("Ports", "string", "Ports of TLS configurations that open"),
            AGE,
        ],
        ("networking.k8s.io", "IngressClass") => vec![
            NAME,
            c(
                "Controller",
                "string",
                "Controller that is responsible for handling this class",
            ),
            c(
                "Parameters",
                "string",
                "A reference to a resource with additional parameters",
            ),
            AGE,
        ],
        ("networking.k8s.io", "NetworkPolicy") => vec![
            NAME,
            c(
                "Pod-Selector",
                "string",
                "Selects the pods to which this NetworkPolicy object applies.",
            ),
            AGE,
        ],
        ("networking.k8s.io", "ServiceCIDR") => vec![
            NAME,
            c("CIDRs", "string", "The CIDRs of the ServiceCIDR."),
            AGE,
        ],
        ("networking.k8s.io", "IPAddress") => vec![
            NAME,
            c(
                "ParentRef",
                "string",
                "The object this IP address belongs to.",
            ),
        ],
        ("discovery.k8s.io", "EndpointSlice") => vec![
            NAME,
            c(
                "AddressType",
                "string",
                "The type of address carried by this EndpointSlice.",
            ),
            c(
                "Ports",
                "string",
                "List of network ports exposed by each endpoint in this slice.",
            ),
            c(
                "Endpoints",
                "string",
                "List of unique endpoints in this slice.",
            ),
            AGE,
        ],
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => vec![NAME, CREATED_AT],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            NAME,
            c(
                "Role",
                "string",
                "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
            ),
            AGE,
            wide("Users", "Users in the roleBinding"),
            wide("Groups", "Groups in the roleBinding"),
            wide("ServiceAccounts", "ServiceAccounts in the roleBinding"),
        ],
        ("storage.k8s.io", "StorageClass") => vec![
            NAME,
            c(
                "Provisioner",
                "string",
                "Provisioner indicates the type of the provisioner.",
            ),
            c(
                "ReclaimPolicy",
                "string",
                "Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy.",
            ),
            c(
                "VolumeBindingMode",
                "string",
                "VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
            ),
            c(
                "AllowVolumeExpansion",
                "string",
                "AllowVolumeExpansion shows whether the storage class allows volume expand.",
            ),
            AGE,
        ],
        ("storage.k8s.io", "VolumeAttributesClass") => vec![
            NAME,
            c("DriverName", "string", "Name of the CSI driver"),
            AGE,
        ],
        ("storage.k8s.io", "CSIDriver") => vec![
            NAME,
            c(
                "AttachRequired",
                "boolean",
                "Indicates this CSI volume driver requires an attach operation.",
            ),
            c(
                "PodInfoOnMount",
                "boolean",
                "Indicates this CSI volume driver requires additional pod information during mount operations.",
            ),
            c(
                "StorageCapacity",
                "boolean",
                "Indicates this CSI volume driver wants pod scheduling to consider the storage capacity.",
            ),
            c(
                "TokenRequests",
                "string",
                "Indicates the CSI driver needs pods' service account tokens it is mounting volume for to do necessary authentication.",
            ),
            c(
                "RequiresRepublish",
                "boolean",
                "Indicates the CSI driver wants NodePublishVolume being periodically called.",
            ),
            c(
                "Modes",
                "string",
                "Defines the kinds of volume this CSI volume driver supports.",
            ),
            AGE,
        ],
        ("storage.k8s.io", "CSINode") => vec![
            NAME,
            c(
                "Drivers",
                "integer",
                "Drivers indicates the number of CSI drivers registered on the node",
            ),
            AGE,
        ],
        ("storage.k8s.io", "CSIStorageCapacity") => vec![
            NAME,
            c(
                "StorageClassName",
                "string",
                "The name of the StorageClass that the reported capacity applies to.",
            ),
            c(
                "Capacity",
                "string",
                "The value reported by the CSI driver in its GetCapacityResponse.",
            ),
        ],
        ("storage.k8s.io", "VolumeAttachment") => vec![
            NAME,
            c(
                "Attacher",
                "string",
                "Attacher indicates the name of the volume driver that MUST handle this request.",
            ),
            c("PV", "string", "Name of the persistent volume to attach."),
            c(
                "Node",
                "string",
                "The node that the volume should be attached to.",
            ),
            c(
                "Attached",
                "boolean",
                "Attached indicates the volume is successfully attached.",
            ),
            AGE,
        ],
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => vec![
            NAME,
            c(
                "Webhooks",
                "integer",
                "Webhooks indicates the number of webhooks registered in this configuration",
            ),
            AGE,
        ],
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => vec![
            NAME,
            c(
                "Validations",
                "integer",
                "Validations indicates the number of validation rules defined in this configuration",
            ),
            c(
                "ParamKind",
                "string",
                "ParamKind specifies the kind of resources used to parameterize this policy",
            ),
            AGE,
        ],
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => vec![
            NAME,
            c(
                "PolicyName",
                "string",
                "PolicyName references a ValidatingAdmissionPolicy name which the ValidatingAdmissionPolicyBinding binds to.",
            ),
            c(
                "ParamRef",
                "string",
                "ParamRef specifies the parameter resource used to configure the admission control policy.",
            ),
            AGE,
        ],
        ("certificates.k8s.io", "CertificateSigningRequest") => vec![
            NAME,
            AGE,
            c("SignerName", "string", "Requested signer for the request."),
            c(
                "Requestor",
                "string",
                "Name of the user requesting the certificate.",
            ),
            c(
                "RequestedDuration",
                "string",
                "Requested duration of the issued certificate.",
            ),
            c("Condition", "string", "Conditions applied to the request."),
        ],
        ("autoscaling", "HorizontalPodAutoscaler") => vec![
            NAME,
            c("Reference", "string", "The scale target of the autoscaler."),
            c(
                "Targets",
                "string",
                "The current and target values of each metric.",
            ),
            c("MinPods", "string", "Lower limit for the number of pods."),
            c("MaxPods", "string", "Upper limit for the number of pods."),
            c(
                "Replicas",
                "string",
                "Current number of replicas of pods managed by this autoscaler.",
            ),
            AGE,
        ],
        ("policy", "PodDisruptionBudget") => vec![
            NAME,
            c(
                "Min Available",
                "string",
                "The minimum number of pods that must be available.",
            ),
            c(
                "Max Unavailable",
                "string",
                "The maximum number of pods that may be unavailable.",
            ),
            c(
                "Allowed Disruptions",
                "integer",
                "Calculated number of pods that may be disrupted at this time.",
            ),
            AGE,
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            NAME,
            c(
                "Value",
                "integer",
                "The integer value of this priority class.",
            ),
            c(
                "Global-Default",
                "boolean",
                "Whether this priority class should be used for pods without one.",
            ),
            AGE,
            c(
                "PreemptionPolicy",
                "string",
                "The policy for preempting pods with lower priority.",
            ),
        ],
        ("node.k8s.io", "RuntimeClass") => vec![
            NAME,
            c(
                "Handler",
                "string",
                "Handler specifies the underlying runtime and configuration that the CRI implementation will use.",
            ),
            AGE,
        ],
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => vec![
            NAME,
            c(
                "PriorityLevel",
                "string",
                "The priority level configuration this flow schema refers to.",
            ),
            c(
                "MatchingPrecedence",
                "string",
                "The matching precedence of the flow schema.",
            ),
            c(
                "DistinguisherMethod",
                "string",
                "How flows of this schema are told apart.",
            ),
            AGE,
            c(
                "MissingPL",
                "string",
                "Whether the referenced priority level is missing.",
            ),
        ],
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => vec![
            NAME,
            c(
                "Type",
                "string",
                "Whether the priority level is exempt or limited.",
            ),
            c(
                "NominalConcurrencyShares",
                "string",
                "The nominal concurrency shares of a limited priority level.",
            ),
            c(
                "Queues",
                "string",
                "The number of queues of a limited priority level.",
            ),
            c("HandSize", "string", "The shuffle-sharding hand size."),
            c(
                "QueueLengthLimit",
                "string",
                "The maximum number of requests waiting in a queue.",
            ),
            AGE,
        ],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => vec![NAME, CREATED_AT],
        ("apiregistration.k8s.io", "APIService") => vec![
            NAME,
            c(
                "Service",
                "string",
                "The reference to the service hosting this API.",
            ),
            c("Available", "string", "Whether this service is available."),
            AGE,
        ],
        ("resource.k8s.io", "ResourceClaim") => vec![
            NAME,
            c(
                "State",
                "string",
                "A summary of the current state (allocated, pending, reserved, etc.).",
            ),
            AGE,
        ],
        ("resource.k8s.io", "ResourceSlice") => vec![
            NAME,
            c("Node", "string", "The node providing the resources."),
            c("Driver", "string", "The driver providing the resources."),
            c("Pool", "string", "The pool of the resources."),
            AGE,
        ],
        _ => return None,
    })
}

fn arr<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn obj_at<'a>(obj: &'a Value, ptr: &str) -> Option<&'a Map<String, Value>> {
    obj.pointer(ptr).and_then(Value::as_object)
}

/// `k=v` pairs in key order, `<none>` for none (upstream's FormatLabels).
fn labels(map: Option<&Map<String, Value>>) -> String {
    let pairs: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    or_none(pairs.join(","))
}

/// A LabelSelector as upstream prints it: requirements sorted by key,
/// `<none>` when it selects by nothing.
fn selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return "<none>".into();
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    for (k, v) in sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
    }
    for e in arr(sel, "/matchExpressions") {
        let key = s(e, "/key");
        let mut values: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        values.sort_unstable();
        let text = match s(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        reqs.push((key.to_owned(), text));
    }
    reqs.sort();
    or_none(
        reqs.into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Container names and images of a pod template, comma-separated.
fn containers(obj: &Value, ptr: &str) -> (String, String) {
    let list = arr(obj, ptr);
    let names: Vec<&str> = list.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "N/A".into(),
    }
}

fn has_true_condition(obj: &Value, ty: &str) -> bool {
    arr(obj, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
}

fn seconds_between(from: &str, to: Option<&str>) -> Option<i64> {
    let from = from.parse::<jiff::Timestamp>().ok()?;
    let to = match to {
        Some(t) => t.parse::<jiff::Timestamp>().ok()?,
        None => jiff::Timestamp::now(),
    };
    Some(to.as_second() - from.as_second())
}

/// Upstream's pod STATUS column: init progress, container waiting and
/// termination reasons, `Completed` turned back into `Running` while a
/// container still runs, `Terminating` while deleted.
fn pod_status(pod: &Value) -> (String, usize, i64, Option<String>) {
    let mut reason = s(pod, "/status/phase").to_owned();
    if !s(pod, "/status/reason").is_empty() {
        reason = s(pod, "/status/reason").to_owned();
    }
    for c in arr(pod, "/status/conditions") {
        if s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }
    let inits = arr(pod, "/spec/initContainers");
    let restartable = |name: &str| {
        inits
            .iter()
            .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
    };
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<String> = None;
    let mut sidecar_last: Option<String> = None;
    let later = |cur: &mut Option<String>, t: &str| {
        if !t.is_empty() && cur.as_deref().is_none_or(|c| c < t) {
            *cur = Some(t.to_owned());
        }
    };
    let mut initializing = false;
    for (i, cs) in arr(pod, "/status/initContainerStatuses").iter().enumerate() {
        let count = n(cs, "/restartCount");
        restarts += count;
        let finished = s(cs, "/lastState/terminated/finishedAt");
        later(&mut last_restart, finished);
        let sidecar = restartable(s(cs, "/name"));
        if sidecar {
            sidecar_restarts += count;
            later(&mut sidecar_last, finished);
        }
        let terminated = cs.pointer("/state/terminated");
        let waiting_reason = s(cs, "/state/waiting/reason");
        if terminated.is_some() && n(cs, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if sidecar && cs.get("started") == Some(&json!(true)) {
            if cs.get("ready") == Some(&json!(true)) {
                ready += 1;
            }
            continue;
        }
        initializing = true;
        reason = if terminated.is_some() {
            let r = s(cs, "/state/terminated/reason");
            if !r.is_empty() {
                format!("Init:{r}")
            } else if n(cs, "/state/terminated/signal") != 0 {
                format!("Init:Signal:{}", n(cs, "/state/terminated/signal"))
            } else {
                format!("Init:ExitCode:{}", n(cs, "/state/terminated/exitCode"))
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", inits.len())
        };
        break;
    }
    let initialized = has_true_condition(pod, "Initialized");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = sidecar_last;
        let mut running = false;
        for cs in arr(pod, "/status/containerStatuses").iter().rev() {
            restarts += n(cs, "/restartCount");
            later(&mut last_restart, s(cs, "/lastState/terminated/finishedAt"));
            let waiting = s(cs, "/state/waiting/reason");
            let terminated = cs.pointer("/state/terminated");
            let term_reason = s(cs, "/state/terminated/reason");
            if !waiting.is_empty() {
                reason = waiting.to_owned();
            } else if terminated.is_some() && !term_reason.is_empty() {
                reason = term_reason.to_owned();
            } else if terminated.is_some() {
                let signal = n(cs, "/state/terminated/signal");
                reason = if signal != 0 {
                    format!("Signal:{signal}")
                } else {
                    format!("ExitCode:{}", n(cs, "/state/terminated/exitCode"))
                };
            } else if cs.get("ready") == Some(&json!(true))
                && cs.pointer("/state/running").is_some()
            {
                running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && running {
            reason = if has_true_condition(pod, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .into();
        }
    }
    let phase = s(pod, "/status/phase");
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        if s(pod, "/status/reason") == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }
    (reason, ready, restarts, last_restart)
}

fn pod_cells(pod: &Value, name: Value, created: Value) -> Vec<Value> {
    let sidecars = arr(pod, "/spec/initContainers")
        .iter()
        .filter(|c| s(c, "/restartPolicy") == "Always")
        .count();
    let total = len(pod, "/spec/containers") + sidecars;
    let (reason, ready, restarts, last) = pod_status(pod);
    let restarts = match last {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", age(Some(&t))),
        _ => restarts.to_string(),
    };
    let ip = arr(pod, "/status/podIPs")
        .first()
        .map(|p| s(p, "/ip").to_owned())
        .unwrap_or_else(|| s(pod, "/status/podIP").to_owned());
    let gates = arr(pod, "/spec/readinessGates");
    let gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let met = gates
            .iter()
            .filter(|g| {
                arr(pod, "/status/conditions")
                    .iter()
                    .find(|c| s(c, "/type") == s(g, "/conditionType"))
                    .is_some_and(|c| s(c, "/status") == "True")
            })
            .count();
        format!("{met}/{}", gates.len())
    };
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        created,
        json!(or_none(ip)),
        json!(or_none(s(pod, "/spec/nodeName").into())),
        json!(or_none(s(pod, "/status/nominatedNodeName").into())),
        json!(gates),
    ]
}

fn job_cells(obj: &Value, name: Value, created: Value) -> Vec<Value> {
    let status = [("Complete", "Complete"), ("Failed", "Failed")]
        .iter()
        .find(|(ty, _)| has_true_condition(obj, ty))
        .map(|(_, s)| *s)
        .or_else(|| {
            obj.pointer("/metadata/deletionTimestamp")
                .map(|_| "Terminating")
        })
        .or_else(|| {
            [
                ("Suspended", "Suspended"),
                ("FailureTarget", "FailureTarget"),
                ("SuccessCriteriaMet", "SuccessCriteriaMet"),
            ]
            .iter()
            .find(|(ty, _)| has_true_condition(obj, ty))
            .map(|(_, s)| *s)
        })
        .unwrap_or("Running");
    let succeeded = n(obj, "/status/succeeded");
    let completions = match (
        obj.pointer("/spec/completions").and_then(Value::as_i64),
        obj.pointer("/spec/parallelism").and_then(Value::as_i64),
    ) {
        (Some(c), _) => format!("{succeeded}/{c}"),
        (None, Some(p)) if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    };
    let duration = match obj.pointer("/status/startTime").and_then(Value::as_str) {
        None => String::new(),
        Some(start) => {
            let end = obj
                .pointer("/status/completionTime")
                .and_then(Value::as_str);
            seconds_between(start, end)
                .map(human_duration)
                .unwrap_or_default()
        }
    };
    let (names, images) = containers(obj, "/spec/template/spec/containers");
    vec![
        name,
        json!(status),
        json!(completions),
        json!(duration),
        created,
        json!(names),
        json!(images),
        json!(selector(obj.pointer("/spec/selector"))),
    ]
}

fn node_cells(obj: &Value, name: Value, created: Value) -> Vec<Value> {
    let mut status = match arr(obj, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Ready")
    {
        Some(c) if s(c, "/status") == "True" => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
        None => "Unknown".to_owned(),
    };
    if obj.pointer("/spec/unschedulable") == Some(&json!(true)) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles = BTreeSet::new();
    for (k, v) in obj_at(obj, "/metadata/labels").into_iter().flatten() {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role.to_owned());
            }
        } else if k == "kubernetes.io/role" && !v.as_str().unwrap_or("").is_empty() {
            roles.insert(v.as_str().unwrap_or("").to_owned());
        }
    }
    let address = |ty: &str| {
        or_none(
            arr(obj, "/status/addresses")
                .iter()
                .find(|a| s(a, "/type") == ty)
                .map(|a| s(a, "/address").to_owned())
                .unwrap_or_default(),
        )
    };
    let info = |field: &str| {
        let v = s(obj, &format!("/status/nodeInfo/{field}"));
        if v.is_empty() {
            "<unknown>".to_owned()
        } else {
            v.to_owned()
        }
    };
    vec![
        name,
        json!(status),
        json!(or_none(roles.into_iter().collect::<Vec<_>>().join(","))),
        created,
        json!(s(obj, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

fn event_cells(obj: &Value) -> Vec<Value> {
    let first_str = ["/firstTimestamp", "/deprecatedFirstTimestamp", "/eventTime"]
        .iter()
        .find_map(|p| obj.pointer(p).and_then(Value::as_str));
    let first = age(first_str.or_else(|| {
        obj.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
    }));
    let series = obj.get("series");
    let last = match series {
        Some(series) => age(series.get("lastObservedTime").and_then(Value::as_str)),
        None => ["/lastTimestamp", "/deprecatedLastTimestamp"]
            .iter()
            .find_map(|p| obj.pointer(p).and_then(Value::as_str))
            .map(|t| age(Some(t)))
            .unwrap_or_else(|| first.clone()),
    };
    let count = match series {
        Some(series) => n(series, "/count"),
        None => match obj
            .get("count")
            .or_else(|| obj.get("deprecatedCount"))
            .and_then(Value::as_i64)
        {
            Some(c) if c != 0 => c,
            _ => 1,
        },
    };
    let regarding = obj
        .get("involvedObject")
        .or_else(|| obj.get("regarding"))
        .cloned()
        .unwrap_or(Value::Null);
    let kind = s(&regarding, "/kind").to_lowercase();
    let target = match s(&regarding, "/name") {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let source = obj.get("source").or_else(|| obj.get("deprecatedSource"));
    let component = source
        .map(|s_| s(s_, "/component"))
        .filter(|c| !c.is_empty());
    let host = source.map(|s_| s(s_, "/host")).filter(|c| !c.is_empty());
    let component = component.unwrap_or_else(|| s(obj, "/reportingController"));
    let component = if component.is_empty() {
        s(obj, "/reportingComponent")
    } else {
        component
    };
    let host = host.unwrap_or_else(|| s(obj, "/reportingInstance"));
    let source = if host.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {host}")
    };
    let message = obj
        .get("message")
        .or_else(|| obj.get("note"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    vec![
        json!(last),
        json!(s(obj, "/type")),
        json!(s(obj, "/reason")),
        json!(target),
        json!(s(&regarding, "/fieldPath")),
        json!(source),
        json!(message),
        json!(first),
        json!(count),
        json!(s(obj, "/metadata/name")),
    ]
}

fn access_modes(list: &[Value]) -> String {
    let mut out = Vec::new();
    for (mode, short) in [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ] {
        if list.iter().any(|m| m.as_str() == Some(mode)) {
            out.push(short);
        }
    }
    out.join(",")
}

/// Comma-separated addresses of a load-balancer status, clipped to 16
/// characters as upstream does outside wide output (the server prints wide).
fn load_balancer(obj: &Value, ptr: &str) -> String {
    let set: BTreeSet<&str> = arr(obj, ptr)
        .iter()
        .filter_map(|i| {
            let ip = s(i, "/ip");
            if !ip.is_empty() {
                Some(ip)
            } else {
                i.get("hostname").and_then(Value::as_str)
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

/// The EXTERNAL-IP cell of a Service.
pub(super) fn service_external_ip(obj: &Value) -> String {
    let external: Vec<&str> = arr(obj, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match s(obj, "/spec/type") {
        "ClusterIP" | "NodePort" => or_none(external.join(",")),
        "LoadBalancer" => {
            let lb = load_balancer(obj, "/status/loadBalancer/ingress");
            let mut all: Vec<&str> = lb.split(',').filter(|x| !x.is_empty()).collect();
            all.extend(external);
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => s(obj, "/spec/externalName").to_owned(),
        _ => "<unknown>".into(),
    }
}

fn rfc3339(obj: &Value) -> Value {
    json!(s(obj, "/metadata/creationTimestamp"))
}

fn subjects(obj: &Value, kind: &str) -> String {
    arr(obj, "/subjects")
        .iter()
        .filter(|x| s(x, "/kind") == kind)
        .map(|x| match kind {
            "ServiceAccount" => format!("{}/{}", s(x, "/namespace"), s(x, "/name")),
            _ => s(x, "/name").to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn quantity_pairs(obj: &Value, limits: bool) -> String {
    let hard = obj_at(obj, "/status/hard");
    let used = obj_at(obj, "/status/used");
    let mut out = Vec::new();
    for (k, v) in hard.into_iter().flatten() {
        if k.starts_with("limits.") != limits {
            continue;
        }
        let u = used
            .and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .unwrap_or("0");
        out.push(format!("{k}: {u}/{}", v.as_str().unwrap_or("")));
    }
    out.join(", ")
}

fn hpa_targets(obj: &Value) -> String {
    let metrics = arr(obj, "/spec/metrics");
    if metrics.is_empty() {
        return "<none>".into();
    }
    let current = arr(obj, "/status/currentMetrics");
    let mut parts = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        let ty = s(m, "/type");
        let key = match ty {
            "Resource" => "resource",
            "ContainerResource" => "containerResource",
            "Pods" => "pods",
            "Object" => "object",
            "External" => "external",
            _ => {
                parts.push("<unknown type>".to_owned());
                continue;
            }
        };
        let target = m
            .get(key)
            .and_then(|x| x.get("target"))
            .cloned()
            .unwrap_or(Value::Null);
        let cur = current
            .get(i)
            .and_then(|c| c.get(key))
            .and_then(|x| x.get("current"));
        let (want, have) = if let Some(u) = target.get("averageUtilization") {
            (
                format!("{u}%"),
                cur.and_then(|c| c.get("averageUtilization"))
                    .map(|v| format!("{v}%")),
            )
        } else if let Some(v) = target.get("averageValue") {
            (
                v.as_str().unwrap_or("").to_owned(),
                cur.and_then(|c| c.get("averageValue"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        } else {
            (
                target
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                cur.and_then(|c| c.get("value"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        };
        let label = if key == "resource" {
            format!("{}: ", s(m, "/resource/name"))
        } else {
            String::new()
        };
        parts.push(format!(
            "{label}{}/{want}",
            have.unwrap_or_else(|| "<unknown>".into())
        ));
    }
    if parts.len() > 2 {
        let more = parts.len() - 2;
        parts.truncate(2);
        return format!("{} + {more} more...", parts.join(", "));
    }
    parts.join(", ")
}

/// Upstream's cells of one object, or `None` for kinds printed as name and
/// age. `name` and `created` are the usual first and age cells.
pub(super) fn cells(
    def: &ResourceDef,
    obj: &Value,
    name: Value,
    created: Value,
) -> Option<Vec<Value>> {
    let created_s = created;
    Some(match (def.group, def.kind) {
        ("", "Pod") => pod_cells(obj, name, created_s),
        ("", "PodTemplate") => {
            let (names, images) = containers(obj, "/template/spec/containers");
            vec![
                name,
                json!(names),
                json!(images),
                json!(labels(obj_at(obj, "/template/metadata/labels"))),
            ]
        }
        ("", "ReplicationController") | ("apps", "ReplicaSet") => {
            let (names, images) = containers(obj, "/spec/template/spec/containers");
            let sel = if def.kind == "ReplicationController" {
                labels(obj_at(obj, "/spec/selector"))
            } else {
                selector(obj.pointer("/spec/selector"))
            };
            vec![
                name,
                json!(n(obj, "/spec/replicas")),
                json!(n(obj, "/status/replicas")),
                json!(n(obj, "/status/readyReplicas")),
                created_s,
                json!(names),
                json!(images),
                json!(sel),
            ]
        }
        ("apps", "DaemonSet") => {
            let (names, images) = containers(obj, "/spec/template/spec/containers");
            vec![
                name,
                json!(n(obj, "/status/desiredNumberScheduled")),
                json!(n(obj, "/status/currentNumberScheduled")),
                json!(n(obj, "/status/numberReady")),
                json!(n(obj, "/status/updatedNumberScheduled")),
                json!(n(obj, "/status/numberAvailable")),
                json!(labels(obj_at(obj, "/spec/template/spec/nodeSelector"))),
                created_s,
                json!(names),
                json!(images),
                json!(selector(obj.pointer("/spec/selector"))),
            ]
        }
        ("apps", "StatefulSet") => {
            let (names, images) = containers(obj, "/spec/template/spec/containers");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n(obj, "/status/readyReplicas"),
                    n(obj, "/spec/replicas")
                )),
                created_s,
                json!(names),
                json!(images),
            ]
        }
        ("apps", "ControllerRevision") => {
            let owner = arr(obj, "/metadata/ownerReferences")
                .iter()
                .find(|o| o.get("controller") == Some(&json!(true)));
            let controller = match owner {
                Some(o) => {
                    let api = s(o, "/apiVersion");
                    let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
                    let kind = s(o, "/kind").to_lowercase();
                    let kind = if group.is_empty() {
                        kind
                    } else {
                        format!("{kind}.{group}")
                    };
                    format!("{kind}/{}", s(o, "/name"))
                }
                None => "<none>".into(),
            };
            vec![
                name,
                json!(controller),
                json!(n(obj, "/revision")),
                created_s,
            ]
        }
        ("batch", "Job") => job_cells(obj, name, created_s),
        ("batch", "CronJob") => {
            let (names, images) =
                containers(obj, "/spec/jobTemplate/spec/template/spec/containers");
            let last = obj
                .pointer("/status/lastScheduleTime")
                .and_then(Value::as_str)
                .map(|t| age(Some(t)))
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                json!(s(obj, "/spec/schedule")),
                json!(or_none(s(obj, "/spec/timeZone").into())),
                // Upstream prints the pointer as text: True, False or <unset>.
                json!(
                    match obj.pointer("/spec/suspend").and_then(Value::as_bool) {
                        Some(true) => "True",
                        Some(false) => "False",
                        None => "<unset>",
                    }
                ),
                json!(len(obj, "/status/active")),
                json!(last),
                created_s,
                json!(names),
                json!(images),
                json!(selector(obj.pointer("/spec/jobTemplate/spec/selector"))),
            ]
        }
        ("", "Node") => node_cells(obj, name, created_s),
        ("", "Event") | ("events.k8s.io", "Event") => event_cells(obj),
        ("", "Endpoints") => {
            let mut list = Vec::new();
            let mut count = 0;
            for subset in arr(obj, "/subsets") {
                for port in arr(subset, "/ports") {
                    for addr in arr(subset, "/addresses") {
                        if list.len() < 3 {
                            let ip = s(addr, "/ip");
                            let p = n(port, "/port");
                            list.push(if ip.contains(':') {
                                format!("[{ip}]:{p}")
                            } else {
                                format!("{ip}:{p}")
                            });
                        }
                        count += 1;
                    }
                }
            }
            let text = if arr(obj, "/subsets").is_empty() {
                "<none>".to_owned()
            } else if count > 3 {
                format!("{} + {} more...", list.join(","), count - 3)
            } else {
                list.join(",")
            };
            vec![name, json!(text), created_s]
        }
        ("", "PersistentVolume") => {
            let claim = match obj.pointer("/spec/claimRef") {
                Some(c) => format!("{}/{}", s(c, "/namespace"), s(c, "/name")),
                None => String::new(),
            };
            vec![
                name,
                json!(s(obj, "/spec/capacity/storage")),
                json!(access_modes(arr(obj, "/spec/accessModes"))),
                json!(s(obj, "/spec/persistentVolumeReclaimPolicy")),
                json!(s(obj, "/status/phase")),
                json!(claim),
                json!(s(obj, "/spec/storageClassName")),
                json!(or_unset(s(obj, "/spec/volumeAttributesClassName"))),
                json!(s(obj, "/status/reason")),
                created_s,
                json!(volume_mode(obj)),
            ]
        }
        ("", "PersistentVolumeClaim") => {
            let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating"
            } else {
                s(obj, "/status/phase")
            };
            let bound = !s(obj, "/spec/volumeName").is_empty();
            let (capacity, modes) = if bound {
                (
                    s(obj, "/status/capacity/storage").to_owned(),
                    access_modes(arr(obj, "/status/accessModes")),
                )
            } else {
                (String::new(), String::new())
            };
            let class = obj
                .pointer("/spec/storageClassName")
                .and_then(Value::as_str)
                .unwrap_or_else(|| {
                    s(
                        obj,
                        "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
                    )
                });
            vec![
                name,
                json!(phase),
                json!(s(obj, "/spec/volumeName")),
                json!(capacity),
                json!(modes),
                json!(class),
                json!(or_unset(s(obj, "/spec/volumeAttributesClassName"))),
                created_s,
                json!(volume_mode(obj)),
            ]
        }
        ("", "ResourceQuota") => vec![
            name,
            json!(quantity_pairs(obj, false)),
            json!(quantity_pairs(obj, true)),
            created_s,
        ],
        ("", "LimitRange") => vec![name, rfc3339(obj)],
        ("networking.k8s.io", "Ingress") => {
            let rules = arr(obj, "/spec/rules");
            let hosts: Vec<&str> = rules
                .iter()
                .map(|r| s(r, "/host"))
                .filter(|h| !h.is_empty())
                .take(3)
                .collect();
            let hosts = if hosts.is_empty() {
                "*".to_owned()
            } else if rules.len() > 3 {
                format!("{} + {} more...", hosts.join(","), rules.len() - 3)
            } else {
                hosts.join(",")
            };
            let ports = if arr(obj, "/spec/tls").is_empty() {
                "80"
            } else {
                "80, 443"
            };
            vec![
                name,
                json!(or_none(s(obj, "/spec/ingressClassName").into())),
                json!(hosts),
                json!(load_balancer(obj, "/status/loadBalancer/ingress")),
                json!(ports),
                created_s,
            ]
        }
        ("networking.k8s.io", "IngressClass") => {
            let params = match obj.pointer("/spec/parameters") {
                Some(p) => {
                    let group = s(p, "/apiGroup");
                    let kind = if group.is_empty() {
                        s(p, "/kind").to_owned()
                    } else {
                        format!("{}.{group}", s(p, "/kind"))
                    };
                    format!("{kind}/{}", s(p, "/name"))
                }
                None => "<none>".into(),
            };
            vec![
                name,
                json!(s(obj, "/spec/controller")),
                json!(params),
                created_s,
            ]
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            vec![
                name,
                json!(selector_or_everything(obj.pointer("/spec/podSelector"))),
                created_s,
            ]
        }
        ("networking.k8s.io", "ServiceCIDR") => {
            let cidrs: Vec<&str> = arr(obj, "/spec/cidrs")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            vec![name, json!(cidrs.join(",")), created_s]
        }
        ("networking.k8s.io", "IPAddress") => {
            let parent = match obj.pointer("/spec/parentRef") {
                Some(p) => {
                    let group = s(p, "/group");
                    let res = if group.is_empty() {
                        s(p, "/resource").to_owned()
                    } else {
                        format!("{}.{group}", s(p, "/resource"))
                    };
                    format!("{res}/{}/{}", s(p, "/namespace"), s(p, "/name"))
                }
                None => String::new(),
            };
            vec![name, json!(parent)]
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            let ports: Vec<String> = arr(obj, "/ports")
                .iter()
                .map(|p| {
                    p.get("port")
                        .and_then(Value::as_i64)
                        .map_or("<unset>".to_owned(), |p| p.to_string())
                })
                .collect();
            let ports = if ports.is_empty() {
                "<unset>".to_owned()
            } else {
                ports.join(",")
            };
            let mut addrs = Vec::new();
            let mut count = 0;
            for e in arr(obj, "/endpoints") {
                for a in arr(e, "/addresses").iter().filter_map(Value::as_str) {
                    if addrs.len() < 3 {
                        addrs.push(a.to_owned());
                    }
                    count += 1;
                }
            }
            let endpoints = if count == 0 {
                "<unset>".to_owned()
            } else if count > 3 {
                format!("{} + {} more...", addrs.join(","), count - 3)
            } else {
                addrs.join(",")
            };
            vec![
                name,
                json!(s(obj, "/addressType")),
                json!(ports),
                json!(endpoints),
                created_s,
            ]
        }
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => vec![name, rfc3339(obj)],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            name,
            json!(format!(
                "{}/{}",
                s(obj, "/roleRef/kind"),
                s(obj, "/roleRef/name")
            )),
            created_s,
            json!(subjects(obj, "User")),
            json!(subjects(obj, "Group")),
            json!(subjects(obj, "ServiceAccount")),
        ],
        ("storage.k8s.io", "StorageClass") => {
            let default = [
                "storageclass.kubernetes.io~1is-default-class",
                "storageclass.beta.kubernetes.io~1is-default-class",
            ]
            .iter()
            .any(|a| s(obj, &format!("/metadata/annotations/{a}")) == "true");
            let shown = if default {
                json!(format!("{} (default)", s(obj, "/metadata/name")))
            } else {
                name
            };
            let reclaim = match s(obj, "/reclaimPolicy") {
                "" => "Delete",
                r => r,
            };
            let binding = match s(obj, "/volumeBindingMode") {
                "" => "Immediate",
                m => m,
            };
            vec![
                shown,
                json!(s(obj, "/provisioner")),
                json!(reclaim),
                json!(binding),
                json!(
                    obj.get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
                created_s,
            ]
        }
        ("storage.k8s.io", "VolumeAttributesClass") => {
            vec![name, json!(s(obj, "/driverName")), created_s]
        }
        ("storage.k8s.io", "CSIDriver") => {
            let b = |ptr: &str| obj.pointer(ptr).and_then(Value::as_bool).unwrap_or(false);
            let tokens: Vec<&str> = arr(obj, "/spec/tokenRequests")
                .iter()
                .map(|t| s(t, "/audience"))
                .collect();
            let tokens = if tokens.is_empty() {
                "<unset>".to_owned()
            } else {
                tokens.join(",")
            };
            let modes: Vec<&str> = arr(obj, "/spec/volumeLifecycleModes")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            vec![
                name,
                json!(
                    obj.pointer("/spec/attachRequired")
                        .and_then(Value::as_bool)
                        .unwrap_or(true)
                ),
                json!(b("/spec/podInfoOnMount")),
                json!(b("/spec/storageCapacity")),
                json!(tokens),
                json!(b("/spec/requiresRepublish")),
                json!(or_none(modes.join(","))),
                created_s,
            ]
        }
        ("storage.k8s.io", "CSINode") => vec![name, json!(len(obj, "/spec/drivers")), created_s],
        ("storage.k8s.io", "CSIStorageCapacity") => {
            let cap = obj
                .get("capacity")
                .and_then(Value::as_str)
                .unwrap_or("<unset>");
            vec![name, json!(s(obj, "/storageClassName")), json!(cap)]
        }
        ("storage.k8s.io", "VolumeAttachment") => vec![
            name,
            json!(s(obj, "/spec/attacher")),
            json!(s(obj, "/spec/source/persistentVolumeName")),
            json!(s(obj, "/spec/nodeName")),
            json!(
                obj.pointer("/status/attached")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            created_s,
        ],
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => {
            vec![name, json!(len(obj, "/webhooks")), created_s]
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            let param = match obj.pointer("/spec/paramKind") {
                Some(p) => format!("{}/{}", s(p, "/apiVersion"), s(p, "/kind")),
                None => "<unset>".into(),
            };
            vec![
                name,
                json!(len(obj, "/spec/validations")),
                json!(param),
                created_s,
            ]
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            let param = match obj.pointer("/spec/paramRef") {
                Some(p) => {
                    let ns = s(p, "/namespace");
                    let name = s(p, "/name");
                    let target = if name.is_empty() { "*" } else { name };
                    if ns.is_empty() {
                        target.to_owned()
                    } else {
                        format!("{ns}/{target}")
                    }
                }
                None => "<unset>".into(),
            };
            vec![
                name,
                json!(s(obj, "/spec/policyName")),
                json!(param),
                created_s,
            ]
        }
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            let mut conds: Vec<&str> = arr(obj, "/status/conditions")
                .iter()
                .filter(|c| s(c, "/status") != "False")
                .map(|c| s(c, "/type"))
                .collect();
            let issued = obj
                .pointer("/status/certificate")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.is_empty());
            if issued {
                conds.push("Issued");
            }
            let condition = if conds.is_empty() {
                "Pending".to_owned()
            } else {
                conds.join(",")
            };
            let duration = obj
                .pointer("/spec/expirationSeconds")
                .and_then(Value::as_i64)
                .map(human_duration)
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                created_s,
                json!(s(obj, "/spec/signerName")),
                json!(s(obj, "/spec/username")),
                json!(duration),
                json!(condition),
            ]
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            let min = obj
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .map_or("<unset>".into(), |m| m.to_string());
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    s(obj, "/spec/scaleTargetRef/kind"),
                    s(obj, "/spec/scaleTargetRef/name")
                )),
                json!(hpa_targets(obj)),
                json!(min),
                json!(n(obj, "/spec/maxReplicas")),
                json!(n(obj, "/status/currentReplicas")),
                created_s,
            ]
        }
        ("policy", "PodDisruptionBudget") => vec![
            name,
            json!(int_or_string(obj.pointer("/spec/minAvailable"))),
            json!(int_or_string(obj.pointer("/spec/maxUnavailable"))),
            json!(n(obj, "/status/disruptionsAllowed")),
            created_s,
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            name,
            json!(n(obj, "/value")),
            json!(
                obj.get("globalDefault")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            created_s,
            json!(s(obj, "/preemptionPolicy")),
        ],
        ("node.k8s.io", "RuntimeClass") => vec![name, json!(s(obj, "/handler")), created_s],
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => {
            let missing = arr(obj, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Dangling")
                .map(|c| s(c, "/status"))
                .unwrap_or("?");
            let method = match s(obj, "/spec/distinguisherMethod/type") {
                "" => "*",
                m => m,
            };
            vec![
                name,
                json!(s(obj, "/spec/priorityLevelConfiguration/name")),
                json!(n(obj, "/spec/matchingPrecedence").to_string()),
                json!(method),
                created_s,
                json!(missing),
            ]
        }
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => {
            let limited = s(obj, "/spec/type") == "Limited";
            let (shares, queues, hand, limit) = if limited {
                let queuing = obj.pointer("/spec/limited/limitResponse/queuing");
                let q = |f: &str| {
                    queuing
                        .and_then(|x| x.get(f))
                        .and_then(Value::as_i64)
                        .map_or("<none>".into(), |v| v.to_string())
                };
                (
                    n(obj, "/spec/limited/nominalConcurrencyShares").to_string(),
                    q("queues"),
                    q("handSize"),
                    q("queueLengthLimit"),
                )
            } else {
                let none = || "<none>".to_owned();
                (none(), none(), none(), none())
            };
            vec![
                name,
                json!(s(obj, "/spec/type")),
                json!(shares),
                json!(queues),
                json!(hand),
                json!(limit),
                created_s,
            ]
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => vec![name, rfc3339(obj)],
        ("apiregistration.k8s.io", "APIService") => {
            let service = match obj.pointer("/spec/service") {
                Some(svc) => format!("{}/{}", s(svc, "/namespace"), s(svc, "/name")),
                None => "Local".into(),
            };
            let available = match arr(obj, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Available")
            {
                Some(c) if s(c, "/status") == "True" => "True".to_owned(),
                Some(c) => format!("{} ({})", s(c, "/status"), s(c, "/reason")),
                None => "Unknown".into(),
            };
            vec![name, json!(service), json!(available), created_s]
        }
        ("resource.k8s.io", "ResourceClaim") => {
            let mut state = Vec::new();
            if obj.pointer("/metadata/deletionTimestamp").is_some() {
                state.push("deleted");
            }
            if obj.pointer("/status/allocation").is_some() {
                state.push("allocated");
            } else {
                state.push("pending");
            }
            if !arr(obj, "/status/reservedFor").is_empty() {
                state.push("reserved");
            }
            vec![name, json!(state.join(",")), created_s]
        }
        ("resource.k8s.io", "ResourceSlice") => vec![
            name,
            json!(s(obj, "/spec/nodeName")),
            json!(s(obj, "/spec/driver")),
            json!(s(obj, "/spec/pool/name")),
            created_s,
        ],
        _ => return None,
    })
}

fn or_unset(v: &str) -> String {
    if v.is_empty() {
        "<unset>".into()
    } else {
        v.into()
    }
}

fn volume_mode(obj: &Value) -> String {
    match s(obj, "/spec/volumeMode") {
        "" => "<unset>".into(),
        m => m.into(),
    }
}

/// A NetworkPolicy's pod selector: an empty one selects every pod.
fn selector_or_everything(sel: Option<&Value>) -> String {
    selector(Some(sel.unwrap_or(&json!({}))))
}

#[cfg(test)]
mod tests;
