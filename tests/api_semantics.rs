//! API semantics and error paths over HTTPS with the real binary: every
//! bad input gets a Kubernetes Status with the upstream reason and code,
//! and changes nothing.

mod common;

use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

struct Api {
    client: Client,
}

struct Reply {
    code: u16,
    warnings: Vec<String>,
    body: Value,
}

impl Api {
    async fn new(s: &common::Server) -> Api {
        let kc = Kubeconfig::read_from(s.kubeconfig()).unwrap();
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        Api {
            client: Client::try_from(config).unwrap(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(Body::from(body.into()))
            .unwrap();
        let resp = self.client.send(req).await.unwrap();
        let code = resp.status().as_u16();
        let warnings = resp
            .headers()
            .get_all("warning")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let bytes = resp.into_body().collect_bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply {
            code,
            warnings,
            body,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, "application/json", Vec::new()).await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(
            "POST",
            path,
            "application/json",
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    async fn put(&self, path: &str, body: &Value) -> Reply {
        self.call(
            "PUT",
            path,
            "application/json",
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }
}

fn assert_status(r: &Reply, code: u16, reason: &str, contains: &str) {
    assert_eq!(r.code, code, "{}", r.body);
    assert_eq!(r.body["kind"], "Status", "{}", r.body);
    assert_eq!(r.body["status"], "Failure", "{}", r.body);
    assert_eq!(r.body["reason"], reason, "{}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains(contains), "message {msg:?} lacks {contains:?}");
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// Items of a list, leaving out the `kube-root-ca.crt` ConfigMap every
/// namespace has.
fn ours(list: &Value) -> usize {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["metadata"]["name"] != "kube-root-ca.crt")
        .count()
}

async fn count(api: &Api, path: &str) -> usize {
    ours(&api.get(path).await.body)
}

#[tokio::test]
async fn bad_input_gets_status_and_changes_nothing() {
    let s = common::Server::start();
    let api = Api::new(&s).await;
    let rev_before = api.get(CMS).await.body["metadata"]["resourceVersion"].clone();

    let r = api.call("POST", CMS, "application/json", "{not json").await;
    assert_status(&r, 400, "BadRequest", "");

    let wrong_kind = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}});
    assert_status(
        &api.post(CMS, &wrong_kind).await,
        400,
        "BadRequest",
        "Secret",
    );

    let missing_ns = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    assert_status(
        &api.post("/api/v1/namespaces/nope/configmaps", &missing_ns)
            .await,
        404,
        "NotFound",
        "namespaces \"nope\" not found",
    );

    let bad_name =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}});
    let r = api.post(CMS, &bad_name).await;
    assert_status(&r, 422, "Invalid", "ConfigMap \"Bad_Name\" is invalid");
    assert_eq!(r.body["details"]["causes"][0]["field"], "metadata.name");

    let no_name = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    assert_status(
        &api.post(CMS, &no_name).await,
        422,
        "Invalid",
        "name or generateName is required",
    );

    let with_rv = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "resourceVersion": "5"}});
    assert_status(
        &api.post(CMS, &with_rv).await,
        400,
        "BadRequest",
        "resourceVersion should not be set",
    );

    let bad_type = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "three"}});
    assert_status(
        &api.post("/apis/apps/v1/namespaces/default/deployments", &bad_type)
            .await,
        400,
        "BadRequest",
        "spec.replicas",
    );

    let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": "x".repeat(4 * 1024 * 1024)}});
    let r = api.post(CMS, &big).await;
    assert_eq!(r.code, 413, "{}", r.body);

    let r = api.call("POST", CMS, "application/xml", "<x/>").await;
    assert_status(&r, 415, "UnsupportedMediaType", "");

    assert_status(
        &api.get("/api/v1/namespaces/default/configmaps/absent")
            .await,
        404,
        "NotFound",
        "configmaps \"absent\" not found",
    );
    assert_status(
        &api.get("/apis/apps/v1/namespaces/default/deployments/absent")
            .await,
        404,
        "NotFound",
        "deployments.apps \"absent\" not found",
    );
    assert_status(&api.get("/api/v1/nothings").await, 404, "NotFound", "");

    let r = api
        .get("/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx")
        .await;
    assert_status(
        &r,
        400,
        "BadRequest",
        "field label not supported: spec.bogus",
    );

    // Nothing above was stored.
    assert_eq!(count(&api, CMS).await, 0);
    assert_eq!(
        api.get(CMS).await.body["metadata"]["resourceVersion"],
        rev_before
    );
}

#[tokio::test]
async fn field_validation_modes() {
    let s = common::Server::start();
    let api = Api::new(&s).await;
    let obj = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "bogus": 1}, "data": {"a": "b"}, "extra": true});

    let r = api
        .post(&format!("{CMS}?fieldValidation=Strict"), &obj("strict"))
        .await;
    assert_status(
        &r,
        400,
        "BadRequest",
        "strict decoding error: unknown field \"extra\", unknown field \"metadata.bogus\"",
    );

    let r = api
        .post(&format!("{CMS}?fieldValidation=Warn"), &obj("warn"))
        .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("unknown field \\\"extra\\\"")
                || w.contains("unknown field \"extra\"")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.body.get("extra").is_none(),
        "unknown fields are dropped: {}",
        r.body
    );

    let r = api
        .post(&format!("{CMS}?fieldValidation=Ignore"), &obj("ignore"))
        .await;
    assert_eq!(r.code, 201);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let r = api
        .post(&format!("{CMS}?fieldValidation=Sometimes"), &obj("x"))
        .await;
    assert_status(&r, 400, "BadRequest", "fieldValidation");
}

#[tokio::test]
async fn anonymous_and_wrong_token_get_401() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "s3cret-token,alice,uid-1,\"dev,ops\"\n").unwrap();
    let s2 = common::Server::start_with("redb", &["--token-auth-file", tokens.to_str().unwrap()]);

    let mut anon = Config::new(s2.url().parse().unwrap());
    anon.accept_invalid_certs = true;
    let anon = Api {
        client: Client::try_from(anon).unwrap(),
    };
    let r = anon.get(CMS).await;
    assert_status(&r, 401, "Unauthorized", "Unauthorized");
    // Health and version stay public, as upstream serves them.
    assert_eq!(anon.get("/readyz").await.code, 200);
    assert_eq!(anon.get("/version").await.code, 200);

    let mut with_token = Config::new(s2.url().parse().unwrap());
    with_token.accept_invalid_certs = true;
    with_token.auth_info.token = Some("s3cret-token".to_string().into());
    let alice = Api {
        client: Client::try_from(with_token).unwrap(),
    };
    let who = alice
        .post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
        )
        .await;
    assert_eq!(who.code, 201, "{}", who.body);
    assert_eq!(who.body["status"]["userInfo"]["username"], "alice");
    let groups = who.body["status"]["userInfo"]["groups"].as_array().unwrap();
    assert!(
        groups.contains(&json!("dev")) && groups.contains(&json!("system:authenticated")),
        "{groups:?}"
    );

    let mut wrong = Config::new(s2.url().parse().unwrap());
    wrong.accept_invalid_certs = true;
    wrong.auth_info.token = Some("guess".to_string().into());
    let wrong = Api {
        client: Client::try_from(wrong).unwrap(),
    };
    assert_status(&wrong.get(CMS).await, 401, "Unauthorized", "");
}

#[tokio::test]
async fn object_lifecycle_semantics() {
    let s = common::Server::start();
    let api = Api::new(&s).await;

    // generateName and dry-run.
    let r = api
        .post(
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
        )
        .await;
    assert_eq!(r.code, 201);
    let name = r.body["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    let r = api
        .post(
            &format!("{CMS}?dryRun=All"),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}}),
        )
        .await;
    assert_eq!(r.code, 201);
    assert_eq!(r.body["metadata"]["name"], "dry");
    assert_eq!(api.get(&format!("{CMS}/dry")).await.code, 404);

    // Deployment: defaults, generation, status and scale subresources.
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        "status": {"replicas": 7}});
    let r = api.post(deps, &dep).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let created = r.body;
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(
        created.get("status").is_none() || created["status"].get("replicas").is_none(),
        "status is dropped on create: {created}"
    );
    assert_eq!(created["spec"]["replicas"], 1);
    assert_eq!(created["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(created["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(
        created["spec"]["template"]["spec"]["restartPolicy"],
        "Always"
    );
    assert_eq!(
        created["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    assert_eq!(
        created["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"],
        "/dev/termination-log"
    );

    let mut status_update = created.clone();
    status_update["status"] = json!({"replicas": 3, "observedGeneration": 1});
    status_update["spec"]["replicas"] = json!(9);
    let r = api.put(&format!("{deps}/web/status"), &status_update).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["status"]["replicas"], 3);
    assert_eq!(
        r.body["spec"]["replicas"], 1,
        "spec changes through /status are ignored"
    );
    assert_eq!(
        r.body["metadata"]["generation"], 1,
        "status writes do not bump generation"
    );

    let mut spec_update = r.body.clone();
    spec_update["spec"]["replicas"] = json!(4);
    spec_update["status"]["replicas"] = json!(100);
    let r = api.put(&format!("{deps}/web"), &spec_update).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["metadata"]["generation"], 2);
    assert_eq!(
        r.body["status"]["replicas"], 3,
        "status changes through the main resource are ignored"
    );

    let scale = api.get(&format!("{deps}/web/scale")).await.body;
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 4);
    assert_eq!(scale["status"]["selector"], "app=web");
    let r = api
        .call(
            "PATCH",
            &format!("{deps}/web/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":6}}"#,
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        api.get(&format!("{deps}/web")).await.body["spec"]["replicas"],
        6
    );

    // Finalizers hold a deleted object until they are removed.
    let r = api.post(CMS, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})).await;
    assert_eq!(r.code, 201);
    let r = api
        .call(
            "DELETE",
            &format!("{CMS}/held"),
            "application/json",
            Vec::new(),
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let held = api.get(&format!("{CMS}/held")).await.body;
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    let r = api
        .call(
            "PATCH",
            &format!("{CMS}/held"),
            "application/merge-patch+json",
            r#"{"metadata":{"finalizers":null}}"#,
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(api.get(&format!("{CMS}/held")).await.code, 404);

    // Delete preconditions.
    let r = api
        .post(
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pre"}}),
        )
        .await;
    let uid = r.body["metadata"]["uid"].as_str().unwrap().to_string();
    let r = api
        .call(
            "DELETE",
            &format!("{CMS}/pre"),
            "application/json",
            serde_json::to_vec(&json!({"preconditions": {"uid": "wrong"}})).unwrap(),
        )
        .await;
    assert_status(
        &r,
        409,
        "Conflict",
        "Precondition failed: UID in precondition: wrong",
    );
    let r = api
        .call(
            "DELETE",
            &format!("{CMS}/pre"),
            "application/json",
            serde_json::to_vec(&json!({"preconditions": {"uid": uid}})).unwrap(),
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["status"], "Success");

    // A namespace that is terminating refuses new content, then goes away.
    assert_eq!(
        api.post(
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
        )
        .await
        .code,
        201
    );
    let r = api
        .post(
            "/api/v1/namespaces/doomed/configmaps",
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
        )
        .await;
    assert_eq!(r.code, 201);
    let r = api
        .call(
            "DELETE",
            "/api/v1/namespaces/doomed",
            "application/json",
            Vec::new(),
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["status"]["phase"], "Terminating");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while api.get("/api/v1/namespaces/doomed").await.code != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "namespace not removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        api.get("/api/v1/namespaces/doomed/configmaps/c").await.code,
        404
    );
}

#[tokio::test]
async fn list_and_watch_resource_versions() {
    let mut s = common::Server::start();
    let api = Api::new(&s).await;
    for i in 0..5 {
        api.post(CMS, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}})).await;
    }
    let first = api.get(&format!("{CMS}?limit=2")).await.body;
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    // Three more of ours and the namespace's kube-root-ca.crt.
    assert_eq!(first["metadata"]["remainingItemCount"], 4);

    let r = api
        .get(&format!("{CMS}?resourceVersionMatch=NotOlderThan"))
        .await;
    assert_status(
        &r,
        400,
        "BadRequest",
        "resourceVersionMatch is forbidden unless resourceVersion is provided",
    );

    // An exact read of an older revision sees the old state.
    let rv: u64 = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    api.call(
        "DELETE",
        &format!("{CMS}/c0"),
        "application/json",
        Vec::new(),
    )
    .await;
    let old = api
        .get(&format!(
            "{CMS}?resourceVersion={rv}&resourceVersionMatch=Exact"
        ))
        .await
        .body;
    assert_eq!(ours(&old), 5);
    assert_eq!(count(&api, CMS).await, 4);

    // Watch with a timeout ends by itself.
    let start = std::time::Instant::now();
    let r = api
        .get(&format!(
            "{CMS}?watch=1&resourceVersion={rv}&timeoutSeconds=1"
        ))
        .await;
    assert_eq!(r.code, 200);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    let text = match &r.body {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    assert!(
        text.contains("\"DELETED\"") && text.contains("\"c0\""),
        "{text}"
    );

    // After a restart the continue token's snapshot is gone: 410.
    s.kill();
    s.spawn();
    let api = Api::new(&s).await;
    let r = api.get(&format!("{CMS}?limit=2&continue={token}")).await;
    assert_status(&r, 410, "Expired", "continue parameter is too old");
}

#[tokio::test]
async fn watch_bookmarks_and_initial_events() {
    let s = common::Server::start();
    let api = Api::new(&s).await;
    api.post(
        CMS,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}}),
    )
    .await;
    // Streaming list: current objects, then a bookmark marking their end.
    let r = api
        .get(&format!("{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1&fieldSelector=metadata.name%21%3Dkube-root-ca.crt"))
        .await;
    let text = match &r.body {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "one");
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(events[1]["object"]["kind"], "ConfigMap");
}

#[tokio::test]
async fn aggregated_discovery_and_collections() {
    let s = common::Server::start();
    let api = Api::new(&s).await;
    let req = http::Request::builder()
        .uri("/apis")
        .header(
            "accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )
        .body(Body::empty())
        .unwrap();
    let resp = api.client.send(req).await.unwrap();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ct.contains("as=APIGroupDiscoveryList") && ct.contains("v=v2"),
        "{ct}"
    );
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect_bytes().await.unwrap()).unwrap();
    assert_eq!(body["kind"], "APIGroupDiscoveryList");
    let apps = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "apps")
        .unwrap();
    let deploy = apps["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "deployments")
        .unwrap();
    assert_eq!(deploy["scope"], "Namespaced");
    assert_eq!(deploy["shortNames"], json!(["deploy"]));
    assert!(
        deploy["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["subresource"] == "scale")
    );

    // The built-in namespaces and the kubernetes Service exist from the start.
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert_eq!(
            api.get(&format!("/api/v1/namespaces/{ns}")).await.code,
            200,
            "{ns}"
        );
    }
    assert_eq!(
        api.get("/api/v1/namespaces/default/services/kubernetes")
            .await
            .body["spec"]["ports"][0]["port"],
        443
    );

    // deletecollection honours the selector; a dry-run delete keeps the object.
    for (name, tier) in [("a", "x"), ("b", "x"), ("c", "y")] {
        api.post(CMS, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"tier": tier}}})).await;
    }
    let r = api
        .call(
            "DELETE",
            &format!("{CMS}?labelSelector=tier%3Dx"),
            "application/json",
            Vec::new(),
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(count(&api, CMS).await, 1);
    let r = api
        .call(
            "DELETE",
            &format!("{CMS}/c?dryRun=All"),
            "application/json",
            Vec::new(),
        )
        .await;
    assert_eq!(r.code, 200);
    assert_eq!(api.get(&format!("{CMS}/c")).await.code, 200);

    // A terminating namespace refuses new objects.
    api.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "closing"}}),
    )
    .await;
    api.post(
        "/api/v1/namespaces/closing/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    )
    .await;
    api.call(
        "DELETE",
        "/api/v1/namespaces/closing",
        "application/json",
        Vec::new(),
    )
    .await;
    let r = api
        .post(
            "/api/v1/namespaces/closing/configmaps",
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}}),
        )
        .await;
    assert_status(&r, 403, "Forbidden", "because it is being terminated");
}

#[test]
fn restart_reuses_certificates_and_kubeconfig() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = common::Server::start();
    let files = [
        "admin.kubeconfig",
        "tls/ca.crt",
        "tls/ca.key",
        "tls/server.crt",
        "tls/admin.crt",
    ];
    let read = |s: &common::Server| files.map(|f| std::fs::read(s.data_dir().join(f)).unwrap());
    let before = read(&s);
    let mode = std::fs::metadata(s.kubeconfig())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    s.kill();
    s.spawn();
    assert_eq!(read(&s), before, "a restart must not regenerate anything");
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_sovedge"))
        .args(["kubeconfig", "--data-dir"])
        .arg(s.data_dir())
        .output()
        .unwrap();
    assert!(printed.status.success());
    assert_eq!(printed.stdout, before[0]);
}

#[tokio::test]
async fn scope_protection_and_escaped_names() {
    let s = common::Server::start();
    let api = Api::new(&s).await;
    let r = api
        .call(
            "DELETE",
            "/api/v1/namespaces/default",
            "application/json",
            Vec::new(),
        )
        .await;
    assert_status(&r, 403, "Forbidden", "this namespace may not be deleted");
    assert_eq!(
        api.get("/api/v1/namespaces/default").await.body["status"]["phase"],
        "Active"
    );

    // Writes across all namespaces are not a thing.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}});
    assert_status(
        &api.post("/api/v1/configmaps", &cm).await,
        405,
        "MethodNotAllowed",
        "",
    );
    let r = api
        .call(
            "DELETE",
            "/api/v1/configmaps",
            "application/json",
            Vec::new(),
        )
        .await;
    assert_status(&r, 405, "MethodNotAllowed", "");
    let r = api
        .call(
            "DELETE",
            "/api/v1/namespaces",
            "application/json",
            Vec::new(),
        )
        .await;
    assert_status(&r, 405, "MethodNotAllowed", "");

    // Names with characters clients escape in URLs.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:test-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
    assert_eq!(
        api.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", &role)
            .await
            .code,
        201
    );
    let got = api
        .get("/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Atest-reader")
        .await;
    assert_eq!(got.code, 200, "{}", got.body);
    assert_eq!(
        api.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/a%2Fb")
            .await
            .code,
        404
    );

    // A replace naming another object's uid is a failed precondition.
    let r = api
        .post(
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u"}}),
        )
        .await;
    let mut stale = r.body.clone();
    stale["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000000");
    stale["metadata"]["resourceVersion"] = json!("");
    assert_status(
        &api.put(&format!("{CMS}/u"), &stale).await,
        409,
        "Conflict",
        "Precondition failed: UID",
    );
}

#[tokio::test]
async fn events_are_one_store_in_two_versions() {
    let s = common::Server::start();
    let api = Api::new(&s).await;
    let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "default"},
        "eventTime": "2026-11-22T10:00:00.000000Z", "reportingController": "sovedge/test", "reportingInstance": "box1",
        "action": "Started", "reason": "Started", "regarding": {"kind": "Pod", "name": "p1", "namespace": "default"},
        "note": "hello", "type": "Normal"});
    let r = api
        .post("/apis/events.k8s.io/v1/namespaces/default/events", &ev)
        .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let core = api.get("/api/v1/namespaces/default/events/e1").await.body;
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "hello");
    assert_eq!(core["involvedObject"]["name"], "p1");
    let new = api
        .get("/apis/events.k8s.io/v1/namespaces/default/events")
        .await
        .body;
    assert_eq!(new["items"][0]["note"], "hello");
    assert_eq!(new["items"][0]["regarding"]["name"], "p1");
    assert!(new["items"][0].get("message").is_none());
}

#[tokio::test]
async fn restart_collects_objects_whose_owners_are_gone() {
    let mut s = common::Server::start();
    let api = Api::new(&s).await;
    let owner = api
        .post(
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}}),
        )
        .await
        .body;
    let owned = |name: &str, uid: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name,
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": uid}]}})
    };
    // One dependent of a live owner, one whose owner never came back.
    assert_eq!(
        api.post(
            CMS,
            &owned("kept", owner["metadata"]["uid"].as_str().unwrap())
        )
        .await
        .code,
        201
    );
    assert_eq!(
        api.post(
            CMS,
            &owned("dangling", "6f9619ff-8b86-d011-b42d-00c04fc964ff")
        )
        .await
        .code,
        201
    );
    s.kill();
    s.spawn();
    let api = Api::new(&s).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while api.get(&format!("{CMS}/dangling")).await.code != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "dangling dependent not collected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(api.get(&format!("{CMS}/kept")).await.code, 200);
}
