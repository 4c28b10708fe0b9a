//! In-memory backends that record every call into one shared log, so tests
//! can check what happened and in which order.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodStatus, Secret};

use super::backend::*;
use super::spec::LABEL_CONTAINER;
use crate::image::ImageConfig;

pub(crate) type Log = Arc<Mutex<Vec<String>>>;

fn push(log: &Log, s: String) {
    log.lock().unwrap().push(s);
}

#[derive(Default)]
pub(crate) struct FakeRuntime {
    pub(crate) log: Log,
    /// id -> (container name, spec, state)
    pub(crate) containers: Mutex<HashMap<String, (String, ContainerSpec, ContainerState)>>,
    /// Container name -> start error message.
    pub(crate) start_fail: Mutex<HashMap<String, String>>,
    /// Container name -> exit code right after every start.
    pub(crate) auto_exit: Mutex<HashMap<String, i32>>,
    /// Joined command -> exit code (default 0).
    pub(crate) exec_codes: Mutex<HashMap<String, i32>>,
}

fn exited(code: i32, oom: bool) -> ContainerState {
    ContainerState::Exited(ExitRecord {
        code,
        signal: None,
        oom_killed: oom,
        started_at: Timestamp::UNIX_EPOCH,
        finished_at: Timestamp::now(),
        message: String::new(),
    })
}

impl FakeRuntime {
    /// Ends the running container named `name`.
    pub(crate) fn exit(&self, name: &str, code: i32, oom: bool) {
        for (n, _, state) in self.containers.lock().unwrap().values_mut() {
            if n == name && matches!(state, ContainerState::Running { .. }) {
                *state = exited(code, oom);
            }
        }
    }

    pub(crate) fn started(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("start ").map(String::from))
            .collect()
    }

    pub(crate) fn spec_of(&self, name: &str) -> Option<ContainerSpec> {
        self.containers
            .lock()
            .unwrap()
            .values()
            .find(|(n, _, _)| n == name)
            .map(|(_, s, _)| s.clone())
    }
}

impl RuntimeBackend for FakeRuntime {
    fn start<'a>(&'a self, spec: &'a ContainerSpec) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let name = spec.labels[LABEL_CONTAINER].clone();
            push(&self.log, format!("start {name}"));
            if let Some(msg) = self.start_fail.lock().unwrap().get(&name) {
                return Err(BackendError::new(msg.clone()));
            }
            let state = match self.auto_exit.lock().unwrap().get(&name) {
                Some(code) => exited(*code, false),
                None => ContainerState::Running {
                    pid: 1,
                    started_at: Timestamp::now(),
                },
            };
            self.containers
                .lock()
                .unwrap()
                .insert(spec.id.clone(), (name, spec.clone(), state));
            Ok(())
        })
    }

    fn state(&self, id: &str) -> BackendResult<ContainerState> {
        Ok(self
            .containers
            .lock()
            .unwrap()
            .get(id)
            .map_or(ContainerState::Unknown, |c| c.2.clone()))
    }

    fn stop<'a>(&'a self, id: &'a str, grace: Duration) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let mut all = self.containers.lock().unwrap();
            if let Some((name, _, state)) = all.get_mut(id) {
                push(&self.log, format!("stop {name} {}s", grace.as_secs()));
                if matches!(state, ContainerState::Running { .. }) {
                    *state = exited(137, false);
                }
            }
            Ok(())
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            if let Some((name, _, _)) = self.containers.lock().unwrap().remove(id) {
                push(&self.log, format!("remove {name}"));
            }
            Ok(())
        })
    }

    fn list(&self) -> BackendResult<Vec<ContainerInfo>> {
        Ok(self
            .containers
            .lock()
            .unwrap()
            .iter()
            .map(|(id, (_, spec, _))| ContainerInfo {
                id: id.clone(),
                labels: spec.labels.clone(),
            })
            .collect())
    }

    fn exec_sync<'a>(
        &'a self,
        id: &'a str,
        cmd: Vec<String>,
        _t: Duration,
    ) -> BoxFuture<'a, BackendResult<ExecOutput>> {
        Box::pin(async move {
            let name = self
                .containers
                .lock()
                .unwrap()
                .get(id)
                .map(|c| c.0.clone())
                .unwrap_or_default();
            let joined = cmd.join(" ");
            push(&self.log, format!("exec {name} {joined}"));
            let code = self
                .exec_codes
                .lock()
                .unwrap()
                .get(&joined)
                .copied()
                .unwrap_or(0);
            Ok(ExecOutput {
                exit_code: code,
                output: if code == 0 {
                    vec![]
                } else {
                    b"probe says no\n".to_vec()
                },
            })
        })
    }
}

#[derive(Default)]
pub(crate) struct FakeNet {
    pub(crate) log: Log,
    pub(crate) sandboxes: Mutex<HashSet<String>>,
}

impl NetBackend for FakeNet {
    fn create_sandbox<'a>(
        &'a self,
        pod_uid: &'a str,
        _h: &'a str,
        _hn: bool,
        _hi: bool,
    ) -> BoxFuture<'a, BackendResult<Sandbox>> {
        Box::pin(async move {
            push(&self.log, format!("sandbox {pod_uid}"));
            self.sandboxes.lock().unwrap().insert(pod_uid.to_owned());
            Ok(Sandbox {
                net: Some(PathBuf::from(format!("/run/test/{pod_uid}/net"))),
                ipc: None,
                uts: None,
                ip: Some(Ipv4Addr::new(10, 42, 0, 7)),
            })
        })
    }

    fn remove_sandbox<'a>(&'a self, pod_uid: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            push(&self.log, format!("remove-sandbox {pod_uid}"));
            self.sandboxes.lock().unwrap().remove(pod_uid);
            Ok(())
        })
    }

    fn set_host_ports<'a>(
        &'a self,
        _u: &'a str,
        _ip: Ipv4Addr,
        _p: &'a [HostPort],
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async { Ok(()) })
    }

    fn sandboxes(&self) -> BackendResult<Vec<String>> {
        Ok(self.sandboxes.lock().unwrap().iter().cloned().collect())
    }

    fn connect<'a>(
        &'a self,
        _n: Option<&'a Path>,
        port: u16,
    ) -> BoxFuture<'a, io::Result<tokio::net::TcpStream>> {
        Box::pin(async move { tokio::net::TcpStream::connect(("127.0.0.1", port)).await })
    }
}

#[derive(Default)]
pub(crate) struct FakeImages {
    pub(crate) log: Log,
    pub(crate) present: Mutex<HashSet<String>>,
    /// Reference -> failure returned by pull.
    pub(crate) fail: Mutex<HashMap<String, PullFailure>>,
}

pub(crate) fn image(reference: &str) -> Image {
    Image {
        references: vec![reference.to_owned()],
        digest: "sha256:feed".into(),
        config: ImageConfig {
            entrypoint: vec!["/bin/sh".into()],
            ..Default::default()
        },
        layers: vec![PathBuf::from("/layers/0")],
        size: 1234,
    }
}

impl ImageBackend for FakeImages {
    fn resolve(&self, reference: &str) -> BackendResult<Option<Image>> {
        Ok(self
            .present
            .lock()
            .unwrap()
            .contains(reference)
            .then(|| image(reference)))
    }

    fn pull<'a>(
        &'a self,
        reference: &'a str,
        auth: &'a [RegistryAuth],
    ) -> BoxFuture<'a, Result<Image, PullFailure>> {
        Box::pin(async move {
            push(&self.log, format!("pull {reference} auth={}", auth.len()));
            if let Some(f) = self.fail.lock().unwrap().get(reference) {
                return Err(f.clone());
            }
            self.present.lock().unwrap().insert(reference.to_owned());
            Ok(image(reference))
        })
    }
}

#[derive(Default)]
pub(crate) struct FakeVolumes {
    pub(crate) log: Log,
    pub(crate) fail: Mutex<Option<String>>,
}

impl VolumeBackend for FakeVolumes {
    fn prepare<'a>(
        &'a self,
        _pod: &'a Pod,
        _dir: &'a Path,
    ) -> BoxFuture<'a, BackendResult<Vec<PreparedVolume>>> {
        Box::pin(async move {
            push(&self.log, "prepare".into());
            match self.fail.lock().unwrap().clone() {
                Some(m) => Err(BackendError::new(m)),
                None => Ok(vec![]),
            }
        })
    }

    fn resolve_env<'a>(
        &'a self,
        _pod: &'a Pod,
        c: &'a Container,
    ) -> BoxFuture<'a, BackendResult<Vec<String>>> {
        Box::pin(async move {
            Ok(c.env
                .iter()
                .flatten()
                .map(|e| format!("{}={}", e.name, e.value.clone().unwrap_or_default()))
                .collect())
        })
    }

    fn cleanup<'a>(&'a self, pod_uid: &'a str, _dir: &'a Path) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            push(&self.log, format!("cleanup {pod_uid}"));
            Ok(())
        })
    }
}

#[derive(Default)]
pub(crate) struct FakeApi {
    pub(crate) log: Log,
    pub(crate) statuses: Mutex<Vec<PodStatus>>,
    pub(crate) events: Mutex<Vec<(Event, bool)>>,
    pub(crate) secrets: Mutex<HashMap<String, Secret>>,
}

impl FakeApi {
    pub(crate) fn last(&self) -> PodStatus {
        self.statuses
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// "reason: message" of every event written, repeats included.
    pub(crate) fn event_texts(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(e, _)| {
                format!(
                    "{}: {}",
                    e.reason.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default()
                )
            })
            .collect()
    }
}

impl PodApi for FakeApi {
    fn write_status<'a>(
        &'a self,
        _pod: &'a Pod,
        status: &'a PodStatus,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.statuses.lock().unwrap().push(status.clone());
            Ok(())
        })
    }

    fn write_event<'a>(
        &'a self,
        event: &'a Event,
        repeat: bool,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.events.lock().unwrap().push((event.clone(), repeat));
            Ok(())
        })
    }

    fn delete_pod<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        uid: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            push(&self.log, format!("delete {namespace}/{name} uid={uid}"));
            Ok(())
        })
    }

    fn get_secret<'a>(
        &'a self,
        _ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<Option<Secret>>> {
        Box::pin(async move { Ok(self.secrets.lock().unwrap().get(name).cloned()) })
    }
}

/// All fakes sharing one call log.
pub(crate) struct Fakes {
    pub(crate) log: Log,
    pub(crate) runtime: Arc<FakeRuntime>,
    pub(crate) net: Arc<FakeNet>,
    pub(crate) images: Arc<FakeImages>,
    pub(crate) volumes: Arc<FakeVolumes>,
    pub(crate) api: Arc<FakeApi>,
}

impl Fakes {
    pub(crate) fn new() -> Self {
        let log = Log::default();
        Fakes {
            runtime: Arc::new(FakeRuntime {
                log: log.clone(),
                ..Default::default()
            }),
            net: Arc::new(FakeNet {
                log: log.clone(),
                ..Default::default()
            }),
            images: Arc::new(FakeImages {
                log: log.clone(),
                ..Default::default()
            }),
            volumes: Arc::new(FakeVolumes {
                log: log.clone(),
                ..Default::default()
            }),
            api: Arc::new(FakeApi {
                log: log.clone(),
                ..Default::default()
            }),
            log,
        }
    }

    pub(crate) fn backends(&self) -> Backends {
        Backends {
            runtime: self.runtime.clone(),
            net: self.net.clone(),
            images: self.images.clone(),
            volumes: self.volumes.clone(),
        }
    }

    pub(crate) fn calls(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// A runtime spec carrying only the id and labels of `info`.
pub(crate) fn test_spec(info: &ContainerInfo) -> ContainerSpec {
    ContainerSpec {
        stop_signal: None,
        id: info.id.clone(),
        labels: info.labels.clone(),
        layers: vec![],
        args: vec![],
        env: vec![],
        cwd: "/".into(),
        user: UserSpec::default(),
        hostname: String::new(),
        mounts: vec![],
        devices: vec![],
        privileged: false,
        cap_add: vec![],
        cap_drop: vec![],
        no_new_privs: false,
        seccomp: Seccomp::RuntimeDefault,
        read_only_rootfs: false,
        resources: Resources::default(),
        namespaces: Namespaces::default(),
        cgroup_path: String::new(),
        stdin: false,
        stdin_once: false,
        tty: false,
        log_path: PathBuf::new(),
    }
}
