//! Columns and cells of `kubectl get` for each built-in kind, as upstream's
//! printers define them; kinds upstream serves with its default converter
//! (roles, limit ranges, CRDs) print name and RFC 3339 creation time. The server fills every column, wide ones
//! (priority 1) included; kubectl shows those with `-o wide`.

use super::{AGE, Column, NAME, col};
use crate::registry::resources::ResourceDef;

mod cells;
mod format;

pub(super) use cells::cells;
pub(super) use format::{containers, ready_replicas, service_external_ip};

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

#[cfg(test)]
mod tests;
