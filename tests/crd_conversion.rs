//! CRD conversion webhooks end to end: a CRD whose v1 (storage) says
//! `spec.size: "3"` and whose v2 says `spec.replicas: 3`, converted by an
//! HTTPS webhook started here on loopback. kubectl 1.27 and 1.33 write at
//! one version and read and list at both; with the webhook gone, reads and
//! writes that need it fail with upstream v1.35's error and store nothing.

mod common;

use common::hook::Hook;
use common::{KUBECTL_VERSIONS, Server};
use serde_json::{Value, json};

fn crd(client_config: &Value) -> String {
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.conv.example.com"},
        "spec": {
            "group": "conv.example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "properties": {
                        "size": {"type": "string"}, "color": {"type": "string"}}}}}}},
                {"name": "v2", "served": true, "storage": false,
                 "subresources": {"scale": {"specReplicasPath": ".spec.replicas",
                     "statusReplicasPath": ".status.replicas"}},
                 "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "required": ["replicas"], "properties": {
                        "replicas": {"type": "integer", "minimum": 1},
                        "color": {"type": "string"}}}}}}}
            ],
            "conversion": {"strategy": "Webhook", "webhook": {
                "conversionReviewVersions": ["v1"],
                "clientConfig": client_config}}
        }
    });
    serde_json::to_string(&crd).unwrap()
}

/// The converter: v1 `spec.size` (a string) is v2 `spec.replicas` (an
/// integer); everything else is copied. It answers the `response` of a
/// ConversionReview for `request`.
fn convert(request: &Value) -> Value {
    let desired = request["desiredAPIVersion"].as_str().unwrap();
    let converted: Vec<Value> = request["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let mut o = o.clone();
            let spec = o["spec"].as_object_mut().unwrap();
            if desired == "conv.example.com/v2" {
                let size = spec.remove("size").unwrap();
                let n: i64 = size.as_str().unwrap().parse().unwrap();
                spec.insert("replicas".into(), json!(n));
            } else {
                let replicas = spec.remove("replicas").unwrap();
                spec.insert("size".into(), json!(replicas.as_i64().unwrap().to_string()));
            }
            o["apiVersion"] = json!(desired);
            o
        })
        .collect();
    json!({"convertedObjects": converted, "result": {"status": "Success"}})
}

fn widget(version: &str, name: &str, spec: Value) -> String {
    serde_json::to_string(&json!({
        "apiVersion": format!("conv.example.com/{version}"),
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }))
    .unwrap()
}

fn get(s: &Server, v: &str, version: &str, name: &str) -> Value {
    let resource = format!("widgets.{version}.conv.example.com");
    common::json(&s.ok(v, &["get", &resource, name, "-o", "json"]))
}

fn list(s: &Server, v: &str, version: &str) -> Value {
    let resource = format!("widgets.{version}.conv.example.com");
    common::json(&s.ok(v, &["get", &resource, "-o", "json"]))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn objects_are_served_at_every_version_through_the_webhook() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        let hook = Hook::start(convert);
        let config = json!({"url": hook.url("/convert"), "caBundle": hook.ca_bundle()});
        let out = s.kubectl_stdin(v, &["apply", "-f", "-"], &crd(&config));
        assert!(out.status.success(), "{}", stderr(&out));

        // Written at v2, stored at v1 through the webhook.
        let out = s.kubectl_stdin(
            v,
            &["create", "-f", "-"],
            &widget("v2", "a", json!({"replicas": 3, "color": "blue"})),
        );
        assert!(out.status.success(), "kubectl {v}: {}", stderr(&out));
        let stored_conversion = hook
            .requests()
            .into_iter()
            .find(|r| r["desiredAPIVersion"] == "conv.example.com/v1")
            .expect("the create converted to the storage version");
        assert_eq!(stored_conversion["objects"][0]["spec"]["replicas"], 3);
        assert!(!stored_conversion["uid"].as_str().unwrap().is_empty());

        let at_v1 = get(&s, v, "v1", "a");
        assert_eq!(at_v1["apiVersion"], "conv.example.com/v1");
        assert_eq!(at_v1["spec"], json!({"size": "3", "color": "blue"}));
        let at_v2 = get(&s, v, "v2", "a");
        assert_eq!(at_v2["apiVersion"], "conv.example.com/v2");
        assert_eq!(at_v2["spec"], json!({"replicas": 3, "color": "blue"}));
        // The same object whatever the version: identity is kept.
        assert_eq!(at_v1["metadata"]["uid"], at_v2["metadata"]["uid"]);
        assert_eq!(
            at_v1["metadata"]["resourceVersion"],
            at_v2["metadata"]["resourceVersion"]
        );

        // Written at v1 (the storage version), read at v2.
        let out = s.kubectl_stdin(
            v,
            &["create", "-f", "-"],
            &widget("v1", "b", json!({"size": "5", "color": "red"})),
        );
        assert!(out.status.success(), "kubectl {v}: {}", stderr(&out));
        assert_eq!(
            get(&s, v, "v2", "b")["spec"],
            json!({"replicas": 5, "color": "red"})
        );

        // Lists convert every item; one review carries the whole list.
        let before = hook.requests().len();
        let items = list(&s, v, "v2")["items"].clone();
        let specs: Vec<&Value> = items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| &i["spec"])
            .collect();
        assert_eq!(
            specs,
            [
                &json!({"replicas": 3, "color": "blue"}),
                &json!({"replicas": 5, "color": "red"})
            ]
        );
        let sent: Vec<Value> = hook.requests()[before..].to_vec();
        assert!(
            sent.iter()
                .any(|r| r["objects"].as_array().unwrap().len() == 2),
            "{sent:?}"
        );
        let items = list(&s, v, "v1")["items"].clone();
        let sizes: Vec<&Value> = items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| &i["spec"]["size"])
            .collect();
        assert_eq!(sizes, [&json!("3"), &json!("5")]);

        // An update at v2 is converted for storage as well.
        let out = s.kubectl_stdin(
            v,
            &["apply", "-f", "-"],
            &widget("v2", "a", json!({"replicas": 7, "color": "blue"})),
        );
        assert!(out.status.success(), "kubectl {v}: {}", stderr(&out));
        assert_eq!(get(&s, v, "v1", "a")["spec"]["size"], "7");
        assert_eq!(get(&s, v, "v2", "a")["spec"]["replicas"], 7);

        // The scale subresource of v2 reads and writes v2's path.
        let scale = common::json(&s.ok(
            v,
            &[
                "get",
                "widgets.v2.conv.example.com",
                "a",
                "--subresource=scale",
                "-o",
                "json",
            ],
        ));
        assert_eq!(scale["spec"]["replicas"], 7);
        s.ok(
            v,
            &["scale", "widgets.v2.conv.example.com", "a", "--replicas=6"],
        );
        assert_eq!(
            get(&s, v, "v1", "a")["spec"],
            json!({"size": "6", "color": "blue"})
        );

        // v2's schema applies to writes at v2 though v1 is stored.
        let out = s.kubectl_stdin(
            v,
            &["create", "-f", "-"],
            &widget("v2", "bad", json!({"replicas": 0})),
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"),
            "kubectl {v}: {}",
            stderr(&out)
        );

        // The webhook gone: what needs it fails as upstream's does.
        let port = hook.addr.port();
        drop(hook);
        let refused = format!(
            "Post \"https://127.0.0.1:{port}/convert?timeout=30s\": dial tcp 127.0.0.1:{port}: connect: connection refused"
        );
        let err = s.fails(v, &["get", "widgets.v2.conv.example.com", "a"]);
        assert!(
            err.contains(&format!(
                "Error from server (InternalError): Internal error occurred: conversion webhook for conv.example.com/v1, Kind=Widget failed: {refused}"
            )),
            "kubectl {v}: {err}"
        );
        let err = s.fails(v, &["get", "widgets.v2.conv.example.com"]);
        assert!(
            err.contains("conversion webhook for conv.example.com/v1, Kind=Widget failed: "),
            "kubectl {v}: {err}"
        );
        let out = s.kubectl_stdin(
            v,
            &["create", "-f", "-"],
            &widget("v2", "c", json!({"replicas": 2})),
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains(&format!(
                "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred: conversion webhook for conv.example.com/v2, Kind=Widget failed: {refused}"
            )),
            "kubectl {v}: {}",
            stderr(&out)
        );
        // Nothing was stored; the storage version needs no webhook.
        let err = s.fails(v, &["get", "widgets.v1.conv.example.com", "c"]);
        assert!(
            err.contains("widgets.conv.example.com \"c\" not found"),
            "kubectl {v}: {err}"
        );
        let names = s.ok(v, &["get", "widgets.v1.conv.example.com", "-o", "name"]);
        assert_eq!(
            names.lines().collect::<Vec<_>>(),
            ["widget.conv.example.com/a", "widget.conv.example.com/b"]
        );
    }
}

/// A non-loopback address of this host: Endpoints may not name loopback.
fn host_ip() -> String {
    nix::ifaddrs::getifaddrs()
        .unwrap()
        .filter_map(|i| i.address?.as_sockaddr_in().map(|a| a.ip()))
        .find(|ip| !ip.is_loopback())
        .expect("a non-loopback IPv4 address for Endpoints")
        .to_string()
}

#[test]
fn service_conversion_webhook_is_reached_through_endpoints() {
    let s = Server::start();
    let ip = host_ip();
    let hook = Hook::start_with(
        std::sync::Arc::new(convert),
        std::time::Duration::ZERO,
        &["converter.convert.svc"],
        &ip,
    );
    let setup = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "convert"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "converter", "namespace": "convert"},
         "spec": {"ports": [{"name": "https", "port": 443, "targetPort": hook.addr.port()}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "converter", "namespace": "convert"},
         "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": hook.addr.port()}]}]},
    ]});
    let out = s.kubectl_stdin("1.33", &["apply", "-f", "-"], &setup.to_string());
    assert!(out.status.success(), "{}", stderr(&out));
    let config = json!({
        "service": {"namespace": "convert", "name": "converter", "path": "/convert"},
        "caBundle": hook.ca_bundle(),
    });
    let out = s.kubectl_stdin("1.33", &["apply", "-f", "-"], &crd(&config));
    assert!(out.status.success(), "{}", stderr(&out));
    for (i, v) in KUBECTL_VERSIONS.iter().enumerate() {
        let name = format!("s{i}");
        let out = s.kubectl_stdin(
            v,
            &["create", "-f", "-"],
            &widget("v2", &name, json!({"replicas": 4})),
        );
        assert!(out.status.success(), "kubectl {v}: {}", stderr(&out));
        assert_eq!(get(&s, v, "v1", &name)["spec"], json!({"size": "4"}));
        assert_eq!(get(&s, v, "v2", &name)["spec"], json!({"replicas": 4}));
    }
    assert_eq!(hook.paths()[0], "/convert?timeout=30s");
}
