//! A kubelet-enabled server pulling from a plain-HTTP registry on loopback.

use std::process::Command;
use std::time::{Duration, Instant};

use super::Server;
use super::images::{self, Registry};

/// A kubelet-enabled server that pulls from a plain-HTTP registry on
/// loopback holding `busybox:1`.
pub struct Site {
    pub server: Server,
    pub registry: Registry,
}

pub fn is_root() -> bool {
    nix_uid() == 0
}

fn nix_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(1)
}

pub fn site() -> Option<Site> {
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
    pub fn image(&self) -> String {
        format!("{}/busybox:1", self.registry.host())
    }

    /// Polls `jsonpath` of pod `name` until it prints `want`.
    pub fn wait(&self, ns: &str, name: &str, jsonpath: &str, want: &str) {
        self.wait_until(ns, name, jsonpath, |got| got == want);
    }

    pub fn apply(&self, ns: &str, manifest: &str) {
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

impl Site {
    /// Polls `jsonpath` of pod `name` until `ok` accepts what it prints;
    /// returns that.
    pub fn wait_until(
        &self,
        ns: &str,
        name: &str,
        jsonpath: &str,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(150);
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
            if ok(&got) {
                return got;
            }
            if Instant::now() > deadline {
                let pod = self
                    .server
                    .kubectl("1.33", &["-n", ns, "get", "pod", name, "-o", "yaml"]);
                let events = self.server.kubectl("1.33", &["-n", ns, "get", "events"]);
                panic!(
                    "pod {ns}/{name}: {jsonpath} is {got:?}\n{}\n{}\nserver log:\n{}",
                    String::from_utf8_lossy(&pod.stdout),
                    String::from_utf8_lossy(&events.stdout),
                    tail(&self.server.log())
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `kubectl exec` in pod `name`, returning stdout; fails the test on error.
    pub fn exec(&self, ns: &str, name: &str, cmd: &[&str]) -> String {
        let mut args = vec!["-n", ns, "exec", name, "--"];
        args.extend_from_slice(cmd);
        self.server.ok("1.33", &args)
    }
}
