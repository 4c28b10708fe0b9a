//! OpenAPI documents through kubectl: `kubectl explain` (which reads the v3
//! documents, and v2 in gnostic protobuf with `plaintext-openapiv2`) and
//! validation of a misspelled field, with kubectl 1.27 and 1.33. Expected
//! lines are what upstream v1.35 prints for these fields.

mod common;

use common::Server;

const VERSIONS: [&str; 2] = ["1.27", "1.33"];

fn lines(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn has(out: &str, want: &str) {
    assert!(
        lines(out).iter().any(|l| l == want),
        "missing {want:?} in:\n{out}"
    );
}

#[test]
fn explain_deployment_strategy() {
    let s = Server::start();
    for v in VERSIONS {
        let out = s.ok(v, &["explain", "deployment.spec.strategy"]);
        has(&out, "GROUP: apps");
        has(&out, "KIND: Deployment");
        has(&out, "VERSION: v1");
        has(&out, "FIELD: strategy <DeploymentStrategy>");
        has(&out, "rollingUpdate <RollingUpdateDeployment>");
        has(&out, "type <string>");
        assert!(out.contains("The deployment strategy to use to replace existing pods"));
        let rec = s.ok(v, &["explain", "deployment.spec.strategy", "--recursive"]);
        has(&rec, "maxSurge <IntOrString>");
        has(&rec, "maxUnavailable <IntOrString>");
    }
}

#[test]
fn explain_container_ports_and_core_kinds() {
    let s = Server::start();
    for v in VERSIONS {
        let out = s.ok(v, &["explain", "pods.spec.containers.ports"]);
        has(&out, "KIND: Pod");
        has(&out, "VERSION: v1");
        assert!(
            !out.contains("GROUP:"),
            "core kinds have no group line:\n{out}"
        );
        has(&out, "FIELD: ports <[]ContainerPort>");
        has(&out, "containerPort <integer> -required-");
        has(&out, "hostIP <string>");
        has(&out, "protocol <string>");
        let res = s.ok(v, &["explain", "pod.spec.containers.resources"]);
        has(&res, "limits <map[string]Quantity>");
        let svc = s.ok(v, &["explain", "service.spec.ports.targetPort"]);
        has(&svc, "FIELD: targetPort <IntOrString>");
    }
}

#[test]
fn explain_from_the_v2_protobuf_document() {
    let s = Server::start();
    for v in VERSIONS {
        let out = s.ok(
            v,
            &[
                "explain",
                "deployment.spec.strategy",
                "--output",
                "plaintext-openapiv2",
            ],
        );
        has(&out, "KIND: Deployment");
        has(&out, "VERSION: apps/v1");
        has(&out, "RESOURCE: strategy <Object>");
        has(&out, "rollingUpdate <Object>");
        has(&out, "type <string>");
    }
}

#[test]
fn misspelled_field_is_refused_naming_it() {
    let s = Server::start();
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        imagee: typo\n";
    for v in VERSIONS {
        let err = s.fails_stdin(v, &["apply", "--validate=true", "-f", "-"], manifest);
        assert!(
            err.contains("spec.template.spec.containers[0].imagee"),
            "kubectl {v}: {err}"
        );
    }
}

#[test]
fn v3_root_hash_and_apply_merges_by_the_schema() {
    let s = Server::start();
    let out = s.ok("1.33", &["get", "--raw", "/openapi/v3"]);
    let root = common::json(&out);
    let url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .expect("url");
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    // kubectl apply computes its patch from the published merge keys: the
    // second apply changes the one container instead of adding one.
    let m = |image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {image}\n        ports:\n        - containerPort: 80\n"
        )
    };
    for v in VERSIONS {
        s.ok_stdin(v, &["apply", "-f", "-"], &m("nginx:1"));
        s.ok_stdin(v, &["apply", "-f", "-"], &m("nginx:2"));
        let got = s.ok(
            v,
            &[
                "get",
                "deploy",
                "web",
                "-o",
                "jsonpath={.spec.template.spec.containers[*].image}",
            ],
        );
        assert_eq!(got, "nginx:2");
        s.ok(v, &["delete", "deploy", "web"]);
    }
}

#[tokio::test]
async fn v2_etag_and_protobuf() {
    use http_body_util::BodyExt;
    let s = Server::start();
    let client = common::kube_client(&s).await;
    let get = |accept: &'static str, etag: Option<String>| {
        let mut r = http::Request::get("/openapi/v2").header("Accept", accept);
        if let Some(e) = etag {
            r = r.header("If-None-Match", e);
        }
        r.body(kube::client::Body::empty()).unwrap()
    };
    let pb = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    let resp = client.send(get(pb, None)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    );
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    // Field 1 (swagger) comes first: "2.0".
    assert_eq!(&body[..5], b"\x0a\x032.0");
    assert!(body.len() > 1_000_000, "{} bytes", body.len());
    let again = client.send(get(pb, Some(etag.clone()))).await.unwrap();
    assert_eq!(again.status(), 304);
    let json = client.send(get("application/json", None)).await.unwrap();
    assert_eq!(json.status(), 200);
    assert_ne!(json.headers()["etag"].to_str().unwrap(), etag);
    let body = json.into_body().collect().await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        doc["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]["x-kubernetes-patch-merge-key"],
        "name"
    );

    // v3: the root's URL carries the current hash; an outdated one is
    // redirected to it.
    let root = client
        .request_text(http::Request::get("/openapi/v3").body(Vec::new()).unwrap())
        .await
        .unwrap();
    let root: serde_json::Value = serde_json::from_str(&root).unwrap();
    let url = root["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = |u: &str| {
        http::Request::get(u)
            .body(kube::client::Body::empty())
            .unwrap()
    };
    let ok = client.send(req(&url)).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "public, immutable");
    let moved = client
        .send(req("/openapi/v3/api/v1?hash=0123"))
        .await
        .unwrap();
    assert_eq!(moved.status(), 301);
    assert_eq!(moved.headers()["location"], url.as_str());
}

/// A CRD as upstream's documentation writes its CronTab example.
const CRONTAB_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                cronSpec:
                  type: string
                image:
                  type: string
                replicas:
                  type: integer
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
"#;

#[test]
fn explain_a_custom_resource_once_its_crd_is_created() {
    let s = Server::start();
    s.ok_stdin("1.33", &["apply", "-f", "-"], CRONTAB_CRD);
    for v in VERSIONS {
        let top = s.ok(v, &["explain", "crontabs"]);
        has(&top, "GROUP: stable.example.com");
        has(&top, "KIND: CronTab");
        has(&top, "VERSION: v1");
        has(&top, "apiVersion <string>");
        has(&top, "kind <string>");
        has(&top, "metadata <ObjectMeta>");
        has(&top, "spec <Object>");
        let spec = s.ok(v, &["explain", "ct.spec"]);
        has(&spec, "FIELD: spec <Object>");
        has(&spec, "cronSpec <string>");
        has(&spec, "image <string>");
        has(&spec, "replicas <integer>");
        let meta = s.ok(v, &["explain", "crontab.metadata.finalizers"]);
        has(&meta, "FIELD: finalizers <[]string>");
    }
}
