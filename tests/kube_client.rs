//! The kube-rs client, as our own controllers will use it: list, watch,
//! paginate, conflicts.

mod common;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};

fn cm(name: &str, data: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "labels": { "set": "kube-rs" } },
        "data": { "k": data },
    }))
    .unwrap()
}

#[tokio::test]
async fn list_paginate_watch_and_conflict() {
    let s = common::Server::start();
    let client = common::kube_client(&s).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");

    for i in 0..25 {
        api.create(&PostParams::default(), &cm(&format!("page-{i:02}"), "x"))
            .await
            .unwrap();
    }
    // Pages of 10: 10, 10, 5, each continuing from the last.
    let mut names = Vec::new();
    let mut lp = ListParams::default().labels("set=kube-rs").limit(10);
    let mut pages = 0;
    loop {
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        names.extend(page.items.iter().map(|c| c.metadata.name.clone().unwrap()));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => {
                assert!(page.metadata.remaining_item_count.unwrap() > 0);
                lp = lp.continue_token(&c);
            }
            _ => break,
        }
        // Changes between pages do not show up: the list is a snapshot.
        if pages == 1 {
            api.create(&PostParams::default(), &cm("page-99", "late"))
                .await
                .unwrap();
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..25).map(|i| format!("page-{i:02}")).collect();
    assert_eq!(names, want);

    // Watch from the list's revision sees exactly the later changes.
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    let mut obj = api.get("page-00").await.unwrap();
    obj.data
        .as_mut()
        .unwrap()
        .insert("k".into(), "changed".into());
    let updated = api
        .replace("page-00", &PostParams::default(), &obj)
        .await
        .unwrap();
    match stream.next().await.unwrap().unwrap() {
        WatchEvent::Modified(o) => {
            assert_eq!(o.metadata.name.as_deref(), Some("page-00"));
            assert_eq!(o.data.unwrap()["k"], "changed");
            assert_eq!(
                o.metadata.resource_version,
                updated.metadata.resource_version
            );
        }
        other => panic!("unexpected event {other:?}"),
    }

    // The stale object (old resourceVersion) is refused with 409.
    let err = api
        .replace("page-00", &PostParams::default(), &obj)
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test]
async fn watch_from_compacted_revision_is_gone() {
    let mut s = common::Server::start();
    let api: Api<ConfigMap> = Api::namespaced(common::kube_client(&s).await, "default");
    let old = api
        .create(&PostParams::default(), &cm("before-restart", "x"))
        .await
        .unwrap();
    let old_rv = old.metadata.resource_version.unwrap();
    s.kill();
    s.spawn();
    // The history window starts afresh with the process: a watch from
    // before the restart must relist.
    let api: Api<ConfigMap> = Api::namespaced(common::kube_client(&s).await, "default");
    let listed = api.list(&ListParams::default()).await.unwrap();
    let new_rv: u64 = listed.metadata.resource_version.unwrap().parse().unwrap();
    assert!(
        new_rv > old_rv.parse::<u64>().unwrap(),
        "revision went backwards across a restart"
    );
    assert!(
        listed
            .items
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some("before-restart"))
    );
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &old_rv)
        .await
        .unwrap()
        .boxed();
    match stream.next().await.unwrap().unwrap() {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}
