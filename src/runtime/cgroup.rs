//! Reading and cleaning the container's cgroup on v1 (legacy and hybrid
//! hosts) and v2 (unified) hierarchies.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libcgroups::common::{CgroupSetup, get_cgroup_setup};

use super::Stats;

const ROOT: &str = "/sys/fs/cgroup";

fn unified() -> bool {
    matches!(get_cgroup_setup(), Ok(CgroupSetup::Unified))
}

/// The container's directory in `controller`'s hierarchy (v2: ignored).
fn dir(controller: &str, cgroup_path: &str) -> PathBuf {
    let rel = cgroup_path.trim_start_matches('/');
    if unified() {
        Path::new(ROOT).join(rel)
    } else {
        Path::new(ROOT).join(controller).join(rel)
    }
}

fn read_u64(path: PathBuf) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn keyed(path: PathBuf, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// True when the kernel OOM-killed a process of this cgroup.
pub(crate) fn oom_killed(cgroup_path: &str) -> bool {
    if unified() {
        return keyed(dir("", cgroup_path).join("memory.events"), "oom_kill").unwrap_or(0) > 0;
    }
    let d = dir("memory", cgroup_path);
    match keyed(d.join("memory.oom_control"), "oom_kill") {
        Some(n) => n > 0,
        // Kernels before 4.13 have no oom_kill counter.
        None => keyed(d.join("memory.oom_control"), "under_oom").unwrap_or(0) > 0,
    }
}

pub(crate) fn stats(cgroup_path: &str) -> Stats {
    if unified() {
        let d = dir("", cgroup_path);
        return Stats {
            memory_bytes: read_u64(d.join("memory.current")).unwrap_or(0),
            cpu_usage_ns: keyed(d.join("cpu.stat"), "usage_usec").unwrap_or(0) * 1000,
        };
    }
    Stats {
        memory_bytes: read_u64(dir("memory", cgroup_path).join("memory.usage_in_bytes"))
            .unwrap_or(0),
        cpu_usage_ns: read_u64(dir("cpuacct", cgroup_path).join("cpuacct.usage")).unwrap_or(0),
    }
}

fn hierarchies(cgroup_path: &str) -> Vec<PathBuf> {
    if unified() {
        return vec![dir("", cgroup_path)];
    }
    let Ok(entries) = std::fs::read_dir(ROOT) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() && !t.is_symlink()))
        .map(|e| e.path().join(cgroup_path.trim_start_matches('/')))
        .collect()
}

fn procs(cgroup_path: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for h in hierarchies(cgroup_path) {
        if let Ok(text) = std::fs::read_to_string(h.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// SIGKILL to `pid` and every process left in the container's cgroup.
pub(crate) fn kill_all(cgroup_path: &str, pid: i32) {
    let mut pids = procs(cgroup_path);
    pids.push(pid);
    for p in pids {
        // SAFETY: kill(2) on processes of the container we own.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}

/// Removes the container's cgroup in every hierarchy, and its parents
/// below `parent` when they became empty.
pub(crate) fn remove(cgroup_path: &str, parent: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !procs(cgroup_path).is_empty() && Instant::now() < deadline {
        kill_all(cgroup_path, 0);
        std::thread::sleep(Duration::from_millis(20));
    }
    let rel = cgroup_path.trim_start_matches('/');
    let top = parent.trim_matches('/');
    for h in hierarchies(cgroup_path) {
        let _ = std::fs::remove_dir(&h);
        let mut cur = Path::new(rel).parent().map(Path::to_path_buf);
        let base = h
            .to_string_lossy()
            .strip_suffix(rel)
            .map(PathBuf::from)
            .unwrap_or_default();
        while let Some(c) = cur {
            let s = c.to_string_lossy();
            if s.is_empty() || s == top || !s.starts_with(top) {
                break;
            }
            let _ = std::fs::remove_dir(base.join(&c));
            cur = c.parent().map(Path::to_path_buf);
        }
    }
}

/// Whether any hierarchy still holds the container's cgroup.
#[cfg(test)]
pub(crate) fn exists(cgroup_path: &str) -> bool {
    hierarchies(cgroup_path).iter().any(|h| h.exists())
}
