//! OpenAPI document benchmark against the release binary: size and time to
//! serve /openapi/v2 (JSON and gnostic protobuf) and two v3 group-version
//! documents, the first request (cold: builds the definitions) and warm
//! ones, and the server's RSS before and after.
//!
//! Run with `hack/bench --openapi` or `cargo bench --bench openapi`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_mib(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    kib as f64 / 1024.0
}

async fn client(dir: &Path) -> Client {
    for _ in 0..300 {
        if let Ok(kc) = Kubeconfig::read_from(dir.join("admin.kubeconfig"))
            && let Ok(config) =
                kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await
        {
            let c = Client::try_from(config).unwrap();
            let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
            if c.request_text(req).await.is_ok_and(|t| t == "ok") {
                return c;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server did not become ready");
}

/// One GET; returns the body size and the time to the last byte.
async fn fetch(c: &Client, path: &str, accept: &str) -> (usize, Duration) {
    let t = Instant::now();
    let req = http::Request::get(path)
        .header("Accept", accept)
        .body(kube::client::Body::empty())
        .unwrap();
    let resp = c.send(req).await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (body.len(), t.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_sovedge"))
            .args([
                "server",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(tmp.path())
            .env("SOVEDGE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sovedge"),
    );
    let pid = server.0.id();
    let c = client(tmp.path()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("RSS before any document: {:.1} MiB", rss_mib(pid));
    let docs = [
        ("/openapi/v2", "application/json", "v2 JSON"),
        (
            "/openapi/v2",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            "v2 protobuf",
        ),
        ("/openapi/v3/apis/apps/v1", "application/json", "v3 apps/v1"),
        ("/openapi/v3/api/v1", "application/json", "v3 api/v1"),
    ];
    for (i, (path, accept, name)) in docs.iter().enumerate() {
        let (size, first) = fetch(&c, path, accept).await;
        let mut warm = Vec::new();
        for _ in 0..7 {
            warm.push(fetch(&c, path, accept).await.1);
        }
        warm.sort();
        let label = if i == 0 {
            "cold (builds the definitions)"
        } else {
            "first"
        };
        println!(
            "{name}: {size} bytes, {label} {}, warm p50 {}",
            ms(first),
            ms(warm[warm.len() / 2])
        );
    }
    println!("RSS after serving the documents: {:.1} MiB", rss_mib(pid));
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("RSS 5 s later: {:.1} MiB", rss_mib(pid));
}
