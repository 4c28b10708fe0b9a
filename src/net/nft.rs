//! The node's packet rules: one nftables table per bridge, always replaced
//! whole in a single `nft -f -` transaction so it is never half applied.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use super::ipam::Ipv4Cidr;
use super::{Error, HostPort, Protocol, Result};

/// The table that holds a bridge's rules; several bridges coexist.
pub(crate) fn table_name(bridge: &str) -> String {
    let clean: String = bridge
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("sovedge_{clean}")
}

/// A pod's published ports.
pub(crate) struct PodPorts {
    pub(crate) ip: Ipv4Addr,
    pub(crate) ports: Vec<HostPort>,
}

/// The complete script: creating the table first makes the delete valid
/// whether or not the table exists, and the whole file is one transaction.
pub(crate) fn ruleset(bridge: &str, cidr: Ipv4Cidr, pods: &[PodPorts]) -> String {
    let t = table_name(bridge);
    let mut s = String::new();
    let _ = writeln!(s, "table ip {t} {{}}");
    let _ = writeln!(s, "delete table ip {t}");
    let _ = writeln!(s, "table ip {t} {{");
    // Pod traffic leaving for anything but another pod is masqueraded;
    // localhost connections to a hostPort (DNAT'd in output) and pods
    // reaching a hostPort of a pod on this bridge are source-NATed too so
    // the replies come back the same way.
    let _ = writeln!(
        s,
        "  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    \
         ip saddr {cidr} ip daddr != {cidr} masquerade\n    \
         oifname \"{bridge}\" ip saddr 127.0.0.0/8 masquerade\n    \
         oifname \"{bridge}\" ct status dnat ip saddr {cidr} masquerade\n  }}"
    );
    let _ = writeln!(
        s,
        "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n    \
         fib daddr type local jump hostports\n  }}"
    );
    let _ = writeln!(
        s,
        "  chain output {{\n    type nat hook output priority -100; policy accept;\n    \
         fib daddr type local jump hostports\n  }}"
    );
    let _ = writeln!(s, "  chain hostports {{");
    for pod in pods {
        for p in &pod.ports {
            let proto = match p.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            };
            let _ = write!(s, "    ");
            if let Some(host_ip) = p.host_ip.filter(|ip| !ip.is_unspecified()) {
                let _ = write!(s, "ip daddr {host_ip} ");
            }
            let _ = writeln!(
                s,
                "{proto} dport {} dnat to {}:{}",
                p.host_port, pod.ip, p.container_port
            );
        }
    }
    let _ = writeln!(s, "  }}");
    // Pod traffic (including bridged pod-to-pod traffic, which passes this
    // hook when br_netfilter is loaded) is accepted here. An accept only
    // ends this table's chain: a drop policy in another table, such as an
    // iptables FORWARD chain set to DROP, still applies and has to let the
    // bridge through itself.
    let _ = writeln!(
        s,
        "  chain forward {{\n    type filter hook forward priority filter - 10; policy accept;\n    \
         iifname \"{bridge}\" accept\n    \
         oifname \"{bridge}\" ct state established,related accept\n    \
         oifname \"{bridge}\" ip saddr {cidr} accept\n  }}"
    );
    let _ = writeln!(s, "}}");
    s
}

/// Applies a script with `nft -f -`.
pub(crate) fn apply(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Error::NftMissing)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::Nft(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Nft(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Nft(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// Removes the bridge's table; a missing table is fine.
pub(crate) fn delete_table(bridge: &str) -> Result<()> {
    let t = table_name(bridge);
    apply(&format!("table ip {t} {{}}\ndelete table ip {t}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_masquerades_and_publishes_ports() {
        let cidr: Ipv4Cidr = "10.77.0.0/24".parse().unwrap();
        let pods = [PodPorts {
            ip: Ipv4Addr::new(10, 77, 0, 5),
            ports: vec![
                HostPort {
                    protocol: Protocol::Tcp,
                    host_port: 8080,
                    container_port: 80,
                    host_ip: None,
                },
                HostPort {
                    protocol: Protocol::Udp,
                    host_port: 5353,
                    container_port: 53,
                    host_ip: Some(Ipv4Addr::new(192, 0, 2, 1)),
                },
            ],
        }];
        let s = ruleset("br-x", cidr, &pods);
        assert!(s.starts_with("table ip sovedge_br_x {}\ndelete table ip sovedge_br_x\n"));
        assert!(s.contains("ip saddr 10.77.0.0/24 ip daddr != 10.77.0.0/24 masquerade"));
        assert!(s.contains("    tcp dport 8080 dnat to 10.77.0.5:80\n"));
        assert!(s.contains("    ip daddr 192.0.2.1 udp dport 5353 dnat to 10.77.0.5:53\n"));
        assert!(s.contains("iifname \"br-x\" accept"));
        assert_eq!(s.matches('{').count(), s.matches('}').count());
    }
}
