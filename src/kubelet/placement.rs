//! Whether a pod may be placed on a node: the filters of upstream's
//! scheduler that apply to one node without resource accounting
//! (unschedulable nodes, taints, nodeSelector and required node affinity),
//! with upstream's messages.

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, PodSpec, Taint, Toleration};

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fit {
    Yes,
    /// The PodScheduled message upstream's scheduler gives for one node.
    No(String),
}

const PREEMPTION: &str =
    " preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

fn no(reason: &str) -> Fit {
    Fit::No(format!("0/1 nodes are available: 1 {reason}.{PREEMPTION}"))
}

pub(crate) fn fits(pod: &PodSpec, node: &Node) -> Fit {
    let spec = node.spec.clone().unwrap_or_default();
    let tolerations = pod.tolerations.as_deref().unwrap_or_default();
    if spec.unschedulable == Some(true) {
        let cordon = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        if !tolerations.iter().any(|t| tolerates(t, &cordon)) {
            return no("node(s) were unschedulable");
        }
    }
    for taint in spec.taints.iter().flatten() {
        if taint.effect == "PreferNoSchedule" {
            continue;
        }
        if !tolerations.iter().any(|t| tolerates(t, taint)) {
            return no(&format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or_default()
            ));
        }
    }
    if !affinity_matches(pod, node) {
        return no("node(s) didn't match Pod's node affinity/selector");
    }
    Fit::Yes
}

fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or_default();
    match t.operator.as_deref() {
        Some("Exists") => key.is_empty() || key == taint.key,
        // Equal is the default operator.
        _ => {
            key == taint.key
                && t.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
    }
}

fn affinity_matches(pod: &PodSpec, node: &Node) -> bool {
    let empty = Default::default();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(selector) = &pod.node_selector
        && !selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let required = pod
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let Some(required) = required else {
        return true;
    };
    let name = node.metadata.name.clone().unwrap_or_default();
    // Terms are ORed; a term with no requirements matches nothing.
    required.node_selector_terms.iter().any(|term| {
        let exprs = term.match_expressions.as_deref().unwrap_or_default();
        let fields = term.match_fields.as_deref().unwrap_or_default();
        (!exprs.is_empty() || !fields.is_empty())
            && exprs
                .iter()
                .all(|r| requirement(r, labels.get(&r.key).map(String::as_str)))
            && fields
                .iter()
                .all(|r| r.key == "metadata.name" && requirement(r, Some(name.as_str())))
    })
}

fn requirement(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(have), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|s| number(s)),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                have > bound
            } else {
                have < bound
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: serde_json::Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    fn pod(v: serde_json::Value) -> PodSpec {
        let mut v = v;
        v["containers"] = json!([{ "name": "c" }]);
        serde_json::from_value(v).unwrap()
    }

    fn edge() -> Node {
        node(json!({
            "metadata": { "name": "edge-1", "labels": { "zone": "a", "gpus": "2" } }
        }))
    }

    #[test]
    fn node_selector() {
        assert_eq!(fits(&pod(json!({})), &edge()), Fit::Yes);
        assert_eq!(
            fits(&pod(json!({ "nodeSelector": { "zone": "a" } })), &edge()),
            Fit::Yes
        );
        let Fit::No(msg) = fits(&pod(json!({ "nodeSelector": { "zone": "b" } })), &edge()) else {
            panic!("zone b must not fit");
        };
        assert!(msg.starts_with(
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        ));
    }

    #[test]
    fn required_affinity() {
        let with = |terms: serde_json::Value| {
            pod(json!({ "affinity": { "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": terms }
            }}}))
        };
        let expr = |op: &str, key: &str, values: serde_json::Value| json!([{ "matchExpressions": [{ "key": key, "operator": op, "values": values }] }]);
        assert_eq!(
            fits(&with(expr("In", "zone", json!(["a", "c"]))), &edge()),
            Fit::Yes
        );
        assert_ne!(
            fits(&with(expr("NotIn", "zone", json!(["a"]))), &edge()),
            Fit::Yes
        );
        assert_eq!(
            fits(&with(expr("Exists", "gpus", json!(null))), &edge()),
            Fit::Yes
        );
        assert_ne!(
            fits(&with(expr("DoesNotExist", "gpus", json!(null))), &edge()),
            Fit::Yes
        );
        assert_eq!(
            fits(&with(expr("Gt", "gpus", json!(["1"]))), &edge()),
            Fit::Yes
        );
        assert_ne!(
            fits(&with(expr("Lt", "gpus", json!(["2"]))), &edge()),
            Fit::Yes
        );
        let by_name = json!([{ "matchFields": [{ "key": "metadata.name", "operator": "In", "values": ["edge-1"] }] }]);
        assert_eq!(fits(&with(by_name), &edge()), Fit::Yes);
        // ORed terms: the second matches.
        let two = json!([
            { "matchExpressions": [{ "key": "zone", "operator": "In", "values": ["x"] }] },
            { "matchExpressions": [{ "key": "zone", "operator": "In", "values": ["a"] }] }
        ]);
        assert_eq!(fits(&with(two), &edge()), Fit::Yes);
        assert_ne!(fits(&with(json!([{}])), &edge()), Fit::Yes);
    }

    #[test]
    fn taints_and_cordon() {
        let tainted = node(json!({
            "metadata": { "name": "n" },
            "spec": { "taints": [{ "key": "dedicated", "value": "plc", "effect": "NoSchedule" }] }
        }));
        let Fit::No(msg) = fits(&pod(json!({})), &tainted) else {
            panic!("taint ignored")
        };
        assert!(
            msg.contains("node(s) had untolerated taint {dedicated: plc}"),
            "{msg}"
        );
        let tolerant = pod(json!({ "tolerations": [{ "key": "dedicated", "value": "plc" }] }));
        assert_eq!(fits(&tolerant, &tainted), Fit::Yes);
        let all = pod(json!({ "tolerations": [{ "operator": "Exists" }] }));
        assert_eq!(fits(&all, &tainted), Fit::Yes);
        let wrong_effect = pod(
            json!({ "tolerations": [{ "key": "dedicated", "value": "plc", "effect": "NoExecute" }] }),
        );
        assert_ne!(fits(&wrong_effect, &tainted), Fit::Yes);
        let cordoned =
            node(json!({ "metadata": { "name": "n" }, "spec": { "unschedulable": true } }));
        let Fit::No(msg) = fits(&pod(json!({})), &cordoned) else {
            panic!("cordon ignored")
        };
        assert!(msg.contains("node(s) were unschedulable"));
    }
}
