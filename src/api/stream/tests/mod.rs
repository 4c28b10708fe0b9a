//! End-to-end: the real router on a loopback TLS port, a node side that
//! runs host processes and reaches loopback ports, driven by real kubectl
//! (1.27 speaks SPDY, 1.33 WebSocket).

mod kubectl;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::api::{AppState, Signer, Tokens, router, serve, tls_config};
use crate::kubelet::streams::{BoxFuture, LogOptions, PodStreams, ProcessIo};
use crate::registry::resources::{self, Subresource};
use crate::registry::{ApiError, Registry, WriteOpts};

pub(super) const VERSIONS: &[&str] = &["1.27", "1.33"];

pub(super) fn kubectl_path(version: &str) -> PathBuf {
    PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"))
}

/// What the node side saw.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) calls: Vec<String>,
    pub(super) resizes: Vec<(u16, u16)>,
    pub(super) log_opts: Vec<LogOptions>,
}

/// Runs commands on the host in `root` (absolute arguments are taken
/// relative to it, so `tar -C /data` works), forwards ports to loopback and
/// serves logs from `root/../logs.txt`.
pub(super) struct Fake {
    pub(super) root: PathBuf,
    pub(super) logs: PathBuf,
    pub(super) seen: Mutex<Seen>,
}

impl Fake {
    fn record(&self, call: String) {
        self.seen.lock().unwrap().calls.push(call);
    }
}

fn spawn(
    root: &Path,
    cmd: Vec<String>,
    tty: bool,
    stdin: bool,
    fake: Arc<Fake>,
) -> std::io::Result<ProcessIo> {
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let args: Vec<&str> = args
        .iter()
        .map(|a| match a.strip_prefix('/') {
            Some(rel) if !rel.is_empty() => rel,
            _ => a.as_str(),
        })
        .collect();
    let mut command = tokio::process::Command::new(program);
    command.args(&args).current_dir(root).kill_on_drop(true);
    let (exit_tx, exit) = oneshot::channel();
    let io = if tty {
        let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
        command
            .stdin(Stdio::from(pty.slave.try_clone()?))
            .stdout(Stdio::from(pty.slave.try_clone()?))
            .stderr(Stdio::from(pty.slave));
        let mut child = command.spawn()?;
        // The terminal's other end must close with the child alone.
        drop(command);
        let master = std::fs::File::from(pty.master);
        let (resize, mut sizes) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Some(size) = sizes.recv().await {
                fake.seen.lock().unwrap().resizes.push(size);
            }
        });
        tokio::spawn(async move {
            let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
            let _ = exit_tx.send(code);
        });
        ProcessIo {
            stdin: Some(Box::new(tokio::fs::File::from_std(master.try_clone()?))),
            stdout: Some(Box::new(tokio::fs::File::from_std(master))),
            stderr: None,
            resize: Some(resize),
            exit,
        }
    } else {
        command
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let io_in = child.stdin.take();
        let io_out = child.stdout.take();
        let io_err = child.stderr.take();
        tokio::spawn(async move {
            let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
            let _ = exit_tx.send(code);
        });
        ProcessIo {
            stdin: io_in.map(|s| Box::new(s) as _),
            stdout: io_out.map(|s| Box::new(s) as _),
            stderr: io_err.map(|s| Box::new(s) as _),
            resize: None,
            exit,
        }
    };
    Ok(io)
}

pub(super) struct FakeHandle(pub(super) Arc<Fake>);

impl PodStreams for FakeHandle {
    fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: Option<String>,
        cmd: Vec<String>,
        tty: bool,
        stdin: bool,
    ) -> BoxFuture<'static, Result<ProcessIo, ApiError>> {
        self.0.record(format!(
            "exec {ns}/{pod}/{} {cmd:?} tty={tty} stdin={stdin}",
            container.as_deref().unwrap_or("")
        ));
        let fake = self.0.clone();
        Box::pin(async move {
            spawn(&fake.root.clone(), cmd, tty, stdin, fake)
                .map_err(|e| ApiError::bad_request(format!("exec failed: {e}")))
        })
    }

    fn attach(
        &self,
        ns: &str,
        pod: &str,
        container: Option<String>,
        stdin: bool,
        tty: bool,
    ) -> BoxFuture<'static, Result<ProcessIo, ApiError>> {
        self.0.record(format!(
            "attach {ns}/{pod}/{} tty={tty} stdin={stdin}",
            container.as_deref().unwrap_or("")
        ));
        let fake = self.0.clone();
        let script = if stdin {
            "echo attached-output; cat"
        } else {
            "echo attached-output"
        };
        let cmd = vec!["sh".into(), "-c".into(), script.into()];
        Box::pin(async move {
            spawn(&fake.root.clone(), cmd, tty, stdin, fake)
                .map_err(|e| ApiError::bad_request(format!("attach failed: {e}")))
        })
    }

    fn port_forward(
        &self,
        ns: &str,
        pod: &str,
        port: u16,
    ) -> BoxFuture<'static, Result<TcpStream, ApiError>> {
        self.0.record(format!("portforward {ns}/{pod} {port}"));
        Box::pin(async move {
            TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| ApiError::internal(format!("connect to port {port}: {e}")))
        })
    }

    fn logs(
        &self,
        ns: &str,
        pod: &str,
        opts: LogOptions,
    ) -> BoxFuture<'static, Result<BoxStream<'static, std::io::Result<Bytes>>, ApiError>> {
        self.0.record(format!("logs {ns}/{pod}"));
        self.0.seen.lock().unwrap().log_opts.push(opts.clone());
        let path = self.0.logs.clone();
        Box::pin(async move {
            let (tx, rx) = mpsc::channel::<Bytes>(16);
            tokio::spawn(async move {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let skip = opts
                    .tail_lines
                    .map(|n| lines.len().saturating_sub(n as usize))
                    .unwrap_or(0);
                for l in &lines[skip..] {
                    let _ = tx.send(Bytes::from(format!("{l}\n"))).await;
                }
                if !opts.follow {
                    return;
                }
                // Follow the file until a line says it ends.
                let mut sent = lines.len();
                loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    for l in &lines[sent.min(lines.len())..] {
                        if *l == "EOF" {
                            return;
                        }
                        if tx.send(Bytes::from(format!("{l}\n"))).await.is_err() {
                            return;
                        }
                    }
                    sent = lines.len();
                }
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (Ok(b), rx))
            });
            Ok(stream.boxed())
        })
    }
}

pub(super) struct Fixture {
    pub(super) dir: tempfile::TempDir,
    pub(super) fake: Arc<Fake>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn pod(name: &str, containers: &[&str], annotations: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": {"containers": containers.iter().map(|c| json!({"name": c, "image": "busybox"})).collect::<Vec<_>>()},
    })
}

impl Fixture {
    pub(super) async fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let pki = crate::pki::ensure(
            &dir.path().join("tls"),
            &["localhost".to_string()],
            &["127.0.0.1".parse().unwrap()],
        )
        .unwrap();
        let backend = crate::store::BackendKind::Redb.open(dir.path()).unwrap();
        let store = crate::store::Store::open(backend, crate::registry::is_ephemeral).unwrap();
        let registry = Registry::new(store);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        crate::registry::bootstrap(&registry, "10.43.0.1", port)
            .await
            .unwrap();
        let pods = resources::find("", "v1", "pods").unwrap();
        let opts = WriteOpts::default();
        for p in [
            pod("web", &["app"], json!({})),
            pod(
                "multi",
                &["side", "main"],
                json!({"kubectl.kubernetes.io/default-container": "main"}),
            ),
        ] {
            let name = p["metadata"]["name"].as_str().unwrap().to_string();
            let created = registry
                .create(pods, Some("default"), p, &opts)
                .await
                .unwrap();
            let mut running = (*created.object).clone();
            running["status"] = json!({"phase": "Running"});
            registry
                .update(
                    pods,
                    Some("default"),
                    &name,
                    running,
                    Some(Subresource::Status),
                    &opts,
                )
                .await
                .unwrap();
        }
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("data")).unwrap();
        let fake = Arc::new(Fake {
            root,
            logs: dir.path().join("logs.txt"),
            seen: Mutex::default(),
        });
        let state = Arc::new(AppState {
            registry,
            tokens: Tokens::default(),
            signer: Signer::load_or_create(dir.path()).unwrap(),
            ready: AtomicBool::new(true),
            advertise: format!("127.0.0.1:{port}"),
            streams: std::sync::OnceLock::from(
                Arc::new(FakeHandle(fake.clone())) as Arc<dyn crate::kubelet::streams::PodStreams>
            ),
        });
        let tls = tls_config(&pki).unwrap();
        let server = tokio::spawn(serve(listener, tls, router(state)));
        let kubeconfig = crate::pki::admin_kubeconfig(&pki, &format!("https://127.0.0.1:{port}"));
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
        Fixture { dir, fake, server }
    }

    pub(super) fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    pub(super) fn kubectl(&self, version: &str) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(kubectl_path(version));
        c.arg("--kubeconfig")
            .arg(self.kubeconfig())
            .env("HOME", self.dir.path())
            .kill_on_drop(true);
        c
    }

    /// Runs kubectl with `input` on stdin; (exit code, stdout, stderr).
    pub(super) async fn run(
        &self,
        version: &str,
        args: &[&str],
        input: &[u8],
    ) -> (i32, String, String) {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .kubectl(version)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {version} {args:?} did not finish"))
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// kubectl binaries are installed on the build machines; without them
/// the end-to-end tests cannot run.
pub(super) fn kubectl_missing() -> bool {
    let missing = VERSIONS.iter().any(|v| !kubectl_path(v).exists());
    if missing {
        eprintln!(
            "skipping: kubectl {VERSIONS:?} not installed under /usr/lib/google-cloud-sdk/bin"
        );
    }
    missing
}

#[test]
fn default_container_and_invalid_names() {
    let p = pod(
        "multi",
        &["side", "main"],
        json!({"kubectl.kubernetes.io/default-container": "main"}),
    );
    assert_eq!(super::container_of(&p, "multi", None).unwrap(), "main");
    let plain = pod("two", &["a", "b"], json!({}));
    assert_eq!(super::container_of(&plain, "two", None).unwrap(), "a");
    assert_eq!(super::container_of(&plain, "two", Some("b")).unwrap(), "b");
    let e = super::container_of(&plain, "two", Some("x")).unwrap_err();
    assert_eq!(e.code, 400);
    assert_eq!(e.message, "container x is not valid for pod two");
    let empty = json!({"spec": {}});
    assert!(super::container_of(&empty, "none", None).is_err());
}
