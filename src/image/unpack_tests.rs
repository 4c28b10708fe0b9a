use std::os::unix::fs::{FileTypeExt, MetadataExt};

use super::*;

enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8], u32, u32),
    Link(&'a str, &'a str),
    Hard(&'a str, &'a str),
}

fn layer(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        match e {
            E::Dir(p, mode) => {
                h.set_entry_type(EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                b.append_data(&mut h, p, io::empty()).unwrap();
            }
            E::File(p, data, mode, uid) => {
                h.set_entry_type(EntryType::Regular);
                h.set_mode(*mode);
                h.set_uid((*uid).into());
                h.set_gid((*uid).into());
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Link(p, t) | E::Hard(p, t) => {
                h.set_entry_type(if matches!(e, E::Link(..)) {
                    EntryType::Symlink
                } else {
                    EntryType::Link
                });
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Raw header writing, for names the tar builder refuses (`..`).
fn raw_entry(name: &str) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(1);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.push(b'x');
    out.resize(1024, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root (mknod and trusted xattrs)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = layer(&[
        E::Dir("etc/", 0o755),
        E::File("etc/.wh.motd", b"", 0o644, 0),
        E::Dir("var/cache/", 0o700),
        E::File("var/cache/.wh..wh..opq", b"", 0o644, 0),
        E::File("var/cache/kept", b"new", 0o600, 65534),
        E::File("bin/tool", b"#!/bin/sh\n", 0o4755, 0),
        E::Link("bin/sh", "tool"),
        E::Hard("bin/tool2", "bin/tool"),
    ]);
    let written = unpack_layer(&data[..], dir.path()).unwrap();
    assert_eq!(written, 3 + 10);
    let wh = fs::symlink_metadata(dir.path().join("etc/motd")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    assert!(!dir.path().join("etc/.wh.motd").exists());
    assert_eq!(
        get_xattr(&dir.path().join("var/cache"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!dir.path().join("var/cache/.wh..wh..opq").exists());
    let kept = fs::metadata(dir.path().join("var/cache/kept")).unwrap();
    assert_eq!((kept.uid(), kept.mode() & 0o7777), (65534, 0o600));
    let cache = fs::metadata(dir.path().join("var/cache")).unwrap();
    assert_eq!(cache.mode() & 0o7777, 0o700);
    let tool = fs::metadata(dir.path().join("bin/tool")).unwrap();
    assert_eq!(tool.mode() & 0o7777, 0o4755, "set-uid survives chown");
    assert_eq!(
        fs::read_link(dir.path().join("bin/sh")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(
        fs::metadata(dir.path().join("bin/tool2")).unwrap().ino(),
        tool.ino()
    );
}

#[test]
fn path_traversal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("layer");
    fs::create_dir(&dest).unwrap();
    let err = unpack_layer(&raw_entry("../escape")[..], &dest).unwrap_err();
    assert!(matches!(err, UnpackError::Traversal { .. }), "{err}");
    assert!(!dir.path().join("escape").exists());

    // A symlink of the layer pointing out, then a file written through it.
    let data = layer(&[
        E::Link("out", dir.path().to_str().unwrap()),
        E::File("out/escape2", b"x", 0o644, 0),
    ]);
    let err = unpack_layer(&data[..], &dest).unwrap_err();
    assert!(matches!(err, UnpackError::Traversal { .. }), "{err}");
    assert!(!dir.path().join("escape2").exists());

    let data = layer(&[E::Hard("h", "../../etc/passwd")]);
    let err = unpack_layer(&data[..], &dest);
    assert!(matches!(err, Err(UnpackError::Traversal { .. })));
}

#[test]
fn absolute_and_dotted_paths_stay_inside() {
    assert_eq!(
        clean_path(b"/etc/./passwd"),
        Some(PathBuf::from("etc/passwd"))
    );
    assert_eq!(clean_path(b"./"), Some(PathBuf::new()));
    assert_eq!(clean_path(b"a/../../b"), None);
}
