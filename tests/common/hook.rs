//! HTTPS webhook servers on loopback for admission and conversion
//! tests: a CA and a serving certificate generated per server, every
//! review received recorded, the handler's `response` wrapped in a review
//! of the request's apiVersion and kind.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// What a test webhook answers: the `response` fields for a `request`
/// (uid, and the review's apiVersion and kind, are filled in).
pub type Handler = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// A webhook server on loopback, stopped on drop.
pub struct Hook {
    pub addr: SocketAddr,
    ca_pem: String,
    /// Every review request received, with the request path.
    seen: Arc<Mutex<Vec<(String, Value)>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hook {
    pub fn start(handler: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Hook {
        Hook::start_with(
            Arc::new(handler),
            Duration::ZERO,
            &["127.0.0.1"],
            "127.0.0.1",
        )
    }

    /// Serves on `ip` with a certificate for `names` (IPs or DNS names),
    /// answering after `delay`.
    pub fn start_with(handler: Handler, delay: Duration, names: &[&str], ip: &str) -> Hook {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "webhook test ca");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            )
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let seen2 = seen.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let tcp = tokio::select! {
                        _ = &mut stopped => return,
                        c = listener.accept() => match c { Ok((tcp, _)) => tcp, Err(_) => continue },
                    };
                    let acceptor = acceptor.clone();
                    let handler = handler.clone();
                    let seen = seen2.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let service = hyper::service::service_fn(
                            move |req: hyper::Request<hyper::body::Incoming>| {
                                let handler = handler.clone();
                                let seen = seen.clone();
                                async move {
                                    use http_body_util::BodyExt;
                                    let path = req.uri().to_string();
                                    let body = req.into_body().collect().await?.to_bytes();
                                    let review: Value = serde_json::from_slice(&body).unwrap();
                                    seen.lock().unwrap().push((path, review.clone()));
                                    if !delay.is_zero() {
                                        tokio::time::sleep(delay).await;
                                    }
                                    let mut response = handler(&review["request"]);
                                    response["uid"] = review["request"]["uid"].clone();
                                    let answer = json!({
                                        "apiVersion": review["apiVersion"],
                                        "kind": review["kind"],
                                        "response": response,
                                    });
                                    Ok::<_, hyper::Error>(hyper::Response::new(
                                        http_body_util::Full::new(hyper::body::Bytes::from(
                                            serde_json::to_vec(&answer).unwrap(),
                                        )),
                                    ))
                                }
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
        });
        Hook {
            addr,
            ca_pem: ca_cert.pem(),
            seen,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }

    pub fn client_config(&self) -> Value {
        json!({ "url": self.url("/"), "caBundle": self.ca_bundle() })
    }

    pub fn requests(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r["request"].clone())
            .collect()
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
