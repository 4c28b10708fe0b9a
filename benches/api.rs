//! API and store benchmark against the release binary: cold start, idle
//! footprint, durable create throughput, LIST latency, watch latency.
//!
//! Run with `hack/bench` (or `cargo bench --bench api -- [--store redb|sled]
//! [--idle-secs N]`). Prints one line per figure.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

struct Server {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &Path, port: u16, store: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sovedge"))
        .args([
            "server",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--store",
            store,
            "--data-dir",
        ])
        .arg(dir)
        .env("SOVEDGE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sovedge")
}

/// Polls /readyz over TLS until it answers ok; returns the time it took.
async fn wait_ready(port: u16, since: Instant) -> Duration {
    let mut cfg = Config::new(format!("https://127.0.0.1:{port}").parse().unwrap());
    cfg.accept_invalid_certs = true;
    cfg.connect_timeout = Some(Duration::from_millis(200));
    let client = Client::try_from(cfg).unwrap();
    loop {
        let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
        if let Ok(text) = client.request_text(req).await
            && text == "ok"
        {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn client(dir: &Path) -> Client {
    let kc = Kubeconfig::read_from(dir.join("admin.kubeconfig")).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn proc_field(pid: u32, file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn cm(name: String) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "labels": { "bench": "yes" } },
        "data": { "config.yaml": "replicas: 3\nimage: registry.local/app:1.2.3\n" },
    }))
    .unwrap()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let store = arg("--store").unwrap_or_else(|| "redb".into());
    let idle_secs: u64 = arg("--idle-secs")
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let rss_after: u64 = arg("--rss-after")
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    println!(
        "sovedge benchmark, store={store}, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // Cold start: first start (creates CA and certificates) and restarts.
    let tmp = tempfile::tempdir().unwrap();
    let mut first = Vec::new();
    let mut again = Vec::new();
    for i in 0..5 {
        let dir = tmp.path().join(format!("cold{i}"));
        let port = free_port();
        let t = Instant::now();
        let mut child = start(&dir, port, &store);
        first.push(wait_ready(port, t).await);
        let _ = child.kill();
        let _ = child.wait();
        let t = Instant::now();
        let mut child = start(&dir, port, &store);
        again.push(wait_ready(port, t).await);
        let _ = child.kill();
        let _ = child.wait();
    }
    println!(
        "cold start to /readyz, first start (p50 of 5): {}",
        ms(percentile(&mut first, 0.5))
    );
    println!(
        "cold start to /readyz, existing data (p50 of 5): {}",
        ms(percentile(&mut again, 0.5))
    );

    let dir = tmp.path().join("main");
    let port = free_port();
    let t = Instant::now();
    let server = Server {
        child: start(&dir, port, &store),
        port,
        dir: dir.clone(),
    };
    wait_ready(server.port, t).await;
    let pid = server.child.id();

    // Idle footprint.
    tokio::time::sleep(Duration::from_secs(rss_after)).await;
    println!(
        "idle RSS after {rss_after} s: {:.1} MiB",
        proc_field(pid, "status", "VmRSS:") as f64 / 1024.0
    );
    let w0 = proc_field(pid, "io", "write_bytes:");
    let c0 = proc_field(pid, "io", "wchar:");
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let w1 = proc_field(pid, "io", "write_bytes:");
    let c1 = proc_field(pid, "io", "wchar:");
    println!(
        "disk writes while idle for {idle_secs} s: {} bytes to storage ({} bytes written by the process)",
        w1 - w0,
        c1 - c0
    );

    let client = client(&server.dir).await;
    let ns_api: Api<Namespace> = Api::all(client.clone());
    for ns in ["seq", "par", "list"] {
        let n: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap();
        ns_api.create(&PostParams::default(), &n).await.unwrap();
    }

    // Durable creates, one client, one after the other.
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "seq");
    let n = 2000;
    let mut lat = Vec::with_capacity(n);
    let t = Instant::now();
    for i in 0..n {
        let s = Instant::now();
        api.create(&PostParams::default(), &cm(format!("c{i}")))
            .await
            .unwrap();
        lat.push(s.elapsed());
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!(
        "sequential create: {rate:.0}/s, p50 {}, p99 {}",
        ms(percentile(&mut lat, 0.5)),
        ms(percentile(&mut lat, 0.99))
    );

    // Durable creates, 8 concurrent clients.
    let per = 500;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "par");
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let s = Instant::now();
                api.create(&PostParams::default(), &cm(format!("w{w}-{i}")))
                    .await
                    .unwrap();
                lat.push(s.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await.unwrap());
    }
    let rate = (8 * per) as f64 / t.elapsed().as_secs_f64();
    println!(
        "8-way concurrent create: {rate:.0}/s, p50 {}, p99 {}",
        ms(percentile(&mut lat, 0.5)),
        ms(percentile(&mut lat, 0.99))
    );

    // LIST of 1000 ConfigMaps.
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "list");
    for i in 0..1000 {
        api.create(&PostParams::default(), &cm(format!("l{i}")))
            .await
            .unwrap();
    }
    let mut lat = Vec::new();
    for _ in 0..100 {
        let s = Instant::now();
        let list = api.list(&ListParams::default()).await.unwrap();
        lat.push(s.elapsed());
        assert_eq!(list.items.len(), 1000);
    }
    println!(
        "LIST 1000 ConfigMaps, decoded into typed objects by kube-rs: p50 {}, p99 {}",
        ms(percentile(&mut lat, 0.5)),
        ms(percentile(&mut lat, 0.99))
    );
    // The same list as raw bytes: what the server itself takes.
    let mut lat = Vec::new();
    for _ in 0..100 {
        let s = Instant::now();
        let req = http::Request::get("/api/v1/namespaces/list/configmaps")
            .body(Vec::new())
            .unwrap();
        let text = client.request_text(req).await.unwrap();
        lat.push(s.elapsed());
        assert!(text.len() > 100_000);
    }
    println!(
        "LIST 1000 ConfigMaps, raw response: p50 {}, p99 {}",
        ms(percentile(&mut lat, 0.5)),
        ms(percentile(&mut lat, 0.99))
    );

    // Create-to-watch-event latency.
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "seq");
    let lp = ListParams::default().limit(1);
    let rv = api
        .list(&lp)
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut events = api
        .watch(&WatchParams::default().timeout(290), &rv)
        .await
        .unwrap()
        .boxed();
    let mut lat = Vec::new();
    for i in 0..300 {
        let s = Instant::now();
        let pp = PostParams::default();
        let obj = cm(format!("watch{i}"));
        let create = api.create(&pp, &obj);
        let (created, event) = tokio::join!(create, events.next());
        created.unwrap();
        match event {
            Some(Ok(WatchEvent::Added(_))) => lat.push(s.elapsed()),
            other => panic!("unexpected watch event {other:?}"),
        }
    }
    println!(
        "create-to-watch-event: p50 {}, p99 {}",
        ms(percentile(&mut lat, 0.5)),
        ms(percentile(&mut lat, 0.99))
    );
    println!(
        "RSS after the run: {:.1} MiB",
        proc_field(pid, "status", "VmRSS:") as f64 / 1024.0
    );
}
