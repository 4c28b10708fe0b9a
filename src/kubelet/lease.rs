//! The node's heartbeat: a Lease named after the node in
//! `kube-node-lease`, renewed every 10 s as upstream's kubelet does.
//! Leases are kept in memory by the store, so renewals cost no disk writes.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

use super::{Error, Result};

pub(crate) const NAMESPACE: &str = "kube-node-lease";
pub(crate) const DURATION_SECONDS: i32 = 40;
pub(crate) const RENEW_INTERVAL: Duration = Duration::from_secs(10);

/// The lease this node holds, owned by its Node so it goes with it.
pub(crate) fn desired(node: &str, node_uid: Option<&str>, now: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(node.into()),
            namespace: Some(NAMESPACE.into()),
            owner_references: node_uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Node".into(),
                    name: node.into(),
                    uid: uid.into(),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.into()),
            lease_duration_seconds: Some(DURATION_SECONDS),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }),
    }
}

/// Renews the lease forever; errors are logged and retried next round.
pub(crate) async fn run(client: kube::Client, node: String, node_uid: Option<String>) {
    let api: Api<Lease> = Api::namespaced(client, NAMESPACE);
    let mut current: Option<Lease> = None;
    loop {
        match renew(&api, &node, node_uid.as_deref(), current.take()).await {
            Ok(lease) => current = Some(lease),
            Err(e) => tracing::warn!(node = %node, error = %e, "node lease renewal failed"),
        }
        tokio::time::sleep(RENEW_INTERVAL).await;
    }
}

/// One renewal: updates the last lease seen (one read on conflict), or
/// creates the lease when there is none.
async fn renew(
    api: &Api<Lease>,
    node: &str,
    node_uid: Option<&str>,
    current: Option<Lease>,
) -> Result<Lease> {
    let current = match current {
        Some(l) => Some(l),
        None => api
            .get_opt(node)
            .await
            .map_err(Error::api("get lease", node))?,
    };
    let want = desired(node, node_uid, Timestamp::now());
    let Some(mut lease) = current else {
        return api
            .create(&PostParams::default(), &want)
            .await
            .map_err(Error::api("create lease", node));
    };
    // Fields others may set (e.g. the preferred holder) are kept.
    lease.spec = Some(merge_spec(
        lease.spec.take().unwrap_or_default(),
        want.spec.unwrap_or_default(),
    ));
    if lease
        .metadata
        .owner_references
        .as_ref()
        .is_none_or(Vec::is_empty)
    {
        lease.metadata.owner_references = want.metadata.owner_references;
    }
    // On a conflict or a deleted lease the next round starts from a fresh
    // read, as `current` is not kept after an error.
    api.replace(node, &PostParams::default(), &lease)
        .await
        .map_err(Error::api("renew lease", node))
}

fn merge_spec(mut have: LeaseSpec, want: LeaseSpec) -> LeaseSpec {
    have.holder_identity = want.holder_identity;
    have.lease_duration_seconds = want.lease_duration_seconds;
    have.renew_time = want.renew_time;
    have
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_shape() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let l = desired("edge-1", Some("u-1"), now);
        assert_eq!(l.metadata.namespace.as_deref(), Some("kube-node-lease"));
        let spec = l.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("edge-1"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        assert_eq!(spec.renew_time, Some(MicroTime(now)));
        let owner = &l.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Node", "u-1"));
        assert!(
            desired("edge-1", None, now)
                .metadata
                .owner_references
                .is_none()
        );
    }

    #[test]
    fn renewal_keeps_foreign_fields() {
        let have = LeaseSpec {
            preferred_holder: Some("other".into()),
            holder_identity: Some("old".into()),
            ..LeaseSpec::default()
        };
        let want = desired("edge-1", None, Timestamp::UNIX_EPOCH).spec.unwrap();
        let merged = merge_spec(have, want.clone());
        assert_eq!(merged.preferred_holder.as_deref(), Some("other"));
        assert_eq!(merged.holder_identity, want.holder_identity);
        assert_eq!(merged.renew_time, want.renew_time);
    }
}
