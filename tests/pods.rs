//! Pods on the embedded kubelet, driven with kubectl 1.27 and 1.33: images
//! from a registry on loopback, real containers, the real pod network.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::images::{self, Registry};
use common::{Server, json};

/// A kubelet-enabled server that pulls from a plain-HTTP registry on
/// loopback holding `busybox:1`.
struct Site {
    server: Server,
    registry: Registry,
}

fn is_root() -> bool {
    nix_uid() == 0
}

fn nix_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(1)
}

fn site() -> Option<Site> {
    if !is_root() {
        eprintln!("skipping: running pods needs root (CI runs this as root)");
        return None;
    }
    let registry = Registry::start();
    registry.push(images::busybox(), "busybox:1");
    let dir = tempfile::tempdir().unwrap().keep();
    let cfg = dir.join("registries.yaml");
    let host = registry.host();
    std::fs::write(
        &cfg,
        format!("mirrors:\n  \"{host}\":\n    endpoint:\n      - \"http://{host}\"\n"),
    )
    .unwrap();
    let server = Server::start_kubelet_with(&["--registries-config", cfg.to_str().unwrap()]);
    Some(Site { server, registry })
}

impl Site {
    fn image(&self) -> String {
        format!("{}/busybox:1", self.registry.host())
    }

    /// Polls `jsonpath` of pod `name` until it prints `want`.
    fn wait(&self, ns: &str, name: &str, jsonpath: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let out = self.server.kubectl(
                "1.33",
                &[
                    "-n",
                    ns,
                    "get",
                    "pod",
                    name,
                    "-o",
                    &format!("jsonpath={jsonpath}"),
                ],
            );
            let got = String::from_utf8_lossy(&out.stdout).to_string();
            if got == want {
                return;
            }
            if Instant::now() > deadline {
                let pod = self
                    .server
                    .kubectl("1.33", &["-n", ns, "get", "pod", name, "-o", "yaml"]);
                let events = self.server.kubectl("1.33", &["-n", ns, "get", "events"]);
                panic!(
                    "pod {ns}/{name}: {jsonpath} is {got:?}, want {want:?}\n{}\n{}\nserver log:\n{}",
                    String::from_utf8_lossy(&pod.stdout),
                    String::from_utf8_lossy(&events.stdout),
                    tail(&self.server.log())
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn apply(&self, ns: &str, manifest: &str) {
        self.server
            .ok_stdin("1.33", &["-n", ns, "apply", "-f", "-"], manifest);
    }
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(6000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[test]
fn run_logs_exec_and_cp() {
    let Some(site) = site() else { return };
    let s = &site.server;
    for v in common::KUBECTL_VERSIONS {
        let ns = s.namespace(v, "run");
        let image = site.image();
        s.ok(
            v,
            &[
                "-n",
                &ns,
                "run",
                "web",
                "--image",
                &image,
                "--restart=Never",
                "--command",
                "--",
                "sh",
                "-c",
                "for i in 1 2 3; do echo line$i; done; echo to-stderr >&2; exec sleep 3600",
            ],
        );
        site.wait(&ns, "web", "{.status.phase}", "Running");
        let pod = json(&s.ok(v, &["-n", &ns, "get", "pod", "web", "-o", "json"]));
        assert!(
            pod["status"]["podIP"]
                .as_str()
                .unwrap()
                .starts_with("10.99."),
            "{pod}"
        );
        assert!(
            pod["status"]["containerStatuses"][0]["containerID"]
                .as_str()
                .unwrap()
                .starts_with("sovedge://"),
            "{pod}"
        );
        // Logs: whole, tail, follow (the container keeps running).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let logs = s.ok(v, &["-n", &ns, "logs", "web"]);
            if logs.contains("to-stderr") {
                assert_eq!(logs, "line1\nline2\nline3\nto-stderr\n");
                break;
            }
            assert!(Instant::now() < deadline, "logs: {logs:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(
            s.ok(v, &["-n", &ns, "logs", "web", "--tail=1"]),
            "to-stderr\n"
        );
        // Exec: output, exit codes, stdin.
        assert_eq!(
            s.ok(v, &["-n", &ns, "exec", "web", "--", "hostname"]),
            "web\n"
        );
        let out = s.kubectl(v, &["-n", &ns, "exec", "web", "--", "sh", "-c", "exit 3"]);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let out = s.ok_stdin(
            v,
            &["-n", &ns, "exec", "-i", "web", "--", "tr", "a-z", "A-Z"],
            "hello\n",
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO\n");
        // cp both ways.
        let local = tempfile::tempdir().unwrap();
        let src = local.path().join("in.txt");
        std::fs::write(&src, "copied in\n").unwrap();
        s.ok(
            v,
            &["-n", &ns, "cp", src.to_str().unwrap(), "web:/tmp/in.txt"],
        );
        assert_eq!(
            s.ok(v, &["-n", &ns, "exec", "web", "--", "cat", "/tmp/in.txt"]),
            "copied in\n"
        );
        let back = local.path().join("back.txt");
        s.ok(
            v,
            &["-n", &ns, "cp", "web:/tmp/in.txt", back.to_str().unwrap()],
        );
        assert_eq!(std::fs::read_to_string(&back).unwrap(), "copied in\n");
        // Delete: graceful stop, then gone.
        s.ok(v, &["-n", &ns, "delete", "pod", "web", "--grace-period=2"]);
        let out = s.kubectl(v, &["-n", &ns, "get", "pod", "web"]);
        assert!(!out.status.success());
    }
    let _ = Path::new("/");
}
