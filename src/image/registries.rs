//! Registries configuration in the format k3s reads from registries.yaml:
//! mirrors (endpoint lists, rewrites) and per-host auth and TLS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use super::{Error, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistriesConfig {
    #[serde(default)]
    pub(crate) mirrors: BTreeMap<String, Mirror>,
    #[serde(default)]
    pub(crate) configs: BTreeMap<String, HostConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Mirror {
    #[serde(default)]
    pub(crate) endpoint: Vec<String>,
    /// Regex on the repository path to its replacement (`$1` groups),
    /// applied when pulling through this mirror's endpoints.
    #[serde(default)]
    pub(crate) rewrite: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostConfig {
    #[serde(default)]
    pub(crate) auth: Option<AuthConfig>,
    #[serde(default)]
    pub(crate) tls: Option<TlsConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthConfig {
    #[serde(default)]
    pub(crate) username: String,
    #[serde(default)]
    pub(crate) password: String,
    /// base64 of `username:password`.
    #[serde(default)]
    pub(crate) auth: String,
    #[serde(default)]
    pub(crate) identitytoken: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsConfig {
    #[serde(default)]
    pub(crate) ca_file: Option<PathBuf>,
    #[serde(default)]
    pub(crate) cert_file: Option<PathBuf>,
    #[serde(default)]
    pub(crate) key_file: Option<PathBuf>,
    #[serde(default)]
    pub(crate) insecure_skip_verify: bool,
}

/// Where to fetch a repository from: one candidate in the order to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `http` or `https`.
    pub(crate) scheme: String,
    /// `host[:port]`.
    pub(crate) host: String,
    /// Path prefix before `/v2/` (without trailing slash), usually empty.
    pub(crate) prefix: String,
    /// Repository path to request at this endpoint.
    pub(crate) repository: String,
}

impl RegistriesConfig {
    /// Reads `path`; a missing file is an empty configuration.
    pub(crate) fn load(path: &Path) -> Result<RegistriesConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::parse(&text).map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message,
        })
    }

    pub(crate) fn parse(text: &str) -> Result<RegistriesConfig, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let cfg: RegistriesConfig = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        for (host, m) in &cfg.mirrors {
            for e in &m.endpoint {
                parse_endpoint(e)
                    .ok_or_else(|| format!("mirror {host}: invalid endpoint {e:?}"))?;
            }
            for pattern in m.rewrite.keys() {
                Regex::new(pattern)
                    .map_err(|e| format!("mirror {host}: invalid rewrite {pattern:?}: {e}"))?;
            }
        }
        Ok(cfg)
    }

    /// The endpoints to try for `registry`/`repository`: the mirror's
    /// endpoints (with rewrites), then the registry itself.
    pub(crate) fn endpoints(&self, registry: &str, repository: &str) -> Vec<Endpoint> {
        let mut out = Vec::new();
        let mirror = self.mirrors.get(registry).or_else(|| self.mirrors.get("*"));
        if let Some(m) = mirror {
            let repository = rewrite(&m.rewrite, repository);
            for e in &m.endpoint {
                if let Some((scheme, host, prefix)) = parse_endpoint(e) {
                    out.push(Endpoint {
                        scheme,
                        host,
                        prefix,
                        repository: repository.clone(),
                    });
                }
            }
        }
        let host = if registry == super::reference::DOCKER_HUB {
            "registry-1.docker.io".to_string()
        } else {
            registry.to_string()
        };
        let default = Endpoint {
            scheme: "https".to_string(),
            host,
            prefix: String::new(),
            repository: repository.to_string(),
        };
        if !out.contains(&default) {
            out.push(default);
        }
        out
    }

    /// Per-host settings for an endpoint host (`host:port` or `host`).
    pub(crate) fn host(&self, host: &str) -> Option<&HostConfig> {
        self.configs.get(host).or_else(|| {
            self.configs.iter().find_map(|(k, v)| {
                let k = k
                    .trim_start_matches("https://")
                    .trim_start_matches("http://");
                (k.trim_end_matches('/') == host).then_some(v)
            })
        })
    }
}

fn rewrite(rules: &BTreeMap<String, String>, repository: &str) -> String {
    for (pattern, replacement) in rules {
        if let Ok(re) = Regex::new(pattern)
            && re.is_match(repository)
        {
            return re.replace(repository, replacement.as_str()).into_owned();
        }
    }
    repository.to_string()
}

/// `https://host:port/prefix` -> (scheme, host, prefix). A bare host means https.
fn parse_endpoint(e: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = match e.split_once("://") {
        Some((s @ ("http" | "https"), rest)) => (s.to_string(), rest),
        Some(_) => return None,
        None => ("https".to_string(), e),
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() || host.contains(['@', '?', '#', ' ']) {
        return None;
    }
    let prefix = path.trim_end_matches('/').trim_end_matches("v2");
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    Some((scheme, host.to_string(), prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
mirrors:
  docker.io:
    endpoint:
      - "http://127.0.0.1:5000"
      - "https://mirror.example.com/v2"
    rewrite:
      "^library/(.*)": "hub/$1"
  "*":
    endpoint: ["https://fallback.example.com:8443/prefix/"]
configs:
  "mirror.example.com":
    auth:
      username: alice
      password: secret
    tls:
      ca_file: /etc/ssl/ca.pem
      cert_file: /etc/ssl/client.pem
      key_file: /etc/ssl/client.key
  "https://other.example.com":
    tls:
      insecure_skip_verify: true
"#;

    #[test]
    fn k3s_file_parses() {
        let cfg = RegistriesConfig::parse(SAMPLE).unwrap();
        let hub = &cfg.mirrors["docker.io"];
        assert_eq!(hub.endpoint.len(), 2);
        let host = cfg.host("mirror.example.com").unwrap();
        assert_eq!(host.auth.as_ref().unwrap().username, "alice");
        let tls = host.tls.as_ref().unwrap();
        assert_eq!(tls.ca_file.as_deref(), Some(Path::new("/etc/ssl/ca.pem")));
        assert_eq!(
            tls.key_file.as_deref(),
            Some(Path::new("/etc/ssl/client.key"))
        );
        assert!(!tls.insecure_skip_verify);
        let other = cfg.host("other.example.com").unwrap();
        assert!(other.tls.as_ref().unwrap().insecure_skip_verify);
        assert!(cfg.host("nobody.example.com").is_none());
    }

    #[test]
    fn mirrors_rewrite_and_fall_back_to_the_registry() {
        let cfg = RegistriesConfig::parse(SAMPLE).unwrap();
        let eps = cfg.endpoints("docker.io", "library/busybox");
        let got: Vec<_> = eps
            .iter()
            .map(|e| format!("{}://{}{} {}", e.scheme, e.host, e.prefix, e.repository))
            .collect();
        assert_eq!(
            got,
            [
                "http://127.0.0.1:5000 hub/busybox",
                "https://mirror.example.com hub/busybox",
                "https://registry-1.docker.io library/busybox",
            ]
        );
        let eps = cfg.endpoints("quay.io", "org/app");
        assert_eq!(eps[0].host, "fallback.example.com:8443");
        assert_eq!(eps[0].prefix, "/prefix");
        assert_eq!(eps[1].host, "quay.io");
    }

    #[test]
    fn bad_files_are_rejected() {
        assert!(RegistriesConfig::parse("mirrors:\n  a:\n    endpoint: [\"ftp://x\"]\n").is_err());
        assert!(RegistriesConfig::parse("mirrors:\n  a:\n    rewrite: {\"(\": \"x\"}\n").is_err());
        assert!(RegistriesConfig::parse("unknown: 1\n").is_err());
        assert!(RegistriesConfig::parse("").unwrap().mirrors.is_empty());
    }
}
