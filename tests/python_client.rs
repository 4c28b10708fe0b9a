//! The official Python client from PyPI: create, list, watch round trip.

mod common;

use std::process::Command;

#[test]
fn python_client_round_trip() {
    let python = std::env::var("SOVEDGE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import kubernetes"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "the Python `kubernetes` client is not installed for {python}; run hack/test, which installs it"
    );
    let s = common::Server::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/roundtrip.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(s.kubeconfig())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
}
