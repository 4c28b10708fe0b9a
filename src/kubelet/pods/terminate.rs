//! Stopping a pod: preStop hooks and SIGTERM within the grace period, then
//! removal of containers, sandbox and volumes, and the final delete.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::probe::{self, Action};
use super::worker::Worker;

impl Worker {
    /// Stops every running container: preStop hook (when `pre_stop`), then
    /// the runtime's stop with what is left of `grace`, all containers at once.
    pub(crate) async fn kill_all(&mut self, grace: Duration, pre_stop: bool) {
        self.probes.clear();
        let deadline = Instant::now() + grace;
        let mut jobs = Vec::new();
        let running: Vec<(String, bool, String)> = self
            .init
            .iter()
            .chain(self.app.iter())
            .filter(|r| r.running_since.is_some())
            .filter_map(|r| Some((r.name.clone(), r.init, r.id.clone()?)))
            .collect();
        for (name, init, id) in running {
            let Some(c) = self.container_spec(&name, init) else {
                continue;
            };
            self.event(
                Some((name.as_str(), init)),
                false,
                "Killing",
                &format!("Stopping container {name}"),
            )
            .await;
            let hook = pre_stop
                .then(|| c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()))
                .flatten()
                .and_then(Action::from_hook);
            let target = self.probe_target(&c, &id);
            let runtime = self.shared.backends.runtime.clone();
            let recorder = self.shared.events.clone();
            let pod = self.pod.clone();
            jobs.push(async move {
                if let Some(action) = hook {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if let Err(msg) =
                        probe::run(&target, &action, left.max(Duration::from_secs(1))).await
                    {
                        let fp = super::events::field_path(&name, init);
                        let text = format!("PreStopHook failed: {msg}");
                        recorder
                            .record(&pod, Some(fp.as_str()), true, "FailedPreStopHook", &text)
                            .await;
                    }
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if let Err(e) = runtime.stop(&id, left).await {
                    tracing::warn!(container = %name, error = %e, "cannot stop container");
                }
            });
        }
        join_all(jobs).await;
        self.refresh_after_stop();
    }

    fn refresh_after_stop(&mut self) {
        let runtime = self.shared.backends.runtime.clone();
        for r in self.init.iter_mut().chain(self.app.iter_mut()) {
            if r.running_since.is_none() {
                continue;
            }
            let Some(id) = r.id.clone() else { continue };
            if let Ok(super::backend::ContainerState::Exited(rec)) = runtime.state(&id) {
                r.running_since = None;
                r.ready = false;
                r.exited = Some(super::status::Terminated {
                    container_id: id,
                    exit_code: rec.code,
                    signal: rec.signal,
                    reason: super::status::exit_reason(rec.code, rec.oom_killed).into(),
                    message: Some(rec.message).filter(|m| !m.is_empty()),
                    started_at: Some(rec.started_at),
                    finished_at: rec.finished_at,
                });
            }
        }
    }

    /// Stops and removes everything of the pod; with `delete`, finally
    /// deletes the pod object (grace 0, UID precondition).
    pub(crate) async fn teardown(&mut self, delete: bool) {
        tracing::info!(pod = %self.name(), "stopping pod");
        let grace = self.grace_period();
        self.kill_all(grace, true).await;
        let runtime = self.shared.backends.runtime.clone();
        let ids: Vec<String> = self
            .init
            .iter()
            .chain(self.app.iter())
            .filter_map(|r| r.id.clone())
            .collect();
        for id in ids {
            if let Err(e) = runtime.remove(&id).await {
                tracing::warn!(container = %id, error = %e, "cannot remove container");
            }
        }
        if let Err(e) = self.shared.backends.net.remove_sandbox(&self.uid).await {
            tracing::warn!(pod = %self.name(), error = %e, "cannot remove sandbox");
        }
        // The directory goes only once nothing is mounted below it.
        if let Err(e) = self
            .shared
            .backends
            .volumes
            .cleanup(&self.uid, &self.pod_dir)
            .await
        {
            tracing::warn!(pod = %self.name(), error = %e, "cannot clean up volumes");
        } else if let Err(e) = std::fs::remove_dir_all(&self.pod_dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(pod = %self.name(), error = %e, "cannot remove pod directory");
        }
        if delete {
            let ns = self.pod.metadata.namespace.clone().unwrap_or_default();
            let name = self.pod.metadata.name.clone().unwrap_or_default();
            if let Err(e) = self.shared.api.delete_pod(&ns, &name, &self.uid).await {
                tracing::warn!(pod = %self.name(), error = %e, "cannot delete pod");
            }
        }
    }
}
