//! The narrow interface a durable backend implements.
//!
//! It is shaped so that an external etcd cluster could implement it later:
//! a commit is one transaction of puts and deletes, the revision ceiling is
//! one more key in it, and loading is a range read.

use super::Result;

pub(crate) enum Change {
    Put {
        key: String,
        value: std::sync::Arc<[u8]>,
    },
    Delete {
        key: String,
    },
}

pub(crate) struct Loaded {
    /// Every revision handed out so far is at most this.
    pub(crate) ceiling: u64,
    pub(crate) objects: Vec<(String, Vec<u8>)>,
}

pub(crate) trait Backend: Send {
    fn load(&mut self) -> Result<Loaded>;
    /// Applies `changes` (and the new ceiling, if any) atomically; returns
    /// only once they are durable on disk.
    fn commit(&mut self, changes: &[Change], ceiling: Option<u64>) -> Result<()>;
}
