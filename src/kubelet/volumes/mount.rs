//! The kernel boundary of volumes: tmpfs mounts.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Mounts memory-backed volume directories.
pub(crate) trait Mounter: Send + Sync {
    /// Mounts a tmpfs at `target` (an existing directory), `size` in bytes.
    fn mount_tmpfs(&self, target: &Path, size: Option<u64>) -> io::Result<()>;
    fn unmount(&self, target: &Path) -> io::Result<()>;
    /// Mount points at or below `dir`, deepest first.
    fn mounts_under(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
}

/// Real mounts through mount(2).
pub(crate) struct HostMounter;

impl Mounter for HostMounter {
    fn mount_tmpfs(&self, target: &Path, size: Option<u64>) -> io::Result<()> {
        use nix::mount::{MsFlags, mount};
        let data = match size {
            Some(s) => format!("mode=0755,size={s}"),
            None => "mode=0755".to_string(),
        };
        mount(
            Some("tmpfs"),
            target,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(data.as_str()),
        )
        .map_err(io::Error::from)
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH).map_err(io::Error::from)
    }

    fn mounts_under(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let info = std::fs::read_to_string("/proc/self/mountinfo")?;
        Ok(mount_points_under(&info, dir))
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space and so on).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&field[i + 1..i + 4], 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mount_points_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

/// Records mounts without touching the kernel, for tests.
#[derive(Default)]
pub(crate) struct FakeMounter {
    pub(crate) mounted: Mutex<BTreeSet<(PathBuf, Option<u64>)>>,
}

impl Mounter for FakeMounter {
    fn mount_tmpfs(&self, target: &Path, size: Option<u64>) -> io::Result<()> {
        self.mounted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((target.to_path_buf(), size));
        Ok(())
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        self.mounted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(p, _)| p != target);
        Ok(())
    }

    fn mounts_under(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = self
            .mounted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| p.starts_with(dir))
            .collect();
        v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_under_a_dir_deepest_first() {
        let info = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    30 22 0:5 / /var/pods/a rw - tmpfs tmpfs rw\n\
                    31 30 0:6 / /var/pods/a/v\\040x rw - tmpfs tmpfs rw\n\
                    32 22 0:7 / /var/podsb rw - tmpfs tmpfs rw\n";
        let got = mount_points_under(info, Path::new("/var/pods"));
        assert_eq!(
            got,
            vec![
                PathBuf::from("/var/pods/a/v x"),
                PathBuf::from("/var/pods/a")
            ]
        );
    }
}
