//! Unpacks one layer tar into its own directory, ready to be an overlayfs
//! lower directory: OCI whiteouts become overlay whiteouts (`.wh.x` a 0/0
//! character device `x`, `.wh..wh..opq` the `trusted.overlay.opaque=y`
//! xattr on the directory). Owners, modes, times and xattrs are kept;
//! entries that would land outside the directory are refused.

use std::ffi::CString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, lchown, symlink};
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, UtimensatFlags, makedev, mknod, utimensat};
use nix::sys::time::TimeSpec;
use tar::EntryType;

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

#[derive(Debug, thiserror::Error)]
pub(crate) enum UnpackError {
    #[error("layer entry {path:?} escapes the layer directory")]
    Traversal { path: String },
    #[error("layer entry {path:?}: {source}")]
    Entry { path: String, source: io::Error },
    #[error("read layer archive")]
    Read(#[source] io::Error),
}

impl UnpackError {
    pub(crate) fn io(&self) -> Option<&io::Error> {
        match self {
            UnpackError::Entry { source, .. } | UnpackError::Read(source) => Some(source),
            UnpackError::Traversal { .. } => None,
        }
    }
}

/// Unpacks the tar stream into `dest` (an existing empty directory) and
/// returns the bytes of file content written. The stream is read to its
/// end so a digest computed over it covers the whole layer.
pub(crate) fn unpack_layer<R: Read>(reader: R, dest: &Path) -> Result<u64, UnpackError> {
    let root = nix::unistd::geteuid().is_root();
    let mut archive = tar::Archive::new(reader);
    let mut written = 0u64;
    let mut dirs: Vec<(PathBuf, u32, i64)> = Vec::new();
    for entry in archive.entries().map_err(UnpackError::Read)? {
        let mut entry = entry.map_err(UnpackError::Read)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let rel = clean_path(&raw).ok_or_else(|| UnpackError::Traversal { path: name.clone() })?;
        if rel.as_os_str().is_empty() {
            continue; // the layer root itself
        }
        let ctx = |source: io::Error| UnpackError::Entry {
            path: name.clone(),
            source,
        };
        check_parents(dest, &rel).map_err(|e| match e {
            ParentError::Symlink => UnpackError::Traversal { path: name.clone() },
            ParentError::Io(e) => ctx(e),
        })?;
        let target = dest.join(&rel);
        let file_name = rel.file_name().unwrap_or_default().to_string_lossy();
        let parent = target.parent().unwrap_or(dest).to_path_buf();
        if file_name == OPAQUE {
            fs::create_dir_all(&parent).map_err(ctx)?;
            set_xattr(&parent, "trusted.overlay.opaque", b"y").map_err(ctx)?;
            continue;
        }
        if let Some(hidden) = file_name.strip_prefix(WHITEOUT_PREFIX) {
            fs::create_dir_all(&parent).map_err(ctx)?;
            let at = parent.join(hidden);
            remove_any(&at).map_err(ctx)?;
            mknod(&at, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))
                .map_err(|e| ctx(io::Error::from(e)))?;
            continue;
        }
        let header = entry.header();
        let mode = header.mode().map_err(ctx)? & 0o7777;
        let uid = header.uid().map_err(ctx)? as u32;
        let gid = header.gid().map_err(ctx)? as u32;
        let mtime = header.mtime().unwrap_or(0) as i64;
        let kind = header.entry_type();
        fs::create_dir_all(&parent).map_err(ctx)?;
        match kind {
            EntryType::Directory => {
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        remove_any(&target).map_err(ctx)?;
                        fs::create_dir(&target).map_err(ctx)?;
                    }
                    Err(_) => fs::create_dir(&target).map_err(ctx)?,
                }
                owner(&target, uid, gid, root).map_err(ctx)?;
                dirs.push((target.clone(), mode, mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                remove_any(&target).map_err(ctx)?;
                let mut f = fs::File::create(&target).map_err(ctx)?;
                written += io::copy(&mut entry, &mut f).map_err(ctx)?;
                drop(f);
                owner(&target, uid, gid, root).map_err(ctx)?;
                // After chown, which clears set-id bits.
                fs::set_permissions(&target, fs::Permissions::from_mode(mode)).map_err(ctx)?;
            }
            EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| ctx(io::Error::other("symlink without target")))?;
                remove_any(&target).map_err(ctx)?;
                symlink(std::ffi::OsStr::from_bytes(&link), &target).map_err(ctx)?;
                owner(&target, uid, gid, root).map_err(ctx)?;
            }
            EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| ctx(io::Error::other("hard link without target")))?;
                let src_rel = clean_path(&link).ok_or_else(|| UnpackError::Traversal {
                    path: String::from_utf8_lossy(&link).into_owned(),
                })?;
                check_parents(dest, &src_rel)
                    .map_err(|_| UnpackError::Traversal { path: name.clone() })?;
                remove_any(&target).map_err(ctx)?;
                fs::hard_link(dest.join(src_rel), &target).map_err(ctx)?;
                continue;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let flag = match kind {
                    EntryType::Char => SFlag::S_IFCHR,
                    EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                remove_any(&target).map_err(ctx)?;
                let perm = Mode::from_bits_truncate(mode);
                mknod(&target, flag, perm, makedev(major.into(), minor.into()))
                    .map_err(|e| ctx(io::Error::from(e)))?;
                owner(&target, uid, gid, root).map_err(ctx)?;
            }
            // Extended headers are folded into the entry by the tar reader.
            _ => continue,
        }
        if let Some(exts) = entry.pax_extensions().map_err(ctx)? {
            for ext in exts {
                let ext = ext.map_err(ctx)?;
                if let Some(attr) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    let attr = String::from_utf8_lossy(attr);
                    set_xattr(&target, &attr, ext.value_bytes()).map_err(ctx)?;
                }
            }
        }
        if kind != EntryType::Directory {
            set_mtime(&target, mtime).map_err(ctx)?;
        }
    }
    // Directory modes and times last: children changed them meanwhile.
    for (dir, mode, mtime) in dirs.iter().rev() {
        let ctx = |source| UnpackError::Entry {
            path: dir.display().to_string(),
            source,
        };
        fs::set_permissions(dir, fs::Permissions::from_mode(*mode)).map_err(ctx)?;
        set_mtime(dir, *mtime).map_err(ctx)?;
    }
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(UnpackError::Read)?;
    Ok(written)
}

/// The entry path made relative, or `None` if it climbs out with `..`.
pub(crate) fn clean_path(raw: &[u8]) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(std::ffi::OsStr::from_bytes(raw)).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

enum ParentError {
    Symlink,
    Io(io::Error),
}

/// Refuses entries below a symlink of this layer: writing through one
/// could land anywhere on the host.
fn check_parents(dest: &Path, rel: &Path) -> Result<(), ParentError> {
    let mut at = dest.to_path_buf();
    let mut comps = rel.components().peekable();
    while let Some(c) = comps.next() {
        if comps.peek().is_none() {
            break;
        }
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return Err(ParentError::Symlink),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ParentError::Io(e)),
        }
    }
    Ok(())
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn owner(path: &Path, uid: u32, gid: u32, root: bool) -> io::Result<()> {
    match lchown(path, Some(uid), Some(gid)) {
        // Without root the files simply stay ours (unit tests).
        Err(e) if !root && e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        r => r,
    }
}

fn set_mtime(path: &Path, mtime: i64) -> io::Result<()> {
    let t = TimeSpec::new(mtime, 0);
    utimensat(None, path, &t, &t, UtimensatFlags::NoFollowSymlink).map_err(io::Error::from)
}

pub(crate) fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let p = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let n = CString::new(name).map_err(io::Error::other)?;
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // value pointer and length describe a live slice.
    let rc = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
pub(crate) fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: NUL-terminated strings; the buffer is writable for its length.
    let rc = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if rc < 0 {
        return None;
    }
    buf.truncate(rc as usize);
    Some(buf)
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
