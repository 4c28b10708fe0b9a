use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::backend::{Backend, Change, Loaded};
use super::{Error, Result};

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CEILING: &str = "revision-ceiling";

pub(crate) struct RedbBackend {
    db: Database,
}

fn boxed<E: std::error::Error + Send + Sync + 'static>(
    e: E,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

impl RedbBackend {
    pub(crate) fn open(path: &Path) -> Result<RedbBackend> {
        // As for sled: a child between fork and exec may hold the file
        // lock of a database just closed for a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let db = loop {
            match Database::create(path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen)
                    if std::time::Instant::now() < deadline =>
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
        Ok(RedbBackend { db })
    }
}

impl Backend for RedbBackend {
    fn load(&mut self) -> Result<Loaded> {
        let load = || -> std::result::Result<Loaded, Box<dyn std::error::Error + Send + Sync>> {
            // Create the tables on first start so reads below find them.
            let txn = self.db.begin_write()?;
            txn.open_table(OBJECTS)?;
            txn.open_table(META)?;
            txn.commit()?;
            let txn = self.db.begin_read()?;
            let meta = txn.open_table(META)?;
            let ceiling = meta.get(CEILING)?.map(|v| v.value()).unwrap_or(0);
            let table = txn.open_table(OBJECTS)?;
            let mut objects = Vec::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                objects.push((k.value().to_string(), v.value().to_vec()));
            }
            Ok(Loaded { ceiling, objects })
        };
        load().map_err(Error::Load)
    }

    fn commit(&mut self, changes: &[Change], ceiling: Option<u64>) -> Result<()> {
        let commit = || -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
            let mut txn = self.db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            {
                let mut table = txn.open_table(OBJECTS)?;
                for change in changes {
                    match change {
                        Change::Put { key, value } => {
                            table.insert(key.as_str(), &value[..])?;
                        }
                        Change::Delete { key } => {
                            table.remove(key.as_str())?;
                        }
                    }
                }
                if let Some(c) = ceiling {
                    txn.open_table(META)?.insert(CEILING, c)?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        commit().map_err(Error::Commit)
    }
}
