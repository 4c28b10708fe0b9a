//! Namespaces held open by bind mounts, and work done inside them.
//!
//! Namespace changes (`unshare`, `setns`) only ever happen on a thread
//! spawned for that purpose, which ends afterwards: the runtime's worker
//! threads stay in the host namespaces.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::thread;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::statfs::{NSFS_MAGIC, statfs};

/// The namespaces a sandbox may hold of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Net,
    Ipc,
    Uts,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Net => "net",
            Kind::Ipc => "ipc",
            Kind::Uts => "uts",
        }
    }

    fn flag(self) -> CloneFlags {
        match self {
            Kind::Net => CloneFlags::CLONE_NEWNET,
            Kind::Ipc => CloneFlags::CLONE_NEWIPC,
            Kind::Uts => CloneFlags::CLONE_NEWUTS,
        }
    }
}

/// True when `path` is a bind-mounted namespace (not just an empty file).
pub(crate) fn is_namespace(path: &Path) -> bool {
    statfs(path).is_ok_and(|s| s.filesystem_type() == NSFS_MAGIC)
}

/// Creates fresh namespaces of the given kinds on a short-lived thread and
/// pins each at `dir/<kind>`. With a UTS namespace, its hostname is set.
pub(crate) fn create(dir: &Path, kinds: &[Kind], hostname: &str) -> io::Result<()> {
    if kinds.is_empty() {
        return Ok(());
    }
    let dir = dir.to_path_buf();
    let kinds = kinds.to_vec();
    let hostname = hostname.to_string();
    on_thread(move || {
        let flags = kinds
            .iter()
            .fold(CloneFlags::empty(), |acc, k| acc | k.flag());
        unshare(flags)?;
        if kinds.contains(&Kind::Uts) {
            nix::unistd::sethostname(&hostname)?;
        }
        for kind in kinds {
            let target = dir.join(kind.name());
            // A file left from an interrupted attempt is reused as the mount point.
            File::create(&target)?;
            let source = PathBuf::from(format!("/proc/thread-self/ns/{}", kind.name()));
            mount(
                Some(&source),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )?;
        }
        Ok(())
    })
}

/// Unmounts and deletes a pinned namespace file; missing is fine.
pub(crate) fn remove(path: &Path) -> io::Result<()> {
    // Several stacked mounts can exist after a retried create; peel them all.
    while is_namespace(path) {
        umount2(path, MntFlags::MNT_DETACH)?;
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Runs `f` on a thread that joined the network namespace pinned at `netns`.
pub(crate) fn in_netns<T, F>(netns: &Path, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let file = File::open(netns)?;
    on_thread(move || {
        setns(file.as_fd(), CloneFlags::CLONE_NEWNET)?;
        f()
    })
}

fn on_thread<T, F>(f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    thread::Builder::new()
        .name("sovedge-netns".into())
        .spawn(f)?
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
}
