//! events.k8s.io/v1 Events are stored as core v1 Events (as upstream does)
//! and converted on the way in and out.

use serde_json::{Map, Value};

/// (core field, events.k8s.io field) pairs that only differ in name.
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

fn rename(obj: &Value, to_new: bool, api_version: &str) -> Value {
    let Some(map) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        let renamed = RENAMES.iter().find_map(|(core, new)| {
            if to_new && k == core {
                Some(*new)
            } else if !to_new && k == new {
                Some(*core)
            } else {
                None
            }
        });
        out.insert(renamed.unwrap_or(k).to_string(), v.clone());
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    Value::Object(out)
}

pub(crate) fn to_events_v1(core: &Value) -> Value {
    rename(core, true, "events.k8s.io/v1")
}

pub(crate) fn to_core(new: &Value) -> Value {
    rename(new, false, "v1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_between_versions() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "hi", "count": 3, "reason": "Started"});
        let new = to_events_v1(&core);
        assert_eq!(new["regarding"]["name"], "p");
        assert_eq!(new["note"], "hi");
        assert_eq!(new["deprecatedCount"], 3);
        assert_eq!(new["apiVersion"], "events.k8s.io/v1");
        assert!(new.get("message").is_none());
        assert_eq!(to_core(&new), core);
    }
}
