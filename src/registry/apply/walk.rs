//! Schema-driven walks over objects: the set of fields an object sets,
//! merging an applied configuration into a live object, and removing a set
//! of fields from an object.
//!
//! The schema decides how each place merges. `None` is the deduced schema
//! upstream uses where it knows no schema: maps are granular (each key is its
//! own field), lists are atomic, everything else is a scalar.

use serde_json::{Map, Value};

use super::fieldpath::{Ordered, Path, Pe, Set};
use crate::schema::{ListType, Node};

/// How one place of an object merges.
enum Shape<'a> {
    /// Owned and replaced as a whole: scalars, atomic lists, atomic maps.
    Leaf,
    /// Each key separately; `node` is the map's or struct's schema.
    Map(Option<Node<'a>>),
    /// Items identified by the values of these key fields.
    Keyed(Node<'a>, Vec<&'a str>),
    /// Scalar items, each owned on its own.
    SetList,
}

/// A list's merge semantics: `x-kubernetes-list-type`, or failing that the
/// strategic merge patch strategy, as upstream's schema conversion reads it.
fn list_shape<'a>(n: Node<'a>) -> Shape<'a> {
    match n.list_type() {
        ListType::Map(keys) if !keys.is_empty() => return Shape::Keyed(n, keys),
        ListType::Set => return Shape::SetList,
        ListType::Map(_) => return Shape::Leaf,
        ListType::Atomic if n.get("x-kubernetes-list-type").is_some() => return Shape::Leaf,
        ListType::Atomic => {}
    }
    if n.patch_strategy().merge {
        return match n.patch_merge_key() {
            Some(k) => Shape::Keyed(n, vec![k]),
            None => Shape::SetList,
        };
    }
    Shape::Leaf
}

fn shape<'a>(node: Option<Node<'a>>, v: &Value) -> Shape<'a> {
    match (node, v) {
        (None, Value::Object(_)) => Shape::Map(None),
        (None, _) => Shape::Leaf,
        (Some(n), Value::Object(_)) => {
            if n.is_atomic_map() {
                return Shape::Leaf;
            }
            match n.type_name() {
                None | Some("object") => Shape::Map(Some(n)),
                _ => Shape::Leaf,
            }
        }
        (Some(n), Value::Array(_)) if n.type_name() == Some("array") => list_shape(n),
        (Some(_), _) => Shape::Leaf,
    }
}

/// The schema of map entry `key`, and whether it is a declared field.
fn entry_schema<'a>(node: Option<Node<'a>>, key: &str) -> (Option<Node<'a>>, bool) {
    let Some(n) = node else { return (None, false) };
    if let Some(f) = n.field(key) {
        return (Some(f), true);
    }
    (n.additional(), false)
}

/// The path element of a keyed list item: its key fields, missing ones
/// taken from the key field's schema default. `None` when the item has
/// none of the keys.
fn key_of(items: Option<Node<'_>>, keys: &[&str], item: &Value) -> Option<Pe> {
    let m = item.as_object()?;
    let mut fields = Vec::new();
    for k in keys {
        let v = m.get(*k).cloned().or_else(|| {
            items
                .and_then(|i| i.field(k))
                .and_then(|f| f.get("default"))
                .cloned()
        });
        if let Some(v) = v {
            fields.push(((*k).to_string(), Ordered(v)));
        }
    }
    if fields.is_empty() {
        return None;
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Some(Pe::Key(fields))
}

fn item_pe(shape: &Shape<'_>, item: &Value) -> Option<Pe> {
    match shape {
        Shape::Keyed(n, keys) => key_of(n.items(), keys, item),
        Shape::SetList if !item.is_object() && !item.is_array() && !item.is_null() => {
            Some(Pe::Value(Ordered(item.clone())))
        }
        _ => None,
    }
}

fn items_node<'a>(shape: &Shape<'a>) -> Option<Node<'a>> {
    match shape {
        Shape::Keyed(n, _) => n.items(),
        _ => None,
    }
}

/// Collects the fields `v` sets, as upstream's `ToFieldSet` does.
pub(crate) fn fields(node: Option<Node<'_>>, v: &Value) -> Set {
    let mut out = Set::new();
    walk_fields(node, v, &mut Vec::new(), &mut out);
    out
}

fn walk_fields(node: Option<Node<'_>>, v: &Value, path: &mut Path, out: &mut Set) {
    let sh = shape(node, v);
    match (&sh, v) {
        (Shape::Map(n), Value::Object(m)) => {
            for (k, child) in m {
                let (cn, declared) = entry_schema(*n, k);
                path.push(Pe::field(k));
                walk_fields(cn, child, path, out);
                let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                if empty || !declared {
                    out.insert(path);
                }
                path.pop();
            }
        }
        (Shape::Keyed(..) | Shape::SetList, Value::Array(items)) => {
            let inode = items_node(&sh);
            let mut seen = std::collections::BTreeSet::new();
            for item in items {
                let Some(pe) = item_pe(&sh, item) else {
                    continue;
                };
                if !seen.insert(pe.clone()) {
                    continue;
                }
                path.push(pe);
                if !matches!(sh, Shape::SetList) {
                    walk_fields(inode, item, path, out);
                }
                out.insert(path);
                path.pop();
            }
        }
        _ => out.insert(path),
    }
}

/// Merges the applied configuration `cfg` into `live`: what `cfg` sets
/// wins, maps and structs merge key by key, keyed lists and sets item by
/// item, everything else is replaced.
pub(crate) fn merge(node: Option<Node<'_>>, live: &Value, cfg: &Value) -> Value {
    let sh = shape(node, cfg);
    match (&sh, live, cfg) {
        (Shape::Map(n), Value::Object(l), Value::Object(c)) => {
            let mut out = Map::new();
            for (k, lv) in l {
                match c.get(k) {
                    Some(cv) => {
                        let (cn, _) = entry_schema(*n, k);
                        out.insert(k.clone(), merge(cn, lv, cv));
                    }
                    None => {
                        out.insert(k.clone(), lv.clone());
                    }
                }
            }
            for (k, cv) in c {
                if !l.contains_key(k) {
                    out.insert(k.clone(), cv.clone());
                }
            }
            Value::Object(out)
        }
        (Shape::Keyed(..) | Shape::SetList, Value::Array(l), Value::Array(c)) => {
            Value::Array(merge_list(&sh, l, c))
        }
        _ => cfg.clone(),
    }
}

/// Merges two associative lists as upstream orders them: items both lists
/// hold come in the applied order, live-only items keep their place
/// around them, applied-only items come where the configuration puts them.
fn merge_list(sh: &Shape<'_>, live: &[Value], cfg: &[Value]) -> Vec<Value> {
    use std::collections::{BTreeMap, BTreeSet, VecDeque};
    let inode = items_node(sh);
    let lhs: Vec<Option<Pe>> = live.iter().map(|i| item_pe(sh, i)).collect();
    let mut rhs: Vec<(Pe, &Value)> = Vec::new();
    let mut unkeyed = Vec::new();
    for item in cfg {
        match item_pe(sh, item) {
            Some(pe) if !rhs.iter().any(|(p, _)| *p == pe) => rhs.push((pe, item)),
            Some(_) => {}
            None => unkeyed.push(item.clone()),
        }
    }
    let mut in_lhs: BTreeMap<&Pe, &Value> = BTreeMap::new();
    for (pe, item) in lhs.iter().zip(live) {
        if let Some(pe) = pe {
            in_lhs.entry(pe).or_insert(item);
        }
    }
    let in_rhs: BTreeMap<&Pe, &Value> = rhs.iter().map(|(p, v)| (p, *v)).collect();
    let mut shared: VecDeque<&Pe> = rhs
        .iter()
        .map(|(p, _)| p)
        .filter(|p| in_lhs.contains_key(p))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged: BTreeSet<&Pe> = BTreeSet::new();
    let item = |pe: &Pe, c: &Value| match (sh, in_lhs.get(pe)) {
        (Shape::SetList, _) | (_, None) => c.clone(),
        (_, Some(l)) => merge(inode, l, c),
    };
    let mut out = Vec::with_capacity(live.len().max(cfg.len()));
    let (mut li, mut ri) = (0, 0);
    while li < lhs.len() || ri < rhs.len() {
        if li < lhs.len() && ri < rhs.len() {
            if lhs[li].as_ref() == Some(&rhs[ri].0) {
                let pe = &rhs[ri].0;
                merged.insert(pe);
                out.push(item(pe, rhs[ri].1));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if let Some(pe) = &lhs[li]
                && in_rhs.contains_key(pe)
                && next_shared.is_some_and(|n| n != pe)
            {
                li += 1;
                continue;
            }
        }
        if li < lhs.len() {
            match &lhs[li] {
                Some(pe) if in_rhs.contains_key(pe) => {
                    if merged.contains(pe) {
                        li += 1;
                    }
                }
                _ => {
                    out.push(live[li].clone());
                    li += 1;
                    continue;
                }
            }
        }
        if ri < rhs.len() {
            let pe = &rhs[ri].0;
            merged.insert(pe);
            out.push(item(pe, rhs[ri].1));
            ri += 1;
            if next_shared == Some(pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    out.extend(unkeyed);
    out
}

/// Removes the fields of `set` from `v`. A member of the set goes with
/// everything below it; a map or list left empty by the removal goes too.
pub(crate) fn remove(node: Option<Node<'_>>, v: &mut Value, set: &Set) {
    let sh = shape(node, v);
    match (&sh, v) {
        (Shape::Map(n), Value::Object(m)) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let pe = Pe::field(&k);
                if set.has(std::slice::from_ref(&pe)) {
                    m.remove(&k);
                } else if let Some(below) = set.with_prefix(&pe) {
                    let (cn, _) = entry_schema(*n, &k);
                    if let Some(child) = m.get_mut(&k) {
                        let was_full = !is_empty_container(child);
                        remove(cn, child, below);
                        if was_full && is_empty_container(child) {
                            m.remove(&k);
                        }
                    }
                }
            }
        }
        (Shape::Keyed(..) | Shape::SetList, Value::Array(items)) => {
            let inode = items_node(&sh);
            let mut kept = Vec::with_capacity(items.len());
            for mut item in std::mem::take(items) {
                let Some(pe) = item_pe(&sh, &item) else {
                    kept.push(item);
                    continue;
                };
                if set.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                if let Some(below) = set.with_prefix(&pe) {
                    remove(inode, &mut item, below);
                }
                kept.push(item);
            }
            *items = kept;
        }
        _ => {}
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// What changed between two versions of an object.
#[derive(Default)]
pub(crate) struct Comparison {
    pub(crate) added: Set,
    pub(crate) modified: Set,
    pub(crate) removed: Set,
}

/// Compares two versions of an object field by field, as upstream does: a
/// leaf that differs is modified; a place present on one side only is
/// added or removed together with everything below it. `go_structs` says
/// the kind is a built-in one, whose by-value structs always exist in
/// upstream's typed form and so are never added or removed themselves.
pub(crate) fn compare(
    node: Option<Node<'_>>,
    old: &Value,
    new: &Value,
    go_structs: bool,
) -> Comparison {
    let mut cmp = Comparison::default();
    walk_compare(
        node,
        Some(old),
        Some(new),
        &mut Vec::new(),
        &mut cmp,
        go_structs,
        true,
    );
    cmp
}

fn walk_compare(
    node: Option<Node<'_>>,
    old: Option<&Value>,
    new: Option<&Value>,
    path: &mut Path,
    cmp: &mut Comparison,
    go_structs: bool,
    always_there: bool,
) {
    let Some(probe) = new.or(old) else { return };
    let sh = shape(node, probe);
    let both_empty = old.is_none_or(is_empty_container) && new.is_none_or(is_empty_container);
    let same_kind = match (old, new) {
        (Some(a), Some(b)) => a.is_object() == b.is_object() && a.is_array() == b.is_array(),
        _ => true,
    };
    match (&sh, old, new) {
        _ if matches!(sh, Shape::Leaf) || both_empty || !same_kind => {
            match (old, new) {
                (None, Some(_)) => cmp.added.insert(path),
                (Some(_), None) => cmp.removed.insert(path),
                (Some(a), Some(b)) if a != b => cmp.modified.insert(path),
                _ => {}
            }
            return;
        }
        (Shape::Map(n), _, _) => {
            let empty = Map::new();
            let om = old.and_then(Value::as_object).unwrap_or(&empty);
            let nm = new.and_then(Value::as_object).unwrap_or(&empty);
            let required: Vec<&str> = n
                .and_then(|n| n.schema().get("required"))
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for k in om.keys().chain(nm.keys().filter(|k| !om.contains_key(*k))) {
                let (cn, _) = entry_schema(*n, k);
                // Upstream compares typed Go objects, in which required
                // fields and structs held by value (marked with an object
                // default) are always there, if only as null.
                let always = go_structs
                    && (required.contains(&k.as_str())
                        || cn.is_some_and(|c| c.get("default").is_some_and(Value::is_object)));
                path.push(Pe::field(k));
                walk_compare(cn, om.get(k), nm.get(k), path, cmp, go_structs, always);
                path.pop();
            }
        }
        (Shape::Keyed(..) | Shape::SetList, _, _) => {
            let inode = items_node(&sh);
            let index = |v: Option<&Value>| -> Vec<(Pe, Value)> {
                let mut out: Vec<(Pe, Value)> = Vec::new();
                for item in v.and_then(Value::as_array).into_iter().flatten() {
                    if let Some(pe) = item_pe(&sh, item)
                        && !out.iter().any(|(p, _)| *p == pe)
                    {
                        out.push((pe, item.clone()));
                    }
                }
                out
            };
            let (oi, ni) = (index(old), index(new));
            let mut all: Vec<&Pe> = oi.iter().map(|(p, _)| p).collect();
            all.extend(
                ni.iter()
                    .map(|(p, _)| p)
                    .filter(|p| !oi.iter().any(|(q, _)| q == *p)),
            );
            for pe in all {
                let o = oi.iter().find(|(p, _)| p == pe).map(|(_, v)| v);
                let n = ni.iter().find(|(p, _)| p == pe).map(|(_, v)| v);
                path.push(pe.clone());
                match sh {
                    Shape::SetList => match (o, n) {
                        (None, Some(_)) => cmp.added.insert(path),
                        (Some(_), None) => cmp.removed.insert(path),
                        _ => {}
                    },
                    _ => walk_compare(inode, o, n, path, cmp, go_structs, false),
                }
                path.pop();
            }
        }
        _ => {}
    }
    if always_there {
        return;
    }
    match (old, new) {
        (None, Some(_)) => cmp.added.insert(path),
        (Some(_), None) => cmp.removed.insert(path),
        _ => {}
    }
}
