//! Pod network tests against the real kernel. They need root (and `nft`);
//! without root they print why and pass. Each test has its own bridge,
//! pod CIDR and directories, and removes them even when it fails.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use nix::sched::{CloneFlags, setns};

use super::*;

fn is_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipping: needs root");
    false
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A bridge, CIDR and directories of its own, torn down on drop.
struct Host {
    net: Network,
    tag: u32,
    _dirs: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // Unique across concurrently running test processes as well.
        let tag = (std::process::id() * 16 + n) % 4096;
        let dirs = tempfile::tempdir().unwrap();
        let cfg = NetConfig {
            bridge: format!("svn{tag}"),
            pod_cidr: format!("10.{}.{}.0/24", 200 + tag / 256, tag % 256)
                .parse()
                .unwrap(),
            state_dir: dirs.path().join("state"),
            run_dir: dirs.path().join("run"),
        };
        Host {
            net: Network::new(cfg).unwrap(),
            tag,
            _dirs: dirs,
        }
    }

    fn cfg(&self) -> &NetConfig {
        &self.net.inner.cfg
    }

    /// The same directories and bridge, as a restarted server sees them.
    fn restarted(&self) -> Network {
        Network::new(self.cfg().clone()).unwrap()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        for uid in self.net.sandboxes().unwrap_or_default() {
            let _ = self.net.inner.remove_sandbox(&uid);
        }
        let _ = self.net.inner.teardown_host();
    }
}

fn link_exists(name: &str) -> bool {
    Netlink::open().unwrap().link(name).unwrap().is_some()
}

/// Runs `f` on a thread inside the namespace pinned at `netns`.
fn spawn_in<T: Send + 'static>(
    netns: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let file = fs::File::open(netns).unwrap();
    thread::spawn(move || {
        setns(file.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
}

/// A TCP echo server inside `netns` for `conns` connections; returns its port.
fn echo_server(netns: &Path, bind: Ipv4Addr, conns: usize) -> (u16, thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let handle = spawn_in(netns, move || {
        let listener = TcpListener::bind((bind, 0)).unwrap();
        tx.send(listener.local_addr().unwrap().port()).unwrap();
        for _ in 0..conns {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            s.write_all(&buf[..n]).unwrap();
        }
    });
    (rx.recv().unwrap(), handle)
}

/// Connects with a bound so a broken path fails the test instead of hanging
/// it; the bound is generous and not what is tested.
fn dial(addr: impl Into<SocketAddr>) -> TcpStream {
    let addr = addr.into();
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

fn echo(stream: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    stream.write_all(msg).unwrap();
    let mut buf = vec![0u8; msg.len()];
    stream.read_exact(&mut buf).unwrap();
    buf
}

fn ino(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

#[tokio::test]
async fn sandboxes_on_one_bridge_reach_each_other() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    let a = host
        .net
        .create_sandbox("pod-a", "a", false, false)
        .await
        .unwrap();
    let b = host
        .net
        .create_sandbox("pod-b", "b", false, false)
        .await
        .unwrap();
    let (a_ip, b_ip) = (a.ip.unwrap(), b.ip.unwrap());
    assert_ne!(a_ip, b_ip);
    assert!(host.cfg().pod_cidr.contains(a_ip) && host.cfg().pod_cidr.contains(b_ip));

    let (port, server) = echo_server(a.net.as_ref().unwrap(), Ipv4Addr::UNSPECIFIED, 1);
    let reply = spawn_in(b.net.as_ref().unwrap(), move || {
        let mut s = dial((a_ip, port));
        let peer_seen_by_b = s.peer_addr().unwrap();
        (echo(&mut s, b"hello from b"), peer_seen_by_b)
    })
    .join()
    .unwrap();
    server.join().unwrap();
    assert_eq!(reply.0, b"hello from b");
    assert_eq!(reply.1, SocketAddr::from((a_ip, port)));
}

#[tokio::test]
async fn egress_leaves_masqueraded() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    let pod = host
        .net
        .create_sandbox("pod-out", "out", false, false)
        .await
        .unwrap();
    let pod_ip = pod.ip.unwrap();

    // A machine outside the pod network: its own namespace behind a veth,
    // with a route to the node's link only, so only masqueraded traffic can
    // be answered.
    let outside = tempfile::tempdir().unwrap();
    ns::create(outside.path(), &[ns::Kind::Net], "").unwrap();
    let outside_ns = outside.path().join("net");
    let link = format!("svo{}", host.tag);
    let node_ip = Ipv4Addr::new(
        10,
        199,
        (host.tag % 256) as u8,
        (host.tag / 256 * 4 + 1) as u8,
    );
    let far_ip = Ipv4Addr::from(u32::from(node_ip) + 1);
    let cleanup = Cleanup(link.clone(), outside_ns.clone());
    {
        let mut nl = Netlink::open().unwrap();
        let f = fs::File::open(&outside_ns).unwrap();
        nl.add_veth(&link, "eth0", f.as_fd()).unwrap();
        let l = nl.link(&link).unwrap().unwrap();
        nl.add_address(l.index, node_ip, 30).unwrap();
        nl.set_up(l.index).unwrap();
    }
    ns::in_netns(&outside_ns, move || {
        let mut nl = Netlink::open()?;
        let eth = nl.link("eth0")?.unwrap();
        nl.add_address(eth.index, far_ip, 30)?;
        nl.set_up(eth.index)
    })
    .unwrap();

    let (tx, rx) = mpsc::channel();
    let server = spawn_in(&outside_ns, move || {
        let listener = TcpListener::bind((far_ip, 0)).unwrap();
        tx.send(listener.local_addr().unwrap().port()).unwrap();
        let (mut s, peer) = listener.accept().unwrap();
        s.write_all(peer.ip().to_string().as_bytes()).unwrap();
    });
    let port = rx.recv().unwrap();
    let seen = spawn_in(pod.net.as_ref().unwrap(), move || {
        let mut s = dial((far_ip, port));
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .join()
    .unwrap();
    server.join().unwrap();
    assert_eq!(
        seen,
        node_ip.to_string(),
        "pod {pod_ip} was not masqueraded"
    );

    // A server bound to a host address (not the pod CIDR) is reachable too.
    let listener = TcpListener::bind((node_ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = spawn_in(pod.net.as_ref().unwrap(), move || {
        let mut s = dial((node_ip, port));
        echo(&mut s, b"to the host")
    });
    let (mut s, _) = listener.accept().unwrap();
    let mut buf = [0u8; 11];
    s.read_exact(&mut buf).unwrap();
    s.write_all(&buf).unwrap();
    assert_eq!(client.join().unwrap(), b"to the host");
    drop(cleanup);
}

/// Removes the test's outside link and namespace even when it fails.
struct Cleanup(String, PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Netlink::open().and_then(|mut nl| nl.del_link(&self.0));
        let _ = ns::remove(&self.1);
    }
}

#[tokio::test]
async fn host_port_reaches_the_pod_and_is_withdrawn() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    let pod = host
        .net
        .create_sandbox("pod-hp", "hp", false, false)
        .await
        .unwrap();
    let ip = pod.ip.unwrap();
    let other = host
        .net
        .create_sandbox("pod-hp2", "hp2", false, false)
        .await
        .unwrap();
    let (port, server) = echo_server(pod.net.as_ref().unwrap(), Ipv4Addr::UNSPECIFIED, 4);
    let host_port = {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        probe.local_addr().unwrap().port()
    };
    let published = [HostPort {
        protocol: Protocol::Tcp,
        host_port,
        container_port: port,
        host_ip: None,
    }];
    host.net
        .set_host_ports("pod-hp", ip, &published)
        .await
        .unwrap();
    // Applying the same ports again changes nothing.
    host.net
        .set_host_ports("pod-hp", ip, &published)
        .await
        .unwrap();
    let gateway = host.cfg().pod_cidr.gateway();
    let replies = tokio::task::spawn_blocking(move || {
        let mut local = dial((Ipv4Addr::LOCALHOST, host_port));
        let mut node = dial((gateway, host_port));
        (
            echo(&mut local, b"via localhost"),
            echo(&mut node, b"via node ip"),
        )
    })
    .await
    .unwrap();
    // Pods reach a hostPort through the node address as well: another pod
    // on the bridge, and the publishing pod itself (hairpin).
    let from_other = spawn_in(other.net.as_ref().unwrap(), move || {
        echo(&mut dial((gateway, host_port)), b"from a neighbour")
    })
    .join()
    .unwrap();
    let from_self = spawn_in(pod.net.as_ref().unwrap(), move || {
        echo(&mut dial((gateway, host_port)), b"from itself")
    })
    .join()
    .unwrap();
    server.join().unwrap();
    assert_eq!(replies.0, b"via localhost");
    assert_eq!(replies.1, b"via node ip");
    assert_eq!(from_other, b"from a neighbour");
    assert_eq!(from_self, b"from itself");

    host.net.set_host_ports("pod-hp", ip, &[]).await.unwrap();
    let err = TcpStream::connect((Ipv4Addr::LOCALHOST, host_port)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn connect_dials_localhost_inside_the_pod() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    let pod = host
        .net
        .create_sandbox("pod-pf", "pf", false, false)
        .await
        .unwrap();
    let netns = pod.net.clone().unwrap();
    let (port, server) = echo_server(&netns, Ipv4Addr::LOCALHOST, 1);
    let mut stream = host.net.connect(Some(&netns), port).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"forwarded").await.unwrap();
    let mut buf = [0u8; 9];
    stream.read_exact(&mut buf).await.unwrap();
    server.join().unwrap();
    assert_eq!(&buf, b"forwarded");
}

#[tokio::test]
async fn create_is_idempotent_and_survives_restart() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    host.net.setup_host().await.unwrap();
    let first = host
        .net
        .create_sandbox("pod-1", "one", false, false)
        .await
        .unwrap();
    let net_ino = ino(first.net.as_ref().unwrap());
    let again = host
        .net
        .create_sandbox("pod-1", "one", false, false)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(ino(again.net.as_ref().unwrap()), net_ino, "namespace kept");

    let restarted = host.restarted();
    restarted.setup_host().await.unwrap();
    assert_eq!(restarted.sandboxes().unwrap(), vec!["pod-1".to_string()]);
    let after = restarted
        .create_sandbox("pod-1", "one", false, false)
        .await
        .unwrap();
    assert_eq!(after, first, "same pod keeps its address after a restart");
    let other = restarted
        .create_sandbox("pod-2", "two", false, false)
        .await
        .unwrap();
    assert_ne!(other.ip, first.ip, "an address in use is not handed out");
    let ip_file = host
        .cfg()
        .state_dir
        .join("ipam")
        .join(first.ip.unwrap().to_string());
    assert_eq!(fs::read_to_string(ip_file).unwrap(), "pod-1");
}

#[tokio::test]
async fn remove_sandbox_leaves_nothing_behind() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    let pod = host
        .net
        .create_sandbox("pod-rm", "rm", false, false)
        .await
        .unwrap();
    let veth = host.net.inner.veth_name("pod-rm");
    assert!(link_exists(&veth));
    let ip_file = host
        .cfg()
        .state_dir
        .join("ipam")
        .join(pod.ip.unwrap().to_string());
    assert!(ip_file.exists());
    let published = [HostPort {
        protocol: Protocol::Udp,
        host_port: 1,
        container_port: 1,
        host_ip: None,
    }];
    host.net
        .set_host_ports("pod-rm", pod.ip.unwrap(), &published)
        .await
        .unwrap();

    host.net.remove_sandbox("pod-rm").await.unwrap();
    assert!(!link_exists(&veth), "veth {veth} left");
    assert!(!pod.net.as_ref().unwrap().exists());
    assert!(!host.cfg().run_dir.join("sandboxes/pod-rm").exists());
    assert!(!ip_file.exists());
    assert!(host.net.sandboxes().unwrap().is_empty());
    let table = nft_list(&host.cfg().bridge).unwrap();
    assert!(!table.contains("dport 1 "), "hostPort rule left:\n{table}");
    host.net.remove_sandbox("pod-rm").await.unwrap();
}

fn nft_list(bridge: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "ip", &nft::table_name(bridge)])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn teardown_removes_bridge_and_rules() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    let bridge = host.cfg().bridge.clone();
    assert!(link_exists(&bridge));
    let table = nft_list(&bridge).expect("table present after setup");
    assert!(table.contains("masquerade"));
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "1"
    );
    host.net.teardown_host().await.unwrap();
    assert!(!link_exists(&bridge));
    assert!(nft_list(&bridge).is_none());
    host.net.teardown_host().await.unwrap();
}

#[tokio::test]
async fn sandbox_has_own_ipc_and_uts_with_hostname() {
    if !is_root() {
        return;
    }
    let host = Host::new();
    host.net.setup_host().await.unwrap();
    let pod = host
        .net
        .create_sandbox("pod-ns", "web-1", false, false)
        .await
        .unwrap();
    let (ipc, uts) = (pod.ipc.clone().unwrap(), pod.uts.clone().unwrap());
    assert_ne!(ino(&ipc), ino(Path::new("/proc/self/ns/ipc")));
    assert_ne!(ino(&uts), ino(Path::new("/proc/self/ns/uts")));
    assert_ne!(
        ino(pod.net.as_ref().unwrap()),
        ino(Path::new("/proc/self/ns/net"))
    );
    let file = fs::File::open(&uts).unwrap();
    let name = thread::spawn(move || {
        setns(file.as_fd(), CloneFlags::CLONE_NEWUTS).unwrap();
        nix::unistd::gethostname().unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(name.to_str(), Some("web-1"));
    assert_ne!(nix::unistd::gethostname().unwrap().to_str(), Some("web-1"));

    let shared = host
        .net
        .create_sandbox("pod-host", "h", true, true)
        .await
        .unwrap();
    assert_eq!(
        shared,
        Sandbox {
            net: None,
            ipc: None,
            uts: None,
            ip: None
        }
    );
    let ipc_only = host
        .net
        .create_sandbox("pod-ipc", "i", true, false)
        .await
        .unwrap();
    assert!(ipc_only.net.is_none() && ipc_only.ip.is_none());
    assert_ne!(
        ino(ipc_only.ipc.as_ref().unwrap()),
        ino(Path::new("/proc/self/ns/ipc"))
    );
}

#[test]
fn port_records_round_trip() {
    let ports = vec![
        HostPort {
            protocol: Protocol::Tcp,
            host_port: 80,
            container_port: 8080,
            host_ip: Some(Ipv4Addr::new(192, 0, 2, 7)),
        },
        HostPort {
            protocol: Protocol::Udp,
            host_port: 53,
            container_port: 5353,
            host_ip: None,
        },
    ];
    let text = ports_record(Ipv4Addr::new(10, 0, 0, 9), &ports);
    let back = parse_ports_record(&text).unwrap();
    assert_eq!(back.ip, Ipv4Addr::new(10, 0, 0, 9));
    assert_eq!(back.ports, ports);
    assert!(parse_ports_record("10.0.0.9\nsctp 1 2 -\n").is_none());
}
