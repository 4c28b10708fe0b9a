//! Resource requests and limits: the pod's QoS class and a container's
//! cgroup settings, computed as upstream does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::backend::Resources;
use crate::registry::validation::parse_quantity;

const CPU_PERIOD_US: u64 = 100_000;
const MIN_SHARES: u64 = 2;
const MAX_SHARES: u64 = 262_144;
const MIN_QUOTA_US: i64 = 1_000;

/// Nano-units of a quantity; unparsable counts as absent.
fn nanos(q: &Quantity) -> Option<i128> {
    parse_quantity(&q.0)
}

fn get(map: Option<&BTreeMap<String, Quantity>>, key: &str) -> Option<i128> {
    map.and_then(|m| m.get(key))
        .and_then(nanos)
        .filter(|v| *v > 0)
}

/// Millicores of a CPU quantity (rounded up, as upstream's MilliValue).
fn millis(nanos: i128) -> i128 {
    (nanos + 999_999) / 1_000_000
}

/// Bytes of a memory quantity (rounded up).
fn units(nanos: i128) -> i128 {
    (nanos + 999_999_999) / 1_000_000_000
}

/// The cgroup settings for a container: shares from the CPU request (or the
/// limit when only that is set), quota from the CPU limit, memory limit.
pub(crate) fn container_resources(r: Option<&ResourceRequirements>) -> Resources {
    let requests = r.and_then(|r| r.requests.as_ref());
    let limits = r.and_then(|r| r.limits.as_ref());
    let cpu_limit = get(limits, "cpu");
    let cpu_request = get(requests, "cpu").or(cpu_limit);
    let shares = match cpu_request {
        Some(n) => {
            let m = u64::try_from(millis(n)).unwrap_or(u64::MAX);
            (m.saturating_mul(1024) / 1000).clamp(MIN_SHARES, MAX_SHARES)
        }
        None => MIN_SHARES,
    };
    let quota = cpu_limit.map(|n| {
        let m = i64::try_from(millis(n)).unwrap_or(i64::MAX / 1000);
        (m.saturating_mul(CPU_PERIOD_US as i64) / 1000).max(MIN_QUOTA_US)
    });
    Resources {
        cpu_shares: Some(shares),
        cpu_quota_us: quota,
        cpu_period_us: quota.map(|_| CPU_PERIOD_US),
        memory_limit: get(limits, "memory").map(|n| i64::try_from(units(n)).unwrap_or(i64::MAX)),
    }
}

/// Upstream's QoS class: BestEffort without any CPU/memory request or limit;
/// Guaranteed when every container limits both and requests equal limits;
/// Burstable otherwise.
pub(crate) fn qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = pod.spec.as_ref() else {
        return "BestEffort";
    };
    let all: Vec<&Container> = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .collect();
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    for c in all {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let lim = c.resources.as_ref().and_then(|r| r.limits.as_ref());
        let mut found = 0;
        for name in ["cpu", "memory"] {
            let l = get(lim, name);
            // An unset request defaults to the limit (API defaulting).
            let r = get(req, name).or(l);
            if let Some(r) = r {
                *requests.entry(name).or_default() += r;
            }
            if let Some(l) = l {
                *limits.entry(name).or_default() += l;
                found += 1;
            }
        }
        if found < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests == limits {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;

    fn rr(req: &[(&str, &str)], lim: &[(&str, &str)]) -> Option<ResourceRequirements> {
        let m = |v: &[(&str, &str)]| {
            (!v.is_empty()).then(|| {
                v.iter()
                    .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                    .collect()
            })
        };
        Some(ResourceRequirements {
            requests: m(req),
            limits: m(lim),
            ..Default::default()
        })
    }

    fn pod(res: Vec<Option<ResourceRequirements>>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: res
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| Container {
                        name: format!("c{i}"),
                        resources: r,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn qos_classes_follow_upstream() {
        assert_eq!(qos_class(&pod(vec![None])), "BestEffort");
        let full = rr(
            &[("cpu", "500m"), ("memory", "64Mi")],
            &[("cpu", "0.5"), ("memory", "64Mi")],
        );
        assert_eq!(qos_class(&pod(vec![full.clone()])), "Guaranteed");
        // Limits only: requests default to them.
        let lim = rr(&[], &[("cpu", "1"), ("memory", "1Gi")]);
        assert_eq!(qos_class(&pod(vec![lim, full.clone()])), "Guaranteed");
        let less = rr(
            &[("cpu", "100m"), ("memory", "64Mi")],
            &[("cpu", "1"), ("memory", "64Mi")],
        );
        assert_eq!(qos_class(&pod(vec![less])), "Burstable");
        let mem_only = rr(&[], &[("memory", "64Mi")]);
        assert_eq!(qos_class(&pod(vec![mem_only])), "Burstable");
        assert_eq!(qos_class(&pod(vec![full, None])), "Burstable");
    }

    #[test]
    fn cgroup_settings_from_requests_and_limits() {
        let r = container_resources(
            rr(&[("cpu", "250m")], &[("cpu", "1500m"), ("memory", "128Mi")]).as_ref(),
        );
        assert_eq!(r.cpu_shares, Some(256));
        assert_eq!(r.cpu_quota_us, Some(150_000));
        assert_eq!(r.cpu_period_us, Some(100_000));
        assert_eq!(r.memory_limit, Some(128 * 1024 * 1024));
        let none = container_resources(None);
        assert_eq!(none.cpu_shares, Some(2));
        assert_eq!(none.cpu_quota_us, None);
        assert_eq!(none.memory_limit, None);
        // A tiny limit still gets the minimum quota; the request follows it.
        let tiny = container_resources(rr(&[], &[("cpu", "1m")]).as_ref());
        assert_eq!(tiny.cpu_quota_us, Some(1_000));
        assert_eq!(tiny.cpu_shares, Some(2));
    }
}
