//! ConfigMap, Secret and Namespace.

use serde_json::{Map, Value};

use super::{
    FieldError, get_arr, get_obj, get_str, is_config_map_key, is_qualified_name, key, sorted,
};

/// Upstream's size limit for ConfigMap and Secret payloads.
pub(super) const MAX_DATA_SIZE: usize = 1024 * 1024;

pub(super) fn validate_keys(
    m: Option<&Map<String, Value>>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    for (k, _) in m.map(sorted).unwrap_or_default() {
        errs.extend(
            is_config_map_key(k)
                .iter()
                .map(|msg| FieldError::invalid_str(&key(path, k), k, msg)),
        );
    }
}

/// Forbids data changes once the stored object was marked immutable.
pub(super) fn immutable_data(
    obj: &Value,
    old: Option<&Value>,
    fields: &[&str],
    errs: &mut Vec<FieldError>,
) {
    let Some(old) = old.filter(|o| o.get("immutable").and_then(Value::as_bool) == Some(true))
    else {
        return;
    };
    const MSG: &str = "field is immutable when `immutable` is set";
    if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden("immutable", MSG));
    }
    for f in fields {
        let norm = |v: &Value| {
            v.get(*f)
                .filter(|d| d.as_object().is_some_and(|m| !m.is_empty()))
                .cloned()
        };
        if norm(obj) != norm(old) {
            errs.push(FieldError::forbidden(f, MSG));
        }
    }
}

pub(super) fn config_map(obj: &Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    immutable_data(obj, old, &["data", "binaryData"], errs);
    let data = get_obj(obj, "data");
    let binary = get_obj(obj, "binaryData");
    validate_keys(data, "data", errs);
    for (k, _) in data.map(sorted).unwrap_or_default() {
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(FieldError::invalid_str(
                &key("data", k),
                k,
                "duplicate of key present in binaryData",
            ));
        }
    }
    validate_keys(binary, "binaryData", errs);
    let size: usize = data
        .into_iter()
        .flatten()
        .map(|(_, v)| v.as_str().map_or(0, str::len))
        .sum::<usize>()
        + binary
            .into_iter()
            .flatten()
            .map(|(_, v)| decoded_len(v))
            .sum::<usize>();
    if size > MAX_DATA_SIZE {
        // Upstream reports the whole object, with an empty field path.
        errs.push(FieldError::too_long("", MAX_DATA_SIZE));
    }
}

/// Size of a base64 payload once decoded.
pub(super) fn decoded_len(v: &Value) -> usize {
    let s = v.as_str().unwrap_or("").trim_end_matches('=');
    s.len() * 3 / 4
}

/// Decodes standard base64 (for the few Secret types whose content matters).
pub(super) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

pub(super) fn secret(obj: &Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    if let Some(old) = old
        && obj.get("type") != old.get("type")
    {
        errs.push(FieldError::immutable("type", obj.get("type")));
    }
    immutable_data(obj, old, &["data"], errs);
    let data = get_obj(obj, "data");
    // stringData is merged into data upstream before validation.
    let string_data = get_obj(obj, "stringData");
    validate_keys(data, "data", errs);
    validate_keys(string_data, "data", errs);
    let size: usize = data
        .into_iter()
        .flatten()
        .map(|(_, v)| decoded_len(v))
        .sum::<usize>()
        + string_data
            .into_iter()
            .flatten()
            .map(|(_, v)| v.as_str().map_or(0, str::len))
            .sum::<usize>();
    if size > MAX_DATA_SIZE {
        errs.push(FieldError::too_long("data", MAX_DATA_SIZE));
    }
    let has = |k: &str| {
        data.is_some_and(|d| d.contains_key(k)) || string_data.is_some_and(|d| d.contains_key(k))
    };
    let required = |k: &str, errs: &mut Vec<FieldError>| {
        if !has(k) {
            errs.push(FieldError::required(&key("data", k), ""));
        }
    };
    match get_str(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let ann = obj.pointer("/metadata/annotations/kubernetes.io~1service-account.name");
            if ann.and_then(Value::as_str).unwrap_or("").is_empty() {
                errs.push(FieldError::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        t @ ("kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson") => {
            let k = if t.ends_with("json") {
                ".dockerconfigjson"
            } else {
                ".dockercfg"
            };
            if !has(k) {
                required(k, errs);
            } else if let Some(raw) = data.and_then(|d| d.get(k)).and_then(Value::as_str) {
                let parsed = base64_decode(raw)
                    .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok());
                if parsed.is_none() {
                    errs.push(FieldError::invalid_str(
                        &key("data", k),
                        "<secret contents redacted>",
                        "invalid JSON",
                    ));
                }
            }
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            required("username", errs);
            required("password", errs);
        }
        "kubernetes.io/ssh-auth" if !has("ssh-privatekey") => required("ssh-privatekey", errs),
        "kubernetes.io/tls" => {
            required("tls.crt", errs);
            required("tls.key", errs);
        }
        _ => {}
    }
}

pub(super) fn namespace(obj: &Value, errs: &mut Vec<FieldError>) {
    let path = "spec.finalizers";
    for f in get_arr(obj.get("spec").unwrap_or(&Value::Null), "finalizers") {
        let s = f.as_str().unwrap_or("");
        errs.extend(
            is_qualified_name(s)
                .iter()
                .map(|m| FieldError::invalid_str(path, s, m)),
        );
        if !s.contains('/') && !matches!(s, "kubernetes" | "orphan" | "foregroundDeletion") {
            errs.push(FieldError::invalid_str(
                path,
                s,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use super::*;
    use serde_json::json;

    #[test]
    fn config_map_keys_and_size() {
        let obj = json!({"metadata": {"name": "cfg"}, "data": {"good.key": "1", "bad/key": "2", "..x": "3"}});
        let msgs = messages(&validate(def("", "ConfigMap"), &obj, None));
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert_eq!(
            msgs[0],
            "data[..x]: Invalid value: \"..x\": must not start with '..'"
        );
        assert!(msgs[1].starts_with("data[bad/key]: Invalid value: \"bad/key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',"));
        let big =
            json!({"metadata": {"name": "cfg"}, "data": {"k": "x".repeat(MAX_DATA_SIZE + 1)}});
        assert_eq!(
            messages(&validate(def("", "ConfigMap"), &big, None)),
            vec![": Too long: must have at most 1048576 bytes"]
        );
    }

    #[test]
    fn immutable_config_and_metadata() {
        let old =
            json!({"metadata": {"name": "cfg", "uid": "1"}, "immutable": true, "data": {"a": "1"}});
        let new =
            json!({"metadata": {"name": "cfg", "uid": "2"}, "immutable": true, "data": {"a": "2"}});
        let msgs = messages(&validate(def("", "ConfigMap"), &new, Some(&old)));
        assert_eq!(
            msgs,
            vec![
                "metadata.uid: Invalid value: \"2\": field is immutable",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
    }

    #[test]
    fn secret_type_rules() {
        let tls = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
        assert_eq!(
            messages(&validate(def("", "Secret"), &tls, None)),
            vec!["data[tls.key]: Required value"]
        );
        let old = json!({"metadata": {"name": "s"}, "type": "Opaque"});
        let new = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/basic-auth", "data": {"username": "eA=="}});
        assert_eq!(
            messages(&validate(def("", "Secret"), &new, Some(&old))),
            vec!["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"]
        );
    }
}
