//! The pod network and recovery on the embedded kubelet: pod-to-pod
//! traffic, egress to a server outside the pod network, port-forward, and
//! pods healthy again after a kill -9 of sovedge.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::site::site;

fn web(name: &str, image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: web\n    image: {image}\n    command: [sh, -c, 'mkdir -p /www && echo hello from {name} > /www/index.html && exec httpd -f -p 8080 -h /www']\n    ports:\n    - containerPort: 8080\n"
    )
}

#[test]
fn pod_to_pod_egress_port_forward_and_restart() {
    let Some(mut site) = site() else { return };
    let ns = site.server.namespace("1.33", "net");
    let image = site.image();
    site.apply(&ns, &web("a", &image));
    site.apply(&ns, &web("b", &image));
    site.wait(&ns, "a", "{.status.phase}", "Running");
    site.wait(&ns, "b", "{.status.phase}", "Running");
    let ip_a = site.server.ok(
        "1.33",
        &[
            "-n",
            &ns,
            "get",
            "pod",
            "a",
            "-o",
            "jsonpath={.status.podIP}",
        ],
    );

    // Pod to pod.
    let got = site.exec(
        &ns,
        "b",
        &[
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{ip_a}:8080/index.html"),
        ],
    );
    assert_eq!(got, "hello from a\n");

    // Egress to a server on the host, outside the pod network.
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let host_ip = site.server.ok(
        "1.33",
        &[
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[0].status.addresses[?(@.type==\"InternalIP\")].address}",
        ],
    );
    let server = std::thread::spawn(move || {
        let (mut c, peer) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = c.read(&mut buf).unwrap();
        c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\noutside")
            .unwrap();
        peer
    });
    let got = site.exec(
        &ns,
        "a",
        &[
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{host_ip}:{port}/"),
        ],
    );
    assert_eq!(got, "outside");
    let peer = server.join().unwrap();
    assert!(!peer.ip().is_loopback(), "{peer}");

    // Port-forward with both kubectl releases.
    for v in common::KUBECTL_VERSIONS {
        let local = common::free_port();
        let mut pf = Command::new(common::kubectl_path(v))
            .args(["-n", &ns, "port-forward", "pod/a", &format!("{local}:8080")])
            .env("KUBECONFIG", site.server.kubeconfig())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let body = loop {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", local)) {
                c.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").unwrap();
                let mut out = String::new();
                let _ = c.read_to_string(&mut out);
                if !out.is_empty() {
                    break out;
                }
            }
            assert!(
                Instant::now() < deadline,
                "port-forward with {v} never answered"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        let _ = pf.kill();
        let _ = pf.wait();
        assert!(body.ends_with("hello from a\n"), "{body}");
    }

    // kill -9 of sovedge: the pods keep running and are served again.
    let before = site.server.ok(
        "1.33",
        &[
            "-n",
            &ns,
            "get",
            "pod",
            "a",
            "-o",
            "jsonpath={.status.containerStatuses[0].containerID}",
        ],
    );
    site.server.kill();
    site.server.spawn();
    site.wait(
        &ns,
        "a",
        "{.status.conditions[?(@.type==\"Ready\")].status}",
        "True",
    );
    let after = site.server.ok("1.33", &["-n", &ns, "get", "pod", "a", "-o", "jsonpath={.status.containerStatuses[0].containerID}/{.status.containerStatuses[0].restartCount}"]);
    assert_eq!(
        after,
        format!("{before}/0"),
        "the container was not adopted"
    );
    let got = site.exec(
        &ns,
        "b",
        &[
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{ip_a}:8080/index.html"),
        ],
    );
    assert_eq!(got, "hello from a\n");
    assert_eq!(
        site.exec(&ns, "a", &["cat", "/www/index.html"]),
        "hello from a\n"
    );
    // Deleting after the restart stops the adopted containers.
    site.server.ok(
        "1.33",
        &["-n", &ns, "delete", "pod", "a", "b", "--grace-period=1"],
    );
}
