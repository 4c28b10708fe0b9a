//! Objects every cluster has from its first start.

use serde_json::json;

use super::resources::find;
use super::{ApiError, Registry, Result};

pub(crate) const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

pub(crate) async fn bootstrap(registry: &Registry, service_ip: &str, port: u16) -> Result<()> {
    let missing = || ApiError::internal("built-in resource missing from the table");
    let namespaces = find("", "v1", "namespaces").ok_or_else(missing)?;
    for ns in SYSTEM_NAMESPACES {
        registry
            .ensure(
                namespaces,
                None,
                json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } }),
            )
            .await?;
    }
    super::crd::load(registry);
    let services = find("", "v1", "services").ok_or_else(missing)?;
    registry
        .ensure(
            services,
            Some("default"),
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": { "component": "apiserver", "provider": "kubernetes" }
                },
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": service_ip,
                    "clusterIPs": [service_ip],
                    "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": port }],
                    "sessionAffinity": "None"
                }
            }),
        )
        .await
}
