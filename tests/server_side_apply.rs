//! End-to-end: server-side apply with kubectl 1.27 and 1.33 and kube-rs,
//! and field ownership in `metadata.managedFields`.

mod common;

use common::{KUBECTL_VERSIONS, Server, json};

fn manifest(labels: bool, replicas: Option<u32>) -> String {
    let labels = if labels { "  labels: {app: web}\n" } else { "" };
    let replicas = replicas
        .map(|r| format!("  replicas: {r}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n{labels}spec:\n{replicas}  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.25\n        ports:\n        - containerPort: 80\n"
    )
}

fn apply(s: &Server, v: &str, yaml: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["apply", "--server-side", "-f", "-"];
    args.extend_from_slice(extra);
    s.kubectl_stdin(v, &args, yaml)
}

fn deployment(s: &Server, v: &str) -> serde_json::Value {
    json(&s.ok(
        v,
        &[
            "get",
            "deploy",
            "web",
            "-o",
            "json",
            "--show-managed-fields",
        ],
    ))
}

fn entry<'a>(obj: &'a serde_json::Value, manager: &str) -> &'a serde_json::Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["manager"] == manager)
        .unwrap_or_else(|| panic!("no entry of {manager}: {obj}"))
}

#[test]
fn kubectl_server_side_apply_tracks_and_resolves_ownership() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        let out = apply(&s, v, &manifest(true, Some(2)), &[]);
        assert!(out.status.success(), "{v}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "deployment.apps/web serverside-applied"
        );
        let d = deployment(&s, v);
        let e = entry(&d, "kubectl");
        assert_eq!(e["operation"], "Apply", "{v}");
        assert_eq!(e["apiVersion"], "apps/v1");
        assert_eq!(e["fieldsType"], "FieldsV1");
        // What upstream records for this manifest: the applied fields, the
        // container keyed by name, the port by containerPort and the
        // defaulted protocol, the atomic selector as one field.
        assert_eq!(
            e["fieldsV1"],
            serde_json::json!({
                "f:metadata": { "f:labels": { "f:app": {} } },
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": { "f:labels": { "f:app": {} } },
                        "f:spec": { "f:containers": { "k:{\"name\":\"nginx\"}": {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": { "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {},
                                "f:containerPort": {}
                            }}
                        }}}
                    }
                }
            }),
            "{v}"
        );
        // Defaults are there, owned by nobody.
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        let rv = d["metadata"]["resourceVersion"].clone();

        // The same manifest again changes nothing.
        assert!(apply(&s, v, &manifest(true, Some(2)), &[]).status.success());
        assert_eq!(deployment(&s, v)["metadata"]["resourceVersion"], rv, "{v}");

        // A field left out of the manifest is removed.
        assert!(
            apply(&s, v, &manifest(false, Some(2)), &[])
                .status
                .success()
        );
        let d = deployment(&s, v);
        assert!(d["metadata"].get("labels").is_none(), "{v}: {d}");

        // Another manager takes replicas: the apply conflicts, with
        // upstream's wording, until it is forced.
        s.ok(v, &["scale", "deploy", "web", "--replicas=3"]);
        let out = apply(&s, v, &manifest(false, Some(2)), &[]);
        assert!(!out.status.success(), "{v}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Apply failed with 1 conflict: conflict with \"kubectl.")
                && err.contains("with subresource \"scale\" using apps/v1: .spec.replicas"),
            "{v}: {err}"
        );
        assert_eq!(deployment(&s, v)["spec"]["replicas"], 3);
        let out = apply(&s, v, &manifest(false, Some(2)), &["--force-conflicts"]);
        assert!(out.status.success(), "{v}: {out:?}");
        let d = deployment(&s, v);
        assert_eq!(d["spec"]["replicas"], 2);
        // The scaler lost its only field, so its entry is gone.
        let managers: Vec<&str> = d["metadata"]["managedFields"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(managers, vec!["kubectl"], "{v}");

        // A client-side edit records an Update entry under kubectl's
        // manager for that command.
        s.ok(v, &["label", "deploy", "web", "tier=front"]);
        let d = deployment(&s, v);
        let e = entry(&d, "kubectl-label");
        assert_eq!(e["operation"], "Update");
        assert_eq!(
            e["fieldsV1"],
            serde_json::json!({ "f:metadata": { "f:labels": { ".": {}, "f:tier": {} } } })
        );
    }
}

#[tokio::test]
async fn apply_without_field_manager_is_refused() {
    let s = Server::start();
    {
        use k8s_openapi::api::core::v1::ConfigMap;
        use kube::api::{Api, Patch, PatchParams};
        let api: Api<ConfigMap> = Api::namespaced(common::kube_client(&s).await, "default");
        let cm = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "cfg" }, "data": { "a": "1" }
        });
        let err = api
            .patch("cfg", &PatchParams::default(), &Patch::Apply(&cm))
            .await
            .expect_err("no field manager");
        match err {
            kube::Error::Api(e) => {
                assert_eq!(e.code, 422);
                assert_eq!(
                    e.message,
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn kube_rs_apply_creates_conflicts_and_forces() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams};
    let s = Server::start();
    let api: Api<ConfigMap> = Api::namespaced(common::kube_client(&s).await, "default");
    let cm = |v: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "cfg" }, "data": { "a": v }
        })
    };
    let created = api
        .patch("cfg", &PatchParams::apply("first"), &Patch::Apply(&cm("1")))
        .await
        .expect("apply creates");
    let mf = created.metadata.managed_fields.expect("managedFields");
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("first"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    assert_eq!(
        mf[0].fields_v1.as_ref().map(|f| f.0.clone()),
        Some(serde_json::json!({ "f:data": { "f:a": {} } }))
    );
    let err = api
        .patch(
            "cfg",
            &PatchParams::apply("second"),
            &Patch::Apply(&cm("2")),
        )
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(e) => {
            assert_eq!(e.code, 409);
            assert_eq!(e.reason, "Conflict");
            assert_eq!(
                e.message,
                "Apply failed with 1 conflict: conflict with \"first\": .data.a"
            );
        }
        other => panic!("{other:?}"),
    }
    let forced = api
        .patch(
            "cfg",
            &PatchParams::apply("second").force(),
            &Patch::Apply(&cm("2")),
        )
        .await
        .expect("forced");
    assert_eq!(forced.data.expect("data")["a"], "2");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .expect("managedFields")
        .into_iter()
        .filter_map(|e| e.manager)
        .collect();
    assert_eq!(managers, vec!["second".to_string()]);

    // A resourceVersion in the configuration is a precondition.
    let mut stale = cm("3");
    stale["metadata"]["resourceVersion"] = serde_json::json!("1");
    match api
        .patch("cfg", &PatchParams::apply("second"), &Patch::Apply(&stale))
        .await
    {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 409);
            assert_eq!(
                e.message,
                "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified; please apply your changes to the latest version and try again"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn kube_rs_apply_to_status_dry_run_and_missing_namespace() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams};
    let s = Server::start();
    let client = common::kube_client(&s).await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let spec = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": [{ "name": "nginx", "image": "nginx:1.25" }] }
            }
        }
    });
    deploys
        .patch("web", &PatchParams::apply("deployer"), &Patch::Apply(&spec))
        .await
        .expect("apply deployment");

    // Apply to /status owns status fields, recorded with the subresource.
    let status = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "web" },
        "status": { "observedGeneration": 1, "replicas": 1 }
    });
    let d = deploys
        .patch_status(
            "web",
            &PatchParams::apply("controller"),
            &Patch::Apply(&status),
        )
        .await
        .expect("apply status");
    assert_eq!(d.status.as_ref().and_then(|s| s.replicas), Some(1));
    let mf = d.metadata.managed_fields.expect("managedFields");
    let ctrl = mf
        .iter()
        .find(|e| e.manager.as_deref() == Some("controller"))
        .expect("controller entry");
    assert_eq!(ctrl.operation.as_deref(), Some("Apply"));
    assert_eq!(ctrl.subresource.as_deref(), Some("status"));
    assert_eq!(
        ctrl.fields_v1.as_ref().map(|f| f.0.clone()),
        Some(serde_json::json!({ "f:status": { "f:observedGeneration": {}, "f:replicas": {} } }))
    );
    // The spec applier owns no status.
    let deployer = mf
        .iter()
        .find(|e| e.manager.as_deref() == Some("deployer"))
        .expect("deployer entry");
    assert!(
        deployer
            .fields_v1
            .as_ref()
            .expect("fields")
            .0
            .get("f:status")
            .is_none()
    );

    // A dry run answers with the object and stores nothing.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "dry" }, "data": { "a": "1" }
    });
    let out = cms
        .patch(
            "dry",
            &PatchParams::apply("x").dry_run(),
            &Patch::Apply(&cm),
        )
        .await
        .expect("dry run");
    assert_eq!(out.data.expect("data")["a"], "1");
    assert!(cms.get_opt("dry").await.expect("get").is_none());

    // Creating by apply needs the namespace, as create does.
    let missing: Api<ConfigMap> = Api::namespaced(client, "nope");
    match missing
        .patch("dry", &PatchParams::apply("x"), &Patch::Apply(&cm))
        .await
    {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 404);
            assert_eq!(e.message, "namespaces \"nope\" not found");
        }
        other => panic!("{other:?}"),
    }

    // The wrong apiVersion is refused with upstream's message.
    let wrong = serde_json::json!({
        "apiVersion": "v2", "kind": "ConfigMap", "metadata": { "name": "dry" }
    });
    match cms
        .patch("dry", &PatchParams::apply("x"), &Patch::Apply(&wrong))
        .await
    {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 400);
            assert_eq!(
                e.message,
                "Incorrect version specified in apply patch. Specified patch version: v2, expected: v1"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn documented_examples_of_managed_fields() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        // The ConfigMap of the server-side apply documentation and the
        // managedFields it shows for it.
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: test-cm\n  namespace: default\n  labels:\n    test-label: test\ndata:\n  key: some value\n";
        let out = s.kubectl_stdin(v, &["apply", "--server-side", "-f", "-"], cm);
        assert!(out.status.success(), "{v}: {out:?}");
        let got = json(&s.ok(
            v,
            &[
                "get",
                "cm",
                "test-cm",
                "-o",
                "json",
                "--show-managed-fields",
            ],
        ));
        let e = entry(&got, "kubectl");
        assert_eq!(e["operation"], "Apply");
        assert_eq!(e["apiVersion"], "v1");
        assert_eq!(
            e["fieldsV1"],
            serde_json::json!({
                "f:metadata": { "f:labels": { "f:test-label": {} } },
                "f:data": { "f:key": {} }
            }),
            "{v}"
        );

        // An imperative create records everything it set, defaults
        // included, as an Update; maps and list items it added carry ".".
        s.ok(v, &["create", "deployment", "nginx", "--image=nginx"]);
        let d = json(&s.ok(
            v,
            &[
                "get",
                "deploy",
                "nginx",
                "-o",
                "json",
                "--show-managed-fields",
            ],
        ));
        let e = entry(&d, "kubectl-create");
        assert_eq!(e["operation"], "Update");
        assert_eq!(
            e["fieldsV1"],
            serde_json::json!({
                "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
                "f:spec": {
                    "f:progressDeadlineSeconds": {},
                    "f:replicas": {},
                    "f:revisionHistoryLimit": {},
                    "f:selector": {},
                    "f:strategy": {
                        "f:rollingUpdate": { ".": {}, "f:maxSurge": {}, "f:maxUnavailable": {} },
                        "f:type": {}
                    },
                    "f:template": {
                        "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
                        "f:spec": {
                            "f:containers": { "k:{\"name\":\"nginx\"}": {
                                ".": {},
                                "f:image": {},
                                "f:imagePullPolicy": {},
                                "f:name": {},
                                "f:resources": {},
                                "f:terminationMessagePath": {},
                                "f:terminationMessagePolicy": {}
                            }},
                            "f:dnsPolicy": {},
                            "f:restartPolicy": {},
                            "f:schedulerName": {},
                            "f:securityContext": {},
                            "f:terminationGracePeriodSeconds": {}
                        }
                    }
                }
            }),
            "{v}"
        );
    }
}

#[test]
fn upgrading_from_client_side_apply_takes_over_without_conflicts() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        let out = s.kubectl_stdin(v, &["apply", "-f", "-"], &manifest(true, Some(2)));
        assert!(out.status.success(), "{v}: {out:?}");
        let d = deployment(&s, v);
        assert_eq!(
            entry(&d, "kubectl-client-side-apply")["operation"],
            "Update"
        );
        // The documented upgrade path: the same command with
        // --server-side takes the fields over, even with a changed value,
        // because the live values are still what client-side apply set.
        let out = apply(&s, v, &manifest(true, Some(3)), &[]);
        assert!(out.status.success(), "{v}: {out:?}");
        let d = deployment(&s, v);
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(entry(&d, "kubectl")["operation"], "Apply");
        // The client-side annotation follows what was applied.
        let last: serde_json::Value = serde_json::from_str(
            d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
                .as_str()
                .expect("annotation"),
        )
        .expect("json");
        assert_eq!(last["spec"]["replicas"], 3, "{v}");
        // A field changed by someone else since is still a conflict.
        s.ok(v, &["scale", "deploy", "web", "--replicas=5"]);
        let out = apply(&s, v, &manifest(true, Some(4)), &[]);
        assert!(!out.status.success(), "{v}");
    }
}
