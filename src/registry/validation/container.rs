//! Containers: names, images, ports, environment, mounts, resources,
//! probes and lifecycle hooks.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::pod::{NONNEGATIVE, dns_label_field, nonnegative, subdomain_field};
use super::volume::local_descending_path;
use super::{
    FieldError, QUANTITY_FORMAT_ERROR, child, get_arr, get_obj, get_str, go_quote, index,
    is_config_map_key, is_port_name, is_qualified_name, key, port_num_errors, present, quantity,
    render, sorted, validate_port_num_or_name,
};

type Errs = Vec<FieldError>;

pub(super) fn validate_containers(
    spec: &Value,
    path: &str,
    volumes: &BTreeMap<String, Value>,
    errs: &mut Errs,
) {
    let list_path = child(path, "containers");
    let containers = get_arr(spec, "containers");
    if containers.is_empty() {
        errs.push(FieldError::required(&list_path, ""));
        return;
    }
    let grace = spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    let mut names = BTreeSet::new();
    for (i, c) in containers.iter().enumerate() {
        let p = index(&list_path, i);
        container_common(c, &p, volumes, errs);
        let name = get_str(c, "name");
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&child(&p, "name"), go_quote(name)));
        }
        lifecycle_and_probes(c, &p, grace, errs);
        if present(c, "restartPolicy") {
            errs.push(FieldError::forbidden(
                &child(&p, "restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    host_port_conflicts(containers, &list_path, errs);
}

pub(super) fn validate_init_containers(
    spec: &Value,
    path: &str,
    volumes: &BTreeMap<String, Value>,
    errs: &mut Errs,
) {
    let list_path = child(path, "initContainers");
    let grace = spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    let mut names: BTreeSet<&str> = get_arr(spec, "containers")
        .iter()
        .map(|c| get_str(c, "name"))
        .collect();
    for (i, c) in get_arr(spec, "initContainers").iter().enumerate() {
        let p = index(&list_path, i);
        container_common(c, &p, volumes, errs);
        let restart = c.get("restartPolicy").filter(|r| !r.is_null());
        if let Some(r) = restart.filter(|r| r.as_str() != Some("Always")) {
            errs.push(FieldError::not_supported(
                &child(&p, "restartPolicy"),
                render(r),
                &["Always"],
            ));
        }
        let name = get_str(c, "name");
        if names.contains(name) {
            errs.push(FieldError::duplicate(&child(&p, "name"), go_quote(name)));
        } else if !name.is_empty() {
            names.insert(name);
        }
        host_port_conflicts(std::slice::from_ref(c), &list_path, errs);
        if restart.and_then(Value::as_str) == Some("Always") {
            // Sidecars may have probes and lifecycle hooks; plain init containers may not.
            lifecycle_and_probes(c, &p, grace, errs);
        } else {
            for k in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if present(c, k) {
                    errs.push(FieldError::forbidden(
                        &child(&p, k),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
}

pub(super) fn host_port_conflicts(containers: &[Value], path: &str, errs: &mut Errs) {
    let mut seen = BTreeSet::new();
    for (i, c) in containers.iter().enumerate() {
        for (j, p) in get_arr(c, "ports").iter().enumerate() {
            let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let k = format!("{}/{}/{hp}", get_str(p, "protocol"), get_str(p, "hostIP"));
            if !seen.insert(k.clone()) {
                errs.push(FieldError::duplicate(
                    &format!("{path}[{i}].ports[{j}].hostPort"),
                    go_quote(&k),
                ));
            }
        }
    }
}

/// Checks common to regular, init and ephemeral containers.
pub(super) fn container_common(
    c: &Value,
    path: &str,
    volumes: &BTreeMap<String, Value>,
    errs: &mut Errs,
) {
    let name = get_str(c, "name");
    if name.is_empty() {
        errs.push(FieldError::required(&child(path, "name"), ""));
    } else {
        dns_label_field(name, &child(path, "name"), errs);
    }
    if get_str(c, "image").is_empty() {
        errs.push(FieldError::required(&child(path, "image"), ""));
    }
    match get_str(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            &child(path, "terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            &child(path, "terminationMessagePolicy"),
            go_quote(other),
            &["File", "FallbackToLogsOnError"],
        )),
    }
    container_ports(get_arr(c, "ports"), &child(path, "ports"), errs);
    env(get_arr(c, "env"), &child(path, "env"), errs);
    env_from(get_arr(c, "envFrom"), &child(path, "envFrom"), errs);
    volume_mounts(c, &child(path, "volumeMounts"), volumes, errs);
    match get_str(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(&child(path, "imagePullPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &child(path, "imagePullPolicy"),
            go_quote(other),
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    resources(c.get("resources"), &child(path, "resources"), errs);
}

pub(super) fn container_ports(ports: &[Value], path: &str, errs: &mut Errs) {
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = index(path, i);
        let name = get_str(p, "name");
        if !name.is_empty() {
            let msgs = is_port_name(name);
            if !msgs.is_empty() {
                errs.extend(
                    msgs.iter()
                        .map(|m| FieldError::invalid_str(&child(&pp, "name"), name, m)),
                );
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(&child(&pp, "name"), go_quote(name)));
            }
        }
        match p.get("containerPort") {
            None | Some(Value::Null) => {
                errs.push(FieldError::required(&child(&pp, "containerPort"), ""))
            }
            Some(n) if n.as_i64() == Some(0) => {
                errs.push(FieldError::required(&child(&pp, "containerPort"), ""))
            }
            Some(n) => errs.extend(
                port_num_errors(n)
                    .iter()
                    .map(|m| FieldError::invalid(&child(&pp, "containerPort"), render(n), m)),
            ),
        }
        if let Some(n) = p
            .get("hostPort")
            .filter(|n| !n.is_null() && n.as_i64() != Some(0))
        {
            errs.extend(
                port_num_errors(n)
                    .iter()
                    .map(|m| FieldError::invalid(&child(&pp, "hostPort"), render(n), m)),
            );
        }
        protocol(p, &pp, errs);
    }
}

/// Required TCP/UDP/SCTP `protocol` of a port at `path`.
pub(super) fn protocol(p: &Value, path: &str, errs: &mut Errs) {
    match get_str(p, "protocol") {
        "TCP" | "UDP" | "SCTP" => {}
        "" => errs.push(FieldError::required(&child(path, "protocol"), "")),
        other => errs.push(FieldError::not_supported(
            &child(path, "protocol"),
            go_quote(other),
            &["SCTP", "TCP", "UDP"],
        )),
    }
}

/// Environment variable names are checked with the relaxed (GA) rule.
pub(super) fn env_name_ok(name: &str) -> bool {
    name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=')
}

pub(super) const ENV_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";

pub(super) fn env(vars: &[Value], path: &str, errs: &mut Errs) {
    for (i, e) in vars.iter().enumerate() {
        let p = index(path, i);
        let name = get_str(e, "name");
        if name.is_empty() {
            errs.push(FieldError::required(&child(&p, "name"), ""));
        } else if !env_name_ok(name) {
            errs.push(FieldError::invalid_str(
                &child(&p, "name"),
                name,
                ENV_NAME_MSG,
            ));
        }
        let Some(from) = e.get("valueFrom").filter(|v| !v.is_null()) else {
            continue;
        };
        let fp = child(&p, "valueFrom");
        let mut sources = 0;
        if let Some(f) = from.get("fieldRef").filter(|v| !v.is_null()) {
            sources += 1;
            field_ref(f, &child(&fp, "fieldRef"), errs);
        }
        if let Some(r) = from.get("resourceFieldRef").filter(|v| !v.is_null()) {
            sources += 1;
            const RES: &[&str] = &[
                "limits.cpu",
                "limits.ephemeral-storage",
                "limits.memory",
                "requests.cpu",
                "requests.ephemeral-storage",
                "requests.memory",
            ];
            let res = get_str(r, "resource");
            let rp = child(&fp, "resourceFieldRef");
            if res.is_empty() {
                errs.push(FieldError::required(&child(&rp, "resource"), ""));
            } else if !RES.contains(&res)
                && !res.starts_with("requests.hugepages-")
                && !res.starts_with("limits.hugepages-")
            {
                errs.push(FieldError::not_supported(
                    &child(&rp, "resource"),
                    go_quote(res),
                    RES,
                ));
            }
        }
        for k in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(r) = from.get(k).filter(|v| !v.is_null()) {
                sources += 1;
                let rp = child(&fp, k);
                subdomain_field(get_str(r, "name"), &child(&rp, "name"), errs);
                let kk = get_str(r, "key");
                if kk.is_empty() {
                    errs.push(FieldError::required(&child(&rp, "key"), ""));
                } else {
                    errs.extend(
                        is_config_map_key(kk)
                            .iter()
                            .map(|m| FieldError::invalid_str(&child(&rp, "key"), kk, m)),
                    );
                }
            }
        }
        if sources == 0 {
            errs.push(FieldError::invalid_str(&fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
        } else if !get_str(e, "value").is_empty() {
            errs.push(FieldError::invalid_str(
                &fp,
                "",
                "may not be specified when `value` is not empty",
            ));
        } else if sources > 1 {
            errs.push(FieldError::invalid_str(
                &fp,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

pub(super) fn field_ref(f: &Value, path: &str, errs: &mut Errs) {
    const PATHS: &[&str] = &[
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.serviceAccountName",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
    ];
    if get_str(f, "apiVersion").is_empty() {
        errs.push(FieldError::required(&child(path, "apiVersion"), ""));
        return;
    }
    let fp = get_str(f, "fieldPath");
    if fp.is_empty() {
        errs.push(FieldError::required(&child(path, "fieldPath"), ""));
        return;
    }
    // `metadata.labels['k']` and `metadata.annotations['k']` are allowed.
    if let Some((base, rest)) = fp.split_once("['") {
        let sub = rest.strip_suffix("']").unwrap_or(rest);
        match base {
            "metadata.labels" => errs.extend(
                is_qualified_name(sub)
                    .iter()
                    .map(|m| FieldError::invalid_str(path, sub, m)),
            ),
            "metadata.annotations" => {
                let lower = sub.to_lowercase();
                errs.extend(
                    is_qualified_name(&lower)
                        .iter()
                        .map(|m| FieldError::invalid_str(path, &lower, m)),
                );
            }
            _ => errs.push(FieldError::invalid_str(
                path,
                base,
                "does not support subscript",
            )),
        }
    } else if !PATHS.contains(&fp) {
        errs.push(FieldError::not_supported(
            &child(path, "fieldPath"),
            go_quote(fp),
            PATHS,
        ));
    }
}

pub(super) fn env_from(list: &[Value], path: &str, errs: &mut Errs) {
    for (i, e) in list.iter().enumerate() {
        let p = index(path, i);
        let prefix = get_str(e, "prefix");
        if !prefix.is_empty() && !env_name_ok(prefix) {
            errs.push(FieldError::invalid_str(
                &child(&p, "prefix"),
                prefix,
                ENV_NAME_MSG,
            ));
        }
        let mut sources = 0;
        for k in ["configMapRef", "secretRef"] {
            if let Some(r) = e.get(k).filter(|v| !v.is_null()) {
                sources += 1;
                let name = get_str(r, "name");
                let np = child(&child(&p, k), "name");
                if name.is_empty() {
                    errs.push(FieldError::required(&np, ""));
                } else {
                    errs.extend(
                        super::name_errors(super::NameRule::Subdomain, name, true)
                            .iter()
                            .map(|m| FieldError::invalid_str(&np, name, m)),
                    );
                }
            }
        }
        // Upstream reports these at the list, not the entry.
        if sources == 0 {
            errs.push(FieldError::invalid_str(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if sources > 1 {
            errs.push(FieldError::invalid_str(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

pub(super) fn volume_mounts(
    c: &Value,
    path: &str,
    volumes: &BTreeMap<String, Value>,
    errs: &mut Errs,
) {
    let privileged = c
        .pointer("/securityContext/privileged")
        .and_then(Value::as_bool)
        == Some(true);
    let mut points = BTreeSet::new();
    for (i, m) in get_arr(c, "volumeMounts").iter().enumerate() {
        let p = index(path, i);
        let (name, mp) = (get_str(m, "name"), get_str(m, "mountPath"));
        if name.is_empty() {
            errs.push(FieldError::required(&child(&p, "name"), ""));
        }
        if !volumes.contains_key(name) {
            errs.push(FieldError::not_found(&child(&p, "name"), go_quote(name)));
        }
        if mp.is_empty() {
            errs.push(FieldError::required(&child(&p, "mountPath"), ""));
        }
        if !points.insert(mp) {
            errs.push(FieldError::invalid_str(
                &child(&p, "mountPath"),
                mp,
                "must be unique",
            ));
        }
        // Upstream reports sub-path problems at the list path (no index).
        for k in ["subPath", "subPathExpr"] {
            let sp = get_str(m, k);
            if !sp.is_empty() {
                local_descending_path(sp, &child(path, k), errs);
            }
        }
        if !get_str(m, "subPath").is_empty() && !get_str(m, "subPathExpr").is_empty() {
            errs.push(FieldError::invalid_str(
                &child(&p, "subPathExpr"),
                get_str(m, "subPathExpr"),
                "subPathExpr and subPath are mutually exclusive",
            ));
        }
        if let Some(prop) = m.get("mountPropagation").and_then(Value::as_str) {
            let pp = child(path, "mountPropagation");
            if !matches!(prop, "Bidirectional" | "HostToContainer" | "None") {
                errs.push(FieldError::not_supported(
                    &pp,
                    go_quote(prop),
                    &["Bidirectional", "HostToContainer", "None"],
                ));
            } else if prop == "Bidirectional" && !privileged {
                errs.push(FieldError::forbidden(
                    &pp,
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
    }
}

pub(super) fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

pub(super) fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Container resource requirements: names, quantities, requests <= limits.
pub(super) fn resources(res: Option<&Value>, path: &str, errs: &mut Errs) {
    let Some(res) = res.filter(|r| r.is_object()) else {
        return;
    };
    let (lim_path, req_path) = (child(path, "limits"), child(path, "requests"));
    let limits = get_obj(res, "limits");
    let mut has_compute = false;
    let mut has_huge = false;
    let mut check = |m: Option<&Map<String, Value>>,
                     p: &str,
                     errs: &mut Errs|
     -> Vec<(String, Option<(i128, String)>)> {
        let mut out = Vec::new();
        for (name, v) in m.map(sorted).unwrap_or_default() {
            let kp = key(p, name);
            resource_name(name, &kp, errs);
            has_compute |= matches!(name.as_str(), "cpu" | "memory");
            has_huge |= is_hugepages(name);
            let q = quantity(v);
            match &q {
                None => errs.push(FieldError::invalid(&kp, render(v), QUANTITY_FORMAT_ERROR)),
                Some((n, text)) if *n < 0 => {
                    errs.push(FieldError::invalid_str(&kp, text, NONNEGATIVE))
                }
                Some((n, text)) if !is_native(name) && n % 1_000_000_000 != 0 => {
                    errs.push(FieldError::invalid_str(&kp, text, "must be an integer"));
                }
                Some(_) => {}
            }
            out.push((name.clone(), q));
        }
        out
    };
    let lims = check(limits, &lim_path, errs);
    let reqs = check(get_obj(res, "requests"), &req_path, errs);
    for (name, q) in reqs {
        let overcommit = is_native(&name) && !is_hugepages(&name);
        match lims.iter().find(|(n, _)| *n == name) {
            Some((_, lim)) => {
                let (Some((r, rt)), Some((l, lt))) = (&q, lim) else {
                    continue;
                };
                if !overcommit && r != l {
                    errs.push(FieldError::invalid_str(
                        &req_path,
                        rt,
                        &format!("must be equal to {name} limit of {lt}"),
                    ));
                } else if r > l {
                    errs.push(FieldError::invalid_str(
                        &req_path,
                        rt,
                        &format!("must be less than or equal to {name} limit of {lt}"),
                    ));
                }
            }
            None if !overcommit => errs.push(FieldError::required(
                &lim_path,
                "Limit must be set for non overcommitable resources",
            )),
            None => {}
        }
    }
    if has_huge && !has_compute {
        errs.push(FieldError::forbidden(
            path,
            "HugePages require cpu or memory",
        ));
    }
}

pub(super) fn resource_name(name: &str, path: &str, errs: &mut Errs) {
    let msgs = is_qualified_name(name);
    if !msgs.is_empty() {
        errs.extend(msgs.iter().map(|m| FieldError::invalid_str(path, name, m)));
        return;
    }
    if !name.contains('/') {
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !is_hugepages(name) {
            errs.push(FieldError::invalid_str(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native(name) && !is_qualified_name(&format!("requests.{name}")).is_empty() {
        errs.push(FieldError::invalid_str(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
}

pub(super) fn lifecycle_and_probes(c: &Value, path: &str, grace: Option<i64>, errs: &mut Errs) {
    if let Some(l) = c.get("lifecycle").filter(|l| !l.is_null()) {
        for k in ["postStart", "preStop"] {
            if let Some(h) = l.get(k).filter(|h| !h.is_null()) {
                handler(h, &child(&child(path, "lifecycle"), k), true, grace, errs);
            }
        }
    }
    for k in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = c.get(k).filter(|p| !p.is_null()) else {
            continue;
        };
        let p = child(path, k);
        handler(probe, &p, false, grace, errs);
        for f in [
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ] {
            nonnegative(probe, f, &p, errs);
        }
        if let Some(t) = probe
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
        {
            if k == "readinessProbe" {
                errs.push(FieldError::invalid(
                    &child(&p, "terminationGracePeriodSeconds"),
                    t.to_string(),
                    "must not be set for readinessProbes",
                ));
            } else if t <= 0 {
                errs.push(FieldError::invalid(
                    &child(&p, "terminationGracePeriodSeconds"),
                    t.to_string(),
                    "must be greater than 0",
                ));
            }
        }
        let st = probe
            .get("successThreshold")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if k != "readinessProbe" && st != 1 {
            errs.push(FieldError::invalid(
                &child(&p, "successThreshold"),
                st.to_string(),
                "must be 1",
            ));
        }
    }
}

pub(super) fn handler(h: &Value, path: &str, lifecycle: bool, grace: Option<i64>, errs: &mut Errs) {
    let kinds: &[&str] = if lifecycle {
        &["exec", "httpGet", "tcpSocket", "sleep"]
    } else {
        &["exec", "httpGet", "tcpSocket", "grpc"]
    };
    let mut count = 0;
    for k in kinds {
        let Some(v) = h.get(*k).filter(|v| !v.is_null()) else {
            continue;
        };
        let p = child(path, k);
        if count > 0 {
            errs.push(FieldError::forbidden(
                &p,
                "may not specify more than 1 handler type",
            ));
            continue;
        }
        count += 1;
        match *k {
            "exec" if get_arr(v, "command").is_empty() => {
                errs.push(FieldError::required(&child(&p, "command"), ""))
            }
            "httpGet" => {
                if get_str(v, "path").is_empty() {
                    errs.push(FieldError::required(&child(&p, "path"), ""));
                }
                validate_port_num_or_name(v.get("port"), &child(&p, "port"), errs);
                let scheme = get_str(v, "scheme");
                if !matches!(scheme, "HTTP" | "HTTPS") {
                    errs.push(FieldError::not_supported(
                        &child(&p, "scheme"),
                        go_quote(scheme),
                        &["HTTP", "HTTPS"],
                    ));
                }
                for hdr in get_arr(v, "httpHeaders") {
                    let n = get_str(hdr, "name");
                    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                        let msg = "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')";
                        errs.push(FieldError::invalid_str(&child(&p, "httpHeaders"), n, msg));
                    }
                }
            }
            "tcpSocket" | "grpc" => {
                validate_port_num_or_name(v.get("port"), &child(&p, "port"), errs)
            }
            "sleep" => {
                let s = v.get("seconds").and_then(Value::as_i64).unwrap_or(0);
                if let Some(g) = grace.filter(|g| s < 0 || s > *g) {
                    let msg = format!(
                        "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                    );
                    errs.push(FieldError::invalid(&p, s.to_string(), &msg));
                }
            }
            _ => {}
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
}
