//! Common Expression Language (CEL) for validation rules
//! (`x-kubernetes-validations`), ValidatingAdmissionPolicy and webhook
//! match conditions.
//!
//! [`compile`] parses an expression and resolves its identifiers against the
//! variables in scope; [`Program::eval`] runs it over JSON bindings. Values
//! are dynamically typed: there is no schema-driven type checking, so type
//! mismatches surface at evaluation as "no such overload" errors. Evaluation
//! is bounded by a cost budget so large inputs cannot make it run away.

mod check;
mod eval;
mod functions;
mod lexer;
mod net;
mod parser;
mod quantity;
mod strings;
#[cfg(test)]
mod tests;
pub(crate) mod time;
pub(crate) mod typed;
mod url;
mod value;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

pub(crate) use value::Value;

/// The evaluation cost budget of one expression, in the units Kubernetes
/// uses for its per-expression limit (roughly one per node visited, plus
/// the size of strings and lists that functions walk).
pub(crate) const COST_LIMIT: u64 = 1_000_000;

/// A compiled expression; cheap to clone, Send + Sync.
#[derive(Clone, Debug)]
pub(crate) struct Program {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    source: String,
    ast: parser::Expr,
    /// Declared variables the expression references.
    used: BTreeSet<String>,
}

/// Runtime error with a message like cel-go's ("no such key: foo", "division by zero", ...).
#[derive(Debug, Clone)]
pub(crate) struct EvalError {
    pub(crate) message: String,
}

impl EvalError {
    pub(crate) fn new(message: impl Into<String>) -> EvalError {
        EvalError {
            message: message.into(),
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

/// A compile error at a byte offset of the source.
#[derive(Debug)]
pub(super) struct CompileError {
    pos: usize,
    message: String,
}

impl CompileError {
    fn new(pos: usize, message: String) -> CompileError {
        CompileError { pos, message }
    }

    fn syntax(pos: usize, message: String) -> CompileError {
        CompileError {
            pos,
            message: format!("Syntax error: {message}"),
        }
    }

    /// cel-go's one-line form: `ERROR: <input>:LINE:COL: MESSAGE`, with the
    /// column counted in characters from 1.
    fn render(&self, src: &str) -> String {
        let before = &src[..self.pos.min(src.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("ERROR: <input>:{line}:{col}: {}", self.message)
    }
}

/// Parses and checks `expr`; `vars` are the variable names in scope (anything
/// else is "undeclared reference to 'x' (in container '')").
pub(crate) fn compile(expr: &str, vars: &[&str]) -> Result<Program, String> {
    let ast = parser::parse(expr).map_err(|e| e.render(expr))?;
    let used = check::check(&ast, vars).map_err(|e| e.render(expr))?;
    Ok(Program {
        inner: Arc::new(Inner {
            source: expr.to_string(),
            ast,
            used,
        }),
    })
}

impl Program {
    /// Evaluates with variable bindings (JSON values; a missing optional value
    /// like oldSelf on create is simply not bound).
    pub(crate) fn eval(&self, vars: &[(&str, &serde_json::Value)]) -> Result<Value, EvalError> {
        self.eval_with_limit(vars, COST_LIMIT)
    }

    /// Like [`Program::eval`] with an explicit cost budget.
    pub(crate) fn eval_with_limit(
        &self,
        vars: &[(&str, &serde_json::Value)],
        limit: u64,
    ) -> Result<Value, EvalError> {
        let bound: Vec<(&str, Value)> = vars
            .iter()
            .filter(|(name, _)| self.inner.used.contains(*name))
            .map(|(name, v)| (*name, Value::from_json(v)))
            .collect();
        self.eval_values(&bound, limit)
    }

    /// Evaluates with bindings that are already CEL values, for callers that
    /// build them from a schema (date-time strings as timestamps, composited
    /// variables of any type) rather than plain JSON.
    pub(crate) fn eval_values(
        &self,
        vars: &[(&str, Value)],
        limit: u64,
    ) -> Result<Value, EvalError> {
        self.eval_metered(vars, limit).0
    }

    /// Like [`Program::eval_values`], also returning the cost spent, so a
    /// caller can hold several evaluations to one overall budget.
    pub(crate) fn eval_metered(
        &self,
        vars: &[(&str, Value)],
        limit: u64,
    ) -> (Result<Value, EvalError>, u64) {
        let mut ev = eval::Evaluator::new(vars, limit);
        let r = ev.eval(&self.inner.ast);
        (r, ev.cost())
    }

    /// Evaluates with admission-policy `variables`: `variables.<name>` runs
    /// the named program on first use, with the same bindings and budget,
    /// and reuses its result (an unused failing variable does no harm).
    /// Returns the result and the cost spent.
    pub(crate) fn eval_with_variables(
        &self,
        vars: &[(&str, Value)],
        variables: &[(&str, &Program)],
        limit: u64,
    ) -> (Result<Value, EvalError>, u64) {
        let lazy: Vec<(&str, &parser::Expr)> =
            variables.iter().map(|(n, p)| (*n, &p.inner.ast)).collect();
        let mut ev = eval::Evaluator::new(vars, limit).with_lazy(&lazy);
        let r = ev.eval(&self.inner.ast);
        (r, ev.cost())
    }

    /// Evaluates and requires a bool ("expected bool, got ..." otherwise).
    pub(crate) fn eval_bool(&self, vars: &[(&str, &serde_json::Value)]) -> Result<bool, EvalError> {
        match self.eval(vars)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::new(format!(
                "expected bool, got {}",
                other.type_name()
            ))),
        }
    }

    /// Whether the expression mentions variable `name` (e.g. transition rules use oldSelf).
    pub(crate) fn uses(&self, name: &str) -> bool {
        self.inner.used.contains(name)
    }

    /// The source text.
    pub(crate) fn source(&self) -> &str {
        &self.inner.source
    }
}
