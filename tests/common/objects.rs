//! Helpers the kubectl workflow tests share: files in the server's data
//! directory, objects read back as JSON, upstream's container defaults.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use super::json as parse;
use super::{Server, kubectl_path};

/// kubectl with extra environment (EDITOR) and the server's kubeconfig.
pub fn kubectl_env(s: &Server, v: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(kubectl_path(v));
    cmd.args(args)
        .env("KUBECONFIG", s.kubeconfig())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdin(Stdio::null());
    for (k, val) in env {
        cmd.env(k, val);
    }
    cmd.output().expect("run kubectl")
}

pub fn write(s: &Server, name: &str, text: &str) -> PathBuf {
    let path = s.data_dir().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

pub fn get(s: &Server, v: &str, ns: &str, what: &str) -> Value {
    parse(&s.ok(v, &["get", "-n", ns, what, "-o", "json"]))
}

/// The value at a JSON pointer, null when absent. Tests compare whole
/// sub-objects this way, so a missing default or a stray field fails them.
pub fn at<'a>(v: &'a Value, ptr: &str) -> &'a Value {
    v.pointer(ptr).unwrap_or(&Value::Null)
}

/// The fields upstream defaults on every container of a pod template.
pub fn container(extra: Value) -> Value {
    let mut c = json!({
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    });
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    c
}
