//! The function library: CEL's standard functions and conversions, and the
//! Kubernetes extension libraries (strings, lists, regex, quantity) plus
//! optionals.

use std::cmp::Ordering;
use std::sync::Arc;

use super::EvalError;
use super::eval::{Evaluator, no_overload};
use super::net;
use super::quantity::Quantity;
use super::strings::{quote, regex, strings};
use super::time::{Duration, Timestamp};
use super::url::{self, Url};
use super::value::{Value, format_double};

type Result<T> = std::result::Result<T, EvalError>;

/// Identifiers that evaluate to type values.
pub(super) const TYPE_NAMES: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
];

/// The static name of a type identifier (all names are 'static already).
pub(super) fn type_value_name(name: &'static str) -> &'static str {
    name
}

pub(super) const GLOBAL_FUNCTIONS: &[&str] = &[
    "size",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "dyn",
    "type",
    "duration",
    "timestamp",
    "matches",
    "quantity",
    "isQuantity",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "url",
    "isURL",
];

pub(super) const MEMBER_FUNCTIONS: &[&str] = &[
    // standard
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    // timestamps and durations
    "getFullYear",
    "getMonth",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getDayOfYear",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    // strings
    "charAt",
    "indexOf",
    "lastIndexOf",
    "lowerAscii",
    "upperAscii",
    "replace",
    "split",
    "substring",
    "trim",
    "join",
    "format",
    "reverse",
    // lists
    "isSorted",
    "sum",
    "min",
    "max",
    "slice",
    "flatten",
    "distinct",
    // regex
    "find",
    "findAll",
    // quantity
    "isInteger",
    "asInteger",
    "asApproximateFloat",
    "sign",
    "add",
    "sub",
    "isGreaterThan",
    "isLessThan",
    "compareTo",
    // optionals
    // url
    "getScheme",
    "getHost",
    "getHostname",
    "getPort",
    "getEscapedPath",
    "getQuery",
    // ip and cidr
    "family",
    "isUnspecified",
    "isLoopback",
    "isLinkLocalMulticast",
    "isLinkLocalUnicast",
    "isGlobalUnicast",
    "containsIP",
    "containsCIDR",
    "ip",
    "masked",
    "prefixLength",
    "hasValue",
    "value",
    "orValue",
    "or",
];

/// Functions called as `namespace.name(...)`.
pub(super) const NAMESPACED_FUNCTIONS: &[(&str, &str)] = &[
    ("optional", "of"),
    ("optional", "none"),
    ("optional", "ofNonZeroValue"),
    ("strings", "quote"),
    ("sets", "contains"),
    ("sets", "equivalent"),
    ("sets", "intersects"),
    ("ip", "isCanonical"),
];

pub(super) fn err(msg: impl Into<String>) -> EvalError {
    EvalError::new(msg)
}

/// Dispatches a global (`recv` is `None`) or member function call.
pub(super) fn call(
    ev: &mut Evaluator<'_>,
    name: &str,
    recv: Option<Value>,
    args: Vec<Value>,
) -> Result<Value> {
    let member = recv.is_some();
    let all: Vec<Value> = recv.into_iter().chain(args).collect();
    let nope = || no_overload(name, &all.iter().collect::<Vec<_>>());
    // Functions that scan strings or lists are charged by their size.
    let size_cost = match all.first() {
        Some(Value::String(s)) => s.len() as u64 / 10,
        Some(Value::List(l)) => l.len() as u64,
        _ => 0,
    };
    ev.charge(size_cost)?;
    use Value as V;
    match (name, member, all.as_slice()) {
        ("size", _, [v]) => size(v).ok_or_else(nope),
        ("dyn", false, [v]) => Ok(v.clone()),
        ("type", false, [v]) => Ok(V::Type(v.type_name())),
        ("int", false, [v]) => to_int(v).ok_or_else(nope)?,
        ("uint", false, [v]) => to_uint(v).ok_or_else(nope)?,
        ("double", false, [v]) => to_double(v).ok_or_else(nope)?,
        ("string", false, [v]) => to_string(v).ok_or_else(nope)?,
        ("bytes", false, [V::Bytes(b)]) => Ok(V::Bytes(b.clone())),
        ("bytes", false, [V::String(s)]) => Ok(V::Bytes(s.as_bytes().into())),
        ("bool", false, [V::Bool(b)]) => Ok(V::Bool(*b)),
        ("bool", false, [V::String(s)]) => match &**s {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(V::Bool(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(V::Bool(false)),
            _ => Err(err(format!("type conversion error from 'string' to 'bool': {s}"))),
        },
        ("duration", false, [V::String(s)]) => Duration::parse(s).map(V::Duration),
        ("duration", false, [V::Duration(d)]) => Ok(V::Duration(*d)),
        ("timestamp", false, [V::String(s)]) => Timestamp::parse(s).map(V::Timestamp),
        ("timestamp", false, [V::Int(i)]) => Timestamp::from_secs_nanos(*i, 0).map(V::Timestamp),
        ("timestamp", false, [V::Timestamp(t)]) => Ok(V::Timestamp(*t)),
        ("matches", _, [V::String(s), V::String(re)]) => {
            ev.charge(s.len() as u64 / 10)?;
            Ok(V::Bool(regex(re)?.is_match(s)))
        }
        ("contains", true, [V::String(s), V::String(t)]) => Ok(V::Bool(s.contains(&**t))),
        ("startsWith", true, [V::String(s), V::String(t)]) => Ok(V::Bool(s.starts_with(&**t))),
        ("endsWith", true, [V::String(s), V::String(t)]) => Ok(V::Bool(s.ends_with(&**t))),
        ("quantity", false, [V::String(s)]) => Quantity::parse(s).map(|q| V::Quantity(Arc::new(q))).ok_or_else(|| {
            err("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        }),
        ("isQuantity", false, [V::String(s)]) => Ok(V::Bool(Quantity::parse(s).is_some())),
        ("ip", false, [V::String(s)]) => net::parse_ip(s).map(V::Ip),
        ("isIP", false, [V::String(s)]) => Ok(V::Bool(net::parse_ip(s).is_ok())),
        ("cidr", false, [V::String(s)]) => net::parse_cidr(s).map(V::Cidr),
        ("isCIDR", false, [V::String(s)]) => Ok(V::Bool(net::parse_cidr(s).is_ok())),
        ("url", false, [V::String(s)]) => Url::parse(s).map(|u| V::Url(Arc::new(u))),
        ("isURL", false, [V::String(s)]) => Ok(V::Bool(Url::parse(s).is_ok())),
        (_, true, [V::Url(u), rest @ ..]) => url::method(name, u, rest).ok_or_else(nope),
        (_, true, [V::Ip(ip), rest @ ..]) => net::ip_method(name, ip, rest).ok_or_else(nope),
        (_, true, [V::Cidr(c), rest @ ..]) => net::cidr_method(name, c, rest).unwrap_or_else(|| Err(nope())),
        (_, true, [V::String(_), ..]) => strings(name, &all).unwrap_or_else(|| Err(nope())),
        (_, true, [V::List(_), ..]) => lists(name, &all).unwrap_or_else(|| Err(nope())),
        (_, true, [V::Timestamp(t), rest @ ..]) => timestamp_accessor(name, *t, rest).unwrap_or_else(|| Err(nope())),
        (_, true, [V::Duration(d), rest @ ..]) => duration_accessor(name, *d, rest).ok_or_else(nope),
        (_, true, [V::Quantity(q), rest @ ..]) => quantity_method(name, q, rest).unwrap_or_else(|| Err(nope())),
        (_, true, [V::Optional(o), rest @ ..]) => optional_method(name, o.as_deref(), rest).unwrap_or_else(|| Err(nope())),
        _ => Err(nope()),
    }
}

/// `optional.of(x)` and friends, `strings.quote(s)`.
pub(super) fn call_namespaced(
    ev: &mut Evaluator<'_>,
    ns: &str,
    name: &str,
    args: Vec<Value>,
) -> Result<Value> {
    let full = format!("{ns}.{name}");
    match (ns, name, args.as_slice()) {
        ("optional", "of", [v]) => Ok(Value::Optional(Some(Box::new(v.clone())))),
        ("optional", "none", []) => Ok(Value::Optional(None)),
        ("optional", "ofNonZeroValue", [v]) => {
            Ok(Value::Optional((!is_zero(v)).then(|| Box::new(v.clone()))))
        }
        ("strings", "quote", [Value::String(s)]) => Ok(Value::from(quote(s))),
        ("ip", "isCanonical", [Value::String(s)]) => net::is_canonical(s).map(Value::Bool),
        ("sets", _, [Value::List(a), Value::List(b)]) => {
            ev.charge((a.len() * b.len()) as u64 / 10)?;
            let has = |l: &[Value], x: &Value| l.iter().any(|y| y.equals(x));
            Ok(Value::Bool(match name {
                "contains" => b.iter().all(|x| has(a, x)),
                "equivalent" => b.iter().all(|x| has(a, x)) && a.iter().all(|x| has(b, x)),
                _ => a.iter().any(|x| has(b, x)),
            }))
        }
        _ => Err(no_overload(&full, &args.iter().collect::<Vec<_>>())),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null | Value::Optional(None) => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Double(d) => *d == 0.0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Duration(d) => d.0 == 0,
        Value::Timestamp(t) => t.0 == 0,
        _ => false,
    }
}

fn size(v: &Value) -> Option<Value> {
    let n = match v {
        Value::String(s) => s.chars().count(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        _ => return None,
    };
    Some(Value::Int(n as i64))
}

fn range_err() -> EvalError {
    err("integer overflow")
}

fn to_int(v: &Value) -> Option<Result<Value>> {
    Some(match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Uint(u) => i64::try_from(*u).map(Value::Int).map_err(|_| range_err()),
        Value::Double(d) => {
            if d.is_finite() && *d > -9.223372036854776e18 && *d < 9.223372036854776e18 {
                Ok(Value::Int(*d as i64))
            } else {
                Err(range_err())
            }
        }
        Value::String(s) => s.parse::<i64>().map(Value::Int).map_err(|_| {
            err(format!(
                "strconv.ParseInt: parsing {:?}: invalid syntax",
                &**s
            ))
        }),
        Value::Timestamp(t) => Ok(Value::Int(t.unix_secs())),
        Value::Duration(d) => Ok(Value::Int(d.0)),
        _ => return None,
    })
}

fn to_uint(v: &Value) -> Option<Result<Value>> {
    let overflow = || err("unsigned integer overflow");
    Some(match v {
        Value::Uint(u) => Ok(Value::Uint(*u)),
        Value::Int(i) => u64::try_from(*i).map(Value::Uint).map_err(|_| overflow()),
        Value::Double(d) => {
            if d.is_finite() && *d > -1.0 && *d < 1.8446744073709552e19 {
                Ok(Value::Uint(*d as u64))
            } else {
                Err(overflow())
            }
        }
        Value::String(s) => s.parse::<u64>().map(Value::Uint).map_err(|_| {
            err(format!(
                "strconv.ParseUint: parsing {:?}: invalid syntax",
                &**s
            ))
        }),
        _ => return None,
    })
}

fn to_double(v: &Value) -> Option<Result<Value>> {
    Some(match v {
        Value::Double(d) => Ok(Value::Double(*d)),
        Value::Int(i) => Ok(Value::Double(*i as f64)),
        Value::Uint(u) => Ok(Value::Double(*u as f64)),
        Value::String(s) => {
            let parsed = match s.to_ascii_lowercase().trim_start_matches(['+', '-']) {
                "inf" | "infinity" | "nan" => s.parse::<f64>().ok(),
                _ => s.parse::<f64>().ok(),
            };
            parsed.map(Value::Double).ok_or_else(|| {
                err(format!(
                    "strconv.ParseFloat: parsing {:?}: invalid syntax",
                    &**s
                ))
            })
        }
        _ => return None,
    })
}

pub(super) fn to_string(v: &Value) -> Option<Result<Value>> {
    Some(Ok(Value::from(match v {
        Value::String(s) => return Some(Ok(Value::String(s.clone()))),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Double(d) => format_double(*d),
        Value::Bool(b) => b.to_string(),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => s.to_string(),
            Err(_) => return Some(Err(err("invalid UTF-8 in bytes, cannot convert to string"))),
        },
        Value::Duration(d) => d.to_string(),
        Value::Timestamp(t) => t.to_string(),
        Value::Type(t) => (*t).to_string(),
        Value::Quantity(q) => q.to_string(),
        Value::Ip(ip) => ip.to_string(),
        Value::Cidr(c) => c.to_string(),
        Value::Url(u) => u.to_string(),
        _ => return None,
    })))
}

/// Kubernetes list library plus `join` and the common list helpers.
fn lists(name: &str, all: &[Value]) -> Option<Result<Value>> {
    use Value as V;
    let V::List(l) = &all[0] else { return None };
    let args = &all[1..];
    Some(match (name, args) {
        ("join", []) => join(l, ""),
        ("join", [V::String(sep)]) => join(l, sep),
        ("isSorted", []) => {
            let mut sorted = true;
            for w in l.windows(2) {
                match w[0].compare(&w[1]) {
                    Ok(o) => sorted &= o != Some(Ordering::Greater),
                    Err(()) => return Some(Err(no_overload("isSorted", &[&all[0]]))),
                }
            }
            Ok(V::Bool(sorted))
        }
        ("sum", []) => sum(l),
        ("min", []) | ("max", []) => {
            let want = if name == "min" {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let Some(first) = l.first() else {
                return Some(Err(err(format!("{name} called on empty list"))));
            };
            let mut best = first;
            for x in &l[1..] {
                match x.compare(best) {
                    Ok(Some(o)) if o == want => best = x,
                    Ok(_) => {}
                    Err(()) => return Some(Err(no_overload(name, &[&all[0]]))),
                }
            }
            Ok(best.clone())
        }
        ("indexOf", [x]) => Ok(V::Int(
            l.iter().position(|y| y.equals(x)).map_or(-1, |i| i as i64),
        )),
        ("lastIndexOf", [x]) => Ok(V::Int(
            l.iter().rposition(|y| y.equals(x)).map_or(-1, |i| i as i64),
        )),
        ("slice", [V::Int(a), V::Int(b)]) => {
            if *a < 0 || *b < 0 {
                return Some(Err(err(format!(
                    "cannot slice(start, end), negative index: {}",
                    (*a).min(*b)
                ))));
            }
            if a > b {
                return Some(Err(err(format!(
                    "cannot slice(start, end), start index must be less than or equal to end index: {a} > {b}"
                ))));
            }
            if *b as usize > l.len() {
                return Some(Err(err(format!(
                    "cannot slice(start, end), end index must be less than or equal to list size: {b} > {}",
                    l.len()
                ))));
            }
            Ok(V::from(l[*a as usize..*b as usize].to_vec()))
        }
        ("flatten", []) => {
            let mut out = Vec::new();
            for x in l.iter() {
                match x {
                    V::List(inner) => out.extend(inner.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            Ok(V::from(out))
        }
        ("distinct", []) => {
            let mut out: Vec<Value> = Vec::new();
            for x in l.iter() {
                if !out.iter().any(|y| y.equals(x)) {
                    out.push(x.clone());
                }
            }
            Ok(V::from(out))
        }
        ("reverse", []) => Ok(V::from(l.iter().rev().cloned().collect::<Vec<_>>())),
        _ => return None,
    })
}

fn join(l: &[Value], sep: &str) -> Result<Value> {
    let mut parts = Vec::with_capacity(l.len());
    for x in l {
        match x {
            Value::String(s) => parts.push(s.to_string()),
            other => return Err(no_overload("join", &[other])),
        }
    }
    Ok(Value::from(parts.join(sep)))
}

fn sum(l: &[Value]) -> Result<Value> {
    let Some(first) = l.first() else {
        return Ok(Value::Int(0));
    };
    let mut acc = match first {
        Value::Int(_) | Value::Uint(_) | Value::Double(_) | Value::Duration(_) => first.clone(),
        other => return Err(no_overload("sum", &[other])),
    };
    for x in &l[1..] {
        acc = match (&acc, x) {
            (Value::Int(a), Value::Int(b)) => Value::Int(a.checked_add(*b).ok_or_else(range_err)?),
            (Value::Uint(a), Value::Uint(b)) => Value::Uint(
                a.checked_add(*b)
                    .ok_or_else(|| err("unsigned integer overflow"))?,
            ),
            (Value::Double(a), Value::Double(b)) => Value::Double(a + b),
            (Value::Duration(a), Value::Duration(b)) => Value::Duration(a.add(*b)?),
            (a, b) => return Err(no_overload("_+_", &[a, b])),
        };
    }
    Ok(acc)
}

fn timestamp_accessor(name: &str, t: Timestamp, rest: &[Value]) -> Option<Result<Value>> {
    let tz = match rest {
        [] => None,
        [Value::String(z)] => Some(&**z),
        _ => return None,
    };
    let c = match t.civil(tz) {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    let v = match name {
        "getFullYear" => c.year,
        "getMonth" => c.month - 1,
        "getDayOfMonth" => c.day - 1,
        "getDate" => c.day,
        "getDayOfWeek" => c.weekday,
        "getDayOfYear" => c.yearday,
        "getHours" => c.hour,
        "getMinutes" => c.minute,
        "getSeconds" => c.second,
        "getMilliseconds" => c.nanos / 1_000_000,
        _ => return None,
    };
    Some(Ok(Value::Int(v)))
}

fn duration_accessor(name: &str, d: Duration, rest: &[Value]) -> Option<Value> {
    if !rest.is_empty() {
        return None;
    }
    let unit = match name {
        "getHours" => 3_600_000_000_000,
        "getMinutes" => 60_000_000_000,
        "getSeconds" => 1_000_000_000,
        "getMilliseconds" => 1_000_000,
        _ => return None,
    };
    Some(Value::Int(d.total(unit)))
}

fn quantity_method(name: &str, q: &Quantity, rest: &[Value]) -> Option<Result<Value>> {
    use Value as V;
    let other = |v: &Value| -> Option<Quantity> {
        match v {
            V::Quantity(o) => Some((**o).clone()),
            V::Int(i) => Some(Quantity::from_i64(*i)),
            _ => None,
        }
    };
    let arith_overflow = || err("quantity arithmetic overflow");
    Some(match (name, rest) {
        ("isInteger", []) => Ok(V::Bool(q.is_integer())),
        ("asInteger", []) => q
            .as_i64()
            .map(V::Int)
            .ok_or_else(|| err("cannot convert value to integer")),
        ("asApproximateFloat", []) => Ok(V::Double(q.approx())),
        ("sign", []) => Ok(V::Int(q.sign())),
        ("add", [v]) => q
            .add(&other(v)?)
            .map(|r| V::Quantity(Arc::new(r)))
            .ok_or_else(arith_overflow),
        ("sub", [v]) => q
            .add(&other(v)?.neg())
            .map(|r| V::Quantity(Arc::new(r)))
            .ok_or_else(arith_overflow),
        ("isGreaterThan", [V::Quantity(o)]) => Ok(V::Bool(q.cmp_value(o) == Ordering::Greater)),
        ("isLessThan", [V::Quantity(o)]) => Ok(V::Bool(q.cmp_value(o) == Ordering::Less)),
        ("compareTo", [V::Quantity(o)]) => Ok(V::Int(match q.cmp_value(o) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        })),
        _ => return None,
    })
}

fn optional_method(name: &str, o: Option<&Value>, rest: &[Value]) -> Option<Result<Value>> {
    Some(match (name, rest) {
        ("hasValue", []) => Ok(Value::Bool(o.is_some())),
        ("value", []) => o.cloned().ok_or_else(|| err("optional.none() dereference")),
        ("orValue", [d]) => Ok(o.cloned().unwrap_or_else(|| d.clone())),
        ("or", [alt @ Value::Optional(_)]) => Ok(match o {
            Some(v) => Value::Optional(Some(Box::new(v.clone()))),
            None => alt.clone(),
        }),
        _ => return None,
    })
}
