//! Graceful deletion of Pods: a pod bound to a node is marked with a
//! deletion timestamp and grace period, and removed once its node's
//! kubelet (or a forced delete) deletes it again with a zero grace period.

use serde_json::{Value, json};

use super::meta::{self, meta_mut};

/// Grace period when neither the request nor the pod names one.
const DEFAULT_GRACE_SECONDS: i64 = 30;

/// What a DELETE does to a Pod.
#[derive(Debug, PartialEq)]
pub(super) enum PodDeletion {
    /// Delete now (finalizers may still hold the object).
    Now,
    /// Store this marked object; it stays until deleted with grace 0.
    Mark(Value),
    /// Graceful deletion is already under way and this request does not
    /// shorten it.
    Unchanged,
}

fn grace_of(obj: &Value) -> Option<i64> {
    meta::meta(obj)
        .and_then(|m| m.get("deletionGracePeriodSeconds"))
        .and_then(Value::as_i64)
}

/// Whether an update that leaves `old` (already deleting) without
/// finalizers completes its deletion: only when no grace period is pending.
pub(super) fn update_completes_deletion(old: &Value) -> bool {
    grace_of(old).is_none_or(|g| g == 0)
}

/// A pod that has run to completion and has nothing left running.
fn terminated(pod: &Value) -> bool {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if !matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    let running = |list: &str| {
        pod.pointer(&format!("/status/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|s| s.pointer("/state/running").is_some())
    };
    !running("containerStatuses") && !running("initContainerStatuses")
}

fn shifted(stamp: &str, by_seconds: i64) -> String {
    let base = stamp
        .parse::<jiff::Timestamp>()
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let t = base
        .checked_add(jiff::SignedDuration::from_secs(by_seconds))
        .unwrap_or(base);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Decides a DELETE of `pod` with the request's `gracePeriodSeconds`.
pub(super) fn decide(pod: &Value, requested: Option<i64>) -> PodDeletion {
    // Negative periods mean one second on the delete path, as upstream.
    let requested = requested.map(|g| if g < 0 { 1 } else { g });
    if let Some(ts) = meta::str_field(pod, "deletionTimestamp") {
        let Some(current) = grace_of(pod).filter(|g| *g > 0) else {
            return PodDeletion::Now;
        };
        // Only a shorter grace period may follow.
        return match requested {
            Some(p) if p < current => {
                if p == 0 && meta::finalizers(pod).is_empty() {
                    return PodDeletion::Now;
                }
                let mut new = pod.clone();
                let m = meta_mut(&mut new);
                m.insert("deletionTimestamp".into(), json!(shifted(ts, p - current)));
                m.insert("deletionGracePeriodSeconds".into(), json!(p));
                PodDeletion::Mark(new)
            }
            _ => PodDeletion::Unchanged,
        };
    }
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let period = if !bound || terminated(pod) {
        0
    } else {
        requested
            .or_else(|| {
                pod.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(DEFAULT_GRACE_SECONDS)
            .max(0)
    };
    if period == 0 {
        return PodDeletion::Now;
    }
    let mut new = pod.clone();
    let m = meta_mut(&mut new);
    m.insert(
        "deletionTimestamp".into(),
        json!(shifted(&meta::now(), period)),
    );
    m.insert("deletionGracePeriodSeconds".into(), json!(period));
    PodDeletion::Mark(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: &str, grace: Option<i64>) -> Value {
        let mut p = json!({"metadata": {"name": "p", "uid": "u1"}, "spec": {"nodeName": node}});
        if let Some(g) = grace {
            p["spec"]["terminationGracePeriodSeconds"] = json!(g);
        }
        p
    }

    fn marked(d: PodDeletion) -> Value {
        match d {
            PodDeletion::Mark(v) => v,
            other => panic!("expected a marked pod, got {other:?}"),
        }
    }

    #[test]
    fn unbound_pods_go_at_once() {
        assert_eq!(decide(&pod("", Some(30)), None), PodDeletion::Now);
        assert_eq!(decide(&pod("", Some(30)), Some(10)), PodDeletion::Now);
    }

    #[test]
    fn bound_pods_take_the_requested_then_spec_then_default_grace() {
        let v = marked(decide(&pod("n1", Some(45)), Some(7)));
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 7);
        let v = marked(decide(&pod("n1", Some(45)), None));
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 45);
        let v = marked(decide(&pod("n1", None), None));
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 30);
        let stamp: jiff::Timestamp = v["metadata"]["deletionTimestamp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let ahead = stamp.as_second() - jiff::Timestamp::now().as_second();
        assert!((28..=31).contains(&ahead), "deadline {ahead}s ahead");
    }

    #[test]
    fn zero_grace_and_negative_grace() {
        assert_eq!(decide(&pod("n1", Some(30)), Some(0)), PodDeletion::Now);
        let v = marked(decide(&pod("n1", Some(30)), Some(-5)));
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 1);
        assert_eq!(decide(&pod("n1", Some(0)), None), PodDeletion::Now);
    }

    #[test]
    fn terminated_pods_go_at_once_unless_something_runs() {
        let mut p = pod("n1", Some(30));
        p["status"] =
            json!({"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {}}}]});
        assert_eq!(decide(&p, None), PodDeletion::Now);
        p["status"]["containerStatuses"][0]["state"] = json!({"running": {}});
        assert!(matches!(decide(&p, None), PodDeletion::Mark(_)));
        p["status"] = json!({"phase": "Running"});
        assert!(matches!(decide(&p, None), PodDeletion::Mark(_)));
    }

    #[test]
    fn a_second_delete_may_only_shorten() {
        let first = marked(decide(&pod("n1", Some(30)), None));
        assert_eq!(decide(&first, None), PodDeletion::Unchanged);
        assert_eq!(decide(&first, Some(60)), PodDeletion::Unchanged);
        assert_eq!(decide(&first, Some(30)), PodDeletion::Unchanged);
        let shorter = marked(decide(&first, Some(10)));
        assert_eq!(shorter["metadata"]["deletionGracePeriodSeconds"], 10);
        let before: jiff::Timestamp = first["metadata"]["deletionTimestamp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let after: jiff::Timestamp = shorter["metadata"]["deletionTimestamp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(before.as_second() - after.as_second(), 20);
        assert_eq!(decide(&shorter, Some(0)), PodDeletion::Now);
        // Finalizers keep the object: the zero period is recorded instead.
        let mut held = shorter;
        held["metadata"]["finalizers"] = json!(["example.com/hold"]);
        let v = marked(decide(&held, Some(0)));
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 0);
        assert!(update_completes_deletion(&v));
    }

    #[test]
    fn updates_complete_only_deletions_without_pending_grace() {
        let first = marked(decide(&pod("n1", Some(30)), None));
        assert!(!update_completes_deletion(&first));
        let mut zero = first.clone();
        zero["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        assert!(update_completes_deletion(&zero));
        let mut none = first;
        meta_mut(&mut none).remove("deletionGracePeriodSeconds");
        assert!(update_completes_deletion(&none));
    }
}
