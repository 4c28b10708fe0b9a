//! Test images and registries. Images are built from Debian's
//! busybox-static into an OCI image layout (written here, deterministic,
//! once per test binary and cached by content under the target dir), then
//! exported as OCI layout and docker-save archives or pushed with skopeo
//! to a local `docker-registry` that each test starts on a free loopback
//! port and that is killed when dropped.
#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const BUSYBOX: &str = "/bin/busybox";
pub const BUSYBOX_REF: &str = "docker.io/library/busybox:latest";
/// The name the docker-save archive carries.
pub const BUSYBOX_DOCKER_REF: &str = "sovedge.test/busybox-docker:v1";

/// A built image: its OCI layout directory and both archive kinds.
pub struct BuiltImage {
    pub layout: PathBuf,
    pub oci_tar: PathBuf,
    pub docker_tar: PathBuf,
    /// Manifest digest in the layout.
    pub digest: String,
    /// Compressed size of all layers.
    pub layer_bytes: u64,
}

fn sha256(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn cache_root() -> PathBuf {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp"));
    base.join("test-images")
}

fn header(kind: tar::EntryType, mode: u32, uid: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_size(size);
    h.set_mtime(0);
    h
}

/// The busybox root file system as an uncompressed layer tar.
pub fn busybox_layer() -> Vec<u8> {
    let bin = fs::read(BUSYBOX).expect("busybox-static installed (hack/test installs it)");
    let list = Command::new(BUSYBOX).arg("--list-full").output().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let dirs = [
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("proc", 0o755),
        ("root", 0o700),
        ("sbin", 0o755),
        ("sys", 0o755),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("var", 0o755),
        ("var/www", 0o755),
    ];
    for (d, mode) in dirs {
        let mut h = header(tar::EntryType::Directory, mode, 0, 0);
        b.append_data(&mut h, format!("{d}/"), std::io::empty())
            .unwrap();
    }
    let mut h = header(tar::EntryType::Regular, 0o755, 0, bin.len() as u64);
    b.append_data(&mut h, "bin/busybox", &bin[..]).unwrap();
    let files: [(&str, &[u8]); 4] = [
        (
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        ("etc/group", b"root:x:0:\nnogroup:x:65534:\n"),
        ("etc/hostname", b"busybox\n"),
        ("var/www/index.html", b"hello from busybox\n"),
    ];
    for (path, data) in files {
        let mut h = header(tar::EntryType::Regular, 0o644, 0, data.len() as u64);
        b.append_data(&mut h, path, data).unwrap();
    }
    let mut applets: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .filter(|p| p != "bin/busybox" && !p.is_empty())
        .collect();
    applets.sort();
    applets.dedup();
    for applet in applets {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0, 0);
        b.append_link(&mut h, &applet, "/bin/busybox").unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Writes an OCI image layout with the given uncompressed layers
/// (stored gzip'd) under `dir`; returns the manifest digest.
pub fn write_layout(
    dir: &Path,
    reference: &str,
    layers: &[Vec<u8>],
    cmd: &[&str],
) -> (String, u64) {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| {
        let d = sha256(data);
        fs::write(blobs.join(&d[7..]), data).unwrap();
        d
    };
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    let mut total = 0;
    for l in layers {
        diff_ids.push(sha256(l));
        let gz = gzip(l);
        total += gz.len() as u64;
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": put(&gz), "size": gz.len(),
        }));
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cmd, "WorkingDir": "/", "ExposedPorts": {"80/tcp": {}},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put(&config), "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let digest = put(&manifest);
    let tag = reference.rsplit(':').next().unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": manifest.len(),
            "annotations": {
                "io.containerd.image.name": reference,
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    });
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    (digest, total)
}

/// A docker-save archive (uncompressed layers, `RepoTags`).
pub fn write_docker_save(out: &Path, repo_tag: &str, layers: &[Vec<u8>], cmd: &[&str]) {
    let mut b = tar::Builder::new(fs::File::create(out).unwrap());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = header(tar::EntryType::Regular, 0o644, 0, data.len() as u64);
        b.append_data(&mut h, path, data).unwrap();
    };
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_name = format!("{}.json", &sha256(&config)[7..]);
    add(&config_name, &config);
    let mut names = Vec::new();
    for (l, id) in layers.iter().zip(&diff_ids) {
        let name = format!("{}/layer.tar", &id[7..]);
        add(&name, l);
        names.push(name);
    }
    let manifest = serde_json::json!([{
        "Config": config_name, "RepoTags": [repo_tag], "Layers": names,
    }]);
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    b.into_inner().unwrap().sync_all().unwrap();
}

/// Tars a directory's files (relative paths) into `out`.
pub fn tar_dir(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(fs::File::create(out).unwrap());
    b.mode(tar::HeaderMode::Deterministic);
    b.append_dir_all(".", dir).unwrap();
    b.into_inner().unwrap().sync_all().unwrap();
}

/// Builds (or finds, by content) an image into the cache.
fn build(name: &str, reference: &str, layers: &[Vec<u8>], cmd: &[&str]) -> BuiltImage {
    let mut key = String::new();
    for l in layers {
        key.push_str(&sha256(l));
    }
    key.push_str(reference);
    let dir = cache_root().join(format!("{name}-{}", &sha256(key.as_bytes())[7..23]));
    if !dir.join("done").exists() {
        let tmp = cache_root().join(format!("tmp-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(tmp.join("layout")).unwrap();
        write_layout(&tmp.join("layout"), reference, layers, cmd);
        tar_dir(&tmp.join("layout"), &tmp.join("oci.tar"));
        write_docker_save(&tmp.join("docker.tar"), BUSYBOX_DOCKER_REF, layers, cmd);
        fs::write(tmp.join("done"), b"").unwrap();
        // Another test binary may have won the race; its copy is as good.
        if fs::rename(&tmp, &dir).is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
    }
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("layout/index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(dir.join("layout/blobs/sha256").join(&digest[7..])).unwrap(),
    )
    .unwrap();
    let layer_bytes = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum();
    BuiltImage {
        oci_tar: dir.join("oci.tar"),
        docker_tar: dir.join("docker.tar"),
        layout: dir.join("layout"),
        digest,
        layer_bytes,
    }
}

/// busybox: applets, /etc/passwd with root and nobody, httpd; built once.
pub fn busybox() -> &'static BuiltImage {
    static IMAGE: OnceLock<BuiltImage> = OnceLock::new();
    IMAGE.get_or_init(|| build("busybox", BUSYBOX_REF, &[busybox_layer()], &["sh"]))
}

/// An image whose layers exceed `min_bytes` compressed: busybox plus a
/// layer of incompressible data.
pub fn big_image(min_bytes: u64) -> BuiltImage {
    let mut data = vec![0u8; min_bytes as usize + 4096];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ min_bytes;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = chunk.len();
        chunk.copy_from_slice(&x.to_le_bytes()[..n]);
    }
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Regular, 0o644, 0, data.len() as u64);
    b.append_data(&mut h, "big.bin", &data[..]).unwrap();
    let filler = b.into_inner().unwrap();
    build(
        &format!("big{min_bytes}"),
        "docker.io/library/big:latest",
        &[busybox_layer(), filler],
        &["sh"],
    )
}

/// A `docker-registry` on a free loopback port, storage in a temp dir.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub tls: bool,
    /// PEM of the self-signed certificate when `tls`.
    pub cert_pem: Option<String>,
    child: Child,
}

impl Registry {
    pub fn start() -> Registry {
        Self::start_inner(false)
    }

    /// Serves HTTPS with a self-signed certificate no client trusts.
    pub fn start_tls() -> Registry {
        Self::start_inner(true)
    }

    fn start_inner(tls: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut tls_yaml = String::new();
        let mut cert_pem = None;
        if tls {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params
                .subject_alt_names
                .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
            let cert = params.self_signed(&key).unwrap();
            fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
            fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
            tls_yaml = format!(
                "  tls:\n    certificate: {0}/cert.pem\n    key: {0}/key.pem\n",
                dir.path().display()
            );
            cert_pem = Some(cert.pem());
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}/data\nhttp:\n  addr: 127.0.0.1:{port}\n{tls_yaml}",
            dir.path().display()
        );
        fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry installed (hack/test installs it)");
        let mut r = Registry {
            dir,
            port,
            tls,
            cert_pem,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = r.child.try_wait() {
                panic!(
                    "docker-registry exited with {status}: {}",
                    fs::read_to_string(r.dir.path().join("registry.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "docker-registry did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes an image layout as `repo:tag` with skopeo.
    pub fn push(&self, image: &BuiltImage, repo_tag: &str) {
        let out = Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}", image.layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host()))
            .output()
            .expect("skopeo installed (hack/test installs it)");
        assert!(
            out.status.success(),
            "skopeo push: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Path of a blob in the registry's storage (to corrupt it).
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = &digest[7..];
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
