//! Air-gap imports: OCI image layout archives and docker-save archives,
//! plain or gzip-compressed, given on the command line or dropped into
//! `DATA/images/`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::pull::{DOCKER_MANIFEST, ManifestDoc, OCI_MANIFEST, our_arch, select_platform};
use super::reference::is_digest;
use super::store::{Hashing, Pending, Staging, digest_of, io_err, parse_config_file};
use super::unpack::clean_path;
use super::{Error, Image, ImageStore, PullProgress, Reference, Result};

const CONTAINERD_NAME: &str = "io.containerd.image.name";
const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";
const IMPORTED: &str = "imported.json";

/// Counts bytes read, for progress over the archive file.
struct Counting<R, F: Fn(u64)> {
    inner: R,
    done: u64,
    reported: u64,
    report: F,
}

impl<R: Read, F: Fn(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done - self.reported >= 1 << 20 || n == 0 {
            self.reported = self.done;
            (self.report)(self.done);
        }
        Ok(n)
    }
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Seen {
    size: u64,
    mtime: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

impl ImageStore {
    /// Imports every image of an OCI layout or docker-save archive.
    pub(crate) fn import_archive(
        &self,
        file: &Path,
        progress: &dyn Fn(PullProgress),
    ) -> Result<Vec<Image>> {
        let staging = self.staging()?;
        let size = fs::metadata(file).map_err(io_err(file))?.len();
        self.ensure_space(size)?;
        let root = staging.dir.join("archive");
        let label = file.display().to_string();
        progress(PullProgress::Resolving {
            reference: label.clone(),
        });
        self.extract(file, &root, size, &label, progress)
            .map_err(|e| self.nospace(e, size))?;
        let images = if root.join("index.json").is_file() {
            self.import_layout(&staging, &root, progress)?
        } else if root.join("manifest.json").is_file() {
            self.import_docker(&staging, &root, progress)?
        } else {
            return Err(Error::Invalid {
                what: label,
                message: "neither an OCI image layout nor a docker-save archive".into(),
            });
        };
        for image in &images {
            progress(PullProgress::Done {
                digest: image.digest.clone(),
                bytes: image.size,
            });
        }
        Ok(images)
    }

    /// Imports archives in `dir` not imported before (same name, size and
    /// modification time); a failing file is logged and retried next time.
    pub(crate) fn import_dir(
        &self,
        dir: &Path,
        progress: &dyn Fn(PullProgress),
    ) -> Result<Vec<Image>> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(dir)(e)),
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap_or_default().to_string_lossy();
                p.is_file() && [".tar", ".tar.gz", ".tgz"].iter().any(|s| n.ends_with(s))
            })
            .collect();
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let meta = fs::metadata(&path).map_err(io_err(&path))?;
            let seen = Seen {
                size: meta.len(),
                mtime: std::os::unix::fs::MetadataExt::mtime(&meta),
            };
            if self.imported()?.get(&name) == Some(&seen) {
                continue;
            }
            match self.import_archive(&path, progress) {
                Ok(images) => {
                    tracing::info!("imported {} image(s) from {}", images.len(), path.display());
                    let _lock = self.lock()?;
                    let mut all = self.imported()?;
                    all.insert(name, seen);
                    let data = serde_json::to_vec_pretty(&all).unwrap_or_default();
                    self.write_atomic(IMPORTED, &data)?;
                    out.extend(images);
                }
                Err(e) => tracing::warn!("import {}: {:#}", path.display(), anyhow::Error::new(e)),
            }
        }
        Ok(out)
    }

    fn imported(&self) -> Result<BTreeMap<String, Seen>> {
        let path = self.path(IMPORTED);
        match fs::read(&path) {
            Ok(b) => Ok(serde_json::from_slice(&b).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Unpacks the outer archive: plain files and directories only, links
    /// between its own files resolved to copies.
    fn extract(
        &self,
        file: &Path,
        root: &Path,
        size: u64,
        label: &str,
        progress: &dyn Fn(PullProgress),
    ) -> Result<()> {
        fs::create_dir(root).map_err(io_err(root))?;
        let f = File::open(file).map_err(io_err(file))?;
        let counting = Counting {
            inner: BufReader::with_capacity(1 << 16, f),
            done: 0,
            reported: 0,
            report: |done| {
                progress(PullProgress::Layer {
                    digest: label.to_string(),
                    done,
                    total: size,
                })
            },
        };
        let mut reader = BufReader::new(counting);
        let gz = {
            use io::BufRead;
            let head = reader.fill_buf().map_err(io_err(file))?;
            head.starts_with(&[0x1f, 0x8b])
        };
        let stream: Box<dyn Read> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        let bad = |message: String| Error::Invalid {
            what: label.to_string(),
            message,
        };
        let mut links = Vec::new();
        let mut archive = tar::Archive::new(stream);
        for entry in archive.entries().map_err(io_err(file))? {
            let mut entry = entry.map_err(io_err(file))?;
            let raw = entry.path_bytes().into_owned();
            let rel = clean_path(&raw)
                .ok_or_else(|| bad(format!("entry {:?} escapes", String::from_utf8_lossy(&raw))))?;
            if rel.as_os_str().is_empty() {
                continue;
            }
            let target = root.join(&rel);
            match entry.header().entry_type() {
                tar::EntryType::Directory => {
                    fs::create_dir_all(&target).map_err(io_err(&target))?;
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    if let Some(p) = target.parent() {
                        fs::create_dir_all(p).map_err(io_err(p))?;
                    }
                    let mut out = File::create(&target).map_err(io_err(&target))?;
                    io::copy(&mut entry, &mut out).map_err(io_err(&target))?;
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let link = entry.link_name_bytes().unwrap_or_default().into_owned();
                    let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                        rel.parent().unwrap_or(Path::new("")).to_path_buf()
                    } else {
                        PathBuf::new()
                    };
                    let src = resolve_inside(&base, Path::new(std::ffi::OsStr::from_bytes(&link)))
                        .ok_or_else(|| bad(format!("link {} escapes", rel.display())))?;
                    links.push((rel, src));
                }
                _ => {}
            }
        }
        // The tar reader stops at the end marker, before any padding.
        progress(PullProgress::Layer {
            digest: label.to_string(),
            done: size,
            total: size,
        });
        for (rel, src) in links {
            let (from, to) = (root.join(&src), root.join(&rel));
            if let Some(p) = to.parent() {
                fs::create_dir_all(p).map_err(io_err(p))?;
            }
            fs::hard_link(&from, &to).map_err(io_err(&from))?;
        }
        Ok(())
    }

    fn import_layout(
        &self,
        staging: &Staging,
        root: &Path,
        progress: &dyn Fn(PullProgress),
    ) -> Result<Vec<Image>> {
        let index = read_blob_file(&root.join("index.json"), None)?;
        let index = ManifestDoc::parse(&index).map_err(|message| Error::Invalid {
            what: "index.json".into(),
            message,
        })?;
        let mut images = Vec::new();
        for desc in &index.manifests {
            let mut references = Vec::new();
            for key in [CONTAINERD_NAME, OCI_REF_NAME] {
                if let Some(name) = desc.annotations.get(key)
                    && (name.contains('/') || name.contains(':'))
                    && let Some(r) = Reference::parse(name)
                    && !references.contains(&r.to_string())
                {
                    references.push(r.to_string());
                }
            }
            let mut manifest =
                read_blob_file(&layout_blob(root, &desc.digest)?, Some(&desc.digest))?;
            let mut doc = parse_manifest(&manifest, &desc.digest)?;
            if doc.is_index() {
                let inner = select_platform(&doc.manifests).ok_or_else(|| Error::Invalid {
                    what: format!("index {}", desc.digest),
                    message: format!("no image for linux/{}", our_arch()),
                })?;
                let digest = inner.digest.clone();
                manifest = read_blob_file(&layout_blob(root, &digest)?, Some(&digest))?;
                doc = parse_manifest(&manifest, &digest)?;
            }
            let config_desc = doc.config.as_ref().ok_or_else(|| Error::Invalid {
                what: format!("manifest {}", desc.digest),
                message: "no config".into(),
            })?;
            let config = read_blob_file(
                &layout_blob(root, &config_desc.digest)?,
                Some(&config_desc.digest),
            )?;
            let layers: Vec<(String, PathBuf)> = doc
                .layers
                .iter()
                .map(|l| Ok((l.digest.clone(), layout_blob(root, &l.digest)?)))
                .collect::<Result<_>>()?;
            images.push(self.ingest(staging, references, manifest, config, layers, progress)?);
        }
        Ok(images)
    }

    fn import_docker(
        &self,
        staging: &Staging,
        root: &Path,
        progress: &dyn Fn(PullProgress),
    ) -> Result<Vec<Image>> {
        let data = read_blob_file(&root.join("manifest.json"), None)?;
        let entries: Vec<DockerEntry> =
            serde_json::from_slice(&data).map_err(|e| Error::Invalid {
                what: "manifest.json".into(),
                message: e.to_string(),
            })?;
        let mut images = Vec::new();
        for entry in entries {
            let config_path = inside(root, &entry.config)?;
            let config = read_blob_file(&config_path, None)?;
            let mut layers = Vec::new();
            let mut descriptors = Vec::new();
            for l in &entry.layers {
                let path = inside(root, l)?;
                let (digest, size, gz) = hash_file(&path)?;
                let media_type = if gz {
                    "application/vnd.oci.image.layer.v1.tar+gzip"
                } else {
                    "application/vnd.oci.image.layer.v1.tar"
                };
                descriptors.push(serde_json::json!({
                    "mediaType": media_type, "digest": digest, "size": size,
                }));
                layers.push((digest, path));
            }
            // docker-save has no manifest; make the one a registry would serve.
            let manifest = serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": digest_of(&config),
                    "size": config.len(),
                },
                "layers": descriptors,
            }))
            .unwrap_or_default();
            let references = entry
                .repo_tags
                .unwrap_or_default()
                .iter()
                .filter_map(|t| Reference::parse(t).map(|r| r.to_string()))
                .collect();
            images.push(self.ingest(staging, references, manifest, config, layers, progress)?);
        }
        Ok(images)
    }

    /// Unpacks the layers not present yet and commits the image.
    fn ingest(
        &self,
        staging: &Staging,
        references: Vec<String>,
        manifest: Vec<u8>,
        config: Vec<u8>,
        layers: Vec<(String, PathBuf)>,
        progress: &dyn Fn(PullProgress),
    ) -> Result<Image> {
        let diff_ids = parse_config_file(&config)?
            .rootfs
            .unwrap_or_default()
            .diff_ids;
        if diff_ids.len() != layers.len() {
            return Err(Error::Invalid {
                what: format!("image {}", digest_of(&manifest)),
                message: "config and manifest disagree on the number of layers".into(),
            });
        }
        let mut staged = BTreeMap::new();
        for ((digest, path), diff_id) in layers.iter().zip(&diff_ids) {
            if self.has_layer(diff_id) || staged.contains_key(diff_id) {
                continue;
            }
            let need = fs::metadata(path).map(|m| m.len() * 2).unwrap_or(0);
            let (dir, size) = self
                .unpack_blob(&staging.dir, path, digest, diff_id, progress)
                .map_err(|e| self.nospace(e, need))?;
            staged.insert(diff_id.clone(), (dir, size));
        }
        self.commit(Pending {
            references,
            manifest,
            config,
            diff_ids,
            staged,
        })
    }
}

fn parse_manifest(data: &[u8], digest: &str) -> Result<ManifestDoc> {
    let doc = ManifestDoc::parse(data).map_err(|message| Error::Invalid {
        what: format!("manifest {digest}"),
        message,
    })?;
    if !doc.is_index()
        && !doc.media_type.is_empty()
        && doc.media_type != OCI_MANIFEST
        && doc.media_type != DOCKER_MANIFEST
    {
        return Err(Error::Invalid {
            what: format!("manifest {digest}"),
            message: format!("unsupported media type {}", doc.media_type),
        });
    }
    Ok(doc)
}

fn layout_blob(root: &Path, digest: &str) -> Result<PathBuf> {
    if !is_digest(digest) {
        return Err(Error::Invalid {
            what: format!("blob {digest:?}"),
            message: "only sha256 digests are supported".into(),
        });
    }
    Ok(root.join("blobs/sha256").join(&digest["sha256:".len()..]))
}

fn inside(root: &Path, rel: &str) -> Result<PathBuf> {
    clean_path(rel.as_bytes())
        .map(|p| root.join(p))
        .ok_or_else(|| Error::Invalid {
            what: format!("path {rel:?}"),
            message: "escapes the archive".into(),
        })
}

/// Reads a small file, checking its digest when one is expected.
fn read_blob_file(path: &Path, digest: Option<&str>) -> Result<Vec<u8>> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    if meta.len() > 8 << 20 {
        return Err(Error::Invalid {
            what: path.display().to_string(),
            message: "too large for a manifest or config".into(),
        });
    }
    let data = fs::read(path).map_err(io_err(path))?;
    if let Some(expected) = digest {
        let actual = digest_of(&data);
        if actual != expected {
            return Err(Error::DigestMismatch {
                what: format!("blob {expected}"),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok(data)
}

/// Digest, size and whether the file is gzip.
fn hash_file(path: &Path) -> Result<(String, u64, bool)> {
    let f = File::open(path).map_err(io_err(path))?;
    let mut h = Hashing::new(BufReader::new(f));
    let mut magic = [0u8; 2];
    let n = h.read(&mut magic).map_err(io_err(path))?;
    io::copy(&mut h, &mut io::sink()).map_err(io_err(path))?;
    let size = h.bytes;
    Ok((h.digest(), size, n == 2 && magic == [0x1f, 0x8b]))
}

/// `base/link` normalized lexically; `None` if it leaves the archive.
fn resolve_inside(base: &Path, link: &Path) -> Option<PathBuf> {
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    let start = if link.is_absolute() {
        Path::new("")
    } else {
        base
    };
    for c in start.components().chain(link.components()) {
        match c {
            Component::Normal(p) => out.push(p.to_os_string()),
            Component::ParentDir => {
                out.pop()?;
            }
            _ => {}
        }
    }
    Some(out.iter().collect())
}
