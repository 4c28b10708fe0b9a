//! End-to-end: what kubectl's `create` generators and `get` / `get -o wide`
//! produce against the real binary, with kubectl 1.27 and 1.33, compared
//! field by field and column by column with what upstream documents and
//! prints.

mod common;

use std::process::Command;

use common::objects::{container, get, p, write};
use common::{KUBECTL_VERSIONS, Server};
use serde_json::{Value, json};

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
        let ns = s.namespace(v, "get");
        let n = ns.as_str();
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
        s.ok_stdin(v, &["apply", "-n", n, "-f", "-"], pod);

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

/// `-o wide` of nodes and events: the wide-only columns upstream adds.
#[test]
fn get_wide_nodes_and_events() {
    let s = Server::start();
    let node = r#"{"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "edge-1", "labels": {"node-role.kubernetes.io/worker": ""}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "192.0.2.7"}],
            "nodeInfo": {"kubeletVersion": "v1.35.0", "osImage": "Debian GNU/Linux 13",
                "kernelVersion": "6.12.0", "containerRuntimeVersion": "containerd://2.1.0",
                "machineID": "", "systemUUID": "", "bootID": "", "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": "amd64"}}}"#;
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "wide");
        let n = ns.as_str();
        if *v == KUBECTL_VERSIONS[0] {
            s.ok_stdin(v, &["create", "-f", "-"], node);
        }
        let (h, rows) = table(&s.ok(v, &["get", "nodes", "-o", "wide"]));
        assert_eq!(
            h,
            [
                "NAME",
                "STATUS",
                "ROLES",
                "AGE",
                "VERSION",
                "INTERNAL-IP",
                "EXTERNAL-IP",
                "OS-IMAGE",
                "KERNEL-VERSION",
                "CONTAINER-RUNTIME"
            ],
            "{v}"
        );
        let r = row_of(&rows, "edge-1");
        assert_eq!(r[1..3], ["Ready", "worker"], "{v}");
        assert_eq!(
            r[4..],
            [
                "v1.35.0",
                "192.0.2.7",
                "<none>",
                "Debian GNU/Linux 13",
                "6.12.0",
                "containerd://2.1.0"
            ],
            "{v}"
        );

        let event = format!(
            r#"{{"apiVersion": "v1", "kind": "Event", "metadata": {{"name": "web.1", "namespace": "{n}"}},
            "involvedObject": {{"kind": "Pod", "name": "web", "namespace": "{n}", "fieldPath": "spec.containers{{app}}"}},
            "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
            "source": {{"component": "kubelet", "host": "edge-1"}}, "count": 3}}"#
        );
        s.ok_stdin(v, &["create", "-f", "-"], &event);
        let (h, rows) = table(&s.ok(v, &["get", "events", "-n", n, "-o", "wide"]));
        assert_eq!(
            h,
            [
                "LAST SEEN",
                "TYPE",
                "REASON",
                "OBJECT",
                "SUBOBJECT",
                "SOURCE",
                "MESSAGE",
                "FIRST SEEN",
                "COUNT",
                "NAME"
            ],
            "{v}"
        );
        let r = rows.first().expect("an event row");
        assert_eq!(
            r[1..],
            [
                "Warning",
                "BackOff",
                "pod/web",
                "spec.containers{app}",
                "kubelet, edge-1",
                "Back-off restarting failed container",
                r[7].as_str(),
                "3",
                "web.1"
            ],
            "{v}"
        );
        let (h, _) = table(&s.ok(v, &["get", "events", "-n", n]));
        assert_eq!(
            h,
            ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            "{v}"
        );
    }
}
