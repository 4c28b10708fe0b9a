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
        namespaced: TypeId::of::<T::Scope>() == TypeId::of::<k8s_openapi::NamespaceResourceScope>(),
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
        decoded.value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["size"]["default"],
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
