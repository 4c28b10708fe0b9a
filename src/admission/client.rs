//! The HTTPS client webhooks are called through: resolves a webhook's
//! `clientConfig` (a URL, or a Service found through its stored Endpoints
//! or EndpointSlices), verifies the server against `caBundle` (or the
//! system's roots when none is given) and POSTs one JSON document.
//!
//! Failures are described the way Go's HTTP client words them
//! (`Post "<url>": dial tcp ...: connect: connection refused`), because
//! upstream passes that text on to API clients.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;

use super::Lookup;

/// Upper bound of a webhook response body.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Where and how to reach a webhook.
pub(crate) struct Endpoint {
    /// The URL as upstream reports it in errors, with `?timeout=`.
    pub(crate) url: String,
    host: String,
    port: u16,
    /// The host:port actually dialled (a Service's endpoint address).
    dial: Option<(String, u16)>,
    server_name: String,
    path_and_query: String,
    ca_bundle: Option<Vec<u8>>,
}

/// Go's rendering of a timeout as a URL parameter (`10s`).
fn timeout_param(timeout: Duration) -> String {
    format!("timeout={}s", timeout.as_secs().max(1))
}

fn with_timeout(path: &str, timeout: Duration) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{}", timeout_param(timeout))
}

/// Resolves `clientConfig`. An error is the reason text upstream would give.
pub(crate) fn resolve(
    lookup: &dyn Lookup,
    config: &Value,
    timeout: Duration,
) -> Result<Endpoint, String> {
    let ca_bundle = config
        .get("caBundle")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| format!("invalid caBundle: {e}"))
        })
        .transpose()?;
    if let Some(url) = config.get("url").and_then(Value::as_str) {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("parse {url:?}: {e}"))?;
        if uri.scheme_str() != Some("https") {
            return Err(format!("unsupported protocol scheme in {url:?}"));
        }
        let host = uri
            .host()
            .ok_or_else(|| format!("no host in {url:?}"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(443);
        let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let pq = if pq.is_empty() { "/" } else { pq };
        let path_and_query = with_timeout(pq, timeout);
        let shown_host = uri.authority().map(|a| a.as_str()).unwrap_or("");
        return Ok(Endpoint {
            url: format!("https://{shown_host}{path_and_query}"),
            server_name: host.clone(),
            host,
            port,
            dial: None,
            path_and_query,
            ca_bundle,
        });
    }
    let svc = config
        .get("service")
        .ok_or_else(|| "neither url nor service given".to_string())?;
    let ns = svc.get("namespace").and_then(Value::as_str).unwrap_or("");
    let name = svc.get("name").and_then(Value::as_str).unwrap_or("");
    let port = svc.get("port").and_then(Value::as_u64).unwrap_or(443) as u16;
    let path = svc.get("path").and_then(Value::as_str).unwrap_or("/");
    let server_name = format!("{name}.{ns}.svc");
    let path_and_query = with_timeout(if path.is_empty() { "/" } else { path }, timeout);
    let url = format!("https://{server_name}:{port}{path_and_query}");
    let dial =
        service_endpoint(lookup, ns, name, port).map_err(|e| format!("Post {url:?}: {e}"))?;
    Ok(Endpoint {
        url,
        host: server_name.clone(),
        port,
        dial: Some(dial),
        server_name,
        path_and_query,
        ca_bundle,
    })
}

/// One ready address of the Service `ns/name` for its port `port`, from
/// its Endpoints or, failing those, its EndpointSlices.
fn service_endpoint(
    lookup: &dyn Lookup,
    ns: &str,
    name: &str,
    port: u16,
) -> Result<(String, u16), String> {
    let svc = lookup
        .get(&format!("/services/{ns}/{name}"))
        .ok_or_else(|| format!("service \"{name}\" not found"))?;
    let svc_port = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(port)))
        .ok_or_else(|| format!("no service port {port} found for service \"{name}\""))?;
    let port_name = svc_port.get("name").and_then(Value::as_str).unwrap_or("");
    let port_of = |ports: Option<&Value>| -> Option<u16> {
        ports?
            .as_array()?
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)
            .and_then(|p| p.get("port").and_then(Value::as_u64))
            .map(|p| p as u16)
    };
    if let Some(eps) = lookup.get(&format!("/endpoints/{ns}/{name}")) {
        for subset in super::items(&eps, "subsets") {
            let Some(p) = port_of(subset.get("ports")) else {
                continue;
            };
            if let Some(ip) = subset.pointer("/addresses/0/ip").and_then(Value::as_str) {
                return Ok((ip.to_string(), p));
            }
        }
    }
    for slice in lookup.list(&format!("discovery.k8s.io/endpointslices/{ns}/")) {
        if slice
            .pointer("/metadata/labels/kubernetes.io~1service-name")
            .and_then(Value::as_str)
            != Some(name)
        {
            continue;
        }
        let Some(p) = port_of(slice.get("ports")) else {
            continue;
        };
        let ready = super::items(&slice, "endpoints").find(|e| {
            e.pointer("/conditions/ready")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        });
        if let Some(ip) = ready
            .and_then(|e| e.pointer("/addresses/0"))
            .and_then(Value::as_str)
        {
            return Ok((ip.to_string(), p));
        }
    }
    Err(format!("no endpoints available for service \"{name}\""))
}

/// The system's trust roots, loaded once.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn tls_config(ca_bundle: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_bundle {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("invalid caBundle: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("invalid caBundle: {e}"))?;
            }
        }
        None => {
            roots.add_parsable_certificates(system_roots().iter().cloned());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Go's wording of a certificate for other names than `server_name`;
/// `presented` are webpki's renderings (`DnsName("a.b")`, `IpAddress(1.2.3.4)`).
fn name_mismatch(presented: &[String], server_name: &str) -> String {
    let is_ip = server_name.parse::<std::net::IpAddr>().is_ok();
    let names: Vec<&str> = presented
        .iter()
        .filter_map(|p| {
            if is_ip {
                p.strip_prefix("IpAddress(")?.strip_suffix(')')
            } else {
                p.strip_prefix("DnsName(\"")?.strip_suffix("\")")
            }
        })
        .collect();
    let detail = match (names.is_empty(), is_ip) {
        (true, true) => format!(
            "cannot validate certificate for {server_name} because it doesn't contain any IP SANs"
        ),
        (true, false) => {
            format!("certificate is not valid for any names, but wanted to match {server_name}")
        }
        (false, _) => format!(
            "certificate is valid for {}, not {server_name}",
            names.join(", ")
        ),
    };
    format!("tls: failed to verify certificate: x509: {detail}")
}

/// Go's wording of a TLS failure.
fn tls_error(e: &std::io::Error, server_name: &str) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        // A CA of the right name but the wrong key is as unknown to Go.
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature,
        )) => "tls: failed to verify certificate: x509: certificate signed by unknown authority"
            .into(),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForNameContext { presented, .. },
        )) => name_mismatch(presented, server_name),
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)) => {
            name_mismatch(&[], server_name)
        }
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. },
        )) => {
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
                .into()
        }
        Some(other) => format!("tls: {other}"),
        None => e.to_string(),
    }
}

/// POSTs `body` and returns the response body of a 2xx answer. The error
/// is the full reason upstream reports: `Post "<url>": <cause>`.
pub(crate) async fn post(ep: &Endpoint, body: Vec<u8>, timeout: Duration) -> Result<Bytes, String> {
    match tokio::time::timeout(timeout, exchange(ep, body)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(cause)) => Err(format!("Post {:?}: {cause}", ep.url)),
        Err(_) => Err(format!("Post {:?}: context deadline exceeded", ep.url)),
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Idle connections kept per webhook endpoint, as Go's transport keeps them.
const IDLE_PER_ENDPOINT: usize = 4;

/// Idle keep-alive connections, by endpoint (address, TLS name, CA).
fn pool() -> &'static Mutex<HashMap<u64, Vec<Sender>>> {
    static POOL: OnceLock<Mutex<HashMap<u64, Vec<Sender>>>> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

fn pool_key(dial: &(String, u16), ep: &Endpoint) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (dial, &ep.server_name, &ep.ca_bundle).hash(&mut h);
    h.finish()
}

fn idle_sender(key: u64) -> Option<Sender> {
    let mut pool = pool().lock().unwrap_or_else(|e| e.into_inner());
    let idle = pool.get_mut(&key)?;
    while let Some(sender) = idle.pop() {
        if !sender.is_closed() && sender.is_ready() {
            return Some(sender);
        }
    }
    None
}

fn return_sender(key: u64, sender: Sender) {
    if sender.is_closed() || !sender.is_ready() {
        return;
    }
    let mut pool = pool().lock().unwrap_or_else(|e| e.into_inner());
    let idle = pool.entry(key).or_default();
    if idle.len() < IDLE_PER_ENDPOINT {
        idle.push(sender);
    }
}

/// Dials, verifies the server and starts an HTTP/1.1 connection.
async fn connect(ep: &Endpoint, dial: &(String, u16)) -> Result<Sender, String> {
    let (host, port) = dial;
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                format!("dial tcp {addr}: connect: connection refused")
            }
            _ => format!("dial tcp {addr}: {e}"),
        })?;
    let _ = tcp.set_nodelay(true);
    let config = tls_config(ep.ca_bundle.as_deref())?;
    let name = ServerName::try_from(ep.server_name.clone())
        .map_err(|e| format!("invalid server name {:?}: {e}", ep.server_name))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| tls_error(&e, &ep.server_name))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    // Ends when the server closes the connection or the sender is dropped.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn exchange(ep: &Endpoint, body: Vec<u8>) -> Result<Bytes, String> {
    let dial = ep
        .dial
        .clone()
        .unwrap_or_else(|| (ep.host.clone(), ep.port));
    let key = pool_key(&dial, ep);
    let authority = if ep.port == 443 {
        ep.host.clone()
    } else {
        format!("{}:{}", ep.host, ep.port)
    };
    let body = Bytes::from(body);
    let request = || {
        hyper::Request::post(ep.path_and_query.as_str())
            .header(hyper::header::HOST, authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json, */*")
            .body(Full::new(body.clone()))
            .map_err(|e| e.to_string())
    };
    // A pooled connection the server closed meanwhile is retried once on a
    // fresh one.
    let pooled = match idle_sender(key) {
        Some(mut idle) => match idle.send_request(request()?).await {
            Ok(resp) => Some((idle, resp)),
            Err(_) => None,
        },
        None => None,
    };
    let (mut sender, resp) = match pooled {
        Some(pooled) => pooled,
        None => {
            let mut fresh = connect(ep, &dial).await?;
            let resp = fresh
                .send_request(request()?)
                .await
                .map_err(|e| e.to_string())?;
            (fresh, resp)
        }
    };
    let status = resp.status();
    let limited = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE);
    let bytes = limited
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    // The response is read to its end, so the connection can serve again.
    if sender.ready().await.is_ok() {
        return_sender(key, sender);
    }
    if status.is_success() {
        Ok(bytes)
    } else {
        Err(non_success(status.as_u16(), &bytes))
    }
}

/// client-go's description of an answer that is not 2xx.
fn non_success(code: u16, body: &[u8]) -> String {
    if let Ok(status) = serde_json::from_slice::<Value>(body)
        && status.get("kind").and_then(Value::as_str) == Some("Status")
        && let Some(msg) = status.get("message").and_then(Value::as_str)
    {
        return msg.to_string();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!(
            "the server responded with the status code {code} but did not return more information"
        )
    } else {
        format!("an error on the server ({text:?}) has prevented the request from succeeding")
    }
}
