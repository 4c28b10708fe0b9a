//! What the host offers and how it is doing: sizes, identity, addresses
//! and the checks that decide whether containers can run here. Everything
//! read from the kernel goes through `Host`, so the node logic is tested
//! with a fake.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Static facts about the machine, read once per status round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostInfo {
    pub(crate) cpus: u32,
    pub(crate) memory_bytes: u64,
    pub(crate) hostname: String,
    pub(crate) internal_ip: Ipv4Addr,
    pub(crate) machine_id: String,
    pub(crate) system_uuid: String,
    pub(crate) boot_id: String,
    pub(crate) kernel_version: String,
    pub(crate) os_image: String,
}

impl Default for HostInfo {
    fn default() -> HostInfo {
        HostInfo {
            cpus: 1,
            memory_bytes: 0,
            hostname: String::new(),
            internal_ip: Ipv4Addr::LOCALHOST,
            machine_id: String::new(),
            system_uuid: String::new(),
            boot_id: String::new(),
            kernel_version: String::new(),
            os_image: String::new(),
        }
    }
}

/// Measurements that drive the pressure conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    pub(crate) memory_available: u64,
    pub(crate) disk_total: u64,
    pub(crate) disk_available: u64,
    pub(crate) inodes_total: u64,
    pub(crate) inodes_free: u64,
    pub(crate) pids_max: u64,
    pub(crate) pids_used: u64,
}

pub(crate) trait Host: Send + Sync {
    fn info(&self) -> HostInfo;
    fn usage(&self) -> Usage;
    /// Why containers cannot run here, if they cannot.
    fn runtime_problem(&self) -> Option<String>;
}

/// The real machine; disk figures are for the file system of `data_dir`.
pub(crate) struct LinuxHost {
    pub(crate) data_dir: PathBuf,
}

impl Host for LinuxHost {
    fn info(&self) -> HostInfo {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().trim().to_string())
            .unwrap_or_default();
        let machine_id = read_trimmed("/etc/machine-id");
        let system_uuid = Some(read_trimmed("/sys/class/dmi/id/product_uuid"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| machine_id.clone());
        HostInfo {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1),
            memory_bytes: meminfo_kib("MemTotal").unwrap_or(0) * 1024,
            hostname,
            internal_ip: internal_ip(),
            machine_id,
            system_uuid,
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
            kernel_version: read_trimmed("/proc/sys/kernel/osrelease"),
            os_image: os_image(&std::fs::read_to_string("/etc/os-release").unwrap_or_default()),
        }
    }

    fn usage(&self) -> Usage {
        let mut u = Usage {
            memory_available: meminfo_kib("MemAvailable").unwrap_or(0) * 1024,
            ..Usage::default()
        };
        if let Ok(st) = nix::sys::statvfs::statvfs(&self.data_dir) {
            let frsize = st.fragment_size();
            u.disk_total = st.blocks() * frsize;
            u.disk_available = st.blocks_available() * frsize;
            u.inodes_total = st.files();
            u.inodes_free = st.files_available();
        }
        u.pids_max = read_trimmed("/proc/sys/kernel/pid_max")
            .parse()
            .unwrap_or(0);
        // Fourth field of loadavg: runnable/total scheduling entities.
        u.pids_used = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| {
                let field = s.split_whitespace().nth(3)?.to_string();
                field.split_once('/')?.1.parse().ok()
            })
            .unwrap_or(0);
        u
    }

    fn runtime_problem(&self) -> Option<String> {
        if !nix::unistd::geteuid().is_root() {
            return Some("sovedge runs without root privileges".into());
        }
        let cgroup = Path::new("/sys/fs/cgroup");
        let v2 = cgroup.join("cgroup.controllers").exists();
        let v1 = cgroup.join("memory").is_dir() && cgroup.join("cpu").is_dir();
        if !v2 && !v1 {
            return Some("no usable cgroup hierarchy under /sys/fs/cgroup".into());
        }
        let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
        if !filesystems
            .lines()
            .any(|l| l.split_whitespace().last() == Some("overlay"))
            && !overlay_module_available()
        {
            return Some("the kernel has no overlay file system".into());
        }
        None
    }
}

fn overlay_module_available() -> bool {
    let release = read_trimmed("/proc/sys/kernel/osrelease");
    let dir = Path::new("/lib/modules")
        .join(release)
        .join("kernel/fs/overlayfs");
    std::fs::read_dir(dir)
        .map(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("overlay.ko")))
        })
        .unwrap_or(false)
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn meminfo_kib(key: &str) -> Option<u64> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?, key)
}

fn parse_meminfo(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.split_whitespace().next()?.parse().ok())?
    })
}

/// PRETTY_NAME from os-release, as upstream reports osImage.
pub(crate) fn os_image(os_release: &str) -> String {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "Linux".into())
}

/// Interface of the IPv4 default route, from /proc/net/route.
pub(crate) fn default_route_interface(route_table: &str) -> Option<String> {
    route_table.lines().skip(1).find_map(|l| {
        let mut f = l.split_whitespace();
        let iface = f.next()?;
        let dest = f.next()?;
        let _gateway = f.next()?;
        let flags = u32::from_str_radix(f.next()?, 16).ok()?;
        // RTF_UP
        (dest == "00000000" && flags & 1 == 1).then(|| iface.to_string())
    })
}

/// First non-loopback IPv4 address of the default-route interface, else
/// of any interface, else 127.0.0.1.
pub(crate) fn internal_ip() -> Ipv4Addr {
    let route = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let iface = default_route_interface(&route);
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Ipv4Addr::LOCALHOST;
    };
    let v4: Vec<(String, Ipv4Addr)> = addrs
        .filter_map(|a| {
            let ip = a.address?.as_sockaddr_in()?.ip();
            (!ip.is_loopback() && !ip.is_link_local()).then_some((a.interface_name, ip))
        })
        .collect();
    v4.iter()
        .find(|(name, _)| Some(name) == iface.as_ref())
        .or_else(|| v4.first())
        .map(|(_, ip)| *ip)
        .unwrap_or(Ipv4Addr::LOCALHOST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo() {
        let text = "MemTotal:       16318480 kB\nMemFree:  100 kB\nMemAvailable:   9000 kB\n";
        assert_eq!(parse_meminfo(text, "MemTotal"), Some(16318480));
        assert_eq!(parse_meminfo(text, "MemAvailable"), Some(9000));
        assert_eq!(parse_meminfo(text, "Swap"), None);
    }

    #[test]
    fn os_release() {
        let text = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(os_image(text), "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(os_image(""), "Linux");
    }

    #[test]
    fn default_route() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth1\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n";
        assert_eq!(default_route_interface(table).as_deref(), Some("eth0"));
        assert_eq!(default_route_interface("Iface\tDestination\n"), None);
    }

    #[test]
    fn real_host_reads_something() {
        let host = LinuxHost {
            data_dir: std::env::temp_dir(),
        };
        let info = host.info();
        assert!(info.cpus >= 1);
        assert!(info.memory_bytes > 0);
        assert!(!info.kernel_version.is_empty());
        let usage = host.usage();
        assert!(usage.disk_total >= usage.disk_available);
        assert!(usage.disk_total > 0);
    }
}
