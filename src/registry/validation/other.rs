//! The remaining kinds: Node, volumes and claims, core Events, RBAC,
//! StorageClass, PriorityClass, Lease, HorizontalPodAutoscaler,
//! PodDisruptionBudget and the quantity-only checks of quotas and limits.

use serde_json::{Map, Value};

use super::{
    FieldError, QUANTITY_FORMAT_ERROR, child, get_arr, get_obj, get_str, go_quote, index,
    is_label_value, is_path_segment_name, is_qualified_name, key, present, quantity, render,
    render_opt, sorted, validate_label_selector,
};

type Errs = Vec<FieldError>;

const NONNEGATIVE: &str = "must be greater than or equal to 0";

pub(super) use super::pod::subdomain_field;

/// Every quantity in the map at `path` must parse and not be negative.
fn quantities_in(
    m: Option<&Map<String, Value>>,
    path: &str,
    errs: &mut Errs,
) -> Vec<(String, i128, String)> {
    let mut out = Vec::new();
    for (k, v) in m.map(sorted).unwrap_or_default() {
        let p = key(path, k);
        match quantity(v) {
            None => errs.push(FieldError::invalid(&p, render(v), QUANTITY_FORMAT_ERROR)),
            Some((q, text)) => {
                if q < 0 {
                    errs.push(FieldError::invalid_str(&p, &text, NONNEGATIVE));
                }
                out.push((k.clone(), q, text));
            }
        }
    }
    out
}

pub(super) fn node(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    // Upstream reports node taints under `metadata.taints`.
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, t) in get_arr(spec, "taints").iter().enumerate() {
        let p = index("metadata.taints", i);
        let (k, v, effect) = (get_str(t, "key"), get_str(t, "value"), get_str(t, "effect"));
        errs.extend(
            is_qualified_name(k)
                .iter()
                .map(|m| FieldError::invalid_str(&child(&p, "key"), k, m)),
        );
        let msgs = is_label_value(v);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid_str(
                &child(&p, "value"),
                v,
                &msgs.join(";"),
            ));
        }
        match effect {
            "" => errs.push(FieldError::required(&child(&p, "effect"), "")),
            "NoSchedule" | "PreferNoSchedule" | "NoExecute" => {}
            other => errs.push(FieldError::not_supported(
                &child(&p, "effect"),
                go_quote(other),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            )),
        }
        if seen.contains(&(k, effect)) {
            // Upstream renders its internal taint struct (Go field names).
            let shown = format!(
                "{{\"Key\":{},\"Value\":{},\"Effect\":{},\"TimeAdded\":{}}}",
                go_quote(k),
                go_quote(v),
                go_quote(effect),
                render_opt(t.get("timeAdded"))
            );
            let mut e = FieldError::duplicate(&p, shown);
            e.detail = "taints must be unique by key and effect pair".to_owned();
            errs.push(e);
            continue;
        }
        seen.push((k, effect));
    }
    let status = obj.get("status").unwrap_or(&null);
    for list in ["capacity", "allocatable"] {
        for (k, v) in get_obj(status, list).map(sorted).unwrap_or_default() {
            let p = format!("status.{list}.{k}");
            match quantity(v) {
                Some((q, text)) if q < 0 => {
                    errs.push(FieldError::invalid_str(&p, &text, NONNEGATIVE))
                }
                Some(_) => {}
                None => errs.push(FieldError::invalid(&p, render(v), QUANTITY_FORMAT_ERROR)),
            }
        }
    }
    let cidrs = get_arr(spec, "podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        let p = index("spec.podCIDRs", i);
        let ok = c.split_once('/').is_some_and(|(ip, bits)| {
            ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 128)
        });
        if !ok {
            errs.push(FieldError::invalid_str(
                &p,
                c,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ));
        }
        if cidrs[..i].iter().any(|o| o.as_str() == Some(c)) {
            errs.push(FieldError::duplicate(&p, go_quote(c)));
        }
    }
    let Some(old_spec) = old.map(|o| o.get("spec").unwrap_or(&Value::Null)) else {
        return;
    };
    let old_cidrs = get_arr(old_spec, "podCIDRs");
    if !old_cidrs.is_empty() && old_cidrs != cidrs {
        errs.push(FieldError::forbidden(
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
    let old_provider = get_str(old_spec, "providerID");
    if !old_provider.is_empty() && old_provider != get_str(spec, "providerID") {
        errs.push(FieldError::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    if spec.get("externalID") != old_spec.get("externalID") {
        errs.push(FieldError::forbidden(
            "spec.externalID",
            "may not be updated",
        ));
    }
}

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn access_modes(spec: &Value, required_detail: &str, errs: &mut Errs) {
    let modes = get_arr(spec, "accessModes");
    if modes.is_empty() {
        errs.push(FieldError::required("spec.accessModes", required_detail));
    }
    let (mut pod, mut other) = (false, false);
    for m in modes {
        let m = m.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&m) {
            errs.push(FieldError::not_supported(
                "spec.accessModes",
                go_quote(m),
                ACCESS_MODES,
            ));
        } else if m == "ReadWriteOncePod" {
            pod = true;
        } else {
            other = true;
        }
    }
    if pod && other {
        errs.push(FieldError::forbidden(
            "spec.accessModes",
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
}

fn volume_mode(spec: &Value, errs: &mut Errs) {
    if let Some(m) = spec.get("volumeMode").and_then(Value::as_str)
        && !matches!(m, "Block" | "Filesystem")
    {
        errs.push(FieldError::not_supported(
            "spec.volumeMode",
            go_quote(m),
            &["Block", "Filesystem"],
        ));
    }
}

/// Persistent volume sources, with the names upstream reports.
const PV_SOURCES: &[(&str, &str)] = &[
    ("hostPath", "hostPath"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("nfs", "nfs"),
    ("rbd", "rbd"),
    ("quobyte", "quobyte"),
    ("cephfs", "cephFS"),
    ("iscsi", "iscsi"),
    ("cinder", "cinder"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO"),
    ("local", "local"),
    ("storageos", "storageos"),
    ("csi", "csi"),
];

pub(super) fn persistent_volume(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    access_modes(spec, "", errs);
    let capacity = get_obj(spec, "capacity").filter(|c| !c.is_empty());
    match capacity {
        None => {
            errs.push(FieldError::required("spec.capacity", ""));
            errs.push(FieldError::not_supported(
                "spec.capacity",
                "null".into(),
                &["storage"],
            ));
        }
        Some(c) => {
            if !c.contains_key("storage") || c.len() > 1 {
                errs.push(FieldError::not_supported(
                    "spec.capacity",
                    render_opt(spec.get("capacity")),
                    &["storage"],
                ));
            }
            for (k, q, text) in quantities_in(Some(c), "spec.capacity", errs) {
                if q <= 0 {
                    errs.push(FieldError::invalid_str(
                        &key("spec.capacity", &k),
                        &text,
                        "must be greater than zero",
                    ));
                }
            }
        }
    }
    if let Some(p) = spec
        .get("persistentVolumeReclaimPolicy")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        && !matches!(p, "Delete" | "Recycle" | "Retain")
    {
        errs.push(FieldError::not_supported(
            "spec.persistentVolumeReclaimPolicy",
            go_quote(p),
            &["Delete", "Recycle", "Retain"],
        ));
    }
    let mut count = 0;
    for (field, reported) in PV_SOURCES {
        let Some(src) = spec.get(*field).filter(|s| !s.is_null()) else {
            continue;
        };
        if count > 0 && *field != "flexVolume" {
            errs.push(FieldError::forbidden(
                &child("spec", reported),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        let p = child("spec", field);
        let required: &[&str] = match *field {
            "hostPath" | "local" => &["path"],
            "nfs" => &["server", "path"],
            "csi" => &["driver", "volumeHandle"],
            _ => &[],
        };
        for k in required {
            if get_str(src, k).is_empty() {
                errs.push(FieldError::required(&child(&p, k), ""));
            }
        }
        if *field == "local" && !present(spec, "nodeAffinity") {
            errs.push(FieldError::required(
                "spec.nodeAffinity",
                "Local volume requires node affinity",
            ));
        }
    }
    if count == 0 {
        errs.push(FieldError::required("spec", "must specify a volume type"));
    }
    let class = get_str(spec, "storageClassName");
    if !class.is_empty() {
        subdomain_field(class, "spec.storageClassName", errs);
    }
    volume_mode(spec, errs);
    let Some(old_spec) = old.map(|o| o.get("spec").unwrap_or(&Value::Null)) else {
        return;
    };
    let sources = |s: &Value| {
        PV_SOURCES
            .iter()
            .map(|(f, _)| s.get(*f).filter(|v| !v.is_null()).cloned())
            .collect::<Vec<_>>()
    };
    if sources(spec) != sources(old_spec) {
        errs.push(FieldError::forbidden(
            "spec.persistentvolumesource",
            "spec.persistentvolumesource is immutable after creation",
        ));
    }
    if spec.get("volumeMode") != old_spec.get("volumeMode") {
        // Upstream reports this one without the `spec.` prefix.
        errs.push(FieldError::immutable("volumeMode", spec.get("volumeMode")));
    }
}

pub(super) fn persistent_volume_claim(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    access_modes(spec, "at least 1 access mode is required", errs);
    validate_label_selector(spec.get("selector"), "spec.selector", errs);
    // Upstream's path for the storage request is `spec.resources[storage]`.
    let storage_path = "spec.resources[storage]";
    match spec.pointer("/resources/requests/storage") {
        None | Some(Value::Null) => errs.push(FieldError::required(storage_path, "")),
        Some(v) => match quantity(v) {
            None => errs.push(FieldError::invalid(
                storage_path,
                render(v),
                QUANTITY_FORMAT_ERROR,
            )),
            Some((q, text)) if q <= 0 => errs.push(FieldError::invalid_str(
                storage_path,
                &text,
                "must be greater than zero",
            )),
            Some(_) => {}
        },
    }
    if let Some(c) = spec
        .get("storageClassName")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    {
        subdomain_field(c, "spec.storageClassName", errs);
    }
    volume_mode(spec, errs);
    let Some(old) = old else {
        return;
    };
    let old_spec = old.get("spec").unwrap_or(&Value::Null);
    let bound = obj.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    let munge = |s: &Value, is_old: bool| {
        let mut m = s.as_object().cloned().unwrap_or_default();
        m.retain(|_, v| !v.is_null());
        // A claim may be bound to a volume once, gain a class it lacked, and
        // (when bound) be resized or change its attributes class.
        if get_str(old_spec, "volumeName").is_empty() {
            m.remove("volumeName");
        }
        if !present(old_spec, "storageClassName") {
            m.remove("storageClassName");
        }
        if bound {
            m.remove("volumeAttributesClassName");
            if let Some(r) = m
                .get_mut("resources")
                .and_then(|r| r.get_mut("requests"))
                .and_then(Value::as_object_mut)
            {
                r.remove("storage");
            }
        }
        let _ = is_old;
        m
    };
    if munge(spec, false) != munge(old_spec, true) {
        errs.push(FieldError::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let size = |v: &Value| {
        v.pointer("/spec/resources/requests/storage")
            .and_then(quantity)
            .map(|q| q.0)
    };
    let status_size = old
        .pointer("/status/capacity/storage")
        .and_then(quantity)
        .map(|q| q.0);
    if let (Some(new), Some(prev)) = (size(obj), size(old))
        && new < prev
        && status_size.is_none_or(|s| new <= s)
    {
        errs.push(FieldError::forbidden(
            "spec.resources.requests.storage",
            "field can not be less than status.capacity",
        ));
    }
    if spec.get("volumeMode") != old_spec.get("volumeMode") {
        errs.push(FieldError::immutable("volumeMode", spec.get("volumeMode")));
    }
}

/// Core v1 Events keep upstream's legacy, lenient rules.
pub(super) fn event(obj: &Value, errs: &mut Errs) {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved_ns = obj
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let new_style = obj
        .get("eventTime")
        .is_some_and(|t| !t.is_null() && t.as_str() != Some(""));
    let mismatch = if !new_style {
        if involved_ns.is_empty() {
            !ns.is_empty() && ns != "default"
        } else {
            ns != involved_ns
        }
    } else {
        involved_ns.is_empty() && ns != "default" && ns != "kube-system"
    };
    if mismatch {
        errs.push(FieldError::invalid_str(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        ));
    }
    if new_style {
        let controller = get_str(obj, "reportingComponent");
        if controller.is_empty() {
            errs.push(FieldError::required("reportingComponent", ""));
        }
        errs.extend(
            is_qualified_name(controller)
                .iter()
                .map(|m| FieldError::invalid_str("reportingComponent", controller, m)),
        );
        for (field, limit, required) in [
            ("reportingInstance", 128, true),
            ("action", 128, true),
            ("reason", 128, true),
            ("message", 1024, false),
        ] {
            let v = get_str(obj, field);
            if required && v.is_empty() {
                errs.push(FieldError::required(field, ""));
            }
            if v.len() > limit {
                errs.push(FieldError::invalid_str(
                    field,
                    "",
                    &format!("can have at most {limit} characters"),
                ));
            }
        }
    }
    subdomain_field(ns, "namespace", errs);
}

pub(super) fn storage_class(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let provisioner = get_str(obj, "provisioner");
    if provisioner.is_empty() {
        errs.push(FieldError::required("provisioner", ""));
    } else {
        let lower = provisioner.to_lowercase();
        errs.extend(
            is_qualified_name(&lower)
                .iter()
                .map(|m| FieldError::invalid_str("provisioner", &lower, m)),
        );
    }
    let params = get_obj(obj, "parameters");
    if params.is_some_and(|p| p.len() > 512) {
        errs.push(FieldError::too_long("parameters", 512));
    }
    let size: usize = params
        .into_iter()
        .flatten()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > 256 * 1024 {
        errs.push(FieldError::too_long("parameters", 256 * 1024));
    }
    if let Some(p) = obj
        .get("reclaimPolicy")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        && !matches!(p, "Delete" | "Retain")
    {
        errs.push(FieldError::not_supported(
            "reclaimPolicy",
            go_quote(p),
            &["Delete", "Retain"],
        ));
    }
    match obj.get("volumeBindingMode").and_then(Value::as_str) {
        None => errs.push(FieldError::required("volumeBindingMode", "")),
        Some("Immediate" | "WaitForFirstConsumer") => {}
        Some(other) => errs.push(FieldError::not_supported(
            "volumeBindingMode",
            go_quote(other),
            &["Immediate", "WaitForFirstConsumer"],
        )),
    }
    let Some(old) = old else {
        return;
    };
    let norm = |v: &Value, k: &str| {
        v.get(k)
            .filter(|x| !x.is_null() && x.as_object().is_none_or(|m| !m.is_empty()))
            .cloned()
    };
    for (field, msg) in [
        ("parameters", "updates to parameters are forbidden."),
        ("provisioner", "updates to provisioner are forbidden."),
        ("reclaimPolicy", "updates to reclaimPolicy are forbidden."),
    ] {
        if norm(obj, field) != norm(old, field) {
            errs.push(FieldError::forbidden(field, msg));
        }
    }
    if obj.get("volumeBindingMode") != old.get("volumeBindingMode") {
        errs.push(FieldError::immutable(
            "volumeBindingMode",
            obj.get("volumeBindingMode"),
        ));
    }
}

pub(super) fn priority_class(obj: &Value, old: Option<&Value>, errs: &mut Errs) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    if name.starts_with("system-") {
        let known = [
            ("system-node-critical", 2_000_001_000),
            ("system-cluster-critical", 2_000_000_000),
        ];
        let problem = match known.iter().find(|(n, _)| *n == name) {
            None => Some(format!("{name} is not a known system priority class")),
            Some((_, v)) if *v != value => {
                Some(format!("value of {name} PriorityClass must be {v}"))
            }
            Some(_) if obj.get("globalDefault").and_then(Value::as_bool) == Some(true) => Some(
                format!("globalDefault of {name} PriorityClass must be false"),
            ),
            Some(_) => None,
        };
        if let Some(p) = problem {
            let msg = format!(
                "priority class names with 'system-' prefix are reserved for system use only. error: {p}"
            );
            errs.push(FieldError::forbidden("metadata.name", &msg));
        }
    } else if value > 1_000_000_000 {
        errs.push(FieldError::forbidden(
            "value",
            "maximum allowed value of a user defined priority is 1000000000",
        ));
    }
    if let Some(p) = obj.get("preemptionPolicy").filter(|p| !p.is_null()) {
        match p.as_str().unwrap_or("") {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required("preemptionPolicy", "")),
            _ => errs.push(FieldError::not_supported(
                "preemptionPolicy",
                render(p),
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    if let Some(old) = old {
        if obj.get("value") != old.get("value") {
            errs.push(FieldError::forbidden(
                "value",
                "may not be changed in an update.",
            ));
        }
        if obj.get("preemptionPolicy") != old.get("preemptionPolicy") {
            errs.push(FieldError::immutable(
                "preemptionPolicy",
                obj.get("preemptionPolicy"),
            ));
        }
    }
}

pub(super) fn lease(obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if let Some(d) = spec
        .get("leaseDurationSeconds")
        .and_then(Value::as_i64)
        .filter(|d| *d <= 0)
    {
        errs.push(FieldError::invalid(
            "spec.leaseDurationSeconds",
            d.to_string(),
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec
        .get("leaseTransitions")
        .and_then(Value::as_i64)
        .filter(|t| *t < 0)
    {
        errs.push(FieldError::invalid(
            "spec.leaseTransitions",
            t.to_string(),
            NONNEGATIVE,
        ));
    }
}

pub(super) fn hpa(obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let target = spec.get("scaleTargetRef").unwrap_or(&Value::Null);
    for k in ["kind", "name"] {
        let v = get_str(target, k);
        let p = child("spec.scaleTargetRef", k);
        if v.is_empty() {
            errs.push(FieldError::required(&p, ""));
        } else {
            errs.extend(
                is_path_segment_name(v, false)
                    .iter()
                    .map(|m| FieldError::invalid_str(&p, v, m)),
            );
        }
    }
    let min = spec.get("minReplicas").and_then(Value::as_i64);
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(FieldError::invalid(
            "spec.minReplicas",
            m.to_string(),
            "must be greater than or equal to 1",
        ));
    }
    let max = spec.get("maxReplicas").and_then(Value::as_i64).unwrap_or(0);
    if max < 1 {
        errs.push(FieldError::invalid(
            "spec.maxReplicas",
            max.to_string(),
            "must be greater than or equal to 1",
        ));
    }
    if min.is_some_and(|m| m > max) {
        errs.push(FieldError::invalid(
            "spec.maxReplicas",
            max.to_string(),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    const TYPES: &[&str] = &[
        "ContainerResource",
        "External",
        "Object",
        "Pods",
        "Resource",
    ];
    for (i, m) in get_arr(spec, "metrics").iter().enumerate() {
        let t = get_str(m, "type");
        let p = child(&index("spec.metrics", i), "type");
        if t.is_empty() {
            errs.push(FieldError::required(
                &p,
                "must specify a metric source type",
            ));
        } else if !TYPES.contains(&t) {
            errs.push(FieldError::not_supported(&p, go_quote(t), TYPES));
        }
    }
}

pub(super) fn pdb(obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if present(spec, "minAvailable") && present(spec, "maxUnavailable") {
        errs.push(FieldError::invalid(
            "spec",
            render(spec),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for k in ["minAvailable", "maxUnavailable"] {
        let p = child("spec", k);
        match spec.get(k) {
            Some(Value::String(s)) => {
                let pct = s.strip_suffix('%').and_then(|d| d.parse::<u32>().ok());
                match pct {
                    None => errs.push(FieldError::invalid_str(&p, s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")),
                    Some(n) if n > 100 => errs.push(FieldError::invalid_str(&p, s, "must not be greater than 100%")),
                    Some(_) => {}
                }
            }
            Some(n) if n.as_i64().is_some_and(|n| n < 0) => {
                errs.push(FieldError::invalid(&p, render(n), NONNEGATIVE))
            }
            _ => {}
        }
    }
    validate_label_selector(spec.get("selector"), "spec.selector", errs);
    if let Some(p) = spec
        .get("unhealthyPodEvictionPolicy")
        .and_then(Value::as_str)
        && !matches!(p, "AlwaysAllow" | "IfHealthyBudget")
    {
        errs.push(FieldError::not_supported(
            "spec.unhealthyPodEvictionPolicy",
            go_quote(p),
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
}

/// ResourceQuota and LimitRange: every quantity must parse and be
/// non-negative; LimitRange mins may not exceed maxes.
pub(super) fn quantities(kind: &str, obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if kind == "ResourceQuota" {
        for (k, _) in get_obj(spec, "hard").map(sorted).unwrap_or_default() {
            errs.extend(
                is_qualified_name(k)
                    .iter()
                    .map(|m| FieldError::invalid_str(&key("spec.hard", k), k, m)),
            );
        }
        quantities_in(get_obj(spec, "hard"), "spec.hard", errs);
        return;
    }
    for (i, item) in get_arr(spec, "limits").iter().enumerate() {
        let p = index("spec.limits", i);
        if get_str(item, "type").is_empty() {
            errs.push(FieldError::required(&child(&p, "type"), ""));
        }
        let mut found = Vec::new();
        for field in [
            "max",
            "min",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ] {
            found.push(quantities_in(get_obj(item, field), &child(&p, field), errs));
        }
        for (name, min, min_text) in &found[1] {
            if let Some((_, _, max_text)) =
                found[0].iter().find(|(n, max, _)| n == name && min > max)
            {
                let msg = format!("min value {min_text} is greater than max value {max_text}");
                errs.push(FieldError::invalid_str(
                    &key(&child(&p, "min"), name),
                    min_text,
                    &msg,
                ));
            }
        }
    }
}

/// CustomResourceDefinitions and APIServices are named after what they
/// serve: `<plural>.<group>` and `<version>.<group>`.
pub(super) fn derived_name(kind: &str, obj: &Value, errs: &mut Errs) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let group = get_str(spec, "group");
    if kind == "CustomResourceDefinition" {
        let plural = spec
            .pointer("/names/plural")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !name.is_empty() && name != format!("{plural}.{group}") {
            errs.push(FieldError::invalid_str(
                "metadata.name",
                name,
                "must be spec.names.plural+\".\"+spec.group",
            ));
        }
    } else {
        let required = format!("{}.{group}", get_str(spec, "version"));
        if !name.is_empty() && name != required {
            let msg = format!(
                "must be `spec.version+\".\"+spec.group`: {}",
                go_quote(&required)
            );
            errs.push(FieldError::invalid_str("metadata.name", name, &msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use serde_json::json;

    #[test]
    fn claims_and_volumes() {
        let pvc = json!({"metadata": {"name": "data"}, "spec": {"volumeMode": "Filesystem"}});
        assert_eq!(
            messages(&validate(def("", "PersistentVolumeClaim"), &pvc, None)),
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ]
        );
        let old = json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Bound"}});
        let mut grown = old.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(validate(def("", "PersistentVolumeClaim"), &grown, Some(&old)).is_empty());
        grown["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        assert_eq!(
            messages(&validate(
                def("", "PersistentVolumeClaim"),
                &grown,
                Some(&old)
            )),
            vec![
                "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ]
        );
        let pv = json!({"metadata": {"name": "pv1"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "0"}, "hostPath": {"path": "/d"}}});
        assert_eq!(
            messages(&validate(def("", "PersistentVolume"), &pv, None)),
            vec!["spec.capacity[storage]: Invalid value: \"0\": must be greater than zero"]
        );
    }

    #[test]
    fn storage_class_update() {
        let old = json!({"metadata": {"name": "fast"}, "provisioner": "example.com/disk", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate", "parameters": {"type": "ssd"}});
        let mut new = old.clone();
        new["parameters"]["type"] = json!("hdd");
        assert_eq!(
            messages(&validate(
                def("storage.k8s.io", "StorageClass"),
                &new,
                Some(&old)
            )),
            vec!["parameters: Forbidden: updates to parameters are forbidden."]
        );
    }
}
