//! Keeps the `default` ServiceAccount and the cluster CA as the
//! `kube-root-ca.crt` ConfigMap in every
//! namespace, so pods (projected service account volumes) can verify the
//! API server. A level-triggered loop: every namespace at start, then each
//! namespace whose object or ConfigMap changes.

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::resources::find;
use super::{Registry, WriteOpts, key, meta};

const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";

const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

fn desired(ns: &str, ca_pem: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": ROOT_CA_CONFIGMAP,
            "namespace": ns,
            "annotations": { "kubernetes.io/description": DESCRIPTION }
        },
        "data": { "ca.crt": ca_pem }
    })
}

/// The namespace a store key concerns, when a change to it may call for
/// the ConfigMap to be (re)written.
fn namespace_of_key(k: &str) -> Option<&str> {
    if let Some(ns) = k.strip_prefix("/namespaces//") {
        return Some(ns);
    }
    if let Some(rest) = k.strip_prefix("/serviceaccounts/") {
        let (ns, name) = rest.split_once('/')?;
        return (name == "default").then_some(ns);
    }
    let rest = k.strip_prefix("/configmaps/")?;
    let (ns, name) = rest.split_once('/')?;
    (name == ROOT_CA_CONFIGMAP).then_some(ns)
}

impl Registry {
    /// Makes sure `ns` has the ConfigMap with `ca_pem`, unless the
    /// namespace is gone or terminating.
    pub(crate) async fn publish_root_ca(&self, ns: &str, ca_pem: &str) -> super::Result<()> {
        let (Some(namespaces), Some(configmaps)) =
            (find("", "v1", "namespaces"), find("", "v1", "configmaps"))
        else {
            return Ok(());
        };
        match self.store.get(&key(namespaces, None, ns)) {
            Some(n) if !meta::is_deleting(&n) => {}
            _ => return Ok(()),
        }
        let opts = WriteOpts::default();
        // Every namespace has a `default` service account, as upstream's
        // service account controller keeps it; pods run as it by default.
        if let Some(accounts) = find("", "v1", "serviceaccounts")
            && self
                .store
                .get(&key(accounts, Some(ns), "default"))
                .is_none()
        {
            let sa = json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": { "name": "default", "namespace": ns }
            });
            match self.create(accounts, Some(ns), sa, &opts).await {
                Ok(_) => {}
                Err(e) if e.code == 409 || e.code == 403 => {}
                Err(e) => return Err(e),
            }
        }
        let want = desired(ns, ca_pem);
        match self
            .store
            .get(&key(configmaps, Some(ns), ROOT_CA_CONFIGMAP))
        {
            None => match self.create(configmaps, Some(ns), want, &opts).await {
                Ok(_) => Ok(()),
                // Created concurrently, or the namespace began terminating.
                Err(e) if e.code == 409 || e.code == 403 => Ok(()),
                Err(e) => Err(e),
            },
            Some(cm) if cm.get("data") != want.get("data") || cm.get("binaryData").is_some() => {
                let mut new = (*cm).clone();
                new["data"] = want["data"].clone();
                if let Some(o) = new.as_object_mut() {
                    o.remove("binaryData");
                }
                match self
                    .update(configmaps, Some(ns), ROOT_CA_CONFIGMAP, new, None, &opts)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if e.code == 409 || e.code == 404 => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Some(_) => Ok(()),
        }
    }

    /// Runs the publisher until the server stops.
    pub(crate) fn spawn_root_ca_publisher(&self, ca_pem: String) {
        let registry = self.clone();
        tokio::spawn(async move {
            let Some(namespaces) = find("", "v1", "namespaces") else {
                return;
            };
            loop {
                // Every event after the snapshot reaches `rx`.
                let (_, items, mut rx) = registry.store.snapshot(&super::prefix(namespaces, None));
                for n in items {
                    registry.publish_logged(meta::name(&n), &ca_pem).await;
                }
                loop {
                    match rx.recv().await {
                        Ok(ev) => {
                            if let Some(ns) = namespace_of_key(&ev.key) {
                                registry.publish_logged(ns, &ca_pem).await;
                            }
                        }
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return,
                    }
                }
            }
        });
    }

    async fn publish_logged(&self, ns: &str, ca_pem: &str) {
        if let Err(e) = self.publish_root_ca(ns, ca_pem).await {
            tracing::warn!(namespace = ns, error = %e, "cannot publish {ROOT_CA_CONFIGMAP}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_concern_a_namespace() {
        assert_eq!(namespace_of_key("/namespaces//team-a"), Some("team-a"));
        assert_eq!(
            namespace_of_key("/configmaps/team-a/kube-root-ca.crt"),
            Some("team-a")
        );
        assert_eq!(namespace_of_key("/configmaps/team-a/other"), None);
        assert_eq!(namespace_of_key("/secrets/team-a/kube-root-ca.crt"), None);
        assert_eq!(namespace_of_key("apps/deployments/x/y"), None);
    }

    #[test]
    fn desired_object_carries_the_pem() {
        let cm = desired("ns1", "PEM");
        assert_eq!(cm["data"]["ca.crt"], "PEM");
        assert_eq!(cm["metadata"]["namespace"], "ns1");
        assert_eq!(cm["metadata"]["name"], ROOT_CA_CONFIGMAP);
    }
}
