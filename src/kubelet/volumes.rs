//! A pod's volumes as host directories under its pod directory, ready to
//! be bind-mounted into containers: emptyDir (disk or memory), configMap,
//! secret, projected, downwardAPI and hostPath.
//!
//! Layout: `POD_DIR/volumes/<plugin>/<volume>`; contents written from the
//! API go through the atomic writer so updates swap in one step.

mod atomic;
mod downward;
mod env;
mod hostpath;
mod mount;
mod project;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Volume};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

// The pod workers use these as they arrive.
#[allow(unused_imports)]
pub(crate) use env::{ResolvedEnv, ServiceEnv, expand, expand_all, resolve_env};
#[allow(unused_imports)]
pub(crate) use hostpath::HostDevice;
#[allow(unused_imports)]
pub(crate) use mount::{FakeMounter, HostMounter, Mounter};
#[allow(unused_imports)]
pub(crate) use source::{BoxFuture, IssuedToken, KubeSource, TokenSpec, VolumeSource};

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("configmap \"{0}\" not found")]
    ConfigMapNotFound(String),
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    #[error("couldn't find key {key} in {kind} {object}")]
    MissingKey {
        key: String,
        kind: &'static str,
        object: String,
    },
    #[error("configmap references non-existent config key: {0}")]
    MissingConfigMapKey(String),
    #[error("secret references non-existent secret key: {0}")]
    MissingSecretKey(String),
    #[error("unsupported fieldPath: {0}")]
    FieldPath(String),
    #[error("unsupported container resource: {0}")]
    Resource(String),
    #[error("invalid quantity {0:?}")]
    Quantity(String),
    #[error("container {0:?} not found in the pod")]
    NoContainer(String),
    #[error("hostPath type check failed: {path} is not {expected}")]
    HostPathType {
        path: String,
        expected: &'static str,
    },
    #[error("hostPath {path}: {source}")]
    HostPath {
        path: String,
        source: std::io::Error,
    },
    #[error("unsupported volume type in volume {0:?}")]
    Unsupported(String),
    #[error("{what}: {message}")]
    Api { what: String, message: String },
    #[error("write volume {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mount tmpfs at {path}: {source}")]
    Mount {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unmount {path}: {source}")]
    Unmount {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("remove pod directory {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure to set up one volume.
#[derive(Debug, thiserror::Error)]
#[error("volume {volume:?}: {source}")]
pub(crate) struct VolumeError {
    pub(crate) volume: String,
    #[source]
    pub(crate) source: Error,
}

impl VolumeError {
    /// The FailedMount event message, in upstream's words.
    pub(crate) fn event_message(&self) -> String {
        format!(
            "MountVolume.SetUp failed for volume \"{}\" : {}",
            self.volume, self.source
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VolumeKind {
    EmptyDir,
    /// emptyDir with medium Memory.
    MemoryEmptyDir,
    ConfigMap,
    Secret,
    Projected,
    DownwardApi,
    HostPath,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedVolume {
    pub(crate) name: String,
    /// What containers bind-mount.
    pub(crate) host_path: PathBuf,
    /// API-written volumes are always mounted read-only, as upstream.
    pub(crate) read_only_default: bool,
    pub(crate) kind: VolumeKind,
    /// For hostPath volumes naming a character or block device: what the
    /// device cgroup must allow when a container uses it.
    pub(crate) device: Option<HostDevice>,
}

/// What a refresh rewrote.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Refreshed {
    /// Volumes whose files changed.
    pub(crate) changed: Vec<String>,
}

/// Sets up and tears down pod volumes.
#[derive(Clone)]
pub(crate) struct Volumes {
    source: Arc<dyn VolumeSource>,
    mounter: Arc<dyn Mounter>,
    /// Node allocatable, the stand-in for unset limits in the downward API.
    allocatable: BTreeMap<String, Quantity>,
}

fn plugin_dir(kind: VolumeKind) -> &'static str {
    match kind {
        VolumeKind::EmptyDir | VolumeKind::MemoryEmptyDir => "kubernetes.io~empty-dir",
        VolumeKind::ConfigMap => "kubernetes.io~configmap",
        VolumeKind::Secret => "kubernetes.io~secret",
        VolumeKind::Projected => "kubernetes.io~projected",
        VolumeKind::DownwardApi => "kubernetes.io~downward-api",
        VolumeKind::HostPath => "kubernetes.io~host-path",
    }
}

fn kind_of(v: &Volume) -> Option<VolumeKind> {
    Some(if let Some(e) = &v.empty_dir {
        if e.medium.as_deref() == Some("Memory") {
            VolumeKind::MemoryEmptyDir
        } else {
            VolumeKind::EmptyDir
        }
    } else if v.config_map.is_some() {
        VolumeKind::ConfigMap
    } else if v.secret.is_some() {
        VolumeKind::Secret
    } else if v.projected.is_some() {
        VolumeKind::Projected
    } else if v.downward_api.is_some() {
        VolumeKind::DownwardApi
    } else if v.host_path.is_some() {
        VolumeKind::HostPath
    } else {
        return None;
    })
}

/// Where a pod's volume lives on the host (hostPath volumes aside).
pub(crate) fn volume_dir(pod_dir: &Path, kind: VolumeKind, name: &str) -> PathBuf {
    pod_dir.join("volumes").join(plugin_dir(kind)).join(name)
}

impl Volumes {
    pub(crate) fn new(
        source: Arc<dyn VolumeSource>,
        mounter: Arc<dyn Mounter>,
        allocatable: BTreeMap<String, Quantity>,
    ) -> Volumes {
        Volumes {
            source,
            mounter,
            allocatable,
        }
    }

    /// [`resolve_env`] with this node's source and allocatable amounts.
    pub(crate) async fn resolve_env(
        &self,
        pod: &Pod,
        container: &k8s_openapi::api::core::v1::Container,
        service: Option<&ServiceEnv>,
    ) -> Result<ResolvedEnv> {
        env::resolve_env(
            self.source.as_ref(),
            pod,
            container,
            &self.allocatable,
            service,
        )
        .await
    }

    fn is_mounted(&self, dir: &Path) -> Result<bool> {
        let under = self.mounter.mounts_under(dir).map_err(|e| Error::Mount {
            path: dir.to_path_buf(),
            source: e,
        })?;
        Ok(under.iter().any(|p| p == dir))
    }

    /// Creates `dir` and, once, mounts a tmpfs on it.
    fn ensure_tmpfs(&self, dir: &Path, size: Option<u64>) -> Result<()> {
        fs::create_dir_all(dir).map_err(|e| Error::Write {
            path: dir.to_path_buf(),
            source: e,
        })?;
        if !self.is_mounted(dir)? {
            self.mounter
                .mount_tmpfs(dir, size)
                .map_err(|e| Error::Mount {
                    path: dir.to_path_buf(),
                    source: e,
                })?;
        }
        Ok(())
    }

    /// Sets up every volume of `pod` under `pod_dir`. Idempotent: a second
    /// call (after a restart) reuses what exists. The pod's status IPs
    /// must be filled in by the caller for downward API fields to see them.
    pub(crate) async fn prepare(
        &self,
        pod: &Pod,
        pod_dir: &Path,
    ) -> Result<Vec<PreparedVolume>, VolumeError> {
        let mut out = Vec::new();
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            let wrap = |source| VolumeError {
                volume: v.name.clone(),
                source,
            };
            let prepared = self.prepare_one(pod, pod_dir, v).await.map_err(wrap)?;
            out.push(prepared);
        }
        Ok(out)
    }

    async fn prepare_one(&self, pod: &Pod, pod_dir: &Path, v: &Volume) -> Result<PreparedVolume> {
        let kind = kind_of(v).ok_or_else(|| Error::Unsupported(v.name.clone()))?;
        let dir = volume_dir(pod_dir, kind, &v.name);
        let mut device = None;
        let host_path = match kind {
            VolumeKind::EmptyDir => {
                make_dir(&dir, 0o777)?;
                dir
            }
            VolumeKind::MemoryEmptyDir => {
                let size = match v.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()) {
                    Some(q) => Some(
                        downward::Amount::parse(&q.0)
                            .ok_or_else(|| Error::Quantity(q.0.clone()))?
                            .units()
                            .max(0) as u64,
                    ),
                    None => None,
                };
                self.ensure_tmpfs(&dir, size)?;
                set_mode(&dir, 0o777)?;
                dir
            }
            VolumeKind::HostPath => {
                let hp = v
                    .host_path
                    .as_ref()
                    .ok_or_else(|| Error::Unsupported(v.name.clone()))?;
                device = hostpath::check(&hp.path, hp.type_.as_deref().unwrap_or(""))?;
                PathBuf::from(&hp.path)
            }
            VolumeKind::ConfigMap => {
                make_dir(&dir, 0o755)?;
                self.write_api_volume(pod, pod_dir, v, &dir).await?;
                dir
            }
            VolumeKind::Secret | VolumeKind::Projected | VolumeKind::DownwardApi => {
                self.ensure_tmpfs(&dir, None)?;
                self.write_api_volume(pod, pod_dir, v, &dir).await?;
                dir
            }
        };
        Ok(PreparedVolume {
            name: v.name.clone(),
            host_path,
            read_only_default: matches!(
                kind,
                VolumeKind::ConfigMap
                    | VolumeKind::Secret
                    | VolumeKind::Projected
                    | VolumeKind::DownwardApi
            ),
            kind,
            device,
        })
    }

    /// Renders and writes an API-backed volume; true when files changed.
    async fn write_api_volume(
        &self,
        pod: &Pod,
        pod_dir: &Path,
        v: &Volume,
        dir: &Path,
    ) -> Result<bool> {
        let ctx = project::Context {
            source: self.source.as_ref(),
            pod,
            allocatable: &self.allocatable,
            state_dir: &pod_dir.join("volumes").join(".state"),
            volume: &v.name,
            now: jiff::Timestamp::now().as_second(),
        };
        let payload = project::payload(&ctx, v).await?;
        atomic::write(dir, &payload).map_err(|e| Error::Write {
            path: dir.to_path_buf(),
            source: e,
        })
    }

    /// Rewrites configMap, secret, projected and downwardAPI volumes whose
    /// content changed (objects updated, labels changed, a token past 80%
    /// of its lifetime). Call periodically for running pods.
    pub(crate) async fn refresh(
        &self,
        pod: &Pod,
        pod_dir: &Path,
    ) -> Result<Refreshed, VolumeError> {
        let mut out = Refreshed::default();
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            let wrap = |source| VolumeError {
                volume: v.name.clone(),
                source,
            };
            let Some(kind) = kind_of(v) else { continue };
            if !matches!(
                kind,
                VolumeKind::ConfigMap
                    | VolumeKind::Secret
                    | VolumeKind::Projected
                    | VolumeKind::DownwardApi
            ) {
                continue;
            }
            let dir = volume_dir(pod_dir, kind, &v.name);
            // Not set up (yet): prepare does that.
            if !dir.exists() {
                continue;
            }
            if self
                .write_api_volume(pod, pod_dir, v, &dir)
                .await
                .map_err(wrap)?
            {
                out.changed.push(v.name.clone());
            }
        }
        Ok(out)
    }

    /// Unmounts whatever is mounted under `pod_dir` and removes it.
    pub(crate) fn cleanup(&self, pod_dir: &Path) -> Result<()> {
        let mounts = self
            .mounter
            .mounts_under(pod_dir)
            .map_err(|e| Error::Unmount {
                path: pod_dir.to_path_buf(),
                source: e,
            })?;
        for m in mounts {
            self.mounter.unmount(&m).map_err(|e| Error::Unmount {
                path: m.clone(),
                source: e,
            })?;
        }
        // Refuse to delete through a mount that is still there.
        if !self
            .mounter
            .mounts_under(pod_dir)
            .map_err(|e| Error::Unmount {
                path: pod_dir.to_path_buf(),
                source: e,
            })?
            .is_empty()
        {
            return Err(Error::Unmount {
                path: pod_dir.to_path_buf(),
                source: std::io::Error::other("mounts remain"),
            });
        }
        match fs::remove_dir_all(pod_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Remove {
                path: pod_dir.to_path_buf(),
                source: e,
            }),
        }
    }
}

fn set_mode(dir: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).map_err(|e| Error::Write {
        path: dir.to_path_buf(),
        source: e,
    })
}

fn make_dir(dir: &Path, mode: u32) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::Write {
        path: dir.to_path_buf(),
        source: e,
    })?;
    set_mode(dir, mode)
}
