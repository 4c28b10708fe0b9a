//! End-to-end: `kubectl create token` against the real binary with kubectl
//! 1.27 and 1.33: the token carries upstream's claims, authenticates as the
//! service account, and stops working when its service account or bound
//! object goes.

mod common;

use common::objects::get;
use common::{KUBECTL_VERSIONS, Server, json};
use serde_json::{Value, json};

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
