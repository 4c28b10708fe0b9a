//! Events expire an hour after they were last seen, as upstream's default
//! `--event-ttl`. They live in memory only, so expiry is what bounds the
//! memory they take.

use std::time::Duration;

use serde_json::Value;

use super::resources::find;
use super::{Registry, key, meta};
use crate::store::Op;

const EVENT_TTL: Duration = Duration::from_secs(3600);
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// When the event last happened; its creation when it does not say.
fn last_seen(event: &Value) -> Option<jiff::Timestamp> {
    let stamp = |p: &str| {
        event
            .pointer(p)
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    ["/series/lastObservedTime", "/lastTimestamp", "/eventTime"]
        .iter()
        .filter_map(|p| stamp(p))
        .max()
        .or_else(|| stamp("/metadata/creationTimestamp"))
}

impl Registry {
    /// Deletes events not seen for [`EVENT_TTL`]; returns how many.
    pub(crate) async fn expire_events(&self, now: jiff::Timestamp) -> usize {
        let Some(def) = find("", "v1", "events") else {
            return 0;
        };
        let cutoff = now.as_second() - EVENT_TTL.as_secs() as i64;
        let expired = |v: &Value| last_seen(v).is_some_and(|t| t.as_second() < cutoff);
        let Ok(page) = self
            .store
            .list(&super::prefix(def, None), None, None, 0, &expired)
        else {
            return 0;
        };
        let mut n = 0;
        for ev in page.items {
            let ns = ev.pointer("/metadata/namespace").and_then(Value::as_str);
            let op = Op::Delete {
                key: key(def, ns, meta::name(&ev)),
                // Only the version found expired: a concurrent update wins.
                expected: Some(crate::store::revision_of(&ev)),
            };
            if self.store.write(op).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    pub(crate) fn spawn_event_expiry(&self) {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tick.tick().await;
                registry.expire_events(jiff::Timestamp::now()).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::WriteOpts;
    use crate::store::{BackendKind, Store};

    #[tokio::test]
    async fn old_events_expire_recent_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            BackendKind::Redb.open(dir.path()).unwrap(),
            crate::registry::is_ephemeral,
        )
        .unwrap();
        let registry = Registry::new(store);
        crate::registry::bootstrap(&registry, "10.43.0.1", 6443)
            .await
            .unwrap();
        let def = find("", "v1", "events").unwrap();
        for (name, last) in [
            ("old", "2026-01-01T00:00:00Z"),
            ("new", "2026-01-01T01:30:00Z"),
        ] {
            let ev = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Test",
                "message": "m", "type": "Normal", "lastTimestamp": last, "firstTimestamp": last});
            registry
                .create(def, Some("default"), ev, &WriteOpts::default())
                .await
                .unwrap();
        }
        let now: jiff::Timestamp = "2026-01-01T01:45:00Z".parse().unwrap();
        assert_eq!(registry.expire_events(now).await, 1);
        assert!(registry.get(def, Some("default"), "old").is_err());
        assert!(registry.get(def, Some("default"), "new").is_ok());
    }
}
