//! Dynamic admission control: mutating and validating webhooks and
//! ValidatingAdmissionPolicies, configured through admissionregistration.k8s.io/v1
//! objects and applied to every write.
//!
//! The registry calls [`mutate`] after a request's object is decoded and
//! defaulted, and [`validate`] after the object passed validation, just
//! before it is stored, as upstream's admission chain runs. Configurations
//! are read from the store at each request: the store keeps every object in
//! memory, so this costs a prefix scan and no cache can go stale.

mod client;
mod conditions;
// Custom resources call it for `conversion.strategy: Webhook` once CRDs are served.
#[allow(dead_code)]
pub(crate) mod conversion;
pub(crate) mod defaults;
mod expr;
mod matching;
mod policy;
pub(crate) mod validation;
mod webhook;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::registry::resources::ResourceDef;
use crate::registry::{ApiError, UserInfo, WriteOpts};

/// What admission reads from the store: configurations, namespaces,
/// Services and their endpoints, policy parameters.
pub(crate) trait Lookup: Send + Sync {
    fn get(&self, key: &str) -> Option<Arc<Value>>;
    /// Objects under a key prefix, in key order.
    fn list(&self, prefix: &str) -> Vec<Arc<Value>>;
}

impl Lookup for crate::store::Store {
    fn get(&self, key: &str) -> Option<Arc<Value>> {
        crate::store::Store::get(self, key)
    }

    fn list(&self, prefix: &str) -> Vec<Arc<Value>> {
        crate::store::Store::list(self, prefix, None, None, 0, &|_| true)
            .map(|p| p.items)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

/// One request as admission sees it.
pub(crate) struct Attributes<'a> {
    pub(crate) def: &'a ResourceDef,
    /// "" for the main resource, else "status" or "scale".
    pub(crate) subresource: &'a str,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) name: &'a str,
    pub(crate) operation: Operation,
    pub(crate) object: Option<&'a Value>,
    pub(crate) old_object: Option<&'a Value>,
    pub(crate) dry_run: bool,
    pub(crate) user: &'a UserInfo,
    /// CreateOptions, UpdateOptions or DeleteOptions of the request.
    pub(crate) options: Value,
}

impl<'a> Attributes<'a> {
    /// Group, version and kind of the object the request carries.
    fn kind(&self) -> (&str, &str, &str) {
        if self.subresource == "scale" {
            ("autoscaling", "v1", "Scale")
        } else {
            (self.def.group, self.def.version, self.def.kind)
        }
    }

    /// A request on `def` (its `subresource`, "" for the main resource)
    /// without objects yet.
    pub(crate) fn new(
        def: &'a ResourceDef,
        subresource: &'a str,
        namespace: Option<&'a str>,
        name: &'a str,
        operation: Operation,
        opts: &'a WriteOpts,
    ) -> Attributes<'a> {
        Attributes {
            def,
            subresource,
            namespace,
            name,
            operation,
            object: None,
            old_object: None,
            dry_run: opts.dry_run,
            user: &opts.user,
            options: Attributes::options_for(operation, opts.dry_run),
        }
    }

    /// The same request with the given new and old objects.
    pub(crate) fn with_objects<'b>(
        &'b self,
        object: Option<&'b Value>,
        old_object: Option<&'b Value>,
    ) -> Attributes<'b> {
        Attributes {
            def: self.def,
            subresource: self.subresource,
            namespace: self.namespace,
            name: self.name,
            operation: self.operation,
            object,
            old_object,
            dry_run: self.dry_run,
            user: self.user,
            options: self.options.clone(),
        }
    }

    /// The `request` CEL expressions see: the AdmissionRequest without its
    /// objects.
    fn request(&self) -> Value {
        let (group, kversion, kind) = self.kind();
        let def = self.def;
        let mut user = json!({ "username": self.user.username });
        if !self.user.uid.is_empty() {
            user["uid"] = json!(self.user.uid);
        }
        if !self.user.groups.is_empty() {
            user["groups"] = json!(self.user.groups);
        }
        let gvk = json!({ "group": group, "version": kversion, "kind": kind });
        let gvr = json!({ "group": def.group, "version": def.version, "resource": def.plural });
        let mut request = json!({
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "operation": self.operation.as_str(),
            "userInfo": user,
            "dryRun": self.dry_run,
            "options": self.options,
        });
        if !self.subresource.is_empty() {
            request["subResource"] = json!(self.subresource);
            request["requestSubResource"] = json!(self.subresource);
        }
        if !self.name.is_empty() {
            request["name"] = json!(self.name);
        }
        if let Some(ns) = self.namespace {
            request["namespace"] = json!(ns);
        }
        request
    }

    /// The options object a request of `operation` carries.
    pub(crate) fn options_for(operation: Operation, dry_run: bool) -> Value {
        let kind = match operation {
            Operation::Create => "CreateOptions",
            Operation::Update => "UpdateOptions",
            Operation::Delete => "DeleteOptions",
        };
        let mut opts = json!({ "kind": kind, "apiVersion": "meta.k8s.io/v1" });
        if dry_run {
            opts["dryRun"] = json!(["All"]);
        }
        opts
    }
}

/// Admission configuration objects are never subject to admission, so a
/// broken webhook cannot lock its own configuration.
fn exempt(def: &ResourceDef) -> bool {
    def.group == "admissionregistration.k8s.io"
}

/// Runs the mutating webhooks over `object` (the request's new object),
/// reinvoking those that ask for it once when a later one changed it.
pub(crate) async fn mutate(
    lookup: &dyn Lookup,
    attrs: &Attributes<'_>,
    object: &mut Value,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    if exempt(attrs.def) {
        return Ok(());
    }
    webhook::mutate(lookup, attrs, object, warnings)
        .await
        .map_err(|e| with_warnings(e, warnings))
}

/// A refusal carries the warnings gathered so far, as upstream's response
/// does.
fn with_warnings(mut e: ApiError, warnings: &[String]) -> ApiError {
    e.warnings = warnings.to_vec();
    e
}

/// Runs the validating admission policies and webhooks; an error refuses
/// the request.
pub(crate) async fn validate(
    lookup: &dyn Lookup,
    attrs: &Attributes<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    if exempt(attrs.def) {
        return Ok(());
    }
    // Upstream's plugin order: policies, then webhooks.
    policy::validate(lookup, attrs, warnings).map_err(|e| with_warnings(e, warnings))?;
    webhook::validate(lookup, attrs, warnings)
        .await
        .map_err(|e| with_warnings(e, warnings))
}

/// Configuration objects of one kind, sorted by name as upstream orders them.
fn configurations(lookup: &dyn Lookup, plural: &str) -> Vec<Arc<Value>> {
    let mut items = lookup.list(&format!("admissionregistration.k8s.io/{plural}/"));
    items.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    items
}

/// The items of the array `obj[key]`; none where it is absent or not an
/// array.
fn items<'a>(obj: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    obj.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The `Status` reasons upstream defines, so a reason a webhook returns
/// can be passed on as given.
const STATUS_REASONS: &[&str] = &[
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "AlreadyExists",
    "Conflict",
    "Gone",
    "Invalid",
    "ServerTimeout",
    "StoreReadError",
    "Timeout",
    "TooManyRequests",
    "BadRequest",
    "MethodNotAllowed",
    "NotAcceptable",
    "RequestEntityTooLarge",
    "UnsupportedMediaType",
    "InternalError",
    "Expired",
    "ServiceUnavailable",
];

/// `reason` as a static string: upstream's reasons directly, others
/// interned once each.
fn status_reason(reason: &str) -> &'static str {
    if reason.is_empty() {
        return "";
    }
    if let Some(r) = STATUS_REASONS.iter().find(|r| **r == reason) {
        return r;
    }
    static OTHERS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut others = OTHERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = others.iter().find(|r| **r == reason) {
        return r;
    }
    let r = crate::registry::resources::leak(reason);
    others.push(r);
    r
}
