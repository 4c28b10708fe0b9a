//! create, update and patch.

use std::sync::Arc;

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::meta::{self, meta_mut};
use super::patch::{self, PatchKind, Strategic};
use super::resources::{ResourceDef, Subresource};
use super::service_alloc;
use super::typed::{self, DecodeError};
use super::validation::{self, ErrorType, FieldError};
use super::{Registry, UserInfo, events, key, store_error};
use crate::admission::{self, Operation};
use crate::store::{Op, revision_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum FieldValidation {
    #[default]
    Strict,
    Warn,
    Ignore,
}

impl FieldValidation {
    pub(crate) fn parse(s: &str) -> Result<FieldValidation> {
        match s {
            "Strict" => Ok(FieldValidation::Strict),
            "Warn" | "" => Ok(FieldValidation::Warn),
            "Ignore" => Ok(FieldValidation::Ignore),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got \"{other}\""
            ))),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct WriteOpts {
    pub(crate) dry_run: bool,
    pub(crate) validation: FieldValidation,
    pub(crate) user: UserInfo,
    /// The `fieldManager` parameter.
    pub(crate) field_manager: Option<String>,
    /// The client's User-Agent, which names the manager when no
    /// `fieldManager` is given.
    pub(crate) user_agent: String,
    /// `force=true`: an apply takes fields from their other managers.
    pub(crate) force: bool,
    /// The body's `managedFields` were computed by an apply already.
    pub(crate) applied: bool,
}

impl WriteOpts {
    /// The field manager writes are recorded under.
    pub(crate) fn manager(&self) -> String {
        super::apply::manager_for(self.field_manager.as_deref(), &self.user_agent)
    }
}

pub(crate) struct Outcome {
    pub(crate) object: Arc<Value>,
    pub(crate) warnings: Vec<String>,
}

fn api_version(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        def.version.to_string()
    } else {
        format!("{}/{}", def.group, def.version)
    }
}

/// Checks `apiVersion` and `kind` of a request body against the endpoint;
/// absent ones default to the endpoint's, as upstream's decoder does.
fn check_type_meta(def: &ResourceDef, body: &mut Value, expect_kind: &str) -> Result<()> {
    let want = if expect_kind == def.kind {
        api_version(def)
    } else {
        "autoscaling/v1".to_string()
    };
    let Some(o) = body.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    };
    let kind = o
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let version = o
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind.is_empty() {
        o.insert("kind".into(), Value::String(expect_kind.to_string()));
    }
    if version.is_empty() {
        o.insert("apiVersion".into(), Value::String(want.clone()));
    }
    if (!kind.is_empty() && kind != expect_kind) || (!version.is_empty() && version != want) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({version}) and kind ({kind}) do not match the expected {want}, Kind={expect_kind} of this endpoint"
        )));
    }
    Ok(())
}

/// Decodes through the kind's typed form: drops and reports unknown
/// fields, refuses wrong types.
pub(super) fn decode(
    def: &ResourceDef,
    body: &Value,
    mode: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    if def.custom.is_some() {
        return super::crd::decode(def, body, mode, warnings);
    }
    let name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let decoded = match typed::decode(def, body) {
        Ok(d) => d,
        Err(DecodeError::Type { path, message }) => {
            return Err(ApiError::bad_request(format!(
                "{kind} in version \"{v}\" cannot be handled as a {kind}: {path}: {message}",
                kind = def.kind,
                v = def.version
            )));
        }
        Err(DecodeError::Missing { path }) => {
            let err = FieldError {
                field: path,
                kind: ErrorType::Required,
                value: None,
                detail: String::new(),
            };
            return Err(ApiError::invalid(def, name, &[err]));
        }
        Err(DecodeError::Unsupported) => return Ok(body.clone()),
    };
    if !decoded.unknown_fields.is_empty() {
        let msgs: Vec<String> = decoded
            .unknown_fields
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        match mode {
            FieldValidation::Strict => {
                return Err(ApiError::bad_request(format!(
                    "strict decoding error: {}",
                    msgs.join(", ")
                )));
            }
            FieldValidation::Warn => warnings.extend(msgs),
            FieldValidation::Ignore => {}
        }
    }
    Ok(decoded.value)
}

fn validate(def: &ResourceDef, obj: &Value, old: Option<&Value>) -> Result<()> {
    let mut errs = validation::validate(def, obj, old);
    errs.extend(super::crd::validate(def, obj, old)?);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(def, meta::name(obj), &errs))
    }
}

/// Kinds whose generation tracks spec changes.
fn has_generation(def: &ResourceDef, obj: &Value) -> bool {
    def.subresources.contains(&Subresource::Status)
        || obj.get("spec").is_some()
        || def.custom.is_some()
}

/// Store key of a namespace object.
fn namespace_key(ns: &str) -> String {
    format!("/namespaces//{ns}")
}

impl Registry {
    fn namespace_usable(&self, def: &ResourceDef, ns: &str, name: &str) -> Result<()> {
        let ns_def = super::resources::find("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("no namespaces resource"))?;
        match self.store.get(&key(ns_def, None, ns)) {
            None => Err(ApiError::not_found(ns_def, ns)),
            Some(n) if meta::is_deleting(&n) => Err(ApiError::forbidden(
                def,
                name,
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    pub(crate) async fn create(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        mut body: Value,
        opts: &WriteOpts,
    ) -> Result<Outcome> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        check_type_meta(def, &mut body, def.kind)?;
        if def.verbs == super::resources::VerbSet::CreateOnly {
            return self.review(def, ns, body, opts).await;
        }
        self.allow(def, "create")?;
        let mut warnings = Vec::new();
        let generated;
        {
            let m = meta_mut(&mut body);
            let body_ns = m.get("namespace").and_then(Value::as_str).unwrap_or("");
            match ns {
                Some(ns) if def.namespaced => {
                    if !body_ns.is_empty() && body_ns != ns {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                    m.insert("namespace".into(), json!(ns));
                }
                _ => {
                    m.remove("namespace");
                }
            }
            if m.get("resourceVersion")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
            {
                return Err(ApiError::bad_request(
                    "resourceVersion should not be set on objects to be created",
                ));
            }
            let has_name = m
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            generated = !has_name;
            if !has_name {
                match m
                    .get("generateName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    Some(g) => {
                        let name = format!("{g}{}", meta::name_suffix());
                        m.insert("name".into(), json!(name));
                    }
                    None => {
                        let err = FieldError {
                            field: "metadata.name".into(),
                            kind: ErrorType::Required,
                            value: None,
                            detail: "name or generateName is required".into(),
                        };
                        return Err(ApiError::invalid(def, "", &[err]));
                    }
                }
            }
        }
        let name = meta::name(&body).to_string();
        if let Some(ns) = ns.filter(|_| def.namespaced) {
            self.namespace_usable(def, ns, &name)?;
        }
        self.custom_creatable(def)?;
        let is_events_v1 = def.group == "events.k8s.io";
        let mut obj = decode(def, &body, opts.validation, &mut warnings)?;
        if is_events_v1 {
            obj = events::to_core(&obj);
        }
        let ns = ns.filter(|_| def.namespaced);
        super::defaults::apply(def, &mut obj);
        // Upstream generates names after mutating admission: webhooks see
        // a generateName request unnamed, and may name it themselves.
        if generated {
            meta_mut(&mut obj).remove("name");
        }
        let unnamed = if generated { "" } else { name.as_str() };
        let attrs = admission::Attributes::new(def, "", ns, unnamed, Operation::Create, opts);
        admission::mutate(&self.store, &attrs, &mut obj, &mut warnings).await?;
        if meta::name(&obj).is_empty() {
            meta_mut(&mut obj).insert("name".into(), json!(name));
        }
        let name = meta::name(&obj).to_string();
        let attrs = admission::Attributes::new(def, "", ns, &name, Operation::Create, opts);
        {
            let generation = has_generation(def, &obj);
            let m = meta_mut(&mut obj);
            m.insert("uid".into(), json!(meta::new_uid()));
            m.insert("creationTimestamp".into(), json!(meta::now()));
            for f in [
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "resourceVersion",
                "selfLink",
            ] {
                m.remove(f);
            }
            if generation {
                m.insert("generation".into(), json!(1));
            } else {
                m.remove("generation");
            }
        }
        // Status is owned by controllers; upstream drops it on create
        // (nodes register with theirs).
        if def.subresources.contains(&Subresource::Status)
            && def.kind != "Node"
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        super::defaults::apply(def, &mut obj);
        super::crd::prepare(def, &mut obj, None, false);
        if !opts.applied {
            let requested = obj.pointer("/metadata/managedFields").cloned();
            super::apply::record_write(
                def,
                None,
                None,
                requested.as_ref(),
                &mut obj,
                &opts.manager(),
            );
        }
        super::defaults::prepare_for_create(def, &mut obj);
        let _allocating = self.allocate(def, &name, &mut obj, None).await?;
        validate(def, &obj, None)?;
        admission::validate(
            &self.store,
            &attrs.with_objects(Some(&obj), None),
            &mut warnings,
        )
        .await?;
        if opts.dry_run {
            return Ok(Outcome {
                object: self.present(def, &Arc::new(obj))?,
                warnings,
            });
        }
        let stored = self
            .store
            .write(Op::Create {
                key: key(def, ns.filter(|_| def.namespaced), &name),
                value: obj,
                guard: ns.filter(|_| def.namespaced).map(namespace_key),
            })
            .await
            .map_err(|e| match (e, ns) {
                (crate::store::Error::GuardFailed(_), Some(ns)) => self
                    .namespace_usable(def, ns, &name)
                    .err()
                    .unwrap_or_else(|| ApiError::internal("namespace check failed")),
                (e, _) => store_error(def, &name, e),
            })?;
        super::crd::committed(def, &stored);
        Ok(Outcome {
            object: self.present(def, &stored)?,
            warnings,
        })
    }

    /// PUT of an object or its status.
    pub(crate) async fn update(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        mut body: Value,
        sub: Option<Subresource>,
        opts: &WriteOpts,
    ) -> Result<Outcome> {
        self.allow(def, "update")?;
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        if sub == Some(Subresource::Scale) {
            check_type_meta(def, &mut body, "Scale")?;
            return self.update_scale(def, ns, name, &body, opts).await;
        }
        check_type_meta(def, &mut body, def.kind)?;
        let body_name = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(body_ns) = body.pointer("/metadata/namespace").and_then(Value::as_str)
            && def.namespaced
            && ns.is_some_and(|ns| ns != body_ns)
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        // "0" (like no version at all) asks for an unconditional update.
        let expected = match body
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
        {
            Some(s) if !s.is_empty() && s != "0" => Some(super::parse_rv(s)?),
            _ => None,
        };
        let body_uid = body
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(String::from);
        let mut warnings = Vec::new();
        let mut incoming = decode(def, &body, opts.validation, &mut warnings)?;
        if def.group == "events.k8s.io" {
            incoming = events::to_core(&incoming);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self
                .store
                .get(&key(def, ns, name))
                .ok_or_else(|| ApiError::not_found(def, name))?;
            if let Some(uid) = &body_uid {
                super::delete::uid_precondition(def, name, uid, &current)?;
            }
            match self
                .commit_update(
                    def,
                    ns,
                    name,
                    &current,
                    incoming.clone(),
                    sub,
                    expected,
                    opts,
                )
                .await
            {
                // Without a resourceVersion the client did not ask for a
                // precondition: a concurrent writer is not its conflict.
                Err(e)
                    if e.code == 409
                        && e.reason == "Conflict"
                        && expected.is_none()
                        && attempt < super::WRITE_RETRIES => {}
                Ok(mut out) => {
                    let mut all = warnings;
                    all.append(&mut out.warnings);
                    out.warnings = all;
                    return Ok(out);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Builds the new object from the stored one and the client's, then
    /// writes it if anything changed.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn commit_update(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        current: &Arc<Value>,
        mut incoming: Value,
        sub: Option<Subresource>,
        expected: Option<u64>,
        opts: &WriteOpts,
    ) -> Result<Outcome> {
        let requested = incoming.pointer("/metadata/managedFields").cloned();
        let mut warnings = Vec::new();
        let subresource = match sub {
            Some(Subresource::Status) => "status",
            Some(Subresource::Scale) => "scale",
            None => "",
        };
        let attrs = admission::Attributes::new(def, subresource, ns, name, Operation::Update, opts);
        // A Scale carries no object to mutate here: its webhooks validate only.
        if sub != Some(Subresource::Scale) {
            let attrs = attrs.with_objects(None, Some(current));
            admission::mutate(&self.store, &attrs, &mut incoming, &mut warnings).await?;
        }
        let mut new = match sub {
            Some(Subresource::Status) => {
                let mut new = (**current).clone();
                if let (Some(o), Some(status)) = (new.as_object_mut(), incoming.get("status")) {
                    o.insert("status".into(), status.clone());
                } else if def.custom.is_some()
                    && let Some(o) = new.as_object_mut()
                {
                    // A custom object's status is what the request says,
                    // even when that is nothing.
                    o.remove("status");
                }
                new
            }
            _ => {
                let mut new = incoming;
                let generation = has_generation(def, &new);
                let cur_meta = meta::meta(current).cloned().unwrap_or_default();
                let m = meta_mut(&mut new);
                for f in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                    "namespace",
                    "name",
                ] {
                    match cur_meta.get(f) {
                        Some(v) => m.insert(f.into(), v.clone()),
                        None => m.remove(f),
                    };
                }
                if def.subresources.contains(&Subresource::Status)
                    && let Some(o) = new.as_object_mut()
                {
                    match current.get("status") {
                        Some(s) => o.insert("status".into(), s.clone()),
                        None => o.remove("status"),
                    };
                }
                if generation
                    && (meta::spec_differs(current, &new)
                        || super::crd::status_bumps_generation(def, current, &new))
                {
                    let g = current
                        .pointer("/metadata/generation")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    meta_mut(&mut new).insert("generation".into(), json!(g + 1));
                }
                new
            }
        };
        meta_mut(&mut new).insert(
            "resourceVersion".into(),
            json!(revision_of(current).to_string()),
        );
        super::defaults::apply(def, &mut new);
        super::crd::prepare(def, &mut new, Some(current), sub.is_some());
        if opts.applied {
            let m = meta_mut(&mut new);
            match requested {
                Some(r) => m.insert("managedFields".into(), r),
                None => m.remove("managedFields"),
            };
        } else {
            super::apply::record_write(
                def,
                sub,
                Some(current),
                requested.as_ref(),
                &mut new,
                &opts.manager(),
            );
        }
        let _allocating = self.allocate(def, name, &mut new, Some(current)).await?;
        validate(def, &new, Some(current))?;
        if sub == Some(Subresource::Scale) {
            let (scale, old) = (scale_of(def, &new)?, scale_of(def, current)?);
            let attrs = attrs.with_objects(Some(&scale), Some(&old));
            admission::validate(&self.store, &attrs, &mut warnings).await?;
        } else {
            let attrs = attrs.with_objects(Some(&new), Some(current));
            admission::validate(&self.store, &attrs, &mut warnings).await?;
        }
        let k = key(def, ns, name);
        if meta::is_deleting(&new)
            && meta::finalizers(&new).is_empty()
            && super::pod_delete::update_completes_deletion(current)
        {
            // The last finalizer is gone: the deletion completes now.
            if opts.dry_run {
                return Ok(Outcome {
                    object: Arc::new(new),
                    warnings,
                });
            }
            let gone = self
                .store
                .write(Op::Delete {
                    key: k,
                    expected: expected.or(Some(revision_of(current))),
                })
                .await
                .map_err(|e| store_error(def, name, e))?;
            self.collect_dependents(meta::uid(&gone).to_string());
            return Ok(Outcome {
                object: self.present(def, &gone)?,
                warnings,
            });
        }
        if meta::same_object(current, &new) {
            if expected.is_some_and(|e| e != revision_of(current)) {
                return Err(ApiError::stale(def, name));
            }
            return Ok(Outcome {
                object: self.present(def, current)?,
                warnings,
            });
        }
        if opts.dry_run {
            return Ok(Outcome {
                object: self.present(def, &Arc::new(new))?,
                warnings,
            });
        }
        let stored = self
            .store
            .write(Op::Update {
                key: k,
                value: new,
                expected: expected.or(Some(revision_of(current))),
            })
            .await
            .map_err(|e| store_error(def, name, e))?;
        if sub.is_none() {
            super::crd::committed(def, &stored);
        }
        Ok(Outcome {
            object: self.present(def, &stored)?,
            warnings,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn patch(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        kind: PatchKind,
        body: &[u8],
        sub: Option<Subresource>,
        opts: &WriteOpts,
    ) -> Result<Outcome> {
        self.allow(def, "patch")?;
        super::crd::check_patch_kind(def, kind)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            // A patch that names a resourceVersion is a precondition and
            // never retried; otherwise a lost race is retried on fresh state.
            let mut retryable = true;
            let current = self
                .store
                .get(&key(def, ns, name))
                .ok_or_else(|| ApiError::not_found(def, name))?;
            let result = if sub == Some(Subresource::Scale) {
                let scale = scale_of(def, &current)?;
                let schema = patch::schemas::root("autoscaling", "v1", "Scale");
                let patched = apply_patch(kind, &scale, body, Strategic::Schema(schema))?;
                self.update_scale(def, ns, name, &patched, opts).await
            } else {
                let view = self.present(def, &current)?;
                let strategic = match def.custom {
                    Some(_) => Strategic::Refused,
                    None => Strategic::Schema(patch::schemas::root_of(def)),
                };
                let patched = apply_patch(kind, &view, body, strategic)?;
                if !patched.is_object() {
                    return Err(ApiError::bad_request(
                        "the patched object is not a JSON object",
                    ));
                }
                let user_rv = patched
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .filter(|s| {
                        Some(*s)
                            != view
                                .pointer("/metadata/resourceVersion")
                                .and_then(Value::as_str)
                    })
                    .map(super::parse_rv)
                    .transpose()?;
                let mut warnings = Vec::new();
                let mut incoming = decode(def, &patched, opts.validation, &mut warnings)?;
                if def.group == "events.k8s.io" {
                    incoming = events::to_core(&incoming);
                }
                let expected = user_rv.unwrap_or(revision_of(&current));
                self.commit_update(def, ns, name, &current, incoming, sub, Some(expected), opts)
                    .await
                    .map(|mut o| {
                        let mut all = warnings;
                        all.append(&mut o.warnings);
                        o.warnings = all;
                        o
                    })
                    .inspect_err(|_| retryable = user_rv.is_none())
            };
            match result {
                Err(e)
                    if e.code == 409
                        && e.reason == "Conflict"
                        && retryable
                        && attempt < super::WRITE_RETRIES =>
                {
                    continue;
                }
                other => return other,
            }
        }
    }

    /// Assigns a Service's cluster IP and node ports; the guard returned
    /// must be held until the write is committed.
    async fn allocate(
        &self,
        def: &ResourceDef,
        name: &str,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<Option<tokio::sync::MutexGuard<'static, ()>>> {
        if (def.group, def.kind) != ("", "Service") {
            return Ok(None);
        }
        let guard = service_alloc::LOCK.lock().await;
        let services = self
            .store
            .list(&super::prefix(def, None), None, None, 0, &|_| true)
            .map(|page| page.items)
            .unwrap_or_default();
        let uid = obj.pointer("/metadata/uid").and_then(Value::as_str);
        let used = service_alloc::InUse::of(&services, uid);
        service_alloc::assign(obj, old, &used)
            .map_err(|errs| ApiError::invalid(def, name, &errs))?;
        Ok(Some(guard))
    }

    pub(crate) fn get_scale(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value> {
        let current = self
            .store
            .get(&key(def, ns, name))
            .ok_or_else(|| ApiError::not_found(def, name))?;
        scale_of(def, &current)
    }

    async fn update_scale(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        scale: &Value,
        opts: &WriteOpts,
    ) -> Result<Outcome> {
        let current = self
            .store
            .get(&key(def, ns, name))
            .ok_or_else(|| ApiError::not_found(def, name))?;
        let replicas = scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if replicas < 0 {
            let err = FieldError {
                field: "spec.replicas".into(),
                kind: ErrorType::Invalid,
                value: Some(replicas.to_string()),
                detail: "must be greater than or equal to 0".into(),
            };
            return Err(ApiError {
                details: None,
                ..ApiError::invalid(def, name, &[err])
            });
        }
        let expected = match scale
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
        {
            Some(s) if !s.is_empty() => Some(super::parse_rv(s)?),
            _ => None,
        };
        let new = match def.custom {
            Some(info) => super::crd::with_replicas(def, info, &current, replicas)?,
            None => {
                let mut new = (*current).clone();
                new["spec"]["replicas"] = json!(replicas);
                new
            }
        };
        let out = self
            .commit_update(
                def,
                ns,
                name,
                &current,
                new,
                Some(Subresource::Scale),
                expected,
                opts,
            )
            .await?;
        Ok(Outcome {
            object: Arc::new(scale_of(def, &out.object)?),
            warnings: out.warnings,
        })
    }
}

fn apply_patch(
    kind: PatchKind,
    current: &Value,
    body: &[u8],
    strategic: Strategic<'_>,
) -> Result<Value> {
    patch::apply(kind, current, body, strategic)
        .map_err(|e| ApiError::new(e.status_code(), e.reason(), e.to_string()))
}

/// The metadata a Scale carries over from the object it scales.
pub(super) fn scale_metadata(obj: &Value) -> serde_json::Map<String, Value> {
    let m = meta::meta(obj);
    [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ]
    .into_iter()
    .filter_map(|f| Some((f.to_owned(), m?.get(f)?.clone())))
    .collect()
}

/// The autoscaling/v1 Scale view of a scalable object.
fn scale_of(def: &ResourceDef, obj: &Value) -> Result<Value> {
    if let Some(info) = def.custom {
        return super::crd::scale_at_version(def, info, obj);
    }
    let scale_meta = scale_metadata(obj);
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .or_else(|| {
            // ReplicationControllers select with a plain map.
            obj.pointer("/spec/selector")
                .and_then(Value::as_object)
                .filter(|s| !s.contains_key("matchLabels"))
                .map(|l| {
                    l.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(",")
                })
        })
        .unwrap_or_default();
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": { "replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0)) },
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        }
    }))
}
