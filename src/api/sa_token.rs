//! Service account tokens: the TokenRequest subresource
//! (`POST .../serviceaccounts/<name>/token`, what `kubectl create token`
//! calls) issues signed JWTs, and bearer tokens of that form authenticate as
//! the service account while it (and any object the token is bound to)
//! still exists with the same uid, as upstream's bound tokens do.
//!
//! Tokens are ES256 JWTs signed with a P-256 key kept in the data
//! directory (`service-account.key`, PKCS#8, mode 0600), made at first start.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::registry::resources;
use crate::registry::{ApiError, Registry, Result, UserInfo};

/// Upstream's default issuer, which is also the API's default audience.
const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// Default lifetime of a requested token (upstream: one hour).
const DEFAULT_EXPIRATION: i64 = 3600;
const KEY_FILE: &str = "service-account.key";

/// Signs and checks service account tokens.
pub(crate) struct Signer {
    key: EcdsaKeyPair,
    kid: String,
}

impl Signer {
    /// The key in `dir`, made and written there when missing.
    pub(crate) fn load_or_create(dir: &Path) -> anyhow::Result<Signer> {
        let path = dir.join(KEY_FILE);
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = match std::fs::read_to_string(&path) {
            Ok(text) => base64::engine::general_purpose::STANDARD.decode(text.trim())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng)
                    .map_err(|_| anyhow::anyhow!("generate service account key"))?;
                let text = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
                crate::pki::write_private(&path, &text)?;
                doc.as_ref().to_vec()
            }
            Err(e) => return Err(e.into()),
        };
        let key = EcdsaKeyPair::from_pkcs8(alg, &pkcs8, &rng)
            .map_err(|_| anyhow::anyhow!("read service account key {}", path.display()))?;
        // The key id upstream uses: a digest of the public key.
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let kid = B64.encode(digest.as_ref());
        Ok(Signer { key, kid })
    }

    fn sign(&self, claims: &Value) -> Result<String> {
        let header = json!({"alg": "ES256", "kid": self.kid});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| ApiError::internal("sign service account token"))?;
        Ok(format!("{input}.{}", B64.encode(sig.as_ref())))
    }

    /// The claims of a token this key signed that is valid now and meant
    /// for this API.
    fn verify(&self, token: &str) -> Option<Value> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return None;
        }
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            self.key.public_key().as_ref(),
        );
        public
            .verify(format!("{h}.{c}").as_bytes(), &B64.decode(s).ok()?)
            .ok()?;
        let claims: Value = serde_json::from_slice(&B64.decode(c).ok()?).ok()?;
        let now = jiff::Timestamp::now().as_second();
        let exp = claims.get("exp").and_then(Value::as_i64)?;
        let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
        let audience_ok = claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(ISSUER)));
        let issuer_ok = claims.get("iss").and_then(Value::as_str) == Some(ISSUER);
        (now < exp && now >= nbf && audience_ok && issuer_ok).then_some(claims)
    }
}

fn invalid(field: &str, value: &str, detail: &str) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        format!(
            "TokenRequest.authentication.k8s.io \"\" is invalid: {field}: Invalid value: {value}: {detail}"
        ),
    )
}

/// Handles a TokenRequest for service account `name` in `ns`.
pub(crate) fn request(
    signer: &Signer,
    registry: &Registry,
    ns: &str,
    name: &str,
    body: &Value,
) -> Result<Value> {
    let sa_def = resources::find("", "v1", "serviceaccounts")
        .ok_or_else(|| ApiError::internal("serviceaccounts are not served"))?;
    let sa = registry.get(sa_def, Some(ns), name)?;
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let expiration = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_EXPIRATION);
    if expiration < 600 {
        return Err(invalid(
            "spec.expirationSeconds",
            &expiration.to_string(),
            "may not specify a duration less than 10 minutes",
        ));
    }
    if expiration > 1 << 32 {
        return Err(invalid(
            "spec.expirationSeconds",
            &expiration.to_string(),
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    let audiences = match spec.get("audiences").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => Value::Array(a.clone()),
        _ => json!([ISSUER]),
    };
    let mut bound = serde_json::Map::new();
    if let Some(r) = spec.get("boundObjectRef").filter(|r| !r.is_null()) {
        let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
        let plural = match kind {
            "Pod" => "pods",
            "Secret" => "secrets",
            "Node" => "nodes",
            other => {
                return Err(invalid(
                    "spec.boundObjectRef.kind",
                    &format!("{other:?}"),
                    "supported values: \"Pod\", \"Secret\", \"Node\"",
                ));
            }
        };
        let def = resources::find("", "v1", plural)
            .ok_or_else(|| ApiError::internal("bound kind is not served"))?;
        let target = r.get("name").and_then(Value::as_str).unwrap_or("");
        let obj = registry.get(def, def.namespaced.then_some(ns), target)?;
        let uid = obj.pointer("/metadata/uid").cloned().unwrap_or_default();
        if let Some(want) = r
            .get("uid")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            && Some(want) != uid.as_str()
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated"
                ),
            ));
        }
        bound.insert(kind.to_lowercase(), json!({"name": target, "uid": uid}));
    }
    let now = jiff::Timestamp::now().as_second();
    let sa_uid = sa.pointer("/metadata/uid").cloned().unwrap_or_default();
    let mut k8s = json!({
        "namespace": ns,
        "serviceaccount": {"name": name, "uid": sa_uid},
    });
    if let Some(m) = k8s.as_object_mut() {
        m.extend(bound);
    }
    let claims = json!({
        "aud": audiences,
        "exp": now + expiration,
        "iat": now,
        "iss": ISSUER,
        "jti": uuid::Uuid::new_v4().to_string(),
        "kubernetes.io": k8s,
        "nbf": now,
        "sub": format!("system:serviceaccount:{ns}:{name}"),
    });
    let token = signer.sign(&claims)?;
    let expires = jiff::Timestamp::from_second(now + expiration)
        .map_err(|_| ApiError::internal("token expiry out of range"))?;
    let mut spec_out = spec;
    spec_out["audiences"] = claims["aud"].clone();
    spec_out["expirationSeconds"] = json!(expiration);
    if spec_out.get("boundObjectRef").is_none() {
        spec_out["boundObjectRef"] = Value::Null;
    }
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": ns,
            "creationTimestamp": jiff::Timestamp::from_second(now).map(|t| t.to_string()).unwrap_or_default(),
        },
        "spec": spec_out,
        "status": {"token": token, "expirationTimestamp": expires.to_string()},
    }))
}

/// The user a service account token stands for, if it is one of ours, not
/// expired, and the service account (and any bound object) still exists
/// with the uid the token names.
pub(crate) fn authenticate(signer: &Signer, registry: &Registry, token: &str) -> Option<UserInfo> {
    let claims = signer.verify(token)?;
    let k8s = claims.get("kubernetes.io")?;
    let ns = k8s.get("namespace")?.as_str()?;
    let name = k8s.pointer("/serviceaccount/name")?.as_str()?;
    let uid = k8s.pointer("/serviceaccount/uid")?.as_str()?;
    let exists = |plural: &str, namespaced: bool, name: &str, uid: &str| {
        resources::find("", "v1", plural)
            .and_then(|def| registry.get(def, namespaced.then_some(ns), name).ok())
            .is_some_and(|o| {
                o.pointer("/metadata/uid").and_then(Value::as_str) == Some(uid)
                    && o.pointer("/metadata/deletionTimestamp").is_none()
            })
    };
    if !exists("serviceaccounts", true, name, uid) {
        return None;
    }
    for (kind, plural, namespaced) in [
        ("pod", "pods", true),
        ("secret", "secrets", true),
        ("node", "nodes", false),
    ] {
        if let Some(b) = k8s.get(kind) {
            let (bn, bu) = (b.get("name")?.as_str()?, b.get("uid")?.as_str()?);
            if !exists(plural, namespaced, bn, bu) {
                return None;
            }
        }
    }
    Some(UserInfo {
        username: format!("system:serviceaccount:{ns}:{name}"),
        uid: uid.to_owned(),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampered_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::load_or_create(dir.path()).unwrap();
        let now = jiff::Timestamp::now().as_second();
        let claims =
            json!({"aud": [ISSUER], "iss": ISSUER, "exp": now + 600, "nbf": now, "sub": "x"});
        let token = signer.sign(&claims).unwrap();
        assert_eq!(signer.verify(&token), Some(claims.clone()));
        // The same key comes back after a restart.
        let again = Signer::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&token).is_some());
        // Another server's key does not accept it.
        let other = Signer::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(other.verify(&token).is_none());
        let mut forged = claims.clone();
        forged["sub"] = json!("admin");
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(forged.to_string()),
            parts[2]
        );
        assert!(signer.verify(&tampered).is_none());
        let expired = signer
            .sign(&json!({"aud": [ISSUER], "iss": ISSUER, "exp": now - 1, "nbf": now - 700}))
            .unwrap();
        assert!(signer.verify(&expired).is_none());
        let elsewhere = signer
            .sign(&json!({"aud": ["vault"], "iss": ISSUER, "exp": now + 600, "nbf": now}))
            .unwrap();
        assert!(
            signer.verify(&elsewhere).is_none(),
            "other audiences do not reach the API"
        );
    }
}
