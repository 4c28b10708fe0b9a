//! Values the downward API exposes: pod fields and container resources.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ObjectFieldSelector, Pod, ResourceFieldSelector};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{Error, Result};

/// A quantity as an exact fraction `num / den`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Amount {
    num: i128,
    den: i128,
}

fn pow10(e: u32) -> Option<i128> {
    10i128.checked_pow(e)
}

impl Amount {
    /// Parses upstream's quantity syntax: a decimal number with an optional
    /// binary (Ki..Ei), decimal (n, u, m, k, M..E) or exponent suffix.
    pub(crate) fn parse(s: &str) -> Option<Amount> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(split);
        let (negative, digits) = match number.as_bytes().first() {
            Some(b'-') => (true, &number[1..]),
            Some(b'+') => (false, &number[1..]),
            _ => (false, number),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !(int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let mut num: i128 = format!("{int}{frac}").parse().ok()?;
        let mut den = pow10(frac.len() as u32)?;
        let mut exp10: i32 = 0;
        match suffix {
            "" => {}
            "Ki" => num = num.checked_mul(1 << 10)?,
            "Mi" => num = num.checked_mul(1 << 20)?,
            "Gi" => num = num.checked_mul(1 << 30)?,
            "Ti" => num = num.checked_mul(1 << 40)?,
            "Pi" => num = num.checked_mul(1 << 50)?,
            "Ei" => num = num.checked_mul(1 << 60)?,
            "n" => exp10 = -9,
            "u" => exp10 = -6,
            "m" => exp10 = -3,
            "k" => exp10 = 3,
            "M" => exp10 = 6,
            "G" => exp10 = 9,
            "T" => exp10 = 12,
            "P" => exp10 = 15,
            "E" => exp10 = 18,
            e if e.starts_with(['e', 'E']) => exp10 = e[1..].parse().ok()?,
            _ => return None,
        }
        if exp10 >= 0 {
            num = num.checked_mul(pow10(exp10 as u32)?)?;
        } else {
            den = den.checked_mul(pow10((-exp10) as u32)?)?;
        }
        if negative {
            num = -num;
        }
        Some(Amount { num, den })
    }

    fn of(q: &Quantity) -> Result<Amount> {
        Amount::parse(&q.0).ok_or_else(|| Error::Quantity(q.0.clone()))
    }

    /// `ceil(self / divisor)`, as upstream rounds downward API values.
    fn ceil_div(self, divisor: Amount) -> Option<i128> {
        let n = self.num.checked_mul(divisor.den)?;
        let d = self.den.checked_mul(divisor.num)?;
        if d == 0 {
            return None;
        }
        let q = n.div_euclid(d);
        Some(if n.rem_euclid(d) == 0 { q } else { q + 1 })
    }

    /// Value in thousandths, rounded up (upstream's MilliValue).
    pub(crate) fn milli(self) -> i128 {
        self.ceil_div(Amount { num: 1, den: 1000 }).unwrap_or(0)
    }

    /// Value in units, rounded up (upstream's Value).
    pub(crate) fn units(self) -> i128 {
        self.ceil_div(Amount { num: 1, den: 1 }).unwrap_or(0)
    }
}

/// Go's `%q` of a string, as upstream formats label and annotation values.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key="value"` lines, sorted by key.
fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `metadata.labels['key']` -> ("metadata.labels", "key").
fn subscripted(path: &str) -> Option<(&str, &str)> {
    let (base, rest) = path.split_once("['")?;
    let key = rest.strip_suffix("']")?;
    Some((base, key))
}

/// The value of a pod field, as the downward API renders it.
pub(crate) fn field_value(pod: &Pod, sel: &ObjectFieldSelector) -> Result<String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let path = sel.field_path.as_str();
    if let Some((base, key)) = subscripted(path) {
        let map = match base {
            "metadata.labels" => meta.labels.as_ref(),
            "metadata.annotations" => meta.annotations.as_ref(),
            _ => return Err(Error::FieldPath(path.to_string())),
        };
        return Ok(map.and_then(|m| m.get(key)).cloned().unwrap_or_default());
    }
    let s = |v: Option<&String>| v.cloned().unwrap_or_default();
    Ok(match path {
        "metadata.name" => s(meta.name.as_ref()),
        "metadata.namespace" => s(meta.namespace.as_ref()),
        "metadata.uid" => s(meta.uid.as_ref()),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "spec.nodeName" => s(spec.and_then(|p| p.node_name.as_ref())),
        "spec.serviceAccountName" => s(spec.and_then(|p| p.service_account_name.as_ref())),
        "status.hostIP" => s(status.and_then(|p| p.host_ip.as_ref())),
        "status.podIP" => s(status.and_then(|p| p.pod_ip.as_ref())),
        "status.hostIPs" => status
            .and_then(|p| p.host_ips.as_ref())
            .map(|ips| {
                ips.iter()
                    .map(|i| i.ip.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        "status.podIPs" => status
            .and_then(|p| p.pod_ips.as_ref())
            .map(|ips| {
                ips.iter()
                    .map(|i| i.ip.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        _ => return Err(Error::FieldPath(path.to_string())),
    })
}

/// A container's resource value, `ceil(value / divisor)`. Unset limits
/// fall back to the node's allocatable amount, as upstream does.
pub(crate) fn resource_value(
    container: &Container,
    sel: &ResourceFieldSelector,
    allocatable: &BTreeMap<String, Quantity>,
) -> Result<String> {
    let (which, resource) = sel
        .resource
        .split_once('.')
        .ok_or_else(|| Error::Resource(sel.resource.clone()))?;
    let resources = container.resources.as_ref();
    let limits = resources.and_then(|r| r.limits.as_ref());
    let requests = resources.and_then(|r| r.requests.as_ref());
    let value = match which {
        "limits" => limits
            .and_then(|l| l.get(resource))
            .or_else(|| allocatable.get(resource)),
        // Defaulting copies limits into unset requests; zero otherwise.
        "requests" => requests
            .and_then(|r| r.get(resource))
            .or_else(|| limits.and_then(|l| l.get(resource))),
        _ => return Err(Error::Resource(sel.resource.clone())),
    };
    let value = match value {
        Some(q) => Amount::of(q)?,
        None => Amount { num: 0, den: 1 },
    };
    let cpu = resource == "cpu";
    let divisor = match &sel.divisor {
        Some(d) if !d.0.is_empty() => Amount::of(d)?,
        _ => Amount { num: 1, den: 1 },
    };
    let out = if cpu {
        let (v, d) = (value.milli(), divisor.milli());
        if d == 0 {
            return Err(Error::Quantity(
                sel.divisor
                    .as_ref()
                    .map(|q| q.0.clone())
                    .unwrap_or_default(),
            ));
        }
        let q = v.div_euclid(d);
        if v.rem_euclid(d) == 0 { q } else { q + 1 }
    } else if matches!(resource, "memory" | "ephemeral-storage")
        || resource.starts_with("hugepages-")
    {
        let (v, d) = (value.units(), divisor.units());
        if d == 0 {
            return Err(Error::Quantity(
                sel.divisor
                    .as_ref()
                    .map(|q| q.0.clone())
                    .unwrap_or_default(),
            ));
        }
        let q = v.div_euclid(d);
        if v.rem_euclid(d) == 0 { q } else { q + 1 }
    } else {
        return Err(Error::Resource(sel.resource.clone()));
    };
    Ok(out.to_string())
}

/// The container a resourceFieldRef names; in env, the current one.
pub(crate) fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(Amount::parse("500m").unwrap().milli(), 500);
        assert_eq!(Amount::parse("500m").unwrap().units(), 1);
        assert_eq!(Amount::parse("2").unwrap().milli(), 2000);
        assert_eq!(Amount::parse("1.5").unwrap().milli(), 1500);
        assert_eq!(Amount::parse("64Mi").unwrap().units(), 64 << 20);
        assert_eq!(Amount::parse("1G").unwrap().units(), 1_000_000_000);
        assert_eq!(Amount::parse("1e3").unwrap().units(), 1000);
        assert_eq!(Amount::parse("0.5Gi").unwrap().units(), 1 << 29);
        assert!(Amount::parse("12x").is_none());
        assert!(Amount::parse("").is_none());
    }

    #[test]
    fn maps_are_sorted_and_quoted() {
        let m: BTreeMap<String, String> = [("b", "two\n\"x\""), ("a", "1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(format_map(Some(&m)), "a=\"1\"\nb=\"two\\n\\\"x\\\"\"");
    }
}
