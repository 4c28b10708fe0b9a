//! `sovedge image import` and `sovedge image ls` on a data directory, with
//! and without a running server.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::Server;
use common::images::{self, BUSYBOX_DOCKER_REF, BUSYBOX_REF};

fn sovedge(args: &[&str], data_dir: &Path) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_sovedge"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sovedge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ls(data_dir: &Path) -> Vec<Vec<String>> {
    let out = sovedge(&["image", "ls"], data_dir);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn import_of_both_archive_kinds_then_ls() {
    let img = images::busybox();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ls(dir.path()), [["REFERENCE", "DIGEST", "SIZE"]]);

    let oci = img.oci_tar.to_str().unwrap();
    let docker = img.docker_tar.to_str().unwrap();
    let out = sovedge(&["image", "import", oci, docker], dir.path());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&img.digest), "{stdout}");
    // Not a terminal: plain log lines, one per step.
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unpacking layer sha256:"), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr}");

    let rows = ls(dir.path());
    assert_eq!(rows.len(), 3, "{rows:?}");
    let oci_row = rows
        .iter()
        .find(|r| r[0] == BUSYBOX_REF)
        .expect("busybox listed");
    assert_eq!(oci_row[1], img.digest);
    assert!(oci_row[3] == "MiB", "{oci_row:?}");
    assert!(rows.iter().any(|r| r[0] == BUSYBOX_DOCKER_REF));
}

#[test]
fn import_while_the_server_runs() {
    let server = Server::start();
    let img = images::busybox();
    sovedge(
        &["image", "import", img.oci_tar.to_str().unwrap()],
        server.data_dir(),
    );
    let rows = ls(server.data_dir());
    assert!(
        rows.iter()
            .any(|r| r[0] == BUSYBOX_REF && r[1] == img.digest),
        "{rows:?}"
    );
}

#[test]
fn import_of_a_file_that_is_no_image_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"this is not a tar archive at all").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sovedge"))
        .args(["image", "import", "--data-dir"])
        .arg(dir.path())
        .arg(&junk)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("junk.tar"), "{stderr}");
    let tmp = dir.path().join("content/tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    assert_eq!(ls(dir.path()).len(), 1);
}
