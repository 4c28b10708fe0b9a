//! Name resolution: every identifier must be a declared variable, a
//! comprehension variable in scope or a type name, and every function a known
//! one; collects the declared variables the expression uses.

use std::collections::BTreeSet;

use super::CompileError;
use super::functions::{GLOBAL_FUNCTIONS, MEMBER_FUNCTIONS, NAMESPACED_FUNCTIONS, TYPE_NAMES};
use super::parser::{Expr, Kind};
use super::value::Value;

pub(super) fn check(e: &Expr, vars: &[&str]) -> Result<BTreeSet<String>, CompileError> {
    let mut c = Checker {
        vars,
        locals: Vec::new(),
        used: BTreeSet::new(),
    };
    c.walk(e)?;
    Ok(c.used)
}

struct Checker<'a> {
    vars: &'a [&'a str],
    locals: Vec<String>,
    used: BTreeSet<String>,
}

fn undeclared(pos: usize, name: &str) -> CompileError {
    CompileError::new(
        pos,
        format!("undeclared reference to '{name}' (in container '')"),
    )
}

/// Kubernetes requires list and map literals to be homogeneous: elements
/// whose types are evident from the source (scalar literals) must agree.
fn homogeneous<'e>(items: impl Iterator<Item = &'e Expr>) -> Result<(), CompileError> {
    let mut expected: Option<&'static str> = None;
    for item in items {
        let Kind::Lit(v) = &item.kind else { continue };
        if matches!(v, Value::Null) {
            continue;
        }
        let t = v.type_name();
        match expected {
            None => expected = Some(t),
            Some(e) if e != t => {
                return Err(CompileError::new(
                    item.pos,
                    format!("expected type '{e}' but found '{t}'"),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

impl Checker<'_> {
    fn is_variable(&self, name: &str) -> bool {
        self.locals.iter().any(|l| l == name) || self.vars.contains(&name)
    }

    fn walk(&mut self, e: &Expr) -> Result<(), CompileError> {
        match &e.kind {
            Kind::Lit(_) => Ok(()),
            Kind::Ident(name) => {
                if self.locals.iter().any(|l| l == name) {
                    Ok(())
                } else if self.vars.contains(&name.as_str()) {
                    self.used.insert(name.clone());
                    Ok(())
                } else if TYPE_NAMES.contains(&name.as_str()) {
                    Ok(())
                } else {
                    Err(undeclared(e.pos, name))
                }
            }
            Kind::Select { target, .. } => self.walk(target),
            Kind::Index { target, index, .. } => {
                self.walk(target)?;
                self.walk(index)
            }
            Kind::Call { target, name, args } => {
                match target.as_deref() {
                    Some(Expr {
                        kind: Kind::Ident(ns),
                        ..
                    }) if !self.is_variable(ns)
                        && NAMESPACED_FUNCTIONS.contains(&(ns.as_str(), name.as_str())) => {}
                    Some(t) => {
                        self.walk(t)?;
                        if !MEMBER_FUNCTIONS.contains(&name.as_str()) {
                            return Err(undeclared(e.pos, name));
                        }
                    }
                    None => {
                        if !GLOBAL_FUNCTIONS.contains(&name.as_str()) {
                            return Err(undeclared(e.pos, name));
                        }
                    }
                }
                args.iter().try_for_each(|a| self.walk(a))
            }
            Kind::List(items) => {
                homogeneous(items.iter())?;
                items.iter().try_for_each(|a| self.walk(a))
            }
            Kind::Map(entries) => {
                homogeneous(entries.iter().map(|(k, _)| k))?;
                homogeneous(entries.iter().map(|(_, v)| v))?;
                entries.iter().try_for_each(|(k, v)| {
                    self.walk(k)?;
                    self.walk(v)
                })
            }
            Kind::Not(x) | Kind::Neg(x) => self.walk(x),
            Kind::Binary(_, a, b) | Kind::And(a, b) | Kind::Or(a, b) => {
                self.walk(a)?;
                self.walk(b)
            }
            Kind::Cond(c, a, b) => {
                self.walk(c)?;
                self.walk(a)?;
                self.walk(b)
            }
            Kind::Comprehension(c) => {
                self.walk(&c.range)?;
                let pushed = 1 + usize::from(c.var2.is_some());
                self.locals.push(c.var.clone());
                self.locals.extend(c.var2.clone());
                let r = self
                    .walk(&c.body)
                    .and_then(|()| c.transform.as_ref().map_or(Ok(()), |t| self.walk(t)));
                self.locals.truncate(self.locals.len() - pushed);
                r
            }
        }
    }
}
