//! Object semantics shared by every resource: what create, update, patch,
//! delete, list and watch mean, independent of HTTP.

pub(crate) mod apply;
mod bootstrap;
pub(crate) mod crd;
pub(crate) mod defaults;
mod delete;
pub(crate) mod error;
mod events;
mod expiry;
mod meta;
pub(crate) mod patch;
mod pod_delete;
pub(crate) mod resources;
mod review;
mod root_ca;
pub(crate) mod selectors;
mod service_alloc;
pub(crate) mod typed;
pub(crate) mod validation;
mod write;
pub(crate) use bootstrap::bootstrap;

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::store::{self, Event, Store};
pub(crate) use delete::{DeleteOpts, Deleted};
pub(crate) use error::{ApiError, Result};
use resources::{ResourceDef, VerbSet};
use selectors::{FieldSelector, LabelSelector};
pub(crate) use write::{FieldValidation, WriteOpts};

/// How often a write without a precondition is retried when a concurrent
/// writer wins the race.
const WRITE_RETRIES: usize = 5;

/// Who makes a request, as authentication established it.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserInfo {
    pub(crate) username: String,
    pub(crate) uid: String,
    pub(crate) groups: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct Registry {
    store: Store,
    /// Namespaces whose termination task is running.
    terminating: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// Where objects of `def` are kept: events.k8s.io Events share storage
/// with core Events.
fn storage(def: &ResourceDef) -> (&'static str, &'static str) {
    if def.group == "events.k8s.io" {
        ("", "events")
    } else {
        (def.group, def.plural)
    }
}

pub(crate) fn key(def: &ResourceDef, ns: Option<&str>, name: &str) -> String {
    let (group, plural) = storage(def);
    format!("{group}/{plural}/{}/{name}", ns.unwrap_or(""))
}

fn prefix(def: &ResourceDef, ns: Option<&str>) -> String {
    let (group, plural) = storage(def);
    match ns {
        Some(ns) => format!("{group}/{plural}/{ns}/"),
        None => format!("{group}/{plural}/"),
    }
}

/// Keys of Leases and Events live in memory only.
pub(crate) fn is_ephemeral(key: &str) -> bool {
    key.starts_with("/events/") || key.starts_with("coordination.k8s.io/leases/")
}

/// The resource a stored key belongs to, and the key's namespace and name.
fn def_for_key(key: &str) -> Option<(&'static ResourceDef, Option<&str>, &str)> {
    let mut parts = key.splitn(4, '/');
    let (group, plural, ns, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let def = resources::all().into_iter().find(|d| {
        d.group == group
            && d.plural == plural
            && d.custom.is_none_or(|c| c.storage_version == d.version)
    })?;
    Some((def, (!ns.is_empty()).then_some(ns), name))
}

pub(crate) struct ListOpts {
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
    pub(crate) limit: usize,
    pub(crate) continue_token: Option<String>,
    pub(crate) resource_version: Option<String>,
    pub(crate) resource_version_match: Option<String>,
}

pub(crate) struct ListResult {
    pub(crate) rev: u64,
    pub(crate) items: Vec<Arc<Value>>,
    /// Stored JSON of the items, when they are served as stored.
    pub(crate) raw: Vec<Option<Arc<[u8]>>>,
    pub(crate) continue_token: Option<String>,
    pub(crate) remaining: Option<usize>,
}

pub(crate) struct WatchOpts {
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
    pub(crate) resource_version: Option<String>,
    pub(crate) send_initial_events: bool,
}

/// What a new watch starts with.
pub(crate) struct WatchStart {
    /// Current objects to send as ADDED first.
    pub(crate) initial: Vec<Arc<Value>>,
    /// Events after the requested revision.
    pub(crate) backlog: Vec<Arc<Event>>,
    /// Revision the watch is at after `initial` and `backlog`.
    pub(crate) rev: u64,
    pub(crate) rx: broadcast::Receiver<Arc<Event>>,
    pub(crate) prefix: String,
    /// Send a bookmark marking the end of the initial events.
    pub(crate) initial_events_end: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    start: String,
}

fn parse_rv(s: &str) -> Result<u64> {
    s.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}")))
}

pub(crate) fn store_error(def: &ResourceDef, name: &str, e: store::Error) -> ApiError {
    match e {
        store::Error::AlreadyExists(_) => ApiError::already_exists(def, name),
        store::Error::NotFound(_) => ApiError::not_found(def, name),
        store::Error::Conflict { .. } => ApiError::stale(def, name),
        store::Error::Compacted(rev) => {
            ApiError::expired(format!("too old resource version: {rev}"))
        }
        other => ApiError::internal(store::error_chain(&other)),
    }
}

impl Registry {
    pub(crate) fn new(store: Store) -> Registry {
        crd::webhook::set_store(&store);
        Registry {
            store,
            terminating: Default::default(),
        }
    }

    /// The object as a client of `def`'s version sees it. Custom objects
    /// may need their conversion webhook, which can fail.
    pub(crate) fn present(&self, def: &ResourceDef, obj: &Arc<Value>) -> Result<Arc<Value>> {
        Ok(if def.group == "events.k8s.io" {
            Arc::new(events::to_events_v1(obj))
        } else if def.custom.is_some() {
            Arc::new(crd::present(def, obj)?)
        } else {
            obj.clone()
        })
    }

    /// [`Registry::present`] of the objects of a list; custom objects are
    /// converted together.
    fn present_all<'a>(
        &self,
        def: &ResourceDef,
        objs: impl Iterator<Item = &'a Arc<Value>>,
    ) -> Result<Vec<Arc<Value>>> {
        if def.custom.is_some() {
            let stored = objs.map(|o| (**o).clone()).collect();
            Ok(crd::present_all(def, stored)?
                .into_iter()
                .map(Arc::new)
                .collect())
        } else {
            objs.map(|o| self.present(def, o)).collect()
        }
    }

    fn allow(&self, def: &ResourceDef, verb: &str) -> Result<()> {
        let ok = match def.verbs {
            VerbSet::Crud => true,
            VerbSet::CreateOnly => verb == "create",
            VerbSet::ReadOnly => verb == "get" || verb == "list",
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed(def))
        }
    }

    pub(crate) fn get(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Arc<Value>> {
        self.allow(def, "get")?;
        if def.kind == "ComponentStatus" {
            return review::component_status(name)
                .map(Arc::new)
                .ok_or_else(|| ApiError::not_found(def, name));
        }
        let stored = self
            .store
            .get(&key(def, ns, name))
            .ok_or_else(|| ApiError::not_found(def, name))?;
        self.present(def, &stored)
    }

    pub(crate) fn list(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        opts: &ListOpts,
    ) -> Result<ListResult> {
        self.allow(def, "list")?;
        if def.kind == "ComponentStatus" {
            let items = review::component_statuses()
                .into_iter()
                .map(Arc::new)
                .collect();
            return Ok(ListResult {
                rev: self.store.revision(),
                items,
                raw: Vec::new(),
                continue_token: None,
                remaining: None,
            });
        }
        let current = self.store.revision();
        let rv = opts.resource_version.as_deref().filter(|s| !s.is_empty());
        let rv_match = opts
            .resource_version_match
            .as_deref()
            .filter(|s| !s.is_empty());
        let (at, start_after) = match (&opts.continue_token, rv, rv_match) {
            (Some(_), Some(_), _) => {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            (Some(token), None, _) => {
                let token = decode_continue(token)?;
                // A token only continues the list it came from.
                if !token.start.starts_with(&prefix(def, ns)) {
                    return Err(ApiError::bad_request(
                        "continue key is not valid: does not match the requested list",
                    ));
                }
                if token.rv < self.store.compacted() {
                    return Err(ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    ));
                }
                (Some(token.rv), Some(token.start))
            }
            (None, None, Some(_)) => {
                return Err(ApiError::bad_request(
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            (None, Some(rv), Some("Exact")) => {
                let rv = parse_rv(rv)?;
                if rv == 0 {
                    return Err(ApiError::bad_request(
                        "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
                if rv > current {
                    return Err(too_large(rv, current));
                }
                if rv < self.store.compacted() {
                    return Err(ApiError::expired(format!(
                        "The resourceVersion for the provided list is too old. (requested: {rv})"
                    )));
                }
                (Some(rv), None)
            }
            (None, Some(rv), Some("NotOlderThan") | None) => {
                let rv = parse_rv(rv)?;
                if rv > current {
                    return Err(too_large(rv, current));
                }
                (None, None)
            }
            (None, Some(_), Some(other)) => {
                return Err(ApiError::bad_request(format!(
                    "unsupported resourceVersionMatch \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
                )));
            }
            (None, None, None) => (None, None),
        };
        // Upstream serves resourceVersion=0 from its cache and ignores limit.
        let limit = if rv == Some("0") && opts.continue_token.is_none() {
            0
        } else {
            opts.limit
        };
        let filter = |v: &Value| opts.labels.matches(v) && opts.fields.matches(v);
        let page = self
            .store
            .list(&prefix(def, ns), start_after.as_deref(), at, limit, &filter)
            .map_err(|e| store_error(def, "", e))?;
        let continue_token = page
            .more_after
            .map(|start| encode_continue(page.rev, start));
        let remaining = continue_token.as_ref().map(|_| page.remaining);
        let items = self.present_all(def, page.items.iter())?;
        // events.k8s.io Events are converted, so their stored bytes do not fit.
        let raw = if def.group == "events.k8s.io" || def.custom.is_some() {
            Vec::new()
        } else {
            page.raw
        };
        Ok(ListResult {
            rev: page.rev,
            items,
            raw,
            continue_token,
            remaining,
        })
    }

    pub(crate) fn watch(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        opts: &WatchOpts,
    ) -> Result<WatchStart> {
        self.allow(def, "watch")?;
        let prefix = prefix(def, ns);
        let rv = opts
            .resource_version
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "0");
        let filter = |v: &Value| opts.labels.matches(v) && opts.fields.matches(v);
        match rv {
            Some(rv) if !opts.send_initial_events => {
                let rv = parse_rv(rv)?;
                let (backlog, _, rx) = self
                    .store
                    .watch(&prefix, Some(rv))
                    .map_err(|e| store_error(def, "", e))?;
                let rev = backlog.last().map(|e| e.rev).unwrap_or(rv);
                Ok(WatchStart {
                    initial: Vec::new(),
                    backlog,
                    rev,
                    rx,
                    prefix,
                    initial_events_end: false,
                })
            }
            _ => {
                let (rev, items, rx) = self.store.snapshot(&prefix);
                let initial = self.present_all(def, items.iter().filter(|v| filter(v)))?;
                Ok(WatchStart {
                    initial,
                    backlog: Vec::new(),
                    rev,
                    rx,
                    prefix,
                    initial_events_end: opts.send_initial_events,
                })
            }
        }
    }
}

fn too_large(rv: u64, current: u64) -> ApiError {
    ApiError {
        details: Some(
            json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
        ),
        ..ApiError::new(
            504,
            "Timeout",
            format!("Too large resource version: {rv}, current: {current}"),
        )
    }
}

fn encode_continue(rv: u64, start: String) -> String {
    let json = serde_json::to_vec(&ContinueToken { rv, start }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_continue(token: &str) -> Result<ContinueToken> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| ApiError::bad_request("continue key is not valid: illegal base64 data"))
}
