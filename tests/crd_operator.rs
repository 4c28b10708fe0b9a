//! A minimal operator written against the kube-rs client, run unchanged
//! against sovedge: it installs its CRD, watches its custom objects, keeps
//! one ConfigMap per object (owned by it) and reports in the object's
//! status. Deleting an object lets the ConfigMap be garbage collected.

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    PostParams, WatchEvent, WatchParams,
};
use kube::core::ObjectMeta;
use serde_json::json;

fn crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "greetings.demo.sovedge.io" },
        "spec": {
            "group": "demo.sovedge.io",
            "scope": "Namespaced",
            "names": { "plural": "greetings", "singular": "greeting", "kind": "Greeting" },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": { "status": {} },
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": { "type": "object", "required": ["message"], "properties": {
                            "message": { "type": "string" },
                            "times": { "type": "integer", "default": 1 }
                        }},
                        "status": { "type": "object", "properties": {
                            "configMap": { "type": "string" },
                            "observedGeneration": { "type": "integer" }
                        }}
                    }
                }}
            }]
        }
    }))
    .unwrap()
}

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("demo.sovedge.io", "v1", "Greeting"),
        "greetings",
    )
}

/// Brings the world in line with one Greeting: its ConfigMap, then its status.
async fn reconcile(client: &kube::Client, g: &DynamicObject) -> kube::Result<()> {
    let ns = g.metadata.namespace.as_deref().unwrap_or("default");
    let name = g.metadata.name.clone().unwrap_or_default();
    if g.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let message = g.data["spec"]["message"].as_str().unwrap_or("");
    let times = g.data["spec"]["times"].as_i64().unwrap_or(1);
    let cm_name = format!("{name}-greeting");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(cm_name.clone()),
            owner_references: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    api_version: "demo.sovedge.io/v1".into(),
                    kind: "Greeting".into(),
                    name: name.clone(),
                    uid: g.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                },
            ]),
            ..Default::default()
        },
        data: Some(
            [("greeting".to_string(), message.repeat(times as usize))]
                .into_iter()
                .collect(),
        ),
        ..Default::default()
    };
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    match cms.create(&PostParams::default(), &cm).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {
            cms.patch(&cm_name, &PatchParams::default(), &Patch::Merge(&cm))
                .await?;
        }
        Err(e) => return Err(e),
    }
    let greetings: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource());
    let status = json!({ "status": {
        "configMap": cm_name,
        "observedGeneration": g.metadata.generation,
    }});
    greetings
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

/// The controller loop: watch, reconcile each change, rewatch from the last
/// seen revision when the server ends a watch.
async fn run_operator(client: kube::Client) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource());
    let mut rv = "0".to_string();
    loop {
        let Ok(stream) = api.watch(&WatchParams::default().timeout(10), &rv).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(WatchEvent::Added(g)) | Ok(WatchEvent::Modified(g)) => {
                    rv = g.metadata.resource_version.clone().unwrap_or(rv);
                    // Status writes come back as events; only spec changes
                    // (a new generation) need work.
                    let observed = g.data["status"]["observedGeneration"].as_i64();
                    if observed != g.metadata.generation {
                        reconcile(&client, &g).await.expect("reconcile");
                    }
                }
                Ok(WatchEvent::Deleted(g)) => {
                    rv = g.metadata.resource_version.clone().unwrap_or(rv);
                }
                Ok(WatchEvent::Bookmark(b)) => rv = b.metadata.resource_version,
                Ok(WatchEvent::Error(_)) | Err(_) => {
                    rv = "0".into();
                    break;
                }
            }
        }
    }
}

async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn kube_rs_operator_reconciles_custom_objects() {
    let s = common::Server::start();
    let client = common::kube_client(&s).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let created = crds.create(&PostParams::default(), &crd()).await.unwrap();
    let established = created
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established, "the CRD is established when created");

    let operator = tokio::spawn(run_operator(client.clone()));
    let greetings: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &resource());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, message) in [("hello", "hi "), ("bye", "ciao ")] {
        let mut g = DynamicObject::new(name, &resource());
        g.data = json!({ "spec": { "message": message } });
        greetings.create(&PostParams::default(), &g).await.unwrap();
    }

    let hello = eventually("the status of hello", async || {
        let g = greetings.get("hello").await.ok()?;
        (g.data["status"]["observedGeneration"] == json!(1)).then_some(g)
    })
    .await;
    assert_eq!(hello.data["status"]["configMap"], "hello-greeting");
    assert_eq!(hello.data["spec"]["times"], 1, "schema default applied");
    let cm = cms.get("hello-greeting").await.unwrap();
    assert_eq!(cm.data.unwrap()["greeting"], "hi ");
    let owner = &cm.metadata.owner_references.unwrap()[0];
    assert_eq!(owner.kind, "Greeting");
    assert_eq!(owner.uid, hello.metadata.uid.clone().unwrap());
    eventually("the bye ConfigMap", async || {
        cms.get("bye-greeting").await.ok()
    })
    .await;

    // A spec change is a new generation; the operator follows it.
    greetings
        .patch(
            "hello",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "times": 3 } })),
        )
        .await
        .unwrap();
    eventually("the updated ConfigMap", async || {
        let cm = cms.get("hello-greeting").await.ok()?;
        (cm.data?.get("greeting")? == "hi hi hi ").then_some(())
    })
    .await;
    let hello = greetings.get("hello").await.unwrap();
    assert_eq!(hello.metadata.generation, Some(2));
    assert_eq!(hello.data["status"]["observedGeneration"], json!(2));

    // Deleting the owner collects the ConfigMap it owns.
    greetings
        .delete("bye", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the bye ConfigMap to be collected", async || {
        cms.get("bye-greeting").await.is_err().then_some(())
    })
    .await;
    assert!(cms.get("hello-greeting").await.is_ok());
    operator.abort();
}
