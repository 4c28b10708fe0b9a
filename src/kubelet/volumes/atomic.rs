//! Writes a volume's files so readers see either the old or the new set,
//! never a mix: the files live in a timestamped directory, `..data` points
//! at it, and each visible entry is a symlink through `..data`. An update
//! writes a new directory and swaps `..data` with one rename.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Component, Path};

const DATA_LINK: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileProjection {
    pub(crate) data: Vec<u8>,
    pub(crate) mode: u32,
}

/// Relative path -> content.
pub(crate) type Payload = BTreeMap<String, FileProjection>;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn check_path(p: &str) -> io::Result<()> {
    let path = Path::new(p);
    if p.is_empty() || path.is_absolute() || p.starts_with("..") {
        return Err(invalid(format!("invalid volume file path {p:?}")));
    }
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(invalid(format!("invalid volume file path {p:?}")));
    }
    Ok(())
}

fn top_level(p: &str) -> &str {
    p.split('/').next().unwrap_or(p)
}

fn read_tree(root: &Path, rel: &Path, out: &mut Payload) -> io::Result<()> {
    for entry in fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let rel_path = rel.join(entry.file_name());
        let meta = fs::symlink_metadata(root.join(&rel_path))?;
        if meta.is_dir() {
            read_tree(root, &rel_path, out)?;
        } else if meta.is_file() {
            out.insert(
                rel_path.to_string_lossy().into_owned(),
                FileProjection {
                    data: fs::read(root.join(&rel_path))?,
                    mode: meta.permissions().mode() & 0o7777,
                },
            );
        }
    }
    Ok(())
}

/// The payload currently visible in `dir`, if it was written here before.
pub(crate) fn current(dir: &Path) -> io::Result<Option<Payload>> {
    let data = dir.join(DATA_LINK);
    if fs::symlink_metadata(&data).is_err() {
        return Ok(None);
    }
    let mut out = Payload::new();
    read_tree(&data, Path::new(""), &mut out)?;
    Ok(Some(out))
}

fn new_version_dir(dir: &Path) -> io::Result<String> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y_%m_%d_%H_%M_%S.%f")
        .to_string();
    loop {
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let name = format!("..{stamp}{suffix}");
        match fs::create_dir(dir.join(&name)) {
            Ok(()) => {
                fs::set_permissions(dir.join(&name), fs::Permissions::from_mode(0o755))?;
                return Ok(name);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

fn write_files(root: &Path, payload: &Payload) -> io::Result<()> {
    for (rel, file) in payload {
        let path = root.join(rel);
        if let Some(parent) = path.parent()
            && parent != root
        {
            fs::create_dir_all(parent)?;
            let mut p = parent;
            while p != root {
                fs::set_permissions(p, fs::Permissions::from_mode(0o755))?;
                p = p.parent().unwrap_or(root);
            }
        }
        fs::write(&path, &file.data)?;
        // Set after writing so the umask does not narrow the mode.
        fs::set_permissions(&path, fs::Permissions::from_mode(file.mode))?;
    }
    Ok(())
}

/// Makes `payload` the content of `dir` (created if missing). Returns
/// whether anything changed.
pub(crate) fn write(dir: &Path, payload: &Payload) -> io::Result<bool> {
    for p in payload.keys() {
        check_path(p)?;
    }
    fs::create_dir_all(dir)?;
    let old = current(dir)?;
    if old.as_ref() == Some(payload) {
        return Ok(false);
    }
    let old_version = fs::read_link(dir.join(DATA_LINK)).ok();
    let version = new_version_dir(dir)?;
    if let Err(e) = write_files(&dir.join(&version), payload) {
        let _ = fs::remove_dir_all(dir.join(&version));
        return Err(e);
    }
    let tmp = dir.join(DATA_TMP);
    let _ = fs::remove_file(&tmp);
    symlink(&version, &tmp)?;
    fs::rename(&tmp, dir.join(DATA_LINK))?;

    let new_top: BTreeSet<&str> = payload.keys().map(|k| top_level(k)).collect();
    for name in &new_top {
        let link = dir.join(name);
        if fs::symlink_metadata(&link).is_err() {
            symlink(Path::new(DATA_LINK).join(name), &link)?;
        }
    }
    if let Some(old) = &old {
        for name in old.keys().map(|k| top_level(k)) {
            if !new_top.contains(name) {
                let link = dir.join(name);
                if fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()) {
                    fs::remove_file(link)?;
                }
            }
        }
    }
    if let Some(old_version) = old_version {
        let old_dir = dir.join(old_version);
        if old_dir.file_name().is_some_and(|n| n != DATA_LINK) {
            fs::remove_dir_all(old_dir)?;
        }
    }
    Ok(true)
}
