//! Dynamic admission end to end: webhook servers started here on loopback
//! over HTTPS (their CA and certificates generated per test), configured
//! through admissionregistration.k8s.io/v1 objects, driven by kubectl 1.27
//! and 1.33 and by raw HTTPS. Expected messages are upstream v1.35's.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::hook::Hook;
use kube::client::Body;
use serde_json::{Value, json};

/// A webhook on ConfigMaps for `operations`, with `extra` fields merged in.
fn webhook(name: &str, client_config: Value, operations: &[&str], extra: Value) -> Value {
    let mut w = json!({
        "name": name,
        "clientConfig": client_config,
        "rules": [{
            "operations": operations,
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["configmaps"],
        }],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    });
    if let (Some(w), Some(extra)) = (w.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            w.insert(k.clone(), v.clone());
        }
    }
    w
}

fn configuration(kind: &str, name: &str, webhooks: Vec<Value>) -> String {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": { "name": name },
        "webhooks": webhooks,
    })
    .to_string()
}

fn apply(s: &common::Server, doc: &str) {
    s.ok_stdin("1.33", &["apply", "-f", "-"], doc);
}

/// The `path` (a kubectl JSONPath template) of the object `kind/name`.
fn jsonpath(s: &common::Server, v: &str, kind: &str, name: &str, path: &str) -> String {
    s.ok(v, &["get", kind, name, "-o", &format!("jsonpath={path}")])
}

/// Applies the configuration `kind/name` holding the one webhook
/// `name.example.com` (see [`webhook`]).
fn apply_webhook(
    s: &common::Server,
    kind: &str,
    name: &str,
    client_config: Value,
    operations: &[&str],
    extra: Value,
) {
    let hook = webhook(
        &format!("{name}.example.com"),
        client_config,
        operations,
        extra,
    );
    apply(s, &configuration(kind, name, vec![hook]));
}

fn config_map(name: &str, labels: Value) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name, "labels": labels },
        "data": { "k": "v" },
    })
    .to_string()
}

/// A JSONPatch (base64, as in an AdmissionReview response) setting one
/// label or annotation of `object`.
fn set_meta(object: &Value, field: &str, key: &str, value: &str) -> Value {
    let op = if object["metadata"][field].is_object() {
        json!({"op": "add", "path": format!("/metadata/{field}/{}", key.replace('/', "~1")), "value": value})
    } else {
        json!({"op": "add", "path": format!("/metadata/{field}"), "value": {key: value}})
    };
    let patch = serde_json::to_vec(&json!([op])).unwrap();
    json!({
        "allowed": true,
        "patchType": "JSONPatch",
        "patch": base64::engine::general_purpose::STANDARD.encode(patch),
    })
}

/// Raw HTTPS with the admin identity.
struct Api {
    client: kube::Client,
    rt: tokio::runtime::Runtime,
}

struct Reply {
    code: u16,
    warnings: Vec<String>,
    body: Value,
}

impl Api {
    fn new(s: &common::Server) -> Api {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(common::kube_client(s));
        Api { client, rt }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(Body::from(
                body.map(|b| serde_json::to_vec(b).unwrap())
                    .unwrap_or_default(),
            ))
            .unwrap();
        self.rt.block_on(async {
            let resp = self.client.send(req).await.unwrap();
            let code = resp.status().as_u16();
            let warnings = resp
                .headers()
                .get_all("warning")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect();
            let bytes = resp.into_body().collect_bytes().await.unwrap();
            Reply {
                code,
                warnings,
                body: serde_json::from_slice(&bytes).unwrap(),
            }
        })
    }
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// An IPv4 address of this host outside the loopback range.
fn host_ip() -> String {
    nix::ifaddrs::getifaddrs()
        .unwrap()
        .filter_map(|i| i.address?.as_sockaddr_in().map(|a| a.ip()))
        .find(|ip| !ip.is_loopback())
        .expect("a non-loopback IPv4 address for Endpoints")
        .to_string()
}

fn stored(s: &common::Server, name: &str) -> bool {
    let out = s.kubectl("1.33", &["get", "configmap", name]);
    out.status.success()
}

#[test]
fn validating_webhook_denies_with_upstream_message_and_nothing_is_stored() {
    let s = common::Server::start();
    let hook = Hook::start(|req| {
        let labels = if req["operation"] == "DELETE" {
            &req["oldObject"]["metadata"]["labels"]
        } else {
            &req["object"]["metadata"]["labels"]
        };
        if labels["deny"] == "yes" {
            json!({"allowed": false, "status": {"code": 403, "reason": "Forbidden", "message": "label deny=yes is not allowed"}})
        } else {
            json!({"allowed": true, "warnings": ["checked by policy.example.com"]})
        }
    });
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "policy",
        hook.client_config(),
        &["CREATE", "UPDATE", "DELETE"],
        json!({}),
    );
    // The stored configuration carries upstream's defaults.
    let stored_config = common::json(&s.ok(
        "1.33",
        &[
            "get",
            "validatingwebhookconfiguration",
            "policy",
            "-o",
            "json",
        ],
    ));
    let w = &stored_config["webhooks"][0];
    assert_eq!(w["failurePolicy"], "Fail");
    assert_eq!(w["matchPolicy"], "Equivalent");
    assert_eq!(w["timeoutSeconds"], 10);
    assert_eq!(w["namespaceSelector"], json!({}));
    assert_eq!(w["rules"][0]["scope"], "*");

    for (i, v) in common::KUBECTL_VERSIONS.iter().enumerate() {
        let name = format!("denied-{i}");
        let err = s.fails_stdin(
            v,
            &["create", "-f", "-"],
            &config_map(&name, json!({"deny": "yes"})),
        );
        assert!(
            err.contains(
                "Error from server (Forbidden): error when creating \"STDIN\": admission webhook \"policy.example.com\" denied the request: label deny=yes is not allowed"
            ),
            "kubectl {v}: {err}"
        );
        assert!(!stored(&s, &name), "refused object was stored");

        // Allowed: the webhook's warning reaches kubectl.
        let allowed = format!("allowed-{i}");
        let out = s.ok_stdin(v, &["create", "-f", "-"], &config_map(&allowed, json!({})));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Warning: checked by policy.example.com"),
            "kubectl {v}: {err}"
        );
        // An update that would add the label is refused and changes nothing.
        let err = s.fails(v, &["label", "configmap", &allowed, "deny=yes"]);
        assert!(
            err.contains("admission webhook \"policy.example.com\" denied the request: label deny=yes is not allowed"),
            "{err}"
        );
        let labels = jsonpath(&s, v, "configmap", &allowed, "{.metadata.labels}");
        assert!(!labels.contains("deny"), "{labels}");
    }

    let api = Api::new(&s);
    let r = api.call(
        "POST",
        CMS,
        Some(&common::json(&config_map("raw", json!({"deny": "yes"})))),
    );
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["kind"], "Status");
    assert_eq!(r.body["status"], "Failure");
    assert_eq!(r.body["reason"], "Forbidden");
    assert_eq!(r.body["code"], 403);
    assert_eq!(
        r.body["message"],
        "admission webhook \"policy.example.com\" denied the request: label deny=yes is not allowed"
    );
    let r = api.call(
        "POST",
        CMS,
        Some(&common::json(&config_map("raw-ok", json!({})))),
    );
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.warnings,
        vec!["299 - \"checked by policy.example.com\"".to_string()]
    );

    // What the webhook was sent: an admission.k8s.io/v1 AdmissionRequest.
    let create = hook
        .requests()
        .into_iter()
        .find(|r| r["name"] == "raw-ok")
        .expect("webhook saw the create");
    assert_eq!(create["operation"], "CREATE");
    assert_eq!(
        create["kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert_eq!(
        create["resource"],
        json!({"group": "", "version": "v1", "resource": "configmaps"})
    );
    assert_eq!(create["requestKind"], create["kind"]);
    assert_eq!(create["namespace"], "default");
    assert_eq!(create["dryRun"], false);
    assert_eq!(create["object"]["data"], json!({"k": "v"}));
    assert_eq!(create["oldObject"], Value::Null);
    assert_eq!(create["options"]["kind"], "CreateOptions");
    assert_eq!(create["userInfo"]["username"], "sovedge-admin");
    assert!(
        create["userInfo"]["groups"]
            .as_array()
            .unwrap()
            .contains(&json!("system:masters")),
        "{create}"
    );
    assert!(!create["uid"].as_str().unwrap().is_empty());

    // DELETE: the stored object is the oldObject; a refusal keeps it.
    let r = api.call("DELETE", &format!("{CMS}/allowed-0"), None);
    assert_eq!(r.code, 200, "{}", r.body);
    let del = hook
        .requests()
        .into_iter()
        .find(|r| r["operation"] == "DELETE")
        .expect("webhook saw the delete");
    assert_eq!(del["object"], Value::Null);
    assert_eq!(del["oldObject"]["metadata"]["name"], "allowed-0");
    assert_eq!(del["options"]["kind"], "DeleteOptions");
}

#[test]
fn delete_refused_by_webhook_keeps_the_object() {
    let s = common::Server::start();
    let hook = Hook::start(|req| {
        if req["oldObject"]["metadata"]["labels"]["protected"] == "true" {
            json!({"allowed": false, "status": {"message": "protected"}})
        } else {
            json!({"allowed": true})
        }
    });
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "protect",
        hook.client_config(),
        &["DELETE"],
        json!({}),
    );
    apply(&s, &config_map("precious", json!({"protected": "true"})));
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &["delete", "configmap", "precious"]);
        // A Status without a reason: kubectl names none.
        assert!(
            err.contains("Error from server: admission webhook \"protect.example.com\" denied the request: protected"),
            "kubectl {v}: {err}"
        );
        assert!(stored(&s, "precious"));
    }
    // No code in the webhook's Status: upstream raises it to 400.
    let api = Api::new(&s);
    let r = api.call("DELETE", &format!("{CMS}/precious"), None);
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(r.body["code"], 400);
    assert!(r.body.get("reason").is_none(), "{}", r.body);
    assert!(stored(&s, "precious"));
}

#[test]
fn mutating_webhook_patch_is_stored_and_revalidated() {
    let s = common::Server::start();
    let hook = Hook::start(|req| {
        let obj = &req["object"];
        if obj["metadata"]["labels"]["break"] == "yes" {
            // A patch making the object invalid: validation after admission refuses it.
            let patch = serde_json::to_vec(&json!([
                {"op": "add", "path": "/metadata/labels/bad key!", "value": "x"}
            ]))
            .unwrap();
            return json!({"allowed": true, "patchType": "JSONPatch",
                "patch": base64::engine::general_purpose::STANDARD.encode(patch)});
        }
        set_meta(obj, "labels", "mutated", "true")
    });
    apply_webhook(
        &s,
        "MutatingWebhookConfiguration",
        "labeller",
        hook.client_config(),
        &["CREATE", "UPDATE"],
        json!({}),
    );
    let stored_config = common::json(&s.ok(
        "1.33",
        &[
            "get",
            "mutatingwebhookconfiguration",
            "labeller",
            "-o",
            "json",
        ],
    ));
    assert_eq!(stored_config["webhooks"][0]["reinvocationPolicy"], "Never");
    for (i, v) in common::KUBECTL_VERSIONS.iter().enumerate() {
        let name = format!("plain-{i}");
        s.ok(v, &["create", "configmap", &name, "--from-literal=a=b"]);
        let label = jsonpath(&s, v, "configmap", &name, "{.metadata.labels.mutated}");
        assert_eq!(label, "true");
        // The webhook also runs on update: a label removed comes back.
        s.ok(v, &["label", "configmap", &name, "mutated-"]);
        let label = jsonpath(&s, v, "configmap", &name, "{.metadata.labels.mutated}");
        assert_eq!(label, "true");
    }
    // A generateName create reaches mutating webhooks unnamed, as upstream
    // names objects after mutation.
    let generated = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"generateName": "gen-"}});
    let out = s.ok_stdin(
        "1.33",
        &["create", "-f", "-", "-o", "name"],
        &generated.to_string(),
    );
    let created = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(created.starts_with("configmap/gen-"), "{created}");
    let seen = hook
        .requests()
        .into_iter()
        .find(|r| r["object"]["metadata"]["generateName"] == "gen-")
        .expect("webhook saw the generateName create");
    assert_eq!(seen["name"], Value::Null, "{seen}");
    assert_eq!(seen["object"]["metadata"]["name"], Value::Null, "{seen}");
    let label = s.ok(
        "1.33",
        &["get", &created, "-o", "jsonpath={.metadata.labels.mutated}"],
    );
    assert_eq!(label, "true");

    // Server-side apply goes through the same admission.
    s.ok_stdin(
        "1.33",
        &["apply", "--server-side", "-f", "-"],
        &config_map("applied", json!({"app": "x"})),
    );
    let label = jsonpath(
        &s,
        "1.33",
        "configmap",
        "applied",
        "{.metadata.labels.mutated}",
    );
    assert_eq!(label, "true");
    let err = s.fails_stdin(
        "1.33",
        &["create", "-f", "-"],
        &config_map("broken", json!({"break": "yes"})),
    );
    assert!(
        err.contains(
            "ConfigMap \"broken\" is invalid: metadata.labels: Invalid value: \"bad key!\""
        ),
        "{err}"
    );
    assert!(!stored(&s, "broken"));
}

#[test]
fn reinvocation_reruns_earlier_webhooks_once() {
    let s = common::Server::start();
    // "a-observer" runs first and records whether it saw b's label; "b-labeller" adds it.
    let observer = |req: &Value| {
        let saw = req["object"]["metadata"]["labels"]["b"] == "added";
        set_meta(
            &req["object"],
            "annotations",
            "a-saw-b",
            if saw { "true" } else { "false" },
        )
    };
    let a = Hook::start(observer);
    let b = Hook::start(|req| set_meta(&req["object"], "labels", "b", "added"));
    let config = |policy: &str| {
        format!(
            "{}\n---\n{}",
            configuration(
                "MutatingWebhookConfiguration",
                "a-observer",
                vec![webhook(
                    "observer.example.com",
                    a.client_config(),
                    &["CREATE"],
                    json!({"reinvocationPolicy": policy}),
                )],
            ),
            configuration(
                "MutatingWebhookConfiguration",
                "b-labeller",
                vec![webhook(
                    "labeller.example.com",
                    b.client_config(),
                    &["CREATE"],
                    json!({})
                )],
            )
        )
    };
    apply(&s, &config("Never"));
    s.ok("1.33", &["create", "configmap", "once"]);
    let ann = jsonpath(&s, "1.33", "cm", "once", "{.metadata.annotations.a-saw-b}");
    assert_eq!(ann, "false");
    assert_eq!(a.requests().len(), 1);

    apply(&s, &config("IfNeeded"));
    s.ok("1.27", &["create", "configmap", "twice"]);
    let ann = jsonpath(&s, "1.27", "cm", "twice", "{.metadata.annotations.a-saw-b}");
    assert_eq!(ann, "true");
    assert_eq!(a.requests().len(), 3, "observer reinvoked once");
    assert_eq!(b.requests().len(), 2, "the labeller is not reinvoked");
}

#[test]
fn failure_policy_and_timeout() {
    let s = common::Server::start();
    let port = common::free_port();
    let down = json!({ "url": format!("https://127.0.0.1:{port}/check"), "caBundle": "" });
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "down",
        down.clone(),
        &["CREATE"],
        json!({}),
    );
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &["create", "configmap", "refused"]);
        assert!(
            err.contains(&format!(
                "Internal error occurred: failed calling webhook \"down.example.com\": failed to call webhook: Post \"https://127.0.0.1:{port}/check?timeout=10s\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            )),
            "kubectl {v}: {err}"
        );
    }
    assert!(!stored(&s, "refused"));
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "down",
        down,
        &["CREATE"],
        json!({"failurePolicy": "Ignore"}),
    );
    s.ok("1.33", &["create", "configmap", "ignored"]);
    assert!(stored(&s, "ignored"));

    // A webhook slower than its timeoutSeconds.
    let slow = Hook::start_with(
        Arc::new(|_| json!({"allowed": true})),
        Duration::from_secs(4),
        &["127.0.0.1"],
        "127.0.0.1",
    );
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "slow",
        slow.client_config(),
        &["CREATE"],
        json!({"timeoutSeconds": 1}),
    );
    let started = std::time::Instant::now();
    let err = s.fails("1.33", &["create", "configmap", "too-slow"]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited for the slow webhook"
    );
    assert!(
        err.contains(&format!(
            "Internal error occurred: failed calling webhook \"slow.example.com\": failed to call webhook: Post \"https://{}/?timeout=1s\": context deadline exceeded",
            slow.addr
        )),
        "{err}"
    );
    assert!(!stored(&s, "too-slow"));

    // A CA that did not sign the server's certificate.
    let other = Hook::start(|_| json!({"allowed": true}));
    let wrong_ca = json!({ "url": slow.url("/"), "caBundle": other.ca_bundle() });
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "slow",
        wrong_ca,
        &["CREATE"],
        json!({}),
    );
    let err = s.fails("1.33", &["create", "configmap", "untrusted"]);
    assert!(
        err.contains("x509: certificate signed by unknown authority"),
        "{err}"
    );
}

#[test]
fn namespace_and_object_selectors() {
    let s = common::Server::start();
    let deny =
        Hook::start(|_| json!({"allowed": false, "status": {"code": 403, "message": "selected"}}));
    apply(
        &s,
        &configuration(
            "ValidatingWebhookConfiguration",
            "selectors",
            vec![
                webhook(
                    "by-namespace.example.com",
                    deny.client_config(),
                    &["CREATE"],
                    json!({"namespaceSelector": {"matchLabels": {"admission": "strict"}}}),
                ),
                webhook(
                    "by-object.example.com",
                    deny.client_config(),
                    &["CREATE"],
                    json!({"objectSelector": {"matchExpressions": [{"key": "check", "operator": "In", "values": ["yes"]}]}}),
                ),
            ],
        ),
    );
    s.ok("1.33", &["create", "namespace", "strict"]);
    s.ok(
        "1.33",
        &["label", "namespace", "strict", "admission=strict"],
    );
    s.ok("1.33", &["create", "namespace", "relaxed"]);
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &["create", "configmap", "c", "-n", "strict"]);
        assert!(
            err.contains(
                "admission webhook \"by-namespace.example.com\" denied the request: selected"
            ),
            "{err}"
        );
        s.ok(
            v,
            &["create", "configmap", &format!("c{v}"), "-n", "relaxed"],
        );
        let err = s.fails_stdin(
            v,
            &["create", "-n", "relaxed", "-f", "-"],
            &config_map(&format!("checked{v}"), json!({"check": "yes"})),
        );
        assert!(
            err.contains(
                "admission webhook \"by-object.example.com\" denied the request: selected"
            ),
            "{err}"
        );
    }

    // Namespaces are matched by their own labels.
    let ns_hook =
        Hook::start(|_| json!({"allowed": false, "status": {"message": "no such namespaces"}}));
    let mut w = webhook(
        "namespaces.example.com",
        ns_hook.client_config(),
        &["CREATE"],
        json!({"namespaceSelector": {"matchLabels": {"team": "blocked"}}}),
    );
    w["rules"][0]["resources"] = json!(["namespaces"]);
    apply(
        &s,
        &configuration("ValidatingWebhookConfiguration", "namespaces", vec![w]),
    );
    let ns = |name: &str, team: &str| {
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"team": team}}})
        .to_string()
    };
    let err = s.fails_stdin("1.33", &["create", "-f", "-"], &ns("blocked-ns", "blocked"));
    assert!(
        err.contains(
            "admission webhook \"namespaces.example.com\" denied the request: no such namespaces"
        ),
        "{err}"
    );
    s.ok_stdin("1.33", &["create", "-f", "-"], &ns("fine-ns", "fine"));
}

#[test]
fn dry_run_respects_side_effects() {
    let s = common::Server::start();
    let hook = Hook::start(|req| {
        set_meta(
            &req["object"],
            "labels",
            "seen-dry-run",
            &req["dryRun"].to_string(),
        )
    });
    // v1 admits only webhooks without side effects on dry run.
    let err = s.fails_stdin(
        "1.33",
        &["create", "-f", "-"],
        &configuration(
            "MutatingWebhookConfiguration",
            "effects",
            vec![webhook(
                "effects.example.com",
                hook.client_config(),
                &["CREATE"],
                json!({"sideEffects": "Some"}),
            )],
        ),
    );
    assert!(
        err.contains("The MutatingWebhookConfiguration \"effects\" is invalid: webhooks[0].sideEffects: Unsupported value: \"Some\": supported values: \"None\", \"NoneOnDryRun\""),
        "{err}"
    );
    apply_webhook(
        &s,
        "MutatingWebhookConfiguration",
        "effects",
        hook.client_config(),
        &["CREATE"],
        json!({"sideEffects": "NoneOnDryRun"}),
    );
    for v in common::KUBECTL_VERSIONS {
        let out = s.ok(
            v,
            &[
                "create",
                "configmap",
                "dry",
                "--dry-run=server",
                "-o",
                "json",
            ],
        );
        assert_eq!(
            common::json(&out)["metadata"]["labels"]["seen-dry-run"],
            "true"
        );
        assert!(!stored(&s, "dry"));
    }
    let req = &hook.requests()[0];
    assert_eq!(req["dryRun"], true);
    assert_eq!(req["options"]["dryRun"], json!(["All"]));
    // Without dry run the webhook sees dryRun false.
    s.ok("1.33", &["create", "configmap", "wet"]);
    let label = jsonpath(&s, "1.33", "cm", "wet", "{.metadata.labels.seen-dry-run}");
    assert_eq!(label, "false");
}

#[test]
fn service_webhook_is_reached_through_endpoints() {
    let s = common::Server::start();
    // Endpoints may not name loopback addresses, so the webhook listens on
    // one of this host's other addresses.
    let ip = host_ip();
    let hook = Hook::start_with(
        Arc::new(|_| json!({"allowed": false, "status": {"message": "via service"}})),
        Duration::ZERO,
        &["hook.webhooks.svc"],
        &ip,
    );
    s.ok("1.33", &["create", "namespace", "webhooks"]);
    let objects = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook", "namespace": "webhooks"},
         "spec": {"ports": [{"name": "https", "port": 443, "targetPort": hook.addr.port()}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "hook", "namespace": "webhooks"},
         "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": hook.addr.port()}]}]},
    ]});
    apply(&s, &objects.to_string());
    let client_config = json!({
        "service": {"namespace": "webhooks", "name": "hook", "path": "/validate"},
        "caBundle": hook.ca_bundle(),
    });
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "service",
        client_config.clone(),
        &["CREATE"],
        json!({}),
    );
    let stored_config = common::json(&s.ok(
        "1.33",
        &[
            "get",
            "validatingwebhookconfiguration",
            "service",
            "-o",
            "json",
        ],
    ));
    assert_eq!(
        stored_config["webhooks"][0]["clientConfig"]["service"]["port"],
        443
    );
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &["create", "configmap", "through-service"]);
        assert!(
            err.contains(
                "admission webhook \"service.example.com\" denied the request: via service"
            ),
            "kubectl {v}: {err}"
        );
    }
    assert_eq!(hook.paths()[0], "/validate?timeout=10s");

    // The server must hold a certificate for <service>.<namespace>.svc.
    let impostor = Hook::start_with(
        Arc::new(|_| json!({"allowed": true})),
        Duration::ZERO,
        &["other.webhooks.svc"],
        &ip,
    );
    let endpoints = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "hook", "namespace": "webhooks"},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": impostor.addr.port()}]}]});
    apply(&s, &endpoints.to_string());
    let mut config = client_config.clone();
    config["caBundle"] = json!(impostor.ca_bundle());
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "service",
        config,
        &["CREATE"],
        json!({}),
    );
    let err = s.fails("1.33", &["create", "configmap", "impostor"]);
    assert!(
        err.contains("tls: failed to verify certificate: x509: certificate is valid for other.webhooks.svc, not hook.webhooks.svc"),
        "{err}"
    );
    assert!(impostor.requests().is_empty());

    // Without endpoints the call fails as upstream reports it.
    s.ok("1.33", &["delete", "endpoints", "hook", "-n", "webhooks"]);
    let err = s.fails("1.33", &["create", "configmap", "no-endpoints"]);
    assert!(
        err.contains("failed calling webhook \"service.example.com\": failed to call webhook: Post \"https://hook.webhooks.svc:443/validate?timeout=10s\": no endpoints available for service \"hook\""),
        "{err}"
    );
}

#[test]
fn match_conditions_choose_webhook_calls() {
    let s = common::Server::start();
    let hook = Hook::start(|_| json!({"allowed": false, "status": {"message": "conditions held"}}));
    let conditions = json!({"matchConditions": [
        {"name": "checked-only", "expression": "object.metadata.name.startsWith('checked-')"},
        {"name": "admin-only", "expression": "request.userInfo.username == 'sovedge-admin'"},
    ]});
    apply_webhook(
        &s,
        "ValidatingWebhookConfiguration",
        "conditions",
        hook.client_config(),
        &["CREATE"],
        conditions,
    );
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &["create", "configmap", &format!("checked-{v}")]);
        assert!(
            err.contains(
                "admission webhook \"conditions.example.com\" denied the request: conditions held"
            ),
            "kubectl {v}: {err}"
        );
        s.ok(v, &["create", "configmap", &format!("unchecked-{v}")]);
    }
    assert_eq!(
        hook.requests().len(),
        2,
        "called only where both conditions held"
    );

    // A condition that fails to evaluate: Fail refuses as Forbidden, Ignore skips.
    let broken = |policy: &str| {
        configuration(
            "ValidatingWebhookConfiguration",
            "conditions",
            vec![webhook(
                "conditions.example.com",
                hook.client_config(),
                &["CREATE"],
                json!({"failurePolicy": policy, "matchConditions": [
                    {"name": "needs-key", "expression": "object.data.wanted == 'x'"},
                ]}),
            )],
        )
    };
    apply(&s, &broken("Fail"));
    let api = Api::new(&s);
    let r = api.call(
        "POST",
        CMS,
        Some(&common::json(&config_map("cond-error", json!({})))),
    );
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["reason"], "Forbidden");
    assert_eq!(
        r.body["message"],
        "configmaps \"cond-error\" is forbidden: expression 'object.data.wanted == 'x'' resulted in error: no such key: wanted"
    );
    apply(&s, &broken("Ignore"));
    let r = api.call(
        "POST",
        CMS,
        Some(&common::json(&config_map("cond-error", json!({})))),
    );
    assert_eq!(r.code, 201, "{}", r.body);

    // Conditions are compiled when the configuration is written.
    let err = s.fails_stdin(
        "1.33",
        &["apply", "-f", "-"],
        &configuration(
            "ValidatingWebhookConfiguration",
            "bad-conditions",
            vec![webhook(
                "bad.example.com",
                hook.client_config(),
                &["CREATE"],
                json!({"matchConditions": [{"name": "syntax", "expression": "object.metadata.name =="}]}),
            )],
        ),
    );
    assert!(
        err.contains("webhooks[0].matchConditions[0].expression: Invalid value: \"object.metadata.name ==\": compilation failed: ERROR: <input>:1:"),
        "{err}"
    );
}

/// The replica-limit policy of upstream's ValidatingAdmissionPolicy
/// documentation, bound to namespaces labelled `environment: test`.
fn replica_policy(validation: Value, actions: &[&str]) -> String {
    let policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "demo-policy.example.com"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["deployments"],
            }]},
            "validations": [validation],
        },
    });
    let binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "demo-binding-test.example.com"},
        "spec": {
            "policyName": "demo-policy.example.com",
            "validationActions": actions,
            "matchResources": {"namespaceSelector": {"matchLabels": {"environment": "test"}}},
        },
    });
    format!("{policy}\n---\n{binding}")
}

/// kubectl arguments creating the nginx Deployment `name` in namespace `ns`
/// with the given `--replicas=N` flag.
fn create_deployment<'a>(name: &'a str, replicas: &'a str, ns: &'a str) -> [&'a str; 7] {
    [
        "create",
        "deployment",
        name,
        "--image=nginx",
        replicas,
        "-n",
        ns,
    ]
}

fn test_namespaces(s: &common::Server) {
    s.ok("1.33", &["create", "namespace", "test"]);
    s.ok("1.33", &["label", "namespace", "test", "environment=test"]);
    s.ok("1.33", &["create", "namespace", "prod"]);
}

#[test]
fn policy_denies_too_many_replicas_with_upstream_message() {
    let s = common::Server::start();
    test_namespaces(&s);
    apply(
        &s,
        &replica_policy(
            json!({"expression": "object.spec.replicas <= 5"}),
            &["Deny"],
        ),
    );
    let stored_policy = common::json(&s.ok(
        "1.33",
        &[
            "get",
            "validatingadmissionpolicy",
            "demo-policy.example.com",
            "-o",
            "json",
        ],
    ));
    assert_eq!(
        stored_policy["spec"]["matchConstraints"]["matchPolicy"],
        "Equivalent"
    );
    assert_eq!(
        stored_policy["spec"]["matchConstraints"]["resourceRules"][0]["scope"],
        "*"
    );
    let expected = "deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5";
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &create_deployment("web", "--replicas=6", "test"));
        assert!(err.contains(expected), "kubectl {v}: {err}");
        assert!(
            !s.kubectl(v, &["get", "deployment", "web", "-n", "test"])
                .status
                .success()
        );
    }
    // Namespaces the binding does not select are not checked.
    s.ok("1.33", &create_deployment("web", "--replicas=6", "prod"));
    // Updates are checked too.
    s.ok("1.27", &create_deployment("web", "--replicas=2", "test"));
    let err = s.fails(
        "1.27",
        &[
            "patch",
            "deployment",
            "web",
            "-n",
            "test",
            "-p",
            "{\"spec\":{\"replicas\":7}}",
        ],
    );
    // kubectl renders a reason Invalid with its one field-less cause, as in
    // upstream's documentation of this policy.
    assert!(
        err.contains("The deployments \"web\" is invalid: : ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5"),
        "{err}"
    );
    let replicas = s.ok(
        "1.27",
        &[
            "get",
            "deployment",
            "web",
            "-n",
            "test",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
    );
    assert_eq!(replicas, "2");

    // Raw: reason Invalid, code 422, the Forbidden-style details.
    let api = Api::new(&s);
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "raw"},
        "spec": {"replicas": 9, "selector": {"matchLabels": {"app": "raw"}},
            "template": {"metadata": {"labels": {"app": "raw"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    });
    let post_deployment = || {
        api.call(
            "POST",
            "/apis/apps/v1/namespaces/test/deployments",
            Some(&deployment),
        )
    };
    // Replaces the policy's validation, then posts the Deployment.
    let post_under = |validation: Value| {
        apply(&s, &replica_policy(validation, &["Deny"]));
        post_deployment()
    };
    let r = post_deployment();
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(r.body["reason"], "Invalid");
    let msg = "ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5";
    assert_eq!(
        r.body["message"],
        format!("deployments.apps \"raw\" is forbidden: {msg}")
    );
    assert_eq!(r.body["details"]["name"], "raw");
    assert_eq!(r.body["details"]["group"], "apps");
    assert_eq!(r.body["details"]["kind"], "deployments");
    assert_eq!(r.body["details"]["causes"], json!([{"message": msg}]));

    // message, messageExpression and reason.
    let r = post_under(json!({
        "expression": "object.spec.replicas <= 5",
        "message": "too many replicas",
        "messageExpression": "'replicas must be no greater than 5, got ' + string(object.spec.replicas)",
        "reason": "Forbidden",
    }));
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["reason"], "Forbidden");
    assert_eq!(
        r.body["message"],
        "deployments.apps \"raw\" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: replicas must be no greater than 5, got 9"
    );
    // A messageExpression that fails falls back to the message.
    let r = post_under(json!({
        "expression": "object.spec.replicas <= 5",
        "message": "too many replicas",
        "messageExpression": "object.spec.missing",
    }));
    assert_eq!(r.code, 422, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .ends_with("denied request: too many replicas"),
        "{}",
        r.body
    );
}

#[test]
fn policy_warn_and_audit_actions_admit() {
    let s = common::Server::start();
    test_namespaces(&s);
    apply(
        &s,
        &replica_policy(
            json!({"expression": "object.spec.replicas <= 5"}),
            &["Warn", "Audit"],
        ),
    );
    for v in common::KUBECTL_VERSIONS {
        let name = format!("warned-{}", v.replace('.', "-"));
        let err = s.ok_stderr(v, &create_deployment(&name, "--replicas=6", "test"));
        assert!(
            err.contains("Warning: Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com': failed expression: object.spec.replicas <= 5"),
            "kubectl {v}: {err}"
        );
    }
}

#[test]
fn warnings_accompany_a_refusal() {
    let s = common::Server::start();
    test_namespaces(&s);
    apply(
        &s,
        &replica_policy(
            json!({"expression": "object.spec.replicas <= 5"}),
            &["Warn"],
        ),
    );
    let hook = Hook::start(
        |_| json!({"allowed": false, "status": {"code": 403, "message": "no deployments today"}}),
    );
    let mut w = webhook(
        "deployments.example.com",
        hook.client_config(),
        &["CREATE"],
        json!({}),
    );
    w["rules"][0]["apiGroups"] = json!(["apps"]);
    w["rules"][0]["resources"] = json!(["deployments"]);
    apply(
        &s,
        &configuration("ValidatingWebhookConfiguration", "deployments", vec![w]),
    );
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &create_deployment("web", "--replicas=6", "test"));
        assert!(
            err.contains("Warning: Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com': failed expression: object.spec.replicas <= 5"),
            "kubectl {v}: {err}"
        );
        assert!(
            err.contains("admission webhook \"deployments.example.com\" denied the request: no deployments today"),
            "kubectl {v}: {err}"
        );
    }
}

#[test]
fn policy_params_variables_and_namespace_object() {
    let s = common::Server::start();
    test_namespaces(&s);
    let policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "replica-limit"},
        "spec": {
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["deployments"],
            }]},
            "variables": [
                {"name": "limit", "expression": "int(params.data.maxReplicas)"},
                {"name": "env", "expression": "namespaceObject.metadata.labels.environment"},
            ],
            "validations": [{
                "expression": "object.spec.replicas <= variables.limit",
                "messageExpression": "'at most ' + string(variables.limit) + ' replicas in ' + variables.env",
            }],
        },
    });
    let binding = |action: &str| {
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "replica-limit-test"},
            "spec": {
                "policyName": "replica-limit",
                "validationActions": ["Deny"],
                "paramRef": {"name": "limits", "namespace": "default", "parameterNotFoundAction": action},
                "matchResources": {"namespaceSelector": {"matchLabels": {"environment": "test"}}},
            },
        })
        .to_string()
    };
    apply(&s, &format!("{policy}\n---\n{}", binding("Deny")));
    // No parameter yet: the binding denies.
    let err = s.fails(
        "1.33",
        &["create", "deployment", "a", "--image=nginx", "-n", "test"],
    );
    assert!(
        err.contains("deployments.apps \"a\" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-test' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"),
        "{err}"
    );
    s.ok(
        "1.33",
        &[
            "create",
            "configmap",
            "limits",
            "--from-literal=maxReplicas=3",
        ],
    );
    for v in common::KUBECTL_VERSIONS {
        let err = s.fails(v, &create_deployment("big", "--replicas=4", "test"));
        assert!(
            err.contains("ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-test' denied request: at most 3 replicas in test"),
            "kubectl {v}: {err}"
        );
    }
    s.ok("1.33", &create_deployment("small", "--replicas=3", "test"));
    // Parameters are read at each request.
    s.ok(
        "1.33",
        &[
            "patch",
            "configmap",
            "limits",
            "-p",
            "{\"data\":{\"maxReplicas\":\"10\"}}",
        ],
    );
    s.ok("1.33", &create_deployment("big", "--replicas=4", "test"));
    // Without the parameter and with Allow, nothing is checked.
    s.ok("1.33", &["delete", "configmap", "limits"]);
    apply(&s, &binding("Allow"));
    s.ok("1.33", &create_deployment("huge", "--replicas=50", "test"));

    // Invalid policies are refused when written.
    let mut bad = policy.clone();
    bad["metadata"]["name"] = json!("bad-policy");
    bad["spec"]["validations"][0]["expression"] = json!("object.spec.replicas <=");
    bad["spec"]["validations"][0]["reason"] = json!("Conflict");
    let err = s.fails_stdin("1.33", &["create", "-f", "-"], &bad.to_string());
    assert!(
        err.contains("spec.validations[0].expression: Invalid value: \"object.spec.replicas <=\": compilation failed: ERROR: <input>:1:"),
        "{err}"
    );
    assert!(
        err.contains("spec.validations[0].reason: Unsupported value: \"Conflict\": supported values: \"Forbidden\", \"Invalid\", \"RequestEntityTooLarge\""),
        "{err}"
    );
    let bad_binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "bad-binding"},
        "spec": {"policyName": "replica-limit", "validationActions": ["Deny", "Warn"]},
    });
    let err = s.fails_stdin("1.33", &["create", "-f", "-"], &bad_binding.to_string());
    assert!(
        err.contains("spec.validationActions: Invalid value: []admissionregistration.ValidationAction{\"Deny\", \"Warn\"}: must not contain both Deny and Warn"),
        "{err}"
    );
}
