//! delete and deletecollection, with finalizers, preconditions,
//! propagation to dependents and namespace termination.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::meta::{self, meta_mut};
use super::pod_delete::{self, PodDeletion};
use super::resources::{self, ResourceDef, VerbSet};
use super::write::WriteOpts;
use super::{ListOpts, Registry, def_for_key, key, store_error};
use crate::admission::{self, Operation};
use crate::store::{Op, revision_of};

#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteOpts {
    pub(crate) grace_period_seconds: Option<i64>,
    pub(crate) propagation: Option<String>,
    pub(crate) precondition_uid: Option<String>,
    pub(crate) precondition_rv: Option<String>,
}

pub(crate) enum Deleted {
    /// The object is gone.
    Gone(Arc<Value>),
    /// Deletion started; finalizers or dependents still hold the object.
    Pending(Arc<Value>),
}

/// Namespaces the cluster cannot do without, as upstream protects them.
const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Propagation {
    Orphan,
    Background,
    Foreground,
}

fn parse_propagation(p: Option<&str>) -> Result<Propagation> {
    match p {
        None | Some("") | Some("Background") => Ok(Propagation::Background),
        Some("Orphan") => Ok(Propagation::Orphan),
        Some("Foreground") => Ok(Propagation::Foreground),
        Some(other) => Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            ),
        )),
    }
}

/// Refuses to act on `current` when the client named another object's uid.
pub(super) fn uid_precondition(
    def: &ResourceDef,
    name: &str,
    uid: &str,
    current: &Value,
) -> Result<()> {
    if uid == meta::uid(current) {
        return Ok(());
    }
    Err(ApiError::conflict(
        def,
        name,
        &format!(
            "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
            meta::uid(current)
        ),
    ))
}

/// Whether `obj` names `uid` among its owners.
fn owned_by(obj: &Value, uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
        })
}

impl Registry {
    /// Deletes, retrying on a concurrent change when the client gave no
    /// precondition (upstream never reports such a conflict).
    pub(crate) async fn delete(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOpts,
        wopts: &WriteOpts,
    ) -> Result<Deleted> {
        let unconditional = opts.precondition_rv.is_none() && opts.precondition_uid.is_none();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.delete_once(def, ns, name, opts, wopts).await {
                Err(e) if e.is_conflict() && unconditional && attempt < super::WRITE_RETRIES => {
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn delete_once(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOpts,
        wopts: &WriteOpts,
    ) -> Result<Deleted> {
        self.allow(def, "delete")?;
        let propagation = parse_propagation(opts.propagation.as_deref())?;
        let k = key(def, ns, name);
        let current = self
            .store
            .get(&k)
            .ok_or_else(|| ApiError::not_found(def, name))?;
        if let Some(uid) = &opts.precondition_uid {
            uid_precondition(def, name, uid, &current)?;
        }
        if let Some(rv) = &opts.precondition_rv
            && *rv != revision_of(&current).to_string()
        {
            return Err(ApiError::conflict(
                def,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in meta: {}",
                    revision_of(&current)
                ),
            ));
        }
        let is_namespace = def.group.is_empty() && def.kind == "Namespace";
        if is_namespace && PROTECTED_NAMESPACES.contains(&name) {
            return Err(ApiError::forbidden(
                def,
                name,
                "this namespace may not be deleted",
            ));
        }
        self.admit_delete(def, ns, name, &current, opts, wopts)
            .await?;
        if def.group == "apiextensions.k8s.io" && def.kind == "CustomResourceDefinition" {
            return self.delete_crd(def, name, &current, wopts).await;
        }
        if def.group.is_empty() && def.kind == "Pod" {
            match pod_delete::decide(&current, opts.grace_period_seconds) {
                PodDeletion::Unchanged => {
                    return Ok(Deleted::Pending(self.present(def, &current)?));
                }
                PodDeletion::Mark(new) => {
                    return self
                        .mark_deleting(def, name, &k, &current, new, wopts)
                        .await;
                }
                PodDeletion::Now => {}
            }
        }
        let pending = is_namespace || !meta::finalizers(&current).is_empty();
        if pending && meta::is_deleting(&current) {
            if is_namespace && !wopts.dry_run {
                self.terminate_namespace(name.to_string());
            }
            return Ok(Deleted::Pending(self.present(def, &current)?));
        }
        if pending {
            let mut new = (*current).clone();
            let m = meta_mut(&mut new);
            m.insert("deletionTimestamp".into(), json!(meta::now()));
            // Only pods delete gracefully; finalizers alone hold the rest.
            m.insert("deletionGracePeriodSeconds".into(), json!(0));
            if is_namespace {
                new["status"]["phase"] = json!("Terminating");
            }
            if wopts.dry_run {
                return Ok(Deleted::Pending(self.present(def, &Arc::new(new))?));
            }
            let stored = self
                .store
                .write(Op::Update {
                    key: k,
                    value: new,
                    expected: Some(revision_of(&current)),
                })
                .await
                .map_err(|e| store_error(def, name, e))?;
            if is_namespace {
                self.terminate_namespace(name.to_string());
            }
            if propagation == Propagation::Orphan {
                self.orphan_dependents(meta::uid(&current)).await;
            }
            return Ok(Deleted::Pending(self.present(def, &stored)?));
        }
        if wopts.dry_run {
            return Ok(Deleted::Gone(current));
        }
        if propagation == Propagation::Foreground {
            self.delete_dependents(meta::uid(&current).to_string())
                .await;
        }
        let gone = self
            .store
            .write(Op::Delete {
                key: k,
                expected: Some(revision_of(&current)),
            })
            .await
            .map_err(|e| store_error(def, name, e))?;
        match propagation {
            Propagation::Background => self.collect_dependents(meta::uid(&gone).to_string()),
            Propagation::Orphan => self.orphan_dependents(meta::uid(&gone)).await,
            Propagation::Foreground => {}
        }
        Ok(Deleted::Gone(self.present(def, &gone)?))
    }

    /// Stores `new`, the object marked for graceful deletion.
    async fn mark_deleting(
        &self,
        def: &ResourceDef,
        name: &str,
        k: &str,
        current: &Arc<Value>,
        new: Value,
        wopts: &WriteOpts,
    ) -> Result<Deleted> {
        if wopts.dry_run {
            return Ok(Deleted::Pending(Arc::new(new)));
        }
        let stored = self
            .store
            .write(Op::Update {
                key: k.to_string(),
                value: new,
                expected: Some(revision_of(current)),
            })
            .await
            .map_err(|e| store_error(def, name, e))?;
        Ok(Deleted::Pending(self.present(def, &stored)?))
    }

    /// Mutating and validating admission of a deletion: the webhooks see
    /// the stored object as `oldObject` and the DeleteOptions.
    async fn admit_delete(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        current: &Value,
        opts: &DeleteOpts,
        wopts: &WriteOpts,
    ) -> Result<()> {
        let mut attrs = admission::Attributes::new(def, "", ns, name, Operation::Delete, wopts);
        if let Some(g) = opts.grace_period_seconds {
            attrs.options["gracePeriodSeconds"] = json!(g);
        }
        if let Some(p) = &opts.propagation {
            attrs.options["propagationPolicy"] = json!(p);
        }
        if let Some(uid) = &opts.precondition_uid {
            attrs.options["preconditions"]["uid"] = json!(uid);
        }
        if let Some(rv) = &opts.precondition_rv {
            attrs.options["preconditions"]["resourceVersion"] = json!(rv);
        }
        let attrs = attrs.with_objects(None, Some(current));
        // Deletions carry no object; warnings have no response to go to.
        let mut warnings = Vec::new();
        admission::mutate(&self.store, &attrs, &mut Value::Null, &mut warnings).await?;
        admission::validate(&self.store, &attrs, &mut warnings).await
    }

    pub(crate) async fn delete_collection(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        list: &ListOpts,
        opts: &DeleteOpts,
        wopts: &WriteOpts,
    ) -> Result<Vec<Arc<Value>>> {
        self.allow(def, "deletecollection")?;
        let items = self.list(def, ns, list)?.items;
        let mut deleted = Vec::new();
        for item in items {
            let item_ns = item.pointer("/metadata/namespace").and_then(Value::as_str);
            match self
                .delete(def, item_ns, meta::name(&item), opts, wopts)
                .await
            {
                Ok(_) => deleted.push(item),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }

    /// Every stored object naming `uid` as an owner, with its resource.
    fn dependents(&self, uid: &str) -> Vec<(String, Arc<Value>)> {
        let filter = |v: &Value| owned_by(v, uid);
        let Ok(page) = self.store.list("", None, None, 0, &filter) else {
            return Vec::new();
        };
        page.items
            .into_iter()
            .filter_map(|obj| {
                let defs = resources::all().into_iter().filter(|d| {
                    d.verbs == VerbSet::Crud
                        && d.kind == obj.get("kind").and_then(Value::as_str).unwrap_or("")
                });
                let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
                defs.map(|d| key(d, ns.filter(|_| d.namespaced), meta::name(&obj)))
                    .find(|k| self.store.get(k).is_some())
                    .map(|k| (k, obj.clone()))
            })
            .collect()
    }

    async fn orphan_dependents(&self, uid: &str) {
        for (k, obj) in self.dependents(uid) {
            let mut new = (*obj).clone();
            if let Some(refs) = new
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
                if refs.is_empty()
                    && let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut)
                {
                    m.remove("ownerReferences");
                }
            }
            let _ = self
                .store
                .write(Op::Update {
                    key: k,
                    value: new,
                    expected: Some(revision_of(&obj)),
                })
                .await;
        }
    }

    /// Deletes what `uid` owned, unless another owner still exists.
    async fn delete_dependents(&self, uid: String) {
        let mut queue = vec![uid];
        while let Some(uid) = queue.pop() {
            for (k, obj) in self.dependents(&uid) {
                let other_owner_alive = obj
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.get("uid").and_then(Value::as_str))
                    .filter(|u| *u != uid)
                    .any(|u| !self.dependents_probe(u));
                if other_owner_alive {
                    continue;
                }
                let Some((def, ns, name)) = def_for_key(&k) else {
                    continue;
                };
                let opts = DeleteOpts {
                    propagation: Some("Background".into()),
                    ..Default::default()
                };
                if let Err(e) =
                    Box::pin(self.delete(def, ns, name, &opts, &WriteOpts::default())).await
                    && e.code != 404
                {
                    tracing::warn!(key = %k, error = %e, "cannot delete dependent");
                }
                queue.push(meta::uid(&obj).to_string());
            }
        }
    }

    /// True when no object with `uid` exists any more.
    fn dependents_probe(&self, uid: &str) -> bool {
        let filter = |v: &Value| meta::uid(v) == uid;
        self.store
            .list("", None, None, 1, &filter)
            .map(|p| p.items.is_empty())
            .unwrap_or(true)
    }

    /// Background propagation: dependents go after the owner is gone.
    pub(super) fn collect_dependents(&self, uid: String) {
        let registry = self.clone();
        tokio::spawn(async move { registry.delete_dependents(uid).await });
    }

    /// Empties a terminating namespace, then removes it.
    pub(crate) fn terminate_namespace(&self, ns: String) {
        let registry = self.clone();
        {
            let mut active = self.terminating.lock().unwrap_or_else(|e| e.into_inner());
            if !active.insert(ns.clone()) {
                return;
            }
        }
        tokio::spawn(async move {
            registry.empty_namespace(&ns).await;
            registry
                .terminating
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&ns);
        });
    }

    async fn empty_namespace(&self, ns: &str) {
        let registry = self;
        let ns = ns.to_string();
        {
            loop {
                let mut left = 0;
                for def in resources::all().into_iter().filter(|d| {
                    d.namespaced
                        && d.verbs == VerbSet::Crud
                        && d.group != "events.k8s.io"
                        // A custom resource is stored once, whatever
                        // versions it is served at.
                        && d.custom.is_none_or(|c| c.storage_version == d.version)
                }) {
                    let Ok(page) =
                        registry
                            .store
                            .list(&super::prefix(def, Some(&ns)), None, None, 0, &|_| true)
                    else {
                        continue;
                    };
                    for obj in page.items {
                        left += 1;
                        if meta::is_deleting(&obj) {
                            continue;
                        }
                        let _ = registry
                            .delete(
                                def,
                                Some(&ns),
                                meta::name(&obj),
                                &DeleteOpts::default(),
                                &WriteOpts::default(),
                            )
                            .await;
                    }
                }
                if left == 0 && registry.finalize_namespace(&ns).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// Drops the `kubernetes` finalizer of an emptied namespace; true when
    /// the namespace is gone or no longer terminating.
    async fn finalize_namespace(&self, ns: &str) -> bool {
        let Some(def) = super::resources::find("", "v1", "namespaces") else {
            return true;
        };
        let k = key(def, None, ns);
        let Some(current) = self.store.get(&k) else {
            return true;
        };
        let mut new = (*current).clone();
        if let Some(f) = new
            .pointer_mut("/spec/finalizers")
            .and_then(Value::as_array_mut)
        {
            f.retain(|v| v != "kubernetes");
        }
        let op = if meta::finalizers(&new).is_empty() {
            Op::Delete {
                key: k,
                expected: Some(revision_of(&current)),
            }
        } else {
            Op::Update {
                key: k,
                value: new,
                expected: Some(revision_of(&current)),
            }
        };
        self.store.write(op).await.is_ok()
    }

    /// Resumes termination of namespaces that were terminating when the
    /// server stopped.
    pub(crate) fn resume_terminating(&self) {
        let Some(def) = super::resources::find("", "v1", "namespaces") else {
            return;
        };
        let Ok(page) =
            self.store
                .list(&super::prefix(def, None), None, None, 0, &meta::is_deleting)
        else {
            return;
        };
        for ns in page.items {
            self.terminate_namespace(meta::name(&ns).to_string());
        }
    }

    /// Deletes objects all of whose owners are gone: the cleanup a stop
    /// interrupted after an owner was deleted in the background.
    pub(crate) fn resume_collection(&self) {
        let registry = self.clone();
        tokio::spawn(async move {
            let Ok(all) = registry.store.list("", None, None, 0, &|_| true) else {
                return;
            };
            let uids: std::collections::HashSet<&str> =
                all.items.iter().map(|o| meta::uid(o)).collect();
            let orphans: Vec<&Arc<Value>> = all
                .items
                .iter()
                .filter(|o| {
                    let owners = o
                        .pointer("/metadata/ownerReferences")
                        .and_then(Value::as_array);
                    owners.is_some_and(|refs| {
                        !refs.is_empty()
                            && refs.iter().all(|r| {
                                !uids.contains(r.get("uid").and_then(Value::as_str).unwrap_or(""))
                            })
                    })
                })
                .collect();
            for obj in orphans {
                let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
                let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
                let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                let Some(def) = resources::find_kind(group, version, kind) else {
                    continue;
                };
                let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
                let opts = DeleteOpts {
                    propagation: Some("Background".into()),
                    ..Default::default()
                };
                if let Err(e) = registry
                    .delete(def, ns, meta::name(obj), &opts, &WriteOpts::default())
                    .await
                    && e.code != 404
                {
                    tracing::warn!(name = meta::name(obj), error = %e, "cannot collect object whose owners are gone");
                }
            }
        });
    }

    /// Creates an object unless it exists: used for what the server itself
    /// must provide (default namespaces, the `kubernetes` Service).
    pub(crate) async fn ensure(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        obj: Value,
    ) -> Result<()> {
        if self.store.get(&key(def, ns, meta::name(&obj))).is_some() {
            return Ok(());
        }
        match self.create(def, ns, obj, &WriteOpts::default()).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == 409 => Ok(()),
            Err(e) => Err(e),
        }
    }
}
