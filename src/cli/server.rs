use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;

use crate::api::{self, AppState, Tokens};
use crate::kubelet::{Kubelet, KubeletArgs, KubeletConfig};
use crate::pki;
use crate::registry::{self, Registry};
use crate::store::{BackendKind, Store};

/// ClusterIP of the `default/kubernetes` Service.
const KUBERNETES_SERVICE_IP: &str = "10.43.0.1";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Directory for the store, certificates and the admin kubeconfig.
    #[arg(long, default_value = "/var/lib/sovedge", env = "SOVEDGE_DATA_DIR")]
    data_dir: PathBuf,
    /// Address and port the Kubernetes API listens on (HTTPS).
    #[arg(long, default_value = "0.0.0.0:6443", env = "SOVEDGE_LISTEN")]
    listen: SocketAddr,
    /// Embedded database that keeps the objects on disk.
    #[arg(long, value_enum, default_value = "redb", env = "SOVEDGE_STORE")]
    store: BackendKind,
    /// Bearer token file, one `token,user,uid,"group1,group2"` per line
    /// [default: DATA_DIR/tokens.csv when it exists].
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// Extra DNS name or IP address for the serving certificate (repeatable).
    #[arg(long = "tls-san")]
    tls_san: Vec<String>,
    #[command(flatten)]
    kubelet: KubeletArgs,
}

fn cert_names(extra: &[String]) -> (Vec<String>, Vec<IpAddr>) {
    let mut hosts = vec![
        "localhost".to_string(),
        "kubernetes".into(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        "kubernetes.default.svc.cluster.local".into(),
    ];
    if let Ok(h) = nix::unistd::gethostname()
        && let Some(h) = h.to_str()
    {
        hosts.push(h.to_string());
    }
    let mut ips: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
    if let Ok(ip) = KUBERNETES_SERVICE_IP.parse() {
        ips.push(ip);
    }
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let Some(addr) = a.address else { continue };
            if let Some(v4) = addr.as_sockaddr_in() {
                ips.push(IpAddr::V4(v4.ip()));
            } else if let Some(v6) = addr.as_sockaddr_in6()
                && !v6.ip().is_unicast_link_local()
            {
                ips.push(IpAddr::V6(v6.ip()));
            }
        }
    }
    for san in extra {
        match san.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => hosts.push(san.clone()),
        }
    }
    ips.sort();
    ips.dedup();
    hosts.dedup();
    (hosts, ips)
}

fn ensure_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("create data directory {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restrict data directory {}", dir.display()))
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SOVEDGE_LOG")
                .unwrap_or_else(|_| "info,libcgroups=error".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    ensure_private_dir(&args.data_dir)?;

    let (hosts, ips) = cert_names(&args.tls_san);
    let pki =
        pki::ensure(&args.data_dir.join("tls"), &hosts, &ips).context("prepare tls material")?;
    let host = match args.listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    };
    let advertise = format!("{host}:{}", args.listen.port());
    let kubeconfig = pki::admin_kubeconfig(&pki, &format!("https://{advertise}"));
    let kubeconfig_path = args.data_dir.join("admin.kubeconfig");
    // Rewritten only when it changes, so a restart writes nothing.
    if std::fs::read_to_string(&kubeconfig_path).ok().as_deref() != Some(kubeconfig.as_str()) {
        pki::write_private(&kubeconfig_path, &kubeconfig).context("write admin kubeconfig")?;
    }
    let token_file = args.token_auth_file.clone().or_else(|| {
        let default = args.data_dir.join("tokens.csv");
        default.exists().then_some(default)
    });
    let tokens = match &token_file {
        Some(path) => Tokens::load(path)?,
        None => Tokens::default(),
    };

    let kubelet_config =
        KubeletConfig::from_args(&args.kubelet, &args.data_dir, args.listen.port())?;

    let backend = args.store.open(&args.data_dir).context("open store")?;
    let store = Store::open(backend, registry::is_ephemeral).context("load store")?;
    let registry = Registry::new(store);
    let signer =
        api::Signer::load_or_create(&args.data_dir).context("service account signing key")?;
    let tls = api::tls_config(&pki).context("configure tls")?;
    let ca_pem = pki.ca_cert.clone();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listen on {}", args.listen))?;
        let state = Arc::new(AppState {
            registry: registry.clone(),
            tokens,
            signer,
            ready: AtomicBool::new(false),
            advertise,
            streams: std::sync::OnceLock::new(),
        });
        let app = api::router(state.clone());
        let server = tokio::spawn(api::serve(listener, tls, app.clone()));
        crate::registry::bootstrap(&registry, KUBERNETES_SERVICE_IP, args.listen.port())
            .await
            .map_err(|e| anyhow::anyhow!("bootstrap cluster objects: {e}"))?;
        registry.spawn_root_ca_publisher(ca_pem);
        registry.resume_terminating();
        registry.resume_collection();
        registry.spawn_event_expiry();
        let kubelet = match kubelet_config {
            Some(cfg) => {
                let service_ip = KUBERNETES_SERVICE_IP.parse().ok();
                let kubelet = Kubelet::start(cfg, app.clone(), service_ip).await;
                if let Some(streams) = kubelet.streams() {
                    let _ = state.streams.set(streams);
                }
                Some(kubelet)
            }
            None => None,
        };
        state.ready.store(true, Ordering::Release);
        tracing::info!(
            listen = %args.listen,
            node = kubelet.as_ref().map(Kubelet::node_name).unwrap_or("none (kubelet disabled)"),
            data_dir = %args.data_dir.display(),
            store = ?args.store,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "sovedge is ready; kubeconfig at {}",
            kubeconfig_path.display()
        );
        tokio::select! {
            r = server => r.context("server task")?.context("serve")?,
            _ = shutdown_signal() => tracing::info!("shutting down"),
        }
        drop(kubelet);
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
