//! The strings extension library (`charAt`, `indexOf`, `split`, `format`,
//! ...) and the regular expression functions, counting positions in code
//! points as CEL does.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

use super::EvalError;
use super::functions::{err, to_string};
use super::value::{Value, format_double};

type Result<T> = std::result::Result<T, EvalError>;

/// Code-point length and contents, as CEL's string functions count.
fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn index_err(i: i64) -> EvalError {
    err(format!("index out of range: {i}"))
}

/// Compiled regular expressions, shared across evaluations; patterns are
/// nearly always literals, so the cache stays small (it is reset when large).
pub(super) fn regex(pattern: &str) -> Result<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(r) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(r.clone());
    }
    let r =
        Regex::new(&re2_classes(pattern)).map_err(|e| err(format!("error parsing regexp: {e}")))?;
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    if c.len() > 256 {
        c.clear();
    }
    c.insert(pattern.to_string(), r.clone());
    Ok(r)
}

/// Gives the Perl classes RE2's ASCII meaning (`\d` is `[0-9]`, not any
/// Unicode digit), since the regex crate defaults to Unicode classes.
fn re2_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push(c);
                    break;
                };
                let replacement = match (e, in_class) {
                    ('d', false) => Some("[0-9]"),
                    ('D', false) => Some("[^0-9]"),
                    ('w', false) => Some("[0-9A-Za-z_]"),
                    ('W', false) => Some("[^0-9A-Za-z_]"),
                    ('s', false) => Some("[\\t\\n\\f\\r ]"),
                    ('S', false) => Some("[^\\t\\n\\f\\r ]"),
                    ('b', false) => Some("(?-u:\\b)"),
                    ('B', false) => Some("(?-u:\\B)"),
                    ('d', true) => Some("0-9"),
                    ('w', true) => Some("0-9A-Za-z_"),
                    ('s', true) => Some("\\t\\n\\f\\r "),
                    _ => None,
                };
                match replacement {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push(c);
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            // A `]` first in a class is a literal.
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

pub(super) fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The strings extension library; `None` when no overload matches.
pub(super) fn strings(name: &str, all: &[Value]) -> Option<Result<Value>> {
    use Value as V;
    let V::String(s) = &all[0] else { return None };
    let args = &all[1..];
    Some(match (name, args) {
        ("charAt", [V::Int(i)]) => {
            let cs = chars(s);
            match usize::try_from(*i) {
                Ok(n) if n < cs.len() => Ok(V::from(cs[n].to_string())),
                Ok(n) if n == cs.len() => Ok(V::from("")),
                _ => Err(index_err(*i)),
            }
        }
        ("indexOf", [V::String(sub)]) => Ok(V::Int(index_of(s, sub, 0).unwrap_or(-1))),
        ("indexOf", [V::String(sub), V::Int(off)]) => {
            let n = s.chars().count() as i64;
            if *off < 0 || *off > n {
                return Some(Err(index_err(*off)));
            }
            Ok(V::Int(index_of(s, sub, *off as usize).unwrap_or(-1)))
        }
        ("lastIndexOf", [V::String(sub)]) => Ok(V::Int(last_index_of(s, sub, None))),
        ("lastIndexOf", [V::String(sub), V::Int(off)]) => {
            let n = s.chars().count() as i64;
            if *off < 0 || *off > n {
                return Some(Err(index_err(*off)));
            }
            Ok(V::Int(last_index_of(s, sub, Some(*off as usize))))
        }
        ("lowerAscii", []) => Ok(V::from(s.to_ascii_lowercase())),
        ("upperAscii", []) => Ok(V::from(s.to_ascii_uppercase())),
        ("replace", [V::String(from), V::String(to)]) => Ok(V::from(s.replace(&**from, to))),
        ("replace", [V::String(from), V::String(to), V::Int(n)]) => Ok(V::from(if *n < 0 {
            s.replace(&**from, to)
        } else {
            s.replacen(&**from, to, *n as usize)
        })),
        ("split", [V::String(sep)]) => Ok(split(s, sep, -1)),
        ("split", [V::String(sep), V::Int(n)]) => Ok(split(s, sep, *n)),
        ("substring", [V::Int(start)]) => substring(s, *start, None),
        ("substring", [V::Int(start), V::Int(end)]) => substring(s, *start, Some(*end)),
        ("trim", []) => Ok(V::from(s.trim())),
        ("reverse", []) => Ok(V::from(s.chars().rev().collect::<String>())),
        ("format", [V::List(items)]) => format(s, items),
        ("matches", _) | ("contains", _) | ("startsWith", _) | ("endsWith", _) => return None,
        ("find", [V::String(re)]) => {
            regex(re).map(|r| V::from(r.find(s).map_or("", |m| m.as_str())))
        }
        ("findAll", [V::String(re)]) => find_all(s, re, -1),
        ("findAll", [V::String(re), V::Int(n)]) => find_all(s, re, *n),
        _ => return None,
    })
}

fn find_all(s: &str, re: &str, limit: i64) -> Result<Value> {
    let r = regex(re)?;
    let n = if limit < 0 {
        usize::MAX
    } else {
        limit as usize
    };
    Ok(Value::from(
        r.find_iter(s)
            .take(n)
            .map(|m| Value::from(m.as_str()))
            .collect::<Vec<_>>(),
    ))
}

/// Code-point index of `sub` in `s` at or after code point `from`.
fn index_of(s: &str, sub: &str, from: usize) -> Option<i64> {
    let byte_from = s.char_indices().nth(from).map_or(s.len(), |(b, _)| b);
    let at = s[byte_from..].find(sub)? + byte_from;
    Some(s[..at].chars().count() as i64)
}

/// Code-point index of the last `sub` in `s` starting at or before code point `upto`.
fn last_index_of(s: &str, sub: &str, upto: Option<usize>) -> i64 {
    let cs = chars(s);
    let subc = chars(sub);
    let last_start = upto
        .unwrap_or(cs.len())
        .min(cs.len().saturating_sub(subc.len()));
    if subc.len() > cs.len() {
        return -1;
    }
    (0..=last_start)
        .rev()
        .find(|&i| cs[i..i + subc.len()] == subc[..])
        .map_or(-1, |i| i as i64)
}

fn split(s: &str, sep: &str, n: i64) -> Value {
    let parts: Vec<Value> = if n == 0 {
        Vec::new()
    } else if sep.is_empty() {
        // Go splits into code points, the last part taking the remainder.
        let cs = chars(s);
        let limit = if n < 0 {
            cs.len()
        } else {
            (n as usize).min(cs.len())
        };
        let mut out: Vec<Value> = cs
            .iter()
            .take(limit.saturating_sub(1))
            .map(|c| Value::from(c.to_string()))
            .collect();
        if limit > 0 {
            out.push(Value::from(cs[limit - 1..].iter().collect::<String>()));
        }
        out
    } else if n < 0 {
        s.split(sep).map(Value::from).collect()
    } else {
        s.splitn(n as usize, sep).map(Value::from).collect()
    };
    Value::from(parts)
}

fn substring(s: &str, start: i64, end: Option<i64>) -> Result<Value> {
    let cs = chars(s);
    let len = cs.len() as i64;
    let end_v = end.unwrap_or(len);
    if start < 0 || start > len {
        return Err(index_err(start));
    }
    if end_v < 0 || end_v > len {
        return Err(index_err(end_v));
    }
    if start > end_v {
        return Err(err(format!(
            "invalid substring range. start: {start}, end: {end_v}"
        )));
    }
    Ok(Value::from(
        cs[start as usize..end_v as usize]
            .iter()
            .collect::<String>(),
    ))
}

/// `"...".format([args])`: `%s`, `%d`, `%f`/`%.Nf`, `%e`, `%x`/`%X`, `%o`, `%b`, `%%`.
fn format(fmt: &str, args: &[Value]) -> Result<Value> {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut digits = String::new();
            while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                it.next();
            }
            precision = digits.parse().ok();
        }
        let Some(verb) = it.next() else {
            return Err(err("unexpected end of format string"));
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(next_arg)
            .ok_or_else(|| err(format!("index {next_arg} out of range")))?;
        next_arg += 1;
        let text = match (verb, arg) {
            ('s', v) => format_s(v)?,
            ('d', Value::Int(i)) => i.to_string(),
            ('d', Value::Uint(u)) => u.to_string(),
            ('d', Value::Double(d)) if d.is_nan() || d.is_infinite() => format_double(*d)
                .replace("+Inf", "Infinity")
                .replace("-Inf", "-Infinity"),
            ('f', v) => format!(
                "{:.*}",
                precision.unwrap_or(6),
                as_f64(v).ok_or_else(|| bad_format(verb, v))?
            ),
            ('e', v) => {
                let s = format!(
                    "{:.*e}",
                    precision.unwrap_or(6),
                    as_f64(v).ok_or_else(|| bad_format(verb, v))?
                );
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let e: i32 = e.parse().unwrap_or(0);
                format!(
                    "{m}e{}{:02}",
                    if e < 0 { '-' } else { '+' },
                    e.unsigned_abs()
                )
            }
            ('x', Value::Int(i)) => signed_radix(*i, |u| format!("{u:x}")),
            ('x', Value::Uint(u)) => format!("{u:x}"),
            ('x', Value::String(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('x', Value::Bytes(b)) => b.iter().map(|b| format!("{b:02x}")).collect(),
            ('X', Value::Int(i)) => signed_radix(*i, |u| format!("{u:X}")),
            ('X', Value::Uint(u)) => format!("{u:X}"),
            ('X', Value::String(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
            ('o', Value::Int(i)) => signed_radix(*i, |u| format!("{u:o}")),
            ('o', Value::Uint(u)) => format!("{u:o}"),
            ('b', Value::Int(i)) => signed_radix(*i, |u| format!("{u:b}")),
            ('b', Value::Uint(u)) => format!("{u:b}"),
            ('b', Value::Bool(b)) => b.to_string(),
            (v, a) => return Err(bad_format(v, a)),
        };
        out.push_str(&text);
    }
    Ok(Value::from(out))
}

fn signed_radix(i: i64, f: impl Fn(u64) -> String) -> String {
    if i < 0 {
        format!("-{}", f(i.unsigned_abs()))
    } else {
        f(i as u64)
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Double(d) => Some(*d),
        Value::Int(i) => Some(*i as f64),
        Value::Uint(u) => Some(*u as f64),
        _ => None,
    }
}

fn bad_format(verb: char, v: &Value) -> EvalError {
    err(format!(
        "error during formatting: unrecognized formatting clause \"{verb}\" for type {}",
        v.type_name()
    ))
}

fn format_s(v: &Value) -> Result<String> {
    Ok(match v {
        Value::List(l) => {
            let parts: Result<Vec<String>> = l.iter().map(format_s).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Map(m) => {
            let mut parts = Vec::new();
            for (k, x) in m.iter() {
                parts.push(format!("{}: {}", format_s(&k.to_value())?, format_s(x)?));
            }
            format!("{{{}}}", parts.join(", "))
        }
        Value::Null => "null".into(),
        Value::Type(t) => (*t).into(),
        other => match to_string(other) {
            Some(Ok(Value::String(s))) => s.to_string(),
            _ => other.to_string(),
        },
    })
}
