//! Service, Endpoints and EndpointSlice, plus the IP and CIDR checks the
//! networking kinds share.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::Value;

use super::container::protocol;
use super::{
    FieldError, child, get_arr, get_str, go_quote, index, is_qualified_name, port_num_errors,
    present, render, validate_labels, validate_port_num_or_name,
};

type Errs = Vec<FieldError>;

const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

const CIDR_MSG: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

const LB_ONLY: &str = "may only be used when `type` is 'LoadBalancer'";

use super::pod::dns_label_field as label_field;
pub(super) use super::pod::subdomain_field;

fn ip_field(ip: &str, path: &str, errs: &mut Errs) -> Option<IpAddr> {
    let parsed = ip.parse::<IpAddr>().ok();
    if parsed.is_none() {
        errs.push(FieldError::invalid_str(path, ip, IP_MSG));
    }
    parsed
}

/// Upstream's ValidateNonSpecialIP, for addresses traffic is sent to.
fn non_special_ip(ip: &str, path: &str, errs: &mut Errs) {
    let Some(addr) = ip_field(ip, path, errs) else {
        return;
    };
    let msg = match addr {
        IpAddr::V4(a) if a.is_unspecified() => Some("may not be unspecified (0.0.0.0)"),
        IpAddr::V6(a) if a.is_unspecified() => Some("may not be unspecified (::)"),
        a if a.is_loopback() => Some("may not be in the loopback range (127.0.0.0/8, ::1/128)"),
        IpAddr::V4(a) if a.octets()[..3] == [224, 0, 0] => {
            Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        }
        IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xff00 && a.segments()[0] & 0x000f == 2 => {
            Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        }
        IpAddr::V4(a) if a.is_link_local() => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        _ => None,
    };
    if let Some(m) = msg {
        errs.push(FieldError::invalid_str(path, ip, m));
    }
}

/// Parses `addr/bits` into the address left-aligned in 128 bits (IPv4 in the
/// top 32), the prefix length, and whether it is IPv4.
fn parse_cidr(s: &str) -> Option<(u128, u32, bool)> {
    let (ip, bits) = s.split_once('/')?;
    let bits: u32 = bits.parse().ok()?;
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) if bits <= 32 => Some((u128::from(u32::from(a)) << 96, bits, true)),
        IpAddr::V6(a) if bits <= 128 => Some((u128::from(a), bits, false)),
        _ => None,
    }
}

pub(super) fn cidr_field(s: &str, path: &str, errs: &mut Errs) -> Option<(u128, u32, bool)> {
    let c = parse_cidr(s);
    if c.is_none() {
        errs.push(FieldError::invalid_str(path, s, CIDR_MSG));
    }
    c
}

fn is_headless(spec: &Value) -> bool {
    get_str(spec, "clusterIP") == "None"
        || get_arr(spec, "clusterIPs").first().and_then(Value::as_str) == Some("None")
}

fn cluster_ips(spec: &Value) -> Vec<String> {
    let list: Vec<String> = get_arr(spec, "clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    match get_str(spec, "clusterIP") {
        "" => list,
        ip if list.is_empty() => vec![ip.to_owned()],
        _ => list,
    }
}

pub(super) fn service(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    if let Some(old_spec) = old.map(|o| o.get("spec").unwrap_or(&Value::Null)) {
        cluster_ip_update(spec, old_spec, errs);
    }
    let ty = get_str(spec, "type");
    let headless = is_headless(spec);
    let ports = get_arr(spec, "ports");
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    match ty {
        "LoadBalancer" | "NodePort" if headless => {
            let msg = format!("may not be set to 'None' for {ty} services");
            errs.push(FieldError::invalid_str("spec.clusterIPs[0]", "None", &msg));
        }
        "ExternalName" => {
            for k in ["clusterIPs", "ipFamilies"] {
                if !get_arr(spec, k).is_empty() {
                    errs.push(FieldError::forbidden(
                        &child("spec", k),
                        "may not be set for ExternalName services",
                    ));
                }
            }
            if present(spec, "ipFamilyPolicy") {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            // A trailing dot marks the name fully qualified.
            let cname = get_str(spec, "externalName").trim_end_matches('.');
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                subdomain_field(cname, "spec.externalName", errs);
            }
        }
        _ => {}
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = index("spec.ports", i);
        let name = get_str(p, "name");
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(&child(&pp, "name"), ""));
        } else if !name.is_empty() {
            label_field(name, &child(&pp, "name"), errs);
            if !names.insert(name) {
                errs.push(FieldError::duplicate(&child(&pp, "name"), go_quote(name)));
            }
        }
        let port = p.get("port").unwrap_or(&Value::Null);
        errs.extend(
            port_num_errors(port)
                .iter()
                .map(|m| FieldError::invalid(&child(&pp, "port"), render(port), m)),
        );
        protocol(p, &pp, errs);
        validate_port_num_or_name(p.get("targetPort"), &child(&pp, "targetPort"), errs);
        if let Some(ap) = p.get("appProtocol").and_then(Value::as_str) {
            errs.extend(
                is_qualified_name(ap)
                    .iter()
                    .map(|m| FieldError::invalid_str(&child(&pp, "appProtocol"), ap, m)),
            );
        }
    }
    if spec.get("selector").is_some_and(|s| !s.is_null()) {
        validate_labels(spec.get("selector"), "spec.selector", errs);
    }
    session_affinity(spec, errs);
    for (i, ip) in cluster_ips(spec).iter().enumerate() {
        if ip != "None" {
            ip_field(ip, &index("spec.clusterIPs", i), errs);
        }
    }
    if let Some(p) = spec.get("ipFamilyPolicy").and_then(Value::as_str)
        && !matches!(p, "SingleStack" | "PreferDualStack" | "RequireDualStack")
    {
        errs.push(FieldError::not_supported(
            "spec.ipFamilyPolicy",
            go_quote(p),
            &["PreferDualStack", "RequireDualStack", "SingleStack"],
        ));
    }
    let mut families = BTreeSet::new();
    for (i, f) in get_arr(spec, "ipFamilies").iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        let fp = index("spec.ipFamilies", i);
        if !matches!(f, "IPv4" | "IPv6") {
            errs.push(FieldError::not_supported(
                &fp,
                go_quote(f),
                &["IPv4", "IPv6"],
            ));
        } else if !families.insert(f) {
            errs.push(FieldError::duplicate(&fp, go_quote(f)));
        }
    }
    for (i, ip) in get_arr(spec, "externalIPs").iter().enumerate() {
        non_special_ip(
            ip.as_str().unwrap_or(""),
            &index("spec.externalIPs", i),
            errs,
        );
    }
    match ty {
        "" => errs.push(FieldError::required("spec.type", "")),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        other => errs.push(FieldError::not_supported(
            "spec.type",
            go_quote(other),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        )),
    }
    node_ports(spec, ty, errs);
    if !get_arr(spec, "loadBalancerSourceRanges").is_empty() {
        // Upstream spells this path with a capital L.
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(
                "spec.LoadBalancerSourceRanges",
                LB_ONLY,
            ));
        }
        for (i, r) in get_arr(spec, "loadBalancerSourceRanges").iter().enumerate() {
            cidr_field(
                r.as_str().unwrap_or("").trim(),
                &index("spec.LoadBalancerSourceRanges", i),
                errs,
            );
        }
    }
    if present(spec, "allocateLoadBalancerNodePorts") && ty != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            LB_ONLY,
        ));
    }
    if ty == "LoadBalancer" && !present(spec, "allocateLoadBalancerNodePorts") {
        errs.push(FieldError::required("allocateLoadBalancerNodePorts", ""));
    }
    traffic_policies(spec, ty, errs);
}

fn session_affinity(spec: &Value, errs: &mut Errs) {
    match get_str(spec, "sessionAffinity") {
        "" => errs.push(FieldError::required("spec.sessionAffinity", "")),
        "ClientIP" => {
            let t = spec.pointer("/sessionAffinityConfig/clientIP/timeoutSeconds");
            match t.and_then(Value::as_i64) {
                None => errs.push(FieldError::required(
                    "spec.sessionAffinityConfig",
                    "when session affinity type is ClientIP",
                )),
                Some(s) if !(1..=86400).contains(&s) => errs.push(FieldError::invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    s.to_string(),
                    "must be greater than 0 and less than 86400",
                )),
                Some(_) => {}
            }
        }
        "None" if present(spec, "sessionAffinityConfig") => {
            errs.push(FieldError::forbidden(
                "spec.sessionAffinityConfig",
                "must not be set when session affinity is None",
            ));
        }
        "None" => {}
        other => errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            go_quote(other),
            &["ClientIP", "None"],
        )),
    }
}

fn node_ports(spec: &Value, ty: &str, errs: &mut Errs) {
    let mut node_ports = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for (i, p) in get_arr(spec, "ports").iter().enumerate() {
        let pp = index("spec.ports", i);
        let proto = get_str(p, "protocol");
        let np = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if np != 0 {
            if ty == "ClusterIP" {
                errs.push(FieldError::forbidden(
                    &child(&pp, "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else if !(30000..=32767).contains(&np) {
                // The allocator's range check, reported like upstream does.
                let msg = "provided port is not in the valid range. The range of valid ports is 30000-32767";
                errs.push(FieldError::invalid(
                    &child(&pp, "nodePort"),
                    np.to_string(),
                    msg,
                ));
            }
            if !node_ports.insert((proto, np)) {
                errs.push(FieldError::duplicate(
                    &child(&pp, "nodePort"),
                    np.to_string(),
                ));
            }
        }
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !ports.insert((proto, port)) {
            // Upstream renders its internal port struct here, Go field names and all.
            let v = format!(
                "{{\"Name\":\"\",\"Protocol\":{},\"AppProtocol\":null,\"Port\":{port},\"TargetPort\":0,\"NodePort\":0}}",
                go_quote(proto)
            );
            errs.push(FieldError::duplicate(&pp, v));
        }
    }
}

fn traffic_policies(spec: &Value, ty: &str, errs: &mut Errs) {
    let external = matches!(ty, "NodePort" | "LoadBalancer")
        || (ty == "ClusterIP" && !get_arr(spec, "externalIPs").is_empty());
    let etp = get_str(spec, "externalTrafficPolicy");
    if !external && !etp.is_empty() {
        errs.push(FieldError::invalid_str(
            "spec.externalTrafficPolicy",
            etp,
            "may only be set for externally-accessible services",
        ));
    } else if external && etp.is_empty() {
        errs.push(FieldError::required("spec.externalTrafficPolicy", ""));
    } else if external && !matches!(etp, "Cluster" | "Local") {
        errs.push(FieldError::not_supported(
            "spec.externalTrafficPolicy",
            go_quote(etp),
            &["Cluster", "Local"],
        ));
    }
    let hc = spec
        .get("healthCheckNodePort")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if hc != 0 && !(ty == "LoadBalancer" && etp == "Local") {
        let msg =
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'";
        errs.push(FieldError::invalid(
            "spec.healthCheckNodePort",
            hc.to_string(),
            msg,
        ));
    }
    match spec.get("internalTrafficPolicy").and_then(Value::as_str) {
        None if matches!(ty, "ClusterIP" | "NodePort" | "LoadBalancer") => {
            errs.push(FieldError::required("spec.internalTrafficPolicy", ""))
        }
        Some(p) if !matches!(p, "Cluster" | "Local") => {
            errs.push(FieldError::not_supported(
                "spec.internalTrafficPolicy",
                go_quote(p),
                &["Cluster", "Local"],
            ));
        }
        _ => {}
    }
    if let Some(td) = spec.get("trafficDistribution").and_then(Value::as_str) {
        const TD: &[&str] = &["PreferClose", "PreferSameZone", "PreferSameNode"];
        if !TD.contains(&td) {
            errs.push(FieldError::not_supported(
                "spec.trafficDistribution",
                go_quote(td),
                TD,
            ));
        }
    }
}

/// Allocated cluster IPs may not change. An update that omits them keeps
/// the old ones (the caller copies them over, as upstream's REST layer does).
fn cluster_ip_update(spec: &Value, old: &Value, errs: &mut Errs) {
    if get_str(spec, "type") == "ExternalName" || get_str(old, "type") == "ExternalName" {
        return;
    }
    if is_headless(spec) && is_headless(old) {
        return;
    }
    let (new_ips, old_ips) = (cluster_ips(spec), cluster_ips(old));
    if new_ips.is_empty() {
        return;
    }
    let shown = render(&Value::from(new_ips.clone()));
    for (i, ip) in old_ips.iter().enumerate() {
        if new_ips.get(i).is_some_and(|n| n != ip) {
            errs.push(FieldError::invalid(
                &index("spec.clusterIPs", i),
                shown.clone(),
                "may not change once set",
            ));
        }
    }
}

pub(super) fn endpoints(obj: &Value, errs: &mut Errs) {
    for (i, ss) in get_arr(obj, "subsets").iter().enumerate() {
        let sp = index("subsets", i);
        if get_arr(ss, "addresses").is_empty() && get_arr(ss, "notReadyAddresses").is_empty() {
            errs.push(FieldError::required(
                &sp,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for list in ["addresses", "notReadyAddresses"] {
            for (j, a) in get_arr(ss, list).iter().enumerate() {
                let ap = index(&child(&sp, list), j);
                non_special_ip(get_str(a, "ip"), &child(&ap, "ip"), errs);
                let host = get_str(a, "hostname");
                if !host.is_empty() {
                    label_field(host, &child(&ap, "hostname"), errs);
                }
                let node = get_str(a, "nodeName");
                if !node.is_empty() {
                    subdomain_field(node, &child(&ap, "nodeName"), errs);
                }
            }
        }
        let ports = get_arr(ss, "ports");
        for (j, p) in ports.iter().enumerate() {
            let pp = index(&child(&sp, "ports"), j);
            let name = get_str(p, "name");
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(&child(&pp, "name"), ""));
            } else if !name.is_empty() {
                label_field(name, &child(&pp, "name"), errs);
            }
            let port = p.get("port").unwrap_or(&Value::Null);
            errs.extend(
                port_num_errors(port)
                    .iter()
                    .map(|m| FieldError::invalid(&child(&pp, "port"), render(port), m)),
            );
            protocol(p, &pp, errs);
        }
    }
}

pub(super) fn endpoint_slice(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let at = get_str(obj, "addressType");
    if !matches!(at, "IPv4" | "IPv6" | "FQDN") {
        errs.push(FieldError::not_supported(
            "addressType",
            go_quote(at),
            &["FQDN", "IPv4", "IPv6"],
        ));
    }
    if old.is_some_and(|o| o.get("addressType") != obj.get("addressType")) {
        errs.push(FieldError::immutable("addressType", obj.get("addressType")));
    }
    for (i, e) in get_arr(obj, "endpoints").iter().enumerate() {
        let ap = child(&index("endpoints", i), "addresses");
        let addrs = get_arr(e, "addresses");
        if addrs.is_empty() {
            errs.push(FieldError::required(&ap, "must contain at least 1 address"));
        } else if addrs.len() > 100 {
            errs.push(FieldError::too_many(&ap, addrs.len(), 100));
        }
        for (j, a) in addrs.iter().enumerate() {
            let (a, p) = (a.as_str().unwrap_or(""), index(&ap, j));
            match at {
                "IPv4" if a.parse::<std::net::Ipv4Addr>().is_err() => {
                    errs.push(FieldError::invalid_str(
                        &p,
                        a,
                        "must be a valid IPv4 address",
                    ));
                }
                "IPv6" if a.parse::<std::net::Ipv6Addr>().is_err() => {
                    errs.push(FieldError::invalid_str(
                        &p,
                        a,
                        "must be a valid IPv6 address",
                    ));
                }
                "FQDN" => subdomain_field(a, &p, errs),
                _ => {}
            }
        }
    }
    let mut names = BTreeSet::new();
    for (i, p) in get_arr(obj, "ports").iter().enumerate() {
        let pp = index("ports", i);
        let name = get_str(p, "name");
        if !name.is_empty() {
            label_field(name, &child(&pp, "name"), errs);
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&child(&pp, "name"), go_quote(name)));
        }
        if let Some(proto) = p.get("protocol").and_then(Value::as_str)
            && !matches!(proto, "TCP" | "UDP" | "SCTP")
        {
            errs.push(FieldError::not_supported(
                &child(&pp, "protocol"),
                go_quote(proto),
                &["SCTP", "TCP", "UDP"],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use serde_json::json;

    fn svc(spec: serde_json::Value) -> serde_json::Value {
        let mut s = json!({"metadata": {"name": "web"}, "spec": spec});
        if let Some(m) = s["spec"].as_object_mut() {
            m.entry("type").or_insert(json!("ClusterIP"));
            m.entry("sessionAffinity").or_insert(json!("None"));
            m.entry("internalTrafficPolicy").or_insert(json!("Cluster"));
        }
        s
    }

    #[test]
    fn service_without_ports() {
        assert_eq!(
            messages(&validate(def("", "Service"), &svc(json!({})), None)),
            vec!["spec.ports: Required value"]
        );
        assert!(validate(def("", "Service"), &svc(json!({"clusterIP": "None"})), None).is_empty());
        let ext = json!({"metadata": {"name": "db"}, "spec": {"type": "ExternalName", "externalName": "db.example.com.", "sessionAffinity": "None"}});
        assert!(validate(def("", "Service"), &ext, None).is_empty());
    }

    #[test]
    fn service_ports_and_types() {
        let s = svc(
            json!({"type": "Foo", "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}, {"name": "b", "port": 0, "protocol": "TCP", "targetPort": 8080}]}),
        );
        assert_eq!(
            messages(&validate(def("", "Service"), &s, None)),
            vec![
                "spec.ports[0].name: Required value",
                "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            ]
        );
        let np = svc(
            json!({"type": "NodePort", "externalTrafficPolicy": "Cluster",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 80}]}),
        );
        assert_eq!(
            messages(&validate(def("", "Service"), &np, None)),
            vec![
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
            ]
        );
    }

    #[test]
    fn cluster_ip_is_immutable() {
        let old = svc(
            json!({"clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"], "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}),
        );
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.0.0.6");
        new["spec"]["clusterIPs"] = json!(["10.0.0.6"]);
        assert_eq!(
            messages(&validate(def("", "Service"), &new, Some(&old))),
            vec!["spec.clusterIPs[0]: Invalid value: [\"10.0.0.6\"]: may not change once set"]
        );
    }
}
