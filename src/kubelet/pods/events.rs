//! core/v1 Events about pods, with repeats folded into one Event whose count
//! and lastTimestamp grow, as upstream's recorder does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};

use super::backend::PodApi;

/// Keeps the de-duplication cache; cheap to clone, shared by all workers.
#[derive(Clone)]
pub(crate) struct Recorder {
    api: Arc<dyn PodApi>,
    host: String,
    seen: Arc<Mutex<HashMap<String, Event>>>,
}

/// The field path upstream uses for a container of a pod.
pub(crate) fn field_path(container: &str, init: bool) -> String {
    if init {
        format!("spec.initContainers{{{container}}}")
    } else {
        format!("spec.containers{{{container}}}")
    }
}

impl Recorder {
    pub(crate) fn new(api: Arc<dyn PodApi>, host: &str) -> Self {
        Self {
            api,
            host: host.to_owned(),
            seen: Arc::default(),
        }
    }

    /// Records an event; a failure to write it is logged, never fatal.
    pub(crate) async fn record(
        &self,
        pod: &Pod,
        field_path: Option<&str>,
        warning: bool,
        reason: &str,
        message: &str,
    ) {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let type_ = if warning { "Warning" } else { "Normal" };
        let key = format!("{uid}\u{0}{field_path:?}\u{0}{type_}\u{0}{reason}\u{0}{message}");
        let now = Time(Timestamp::now());
        let (event, repeat) = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() > 4096 {
                seen.clear();
            }
            match seen.get_mut(&key) {
                Some(ev) => {
                    ev.count = Some(ev.count.unwrap_or(1) + 1);
                    ev.last_timestamp = Some(now);
                    (ev.clone(), true)
                }
                None => {
                    let ev = Event {
                        metadata: ObjectMeta {
                            name: Some(format!(
                                "{name}.{:x}",
                                Timestamp::now().as_nanosecond() as u64
                            )),
                            namespace: Some(ns.clone()),
                            ..Default::default()
                        },
                        involved_object: ObjectReference {
                            api_version: Some("v1".into()),
                            kind: Some("Pod".into()),
                            name: Some(name.clone()),
                            namespace: Some(ns),
                            uid: Some(uid),
                            field_path: field_path.map(String::from),
                            resource_version: pod.metadata.resource_version.clone(),
                        },
                        reason: Some(reason.into()),
                        message: Some(message.into()),
                        type_: Some(type_.into()),
                        source: Some(EventSource {
                            component: Some("kubelet".into()),
                            host: Some(self.host.clone()),
                        }),
                        reporting_component: Some("kubelet".into()),
                        reporting_instance: Some(self.host.clone()),
                        count: Some(1),
                        first_timestamp: Some(now.clone()),
                        last_timestamp: Some(now.clone()),
                        event_time: None::<MicroTime>,
                        ..Default::default()
                    };
                    seen.insert(key, ev.clone());
                    (ev, false)
                }
            }
        };
        tracing::debug!(pod = %name, reason, message, "event");
        if let Err(e) = self.api.write_event(&event, repeat).await {
            tracing::warn!(pod = %name, reason, error = %e, "cannot record event");
        }
    }

    /// Forgets a pod's events once it is gone.
    pub(crate) fn forget(&self, uid: &str) {
        let prefix = format!("{uid}\u{0}");
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| !k.starts_with(&prefix));
    }
}
