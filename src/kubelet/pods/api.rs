//! `PodApi` over kube-rs: status merge patches, events, the final delete.

use k8s_openapi::api::core::v1::{Event, Pod, PodStatus, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};

use super::backend::{BackendError, BackendResult, BoxFuture, PodApi};

pub(crate) struct KubePodApi {
    client: kube::Client,
}

impl KubePodApi {
    pub(crate) fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

fn err(what: &str, e: kube::Error) -> BackendError {
    BackendError::new(format!("{what}: {e}"))
}

impl PodApi for KubePodApi {
    fn write_status<'a>(
        &'a self,
        pod: &'a Pod,
        status: &'a PodStatus,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            let name = pod.metadata.name.as_deref().unwrap_or("");
            let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            // The UID guards against writing to a recreated pod of the same name.
            let body = serde_json::json!({
                "metadata": { "uid": pod.metadata.uid },
                "status": status,
            });
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
                .await
                .map(drop)
                .map_err(|e| err(&format!("patch status of pod {ns}/{name}"), e))
        })
    }

    fn write_event<'a>(
        &'a self,
        event: &'a Event,
        repeat: bool,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let ns = event.metadata.namespace.as_deref().unwrap_or("default");
            let api: Api<Event> = Api::namespaced(self.client.clone(), ns);
            let name = event.metadata.name.as_deref().unwrap_or("");
            if repeat {
                let body = serde_json::json!({
                    "count": event.count,
                    "lastTimestamp": event.last_timestamp,
                });
                match api
                    .patch(name, &PatchParams::default(), &Patch::Merge(&body))
                    .await
                {
                    Ok(_) => return Ok(()),
                    // Expired or never stored: create it afresh.
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(err(&format!("update event {ns}/{name}"), e)),
                }
            }
            api.create(&PostParams::default(), event)
                .await
                .map(drop)
                .map_err(|e| err(&format!("create event {ns}/{name}"), e))
        })
    }

    fn delete_pod<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        uid: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid.to_owned()),
                    resource_version: None,
                }),
                ..Default::default()
            };
            match api.delete(name, &params).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
                Err(e) => Err(err(&format!("delete pod {namespace}/{name}"), e)),
            }
        })
    }

    fn get_secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<Option<Secret>>> {
        Box::pin(async move {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
            api.get_opt(name)
                .await
                .map_err(|e| err(&format!("get secret {namespace}/{name}"), e))
        })
    }
}
