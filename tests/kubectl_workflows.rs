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
        let ns = format!("ed-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
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
        let ns = format!("wait-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
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

/// Removes `ptr` from `v` and returns what was there.
fn take(v: &mut Value, ptr: &str) -> Value {
    let (parent, last) = ptr.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove(last))
        .unwrap_or(Value::Null)
}

/// The pod template spec fields upstream defaults, around `containers`.
fn pod_spec(containers: Value, restart: &str) -> Value {
    json!({
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": restart,
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    })
}

fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn create_generators_make_what_upstream_makes() {
    let s = Server::start();
    let dir = s.data_dir().to_path_buf();
    let file = write(&s, "app.properties", "color=blue\nsize=2\n");
    let env = write(&s, "app.env", "# comment\nMODE=fast\nLEVEL=3\n");
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=example.com",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");

    for v in KUBECTL_VERSIONS {
        let tag = v.replace('.', "-");
        let ns = format!("gen-{tag}");
        let n = ns.as_str();
        s.ok(v, &["create", "namespace", n]);
        let namespace = get(&s, v, "default", &format!("namespace/{n}"));
        assert_eq!(
            namespace["spec"],
            json!({"finalizers": ["kubernetes"]}),
            "{v}"
        );
        assert_eq!(namespace["status"], json!({"phase": "Active"}), "{v}");
        assert_eq!(
            namespace["metadata"]["labels"],
            json!({"kubernetes.io/metadata.name": n}),
            "{v}"
        );

        // deployment
        s.ok(
            v,
            &[
                "create",
                "deployment",
                "web",
                "-n",
                n,
                "--image=nginx:1.25",
                "--replicas=2",
                "--port=80",
            ],
        );
        let d = get(&s, v, n, "deployment/web");
        assert_eq!(d["metadata"]["labels"], json!({"app": "web"}), "{v}");
        assert_eq!(
            d["spec"],
            json!({
                "progressDeadlineSeconds": 600,
                "replicas": 2,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": pod_spec(json!([container(json!({"name": "nginx", "image": "nginx:1.25",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}]}))]), "Always"),
                },
            }),
            "{v}"
        );

        // configmaps
        let f = format!("--from-file=props={}", p(&file));
        s.ok(
            v,
            &[
                "create",
                "configmap",
                "cm",
                "-n",
                n,
                "--from-literal=a=1",
                "--from-literal=b=two",
                &f,
            ],
        );
        let cm = get(&s, v, n, "configmap/cm");
        assert_eq!(
            cm["data"],
            json!({"a": "1", "b": "two", "props": "color=blue\nsize=2\n"}),
            "{v}"
        );
        let f = format!("--from-file={}", p(&file));
        s.ok(v, &["create", "configmap", "cm-file", "-n", n, &f]);
        assert_eq!(
            get(&s, v, n, "configmap/cm-file")["data"],
            json!({"app.properties": "color=blue\nsize=2\n"}),
            "{v}"
        );
        let f = format!("--from-env-file={}", p(&env));
        s.ok(v, &["create", "configmap", "cm-env", "-n", n, &f]);
        assert_eq!(
            get(&s, v, n, "configmap/cm-env")["data"],
            json!({"MODE": "fast", "LEVEL": "3"}),
            "{v}"
        );

        // secrets
        s.ok(
            v,
            &[
                "create",
                "secret",
                "generic",
                "gen",
                "-n",
                n,
                "--from-literal=user=admin",
            ],
        );
        let sec = get(&s, v, n, "secret/gen");
        assert_eq!(sec["type"], "Opaque", "{v}");
        assert_eq!(sec["data"], json!({"user": "YWRtaW4="}), "{v}");
        let (c, k) = (format!("--cert={}", p(&crt)), format!("--key={}", p(&key)));
        s.ok(v, &["create", "secret", "tls", "tls", "-n", n, &c, &k]);
        let sec = get(&s, v, n, "secret/tls");
        assert_eq!(sec["type"], "kubernetes.io/tls", "{v}");
        assert_eq!(
            sec["data"],
            json!({"tls.crt": b64(&std::fs::read(&crt).unwrap()),
                "tls.key": b64(&std::fs::read(&key).unwrap())}),
            "{v}"
        );
        s.ok(
            v,
            &[
                "create",
                "secret",
                "docker-registry",
                "reg",
                "-n",
                n,
                "--docker-server=reg.example.com",
                "--docker-username=u",
                "--docker-password=p",
                "--docker-email=u@example.com",
            ],
        );
        let sec = get(&s, v, n, "secret/reg");
        assert_eq!(sec["type"], "kubernetes.io/dockerconfigjson", "{v}");
        let raw = sec["data"][".dockerconfigjson"].as_str().unwrap();
        use base64::Engine;
        let cfg: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(raw)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            cfg,
            json!({"auths": {"reg.example.com": {"username": "u", "password": "p",
                "email": "u@example.com", "auth": b64(b"u:p")}}}),
            "{v}"
        );

        // cronjob, and a job made from it
        s.ok(
            v,
            &[
                "create",
                "cronjob",
                "tick",
                "-n",
                n,
                "--image=busybox:1.36",
                "--schedule=*/5 * * * *",
                "--",
                "date",
            ],
        );
        let cj = get(&s, v, n, "cronjob/tick");
        assert_eq!(
            cj["spec"],
            json!({
                "concurrencyPolicy": "Allow",
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {"metadata": {"name": "tick"}, "spec": {"template": {
                    "metadata": {},
                    "spec": pod_spec(json!([container(json!({"name": "tick", "image": "busybox:1.36",
                        "command": ["date"]}))]), "OnFailure")}}},
                "schedule": "*/5 * * * *",
                "successfulJobsHistoryLimit": 3,
                "suspend": false,
            }),
            "{v}"
        );
        s.ok(
            v,
            &["create", "job", "manual", "-n", n, "--from=cronjob/tick"],
        );
        let job = get(&s, v, n, "job/manual");
        assert_eq!(
            job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual",
            "{v}"
        );
        let owner = &job["metadata"]["ownerReferences"][0];
        assert_eq!(
            (
                &owner["apiVersion"],
                &owner["kind"],
                &owner["name"],
                &owner["uid"]
            ),
            (
                &json!("batch/v1"),
                &json!("CronJob"),
                &json!("tick"),
                &cj["metadata"]["uid"]
            ),
            "{v}"
        );
        assert_eq!(
            job["spec"]["template"]["spec"]["containers"][0]["command"],
            json!(["date"]),
            "{v}"
        );

        // job
        s.ok(
            v,
            &[
                "create",
                "job",
                "once",
                "-n",
                n,
                "--image=busybox:1.36",
                "--",
                "echo",
                "hi",
            ],
        );
        let mut job = get(&s, v, n, "job/once");
        let uid = job["metadata"]["uid"].as_str().unwrap().to_owned();
        let labels = json!({"batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": "once", "controller-uid": uid, "job-name": "once"});
        assert_eq!(
            take(&mut job, "/spec/template/metadata/labels"),
            labels,
            "{v}"
        );
        assert_eq!(
            job["spec"],
            json!({
                "backoffLimit": 6,
                "completionMode": "NonIndexed",
                "completions": 1,
                "manualSelector": false,
                "parallelism": 1,
                "podReplacementPolicy": "TerminatingOrFailed",
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                "suspend": false,
                "template": {"metadata": {}, "spec": pod_spec(json!([container(json!({
                    "name": "once", "image": "busybox:1.36", "command": ["echo", "hi"]}))]), "Never")},
            }),
            "{v}"
        );

        // services
        s.ok(
            v,
            &[
                "create",
                "service",
                "clusterip",
                "cip",
                "-n",
                n,
                "--tcp=80:8080",
            ],
        );
        let mut svc = get(&s, v, n, "service/cip");
        let ip = take(&mut svc, "/spec/clusterIP");
        assert!(
            ip.as_str().unwrap().parse::<std::net::Ipv4Addr>().is_ok(),
            "{v}: {ip}"
        );
        assert_eq!(take(&mut svc, "/spec/clusterIPs"), json!([ip]), "{v}");
        assert_eq!(svc["metadata"]["labels"], json!({"app": "cip"}), "{v}");
        assert_eq!(
            svc["spec"],
            json!({
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                "selector": {"app": "cip"},
                "sessionAffinity": "None",
                "type": "ClusterIP",
            }),
            "{v}"
        );
        assert_eq!(svc["status"], json!({"loadBalancer": {}}), "{v}");

        s.ok(
            v,
            &[
                "create",
                "service",
                "nodeport",
                "np",
                "-n",
                n,
                "--tcp=80:8080",
            ],
        );
        let svc = get(&s, v, n, "service/np");
        assert_eq!(svc["spec"]["type"], "NodePort", "{v}");
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Cluster", "{v}");
        let port = svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap_or(0);
        assert!((30000..=32767).contains(&port), "{v}: {svc}");

        s.ok(
            v,
            &[
                "create",
                "service",
                "loadbalancer",
                "lb",
                "-n",
                n,
                "--tcp=443:8443",
            ],
        );
        let svc = get(&s, v, n, "service/lb");
        assert_eq!(svc["spec"]["type"], "LoadBalancer", "{v}");
        assert_eq!(svc["spec"]["allocateLoadBalancerNodePorts"], true, "{v}");
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Cluster", "{v}");
        assert!(svc["spec"]["ports"][0]["nodePort"].is_i64(), "{v}: {svc}");

        s.ok(
            v,
            &[
                "create",
                "service",
                "externalname",
                "ext",
                "-n",
                n,
                "--external-name=db.example.com",
            ],
        );
        let svc = get(&s, v, n, "service/ext");
        assert_eq!(
            svc["spec"],
            json!({"externalName": "db.example.com", "selector": {"app": "ext"},
                "sessionAffinity": "None", "type": "ExternalName"}),
            "{v}"
        );

        // service account
        s.ok(v, &["create", "serviceaccount", "robot", "-n", n]);
        let sa = get(&s, v, n, "serviceaccount/robot");
        assert_eq!(sa["metadata"]["name"], "robot", "{v}");
        assert!(sa.get("secrets").is_none(), "{v}: {sa}");

        // RBAC
        s.ok(
            v,
            &[
                "create",
                "role",
                "reader",
                "-n",
                n,
                "--verb=get,list",
                "--resource=pods",
            ],
        );
        assert_eq!(
            get(&s, v, n, "role/reader")["rules"],
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
            "{v}"
        );
        let cr = format!("deploy-reader-{tag}");
        s.ok(
            v,
            &[
                "create",
                "clusterrole",
                &cr,
                "--verb=get",
                "--resource=deployments.apps",
            ],
        );
        assert_eq!(
            get(&s, v, n, &format!("clusterrole/{cr}"))["rules"],
            json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]),
            "{v}"
        );
        s.ok(
            v,
            &[
                "create",
                "rolebinding",
                "rb",
                "-n",
                n,
                "--clusterrole=view",
                "--user=alice",
            ],
        );
        let rb = get(&s, v, n, "rolebinding/rb");
        assert_eq!(
            (&rb["roleRef"], &rb["subjects"]),
            (
                &json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}),
                &json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}])
            ),
            "{v}"
        );
        let crb = format!("crb-{tag}");
        let sa_ref = format!("--serviceaccount={n}:robot");
        s.ok(
            v,
            &[
                "create",
                "clusterrolebinding",
                &crb,
                "--clusterrole=view",
                "--group=devs",
                &sa_ref,
            ],
        );
        let crb = get(&s, v, n, &format!("clusterrolebinding/{crb}"));
        assert_eq!(
            crb["subjects"],
            json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"},
                {"kind": "ServiceAccount", "name": "robot", "namespace": n}]),
            "{v}"
        );

        // quota, priority class, PDB, ingress
        s.ok(
            v,
            &[
                "create",
                "quota",
                "q",
                "-n",
                n,
                "--hard=pods=2,requests.cpu=1",
            ],
        );
        assert_eq!(
            get(&s, v, n, "resourcequota/q")["spec"],
            json!({"hard": {"pods": "2", "requests.cpu": "1"}}),
            "{v}"
        );
        let pc = format!("high-{tag}");
        s.ok(
            v,
            &[
                "create",
                "priorityclass",
                &pc,
                "--value=1000",
                "--description=important",
            ],
        );
        let pc = get(&s, v, n, &format!("priorityclass/{pc}"));
        assert_eq!(
            (
                &pc["value"],
                &pc["description"],
                &pc["globalDefault"],
                &pc["preemptionPolicy"]
            ),
            // globalDefault is `omitempty`: false is not written.
            (
                &json!(1000),
                &json!("important"),
                &Value::Null,
                &json!("PreemptLowerPriority")
            ),
            "{v}"
        );
        s.ok(
            v,
            &[
                "create",
                "poddisruptionbudget",
                "pdb",
                "-n",
                n,
                "--selector=app=web",
                "--min-available=1",
            ],
        );
        assert_eq!(
            get(&s, v, n, "pdb/pdb")["spec"],
            json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}),
            "{v}"
        );
        s.ok(
            v,
            &[
                "create",
                "ingress",
                "ing",
                "-n",
                n,
                "--rule=foo.com/bar=svc1:8080",
                "--rule=foo.com/static*=svc2:http",
            ],
        );
        assert_eq!(
            get(&s, v, n, "ingress/ing")["spec"],
            json!({"rules": [{"host": "foo.com", "http": {"paths": [
                {"backend": {"service": {"name": "svc1", "port": {"number": 8080}}},
                    "path": "/bar", "pathType": "Exact"},
                {"backend": {"service": {"name": "svc2", "port": {"name": "http"}}},
                    "path": "/static", "pathType": "Prefix"}]}}]}),
            "{v}"
        );
    }
}

/// Reads kubectl's column output: headers and, per row, the text under
/// each header (columns start where their header starts).
fn table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let mut starts = Vec::new();
    let mut names = Vec::new();
    let bytes = header.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b' ' && (i == 0 || header[..i].ends_with("  ")) {
            let end = header[i..].find("  ").map_or(header.len(), |e| i + e);
            starts.push(i);
            names.push(header[i..end].trim().to_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    let rows = lines
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(k, &st)| {
                    let end = starts
                        .get(k + 1)
                        .copied()
                        .unwrap_or(line.len())
                        .min(line.len());
                    line.get(st.min(line.len())..end)
                        .unwrap_or("")
                        .trim()
                        .to_owned()
                })
                .collect()
        })
        .collect();
    (names, rows)
}

fn row_of<'a>(rows: &'a [Vec<String>], name: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == name)
        .unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}

#[test]
fn get_prints_upstream_columns() {
    let s = Server::start();
    let pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "nginx:1.25"}, {"name": "b", "image": "redis:7"}]}}"#;
    for v in KUBECTL_VERSIONS {
        let ns = format!("get-{}", v.replace('.', "-"));
        let n = ns.as_str();
        s.ok(v, &["create", "namespace", n]);
        s.ok(
            v,
            &[
                "create",
                "deployment",
                "web",
                "-n",
                n,
                "--image=nginx:1.25",
                "--replicas=2",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "service",
                "clusterip",
                "cip",
                "-n",
                n,
                "--tcp=80:8080",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "service",
                "loadbalancer",
                "lb",
                "-n",
                n,
                "--tcp=443:8443",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "service",
                "externalname",
                "ext",
                "-n",
                n,
                "--external-name=db.example.com",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "configmap",
                "cm",
                "-n",
                n,
                "--from-literal=a=1",
                "--from-literal=b=2",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "secret",
                "generic",
                "sec",
                "-n",
                n,
                "--from-literal=a=1",
            ],
        );
        s.ok(
            v,
            &["create", "job", "once", "-n", n, "--image=busybox:1.36"],
        );
        s.ok(
            v,
            &[
                "create",
                "cronjob",
                "tick",
                "-n",
                n,
                "--image=busybox:1.36",
                "--schedule=*/5 * * * *",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "role",
                "reader",
                "-n",
                n,
                "--verb=get",
                "--resource=pods",
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "rolebinding",
                "rb",
                "-n",
                n,
                "--role=reader",
                "--user=alice",
                &format!("--serviceaccount={n}:robot"),
            ],
        );
        s.ok(
            v,
            &[
                "create",
                "poddisruptionbudget",
                "pdb",
                "-n",
                n,
                "--selector=app=web",
                "--max-unavailable=1",
            ],
        );
        s.ok(v, &["create", "quota", "q", "-n", n, "--hard=pods=2"]);
        s.kubectl_stdin(v, &["apply", "-n", n, "-f", "-"], pod);

        let get = |kind: &str, wide: bool| {
            let mut args = vec!["get", kind, "-n", n];
            if wide {
                args.extend(["-o", "wide"]);
            }
            table(&s.ok(v, &args))
        };

        let (h, rows) = get("pods", true);
        assert_eq!(
            h,
            [
                "NAME",
                "READY",
                "STATUS",
                "RESTARTS",
                "AGE",
                "IP",
                "NODE",
                "NOMINATED NODE",
                "READINESS GATES"
            ],
            "{v}"
        );
        assert_eq!(row_of(&rows, "p")[1..4], ["0/2", "Pending", "0"], "{v}");
        assert_eq!(
            row_of(&rows, "p")[5..],
            ["<none>", "<none>", "<none>", "<none>"],
            "{v}"
        );

        let (h, rows) = get("deployments", true);
        assert_eq!(
            h,
            [
                "NAME",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "CONTAINERS",
                "IMAGES",
                "SELECTOR"
            ],
            "{v}"
        );
        let r = row_of(&rows, "web");
        assert_eq!(
            (&r[1], &r[2], &r[3]),
            (&"0/2".to_owned(), &"0".to_owned(), &"0".to_owned()),
            "{v}"
        );
        assert_eq!(r[5..], ["nginx", "nginx:1.25", "app=web"], "{v}");
        assert!(r[4].ends_with('s'), "{v}: age {}", r[4]);
        let (h, _) = get("deployments", false);
        assert_eq!(
            h,
            ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            "{v}"
        );

        let (h, rows) = get("services", true);
        assert_eq!(
            h,
            [
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
                "SELECTOR"
            ],
            "{v}"
        );
        let cip = row_of(&rows, "cip");
        assert_eq!(cip[1], "ClusterIP", "{v}");
        assert!(cip[2].starts_with("10.43."), "{v}: {cip:?}");
        assert_eq!(
            (&cip[3], &cip[4], &cip[6]),
            (
                &"<none>".to_owned(),
                &"80/TCP".to_owned(),
                &"app=cip".to_owned()
            ),
            "{v}"
        );
        let lb = row_of(&rows, "lb");
        assert_eq!(lb[3], "<pending>", "{v}");
        assert!(
            lb[4].starts_with("443:3") && lb[4].ends_with("/TCP"),
            "{v}: {lb:?}"
        );
        let ext = row_of(&rows, "ext");
        assert_eq!(
            ext[1..5],
            ["ExternalName", "<none>", "db.example.com", "<none>"],
            "{v}"
        );

        let (h, rows) = get("configmaps", false);
        assert_eq!(h, ["NAME", "DATA", "AGE"], "{v}");
        assert_eq!(row_of(&rows, "cm")[1], "2", "{v}");
        let (h, rows) = get("secrets", false);
        assert_eq!(h, ["NAME", "TYPE", "DATA", "AGE"], "{v}");
        assert_eq!(row_of(&rows, "sec")[1..3], ["Opaque", "1"], "{v}");

        let (h, rows) = get("jobs", true);
        assert_eq!(
            h,
            [
                "NAME",
                "STATUS",
                "COMPLETIONS",
                "DURATION",
                "AGE",
                "CONTAINERS",
                "IMAGES",
                "SELECTOR"
            ],
            "{v}"
        );
        let job = row_of(&rows, "once");
        assert_eq!(job[1..4], ["Running", "0/1", ""], "{v}");
        assert_eq!(job[5..7], ["once", "busybox:1.36"], "{v}");
        assert!(
            job[7].starts_with("batch.kubernetes.io/controller-uid="),
            "{v}: {job:?}"
        );

        let (h, rows) = get("cronjobs", false);
        assert_eq!(
            h,
            [
                "NAME",
                "SCHEDULE",
                "TIMEZONE",
                "SUSPEND",
                "ACTIVE",
                "LAST SCHEDULE",
                "AGE"
            ],
            "{v}"
        );
        assert_eq!(
            row_of(&rows, "tick")[1..6],
            ["*/5 * * * *", "<none>", "False", "0", "<none>"],
            "{v}"
        );

        let (h, rows) = get("roles", false);
        assert_eq!(h, ["NAME", "CREATED AT"], "{v}");
        assert!(row_of(&rows, "reader")[1].ends_with('Z'), "{v}");
        let (h, rows) = get("rolebindings", true);
        assert_eq!(
            h,
            ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
            "{v}"
        );
        let rb = row_of(&rows, "rb");
        assert_eq!(
            (&rb[1], &rb[3], &rb[5]),
            (
                &"Role/reader".to_owned(),
                &"alice".to_owned(),
                &format!("{n}/robot")
            ),
            "{v}"
        );

        let (h, rows) = get("pdb", false);
        assert_eq!(
            h,
            [
                "NAME",
                "MIN AVAILABLE",
                "MAX UNAVAILABLE",
                "ALLOWED DISRUPTIONS",
                "AGE"
            ],
            "{v}"
        );
        assert_eq!(row_of(&rows, "pdb")[1..4], ["N/A", "1", "0"], "{v}");
        let (h, _) = get("resourcequotas", false);
        assert_eq!(h, ["NAME", "REQUEST", "LIMIT", "AGE"], "{v}");

        let (h, rows) = table(&s.ok(v, &["get", "namespaces"]));
        assert_eq!(h, ["NAME", "STATUS", "AGE"], "{v}");
        assert_eq!(row_of(&rows, n)[1], "Active", "{v}");
    }
}

/// The claims of a JWT, read without checking it.
fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).expect("a JWT");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn create_token_issues_a_working_service_account_token() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = format!("tok-{}", v.replace('.', "-"));
        let n = ns.as_str();
        s.ok(v, &["create", "namespace", n]);
        s.ok(v, &["create", "serviceaccount", "robot", "-n", n]);
        let sa = get(&s, v, n, "serviceaccount/robot");
        let token = s
            .ok(v, &["create", "token", "robot", "-n", n])
            .trim()
            .to_owned();
        let c = claims(&token);
        assert_eq!(
            c["sub"],
            json!(format!("system:serviceaccount:{n}:robot")),
            "{v}"
        );
        assert_eq!(
            c["iss"], "https://kubernetes.default.svc.cluster.local",
            "{v}"
        );
        assert_eq!(
            c["aud"],
            json!(["https://kubernetes.default.svc.cluster.local"]),
            "{v}"
        );
        assert_eq!(
            c["kubernetes.io"]["serviceaccount"]["uid"], sa["metadata"]["uid"],
            "{v}"
        );
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
            3600,
            "{v}"
        );

        // The token authenticates as the service account.
        let who = s.ok(
            v,
            &["--token", &token, "get", "--raw", "/api/v1/namespaces"],
        );
        assert!(who.contains(n), "{v}");

        let token = s
            .ok(
                v,
                &[
                    "create",
                    "token",
                    "robot",
                    "-n",
                    n,
                    "--duration=20m",
                    "--audience=vault",
                ],
            )
            .trim()
            .to_owned();
        let c = claims(&token);
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
            1200,
            "{v}"
        );
        assert_eq!(c["aud"], json!(["vault"]), "{v}");
        // A token for another audience does not authenticate here.
        let err = s.fails(
            v,
            &["--token", &token, "get", "--raw", "/api/v1/namespaces"],
        );
        assert!(err.contains("Unauthorized"), "{v}: {err}");

        let err = s.fails(v, &["create", "token", "robot", "-n", n, "--duration=1m"]);
        assert!(
            err.contains("may not specify a duration less than 10 minutes"),
            "{v}: {err}"
        );
        let err = s.fails(v, &["create", "token", "nobody", "-n", n]);
        assert!(
            err.contains("serviceaccounts \"nobody\" not found"),
            "{v}: {err}"
        );

        // Bound to a Secret: valid while the Secret lives.
        s.ok(v, &["create", "secret", "generic", "anchor", "-n", n]);
        let bound = s
            .ok(
                v,
                &[
                    "create",
                    "token",
                    "robot",
                    "-n",
                    n,
                    "--bound-object-kind=Secret",
                    "--bound-object-name=anchor",
                ],
            )
            .trim()
            .to_owned();
        assert_eq!(
            claims(&bound)["kubernetes.io"]["secret"]["name"],
            "anchor",
            "{v}"
        );
        s.ok(
            v,
            &["--token", &bound, "get", "--raw", "/api/v1/namespaces"],
        );
        s.ok(v, &["delete", "secret", "anchor", "-n", n]);
        s.fails(
            v,
            &["--token", &bound, "get", "--raw", "/api/v1/namespaces"],
        );

        // Discovery lists the subresource as upstream does.
        let v1 = json(&s.ok(v, &["get", "--raw", "/api/v1"]));
        let token_res = v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "serviceaccounts/token")
            .cloned();
        assert_eq!(
            token_res.map(|r| (r["kind"].clone(), r["group"].clone(), r["verbs"].clone())),
            Some((
                json!("TokenRequest"),
                json!("authentication.k8s.io"),
                json!(["create"])
            )),
            "{v}"
        );

        // Deleting the service account revokes its tokens.
        let token = s
            .ok(v, &["create", "token", "robot", "-n", n])
            .trim()
            .to_owned();
        s.ok(
            v,
            &["--token", &token, "get", "--raw", "/api/v1/namespaces"],
        );
        s.ok(v, &["delete", "serviceaccount", "robot", "-n", n]);
        let err = s.fails(
            v,
            &["--token", &token, "get", "--raw", "/api/v1/namespaces"],
        );
        assert!(err.contains("Unauthorized"), "{v}: {err}");
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
        let ns = format!("patch-{}", v.replace('.', "-"));
        let n = ns.as_str();
        s.ok(v, &["create", "namespace", n]);
        s.kubectl_stdin(v, &["apply", "-n", n, "-f", "-"], demo);
        s.ok(
            v,
            &[
                "patch",
                "-n",
                n,
                "deployment",
                "patch-demo",
                "--patch-file",
                p(&patch_file),
            ],
        );
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
        s.ok(
            v,
            &[
                "patch",
                "-n",
                n,
                "deployment",
                "patch-demo",
                "--patch-file",
                p(&tolerations),
            ],
        );
        let d = get(&s, v, n, "deployment/patch-demo");
        assert_eq!(
            at(&d, "/spec/template/spec/tolerations"),
            &json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]),
            "{v}"
        );

        s.kubectl_stdin(v, &["apply", "-n", n, "-f", "-"], retain);
        let err = s.fails(
            v,
            &[
                "patch",
                "-n",
                n,
                "deployment",
                "retainkeys-demo",
                "--type",
                "strategic",
                "--patch-file",
                p(&no_retain),
            ],
        );
        assert!(
            err.contains("spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"),
            "{v}: {err}"
        );
        s.ok(
            v,
            &[
                "patch",
                "-n",
                n,
                "deployment",
                "retainkeys-demo",
                "--type",
                "strategic",
                "--patch-file",
                p(&with_retain),
            ],
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
        let ns = format!("svc-{}", v.replace('.', "-"));
        let n = ns.as_str();
        s.ok(v, &["create", "namespace", n]);
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
