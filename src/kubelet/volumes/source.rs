//! Where volume and env contents come from: the API, behind a trait so the
//! logic is tested with a fake.

use std::future::Future;
use std::pin::Pin;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::api::{Api, PostParams};

use super::{Error, Result};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A service account token requested for a pod.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TokenSpec {
    pub(crate) service_account: String,
    /// Empty: the API server's default audience.
    pub(crate) audiences: Vec<String>,
    pub(crate) expiration_seconds: i64,
    pub(crate) pod_name: String,
    pub(crate) pod_uid: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IssuedToken {
    pub(crate) token: String,
    /// Unix seconds.
    pub(crate) expires_at: i64,
}

/// Read access to what pods reference. `Ok(None)` means not found.
pub(crate) trait VolumeSource: Send + Sync {
    fn config_map<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ConfigMap>>>;
    fn secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Secret>>>;
    fn create_token<'a>(
        &'a self,
        namespace: &'a str,
        spec: &'a TokenSpec,
    ) -> BoxFuture<'a, Result<IssuedToken>>;
}

/// [`VolumeSource`] over the API with a kube-rs client.
#[derive(Clone)]
pub(crate) struct KubeSource {
    client: kube::Client,
}

impl KubeSource {
    pub(crate) fn new(client: kube::Client) -> KubeSource {
        KubeSource { client }
    }
}

fn api_error(what: &str, namespace: &str, name: &str, e: kube::Error) -> Error {
    Error::Api {
        what: format!("{what} {namespace}/{name}"),
        message: e.to_string(),
    }
}

impl VolumeSource for KubeSource {
    fn config_map<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ConfigMap>>> {
        Box::pin(async move {
            Api::<ConfigMap>::namespaced(self.client.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(|e| api_error("configmap", namespace, name, e))
        })
    }

    fn secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Secret>>> {
        Box::pin(async move {
            Api::<Secret>::namespaced(self.client.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(|e| api_error("secret", namespace, name, e))
        })
    }

    fn create_token<'a>(
        &'a self,
        namespace: &'a str,
        spec: &'a TokenSpec,
    ) -> BoxFuture<'a, Result<IssuedToken>> {
        Box::pin(async move {
            let request = TokenRequest {
                spec: TokenRequestSpec {
                    audiences: spec.audiences.clone(),
                    expiration_seconds: Some(spec.expiration_seconds),
                    bound_object_ref: Some(BoundObjectReference {
                        api_version: Some("v1".into()),
                        kind: Some("Pod".into()),
                        name: Some(spec.pod_name.clone()),
                        uid: Some(spec.pod_uid.clone()),
                    }),
                },
                ..Default::default()
            };
            let issued = Api::<ServiceAccount>::namespaced(self.client.clone(), namespace)
                .create_token_request(&spec.service_account, &PostParams::default(), &request)
                .await
                .map_err(|e| {
                    api_error("serviceaccount token", namespace, &spec.service_account, e)
                })?;
            let status = issued.status.ok_or_else(|| Error::Api {
                what: format!("serviceaccount token {namespace}/{}", spec.service_account),
                message: "response has no status".into(),
            })?;
            Ok(IssuedToken {
                token: status.token,
                expires_at: status.expiration_timestamp.0.as_second(),
            })
        })
    }
}
