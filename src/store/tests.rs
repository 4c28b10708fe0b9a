use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::backend::{Backend, Change, Loaded};
use super::*;

fn obj(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
}

fn never_ephemeral(_: &str) -> bool {
    false
}

fn ephemeral_leases(key: &str) -> bool {
    key.starts_with("leases/")
}

fn open(kind: BackendKind, dir: &std::path::Path) -> Store {
    Store::open(kind.open(dir).unwrap(), ephemeral_leases).unwrap()
}

async fn suite(kind: BackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(kind, dir.path());
    let a = store
        .write(Op::Create {
            key: "cm/default/a".into(),
            value: obj("a"),
            guard: None,
        })
        .await
        .unwrap();
    let rev_a = revision_of(&a);
    assert!(rev_a > 0);
    assert!(matches!(
        store
            .write(Op::Create {
                key: "cm/default/a".into(),
                value: obj("a"),
                guard: None
            })
            .await,
        Err(Error::AlreadyExists(_))
    ));
    let updated = store
        .write(Op::Update {
            key: "cm/default/a".into(),
            value: obj("a"),
            expected: Some(rev_a),
        })
        .await
        .unwrap();
    assert!(revision_of(&updated) > rev_a);
    // A stale expected revision conflicts and changes nothing.
    assert!(matches!(
        store
            .write(Op::Update {
                key: "cm/default/a".into(),
                value: obj("a"),
                expected: Some(rev_a)
            })
            .await,
        Err(Error::Conflict { .. })
    ));
    store
        .write(Op::Create {
            key: "cm/default/b".into(),
            value: obj("b"),
            guard: None,
        })
        .await
        .unwrap();
    store
        .write(Op::Create {
            key: "cm/other/c".into(),
            value: obj("c"),
            guard: None,
        })
        .await
        .unwrap();
    let before_delete = store.revision();
    let gone = store
        .write(Op::Delete {
            key: "cm/default/b".into(),
            expected: None,
        })
        .await
        .unwrap();
    assert_eq!(
        revision_of(&gone),
        before_delete + 1,
        "a deletion carries its own revision"
    );
    assert!(store.get("cm/default/b").is_none());

    // Lists: prefix, pagination, snapshots of older revisions.
    let all = store.list("cm/", None, None, 0, &|_| true).unwrap();
    assert_eq!(all.items.len(), 2);
    let page = store.list("cm/", None, None, 1, &|_| true).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.remaining, 1);
    let next = store
        .list(
            "cm/",
            page.more_after.as_deref(),
            Some(page.rev),
            1,
            &|_| true,
        )
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert!(next.more_after.is_none());
    let old = store
        .list("cm/default/", None, Some(before_delete), 0, &|_| true)
        .unwrap();
    assert_eq!(old.items.len(), 2, "b existed at {before_delete}");

    // Watch: replay from a revision, then live events.
    let (backlog, _, mut rx) = store.watch("cm/default/", Some(rev_a)).unwrap();
    let kinds: Vec<EventType> = backlog.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![EventType::Modified, EventType::Added, EventType::Deleted]
    );
    store
        .write(Op::Create {
            key: "cm/default/d".into(),
            value: obj("d"),
            guard: None,
        })
        .await
        .unwrap();
    let live = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&*live.key, "cm/default/d");

    // Reopen: everything is there, revisions continue upwards.
    let last = store.revision();
    store.close();
    let store = open(kind, dir.path());
    assert!(store.get("cm/default/a").is_some());
    assert!(store.get("cm/default/d").is_some());
    assert!(store.get("cm/default/b").is_none());
    assert!(store.revision() >= last);
    let e = store
        .write(Op::Create {
            key: "cm/default/e".into(),
            value: obj("e"),
            guard: None,
        })
        .await
        .unwrap();
    assert!(revision_of(&e) > last);
    // History before the restart is gone: watchers must relist.
    assert!(matches!(
        store.watch("cm/", Some(rev_a)),
        Err(Error::Compacted(_))
    ));
}

#[tokio::test]
async fn redb_backend_passes_the_suite() {
    suite(BackendKind::Redb).await;
}

#[tokio::test]
async fn sled_backend_passes_the_suite() {
    suite(BackendKind::Sled).await;
}

/// A backend that counts commits and can be slowed down, to observe group
/// commit and ephemeral writes.
#[derive(Clone, Default)]
struct Counting {
    commits: Arc<AtomicUsize>,
    changes: Arc<AtomicUsize>,
    ceiling: Arc<Mutex<u64>>,
    delay: Duration,
}

impl Backend for Counting {
    fn load(&mut self) -> Result<Loaded> {
        Ok(Loaded {
            ceiling: *self.ceiling.lock().unwrap(),
            objects: Vec::new(),
        })
    }

    fn commit(&mut self, changes: &[Change], ceiling: Option<u64>) -> Result<()> {
        std::thread::sleep(self.delay);
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.changes.fetch_add(changes.len(), Ordering::SeqCst);
        if let Some(c) = ceiling {
            *self.ceiling.lock().unwrap() = c;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits() {
    let backend = Counting {
        delay: Duration::from_millis(5),
        ..Default::default()
    };
    let store = Store::open(Box::new(backend.clone()), never_ephemeral).unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(Op::Create {
                    key: format!("cm/default/{i}"),
                    value: obj("x"),
                    guard: None,
                })
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(backend.changes.load(Ordering::SeqCst), 64);
    let commits = backend.commits.load(Ordering::SeqCst);
    assert!(
        commits < 64,
        "64 concurrent writes took {commits} commits: no batching"
    );
}

#[tokio::test]
async fn ephemeral_writes_stay_off_the_disk() {
    let backend = Counting::default();
    let store = Store::open(Box::new(backend.clone()), ephemeral_leases).unwrap();
    store
        .write(Op::Create {
            key: "leases/kube-node-lease/n1".into(),
            value: obj("n1"),
            guard: None,
        })
        .await
        .unwrap();
    // The first write reserves a block of revisions; later ones write nothing.
    let after_first = backend.commits.load(Ordering::SeqCst);
    for _ in 0..1000 {
        store
            .write(Op::Update {
                key: "leases/kube-node-lease/n1".into(),
                value: obj("n1"),
                expected: None,
            })
            .await
            .unwrap();
    }
    assert_eq!(backend.commits.load(Ordering::SeqCst), after_first);
    assert_eq!(backend.changes.load(Ordering::SeqCst), 0);
    // A restart starts above every revision handed out.
    let last = store.revision();
    drop(store);
    let reopened = Store::open(Box::new(backend.clone()), ephemeral_leases).unwrap();
    assert!(reopened.revision() >= last);
    assert!(
        reopened.get("leases/kube-node-lease/n1").is_none(),
        "ephemeral objects live in memory only"
    );
}
