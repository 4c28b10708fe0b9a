//! A container's environment: envFrom, env (with `$(VAR)` expansion and
//! valueFrom sources) and the `kubernetes` service variables, as the
//! upstream kubelet computes them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::downward::{field_value, resource_value};
use super::source::VolumeSource;
use super::{Error, Result};

/// Where the `kubernetes` Service is, for the variables every pod gets.
#[derive(Debug, Clone)]
pub(crate) struct ServiceEnv {
    pub(crate) host: IpAddr,
    pub(crate) port: u16,
}

/// The resolved environment, in the order upstream builds it, plus the
/// keys of envFrom sources that were skipped (for an
/// InvalidEnvironmentVariableNames event).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ResolvedEnv {
    pub(crate) vars: Vec<(String, String)>,
    /// One message per source with invalid keys, in upstream's wording.
    pub(crate) skipped: Vec<String>,
}

/// An ordered map where a later write replaces the value in place.
#[derive(Default)]
struct Ordered {
    vars: Vec<(String, String)>,
}

impl Ordered {
    fn set(&mut self, k: String, v: String) {
        match self.vars.iter_mut().find(|(n, _)| *n == k) {
            Some(e) => e.1 = v,
            None => self.vars.push((k, v)),
        }
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Upstream's rule for environment variable names.
pub(crate) fn valid_env_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=')
}

/// Expands `$(NAME)` from `lookup`; `$$` is a literal `$`; references to
/// unknown names and malformed references are kept as written.
pub(crate) fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let mut chars = after.chars();
        match chars.next() {
            // A trailing `$` stays.
            None => {
                out.push('$');
                rest = "";
            }
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('(') => match after.find(')') {
                Some(end) => {
                    let name = &after[1..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            Some(c) => {
                out.push('$');
                out.push(c);
                rest = &after[c.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Expands `$(VAR)` in a command or args list from the final environment.
pub(crate) fn expand_all(args: &[String], env: &[(String, String)]) -> Vec<String> {
    let lookup = |n: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    args.iter().map(|a| expand(a, &lookup)).collect()
}

/// The variables of the `kubernetes` Service (port name `https`).
pub(crate) fn service_vars(svc: &ServiceEnv) -> Vec<(String, String)> {
    let host = svc.host.to_string();
    let url_host = match svc.host {
        IpAddr::V6(_) => format!("[{host}]"),
        IpAddr::V4(_) => host.clone(),
    };
    let port = svc.port.to_string();
    let prefix = format!("KUBERNETES_PORT_{port}_TCP");
    vec![
        ("KUBERNETES_SERVICE_HOST".into(), host.clone()),
        ("KUBERNETES_SERVICE_PORT".into(), port.clone()),
        ("KUBERNETES_SERVICE_PORT_HTTPS".into(), port.clone()),
        ("KUBERNETES_PORT".into(), format!("tcp://{url_host}:{port}")),
        (prefix.clone(), format!("tcp://{url_host}:{port}")),
        (format!("{prefix}_PROTO"), "tcp".into()),
        (format!("{prefix}_PORT"), port),
        (format!("{prefix}_ADDR"), host),
    ]
}

struct Cache<'a> {
    source: &'a dyn VolumeSource,
    ns: &'a str,
    config_maps: BTreeMap<String, Option<ConfigMap>>,
    secrets: BTreeMap<String, Option<Secret>>,
}

impl Cache<'_> {
    async fn config_map(&mut self, name: &str) -> Result<Option<&ConfigMap>> {
        if !self.config_maps.contains_key(name) {
            let got = self.source.config_map(self.ns, name).await?;
            self.config_maps.insert(name.to_string(), got);
        }
        Ok(self.config_maps.get(name).and_then(Option::as_ref))
    }
    async fn secret(&mut self, name: &str) -> Result<Option<&Secret>> {
        if !self.secrets.contains_key(name) {
            let got = self.source.secret(self.ns, name).await?;
            self.secrets.insert(name.to_string(), got);
        }
        Ok(self.secrets.get(name).and_then(Option::as_ref))
    }
}

fn skipped_message(mut keys: Vec<String>, kind: &str, ns: &str, name: &str) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    keys.sort();
    Some(format!(
        "Keys [{}] from the EnvFrom {kind} {ns}/{name} were skipped since they are considered invalid environment variable names.",
        keys.join(", ")
    ))
}

/// Resolves `container`'s environment. The pod's status.podIP(s) and
/// hostIP(s) must be filled in by the caller for fieldRefs to see them.
pub(crate) async fn resolve_env(
    source: &dyn VolumeSource,
    pod: &Pod,
    container: &Container,
    allocatable: &BTreeMap<String, Quantity>,
    service: Option<&ServiceEnv>,
) -> Result<ResolvedEnv> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut cache = Cache {
        source,
        ns,
        config_maps: BTreeMap::new(),
        secrets: BTreeMap::new(),
    };
    let mut env = Ordered::default();
    let mut skipped = Vec::new();
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or("");
        let mut invalid = Vec::new();
        if let Some(r) = &from.config_map_ref {
            let Some(cm) = cache.config_map(&r.name).await? else {
                if r.optional == Some(true) {
                    continue;
                }
                return Err(Error::ConfigMapNotFound(r.name.clone()));
            };
            for (k, v) in cm.data.iter().flatten() {
                let name = format!("{prefix}{k}");
                if valid_env_name(&name) {
                    env.set(name, v.clone());
                } else {
                    invalid.push(name);
                }
            }
            skipped.extend(skipped_message(invalid, "configMap", ns, &r.name));
        } else if let Some(r) = &from.secret_ref {
            let Some(secret) = cache.secret(&r.name).await? else {
                if r.optional == Some(true) {
                    continue;
                }
                return Err(Error::SecretNotFound(r.name.clone()));
            };
            for (k, v) in secret.data.iter().flatten() {
                let name = format!("{prefix}{k}");
                if valid_env_name(&name) {
                    env.set(name, String::from_utf8_lossy(&v.0).into_owned());
                } else {
                    invalid.push(name);
                }
            }
            skipped.extend(skipped_message(invalid, "secret", ns, &r.name));
        }
    }
    let services = service.map(service_vars).unwrap_or_default();
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) if !v.is_empty() => {
                let lookup = |n: &str| {
                    env.get(n).map(String::from).or_else(|| {
                        services
                            .iter()
                            .find(|(k, _)| k == n)
                            .map(|(_, v)| v.clone())
                    })
                };
                expand(v, &lookup)
            }
            (_, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    field_value(pod, f)?
                } else if let Some(r) = &from.resource_field_ref {
                    let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
                        Some(name) => super::downward::find_container(pod, name)
                            .ok_or_else(|| Error::NoContainer(name.to_string()))?,
                        None => container,
                    };
                    resource_value(target, r, allocatable)?
                } else if let Some(r) = &from.config_map_key_ref {
                    let optional = r.optional == Some(true);
                    match cache.config_map(&r.name).await? {
                        None if optional => continue,
                        None => return Err(Error::ConfigMapNotFound(r.name.clone())),
                        Some(cm) => match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
                            Some(v) => v.clone(),
                            None if optional => continue,
                            None => {
                                return Err(Error::MissingKey {
                                    key: r.key.clone(),
                                    kind: "ConfigMap",
                                    object: format!("{ns}/{}", r.name),
                                });
                            }
                        },
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    let optional = r.optional == Some(true);
                    match cache.secret(&r.name).await? {
                        None if optional => continue,
                        None => return Err(Error::SecretNotFound(r.name.clone())),
                        Some(s) => match s.data.as_ref().and_then(|d| d.get(&r.key)) {
                            Some(v) => String::from_utf8_lossy(&v.0).into_owned(),
                            None if optional => continue,
                            None => {
                                return Err(Error::MissingKey {
                                    key: r.key.clone(),
                                    kind: "Secret",
                                    object: format!("{ns}/{}", r.name),
                                });
                            }
                        },
                    }
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        env.set(var.name.clone(), value);
    }
    for (k, v) in services {
        if env.get(&k).is_none() {
            env.set(k, v);
        }
    }
    Ok(ResolvedEnv {
        vars: env.vars,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(n: &str) -> Option<String> {
        match n {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expansion_follows_upstream() {
        assert_eq!(expand("$(A)-x", &lookup), "alpha-x");
        assert_eq!(expand("$$(A)", &lookup), "$(A)");
        assert_eq!(expand("$$$(A)", &lookup), "$alpha");
        assert_eq!(expand("$(B)", &lookup), "$(B)");
        assert_eq!(expand("$(EMPTY)|", &lookup), "|");
        assert_eq!(expand("a$b", &lookup), "a$b");
        assert_eq!(expand("end$", &lookup), "end$");
        assert_eq!(expand("$(A", &lookup), "$(A");
        assert_eq!(expand("$(A)$(A)", &lookup), "alphaalpha");
        assert_eq!(expand("caf\u{e9}$\u{e9}", &lookup), "caf\u{e9}$\u{e9}");
        assert_eq!(expand("$()", &lookup), "$()");
    }

    #[test]
    fn names() {
        assert!(valid_env_name("A_b.c-1"));
        assert!(valid_env_name("1abc"));
        assert!(!valid_env_name("a=b"));
        assert!(!valid_env_name(""));
        assert!(!valid_env_name("tab\tkey"));
    }

    #[test]
    fn kubernetes_service_variables() {
        let vars = service_vars(&ServiceEnv {
            host: "10.43.0.1".parse().unwrap(),
            port: 443,
        });
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.43.0.1"));
        assert_eq!(get("KUBERNETES_PORT_443_TCP"), Some("tcp://10.43.0.1:443"));
        assert_eq!(get("KUBERNETES_PORT_443_TCP_ADDR"), Some("10.43.0.1"));
        assert_eq!(vars.len(), 8);
    }
}
