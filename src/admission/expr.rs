//! The one place admission compiles and evaluates CEL, with upstream's
//! wording of compile and evaluation failures.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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

/// Compiled expressions by source and declared variables: policies and
/// conditions are read from the store at every request, their programs
/// need not be rebuilt each time.
type Cache = HashMap<(String, Vec<&'static str>), Result<Program, String>>;

/// Entries past which the cache starts over (configurations changed a lot).
const CACHE_LIMIT: usize = 4096;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Compiles `expression`; the error reads as upstream's
/// (`compilation failed: ERROR: <input>:1:5: ...`).
pub(super) fn compile(expression: &str, vars: &[&'static str]) -> Result<Program, String> {
    let key = (expression.to_string(), vars.to_vec());
    if let Some(hit) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return hit.clone();
    }
    let compiled = cel::compile(expression, vars).map_err(|e| format!("compilation failed: {e}"));
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, compiled.clone());
    compiled
}

/// The bindings an evaluation runs with, and a policy's variables, which
/// are evaluated on first use (an unused failing variable does no harm).
pub(super) struct Bindings {
    values: Vec<(&'static str, cel::Value)>,
    variables: Vec<(String, Program)>,
}

impl Bindings {
    pub(super) fn new(vars: &[(&'static str, &Value)]) -> Bindings {
        Bindings {
            values: vars
                .iter()
                .map(|(name, v)| (*name, cel::Value::from_json(v)))
                .collect(),
            variables: Vec::new(),
        }
    }

    /// Declares `variables.<name>`, each able to use the ones before it.
    pub(super) fn set_variables(&mut self, variables: Vec<(String, Program)>) {
        self.variables = variables;
    }

    /// Evaluates; the error is upstream's
    /// `expression '<expr>' resulted in error: <cause>`.
    pub(super) fn eval(&self, program: &Program) -> Result<cel::Value, String> {
        let variables: Vec<(&str, &Program)> = self
            .variables
            .iter()
            .map(|(n, p)| (n.as_str(), p))
            .collect();
        program
            .eval_with_variables(&self.values, &variables, cel::COST_LIMIT)
            .0
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
