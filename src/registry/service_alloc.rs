//! Cluster IPs and node ports of Services, assigned on write as upstream's
//! Service storage does: a free address of the service range for every
//! ClusterIP, NodePort and LoadBalancer Service without one, a free port of
//! the node-port range for every port of a NodePort or LoadBalancer
//! Service, the health-check port of a LoadBalancer with
//! `externalTrafficPolicy: Local`, and 422 for a requested address or port
//! already taken. Values assigned once are kept when an update omits them.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::validation::FieldError;

/// The service range: 10.43.0.0/16 (the API's own Service is 10.43.0.1).
const RANGE_BASE: u32 = u32::from_be_bytes([10, 43, 0, 0]);
const RANGE_BITS: u32 = 16;
const RANGE_TEXT: &str = "10.43.0.0/16";
/// Upstream's default `--service-node-port-range`.
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// Held from reading what is in use until the write is committed, so two
/// concurrent writes cannot take the same address or port.
pub(crate) static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Addresses and ports that other Services hold.
#[derive(Debug, Default)]
pub(crate) struct InUse {
    ips: HashSet<Ipv4Addr>,
    ports: HashSet<i64>,
}

impl InUse {
    /// What `services` hold, leaving out the Service with uid `except`.
    pub(crate) fn of(services: &[Arc<Value>], except: Option<&str>) -> InUse {
        let mut used = InUse::default();
        for svc in services {
            if except.is_some() && svc.pointer("/metadata/uid").and_then(Value::as_str) == except {
                continue;
            }
            let Some(spec) = svc.get("spec") else {
                continue;
            };
            for ip in strs(spec, "clusterIPs").chain(spec.get("clusterIP").and_then(Value::as_str))
            {
                if let Ok(ip) = ip.parse() {
                    used.ips.insert(ip);
                }
            }
            used.ports.extend(node_ports(spec));
        }
        used
    }
}

fn strs<'a>(spec: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    spec.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn node_ports(spec: &Value) -> impl Iterator<Item = i64> + '_ {
    spec.get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
        .chain(spec.get("healthCheckNodePort").and_then(Value::as_i64))
        .filter(|p| *p != 0)
}

/// A random number, from the same source as object uids.
fn random() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

fn in_range(ip: Ipv4Addr) -> bool {
    u32::from(ip) >> (32 - RANGE_BITS) == RANGE_BASE >> (32 - RANGE_BITS)
}

fn free_ip(used: &InUse) -> Option<Ipv4Addr> {
    // The network and broadcast addresses are never handed out.
    let size = (1u64 << (32 - RANGE_BITS)) - 2;
    let start = random() % size;
    (0..size)
        .map(|i| Ipv4Addr::from(RANGE_BASE + 1 + ((start + i) % size) as u32))
        .find(|ip| !used.ips.contains(ip))
}

fn free_port(used: &HashSet<i64>) -> Option<i64> {
    let (lo, hi) = (*NODE_PORTS.start(), *NODE_PORTS.end());
    let size = (hi - lo + 1) as u64;
    let start = random() % size;
    (0..size)
        .map(|i| lo + ((start + i) % size) as i64)
        .find(|p| !used.contains(p))
}

fn spec_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    obj.get_mut("spec").and_then(Value::as_object_mut)
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

fn full(what: &str) -> FieldError {
    FieldError::forbidden(what, "range is full")
}

/// Fills in the cluster IP and node ports of Service `new` (`old` is the
/// stored Service on update). Errors are upstream's field errors.
pub(crate) fn assign(
    new: &mut Value,
    old: Option<&Value>,
    used: &InUse,
) -> Result<(), Vec<FieldError>> {
    let old_spec = old
        .and_then(|o| o.get("spec"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(spec) = spec_mut(new) else {
        return Ok(());
    };
    let ty = str_of(spec, "type").to_owned();
    if ty == "ExternalName" {
        return Ok(());
    }
    let mut errs = Vec::new();
    keep_allocated(spec, &old_spec);

    // Cluster IP.
    let requested = match str_of(spec, "clusterIP") {
        "" => strs(&Value::Object(spec.clone()), "clusterIPs")
            .next()
            .unwrap_or("")
            .to_owned(),
        ip => ip.to_owned(),
    };
    let ip = match requested.as_str() {
        "" => match free_ip(used) {
            Some(ip) => ip.to_string(),
            None => return Err(vec![full("spec.clusterIPs")]),
        },
        "None" => "None".to_owned(),
        ip if ip == str_of(&old_spec, "clusterIP") => ip.to_owned(),
        ip => {
            let detail = match ip.parse::<Ipv4Addr>() {
                // Validation reports the malformed address itself.
                Err(_) => None,
                Ok(a) if !in_range(a) => Some(format!(
                    "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {RANGE_TEXT}"
                )),
                Ok(a) if used.ips.contains(&a) => Some(format!(
                    "failed to allocate IP {ip}: provided IP is already allocated"
                )),
                Ok(_) => None,
            };
            if let Some(detail) = detail {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs",
                    format!("[]string{{\"{ip}\"}}"),
                    &detail,
                ));
            }
            ip.to_owned()
        }
    };
    spec.insert("clusterIP".into(), json!(ip));
    if spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec.insert("clusterIPs".into(), json!([ip]));
    }

    // Node ports.
    let wants_node_ports = ty == "NodePort"
        || (ty == "LoadBalancer"
            && spec.get("allocateLoadBalancerNodePorts") != Some(&json!(false)));
    let old_ports: HashSet<i64> = node_ports(&Value::Object(old_spec.clone())).collect();
    let mut taken = used.ports.clone();
    if wants_node_ports {
        let mut by_port: Vec<(i64, i64)> = Vec::new();
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                let Some(p) = p.as_object_mut() else { continue };
                let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                let np = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
                if np == 0 {
                    // The same port number under another protocol shares
                    // its node port, as upstream does.
                    let shared = by_port.iter().find(|(pt, _)| *pt == port).map(|(_, n)| *n);
                    let Some(np) = shared.or_else(|| free_port(&taken)) else {
                        return Err(vec![full("spec.ports")]);
                    };
                    taken.insert(np);
                    by_port.push((port, np));
                    p.insert("nodePort".into(), json!(np));
                } else {
                    let shared = by_port.iter().any(|(pt, n)| *pt == port && *n == np);
                    if !old_ports.contains(&np) && !shared && taken.contains(&np) {
                        errs.push(FieldError::invalid(
                            &format!("spec.ports[{i}].nodePort"),
                            np.to_string(),
                            "provided port is already allocated",
                        ));
                    }
                    taken.insert(np);
                    by_port.push((port, np));
                }
            }
        }
    }
    let local = str_of(spec, "externalTrafficPolicy") == "Local";
    if ty == "LoadBalancer"
        && local
        && spec
            .get("healthCheckNodePort")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            == 0
    {
        let Some(np) = free_port(&taken) else {
            return Err(vec![full("spec.healthCheckNodePort")]);
        };
        spec.insert("healthCheckNodePort".into(), json!(np));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// An update that leaves out what was assigned keeps it, as upstream's
/// Service storage patches allocated values back in.
fn keep_allocated(spec: &mut Map<String, Value>, old: &Map<String, Value>) {
    if old.is_empty() || str_of(old, "type") == "ExternalName" {
        return;
    }
    if str_of(spec, "clusterIP").is_empty() && !str_of(old, "clusterIP").is_empty() {
        spec.insert("clusterIP".into(), old["clusterIP"].clone());
        if let Some(ips) = old.get("clusterIPs") {
            spec.insert("clusterIPs".into(), ips.clone());
        }
    }
    let old_ports = old
        .get("ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                continue;
            }
            let same = old_ports
                .iter()
                .find(|o| o.get("port") == p.get("port") && o.get("protocol") == p.get("protocol"));
            if let Some(np) = same
                .and_then(|o| o.get("nodePort"))
                .filter(|n| n.as_i64().unwrap_or(0) != 0)
            {
                p.insert("nodePort".into(), np.clone());
            }
        }
    }
    if spec
        .get("healthCheckNodePort")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        == 0
        && let Some(hc) = old.get("healthCheckNodePort")
    {
        spec.insert("healthCheckNodePort".into(), hc.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"uid": "u1"}, "spec": spec})
    }

    #[test]
    fn assigns_a_free_ip_and_node_ports() {
        let other = Arc::new(svc(json!({"clusterIP": "10.43.0.1", "type": "ClusterIP"})));
        let used = InUse::of(&[other], None);
        let mut s = svc(json!({"type": "NodePort",
            "ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}, {"port": 80, "protocol": "TCP"}]}));
        assign(&mut s, None, &used).unwrap();
        let ip: Ipv4Addr = s["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert!(in_range(ip) && ip != Ipv4Addr::new(10, 43, 0, 1));
        assert_eq!(s["spec"]["clusterIPs"], json!([ip.to_string()]));
        let ports: Vec<i64> = (0..3)
            .map(|i| s["spec"]["ports"][i]["nodePort"].as_i64().unwrap())
            .collect();
        assert!(ports.iter().all(|p| NODE_PORTS.contains(p)));
        assert_eq!(ports[0], ports[1], "same port, other protocol");
        assert_ne!(ports[0], ports[2]);
    }

    #[test]
    fn taken_values_are_refused_and_kept_ones_stay() {
        let other = Arc::new(svc(json!({"clusterIP": "10.43.0.9", "type": "NodePort",
            "ports": [{"port": 80, "nodePort": 30080}]})));
        let used = InUse::of(&[other], None);
        let mut s = svc(json!({"type": "NodePort", "clusterIP": "10.43.0.9",
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}));
        let errs = assign(&mut s, None, &used).unwrap_err();
        let msgs: Vec<String> = errs.iter().map(FieldError::message).collect();
        assert_eq!(errs[0].field, "spec.clusterIPs");
        assert!(
            msgs[0].contains("provided IP is already allocated"),
            "{msgs:?}"
        );
        assert_eq!(errs[1].field, "spec.ports[0].nodePort");
        assert!(
            msgs[1].contains("provided port is already allocated"),
            "{msgs:?}"
        );

        let mut s = svc(json!({"type": "ClusterIP", "clusterIP": "192.168.0.1"}));
        let errs = assign(&mut s, None, &InUse::default()).unwrap_err();
        assert!(
            errs[0].message().contains("not in the valid range"),
            "{}",
            errs[0].message()
        );

        // An update without the assigned values keeps them.
        let old = svc(
            json!({"type": "NodePort", "clusterIP": "10.43.0.7", "clusterIPs": ["10.43.0.7"],
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30001}]}),
        );
        let mut new = svc(json!({"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}));
        assign(&mut new, Some(&old), &InUse::default()).unwrap();
        assert_eq!(new["spec"]["clusterIP"], "10.43.0.7");
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 30001);
    }

    #[test]
    fn headless_and_external_name() {
        let mut s = svc(json!({"type": "ClusterIP", "clusterIP": "None"}));
        assign(&mut s, None, &InUse::default()).unwrap();
        assert_eq!(s["spec"]["clusterIPs"], json!(["None"]));
        let mut s = svc(json!({"type": "ExternalName", "externalName": "x.example.com"}));
        assign(&mut s, None, &InUse::default()).unwrap();
        assert!(s["spec"].get("clusterIP").is_none());
    }
}
