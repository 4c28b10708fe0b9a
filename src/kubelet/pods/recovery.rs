//! After a restart: adopt the containers of pods that still exist and are
//! bound here, remove everything else (containers, sandboxes, pod dirs).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

use super::backend::ContainerInfo;
use super::spec::{LABEL_CONTAINER, LABEL_INIT, LABEL_POD_UID, LABEL_RESTART};
use super::worker::Shared;

fn restart_of(c: &ContainerInfo) -> i32 {
    c.labels
        .get(LABEL_RESTART)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Returns the containers to adopt by pod UID: the newest run of each
/// container; older runs and orphans are removed.
pub(crate) async fn recover(shared: &Shared, pods: &[Pod]) -> HashMap<String, Vec<ContainerInfo>> {
    let node = shared.cfg.node_name.as_str();
    let live: HashSet<String> = pods
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    let runtime = &shared.backends.runtime;
    let mut adopted: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
    let mut remove = Vec::new();
    match runtime.list() {
        Ok(list) => {
            for c in list {
                match c.labels.get(LABEL_POD_UID) {
                    Some(uid) if live.contains(uid) => {
                        adopted.entry(uid.clone()).or_default().push(c);
                    }
                    _ => remove.push(c.id),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list containers"),
    }
    for list in adopted.values_mut() {
        list.sort_by_key(|c| std::cmp::Reverse(restart_of(c)));
        let mut seen = HashSet::new();
        list.retain(|c| {
            let key = (
                c.labels.get(LABEL_CONTAINER).cloned(),
                c.labels.contains_key(LABEL_INIT),
            );
            if seen.insert(key) {
                true
            } else {
                remove.push(c.id.clone());
                false
            }
        });
    }
    for id in remove {
        tracing::info!(container = %id, "removing orphaned container");
        if let Err(e) = runtime.stop(&id, Duration::ZERO).await {
            tracing::warn!(container = %id, error = %e, "cannot stop orphaned container");
        }
        if let Err(e) = runtime.remove(&id).await {
            tracing::warn!(container = %id, error = %e, "cannot remove orphaned container");
        }
    }
    let net = &shared.backends.net;
    match net.sandboxes() {
        Ok(uids) => {
            for uid in uids.into_iter().filter(|u| !live.contains(u)) {
                tracing::info!(pod = %uid, "removing orphaned sandbox");
                if let Err(e) = net.remove_sandbox(&uid).await {
                    tracing::warn!(pod = %uid, error = %e, "cannot remove orphaned sandbox");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list sandboxes"),
    }
    let pods_dir = shared.cfg.data_dir.join("pods");
    if let Ok(entries) = std::fs::read_dir(&pods_dir) {
        for entry in entries.flatten() {
            let uid = entry.file_name().to_string_lossy().into_owned();
            if live.contains(&uid) {
                continue;
            }
            let dir = entry.path();
            match shared.backends.volumes.cleanup(&uid, &dir).await {
                Ok(()) => {
                    if let Err(e) = std::fs::remove_dir_all(&dir) {
                        tracing::warn!(pod = %uid, error = %e, "cannot remove pod directory");
                    }
                }
                Err(e) => tracing::warn!(pod = %uid, error = %e, "cannot clean up volumes"),
            }
        }
    }
    adopted
}
