//! Acknowledged writes survive SIGKILL in the middle of a stream of
//! writes, on both store backends, and the revision never goes backwards.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};

async fn kill_mid_stream(store: &str) {
    let mut s = common::Server::start_with(store, &[]);
    let api: Api<ConfigMap> = Api::namespaced(common::kube_client(&s).await, "default");
    let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let api = api.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("w{w}-{i}");
                let cm: ConfigMap = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": name}, "data": {"payload": "x".repeat(512)}
                }))
                .unwrap();
                match api.create(&PostParams::default(), &cm).await {
                    Ok(created) => {
                        let rv = created.metadata.resource_version.unwrap().parse().unwrap();
                        acked.lock().unwrap().push((name, rv));
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    // Let the writers get going, then pull the plug.
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.kill();
    for w in writers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w).await;
    }
    let acked = acked.lock().unwrap().clone();
    let max_rv = acked.iter().map(|(_, rv)| *rv).max().unwrap();

    s.spawn();
    let api: Api<ConfigMap> = Api::namespaced(common::kube_client(&s).await, "default");
    let list = api.list(&ListParams::default()).await.unwrap();
    let present: std::collections::HashSet<String> = list
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    let lost: Vec<&String> = acked
        .iter()
        .map(|(n, _)| n)
        .filter(|n| !present.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "{store}: {} of {} acknowledged writes lost: {lost:?}",
        lost.len(),
        acked.len()
    );
    let rv: u64 = list.metadata.resource_version.unwrap().parse().unwrap();
    assert!(
        rv >= max_rv,
        "{store}: revision went backwards: {rv} < {max_rv}"
    );
    // A new write after the restart gets a higher revision than any before.
    let cm: ConfigMap =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "after"}})).unwrap();
    let after: u64 = api
        .create(&PostParams::default(), &cm)
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        after > max_rv,
        "{store}: new revision {after} not above {max_rv}"
    );
    println!(
        "{store}: {} acknowledged writes before SIGKILL, all present after restart",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_redb() {
    kill_mid_stream("redb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_sled() {
    kill_mid_stream("sled").await;
}
