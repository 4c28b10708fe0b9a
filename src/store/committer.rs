//! The single writer: batches concurrent requests into one durable commit.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::backend::{Backend, Change};
use super::{Entry, Error, Event, EventType, IsEphemeral, Op, Result, State, revision_of};

pub(super) const BROADCAST_CAPACITY: usize = 8192;
const QUEUE: usize = 1024;
const MAX_BATCH: usize = 512;
/// Ephemeral writes advance the revision without touching the disk; the
/// backend records a ceiling this far ahead so that a restart never hands
/// out a revision again. One small write per this many ephemeral changes.
const CEILING_STEP: u64 = 100_000;

pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<Arc<Value>>>,
}

pub(super) fn spawn(
    backend: Box<dyn Backend>,
    state: Arc<RwLock<State>>,
    events: broadcast::Sender<Arc<Event>>,
    ceiling: u64,
    ephemeral: IsEphemeral,
) -> Result<(mpsc::Sender<Request>, std::thread::JoinHandle<()>)> {
    // Async senders wait for room without blocking runtime threads; the
    // committer is a plain thread that blocks on the queue.
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut committer = Committer {
        backend,
        state,
        events,
        ceiling,
        ephemeral,
    };
    // The thread ends when every Store handle (and so every sender) is gone.
    let handle = std::thread::Builder::new()
        .name("store-commit".into())
        .spawn(move || committer.run(rx))
        .map_err(Error::Spawn)?;
    Ok((tx, handle))
}

struct Committer {
    backend: Box<dyn Backend>,
    state: Arc<RwLock<State>>,
    events: broadcast::Sender<Arc<Event>>,
    ceiling: u64,
    ephemeral: IsEphemeral,
}

struct Planned {
    event: Event,
    durable: bool,
}

impl Committer {
    fn run(&mut self, mut rx: mpsc::Receiver<Request>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
    }

    fn commit(&mut self, batch: Vec<Request>) {
        let (outcomes, last_rev) = self.plan(&batch);
        let mut changes = Vec::new();
        for planned in outcomes.iter().flatten().filter(|p| p.durable) {
            let e = &planned.event;
            changes.push(match e.kind {
                EventType::Deleted => Change::Delete {
                    key: e.key.to_string(),
                },
                _ => Change::Put {
                    key: e.key.to_string(),
                    value: e.json.clone(),
                },
            });
        }
        let new_ceiling = (last_rev > self.ceiling).then(|| last_rev + CEILING_STEP);
        if !changes.is_empty() || new_ceiling.is_some() {
            if let Err(e) = self.backend.commit(&changes, new_ceiling) {
                let msg = error_chain(&e);
                tracing::error!(error = %msg, "store commit failed");
                for (req, outcome) in batch.into_iter().zip(outcomes) {
                    let answer = match outcome {
                        Ok(_) => Err(Error::Commit(msg.clone().into())),
                        Err(e) => Err(e),
                    };
                    let _ = req.reply.send(answer);
                }
                return;
            }
            if let Some(c) = new_ceiling {
                self.ceiling = c;
            }
        }
        let mut answers = Vec::with_capacity(batch.len());
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            for outcome in outcomes {
                answers.push(outcome.map(|planned| {
                    let event = Arc::new(planned.event);
                    match event.kind {
                        EventType::Deleted => {
                            state.objects.remove(&event.key);
                        }
                        _ => {
                            let entry = Entry {
                                value: event.object.clone(),
                                json: event.json.clone(),
                            };
                            state.objects.insert(event.key.clone(), entry);
                        }
                    }
                    state.rev = event.rev;
                    state.history.push(event.clone());
                    // No receivers is fine: nobody is watching.
                    let _ = self.events.send(event.clone());
                    event.object.clone()
                }));
            }
        }
        for (req, answer) in batch.into_iter().zip(answers) {
            let _ = req.reply.send(answer);
        }
    }

    /// Checks each request against the current state plus the earlier
    /// requests of the batch and assigns revisions.
    fn plan(&self, batch: &[Request]) -> (Vec<Result<Planned>>, u64) {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let mut rev = state.rev;
        let mut overlay: HashMap<&str, Option<Arc<Value>>> = HashMap::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for req in batch {
            let key = req.op.key();
            let current = match overlay.get(key) {
                Some(v) => v.clone(),
                None => state.objects.get(key).map(|e| e.value.clone()),
            };
            let next = rev + 1;
            let guard_ok = |g: &str| {
                let v = match overlay.get(g) {
                    Some(v) => v.clone(),
                    None => state.objects.get(g).map(|e| e.value.clone()),
                };
                v.is_some_and(|v| v.pointer("/metadata/deletionTimestamp").is_none())
            };
            let planned = match (&req.op, current) {
                (Op::Create { guard: Some(g), .. }, _) if !guard_ok(g) => {
                    Err(Error::GuardFailed(g.clone()))
                }
                (Op::Create { .. }, Some(_)) => Err(Error::AlreadyExists(key.to_string())),
                (Op::Create { value, .. }, None) => {
                    Ok((EventType::Added, with_rev(value.clone(), next), None))
                }
                (Op::Update { .. } | Op::Delete { .. }, None) => {
                    Err(Error::NotFound(key.to_string()))
                }
                (
                    Op::Update {
                        value, expected, ..
                    },
                    Some(cur),
                ) => check(key, *expected, &cur).map(|()| {
                    (
                        EventType::Modified,
                        with_rev(value.clone(), next),
                        Some(cur),
                    )
                }),
                (Op::Delete { expected, .. }, Some(cur)) => check(key, *expected, &cur).map(|()| {
                    (
                        EventType::Deleted,
                        with_rev((*cur).clone(), next),
                        Some(cur),
                    )
                }),
            };
            outcomes.push(planned.map(|(kind, object, prev)| {
                rev = next;
                let json: Arc<[u8]> = serde_json::to_vec(&object).unwrap_or_default().into();
                let object = Arc::new(object);
                overlay.insert(key, (kind != EventType::Deleted).then(|| object.clone()));
                Planned {
                    durable: !(self.ephemeral)(key),
                    event: Event {
                        rev: next,
                        kind,
                        key: Arc::from(key),
                        object,
                        json,
                        prev,
                    },
                }
            }));
        }
        (outcomes, rev)
    }
}

fn check(key: &str, expected: Option<u64>, current: &Value) -> Result<()> {
    let found = revision_of(current);
    match expected {
        Some(expected) if expected != found => Err(Error::Conflict {
            key: key.to_string(),
            expected,
            found,
        }),
        _ => Ok(()),
    }
}

fn with_rev(mut value: Value, rev: u64) -> Value {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rev.to_string()));
    }
    value
}

/// An error and its sources, as one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
