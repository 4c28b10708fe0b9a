//! The per-pod /etc/hosts, /etc/hostname and /etc/resolv.conf, and the
//! registry credentials from imagePullSecrets.

use std::net::Ipv4Addr;
use std::path::Path;

use base64::Engine;
use k8s_openapi::api::core::v1::{Pod, Secret};

use super::backend::RegistryAuth;
use super::spec::hostname;

pub(crate) fn hosts(pod: &Pod, ip: Option<Ipv4Addr>, cluster_domain: &str) -> String {
    let mut s = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    let spec = pod.spec.clone().unwrap_or_default();
    let host = hostname(pod);
    if let Some(ip) = ip {
        match spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
            Some(sub) => {
                let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
                s.push_str(&format!(
                    "{ip}\t{host}.{sub}.{ns}.svc.{cluster_domain}\t{host}\n"
                ));
            }
            None => s.push_str(&format!("{ip}\t{host}\n")),
        }
    }
    for alias in spec.host_aliases.iter().flatten() {
        let names = alias.hostnames.clone().unwrap_or_default();
        if !names.is_empty() {
            s.push_str(&format!("{}\t{}\n", alias.ip, names.join("\t")));
        }
    }
    s
}

/// resolv.conf for the pod's dnsPolicy: ClusterFirst with a cluster DNS
/// server, the host's file for Default (and ClusterFirst without one), and
/// dnsConfig appended or alone for None.
pub(crate) fn resolv_conf(
    pod: &Pod,
    host_resolv: &str,
    cluster_dns: Option<Ipv4Addr>,
    cluster_domain: &str,
) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let host_network = spec.host_network.unwrap_or(false);
    let mut servers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let cluster = match policy {
        "ClusterFirst" => !host_network,
        "ClusterFirstWithHostNet" => true,
        _ => false,
    };
    match (policy, cluster_dns) {
        ("None", _) => {}
        (_, Some(dns)) if cluster => {
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            servers.push(dns.to_string());
            searches.extend([
                format!("{ns}.svc.{cluster_domain}"),
                format!("svc.{cluster_domain}"),
                cluster_domain.to_owned(),
            ]);
            options.push("ndots:5".into());
        }
        _ => {
            for line in host_resolv.lines() {
                let mut words = line.split_whitespace();
                match words.next() {
                    Some("nameserver") => servers.extend(words.next().map(String::from)),
                    Some("search" | "domain") => searches.extend(words.map(String::from)),
                    Some("options") => options.extend(words.map(String::from)),
                    _ => {}
                }
            }
        }
    }
    if let Some(cfg) = &spec.dns_config {
        servers.extend(cfg.nameservers.iter().flatten().cloned());
        searches.extend(cfg.searches.iter().flatten().cloned());
        for o in cfg.options.iter().flatten() {
            let Some(name) = o.name.clone() else { continue };
            options.retain(|x| x.split(':').next() != Some(name.as_str()));
            options.push(match &o.value {
                Some(v) => format!("{name}:{v}"),
                None => name,
            });
        }
    }
    searches.dedup();
    let mut s = String::new();
    if !searches.is_empty() {
        s.push_str(&format!("search {}\n", searches.join(" ")));
    }
    for ns in servers.iter().take(3) {
        s.push_str(&format!("nameserver {ns}\n"));
    }
    if !options.is_empty() {
        s.push_str(&format!("options {}\n", options.join(" ")));
    }
    s
}

/// Writes etc/{hosts,hostname,resolv.conf} under the pod directory. Small
/// local files, written inline rather than on the blocking pool.
pub(crate) fn write(
    pod_dir: &Path,
    pod: &Pod,
    ip: Option<Ipv4Addr>,
    cluster_dns: Option<Ipv4Addr>,
    cluster_domain: &str,
) -> std::io::Result<()> {
    let etc = pod_dir.join("etc");
    std::fs::create_dir_all(&etc)?;
    let host_network = pod
        .spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false);
    let hosts_text = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        hosts(pod, ip, cluster_domain)
    };
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let name = if host_network {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| hostname(pod))
    } else {
        hostname(pod)
    };
    for (file, text) in [
        ("hosts", hosts_text),
        ("hostname", format!("{name}\n")),
        (
            "resolv.conf",
            resolv_conf(pod, &host_resolv, cluster_dns, cluster_domain),
        ),
    ] {
        let tmp = etc.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, etc.join(file))?;
    }
    Ok(())
}

fn registry_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        h => h.to_owned(),
    }
}

fn auth_entries(map: &serde_json::Map<String, serde_json::Value>, out: &mut Vec<RegistryAuth>) {
    for (registry, entry) in map {
        let field = |k: &str| {
            entry
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned()
        };
        let (mut username, mut password) = (field("username"), field("password"));
        if username.is_empty() {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(field("auth"))
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some((u, p)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
                username = u.to_owned();
                password = p.to_owned();
            }
        }
        if !username.is_empty() {
            out.push(RegistryAuth {
                registry: registry_key(registry),
                username,
                password,
            });
        }
    }
}

/// Credentials from pull secrets of type kubernetes.io/dockerconfigjson
/// (`.dockerconfigjson` with `auths`) and kubernetes.io/dockercfg
/// (`.dockercfg`, the bare map).
pub(crate) fn registry_auth(secrets: &[Secret]) -> Vec<RegistryAuth> {
    let mut out = Vec::new();
    for s in secrets {
        let data = s.data.clone().unwrap_or_default();
        let parse = |key: &str| -> Option<serde_json::Value> {
            serde_json::from_slice(&data.get(key)?.0).ok()
        };
        match s.type_.as_deref() {
            Some("kubernetes.io/dockerconfigjson") => {
                if let Some(serde_json::Value::Object(m)) =
                    parse(".dockerconfigjson").and_then(|v| v.get("auths").cloned())
                {
                    auth_entries(&m, &mut out);
                }
            }
            Some("kubernetes.io/dockercfg") => {
                if let Some(serde_json::Value::Object(m)) = parse(".dockercfg") {
                    auth_entries(&m, &mut out);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::{HostAlias, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                host_aliases: Some(vec![HostAlias {
                    ip: "10.0.0.9".into(),
                    hostnames: Some(vec!["db".into(), "db.local".into()]),
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn hosts_and_resolv_conf() {
        let h = hosts(&pod(), Some(Ipv4Addr::new(10, 42, 0, 5)), "cluster.local");
        assert!(h.contains("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.42.0.5\tweb\n"));
        assert!(h.ends_with("10.0.0.9\tdb\tdb.local\n"));
        let host = "search lan\nnameserver 192.168.1.1\noptions edns0\n";
        let r = resolv_conf(
            &pod(),
            host,
            Some(Ipv4Addr::new(10, 43, 0, 10)),
            "cluster.local",
        );
        assert_eq!(
            r,
            "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n"
        );
        assert_eq!(resolv_conf(&pod(), host, None, "cluster.local"), host);
    }

    #[test]
    fn pull_secrets_of_both_types() {
        let secret = |t: &str, key: &str, json: &str| Secret {
            type_: Some(t.into()),
            data: Some([(key.to_string(), ByteString(json.as_bytes().to_vec()))].into()),
            ..Default::default()
        };
        let auth = registry_auth(&[
            secret(
                "kubernetes.io/dockerconfigjson",
                ".dockerconfigjson",
                r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"}}}"#,
            ),
            secret(
                "kubernetes.io/dockercfg",
                ".dockercfg",
                r#"{"registry.local:5000":{"username":"a","password":"b"}}"#,
            ),
            secret(
                "Opaque",
                ".dockercfg",
                r#"{"x":{"username":"c","password":"d"}}"#,
            ),
        ]);
        assert_eq!(
            auth,
            [
                RegistryAuth {
                    registry: "docker.io".into(),
                    username: "user".into(),
                    password: "pass".into()
                },
                RegistryAuth {
                    registry: "registry.local:5000".into(),
                    username: "a".into(),
                    password: "b".into()
                },
            ]
        );
    }
}
