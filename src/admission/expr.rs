//! The one place admission compiles and evaluates CEL, with upstream's
//! wording of compile and evaluation failures.

use serde_json::Value;

use crate::cel::{self, Program};

/// Variables a webhook's match conditions may use.
pub(super) const CONDITION_VARS: &[&str] = &["object", "oldObject", "request", "authorizer"];

/// Variables a policy's expressions may use (`params` only with a
/// `paramKind`). `authorizer` is declared but never bound: authorization
/// checks from CEL are not available.
pub(super) fn policy_vars(has_params: bool) -> Vec<&'static str> {
    let mut vars = vec![
        "object",
        "oldObject",
        "request",
        "namespaceObject",
        "variables",
        "authorizer",
    ];
    if has_params {
        vars.push("params");
    }
    vars
}

/// Compiles `expression`; the error reads as upstream's
/// (`compilation failed: ERROR: <input>:1:5: ...`).
pub(super) fn compile(expression: &str, vars: &[&str]) -> Result<Program, String> {
    cel::compile(expression, vars).map_err(|e| format!("compilation failed: {e}"))
}

/// The bindings an evaluation runs with.
pub(super) struct Bindings {
    values: Vec<(&'static str, cel::Value)>,
}

impl Bindings {
    pub(super) fn new(vars: &[(&'static str, &Value)]) -> Bindings {
        Bindings {
            values: vars
                .iter()
                .map(|(name, v)| (*name, cel::Value::from_json(v)))
                .collect(),
        }
    }

    /// Binds `variables` to the policy variables evaluated so far.
    pub(super) fn set_variables(&mut self, variables: &[(String, cel::Value)]) {
        self.values.retain(|(n, _)| *n != "variables");
        self.values
            .push(("variables", cel::Value::object(variables.iter().cloned())));
    }

    /// Evaluates; the error is upstream's
    /// `expression '<expr>' resulted in error: <cause>`.
    pub(super) fn eval(&self, program: &Program) -> Result<cel::Value, String> {
        program
            .eval_values(&self.values, cel::COST_LIMIT)
            .map_err(|e| format!("expression '{}' resulted in error: {e}", program.source()))
    }

    pub(super) fn eval_bool(&self, program: &Program) -> Result<bool, String> {
        match self.eval(program)? {
            cel::Value::Bool(b) => Ok(b),
            other => Err(format!(
                "expression '{}' resulted in error: expected bool, got {}",
                program.source(),
                other.type_name()
            )),
        }
    }
}
