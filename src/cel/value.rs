//! CEL runtime values, their JSON mapping, equality and ordering.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use std::net::IpAddr;

use super::net::Cidr;
use super::quantity::Quantity;
use super::time::{Duration, Timestamp};
use super::url::Url;

/// A CEL runtime value. Containers are reference counted so that copying a
/// value (for example binding a comprehension variable) is cheap.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    String(Arc<str>),
    Bytes(Arc<[u8]>),
    List(Arc<List>),
    Map(Arc<BTreeMap<Key, Value>>),
    Duration(Duration),
    Timestamp(Timestamp),
    /// A type value such as `int` or the result of `type(x)`.
    Type(&'static str),
    /// A Kubernetes resource quantity (`quantity("1Gi")`).
    Quantity(Arc<Quantity>),
    /// An optional value (`optional.of(x)`, `a.?b`); `None` is `optional.none()`.
    Optional(Option<Box<Value>>),
    /// An IP address (`ip("10.0.0.1")`).
    Ip(IpAddr),
    /// An address prefix (`cidr("10.0.0.0/8")`).
    Cidr(Cidr),
    /// A URL (`url("https://example.com/")`).
    Url(Arc<Url>),
}

/// A list value with the `x-kubernetes-list-type` it was declared with,
/// which decides its equality and concatenation.
#[derive(Debug, Clone)]
pub(crate) struct List {
    pub(crate) items: Vec<Value>,
    pub(crate) kind: ListKind,
}

/// How a list compares and concatenates, as Kubernetes defines per list type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// Ordered (plain CEL lists, `x-kubernetes-list-type: atomic`).
    Atomic,
    /// Unordered and unique: equal when they hold the same elements;
    /// `+` appends only elements not yet present.
    Set,
    /// Objects identified by these keys: equal when each keyed entry is
    /// equal; `+` replaces entries with the same keys and appends the rest.
    Map(Arc<[String]>),
}

impl std::ops::Deref for List {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        &self.items
    }
}

impl List {
    /// The values of an entry's map keys, for `x-kubernetes-list-type: map`.
    fn key_of<'v>(keys: &[String], v: &'v Value) -> Vec<Option<&'v Value>> {
        match v {
            Value::Map(m) => keys
                .iter()
                .map(|k| m.get(&Key::String(Arc::from(k.as_str()))))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn same_key(keys: &[String], a: &Value, b: &Value) -> bool {
        let (ka, kb) = (List::key_of(keys, a), List::key_of(keys, b));
        ka.len() == kb.len()
            && ka.iter().zip(&kb).all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => x.equals(y),
                (None, None) => true,
                _ => false,
            })
    }

    /// Equality under the list type of either side.
    pub(crate) fn equals(&self, o: &List) -> bool {
        if self.len() != o.len() {
            return false;
        }
        let kind = if self.kind == ListKind::Atomic {
            &o.kind
        } else {
            &self.kind
        };
        match kind {
            ListKind::Atomic => self.iter().zip(o.iter()).all(|(x, y)| x.equals(y)),
            ListKind::Set => self.iter().all(|x| o.iter().any(|y| y.equals(x))),
            ListKind::Map(keys) => self.iter().all(|x| {
                o.iter()
                    .find(|y| List::same_key(keys, x, y))
                    .is_some_and(|y| x.equals(y))
            }),
        }
    }

    /// `self + o`, keeping `self`'s list type.
    pub(crate) fn concat(&self, o: &List) -> List {
        let mut items = self.items.clone();
        match &self.kind {
            ListKind::Atomic => items.extend(o.iter().cloned()),
            ListKind::Set => {
                for v in o.iter() {
                    if !items.iter().any(|x| x.equals(v)) {
                        items.push(v.clone());
                    }
                }
            }
            ListKind::Map(keys) => {
                for v in o.iter() {
                    match items.iter_mut().find(|x| List::same_key(keys, x, v)) {
                        Some(slot) => *slot = v.clone(),
                        None => items.push(v.clone()),
                    }
                }
            }
        }
        List {
            items,
            kind: self.kind.clone(),
        }
    }
}

/// A map key: CEL allows bool, int, uint and string keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    Bool(bool),
    Int(i64),
    Uint(u64),
    String(Arc<str>),
}

impl Key {
    pub(super) fn to_value(&self) -> Value {
        match self {
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(i) => Value::Int(*i),
            Key::Uint(u) => Value::Uint(*u),
            Key::String(s) => Value::String(s.clone()),
        }
    }

    /// The key for `v`, if `v` may be a map key.
    pub(super) fn from_value(v: &Value) -> Option<Key> {
        Some(match v {
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Uint(u) => Key::Uint(*u),
            Value::String(s) => Key::String(s.clone()),
            _ => return None,
        })
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(Arc::new(List {
            items: v,
            kind: ListKind::Atomic,
        }))
    }
}

impl Value {
    /// A map with string keys, e.g. the `variables` of an admission policy.
    pub(crate) fn object(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
        Value::Map(Arc::new(
            entries
                .into_iter()
                .map(|(k, v)| (Key::String(Arc::from(k)), v))
                .collect(),
        ))
    }

    /// Converts a JSON document: integers become `int` (or `uint` past the
    /// int64 range), other numbers `double`, objects maps with string keys.
    pub(crate) fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Uint(u)
                } else {
                    Value::Double(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(a) => {
                Value::from(a.iter().map(Value::from_json).collect::<Vec<_>>())
            }
            serde_json::Value::Object(o) => Value::Map(Arc::new(
                o.iter()
                    .map(|(k, v)| (Key::String(Arc::from(k.as_str())), Value::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// The JSON form: durations and timestamps as their string forms, bytes
    /// as base64-free UTF-8 (lossy), types by name, quantities canonically.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Optional(None) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Uint(u) => J::from(*u),
            Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.to_string()),
            Value::Bytes(b) => J::String(String::from_utf8_lossy(b).into_owned()),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Key::String(s) => s.to_string(),
                            other => other.to_value().to_string(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
            Value::Duration(d) => J::String(d.to_string()),
            Value::Timestamp(t) => J::String(t.to_string()),
            Value::Type(t) => J::String((*t).to_string()),
            Value::Quantity(q) => J::String(q.to_string()),
            Value::Optional(Some(v)) => v.to_json(),
            Value::Ip(ip) => J::String(ip.to_string()),
            Value::Cidr(c) => J::String(c.to_string()),
            Value::Url(u) => J::String(u.to_string()),
        }
    }

    /// The CEL type name of the value.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null_type",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Double(_) => "double",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Duration(_) => "google.protobuf.Duration",
            Value::Timestamp(_) => "google.protobuf.Timestamp",
            Value::Type(_) => "type",
            Value::Quantity(_) => "kubernetes.Quantity",
            Value::Optional(_) => "optional_type",
            Value::Ip(_) => "net.IP",
            Value::Cidr(_) => "net.CIDR",
            Value::Url(_) => "kubernetes.URL",
        }
    }

    /// CEL equality: numbers compare by value across int, uint and double;
    /// values of different types are unequal.
    pub(crate) fn equals(&self, other: &Value) -> bool {
        use Value as V;
        match (self, other) {
            (V::Null, V::Null) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::String(a), V::String(b)) => a == b,
            (V::Bytes(a), V::Bytes(b)) => a == b,
            (V::List(a), V::List(b)) => a.equals(b),
            (V::Map(a), V::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| map_get(b, &k.to_value()).is_some_and(|w| v.equals(w)))
            }
            (V::Duration(a), V::Duration(b)) => a == b,
            (V::Timestamp(a), V::Timestamp(b)) => a == b,
            (V::Type(a), V::Type(b)) => a == b,
            (V::Quantity(a), V::Quantity(b)) => a.cmp_value(b) == Ordering::Equal,
            (V::Ip(a), V::Ip(b)) => a == b,
            (V::Cidr(a), V::Cidr(b)) => a == b,
            (V::Url(a), V::Url(b)) => a == b,
            (V::Optional(a), V::Optional(b)) => match (a, b) {
                (None, None) => true,
                (Some(x), Some(y)) => x.equals(y),
                _ => false,
            },
            _ => matches!(numeric_cmp(self, other), Some(Ordering::Equal)),
        }
    }

    /// CEL ordering for `<`, `<=`, `>`, `>=`; `None` when the pair has no
    /// ordering overload. NaN compares as unordered (`Some` is never returned
    /// for it, and callers treat that as false).
    pub(crate) fn compare(&self, other: &Value) -> Result<Option<Ordering>, ()> {
        use Value as V;
        Ok(match (self, other) {
            (V::Bool(a), V::Bool(b)) => Some(a.cmp(b)),
            (V::String(a), V::String(b)) => Some(a.cmp(b)),
            (V::Bytes(a), V::Bytes(b)) => Some(a.cmp(b)),
            (V::Duration(a), V::Duration(b)) => Some(a.cmp(b)),
            (V::Timestamp(a), V::Timestamp(b)) => Some(a.cmp(b)),
            (V::Int(_) | V::Uint(_) | V::Double(_), V::Int(_) | V::Uint(_) | V::Double(_)) => {
                numeric_cmp(self, other)
            }
            _ => return Err(()),
        })
    }
}

/// Compares two numbers of any numeric types exactly.
fn numeric_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    use Value as V;
    match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Uint(x), V::Uint(y)) => Some(x.cmp(y)),
        (V::Double(x), V::Double(y)) => x.partial_cmp(y),
        (V::Int(x), V::Uint(y)) => Some(if *x < 0 {
            Ordering::Less
        } else {
            (*x as u64).cmp(y)
        }),
        (V::Uint(_), V::Int(_)) => numeric_cmp(b, a).map(Ordering::reverse),
        (V::Int(x), V::Double(y)) => cmp_i128_f64(i128::from(*x), *y),
        (V::Uint(x), V::Double(y)) => cmp_i128_f64(i128::from(*x), *y),
        (V::Double(_), V::Int(_) | V::Uint(_)) => numeric_cmp(b, a).map(Ordering::reverse),
        _ => None,
    }
}

fn cmp_i128_f64(x: i128, y: f64) -> Option<Ordering> {
    if y.is_nan() {
        return None;
    }
    if y >= 1.8e19 {
        return Some(Ordering::Less);
    }
    if y <= -1.8e19 {
        return Some(Ordering::Greater);
    }
    let t = y.trunc();
    Some(match x.cmp(&(t as i128)) {
        Ordering::Equal if y > t => Ordering::Less,
        Ordering::Equal if y < t => Ordering::Greater,
        o => o,
    })
}

/// Looks `key` up in `m`, treating numerically equal int/uint/double keys alike.
pub(super) fn map_get<'a>(m: &'a BTreeMap<Key, Value>, key: &Value) -> Option<&'a Value> {
    match key {
        Value::Int(i) => m
            .get(&Key::Int(*i))
            .or_else(|| u64::try_from(*i).ok().and_then(|u| m.get(&Key::Uint(u)))),
        Value::Uint(u) => m
            .get(&Key::Uint(*u))
            .or_else(|| i64::try_from(*u).ok().and_then(|i| m.get(&Key::Int(i)))),
        Value::Double(d) if d.fract() == 0.0 => {
            if *d >= 0.0 && *d < 1.8446744073709552e19 {
                map_get(m, &Value::Uint(*d as u64))
            } else if *d < 0.0 && *d >= -9.223372036854776e18 {
                map_get(m, &Value::Int(*d as i64))
            } else {
                None
            }
        }
        other => Key::from_value(other).and_then(|k| m.get(&k)),
    }
}

/// Formats a double the way cel-go's `string(double)` does (Go's `%g`):
/// shortest round-trip digits, exponent form below 1e-4 and from 1e6 up.
pub(super) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sci = format!("{d:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if d != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    format!("{d}")
}

fn write_str_lit(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "\"")?;
    for c in s.chars() {
        match c {
            '"' => write!(f, "\\\"")?,
            '\\' => write!(f, "\\\\")?,
            '\n' => write!(f, "\\n")?,
            '\r' => write!(f, "\\r")?,
            '\t' => write!(f, "\\t")?,
            c => write!(f, "{c}")?,
        }
    }
    write!(f, "\"")
}

/// Display gives the CEL literal-like form used in messages: strings quoted
/// inside containers but bare at the top level, as `string(x)` would give.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{s}"),
            other => fmt_nested(other, f),
        }
    }
}

fn fmt_nested(v: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match v {
        Value::Null => write!(f, "null"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Int(i) => write!(f, "{i}"),
        Value::Uint(u) => write!(f, "{u}u"),
        Value::Double(d) => write!(f, "{}", format_double(*d)),
        Value::String(s) => write_str_lit(f, s),
        Value::Bytes(b) => write!(f, "b\"{}\"", String::from_utf8_lossy(b)),
        Value::List(l) => {
            write!(f, "[")?;
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                fmt_nested(x, f)?;
            }
            write!(f, "]")
        }
        Value::Map(m) => {
            write!(f, "{{")?;
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                fmt_nested(&k.to_value(), f)?;
                write!(f, ": ")?;
                fmt_nested(x, f)?;
            }
            write!(f, "}}")
        }
        Value::Duration(d) => write!(f, "duration(\"{d}\")"),
        Value::Timestamp(t) => write!(f, "timestamp(\"{t}\")"),
        Value::Type(t) => write!(f, "{t}"),
        Value::Quantity(q) => write!(f, "quantity(\"{q}\")"),
        Value::Optional(None) => write!(f, "optional.none()"),
        Value::Optional(Some(x)) => {
            write!(f, "optional.of(")?;
            fmt_nested(x, f)?;
            write!(f, ")")
        }
        Value::Ip(ip) => write!(f, "ip(\"{ip}\")"),
        Value::Cidr(c) => write!(f, "cidr(\"{c}\")"),
        Value::Url(u) => write!(f, "url(\"{u}\")"),
    }
}
