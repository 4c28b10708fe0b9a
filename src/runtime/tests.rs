//! Containers through the runtime on this host: need root, Debian's
//! busybox-static (`/bin/busybox`) and the built `sovedge` binary (the
//! shim). Each test has its own run dir and cgroup parent.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

static SEQ: AtomicU32 = AtomicU32::new(0);

struct Fixture {
    rt: Runtime,
    tmp: tempfile::TempDir,
    layer: PathBuf,
    parent: String,
}

fn shim_exe() -> Option<PathBuf> {
    // target/debug/deps/sovedge-<hash> -> target/debug/sovedge
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("sovedge");
    bin.exists().then_some(bin)
}

fn fixture() -> Option<Fixture> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: needs root");
        return None;
    }
    if !Path::new("/bin/busybox").exists() {
        eprintln!("skipping: needs /bin/busybox (apt-get install busybox-static)");
        return None;
    }
    let Some(exe) = shim_exe() else {
        eprintln!("skipping: the sovedge binary is not built (run cargo build)");
        return None;
    };
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root"] {
        std::fs::create_dir_all(layer.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", layer.join("bin/busybox")).unwrap();
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", layer.join("bin").join(applet));
        }
    }
    std::fs::write(
        layer.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        layer.join("etc/group"),
        "root:x:0:\napp:x:1000:\nvideo:x:44:app\n",
    )
    .unwrap();
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let parent = format!("sovedge-test-{}-{n}", std::process::id());
    let rt = Runtime::new(RuntimeConfig {
        run_dir: tmp.path().join("run"),
        state_dir: tmp.path().join("state"),
        cgroup_parent: parent.clone(),
        exe,
    })
    .unwrap();
    Some(Fixture {
        rt,
        tmp,
        layer,
        parent,
    })
}

impl Fixture {
    fn spec(&self, id: &str, args: &[&str]) -> ContainerSpec {
        ContainerSpec {
            id: id.to_string(),
            labels: BTreeMap::from([("pod".to_string(), "p1".to_string())]),
            layers: vec![self.layer.clone()],
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec!["PATH=/bin".into()],
            cgroup_path: format!("{}/pod1/{id}", self.parent),
            log_path: self.tmp.path().join("logs").join(format!("{id}.log")),
            ..Default::default()
        }
    }

    async fn run(&self, spec: &ContainerSpec) -> ExitRecord {
        self.rt.start(spec).await.unwrap();
        self.wait(&spec.id).await
    }

    async fn wait(&self, id: &str) -> ExitRecord {
        loop {
            match self.rt.state(id).unwrap() {
                ContainerState::Exited(r) => return r,
                ContainerState::Running { .. } => {}
                ContainerState::Unknown => panic!("container {id} in unknown state"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Log messages of `stream` (stdout/stderr), checking the CRI format.
    fn log(&self, id: &str, stream: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.tmp.path().join("logs").join(format!("{id}.log")))
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut f = l.splitn(4, ' ');
                let ts = f.next()?;
                assert!(
                    ts.parse::<jiff::Timestamp>().is_ok(),
                    "bad timestamp in {l:?}"
                );
                let s = f.next()?;
                let tag = f.next()?;
                assert!(tag == "F" || tag == "P", "bad tag in {l:?}");
                (s == stream).then(|| f.next().unwrap_or("").to_string())
            })
            .collect()
    }

    async fn cleanup(self) {
        for c in self.rt.list().unwrap() {
            self.rt.remove(&c.id).await.unwrap();
        }
        cgroup::remove(&format!("{}/pod1", self.parent), "");
        cgroup::remove(&self.parent, "");
        assert!(!cgroup::exists(&self.parent), "cgroup parent left behind");
    }
}

async fn read_all(r: Option<BoxRead>) -> String {
    let mut s = String::new();
    if let Some(mut r) = r {
        r.read_to_string(&mut s).await.unwrap();
    }
    s
}

#[tokio::test]
async fn exit_codes_logs_env_cwd_and_user() {
    let Some(fx) = fixture() else { return };
    let mut long = "x".repeat(20_000);
    long.push_str("END");
    let script = format!("echo hello; echo oops >&2; echo {long}; exit 3");
    let r = fx.run(&fx.spec("c1", &["sh", "-c", &script])).await;
    assert_eq!(r.exit_code, 3);
    assert!(!r.oom_killed);
    let out = fx.log("c1", "stdout");
    assert_eq!(out[0], "hello");
    // 20 003 bytes: one partial record and the rest.
    assert_eq!(out[1].len(), 16 * 1024);
    assert!(out[2].ends_with("END"));
    let log = std::fs::read_to_string(fx.tmp.path().join("logs/c1.log")).unwrap();
    assert!(
        log.lines()
            .nth(1)
            .is_some_and(|l| l.contains(" stdout P ") || l.contains(" stderr F "))
    );
    assert_eq!(fx.log("c1", "stderr"), vec!["oops".to_string()]);

    let mut s = fx.spec("c2", &["sh", "-c", "echo $FOO; pwd; id -u; id -g; id -G"]);
    s.env.push("FOO=bar".into());
    s.cwd = "/tmp".into();
    s.user.name = Some("app".into());
    let r = fx.run(&s).await;
    assert_eq!(r.exit_code, 0, "{:?}", fx.log("c2", "stderr"));
    assert_eq!(
        fx.log("c2", "stdout"),
        ["bar", "/tmp", "1000", "1000", "1000 44"]
    );

    let err = fx.rt.start(&fx.spec("c3", &["/no/such/binary"])).await;
    match err {
        Err(Error::StartFailed { message, .. }) => {
            assert!(message.contains("not found"), "{message}")
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
    fx.cleanup().await;
}

#[tokio::test]
async fn exec_attach_stop_remove_and_recovery() {
    let Some(fx) = fixture() else { return };
    let script =
        "trap 'echo term' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done";
    let spec = fx.spec("long", &["sh", "-c", script]);
    fx.rt.start(&spec).await.unwrap();
    let ContainerState::Running { pid, .. } = fx.rt.state("long").unwrap() else {
        panic!("not running")
    };

    // Attach sees live output.
    let mut io = fx.rt.attach("long", false).await.unwrap();
    let mut out = io.stdout.take().unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("tick") {
        let mut buf = [0u8; 256];
        let n = out.read(&mut buf).await.unwrap();
        assert!(n > 0, "attach stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }

    // Exec with separate streams and an exit code.
    let io2 = fx
        .rt
        .exec(
            "long",
            vec![
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 7".into(),
            ],
            false,
            false,
        )
        .await
        .unwrap();
    let (o, e) = tokio::join!(read_all(io2.stdout), read_all(io2.stderr));
    assert_eq!((o.as_str(), e.as_str()), ("out\n", "err\n"));
    assert_eq!(io2.exit.await.unwrap(), 7);

    // Exec with stdin.
    let mut io3 = fx
        .rt
        .exec("long", vec!["cat".into()], false, true)
        .await
        .unwrap();
    let mut w = io3.stdin.take().unwrap();
    w.write_all(b"abc").await.unwrap();
    w.shutdown().await.unwrap();
    drop(w);
    assert_eq!(read_all(io3.stdout.take()).await, "abc");
    assert_eq!(io3.exit.await.unwrap(), 0);

    // Exec of a missing binary reports it and fails.
    let io4 = fx
        .rt
        .exec("long", vec!["nope".into()], false, false)
        .await
        .unwrap();
    assert!(read_all(io4.stderr).await.contains("exec failed"));
    assert_ne!(io4.exit.await.unwrap(), 0);

    // A fresh runtime on the same run dir finds the container.
    let rt2 = Runtime::new(fx.rt.config().clone()).unwrap();
    let list = rt2.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].labels["pod"], "p1");
    assert!(
        matches!(rt2.state("long").unwrap(), ContainerState::Running { pid: p, .. } if p == pid)
    );
    assert!(rt2.stats("long").unwrap().memory_bytes > 0);

    // Stop: SIGTERM is trapped, so SIGKILL follows after the grace period.
    rt2.stop("long", Duration::from_millis(1500)).await.unwrap();
    let r = fx.wait("long").await;
    assert_eq!((r.exit_code, r.signal), (137, Some(9)));
    assert!(fx.log("long", "stdout").contains(&"term".to_string()));
    assert_eq!(io.exit.await.unwrap(), 137);

    // Remove leaves no mount, cgroup, process or state.
    let rootfs = fx.tmp.path().join("run/long/rootfs");
    rt2.remove("long").await.unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(rootfs.to_str().unwrap()));
    assert!(!cgroup::exists(&spec.cgroup_path));
    assert!(!pid_alive(pid) || is_zombie(pid));
    assert!(!rootfs.exists() && !fx.tmp.path().join("state/long").exists());
    assert!(matches!(rt2.state("long"), Err(Error::NotFound(_))));
    fx.cleanup().await;
}

#[tokio::test]
async fn seccomp_runtime_default_blocks_and_privileged_allows() {
    let Some(fx) = fixture() else { return };
    // A new user namespace needs no capability, so only seccomp stops it.
    let r = fx.run(&fx.spec("sc1", &["unshare", "-U", "true"])).await;
    assert_ne!(r.exit_code, 0);
    let err = fx.log("sc1", "stderr").join("\n");
    assert!(err.contains("Operation not permitted"), "{err}");

    let mut s = fx.spec("sc2", &["unshare", "-U", "true"]);
    s.seccomp = Seccomp::Unconfined;
    let r = fx.run(&s).await;
    assert_eq!(r.exit_code, 0, "{:?}", fx.log("sc2", "stderr"));

    let mut s = fx.spec("sc3", &["unshare", "-m", "true"]);
    s.privileged = true;
    let r = fx.run(&s).await;
    assert_eq!(r.exit_code, 0, "{:?}", fx.log("sc3", "stderr"));
    fx.cleanup().await;
}

#[tokio::test]
async fn oom_read_only_rootfs_and_devices() {
    let Some(fx) = fixture() else { return };
    let mut s = fx.spec(
        "oom",
        &["sh", "-c", "a=xxxxxxxx; while true; do a=$a$a; done"],
    );
    s.resources.memory_limit = Some(16 << 20);
    let r = fx.run(&s).await;
    assert!(r.oom_killed, "{r:?}");
    assert_eq!(r.exit_code, 137);

    let mut s = fx.spec("ro", &["sh", "-c", "touch /x"]);
    s.read_only_rootfs = true;
    let r = fx.run(&s).await;
    assert_ne!(r.exit_code, 0);
    assert!(
        fx.log("ro", "stderr")
            .join("")
            .contains("Read-only file system")
    );

    let dev = fx.tmp.path().join("mydev");
    let rdev = libc::makedev(1, 3);
    let c = std::ffi::CString::new(dev.to_str().unwrap()).unwrap();
    // SAFETY: mknod with a valid C path; creates a /dev/null twin.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, rdev) };
    assert_eq!(rc, 0);
    let mut s = fx.spec("dev", &["sh", "-c", "echo hi > /dev/mydev && echo ok"]);
    s.devices.push(DeviceSpec {
        host_path: dev.clone(),
        container_path: "/dev/mydev".into(),
        permissions: "rwm".into(),
    });
    let r = fx.run(&s).await;
    assert_eq!(r.exit_code, 0, "{:?}", fx.log("dev", "stderr"));
    assert_eq!(fx.log("dev", "stdout"), ["ok"]);

    // The device cgroup refuses a node the container was not given.
    let s = fx.spec(
        "nodev",
        &["sh", "-c", "mknod /tmp/n c 1 1 && exec 3</tmp/n"],
    );
    let r = fx.run(&s).await;
    assert_ne!(r.exit_code, 0);
    fx.cleanup().await;
}
