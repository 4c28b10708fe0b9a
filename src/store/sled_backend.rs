use std::path::Path;

use super::backend::{Backend, Change, Loaded};
use super::{Error, Result};

const CEILING: &[u8] = b"\0meta/revision-ceiling";

/// sled flushes in the background every 500 ms by default; a commit here
/// calls `flush` so that nothing is acknowledged before it is on disk.
pub(crate) struct SledBackend {
    db: sled::Db,
    /// Set when a flush failed after a batch was applied: sled may still
    /// persist that batch later, so no further commit is accepted until a
    /// restart reloads what is really on disk.
    poisoned: bool,
}

fn boxed<E: std::error::Error + Send + Sync + 'static>(
    e: E,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

impl SledBackend {
    pub(crate) fn open(path: &Path) -> Result<SledBackend> {
        // sled's file lock follows the open file description, which a
        // child process holds from fork until exec: a reopen right after a
        // close can find it still taken for a moment while this process
        // starts others (shims, nft). Wait that out, briefly.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let db = loop {
            match sled::Config::new()
                .path(path)
                // No background flusher: every commit flushes itself, and
                // an idle box must not write.
                .flush_every_ms(None)
                .open()
            {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::Other
                        && e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(Error::Open {
                        path: path.display().to_string(),
                        source: boxed(e),
                    });
                }
            }
        };
        Ok(SledBackend {
            db,
            poisoned: false,
        })
    }
}

impl Backend for SledBackend {
    fn load(&mut self) -> Result<Loaded> {
        let mut ceiling = 0;
        let mut objects = Vec::new();
        for entry in self.db.iter() {
            let (k, v) = entry.map_err(|e| Error::Load(boxed(e)))?;
            if &*k == CEILING {
                let mut buf = [0u8; 8];
                if v.len() == 8 {
                    buf.copy_from_slice(&v);
                }
                ceiling = u64::from_be_bytes(buf);
                continue;
            }
            let key = String::from_utf8_lossy(&k).into_owned();
            objects.push((key, v.to_vec()));
        }
        Ok(Loaded { ceiling, objects })
    }

    fn commit(&mut self, changes: &[Change], ceiling: Option<u64>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for change in changes {
            match change {
                Change::Put { key, value } => batch.insert(key.as_bytes(), &value[..]),
                Change::Delete { key } => batch.remove(key.as_bytes()),
            }
        }
        if let Some(c) = ceiling {
            batch.insert(CEILING, &c.to_be_bytes());
        }
        if self.poisoned {
            return Err(Error::Commit(
                "an earlier flush failed; restart to reload the store".into(),
            ));
        }
        self.db
            .apply_batch(batch)
            .map_err(|e| Error::Commit(boxed(e)))?;
        if let Err(e) = self.db.flush() {
            self.poisoned = true;
            return Err(Error::Commit(boxed(e)));
        }
        Ok(())
    }
}
