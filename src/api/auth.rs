//! Authentication: client certificates issued by the box's CA (CN = user,
//! O = groups) and bearer tokens from a token file. Anonymous requests get
//! 401 except for the health and version endpoints, which upstream also
//! serves to everyone.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::respond::status_response;
use crate::registry::{ApiError, UserInfo};

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("read token file {0}")]
    Read(String, #[source] std::io::Error),
    #[error("token file {path} line {line}: expected token,user,uid[,\"group1,group2\"]")]
    Syntax { path: String, line: usize },
}

/// The identity a TLS client certificate proved, attached per connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerIdentity(pub(crate) Option<UserInfo>);

#[derive(Debug, Default)]
pub(crate) struct Tokens(HashMap<String, UserInfo>);

impl Tokens {
    /// Reads a static token file: `token,user,uid,"group1,group2"` per line.
    pub(crate) fn load(path: &Path) -> Result<Tokens> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Read(path.display().to_string(), e))?;
        let mut tokens = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = || Error::Syntax {
                path: path.display().to_string(),
                line: i + 1,
            };
            let mut fields = split_csv(line).into_iter();
            let token = fields.next().filter(|t| !t.is_empty()).ok_or_else(syntax)?;
            let username = fields.next().filter(|u| !u.is_empty()).ok_or_else(syntax)?;
            let uid = fields.next().ok_or_else(syntax)?;
            let groups = fields
                .next()
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            tokens.insert(
                token,
                UserInfo {
                    username,
                    uid,
                    groups,
                },
            );
        }
        Ok(Tokens(tokens))
    }

    fn lookup(&self, token: &str) -> Option<UserInfo> {
        // Compare digests, not the tokens, so lookup time says nothing
        // about how much of a guessed token was right.
        let digest = |s: &str| {
            ring::digest::digest(&ring::digest::SHA256, s.as_bytes())
                .as_ref()
                .to_vec()
        };
        let wanted = digest(token);
        self.0
            .iter()
            .find(|(t, _)| digest(t) == wanted)
            .map(|(_, u)| u.clone())
    }
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Identity from the client certificate's subject.
pub(crate) fn identity_from_cert(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let username = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    Some(UserInfo {
        username,
        uid: String::new(),
        groups,
    })
}

fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/version")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

pub(crate) async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let bearer = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let user = match bearer {
        Some(token) => match state
            .tokens
            .lookup(token)
            .or_else(|| super::sa_token::authenticate(&state.signer, &state.registry, token))
        {
            Some(u) => Some(u),
            // A wrong token is refused even when a certificate is present,
            // as upstream does.
            None => return unauthorized(),
        },
        None => req
            .extensions()
            .get::<PeerIdentity>()
            .and_then(|p| p.0.clone()),
    };
    match user {
        Some(mut u) => {
            if !u.groups.iter().any(|g| g == "system:authenticated") {
                u.groups.push("system:authenticated".into());
            }
            req.extensions_mut().insert(u);
            next.run(req).await
        }
        None if is_public(req.uri().path()) => next.run(req).await,
        None => unauthorized(),
    }
}

fn unauthorized() -> Response {
    status_response(&ApiError::new(401, "Unauthorized", "Unauthorized"))
}
