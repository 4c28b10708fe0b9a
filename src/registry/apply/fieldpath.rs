//! Field paths and sets of them, and their `FieldsV1` wire form.
//!
//! A path walks an object one element at a time: a field of a map, an item
//! of a keyed list (`k:{"name":"x"}`), an item of a set (`v:"a"`) or a list
//! index (`i:0`). A set of paths is a tree: `members` are the paths that end
//! at this node, `children` continue below it. In `FieldsV1` a member is an
//! empty object, and a node that is both a member and has children carries
//! a `"."` entry, as upstream writes it.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// A JSON value with upstream's total order: numbers (ints and floats
/// compared numerically) < strings < booleans < lists < maps < null.
#[derive(Debug, Clone)]
pub(crate) struct Ordered(pub(crate) Value);

fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}

/// Upstream's ordering of values.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (l, r) in x.iter().zip(y) {
                let c = compare_values(l, r);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|a, b| a.0.cmp(b.0));
            ys.sort_by(|a, b| a.0.cmp(b.0));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(&ys) {
                let c = kx.cmp(ky).then_with(|| compare_values(vx, vy));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_values(&self.0, &other.0)
    }
}

/// One step of a path. The variant order is upstream's order of element
/// kinds: fields, then keys, then values, then indexes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Pe {
    Field(String),
    /// Key fields of a keyed list item, sorted by name.
    Key(Vec<(String, Ordered)>),
    Value(Ordered),
    Index(usize),
}

impl Pe {
    pub(crate) fn field(name: &str) -> Pe {
        Pe::Field(name.to_string())
    }

    /// The `FieldsV1` key of this element.
    pub(crate) fn encode(&self) -> String {
        match self {
            Pe::Field(f) => format!("f:{f}"),
            Pe::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v.0))
                    .collect();
                format!("k:{{{}}}", parts.join(","))
            }
            Pe::Value(v) => format!("v:{}", v.0),
            Pe::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key; `None` for an unknown element kind, which
    /// upstream skips.
    pub(crate) fn decode(s: &str) -> Result<Option<Pe>, String> {
        let (kind, rest) = match s.split_at_checked(2) {
            Some((k, r)) if k.ends_with(':') => (&k[..1], r),
            _ => return Err(format!("invalid path element {s:?}")),
        };
        let json = || serde_json::from_str::<Value>(rest).map_err(|e| format!("{s:?}: {e}"));
        Ok(Some(match kind {
            "f" => Pe::Field(rest.to_string()),
            "v" => Pe::Value(Ordered(json()?)),
            "k" => match json()? {
                Value::Object(m) => {
                    let mut fields: Vec<(String, Ordered)> =
                        m.into_iter().map(|(k, v)| (k, Ordered(v))).collect();
                    fields.sort_by(|a, b| a.0.cmp(&b.0));
                    Pe::Key(fields)
                }
                _ => return Err(format!("{s:?}: key is not an object")),
            },
            "i" => Pe::Index(rest.parse().map_err(|_| format!("invalid index {s:?}"))?),
            _ => return Ok(None),
        }))
    }
}

/// Go's `%q` of a string, close enough for the ASCII field values paths hold.
fn quoted(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn value_string(v: &Value) -> String {
    match v {
        Value::String(s) => quoted(s),
        Value::Null => "null".into(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(value_string).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", value_string(v)))
            .collect::<String>(),
        other => other.to_string(),
    }
}

impl fmt::Display for Pe {
    /// Upstream's human form, used in conflict messages:
    /// `.spec`, `[name="nginx"]`, `[="a"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pe::Field(name) => write!(f, ".{name}"),
            Pe::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_string(&v.0)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            Pe::Value(v) => write!(f, "[={}]", value_string(&v.0)),
            Pe::Index(i) => write!(f, "[{i}]"),
        }
    }
}

pub(crate) type Path = Vec<Pe>;

/// A path in upstream's human form, e.g. `.spec.replicas`.
pub(crate) fn path_string(p: &[Pe]) -> String {
    p.iter().map(ToString::to_string).collect()
}

/// A set of paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Set {
    members: BTreeSet<Pe>,
    children: BTreeMap<Pe, Set>,
}

impl Set {
    pub(crate) fn new() -> Set {
        Set::default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    pub(crate) fn insert(&mut self, path: &[Pe]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub(crate) fn has(&self, path: &[Pe]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// The paths below `pe`, with `pe` taken off their front.
    pub(crate) fn with_prefix(&self, pe: &Pe) -> Option<&Set> {
        self.children.get(pe)
    }

    /// Whether any path of the set starts with `path` and is longer.
    pub(crate) fn has_below(&self, path: &[Pe]) -> bool {
        match path {
            [] => !self.is_empty(),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has_below(rest)),
        }
    }

    pub(crate) fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, c) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(c),
                None => c.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    pub(crate) fn difference(&self, other: &Set) -> Set {
        let mut out = Set::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, c) in &self.children {
            let d = match other.children.get(pe) {
                Some(o) => c.difference(o),
                None => c.clone(),
            };
            if !d.is_empty() {
                out.children.insert(pe.clone(), d);
            }
        }
        out
    }

    pub(crate) fn intersection(&self, other: &Set) -> Set {
        let mut out = Set::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (pe, c) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let i = c.intersection(o);
                if !i.is_empty() {
                    out.children.insert(pe.clone(), i);
                }
            }
        }
        out
    }

    /// The set with only the top-level elements `keep` accepts.
    pub(crate) fn filter_top(&self, keep: impl Fn(&Pe) -> bool) -> Set {
        Set {
            members: self.members.iter().filter(|p| keep(p)).cloned().collect(),
            children: self
                .children
                .iter()
                .filter(|(p, _)| keep(p))
                .map(|(p, c)| (p.clone(), c.clone()))
                .collect(),
        }
    }

    /// Every member path, in upstream's order (a node before what lies
    /// below it, siblings by element order).
    pub(crate) fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        let mut keys: BTreeSet<&Pe> = self.members.iter().collect();
        keys.extend(self.children.keys());
        for pe in keys {
            prefix.push(pe.clone());
            if self.members.contains(pe) {
                out.push(prefix.clone());
            }
            if let Some(c) = self.children.get(pe) {
                c.collect(prefix, out);
            }
            prefix.pop();
        }
    }

    /// The `FieldsV1` form.
    pub(crate) fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !self.is_empty() {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        let mut keys: BTreeSet<&Pe> = self.members.iter().collect();
        keys.extend(self.children.keys());
        for pe in keys {
            let member = self.members.contains(pe);
            let body = match self.children.get(pe) {
                Some(c) => c.emit(member),
                None => Map::new(),
            };
            out.insert(pe.encode(), Value::Object(body));
        }
        out
    }

    /// Reads the `FieldsV1` form.
    pub(crate) fn from_fields_v1(v: &Value) -> Result<Set, String> {
        let Value::Object(m) = v else {
            return Err("fieldsV1 is not an object".into());
        };
        let mut out = Set::new();
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let Some(pe) = Pe::decode(k)? else { continue };
            let Value::Object(cm) = child else {
                return Err(format!("{k:?} is not an object"));
            };
            if cm.is_empty() || cm.contains_key(".") {
                out.members.insert(pe.clone());
            }
            let below = Set::from_fields_v1(child)?;
            if !below.is_empty() {
                out.children.insert(pe, below);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(s: &str) -> Pe {
        Pe::field(s)
    }

    #[test]
    fn fields_v1_round_trips_in_upstream_order() {
        // The FieldsV1 example of the server-side apply documentation.
        let doc = json!({
            "f:data": { "f:key": {} },
            "f:metadata": { "f:labels": { "f:test-label": {} } }
        });
        let set = Set::from_fields_v1(&doc).expect("parse");
        assert!(set.has(&[f("data"), f("key")]));
        assert!(set.has(&[f("metadata"), f("labels"), f("test-label")]));
        assert!(!set.has(&[f("metadata")]));
        assert_eq!(set.to_fields_v1(), doc);
    }

    #[test]
    fn keys_values_and_self_markers() {
        let key = Pe::Key(vec![
            ("containerPort".into(), Ordered(json!(80))),
            ("protocol".into(), Ordered(json!("TCP"))),
        ]);
        assert_eq!(key.encode(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(key.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
        let mut s = Set::new();
        s.insert(&[f("ports"), key.clone()]);
        s.insert(&[f("ports"), key.clone(), f("containerPort")]);
        s.insert(&[f("finalizers"), Pe::Value(Ordered(json!("a")))]);
        let v = s.to_fields_v1();
        assert_eq!(
            v,
            json!({
                "f:finalizers": { "v:\"a\"": {} },
                "f:ports": { "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": { ".": {}, "f:containerPort": {} } }
            })
        );
        assert_eq!(Set::from_fields_v1(&v).expect("parse"), s);
        // Fields sort before keys, keys before values, values before indexes.
        assert!(f("z") < key);
        assert!(key < Pe::Value(Ordered(json!(1))));
        assert!(Pe::Value(Ordered(json!("x"))) < Pe::Index(0));
    }

    #[test]
    fn set_algebra() {
        let mut a = Set::new();
        a.insert(&[f("spec"), f("replicas")]);
        a.insert(&[f("spec"), f("paused")]);
        let mut b = Set::new();
        b.insert(&[f("spec"), f("replicas")]);
        assert_eq!(a.intersection(&b), b);
        let d = a.difference(&b);
        assert_eq!(d.paths(), vec![vec![f("spec"), f("paused")]]);
        assert_eq!(d.union(&b), a);
        assert!(a.has_below(&[f("spec")]));
        assert_eq!(path_string(&[f("spec"), f("replicas")]), ".spec.replicas");
    }
}
