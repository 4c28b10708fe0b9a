//! End-to-end: everyday kubectl workflows against the real binary with
//! kubectl 1.27 and 1.33: client-side apply of edited manifests, diff, edit,
//! prune, wait, delete -f and the kubectl patch task page. Expected objects
//! are what upstream documents, API defaults included.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::objects::{at, container, get, kubectl_env, p, write};
use common::{KUBECTL_VERSIONS, Server, json, kubectl_path};
use serde_json::json;

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
        let ns = s.namespace(v, "edit");
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
        let ns = s.namespace(v, "diff");
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
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\n  namespace: {ns}\ndata:\n  k: v\n"
            ),
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
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "ed");
        s.ok(
            v,
            &[
                "create",
                "deployment",
                "web",
                "-n",
                &ns,
                "--image=nginx:1.25",
                "--replicas=1",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "configmap",
                "settings",
                "-n",
                &ns,
                "--from-literal=mode=fast",
            ],
        );
        for what in ["deployment/web", "configmap/settings"] {
            let out = kubectl_env(&s, v, &[("EDITOR", p(&editor))], &["edit", "-n", &ns, what]);
            assert!(out.status.success(), "{v} {what}: {out:?}");
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("edited"),
                "{v}: {out:?}"
            );
        }
        assert_eq!(
            at(&get(&s, v, &ns, "deployment/web"), "/spec/replicas"),
            &json!(3)
        );
        assert_eq!(
            at(&get(&s, v, &ns, "configmap/settings"), "/data/mode"),
            &json!("slow")
        );
        // An editor that changes nothing cancels the edit.
        let out = kubectl_env(
            &s,
            v,
            &[("EDITOR", "true")],
            &["edit", "-n", &ns, "configmap/settings"],
        );
        assert!(out.status.success(), "{v}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Edit cancelled"),
            "{v}: {out:?}"
        );
    }
}

/// A multi-document manifest of ConfigMaps `names`, each holding `k: v`,
/// with `meta` appended to their metadata.
fn config_maps(names: &[&str], meta: &str) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}{meta}\ndata:\n  k: v\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

#[test]
fn apply_prune_removes_objects_dropped_from_the_manifest() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "prune");
        let doc = |names: &[&str]| config_maps(names, "\n  labels: {app: x}");
        let f = write(&s, "prune.yaml", &doc(&["one", "two"]));
        s.ok(
            v,
            &["apply", "-n", &ns, "--prune", "-l", "app=x", "-f", p(&f)],
        );
        // Labelled alike but never applied: prune leaves it alone.
        s.ok(
            v,
            &[
                "create",
                "configmap",
                "manual",
                "-n",
                &ns,
                "--from-literal=k=v",
            ],
        );
        s.ok(v, &["label", "-n", &ns, "configmap/manual", "app=x"]);
        let f = write(&s, "prune.yaml", &doc(&["one"]));
        let out = s.ok(
            v,
            &["apply", "-n", &ns, "--prune", "-l", "app=x", "-f", p(&f)],
        );
        assert!(out.contains("configmap/two pruned"), "{v}: {out}");
        let names = s.ok(
            v,
            &["get", "configmaps", "-n", &ns, "-l", "app=x", "-o", "name"],
        );
        let mut names: Vec<&str> = names.lines().collect();
        names.sort();
        assert_eq!(names, ["configmap/manual", "configmap/one"], "{v}");
    }
}

#[test]
fn delete_from_file_and_wait() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "wait");
        let out = s.ok(
            v,
            &[
                "wait",
                "--for=jsonpath={.status.phase}=Active",
                &format!("namespace/{ns}"),
                "--timeout=10s",
            ],
        );
        assert!(out.contains("condition met"), "{v}: {out}");

        s.ok(v, &["create", "job", "j", "-n", &ns, "--image=busybox"]);
        // A status writer (the job controller's role) marks it complete.
        let status = r#"{"status":{"conditions":[{"type":"Complete","status":"True"}]}}"#;
        s.ok(
            v,
            &[
                "patch",
                "job/j",
                "-n",
                &ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                status,
            ],
        );
        let out = s.ok(
            v,
            &[
                "wait",
                "--for=condition=Complete",
                "job/j",
                "-n",
                &ns,
                "--timeout=10s",
            ],
        );
        assert!(out.contains("condition met"), "{v}: {out}");
        let err = s.fails(
            v,
            &[
                "wait",
                "--for=condition=Failed",
                "job/j",
                "-n",
                &ns,
                "--timeout=1s",
            ],
        );
        assert!(err.contains("timed out"), "{v}: {err}");

        let f = write(
            &s,
            "del.yaml",
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: {ns}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  namespace: {ns}\n"
            ),
        );
        s.ok(v, &["apply", "-f", p(&f)]);
        let waiter = Command::new(kubectl_path(v))
            .args([
                "wait",
                "--for=delete",
                "configmap/a",
                "-n",
                &ns,
                "--timeout=20s",
            ])
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
        s.ok(
            v,
            &[
                "wait",
                "--for=delete",
                "configmap/a",
                "-n",
                &ns,
                "--timeout=2s",
            ],
        );
    }
}

/// The examples of upstream's "Update API Objects in Place Using kubectl
/// patch" task page, run as the page runs them.
#[test]
fn kubectl_patch_task_page_examples() {
    let s = Server::start();
    let demo = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: patch-demo
spec:
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: patch-demo-ctr
        image: nginx
      tolerations:
      - effect: NoSchedule
        key: dedicated
        value: test-team
"#;
    let retain = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: retainkeys-demo
spec:
  selector:
    matchLabels:
      app: nginx
  strategy:
    rollingUpdate:
      maxSurge: 30%
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: retainkeys-demo-ctr
        image: nginx
"#;
    let patch_file = write(
        &s,
        "patch-file.yaml",
        "spec:\n  template:\n    spec:\n      containers:\n      - name: patch-demo-ctr-2\n        image: redis\n",
    );
    let tolerations = write(
        &s,
        "patch-file-tolerations.yaml",
        "spec:\n  template:\n    spec:\n      tolerations:\n      - effect: NoSchedule\n        key: disktype\n        value: ssd\n",
    );
    let no_retain = write(
        &s,
        "patch-file-no-retainkeys.yaml",
        "spec:\n  strategy:\n    type: Recreate\n",
    );
    let with_retain = write(
        &s,
        "patch-file-retainkeys.yaml",
        "spec:\n  strategy:\n    $retainKeys:\n    - type\n    type: Recreate\n",
    );
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "patch");
        let n = ns.as_str();
        s.ok_stdin(v, &["apply", "-n", n, "-f", "-"], demo);
        s.ok(v, &patch_with_file(n, "patch-demo", &[], &patch_file));
        let d = get(&s, v, n, "deployment/patch-demo");
        assert_eq!(
            at(&d, "/spec/template/spec/containers"),
            &json!([
                container(json!({"name": "patch-demo-ctr-2", "image": "redis",
                    "imagePullPolicy": "Always"})),
                container(json!({"name": "patch-demo-ctr", "image": "nginx",
                    "imagePullPolicy": "Always"})),
            ]),
            "{v}"
        );
        s.ok(v, &patch_with_file(n, "patch-demo", &[], &tolerations));
        let d = get(&s, v, n, "deployment/patch-demo");
        assert_eq!(
            at(&d, "/spec/template/spec/tolerations"),
            &json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]),
            "{v}"
        );

        s.ok_stdin(v, &["apply", "-n", n, "-f", "-"], retain);
        let err = s.fails(
            v,
            &patch_with_file(n, "retainkeys-demo", &["--type", "strategic"], &no_retain),
        );
        assert!(
            err.contains("spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"),
            "{v}: {err}"
        );
        s.ok(
            v,
            &patch_with_file(n, "retainkeys-demo", &["--type", "strategic"], &with_retain),
        );
        let d = get(&s, v, n, "deployment/retainkeys-demo");
        assert_eq!(
            at(&d, "/spec/strategy"),
            &json!({"type": "Recreate"}),
            "{v}"
        );

        // The scale subresource takes a merge patch, as on the page.
        s.ok(
            v,
            &[
                "patch",
                "-n",
                n,
                "deployment",
                "patch-demo",
                "--subresource=scale",
                "--type=merge",
                "-p",
                r#"{"spec":{"replicas":3}}"#,
            ],
        );
        assert_eq!(
            at(&get(&s, v, n, "deployment/patch-demo"), "/spec/replicas"),
            &json!(3),
            "{v}"
        );
    }
}

/// `kubectl patch` arguments applying the patch file `file` to the
/// Deployment `name` in namespace `ns`, with `flags` before the file.
fn patch_with_file<'a>(
    ns: &'a str,
    name: &'a str,
    flags: &[&'a str],
    file: &'a Path,
) -> Vec<&'a str> {
    let mut args = vec!["patch", "-n", ns, "deployment", name];
    args.extend_from_slice(flags);
    args.extend(["--patch-file", p(file)]);
    args
}

/// An edited Service manifest re-applied: ports merge by `port`, the
/// assigned cluster IP and node port stay, a new port gets its own.
#[test]
fn apply_of_an_edited_service_keeps_assigned_addresses() {
    let s = Server::start();
    let svc = |ports: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n  selector: {{app: web}}\n  ports:\n{ports}"
        )
    };
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "svc");
        let n = ns.as_str();
        let f = write(
            &s,
            "svc.yaml",
            &svc("  - {name: http, port: 80, targetPort: 8080}\n"),
        );
        s.ok(v, &["apply", "-n", n, "-f", p(&f)]);
        let before = get(&s, v, n, "service/web");
        let f = write(
            &s,
            "svc.yaml",
            &svc(
                "  - {name: http, port: 80, targetPort: 9090}\n  - {name: https, port: 443, targetPort: 8443}\n",
            ),
        );
        s.ok(v, &["apply", "-n", n, "-f", p(&f)]);
        let after = get(&s, v, n, "service/web");
        assert_eq!(
            after["spec"]["clusterIP"], before["spec"]["clusterIP"],
            "{v}"
        );
        let ports = after["spec"]["ports"].as_array().unwrap();
        assert_eq!(ports.len(), 2, "{v}: {ports:?}");
        assert_eq!(
            (
                &ports[0]["port"],
                &ports[0]["targetPort"],
                &ports[0]["nodePort"]
            ),
            (
                &json!(80),
                &json!(9090),
                &before["spec"]["ports"][0]["nodePort"]
            ),
            "{v}"
        );
        assert_eq!(ports[1]["port"], 443, "{v}");
        let np = ports[1]["nodePort"].as_i64().unwrap();
        assert!(
            (30000..=32767).contains(&np) && json!(np) != ports[0]["nodePort"],
            "{v}"
        );
        // A node port another Service holds is refused.
        let taken = ports[1]["nodePort"].clone();
        let other = format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: other\nspec:\n  type: NodePort\n  ports:\n  - {{port: 80, nodePort: {taken}}}\n"
        );
        let f = write(&s, "other.yaml", &other);
        let err = s.fails(v, &["apply", "-n", n, "-f", p(&f)]);
        assert!(
            err.contains(&format!(
                "spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated"
            )),
            "{v}: {err}"
        );
    }
}

/// kubectl 1.27+ also prunes by ApplySet (behind KUBECTL_APPLYSET): the
/// parent Secret, applied server-side, records the member kinds; members
/// carry the part-of label; members left out of the manifest are pruned.
#[test]
fn apply_prune_by_applyset() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "applyset");
        let doc = |names: &[&str]| config_maps(names, "");
        let env = [("KUBECTL_APPLYSET", "true")];
        let f = write(&s, "set.yaml", &doc(&["one", "two"]));
        let args = ["apply", "-n", &ns, "--prune", "--applyset=web", "-f", p(&f)];
        let out = kubectl_env(&s, v, &env, &args);
        assert!(out.status.success(), "{v}: {out:?}");
        let parent = get(&s, v, &ns, "secret/web");
        let id = at(&parent, "/metadata/labels/applyset.kubernetes.io~1id")
            .as_str()
            .expect("applyset id label")
            .to_owned();
        let member = get(&s, v, &ns, "configmap/two");
        assert_eq!(
            at(&member, "/metadata/labels/applyset.kubernetes.io~1part-of"),
            &json!(id),
            "{v}"
        );

        write(&s, "set.yaml", &doc(&["one"]));
        let out = kubectl_env(&s, v, &env, &args);
        assert!(out.status.success(), "{v}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("configmap/two pruned"),
            "{v}: {out:?}"
        );
        s.fails(v, &["get", "-n", &ns, "configmap/two"]);
        s.ok(v, &["get", "-n", &ns, "configmap/one"]);
    }
}
