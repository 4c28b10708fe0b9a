//! Starting and restarting a pod's containers: image pulls with back-off,
//! init containers in order, restart policy with CrashLoopBackOff, postStart
//! hooks and probes.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Secret};
use tokio::sync::watch;
use tokio::time::Instant;

use super::backend::{Image, PullErrorKind};
use super::backoff::render;
use super::podfiles::registry_auth;
use super::probe::{self, Action, Kind};
use super::spec::{SpecInput, build, log_path, termination_log_path};
use super::status::Terminated;
use super::worker::{ProbeSet, Worker};

/// The effective imagePullPolicy: the spec's, else Always for `:latest` or
/// untagged references, IfNotPresent otherwise.
pub(crate) fn pull_policy(c: &Container) -> String {
    if let Some(p) = c.image_pull_policy.as_deref().filter(|p| !p.is_empty()) {
        return p.to_owned();
    }
    let image = c.image.as_deref().unwrap_or("");
    if image.contains('@') {
        return "IfNotPresent".into();
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always".into(),
        Some(_) => "IfNotPresent".into(),
    }
}

/// `repository@digest`, the imageID upstream reports.
fn image_id(image: &Image) -> String {
    let repo = image.references.first().map_or("", |r| {
        let r = r.split('@').next().unwrap_or(r);
        match r.rfind(':') {
            Some(i) if !r[i..].contains('/') => &r[..i],
            _ => r,
        }
    });
    if repo.is_empty() {
        image.digest.clone()
    } else {
        format!("{repo}@{}", image.digest)
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

impl Worker {
    /// Init containers strictly in order, then the app containers.
    pub(crate) async fn run_containers(&mut self) {
        let policy = self.restart_policy();
        for i in 0..self.init.len() {
            let r = &self.init[i];
            if r.succeeded() {
                continue;
            }
            if r.running_since.is_some() {
                return;
            }
            let name = r.name.clone();
            if r.exited.is_some() {
                if policy == "Never" {
                    return;
                }
                self.restart(&name, true).await;
            } else {
                self.start(&name, true).await;
            }
            return;
        }
        for i in 0..self.app.len() {
            let r = &self.app[i];
            if r.running_since.is_some() {
                continue;
            }
            let name = r.name.clone();
            match &r.exited {
                Some(t) => {
                    let again = match policy.as_str() {
                        "Never" => false,
                        "OnFailure" => t.exit_code != 0,
                        _ => true,
                    };
                    if again {
                        self.restart(&name, false).await;
                    }
                }
                None => self.start(&name, false).await,
            }
        }
    }

    /// Restarts a finished container unless it is backing off.
    async fn restart(&mut self, name: &str, init: bool) {
        let key = format!("container/{name}");
        let now = Instant::now();
        let exited = self.exited_at.get(name).copied().unwrap_or(now);
        if self.backoff.in_backoff_since(&key, exited, now) {
            let delay = render(self.backoff.current(&key));
            let pod = self.name();
            let msg = format!("back-off {delay} restarting failed container={name} pod={pod}");
            self.record(name, init).waiting = Some(("CrashLoopBackOff".into(), Some(msg)));
            let ev = format!("Back-off restarting failed container {name} in pod {pod}");
            self.event(Some((name, init)), true, "BackOff", &ev).await;
            self.schedule(self.backoff.ready_at(&key, exited));
            return;
        }
        self.backoff.next(&key, now);
        let old = self.record(name, init).id.clone();
        if let Some(old) = old
            && let Err(e) = self.shared.backends.runtime.remove(&old).await
        {
            tracing::warn!(container = %old, error = %e, "cannot remove finished container");
        }
        let rec = self.record(name, init);
        rec.last = rec.exited.take();
        rec.restart_count += 1;
        self.start(name, init).await;
    }

    /// Present or pulled image for the container, per its pull policy.
    async fn ensure_image(&mut self, c: &Container, init: bool) -> Option<Image> {
        let reference = c.image.clone().unwrap_or_default();
        let policy = pull_policy(c);
        let images = self.shared.backends.images.clone();
        let local = images.resolve(&reference).ok().flatten();
        let who = Some((c.name.as_str(), init));
        if policy == "Never" || (policy == "IfNotPresent" && local.is_some()) {
            return match local {
                Some(img) => {
                    let msg = format!("Container image \"{reference}\" already present on machine");
                    self.event(who, false, "Pulled", &msg).await;
                    Some(img)
                }
                None => {
                    let msg = format!(
                        "Container image \"{reference}\" is not present with pull policy of Never"
                    );
                    self.record(&c.name, init).waiting =
                        Some(("ErrImageNeverPull".into(), Some(msg.clone())));
                    self.event(who, true, "ErrImageNeverPull", &msg).await;
                    self.schedule(Instant::now() + Duration::from_secs(10));
                    None
                }
            };
        }
        let key = format!("image/{reference}");
        let now = Instant::now();
        if let Some(failed) = self.pull_failed_at.get(&reference).copied()
            && self.backoff.in_backoff_since(&key, failed, now)
        {
            let msg = format!("Back-off pulling image \"{reference}\"");
            self.record(&c.name, init).waiting =
                Some(("ImagePullBackOff".into(), Some(msg.clone())));
            self.event(who, false, "BackOff", &msg).await;
            self.event(who, true, "Failed", "Error: ImagePullBackOff")
                .await;
            self.schedule(self.backoff.ready_at(&key, failed));
            return None;
        }
        self.event(
            who,
            false,
            "Pulling",
            &format!("Pulling image \"{reference}\""),
        )
        .await;
        let auth = self.pull_auth().await;
        let began = Instant::now();
        match images.pull(&reference, &auth).await {
            Ok(img) => {
                self.backoff.reset(&key);
                self.pull_failed_at.remove(&reference);
                let took = seconds(began.elapsed());
                let msg = format!(
                    "Successfully pulled image \"{reference}\" in {took} ({took} including waiting). Image size: {} bytes.",
                    img.size
                );
                self.event(who, false, "Pulled", &msg).await;
                Some(img)
            }
            Err(f) if f.kind == PullErrorKind::Network && local.is_some() => {
                // Without an uplink an edge site keeps running what it has.
                let msg = format!(
                    "Container image \"{reference}\" already present on machine; registry unreachable: {}",
                    f.message
                );
                self.event(who, false, "Pulled", &msg).await;
                local
            }
            Err(f) => {
                self.backoff.next(&key, Instant::now());
                self.pull_failed_at
                    .insert(reference.clone(), Instant::now());
                let msg = format!("Failed to pull image \"{reference}\": {}", f.message);
                self.record(&c.name, init).waiting =
                    Some(("ErrImagePull".into(), Some(f.message.clone())));
                self.event(who, true, "Failed", &msg).await;
                self.event(who, true, "Failed", "Error: ErrImagePull").await;
                // Shows ImagePullBackOff on the next pass, as upstream does.
                self.schedule(Instant::now() + Duration::from_secs(1));
                None
            }
        }
    }

    async fn pull_auth(&self) -> Vec<super::backend::RegistryAuth> {
        let ns = self.pod.metadata.namespace.clone().unwrap_or_default();
        let mut secrets: Vec<Secret> = Vec::new();
        let refs = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.image_pull_secrets.clone());
        for r in refs.into_iter().flatten() {
            match self.shared.api.get_secret(&ns, &r.name).await {
                Ok(Some(s)) => secrets.push(s),
                Ok(None) => tracing::warn!(secret = %r.name, "image pull secret not found"),
                Err(e) => {
                    tracing::warn!(secret = %r.name, error = %e, "cannot read image pull secret")
                }
            }
        }
        registry_auth(&secrets)
    }

    /// Image, env, spec, start, postStart hook, probes.
    pub(crate) async fn start(&mut self, name: &str, init: bool) {
        let Some(c) = self.container_spec(name, init) else {
            return;
        };
        let who = Some((name, init));
        let Some(image) = self.ensure_image(&c, init).await else {
            return;
        };
        self.images.insert(name.to_owned(), image.clone());
        let env = match self
            .shared
            .backends
            .volumes
            .resolve_env(&self.pod, &c)
            .await
        {
            Ok(env) => env,
            Err(e) => {
                self.record(name, init).waiting =
                    Some(("CreateContainerConfigError".into(), Some(e.message.clone())));
                self.event(who, true, "Failed", &format!("Error: {e}"))
                    .await;
                self.schedule(Instant::now() + Duration::from_secs(10));
                return;
            }
        };
        let restart = self.record(name, init).restart_count;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sandbox = self.sandbox.clone().unwrap_or_default();
        let volumes = self.volumes.clone().unwrap_or_default();
        let spec = build(&SpecInput {
            pod: &self.pod,
            container: &c,
            init,
            id: &id,
            restart_count: restart,
            image: &image,
            env: &env,
            volumes: &volumes,
            sandbox: &sandbox,
            pod_dir: &self.pod_dir,
            cgroup_parent: &self.shared.cfg.cgroup_parent,
        });
        for file in [
            log_path(&self.pod_dir, name, restart),
            termination_log_path(&self.pod_dir, name, restart),
        ] {
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let _ = std::fs::write(termination_log_path(&self.pod_dir, name, restart), b"");
        {
            let rec = self.record(name, init);
            rec.id = Some(id.clone());
            rec.image_id = image_id(&image);
            rec.waiting = None;
        }
        self.event(who, false, "Created", &format!("Created container: {name}"))
            .await;
        if let Err(e) = self.shared.backends.runtime.start(&spec).await {
            let now = Timestamp::now();
            let rec = self.record(name, init);
            rec.exited = Some(Terminated {
                container_id: id,
                exit_code: 128,
                signal: None,
                reason: "StartError".into(),
                message: Some(e.message.clone()),
                started_at: None,
                finished_at: now,
            });
            self.exited_at.insert(name.to_owned(), Instant::now());
            self.event(who, true, "Failed", &format!("Error: {e}"))
                .await;
            self.schedule(Instant::now());
            return;
        }
        self.event(who, false, "Started", &format!("Started container {name}"))
            .await;
        let has_startup = !init && c.startup_probe.is_some();
        let has_readiness = !init && c.readiness_probe.is_some();
        {
            let rec = self.record(name, init);
            rec.running_since = Some(Timestamp::now());
            rec.exited = None;
            rec.started = !has_startup;
            rec.ready = !init && !has_startup && !has_readiness;
        }
        self.spawn_probes(&c, &id, has_startup, has_readiness);
        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref())
            && let Some(action) = Action::from_hook(hook)
        {
            let target = self.probe_target(&c, &id);
            if let Err(msg) = probe::run(
                &target,
                &action,
                self.grace_period().max(Duration::from_secs(1)),
            )
            .await
            {
                let text = format!("PostStartHook failed: {msg}");
                self.event(who, true, "FailedPostStartHook", &text).await;
                self.probes.remove(name);
                if let Err(e) = self
                    .shared
                    .backends
                    .runtime
                    .stop(&id, self.grace_period())
                    .await
                {
                    tracing::warn!(container = %name, error = %e, "cannot stop container");
                }
            }
        }
    }

    pub(crate) fn probe_target(&self, c: &Container, id: &str) -> Arc<probe::Target> {
        Arc::new(probe::Target {
            runtime: self.shared.backends.runtime.clone(),
            net: self.shared.backends.net.clone(),
            container_id: id.to_owned(),
            netns: self.sandbox.as_ref().and_then(|s| s.net.clone()),
            pod_ip: self.sandbox.as_ref().and_then(|s| s.ip),
            ports: c.ports.clone().unwrap_or_default(),
        })
    }

    fn spawn_probes(&mut self, c: &Container, id: &str, has_startup: bool, has_readiness: bool) {
        let (started, started_rx) = watch::channel(!has_startup);
        let target = self.probe_target(c, id);
        let mut tasks = Vec::new();
        for (kind, slot) in [
            (Kind::Startup, &c.startup_probe),
            (Kind::Liveness, &c.liveness_probe),
            (Kind::Readiness, &c.readiness_probe),
        ] {
            if let Some(p) = slot {
                tasks.push(probe::spawn(
                    kind,
                    p.clone(),
                    target.clone(),
                    c.name.clone(),
                    started_rx.clone(),
                    self.probe_tx.clone(),
                ));
            }
        }
        self.probes.insert(
            c.name.clone(),
            ProbeSet {
                id: id.to_owned(),
                tasks,
                started,
                has_startup,
                has_readiness,
                readiness: false,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pull_policy_follows_the_tag() {
        let c = |image: &str, policy: Option<&str>| Container {
            image: Some(image.into()),
            image_pull_policy: policy.map(String::from),
            ..Default::default()
        };
        assert_eq!(pull_policy(&c("busybox", None)), "Always");
        assert_eq!(pull_policy(&c("busybox:latest", None)), "Always");
        assert_eq!(pull_policy(&c("registry:5000/busybox", None)), "Always");
        assert_eq!(
            pull_policy(&c("registry:5000/busybox:1.36", None)),
            "IfNotPresent"
        );
        assert_eq!(pull_policy(&c("busybox@sha256:abc", None)), "IfNotPresent");
        assert_eq!(pull_policy(&c("busybox", Some("Never"))), "Never");
    }

    #[test]
    fn image_id_is_repository_at_digest() {
        let img = Image {
            references: vec!["localhost:5000/app/busybox:1.36".into()],
            digest: "sha256:0123".into(),
            config: Default::default(),
            layers: vec![],
            size: 0,
        };
        assert_eq!(image_id(&img), "localhost:5000/app/busybox@sha256:0123");
    }
}
