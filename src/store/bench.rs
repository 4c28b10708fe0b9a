//! Backend comparison through the store's own write path (no HTTP), run
//! by `hack/bench` as `cargo test --release -- --ignored --nocapture
//! store_backends_compared`. Rounds alternate between backends so that a
//! noisy disk affects both alike.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{BackendKind, Op, Store};

fn value(i: usize) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}"), "namespace": "bench"},
        "data": {"config.yaml": "replicas: 3\nimage: registry.local/app:1.2.3\n".repeat(4)}})
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

async fn round(kind: BackendKind) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(kind.open(dir.path()).unwrap(), |_| false).unwrap();
    let n = 1000;
    let mut lat = Vec::with_capacity(n);
    let t = Instant::now();
    for i in 0..n {
        let s = Instant::now();
        store
            .write(Op::Create {
                key: format!("/configmaps/bench/s{i}"),
                value: value(i),
                guard: None,
            })
            .await
            .unwrap();
        lat.push(s.elapsed());
    }
    let seq = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..250 {
                let key = format!("/configmaps/bench/w{w}-{i}");
                store
                    .write(Op::Create {
                        key,
                        value: value(i),
                        guard: None,
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let par = 2000.0 / t.elapsed().as_secs_f64();
    store.close();
    (seq, pct(&mut lat, 0.5), par)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hack/bench"]
async fn store_backends_compared() {
    let mut results = vec![
        (BackendKind::Redb, Vec::new()),
        (BackendKind::Sled, Vec::new()),
    ];
    for _ in 0..3 {
        for (kind, runs) in results.iter_mut() {
            runs.push(round(*kind).await);
        }
    }
    for (kind, runs) in &results {
        let med = |f: fn(&(f64, f64, f64)) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        println!(
            "store {kind:?}: sequential durable writes {:.0}/s (p50 {:.3} ms), 8 concurrent writers {:.0}/s (median of 3 rounds)",
            med(|r| r.0),
            med(|r| r.1),
            med(|r| r.2)
        );
    }
}
