//! Pulling from registries: manifest (and index) resolution with digest
//! checks, platform selection, blob downloads, unpack and commit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use http_body_util::BodyExt;
use ring::digest::{Context, SHA256};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::client::{Client, ClientError};
use super::registries::Endpoint;
use super::store::{Pending, digest_of, parse_config_file};
use super::{Error, Image, ImageStore, PullError, PullProgress, Reference, RegistryAuth};

pub(super) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(super) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(super) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const MAX_MANIFEST: usize = 4 << 20;
const PROGRESS_STEP: u64 = 1 << 20;

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub(super) media_type: String,
    pub(super) digest: String,
    #[serde(default)]
    pub(super) size: u64,
    #[serde(default)]
    pub(super) platform: Option<Platform>,
    #[serde(default)]
    pub(super) annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Platform {
    #[serde(default)]
    pub(super) architecture: String,
    #[serde(default)]
    pub(super) os: String,
    #[serde(default)]
    pub(super) variant: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ManifestDoc {
    #[serde(rename = "mediaType", default)]
    pub(super) media_type: String,
    #[serde(rename = "schemaVersion", default)]
    pub(super) schema_version: u32,
    #[serde(default)]
    pub(super) manifests: Vec<Descriptor>,
    #[serde(default)]
    pub(super) config: Option<Descriptor>,
    #[serde(default)]
    pub(super) layers: Vec<Descriptor>,
}

impl ManifestDoc {
    pub(super) fn parse(data: &[u8]) -> Result<ManifestDoc, String> {
        let doc: ManifestDoc = serde_json::from_slice(data).map_err(|e| e.to_string())?;
        if doc.schema_version != 2 {
            return Err(format!(
                "unsupported manifest schema version {}",
                doc.schema_version
            ));
        }
        Ok(doc)
    }

    pub(super) fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX
            || self.media_type == DOCKER_LIST
            || (self.config.is_none() && !self.manifests.is_empty())
    }
}

/// Our platform in OCI's words.
pub(super) fn our_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    }
}

/// The index entry for linux on our architecture.
pub(super) fn select_platform(manifests: &[Descriptor]) -> Option<&Descriptor> {
    let arch = our_arch();
    let fits = |d: &&Descriptor| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.os == "linux" && p.architecture == arch)
    };
    // arm64 images may carry variant v8; prefer it or none over others.
    manifests
        .iter()
        .filter(fits)
        .find(|d| {
            d.platform
                .as_ref()
                .and_then(|p| p.variant.as_deref())
                .is_none_or(|v| v == "v8")
        })
        .or_else(|| manifests.iter().find(fits))
}

/// Space to ask for before fetching layers: the download plus an estimate
/// of its unpacked size.
pub(super) fn space_needed(layers: &[&Descriptor]) -> u64 {
    layers
        .iter()
        .map(|d| {
            let unpacked = if d.media_type.contains("gzip") || d.media_type.ends_with("diff.tar") {
                d.size.saturating_mul(2)
            } else {
                d.size
            };
            d.size.saturating_add(unpacked)
        })
        .sum()
}

struct Ctx<'a> {
    reference: String,
    registry: String,
    client: &'a Client,
    ep: &'a Endpoint,
}

impl Ctx<'_> {
    fn err(&self, e: ClientError, what: &str) -> PullError {
        let (reference, registry) = (self.reference.clone(), self.registry.clone());
        match e {
            ClientError::Tls(message) => PullError::Tls {
                reference,
                registry,
                message,
            },
            ClientError::Network(message) => PullError::Network {
                reference,
                registry,
                message,
            },
            ClientError::Unauthorized(message) => PullError::Unauthorized {
                reference,
                registry,
                message,
            },
            ClientError::Status(s, _) if s == hyper::StatusCode::NOT_FOUND => PullError::NotFound {
                reference,
                registry,
            },
            ClientError::Status(s, body) => PullError::Network {
                reference,
                registry,
                message: format!("{what}: {s}: {}", body.trim()),
            },
        }
    }

    fn invalid(&self, message: impl Into<String>) -> PullError {
        PullError::Invalid {
            reference: self.reference.clone(),
            message: message.into(),
        }
    }

    fn mismatch(&self, what: &str, expected: &str, actual: &str) -> PullError {
        PullError::DigestMismatch {
            reference: self.reference.clone(),
            message: format!("{what}: digest mismatch: expected {expected}, got {actual}"),
        }
    }

    fn store(&self, e: Error) -> PullError {
        match e {
            Error::NoSpace { need, available } => PullError::NoSpace {
                reference: self.reference.clone(),
                need,
                available,
            },
            Error::DigestMismatch {
                what,
                expected,
                actual,
            } => self.mismatch(&what, &expected, &actual),
            other => self.invalid(format!("{:#}", anyhow::Error::new(other))),
        }
    }

    /// A manifest or config, checked against `expected` (or against the
    /// digest the registry claims when none is known yet).
    async fn small(&self, kind: &str, object: &str, accept: &str) -> Result<Vec<u8>, PullError> {
        let resp = self
            .client
            .get(self.ep, kind, object, accept)
            .await
            .map_err(|e| self.err(e, kind))?;
        let claimed = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = resp.into_body();
        let mut data = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| self.err(ClientError::Network(e.to_string()), kind))?;
            if let Some(chunk) = frame.data_ref() {
                data.extend_from_slice(chunk);
                if data.len() > MAX_MANIFEST {
                    return Err(self.invalid(format!("{kind} {object} is too large")));
                }
            }
        }
        let actual = digest_of(&data);
        let expected = if super::reference::is_digest(object) {
            Some(object.to_string())
        } else {
            claimed.filter(|c| c.starts_with("sha256:"))
        };
        if let Some(expected) = expected
            && expected != actual
        {
            return Err(self.mismatch(&format!("{kind} {object}"), &expected, &actual));
        }
        Ok(data)
    }

    /// Downloads a blob into `path`, verifying size and digest.
    async fn blob(
        &self,
        d: &Descriptor,
        path: &Path,
        store: &ImageStore,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<(), PullError> {
        let resp = self
            .client
            .get(self.ep, "blobs", &d.digest, "*/*")
            .await
            .map_err(|e| self.err(e, "blob"))?;
        let io = |e: std::io::Error| self.store(store.space_or_io(path, e, d.size));
        let mut file = tokio::fs::File::create(path).await.map_err(io)?;
        let mut ctx = Context::new(&SHA256);
        let mut done = 0u64;
        let mut reported = 0u64;
        let mut body = resp.into_body();
        progress(PullProgress::Layer {
            digest: d.digest.clone(),
            done: 0,
            total: d.size,
        });
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| self.err(ClientError::Network(e.to_string()), "blob"))?;
            let Some(chunk) = frame.data_ref() else {
                continue;
            };
            done += chunk.len() as u64;
            if d.size > 0 && done > d.size {
                return Err(self.invalid(format!("blob {} is larger than {}", d.digest, d.size)));
            }
            ctx.update(chunk);
            file.write_all(chunk).await.map_err(io)?;
            if done - reported >= PROGRESS_STEP {
                reported = done;
                progress(PullProgress::Layer {
                    digest: d.digest.clone(),
                    done,
                    total: d.size,
                });
            }
        }
        file.flush().await.map_err(io)?;
        let actual = format!(
            "sha256:{}",
            ctx.finish()
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        if actual != d.digest {
            return Err(self.mismatch(&format!("blob {}", d.digest), &d.digest, &actual));
        }
        progress(PullProgress::Layer {
            digest: d.digest.clone(),
            done,
            total: d.size,
        });
        Ok(())
    }
}

impl ImageStore {
    /// Pulls an image through the configured mirrors, then the registry.
    pub(crate) async fn pull(
        &self,
        reference: &str,
        auth: &[RegistryAuth],
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<Image, PullError> {
        let r = Reference::parse(reference).ok_or_else(|| PullError::Invalid {
            reference: reference.to_string(),
            message: "not a valid image reference".into(),
        })?;
        progress(PullProgress::Resolving {
            reference: r.to_string(),
        });
        let cfg = self.registries();
        let client = Client::new(Arc::clone(&cfg), auth, &r.registry);
        let mut errors = Vec::new();
        for ep in cfg.endpoints(&r.registry, &r.repository) {
            let ctx = Ctx {
                reference: r.to_string(),
                registry: format!("{}://{}", ep.scheme, ep.host),
                client: &client,
                ep: &ep,
            };
            match self.pull_from(&ctx, &r, progress).await {
                Ok(image) => return Ok(image),
                // Local trouble or a lying registry: another endpoint would not help.
                Err(e @ (PullError::NoSpace { .. } | PullError::DigestMismatch { .. })) => {
                    return Err(e);
                }
                Err(e) => {
                    tracing::info!(endpoint = %ctx.registry, "pull {r}: {e}");
                    errors.push(e);
                }
            }
        }
        let first_specific = errors
            .iter()
            .position(|e| !matches!(e, PullError::Network { .. }));
        let i = first_specific.unwrap_or(0);
        Err(errors.swap_remove(i))
    }

    async fn pull_from(
        &self,
        ctx: &Ctx<'_>,
        r: &Reference,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<Image, PullError> {
        let accept = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(", ");
        let mut manifest = ctx.small("manifests", r.object(), &accept).await?;
        let mut doc = ManifestDoc::parse(&manifest).map_err(|e| ctx.invalid(e))?;
        if doc.is_index() {
            let d = select_platform(&doc.manifests).ok_or_else(|| {
                ctx.invalid(format!("no image for linux/{} in the index", our_arch()))
            })?;
            manifest = ctx.small("manifests", &d.digest, &accept).await?;
            doc = ManifestDoc::parse(&manifest).map_err(|e| ctx.invalid(e))?;
        }
        let config_desc = doc
            .config
            .clone()
            .ok_or_else(|| ctx.invalid("manifest without config"))?;
        let config = ctx.small("blobs", &config_desc.digest, "*/*").await?;
        let diff_ids = parse_config_file(&config)
            .map_err(|e| ctx.store(e))?
            .rootfs
            .unwrap_or_default()
            .diff_ids;
        if diff_ids.len() != doc.layers.len() {
            return Err(ctx.invalid("config and manifest disagree on the number of layers"));
        }
        let missing: Vec<(&Descriptor, &String)> = doc
            .layers
            .iter()
            .zip(&diff_ids)
            .filter(|(_, id)| !self.has_layer(id))
            .collect();
        let need = space_needed(&missing.iter().map(|(d, _)| *d).collect::<Vec<_>>());
        self.ensure_space(need).map_err(|e| ctx.store(e))?;

        let staging = self.staging().map_err(|e| ctx.store(e))?;
        let mut staged = BTreeMap::new();
        for (d, diff_id) in missing {
            if staged.contains_key(diff_id) {
                continue;
            }
            let blob = staging
                .dir
                .join(format!("blob-{}", &d.digest["sha256:".len()..]));
            ctx.blob(d, &blob, self, progress).await?;
            progress(PullProgress::Unpacking {
                digest: d.digest.clone(),
            });
            let (store, dir, digest, id) = (
                self.clone(),
                staging.dir.clone(),
                d.digest.clone(),
                diff_id.clone(),
            );
            let blob2 = blob.clone();
            let res = tokio::task::spawn_blocking(move || {
                store.unpack_blob(&dir, &blob2, &digest, &id, &|_| {})
            })
            .await
            .map_err(|e| ctx.invalid(format!("unpack task: {e}")))?;
            let _ = tokio::fs::remove_file(&blob).await;
            let (dir, size) = res.map_err(|e| ctx.store(self.nospace(e, need)))?;
            staged.insert(diff_id.clone(), (dir, size));
        }
        let pending = Pending {
            references: vec![r.to_string()],
            manifest,
            config,
            diff_ids,
            staged,
        };
        let store = self.clone();
        let image = tokio::task::spawn_blocking(move || store.commit(pending))
            .await
            .map_err(|e| ctx.invalid(format!("commit task: {e}")))?
            .map_err(|e| ctx.store(e))?;
        drop(staging);
        progress(PullProgress::Done {
            digest: image.digest.clone(),
            bytes: image.size,
        });
        Ok(image)
    }

    /// Turns an unpack that ran out of disk into `NoSpace`.
    pub(super) fn nospace(&self, e: Error, need: u64) -> Error {
        let enospc = match &e {
            Error::Unpack { source, .. } => source
                .io()
                .is_some_and(|io| io.raw_os_error() == Some(libc::ENOSPC)),
            Error::Io { source, .. } => source.raw_os_error() == Some(libc::ENOSPC),
            _ => false,
        };
        if enospc {
            Error::NoSpace {
                need,
                available: self.available(),
            }
        } else {
            e
        }
    }
}
