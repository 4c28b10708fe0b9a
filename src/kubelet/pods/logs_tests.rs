use super::*;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};

const SAMPLE: &str = "2026-01-01T00:00:01.000000001Z stdout F one\n\
2026-01-01T00:00:02.5Z stderr P tw\n\
2026-01-01T00:00:02.6Z stderr F o\n\
2026-01-01T00:00:03Z stdout F three\n\
2026-01-01T00:00:04Z stdout P incomplete";

async fn collect(path: &Path, req: LogRequest) -> String {
    let s = read(path, &req, Arc::new(|| false)).await.unwrap();
    let parts: Vec<Bytes> = s.map(|b| b.unwrap()).collect().await;
    String::from_utf8(parts.concat()).unwrap()
}

fn file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("0.log");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn parser_joins_partial_lines() {
    let mut p = Parser::default();
    let mut out = vec![];
    p.feed(SAMPLE.as_bytes(), &mut out);
    let lines: Vec<String> = out
        .iter()
        .map(|r| String::from_utf8(r.line.clone()).unwrap())
        .collect();
    assert_eq!(lines, ["one\n", "two\n", "three\n"]);
    assert_eq!(out[1].stream, "stderr");
    assert_eq!(out[1].ts_text, "2026-01-01T00:00:02.5Z");
    p.feed(b"\n", &mut out);
    assert_eq!(out.len(), 3, "a P line without its F stays open");
    p.feed(b"2026-01-01T00:00:05Z stdout F  done\n", &mut out);
    assert_eq!(out[3].line, b"incomplete done\n");
}

#[tokio::test]
async fn tail_since_timestamps_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), SAMPLE);
    assert_eq!(
        collect(&p, LogRequest::default()).await,
        "one\ntwo\nthree\n"
    );
    assert_eq!(
        collect(
            &p,
            LogRequest {
                tail_lines: Some(2),
                ..Default::default()
            }
        )
        .await,
        "two\nthree\n"
    );
    assert_eq!(
        collect(
            &p,
            LogRequest {
                tail_lines: Some(0),
                ..Default::default()
            }
        )
        .await,
        ""
    );
    let since = "2026-01-01T00:00:02Z".parse().unwrap();
    assert_eq!(
        collect(
            &p,
            LogRequest {
                since_time: Some(since),
                ..Default::default()
            }
        )
        .await,
        "two\nthree\n"
    );
    assert_eq!(
        collect(
            &p,
            LogRequest {
                timestamps: true,
                tail_lines: Some(1),
                ..Default::default()
            }
        )
        .await,
        "2026-01-01T00:00:03Z three\n"
    );
    assert_eq!(
        collect(
            &p,
            LogRequest {
                limit_bytes: Some(6),
                ..Default::default()
            }
        )
        .await,
        "one\ntw"
    );
    // Lines older than since_seconds are dropped: the sample is in the past.
    assert_eq!(
        collect(
            &p,
            LogRequest {
                since_seconds: Some(60),
                ..Default::default()
            }
        )
        .await,
        ""
    );
}

#[test]
fn tail_text_for_termination_messages() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), SAMPLE);
    assert_eq!(tail_text(&p, 2, 100).as_deref(), Some("two\nthree\n"));
    assert_eq!(tail_text(&p, 80, 4).as_deref(), Some("ree\n"));
    assert_eq!(tail_text(&dir.path().join("none"), 80, 4), None);
}

#[test]
fn previous_selects_the_run_before() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs").join("app");
    std::fs::create_dir_all(&logs).unwrap();
    assert!(select(dir.path(), "web", "app", false).is_err());
    for n in [0, 1, 10] {
        std::fs::write(logs.join(format!("{n}.log")), "").unwrap();
    }
    assert_eq!(
        select(dir.path(), "web", "app", false).unwrap(),
        logs.join("10.log")
    );
    assert_eq!(
        select(dir.path(), "web", "app", true).unwrap(),
        logs.join("1.log")
    );
    std::fs::remove_file(logs.join("0.log")).unwrap();
    std::fs::remove_file(logs.join("1.log")).unwrap();
    let err = select(dir.path(), "web", "app", true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "previous terminated container \"app\" in pod \"web\" not found"
    );
}

#[tokio::test]
async fn follow_streams_new_lines_until_the_container_ends() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "2026-01-01T00:00:01Z stdout F first\n");
    let alive = Arc::new(AtomicBool::new(true));
    let flag = alive.clone();
    let req = LogRequest {
        follow: true,
        ..Default::default()
    };
    let mut s = Box::pin(
        read(&p, &req, Arc::new(move || flag.load(Ordering::SeqCst)))
            .await
            .unwrap(),
    );
    assert_eq!(s.next().await.unwrap().unwrap(), "first\n");
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    use std::io::Write;
    f.write_all(b"2026-01-01T00:00:02Z stdout F sec").unwrap();
    f.write_all(b"ond\n").unwrap();
    assert_eq!(s.next().await.unwrap().unwrap(), "second\n");
    alive.store(false, Ordering::SeqCst);
    assert!(s.next().await.is_none());
}
