//! Pod network: sandbox namespaces, a bridge with a veth per pod, addresses
//! from the node's pod CIDR, masquerade to the outside and hostPorts.
//!
//! Links, addresses and routes go through rtnetlink; packet rules through
//! one nftables table per bridge. Every operation is idempotent, and all
//! state lives either in the kernel or under `state_dir` (addresses, ports)
//! and `run_dir/sandboxes/<uid>/` (pinned namespaces), so a restarted server
//! picks up where the last one stopped.

mod ipam;
mod netlink;
mod nft;
mod ns;
#[cfg(test)]
mod tests;

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use netlink_packet_route::link::InfoKind;

pub(crate) use ipam::Ipv4Cidr;
use ipam::{Ipam, check_uid};
use netlink::Netlink;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("invalid pod cidr {0} (want a.b.c.d/n with n <= 30)")]
    InvalidCidr(String),
    #[error("invalid pod uid {0:?}")]
    InvalidPodUid(String),
    #[error("pod cidr {0} has no free address")]
    Exhausted(String),
    #[error("network state {0}")]
    State(PathBuf, #[source] io::Error),
    #[error("bridge {0}")]
    Bridge(String, #[source] io::Error),
    #[error("sandbox namespaces of pod {0}")]
    Namespace(String, #[source] io::Error),
    #[error("pod interface of pod {0}")]
    PodLink(String, #[source] io::Error),
    #[error("sysctl {0}")]
    Sysctl(String, #[source] io::Error),
    #[error("running nft (package nftables)")]
    NftMissing(#[source] io::Error),
    #[error("nft rejected the pod network rules: {0}")]
    Nft(String),
    #[error("network task ended unexpectedly")]
    Task,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub(crate) struct NetConfig {
    pub(crate) bridge: String,
    pub(crate) pod_cidr: Ipv4Cidr,
    /// DATA/net: address and port records.
    pub(crate) state_dir: PathBuf,
    /// Runtime state; namespaces are pinned under `run_dir/sandboxes`.
    pub(crate) run_dir: PathBuf,
}

/// A pod's namespaces; `None` means the host's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Sandbox {
    pub(crate) net: Option<PathBuf>,
    pub(crate) ipc: Option<PathBuf>,
    pub(crate) uts: Option<PathBuf>,
    pub(crate) ip: Option<Ipv4Addr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    pub(crate) protocol: Protocol,
    pub(crate) host_port: u16,
    pub(crate) container_port: u16,
    pub(crate) host_ip: Option<Ipv4Addr>,
}

/// Name of the pod's end of its veth pair inside the sandbox.
const POD_IFNAME: &str = "eth0";

#[derive(Clone)]
pub(crate) struct Network {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: NetConfig,
    ipam: Ipam,
    /// Serializes changes to addresses, port records and the rule table.
    lock: Mutex<()>,
}

impl Network {
    pub(crate) fn new(cfg: NetConfig) -> Result<Network> {
        if cfg.bridge.is_empty() || cfg.bridge.len() > 15 || cfg.bridge.contains(['/', '"', ' ']) {
            return Err(Error::Bridge(
                cfg.bridge.clone(),
                io::Error::new(io::ErrorKind::InvalidInput, "invalid interface name"),
            ));
        }
        let ipam = Ipam::open(&cfg.state_dir, cfg.pod_cidr)?;
        let ports = cfg.state_dir.join("hostports");
        fs::create_dir_all(&ports).map_err(|e| Error::State(ports, e))?;
        Ok(Network {
            inner: Arc::new(Inner {
                cfg,
                ipam,
                lock: Mutex::new(()),
            }),
        })
    }

    /// Bridge with the gateway address, forwarding on, rules in place.
    pub(crate) async fn setup_host(&self) -> Result<()> {
        self.blocking(|inner| inner.setup_host()).await
    }

    pub(crate) async fn create_sandbox(
        &self,
        pod_uid: &str,
        hostname: &str,
        host_network: bool,
        host_ipc: bool,
    ) -> Result<Sandbox> {
        let (uid, hostname) = (pod_uid.to_string(), hostname.to_string());
        self.blocking(move |inner| inner.create_sandbox(&uid, &hostname, host_network, host_ipc))
            .await
    }

    pub(crate) async fn remove_sandbox(&self, pod_uid: &str) -> Result<()> {
        let uid = pod_uid.to_string();
        self.blocking(move |inner| inner.remove_sandbox(&uid)).await
    }

    /// Publishes the pod's hostPorts, replacing what it published before;
    /// an empty list withdraws them.
    pub(crate) async fn set_host_ports(
        &self,
        pod_uid: &str,
        ip: Ipv4Addr,
        ports: &[HostPort],
    ) -> Result<()> {
        let (uid, ports) = (pod_uid.to_string(), ports.to_vec());
        self.blocking(move |inner| inner.set_host_ports(&uid, ip, &ports))
            .await
    }

    /// Pods that have namespaces, an address or ports on record.
    pub(crate) fn sandboxes(&self) -> Result<Vec<String>> {
        let inner = &self.inner;
        let mut uids: Vec<String> = inner
            .ipam
            .allocations()?
            .into_iter()
            .map(|(_, uid)| uid)
            .collect();
        for dir in [inner.sandbox_root(), inner.ports_dir()] {
            match fs::read_dir(&dir) {
                Ok(entries) => uids.extend(
                    entries
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|n| check_uid(n).is_ok()),
                ),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::State(dir, e)),
            }
        }
        uids.sort();
        uids.dedup();
        Ok(uids)
    }

    /// A TCP connection to `127.0.0.1:port` as seen from inside the pod's
    /// network namespace (the host's when `netns` is `None`).
    pub(crate) async fn connect(
        &self,
        netns: Option<&Path>,
        port: u16,
    ) -> io::Result<tokio::net::TcpStream> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let Some(netns) = netns else {
            return tokio::net::TcpStream::connect(addr).await;
        };
        let netns = netns.to_path_buf();
        let stream = tokio::task::spawn_blocking(move || {
            ns::in_netns(&netns, move || {
                let s = std::net::TcpStream::connect(addr)?;
                s.set_nonblocking(true)?;
                Ok(s)
            })
        })
        .await
        .map_err(|_| io::Error::other("network task ended unexpectedly"))??;
        tokio::net::TcpStream::from_std(stream)
    }

    /// Removes the bridge and the rule table (pods should be gone first).
    pub(crate) async fn teardown_host(&self) -> Result<()> {
        self.blocking(|inner| inner.teardown_host()).await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|_| Error::Task)?
    }
}

impl Inner {
    fn guard(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sandbox_root(&self) -> PathBuf {
        self.cfg.run_dir.join("sandboxes")
    }

    fn ports_dir(&self) -> PathBuf {
        self.cfg.state_dir.join("hostports")
    }

    fn bridge_err(&self) -> impl Fn(io::Error) -> Error + '_ {
        move |e| Error::Bridge(self.cfg.bridge.clone(), e)
    }

    fn setup_host(&self) -> Result<()> {
        let _g = self.guard();
        let bridge = &self.cfg.bridge;
        let cidr = self.cfg.pod_cidr;
        let mut nl = Netlink::open().map_err(self.bridge_err())?;
        nl.add_link(bridge, InfoKind::Bridge)
            .map_err(self.bridge_err())?;
        let link = nl
            .link(bridge)
            .map_err(self.bridge_err())?
            .ok_or_else(|| self.bridge_err()(io::ErrorKind::NotFound.into()))?;
        nl.add_address(link.index, cidr.gateway(), cidr.prefix())
            .map_err(self.bridge_err())?;
        nl.set_up(link.index).map_err(self.bridge_err())?;
        sysctl("net/ipv4/ip_forward", "1")?;
        // Lets connections to 127.0.0.1:<hostPort> be DNAT'd onto the bridge.
        sysctl(&format!("net/ipv4/conf/{bridge}/route_localnet"), "1")?;
        self.apply_rules()?;
        tracing::info!(bridge = %bridge, cidr = %cidr, "pod network ready");
        Ok(())
    }

    fn teardown_host(&self) -> Result<()> {
        let _g = self.guard();
        nft::delete_table(&self.cfg.bridge)?;
        let mut nl = Netlink::open().map_err(self.bridge_err())?;
        nl.del_link(&self.cfg.bridge).map_err(self.bridge_err())
    }

    fn create_sandbox(
        &self,
        uid: &str,
        hostname: &str,
        host_network: bool,
        host_ipc: bool,
    ) -> Result<Sandbox> {
        check_uid(uid)?;
        let ns_err = |e| Error::Namespace(uid.to_string(), e);
        let dir = self.sandbox_root().join(uid);
        fs::create_dir_all(&dir).map_err(ns_err)?;
        let mut wanted = Vec::new();
        if !host_network {
            // As upstream runtimes do, a pod on the host network keeps the
            // host's hostname too.
            wanted.extend([ns::Kind::Net, ns::Kind::Uts]);
        }
        if !host_ipc {
            wanted.push(ns::Kind::Ipc);
        }
        let missing: Vec<_> = wanted
            .iter()
            .copied()
            .filter(|k| !ns::is_namespace(&dir.join(k.name())))
            .collect();
        ns::create(&dir, &missing, hostname).map_err(ns_err)?;
        let path_for = |k: ns::Kind| wanted.contains(&k).then(|| dir.join(k.name()));
        let mut sandbox = Sandbox {
            net: path_for(ns::Kind::Net),
            ipc: path_for(ns::Kind::Ipc),
            uts: path_for(ns::Kind::Uts),
            ip: None,
        };
        if let Some(netns) = &sandbox.net {
            let ip = {
                let _g = self.guard();
                self.ipam.allocate(uid)?
            };
            self.attach(uid, netns, ip)?;
            sandbox.ip = Some(ip);
        }
        tracing::debug!(pod = uid, ip = ?sandbox.ip, "sandbox ready");
        Ok(sandbox)
    }

    /// Plugs the sandbox into the bridge and configures its interface.
    fn attach(&self, uid: &str, netns: &Path, ip: Ipv4Addr) -> Result<()> {
        let link_err = |e| Error::PodLink(uid.to_string(), e);
        let host_if = self.veth_name(uid);
        let mut nl = Netlink::open().map_err(link_err)?;
        let bridge = nl
            .link(&self.cfg.bridge)
            .map_err(self.bridge_err())?
            .ok_or_else(|| {
                self.bridge_err()(io::Error::new(
                    io::ErrorKind::NotFound,
                    "missing; the host network is not set up",
                ))
            })?;
        let pod_has_if = ns::in_netns(netns, || Ok(Netlink::open()?.link(POD_IFNAME)?.is_some()))
            .map_err(link_err)?;
        let existing = nl.link(&host_if).map_err(link_err)?;
        if existing.is_some() && !pod_has_if {
            // The host end belongs to an older namespace of this pod.
            nl.del_link(&host_if).map_err(link_err)?;
        }
        if existing.is_none() || !pod_has_if {
            let ns_file = fs::File::open(netns).map_err(link_err)?;
            nl.add_veth(&host_if, POD_IFNAME, ns_file.as_fd())
                .map_err(link_err)?;
        }
        let host = nl
            .link(&host_if)
            .map_err(link_err)?
            .ok_or_else(|| link_err(io::ErrorKind::NotFound.into()))?;
        if host.master != Some(bridge.index) {
            nl.set_master(host.index, bridge.index).map_err(link_err)?;
        }
        nl.set_hairpin(host.index).map_err(link_err)?;
        if !host.up {
            nl.set_up(host.index).map_err(link_err)?;
        }
        let cidr = self.cfg.pod_cidr;
        ns::in_netns(netns, move || {
            let mut nl = Netlink::open()?;
            let lo = nl.link("lo")?.ok_or(io::ErrorKind::NotFound)?;
            nl.set_up(lo.index)?;
            let eth = nl.link(POD_IFNAME)?.ok_or(io::ErrorKind::NotFound)?;
            nl.add_address(eth.index, ip, cidr.prefix())?;
            nl.set_up(eth.index)?;
            nl.add_default_route(cidr.gateway())
        })
        .map_err(link_err)
    }

    fn remove_sandbox(&self, uid: &str) -> Result<()> {
        check_uid(uid)?;
        let ns_err = |e| Error::Namespace(uid.to_string(), e);
        let mut nl = Netlink::open().map_err(|e| Error::PodLink(uid.to_string(), e))?;
        nl.del_link(&self.veth_name(uid))
            .map_err(|e| Error::PodLink(uid.to_string(), e))?;
        let dir = self.sandbox_root().join(uid);
        for kind in [ns::Kind::Net, ns::Kind::Ipc, ns::Kind::Uts] {
            ns::remove(&dir.join(kind.name())).map_err(ns_err)?;
        }
        match fs::remove_dir(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(ns_err(e)),
            _ => {}
        }
        let _g = self.guard();
        self.ipam.release(uid)?;
        let ports = self.ports_dir().join(uid);
        if ports.exists() {
            fs::remove_file(&ports).map_err(|e| Error::State(ports, e))?;
            self.apply_rules()?;
        }
        tracing::debug!(pod = uid, "sandbox removed");
        Ok(())
    }

    fn set_host_ports(&self, uid: &str, ip: Ipv4Addr, ports: &[HostPort]) -> Result<()> {
        check_uid(uid)?;
        let _g = self.guard();
        let path = self.ports_dir().join(uid);
        if ports.is_empty() {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(Error::State(path, e));
                }
                _ => {}
            }
        } else {
            let tmp = self.ports_dir().join(format!(".{uid}.tmp"));
            fs::write(&tmp, ports_record(ip, ports)).map_err(|e| Error::State(tmp.clone(), e))?;
            fs::rename(&tmp, &path).map_err(|e| Error::State(path, e))?;
        }
        self.apply_rules()
    }

    /// Rewrites the rule table from the port records on disk.
    fn apply_rules(&self) -> Result<()> {
        let dir = self.ports_dir();
        let mut pods = Vec::new();
        let entries = fs::read_dir(&dir).map_err(|e| Error::State(dir.clone(), e))?;
        let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for path in paths {
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|e| Error::State(path.clone(), e))?;
            if let Some(pod) = parse_ports_record(&text) {
                pods.push(pod);
            } else {
                tracing::warn!(path = %path.display(), "ignoring unreadable hostPort record");
            }
        }
        nft::apply(&nft::ruleset(&self.cfg.bridge, self.cfg.pod_cidr, &pods))
    }

    /// Host end of the pod's veth pair: stable across restarts, unique per
    /// bridge and pod, within the 15 bytes an interface name may have.
    fn veth_name(&self, uid: &str) -> String {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("{}/{uid}", self.cfg.bridge).as_bytes(),
        );
        let hex: String = digest.as_ref()[..7]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sv{}", &hex[..13])
    }
}

/// One line for the pod address, then one per port:
/// `tcp|udp <host_port> <container_port> <host_ip or ->`.
fn ports_record(ip: Ipv4Addr, ports: &[HostPort]) -> String {
    let mut s = format!("{ip}\n");
    for p in ports {
        let proto = match p.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        let host_ip = p.host_ip.map_or("-".to_string(), |ip| ip.to_string());
        s.push_str(&format!(
            "{proto} {} {} {host_ip}\n",
            p.host_port, p.container_port
        ));
    }
    s
}

fn parse_ports_record(text: &str) -> Option<nft::PodPorts> {
    let mut lines = text.lines();
    let ip = lines.next()?.trim().parse().ok()?;
    let mut ports = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<_> = line.split_whitespace().collect();
        let [proto, host_port, container_port, host_ip] = f.as_slice() else {
            return None;
        };
        ports.push(HostPort {
            protocol: match *proto {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                _ => return None,
            },
            host_port: host_port.parse().ok()?,
            container_port: container_port.parse().ok()?,
            host_ip: match *host_ip {
                "-" => None,
                s => Some(s.parse().ok()?),
            },
        });
    }
    Some(nft::PodPorts { ip, ports })
}

fn sysctl(key: &str, value: &str) -> Result<()> {
    let path = Path::new("/proc/sys").join(key);
    if fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    fs::write(&path, value).map_err(|e| Error::Sysctl(key.replace('/', "."), e))
}
