//! The object store: the source of truth on the box.
//!
//! All current objects live in memory (for fast reads, lists and watches);
//! a [`Backend`] makes every acknowledged write durable. Writes go through
//! one committer thread that batches concurrent writers into one durable
//! commit (group commit) and acknowledges only after the commit returned.
//! Ephemeral objects (Leases, Events) share the revision counter and the
//! watch history but are not written to the backend; see [`ceiling`].

mod backend;
mod committer;
mod history;
mod redb_backend;
mod sled_backend;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::{broadcast, oneshot};

pub(crate) use backend::Backend;
pub(crate) use committer::error_chain;
use history::History;

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("object {0} already exists")]
    AlreadyExists(String),
    #[error("object {0} not found")]
    NotFound(String),
    #[error("object {key} was modified: expected revision {expected}, found {found}")]
    Conflict {
        key: String,
        expected: u64,
        found: u64,
    },
    #[error("revision {0} is no longer in the history window")]
    Compacted(u64),
    #[error("open backend at {path}")]
    Open {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("load stored objects")]
    Load(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("commit to backend")]
    Commit(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("decode stored object {0}")]
    Decode(String, #[source] serde_json::Error),
    #[error("{0} does not exist or is being deleted")]
    GuardFailed(String),
    #[error("store committer has stopped")]
    Stopped,
    #[error("start store committer")]
    Spawn(#[source] std::io::Error),
}

/// Which embedded database keeps the objects on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackendKind {
    Redb,
    Sled,
}

impl BackendKind {
    pub(crate) fn open(self, dir: &Path) -> Result<Box<dyn Backend>> {
        match self {
            BackendKind::Redb => Ok(Box::new(redb_backend::RedbBackend::open(
                &dir.join("store.redb"),
            )?)),
            BackendKind::Sled => Ok(Box::new(sled_backend::SledBackend::open(
                &dir.join("store.sled"),
            )?)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One committed change. `object` carries the revision of the change in
/// `metadata.resourceVersion` (for deletions too, as upstream does).
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) rev: u64,
    pub(crate) kind: EventType,
    pub(crate) key: Arc<str>,
    pub(crate) object: Arc<Value>,
    /// `object` encoded as JSON.
    pub(crate) json: Arc<[u8]>,
    /// The object before the change; `None` for additions.
    pub(crate) prev: Option<Arc<Value>>,
}

/// A write request. `expected` is the revision the caller read (optimistic
/// concurrency); `None` writes unconditionally.
#[derive(Debug)]
pub(crate) enum Op {
    /// `guard`: a key that must exist and not be deleting for the create
    /// to commit (the namespace), checked atomically with the write.
    Create {
        key: String,
        value: Value,
        guard: Option<String>,
    },
    Update {
        key: String,
        value: Value,
        expected: Option<u64>,
    },
    Delete {
        key: String,
        expected: Option<u64>,
    },
}

impl Op {
    fn key(&self) -> &str {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Delete { key, .. } => key,
        }
    }
}

/// A current object and its JSON encoding, kept together so reads can
/// answer with the stored bytes instead of serializing again.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) value: Arc<Value>,
    pub(crate) json: Arc<[u8]>,
}

pub(crate) struct State {
    objects: BTreeMap<Arc<str>, Entry>,
    rev: u64,
    history: History,
}

/// Events after a revision, the current revision, and later events.
pub(crate) type WatchFrom = (Vec<Arc<Event>>, u64, broadcast::Receiver<Arc<Event>>);

/// Cheap to clone handle to the store.
#[derive(Clone)]
pub(crate) struct Store {
    state: Arc<RwLock<State>>,
    tx: tokio::sync::mpsc::Sender<committer::Request>,
    events: broadcast::Sender<Arc<Event>>,
    #[cfg_attr(not(test), allow(dead_code))]
    committer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// Decides which keys are kept in memory only.
pub(crate) type IsEphemeral = fn(&str) -> bool;

/// A page of a list.
pub(crate) struct Page {
    pub(crate) rev: u64,
    pub(crate) items: Vec<Arc<Value>>,
    /// The stored JSON of each item, where the item is current.
    pub(crate) raw: Vec<Option<Arc<[u8]>>>,
    /// Key of the last returned item when more remain.
    pub(crate) more_after: Option<String>,
    /// How many items remain beyond this page.
    pub(crate) remaining: usize,
}

pub(crate) fn revision_of(obj: &Value) -> u64 {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Store {
    /// Opens the store, loading every object into memory.
    pub(crate) fn open(mut backend: Box<dyn Backend>, ephemeral: IsEphemeral) -> Result<Store> {
        let loaded = backend.load()?;
        let mut objects = BTreeMap::new();
        for (key, bytes) in loaded.objects {
            let value: Value =
                serde_json::from_slice(&bytes).map_err(|e| Error::Decode(key.clone(), e))?;
            objects.insert(
                Arc::from(key),
                Entry {
                    value: Arc::new(value),
                    json: Arc::from(bytes),
                },
            );
        }
        let state = Arc::new(RwLock::new(State {
            objects,
            rev: loaded.ceiling,
            history: History::new(loaded.ceiling),
        }));
        let (events, _) = broadcast::channel(committer::BROADCAST_CAPACITY);
        let (tx, handle) = committer::spawn(
            backend,
            state.clone(),
            events.clone(),
            loaded.ceiling,
            ephemeral,
        )?;
        Ok(Store {
            state,
            tx,
            events,
            committer: Arc::new(std::sync::Mutex::new(Some(handle))),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent (all
        // mutations are single inserts/removes), so poisoning is ignored.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn revision(&self) -> u64 {
        self.read().rev
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<Value>> {
        self.read().objects.get(key).map(|e| e.value.clone())
    }

    /// Lists keys under `prefix` in key order, after `start_after`, at
    /// revision `at` (current when `None`), keeping those `filter` accepts,
    /// at most `limit` of them (0 = all).
    pub(crate) fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        at: Option<u64>,
        limit: usize,
        filter: &dyn Fn(&Value) -> bool,
    ) -> Result<Page> {
        let state = self.read();
        let rev = at.unwrap_or(state.rev);
        let lower = match start_after {
            Some(k) => std::ops::Bound::Excluded(k),
            None => std::ops::Bound::Included(prefix),
        };
        let in_prefix = |k: &str| k.starts_with(prefix);
        let mut items = Vec::new();
        let mut raw = Vec::new();
        let mut more_after = None;
        let mut remaining = 0;
        let mut push = |key: &str, value: &Arc<Value>, json: Option<&Arc<[u8]>>| {
            if !filter(value) {
                return;
            }
            if limit == 0 || items.len() < limit {
                items.push(value.clone());
                raw.push(json.cloned());
                if limit != 0 && items.len() == limit {
                    more_after = Some(key.to_string());
                }
            } else {
                remaining += 1;
            }
        };
        if rev >= state.rev {
            let range = state
                .objects
                .range::<str, _>((lower, std::ops::Bound::Unbounded))
                .take_while(|(k, _)| in_prefix(k));
            for (k, e) in range {
                push(k, &e.value, Some(&e.json));
            }
        } else {
            // An older snapshot: undo the changes made after `rev`.
            let overlay = state.history.undo_after(rev, prefix)?;
            let current = state
                .objects
                .range::<str, _>((lower, std::ops::Bound::Unbounded))
                .take_while(|(k, _)| in_prefix(k))
                .map(|(k, e)| (k.clone(), Some((e.value.clone(), Some(e.json.clone())))));
            type Snap = Option<(Arc<Value>, Option<Arc<[u8]>>)>;
            let mut merged: BTreeMap<Arc<str>, Snap> = current.collect();
            for (k, v) in overlay {
                let after_start = start_after.is_none_or(|s| &*k > s);
                if after_start {
                    merged.insert(k, v.map(|v| (v, None)));
                }
            }
            for (k, v) in merged.iter() {
                if let Some((v, json)) = v {
                    push(k, v, json.as_ref());
                }
            }
        }
        if remaining == 0 {
            more_after = None;
        }
        Ok(Page {
            rev,
            items,
            raw,
            more_after,
            remaining,
        })
    }

    /// Starts a watch: returns the events after `from` still in the
    /// history window (`from = None`: none) and a receiver for later ones.
    /// The two are taken under one lock so no event is lost or repeated.
    pub(crate) fn watch(&self, prefix: &str, from: Option<u64>) -> Result<WatchFrom> {
        let state = self.read();
        let rx = self.events.subscribe();
        let backlog = match from {
            Some(rev) => state.history.since(rev, prefix)?,
            None => Vec::new(),
        };
        Ok((backlog, state.rev, rx))
    }

    /// Current objects under `prefix` and the revision they were read at.
    pub(crate) fn snapshot(
        &self,
        prefix: &str,
    ) -> (u64, Vec<Arc<Value>>, broadcast::Receiver<Arc<Event>>) {
        let state = self.read();
        let rx = self.events.subscribe();
        let items = state
            .objects
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, e)| e.value.clone())
            .collect();
        (state.rev, items, rx)
    }

    /// Oldest revision a watch or a paged list can still start from.
    pub(crate) fn compacted(&self) -> u64 {
        self.read().history.compacted()
    }

    /// Closes this handle; the last one to close waits until the committer
    /// has finished and released the backend.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn close(self) {
        let Store { tx, committer, .. } = self;
        drop(tx);
        if let Some(mutex) = Arc::into_inner(committer)
            && let Some(handle) = mutex.into_inner().unwrap_or_else(|e| e.into_inner())
        {
            let _ = handle.join();
        }
    }

    /// Commits one change; returns the stored object (for deletions, the
    /// deleted object carrying the deletion's revision).
    pub(crate) async fn write(&self, op: Op) -> Result<Arc<Value>> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(committer::Request { op, reply })
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }
}

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;
