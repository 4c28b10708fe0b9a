//! Tree-walking interpreter: operators, field selection, indexing,
//! comprehensions and CEL's error-absorbing logical operators, all charged
//! against a cost budget.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::EvalError;
use super::functions;
use super::parser::{BinOp, Comprehension, Expr, Kind, Macro};
use super::value::{Key, ListKind, Value, map_get};

type Result<T> = std::result::Result<T, EvalError>;

pub(super) struct Evaluator<'a> {
    vars: &'a [(&'a str, Value)],
    /// Comprehension variables, innermost last.
    locals: Vec<(&'a str, Value)>,
    cost: u64,
    limit: u64,
    /// Lazily evaluated `variables.<name>` (admission policy variables).
    lazy: &'a [(&'a str, &'a Expr)],
    /// Results of `lazy`, by position; `Some(None)` while one is being evaluated.
    memo: Vec<Option<Option<Result<Value>>>>,
}

/// The variable through which lazily evaluated variables are reached.
pub(super) const LAZY_ROOT: &str = "variables";

pub(super) fn no_overload(func: &str, args: &[&Value]) -> EvalError {
    let types: Vec<&str> = args.iter().map(|a| a.type_name()).collect();
    EvalError::new(format!("no such overload: {func}({})", types.join(", ")))
}

fn int_overflow() -> EvalError {
    EvalError::new("integer overflow")
}

fn uint_overflow() -> EvalError {
    EvalError::new("unsigned integer overflow")
}

impl<'a> Evaluator<'a> {
    pub(super) fn new(vars: &'a [(&'a str, Value)], limit: u64) -> Self {
        Evaluator {
            vars,
            locals: Vec::new(),
            cost: 0,
            limit,
            lazy: &[],
            memo: Vec::new(),
        }
    }

    /// Makes `variables.<name>` evaluate the named expression on first use
    /// (sharing this evaluation's bindings and budget) and reuse the result.
    pub(super) fn with_lazy(mut self, lazy: &'a [(&'a str, &'a Expr)]) -> Self {
        self.lazy = lazy;
        self.memo = vec![None; lazy.len()];
        self
    }

    fn lazy_variable(&mut self, field: &str, test: bool) -> Option<Result<Value>> {
        let Some(i) = self.lazy.iter().position(|(n, _)| *n == field) else {
            return Some(if test {
                Ok(Value::Bool(false))
            } else {
                Err(EvalError::new(format!("no such key: {field}")))
            });
        };
        if test {
            return Some(Ok(Value::Bool(true)));
        }
        match &self.memo[i] {
            Some(Some(r)) => return Some(r.clone()),
            Some(None) => {
                return Some(Err(EvalError::new(format!(
                    "variable {field} refers to itself"
                ))));
            }
            None => {}
        }
        self.memo[i] = Some(None);
        // The variable's expression sees the bindings, not comprehension locals.
        let locals = std::mem::take(&mut self.locals);
        let r = self.eval(self.lazy[i].1);
        self.locals = locals;
        if r.as_ref().is_err_and(is_cancelled) {
            return Some(r);
        }
        self.memo[i] = Some(Some(r.clone()));
        Some(r)
    }

    /// The cost spent so far.
    pub(super) fn cost(&self) -> u64 {
        self.cost
    }

    /// Charges `n` units against the budget.
    pub(super) fn charge(&mut self, n: u64) -> Result<()> {
        self.cost = self.cost.saturating_add(n);
        if self.cost > self.limit {
            return Err(EvalError::new(
                "operation cancelled: actual cost limit exceeded",
            ));
        }
        Ok(())
    }

    pub(super) fn eval(&mut self, e: &'a Expr) -> Result<Value> {
        self.charge(1)?;
        match &e.kind {
            Kind::Lit(v) => Ok(v.clone()),
            Kind::Ident(name) => self.lookup(name),
            Kind::Select {
                target,
                field,
                test,
                optional,
            } => {
                if !self.lazy.is_empty()
                    && matches!(&target.kind, Kind::Ident(n) if n == LAZY_ROOT)
                    && !self.locals.iter().any(|(n, _)| *n == LAZY_ROOT)
                    && let Some(r) = self.lazy_variable(field, *test)
                {
                    let declared = self.lazy.iter().any(|(n, _)| n == field);
                    return match (r, *optional) {
                        (Ok(v), true) => Ok(Value::Optional(Some(Box::new(v)))),
                        (Err(_), true) if !declared => Ok(Value::Optional(None)),
                        (r, _) => r,
                    };
                }
                let t = self.eval(target)?;
                self.select(t, field, *test, *optional)
            }
            Kind::Index {
                target,
                index,
                optional,
            } => {
                let t = self.eval(target)?;
                let i = self.eval(index)?;
                index_value(t, &i, *optional)
            }
            Kind::Call { target, name, args } => {
                let recv = match target.as_deref() {
                    Some(Expr {
                        kind: Kind::Ident(ns),
                        ..
                    }) if self.is_namespace(ns, name) => {
                        return self.call_namespaced(ns, name, args);
                    }
                    Some(t) => Some(self.eval(t)?),
                    None => None,
                };
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                functions::call(self, name, recv, vals)
            }
            Kind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i)?);
                }
                Ok(Value::from(out))
            }
            Kind::Map(entries) => {
                let mut m = BTreeMap::new();
                for (k, v) in entries {
                    let kv = self.eval(k)?;
                    let key = Key::from_value(&kv).ok_or_else(|| {
                        EvalError::new(format!("unsupported key type: {}", kv.type_name()))
                    })?;
                    let vv = self.eval(v)?;
                    if m.insert(key, vv).is_some() {
                        return Err(EvalError::new(format!("Failed with repeated key: {kv}")));
                    }
                }
                Ok(Value::Map(Arc::new(m)))
            }
            Kind::Not(x) => match self.eval(x)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                v => Err(no_overload("!_", &[&v])),
            },
            Kind::Neg(x) => match self.eval(x)? {
                Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(int_overflow),
                Value::Double(d) => Ok(Value::Double(-d)),
                Value::Duration(d) => d.neg().map(Value::Duration),
                v => Err(no_overload("-_", &[&v])),
            },
            Kind::And(a, b) => self.logic(a, b, false),
            Kind::Or(a, b) => self.logic(a, b, true),
            Kind::Cond(c, a, b) => match self.eval(c)? {
                Value::Bool(true) => self.eval(a),
                Value::Bool(false) => self.eval(b),
                v => Err(no_overload("_?_:_", &[&v])),
            },
            Kind::Binary(op, a, b) => {
                let l = self.eval(a)?;
                let r = self.eval(b)?;
                self.binary(*op, &l, &r)
            }
            Kind::Comprehension(c) => self.comprehension(c),
        }
    }

    fn lookup(&mut self, name: &str) -> Result<Value> {
        if name == LAZY_ROOT
            && !self.lazy.is_empty()
            && !self.locals.iter().any(|(n, _)| *n == name)
        {
            // `variables` used as a whole: evaluate every variable.
            let mut entries = Vec::with_capacity(self.lazy.len());
            for (n, _) in self.lazy {
                let v = self.lazy_variable(n, false).expect("declared variable")?;
                entries.push((n.to_string(), v));
            }
            return Ok(Value::object(entries));
        }
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| *n == name) {
            return Ok(v.clone());
        }
        if let Some((_, v)) = self.vars.iter().find(|(n, _)| *n == name) {
            return Ok(v.clone());
        }
        if let Some(t) = functions::TYPE_NAMES.iter().find(|t| **t == name) {
            return Ok(Value::Type(functions::type_value_name(t)));
        }
        Err(EvalError::new(format!("no such attribute(s): {name}")))
    }

    fn is_namespace(&self, ns: &str, name: &str) -> bool {
        !self.locals.iter().any(|(n, _)| *n == ns)
            && !self.vars.iter().any(|(n, _)| *n == ns)
            && functions::NAMESPACED_FUNCTIONS.contains(&(ns, name))
    }

    fn call_namespaced(&mut self, ns: &str, name: &str, args: &'a [Expr]) -> Result<Value> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        functions::call_namespaced(self, ns, name, vals)
    }

    fn select(&mut self, t: Value, field: &str, test: bool, optional: bool) -> Result<Value> {
        match t {
            Value::Map(m) => {
                let v = m.get(&Key::String(Arc::from(field))).or_else(|| {
                    unescape_property(field).and_then(|u| m.get(&Key::String(Arc::from(u))))
                });
                if test {
                    return Ok(Value::Bool(v.is_some()));
                }
                match (v, optional) {
                    (Some(v), false) => Ok(v.clone()),
                    (Some(v), true) => Ok(Value::Optional(Some(Box::new(v.clone())))),
                    (None, true) => Ok(Value::Optional(None)),
                    (None, false) => Err(EvalError::new(format!("no such key: {field}"))),
                }
            }
            // Selection continues through an optional: absent stays absent.
            Value::Optional(None) if !test => Ok(Value::Optional(None)),
            Value::Optional(Some(inner)) if !test => {
                match self.select(*inner, field, false, true)? {
                    v @ Value::Optional(_) => Ok(v),
                    v => Ok(Value::Optional(Some(Box::new(v)))),
                }
            }
            other => Err(EvalError::new(format!(
                "type '{}' does not support field selection",
                other.type_name()
            ))),
        }
    }

    /// `&&` and `||`: either operand decides the result if it is the
    /// absorbing value (`false` for `&&`, `true` for `||`), even if the other
    /// one is an error; otherwise the first error wins.
    fn logic(&mut self, a: &'a Expr, b: &'a Expr, is_or: bool) -> Result<Value> {
        let op = if is_or { "_||_" } else { "_&&_" };
        let l = self.eval(a);
        if let Ok(Value::Bool(v)) = l
            && v == is_or
        {
            return Ok(Value::Bool(v));
        }
        if let Err(e) = &l
            && is_cancelled(e)
        {
            return l;
        }
        let r = self.eval(b);
        match (l, r) {
            (_, Ok(Value::Bool(v))) if v == is_or => Ok(Value::Bool(v)),
            (Err(e), _) | (_, Err(e)) => Err(e),
            (Ok(Value::Bool(_)), Ok(Value::Bool(v))) => Ok(Value::Bool(v)),
            (Ok(x), Ok(y)) => Err(no_overload(op, &[&x, &y])),
        }
    }

    fn binary(&mut self, op: BinOp, l: &Value, r: &Value) -> Result<Value> {
        use Value as V;
        let ord =
            |o: Option<Ordering>, want: fn(Ordering) -> bool| Value::Bool(o.is_some_and(want));
        match op {
            BinOp::Eq => {
                self.charge(equality_cost(l, r))?;
                Ok(V::Bool(l.equals(r)))
            }
            BinOp::Ne => {
                self.charge(equality_cost(l, r))?;
                Ok(V::Bool(!l.equals(r)))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let o = l.compare(r).map_err(|()| no_overload(op.name(), &[l, r]))?;
                Ok(match op {
                    BinOp::Lt => ord(o, Ordering::is_lt),
                    BinOp::Le => ord(o, Ordering::is_le),
                    BinOp::Gt => ord(o, Ordering::is_gt),
                    _ => ord(o, Ordering::is_ge),
                })
            }
            BinOp::In => match r {
                V::List(items) => {
                    self.charge(items.len() as u64)?;
                    Ok(V::Bool(items.iter().any(|x| x.equals(l))))
                }
                V::Map(m) => Ok(V::Bool(map_get(m, l).is_some())),
                _ => Err(no_overload(op.name(), &[l, r])),
            },
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => self.arith(op, l, r),
        }
    }

    fn arith(&mut self, op: BinOp, l: &Value, r: &Value) -> Result<Value> {
        use Value as V;
        let nope = || no_overload(op.name(), &[l, r]);
        // `op` on two integers of one width: `None` on overflow, an error
        // on a zero divisor.
        macro_rules! checked {
            ($a:expr, $b:expr) => {{
                let (a, b) = ($a, $b);
                match op {
                    BinOp::Add => a.checked_add(b),
                    BinOp::Sub => a.checked_sub(b),
                    BinOp::Mul => a.checked_mul(b),
                    BinOp::Div if b == 0 => return Err(EvalError::new("division by zero")),
                    BinOp::Div => a.checked_div(b),
                    BinOp::Rem if b == 0 => return Err(EvalError::new("modulus by zero")),
                    _ => a.checked_rem(b),
                }
            }};
        }
        match (l, r) {
            (V::Int(a), V::Int(b)) => checked!(*a, *b).map(V::Int).ok_or_else(int_overflow),
            (V::Uint(a), V::Uint(b)) => checked!(*a, *b).map(V::Uint).ok_or_else(uint_overflow),
            (V::Double(a), V::Double(b)) => Ok(V::Double(match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                _ => return Err(nope()),
            })),
            (V::String(a), V::String(b)) if op == BinOp::Add => {
                self.charge(((a.len() + b.len()) / 10) as u64)?;
                Ok(V::from(format!("{a}{b}")))
            }
            (V::Bytes(a), V::Bytes(b)) if op == BinOp::Add => {
                self.charge(((a.len() + b.len()) / 10) as u64)?;
                Ok(V::Bytes(a.iter().chain(b.iter()).copied().collect()))
            }
            (V::List(a), V::List(b)) if op == BinOp::Add => {
                let cost = if a.kind == ListKind::Atomic {
                    (a.len() + b.len()) as u64
                } else {
                    (a.len() as u64).saturating_mul(b.len() as u64)
                };
                self.charge(cost)?;
                Ok(V::List(Arc::new(a.concat(b))))
            }
            (V::Duration(a), V::Duration(b)) => match op {
                BinOp::Add => a.add(*b).map(V::Duration),
                BinOp::Sub => a.sub(*b).map(V::Duration),
                _ => Err(nope()),
            },
            (V::Timestamp(a), V::Duration(b)) => match op {
                BinOp::Add => a.add(*b).map(V::Timestamp),
                BinOp::Sub => a.sub(*b).map(V::Timestamp),
                _ => Err(nope()),
            },
            (V::Duration(a), V::Timestamp(b)) if op == BinOp::Add => b.add(*a).map(V::Timestamp),
            (V::Timestamp(a), V::Timestamp(b)) if op == BinOp::Sub => a.since(*b).map(V::Duration),
            _ => Err(nope()),
        }
    }

    fn comprehension(&mut self, c: &'a Comprehension) -> Result<Value> {
        let range = self.eval(&c.range)?;
        if c.kind == Macro::Bind {
            self.locals.push((c.var.as_str(), range));
            let r = self.eval(&c.body);
            self.locals.pop();
            return r;
        }
        let two = c.var2.is_some();
        // (first variable, second variable) per iteration, produced lazily so
        // that a comprehension left early costs only what it visited.
        let items: Box<dyn Iterator<Item = (Value, Value)> + '_> = match &range {
            Value::List(l) if two => Box::new(
                l.iter()
                    .enumerate()
                    .map(|(i, v)| (Value::Int(i as i64), v.clone())),
            ),
            Value::List(l) => Box::new(l.iter().map(|v| (v.clone(), Value::Null))),
            Value::Map(m) if two => Box::new(m.iter().map(|(k, v)| (k.to_value(), v.clone()))),
            Value::Map(m) => Box::new(m.keys().map(|k| (k.to_value(), Value::Null))),
            other => {
                return Err(EvalError::new(format!(
                    "expression of type '{}' cannot be range of a comprehension (must be list, map, or dynamic)",
                    other.type_name()
                )));
            }
        };
        let mut first_err: Option<EvalError> = None;
        let mut count = 0u64;
        let mut out = Vec::new();
        let mut out_map = BTreeMap::new();
        for (first, second) in items {
            self.charge(1)?;
            self.locals.push((c.var.as_str(), first.clone()));
            if let Some(v2) = &c.var2 {
                self.locals.push((v2.as_str(), second.clone()));
            }
            let r = self.eval(&c.body);
            let step = match c.kind {
                Macro::All | Macro::Exists => {
                    let decisive = c.kind == Macro::Exists;
                    match r {
                        Ok(Value::Bool(b)) if b == decisive => Err(None),
                        Ok(Value::Bool(_)) => Ok(()),
                        Ok(v) => {
                            first_err.get_or_insert(no_overload(
                                if decisive { "_||_" } else { "_&&_" },
                                &[&v],
                            ));
                            Ok(())
                        }
                        Err(e) if is_cancelled(&e) => Err(Some(e)),
                        Err(e) => {
                            first_err.get_or_insert(e);
                            Ok(())
                        }
                    }
                }
                Macro::ExistsOne => match r {
                    Ok(Value::Bool(b)) => {
                        count += u64::from(b);
                        Ok(())
                    }
                    Ok(v) => Err(Some(no_overload("_?_:_", &[&v]))),
                    Err(e) => Err(Some(e)),
                },
                Macro::Filter => match r {
                    Ok(Value::Bool(true)) => {
                        out.push(if two { second } else { first });
                        Ok(())
                    }
                    Ok(Value::Bool(false)) => Ok(()),
                    Ok(v) => Err(Some(no_overload("_?_:_", &[&v]))),
                    Err(e) => Err(Some(e)),
                },
                Macro::Map | Macro::TransformMap => {
                    // With a filter, `body` decides and `transform` produces.
                    let produced = match (&c.transform, r) {
                        (None, Ok(v)) => Ok(Some(v)),
                        (Some(t), Ok(Value::Bool(true))) => self.eval(t).map(Some),
                        (Some(_), Ok(Value::Bool(false))) => Ok(None),
                        (Some(_), Ok(v)) => Err(no_overload("_?_:_", &[&v])),
                        (_, Err(e)) => Err(e),
                    };
                    match produced {
                        Ok(Some(v)) if c.kind == Macro::Map => {
                            out.push(v);
                            Ok(())
                        }
                        Ok(Some(v)) => match Key::from_value(&first) {
                            Some(k) => {
                                out_map.insert(k, v);
                                Ok(())
                            }
                            None => Err(Some(no_overload("transformMap", &[&first]))),
                        },
                        Ok(None) => Ok(()),
                        Err(e) => Err(Some(e)),
                    }
                }
                Macro::Bind => unreachable!("handled above"),
            };
            self.locals
                .truncate(self.locals.len() - 1 - usize::from(two));
            match step {
                Ok(()) => {}
                Err(None) => return Ok(Value::Bool(c.kind == Macro::Exists)),
                Err(Some(e)) => return Err(e),
            }
        }
        match c.kind {
            Macro::All | Macro::Exists => match first_err {
                Some(e) => Err(e),
                None => Ok(Value::Bool(c.kind == Macro::All)),
            },
            Macro::ExistsOne => Ok(Value::Bool(count == 1)),
            Macro::TransformMap => Ok(Value::Map(Arc::new(out_map))),
            _ => Ok(Value::from(out)),
        }
    }
}

fn is_cancelled(e: &EvalError) -> bool {
    e.message.starts_with("operation cancelled")
}

/// Property names that CEL cannot spell are written escaped, as Kubernetes
/// documents: `__dash__` for `-`, `__dot__` for `.`, `__slash__` for `/`,
/// `__underscores__` for `__`, and `__KEYWORD__` for a reserved word.
fn unescape_property(field: &str) -> Option<String> {
    if let Some(inner) = field.strip_prefix("__").and_then(|f| f.strip_suffix("__"))
        && (matches!(inner, "true" | "false" | "null" | "in")
            || super::lexer::RESERVED.contains(&inner))
    {
        return Some(inner.to_string());
    }
    if !field.contains("__") {
        return None;
    }
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while !rest.is_empty() {
        let next = [
            ("__underscores__", "__"),
            ("__dot__", "."),
            ("__dash__", "-"),
            ("__slash__", "/"),
        ]
        .iter()
        .find_map(|(esc, raw)| rest.strip_prefix(esc).map(|r| (r, *raw)));
        match next {
            Some((r, raw)) => {
                out.push_str(raw);
                rest = r;
            }
            None => {
                let c = rest.chars().next().expect("rest is not empty");
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Some(out)
}

/// Comparing containers walks them, so it is charged by size.
fn equality_cost(l: &Value, r: &Value) -> u64 {
    match (l, r) {
        // Sets and map lists compare each element against the other list.
        (Value::List(a), Value::List(b))
            if a.kind != ListKind::Atomic || b.kind != ListKind::Atomic =>
        {
            (a.len() as u64).saturating_mul(b.len() as u64)
        }
        (Value::List(a), Value::List(b)) => a.len().min(b.len()) as u64,
        (Value::Map(a), Value::Map(b)) => a.len().min(b.len()) as u64,
        (Value::String(a), Value::String(b)) => (a.len().min(b.len()) / 10) as u64,
        _ => 0,
    }
}

/// `target[index]` on lists and maps; `optional` is the `[?index]` form.
pub(super) fn index_value(t: Value, i: &Value, optional: bool) -> Result<Value> {
    let wrap = |r: Result<Value>| -> Result<Value> {
        if !optional {
            return r;
        }
        match r {
            Ok(v) => Ok(Value::Optional(Some(Box::new(v)))),
            Err(e) if e.message.starts_with("no such key") || e.message.starts_with("index ") => {
                Ok(Value::Optional(None))
            }
            Err(e) => Err(e),
        }
    };
    match &t {
        Value::List(l) => {
            let idx = match i {
                Value::Int(n) => Some(*n),
                Value::Uint(n) => i64::try_from(*n).ok(),
                Value::Double(d) if d.fract() == 0.0 => Some(*d as i64),
                _ => return Err(no_overload("_[_]", &[&t, i])),
            };
            let got = idx
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| l.get(n));
            wrap(got.cloned().ok_or_else(|| {
                EvalError::new(format!(
                    "index '{}' out of range in list size '{}'",
                    i,
                    l.len()
                ))
            }))
        }
        Value::Map(m) => {
            if Key::from_value(i).is_none() && !matches!(i, Value::Double(_)) {
                return Err(EvalError::new(format!(
                    "unsupported key type: {}",
                    i.type_name()
                )));
            }
            wrap(
                map_get(m, i)
                    .cloned()
                    .ok_or_else(|| EvalError::new(format!("no such key: {i}"))),
            )
        }
        Value::Optional(None) => Ok(Value::Optional(None)),
        Value::Optional(Some(inner)) => match index_value((**inner).clone(), i, true)? {
            v @ Value::Optional(_) => Ok(v),
            v => Ok(Value::Optional(Some(Box::new(v)))),
        },
        _ => Err(no_overload("_[_]", &[&t, i])),
    }
}
