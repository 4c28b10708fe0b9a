//! Image store: pulls images from OCI/Docker registries and imports
//! air-gap archives into a content store shared between pods. Layers are
//! unpacked once per diff id into directories usable as overlay lower
//! directories.
//!
//! Layout under the root (DATA/content):
//! - `index.json`: images (references, manifest digest, config, layers)
//! - `blobs/sha256/<hex>`: manifests and configs
//! - `layers/<hex>/`: unpacked layers, named by diff id
//! - `tmp/<pid>-<n>/`: staging of one pull or import, removed on failure
//! - `lock`: serializes commits across processes (the server and the CLI)

mod archive;
mod client;
mod pull;
mod reference;
mod registries;
mod store;
#[cfg(test)]
mod tests;
mod unpack;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

pub(crate) use reference::Reference;
pub(crate) use registries::RegistriesConfig;

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Local store failures (disk, lock, archives).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("registries config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("not enough disk space: need {need} bytes, {available} available")]
    NoSpace { need: u64, available: u64 },
    #[error("unpack layer {digest}")]
    Unpack {
        digest: String,
        source: unpack::UnpackError,
    },
}

/// Why a pull failed; `message()` is what the kubelet shows in events.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PullError {
    #[error("image {reference} not found at {registry}")]
    NotFound { reference: String, registry: String },
    #[error("pull {reference}: unauthorized at {registry}: {message}")]
    Unauthorized {
        reference: String,
        registry: String,
        message: String,
    },
    #[error("pull {reference}: {message}")]
    DigestMismatch { reference: String, message: String },
    #[error("pull {reference}: bad certificate of registry {registry}: {message}")]
    Tls {
        reference: String,
        registry: String,
        message: String,
    },
    #[error("pull {reference}: not enough disk space: need {need} bytes, {available} available")]
    NoSpace {
        reference: String,
        need: u64,
        available: u64,
    },
    #[error("pull {reference}: registry {registry} unreachable: {message}")]
    Network {
        reference: String,
        registry: String,
        message: String,
    },
    #[error("pull {reference}: {message}")]
    Invalid { reference: String, message: String },
}

impl PullError {
    pub(crate) fn message(&self) -> String {
        self.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Image {
    /// Normalized references naming this image (may be empty for an image
    /// known only by digest).
    pub(crate) references: Vec<String>,
    /// Manifest digest, `sha256:<hex>`.
    pub(crate) digest: String,
    pub(crate) config: ImageConfig,
    /// Unpacked layer directories, lowest first.
    pub(crate) layers: Vec<PathBuf>,
    /// Bytes of unpacked file content over all layers.
    pub(crate) size: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageConfig {
    pub(crate) env: Vec<String>,
    pub(crate) entrypoint: Vec<String>,
    pub(crate) cmd: Vec<String>,
    pub(crate) working_dir: String,
    pub(crate) user: String,
    pub(crate) exposed_ports: Vec<String>,
    /// Signal that stops the main process (`SIGTERM` when empty).
    #[serde(default)]
    pub(crate) stop_signal: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryAuth {
    /// Registry key as pull secrets give it (`docker.io`,
    /// `https://index.docker.io/v1/`, `host:port`).
    pub(crate) registry: String,
    pub(crate) username: String,
    pub(crate) password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PullProgress {
    Resolving {
        reference: String,
    },
    Layer {
        digest: String,
        done: u64,
        total: u64,
    },
    Unpacking {
        digest: String,
    },
    Done {
        digest: String,
        bytes: u64,
    },
}

#[derive(Clone)]
pub(crate) struct ImageStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    registries: RwLock<Arc<RegistriesConfig>>,
}

impl ImageStore {
    /// Opens (creating) the store and removes staging left by dead processes.
    pub(crate) fn open(root: &Path) -> Result<ImageStore> {
        let store = ImageStore {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                registries: RwLock::new(Arc::new(RegistriesConfig::default())),
            }),
        };
        store.prepare()?;
        Ok(store)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Finds a local image by reference (normalized) or by digest
    /// (`name@sha256:...` or a bare `sha256:...`).
    pub(crate) fn resolve(&self, reference: &str) -> Result<Option<Image>> {
        let index = self.read_index()?;
        let record = if reference::is_digest(reference) {
            index.images.iter().find(|r| r.digest == reference)
        } else {
            let Some(r) = Reference::parse(reference) else {
                return Err(Error::Invalid {
                    what: format!("reference {reference:?}"),
                    message: "not a valid image reference".into(),
                });
            };
            match &r.digest {
                Some(d) => index.images.iter().find(|i| &i.digest == d),
                None => {
                    let name = r.to_string();
                    index.images.iter().find(|i| i.references.contains(&name))
                }
            }
        };
        Ok(record.map(|r| self.image(r, &index.layers)))
    }

    pub(crate) fn list(&self) -> Result<Vec<Image>> {
        let index = self.read_index()?;
        Ok(index
            .images
            .iter()
            .map(|r| self.image(r, &index.layers))
            .collect())
    }

    pub(crate) fn set_registries(&self, cfg: RegistriesConfig) {
        *self
            .inner
            .registries
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(cfg);
    }

    fn registries(&self) -> Arc<RegistriesConfig> {
        self.inner
            .registries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
