//! PATCH with `application/apply-patch+yaml`: checks the request, merges
//! the configuration into the live object (or creates it) and hands the
//! result to the common write path.

use std::sync::Arc;

use serde_json::{Value, json};

use super::managed::{self, Managed};
use super::{options_invalid, scope};
use crate::registry::error::{ApiError, Result};
use crate::registry::meta::{self, meta_mut};
use crate::registry::resources::{ResourceDef, Subresource};
use crate::registry::write::{Outcome, WriteOpts};
use crate::registry::{Registry, WRITE_RETRIES, key};
use crate::store::revision_of;

/// Reads an apply body: YAML, of which JSON is a subset.
fn parse(body: &[u8]) -> Result<Value> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let v: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_saphyr::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    };
    match v {
        Value::Object(_) => Ok(v),
        // An empty document is an empty object to upstream's decoder.
        Value::Null => Ok(json!({})),
        _ => Err(ApiError::bad_request(
            "error decoding YAML: the apply configuration must be an object",
        )),
    }
}

/// The checks upstream makes on an apply configuration before merging.
fn check_config(def: &ResourceDef, ns: Option<&str>, name: &str, cfg: &mut Value) -> Result<()> {
    let want = super::api_version(def);
    let version = cfg.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if version != want {
        return Err(ApiError::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {version}, expected: {want}"
        )));
    }
    let kind = cfg.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != def.kind {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({version}) and kind ({kind}) do not match the expected {want}, Kind={} of this endpoint",
            def.kind
        )));
    }
    if cfg.pointer("/metadata/managedFields").is_some() {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let m = meta_mut(cfg);
    match m.get("name").and_then(Value::as_str) {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        Some(_) => {}
        None => {
            m.insert("name".into(), json!(name));
        }
    }
    if def.namespaced
        && let (Some(ns), Some(body_ns)) = (ns, m.get("namespace").and_then(Value::as_str))
        && body_ns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// The 409 upstream answers when an apply would take fields from others.
fn conflict_error(conflicts: &[managed::Conflict]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with {}", c.manager),
                "field": c.field(),
            })
        })
        .collect();
    ApiError {
        details: Some(json!({ "causes": causes })),
        ..ApiError::new(409, "Conflict", managed::conflict_message(conflicts))
    }
}

/// A lost race on the store, which a retry on fresh state resolves (unlike
/// a field ownership conflict).
fn is_stale(e: &ApiError) -> bool {
    e.is_conflict() && e.message.starts_with("Operation cannot be fulfilled")
}

impl Registry {
    /// Server-side apply of `body` to `name`. The flag says whether the
    /// object was created.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn apply(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        body: &[u8],
        sub: Option<Subresource>,
        opts: &WriteOpts,
    ) -> Result<(Outcome, bool)> {
        self.allow(def, "patch")?;
        let manager = match opts.field_manager.as_deref() {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => {
                return Err(options_invalid(
                    "PatchOptions",
                    "fieldManager: Required value: is required for apply patch",
                ));
            }
        };
        if sub == Some(Subresource::Scale) {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                "apply patch is not supported on the scale subresource",
            ));
        }
        let mut cfg = parse(body)?;
        check_config(def, ns, name, &mut cfg)?;
        // A resourceVersion in the configuration is a precondition.
        let expected = cfg
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(crate::registry::parse_rv)
            .transpose()?;
        let scope = scope(def, sub);
        let mut opts = opts.clone();
        opts.applied = true;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = match self.store.get(&key(def, ns, name)) {
                None if sub.is_some() => return Err(ApiError::not_found(def, name)),
                None => {
                    let applied = managed::apply(
                        &scope,
                        Managed::default(),
                        &Value::Null,
                        &cfg,
                        &manager,
                        opts.force,
                        &meta::now(),
                    )
                    .map_err(|c| conflict_error(&c))?;
                    let mut obj = applied.object;
                    super::set_managed(&mut obj, &applied.managed);
                    self.create(def, ns, obj, &opts).await.map(|o| (o, true))
                }
                Some(current) => {
                    if expected.is_some_and(|rv| rv != revision_of(&current)) {
                        return Err(ApiError::stale(def, name));
                    }
                    let live = self.present(def, &current)?;
                    let managed = Managed::decode(&live).unwrap_or_default();
                    let applied = managed::apply(
                        &scope,
                        managed,
                        &live,
                        &cfg,
                        &manager,
                        opts.force,
                        &meta::now(),
                    )
                    .map_err(|c| conflict_error(&c))?;
                    let mut obj = applied.object;
                    super::set_managed(&mut obj, &applied.managed);
                    self.apply_update(def, ns, name, &current, obj, sub, &opts)
                        .await
                        .map(|o| (o, false))
                }
            };
            match result {
                Err(e)
                    if (is_stale(&e) || e.reason == "AlreadyExists") && attempt < WRITE_RETRIES => {
                }
                other => return other,
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_update(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        current: &Arc<Value>,
        merged: Value,
        sub: Option<Subresource>,
        opts: &WriteOpts,
    ) -> Result<Outcome> {
        let mut warnings = Vec::new();
        let mut incoming =
            crate::registry::write::decode(def, &merged, opts.validation, &mut warnings)?;
        if def.group == "events.k8s.io" {
            incoming = crate::registry::events::to_core(&incoming);
        }
        let mut out = self
            .commit_update(
                def,
                ns,
                name,
                current,
                incoming,
                sub,
                Some(revision_of(current)),
                opts,
            )
            .await?;
        out.warnings = warnings;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_bodies_are_yaml_or_json() {
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: \"1\"\n";
        let v = parse(yaml).expect("yaml");
        assert_eq!(v["data"]["n"], "1");
        assert_eq!(v["metadata"]["name"], "a");
        let v = parse(br#"{"apiVersion":"v1","kind":"ConfigMap","spec":{"replicas":2}}"#)
            .expect("json");
        assert_eq!(v["spec"]["replicas"], 2);
        let err = parse(b"a: [1, 2").expect_err("bad yaml");
        assert_eq!(err.code, 400);
        assert!(
            err.message.starts_with("error decoding YAML: "),
            "{}",
            err.message
        );
        assert_eq!(parse(b"- 1\n- 2\n").expect_err("a list").code, 400);
    }

    #[test]
    fn conflicts_answer_with_upstream_status() {
        use super::super::fieldpath::Pe;
        let w = managed::Conflict::for_test(
            "\"hpa\" using apps/v1",
            vec![Pe::field("spec"), Pe::field("replicas")],
        );
        let e = conflict_error(&[w]);
        assert_eq!(e.code, 409);
        assert_eq!(e.reason, "Conflict");
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"hpa\" using apps/v1: .spec.replicas"
        );
        assert_eq!(
            e.details,
            Some(json!({ "causes": [{
                "reason": "FieldManagerConflict",
                "message": "conflict with \"hpa\" using apps/v1",
                "field": ".spec.replicas",
            }]}))
        );
    }
}
