//! Cell formats shared by the kinds: selectors, labels, container lists,
//! pod and job status, load-balancer addresses, and the like, each as
//! upstream's printers write it.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::super::{age, human_duration, len, n, or_none, s};

pub(super) fn arr<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub(super) fn obj_at<'a>(obj: &'a Value, ptr: &str) -> Option<&'a Map<String, Value>> {
    obj.pointer(ptr).and_then(Value::as_object)
}

/// `k=v` pairs in key order, `<none>` for none (upstream's FormatLabels).
pub(super) fn labels(map: Option<&Map<String, Value>>) -> String {
    let pairs: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    or_none(pairs.join(","))
}

/// A LabelSelector as upstream prints it: requirements sorted by key,
/// `<none>` when it selects by nothing.
pub(super) fn selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return "<none>".into();
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    for (k, v) in sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
    }
    for e in arr(sel, "/matchExpressions") {
        let key = s(e, "/key");
        let mut values: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        values.sort_unstable();
        let text = match s(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        reqs.push((key.to_owned(), text));
    }
    reqs.sort();
    or_none(
        reqs.into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Container names and images of a pod template, comma-separated.
pub(crate) fn containers(obj: &Value, ptr: &str) -> (String, String) {
    let list = arr(obj, ptr);
    let names: Vec<&str> = list.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// READY of a workload: ready replicas out of the desired ones.
pub(crate) fn ready_replicas(obj: &Value) -> String {
    format!(
        "{}/{}",
        n(obj, "/status/readyReplicas"),
        n(obj, "/spec/replicas")
    )
}

pub(super) fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "N/A".into(),
    }
}

pub(super) fn has_true_condition(obj: &Value, ty: &str) -> bool {
    arr(obj, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
}

pub(super) fn seconds_between(from: &str, to: Option<&str>) -> Option<i64> {
    let from = from.parse::<jiff::Timestamp>().ok()?;
    let to = match to {
        Some(t) => t.parse::<jiff::Timestamp>().ok()?,
        None => jiff::Timestamp::now(),
    };
    Some(to.as_second() - from.as_second())
}

/// Upstream's pod STATUS column: init progress, container waiting and
/// termination reasons, `Completed` turned back into `Running` while a
/// container still runs, `Terminating` while deleted.
pub(super) fn pod_status(pod: &Value) -> (String, usize, i64, Option<String>) {
    let mut reason = s(pod, "/status/phase").to_owned();
    if !s(pod, "/status/reason").is_empty() {
        reason = s(pod, "/status/reason").to_owned();
    }
    for c in arr(pod, "/status/conditions") {
        if s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }
    let inits = arr(pod, "/spec/initContainers");
    let restartable = |name: &str| {
        inits
            .iter()
            .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
    };
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<String> = None;
    let mut sidecar_last: Option<String> = None;
    let later = |cur: &mut Option<String>, t: &str| {
        if !t.is_empty() && cur.as_deref().is_none_or(|c| c < t) {
            *cur = Some(t.to_owned());
        }
    };
    let mut initializing = false;
    for (i, cs) in arr(pod, "/status/initContainerStatuses").iter().enumerate() {
        let count = n(cs, "/restartCount");
        restarts += count;
        let finished = s(cs, "/lastState/terminated/finishedAt");
        later(&mut last_restart, finished);
        let sidecar = restartable(s(cs, "/name"));
        if sidecar {
            sidecar_restarts += count;
            later(&mut sidecar_last, finished);
        }
        let terminated = cs.pointer("/state/terminated");
        let waiting_reason = s(cs, "/state/waiting/reason");
        if terminated.is_some() && n(cs, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if sidecar && cs.get("started") == Some(&json!(true)) {
            if cs.get("ready") == Some(&json!(true)) {
                ready += 1;
            }
            continue;
        }
        initializing = true;
        reason = if terminated.is_some() {
            let r = s(cs, "/state/terminated/reason");
            if !r.is_empty() {
                format!("Init:{r}")
            } else if n(cs, "/state/terminated/signal") != 0 {
                format!("Init:Signal:{}", n(cs, "/state/terminated/signal"))
            } else {
                format!("Init:ExitCode:{}", n(cs, "/state/terminated/exitCode"))
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", inits.len())
        };
        break;
    }
    let initialized = has_true_condition(pod, "Initialized");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = sidecar_last;
        let mut running = false;
        for cs in arr(pod, "/status/containerStatuses").iter().rev() {
            restarts += n(cs, "/restartCount");
            later(&mut last_restart, s(cs, "/lastState/terminated/finishedAt"));
            let waiting = s(cs, "/state/waiting/reason");
            let terminated = cs.pointer("/state/terminated");
            let term_reason = s(cs, "/state/terminated/reason");
            if !waiting.is_empty() {
                reason = waiting.to_owned();
            } else if terminated.is_some() && !term_reason.is_empty() {
                reason = term_reason.to_owned();
            } else if terminated.is_some() {
                let signal = n(cs, "/state/terminated/signal");
                reason = if signal != 0 {
                    format!("Signal:{signal}")
                } else {
                    format!("ExitCode:{}", n(cs, "/state/terminated/exitCode"))
                };
            } else if cs.get("ready") == Some(&json!(true))
                && cs.pointer("/state/running").is_some()
            {
                running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && running {
            reason = if has_true_condition(pod, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .into();
        }
    }
    let phase = s(pod, "/status/phase");
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        if s(pod, "/status/reason") == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }
    (reason, ready, restarts, last_restart)
}

pub(super) fn pod_cells(pod: &Value, name: Value, created: Value) -> Vec<Value> {
    let sidecars = arr(pod, "/spec/initContainers")
        .iter()
        .filter(|c| s(c, "/restartPolicy") == "Always")
        .count();
    let total = len(pod, "/spec/containers") + sidecars;
    let (reason, ready, restarts, last) = pod_status(pod);
    let restarts = match last {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", age(Some(&t))),
        _ => restarts.to_string(),
    };
    let ip = arr(pod, "/status/podIPs")
        .first()
        .map(|p| s(p, "/ip").to_owned())
        .unwrap_or_else(|| s(pod, "/status/podIP").to_owned());
    let gates = arr(pod, "/spec/readinessGates");
    let gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let met = gates
            .iter()
            .filter(|g| {
                arr(pod, "/status/conditions")
                    .iter()
                    .find(|c| s(c, "/type") == s(g, "/conditionType"))
                    .is_some_and(|c| s(c, "/status") == "True")
            })
            .count();
        format!("{met}/{}", gates.len())
    };
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        created,
        json!(or_none(ip)),
        json!(or_none(s(pod, "/spec/nodeName").into())),
        json!(or_none(s(pod, "/status/nominatedNodeName").into())),
        json!(gates),
    ]
}

pub(super) fn job_cells(obj: &Value, name: Value, created: Value) -> Vec<Value> {
    let status = [("Complete", "Complete"), ("Failed", "Failed")]
        .iter()
        .find(|(ty, _)| has_true_condition(obj, ty))
        .map(|(_, s)| *s)
        .or_else(|| {
            obj.pointer("/metadata/deletionTimestamp")
                .map(|_| "Terminating")
        })
        .or_else(|| {
            [
                ("Suspended", "Suspended"),
                ("FailureTarget", "FailureTarget"),
                ("SuccessCriteriaMet", "SuccessCriteriaMet"),
            ]
            .iter()
            .find(|(ty, _)| has_true_condition(obj, ty))
            .map(|(_, s)| *s)
        })
        .unwrap_or("Running");
    let succeeded = n(obj, "/status/succeeded");
    let completions = match (
        obj.pointer("/spec/completions").and_then(Value::as_i64),
        obj.pointer("/spec/parallelism").and_then(Value::as_i64),
    ) {
        (Some(c), _) => format!("{succeeded}/{c}"),
        (None, Some(p)) if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    };
    let duration = match obj.pointer("/status/startTime").and_then(Value::as_str) {
        None => String::new(),
        Some(start) => {
            let end = obj
                .pointer("/status/completionTime")
                .and_then(Value::as_str);
            seconds_between(start, end)
                .map(human_duration)
                .unwrap_or_default()
        }
    };
    let (names, images) = containers(obj, "/spec/template/spec/containers");
    vec![
        name,
        json!(status),
        json!(completions),
        json!(duration),
        created,
        json!(names),
        json!(images),
        json!(selector(obj.pointer("/spec/selector"))),
    ]
}

pub(super) fn node_cells(obj: &Value, name: Value, created: Value) -> Vec<Value> {
    let mut status = match arr(obj, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Ready")
    {
        Some(c) if s(c, "/status") == "True" => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
        None => "Unknown".to_owned(),
    };
    if obj.pointer("/spec/unschedulable") == Some(&json!(true)) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles = BTreeSet::new();
    for (k, v) in obj_at(obj, "/metadata/labels").into_iter().flatten() {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role.to_owned());
            }
        } else if k == "kubernetes.io/role" && !v.as_str().unwrap_or("").is_empty() {
            roles.insert(v.as_str().unwrap_or("").to_owned());
        }
    }
    let address = |ty: &str| {
        or_none(
            arr(obj, "/status/addresses")
                .iter()
                .find(|a| s(a, "/type") == ty)
                .map(|a| s(a, "/address").to_owned())
                .unwrap_or_default(),
        )
    };
    let info = |field: &str| {
        let v = s(obj, &format!("/status/nodeInfo/{field}"));
        if v.is_empty() {
            "<unknown>".to_owned()
        } else {
            v.to_owned()
        }
    };
    vec![
        name,
        json!(status),
        json!(or_none(roles.into_iter().collect::<Vec<_>>().join(","))),
        created,
        json!(s(obj, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

pub(super) fn event_cells(obj: &Value) -> Vec<Value> {
    let first_str = ["/firstTimestamp", "/deprecatedFirstTimestamp", "/eventTime"]
        .iter()
        .find_map(|p| obj.pointer(p).and_then(Value::as_str));
    let first = age(first_str.or_else(|| {
        obj.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
    }));
    let series = obj.get("series");
    let last = match series {
        Some(series) => age(series.get("lastObservedTime").and_then(Value::as_str)),
        None => ["/lastTimestamp", "/deprecatedLastTimestamp"]
            .iter()
            .find_map(|p| obj.pointer(p).and_then(Value::as_str))
            .map(|t| age(Some(t)))
            .unwrap_or_else(|| first.clone()),
    };
    let count = match series {
        Some(series) => n(series, "/count"),
        None => match obj
            .get("count")
            .or_else(|| obj.get("deprecatedCount"))
            .and_then(Value::as_i64)
        {
            Some(c) if c != 0 => c,
            _ => 1,
        },
    };
    let regarding = obj
        .get("involvedObject")
        .or_else(|| obj.get("regarding"))
        .cloned()
        .unwrap_or(Value::Null);
    let kind = s(&regarding, "/kind").to_lowercase();
    let target = match s(&regarding, "/name") {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let source = obj.get("source").or_else(|| obj.get("deprecatedSource"));
    let component = source
        .map(|s_| s(s_, "/component"))
        .filter(|c| !c.is_empty());
    let host = source.map(|s_| s(s_, "/host")).filter(|c| !c.is_empty());
    let component = component.unwrap_or_else(|| s(obj, "/reportingController"));
    let component = if component.is_empty() {
        s(obj, "/reportingComponent")
    } else {
        component
    };
    let host = host.unwrap_or_else(|| s(obj, "/reportingInstance"));
    let source = if host.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {host}")
    };
    let message = obj
        .get("message")
        .or_else(|| obj.get("note"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    vec![
        json!(last),
        json!(s(obj, "/type")),
        json!(s(obj, "/reason")),
        json!(target),
        json!(s(&regarding, "/fieldPath")),
        json!(source),
        json!(message),
        json!(first),
        json!(count),
        json!(s(obj, "/metadata/name")),
    ]
}

pub(super) fn access_modes(list: &[Value]) -> String {
    let mut out = Vec::new();
    for (mode, short) in [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ] {
        if list.iter().any(|m| m.as_str() == Some(mode)) {
            out.push(short);
        }
    }
    out.join(",")
}

/// Comma-separated addresses of a load-balancer status, clipped to 16
/// characters as upstream does outside wide output (the server prints wide).
pub(super) fn load_balancer(obj: &Value, ptr: &str) -> String {
    let set: BTreeSet<&str> = arr(obj, ptr)
        .iter()
        .filter_map(|i| {
            let ip = s(i, "/ip");
            if !ip.is_empty() {
                Some(ip)
            } else {
                i.get("hostname").and_then(Value::as_str)
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

/// The EXTERNAL-IP cell of a Service.
pub(crate) fn service_external_ip(obj: &Value) -> String {
    let external: Vec<&str> = arr(obj, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match s(obj, "/spec/type") {
        "ClusterIP" | "NodePort" => or_none(external.join(",")),
        "LoadBalancer" => {
            let lb = load_balancer(obj, "/status/loadBalancer/ingress");
            let mut all: Vec<&str> = lb.split(',').filter(|x| !x.is_empty()).collect();
            all.extend(external);
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => s(obj, "/spec/externalName").to_owned(),
        _ => "<unknown>".into(),
    }
}

pub(super) fn rfc3339(obj: &Value) -> Value {
    json!(s(obj, "/metadata/creationTimestamp"))
}

pub(super) fn subjects(obj: &Value, kind: &str) -> String {
    arr(obj, "/subjects")
        .iter()
        .filter(|x| s(x, "/kind") == kind)
        .map(|x| match kind {
            "ServiceAccount" => format!("{}/{}", s(x, "/namespace"), s(x, "/name")),
            _ => s(x, "/name").to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn quantity_pairs(obj: &Value, limits: bool) -> String {
    let hard = obj_at(obj, "/status/hard");
    let used = obj_at(obj, "/status/used");
    let mut out = Vec::new();
    for (k, v) in hard.into_iter().flatten() {
        if k.starts_with("limits.") != limits {
            continue;
        }
        let u = used
            .and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .unwrap_or("0");
        out.push(format!("{k}: {u}/{}", v.as_str().unwrap_or("")));
    }
    out.join(", ")
}

pub(super) fn hpa_targets(obj: &Value) -> String {
    let metrics = arr(obj, "/spec/metrics");
    if metrics.is_empty() {
        return "<none>".into();
    }
    let current = arr(obj, "/status/currentMetrics");
    let mut parts = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        let ty = s(m, "/type");
        let key = match ty {
            "Resource" => "resource",
            "ContainerResource" => "containerResource",
            "Pods" => "pods",
            "Object" => "object",
            "External" => "external",
            _ => {
                parts.push("<unknown type>".to_owned());
                continue;
            }
        };
        let target = m
            .get(key)
            .and_then(|x| x.get("target"))
            .cloned()
            .unwrap_or(Value::Null);
        let cur = current
            .get(i)
            .and_then(|c| c.get(key))
            .and_then(|x| x.get("current"));
        let (want, have) = if let Some(u) = target.get("averageUtilization") {
            (
                format!("{u}%"),
                cur.and_then(|c| c.get("averageUtilization"))
                    .map(|v| format!("{v}%")),
            )
        } else if let Some(v) = target.get("averageValue") {
            (
                v.as_str().unwrap_or("").to_owned(),
                cur.and_then(|c| c.get("averageValue"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        } else {
            (
                target
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                cur.and_then(|c| c.get("value"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        };
        let label = if key == "resource" {
            format!("{}: ", s(m, "/resource/name"))
        } else {
            String::new()
        };
        parts.push(format!(
            "{label}{}/{want}",
            have.unwrap_or_else(|| "<unknown>".into())
        ));
    }
    if parts.len() > 2 {
        let more = parts.len() - 2;
        parts.truncate(2);
        return format!("{} + {more} more...", parts.join(", "));
    }
    parts.join(", ")
}

/// Upstream's cells of one object, or `None` for kinds printed as name and
/// age. `name` and `created` are the usual first and age cells.
pub(super) fn or_unset(v: &str) -> String {
    if v.is_empty() {
        "<unset>".into()
    } else {
        v.into()
    }
}

pub(super) fn volume_mode(obj: &Value) -> String {
    match s(obj, "/spec/volumeMode") {
        "" => "<unset>".into(),
        m => m.into(),
    }
}

/// A NetworkPolicy's pod selector: an empty one selects every pod.
pub(super) fn selector_or_everything(sel: Option<&Value>) -> String {
    selector(Some(sel.unwrap_or(&json!({}))))
}
