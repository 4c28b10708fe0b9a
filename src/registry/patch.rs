//! PATCH request bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386)
//! and Kubernetes strategic merge patch (SMP).
//!
//! Upstream decides SMP list behaviour from Go struct tags (`patchStrategy`,
//! `patchMergeKey`), which its OpenAPI documents publish as
//! `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key`. The
//! merge here walks the kind's schema with [`Node`] beside the object, so
//! each list follows the strategy of its own type (container ports merge by
//! `containerPort`, Service ports by `port`, Endpoints ports not at all);
//! [`schemas::root`] finds the schema of a kind.

use serde_json::{Map, Value};

use crate::schema::Node;

pub(crate) mod schemas;

type Object = Map<String, Value>;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList";

// Messages of upstream's `mergepatch` sentinel errors, kept so clients that
// match on them keep working.
const ERR_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const ERR_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const ERR_SET_ORDER: &str = "invalid patch format of setElementOrder list";
const ERR_LIST_OF_LISTS: &str = "lists of lists are not supported";

/// The three patch formats a PATCH request can carry here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    Json,
    Merge,
    StrategicMerge,
}

impl PatchKind {
    /// Maps a `Content-Type` header to a patch kind. Parameters such as
    /// `;charset=utf-8` are ignored, as upstream cuts the header at `;`.
    pub(crate) fn from_content_type(ct: &str) -> Option<PatchKind> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        // Media types are case-insensitive (RFC 9110), so accept any casing.
        match base.to_ascii_lowercase().as_str() {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::StrategicMerge),
            _ => None,
        }
    }
}

/// Why a patch could not be applied. Each variant maps to the HTTP status
/// upstream kube-apiserver answers with (see `status_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatchError {
    /// The patch document itself is malformed: not JSON, wrong shape, a bad
    /// directive. Upstream: 400 BadRequest.
    Malformed(String),
    /// The patch is well formed but cannot be applied to this object: a JSON
    /// patch op failed (`test` mismatch, missing path) or an SMP list holds
    /// lists. Upstream (`handlers/patch.go`, `applyJSPatch`) answers 422 with
    /// reason `Invalid` via `NewGenericServerResponse`, whose body message is
    /// the generic "the server rejected our request due to an error in our
    /// request"; the detail carried here is ours to show or log.
    Apply(String),
    /// Strategic merge patch on a kind without Go struct metadata (custom
    /// resources). Upstream's CRD handler does not list the media type, so
    /// the request fails with 415 UnsupportedMediaType.
    Unsupported(String),
}

impl PatchError {
    /// The HTTP status upstream uses for this error.
    pub(crate) fn status_code(&self) -> u16 {
        match self {
            PatchError::Malformed(_) => 400,
            PatchError::Apply(_) => 422,
            PatchError::Unsupported(_) => 415,
        }
    }

    /// The `metav1.Status` reason upstream uses for this error.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            PatchError::Malformed(_) => "BadRequest",
            PatchError::Apply(_) => "Invalid",
            PatchError::Unsupported(_) => "UnsupportedMediaType",
        }
    }
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchError::Malformed(m) | PatchError::Apply(m) | PatchError::Unsupported(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for PatchError {}

fn malformed(msg: impl Into<String>) -> PatchError {
    PatchError::Malformed(msg.into())
}

/// What a strategic merge patch may rely on for the object's kind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Strategic<'a> {
    /// Custom resources: upstream has no merge metadata for them and refuses
    /// the media type (415).
    Refused,
    /// A built-in kind, merged as its schema says.
    Schema(Node<'a>),
}

/// Applies `patch` (raw request body) to `current`, returning the patched
/// object. `strategic` says how a strategic merge patch treats the kind.
pub(crate) fn apply(
    kind: PatchKind,
    current: &Value,
    patch: &[u8],
    strategic: Strategic<'_>,
) -> Result<Value, PatchError> {
    // Upstream rejects the media type before it reads the body, so a CR gets
    // 415 even when the body is garbage.
    let node = match strategic {
        Strategic::Schema(node) => Some(node),
        Strategic::Refused => None,
    };
    if kind == PatchKind::StrategicMerge && node.is_none() {
        return Err(PatchError::Unsupported(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json"
                .to_owned(),
        ));
    }
    let doc: Value = serde_json::from_slice(patch)
        .map_err(|e| malformed(format!("error decoding patch: {e}")))?;
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(doc)
                .map_err(|e| malformed(format!("error decoding patch: {e}")))?;
            let mut out = current.clone();
            json_patch::patch(&mut out, &ops).map_err(|e| PatchError::Apply(e.to_string()))?;
            Ok(out)
        }
        PatchKind::Merge => {
            // RFC 7386 would let a non-object replace the whole document, but
            // an API object must stay an object, and upstream answers 400
            // ("Invalid JSON Patch") for scalar and null patches.
            if !doc.is_object() {
                return Err(malformed(
                    "Invalid JSON Patch: a merge patch must be a JSON object",
                ));
            }
            let mut out = current.clone();
            json_patch::merge(&mut out, &doc);
            Ok(out)
        }
        PatchKind::StrategicMerge => {
            let Value::Object(patch) = doc else {
                // Upstream decodes into a Go map, which fails with a 400.
                return Err(malformed("a strategic merge patch must be a JSON object"));
            };
            let base = current.as_object().cloned().unwrap_or_default();
            // `$patch: delete` on the whole object leaves an empty object, as
            // upstream does; the caller's name checks then reject it.
            Ok(Value::Object(
                merge_map(base, &patch, node)?.unwrap_or_default(),
            ))
        }
    }
}

/// How a list field is merged, as its schema's patch extensions say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStrategy<'a> {
    /// No patch strategy: the patch's list replaces the live one.
    Atomic,
    /// `x-kubernetes-patch-strategy: merge` on a list of primitives: a set
    /// union.
    Set,
    /// `merge` with `x-kubernetes-patch-merge-key`: elements matched by key.
    Keyed(&'a str),
}

/// The strategy of a list whose schema is `node`. A list the schema does
/// not describe is replaced, as upstream replaces lists without tags.
fn list_strategy(node: Option<Node<'_>>) -> ListStrategy<'_> {
    let Some(node) = node else {
        return ListStrategy::Atomic;
    };
    if !node.patch_strategy().merge {
        return ListStrategy::Atomic;
    }
    match node.patch_merge_key() {
        Some(key) => ListStrategy::Keyed(key),
        None => ListStrategy::Set,
    }
}

/// The schema of `key` inside an object described by `node`: a declared
/// property, else the value schema of a map.
fn child<'a>(node: Option<Node<'a>>, key: &str) -> Option<Node<'a>> {
    let node = node?;
    node.field(key).or_else(|| node.additional())
}

fn no_merge_key(m: &Object, key: &str) -> PatchError {
    malformed(format!(
        "map: {} does not contain declared merge key: {key}",
        Value::Object(m.clone())
    ))
}

fn bad_patch_type(directive: &Value, m: &Object) -> PatchError {
    malformed(format!(
        "unknown patch type: {directive} in map: {}",
        Value::Object(m.clone())
    ))
}

/// Merges `patch` into `orig`. `None` means the map is deleted by
/// `$patch: delete`.
fn merge_map(
    mut orig: Object,
    patch: &Object,
    node: Option<Node<'_>>,
) -> Result<Option<Object>, PatchError> {
    match patch.get(DIRECTIVE) {
        None => {}
        Some(Value::String(s)) if s == "merge" => {}
        // The SMP doc: deleting a map this way equals setting it to null.
        Some(Value::String(s)) if s == "delete" => return Ok(None),
        Some(Value::String(s)) if s == "replace" => {
            // Take the patch literally; merging it into an empty map still
            // resolves nested directives so none leak into the result.
            let mut rest = patch.clone();
            rest.remove(DIRECTIVE);
            return merge_map(Object::new(), &rest, node);
        }
        Some(other) => return Err(bad_patch_type(other, patch)),
    }

    // `$retainKeys` clears every live key it does not list. Upstream applies
    // it before merging and requires the patch's own keys to be listed.
    if let Some(list) = patch.get(RETAIN_KEYS) {
        let keep: Vec<&str> = list
            .as_array()
            .and_then(|a| a.iter().map(Value::as_str).collect())
            .ok_or_else(|| malformed(ERR_RETAIN_KEYS))?;
        let unlisted = patch
            .iter()
            .any(|(k, v)| !v.is_null() && !k.starts_with('$') && !keep.contains(&k.as_str()));
        if unlisted {
            return Err(malformed(ERR_RETAIN_KEYS));
        }
        orig.retain(|k, _| keep.contains(&k.as_str()));
    }

    // `$setElementOrder/<field>` reorders after merging, against the live
    // order from before the merge, so capture that first.
    let mut orders = Vec::new();
    for (key, value) in patch {
        let Some(rest) = key.strip_prefix(SET_ORDER) else {
            continue;
        };
        let (Some(field), Value::Array(order)) = (rest.strip_prefix('/'), value) else {
            return Err(malformed(ERR_SET_ORDER));
        };
        let before = match orig.get(field) {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        orders.push((field, order, before));
    }

    for (key, value) in patch {
        if let Some(rest) = key.strip_prefix(DELETE_PRIMITIVE) {
            let (Some(field), Value::Array(remove)) = (rest.strip_prefix('/'), value) else {
                return Err(malformed(ERR_PRIMITIVE_LIST));
            };
            if let Some(Value::Array(list)) = orig.get_mut(field) {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        // Other directives were handled above. Unknown ones are ignored: the
        // SMP design doc requires servers to skip directives they do not
        // know, so newer clients keep working.
        if key.starts_with('$') {
            continue;
        }
        if value.is_null() {
            orig.remove(key);
            continue;
        }
        match orig.get_mut(key) {
            Some(slot) => match merge_value(Some(slot.take()), value, child(node, key), key)? {
                Some(v) => *slot = v,
                None => {
                    orig.remove(key);
                }
            },
            None => {
                if let Some(v) = merge_value(None, value, child(node, key), key)? {
                    orig.insert(key.clone(), v);
                }
            }
        }
    }

    for (field, order, before) in orders {
        let key = match list_strategy(child(node, field)) {
            // An atomic list is taken from the patch verbatim, order and all.
            ListStrategy::Atomic => continue,
            ListStrategy::Set => None,
            ListStrategy::Keyed(k) => Some(k),
        };
        let order_ids = order
            .iter()
            .map(|item| match (item, key) {
                (Value::Object(m), Some(k)) => m.get(k).cloned().ok_or_else(|| no_merge_key(m, k)),
                (v, None) if !v.is_object() && !v.is_array() => Ok(v.clone()),
                _ => Err(malformed(ERR_SET_ORDER)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(Value::Array(items)) = patch.get(field) {
            check_order(items, &order_ids, key, field)?;
        }
        if let Some(Value::Array(list)) = orig.get_mut(field) {
            let before_ids = ids(&before, key);
            *list = reorder(std::mem::take(list), &order_ids, &before_ids, key);
        }
    }
    Ok(Some(orig))
}

/// Merges one non-null patch value into the live value (if any). `None`
/// means the field is deleted.
fn merge_value(
    orig: Option<Value>,
    patch: &Value,
    node: Option<Node<'_>>,
    field: &str,
) -> Result<Option<Value>, PatchError> {
    match patch {
        // `x-kubernetes-patch-strategy: replace` on a map (a PDB's
        // selector): the patch's map is taken as it is.
        Value::Object(p) if node.is_some_and(|n| n.patch_strategy().replace) => {
            Ok(merge_map(Object::new(), p, node)?.map(Value::Object))
        }
        // A live value of another type is replaced; the patch is still merged
        // into an empty map or list so its directives are resolved.
        Value::Object(p) => {
            let base = match orig {
                Some(Value::Object(m)) => m,
                _ => Object::new(),
            };
            Ok(merge_map(base, p, node)?.map(Value::Object))
        }
        Value::Array(p) => {
            let base = match orig {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            merge_list(base, p, node, field).map(|l| Some(Value::Array(l)))
        }
        scalar => Ok(Some(scalar.clone())),
    }
}

fn has_directive(v: &Value) -> bool {
    v.get(DIRECTIVE).is_some()
}

/// A patch element merged into nothing: directives resolved, nulls dropped.
fn fresh(m: &Object, item: Option<Node<'_>>) -> Result<Value, PatchError> {
    Ok(Value::Object(
        merge_map(Object::new(), m, item)?.unwrap_or_default(),
    ))
}

fn merge_list(
    mut list: Vec<Value>,
    patch: &[Value],
    node: Option<Node<'_>>,
    field: &str,
) -> Result<Vec<Value>, PatchError> {
    let item = node.and_then(|n| n.items());
    let key = match list_strategy(node) {
        ListStrategy::Atomic => {
            // Replace wholesale. `$patch` markers carry no meaning for a list
            // that is replaced anyway, so such elements are dropped.
            return patch
                .iter()
                .filter(|v| !has_directive(v))
                .map(|v| match v {
                    Value::Object(m) => fresh(m, item),
                    other => Ok(other.clone()),
                })
                .collect();
        }
        ListStrategy::Set => None,
        ListStrategy::Keyed(k) => Some(k),
    };
    if patch.iter().chain(list.iter()).any(Value::is_array) {
        return Err(PatchError::Apply(ERR_LIST_OF_LISTS.to_owned()));
    }

    let Some(key) = key else {
        if patch.iter().any(Value::is_object) {
            return Err(malformed(format!(
                "cannot merge lists without merge key for field {field}"
            )));
        }
        // Set union, deduplicated as upstream does.
        let before = list.clone();
        let mut merged: Vec<Value> = Vec::with_capacity(list.len() + patch.len());
        for v in list.into_iter().chain(patch.iter().cloned()) {
            if !merged.contains(&v) {
                merged.push(v);
            }
        }
        return Ok(reorder(merged, patch, &before, None));
    };

    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(m) = item else {
            return Err(malformed(format!(
                "expected a map in list {field}, got {item}"
            )));
        };
        match m.get(DIRECTIVE) {
            None => plain.push(m),
            Some(Value::String(s)) if s == "delete" => {
                // Deletes every live element with that key, as upstream does.
                let id = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
                list.retain(|e| e.get(key) != Some(id));
            }
            // Upstream: the whole list becomes the patch's other elements.
            Some(Value::String(s)) if s == "replace" => replace = true,
            // Merging is what a keyed list does anyway; a bare marker is a
            // no-op and a keyed element merges normally.
            Some(Value::String(s)) if s == "merge" => {
                if m.contains_key(key) {
                    plain.push(m);
                }
            }
            Some(other) => return Err(bad_patch_type(other, m)),
        }
    }
    if replace {
        return plain.into_iter().map(|m| fresh(m, item)).collect();
    }

    let before = ids(&list, Some(key));
    let mut patch_ids = Vec::with_capacity(plain.len());
    for m in plain {
        let id = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
        patch_ids.push(id.clone());
        match list.iter().position(|e| e.get(key) == Some(id)) {
            Some(i) => {
                let base = match list[i].take() {
                    Value::Object(o) => o,
                    _ => Object::new(),
                };
                list[i] = Value::Object(merge_map(base, m, item)?.unwrap_or_default());
            }
            None => list.push(fresh(m, item)?),
        }
    }
    Ok(reorder(list, &patch_ids, &before, Some(key)))
}

/// The identity of a list element: its merge key value, or the element
/// itself for primitive sets.
fn ident<'a>(v: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(k) => v.get(k),
        None => Some(v),
    }
}

fn ids(list: &[Value], key: Option<&str>) -> Vec<Value> {
    list.iter()
        .map(|v| ident(v, key).cloned().unwrap_or(Value::Null))
        .collect()
}

fn position(order: &[Value], v: &Value, key: Option<&str>) -> Option<usize> {
    ident(v, key).and_then(|id| order.iter().position(|o| o == id))
}

/// Upstream's ordering rule: elements named by the patch (or by
/// `$setElementOrder`) follow that order; the rest keep their live order;
/// the two runs are interleaved so that a live element stays ahead of a patch
/// element it preceded before, and patch elements new to the list come
/// first. That is why a container added by a plain SMP lands at the front.
fn reorder(items: Vec<Value>, order: &[Value], before: &[Value], key: Option<&str>) -> Vec<Value> {
    let (mut named, mut rest): (Vec<Value>, Vec<Value>) = items
        .into_iter()
        .partition(|v| position(order, v, key).is_some());
    named.sort_by_key(|v| position(order, v, key));
    rest.sort_by_key(|v| position(before, v, key).unwrap_or(usize::MAX));

    let mut out = Vec::with_capacity(named.len() + rest.len());
    let mut named = named.into_iter().peekable();
    let mut rest = rest.into_iter().peekable();
    loop {
        let take_rest = match (rest.peek(), named.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(r), Some(n)) => matches!(
                (position(before, r, key), position(before, n, key)),
                (Some(a), Some(b)) if a < b
            ),
        };
        let next = if take_rest { rest.next() } else { named.next() };
        out.extend(next);
    }
    out
}

/// Upstream requires the patch list's elements to appear in
/// `$setElementOrder` in the same relative order.
fn check_order(
    items: &[Value],
    order: &[Value],
    key: Option<&str>,
    field: &str,
) -> Result<(), PatchError> {
    let mut from = 0;
    for item in items.iter().filter(|v| !has_directive(v)) {
        let found = ident(item, key).and_then(|id| order[from..].iter().position(|o| o == id));
        let Some(i) = found else {
            return Err(malformed(format!(
                "the order in patch list {field} doesn't match $setElementOrder list: {}",
                Value::Array(order.to_vec())
            )));
        };
        from += i + 1;
    }
    Ok(())
}

#[cfg(test)]
mod doc_cases;
#[cfg(test)]
mod tests;
