//! Errors a client sees: each becomes a Kubernetes `Status` with the
//! upstream reason and code.

use serde_json::{Value, json};

use super::resources::ResourceDef;
use super::validation::{self, FieldError};

#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Value>,
    /// `Warning` headers the response carries with the error (admission
    /// warnings gathered before a refusal).
    pub(crate) warnings: Vec<String>,
}

pub(crate) type Result<T, E = ApiError> = std::result::Result<T, E>;

/// `pods` for the core group, `deployments.apps` otherwise, as upstream
/// names resources in messages.
pub(crate) fn qualified(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        def.plural.to_string()
    } else {
        format!("{}.{}", def.plural, def.group)
    }
}

fn details(def: &ResourceDef, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": def.plural });
    if !def.group.is_empty() {
        d["group"] = json!(def.group);
    }
    d
}

/// How Invalid messages name the kind: custom kinds always with their
/// group (`CronTab.stable.example.com`), built-in ones as the validation
/// module qualifies them.
fn kind_in_messages(def: &ResourceDef) -> String {
    if def.custom.is_some() {
        validation::qualified_kind(def)
    } else {
        def.kind.to_string()
    }
}

impl ApiError {
    pub(crate) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            warnings: Vec::new(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub(crate) fn not_found(def: &ResourceDef, name: &str) -> ApiError {
        ApiError {
            details: Some(details(def, name)),
            ..ApiError::new(
                404,
                "NotFound",
                format!("{} \"{}\" not found", qualified(def), name),
            )
        }
    }

    pub(crate) fn already_exists(def: &ResourceDef, name: &str) -> ApiError {
        ApiError {
            details: Some(details(def, name)),
            ..ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{}\" already exists", qualified(def), name),
            )
        }
    }

    pub(crate) fn conflict(def: &ResourceDef, name: &str, why: &str) -> ApiError {
        ApiError {
            details: Some(details(def, name)),
            ..ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{}\": {}",
                    qualified(def),
                    name,
                    why
                ),
            )
        }
    }

    pub(crate) fn stale(def: &ResourceDef, name: &str) -> ApiError {
        ApiError::conflict(
            def,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub(crate) fn forbidden(def: &ResourceDef, name: &str, why: &str) -> ApiError {
        ApiError {
            details: Some(details(def, name)),
            ..ApiError::new(
                403,
                "Forbidden",
                format!("{} \"{}\" is forbidden: {}", qualified(def), name, why),
            )
        }
    }

    pub(crate) fn invalid(def: &ResourceDef, name: &str, errs: &[FieldError]) -> ApiError {
        let causes: Vec<Value> = errs
            .iter()
            .map(|e| json!({ "reason": e.reason(), "message": e.message(), "field": e.field }))
            .collect();
        let mut d = json!({ "name": name, "kind": def.kind, "causes": causes });
        if !def.group.is_empty() {
            d["group"] = json!(def.group);
        }
        ApiError {
            details: Some(d),
            ..ApiError::new(
                422,
                "Invalid",
                validation::invalid_message(&kind_in_messages(def), name, errs),
            )
        }
    }

    pub(crate) fn method_not_allowed(def: &ResourceDef) -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!(
                "the server does not allow this method on the requested resource ({})",
                qualified(def)
            ),
        )
    }

    pub(crate) fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    pub(crate) fn unsupported_media_type(ct: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {ct})"
            ),
        )
    }

    /// A lost optimistic-concurrency race (409 Conflict).
    pub(crate) fn is_conflict(&self) -> bool {
        self.code == 409 && self.reason == "Conflict"
    }

    pub(crate) fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        // Like Go's omitempty: a webhook's Status may come without a reason.
        if self.reason.is_empty()
            && let Some(o) = s.as_object_mut()
        {
            o.remove("reason");
        }
        s
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}
