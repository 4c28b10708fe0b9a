//! Kubernetes protobuf request bodies, read into their JSON form.
//!
//! kubectl 1.32 and later send the bodies of their typed commands
//! (`kubectl create configmap|deployment|secret...`, `auth can-i`,
//! `create token`) as `application/vnd.kubernetes.protobuf`. Everything
//! after decoding (validation, defaults, storage) is the JSON path, so the
//! two encodings cannot behave differently. Responses stay JSON, which
//! those clients accept as well.

mod schema;
mod wire;

use serde_json::Value;

/// Media type of Kubernetes protobuf.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// Every Kubernetes protobuf document starts with these bytes.
const MAGIC: &[u8] = b"k8s\x00";

/// Decodes a protobuf-encoded object (a `runtime.Unknown` envelope around
/// the typed message) into its JSON form.
pub(crate) fn to_json(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the protobuf envelope")?;
    let mut r = wire::Reader::new(envelope);
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    while !r.done() {
        let (tag, wire_type) = r.key()?;
        match (tag, wire_type) {
            (1, 2) => {
                let mut tm = wire::Reader::new(r.bytes()?);
                while !tm.done() {
                    match tm.key()? {
                        (1, 2) => api_version = String::from_utf8_lossy(tm.bytes()?).into_owned(),
                        (2, 2) => kind = String::from_utf8_lossy(tm.bytes()?).into_owned(),
                        (_, w) => tm.skip(w)?,
                    }
                }
            }
            (2, 2) => raw = r.bytes()?,
            (_, w) => r.skip(w)?,
        }
    }
    let idx = schema::KINDS
        .iter()
        .find(|(av, k, _)| *av == api_version && *k == kind)
        .map(|(_, _, i)| *i)
        .ok_or_else(|| format!("no protobuf schema for {api_version}, Kind={kind}"))?;
    let mut value = wire::message(idx, raw, 0)?;
    if let Some(o) = value.as_object_mut() {
        o.insert("apiVersion".into(), Value::String(api_version));
        o.insert("kind".into(), Value::String(kind));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn field(tag: u32, payload: &[u8], out: &mut Vec<u8>) {
        varint(u64::from(tag) << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn int_field(tag: u32, v: u64, out: &mut Vec<u8>) {
        varint(u64::from(tag) << 3, out);
        varint(v, out);
    }

    /// Encodes by hand what the protobuf definitions of the built-in types
    /// say a ConfigMap with labels, data and a creation time looks like.
    #[test]
    fn configmap_decodes_to_its_json_form() {
        let mut ts = Vec::new();
        int_field(1, 1_700_000_000, &mut ts);
        let mut label = Vec::new();
        field(1, b"app", &mut label);
        field(2, b"web", &mut label);
        let mut meta = Vec::new();
        field(1, b"settings", &mut meta);
        field(3, b"default", &mut meta);
        field(8, &ts, &mut meta);
        field(11, &label, &mut meta);
        let mut data = Vec::new();
        field(1, b"mode", &mut data);
        field(2, b"fast", &mut data);
        let mut cm = Vec::new();
        field(1, &meta, &mut cm);
        field(2, &data, &mut cm);
        int_field(4, 1, &mut cm);
        let mut type_meta = Vec::new();
        field(1, b"v1", &mut type_meta);
        field(2, b"ConfigMap", &mut type_meta);
        let mut body = MAGIC.to_vec();
        field(1, &type_meta, &mut body);
        field(2, &cm, &mut body);
        let v = to_json(&body).unwrap();
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "default",
                    "creationTimestamp": "2023-11-14T22:13:20Z", "labels": {"app": "web"}},
                "data": {"mode": "fast"}, "immutable": true
            })
        );
    }

    #[test]
    fn int_or_string_and_quantities() {
        // A Service port: port 80, targetPort "http" (IntOrString type 1).
        let mut target = Vec::new();
        int_field(1, 1, &mut target);
        field(3, b"http", &mut target);
        let mut port = Vec::new();
        int_field(3, 80, &mut port);
        field(4, &target, &mut port);
        let mut spec = Vec::new();
        field(1, &port, &mut spec);
        let mut svc = Vec::new();
        field(2, &spec, &mut svc);
        let mut type_meta = Vec::new();
        field(1, b"v1", &mut type_meta);
        field(2, b"Service", &mut type_meta);
        let mut body = MAGIC.to_vec();
        field(1, &type_meta, &mut body);
        field(2, &svc, &mut body);
        let v = to_json(&body).unwrap();
        assert_eq!(
            v["spec"]["ports"],
            json!([{"port": 80, "targetPort": "http"}])
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(to_json(b"{}").is_err());
        assert!(to_json(b"k8s\x00\x0a\xff").is_err());
        let mut body = MAGIC.to_vec();
        let mut type_meta = Vec::new();
        field(1, b"v1", &mut type_meta);
        field(2, b"Nothing", &mut type_meta);
        field(1, &type_meta, &mut body);
        assert!(to_json(&body).unwrap_err().contains("Kind=Nothing"));
    }
}
