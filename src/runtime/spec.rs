//! OCI runtime spec (config.json) from a [`ContainerSpec`], with the
//! defaults upstream container runtimes apply.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::{Value, json};

use super::seccomp;
use super::{ContainerSpec, MountKind, Propagation, Seccomp};

/// Capabilities upstream runtimes grant by default.
pub(crate) const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn normalize_cap(c: &str) -> String {
    let up = c.trim().to_ascii_uppercase();
    if up.starts_with("CAP_") || up == "ALL" {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// Every capability we hold ourselves: as upstream runtimes do, "all" is
/// bounded by the runtime's own bounding set.
fn all_caps() -> Vec<String> {
    let held = caps::read(None, caps::CapSet::Bounding).unwrap_or_else(|_| caps::all());
    let mut all: Vec<String> = held.into_iter().map(|c| c.to_string()).collect();
    all.sort();
    all
}

/// The container's capability set after privileged/add/drop ("ALL" too).
pub(crate) fn capabilities(spec: &ContainerSpec) -> Vec<String> {
    if spec.privileged {
        return all_caps();
    }
    let add: Vec<String> = spec.cap_add.iter().map(|c| normalize_cap(c)).collect();
    let drop: Vec<String> = spec.cap_drop.iter().map(|c| normalize_cap(c)).collect();
    let mut set: Vec<String> = if drop.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        DEFAULT_CAPS.iter().map(|c| c.to_string()).collect()
    };
    if add.iter().any(|c| c == "ALL") {
        set = all_caps();
    } else {
        set.extend(add);
    }
    set.retain(|c| !drop.contains(c));
    set.sort();
    set.dedup();
    set
}

/// Resolved numeric identity of the container process.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) additional: Vec<u32>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
}

fn passwd(rootfs: &Path) -> Vec<PasswdEntry> {
    let text = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

/// (name, gid, members) from the rootfs' /etc/group.
fn groups(rootfs: &Path) -> Vec<(String, u32, Vec<String>)> {
    let text = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?, members))
        })
        .collect()
}

/// Resolves uid/gid/name ("user", "user:group", "1000:1000") against the
/// image's /etc/passwd and /etc/group, as upstream runtimes do.
pub(crate) fn resolve_user(spec: &ContainerSpec, rootfs: &Path) -> Result<Identity, String> {
    let users = passwd(rootfs);
    let groups = groups(rootfs);
    let (mut uid, mut gid, mut user_name) = (spec.user.uid, spec.user.gid, None);
    if let Some(name) = spec.user.name.as_deref().filter(|n| !n.is_empty()) {
        let (u, g) = match name.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (name, None),
        };
        if uid.is_none() {
            uid = Some(match u.parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    let e = users
                        .iter()
                        .find(|e| e.name == u)
                        .ok_or_else(|| format!("user {u:?} not found in /etc/passwd"))?;
                    e.uid
                }
            });
        }
        if let (None, Some(g)) = (gid, g) {
            gid = Some(match g.parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    groups
                        .iter()
                        .find(|e| e.0 == g)
                        .ok_or_else(|| format!("group {g:?} not found in /etc/group"))?
                        .1
                }
            });
        }
    }
    let uid = uid.unwrap_or(0);
    if let Some(e) = users.iter().find(|e| e.uid == uid) {
        user_name = Some(e.name.clone());
        gid = gid.or(Some(e.gid));
    }
    let gid = gid.unwrap_or(0);
    let mut additional: Vec<u32> = user_name
        .map(|n| {
            groups
                .iter()
                .filter(|g| g.2.contains(&n))
                .map(|g| g.1)
                .collect()
        })
        .unwrap_or_default();
    additional.extend(&spec.user.supplementary);
    additional.sort_unstable();
    additional.dedup();
    Ok(Identity {
        uid,
        gid,
        additional,
    })
}

fn default_mounts(spec: &ContainerSpec) -> Vec<Value> {
    let sys_opts = if spec.privileged {
        json!(["nosuid", "noexec", "nodev", "rw"])
    } else {
        json!(["nosuid", "noexec", "nodev", "ro"])
    };
    let mut m = vec![json!({"destination": "/proc", "type": "proc", "source": "proc"})];
    // Privileged containers get the same /dev; the device cgroup lets
    // them create and use any node.
    m.push(
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
    );
    m.push(
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
        "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
    );
    m.push(
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
        "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
    );
    m.push(
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
        "options": ["nosuid", "noexec", "nodev"]}),
    );
    m.push(json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts}));
    m.push(
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    );
    m
}

fn user_mounts(spec: &ContainerSpec) -> Vec<Value> {
    spec.mounts
        .iter()
        .map(|m| match &m.kind {
            MountKind::Bind {
                source,
                readonly,
                propagation,
            } => {
                let mut opts = vec!["rbind".to_string()];
                opts.push(
                    match propagation {
                        Propagation::Private => "rprivate",
                        Propagation::HostToContainer => "rslave",
                        Propagation::Bidirectional => "rshared",
                    }
                    .into(),
                );
                if *readonly {
                    opts.push("ro".into());
                }
                json!({"destination": m.destination, "type": "bind", "source": source, "options": opts})
            }
            MountKind::Tmpfs { size } => {
                let mut opts = vec!["nosuid".to_string(), "nodev".into()];
                if let Some(s) = size {
                    opts.push(format!("size={s}"));
                }
                json!({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": opts})
            }
        })
        .collect()
}

/// Device nodes and their cgroup allow rules.
fn devices(spec: &ContainerSpec) -> Result<(Vec<Value>, Vec<Value>), String> {
    let mut nodes = Vec::new();
    let mut rules = vec![json!({"allow": false, "access": "rwm"})];
    if spec.privileged {
        rules.push(json!({"allow": true, "access": "rwm"}));
    }
    for d in &spec.devices {
        let md = std::fs::metadata(&d.host_path)
            .map_err(|e| format!("device {}: {e}", d.host_path.display()))?;
        let ft = md.file_type();
        let kind = if ft.is_char_device() {
            "c"
        } else if ft.is_block_device() {
            "b"
        } else {
            return Err(format!("{} is not a device", d.host_path.display()));
        };
        let rdev = md.rdev();
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        let access = if d.permissions.is_empty() {
            "rwm"
        } else {
            &d.permissions
        };
        nodes.push(
            json!({"path": d.container_path, "type": kind, "major": major, "minor": minor,
            "fileMode": md.mode() & 0o7777, "uid": md.uid(), "gid": md.gid()}),
        );
        rules.push(
            json!({"allow": true, "type": kind, "major": major, "minor": minor, "access": access}),
        );
    }
    Ok((nodes, rules))
}

/// The config.json document for `spec` with its root at `rootfs`.
pub(crate) fn oci_config(spec: &ContainerSpec, rootfs: &Path) -> Result<Value, String> {
    let id = resolve_user(spec, rootfs)?;
    let caps = capabilities(spec);
    let mut env = spec.env.clone();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(DEFAULT_PATH.to_string());
    }
    if spec.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".to_string());
    }
    let cwd = if spec.cwd.is_empty() { "/" } else { &spec.cwd };
    let mut namespaces = vec![json!({"type": "mount"})];
    if !spec.namespaces.host_pid {
        namespaces.push(json!({"type": "pid"}));
    }
    for (kind, path) in [
        ("network", &spec.namespaces.net),
        ("ipc", &spec.namespaces.ipc),
        ("uts", &spec.namespaces.uts),
    ] {
        if let Some(p) = path {
            namespaces.push(json!({"type": kind, "path": p}));
        }
    }
    let (device_nodes, device_rules) = devices(spec)?;
    let mut resources = json!({"devices": device_rules});
    let r = &spec.resources;
    if let Some(limit) = r.memory_limit {
        resources["memory"] = json!({"limit": limit});
    }
    let mut cpu = serde_json::Map::new();
    if let Some(v) = r.cpu_shares {
        cpu.insert("shares".into(), json!(v));
    }
    if let Some(v) = r.cpu_quota_us {
        cpu.insert("quota".into(), json!(v));
    }
    if let Some(v) = r.cpu_period_us {
        cpu.insert("period".into(), json!(v));
    }
    if !cpu.is_empty() {
        resources["cpu"] = Value::Object(cpu);
    }
    let mut mounts = default_mounts(spec);
    mounts.extend(user_mounts(spec));
    let seccomp = if spec.privileged || spec.seccomp == Seccomp::Unconfined {
        "unconfined"
    } else {
        seccomp::RUNTIME_DEFAULT
    };
    let (masked, readonly): (Vec<&str>, Vec<&str>) = if spec.privileged {
        (vec![], vec![])
    } else {
        (MASKED_PATHS.to_vec(), READONLY_PATHS.to_vec())
    };
    let mut doc = json!({
        "ociVersion": "1.0.2",
        "root": {"path": rootfs, "readonly": spec.read_only_rootfs},
        "process": {
            "terminal": spec.tty,
            "user": {"uid": id.uid, "gid": id.gid, "additionalGids": id.additional},
            "args": spec.args,
            "env": env,
            "cwd": cwd,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": spec.no_new_privs,
        },
        "mounts": mounts,
        "annotations": {seccomp::ANNOTATION: seccomp},
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": format!("/{}", spec.cgroup_path.trim_start_matches('/')),
            "resources": resources,
            "devices": device_nodes,
            "maskedPaths": masked,
            "readonlyPaths": readonly,
        },
    });
    if spec.namespaces.uts.is_some() && !spec.hostname.is_empty() {
        doc["hostname"] = json!(spec.hostname);
    }
    Ok(doc)
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::runtime::UserSpec;

    #[test]
    fn capabilities_follow_add_drop_and_privileged() {
        let mut s = ContainerSpec::default();
        assert_eq!(capabilities(&s).len(), DEFAULT_CAPS.len());
        s.cap_add = vec!["NET_ADMIN".into()];
        s.cap_drop = vec!["chown".into()];
        let c = capabilities(&s);
        assert!(c.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!c.contains(&"CAP_CHOWN".to_string()));
        s.cap_drop = vec!["ALL".into()];
        assert_eq!(capabilities(&s), vec!["CAP_NET_ADMIN".to_string()]);
        s.privileged = true;
        assert!(capabilities(&s).contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn users_resolve_in_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\napp:x:1001:\nvideo:x:44:app,other\n",
        )
        .unwrap();
        let mut s = ContainerSpec {
            user: UserSpec {
                name: Some("app".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let id = resolve_user(&s, dir.path()).unwrap();
        assert_eq!((id.uid, id.gid, id.additional), (1000, 1001, vec![44]));
        s.user.name = Some("app:root".into());
        assert_eq!(resolve_user(&s, dir.path()).unwrap().gid, 0);
        s.user.name = Some("nobody".into());
        assert!(resolve_user(&s, dir.path()).is_err());
        s.user = UserSpec {
            uid: Some(1000),
            supplementary: vec![7],
            ..Default::default()
        };
        let id = resolve_user(&s, dir.path()).unwrap();
        assert_eq!((id.uid, id.gid, id.additional), (1000, 1001, vec![7, 44]));
    }
}
