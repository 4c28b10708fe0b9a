//! The OpenAPI v2 document in gnostic's protobuf encoding
//! (`openapi.v2.Document` of gnostic-models' `OpenAPIv2.proto`), which
//! kubectl and client-go ask for first. Field numbers are gnostic's.
//! Values without a message of their own (defaults, enums, vendor
//! extensions) travel as `Any { yaml }`; JSON text is valid YAML.

use serde_json::{Map, Value};

use super::docs::Doc;

/// A protobuf message being written.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn boolean(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int(&mut self, field: u32, i: i64) {
        if i != 0 {
            self.key(field, 0);
            self.varint(i as u64);
        }
    }

    fn double(&mut self, field: u32, d: f64) {
        if d != 0.0 {
            self.key(field, 1);
            self.0.extend_from_slice(&d.to_le_bytes());
        }
    }

    fn message(&mut self, field: u32, build: impl FnOnce(&mut Pb)) {
        let mut inner = Pb::default();
        build(&mut inner);
        self.bytes(field, &inner.0);
    }

    /// `Any { yaml }`.
    fn any(&mut self, field: u32, v: &Value) {
        let text = serde_json::to_string(v).unwrap_or_default();
        self.message(field, |a| a.string(2, &text));
    }

    /// A `NamedAny` vendor extension.
    fn extension(&mut self, field: u32, name: &str, v: &Value) {
        self.message(field, |n| {
            n.string(1, name);
            n.any(2, v);
        });
    }
}

fn str_of<'a>(o: &'a Map<String, Value>, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `openapi.v2.Schema`.
fn schema(p: &mut Pb, s: &Value) {
    let Some(o) = s.as_object() else { return };
    p.string(1, str_of(o, "$ref"));
    p.string(2, str_of(o, "format"));
    p.string(3, str_of(o, "title"));
    p.string(4, str_of(o, "description"));
    if let Some(d) = o.get("default") {
        p.any(5, d);
    }
    let num = |k: &str| o.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let int = |k: &str| o.get(k).and_then(Value::as_i64).unwrap_or(0);
    let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
    p.double(6, num("multipleOf"));
    p.double(7, num("maximum"));
    p.boolean(8, flag("exclusiveMaximum"));
    p.double(9, num("minimum"));
    p.boolean(10, flag("exclusiveMinimum"));
    p.int(11, int("maxLength"));
    p.int(12, int("minLength"));
    p.string(13, str_of(o, "pattern"));
    p.int(14, int("maxItems"));
    p.int(15, int("minItems"));
    p.boolean(16, flag("uniqueItems"));
    p.int(17, int("maxProperties"));
    p.int(18, int("minProperties"));
    for r in o
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        p.string(19, r.as_str().unwrap_or(""));
    }
    for e in o
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        p.any(20, e);
    }
    match o.get("additionalProperties") {
        Some(Value::Bool(b)) => p.message(21, |a| {
            a.key(2, 0);
            a.varint(u64::from(*b));
        }),
        Some(v @ Value::Object(_)) => p.message(21, |a| a.message(1, |s| schema(s, v))),
        _ => {}
    }
    match o.get("type") {
        Some(Value::String(t)) => p.message(22, |ty| ty.string(1, t)),
        Some(Value::Array(ts)) => p.message(22, |ty| {
            for t in ts.iter().filter_map(Value::as_str) {
                ty.string(1, t);
            }
        }),
        _ => {}
    }
    if let Some(items) = o.get("items").filter(|i| i.is_object()) {
        p.message(23, |i| i.message(1, |s| schema(s, items)));
    }
    for a in o
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        p.message(24, |s| schema(s, a));
    }
    if let Some(props) = o.get("properties").and_then(Value::as_object) {
        p.message(25, |ps| {
            for (name, v) in props {
                ps.message(1, |n| {
                    n.string(1, name);
                    n.message(2, |s| schema(s, v));
                });
            }
        });
    }
    p.boolean(27, flag("readOnly"));
    for (k, v) in o.iter().filter(|(k, _)| k.starts_with("x-")) {
        p.extension(31, k, v);
    }
}

/// `openapi.v2.ParametersItem` holding a body or a non-body parameter.
fn parameter(p: &mut Pb, v: &Value) {
    let Some(o) = v.as_object() else { return };
    let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
    p.message(1, |param| {
        if str_of(o, "in") == "body" {
            param.message(1, |b| {
                b.string(1, str_of(o, "description"));
                b.string(2, str_of(o, "name"));
                b.string(3, "body");
                b.boolean(4, flag("required"));
                if let Some(s) = o.get("schema") {
                    b.message(5, |sp| schema(sp, s));
                }
            });
            return;
        }
        // QueryParameterSubSchema (3) and PathParameterSubSchema (4)
        // number their common fields alike up to `type`.
        let (which, is_query) = match str_of(o, "in") {
            "path" => (4, false),
            _ => (3, true),
        };
        param.message(2, |nb| {
            nb.message(which, |q| {
                q.boolean(1, flag("required"));
                q.string(2, str_of(o, "in"));
                q.string(3, str_of(o, "description"));
                q.string(4, str_of(o, "name"));
                if is_query {
                    q.string(6, str_of(o, "type"));
                    q.boolean(20, flag("uniqueItems"));
                } else {
                    q.string(5, str_of(o, "type"));
                    q.boolean(19, flag("uniqueItems"));
                }
            });
        });
    });
}

fn operation(p: &mut Pb, op: &Value) {
    let Some(o) = op.as_object() else { return };
    let strings = |k: &str| {
        o.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    };
    for t in strings("tags") {
        p.string(1, t);
    }
    p.string(3, str_of(o, "description"));
    p.string(5, str_of(o, "operationId"));
    for t in strings("produces") {
        p.string(6, t);
    }
    for t in strings("consumes") {
        p.string(7, t);
    }
    for v in o
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        p.message(8, |pi| parameter(pi, v));
    }
    if let Some(rs) = o.get("responses").and_then(Value::as_object) {
        p.message(9, |r| {
            for (code, resp) in rs {
                r.message(1, |n| {
                    n.string(1, code);
                    n.message(2, |rv| {
                        rv.message(1, |re| {
                            re.string(
                                1,
                                resp.get("description")
                                    .and_then(Value::as_str)
                                    .unwrap_or(""),
                            );
                            if let Some(s) = resp.get("schema") {
                                re.message(2, |si| si.message(1, |sp| schema(sp, s)));
                            }
                        });
                    });
                });
            }
        });
    }
    for t in strings("schemes") {
        p.string(10, t);
    }
    for (k, v) in o.iter().filter(|(k, _)| k.starts_with("x-")) {
        p.extension(13, k, v);
    }
}

fn path_item(p: &mut Pb, item: &Value) {
    let Some(o) = item.as_object() else { return };
    for (method, field) in [
        ("get", 2),
        ("put", 3),
        ("post", 4),
        ("delete", 5),
        ("patch", 8),
    ] {
        if let Some(op) = o.get(method) {
            p.message(field, |m| operation(m, op));
        }
    }
    for v in o
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        p.message(9, |pi| parameter(pi, v));
    }
}

/// Encodes a Swagger 2.0 document as `openapi.v2.Document`.
pub(super) fn encode(d: &Doc) -> Vec<u8> {
    let doc = &d.head;
    let mut p = Pb::default();
    p.string(
        1,
        doc.get("swagger").and_then(Value::as_str).unwrap_or("2.0"),
    );
    if let Some(info) = doc.get("info").and_then(Value::as_object) {
        p.message(2, |i| {
            i.string(1, str_of(info, "title"));
            i.string(2, str_of(info, "version"));
        });
    }
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        p.message(8, |ps| {
            for (name, item) in paths {
                ps.message(2, |n| {
                    n.string(1, name);
                    n.message(2, |pi| path_item(pi, item));
                });
            }
        });
    }
    p.message(9, |ds| {
        for (name, s) in d.definitions() {
            ds.message(1, |n| {
                n.string(1, name);
                n.message(2, |sp| schema(sp, s));
            });
        }
    });
    p.0
}
