//! Reading the protobuf wire format against the generated schema.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::schema::MESSAGES;

/// Field types as they appear on the wire and in JSON.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ty {
    S,
    B,
    Bool,
    I32,
    I64,
    F64,
    /// A message, by index into `MESSAGES`.
    M(usize),
    /// map<string, string>
    MapS,
    /// map<string, bytes>
    MapB,
    /// map<string, message>
    MapM(usize),
}

/// A field: number, JSON name (empty: embedded inline, as Go embeds
/// structs), type, repeated, and whether a zero value is kept (required
/// fields and pointers whose zero means something); other zero scalars are
/// what Go writes for unset fields, which JSON leaves out.
pub(super) struct F(
    pub(super) u32,
    pub(super) &'static str,
    pub(super) Ty,
    pub(super) bool,
    pub(super) bool,
);

pub(super) struct Message {
    pub(super) name: &'static str,
    pub(super) fields: &'static [F],
}

/// Nesting deeper than this is refused rather than recursed into.
const MAX_DEPTH: usize = 64;

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

type Result<T> = std::result::Result<T, String>;

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(super) fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or("truncated field")?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(super) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length out of range")?;
        self.take(n)
    }

    /// Field number and wire type of the next field.
    pub(super) fn key(&mut self) -> Result<(u32, u8)> {
        let k = self.varint()?;
        Ok(((k >> 3) as u32, (k & 7) as u8))
    }

    pub(super) fn skip(&mut self, wire: u8) -> Result<()> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.take(8).map(|_| ()),
            2 => self.bytes().map(|_| ()),
            5 => self.take(4).map(|_| ()),
            other => Err(format!("unsupported wire type {other}")),
        }
    }
}

fn string(b: &[u8]) -> Result<Value> {
    String::from_utf8(b.to_vec())
        .map(Value::String)
        .map_err(|_| "string field is not UTF-8".into())
}

fn scalar(ty: Ty, wire: u8, r: &mut Reader<'_>) -> Result<Value> {
    Ok(match (ty, wire) {
        (Ty::Bool, 0) => Value::Bool(r.varint()? != 0),
        // Negative int32 values are sign-extended to 64 bits on the wire.
        (Ty::I32, 0) => json!(r.varint()? as i64 as i32),
        (Ty::I64, 0) => json!(r.varint()? as i64),
        (Ty::F64, 1) => {
            let b = r.take(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            json!(f64::from_le_bytes(a))
        }
        (t, w) => return Err(format!("wire type {w} does not fit a {t:?} field")),
    })
}

fn timestamp(secs: i64, nanos: i64, micro: bool) -> Value {
    // The zero time is how Go writes an unset time; JSON says null.
    if secs == 0 && nanos == 0 {
        return Value::Null;
    }
    let ts = jiff::Timestamp::new(secs, if micro { nanos as i32 } else { 0 })
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let fmt = if micro {
        "%Y-%m-%dT%H:%M:%S.%6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Value::String(ts.strftime(fmt).to_string())
}

/// Go's duration text, e.g. `1h2m3.5s`.
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    let (h, m) = (ns / 3_600_000_000_000, (ns / 60_000_000_000) % 60);
    let s = (ns % 60_000_000_000) as f64 / 1e9;
    let mut out = sign.to_string();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{s}s"));
    out
}

/// A field read without a schema: number, wire type, bytes, varint.
type RawField = (u32, u8, Vec<u8>, u64);

/// Messages whose JSON form is not their field structure.
fn special(name: &str, buf: &[u8]) -> Result<Option<Value>> {
    let leaf = name.rsplit("::").next().unwrap_or(name);
    let fields = |buf| -> Result<Vec<RawField>> {
        let mut r = Reader::new(buf);
        let mut out = Vec::new();
        while !r.done() {
            let (tag, wire) = r.key()?;
            match wire {
                0 => out.push((tag, wire, Vec::new(), r.varint()?)),
                2 => out.push((tag, wire, r.bytes()?.to_vec(), 0)),
                w => r.skip(w)?,
            }
        }
        Ok(out)
    };
    let get_int = |fs: &[RawField], t: u32| {
        fs.iter()
            .find(|f| f.0 == t && f.1 == 0)
            .map(|f| f.3 as i64)
            .unwrap_or(0)
    };
    let get_bytes = |fs: &[RawField], t: u32| {
        fs.iter()
            .find(|f| f.0 == t && f.1 == 2)
            .map(|f| f.2.clone())
            .unwrap_or_default()
    };
    let is_meta = name.starts_with("apimachinery::pkg::apis::meta::v1::");
    Ok(match leaf {
        "Time" if is_meta => {
            let fs = fields(buf)?;
            Some(timestamp(get_int(&fs, 1), 0, false))
        }
        "MicroTime" if is_meta => {
            let fs = fields(buf)?;
            Some(timestamp(get_int(&fs, 1), get_int(&fs, 2), true))
        }
        "Duration" if is_meta => Some(Value::String(go_duration(get_int(&fields(buf)?, 1)))),
        "Quantity" => Some(string(&get_bytes(&fields(buf)?, 1))?),
        "IntOrString" => {
            let fs = fields(buf)?;
            if get_int(&fs, 1) == 1 {
                Some(string(&get_bytes(&fs, 3))?)
            } else {
                Some(json!(get_int(&fs, 2) as i32))
            }
        }
        // Embedded JSON documents travel as raw bytes.
        "RawExtension" | "FieldsV1" | "Json" => {
            let raw = get_bytes(&fields(buf)?, 1);
            Some(
                serde_json::from_slice(&raw)
                    .map_err(|e| format!("embedded JSON in {leaf}: {e}"))?,
            )
        }
        _ => None,
    })
}

pub(super) fn message(idx: usize, buf: &[u8], depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err("message nested too deeply".into());
    }
    let msg = MESSAGES.get(idx).ok_or("unknown message")?;
    if let Some(v) = special(msg.name, buf)? {
        return Ok(v);
    }
    let mut out = Map::new();
    let mut r = Reader::new(buf);
    while !r.done() {
        let (tag, wire) = r.key()?;
        let Some(field) = msg.fields.iter().find(|f| f.0 == tag) else {
            r.skip(wire)?;
            continue;
        };
        let F(_, name, ty, repeated, keep_zero) = *field;
        let mut values = Vec::new();
        match ty {
            Ty::S => values.push(string(r.bytes()?)?),
            Ty::B => values.push(Value::String(
                base64::engine::general_purpose::STANDARD.encode(r.bytes()?),
            )),
            Ty::M(i) => values.push(message(i, r.bytes()?, depth + 1)?),
            Ty::MapS | Ty::MapB | Ty::MapM(_) => {
                let (k, v) = map_entry(ty, r.bytes()?, depth)?;
                let entry = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
                if let Some(m) = entry.as_object_mut() {
                    m.insert(k, v);
                }
                continue;
            }
            // Packed repeated scalars.
            _ if wire == 2 && repeated => {
                let mut inner = Reader::new(r.bytes()?);
                while !inner.done() {
                    values.push(scalar(
                        ty,
                        if matches!(ty, Ty::F64) { 1 } else { 0 },
                        &mut inner,
                    )?);
                }
            }
            _ => values.push(scalar(ty, wire, &mut r)?),
        }
        if repeated {
            let entry = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
            if let Some(a) = entry.as_array_mut() {
                a.extend(values);
            }
        } else if let Some(v) = values.pop() {
            if name.is_empty() {
                if let Value::Object(inner) = v {
                    out.extend(inner);
                }
            } else if v.is_null() || (!keep_zero && is_zero(&v)) {
                out.remove(name);
            } else {
                out.insert(name.to_string(), v);
            }
        }
    }
    Ok(Value::Object(out))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn map_entry(ty: Ty, buf: &[u8], depth: usize) -> Result<(String, Value)> {
    let mut r = Reader::new(buf);
    let mut key = String::new();
    let mut value = match ty {
        Ty::MapM(_) => json!({}),
        _ => json!(""),
    };
    while !r.done() {
        let (tag, wire) = r.key()?;
        match (tag, ty) {
            (1, _) => {
                key = String::from_utf8(r.bytes()?.to_vec()).map_err(|_| "map key is not UTF-8")?
            }
            (2, Ty::MapS) => value = string(r.bytes()?)?,
            (2, Ty::MapB) => {
                value = Value::String(base64::engine::general_purpose::STANDARD.encode(r.bytes()?))
            }
            (2, Ty::MapM(i)) => value = message(i, r.bytes()?, depth + 1)?,
            _ => r.skip(wire)?,
        }
    }
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(3_723_000_000_000), "1h2m3s");
        assert_eq!(go_duration(120_000_000_000), "2m0s");
    }
}
