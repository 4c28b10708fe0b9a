//! The Kubernetes IP and CIDR libraries: `ip("10.0.0.1")`, `cidr("10.0.0.0/8")`
//! and their predicates. IPv4-mapped IPv6 addresses and zones are rejected,
//! as Kubernetes does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::EvalError;
use super::value::Value;

/// An address prefix: the address as written and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) addr: IpAddr,
    pub(crate) len: u8,
}

fn is_mapped(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// Parses an address the way the `ip()` function accepts it.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, EvalError> {
    if s.contains('%') {
        return Err(EvalError::new(format!(
            "IP address with zone value is not allowed: {s}"
        )));
    }
    let ip: IpAddr = s.parse().map_err(|_| {
        EvalError::new(format!(
            "IP Address {s:?} parse error during conversion from string: ParseAddr({s:?}): unable to parse IP"
        ))
    })?;
    if is_mapped(&ip) {
        return Err(EvalError::new(format!(
            "IPv4-mapped IPv6 address is not allowed: {s}"
        )));
    }
    Ok(ip)
}

/// Parses a prefix the way the `cidr()` function accepts it.
pub(crate) fn parse_cidr(s: &str) -> Result<Cidr, EvalError> {
    let bad = || {
        EvalError::new(format!(
            "network address parse error during conversion from string: netip.ParsePrefix({s:?}): invalid prefix"
        ))
    };
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr = parse_ip(addr).map_err(|_| bad())?;
    if len.is_empty()
        || !len.bytes().all(|b| b.is_ascii_digit())
        || (len.len() > 1 && len.starts_with('0'))
    {
        return Err(bad());
    }
    let len: u8 = len.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad());
    }
    Ok(Cidr { addr, len })
}

fn bits(ip: &IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(*v4)), 32),
        IpAddr::V6(v6) => (u128::from(*v6), 128),
    }
}

fn from_bits(v: u128, width: u8) -> IpAddr {
    if width == 32 {
        IpAddr::V4(Ipv4Addr::from(v as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// The network mask of a `len`-bit prefix in a `width`-bit address.
fn mask(len: u8, width: u8) -> u128 {
    let host = u32::from(width - len);
    let all = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    if host >= 128 {
        0
    } else {
        all & !((1u128 << host) - 1)
    }
}

impl Cidr {
    /// The prefix with the host bits cleared.
    pub(crate) fn masked(&self) -> Cidr {
        let (v, w) = bits(&self.addr);
        Cidr {
            addr: from_bits(v & mask(self.len, w), w),
            len: self.len,
        }
    }

    pub(crate) fn contains_ip(&self, ip: &IpAddr) -> bool {
        let (a, w) = bits(&self.addr);
        let (b, w2) = bits(ip);
        w == w2 && (a & mask(self.len, w)) == (b & mask(self.len, w))
    }

    pub(crate) fn contains_cidr(&self, o: &Cidr) -> bool {
        o.len >= self.len && self.contains_ip(&o.addr)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Predicates with Go's `net/netip` meanings.
fn predicate(name: &str, ip: &IpAddr) -> Option<bool> {
    let loopback = ip.is_loopback();
    let unspecified = ip.is_unspecified();
    let link_local_unicast = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    };
    let multicast = ip.is_multicast();
    Some(match name {
        "isUnspecified" => unspecified,
        "isLoopback" => loopback,
        "isLinkLocalUnicast" => link_local_unicast,
        "isLinkLocalMulticast" => match ip {
            IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
            IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
        },
        "isGlobalUnicast" => {
            let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
            !(unspecified || loopback || multicast || link_local_unicast || broadcast)
        }
        _ => return None,
    })
}

/// Member functions on `net.IP` values; `None` when no overload matches.
pub(super) fn ip_method(name: &str, ip: &IpAddr, rest: &[Value]) -> Option<Value> {
    if !rest.is_empty() {
        return None;
    }
    match name {
        "family" => Some(Value::Int(if ip.is_ipv4() { 4 } else { 6 })),
        _ => predicate(name, ip).map(Value::Bool),
    }
}

/// Member functions on `net.CIDR` values.
pub(super) fn cidr_method(
    name: &str,
    c: &Cidr,
    rest: &[Value],
) -> Option<Result<Value, EvalError>> {
    Some(match (name, rest) {
        ("containsIP", [Value::Ip(ip)]) => Ok(Value::Bool(c.contains_ip(ip))),
        ("containsIP", [Value::String(s)]) => parse_ip(s).map(|ip| Value::Bool(c.contains_ip(&ip))),
        ("containsCIDR", [Value::Cidr(o)]) => Ok(Value::Bool(c.contains_cidr(o))),
        ("containsCIDR", [Value::String(s)]) => {
            parse_cidr(s).map(|o| Value::Bool(c.contains_cidr(&o)))
        }
        ("ip", []) => Ok(Value::Ip(c.addr)),
        ("masked", []) => Ok(Value::Cidr(c.masked())),
        ("prefixLength", []) => Ok(Value::Int(i64::from(c.len))),
        _ => return None,
    })
}

/// `ip.isCanonical(s)`: whether `s` is the address's canonical spelling.
pub(super) fn is_canonical(s: &str) -> Result<bool, EvalError> {
    Ok(parse_ip(s)?.to_string() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask(0, 32), 0);
        assert_eq!(mask(8, 32), 0xff00_0000);
        assert_eq!(mask(32, 32), 0xffff_ffff);
        assert_eq!(mask(128, 128), u128::MAX);
        assert_eq!(mask(1, 128), 1u128 << 127);
    }
}
