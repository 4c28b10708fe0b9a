//! A kube-rs client that talks to this process's own API router: no TLS,
//! no socket, one identity stamped on every request.
//!
//! The identity travels as the `PeerIdentity` request extension. Requests
//! from the network get theirs from the TLS connection, which always
//! replaces whatever was there, so the in-process identity cannot be
//! claimed from outside.

use axum::Router;
use tower::ServiceBuilder;

use crate::api::PeerIdentity;
use crate::registry::UserInfo;

/// The identity a kubelet uses for its node, as upstream's node authorizer
/// expects it.
pub(crate) fn node_identity(node: &str) -> UserInfo {
    UserInfo {
        username: format!("system:node:{node}"),
        uid: String::new(),
        groups: vec!["system:nodes".into(), "system:authenticated".into()],
    }
}

/// A client whose requests reach `router` directly as `user`. Needs a
/// running tokio runtime (the client's request buffer is a task).
pub(crate) fn in_process(router: Router, user: UserInfo) -> kube::Client {
    let identity = PeerIdentity(Some(user));
    let service = ServiceBuilder::new()
        .map_request(move |mut req: axum::http::Request<kube::client::Body>| {
            // A bearer token would take precedence over the identity.
            req.headers_mut().remove(axum::http::header::AUTHORIZATION);
            req.extensions_mut().insert(identity.clone());
            req.map(axum::body::Body::new)
        })
        .service(router);
    kube::Client::new(service, "default")
}
