//! From a pod's container to the runtime's `ContainerSpec`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, Pod};

use super::backend::{
    ContainerSpec, DeviceSpec, Image, MountKind, MountSpec, Namespaces, PreparedVolume,
    Propagation, Sandbox, Seccomp, UserSpec,
};
use super::resources::container_resources;

pub(crate) const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub(crate) const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub(crate) const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub(crate) const LABEL_CONTAINER: &str = "io.kubernetes.container.name";
pub(crate) const LABEL_RESTART: &str = "io.kubernetes.container.restartCount";
pub(crate) const LABEL_INIT: &str = "io.sovedge.container.init";

/// What `build` needs besides the pod and the container.
pub(crate) struct SpecInput<'a> {
    pub(crate) pod: &'a Pod,
    pub(crate) container: &'a Container,
    pub(crate) init: bool,
    pub(crate) id: &'a str,
    pub(crate) restart_count: i32,
    pub(crate) image: &'a Image,
    /// `NAME=value` from env and envFrom, already resolved.
    pub(crate) env: &'a [String],
    pub(crate) volumes: &'a [PreparedVolume],
    pub(crate) sandbox: &'a Sandbox,
    pub(crate) pod_dir: &'a Path,
    pub(crate) cgroup_parent: &'a str,
}

pub(crate) fn log_path(pod_dir: &Path, container: &str, restart: i32) -> PathBuf {
    pod_dir
        .join("logs")
        .join(container)
        .join(format!("{restart}.log"))
}

pub(crate) fn termination_log_path(pod_dir: &Path, container: &str, restart: i32) -> PathBuf {
    pod_dir
        .join("containers")
        .join(container)
        .join(format!("{restart}.termination-log"))
}

/// The pod's hostname: spec.hostname or the name, at most 63 characters.
pub(crate) fn hostname(pod: &Pod) -> String {
    let name = pod
        .spec
        .as_ref()
        .and_then(|s| s.hostname.clone())
        .or_else(|| pod.metadata.name.clone())
        .unwrap_or_default();
    let mut h: String = name.chars().take(63).collect();
    while h.ends_with(['-', '.']) {
        h.pop();
    }
    h
}

/// Expands `$(VAR)` references as upstream: `$$` escapes, unknown
/// references stay as written.
pub(crate) fn expand(input: &str, vars: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match vars.get(name) {
                        Some(v) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Image env overlaid with the container's env; later names win.
pub(crate) fn merge_env(image_env: &[String], env: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut values: HashMap<String, String> = HashMap::new();
    for kv in image_env.iter().chain(env) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if values.insert(k.to_owned(), v.to_owned()).is_none() {
            order.push(k.to_owned());
        }
    }
    order
        .into_iter()
        .map(|k| {
            let v = &values[&k];
            format!("{k}={v}")
        })
        .collect()
}

/// Entrypoint and arguments as upstream combines command/args with the
/// image's ENTRYPOINT/CMD.
pub(crate) fn command_line(c: &Container, image: &Image, env: &[String]) -> Vec<String> {
    let vars: HashMap<&str, &str> = env
        .iter()
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect();
    let ex = |v: &Vec<String>| v.iter().map(|s| expand(s, &vars)).collect::<Vec<_>>();
    match (&c.command, &c.args) {
        (Some(cmd), args) if !cmd.is_empty() => {
            let mut all = ex(cmd);
            all.extend(args.as_ref().map(ex).unwrap_or_default());
            all
        }
        (_, Some(args)) if !args.is_empty() => {
            let mut all = image.config.entrypoint.clone();
            all.extend(ex(args));
            all
        }
        _ => {
            let mut all = image.config.entrypoint.clone();
            all.extend(image.config.cmd.iter().cloned());
            all
        }
    }
}

fn cap_name(c: &str) -> String {
    let upper = c.to_ascii_uppercase();
    if upper.starts_with("CAP_") || upper == "ALL" {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

fn host_path_type<'a>(pod: &'a Pod, volume: &str) -> Option<&'a str> {
    let spec = pod.spec.as_ref()?;
    let v = spec.volumes.iter().flatten().find(|v| v.name == volume)?;
    v.host_path.as_ref().and_then(|h| h.type_.as_deref())
}

pub(crate) fn build(input: &SpecInput<'_>) -> ContainerSpec {
    let SpecInput {
        pod, container: c, ..
    } = *input;
    let spec = pod.spec.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let psc = spec.security_context.clone().unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let privileged = sc.privileged.unwrap_or(false);
    let env = merge_env(&input.image.config.env, input.env);
    let args = command_line(c, input.image, &env);

    let image_user = input.image.config.user.clone();
    let (image_uid, image_name, image_gid) = {
        let (u, g) = image_user.split_once(':').unwrap_or((&image_user, ""));
        let uid: Option<u32> = u.parse().ok();
        let name = (!u.is_empty() && uid.is_none()).then(|| u.to_owned());
        (uid, name, g.parse::<u32>().ok())
    };
    let run_as_user = sc.run_as_user.or(psc.run_as_user).map(|v| v as u32);
    let run_as_group = sc.run_as_group.or(psc.run_as_group).map(|v| v as u32);
    let mut supplementary: Vec<u32> = psc
        .supplemental_groups
        .iter()
        .flatten()
        .map(|g| *g as u32)
        .collect();
    if let Some(fs) = psc.fs_group {
        supplementary.insert(0, fs as u32);
    }
    supplementary.dedup();
    let user = UserSpec {
        uid: run_as_user.or(image_uid),
        gid: run_as_group.or(image_gid),
        name: if run_as_user.is_some() {
            None
        } else {
            image_name
        },
        supplementary,
    };

    let seccomp_type = sc
        .seccomp_profile
        .as_ref()
        .or(psc.seccomp_profile.as_ref())
        .map(|p| p.type_.as_str());
    let seccomp = if privileged || seccomp_type == Some("Unconfined") {
        Seccomp::Unconfined
    } else {
        Seccomp::RuntimeDefault
    };
    let caps = sc.capabilities.clone().unwrap_or_default();
    let cap_add: Vec<String> = caps.add.iter().flatten().map(|c| cap_name(c)).collect();
    let cap_drop: Vec<String> = caps.drop.iter().flatten().map(|c| cap_name(c)).collect();
    let allows_escalation = privileged || cap_add.iter().any(|c| c == "CAP_SYS_ADMIN");
    let no_new_privs = !allows_escalation && sc.allow_privilege_escalation == Some(false);

    let mut mounts = Vec::new();
    let mut devices = Vec::new();
    let mut own_destinations = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(v) = input.volumes.iter().find(|v| v.name == m.name) else {
            continue;
        };
        let mut source = v.host_path.clone();
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            source = source.join(sub);
        }
        let propagation = match m.mount_propagation.as_deref() {
            Some("HostToContainer") => Propagation::HostToContainer,
            Some("Bidirectional") => Propagation::Bidirectional,
            _ => Propagation::Private,
        };
        let device_type = host_path_type(pod, &m.name);
        if matches!(device_type, Some("CharDevice" | "BlockDevice")) {
            devices.push(DeviceSpec {
                host_path: source.clone(),
                container_path: PathBuf::from(&m.mount_path),
                permissions: if m.read_only.unwrap_or(false) {
                    "rm"
                } else {
                    "rwm"
                }
                .into(),
            });
            // The runtime creates the node itself; a bind mount on top of
            // it would collide.
            own_destinations.push(PathBuf::from(&m.mount_path));
            continue;
        }
        own_destinations.push(PathBuf::from(&m.mount_path));
        mounts.push(MountSpec {
            destination: PathBuf::from(&m.mount_path),
            kind: MountKind::Bind {
                source,
                readonly: m.read_only.unwrap_or(false) || v.read_only_default,
                propagation,
            },
        });
    }
    let etc = input.pod_dir.join("etc");
    for file in ["hosts", "hostname", "resolv.conf"] {
        let destination = PathBuf::from("/etc").join(file);
        if own_destinations.contains(&destination) {
            continue;
        }
        mounts.push(MountSpec {
            destination,
            kind: MountKind::Bind {
                source: etc.join(file),
                readonly: sc.read_only_root_filesystem.unwrap_or(false),
                propagation: Propagation::Private,
            },
        });
    }
    let term_path = c
        .termination_message_path
        .clone()
        .unwrap_or_else(|| "/dev/termination-log".into());
    mounts.push(MountSpec {
        destination: PathBuf::from(term_path),
        kind: MountKind::Bind {
            source: termination_log_path(input.pod_dir, &c.name, input.restart_count),
            readonly: false,
            propagation: Propagation::Private,
        },
    });

    let mut labels = BTreeMap::new();
    labels.insert(LABEL_POD_UID.into(), uid.clone());
    labels.insert(
        LABEL_POD_NAME.into(),
        pod.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(
        LABEL_POD_NAMESPACE.into(),
        pod.metadata.namespace.clone().unwrap_or_default(),
    );
    labels.insert(LABEL_CONTAINER.into(), c.name.clone());
    labels.insert(LABEL_RESTART.into(), input.restart_count.to_string());
    if input.init {
        labels.insert(LABEL_INIT.into(), "true".into());
    }

    ContainerSpec {
        stop_signal: stop_signal(&input.image.config.stop_signal),
        id: input.id.to_owned(),
        labels,
        layers: input.image.layers.clone(),
        args,
        env,
        cwd: c
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .or_else(|| Some(input.image.config.working_dir.clone()).filter(|w| !w.is_empty()))
            .unwrap_or_else(|| "/".into()),
        user,
        hostname: hostname(pod),
        mounts,
        devices,
        privileged,
        cap_add,
        cap_drop,
        no_new_privs,
        seccomp,
        read_only_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
        resources: container_resources(c.resources.as_ref()),
        namespaces: Namespaces {
            net: input.sandbox.net.clone(),
            ipc: input.sandbox.ipc.clone(),
            uts: input.sandbox.uts.clone(),
            host_pid: spec.host_pid.unwrap_or(false),
        },
        cgroup_path: format!("{}/pod{}/{}", input.cgroup_parent, uid, input.id),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        log_path: log_path(input.pod_dir, &c.name, input.restart_count),
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;

/// The image's StopSignal as a number (`SIGINT`, `INT`, `2`); the
/// runtime's SIGTERM when unset or unknown.
fn stop_signal(name: &str) -> Option<i32> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    if let Ok(n) = name.parse::<i32>() {
        return Some(n);
    }
    let full = if name.starts_with("SIG") {
        name.to_string()
    } else {
        format!("SIG{name}")
    };
    full.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}
