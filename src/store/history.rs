//! The in-memory window of recent events: watches resume from it and paged
//! lists read consistent older snapshots through it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::{Error, Event, Result};

/// Events kept for resuming watches. Upstream keeps a comparable window
/// (its watch cache); older revisions answer 410 Gone and clients relist.
const CAPACITY: usize = 20_000;
/// And at most this many bytes of (JSON) objects, so that large objects
/// updated often cannot exhaust a small box's memory.
const MAX_BYTES: usize = 64 * 1024 * 1024;

pub(super) struct History {
    events: VecDeque<Arc<Event>>,
    bytes: usize,
    /// Revisions up to this one are not (fully) in the window.
    compacted: u64,
}

impl History {
    pub(super) fn new(start: u64) -> History {
        History {
            events: VecDeque::new(),
            bytes: 0,
            compacted: start,
        }
    }

    pub(super) fn compacted(&self) -> u64 {
        self.compacted
    }

    pub(super) fn push(&mut self, event: Arc<Event>) {
        self.bytes += event.json.len();
        self.events.push_back(event);
        while self.events.len() > CAPACITY || (self.bytes > MAX_BYTES && self.events.len() > 1) {
            let Some(old) = self.events.pop_front() else {
                break;
            };
            self.bytes -= old.json.len();
            self.compacted = old.rev;
        }
    }

    fn after(&self, rev: u64) -> Result<impl DoubleEndedIterator<Item = &Arc<Event>>> {
        if rev < self.compacted {
            return Err(Error::Compacted(rev));
        }
        let start = self.events.partition_point(|e| e.rev <= rev);
        Ok(self.events.range(start..))
    }

    /// Events after `rev` whose key starts with `prefix`.
    pub(super) fn since(&self, rev: u64, prefix: &str) -> Result<Vec<Arc<Event>>> {
        Ok(self
            .after(rev)?
            .filter(|e| e.key.starts_with(prefix))
            .cloned()
            .collect())
    }

    /// For each key under `prefix` changed after `rev`, its state at `rev`
    /// (`None`: it did not exist then).
    pub(super) fn undo_after(
        &self,
        rev: u64,
        prefix: &str,
    ) -> Result<BTreeMap<Arc<str>, Option<Arc<Value>>>> {
        let mut out = BTreeMap::new();
        // Newest first, so the earliest change after `rev` wins.
        for e in self.after(rev)?.rev().filter(|e| e.key.starts_with(prefix)) {
            out.insert(e.key.clone(), e.prev.clone());
        }
        Ok(out)
    }
}
