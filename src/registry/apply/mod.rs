//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Every write records who changed which fields: creates, updates and
//! patches as an `Update` entry of their field manager, applies as the
//! manager's `Apply` entry. An apply merges the manager's configuration into
//! the live object by the kind's schema (keyed lists item by item, atomic
//! lists and maps whole), removes the fields the manager applied before and
//! no longer does (unless another manager owns them), and refuses with a
//! conflict when it would change a field another manager owns, unless
//! forced. The merged object then takes the same path as every other write.

pub(crate) mod fieldpath;
mod managed;
mod request;
#[cfg(test)]
mod tests;
mod walk;

use serde_json::{Value, json};

use super::error::ApiError;
use super::meta::{self, meta_mut};
use super::resources::{ResourceDef, Subresource};
pub(crate) use managed::Managed;
use managed::Scope;

/// Upstream's limit on a field manager's name.
const MAX_MANAGER_LEN: usize = 128;

/// The field manager of a request: the `fieldManager` parameter, or else
/// the client's User-Agent up to its first `/` (so `kubectl/v1.33.0 ...`
/// manages as `kubectl`), as upstream derives it.
pub(crate) fn manager_for(field_manager: Option<&str>, user_agent: &str) -> String {
    match field_manager.filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => {
            let prefix = user_agent.split('/').next().unwrap_or("");
            prefix.chars().take(MAX_MANAGER_LEN).collect()
        }
    }
}

/// Checks a `fieldManager` parameter as upstream's option validation does.
pub(crate) fn validate_manager(
    options_kind: &str,
    field_manager: Option<&str>,
) -> Result<(), ApiError> {
    let Some(m) = field_manager else {
        return Ok(());
    };
    let detail = if m.len() > MAX_MANAGER_LEN {
        format!("fieldManager: Too long: may not be more than {MAX_MANAGER_LEN} bytes")
    } else if m.chars().any(|c| c.is_control()) {
        format!(
            "fieldManager: Invalid value: {}: must only contain printable characters",
            Value::String(m.to_string())
        )
    } else {
        return Ok(());
    };
    Err(options_invalid(options_kind, &detail))
}

/// 422 for bad request options, as upstream words it:
/// `PatchOptions.meta.k8s.io "" is invalid: <detail>`.
pub(crate) fn options_invalid(options_kind: &str, detail: &str) -> ApiError {
    let (field, rest) = detail.split_once(": ").unwrap_or(("", detail));
    let reason = match rest.split_once(": ").map_or(rest, |(r, _)| r) {
        "Required value" => "FieldValueRequired",
        "Forbidden" => "FieldValueForbidden",
        "Too long" => "FieldValueTooLong",
        _ => "FieldValueInvalid",
    };
    ApiError {
        details: Some(json!({
            "group": "meta.k8s.io",
            "kind": options_kind,
            "causes": [{ "reason": reason, "message": rest, "field": field }],
        })),
        ..ApiError::new(
            422,
            "Invalid",
            format!("{options_kind}.meta.k8s.io \"\" is invalid: {detail}"),
        )
    }
}

fn api_version(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        def.version.to_string()
    } else {
        format!("{}/{}", def.group, def.version)
    }
}

fn sub_name(sub: Option<Subresource>) -> &'static str {
    match sub {
        None => "",
        Some(Subresource::Status) => "status",
        Some(Subresource::Scale) => "scale",
    }
}

fn scope(def: &ResourceDef, sub: Option<Subresource>) -> Scope<'static> {
    let node = crate::schema::root_for(def);
    Scope {
        go_structs: def.custom.is_none() && node.is_some(),
        node,
        api_version: api_version(def),
        subresource: sub_name(sub),
        has_status: def.subresources.contains(&Subresource::Status),
    }
}

/// Records a create (`live` is `None`), update or patch by `manager` in
/// `new`'s `managedFields`. `requested` is the `managedFields` the client
/// sent: honoured when it is valid and not empty, a reset when it is `[]`
/// or `[{}]`, and ignored on subresources, as upstream does.
pub(crate) fn record_write(
    def: &ResourceDef,
    sub: Option<Subresource>,
    live: Option<&Value>,
    requested: Option<&Value>,
    new: &mut Value,
    manager: &str,
) {
    let live_managed = || {
        live.and_then(|l| Managed::decode(l).ok())
            .unwrap_or_default()
    };
    let managed = if sub.is_some() {
        live_managed()
    } else if managed::is_reset(requested) {
        Managed::default()
    } else {
        match requested.map(|r| Managed::decode(&json!({ "metadata": { "managedFields": r } }))) {
            Some(Ok(m)) if !m.0.is_empty() => m,
            _ => live_managed(),
        }
    };
    let empty = Value::Object(Default::default());
    // Upstream names a writer it cannot name otherwise "unknown".
    let manager = if manager.is_empty() {
        "unknown"
    } else {
        manager
    };
    let managed = managed::update(
        &scope(def, sub),
        managed,
        live.unwrap_or(&empty),
        new,
        manager,
        &meta::now(),
    );
    set_managed(new, &managed);
}

/// Writes `managed` into `obj`'s metadata (removing the field when empty).
pub(crate) fn set_managed(obj: &mut Value, managed: &Managed) {
    let m = meta_mut(obj);
    if managed.0.is_empty() {
        m.remove("managedFields");
    } else {
        m.insert("managedFields".into(), managed.encode());
    }
}
