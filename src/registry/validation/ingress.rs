//! Ingress, IngressClass and NetworkPolicy.

use std::net::IpAddr;

use serde_json::Value;

use super::network::{cidr_field, subdomain_field};
use super::{
    FieldError, child, get_arr, get_str, go_quote, index, is_dns1035_label, is_dns1123_subdomain,
    is_port_name, port_num_errors, present, render, render_opt, validate_label_selector,
};

type Errs = Vec<FieldError>;

pub(super) fn ingress(obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let rules = get_arr(spec, "rules");
    let default_backend = spec.get("defaultBackend").filter(|b| !b.is_null());
    if rules.is_empty() && default_backend.is_none() {
        errs.push(FieldError::invalid(
            "spec",
            render_opt(spec.get("rules")),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = default_backend {
        backend(b, "spec.defaultBackend", errs);
    }
    for (i, r) in rules.iter().enumerate() {
        let rp = index("spec.rules", i);
        let host = get_str(r, "host");
        if !host.is_empty() {
            let hp = child(&rp, "host");
            if host.parse::<IpAddr>().is_ok() {
                errs.push(FieldError::invalid_str(
                    &hp,
                    host,
                    "must be a DNS name, not an IP address",
                ));
            }
            if host.contains('*') {
                wildcard_host(host, &hp, errs);
            } else {
                subdomain_field(host, &hp, errs);
            }
        }
        let Some(http) = r.get("http").filter(|h| !h.is_null()) else {
            continue;
        };
        let hp = child(&rp, "http");
        let paths = get_arr(http, "paths");
        if paths.is_empty() {
            errs.push(FieldError::required(&child(&hp, "paths"), ""));
        }
        for (j, p) in paths.iter().enumerate() {
            http_path(p, &index(&child(&hp, "paths"), j), errs);
        }
    }
    for (i, t) in get_arr(spec, "tls").iter().enumerate() {
        let tp = index("spec.tls", i);
        for (j, h) in get_arr(t, "hosts").iter().enumerate() {
            let h = h.as_str().unwrap_or("");
            let p = index(&child(&tp, "hosts"), j);
            if h.contains('*') {
                wildcard_host(h, &p, errs)
            } else {
                subdomain_field(h, &p, errs)
            }
        }
        let secret = get_str(t, "secretName");
        if !secret.is_empty() {
            subdomain_field(secret, &child(&tp, "secretName"), errs);
        }
    }
    if let Some(c) = spec.get("ingressClassName").and_then(Value::as_str) {
        subdomain_field(c, "spec.ingressClassName", errs);
    }
}

pub(super) fn wildcard_host(host: &str, path: &str, errs: &mut Errs) {
    if host.len() > 253 {
        errs.push(FieldError::invalid_str(
            path,
            host,
            "must be no more than 253 characters",
        ));
    }
    let ok = host
        .strip_prefix("*.")
        .is_some_and(|rest| is_dns1123_subdomain(rest).is_empty());
    if !ok {
        let msg = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        errs.push(FieldError::invalid_str(path, host, msg));
    }
}

pub(super) fn http_path(p: &Value, path: &str, errs: &mut Errs) {
    let Some(pt) = p.get("pathType").and_then(Value::as_str) else {
        errs.push(FieldError::required(
            &child(path, "pathType"),
            "pathType must be specified",
        ));
        return;
    };
    let pth = get_str(p, "path");
    let pp = child(path, "path");
    match pt {
        "Exact" | "Prefix" => {
            if !pth.starts_with('/') {
                errs.push(FieldError::invalid_str(
                    &pp,
                    pth,
                    "must be an absolute path",
                ));
            }
            for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                if pth.contains(seq) {
                    errs.push(FieldError::invalid_str(
                        &pp,
                        pth,
                        &format!("must not contain '{seq}'"),
                    ));
                }
            }
            for suffix in ["/..", "/."] {
                if pth.ends_with(suffix) {
                    errs.push(FieldError::invalid_str(
                        &pp,
                        pth,
                        &format!("cannot end with '{suffix}'"),
                    ));
                }
            }
        }
        "ImplementationSpecific" => {
            if !pth.is_empty() && !pth.starts_with('/') {
                errs.push(FieldError::invalid_str(
                    &pp,
                    pth,
                    "must be an absolute path",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            &child(path, "pathType"),
            go_quote(other),
            &["Exact", "ImplementationSpecific", "Prefix"],
        )),
    }
    backend(
        p.get("backend").unwrap_or(&Value::Null),
        &child(path, "backend"),
        errs,
    );
}

pub(super) fn backend(b: &Value, path: &str, errs: &mut Errs) {
    match (
        present(b, "resource"),
        b.get("service").filter(|s| !s.is_null()),
    ) {
        (true, Some(_)) => errs.push(FieldError::invalid_str(
            path,
            "",
            "cannot set both resource and service backends",
        )),
        (true, None) => {
            let r = b.get("resource").unwrap_or(&Value::Null);
            for k in ["kind", "name"] {
                if get_str(r, k).is_empty() {
                    errs.push(FieldError::required(
                        &child(&child(path, "resource"), k),
                        "",
                    ));
                }
            }
        }
        (false, Some(s)) => {
            let name = get_str(s, "name");
            let np = child(path, "service.name");
            if name.is_empty() {
                errs.push(FieldError::required(&np, ""));
            } else {
                errs.extend(
                    is_dns1035_label(name)
                        .iter()
                        .map(|m| FieldError::invalid_str(&np, name, m)),
                );
            }
            let port = s.get("port").unwrap_or(&Value::Null);
            let (pname, number) = (
                get_str(port, "name"),
                port.get("number").and_then(Value::as_i64).unwrap_or(0),
            );
            match (pname.is_empty(), number == 0) {
                (false, false) => errs.push(FieldError::invalid_str(
                    path,
                    "",
                    "cannot set both port name & port number",
                )),
                (false, true) => {
                    let p = child(path, "service.port.name");
                    errs.extend(
                        is_port_name(pname)
                            .iter()
                            .map(|m| FieldError::invalid_str(&p, pname, m)),
                    );
                }
                (true, false) => {
                    let p = child(path, "service.port.number");
                    errs.extend(
                        port_num_errors(&Value::from(number))
                            .iter()
                            .map(|m| FieldError::invalid(&p, number.to_string(), m)),
                    );
                }
                (true, true) => errs.push(FieldError::required(
                    path,
                    "port name or number is required",
                )),
            }
        }
        (false, None) => errs.push(FieldError::invalid_str(
            path,
            "",
            "resource or service backend is required",
        )),
    }
}

pub(super) fn ingress_class(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let controller = get_str(spec, "controller");
    if let Some(old) = old
        && old.pointer("/spec/controller") != spec.get("controller")
    {
        errs.push(FieldError::immutable(
            "spec.controller",
            spec.get("controller"),
        ));
    }
    if controller.is_empty() {
        errs.push(FieldError::required("spec.controller", ""));
        return;
    }
    if controller.len() > 250 {
        errs.push(FieldError::too_long("spec.controller", 250));
    }
    // A domain-prefixed path such as `example.com/ingress-controller`.
    match controller.split_once('/') {
        Some((host, rest)) if !host.is_empty() && !rest.is_empty() => {
            errs.extend(
                is_dns1123_subdomain(host)
                    .iter()
                    .map(|m| FieldError::invalid_str("spec.controller", host, m)),
            );
        }
        _ => errs.push(FieldError::invalid_str(
            "spec.controller",
            controller,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        )),
    }
}

pub(super) fn network_policy(obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    validate_label_selector(spec.get("podSelector"), "spec.podSelector", errs);
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in get_arr(spec, dir).iter().enumerate() {
            let rp = index(&child("spec", dir), i);
            for (j, port) in get_arr(rule, "ports").iter().enumerate() {
                policy_port(port, &index(&child(&rp, "ports"), j), errs);
            }
            for (j, peer) in get_arr(rule, peers).iter().enumerate() {
                policy_peer(peer, &index(&child(&rp, peers), j), errs);
            }
        }
    }
    let types = get_arr(spec, "policyTypes");
    if types.len() > 2 {
        errs.push(FieldError::invalid(
            "spec.policyTypes",
            render_opt(spec.get("policyTypes")),
            "may not specify more than two policyTypes",
        ));
        return;
    }
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if !matches!(t, "Ingress" | "Egress") {
            errs.push(FieldError::not_supported(
                &index("spec.policyTypes", i),
                go_quote(t),
                &["Ingress", "Egress"],
            ));
        }
    }
}

pub(super) fn policy_port(port: &Value, path: &str, errs: &mut Errs) {
    if let Some(p) = port.get("protocol").and_then(Value::as_str)
        && !matches!(p, "TCP" | "UDP" | "SCTP")
    {
        errs.push(FieldError::not_supported(
            &child(path, "protocol"),
            go_quote(p),
            &["TCP", "UDP", "SCTP"],
        ));
    }
    let end = port.get("endPort").and_then(Value::as_i64);
    match port.get("port").filter(|p| !p.is_null()) {
        Some(Value::String(name)) => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    &child(path, "endPort"),
                    e.to_string(),
                    "may not be specified when `port` is non-numeric",
                ));
            }
            errs.extend(
                is_port_name(name)
                    .iter()
                    .map(|m| FieldError::invalid_str(&child(path, "port"), name, m)),
            );
        }
        Some(n) => {
            errs.extend(
                port_num_errors(n)
                    .iter()
                    .map(|m| FieldError::invalid(&child(path, "port"), render(n), m)),
            );
            if let Some(e) = end {
                if e < n.as_i64().unwrap_or(0) {
                    errs.push(FieldError::invalid(
                        &child(path, "endPort"),
                        e.to_string(),
                        "must be greater than or equal to `port`",
                    ));
                }
                errs.extend(
                    port_num_errors(&Value::from(e))
                        .iter()
                        .map(|m| FieldError::invalid(&child(path, "endPort"), e.to_string(), m)),
                );
            }
        }
        None => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    &child(path, "endPort"),
                    e.to_string(),
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
}

pub(super) fn policy_peer(peer: &Value, path: &str, errs: &mut Errs) {
    let mut count = 0;
    for k in ["podSelector", "namespaceSelector"] {
        if present(peer, k) {
            count += 1;
            validate_label_selector(peer.get(k), &child(path, k), errs);
        }
    }
    let block = peer.get("ipBlock").filter(|b| !b.is_null());
    if let Some(b) = block {
        count += 1;
        let bp = child(path, "ipBlock");
        let cidr = get_str(b, "cidr");
        if cidr.is_empty() {
            errs.push(FieldError::required(&child(&bp, "cidr"), ""));
        } else if let Some((net, bits, v4)) = cidr_field(cidr, &child(&bp, "cidr"), errs) {
            for (i, ex) in get_arr(b, "except").iter().enumerate() {
                let ex = ex.as_str().unwrap_or("");
                let ep = index(&child(&bp, "except"), i);
                let Some((eip, ebits, ev4)) = cidr_field(ex, &ep, errs) else {
                    continue;
                };
                let mask = |b: u32| if b == 0 { 0 } else { u128::MAX << (128 - b) };
                if ev4 != v4 || ebits <= bits || eip & mask(bits) != net & mask(bits) {
                    errs.push(FieldError::invalid_str(
                        &ep,
                        ex,
                        "must be a strict subset of `cidr`",
                    ));
                }
            }
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a peer"));
    } else if count > 1 && block.is_some() {
        errs.push(FieldError::forbidden(
            path,
            "may not specify both ipBlock and another peer",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use serde_json::json;

    #[test]
    fn ingress_and_policy() {
        let ing = json!({"metadata": {"name": "i"}, "spec": {"rules": [{"host": "Bad_Host", "http": {"paths": [
            {"path": "/", "pathType": "Sometimes", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
        let msgs = messages(&validate(def("networking.k8s.io", "Ingress"), &ing, None));
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].starts_with(
            "spec.rules[0].host: Invalid value: \"Bad_Host\": a lowercase RFC 1123 subdomain"
        ));
        assert_eq!(
            msgs[1],
            "spec.rules[0].http.paths[0].pathType: Unsupported value: \"Sometimes\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\""
        );
        let np = json!({"metadata": {"name": "p"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Sideways"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "11.0.0.0/16"]}}]}]}});
        assert_eq!(
            messages(&validate(
                def("networking.k8s.io", "NetworkPolicy"),
                &np,
                None
            )),
            vec![
                "spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ]
        );
    }
}
