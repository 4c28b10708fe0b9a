//! Table columns of custom resources: NAME, then the version's
//! `additionalPrinterColumns`, or upstream's default AGE column when it
//! has none.

use serde_json::{Value, json};

use super::CustomInfo;

/// One `additionalPrinterColumns` entry.
#[derive(Debug, Clone)]
pub(crate) struct PrinterColumn {
    pub(crate) name: String,
    /// integer, number, string, boolean or date.
    pub(crate) kind: String,
    pub(crate) format: String,
    pub(crate) description: String,
    pub(crate) priority: i64,
    pub(crate) json_path: String,
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

pub(crate) fn parse(v: Option<&Value>) -> Vec<PrinterColumn> {
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| PrinterColumn {
            name: text(c, "name"),
            kind: text(c, "type"),
            format: text(c, "format"),
            description: text(c, "description"),
            priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            json_path: text(c, "jsonPath"),
        })
        .collect()
}

fn effective(info: &CustomInfo) -> Vec<PrinterColumn> {
    if !info.columns.is_empty() {
        return info.columns.clone();
    }
    vec![PrinterColumn {
        name: "Age".into(),
        kind: "date".into(),
        format: String::new(),
        description: "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata".into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }]
}

/// The Table's `columnDefinitions`.
pub(crate) fn definitions(info: &CustomInfo) -> Vec<Value> {
    let mut cols = vec![json!({
        "name": "Name", "type": "string", "format": "name",
        "description": NAME_DESCRIPTION, "priority": 0,
    })];
    for c in effective(info) {
        cols.push(json!({
            "name": c.name, "type": c.kind, "format": c.format,
            "description": c.description, "priority": c.priority,
        }));
    }
    cols
}

/// A row's cells: values at the columns' JSONPaths, dates as ages, missing
/// values as null (kubectl prints `<none>`).
pub(crate) fn cells(info: &CustomInfo, obj: &Value, age: impl Fn(&str) -> String) -> Vec<Value> {
    let mut cells = vec![json!(super::str_at(obj, "/metadata/name"))];
    for c in effective(info) {
        let v = first_match(obj, &c.json_path).filter(|v| !v.is_null());
        let cell = match (c.kind.as_str(), v) {
            (_, None) => Value::Null,
            ("date", Some(Value::String(ts))) => json!(age(ts)),
            ("integer", Some(v)) if v.is_number() => json!(v.as_f64().map(|f| f as i64)),
            ("number", Some(v)) if v.is_number() => v.clone(),
            ("boolean", Some(Value::Bool(b))) => json!(b),
            ("string", Some(Value::String(s))) => json!(s),
            (_, Some(v @ (Value::Array(_) | Value::Object(_)))) => json!(v.to_string()),
            (_, Some(Value::String(s))) => json!(s),
            (_, Some(v)) => json!(v.to_string()),
        };
        cells.push(cell);
    }
    cells
}

/// The first value a printer column's JSONPath selects, as upstream's
/// table convertor takes it. Supports what CRDs use in practice: `.a.b`,
/// `['a.b']`, `[0]`, `[*]` and filters like `[?(@.type=="Ready")]`.
pub(crate) fn first_match<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path);
    walk(obj, path.strip_prefix('$').unwrap_or(path))
}

fn walk<'a>(cur: &'a Value, rest: &str) -> Option<&'a Value> {
    if rest.is_empty() {
        return Some(cur);
    }
    if let Some(r) = rest.strip_prefix('[') {
        let end = bracket_end(r)?;
        let inner = r[..end].trim();
        let after = &r[end + 1..];
        if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
            let items = cur.as_array()?;
            return items
                .iter()
                .filter(|item| filter_matches(item, filter))
                .find_map(|item| walk(item, after));
        }
        if inner == "*" {
            return match cur {
                Value::Array(items) => items.iter().find_map(|i| walk(i, after)),
                Value::Object(map) => map.values().find_map(|v| walk(v, after)),
                _ => None,
            };
        }
        if let Some(key) = inner
            .strip_prefix('\'')
            .and_then(|k| k.strip_suffix('\''))
            .or_else(|| inner.strip_prefix('"').and_then(|k| k.strip_suffix('"')))
        {
            return walk(cur.get(key)?, after);
        }
        let i: i64 = inner.parse().ok()?;
        let items = cur.as_array()?;
        let idx = if i < 0 { items.len() as i64 + i } else { i };
        return walk(items.get(usize::try_from(idx).ok()?)?, after);
    }
    let r = rest.strip_prefix('.').unwrap_or(rest);
    if r.is_empty() {
        return Some(cur);
    }
    let end = r.find(['.', '[']).unwrap_or(r.len());
    let (name, after) = r.split_at(end);
    if name == "*" {
        return match cur {
            Value::Array(items) => items.iter().find_map(|i| walk(i, after)),
            Value::Object(map) => map.values().find_map(|v| walk(v, after)),
            _ => None,
        };
    }
    walk(cur.get(name)?, after)
}

/// Where the bracket opened before `s` closes, skipping quoted text.
fn bracket_end(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ']') if depth == 0 => return Some(i),
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `@.a.b=="x"`, `@.a!=3`, or `@.a` (present and not false/null).
fn filter_matches(item: &Value, filter: &str) -> bool {
    let (lhs, op, rhs) = if let Some((l, r)) = filter.split_once("==") {
        (l, Some(true), r)
    } else if let Some((l, r)) = filter.split_once("!=") {
        (l, Some(false), r)
    } else {
        (filter, None, "")
    };
    let lhs = lhs.trim().strip_prefix('@').unwrap_or(lhs.trim());
    let found = walk(item, lhs);
    let Some(eq) = op else {
        return found.is_some_and(|v| !v.is_null() && *v != Value::Bool(false));
    };
    let rhs = rhs.trim();
    let literal = rhs
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| rhs.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .map(|s| Value::String(s.to_string()))
        .or_else(|| serde_json::from_str(rhs).ok());
    (found.is_some() && found.cloned() == literal) == eq
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let obj = json!({
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"replicas": 3, "ports": [{"port": 80}, {"port": 443}]},
            "status": {"conditions": [
                {"type": "Progressing", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "Waiting"}
            ]}
        });
        assert_eq!(first_match(&obj, ".spec.replicas"), Some(&json!(3)));
        assert_eq!(first_match(&obj, ".spec.ports[1].port"), Some(&json!(443)));
        assert_eq!(first_match(&obj, ".spec.ports[-1].port"), Some(&json!(443)));
        assert_eq!(first_match(&obj, ".spec.ports[*].port"), Some(&json!(80)));
        assert_eq!(
            first_match(&obj, ".status.conditions[?(@.type==\"Ready\")].status"),
            Some(&json!("False"))
        );
        assert_eq!(
            first_match(&obj, ".status.conditions[?(@.type=='Ready')].reason"),
            Some(&json!("Waiting"))
        );
        assert_eq!(
            first_match(&obj, ".metadata.labels['app.kubernetes.io/name']"),
            Some(&json!("web"))
        );
        assert_eq!(first_match(&obj, ".status.replicas"), None);
        assert_eq!(
            first_match(&obj, ".status.conditions[?(@.type==\"Gone\")].status"),
            None
        );
    }
}
