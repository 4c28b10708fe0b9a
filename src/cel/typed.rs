//! Schema-directed conversion of JSON into CEL values, as Kubernetes does for
//! CRD validation rules: strings with `format: date-time` or `date` become
//! timestamps, `format: duration` durations and `format: byte` bytes, and
//! `type: number` values are doubles even when written without a fraction,
//! and lists keep their `x-kubernetes-list-type` (sets and map lists compare
//! without regard to order); all other values convert as plain JSON.

use base64::Engine;
use serde_json::Value as Json;

use std::sync::Arc;

use super::time::{Duration, Timestamp};
use super::value::{List, ListKind, Value};
use crate::schema::{ListType, Node};

/// Converts `j` guided by its schema `node` (`None` where no schema applies,
/// e.g. under `x-kubernetes-preserve-unknown-fields`). A string that does not
/// parse in its declared format stays a string.
pub(crate) fn from_json_with_schema(node: Option<Node<'_>>, j: &Json) -> Value {
    let Some(node) = node else {
        return Value::from_json(j);
    };
    match j {
        Json::String(s) => {
            let format = node.get("format").and_then(Json::as_str);
            let typed = match format {
                Some("date-time") => Timestamp::parse(s).ok().map(Value::Timestamp),
                Some("date") => Timestamp::parse(&format!("{s}T00:00:00Z"))
                    .ok()
                    .map(Value::Timestamp),
                Some("duration") => Duration::parse(s).ok().map(Value::Duration),
                Some("byte") => base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .ok()
                    .map(|b| Value::Bytes(b.into())),
                _ => None,
            };
            typed.unwrap_or_else(|| Value::from(s.as_str()))
        }
        Json::Array(items) => {
            let item_node = node.items();
            let kind = match node.list_type() {
                ListType::Atomic => ListKind::Atomic,
                ListType::Set => ListKind::Set,
                ListType::Map(keys) => ListKind::Map(keys.iter().map(|k| k.to_string()).collect()),
            };
            let items = items
                .iter()
                .map(|i| from_json_with_schema(item_node, i))
                .collect();
            Value::List(Arc::new(List { items, kind }))
        }
        Json::Object(fields) => Value::object(fields.iter().map(|(k, v)| {
            let child = node.field(k).or_else(|| node.additional());
            (k.clone(), from_json_with_schema(child, v))
        })),
        Json::Number(n) if node.type_name() == Some("number") => {
            Value::Double(n.as_f64().unwrap_or(f64::NAN))
        }
        other => Value::from_json(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cel::compile;
    use crate::schema::Definitions;

    #[test]
    fn list_types_decide_equality_and_concatenation() {
        let defs = Definitions::new();
        let schema = json!({
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}},
                },
                "order": {"type": "array", "items": {"type": "string"}},
            },
        });
        let node = Node::new(&defs, &schema);
        let new = json!({"tags": ["a", "b"], "ports": [{"name": "x", "port": 1}, {"name": "y", "port": 2}], "order": ["a", "b"]});
        let old = json!({"tags": ["b", "a"], "ports": [{"name": "y", "port": 2}, {"name": "x", "port": 1}], "order": ["b", "a"]});
        let bind = |j: &serde_json::Value| from_json_with_schema(Some(node), j);
        let check = |expr: &str| {
            let prg = compile(expr, &["self", "oldSelf"]).unwrap();
            let vars = [("self", bind(&new)), ("oldSelf", bind(&old))];
            prg.eval_values(&vars, crate::cel::COST_LIMIT)
                .map(|v| v.to_json())
                .map_err(|e| e.message)
        };
        assert_eq!(
            check("self.tags == oldSelf.tags && self.ports == oldSelf.ports"),
            Ok(json!(true))
        );
        assert_eq!(check("self.order == oldSelf.order"), Ok(json!(false)));
        assert_eq!(check("self == oldSelf"), Ok(json!(false)));
        assert_eq!(check("self.tags + ['b', 'c']"), Ok(json!(["a", "b", "c"])));
        assert_eq!(
            check("self.ports + [{'name': 'x', 'port': dyn(9)}, {'name': 'z', 'port': dyn(3)}]"),
            Ok(
                json!([{"name": "x", "port": 9}, {"name": "y", "port": 2}, {"name": "z", "port": 3}])
            )
        );
        assert_eq!(check("self.order + ['a']"), Ok(json!(["a", "b", "a"])));
        assert_eq!(
            check("self.ports != oldSelf.ports.filter(p, p.name == 'x')"),
            Ok(json!(true))
        );
    }

    #[test]
    fn formats_become_typed_values() {
        let defs = Definitions::new();
        let schema = json!({
            "type": "object",
            "properties": {
                "created": {"type": "string", "format": "date-time"},
                "day": {"type": "string", "format": "date"},
                "ttl": {"type": "string", "format": "duration"},
                "blob": {"type": "string", "format": "byte"},
                "windows": {"type": "array", "items": {"type": "string", "format": "duration"}},
                "named": {"type": "object", "additionalProperties": {"type": "string", "format": "date-time"}},
                "bad": {"type": "string", "format": "date-time"},
                "ratio": {"type": "number"},
                "count": {"type": "integer"},
            },
        });
        let object = json!({
            "created": "2024-01-01T00:00:00Z",
            "day": "2024-01-02",
            "ttl": "1h",
            "blob": "aGk=",
            "windows": ["1m", "2m"],
            "named": {"a": "2024-01-01T01:00:00Z"},
            "bad": "not a time",
            "ratio": 1,
            "count": 2,
            "extra": "2024-01-01T00:00:00Z",
        });
        let v = from_json_with_schema(Some(Node::new(&defs, &schema)), &object);
        let prg = compile(
            "self.created + self.ttl == self.named.a && self.day - self.created == duration('24h') \
             && self.blob == b'hi' && self.windows.all(w, w < duration('5m')) \
             && self.bad == 'not a time' && type(self.extra) == string \
             && self.ratio + 0.5 == 1.5 && self.count + 1 == 3",
            &["self"],
        )
        .unwrap();
        assert!(matches!(
            prg.eval_values(&[("self", v)], crate::cel::COST_LIMIT),
            Ok(Value::Bool(true))
        ));
    }
}
