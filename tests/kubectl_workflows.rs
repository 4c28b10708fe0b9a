//! End-to-end: everyday kubectl workflows (apply of edited manifests, diff,
//! edit, prune, the `create` generators, wait, delete -f) against the real
//! binary, with kubectl 1.27 and 1.33. Expected objects are what upstream
//! documents for each command, API defaults included.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{KUBECTL_VERSIONS, Server, json, kubectl_path};
use serde_json::{Value, json};

/// kubectl with extra environment (EDITOR) and the server's kubeconfig.
fn kubectl_env(s: &Server, v: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(kubectl_path(v));
    cmd.args(args)
        .env("KUBECONFIG", s.kubeconfig())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdin(Stdio::null());
    for (k, val) in env {
        cmd.env(k, val);
    }
    cmd.output().expect("run kubectl")
}

fn write(s: &Server, name: &str, text: &str) -> PathBuf {
    let path = s.data_dir().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn get(s: &Server, v: &str, ns: &str, what: &str) -> Value {
    json(&s.ok(v, &["get", "-n", ns, what, "-o", "json"]))
}

/// `v` with ordering-free comparison helpers kept out: the tests compare
/// whole sub-objects, so a missing default or a stray field fails them.
fn at<'a>(v: &'a Value, ptr: &str) -> &'a Value {
    v.pointer(ptr).unwrap_or(&Value::Null)
}

/// The fields upstream defaults on every container of a pod template.
fn container(extra: Value) -> Value {
    let mut c = json!({
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    });
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    c
}

const APP_V1: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: example/app:1.0
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        ports:
        - {containerPort: 80}
        - {containerPort: 8080, name: admin}
        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: cfg, mountPath: /etc/cfg}
      - name: sidecar
        image: example/proxy:1.0
      volumes:
      - name: data
        emptyDir: {}
      - name: cfg
        configMap: {name: cfg}
"#;

const APP_V2: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: logger
        image: example/logger:1.0
      - name: app
        image: example/app:2.0
        env:
        - {name: A, value: "10"}
        - {name: C, value: "3"}
        ports:
        - {containerPort: 80}
        - {containerPort: 9090, name: metrics}
        volumeMounts:
        - {name: data, mountPath: /data}
      volumes:
      - name: data
        hostPath: {path: /srv/data}
"#;

#[test]
fn apply_of_an_edited_manifest_updates_adds_and_removes_list_entries() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = format!("edit-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
        let v1 = write(&s, "app-v1.yaml", APP_V1);
        s.ok(v, &["apply", "-n", &ns, "-f", p(&v1)]);
        // A change made outside the manifest survives the next apply.
        s.ok(v, &["annotate", "-n", &ns, "deployment/web", "team=edge"]);
        let v2 = write(&s, "app-v2.yaml", APP_V2);
        let out = s.ok(v, &["apply", "-n", &ns, "-f", p(&v2)]);
        assert!(out.contains("deployment.apps/web configured"), "{v}: {out}");

        let d = get(&s, v, &ns, "deployment/web");
        let want_containers = json!([
            container(json!({"name": "logger", "image": "example/logger:1.0"})),
            container(json!({"name": "app", "image": "example/app:2.0",
                "env": [{"name": "A", "value": "10"}, {"name": "C", "value": "3"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"},
                    {"containerPort": 9090, "name": "metrics", "protocol": "TCP"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]})),
        ]);
        assert_eq!(
            at(&d, "/spec/template/spec/containers"),
            &want_containers,
            "{v}"
        );
        // volumes merge by name with retainKeys: the emptyDir source goes
        // when the manifest switches the volume to hostPath.
        assert_eq!(
            at(&d, "/spec/template/spec/volumes"),
            &json!([{"name": "data", "hostPath": {"path": "/srv/data", "type": ""}}]),
            "{v}"
        );
        assert_eq!(at(&d, "/metadata/annotations/team"), &json!("edge"), "{v}");
        assert_eq!(at(&d, "/metadata/generation"), &json!(2), "{v}");
        let last = at(
            &d,
            "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        );
        let last = json(last.as_str().expect("last-applied annotation"));
        assert_eq!(
            at(&last, "/spec/template/spec/containers/0/name"),
            &json!("logger")
        );

        // Re-applying the same manifest changes nothing.
        let out = s.ok(v, &["apply", "-n", &ns, "-f", p(&v2)]);
        assert!(out.contains("deployment.apps/web unchanged"), "{v}: {out}");
        let again = get(&s, v, &ns, "deployment/web");
        assert_eq!(
            at(&again, "/metadata/resourceVersion"),
            at(&d, "/metadata/resourceVersion")
        );
    }
}

#[test]
fn diff_exits_one_on_change_and_zero_without() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = format!("diff-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
        let cm = |val: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  mode: {val}\n"
            )
        };
        let f = write(&s, "cm.yaml", &cm("fast"));
        s.ok(v, &["apply", "-f", p(&f)]);
        let same = s.kubectl(v, &["diff", "-f", p(&f)]);
        assert_eq!(same.status.code(), Some(0), "{v}: {:?}", same);
        assert!(same.stdout.is_empty(), "{v}");

        let f = write(&s, "cm.yaml", &cm("slow"));
        let changed = s.kubectl(v, &["diff", "-f", p(&f)]);
        let text = String::from_utf8_lossy(&changed.stdout);
        assert_eq!(changed.status.code(), Some(1), "{v}: {changed:?}");
        assert!(text.contains("-  mode: fast"), "{v}: {text}");
        assert!(text.contains("+  mode: slow"), "{v}: {text}");
        // The dry run wrote nothing.
        let live = get(&s, v, &ns, "configmap/settings");
        assert_eq!(at(&live, "/data/mode"), &json!("fast"), "{v}");

        // A new object diffs against nothing.
        let f = write(
            &s,
            "new.yaml",
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\n  namespace: {ns}\ndata:\n  k: v\n"),
        );
        let created = s.kubectl(v, &["diff", "-f", p(&f)]);
        assert_eq!(created.status.code(), Some(1), "{v}: {created:?}");
        assert!(String::from_utf8_lossy(&created.stdout).contains("+  k: v"));
        s.fails(v, &["get", "-n", &ns, "configmap/fresh"]);
    }
}

#[test]
fn edit_through_an_editor_changes_the_object() {
    let s = Server::start();
    let editor = write(
        &s,
        "editor.sh",
        "#!/bin/sh\nsed -i -e 's/replicas: 1$/replicas: 3/' -e 's/mode: fast/mode: slow/' \"$1\"\n",
    );
    std::fs::set_permissions(
        &editor,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for v in KUBECTL_VERSIONS {
        let ns = format!("ed-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
        s.ok(v, &["create", "deployment", "web", "-n", &ns, "--image=nginx:1.25", "--replicas=1"]);
        s.ok(v, &["create", "configmap", "settings", "-n", &ns, "--from-literal=mode=fast"]);
        for what in ["deployment/web", "configmap/settings"] {
            let out = kubectl_env(&s, v, &[("EDITOR", p(&editor))], &["edit", "-n", &ns, what]);
            assert!(out.status.success(), "{v} {what}: {out:?}");
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("edited"),
                "{v}: {out:?}"
            );
        }
        assert_eq!(at(&get(&s, v, &ns, "deployment/web"), "/spec/replicas"), &json!(3));
        assert_eq!(
            at(&get(&s, v, &ns, "configmap/settings"), "/data/mode"),
            &json!("slow")
        );
        // An editor that changes nothing cancels the edit.
        let out = kubectl_env(&s, v, &[("EDITOR", "true")], &["edit", "-n", &ns, "configmap/settings"]);
        assert!(out.status.success(), "{v}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Edit cancelled"), "{v}: {out:?}");
    }
}

#[test]
fn apply_prune_removes_objects_dropped_from_the_manifest() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = format!("prune-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
        let doc = |names: &[&str]| {
            names
                .iter()
                .map(|n| {
                    format!(
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n  labels: {{app: x}}\ndata:\n  k: v\n"
                    )
                })
                .collect::<Vec<_>>()
                .join("---\n")
        };
        let f = write(&s, "prune.yaml", &doc(&["one", "two"]));
        s.ok(v, &["apply", "-n", &ns, "--prune", "-l", "app=x", "-f", p(&f)]);
        // Labelled alike but never applied: prune leaves it alone.
        s.ok(v, &["create", "configmap", "manual", "-n", &ns, "--from-literal=k=v"]);
        s.ok(v, &["label", "-n", &ns, "configmap/manual", "app=x"]);
        let f = write(&s, "prune.yaml", &doc(&["one"]));
        let out = s.ok(v, &["apply", "-n", &ns, "--prune", "-l", "app=x", "-f", p(&f)]);
        assert!(out.contains("configmap/two pruned"), "{v}: {out}");
        let names = s.ok(v, &["get", "configmaps", "-n", &ns, "-l", "app=x", "-o", "name"]);
        let mut names: Vec<&str> = names.lines().collect();
        names.sort();
        assert_eq!(names, ["configmap/manual", "configmap/one"], "{v}");
    }
}

#[test]
fn delete_from_file_and_wait() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = format!("wait-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
        let out = s.ok(
            v,
            &["wait", "--for=jsonpath={.status.phase}=Active", &format!("namespace/{ns}"), "--timeout=10s"],
        );
        assert!(out.contains("condition met"), "{v}: {out}");

        s.ok(v, &["create", "job", "j", "-n", &ns, "--image=busybox"]);
        // A status writer (the job controller's role) marks it complete.
        let status = r#"{"status":{"conditions":[{"type":"Complete","status":"True"}]}}"#;
        s.ok(
            v,
            &["patch", "job/j", "-n", &ns, "--subresource=status", "--type=merge", "-p", status],
        );
        let out = s.ok(v, &["wait", "--for=condition=Complete", "job/j", "-n", &ns, "--timeout=10s"]);
        assert!(out.contains("condition met"), "{v}: {out}");
        let err = s.fails(v, &["wait", "--for=condition=Failed", "job/j", "-n", &ns, "--timeout=1s"]);
        assert!(err.contains("timed out"), "{v}: {err}");

        let f = write(
            &s,
            "del.yaml",
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: {ns}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  namespace: {ns}\n"),
        );
        s.ok(v, &["apply", "-f", p(&f)]);
        let waiter = Command::new(kubectl_path(v))
            .args(["wait", "--for=delete", "configmap/a", "-n", &ns, "--timeout=20s"])
            .env("KUBECONFIG", s.kubeconfig())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let out = s.ok(v, &["delete", "-f", p(&f)]);
        assert!(out.contains("configmap \"a\" deleted"), "{v}: {out}");
        assert!(out.contains("secret \"b\" deleted"), "{v}: {out}");
        let done = waiter.wait_with_output().unwrap();
        assert!(done.status.success(), "{v}: {done:?}");
        s.fails(v, &["get", "-n", &ns, "secret/b"]);
        // Waiting for the deletion of something already gone succeeds.
        s.ok(v, &["wait", "--for=delete", "configmap/a", "-n", &ns, "--timeout=2s"]);
    }
}
