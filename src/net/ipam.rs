//! Address management for the pod CIDR, kept on disk so a restarted server
//! hands every pod the address it had and never one that is still in use.
//!
//! Layout under the state directory: `ipam/<ip>` holds the pod uid that owns
//! the address; `ipam/last` remembers the last address handed out so freed
//! addresses are reused as late as possible. An address file is published
//! with `link(2)` from a fully written temporary file, which both makes its
//! content atomic and fails if another writer claimed the address first.

use std::fmt;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{Error, Result};

/// An IPv4 network in CIDR notation, e.g. `10.42.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    /// The network containing `addr`; host bits are cleared.
    pub(crate) fn new(addr: Ipv4Addr, prefix: u8) -> Result<Ipv4Cidr> {
        if prefix > 30 {
            return Err(Error::InvalidCidr(format!("{addr}/{prefix}")));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Ipv4Cidr {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    pub(crate) fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub(crate) fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The bridge's address: the first host address.
    pub(crate) fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    pub(crate) fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | (u32::MAX >> self.prefix))
    }

    pub(crate) fn contains(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.prefix);
        u32::from(addr) & mask == u32::from(self.network)
    }

    /// Addresses pods may get: all hosts but the gateway.
    fn pod_range(&self) -> (u32, u32) {
        (
            u32::from(self.gateway()) + 1,
            u32::from(self.broadcast()) - 1,
        )
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Ipv4Cidr> {
        let bad = || Error::InvalidCidr(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        Ipv4Cidr::new(addr, prefix).map_err(|_| bad())
    }
}

/// Pod uids become file names; refuse anything that could escape a directory.
pub(crate) fn check_uid(uid: &str) -> Result<()> {
    let ok = !uid.is_empty()
        && uid.len() <= 128
        && !uid.starts_with('.')
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidPodUid(uid.to_string()))
    }
}

pub(crate) struct Ipam {
    dir: PathBuf,
    cidr: Ipv4Cidr,
}

impl Ipam {
    pub(crate) fn open(state_dir: &Path, cidr: Ipv4Cidr) -> Result<Ipam> {
        let dir = state_dir.join("ipam");
        fs::create_dir_all(&dir).map_err(|e| Error::State(dir.clone(), e))?;
        Ok(Ipam { dir, cidr })
    }

    /// Every address on record with its owner, in address order.
    pub(crate) fn allocations(&self) -> Result<Vec<(Ipv4Addr, String)>> {
        let entries = fs::read_dir(&self.dir).map_err(|e| Error::State(self.dir.clone(), e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::State(self.dir.clone(), e))?;
            let name = entry.file_name();
            let Some(ip) = name.to_str().and_then(|n| n.parse::<Ipv4Addr>().ok()) else {
                continue;
            };
            let path = entry.path();
            match fs::read_to_string(&path) {
                Ok(owner) => out.push((ip, owner.trim().to_string())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::State(path, e)),
            }
        }
        out.sort();
        Ok(out)
    }

    pub(crate) fn lookup(&self, uid: &str) -> Result<Option<Ipv4Addr>> {
        Ok(self
            .allocations()?
            .into_iter()
            .find(|(ip, owner)| owner == uid && self.cidr.contains(*ip))
            .map(|(ip, _)| ip))
    }

    /// The pod's address: the one on record, or the next free one.
    pub(crate) fn allocate(&self, uid: &str) -> Result<Ipv4Addr> {
        check_uid(uid)?;
        if let Some(ip) = self.lookup(uid)? {
            return Ok(ip);
        }
        let (first, last) = self.cidr.pod_range();
        let start = self
            .last_allocated()
            .filter(|ip| (first..=last).contains(&u32::from(*ip)))
            .map_or(first, |ip| u32::from(ip) + 1);
        let tmp = self.dir.join(format!(".claim-{uid}"));
        fs::write(&tmp, uid).map_err(|e| Error::State(tmp.clone(), e))?;
        let size = last - first + 1;
        let mut result = Err(Error::Exhausted(self.cidr.to_string()));
        for step in 0..size {
            let candidate = first + (start - first + step) % size;
            let ip = Ipv4Addr::from(candidate);
            let path = self.dir.join(ip.to_string());
            match fs::hard_link(&tmp, &path) {
                Ok(()) => {
                    self.remember_last(ip)?;
                    result = Ok(ip);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    result = Err(Error::State(path, e));
                    break;
                }
            }
        }
        let _ = fs::remove_file(&tmp);
        result
    }

    /// Frees whatever the pod holds; holding nothing is fine.
    pub(crate) fn release(&self, uid: &str) -> Result<()> {
        for (ip, owner) in self.allocations()? {
            if owner == uid {
                let path = self.dir.join(ip.to_string());
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::State(path, e)),
                }
            }
        }
        Ok(())
    }

    fn last_allocated(&self) -> Option<Ipv4Addr> {
        fs::read_to_string(self.dir.join("last"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn remember_last(&self, ip: Ipv4Addr) -> Result<()> {
        let tmp = self.dir.join(".last.tmp");
        let path = self.dir.join("last");
        fs::write(&tmp, ip.to_string()).map_err(|e| Error::State(tmp.clone(), e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::State(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipam(dir: &Path, cidr: &str) -> Ipam {
        Ipam::open(dir, cidr.parse().unwrap()).unwrap()
    }

    #[test]
    fn cidr_parses_and_normalizes() {
        let c: Ipv4Cidr = "10.42.0.7/24".parse().unwrap();
        assert_eq!(c.to_string(), "10.42.0.0/24");
        assert_eq!(c.gateway(), Ipv4Addr::new(10, 42, 0, 1));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 42, 0, 255));
        assert!(c.contains(Ipv4Addr::new(10, 42, 0, 200)));
        assert!(!c.contains(Ipv4Addr::new(10, 42, 1, 2)));
        for bad in [
            "10.42.0.0",
            "10.42.0.0/33",
            "10.42.0.0/31",
            "x/24",
            "10.42.0.0/",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn allocation_is_stable_and_unique() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = ipam(dir.path(), "10.1.2.0/24");
        let a = ipam.allocate("pod-a").unwrap();
        let b = ipam.allocate("pod-b").unwrap();
        assert_eq!(
            a,
            Ipv4Addr::new(10, 1, 2, 2),
            "first pod address follows the gateway"
        );
        assert_ne!(a, b);
        assert_eq!(ipam.allocate("pod-a").unwrap(), a, "same pod, same address");
        // A fresh instance over the same directory (a restarted server).
        let again = self::ipam(dir.path(), "10.1.2.0/24");
        assert_eq!(again.allocate("pod-b").unwrap(), b);
        assert_eq!(again.lookup("pod-a").unwrap(), Some(a));
        assert_eq!(
            fs::read_to_string(dir.path().join("ipam").join(a.to_string())).unwrap(),
            "pod-a"
        );
    }

    #[test]
    fn released_address_is_not_reused_at_once_and_in_use_never() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = ipam(dir.path(), "10.1.3.0/29"); // pods: .2 to .6
        let ips: Vec<_> = (0..5)
            .map(|i| ipam.allocate(&format!("p{i}")).unwrap())
            .collect();
        let mut sorted = ips.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 5);
        assert!(matches!(ipam.allocate("p5"), Err(Error::Exhausted(_))));
        ipam.release("p1").unwrap();
        ipam.release("p1").unwrap();
        assert_eq!(ipam.lookup("p1").unwrap(), None);
        // Only the freed address is available, and it is the one handed out.
        assert_eq!(ipam.allocate("p5").unwrap(), ips[1]);
        let owners: Vec<_> = ipam
            .allocations()
            .unwrap()
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        assert_eq!(owners.len(), 5);
        assert!(!owners.contains(&"p1".to_string()));
    }

    #[test]
    fn wraps_round_instead_of_reusing_a_just_freed_address() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = ipam(dir.path(), "10.1.4.0/24");
        let a = ipam.allocate("a").unwrap();
        ipam.release("a").unwrap();
        let b = ipam.allocate("b").unwrap();
        assert_ne!(a, b, "a freed address waits for the range to wrap");
    }

    #[test]
    fn foreign_claims_are_respected() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = ipam(dir.path(), "10.1.5.0/24");
        // Another writer holds .2 already.
        fs::write(dir.path().join("ipam/10.1.5.2"), "other").unwrap();
        assert_eq!(ipam.allocate("mine").unwrap(), Ipv4Addr::new(10, 1, 5, 3));
    }

    #[test]
    fn unsafe_uids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = ipam(dir.path(), "10.1.6.0/24");
        for uid in ["", "../x", "a/b", ".hidden"] {
            assert!(
                matches!(ipam.allocate(uid), Err(Error::InvalidPodUid(_))),
                "{uid}"
            );
        }
    }
}
