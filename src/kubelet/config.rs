//! Kubelet settings: the `sovedge server` flags and the resolved
//! configuration the kubelet's parts share.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::{Error, Result};

/// Flags of `sovedge server` that shape the node.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct KubeletArgs {
    /// Run without the kubelet: API only, no Node, no pods run here.
    #[arg(long, env = "SOVEDGE_DISABLE_KUBELET")]
    pub(crate) disable_kubelet: bool,
    /// Name of this box's Node [default: the hostname, lowercased].
    #[arg(long, env = "SOVEDGE_NODE_NAME")]
    pub(crate) node_name: Option<String>,
    /// Value of the topology.kubernetes.io/region label.
    #[arg(long, default_value = "local", env = "SOVEDGE_REGION")]
    pub(crate) region: String,
    /// Value of the topology.kubernetes.io/zone label.
    #[arg(long, default_value = "local", env = "SOVEDGE_ZONE")]
    pub(crate) zone: String,
    /// IPv4 range pods on this node get their addresses from.
    #[arg(long, default_value = "10.42.0.0/24", env = "SOVEDGE_POD_CIDR")]
    pub(crate) pod_cidr: String,
    /// Linux bridge the pods' veths join.
    #[arg(long, default_value = "sovedge0")]
    pub(crate) bridge: String,
    /// Runtime state: shims, network namespaces, container mounts.
    #[arg(long, default_value = "/run/sovedge")]
    pub(crate) run_dir: PathBuf,
    /// Cgroup under which pods and containers are placed.
    #[arg(long, default_value = "sovedge")]
    pub(crate) cgroup_parent: String,
    /// Registry mirrors, credentials and TLS settings
    /// [default: DATA_DIR/registries.yaml; a missing file means none].
    #[arg(long)]
    pub(crate) registries_config: Option<PathBuf>,
    /// Most pods this node runs at once.
    #[arg(long, default_value_t = 110)]
    pub(crate) max_pods: u32,
}

/// An IPv4 network in CIDR form, e.g. `10.42.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv4Cidr {
    pub(crate) addr: Ipv4Addr,
    pub(crate) prefix: u8,
}

impl Ipv4Cidr {
    pub(crate) fn parse(s: &str) -> Result<Ipv4Cidr> {
        let bad = || {
            Error::Config(format!(
                "pod cidr {s:?} is not an IPv4 network like 10.42.0.0/24"
            ))
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        // Room for the gateway and at least one pod.
        if prefix > 30 {
            return Err(bad());
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        if u32::from(addr) & !mask != 0 {
            return Err(Error::Config(format!(
                "pod cidr {s:?} has host bits set; the network is {}/{prefix}",
                Ipv4Addr::from(u32::from(addr) & mask)
            )));
        }
        Ok(Ipv4Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Everything the kubelet's parts need to know about this node.
#[derive(Debug, Clone)]
#[allow(dead_code)] // The runtime, network and image settings are read by the pod workers.
pub(crate) struct KubeletConfig {
    pub(crate) node_name: String,
    pub(crate) region: String,
    pub(crate) zone: String,
    pub(crate) pod_cidr: Ipv4Cidr,
    pub(crate) bridge: String,
    pub(crate) run_dir: PathBuf,
    pub(crate) cgroup_parent: String,
    pub(crate) registries_config: PathBuf,
    pub(crate) max_pods: u32,
    /// The server's data directory (content, images, net, pods below it).
    pub(crate) data_dir: PathBuf,
    /// This node also runs the API server (labelled as control plane).
    pub(crate) control_plane: bool,
    /// Port clients reach the API server at; advertised as the node's
    /// daemon endpoint since logs, exec and port-forward go through it.
    pub(crate) api_port: u16,
}

#[allow(dead_code)] // The data layout is used by the pod workers.
impl KubeletConfig {
    /// Resolves the flags; `None` when the kubelet is disabled.
    pub(crate) fn from_args(
        args: &KubeletArgs,
        data_dir: &Path,
        api_port: u16,
    ) -> Result<Option<KubeletConfig>> {
        if args.disable_kubelet {
            return Ok(None);
        }
        let node_name = match &args.node_name {
            Some(n) => n.clone(),
            None => default_node_name()?,
        };
        check_node_name(&node_name)?;
        check_label_value("region", &args.region)?;
        check_label_value("zone", &args.zone)?;
        if args.bridge.is_empty()
            || args.bridge.len() > 15
            || args.bridge.contains(['/', ' ', '\0'])
        {
            return Err(Error::Config(format!(
                "bridge name {:?} is not a valid interface name (1-15 characters, no '/' or spaces)",
                args.bridge
            )));
        }
        if args.max_pods == 0 {
            return Err(Error::Config("max pods must be at least 1".into()));
        }
        Ok(Some(KubeletConfig {
            node_name,
            region: args.region.clone(),
            zone: args.zone.clone(),
            pod_cidr: Ipv4Cidr::parse(&args.pod_cidr)?,
            bridge: args.bridge.clone(),
            run_dir: args.run_dir.clone(),
            cgroup_parent: args.cgroup_parent.clone(),
            registries_config: args
                .registries_config
                .clone()
                .unwrap_or_else(|| data_dir.join("registries.yaml")),
            max_pods: args.max_pods,
            data_dir: data_dir.to_path_buf(),
            control_plane: true,
            api_port,
        }))
    }

    /// DATA/content: the image store.
    pub(crate) fn content_dir(&self) -> PathBuf {
        self.data_dir.join("content")
    }

    /// DATA/images: air-gap bundles dropped in for import.
    pub(crate) fn images_dir(&self) -> PathBuf {
        self.data_dir.join("images")
    }

    /// DATA/net: address allocations.
    pub(crate) fn net_dir(&self) -> PathBuf {
        self.data_dir.join("net")
    }

    /// DATA/pods/<uid>: a pod's volumes and logs.
    pub(crate) fn pod_dir(&self, uid: &str) -> PathBuf {
        self.data_dir.join("pods").join(uid)
    }
}

fn default_node_name() -> Result<String> {
    let host = nix::unistd::gethostname()
        .map_err(|e| Error::Config(format!("read the hostname for the node name: {e}")))?;
    let host = host.to_string_lossy().to_lowercase();
    // A fully qualified hostname is fine; a bare one too.
    Ok(host.trim().to_string())
}

/// Node names are DNS subdomains (RFC 1123), as upstream validates them.
fn check_node_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part.len() <= 63
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "node name {name:?} is not a lowercase DNS subdomain; set --node-name"
        )))
    }
}

fn check_label_value(what: &str, value: &str) -> Result<()> {
    let ok = value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && value
            .bytes()
            .next()
            .is_none_or(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .last()
            .is_none_or(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{what} {value:?} is not a valid label value (up to 63 alphanumerics, '-', '_' or '.')"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing() {
        let c = Ipv4Cidr::parse("10.42.0.0/24").unwrap();
        assert_eq!(c.addr, Ipv4Addr::new(10, 42, 0, 0));
        assert_eq!(c.prefix, 24);
        assert_eq!(c.to_string(), "10.42.0.0/24");
        assert!(Ipv4Cidr::parse("10.42.0.1/24").is_err());
        assert!(Ipv4Cidr::parse("10.42.0.0").is_err());
        assert!(Ipv4Cidr::parse("10.42.0.0/31").is_err());
        assert!(Ipv4Cidr::parse("fd00::/64").is_err());
        assert!(Ipv4Cidr::parse("0.0.0.0/0").is_ok());
    }

    #[test]
    fn names_and_labels() {
        assert!(check_node_name("edge-1.example.com").is_ok());
        assert!(check_node_name("Edge").is_err());
        assert!(check_node_name("-a").is_err());
        assert!(check_node_name("").is_err());
        assert!(check_label_value("zone", "").is_ok());
        assert!(check_label_value("zone", "eu-west_1.a").is_ok());
        assert!(check_label_value("zone", "a b").is_err());
        assert!(check_label_value("zone", "-a").is_err());
    }
}
