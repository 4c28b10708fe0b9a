//! `matchConditions`: CEL expressions that must all hold for a webhook or
//! policy to apply, with upstream's treatment of evaluation errors.

use serde_json::Value;

use super::{Attributes, expr};
use crate::registry::ApiError;

/// Whether every condition of a webhook holds. An error under
/// `failurePolicy: Fail` refuses the request as Forbidden.
pub(super) fn matches(
    conditions: &[Value],
    attrs: &Attributes<'_>,
    fails_open: bool,
) -> Result<bool, ApiError> {
    let request = attrs.request();
    let bindings = expr::Bindings::new(&[
        ("object", attrs.object.unwrap_or(&Value::Null)),
        ("oldObject", attrs.old_object.unwrap_or(&Value::Null)),
        ("request", &request),
    ]);
    evaluate(conditions, expr::CONDITION_VARS, &bindings, fails_open)
        .map_err(|e| ApiError::forbidden(attrs.def, attrs.name, &e))
}

/// Evaluates `conditions`. A false condition means no match even when
/// others failed to evaluate; otherwise evaluation errors mean no match
/// when failing open, and are returned (aggregated as Go does) when not.
pub(super) fn evaluate(
    conditions: &[Value],
    vars: &[&'static str],
    bindings: &expr::Bindings,
    fails_open: bool,
) -> Result<bool, String> {
    let mut errors = Vec::new();
    for condition in conditions {
        let expression = condition
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or("");
        let result = expr::compile(expression, vars).and_then(|p| bindings.eval_bool(&p));
        match result {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(true),
        _ if fails_open => Ok(false),
        1 => Err(errors.remove(0)),
        _ => Err(format!("[{}]", errors.join(", "))),
    }
}
