//! The container root: an overlay of the image layers with a per-container
//! writable layer.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use super::{Error, Result, io_err};

/// Mounts `layers` (lowest first) with `layer_dir/{upper,work}` at `target`.
pub(crate) fn mount_overlay(layers: &[PathBuf], layer_dir: &Path, target: &Path) -> Result<()> {
    let upper = layer_dir.join("upper");
    let work = layer_dir.join("work");
    let empty = layer_dir.join("empty");
    for d in [&upper, &work, &target.to_path_buf()] {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let mut lowers: Vec<String> = layers
        .iter()
        .rev()
        .map(|l| l.to_string_lossy().replace(':', "\\:"))
        .collect();
    if lowers.is_empty() {
        std::fs::create_dir_all(&empty).map_err(io_err(&empty))?;
        lowers.push(empty.to_string_lossy().into_owned());
    }
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(opts.as_str()),
    )
    .map_err(|e| Error::Io {
        path: target.to_path_buf(),
        source: std::io::Error::other(format!("mounting overlay: {e}")),
    })
}

fn is_mounted(target: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let t = target.to_string_lossy();
    info.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|m| m == t))
}

/// Unmounts `target` if mounted (lazily when busy).
pub(crate) fn unmount(target: &Path) -> Result<()> {
    while is_mounted(target) {
        if let Err(e) = umount2(target, MntFlags::empty()) {
            umount2(target, MntFlags::MNT_DETACH).map_err(|_| Error::Io {
                path: target.to_path_buf(),
                source: std::io::Error::other(format!("unmounting: {e}")),
            })?;
        }
    }
    Ok(())
}

/// Drops libcontainer's record of the container (the cgroup goes with
/// our own cleanup, which also handles a record that never got written).
pub(crate) fn delete_oci_state(oci_root: &Path, id: &str) {
    let dir = oci_root.join(id);
    if let Ok(mut c) = libcontainer::container::Container::load(dir.clone())
        && let Err(e) = c.delete(true)
    {
        tracing::warn!(container = id, error = %e, "deleting container state");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
