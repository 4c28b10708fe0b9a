//! Kinds that are answered, not stored: access reviews, token reviews,
//! bindings, and the read-only component statuses.

use std::sync::Arc;

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::resources::ResourceDef;
use super::write::{Outcome, WriteOpts};
use super::{Registry, key, meta, store_error};
use crate::store::{Op, revision_of};

pub(crate) fn component_statuses() -> Vec<Value> {
    ["controller-manager", "scheduler", "etcd-0"]
        .iter()
        .filter_map(|n| component_status(n))
        .collect()
}

/// Components run inside this process, so they are healthy while it
/// answers.
pub(crate) fn component_status(name: &str) -> Option<Value> {
    if !["controller-manager", "scheduler", "etcd-0"].contains(&name) {
        return None;
    }
    Some(json!({
        "kind": "ComponentStatus",
        "apiVersion": "v1",
        "metadata": { "name": name },
        "conditions": [{ "type": "Healthy", "status": "True", "message": "ok" }]
    }))
}

impl Registry {
    pub(super) async fn review(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        mut body: Value,
        opts: &WriteOpts,
    ) -> Result<Outcome> {
        let user = &opts.user;
        // Authorization is "authenticated = allowed" until RBAC lands; the
        // reviews report exactly that.
        let status = match def.kind {
            "SelfSubjectReview" => {
                json!({ "userInfo": { "username": user.username, "uid": user.uid, "groups": user.groups } })
            }
            "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
                json!({ "allowed": true, "reason": "authenticated users are allowed" })
            }
            "SelfSubjectRulesReview" => json!({
                "resourceRules": [{ "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"] }],
                "nonResourceRules": [{ "verbs": ["*"], "nonResourceURLs": ["*"] }],
                "incomplete": false
            }),
            "TokenReview" => {
                json!({ "authenticated": false, "error": "token review is not available" })
            }
            "Binding" => return self.bind(ns, &body, opts).await,
            _ => return Err(ApiError::method_not_allowed(def)),
        };
        if let Some(o) = body.as_object_mut() {
            o.insert("status".into(), status);
        }
        Ok(Outcome {
            object: Arc::new(body),
            warnings: Vec::new(),
        })
    }

    /// Assigns a pod to a node, once.
    async fn bind(&self, ns: Option<&str>, body: &Value, opts: &WriteOpts) -> Result<Outcome> {
        let pods = super::resources::find("", "v1", "pods")
            .ok_or_else(|| ApiError::internal("no pods resource"))?;
        let name = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let node = body
            .pointer("/target/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if node.is_empty() {
            return Err(ApiError::bad_request("binding target name is required"));
        }
        let current = self
            .store
            .get(&key(pods, ns, name))
            .ok_or_else(|| ApiError::not_found(pods, name))?;
        if meta::is_deleting(&current) {
            return Err(ApiError::conflict(
                pods,
                name,
                "pod is being deleted, cannot be assigned to a host",
            ));
        }
        if let Some(assigned) = current
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            return Err(ApiError::conflict(
                pods,
                name,
                &format!("pod {name} is already assigned to node \"{assigned}\""),
            ));
        }
        let mut new = (*current).clone();
        new["spec"]["nodeName"] = json!(node);
        set_scheduled(&mut new);
        if !opts.dry_run {
            self.store
                .write(Op::Update {
                    key: key(pods, ns, name),
                    value: new,
                    expected: Some(revision_of(&current)),
                })
                .await
                .map_err(|e| store_error(pods, name, e))?;
        }
        Ok(Outcome {
            object: Arc::new(
                json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 }),
            ),
            warnings: Vec::new(),
        })
    }
}

/// Marks a bound pod PodScheduled=True, as upstream's binding does.
fn set_scheduled(pod: &mut Value) {
    let Some(pod) = pod.as_object_mut() else {
        return;
    };
    let status = pod.entry("status").or_insert_with(|| json!({}));
    if !status.is_object() {
        *status = json!({});
    }
    let conditions = status
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    let Some(conditions) = conditions else { return };
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let scheduled = json!({
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": null,
        "lastTransitionTime": meta::now(),
    });
    match list.iter_mut().find(|c| c["type"] == "PodScheduled") {
        Some(c) if c["status"] == "True" => {}
        Some(c) => *c = scheduled,
        None => list.push(scheduled),
    }
}
