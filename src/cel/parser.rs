//! Recursive-descent parser producing the expression tree, with the standard
//! macros (`has`, `all`, `exists`, `exists_one`, `map`, `filter`) expanded
//! into dedicated nodes.

use super::CompileError;
use super::lexer::{Tok, Token, tokenize};
use super::value::Value;

/// Nesting (parentheses, operator chains, member chains) deeper than this is
/// rejected: parser, checker and evaluator all recurse over the tree, and
/// request threads have small stacks.
const MAX_DEPTH: usize = 100;

const PRIMARY_EXPECTED: &str = "{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}";

/// An expression node with the byte offset it starts at (for messages).
#[derive(Debug, Clone)]
pub(super) struct Expr {
    pub(super) pos: usize,
    pub(super) kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl BinOp {
    /// The operator's overload name as checker messages spell it.
    pub(super) fn name(self) -> &'static str {
        match self {
            BinOp::Add => "_+_",
            BinOp::Sub => "_-_",
            BinOp::Mul => "_*_",
            BinOp::Div => "_/_",
            BinOp::Rem => "_%_",
            BinOp::Eq => "_==_",
            BinOp::Ne => "_!=_",
            BinOp::Lt => "_<_",
            BinOp::Le => "_<=_",
            BinOp::Gt => "_>_",
            BinOp::Ge => "_>=_",
            BinOp::In => "@in",
        }
    }
}

/// The comprehension macros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Macro {
    All,
    Exists,
    ExistsOne,
    /// `map` and `transformList`: a list of transformed (optionally filtered) elements.
    Map,
    Filter,
    /// `transformMap`: a map from each key to its transformed value.
    TransformMap,
    /// `cel.bind(var, init, body)`: `var` names the value of `init` in `body`.
    Bind,
}

#[derive(Debug, Clone)]
pub(super) struct Comprehension {
    pub(super) kind: Macro,
    pub(super) var: String,
    /// The second variable of two-variable forms (`all(i, v, ...)`): the
    /// first then names the index or key, the second the element or value.
    pub(super) var2: Option<String>,
    /// The iterated list or map (the bound value for `cel.bind`).
    pub(super) range: Expr,
    /// The predicate (`all`, `exists`, `exists_one`, `filter`, filtered
    /// transforms) or the transform of unfiltered `map`/`transform*`.
    pub(super) body: Expr,
    /// The transform of the filtered forms.
    pub(super) transform: Option<Expr>,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Lit(Value),
    Ident(String),
    /// `target.field`; `test` marks `has(target.field)`, `optional` marks `.?field`.
    Select {
        target: Box<Expr>,
        field: String,
        test: bool,
        optional: bool,
    },
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
        optional: bool,
    },
    Call {
        target: Option<Box<Expr>>,
        name: String,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Comprehension(Box<Comprehension>),
}

/// Parses a whole expression.
pub(super) fn parse(src: &str) -> Result<Expr, CompileError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.peek() != &Tok::Eof {
        let t = p.cur();
        return Err(CompileError::syntax(
            t.start,
            format!("extraneous input '{}' expecting <EOF>", p.text(&t)),
        ));
    }
    Ok(e)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }

    fn cur(&self) -> Token {
        self.toks[self.i].clone()
    }

    fn text(&self, t: &Token) -> String {
        t.tok.describe(&self.src[t.start..t.end])
    }

    fn bump(&mut self) -> Token {
        let t = self.cur();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<Token, CompileError> {
        if self.is(p) {
            return Ok(self.bump());
        }
        let t = self.cur();
        Err(CompileError::syntax(
            t.start,
            format!("mismatched input '{}' expecting '{p}'", self.text(&t)),
        ))
    }

    fn enter(&mut self, pos: usize) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::syntax(
                pos,
                format!("expression recursion limit exceeded: {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, CompileError> {
        let pos = self.cur().start;
        self.enter(pos)?;
        let cond = self.or()?;
        let out = if self.is("?") {
            let q = self.bump();
            let a = self.or()?;
            self.expect(":")?;
            let b = self.expr()?;
            Expr {
                pos: q.start,
                kind: Kind::Cond(bx(cond), bx(a), bx(b)),
            }
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    fn or(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.and()?;
        let depth = self.depth;
        while self.is("||") {
            let op = self.bump();
            self.enter(op.start)?;
            let r = self.and()?;
            l = Expr {
                pos: op.start,
                kind: Kind::Or(bx(l), bx(r)),
            };
        }
        self.depth = depth;
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.relation()?;
        let depth = self.depth;
        while self.is("&&") {
            let op = self.bump();
            self.enter(op.start)?;
            let r = self.relation()?;
            l = Expr {
                pos: op.start,
                kind: Kind::And(bx(l), bx(r)),
            };
        }
        self.depth = depth;
        Ok(l)
    }

    fn relation(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.addition()?;
        let depth = self.depth;
        loop {
            let op = match self.peek() {
                Tok::In => BinOp::In,
                Tok::Punct("==") => BinOp::Eq,
                Tok::Punct("!=") => BinOp::Ne,
                Tok::Punct("<") => BinOp::Lt,
                Tok::Punct("<=") => BinOp::Le,
                Tok::Punct(">") => BinOp::Gt,
                Tok::Punct(">=") => BinOp::Ge,
                _ => {
                    self.depth = depth;
                    return Ok(l);
                }
            };
            let t = self.bump();
            self.enter(t.start)?;
            let r = self.addition()?;
            l = Expr {
                pos: t.start,
                kind: Kind::Binary(op, bx(l), bx(r)),
            };
        }
    }

    fn addition(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.multiplication()?;
        let depth = self.depth;
        loop {
            let op = match self.peek() {
                Tok::Punct("+") => BinOp::Add,
                Tok::Punct("-") => BinOp::Sub,
                _ => {
                    self.depth = depth;
                    return Ok(l);
                }
            };
            let t = self.bump();
            self.enter(t.start)?;
            let r = self.multiplication()?;
            l = Expr {
                pos: t.start,
                kind: Kind::Binary(op, bx(l), bx(r)),
            };
        }
    }

    fn multiplication(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.unary()?;
        let depth = self.depth;
        loop {
            let op = match self.peek() {
                Tok::Punct("*") => BinOp::Mul,
                Tok::Punct("/") => BinOp::Div,
                Tok::Punct("%") => BinOp::Rem,
                _ => {
                    self.depth = depth;
                    return Ok(l);
                }
            };
            let t = self.bump();
            self.enter(t.start)?;
            let r = self.unary()?;
            l = Expr {
                pos: t.start,
                kind: Kind::Binary(op, bx(l), bx(r)),
            };
        }
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        let t = self.cur();
        self.enter(t.start)?;
        let out = if self.eat("!") {
            let e = self.unary()?;
            Expr {
                pos: t.start,
                kind: Kind::Not(bx(e)),
            }
        } else if self.eat("-") {
            // A minus directly before a numeric literal folds into it, which is
            // how the most negative int64 can be written.
            match self.peek().clone() {
                Tok::Int(v) if !self.next_is_member() => {
                    self.bump();
                    let n = if v == 1u64 << 63 {
                        i64::MIN
                    } else {
                        -i64::try_from(v).map_err(|_| {
                            CompileError::syntax(t.start, "invalid int literal".into())
                        })?
                    };
                    self.member(Expr {
                        pos: t.start,
                        kind: Kind::Lit(Value::Int(n)),
                    })?
                }
                Tok::Double(v) if !self.next_is_member() => {
                    self.bump();
                    self.member(Expr {
                        pos: t.start,
                        kind: Kind::Lit(Value::Double(-v)),
                    })?
                }
                _ => {
                    let e = self.unary()?;
                    Expr {
                        pos: t.start,
                        kind: Kind::Neg(bx(e)),
                    }
                }
            }
        } else {
            let p = self.primary()?;
            self.member(p)?
        };
        self.depth -= 1;
        Ok(out)
    }

    /// Whether the token after the current one starts a member access, in
    /// which case `-1.foo()` means `-(1.foo())`.
    fn next_is_member(&self) -> bool {
        matches!(
            self.toks.get(self.i + 1).map(|t| &t.tok),
            Some(Tok::Punct(".") | Tok::Punct("[") | Tok::Punct(".?") | Tok::Punct("[?"))
        )
    }

    fn member(&mut self, mut e: Expr) -> Result<Expr, CompileError> {
        let depth = self.depth;
        loop {
            if self.is(".") || self.is(".?") {
                let dot = self.bump();
                self.enter(dot.start)?;
                let optional = matches!(dot.tok, Tok::Punct(".?"));
                let id = self.cur();
                let Tok::Ident(name) = id.tok.clone() else {
                    return Err(CompileError::syntax(
                        id.start,
                        format!("mismatched input '{}' expecting IDENTIFIER", self.text(&id)),
                    ));
                };
                self.bump();
                if self.is("(") && !optional {
                    self.bump();
                    let args = self.args(")")?;
                    e = self.call(Some(e), name, args, id.start)?;
                } else {
                    e = Expr {
                        pos: dot.start,
                        kind: Kind::Select {
                            target: bx(e),
                            field: name,
                            test: false,
                            optional,
                        },
                    };
                }
            } else if self.is("[") || self.is("[?") {
                let open = self.bump();
                self.enter(open.start)?;
                let optional = matches!(open.tok, Tok::Punct("[?"));
                let idx = self.expr()?;
                self.expect("]")?;
                e = Expr {
                    pos: open.start,
                    kind: Kind::Index {
                        target: bx(e),
                        index: bx(idx),
                        optional,
                    },
                };
            } else {
                self.depth = depth;
                return Ok(e);
            }
        }
    }

    fn args(&mut self, close: &str) -> Result<Vec<Expr>, CompileError> {
        let mut out = Vec::new();
        if self.eat(close) {
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            if self.eat(",") {
                if self.eat(close) {
                    return Ok(out);
                }
                continue;
            }
            self.expect(close)?;
            return Ok(out);
        }
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        let t = self.bump();
        let lit = |v| {
            Ok(Expr {
                pos: t.start,
                kind: Kind::Lit(v),
            })
        };
        match t.tok.clone() {
            Tok::Int(v) => match i64::try_from(v) {
                Ok(v) => lit(Value::Int(v)),
                Err(_) => Err(CompileError::syntax(t.start, "invalid int literal".into())),
            },
            Tok::Uint(v) => lit(Value::Uint(v)),
            Tok::Double(v) => lit(Value::Double(v)),
            Tok::Str(s) => lit(Value::from(s.as_str())),
            Tok::Bytes(b) => lit(Value::Bytes(b.into())),
            Tok::True => lit(Value::Bool(true)),
            Tok::False => lit(Value::Bool(false)),
            Tok::Null => lit(Value::Null),
            Tok::Ident(name) => {
                if self.eat("(") {
                    let args = self.args(")")?;
                    return self.call(None, name, args, t.start);
                }
                Ok(Expr {
                    pos: t.start,
                    kind: Kind::Ident(name),
                })
            }
            Tok::Punct(".") => {
                // A leading dot names the root scope: `.x` is the same as `x` here.
                let id = self.bump();
                match id.tok {
                    Tok::Ident(name) => {
                        if self.eat("(") {
                            let args = self.args(")")?;
                            return self.call(None, name, args, id.start);
                        }
                        Ok(Expr {
                            pos: id.start,
                            kind: Kind::Ident(name),
                        })
                    }
                    _ => Err(CompileError::syntax(
                        id.start,
                        format!("mismatched input '{}' expecting IDENTIFIER", self.text(&id)),
                    )),
                }
            }
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("[") => {
                let items = self.args("]")?;
                Ok(Expr {
                    pos: t.start,
                    kind: Kind::List(items),
                })
            }
            Tok::Punct("{") => {
                let mut entries = Vec::new();
                if !self.eat("}") {
                    loop {
                        let k = self.expr()?;
                        self.expect(":")?;
                        let v = self.expr()?;
                        entries.push((k, v));
                        if self.eat(",") {
                            if self.eat("}") {
                                break;
                            }
                            continue;
                        }
                        self.expect("}")?;
                        break;
                    }
                }
                Ok(Expr {
                    pos: t.start,
                    kind: Kind::Map(entries),
                })
            }
            _ => Err(CompileError::syntax(
                t.start,
                format!(
                    "mismatched input '{}' expecting {PRIMARY_EXPECTED}",
                    self.text(&t)
                ),
            )),
        }
    }

    /// Builds a call node, expanding macros.
    fn call(
        &mut self,
        target: Option<Expr>,
        name: String,
        mut args: Vec<Expr>,
        pos: usize,
    ) -> Result<Expr, CompileError> {
        if target.is_none() && name == "has" && args.len() == 1 {
            let arg = args.remove(0);
            return match arg.kind {
                Kind::Select {
                    target,
                    field,
                    optional: false,
                    ..
                } => Ok(Expr {
                    pos,
                    kind: Kind::Select {
                        target,
                        field,
                        test: true,
                        optional: false,
                    },
                }),
                _ => Err(CompileError::new(
                    arg.pos,
                    "invalid argument to has() macro".into(),
                )),
            };
        }
        let is_cel_ns = matches!(&target, Some(Expr { kind: Kind::Ident(ns), .. }) if ns == "cel");
        // (macro, number of variables) by name and argument count.
        let kind = match (name.as_str(), args.len()) {
            ("bind", 3) if is_cel_ns => Some((Macro::Bind, 1)),
            ("all", 2) => Some((Macro::All, 1)),
            ("all", 3) => Some((Macro::All, 2)),
            ("exists", 2) => Some((Macro::Exists, 1)),
            ("exists", 3) => Some((Macro::Exists, 2)),
            ("exists_one" | "existsOne", 2) => Some((Macro::ExistsOne, 1)),
            ("exists_one" | "existsOne", 3) => Some((Macro::ExistsOne, 2)),
            ("map", 2 | 3) => Some((Macro::Map, 1)),
            ("filter", 2) => Some((Macro::Filter, 1)),
            ("transformList", 3 | 4) => Some((Macro::Map, 2)),
            ("transformMap", 3 | 4) => Some((Macro::TransformMap, 2)),
            _ => None,
        };
        if let (Some((kind, nvars)), Some(target)) = (kind, target.clone()) {
            let name_of = |e: &Expr| match &e.kind {
                Kind::Ident(v) => Ok(v.clone()),
                _ => Err(CompileError::new(
                    e.pos,
                    "argument must be a simple name".into(),
                )),
            };
            let var = name_of(&args[0])?;
            let var2 = if nvars == 2 {
                Some(name_of(&args[1])?)
            } else {
                None
            };
            let mut rest = args.into_iter().skip(nvars);
            let range = if kind == Macro::Bind {
                rest.next().expect("macro arity checked")
            } else {
                target
            };
            let body = rest.next().expect("macro arity checked");
            let transform = rest.next();
            return Ok(Expr {
                pos,
                kind: Kind::Comprehension(Box::new(Comprehension {
                    kind,
                    var,
                    var2,
                    range,
                    body,
                    transform,
                })),
            });
        }
        Ok(Expr {
            pos,
            kind: Kind::Call {
                target: target.map(bx),
                name,
                args,
            },
        })
    }
}
