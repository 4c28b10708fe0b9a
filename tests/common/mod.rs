//! Starts the real binary on a free port with a fresh data directory and
//! drives it with real clients.
#![allow(dead_code, unreachable_pub)]

pub mod hook;
pub mod images;
pub mod objects;
pub mod site;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const KUBECTL_VERSIONS: &[&str] = &["1.27", "1.33"];

pub fn kubectl_path(version: &str) -> PathBuf {
    PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub store: String,
    child: Option<Child>,
    extra: Vec<String>,
    /// The host resources of a kubelet-enabled server, if it is one.
    pub slot: Option<NodeSlot>,
}

/// A number unique among all test servers on this machine while held:
/// names the bridge `svt<N>`, the pod CIDR `10.99.<N>.0/24` and the
/// cgroup parent, so parallel tests and test binaries never share them.
pub struct NodeSlot {
    pub n: u8,
    pub bridge: String,
    pub pod_cidr: String,
    pub cgroup_parent: String,
    _lock: std::fs::File,
}

impl NodeSlot {
    pub fn acquire() -> NodeSlot {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join("sovedge-test-slots");
        std::fs::create_dir_all(&dir).unwrap();
        let pid = std::process::id();
        let start = pid
            .wrapping_mul(7)
            .wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed));
        for i in 0..254u32 {
            let n = ((start.wrapping_add(i)) % 254 + 1) as u8;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(format!("{n}.lock")))
                .unwrap();
            // The lock is released when the file closes, even if the
            // test process dies.
            if file.try_lock().is_ok() {
                return NodeSlot {
                    n,
                    bridge: format!("svt{n}"),
                    pod_cidr: format!("10.99.{n}.0/24"),
                    cgroup_parent: format!("sovedge-test-{pid}-{n}"),
                    _lock: file,
                };
            }
        }
        panic!("all 254 test node slots are in use");
    }

    /// Removes what a kubelet may have left on the host: the bridge, its
    /// nftables table and the cgroups. Missing things are fine.
    fn clean_host(&self) {
        let quiet = |cmd: &str, args: &[&str]| {
            let _ = Command::new(cmd)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        quiet("ip", &["link", "delete", &self.bridge]);
        for family in ["ip", "inet"] {
            quiet(
                "nft",
                &[
                    "delete",
                    "table",
                    family,
                    &format!("sovedge_{}", self.bridge),
                ],
            );
        }
        if let Ok(roots) = std::fs::read_dir("/sys/fs/cgroup") {
            let mut dirs = vec![PathBuf::from("/sys/fs/cgroup").join(&self.cgroup_parent)];
            dirs.extend(roots.flatten().map(|r| r.path().join(&self.cgroup_parent)));
            for d in dirs {
                remove_cgroup(&d);
            }
        }
    }
}

/// What a kubelet server leaves running on purpose (pods outlive the
/// server process): kills the shims of `data_dir` and every process in the
/// pod cgroups under `cgroup_parent`, then detaches the mounts under
/// `data_dir` (overlay roots, tmpfs volumes, pinned namespaces).
fn stop_pods(data_dir: &Path, cgroup_parent: &str) {
    let marker = data_dir.to_string_lossy().to_string();
    let mut pids: Vec<i32> = Vec::new();
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for p in procs.flatten() {
            let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if cmdline.contains("shim") && cmdline.contains(&marker) {
                pids.push(pid);
            }
        }
    }
    fn cgroup_procs(dir: &Path, out: &mut Vec<i32>) {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    cgroup_procs(&e.path(), out);
                }
            }
        }
    }
    if let Ok(roots) = std::fs::read_dir("/sys/fs/cgroup") {
        cgroup_procs(
            &PathBuf::from("/sys/fs/cgroup").join(cgroup_parent),
            &mut pids,
        );
        for r in roots.flatten() {
            cgroup_procs(&r.path().join(cgroup_parent), &mut pids);
        }
    }
    for pid in pids {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    std::thread::sleep(Duration::from_millis(200));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&marker))
        .map(String::from)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for m in points {
        let _ = Command::new("umount")
            .args(["-l", &m])
            .stderr(Stdio::null())
            .status();
    }
}

/// Removes a cgroup directory tree, children first (cgroup directories
/// are removed with rmdir, not by deleting their files).
fn remove_cgroup(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}

impl Server {
    pub fn start() -> Server {
        Server::start_with("redb", &[])
    }

    /// An API-only server (no kubelet) with `extra` flags.
    pub fn start_with(store: &str, extra: &[&str]) -> Server {
        let mut flags = vec!["--disable-kubelet".to_string()];
        flags.extend(extra.iter().map(|s| s.to_string()));
        Server::launch(store, flags, None)
    }

    /// A server with its kubelet, on a bridge, pod CIDR, run dir and
    /// cgroup parent of its own. Works without root (the Node then
    /// reports NotReady with the reason).
    pub fn start_kubelet() -> Server {
        Server::start_kubelet_with(&[])
    }

    pub fn start_kubelet_with(extra: &[&str]) -> Server {
        let slot = NodeSlot::acquire();
        let mut flags: Vec<String> = vec![
            "--bridge".into(),
            slot.bridge.clone(),
            "--pod-cidr".into(),
            slot.pod_cidr.clone(),
            "--cgroup-parent".into(),
            slot.cgroup_parent.clone(),
        ];
        flags.extend(extra.iter().map(|s| s.to_string()));
        Server::launch("redb", flags, Some(slot))
    }

    fn launch(store: &str, mut extra: Vec<String>, slot: Option<NodeSlot>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        if slot.is_some() {
            extra.push("--run-dir".into());
            extra.push(dir.path().join("run").display().to_string());
        }
        let mut s = Server {
            dir,
            port: free_port(),
            store: store.to_string(),
            child: None,
            extra,
            slot,
        };
        s.spawn();
        s
    }

    /// Changes the value of an extra flag for the next `spawn`.
    pub fn set_flag(&mut self, flag: &str, value: &str) {
        let at = self
            .extra
            .iter()
            .position(|f| f == flag)
            .unwrap_or_else(|| panic!("{flag} was not given"));
        self.extra[at + 1] = value.to_string();
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("admin.kubeconfig")
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Starts (or restarts) the process and waits until it is ready.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sovedge"))
            .arg("server")
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--store")
            .arg(&self.store)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sovedge");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited early with {status}: {}", self.log());
            }
            if self.kubeconfig().exists() {
                let out = self.kubectl("1.33", &["get", "--raw", "/readyz"]);
                if out.status.success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server not ready in time: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn kubectl(&self, version: &str, args: &[&str]) -> Output {
        Command::new(kubectl_path(version))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    pub fn kubectl_stdin(&self, version: &str, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(kubectl_path(version))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Creates the namespace `{prefix}-{version}` (dots as dashes) with
    /// kubectl `version` and returns its name.
    pub fn namespace(&self, version: &str, prefix: &str) -> String {
        let ns = format!("{prefix}-{}", version.replace('.', "-"));
        self.ok(version, &["create", "namespace", &ns]);
        ns
    }

    /// Runs kubectl and returns stdout, failing the test on error.
    pub fn ok(&self, version: &str, args: &[&str]) -> String {
        let out = self.succeeded(version, args, self.kubectl(version, args));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl, failing the test on error; returns stderr, where
    /// kubectl prints the server's warnings.
    pub fn ok_stderr(&self, version: &str, args: &[&str]) -> String {
        let out = self.succeeded(version, args, self.kubectl(version, args));
        String::from_utf8(out.stderr).unwrap()
    }

    /// Runs kubectl with `input` on stdin and returns the whole output,
    /// failing the test on error (stderr carries warnings worth checking).
    pub fn ok_stdin(&self, version: &str, args: &[&str], input: &str) -> Output {
        self.succeeded(version, args, self.kubectl_stdin(version, args, input))
    }

    /// Runs kubectl expecting failure; returns stderr.
    pub fn fails(&self, version: &str, args: &[&str]) -> String {
        failed(version, args, self.kubectl(version, args))
    }

    /// Runs kubectl with `input` on stdin expecting failure; returns stderr.
    pub fn fails_stdin(&self, version: &str, args: &[&str], input: &str) -> String {
        failed(version, args, self.kubectl_stdin(version, args, input))
    }

    /// `out` of kubectl `args`, failing the test with the server log tail
    /// unless it succeeded.
    fn succeeded(&self, version: &str, args: &[&str], out: Output) -> Output {
        assert!(
            out.status.success(),
            "kubectl {version} {args:?} failed: {}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log())
        );
        out
    }
}

/// The stderr of kubectl `args`, failing the test if it succeeded.
fn failed(version: &str, args: &[&str], out: Output) -> String {
    assert!(
        !out.status.success(),
        "kubectl {version} {args:?} unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn tail(s: &str) -> &str {
    let start = s.len().saturating_sub(3000);
    let start = (start..s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    &s[start..]
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if let Some(slot) = &self.slot {
            stop_pods(self.dir.path(), &slot.cgroup_parent);
            slot.clean_host();
        }
    }
}

/// A kube-rs client with the server's admin kubeconfig.
pub async fn kube_client(s: &Server) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(s.kubeconfig()).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    kube::Client::try_from(config).unwrap()
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
