//! Container logs from the CRI-format files the runtime writes
//! (`<RFC3339Nano> stdout|stderr F|P <msg>`), one file per run:
//! DATA/pods/<uid>/logs/<container>/<restartCount>.log.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use jiff::Timestamp;
use tokio::io::AsyncReadExt;

/// What `kubectl logs` asks for (the container is already chosen).
#[derive(Debug, Clone, Default)]
pub(crate) struct LogRequest {
    pub(crate) follow: bool,
    pub(crate) previous: bool,
    pub(crate) tail_lines: Option<i64>,
    pub(crate) since_seconds: Option<i64>,
    pub(crate) since_time: Option<Timestamp>,
    pub(crate) timestamps: bool,
    pub(crate) limit_bytes: Option<i64>,
}

/// One logical line: partial segments joined, newline included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) ts_text: String,
    pub(crate) ts: Option<Timestamp>,
    pub(crate) stream: String,
    pub(crate) line: Vec<u8>,
}

/// Splits the file's bytes into records; keeps incomplete input for later.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    carry: Vec<u8>,
    partial: Option<Record>,
}

impl Parser {
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut Vec<Record>) {
        self.carry.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = self.carry[start..].iter().position(|b| *b == b'\n') {
            let line = self.carry[start..start + nl].to_vec();
            start += nl + 1;
            self.line(&line, out);
        }
        self.carry.drain(..start);
    }

    fn line(&mut self, raw: &[u8], out: &mut Vec<Record>) {
        let mut parts = raw.splitn(4, |b| *b == b' ');
        let (Some(ts), Some(stream), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let msg = parts.next().unwrap_or_default();
        let ts_text = String::from_utf8_lossy(ts).into_owned();
        let rec = self.partial.get_or_insert_with(|| Record {
            ts: ts_text.parse().ok(),
            ts_text,
            stream: String::from_utf8_lossy(stream).into_owned(),
            line: Vec::new(),
        });
        rec.line.extend_from_slice(msg);
        if tag != b"P" {
            let mut rec = self.partial.take().unwrap_or_else(|| unreachable!());
            rec.line.push(b'\n');
            out.push(rec);
        }
    }
}

/// The end of a run's log as plain text (at most `max_lines` lines and
/// `max_bytes` bytes), for terminationMessagePolicy FallbackToLogsOnError.
pub(crate) fn tail_text(path: &Path, max_lines: usize, max_bytes: usize) -> Option<String> {
    let data = std::fs::read(path).ok()?;
    let mut out = Vec::new();
    Parser::default().feed(&data, &mut out);
    let skip = out.len().saturating_sub(max_lines);
    let text: Vec<u8> = out[skip..]
        .iter()
        .flat_map(|r| r.line.iter().copied())
        .collect();
    let start = text.len().saturating_sub(max_bytes);
    let s = String::from_utf8_lossy(&text[start..]).into_owned();
    (!s.is_empty()).then_some(s)
}

/// The run files of a container, oldest first, by restart count.
pub(crate) fn runs(dir: &Path) -> Vec<(i32, PathBuf)> {
    let mut v: Vec<(i32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_suffix(".log")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    v.sort();
    v
}

/// The file to read: the newest run, or with `previous` the one before.
pub(crate) fn select(
    pod_dir: &Path,
    pod: &str,
    container: &str,
    previous: bool,
) -> io::Result<PathBuf> {
    let files = runs(&pod_dir.join("logs").join(container));
    let pick = if previous {
        files.len().checked_sub(2).map(|i| files[i].1.clone())
    } else {
        files.last().map(|f| f.1.clone())
    };
    pick.ok_or_else(|| {
        let msg = if previous {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        } else {
            format!("container \"{container}\" in pod \"{pod}\" has no logs yet")
        };
        io::Error::new(io::ErrorKind::NotFound, msg)
    })
}

struct Reader {
    file: tokio::fs::File,
    parser: Parser,
    queue: VecDeque<Bytes>,
    since: Option<Timestamp>,
    timestamps: bool,
    left: Option<u64>,
    follow: bool,
    running: Arc<dyn Fn() -> bool + Send + Sync>,
    done: bool,
}

impl Reader {
    fn render(&self, r: &Record) -> Option<Bytes> {
        if let (Some(since), Some(ts)) = (self.since, r.ts)
            && ts < since
        {
            return None;
        }
        let mut b = Vec::with_capacity(r.line.len() + 32);
        if self.timestamps {
            b.extend_from_slice(r.ts_text.as_bytes());
            b.push(b' ');
        }
        b.extend_from_slice(&r.line);
        Some(Bytes::from(b))
    }

    fn push(&mut self, records: Vec<Record>) {
        for r in records {
            if let Some(b) = self.render(&r) {
                self.queue.push_back(b);
            }
        }
    }

    async fn read_more(&mut self) -> io::Result<bool> {
        let mut buf = Vec::new();
        self.file.read_to_end(&mut buf).await?;
        let mut out = Vec::new();
        self.parser.feed(&buf, &mut out);
        let any = !out.is_empty();
        self.push(out);
        Ok(any)
    }

    fn take(&mut self) -> Option<Bytes> {
        let mut b = self.queue.pop_front()?;
        if let Some(left) = self.left.as_mut() {
            if (b.len() as u64) >= *left {
                b.truncate(*left as usize);
                self.done = true;
                self.queue.clear();
            }
            *left -= b.len() as u64;
        }
        Some(b)
    }
}

/// Reads `path` per `req`. With `follow`, new lines are polled for until
/// `running` says the container ended.
pub(crate) async fn read(
    path: &Path,
    req: &LogRequest,
    running: Arc<dyn Fn() -> bool + Send + Sync>,
) -> io::Result<impl Stream<Item = io::Result<Bytes>> + Send + use<>> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut all = Vec::new();
    file.read_to_end(&mut all).await?;
    let mut parser = Parser::default();
    let mut records = Vec::new();
    parser.feed(&all, &mut records);
    let since = match (req.since_time, req.since_seconds) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(s.max(0)))
            .ok(),
        _ => None,
    };
    let mut reader = Reader {
        file,
        parser,
        queue: VecDeque::new(),
        since,
        timestamps: req.timestamps,
        left: req.limit_bytes.filter(|l| *l > 0).map(|l| l as u64),
        follow: req.follow,
        running,
        done: false,
    };
    if let Some(n) = req.tail_lines.filter(|n| *n >= 0) {
        let skip = records.len().saturating_sub(n as usize);
        records.drain(..skip);
    }
    reader.push(records);
    Ok(futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            if let Some(b) = r.take() {
                return Some((Ok(b), r));
            }
            if r.done || !r.follow {
                return None;
            }
            let alive = (r.running)();
            match r.read_more().await {
                Ok(true) => continue,
                Ok(false) if !alive => return None,
                Ok(false) => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(e) => {
                    r.done = true;
                    return Some((Err(e), r));
                }
            }
        }
    }))
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
