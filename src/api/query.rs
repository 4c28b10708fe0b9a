//! Query parameters of resource requests.

use std::collections::HashMap;

use crate::registry::resources::ResourceDef;
use crate::registry::selectors::{FieldSelector, LabelSelector};
use crate::registry::{
    ApiError, DeleteOpts, FieldValidation, ListOpts, Result, WatchOpts, WriteOpts,
};

pub(crate) struct Query(pub(crate) HashMap<String, String>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        let mut map = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(decode(k), decode(v));
        }
        Query(map)
    }

    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    pub(crate) fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true") | Some("1") | Some(""))
    }

    fn selectors(&self, def: &ResourceDef) -> Result<(LabelSelector, FieldSelector)> {
        Ok((
            LabelSelector::parse(self.get("labelSelector").unwrap_or(""))?,
            FieldSelector::parse_with_fields(
                self.get("fieldSelector").unwrap_or(""),
                def.group,
                def.kind,
                &crate::registry::crd::field_labels(def),
            )?,
        ))
    }

    pub(crate) fn list_opts(&self, def: &ResourceDef) -> Result<ListOpts> {
        let (labels, fields) = self.selectors(def)?;
        let limit = match self.get("limit") {
            Some(l) if !l.is_empty() => l
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?
                .max(0) as usize,
            _ => 0,
        };
        Ok(ListOpts {
            labels,
            fields,
            limit,
            continue_token: self
                .get("continue")
                .filter(|s| !s.is_empty())
                .map(String::from),
            resource_version: self.get("resourceVersion").map(String::from),
            resource_version_match: self.get("resourceVersionMatch").map(String::from),
        })
    }

    pub(crate) fn watch_opts(&self, def: &ResourceDef) -> Result<WatchOpts> {
        let (labels, fields) = self.selectors(def)?;
        Ok(WatchOpts {
            labels,
            fields,
            resource_version: self.get("resourceVersion").map(String::from),
            send_initial_events: self.get("sendInitialEvents") == Some("true"),
        })
    }

    pub(crate) fn write_opts(&self) -> Result<WriteOpts> {
        let dry_run = match self.get("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
                )));
            }
        };
        Ok(WriteOpts {
            dry_run,
            validation: FieldValidation::parse(self.get("fieldValidation").unwrap_or(""))?,
            user: Default::default(),
            field_manager: self.get("fieldManager").map(String::from),
            user_agent: String::new(),
            force: self.get("force") == Some("true"),
            applied: false,
        })
    }

    pub(crate) fn delete_opts(&self, body: &[u8]) -> Result<(DeleteOpts, bool)> {
        let mut opts = DeleteOpts {
            grace_period_seconds: self.get("gracePeriodSeconds").and_then(|g| g.parse().ok()),
            propagation: self.get("propagationPolicy").map(String::from),
            ..Default::default()
        };
        if self.get("orphanDependents") == Some("true") {
            opts.propagation = Some("Orphan".into());
        }
        let mut dry_run = self.get("dryRun") == Some("All");
        if !body.iter().all(u8::is_ascii_whitespace) {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
            if let Some(g) = v.get("gracePeriodSeconds").and_then(|g| g.as_i64()) {
                opts.grace_period_seconds = Some(g);
            }
            if let Some(p) = v.get("propagationPolicy").and_then(|p| p.as_str()) {
                opts.propagation = Some(p.into());
            }
            if v.get("orphanDependents").and_then(|o| o.as_bool()) == Some(true) {
                opts.propagation = Some("Orphan".into());
            }
            opts.precondition_uid = v
                .pointer("/preconditions/uid")
                .and_then(|u| u.as_str())
                .map(String::from);
            opts.precondition_rv = v
                .pointer("/preconditions/resourceVersion")
                .and_then(|u| u.as_str())
                .map(String::from);
            if v.get("dryRun")
                .and_then(|d| d.as_array())
                .is_some_and(|d| d.iter().any(|x| x == "All"))
            {
                dry_run = true;
            }
        }
        Ok((opts, dry_run))
    }
}

pub(crate) fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
