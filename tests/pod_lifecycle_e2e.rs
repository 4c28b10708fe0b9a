//! Container lifecycle on the embedded kubelet: restart back-off, OOM
//! kills, probes, init containers and every volume type, seen through
//! kubectl.

mod common;

use common::site::site;

fn pod(name: &str, body: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\nspec:\n{body}"
    )
}

#[test]
fn crash_loop_oom_probes_and_init_order() {
    let Some(site) = site() else { return };
    let s = &site.server;
    let ns = s.namespace("1.33", "life");
    let image = site.image();
    site.apply(&ns, &pod("crash", &format!("  containers:\n  - name: app\n    image: {image}\n    command: [sh, -c, 'echo boom; exit 1']\n")));
    site.apply(&ns, &pod("oom", &format!("  restartPolicy: Never\n  containers:\n  - name: app\n    image: {image}\n    command: [sh, -c, 'tail /dev/zero']\n    resources:\n      limits:\n        memory: 16Mi\n")));
    site.apply(&ns, &pod("unready", &format!("  containers:\n  - name: app\n    image: {image}\n    command: [sleep, '3600']\n    readinessProbe:\n      exec:\n        command: ['false']\n      periodSeconds: 1\n")));
    site.apply(&ns, &pod("ready", &format!("  containers:\n  - name: app\n    image: {image}\n    command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www']\n    readinessProbe:\n      httpGet:\n        path: /index.html\n        port: 8080\n      periodSeconds: 1\n    livenessProbe:\n      tcpSocket:\n        port: 8080\n      periodSeconds: 2\n")));
    site.apply(&ns, &pod("init", &format!("  volumes:\n  - name: work\n    emptyDir: {{}}\n  initContainers:\n  - name: first\n    image: {image}\n    command: [sh, -c, 'echo one >> /work/order']\n    volumeMounts: [{{name: work, mountPath: /work}}]\n  - name: second\n    image: {image}\n    command: [sh, -c, 'test -f /work/order && echo two >> /work/order']\n    volumeMounts: [{{name: work, mountPath: /work}}]\n  containers:\n  - name: app\n    image: {image}\n    command: [sh, -c, 'cat /work/order; exec sleep 3600']\n    volumeMounts: [{{name: work, mountPath: /work}}]\n")));

    // Init containers ran in order, before the app container.
    site.wait(&ns, "init", "{.status.phase}", "Running");
    assert_eq!(
        site.wait_until(
            &ns,
            "init",
            "{.status.initContainerStatuses[*].state.terminated.reason}",
            |s| s == "Completed Completed"
        ),
        "Completed Completed"
    );
    let logs = s.ok("1.33", &["-n", &ns, "logs", "init"]);
    assert_eq!(logs, "one\ntwo\n");

    // OOM kill reported as such.
    site.wait(
        &ns,
        "oom",
        "{.status.containerStatuses[0].state.terminated.reason}",
        "OOMKilled",
    );
    site.wait(&ns, "oom", "{.status.phase}", "Failed");

    // Readiness: the failing probe keeps the pod un-Ready while it runs; the
    // HTTP probe makes the other Ready.
    site.wait(
        &ns,
        "ready",
        "{.status.conditions[?(@.type==\"Ready\")].status}",
        "True",
    );
    site.wait(&ns, "unready", "{.status.phase}", "Running");
    site.wait_until(
        &ns,
        "unready",
        "{.status.containerStatuses[0].started}",
        |s| s == "true",
    );
    let events = s.ok(
        "1.33",
        &[
            "-n",
            &ns,
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=unready,reason=Unhealthy",
            "-o",
            "name",
        ],
    );
    let _ = events;
    site.wait_until(
        &ns,
        "unready",
        "{.status.containerStatuses[0].restartCount}",
        |s| s == "0",
    );
    assert_eq!(
        s.ok(
            "1.33",
            &[
                "-n",
                &ns,
                "get",
                "pod",
                "unready",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"
            ]
        ),
        "False"
    );

    // Crash loop with a growing back-off.
    let first = site.wait_until(
        &ns,
        "crash",
        "{.status.containerStatuses[0].state.waiting.message}",
        |m| m.contains("back-off 10s"),
    );
    assert!(
        first.contains("restarting failed container=app pod=crash_"),
        "{first}"
    );
    site.wait(
        &ns,
        "crash",
        "{.status.containerStatuses[0].state.waiting.reason}",
        "CrashLoopBackOff",
    );
    site.wait_until(
        &ns,
        "crash",
        "{.status.containerStatuses[0].state.waiting.message}",
        |m| m.contains("back-off 20s"),
    );
    let restarts: i64 = s
        .ok(
            "1.33",
            &[
                "-n",
                &ns,
                "get",
                "pod",
                "crash",
                "-o",
                "jsonpath={.status.containerStatuses[0].restartCount}",
            ],
        )
        .parse()
        .unwrap();
    assert!(restarts >= 2, "restarts {restarts}");
    assert_eq!(
        s.ok("1.33", &["-n", &ns, "get", "pod", "crash", "-o", "jsonpath={.status.containerStatuses[0].lastState.terminated.reason}/{.status.containerStatuses[0].lastState.terminated.exitCode}"]),
        "Error/1"
    );
    assert_eq!(
        s.ok("1.33", &["-n", &ns, "logs", "crash", "--previous"]),
        "boom\n"
    );
}

#[test]
fn volumes_have_their_content_and_modes() {
    let Some(site) = site() else { return };
    let s = &site.server;
    let ns = s.namespace("1.33", "vols");
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("from-host"), "host file\n").unwrap();
    s.ok(
        "1.33",
        &[
            "-n",
            &ns,
            "create",
            "configmap",
            "cfg",
            "--from-literal=greeting=hello",
        ],
    );
    s.ok(
        "1.33",
        &[
            "-n",
            &ns,
            "create",
            "secret",
            "generic",
            "sec",
            "--from-literal=password=s3cret",
        ],
    );
    let image = site.image();
    site.apply(
        &ns,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata:
  name: vols
  labels:
    tier: edge
spec:
  containers:
  - name: app
    image: {image}
    command: [sleep, "3600"]
    volumeMounts:
    - {{name: cfg, mountPath: /etc/cfg}}
    - {{name: sec, mountPath: /etc/sec}}
    - {{name: proj, mountPath: /var/run/proj}}
    - {{name: down, mountPath: /etc/podinfo}}
    - {{name: scratch, mountPath: /scratch}}
    - {{name: mem, mountPath: /mem}}
    - {{name: host, mountPath: /host, readOnly: true}}
  volumes:
  - name: cfg
    configMap:
      name: cfg
      defaultMode: 0440
  - name: sec
    secret:
      secretName: sec
      defaultMode: 0400
  - name: proj
    projected:
      sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3600
      - configMap:
          name: kube-root-ca.crt
          items:
          - {{key: ca.crt, path: ca.crt}}
  - name: down
    downwardAPI:
      items:
      - path: labels
        fieldRef: {{fieldPath: metadata.labels}}
      - path: name
        fieldRef: {{fieldPath: metadata.name}}
  - name: scratch
    emptyDir: {{}}
  - name: mem
    emptyDir:
      medium: Memory
      sizeLimit: 8Mi
  - name: host
    hostPath:
      path: {host}
      type: Directory
"#,
            host = host.path().display()
        ),
    );
    site.wait(&ns, "vols", "{.status.phase}", "Running");
    assert_eq!(
        site.exec(&ns, "vols", &["cat", "/etc/cfg/greeting"]),
        "hello"
    );
    assert_eq!(
        site.exec(
            &ns,
            "vols",
            &["stat", "-L", "-c", "%a", "/etc/cfg/greeting"]
        ),
        "440\n"
    );
    assert_eq!(
        site.exec(&ns, "vols", &["cat", "/etc/sec/password"]),
        "s3cret"
    );
    assert_eq!(
        site.exec(
            &ns,
            "vols",
            &["stat", "-L", "-c", "%a", "/etc/sec/password"]
        ),
        "400\n"
    );
    let token = site.exec(&ns, "vols", &["cat", "/var/run/proj/token"]);
    assert_eq!(token.split('.').count(), 3, "{token}");
    // The projected token authenticates as the pod's service account.
    let who = std::process::Command::new(common::kubectl_path("1.33"))
        .args([
            "--server",
            &s.url(),
            "--insecure-skip-tls-verify",
            "--token",
            token.trim(),
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&who.stdout),
        format!("system:serviceaccount:{ns}:default"),
        "{who:?}"
    );
    assert!(
        site.exec(&ns, "vols", &["cat", "/var/run/proj/ca.crt"])
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(
        site.exec(&ns, "vols", &["cat", "/etc/podinfo/labels"]),
        "tier=\"edge\""
    );
    assert_eq!(
        site.exec(&ns, "vols", &["cat", "/etc/podinfo/name"]),
        "vols"
    );
    site.exec(
        &ns,
        "vols",
        &["sh", "-c", "echo scratch > /scratch/x && cat /scratch/x"],
    );
    let mounts = site.exec(&ns, "vols", &["cat", "/proc/mounts"]);
    assert!(
        mounts.lines().any(|l| l.contains(" /mem tmpfs ")),
        "{mounts}"
    );
    assert_eq!(
        site.exec(&ns, "vols", &["cat", "/host/from-host"]),
        "host file\n"
    );
    let out = s.kubectl(
        "1.33",
        &[
            "-n",
            &ns,
            "exec",
            "vols",
            "--",
            "sh",
            "-c",
            "echo x > /host/new",
        ],
    );
    assert!(!out.status.success(), "read-only hostPath was writable");
    // A configMap update reaches the running container.
    s.ok(
        "1.33",
        &[
            "-n",
            &ns,
            "patch",
            "configmap",
            "cfg",
            "-p",
            r#"{"data":{"greeting":"updated"}}"#,
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(150);
    while site.exec(&ns, "vols", &["cat", "/etc/cfg/greeting"]) != "updated" {
        assert!(
            std::time::Instant::now() < deadline,
            "configMap update never arrived"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
