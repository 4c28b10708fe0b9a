//! Deleting a CRD, as upstream does: the first delete marks it (deletion
//! timestamp, the `customresourcecleanup` finalizer, condition Terminating),
//! then its objects are deleted (their own finalizers respected), then the
//! finalizer goes, the CRD with it, and its resources stop being served.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::definition::{self, CLEANUP_FINALIZER};
use crate::registry::error::{ApiError, Result};
use crate::registry::meta::{self, meta_mut};
use crate::registry::resources::{self, ResourceDef};
use crate::registry::{DeleteOpts, Deleted, Registry, WriteOpts, key, prefix, store_error};
use crate::store::{Op, revision_of};

/// CRDs whose cleanup task is running.
static ACTIVE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn crd_def() -> Option<&'static ResourceDef> {
    resources::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
}

impl Registry {
    /// Every stored object of a resource, in all namespaces.
    pub(crate) fn list_all(&self, def: &ResourceDef) -> Vec<Arc<Value>> {
        self.store
            .list(&prefix(def, None), None, None, 0, &|_| true)
            .map(|p| p.items)
            .unwrap_or_default()
    }

    /// Refuses new objects of a CRD that is being deleted.
    pub(crate) fn custom_creatable(&self, def: &ResourceDef) -> Result<()> {
        let (Some(info), Some(crds)) = (def.custom, crd_def()) else {
            return Ok(());
        };
        match self.store.get(&key(crds, None, &info.crd_name)) {
            Some(crd) if meta::is_deleting(&crd) => Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating",
            )),
            _ => Ok(()),
        }
    }

    /// The first delete of a CRD: mark it and start the cleanup. Later
    /// deletes answer the marked object.
    pub(crate) async fn delete_crd(
        &self,
        def: &ResourceDef,
        name: &str,
        current: &Arc<Value>,
        wopts: &WriteOpts,
    ) -> Result<Deleted> {
        if meta::is_deleting(current) {
            if !wopts.dry_run {
                self.clean_up_crd(name.to_string());
            }
            return Ok(Deleted::Pending(current.clone()));
        }
        let mut new = (**current).clone();
        {
            let m = meta_mut(&mut new);
            m.insert("deletionTimestamp".into(), json!(meta::now()));
            m.insert("deletionGracePeriodSeconds".into(), json!(0));
            let finalizers = m.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(f) = finalizers.as_array_mut()
                && !f.contains(&json!(CLEANUP_FINALIZER))
            {
                f.push(json!(CLEANUP_FINALIZER));
            }
        }
        definition::put_condition(
            &mut new,
            "Terminating",
            true,
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; instance deletion is pending",
        );
        if wopts.dry_run {
            return Ok(Deleted::Pending(Arc::new(new)));
        }
        let stored = self
            .store
            .write(Op::Update {
                key: key(def, None, name),
                value: new,
                expected: Some(revision_of(current)),
            })
            .await
            .map_err(|e| store_error(def, name, e))?;
        self.clean_up_crd(name.to_string());
        Ok(Deleted::Pending(stored))
    }

    /// Deletes the objects of a terminating CRD, then the CRD.
    pub(crate) fn clean_up_crd(&self, name: String) {
        {
            let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
            if active.contains(&name) {
                return;
            }
            active.push(name.clone());
        }
        let registry = self.clone();
        tokio::spawn(async move {
            registry.run_cleanup(&name).await;
            ACTIVE
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|n| *n != name);
        });
    }

    async fn run_cleanup(&self, name: &str) {
        let Some(crds) = crd_def() else {
            return;
        };
        let mut announced = false;
        loop {
            let Some(crd) = self.store.get(&key(crds, None, name)) else {
                super::unregister(name);
                return;
            };
            if !meta::is_deleting(&crd) {
                return;
            }
            if !announced {
                announced = self
                    .set_crd_condition(
                        name,
                        "InstanceDeletionInProgress",
                        "CustomResource deletion is in progress",
                    )
                    .await;
            }
            let left = match super::storage_def(name) {
                Some(def) => {
                    let objs = self.list_all(def);
                    for obj in objs.iter().filter(|o| !meta::is_deleting(o)) {
                        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
                        let _ = self
                            .delete(
                                def,
                                ns,
                                meta::name(obj),
                                &DeleteOpts::default(),
                                &WriteOpts::default(),
                            )
                            .await;
                    }
                    self.list_all(def).len()
                }
                None => 0,
            };
            if left == 0 && self.finish_crd(name).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn set_crd_condition(&self, name: &str, reason: &str, message: &str) -> bool {
        let Some(crds) = crd_def() else {
            return true;
        };
        let k = key(crds, None, name);
        let Some(current) = self.store.get(&k) else {
            return true;
        };
        let mut new = (*current).clone();
        definition::put_condition(&mut new, "Terminating", true, reason, message);
        self.store
            .write(Op::Update {
                key: k,
                value: new,
                expected: Some(revision_of(&current)),
            })
            .await
            .is_ok()
    }

    /// Drops the cleanup finalizer; the CRD goes when no other holds it.
    async fn finish_crd(&self, name: &str) -> bool {
        let Some(crds) = crd_def() else {
            return true;
        };
        let k = key(crds, None, name);
        let Some(current) = self.store.get(&k) else {
            return true;
        };
        let mut new = (*current).clone();
        if let Some(f) = new
            .pointer_mut("/metadata/finalizers")
            .and_then(Value::as_array_mut)
        {
            f.retain(|v| v != CLEANUP_FINALIZER);
        }
        definition::put_condition(
            &mut new,
            "Terminating",
            true,
            "InstanceDeletionCompleted",
            "removed all instances",
        );
        let gone = meta::finalizers(&new).is_empty();
        let op = if gone {
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
        if self.store.write(op).await.is_err() {
            return false;
        }
        super::unregister(name);
        let group = current
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.accept_waiting_names(group).await;
        true
    }

    /// Names freed by a deleted CRD may be what another CRD of the group
    /// waits for: check those again, as upstream's naming controller does.
    async fn accept_waiting_names(&self, group: &str) {
        let Some(crds) = crd_def() else {
            return;
        };
        for crd in self.list_all(crds) {
            if crd.pointer("/spec/group").and_then(Value::as_str) != Some(group)
                || definition::names_accepted(&crd)
                || meta::is_deleting(&crd)
            {
                continue;
            }
            let mut new = (*crd).clone();
            definition::set_status(&mut new, Some(&crd));
            if !definition::names_accepted(&new) {
                continue;
            }
            let written = self
                .store
                .write(Op::Update {
                    key: key(crds, None, meta::name(&crd)),
                    value: new,
                    expected: Some(revision_of(&crd)),
                })
                .await;
            if let Ok(stored) = written {
                super::register(&stored);
            }
        }
    }
}
