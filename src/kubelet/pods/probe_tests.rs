use super::*;
use crate::kubelet::pods::fakes::Fakes;
use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, TCPSocketAction};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn target(f: &Fakes, ports: Vec<ContainerPort>) -> Arc<Target> {
    Arc::new(Target {
        runtime: f.runtime.clone(),
        net: f.net.clone(),
        container_id: "c1".into(),
        netns: None,
        pod_ip: None,
        ports,
    })
}

#[tokio::test(start_paused = true)]
async fn thresholds_turn_results_into_transitions() {
    let f = Fakes::new();
    f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("check".into(), 1);
    let probe = Probe {
        exec: Some(ExecAction {
            command: Some(vec!["check".into()]),
        }),
        initial_delay_seconds: Some(5),
        period_seconds: Some(10),
        success_threshold: Some(2),
        failure_threshold: Some(2),
        ..Default::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_started, started_rx) = watch::channel(true);
    let task = spawn(
        Kind::Readiness,
        probe,
        target(&f, vec![]),
        "app".into(),
        started_rx,
        tx,
    );
    let mut seen = vec![];
    // 5 s delay, failures at 5 s and 15 s: the second crosses the threshold.
    while seen.len() < 3 {
        seen.push(rx.recv().await.unwrap().outcome);
    }
    assert_eq!(
        seen,
        [
            Outcome::Failed("Readiness probe failed: probe says no".into()),
            Outcome::Failed("Readiness probe failed: probe says no".into()),
            Outcome::Changed(false),
        ]
    );
    f.runtime
        .exec_codes
        .lock()
        .unwrap()
        .insert("check".into(), 0);
    // Two successes needed before passing.
    let t0 = tokio::time::Instant::now();
    assert_eq!(rx.recv().await.unwrap().outcome, Outcome::Changed(true));
    assert!(t0.elapsed() >= Duration::from_secs(10));
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn liveness_waits_for_startup() {
    let f = Fakes::new();
    let probe = Probe {
        exec: Some(ExecAction {
            command: Some(vec!["ok".into()]),
        }),
        ..Default::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (started, started_rx) = watch::channel(false);
    let task = spawn(
        Kind::Liveness,
        probe,
        target(&f, vec![]),
        "app".into(),
        started_rx,
        tx,
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(rx.try_recv().is_err());
    assert!(!f.calls().iter().any(|c| c.starts_with("exec")));
    started.send(true).unwrap();
    assert_eq!(rx.recv().await.unwrap().outcome, Outcome::Changed(true));
    task.abort();
}

async fn serve_once(response: &'static [u8]) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(response).await;
        }
    });
    port
}

#[tokio::test]
async fn http_and_tcp_probes_with_named_ports() {
    let f = Fakes::new();
    let ok = serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let bad = serve_once(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").await;
    let ports = vec![ContainerPort {
        name: Some("web".into()),
        container_port: i32::from(ok),
        ..Default::default()
    }];
    let t = target(&f, ports);
    let http = |port: IntOrString| {
        Action::from_probe(&Probe {
            http_get: Some(HTTPGetAction {
                port,
                path: Some("/healthz".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap()
    };
    let timeout = Duration::from_secs(5);
    assert_eq!(
        run(&t, &http(IntOrString::String("web".into())), timeout).await,
        Ok(())
    );
    assert_eq!(
        run(&t, &http(IntOrString::Int(i32::from(bad))), timeout).await,
        Err("HTTP probe failed with statuscode: 503".into())
    );
    assert_eq!(
        run(&t, &http(IntOrString::String("nope".into())), timeout).await,
        Err("couldn't find port: nope".into())
    );
    let tcp = Action::from_probe(&Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(i32::from(ok)),
            host: None,
        }),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(run(&t, &tcp, timeout).await, Ok(()));
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let tcp = Action::Tcp {
        host: None,
        port: IntOrString::Int(i32::from(port)),
    };
    assert!(run(&t, &tcp, timeout).await.is_err());
}

#[test]
fn grpc_health_response_parsing() {
    assert_eq!(parse_health_status(&[0x08, 0x01]), 1);
    assert_eq!(parse_health_status(&[0x08, 0x02]), 2);
    assert_eq!(parse_health_status(&[]), 0);
    // An unknown length-delimited field before the status is skipped.
    assert_eq!(
        parse_health_status(&[0x12, 0x02, b'h', b'i', 0x08, 0x01]),
        1
    );
}

#[tokio::test]
async fn grpc_health_check_over_h2c() {
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        // "down" asks for NOT_SERVING.
                        let status = if body.windows(4).any(|w| w == b"down") {
                            2u8
                        } else {
                            1u8
                        };
                        let mut trailers = http::HeaderMap::new();
                        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                        let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
                            Ok(Frame::data(Bytes::from(vec![0, 0, 0, 0, 2, 0x08, status]))),
                            Ok(Frame::trailers(trailers)),
                        ];
                        let resp = http::Response::builder()
                            .header("content-type", "application/grpc")
                            .body(StreamBody::new(futures_util::stream::iter(frames)))
                            .unwrap();
                        Ok::<_, std::convert::Infallible>(resp)
                    },
                );
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    let f = Fakes::new();
    let t = target(&f, vec![]);
    let timeout = Duration::from_secs(5);
    assert_eq!(
        run(
            &t,
            &Action::Grpc {
                port,
                service: String::new()
            },
            timeout
        )
        .await,
        Ok(())
    );
    assert_eq!(
        run(
            &t,
            &Action::Grpc {
                port,
                service: "down".into()
            },
            timeout
        )
        .await,
        Err("service unhealthy (responded with \"NOT_SERVING\")".into())
    );
}
