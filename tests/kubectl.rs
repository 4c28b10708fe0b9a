//! End-to-end: the real binary driven by real kubectl releases.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{KUBECTL_VERSIONS, Server, json};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/manifests/demo.yaml");

#[test]
fn version_discovery_and_config() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let out = json(&s.ok(v, &["version", "-o", "json"]));
        let server = out["serverVersion"]["gitVersion"].as_str().unwrap();
        assert!(
            server.starts_with("v1.35.") && server.contains("+sovedge"),
            "{server}"
        );
        assert_eq!(out["serverVersion"]["major"], "1");

        let resources = s.ok(v, &["api-resources", "--no-headers"]);
        for want in [
            "pods",
            "deployments",
            "customresourcedefinitions",
            "leases",
            "flowschemas",
            "csidrivers",
            "validatingadmissionpolicies",
        ] {
            assert!(
                resources.lines().any(|l| l.starts_with(want)),
                "{v}: {want} missing from api-resources"
            );
        }
        let pods = resources.lines().find(|l| l.starts_with("pods ")).unwrap();
        assert!(
            pods.contains(" po ") && pods.contains(" true ") && pods.contains("Pod"),
            "{pods}"
        );

        let versions = s.ok(v, &["api-versions"]);
        for gv in [
            "v1",
            "apps/v1",
            "batch/v1",
            "rbac.authorization.k8s.io/v1",
            "events.k8s.io/v1",
            "coordination.k8s.io/v1",
        ] {
            assert!(versions.lines().any(|l| l == gv), "{v}: {gv} missing");
        }
        let view = s.ok(v, &["config", "view", "--minify", "-o", "json"]);
        assert_eq!(json(&view)["clusters"][0]["cluster"]["server"], s.url());
    }
    // Aggregated discovery as kubectl 1.30+ asks for it.
    let agg = s.ok("1.33", &["get", "--raw", "/apis"]);
    assert_eq!(json(&agg)["kind"], "APIGroupList");
}

#[test]
fn apply_get_and_output_formats() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let out = s.ok(v, &["apply", "-f", DEMO]);
        assert!(out.contains("deployment.apps/web"), "{out}");
        let again = s.ok(v, &["apply", "-f", DEMO]);
        assert!(
            again.contains("unchanged") || again.contains("configured"),
            "{again}"
        );

        let dep = json(&s.ok(v, &["get", "deploy", "web", "-n", "demo", "-o", "json"]));
        assert_eq!(dep["spec"]["replicas"], 2);
        assert_eq!(dep["metadata"]["generation"], 1);
        assert!(dep["metadata"]["uid"].as_str().unwrap().len() == 36);
        assert!(
            dep["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 0
        );

        let yaml = s.ok(v, &["get", "configmap", "cfg", "-n", "demo", "-o", "yaml"]);
        assert!(
            yaml.contains("a: \"1\"") && yaml.contains("kind: ConfigMap"),
            "{yaml}"
        );

        let wide = s.ok(v, &["get", "deploy", "-n", "demo", "-o", "wide"]);
        let header = wide.lines().next().unwrap();
        assert!(
            header.contains("IMAGES") && header.contains("SELECTOR"),
            "{wide}"
        );
        assert!(wide.contains("nginx:1.25"), "{wide}");

        let jp = s.ok(
            v,
            &[
                "get",
                "deploy",
                "web",
                "-n",
                "demo",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
        );
        assert_eq!(jp, "nginx:1.25");

        let multi = s.ok(v, &["get", "deploy,svc,cm", "-n", "demo", "-o", "name"]);
        for want in ["deployment.apps/web", "service/web", "configmap/cfg"] {
            assert!(
                multi.lines().any(|l| l == want),
                "{v}: {want} not in {multi}"
            );
        }
        let all = s.ok(v, &["get", "all", "-n", "demo", "-o", "name"]);
        assert!(
            all.contains("deployment.apps/web")
                && all.contains("service/web")
                && !all.contains("configmap"),
            "{all}"
        );

        let table = s.ok(v, &["get", "po,svc,deploy", "-A"]);
        assert!(
            table.contains("NAMESPACE") && table.contains("kubernetes"),
            "{table}"
        );
        s.ok(
            v,
            &["delete", "-f", DEMO, "--wait=true", "--ignore-not-found"],
        );
        wait_gone(&s, v, &["get", "ns", "demo"]);
    }
}

fn wait_gone(s: &Server, v: &str, args: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.kubectl(v, args).status.success() {
        assert!(Instant::now() < deadline, "{args:?} still exists");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn label_annotate_patch_replace() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let cm = format!("cm-{}", v.replace('.', "-"));
        s.ok_stdin(
            v,
            &["create", "-f", "-"],
            &format!("{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{cm}\"}},\"data\":{{\"k\":\"v\"}}}}"),
        );
        s.ok(v, &["label", "configmap", &cm, "tier=front"]);
        s.ok(v, &["annotate", "configmap", &cm, "note=hello"]);
        let got = json(&s.ok(v, &["get", "cm", &cm, "-o", "json"]));
        assert_eq!(got["metadata"]["labels"]["tier"], "front");
        assert_eq!(got["metadata"]["annotations"]["note"], "hello");
        // Label selectors reach the server.
        let sel = s.ok(v, &["get", "cm", "-l", "tier=front", "-o", "name"]);
        assert_eq!(sel.trim(), format!("configmap/{cm}"));
        let none = s.ok(v, &["get", "cm", "-l", "tier in (back)", "-o", "name"]);
        assert!(none.trim().is_empty(), "{none}");

        s.ok(
            v,
            &[
                "patch",
                "cm",
                &cm,
                "--type=merge",
                "-p",
                r#"{"data":{"k":"merged","k2":"x"}}"#,
            ],
        );
        s.ok(
            v,
            &[
                "patch",
                "cm",
                &cm,
                "--type=json",
                "-p",
                r#"[{"op":"remove","path":"/data/k2"},{"op":"add","path":"/data/k3","value":"y"}]"#,
            ],
        );
        let got = json(&s.ok(v, &["get", "cm", &cm, "-o", "json"]));
        assert_eq!(got["data"], serde_json::json!({"k": "merged", "k3": "y"}));
        s.ok(v, &["label", "cm", &cm, "tier-"]);
        let got = json(&s.ok(v, &["get", "cm", &cm, "-o", "json"]));
        assert!(got["metadata"]["labels"].get("tier").is_none(), "{got}");

        // replace with the current resourceVersion succeeds, with a stale one conflicts.
        let mut obj = got.clone();
        obj["data"]["k"] = "replaced".into();
        s.ok(v, &["replace", "-f", &write_tmp(&s, &obj)]);
        let mut stale = got;
        stale["data"]["k"] = "stale".into();
        let err = String::from_utf8(
            s.kubectl(v, &["replace", "-f", &write_tmp(&s, &stale)])
                .stderr,
        )
        .unwrap();
        assert!(
            err.contains("Conflict") || err.contains("the object has been modified"),
            "{err}"
        );
        let got = json(&s.ok(v, &["get", "cm", &cm, "-o", "json"]));
        assert_eq!(got["data"]["k"], "replaced");
    }
}

fn write_tmp(s: &Server, v: &serde_json::Value) -> String {
    let path = s.data_dir().join(format!("obj-{}.json", uuid_like()));
    std::fs::write(&path, serde_json::to_vec(v).unwrap()).unwrap();
    path.display().to_string()
}

fn uuid_like() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string()
}

#[test]
fn watch_sees_changes_made_by_another_command() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let name = format!("watched-{}", v.replace('.', "-"));
        let mut watch = Command::new(common::kubectl_path(v))
            .args(["get", "configmaps", "-w", "-o", "name"])
            .env("KUBECONFIG", s.kubeconfig())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = watch.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::sleep(Duration::from_millis(500));
        let _ = s.kubectl_stdin(
            v,
            &["create", "-f", "-"],
            &format!("{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{name}\"}}}}"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = false;
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
                && line.contains(&name)
            {
                seen = true;
                break;
            }
        }
        let _ = watch.kill();
        let _ = watch.wait();
        assert!(seen, "{v}: watch did not report {name}");
    }
}

#[test]
fn delete_cascade_policies() {
    let s = Server::start();
    let v = "1.33";
    for (policy, expect_dependent) in [
        ("orphan", true),
        ("background", false),
        ("foreground", false),
    ] {
        let owner = format!("owner-{policy}");
        let out = s.ok_stdin(
            v,
            &["create", "-f", "-", "-o", "json"],
            &format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{owner}"}}}}"#),
        );
        let uid = json(&String::from_utf8(out.stdout).unwrap())["metadata"]["uid"]
            .as_str()
            .unwrap()
            .to_string();
        let dep = format!("dep-{policy}");
        s.ok_stdin(v, &["create", "-f", "-"], &format!(
            r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"{dep}","ownerReferences":[{{"apiVersion":"v1","kind":"ConfigMap","name":"{owner}","uid":"{uid}"}}]}}}}"#
        ));
        s.ok(v, &["delete", "cm", &owner, &format!("--cascade={policy}")]);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let exists = s.kubectl(v, &["get", "secret", &dep]).status.success();
            if exists == expect_dependent || Instant::now() > deadline {
                assert_eq!(
                    exists, expect_dependent,
                    "{policy}: dependent exists={exists}"
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if expect_dependent {
            let got = json(&s.ok(v, &["get", "secret", &dep, "-o", "json"]));
            assert!(
                got["metadata"].get("ownerReferences").is_none(),
                "orphaned dependent keeps its owner: {got}"
            );
        }
    }
}

/// kubectl 1.32+ sends the bodies of its typed commands as protobuf.
#[test]
fn typed_commands_of_current_kubectl() {
    let s = Server::start();
    for v in KUBECTL_VERSIONS {
        let ns = s.namespace(v, "typed");
        s.ok(
            v,
            &[
                "-n",
                &ns,
                "create",
                "configmap",
                "cfg",
                "--from-literal=a=b",
                "--from-literal=c=d",
            ],
        );
        let cm = json(&s.ok(v, &["-n", &ns, "get", "cm", "cfg", "-o", "json"]));
        assert_eq!(cm["data"], serde_json::json!({"a": "b", "c": "d"}));
        assert!(cm["metadata"].get("generateName").is_none(), "{cm}");

        s.ok(
            v,
            &[
                "-n",
                &ns,
                "create",
                "deployment",
                "web",
                "--image=nginx:1.27",
                "--replicas=0",
                "--port=80",
            ],
        );
        let dep = json(&s.ok(v, &["-n", &ns, "get", "deploy", "web", "-o", "json"]));
        assert_eq!(
            dep["spec"]["replicas"], 0,
            "an explicit zero survives: {dep}"
        );
        let c = &dep["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1.27");
        assert_eq!(
            c["ports"],
            serde_json::json!([{"containerPort": 80, "protocol": "TCP"}])
        );
        assert_eq!(dep["spec"]["selector"]["matchLabels"]["app"], "web");

        s.ok(
            v,
            &[
                "-n",
                &ns,
                "create",
                "secret",
                "generic",
                "pw",
                "--from-literal=password=hunter2",
            ],
        );
        let secret = json(&s.ok(v, &["-n", &ns, "get", "secret", "pw", "-o", "json"]));
        assert_eq!(secret["data"]["password"], "aHVudGVyMg==");
        assert_eq!(secret["type"], "Opaque");

        s.ok(
            v,
            &[
                "-n",
                &ns,
                "create",
                "ingress",
                "site",
                "--rule=example.com/app=web:80",
            ],
        );
        let ing = json(&s.ok(v, &["-n", &ns, "get", "ingress", "site", "-o", "json"]));
        assert_eq!(
            ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"],
            80
        );

        s.ok(
            v,
            &[
                "-n",
                &ns,
                "create",
                "job",
                "once",
                "--image=busybox",
                "--",
                "echo",
                "hi",
            ],
        );
        let job = json(&s.ok(v, &["-n", &ns, "get", "job", "once", "-o", "json"]));
        assert_eq!(
            job["spec"]["template"]["spec"]["containers"][0]["command"],
            serde_json::json!(["echo", "hi"])
        );

        assert_eq!(s.ok(v, &["auth", "can-i", "create", "pods"]).trim(), "yes");
    }
    let who = s.ok("1.33", &["auth", "whoami", "-o", "json"]);
    assert_eq!(
        json(&who)["status"]["userInfo"]["username"],
        "sovedge-admin"
    );
}
