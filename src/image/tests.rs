//! Store tests against real archives and a local docker-registry: imports,
//! pulls through a plain-HTTP mirror, and each failure leaving nothing.

use std::fs;
use std::path::Path;
use std::sync::Mutex;

use super::*;

#[path = "../../tests/common/images.rs"]
mod images;

use images::{BUSYBOX_DOCKER_REF, BUSYBOX_REF, Registry};

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Nothing staged, no layer, no image: what a failed pull must leave.
fn assert_empty(store: &ImageStore) {
    assert_eq!(entries(&store.root().join("tmp")), Vec::<String>::new());
    assert_eq!(entries(&store.root().join("layers")), Vec::<String>::new());
    assert!(store.list().unwrap().is_empty());
}

fn mirror_to(registry: &str, reg: &Registry) -> RegistriesConfig {
    RegistriesConfig::parse(&format!(
        "mirrors:\n  \"{registry}\":\n    endpoint:\n      - \"http://{}\"\n",
        reg.host()
    ))
    .unwrap()
}

/// Progress events of one pull.
#[derive(Default)]
struct Events(Mutex<Vec<PullProgress>>);

impl Events {
    fn record(&self, p: PullProgress) {
        self.0.lock().unwrap().push(p);
    }

    fn take(self) -> Vec<PullProgress> {
        self.0.into_inner().unwrap()
    }
}

#[test]
fn imports_of_both_archive_kinds_share_layers() {
    let img = images::busybox();
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let oci = store.import_archive(&img.oci_tar, &|_| {}).unwrap();
    assert_eq!(oci.len(), 1);
    assert_eq!(oci[0].digest, img.digest);
    assert_eq!(oci[0].references, [BUSYBOX_REF]);
    assert_eq!(oci[0].config.cmd, ["sh"]);
    assert_eq!(oci[0].config.exposed_ports, ["80/tcp"]);
    let docker = store.import_archive(&img.docker_tar, &|_| {}).unwrap();
    assert_eq!(docker[0].references, [BUSYBOX_DOCKER_REF]);
    assert_ne!(docker[0].digest, oci[0].digest);
    assert_eq!(
        docker[0].layers, oci[0].layers,
        "one copy of the shared layer"
    );
    assert_eq!(entries(&dir.path().join("layers")).len(), 1);

    let layer = &oci[0].layers[0];
    let passwd = fs::read_to_string(layer.join("etc/passwd")).unwrap();
    assert!(passwd.contains("nobody:x:65534:65534"), "{passwd}");
    assert_eq!(
        fs::read_link(layer.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert!(oci[0].size >= fs::metadata(images::BUSYBOX).unwrap().len());

    let found = store.resolve("busybox").unwrap().unwrap();
    assert_eq!(found.digest, img.digest);
    let by_digest = store
        .resolve(&format!("busybox@{}", img.digest))
        .unwrap()
        .unwrap();
    assert_eq!(by_digest.digest, img.digest);
    assert!(store.resolve("busybox:other").unwrap().is_none());
    assert_eq!(store.list().unwrap().len(), 2);
    assert_eq!(entries(&dir.path().join("tmp")), Vec::<String>::new());
}

#[test]
fn import_dir_skips_files_already_imported() {
    let img = images::busybox();
    let data = tempfile::tempdir().unwrap();
    let drop_in = data.path().join("images");
    fs::create_dir(&drop_in).unwrap();
    fs::copy(&img.oci_tar, drop_in.join("busybox.tar")).unwrap();
    fs::write(drop_in.join("notes.txt"), "not an image").unwrap();
    let store = ImageStore::open(&data.path().join("content")).unwrap();
    let first = store.import_dir(&drop_in, &|_| {}).unwrap();
    assert_eq!(first.len(), 1);
    let again = ImageStore::open(&data.path().join("content")).unwrap();
    assert!(again.import_dir(&drop_in, &|_| {}).unwrap().is_empty());
    assert!(again.resolve(BUSYBOX_REF).unwrap().is_some());
}

#[test]
fn corrupted_archive_blob_is_rejected_without_leftovers() {
    let img = images::busybox();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    images::write_layout(&layout, BUSYBOX_REF, &[images::busybox_layer()], &["sh"]);
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(layout.join("blobs/sha256").join(&img.digest[7..])).unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let path = layout.join("blobs/sha256").join(&layer[7..]);
    let mut data = fs::read(&path).unwrap();
    // The gzip header's timestamp: decompression still works, the digest does not.
    data[4] ^= 0xff;
    fs::write(&path, data).unwrap();
    let tar = work.path().join("bad.tar");
    images::tar_dir(&layout, &tar);
    let store = ImageStore::open(&work.path().join("content")).unwrap();
    let err = store.import_archive(&tar, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert_empty(&store);
}

#[tokio::test]
async fn pull_through_plain_http_mirror() {
    let img = images::busybox();
    let reg = Registry::start();
    reg.push(img, "library/busybox:latest");
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    store.set_registries(mirror_to("docker.io", &reg));
    let events = Events::default();
    let image = store
        .pull("busybox", &[], &|p| events.record(p))
        .await
        .unwrap();
    assert_eq!(image.digest, img.digest);
    assert_eq!(image.references, [BUSYBOX_REF]);
    assert!(image.layers[0].join("bin/busybox").is_file());
    let events = events.take();
    assert!(
        matches!(&events[0], PullProgress::Resolving { reference } if reference == BUSYBOX_REF)
    );
    assert!(events.iter().any(
        |e| matches!(e, PullProgress::Layer { done, total, .. } if done == total && *total == img.layer_bytes)
    ));
    assert!(
        matches!(events.last(), Some(PullProgress::Done { digest, .. }) if *digest == img.digest)
    );
    assert_eq!(entries(&dir.path().join("tmp")), Vec::<String>::new());

    // Present now: resolvable locally, a second pull downloads no layer.
    assert_eq!(
        store.resolve("busybox").unwrap().unwrap().digest,
        img.digest
    );
    let events = Events::default();
    store
        .pull("busybox", &[], &|p| events.record(p))
        .await
        .unwrap();
    let events = events.take();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, PullProgress::Layer { .. }))
    );
}

#[tokio::test]
async fn pull_of_missing_image_is_not_found() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    store.set_registries(mirror_to(&reg.host(), &reg));
    let err = store
        .pull(&format!("{}/nothere:v1", reg.host()), &[], &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PullError::NotFound { .. }), "{err:?}");
    assert!(err.message().contains("nothere:v1"), "{}", err.message());
    assert_empty(&store);
}

#[tokio::test]
async fn pull_with_wrong_digest_is_rejected() {
    let img = images::busybox();
    let reg = Registry::start();
    reg.push(img, "busybox:latest");
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(img.layout.join("blobs/sha256").join(&img.digest[7..])).unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let blob = reg.blob_data(layer);
    let mut data = fs::read(&blob).unwrap();
    data[1000] ^= 0xff;
    fs::write(&blob, data).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    store.set_registries(mirror_to(&reg.host(), &reg));
    let err = store
        .pull(&format!("{}/busybox", reg.host()), &[], &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PullError::DigestMismatch { .. }), "{err:?}");
    assert!(err.message().contains(layer), "{}", err.message());
    assert_empty(&store);
}

#[tokio::test]
async fn pull_from_registry_with_untrusted_certificate_is_tls() {
    let img = images::busybox();
    let reg = Registry::start_tls();
    reg.push(img, "busybox:latest");
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let reference = format!("{}/busybox:latest", reg.host());
    let err = store.pull(&reference, &[], &|_| {}).await.unwrap_err();
    assert!(matches!(err, PullError::Tls { .. }), "{err:?}");
    assert!(err.message().contains(&reg.host()), "{}", err.message());
    assert_empty(&store);

    // Trusting the certificate through the registries config makes it work.
    let ca = reg.dir.path().join("cert.pem");
    let cfg = format!(
        "configs:\n  \"{}\":\n    tls:\n      ca_file: {}\n",
        reg.host(),
        ca.display()
    );
    store.set_registries(RegistriesConfig::parse(&cfg).unwrap());
    let image = store.pull(&reference, &[], &|_| {}).await.unwrap();
    assert_eq!(image.digest, img.digest);
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.0.path())
            .status();
    }
}

#[tokio::test]
async fn pull_bigger_than_the_disk_is_no_space() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root (mounts a small tmpfs)");
        return;
    }
    let big = images::big_image(24 << 20);
    let reg = Registry::start();
    reg.push(&big, "big:latest");
    let mnt = Tmpfs(tempfile::tempdir().unwrap());
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(mnt.0.path())
        .status()
        .unwrap();
    assert!(mounted.success());
    let store = ImageStore::open(mnt.0.path()).unwrap();
    store.set_registries(mirror_to(&reg.host(), &reg));
    let err = store
        .pull(&format!("{}/big", reg.host()), &[], &|_| {})
        .await
        .unwrap_err();
    match &err {
        PullError::NoSpace {
            need, available, ..
        } => assert!(need > available),
        other => panic!("expected NoSpace, got {other:?}"),
    }
    assert_empty(&store);
}
