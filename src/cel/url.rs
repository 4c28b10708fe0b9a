//! The Kubernetes URL library: `url("https://example.com:80/p?q=1")` with
//! `getScheme`, `getHost`, `getHostname`, `getPort`, `getEscapedPath` and
//! `getQuery`. Like Kubernetes, only absolute URLs and absolute paths are
//! accepted (request-URI rules: no relative references, no opaque forms).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::EvalError;
use super::value::{Key, Value};

/// A parsed URL; components are kept as written (still escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    raw: String,
    scheme: String,
    /// `host[:port]`, brackets kept for IPv6.
    host: String,
    path: String,
    query: String,
}

impl Url {
    pub(crate) fn parse(s: &str) -> Result<Url, EvalError> {
        let bad = |why: &str| {
            EvalError::new(format!(
                "URL parse error during conversion from string: parse {s:?}: {why}"
            ))
        };
        if s.is_empty() || s.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad("invalid URI for request"));
        }
        let (before_query, query) = s.split_once('?').unwrap_or((s, ""));
        let (scheme, rest) = if before_query.starts_with('/') {
            ("", before_query)
        } else {
            let (scheme, rest) = before_query
                .split_once(':')
                .ok_or_else(|| bad("invalid URI for request"))?;
            let valid = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !valid {
                return Err(bad("missing protocol scheme"));
            }
            if !rest.starts_with('/') {
                return Err(bad("invalid URI for request"));
            }
            (scheme, rest)
        };
        let (host, path) = match rest.strip_prefix("//") {
            Some(auth_path) if !scheme.is_empty() => {
                let end = auth_path.find('/').unwrap_or(auth_path.len());
                let (authority, path) = auth_path.split_at(end);
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                check_host(host).map_err(&bad)?;
                (host.to_string(), path.to_string())
            }
            _ => (String::new(), rest.to_string()),
        };
        check_escapes(&path).map_err(bad)?;
        Ok(Url {
            raw: s.to_string(),
            scheme: scheme.to_string(),
            host,
            path,
            query: query.to_string(),
        })
    }

    fn hostname(&self) -> &str {
        if let Some(rest) = self.host.strip_prefix('[') {
            return rest.split_once(']').map_or(rest, |(h, _)| h);
        }
        self.host.split_once(':').map_or(&self.host, |(h, _)| h)
    }

    fn port(&self) -> &str {
        let after_brackets = match self.host.rfind(']') {
            Some(i) => &self.host[i + 1..],
            None => &self.host,
        };
        after_brackets.split_once(':').map_or("", |(_, p)| p)
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

fn check_host(host: &str) -> Result<(), &'static str> {
    let port = if let Some(rest) = host.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or("missing ']' in host")?;
        addr.parse::<std::net::Ipv6Addr>()
            .map_err(|_| "invalid IPv6 host")?;
        match after.strip_prefix(':') {
            Some(p) => p,
            None if after.is_empty() => "",
            None => return Err("invalid port after host"),
        }
    } else {
        let (name, port) = host.split_once(':').unwrap_or((host, ""));
        if name.contains(':')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=".contains(c))
        {
            return Err("invalid character in host name");
        }
        port
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid port after host");
    }
    Ok(())
}

fn check_escapes(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("invalid URL escape");
        }
    }
    Ok(())
}

/// Decodes `%XX` escapes and `+` as space, as query values are decoded.
fn unescape_query(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> u8 {
    char::from(c).to_digit(16).unwrap_or(0) as u8
}

/// Member functions on URL values.
pub(super) fn method(name: &str, u: &Url, rest: &[Value]) -> Option<Value> {
    if !rest.is_empty() {
        return None;
    }
    Some(match name {
        "getScheme" => Value::from(u.scheme.as_str()),
        "getHost" => Value::from(u.host.as_str()),
        "getHostname" => Value::from(u.hostname()),
        "getPort" => Value::from(u.port()),
        "getEscapedPath" => Value::from(u.path.as_str()),
        "getQuery" => {
            let mut m: BTreeMap<Key, Vec<Value>> = BTreeMap::new();
            for pair in u.query.split(['&']).filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                m.entry(Key::String(Arc::from(unescape_query(k))))
                    .or_default()
                    .push(Value::from(unescape_query(v)));
            }
            Value::Map(Arc::new(
                m.into_iter().map(|(k, v)| (k, Value::from(v))).collect(),
            ))
        }
        _ => return None,
    })
}
