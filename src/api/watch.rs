//! Watch streams: one JSON event per line, as upstream streams them.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::handlers::{Render, api_version};
use super::query::Query;
use super::table;
use crate::registry::resources::ResourceDef;
use crate::registry::{Registry, Result, WatchOpts};
use crate::store::{Event, EventType};

/// Upstream closes watches after a random 30-60 minutes unless the client
/// asks for less.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);

pub(crate) async fn serve(
    registry: Registry,
    def: &'static ResourceDef,
    ns: Option<&str>,
    query: &Query,
    render: Render,
) -> Result<Response> {
    let opts = query.watch_opts(def)?;
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let bookmarks = query.flag("allowWatchBookmarks");
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    match registry.watch(def, ns, &opts) {
        Ok(start) => {
            let watcher = Watcher {
                registry,
                def,
                opts,
                render,
                query_include: query.get("includeObject").map(String::from),
                tx,
            };
            tokio::spawn(watcher.run(start, timeout, bookmarks));
        }
        // Upstream answers 200 and reports the expired revision as an
        // ERROR event, so clients relist.
        Err(e) if e.code == 410 => {
            let line = line(&json!({ "type": "ERROR", "object": e.status() }));
            let _ = tx.send(line).await;
        }
        Err(e) => return Err(e),
    }
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

struct Watcher {
    registry: Registry,
    def: &'static ResourceDef,
    opts: WatchOpts,
    render: Render,
    query_include: Option<String>,
    tx: mpsc::Sender<Bytes>,
}

impl Watcher {
    fn matches(&self, v: &Value) -> bool {
        self.opts.labels.matches(v) && self.opts.fields.matches(v)
    }

    async fn send(&self, kind: &str, obj: &Arc<Value>) -> bool {
        let shown = match self.registry.present(self.def, obj) {
            Ok(shown) => shown,
            // An object that cannot be converted ends the watch with the
            // error, as upstream's watch of an unconvertible object does.
            Err(e) => {
                let error = json!({ "type": "ERROR", "object": e.status() });
                let _ = self.tx.send(line(&error)).await;
                return false;
            }
        };
        let object =
            table::render_event(self.def, &shown, self.render, self.query_include.as_deref());
        self.tx
            .send(line(&json!({ "type": kind, "object": object })))
            .await
            .is_ok()
    }

    async fn bookmark(&self, rev: u64, initial_end: bool) -> bool {
        let mut meta = json!({ "resourceVersion": rev.to_string() });
        if initial_end {
            meta["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let object =
            json!({ "kind": self.def.kind, "apiVersion": api_version(self.def), "metadata": meta });
        self.tx
            .send(line(&json!({ "type": "BOOKMARK", "object": object })))
            .await
            .is_ok()
    }

    /// Sends `event` as the client's selectors see it: objects that start
    /// or stop matching appear as added or deleted.
    async fn forward(&self, event: &Event) -> bool {
        let now = self.matches(&event.object);
        let before = event.prev.as_ref().is_some_and(|p| self.matches(p));
        let kind = match (event.kind, before, now) {
            (EventType::Added, _, true) => "ADDED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            (EventType::Deleted, _, true) => "DELETED",
            _ => return true,
        };
        self.send(kind, &event.object).await
    }

    async fn run(self, start: crate::registry::WatchStart, timeout: Duration, bookmarks: bool) {
        let mut rev = start.rev;
        let mut rx = start.rx;
        for obj in &start.initial {
            if !self.send("ADDED", obj).await {
                return;
            }
        }
        if start.initial_events_end && !self.bookmark(rev, true).await {
            return;
        }
        for event in &start.backlog {
            if !self.forward(event).await {
                return;
            }
            rev = event.rev;
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = self.tx.closed() => return,
                _ = ticker.tick(), if bookmarks => {
                    if !self.bookmark(rev, false).await {
                        return;
                    }
                }
                received = rx.recv() => match received {
                    Ok(event) => {
                        if event.rev <= rev || !event.key.starts_with(&start.prefix) {
                            continue;
                        }
                        rev = event.rev;
                        if !self.forward(&event).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let status = crate::registry::ApiError::expired(format!("too old resource version: {rev}")).status();
                        let _ = self.tx.send(line(&json!({ "type": "ERROR", "object": status }))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }
}
