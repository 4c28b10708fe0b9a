//! hostPath type checks, as upstream's HostPathType.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use super::{Error, Result};

/// A host device a hostPath volume names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostDevice {
    /// `'c'` or `'b'`.
    pub(crate) kind: char,
    pub(crate) major: u64,
    pub(crate) minor: u64,
}

fn major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)
}

fn minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)
}

fn device_of(meta: &fs::Metadata) -> Option<HostDevice> {
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return None;
    };
    Some(HostDevice {
        kind,
        major: major(meta.rdev()),
        minor: minor(meta.rdev()),
    })
}

fn io_err(path: &str, e: io::Error) -> Error {
    Error::HostPath {
        path: path.to_string(),
        source: e,
    }
}

/// Checks (and for the *OrCreate types creates) `path` per `kind`; returns
/// the device it names, if any.
pub(crate) fn check(path: &str, kind: &str) -> Result<Option<HostDevice>> {
    let wrong = |expected| Error::HostPathType {
        path: path.to_string(),
        expected,
    };
    let p = Path::new(path);
    // Follows symlinks, as the bind mount will.
    let meta = fs::metadata(p);
    match kind {
        "" => return Ok(meta.ok().as_ref().and_then(device_of)),
        "DirectoryOrCreate" => {
            if meta.is_err() {
                fs::create_dir_all(p).map_err(|e| io_err(path, e))?;
                fs::set_permissions(p, fs::Permissions::from_mode(0o755))
                    .map_err(|e| io_err(path, e))?;
                return Ok(None);
            }
            if !meta.as_ref().is_ok_and(|m| m.is_dir()) {
                return Err(wrong("a directory"));
            }
        }
        "Directory" => {
            if !meta.as_ref().is_ok_and(|m| m.is_dir()) {
                return Err(wrong("a directory"));
            }
        }
        "FileOrCreate" => {
            if meta.is_err() {
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| io_err(path, e))?;
                fs::set_permissions(p, fs::Permissions::from_mode(0o644))
                    .map_err(|e| io_err(path, e))?;
                return Ok(None);
            }
            if !meta.as_ref().is_ok_and(|m| m.is_file()) {
                return Err(wrong("a file"));
            }
        }
        "File" => {
            if !meta.as_ref().is_ok_and(|m| m.is_file()) {
                return Err(wrong("a file"));
            }
        }
        "Socket" => {
            if !meta.as_ref().is_ok_and(|m| m.file_type().is_socket()) {
                return Err(wrong("a socket file"));
            }
        }
        "CharDevice" => {
            if !meta.as_ref().is_ok_and(|m| m.file_type().is_char_device()) {
                return Err(wrong("a character device"));
            }
        }
        "BlockDevice" => {
            if !meta.as_ref().is_ok_and(|m| m.file_type().is_block_device()) {
                return Err(wrong("a block device"));
            }
        }
        other => {
            return Err(Error::HostPath {
                path: path.to_string(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unknown hostPath type {other:?}"),
                ),
            });
        }
    }
    Ok(meta.ok().as_ref().and_then(device_of))
}
