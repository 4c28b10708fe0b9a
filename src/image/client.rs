//! A small client for the OCI distribution API: GETs with bearer-token and
//! basic auth, redirects, and per-host TLS (CA, client certificate,
//! skipped verification) or plain HTTP as the registries config says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::RegistryAuth;
use super::registries::{Endpoint, RegistriesConfig, TlsConfig};

/// Why a request failed, before the puller adds the reference.
#[derive(Debug)]
pub(crate) enum ClientError {
    Tls(String),
    Network(String),
    Unauthorized(String),
    Status(StatusCode, String),
}

const MAX_REDIRECTS: usize = 5;
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) struct Client {
    cfg: Arc<RegistriesConfig>,
    auths: Vec<RegistryAuth>,
    /// The registry named in the reference, for credentials given for it.
    upstream: String,
    /// Authorization header values by host.
    tokens: Mutex<HashMap<String, String>>,
}

impl Client {
    pub(crate) fn new(cfg: Arc<RegistriesConfig>, auths: &[RegistryAuth], upstream: &str) -> Self {
        Client {
            cfg,
            auths: auths.to_vec(),
            upstream: upstream.to_string(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// GETs `/v2/<repository>/<kind>/<object>` at the endpoint.
    pub(crate) async fn get(
        &self,
        ep: &Endpoint,
        kind: &str,
        object: &str,
        accept: &str,
    ) -> Result<Response<Incoming>, ClientError> {
        let url = format!(
            "{}://{}{}/v2/{}/{kind}/{object}",
            ep.scheme, ep.host, ep.prefix, ep.repository
        );
        let mut uri: Uri = url
            .parse()
            .map_err(|e| ClientError::Network(format!("invalid url {url}: {e}")))?;
        let mut authenticated = false;
        let mut redirects = 0;
        loop {
            let host = authority(&uri);
            let auth = if host == ep.host {
                self.tokens.lock().unwrap().get(&host).cloned()
            } else {
                None
            };
            let resp = self.send(&uri, accept, auth.as_deref()).await?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !authenticated && host == ep.host {
                authenticated = true;
                let challenge = resp
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let value = self.authenticate(&host, &challenge).await?;
                self.tokens.lock().unwrap().insert(host, value);
                continue;
            }
            if status.is_redirection() {
                redirects += 1;
                let location = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if redirects > MAX_REDIRECTS || location.is_empty() {
                    return Err(ClientError::Network(format!(
                        "too many redirects from {host}"
                    )));
                }
                uri = if location.starts_with('/') {
                    format!("{}://{host}{location}", uri.scheme_str().unwrap_or("https"))
                        .parse()
                        .map_err(|e| ClientError::Network(format!("bad redirect: {e}")))?
                } else {
                    location
                        .parse()
                        .map_err(|e| ClientError::Network(format!("bad redirect: {e}")))?
                };
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(ClientError::Unauthorized(format!(
                    "{host} answered {status}"
                )));
            }
            if !status.is_success() {
                let body = resp.into_body().collect().await.map(|b| b.to_bytes());
                let text =
                    body.map(|b| String::from_utf8_lossy(&b[..b.len().min(512)]).into_owned());
                return Err(ClientError::Status(status, text.unwrap_or_default()));
            }
            return Ok(resp);
        }
    }

    /// Credentials for a host: the registries config first, then the
    /// pull secrets given for the host or for the upstream registry.
    fn credentials(&self, host: &str) -> Option<(String, String)> {
        if let Some(auth) = self.cfg.host(host).and_then(|h| h.auth.as_ref()) {
            if !auth.username.is_empty() {
                return Some((auth.username.clone(), auth.password.clone()));
            }
            if let Some(pair) = decode_auth(&auth.auth) {
                return Some(pair);
            }
        }
        let wanted = [host, self.upstream.as_str()];
        self.auths
            .iter()
            .find(|a| wanted.contains(&auth_host(&a.registry).as_str()))
            .map(|a| (a.username.clone(), a.password.clone()))
    }

    async fn authenticate(&self, host: &str, challenge: &str) -> Result<String, ClientError> {
        let creds = self.credentials(host);
        let basic = creds.as_ref().map(|(u, p)| {
            let raw = format!("{u}:{p}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        });
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return basic
                .ok_or_else(|| ClientError::Unauthorized(format!("{host} requires credentials")));
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ClientError::Unauthorized(format!(
                "{host} asked for unsupported authentication {scheme:?}"
            )));
        }
        let params = parse_challenge(params);
        let realm = params.get("realm").ok_or_else(|| {
            ClientError::Unauthorized(format!("{host} sent a bearer challenge without realm"))
        })?;
        let mut query = Vec::new();
        for key in ["service", "scope"] {
            if let Some(v) = params.get(key) {
                query.push(format!("{key}={}", percent_encode(v)));
            }
        }
        let url = if query.is_empty() {
            realm.clone()
        } else {
            let sep = if realm.contains('?') { '&' } else { '?' };
            format!("{realm}{sep}{}", query.join("&"))
        };
        let uri: Uri = url
            .parse()
            .map_err(|e| ClientError::Unauthorized(format!("invalid token realm {realm}: {e}")))?;
        let resp = self
            .send(&uri, "application/json", basic.as_deref())
            .await?;
        if !resp.status().is_success() {
            return Err(ClientError::Unauthorized(format!(
                "token service {} answered {}",
                authority(&uri),
                resp.status()
            )));
        }
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Network(format!("read token: {e}")))?
            .to_bytes();
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
        }
        let t: Token = serde_json::from_slice(&body)
            .map_err(|e| ClientError::Unauthorized(format!("invalid token answer: {e}")))?;
        let token = if t.token.is_empty() {
            t.access_token
        } else {
            t.token
        };
        if token.is_empty() {
            return Err(ClientError::Unauthorized("empty token".into()));
        }
        Ok(format!("Bearer {token}"))
    }

    async fn send(
        &self,
        uri: &Uri,
        accept: &str,
        auth: Option<&str>,
    ) -> Result<Response<Incoming>, ClientError> {
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_string();
        let https = uri.scheme_str() != Some("http");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = authority(uri);
        let connect = tokio::net::TcpStream::connect((host.as_str(), port));
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| ClientError::Network(format!("connect to {authority}: timed out")))?
            .map_err(|e| ClientError::Network(format!("connect to {authority}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut req = Request::get(path)
            .header(header::HOST, &authority)
            .header(header::ACCEPT, accept)
            .header(
                header::USER_AGENT,
                concat!("sovedge/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| ClientError::Network(format!("build request: {e}")))?;
        let io_err = |e: hyper::Error| ClientError::Network(format!("{authority}: {e}"));
        if https {
            let tls = self.cfg.host(&authority).and_then(|h| h.tls.as_ref());
            let config = client_config(tls).map_err(ClientError::Tls)?;
            let name = ServerName::try_from(host.clone())
                .map_err(|e| ClientError::Tls(format!("invalid server name {host}: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| classify_tls(&e, &authority))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(io_err)?;
            tokio::spawn(conn);
            sender.send_request(req).await.map_err(io_err)
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(io_err)?;
            tokio::spawn(conn);
            sender.send_request(req).await.map_err(io_err)
        }
    }
}

fn authority(uri: &Uri) -> String {
    uri.authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default()
}

fn classify_tls(e: &std::io::Error, authority: &str) -> ClientError {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(inner) => ClientError::Tls(format!("{authority}: {inner}")),
        None => ClientError::Network(format!("{authority}: {e}")),
    }
}

/// The host a pull secret's registry key names (`https://index.docker.io/v1/`
/// is Docker Hub).
pub(crate) fn auth_host(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let k = k.split('/').next().unwrap_or(k);
    match k {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        _ => k.to_string(),
    }
}

fn decode_auth(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// `realm="https://x",service="y",scope="a:b:pull"` into a map.
fn parse_challenge(params: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = params.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.insert(key, value.to_string());
        rest = tail.trim_start_matches([',', ' ']);
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn client_config(tls: Option<&TlsConfig>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(ca) = tls.and_then(|t| t.ca_file.as_ref()) {
        let certs = CertificateDer::pem_file_iter(ca)
            .map_err(|e| format!("read ca_file {}: {e}", ca.display()))?;
        for c in certs {
            let c = c.map_err(|e| format!("read ca_file {}: {e}", ca.display()))?;
            roots
                .add(c)
                .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match tls.and_then(|t| t.cert_file.as_ref().zip(t.key_file.as_ref())) {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("read cert_file {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("read key_file {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate {}: {e}", cert.display()))?
        }
        None => builder.with_no_client_auth(),
    };
    if tls.is_some_and(|t| t.insecure_skip_verify) {
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(AnyCertificate(provider)));
    }
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `insecure_skip_verify`: any certificate, but handshake signatures are
/// still checked so the session keys belong to the presented key.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse() {
        let p = parse_challenge(
            r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        );
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:library/busybox:pull");
        assert_eq!(percent_encode("a:b/c"), "a%3Ab%2Fc");
    }

    #[test]
    fn pull_secret_keys_name_hosts() {
        assert_eq!(auth_host("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(auth_host("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(auth_host("http://reg.example.com/x"), "reg.example.com");
        assert_eq!(
            decode_auth("YWxpY2U6czNjcjN0"),
            Some(("alice".into(), "s3cr3t".into()))
        );
    }
}
