//! CRD conversion webhooks: an `apiextensions.k8s.io/v1` (or v1beta1)
//! ConversionReview sent through the webhook client, with upstream's
//! checks of what comes back. Custom resources call [`convert`] for a CRD
//! whose `spec.conversion.strategy` is `Webhook`.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Lookup, client};

/// Upstream's absolute timeout of a conversion call.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Go's `GroupVersionKind.String()` of an object.
fn gvk(obj: &Value) -> String {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    match api_version.rsplit_once('/') {
        Some((g, v)) => format!("{g}/{v}, Kind={kind}"),
        None => format!("/{api_version}, Kind={kind}"),
    }
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Converts `objects` (all of one kind) to `desired` (`group/version`)
/// through the webhook `config`, a CRD's `spec.conversion.webhook`.
/// Objects already at `desired` are not sent. The error reads as
/// upstream's (`conversion webhook for <gvk> failed: ...`).
pub(crate) async fn convert(
    lookup: &dyn Lookup,
    config: &Value,
    objects: Vec<Value>,
    desired: &str,
) -> Result<Vec<Value>, String> {
    let Some(first) = first_to_convert(&objects, desired) else {
        return Ok(objects);
    };
    let what = gvk(first);
    let failed = |e: String| format!("conversion webhook for {what} failed: {e}");
    let versions: Vec<&str> = config
        .get("conversionReviewVersions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let version = versions
        .into_iter()
        .find(|v| *v == "v1" || *v == "v1beta1")
        .ok_or("no supported conversion review versions")?;
    let to_convert: Vec<&Value> = objects
        .iter()
        .filter(|o| o.get("apiVersion").and_then(Value::as_str) != Some(desired))
        .collect();
    let uid = uuid::Uuid::new_v4().to_string();
    let review = json!({
        "apiVersion": format!("apiextensions.k8s.io/{version}"),
        "kind": "ConversionReview",
        "request": { "uid": uid, "desiredAPIVersion": desired, "objects": to_convert },
    });
    let client_config = config.get("clientConfig").unwrap_or(&Value::Null);
    let endpoint = client::resolve(lookup, client_config, TIMEOUT).map_err(failed)?;
    let body = serde_json::to_vec(&review).unwrap_or_default();
    let answer = client::post(&endpoint, body, TIMEOUT)
        .await
        .map_err(failed)?;
    let converted = converted_objects(&answer, &uid, version).map_err(failed)?;
    if converted.len() != to_convert.len() {
        return Err(format!(
            "conversion webhook for {what} returned {} objects, expected {}",
            converted.len(),
            to_convert.len()
        ));
    }
    let mut converted = converted.into_iter();
    let mut out = Vec::with_capacity(objects.len());
    let mut index = 0;
    for original in objects {
        if original.get("apiVersion").and_then(Value::as_str) == Some(desired) {
            out.push(original);
            continue;
        }
        let mut object = converted.next().unwrap_or(Value::Null);
        index += 1;
        let invalid = |e: String| {
            format!(
                "conversion webhook for {what} returned invalid converted object at index {index}: {e}"
            )
        };
        let got = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if got != desired {
            return Err(invalid(format!(
                "invalid groupVersion (expected {desired}, received {got})"
            )));
        }
        check_identity(&original, &object).map_err(invalid)?;
        restore_meta(&original, &mut object).map_err(|e| {
            format!("conversion webhook for {what} returned invalid metadata in object at index {index}: {e}")
        })?;
        out.push(object);
    }
    Ok(out)
}

/// Like [`convert`], for callers outside async code (the server's
/// multi-threaded runtime keeps serving meanwhile). Outside a
/// multi-threaded runtime, where blocking would panic or stall the only
/// thread, the conversion fails instead. Nothing to convert needs no
/// runtime.
pub(crate) fn convert_blocking(
    lookup: &dyn Lookup,
    config: &Value,
    objects: Vec<Value>,
    desired: &str,
) -> Result<Vec<Value>, String> {
    let Some(first) = first_to_convert(&objects, desired) else {
        return Ok(objects);
    };
    let handle = tokio::runtime::Handle::try_current()
        .ok()
        .filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
        .ok_or_else(|| {
            format!(
                "conversion webhook for {} failed: conversion webhooks need the server's multi-threaded runtime",
                gvk(first)
            )
        })?;
    tokio::task::block_in_place(|| handle.block_on(convert(lookup, config, objects, desired)))
}

/// The first of `objects` not already at `desired`, if any.
fn first_to_convert<'a>(objects: &'a [Value], desired: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o.get("apiVersion").and_then(Value::as_str) != Some(desired))
}

/// Upstream's checks of a ConversionReview response.
fn converted_objects(body: &[u8], uid: &str, version: &str) -> Result<Vec<Value>, String> {
    let review: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if version == "v1" {
        let api_version = review
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = review.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version != "apiextensions.k8s.io/v1" || kind != "ConversionReview" {
            let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            return Err(format!(
                "expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got {g}/{v}, Kind={kind}"
            ));
        }
    }
    let response = review
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("no response provided")?;
    if version == "v1" {
        let got = response.get("uid").and_then(Value::as_str).unwrap_or("");
        if got != uid {
            return Err(format!("expected response.uid={uid:?}, got {got:?}"));
        }
    }
    let status = response
        .pointer("/result/status")
        .and_then(Value::as_str)
        .unwrap_or("");
    if status != "Success" {
        let message = response
            .pointer("/result/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(if message.is_empty() {
            format!("response.result.status was '{status}', not 'Success'")
        } else {
            message.to_string()
        });
    }
    Ok(response
        .get("convertedObjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// Kind, name, namespace and uid may not change in conversion.
fn check_identity(original: &Value, converted: &Value) -> Result<(), String> {
    let kind = |o: &Value| {
        o.get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if kind(original) != kind(converted) {
        return Err(format!(
            "must have the same kind: {} != {}",
            kind(original),
            kind(converted)
        ));
    }
    for (field, label) in [("name", "name"), ("namespace", "namespace"), ("uid", "UID")] {
        let (e, a) = (meta_str(original, field), meta_str(converted, field));
        if e != a {
            return Err(format!("must have the same {label}: {e} != {a}"));
        }
    }
    Ok(())
}

/// The original's metadata with the converted object's labels and
/// annotations, which are all a conversion may change.
fn restore_meta(original: &Value, converted: &mut Value) -> Result<(), String> {
    let response_meta = converted
        .get("metadata")
        .ok_or("missing metadata in converted object")?
        .as_object()
        .cloned()
        .ok_or("invalid metadata in converted object")?;
    let mut meta = original
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for field in ["labels", "annotations"] {
        match response_meta.get(field) {
            None | Some(Value::Null) => {
                meta.remove(field);
            }
            Some(Value::Object(m)) => {
                if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                    return Err(format!(
                        "metadata.{field}[{k}] must be a string in converted object"
                    ));
                }
                meta.insert(field.into(), Value::Object(m.clone()));
            }
            Some(_) => {
                return Err(format!("invalid metadata.{field} in converted object"));
            }
        }
    }
    converted["metadata"] = Value::Object(meta);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_checked_and_metadata_restored() {
        let original = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "c", "namespace": "default", "uid": "u", "resourceVersion": "7",
                "labels": {"a": "1"}}, "spec": {"cronSpec": "* * * * */5"}});
        let mut converted = json!({"apiVersion": "stable.example.com/v2", "kind": "CronTab",
            "metadata": {"name": "c", "namespace": "default", "uid": "u", "resourceVersion": "99",
                "labels": {"a": "2"}}, "spec": {"schedule": "* * * * */5"}});
        check_identity(&original, &converted).unwrap();
        restore_meta(&original, &mut converted).unwrap();
        assert_eq!(converted["metadata"]["resourceVersion"], "7");
        assert_eq!(converted["metadata"]["labels"]["a"], "2");
        let mut renamed = converted.clone();
        renamed["metadata"]["name"] = json!("d");
        assert_eq!(
            check_identity(&original, &renamed).unwrap_err(),
            "must have the same name: c != d"
        );
        let failure = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "response": {"uid": "r", "result": {"status": "Failure", "message": "cannot"}}});
        let body = serde_json::to_vec(&failure).unwrap();
        assert_eq!(converted_objects(&body, "r", "v1").unwrap_err(), "cannot");
        assert_eq!(
            converted_objects(&body, "other", "v1").unwrap_err(),
            "expected response.uid=\"other\", got \"r\""
        );
    }
}

#[cfg(test)]
mod webhook_tests {
    use std::sync::Arc;

    use super::*;

    struct NoObjects;

    impl Lookup for NoObjects {
        fn get(&self, _: &str) -> Option<Arc<Value>> {
            None
        }
        fn list(&self, _: &str) -> Vec<Arc<Value>> {
            Vec::new()
        }
    }

    /// Serves one HTTPS connection on loopback with `answer(review)`;
    /// returns the URL and the CA bundle (base64 PEM).
    async fn serve_once(answer: fn(&Value) -> Value) -> (String, String) {
        use base64::Engine;
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            )
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/convert", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = tokio_rustls::TlsAcceptor::from(Arc::new(config))
                .accept(tcp)
                .await
                .unwrap();
            let service = hyper::service::service_fn(move |req: hyper::Request<_>| async move {
                use http_body_util::BodyExt;
                let body: hyper::body::Incoming = req.into_body();
                let bytes = body.collect().await?.to_bytes();
                let review: Value = serde_json::from_slice(&bytes).unwrap();
                let out = serde_json::to_vec(&answer(&review)).unwrap();
                Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                    hyper::body::Bytes::from(out),
                )))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
        let bundle = base64::engine::general_purpose::STANDARD.encode(ca.pem());
        (url, bundle)
    }

    fn to_v2(review: &Value) -> Value {
        let request = &review["request"];
        let converted: Vec<Value> = request["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let mut o = o.clone();
                o["apiVersion"] = request["desiredAPIVersion"].clone();
                o["spec"]["schedule"] = o["spec"]["cronSpec"].take();
                o["spec"].as_object_mut().unwrap().remove("cronSpec");
                o
            })
            .collect();
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "response": {"uid": request["uid"], "convertedObjects": converted,
                "result": {"status": "Success"}}})
    }

    fn refuse(review: &Value) -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "response": {"uid": review["request"]["uid"],
                "result": {"status": "Failure", "message": "no such version"}}})
    }

    fn crontab(version: &str, name: &str) -> Value {
        json!({"apiVersion": format!("stable.example.com/{version}"), "kind": "CronTab",
            "metadata": {"name": name, "uid": name}, "spec": {"cronSpec": "*/5 * * * *"}})
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conversion_review_round_trip() {
        let (url, bundle) = serve_once(to_v2).await;
        let config = json!({"conversionReviewVersions": ["v1"],
            "clientConfig": {"url": url, "caBundle": bundle}});
        let objects = vec![crontab("v1", "a"), crontab("v2", "b")];
        let out = convert(&NoObjects, &config, objects, "stable.example.com/v2")
            .await
            .unwrap();
        assert_eq!(out[0]["apiVersion"], "stable.example.com/v2");
        assert_eq!(out[0]["spec"], json!({"schedule": "*/5 * * * *"}));
        // Already at the desired version: passed through unsent.
        assert_eq!(out[1], crontab("v2", "b"));

        let (url, bundle) = serve_once(refuse).await;
        let config = json!({"conversionReviewVersions": ["v1"],
            "clientConfig": {"url": url, "caBundle": bundle}});
        let err = convert(
            &NoObjects,
            &config,
            vec![crontab("v1", "a")],
            "stable.example.com/v2",
        )
        .await
        .unwrap_err();
        assert_eq!(
            err,
            "conversion webhook for stable.example.com/v1, Kind=CronTab failed: no such version"
        );
    }
}
