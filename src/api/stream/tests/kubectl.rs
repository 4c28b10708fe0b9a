use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::{Fixture, VERSIONS, kubectl_missing};

#[tokio::test(flavor = "multi_thread")]
async fn exec_output_and_exit_codes() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    for v in VERSIONS {
        let (code, out, err) = f
            .run(
                v,
                &["exec", "web", "--", "sh", "-c", "echo out; echo err >&2"],
                b"",
            )
            .await;
        assert_eq!(code, 0, "kubectl {v}: {err}");
        assert_eq!(out, "out\n", "kubectl {v}");
        assert!(err.contains("err"), "kubectl {v}: {err}");
        let (code, _, err) = f
            .run(v, &["exec", "web", "--", "sh", "-c", "exit 3"], b"")
            .await;
        assert_eq!(code, 3, "kubectl {v} propagates the exit code: {err}");
        assert!(err.contains("exit code 3"), "kubectl {v}: {err}");
    }
    let calls = f.fake.seen.lock().unwrap().calls.clone();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("exec default/web/app [\"sh\", \"-c\", \"exit 3\"]")),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_with_stdin() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    for v in VERSIONS {
        let (code, out, err) = f
            .run(
                v,
                &["exec", "-i", "web", "--", "tr", "a-z", "A-Z"],
                b"hello\n",
            )
            .await;
        assert_eq!((code, out.as_str()), (0, "HELLO\n"), "kubectl {v}: {err}");
        // More than a few frames each way.
        let (code, out, err) = f
            .run(v, &["exec", "-i", "web", "--", "cat"], big.as_bytes())
            .await;
        assert_eq!(code, 0, "kubectl {v}: {err}");
        assert_eq!(out.len(), big.len(), "kubectl {v}");
        assert!(out == big, "kubectl {v}: output differs from input");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_with_terminal() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    for v in VERSIONS {
        // kubectl wants a terminal of its own for -t: `script` provides one.
        let line = format!(
            "stty cols 101 rows 33; {} --kubeconfig {} exec -it web -- sh -c 'test -t 0 && echo is-a-tty; read x; echo got-$x'",
            super::kubectl_path(v).display(),
            f.kubeconfig().display()
        );
        let mut child = tokio::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("HOME", f.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        let mut buf = [0u8; 1024];
        // Type only once the remote shell is there.
        while !seen.contains("is-a-tty") {
            let n = tokio::time::timeout(Duration::from_secs(30), stdout.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("kubectl {v}: no tty output, got {seen:?}"))
                .unwrap();
            assert!(n > 0, "kubectl {v}: ended early: {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        stdin.write_all(b"abc\r").await.unwrap();
        while !seen.contains("got-abc") {
            let n = tokio::time::timeout(Duration::from_secs(30), stdout.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("kubectl {v}: no reply, got {seen:?}"))
                .unwrap();
            assert!(n > 0, "kubectl {v}: ended early: {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "kubectl {v}: {seen:?}");
    }
    let seen = f.fake.seen.lock().unwrap();
    assert!(
        seen.calls.iter().filter(|c| c.contains("tty=true")).count() == VERSIONS.len(),
        "{:?}",
        seen.calls
    );
    assert!(seen.resizes.contains(&(101, 33)), "{:?}", seen.resizes);
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_with_stdin() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    for v in VERSIONS {
        let (code, out, err) = f
            .run(v, &["attach", "-i", "web", "-c", "app"], b"ping\n")
            .await;
        assert_eq!(code, 0, "kubectl {v}: {err}");
        assert!(out.contains("attached-output"), "kubectl {v}: {out}");
        assert!(out.contains("ping"), "kubectl {v}: {out}");
    }
    let calls = f.fake.seen.lock().unwrap().calls.clone();
    assert!(
        calls
            .iter()
            .any(|c| c == "attach default/web/app tty=false stdin=true"),
        "{calls:?}"
    );
}

async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (rd, mut wr) = sock.into_split();
                let mut lines = BufReader::new(rd).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if wr
                        .write_all(format!("echo:{line}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn port_forward_round_trip() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    let remote = echo_server().await;
    for v in VERSIONS {
        let mut child = f
            .kubectl(v)
            .args(["port-forward", "pod/web", &format!(":{remote}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let local: u16 = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .unwrap()
                .unwrap()
                .unwrap_or_else(|| panic!("kubectl {v} port-forward ended"));
            if let Some(rest) = line.strip_prefix("Forwarding from 127.0.0.1:") {
                break rest.split(' ').next().unwrap().parse().unwrap();
            }
        };
        // Two connections, each with a few round trips.
        for round in 0..2 {
            let sock = tokio::net::TcpStream::connect(("127.0.0.1", local))
                .await
                .unwrap();
            let (rd, mut wr) = sock.into_split();
            let mut replies = BufReader::new(rd).lines();
            for i in 0..3 {
                wr.write_all(format!("hi-{round}-{i}\n").as_bytes())
                    .await
                    .unwrap();
                let reply = tokio::time::timeout(Duration::from_secs(30), replies.next_line())
                    .await
                    .unwrap_or_else(|_| panic!("kubectl {v}: no reply"))
                    .unwrap();
                assert_eq!(
                    reply.as_deref(),
                    Some(format!("echo:hi-{round}-{i}").as_str()),
                    "kubectl {v}"
                );
            }
        }
        child.kill().await.unwrap();
    }
    let calls = f.fake.seen.lock().unwrap().calls.clone();
    assert!(
        calls
            .iter()
            .filter(|c| **c == format!("portforward default/web {remote}"))
            .count()
            >= 4,
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_tail_and_follow() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    for v in VERSIONS {
        std::fs::write(&f.fake.logs, "one\ntwo\nthree\n").unwrap();
        let (code, out, err) = f.run(v, &["logs", "web", "--tail=2"], b"").await;
        assert_eq!(
            (code, out.as_str()),
            (0, "two\nthree\n"),
            "kubectl {v}: {err}"
        );
        let mut child = f
            .kubectl(v)
            .args(["logs", "-f", "web", "-c", "app"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for want in ["one", "two", "three"] {
            let got = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.as_deref(), Some(want), "kubectl {v}");
        }
        // Lines written later arrive while following.
        std::fs::write(&f.fake.logs, "one\ntwo\nthree\nfour\n").unwrap();
        let got = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.as_deref(), Some("four"), "kubectl {v}");
        std::fs::write(&f.fake.logs, "one\ntwo\nthree\nfour\nEOF\n").unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "kubectl {v}");
        let (code, _, err) = f.run(v, &["logs", "web", "-c", "nosuch"], b"").await;
        assert_ne!(code, 0);
        assert!(
            err.contains("container nosuch is not valid for pod web"),
            "kubectl {v}: {err}"
        );
    }
    let seen = f.fake.seen.lock().unwrap();
    assert!(
        seen.log_opts
            .iter()
            .any(|o| o.tail_lines == Some(2) && !o.follow)
    );
    assert!(
        seen.log_opts
            .iter()
            .any(|o| o.follow && o.container.as_deref() == Some("app"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cp_both_ways() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    let local = f.dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let content: String = (0..5000).map(|i| format!("row {i}\n")).collect();
    std::fs::write(local.join("up.txt"), &content).unwrap();
    std::fs::write(f.fake.root.join("data/down.txt"), "from the pod\n").unwrap();
    for v in VERSIONS {
        let dest = format!("default/web:/data/up-{v}.txt");
        let (code, _, err) = f
            .run(
                v,
                &["cp", local.join("up.txt").to_str().unwrap(), &dest],
                b"",
            )
            .await;
        assert_eq!(code, 0, "kubectl {v}: {err}");
        let uploaded =
            std::fs::read_to_string(f.fake.root.join(format!("data/up-{v}.txt"))).unwrap();
        assert!(uploaded == content, "kubectl {v}: uploaded file differs");
        let target = local.join(format!("down-{v}.txt"));
        let (code, _, err) = f
            .run(
                v,
                &["cp", "default/web:/data/down.txt", target.to_str().unwrap()],
                b"",
            )
            .await;
        assert_eq!(code, 0, "kubectl {v}: {err}");
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "from the pod\n",
            "kubectl {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_reach_kubectl_as_status() {
    if kubectl_missing() {
        return;
    }
    let f = Fixture::start().await;
    for v in VERSIONS {
        let (code, _, err) = f
            .run(v, &["exec", "web", "-c", "bad", "--", "true"], b"")
            .await;
        assert_ne!(code, 0);
        assert!(
            err.contains("container bad is not valid for pod web"),
            "kubectl {v}: {err}"
        );
        let (code, _, err) = f.run(v, &["exec", "nosuch", "--", "true"], b"").await;
        assert_ne!(code, 0);
        assert!(
            err.contains("pods \"nosuch\" not found"),
            "kubectl {v}: {err}"
        );
        // Without an upgrade (kubectl talks HTTP/2 here) nothing streams.
        let (code, _, err) = f
            .run(
                v,
                &[
                    "get",
                    "--raw",
                    "/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true",
                ],
                b"",
            )
            .await;
        assert_ne!(code, 0);
        assert!(
            err.contains("Upgrade request required"),
            "kubectl {v}: {err}"
        );
        // A command the node cannot start is reported, not hung on.
        let (code, _, err) = f
            .run(v, &["exec", "web", "--", "/no/such/binary"], b"")
            .await;
        assert_ne!(code, 0);
        assert!(err.contains("exec failed"), "kubectl {v}: {err}");
    }
}
