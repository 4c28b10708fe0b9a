//! The Kubernetes API over HTTPS. Handlers only translate HTTP into calls
//! on the registry and back.

mod auth;
mod discovery;
mod handlers;
mod openapi;
mod protobuf;
mod query;
mod respond;
mod sa_token;
mod serve;
mod stream;
mod table;
mod watch;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::routing::get;

pub(crate) use auth::{PeerIdentity, Tokens};
pub(crate) use discovery::version_info;
pub(crate) use sa_token::Signer;
pub(crate) use serve::{serve, tls_config};

use crate::registry::Registry;

/// Largest request body accepted, as upstream's limit for JSON bodies.
pub(crate) const MAX_BODY: usize = 3 * 1024 * 1024;

pub(crate) struct AppState {
    pub(crate) registry: Registry,
    pub(crate) tokens: Tokens,
    /// Signs and checks service account tokens.
    pub(crate) signer: Signer,
    pub(crate) ready: AtomicBool,
    /// `host:port` clients reach this server at, for discovery.
    pub(crate) advertise: String,
    /// Logs, exec, attach and port-forward; `None` without a kubelet.
    pub(crate) streams: std::sync::OnceLock<Arc<dyn crate::kubelet::streams::PodStreams>>,
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(discovery::health))
        .route("/livez", get(discovery::health))
        .route("/readyz", get(discovery::ready))
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::legacy_versions))
        .route("/api/v1", get(discovery::legacy_resources))
        .route("/apis", get(discovery::groups))
        .route("/apis/{group}", get(discovery::group))
        .route("/apis/{group}/{version}", get(discovery::group_resources))
        .route("/openapi/v2", get(openapi::v2))
        .route("/openapi/v3", get(openapi::root))
        .route("/openapi/v3/{*path}", get(openapi::group_version))
        .fallback(handlers::resource)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state)
}
