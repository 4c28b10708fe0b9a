//! The on-disk store: index, blobs, layers, staging, lock and commits.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{Flock, FlockArg};
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

use super::unpack::unpack_layer;
use super::{Error, Image, ImageConfig, ImageStore, PullProgress, Result};

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Index {
    #[serde(default)]
    pub(super) images: Vec<Record>,
    /// Unpacked bytes per layer diff id.
    #[serde(default)]
    pub(super) layers: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) digest: String,
    pub(super) references: Vec<String>,
    pub(super) config_digest: String,
    pub(super) diff_ids: Vec<String>,
    pub(super) config: ImageConfig,
}

/// An image ready to be committed: blobs in memory, new layers staged.
pub(super) struct Pending {
    pub(super) references: Vec<String>,
    pub(super) manifest: Vec<u8>,
    pub(super) config: Vec<u8>,
    pub(super) diff_ids: Vec<String>,
    /// Staged layer directories by diff id, with unpacked bytes.
    pub(super) staged: BTreeMap<String, (PathBuf, u64)>,
}

/// A staging directory, removed with everything in it when dropped.
pub(super) struct Staging {
    pub(super) dir: PathBuf,
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn digest_of(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

/// Hashes what passes through.
pub(super) struct Hashing<R> {
    pub(super) inner: R,
    ctx: Context,
    pub(super) bytes: u64,
}

impl<R> Hashing<R> {
    pub(super) fn new(inner: R) -> Self {
        Hashing {
            inner,
            ctx: Context::new(&SHA256),
            bytes: 0,
        }
    }

    pub(super) fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
        self.bytes += data.len() as u64;
    }

    pub(super) fn digest(self) -> String {
        format!("sha256:{}", hex(self.ctx.finish().as_ref()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.update(&buf[..n]);
        Ok(n)
    }
}

static STAGING_SEQ: AtomicU64 = AtomicU64::new(0);

impl ImageStore {
    pub(super) fn path(&self, rel: &str) -> PathBuf {
        self.inner.root.join(rel)
    }

    pub(super) fn prepare(&self) -> Result<()> {
        for d in ["blobs/sha256", "layers", "tmp"] {
            let p = self.path(d);
            fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        let _lock = self.lock()?;
        let tmp = self.path("tmp");
        for entry in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.split('-').next().and_then(|p| p.parse::<i32>().ok());
            let alive = pid.is_some_and(|p| {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok()
            });
            if !alive {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        Ok(())
    }

    /// Exclusive lock over commits, across threads and processes.
    pub(super) fn lock(&self) -> Result<Flock<File>> {
        let path = self.path("lock");
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| Error::Io {
            path,
            source: e.into(),
        })
    }

    pub(super) fn staging(&self) -> Result<Staging> {
        let n = STAGING_SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = self.path(&format!("tmp/{}-{n}", std::process::id()));
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(Staging { dir })
    }

    pub(super) fn read_index(&self) -> Result<Index> {
        let path = self.path("index.json");
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Invalid {
                what: path.display().to_string(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Writes `data` to `rel` atomically (temporary file, fsync, rename).
    pub(super) fn write_atomic(&self, rel: &str, data: &[u8]) -> Result<()> {
        let path = self.path(rel);
        let tmp = self.path(&format!("{rel}.tmp-{}", std::process::id()));
        let res = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res.map_err(|e| self.space_or_io(&path, e, data.len() as u64))
    }

    pub(super) fn image(&self, r: &Record, sizes: &BTreeMap<String, u64>) -> Image {
        Image {
            references: r.references.clone(),
            digest: r.digest.clone(),
            config: r.config.clone(),
            layers: r.diff_ids.iter().map(|d| self.layer_dir(d)).collect(),
            size: r.diff_ids.iter().filter_map(|d| sizes.get(d)).sum(),
        }
    }

    pub(super) fn layer_dir(&self, diff_id: &str) -> PathBuf {
        self.path(&format!(
            "layers/{}",
            diff_id.strip_prefix("sha256:").unwrap_or(diff_id)
        ))
    }

    pub(super) fn has_layer(&self, diff_id: &str) -> bool {
        self.layer_dir(diff_id).is_dir()
    }

    pub(super) fn available(&self) -> u64 {
        nix::sys::statvfs::statvfs(&self.inner.root)
            // The field types differ between libc targets.
            .map(|s| {
                #[allow(clippy::unnecessary_cast)]
                let bytes = s.blocks_available() as u64 * s.fragment_size() as u64;
                bytes
            })
            .unwrap_or(u64::MAX)
    }

    pub(super) fn ensure_space(&self, need: u64) -> Result<()> {
        let available = self.available();
        if need > available {
            return Err(Error::NoSpace { need, available });
        }
        Ok(())
    }

    pub(super) fn space_or_io(&self, path: &Path, e: io::Error, need: u64) -> Error {
        if e.raw_os_error() == Some(libc::ENOSPC) {
            Error::NoSpace {
                need,
                available: self.available(),
            }
        } else {
            io_err(path)(e)
        }
    }

    /// Unpacks a layer blob (gzip or plain tar) into the staging dir,
    /// checking both the blob digest and the diff id.
    pub(super) fn unpack_blob(
        &self,
        staging: &Path,
        blob: &Path,
        digest: &str,
        diff_id: &str,
        progress: &dyn Fn(PullProgress),
    ) -> Result<(PathBuf, u64)> {
        progress(PullProgress::Unpacking {
            digest: digest.to_string(),
        });
        let dest = staging.join(format!("layer-{}", sha256_hex(diff_id.as_bytes())));
        fs::create_dir(&dest).map_err(io_err(&dest))?;
        let file = File::open(blob).map_err(io_err(blob))?;
        let mut compressed = Hashing::new(BufReader::with_capacity(1 << 16, file));
        let mut magic = [0u8; 4];
        let n = read_full(&mut compressed, &mut magic).map_err(io_err(blob))?;
        let head = io::Cursor::new(magic[..n].to_vec());
        let stream = head.chain(&mut compressed);
        let unpack_err = |source| Error::Unpack {
            digest: digest.to_string(),
            source,
        };
        let (written, actual_diff) = if magic[..n.min(2)] == [0x1f, 0x8b] {
            let mut plain = Hashing::new(flate2::read::MultiGzDecoder::new(stream));
            let w = unpack_layer(&mut plain, &dest).map_err(unpack_err)?;
            (w, plain.digest())
        } else if magic[..n] == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(Error::Invalid {
                what: format!("layer {digest}"),
                message: "zstd-compressed layers are not supported".into(),
            });
        } else {
            let mut plain = Hashing::new(stream);
            let w = unpack_layer(&mut plain, &dest).map_err(unpack_err)?;
            (w, plain.digest())
        };
        io::copy(&mut compressed, &mut io::sink()).map_err(io_err(blob))?;
        let actual = compressed.digest();
        if actual != digest {
            return Err(Error::DigestMismatch {
                what: format!("layer {digest}"),
                expected: digest.to_string(),
                actual,
            });
        }
        if actual_diff != diff_id {
            return Err(Error::DigestMismatch {
                what: format!("uncompressed layer {digest}"),
                expected: diff_id.to_string(),
                actual: actual_diff,
            });
        }
        Ok((dest, written))
    }

    /// Moves staged layers into place and records the image, under the lock.
    pub(super) fn commit(&self, pending: Pending) -> Result<Image> {
        let lock = self.lock()?;
        let mut created = Vec::new();
        let res = self.commit_locked(&pending, &mut created);
        if res.is_err() {
            // What this commit moved in goes again: no half-recorded image.
            for path in created.iter().rev() {
                let _ = fs::remove_dir_all(path).or_else(|_| fs::remove_file(path));
            }
        }
        drop(lock);
        res
    }

    fn commit_locked(&self, pending: &Pending, created: &mut Vec<PathBuf>) -> Result<Image> {
        let mut index = self.read_index()?;
        for (diff_id, (dir, size)) in &pending.staged {
            let target = self.layer_dir(diff_id);
            if !target.exists() {
                fs::rename(dir, &target).map_err(io_err(&target))?;
                created.push(target);
            }
            index.layers.insert(diff_id.clone(), *size);
        }
        let manifest_digest = digest_of(&pending.manifest);
        let config_digest = digest_of(&pending.config);
        for (digest, data) in [
            (&manifest_digest, &pending.manifest),
            (&config_digest, &pending.config),
        ] {
            let rel = format!("blobs/sha256/{}", &digest["sha256:".len()..]);
            if !self.path(&rel).exists() {
                self.write_atomic(&rel, data)?;
                created.push(self.path(&rel));
            }
        }
        let config = parse_config(&pending.config)?;
        // A reference names one image: retagging moves it here.
        for r in &mut index.images {
            if r.digest != manifest_digest {
                r.references.retain(|x| !pending.references.contains(x));
            }
        }
        let record = match index
            .images
            .iter_mut()
            .find(|r| r.digest == manifest_digest)
        {
            Some(r) => {
                for x in &pending.references {
                    if !r.references.contains(x) {
                        r.references.push(x.clone());
                    }
                }
                r.clone()
            }
            None => {
                let r = Record {
                    digest: manifest_digest,
                    references: pending.references.clone(),
                    config_digest,
                    diff_ids: pending.diff_ids.clone(),
                    config,
                };
                index.images.push(r.clone());
                r
            }
        };
        let data = serde_json::to_vec_pretty(&index).map_err(|e| Error::Invalid {
            what: "image index".into(),
            message: e.to_string(),
        })?;
        self.write_atomic("index.json", &data)?;
        Ok(self.image(&record, &index.layers))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The parts of an image config the runtime needs.
#[derive(Deserialize, Default)]
pub(super) struct ConfigFile {
    #[serde(default)]
    pub(super) architecture: String,
    #[serde(default)]
    pub(super) os: String,
    #[serde(default)]
    config: Option<RunConfig>,
    #[serde(default)]
    pub(super) rootfs: Option<RootFs>,
}

#[derive(Deserialize, Default)]
pub(super) struct RootFs {
    #[serde(default)]
    pub(super) diff_ids: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    stop_signal: Option<String>,
}

pub(super) fn parse_config_file(data: &[u8]) -> Result<ConfigFile> {
    serde_json::from_slice(data).map_err(|e| Error::Invalid {
        what: "image config".into(),
        message: e.to_string(),
    })
}

fn parse_config(data: &[u8]) -> Result<ImageConfig> {
    let c = parse_config_file(data)?.config.unwrap_or_default();
    Ok(ImageConfig {
        env: c.env.unwrap_or_default(),
        entrypoint: c.entrypoint.unwrap_or_default(),
        cmd: c.cmd.unwrap_or_default(),
        working_dir: c.working_dir.unwrap_or_default(),
        user: c.user.unwrap_or_default(),
        exposed_ports: c
            .exposed_ports
            .map(|p| p.into_keys().collect())
            .unwrap_or_default(),
        stop_signal: c.stop_signal.unwrap_or_default(),
    })
}
