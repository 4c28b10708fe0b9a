//! Pods on the embedded kubelet, driven with kubectl 1.27 and 1.33: images
//! from a registry on loopback, real containers, the real pod network.

mod common;

use std::time::{Duration, Instant};

use common::json;
use common::site::site;

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
                // stderr a moment later, so the two pipes cannot interleave.
                "for i in 1 2 3; do echo line$i; done; sleep 1; echo to-stderr >&2; exec sleep 3600",
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
        // exec -it: a terminal in the container (kubectl wants its own
        // stdin to be a terminal, so it runs under script).
        let out = std::process::Command::new("script")
            .args([
                "-qec",
                &format!(
                    "{} -n {ns} exec -it web -- sh",
                    common::kubectl_path(v).display()
                ),
                "/dev/null",
            ])
            .env("KUBECONFIG", s.kubeconfig())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(b"tty; echo $((6*7)); exit 5\n")?;
                c.wait_with_output()
            })
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        assert!(text.contains("/dev/pts/"), "{text}");
        assert!(text.contains("\n42\n"), "{text}");
        assert!(
            text.contains("command terminated with exit code 5"),
            "{text}"
        );
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
}

#[test]
fn image_errors_air_gap_and_seccomp() {
    let Some(site) = site() else { return };
    let s = &site.server;
    let ns = s.namespace("1.33", "img");
    let host = site.registry.host();
    let pod = |name: &str, image: &str, extra: &str, cmd: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: app\n    image: {image}\n    command: [sh, -c, '{cmd}']\n{extra}"
        )
    };
    // A missing image and a wrong digest: clear reasons, the pod waits.
    site.apply(
        &ns,
        &pod("missing", &format!("{host}/nothing:here"), "", "true"),
    );
    site.apply(
        &ns,
        &pod(
            "digest",
            &format!("{host}/busybox@sha256:{}", "0".repeat(64)),
            "",
            "true",
        ),
    );
    site.wait_until(
        &ns,
        "missing",
        "{.status.containerStatuses[0].state.waiting.reason}",
        |r| r == "ErrImagePull" || r == "ImagePullBackOff",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let failed = s.ok(
            "1.33",
            &[
                "-n",
                &ns,
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=missing,reason=Failed",
                "-o",
                "jsonpath={.items[*].message}",
            ],
        );
        if failed.contains("nothing:here") && failed.contains("not found") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no Failed event naming the missing image: {failed:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    site.wait_until(
        &ns,
        "digest",
        "{.status.containerStatuses[0].state.waiting.reason}",
        |r| r == "ErrImagePull" || r == "ImagePullBackOff",
    );

    // Air gap: an archive imported with the CLI while the server runs is
    // usable at once, with no registry involved.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sovedge"))
        .args(["image", "import", "--data-dir"])
        .arg(s.data_dir())
        .arg(&common::images::busybox().docker_tar)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let local = common::images::BUSYBOX_DOCKER_REF;
    site.apply(
        &ns,
        &pod(
            "airgap",
            local,
            "    imagePullPolicy: Never\n",
            "echo offline",
        ),
    );
    site.wait(&ns, "airgap", "{.status.phase}", "Succeeded");
    assert_eq!(s.ok("1.33", &["-n", &ns, "logs", "airgap"]), "offline\n");

    // The default seccomp profile blocks what it should; Unconfined does not.
    let image = site.image();
    site.apply(
        &ns,
        &pod(
            "confined",
            &image,
            "",
            "unshare -U true && echo allowed || echo blocked",
        ),
    );
    site.apply(
        &ns,
        &pod(
            "unconfined",
            &image,
            "    securityContext:\n      seccompProfile:\n        type: Unconfined\n",
            "unshare -U true && echo allowed || echo blocked",
        ),
    );
    site.wait(&ns, "confined", "{.status.phase}", "Succeeded");
    site.wait(&ns, "unconfined", "{.status.phase}", "Succeeded");
    // stdout and stderr arrive through separate pipes: compare as sets.
    assert_eq!(
        sorted_lines(&s.ok("1.33", &["-n", &ns, "logs", "confined"])),
        [
            "blocked",
            "unshare: unshare(0x10000000): Operation not permitted"
        ]
    );
    assert_eq!(
        s.ok("1.33", &["-n", &ns, "logs", "unconfined"]),
        "allowed\n"
    );
}

#[test]
fn host_device_through_the_device_cgroup() {
    let Some(site) = site() else { return };
    let s = &site.server;
    let ns = s.namespace("1.33", "dev");
    // A character device outside the default allow list (the kernel log,
    // 1:11), as a serial port or camera would be on a real box.
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("kmsg0");
    let made = std::process::Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "11"])
        .status()
        .unwrap();
    assert!(made.success());
    let image = site.image();
    site.apply(&ns, &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: dev\nspec:\n  restartPolicy: Never\n  containers:\n  - name: app\n    image: {image}\n    command: [sh, -c, 'echo \"<6>sovedge device test\" > /dev/kmsg0 && echo granted']\n    volumeMounts:\n    - {{name: dev, mountPath: /dev/kmsg0}}\n  volumes:\n  - name: dev\n    hostPath:\n      path: {}\n      type: CharDevice\n", dev.display()));
    // Without the volume the same device stays closed, even where the
    // container may create the node.
    site.apply(&ns, &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: nodev\nspec:\n  restartPolicy: Never\n  containers:\n  - name: app\n    image: {image}\n    command: [sh, -c, 'mknod /tmp/k c 1 11 && echo x > /tmp/k && echo leaked || echo refused']\n"));
    site.wait(&ns, "dev", "{.status.phase}", "Succeeded");
    assert_eq!(s.ok("1.33", &["-n", &ns, "logs", "dev"]), "granted\n");
    site.wait(&ns, "nodev", "{.status.phase}", "Succeeded");
    assert_eq!(
        sorted_lines(&s.ok("1.33", &["-n", &ns, "logs", "nodev"])),
        [
            "refused",
            "sh: can't create /tmp/k: Operation not permitted"
        ]
    );
}

/// The lines of `text`, sorted: output of two pipes has no fixed order.
fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort();
    lines
}
