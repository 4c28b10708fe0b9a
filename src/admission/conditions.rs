//! `matchConditions`: CEL expressions that must all hold for a webhook
//! to be called, with upstream's treatment of evaluation errors.

use serde_json::Value;

use super::{Attributes, expr};
use crate::registry::ApiError;

/// The variables a webhook's match conditions see.
pub(super) fn variables(attrs: &Attributes<'_>) -> Vec<(&'static str, Value)> {
    vec![
        ("object", attrs.object.cloned().unwrap_or(Value::Null)),
        (
            "oldObject",
            attrs.old_object.cloned().unwrap_or(Value::Null),
        ),
        ("request", attrs.request()),
    ]
}

/// Whether every condition holds. A false condition skips the webhook even
/// when others failed to evaluate; otherwise an evaluation error skips it
/// under `failurePolicy: Ignore` and refuses the request under `Fail`.
pub(super) fn matches(
    conditions: &[Value],
    attrs: &Attributes<'_>,
    fails_open: bool,
) -> Result<bool, ApiError> {
    let vars = variables(attrs);
    let mut errors = Vec::new();
    for condition in conditions {
        let expression = condition
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or("");
        match expr::eval_bool(expression, &vars) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(true),
        _ if fails_open => Ok(false),
        1 => Err(ApiError::forbidden(attrs.def, attrs.name, &errors[0])),
        _ => Err(ApiError::forbidden(
            attrs.def,
            attrs.name,
            &format!("[{}]", errors.join(", ")),
        )),
    }
}
