use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::json;

use super::*;

#[derive(Default)]
struct Fake {
    config_maps: Mutex<BTreeMap<String, ConfigMap>>,
    secrets: Mutex<BTreeMap<String, Secret>>,
    tokens: Mutex<Vec<TokenSpec>>,
}

impl Fake {
    fn put_config_map(&self, name: &str, data: &[(&str, &str)]) {
        let cm = ConfigMap {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        self.config_maps.lock().unwrap().insert(name.into(), cm);
    }
    fn put_secret(&self, name: &str, data: &[(&str, &str)]) {
        let s = Secret {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        };
        self.secrets.lock().unwrap().insert(name.into(), s);
    }
}

impl VolumeSource for Fake {
    fn config_map<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ConfigMap>>> {
        assert_eq!(namespace, "team");
        let got = self.config_maps.lock().unwrap().get(name).cloned();
        Box::pin(async move { Ok(got) })
    }
    fn secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Secret>>> {
        assert_eq!(namespace, "team");
        let got = self.secrets.lock().unwrap().get(name).cloned();
        Box::pin(async move { Ok(got) })
    }
    fn create_token<'a>(
        &'a self,
        _namespace: &'a str,
        spec: &'a TokenSpec,
    ) -> BoxFuture<'a, Result<IssuedToken>> {
        let mut tokens = self.tokens.lock().unwrap();
        tokens.push(spec.clone());
        let n = tokens.len();
        Box::pin(async move {
            Ok(IssuedToken {
                token: format!("token-{n}"),
                expires_at: jiff::Timestamp::now().as_second() + spec.expiration_seconds,
            })
        })
    }
}

struct Setup {
    fake: Arc<Fake>,
    mounter: Arc<FakeMounter>,
    volumes: Volumes,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let fake = Arc::new(Fake::default());
    let mounter = Arc::new(FakeMounter::default());
    let allocatable: BTreeMap<String, Quantity> = [
        ("cpu".to_string(), Quantity("4".into())),
        ("memory".to_string(), Quantity("8Gi".into())),
    ]
    .into_iter()
    .collect();
    let volumes = Volumes::new(fake.clone(), mounter.clone(), allocatable);
    Setup {
        fake,
        mounter,
        volumes,
        dir: tempfile::tempdir().unwrap(),
    }
}

fn pod(volumes: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {
            "name": "web", "namespace": "team", "uid": "uid-1",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"note": "a \"b\""}
        },
        "spec": {
            "nodeName": "edge-1",
            "serviceAccountName": "runner",
            "containers": [{
                "name": "main", "image": "busybox",
                "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}
            }],
            "volumes": volumes
        },
        "status": {"podIP": "10.99.0.5", "hostIP": "192.168.1.10"}
    }))
    .unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn config_map_all_keys_with_default_mode_and_layout() {
    let s = setup();
    s.fake
        .put_config_map("app", &[("a.conf", "one"), ("b.conf", "two")]);
    let p = pod(json!([{"name": "cfg", "configMap": {"name": "app"}}]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    assert_eq!(out.len(), 1);
    let v = &out[0];
    assert_eq!(v.kind, VolumeKind::ConfigMap);
    assert!(v.read_only_default);
    assert_eq!(read(&v.host_path.join("a.conf")), "one");
    assert_eq!(read(&v.host_path.join("b.conf")), "two");
    assert_eq!(mode(&v.host_path.join("a.conf")), 0o644);
    // Visible names go through ..data, which points at a versioned dir.
    assert_eq!(
        std::fs::read_link(v.host_path.join("a.conf")).unwrap(),
        Path::new("..data/a.conf")
    );
    let target = std::fs::read_link(v.host_path.join("..data")).unwrap();
    assert!(target.to_str().unwrap().starts_with(".."));
    // configMap volumes are on disk, not tmpfs.
    assert!(s.mounter.mounted.lock().unwrap().is_empty());
}

#[tokio::test]
async fn items_modes_and_nested_paths() {
    let s = setup();
    s.fake.put_config_map("app", &[("a", "one"), ("b", "two")]);
    let p = pod(json!([{"name": "cfg", "configMap": {
        "name": "app", "defaultMode": 0o600,
        "items": [{"key": "a", "path": "sub/dir/a.txt", "mode": 0o400}, {"key": "b", "path": "b.txt"}]
    }}]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    let root = &out[0].host_path;
    assert_eq!(read(&root.join("sub/dir/a.txt")), "one");
    assert_eq!(mode(&root.join("sub/dir/a.txt")), 0o400);
    assert_eq!(mode(&root.join("b.txt")), 0o600);
    assert!(!root.join("a").exists());
}

#[tokio::test]
async fn missing_objects_and_keys() {
    let s = setup();
    let p = pod(json!([{"name": "cfg", "configMap": {"name": "nope"}}]));
    let err = s.volumes.prepare(&p, s.dir.path()).await.unwrap_err();
    assert_eq!(err.volume, "cfg");
    assert_eq!(
        err.event_message(),
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"nope\" not found"
    );
    let p = pod(json!([{"name": "sec", "secret": {"secretName": "nope"}}]));
    let err = s.volumes.prepare(&p, s.dir.path()).await.unwrap_err();
    assert_eq!(err.source.to_string(), "secret \"nope\" not found");

    s.fake.put_config_map("app", &[("a", "one")]);
    let p = pod(
        json!([{"name": "cfg", "configMap": {"name": "app", "items": [{"key": "zz", "path": "z"}]}}]),
    );
    let err = s.volumes.prepare(&p, s.dir.path()).await.unwrap_err();
    assert_eq!(
        err.source.to_string(),
        "configmap references non-existent config key: zz"
    );
}

#[tokio::test]
async fn optional_sources_give_empty_or_partial_volumes() {
    let s = setup();
    s.fake.put_secret("creds", &[("user", "u")]);
    let p = pod(json!([
        {"name": "cfg", "configMap": {"name": "nope", "optional": true}},
        {"name": "sec", "secret": {"secretName": "creds", "optional": true,
            "items": [{"key": "user", "path": "user"}, {"key": "missing", "path": "m"}]}}
    ]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    let cfg: Vec<_> = std::fs::read_dir(&out[0].host_path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with(".."))
        .collect();
    assert!(cfg.is_empty(), "{cfg:?}");
    assert_eq!(read(&out[1].host_path.join("user")), "u");
    assert!(!out[1].host_path.join("m").exists());
}

#[tokio::test]
async fn secrets_are_on_tmpfs_with_their_modes() {
    let s = setup();
    s.fake.put_secret("creds", &[("password", "hunter2")]);
    let p = pod(json!([{"name": "sec", "secret": {"secretName": "creds", "defaultMode": 0o440}}]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    let v = &out[0];
    assert_eq!(v.kind, VolumeKind::Secret);
    assert_eq!(read(&v.host_path.join("password")), "hunter2");
    assert_eq!(mode(&v.host_path.join("password")), 0o440);
    let mounted = s.mounter.mounted.lock().unwrap().clone();
    assert!(
        mounted.contains(&(v.host_path.clone(), None)),
        "{mounted:?}"
    );
    // A second prepare (a restart) does not mount again.
    drop(mounted);
    s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    assert_eq!(s.mounter.mounted.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn empty_dirs_on_disk_and_in_memory() {
    let s = setup();
    let p = pod(json!([
        {"name": "scratch", "emptyDir": {}},
        {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}
    ]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    assert_eq!(out[0].kind, VolumeKind::EmptyDir);
    assert!(out[0].host_path.is_dir());
    assert_eq!(mode(&out[0].host_path), 0o777);
    assert!(!out[0].read_only_default);
    assert_eq!(out[1].kind, VolumeKind::MemoryEmptyDir);
    let mounted = s.mounter.mounted.lock().unwrap().clone();
    assert_eq!(
        mounted.into_iter().collect::<Vec<_>>(),
        vec![(out[1].host_path.clone(), Some(16 << 20))]
    );
}

#[tokio::test]
async fn downward_api_values() {
    let s = setup();
    let p = pod(json!([{"name": "info", "downwardAPI": {"items": [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
        {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
        {"path": "node", "fieldRef": {"fieldPath": "spec.nodeName"}},
        {"path": "sa", "fieldRef": {"fieldPath": "spec.serviceAccountName"}},
        {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}},
        {"path": "host", "fieldRef": {"fieldPath": "status.hostIP"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "main", "resource": "limits.memory", "divisor": "1Mi"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "main", "resource": "requests.cpu", "divisor": "1m"}},
        {"path": "cpu-limit", "resourceFieldRef": {"containerName": "main", "resource": "limits.cpu"}},
        {"path": "cpu-req-cores", "resourceFieldRef": {"containerName": "main", "resource": "requests.cpu"}, "mode": 0o400}
    ]}}]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    let r = |f: &str| read(&out[0].host_path.join(f));
    assert_eq!(r("name"), "web");
    assert_eq!(r("ns"), "team");
    assert_eq!(r("uid"), "uid-1");
    assert_eq!(r("labels"), "app=\"web\"\ntier=\"front\"");
    assert_eq!(r("annotations"), "note=\"a \\\"b\\\"\"");
    assert_eq!(r("tier"), "front");
    assert_eq!(r("node"), "edge-1");
    assert_eq!(r("sa"), "runner");
    assert_eq!(r("ip"), "10.99.0.5");
    assert_eq!(r("host"), "192.168.1.10");
    assert_eq!(r("mem"), "64");
    assert_eq!(r("cpu"), "250");
    // No limit: the node's allocatable.
    assert_eq!(r("cpu-limit"), "4");
    // 250m rounds up to one core.
    assert_eq!(r("cpu-req-cores"), "1");
    assert_eq!(mode(&out[0].host_path.join("cpu-req-cores")), 0o400);
    assert_eq!(out[0].kind, VolumeKind::DownwardApi);
}

#[tokio::test]
async fn projected_sources_and_token() {
    let s = setup();
    s.fake
        .put_config_map("kube-root-ca.crt", &[("ca.crt", "PEM")]);
    s.fake.put_secret("creds", &[("user", "u")]);
    let p = pod(
        json!([{"name": "kube-api-access", "projected": {"defaultMode": 0o420, "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607, "audience": "vault"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"secret": {"name": "creds"}},
            {"configMap": {"name": "absent", "optional": true}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}
        ]}}]),
    );
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    let root = &out[0].host_path;
    assert_eq!(out[0].kind, VolumeKind::Projected);
    assert_eq!(read(&root.join("token")), "token-1");
    assert_eq!(read(&root.join("ca.crt")), "PEM");
    assert_eq!(read(&root.join("user")), "u");
    assert_eq!(read(&root.join("namespace")), "team");
    assert_eq!(mode(&root.join("token")), 0o420);
    let tokens = s.fake.tokens.lock().unwrap().clone();
    assert_eq!(
        tokens,
        vec![TokenSpec {
            service_account: "runner".into(),
            audiences: vec!["vault".into()],
            expiration_seconds: 3607,
            pod_name: "web".into(),
            pod_uid: "uid-1".into(),
        }]
    );
    // A fresh token is reused by a refresh; nothing changes.
    let refreshed = s.volumes.refresh(&p, s.dir.path()).await.unwrap();
    assert!(refreshed.changed.is_empty());
    assert_eq!(s.fake.tokens.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn tokens_rotate_at_eighty_percent_of_their_lifetime() {
    let s = setup();
    let p = pod(json!([{"name": "tok", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}
    ]}}]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    assert_eq!(read(&out[0].host_path.join("token")), "token-1");
    // Age the recorded issue time past 80% of the lifetime.
    let state_dir = s.dir.path().join("volumes/.state");
    let file = std::fs::read_dir(&state_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut st: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    st["issued_at"] = json!(st["issued_at"].as_i64().unwrap() - 481);
    st["expires_at"] = json!(st["expires_at"].as_i64().unwrap() - 481);
    std::fs::write(&file, serde_json::to_vec(&st).unwrap()).unwrap();
    let refreshed = s.volumes.refresh(&p, s.dir.path()).await.unwrap();
    assert_eq!(refreshed.changed, vec!["tok".to_string()]);
    assert_eq!(read(&out[0].host_path.join("token")), "token-2");
    assert_eq!(
        s.fake.tokens.lock().unwrap()[1].audiences,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn refresh_swaps_updated_content_atomically() {
    let s = setup();
    s.fake.put_config_map("app", &[("a", "one"), ("old", "x")]);
    let p = pod(json!([{"name": "cfg", "configMap": {"name": "app"}}]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    let root = out[0].host_path.clone();
    let before = std::fs::read_link(root.join("..data")).unwrap();
    assert!(
        s.volumes
            .refresh(&p, s.dir.path())
            .await
            .unwrap()
            .changed
            .is_empty()
    );
    assert_eq!(std::fs::read_link(root.join("..data")).unwrap(), before);

    s.fake.put_config_map("app", &[("a", "two"), ("new", "y")]);
    let r = s.volumes.refresh(&p, s.dir.path()).await.unwrap();
    assert_eq!(r.changed, vec!["cfg".to_string()]);
    let after = std::fs::read_link(root.join("..data")).unwrap();
    assert_ne!(after, before);
    assert_eq!(read(&root.join("a")), "two");
    assert_eq!(read(&root.join("new")), "y");
    // The removed key's link and the old version are gone.
    assert!(std::fs::symlink_metadata(root.join("old")).is_err());
    assert!(!root.join(&before).exists());
    let entries: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries.len(), 4, "{entries:?}"); // a, new, ..data, version dir
}

#[tokio::test]
async fn cleanup_unmounts_and_removes_the_pod_dir() {
    let s = setup();
    s.fake.put_secret("creds", &[("k", "v")]);
    let p = pod(json!([
        {"name": "sec", "secret": {"secretName": "creds"}},
        {"name": "mem", "emptyDir": {"medium": "Memory"}}
    ]));
    let pod_dir = s.dir.path().join("uid-1");
    s.volumes.prepare(&p, &pod_dir).await.unwrap();
    assert_eq!(s.mounter.mounted.lock().unwrap().len(), 2);
    s.volumes.cleanup(&pod_dir).unwrap();
    assert!(s.mounter.mounted.lock().unwrap().is_empty());
    assert!(!pod_dir.exists());
    // Cleaning up twice is fine.
    s.volumes.cleanup(&pod_dir).unwrap();
}

#[tokio::test]
async fn host_path_types() {
    let s = setup();
    let base = s.dir.path().join("host");
    std::fs::create_dir(&base).unwrap();
    std::fs::write(base.join("file"), "x").unwrap();
    let hp = |name: &str, path: &Path, ty: &str| json!({"name": name, "hostPath": {"path": path, "type": ty}});
    let ok = pod(json!([
        hp("d", &base, "Directory"),
        hp("dc", &base.join("made/deep"), "DirectoryOrCreate"),
        hp("f", &base.join("file"), "File"),
        hp("fc", &base.join("created"), "FileOrCreate"),
        hp("any", &base.join("nothing-here"), ""),
        hp("null", Path::new("/dev/null"), "CharDevice")
    ]));
    let out = s.volumes.prepare(&ok, s.dir.path()).await.unwrap();
    assert!(base.join("made/deep").is_dir());
    assert!(base.join("created").is_file());
    assert_eq!(out[0].host_path, base);
    assert!(!out[0].read_only_default);
    assert_eq!(
        out[5].device,
        Some(HostDevice {
            kind: 'c',
            major: 1,
            minor: 3
        })
    );
    for (ty, path, want) in [
        ("Directory", base.join("file"), "is not a directory"),
        ("Directory", base.join("missing"), "is not a directory"),
        ("File", base.clone(), "is not a file"),
        ("FileOrCreate", base.clone(), "is not a file"),
        ("DirectoryOrCreate", base.join("file"), "is not a directory"),
        ("Socket", base.join("file"), "is not a socket file"),
        ("CharDevice", base.join("file"), "is not a character device"),
        (
            "BlockDevice",
            PathBuf::from("/dev/null"),
            "is not a block device",
        ),
    ] {
        let p = pod(json!([hp("v", &path, ty)]));
        let err = s.volumes.prepare(&p, s.dir.path()).await.unwrap_err();
        let msg = err.source.to_string();
        assert!(
            msg.starts_with("hostPath type check failed: ") && msg.ends_with(want),
            "{ty}: {msg}"
        );
    }
    let sock = base.join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let p = pod(json!([hp("s", &sock, "Socket")]));
    s.volumes.prepare(&p, s.dir.path()).await.unwrap();
}

fn container(v: serde_json::Value) -> Container {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn env_sources_order_and_expansion() {
    let s = setup();
    s.fake
        .put_config_map("cfg", &[("MODE", "fast"), ("bad=key", "x"), ("LEVEL", "3")]);
    s.fake.put_secret("creds", &[("PASSWORD", "pw")]);
    let p = pod(json!([]));
    let c = container(json!({
        "name": "main", "image": "busybox",
        "resources": {"limits": {"memory": "64Mi"}},
        "envFrom": [
            {"configMapRef": {"name": "cfg"}},
            {"secretRef": {"name": "creds"}, "prefix": "DB_"},
            {"configMapRef": {"name": "absent", "optional": true}}
        ],
        "env": [
            {"name": "LEVEL", "value": "override-$(MODE)"},
            {"name": "URL", "value": "http://$(KUBERNETES_SERVICE_HOST):$(PORT)/$$(MODE)"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "MODE"}}},
            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}},
            {"name": "SKIPPED", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope", "optional": true}}},
            {"name": "PORT", "value": "8080"},
            {"name": "EMPTY"}
        ]
    }));
    let svc = ServiceEnv {
        host: "10.43.0.1".parse().unwrap(),
        port: 443,
    };
    let allocatable = BTreeMap::new();
    let env = resolve_env(s.fake.as_ref(), &p, &c, &allocatable, Some(&svc))
        .await
        .unwrap();
    let get = |k: &str| {
        env.vars
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("MODE"), Some("fast"));
    assert_eq!(get("LEVEL"), Some("override-fast"));
    assert_eq!(get("DB_PASSWORD"), Some("pw"));
    // PORT is declared after URL, so it is not yet known there.
    assert_eq!(get("URL"), Some("http://10.43.0.1:$(PORT)/$(MODE)"));
    assert_eq!(get("POD"), Some("web"));
    assert_eq!(get("IP"), Some("10.99.0.5"));
    assert_eq!(get("MEM"), Some("64"));
    assert_eq!(get("FROM_CM"), Some("fast"));
    assert_eq!(get("FROM_SECRET"), Some("pw"));
    assert_eq!(get("SKIPPED"), None);
    assert_eq!(get("EMPTY"), Some(""));
    assert_eq!(get("bad=key"), None);
    assert_eq!(get("KUBERNETES_SERVICE_PORT"), Some("443"));
    assert_eq!(
        env.skipped,
        vec!["Keys [bad=key] from the EnvFrom configMap team/cfg were skipped since they are considered invalid environment variable names.".to_string()]
    );
    // Later declarations replace earlier values in place.
    let names: Vec<&str> = env.vars.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&names[..3], &["LEVEL", "MODE", "DB_PASSWORD"]);

    let args = expand_all(
        &[
            "echo".into(),
            "$(POD)-$(PORT)".into(),
            "$$(POD)".into(),
            "$(NOPE)".into(),
        ],
        &env.vars,
    );
    assert_eq!(args, vec!["echo", "web-8080", "$(POD)", "$(NOPE)"]);
}

#[tokio::test]
async fn env_missing_sources_are_errors_unless_optional() {
    let s = setup();
    let p = pod(json!([]));
    let alloc = BTreeMap::new();
    let c = container(json!({"name": "main", "envFrom": [{"configMapRef": {"name": "gone"}}]}));
    let err = resolve_env(s.fake.as_ref(), &p, &c, &alloc, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "configmap \"gone\" not found");
    s.fake.put_secret("creds", &[("a", "b")]);
    let c = container(json!({"name": "main", "env": [
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "zz"}}}
    ]}));
    let err = resolve_env(s.fake.as_ref(), &p, &c, &alloc, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "couldn't find key zz in Secret team/creds");
    let c = container(json!({"name": "main", "env": [
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "zz", "optional": true}}}
    ]}));
    let env = s.volumes.resolve_env(&p, &c, None).await.unwrap();
    assert!(env.vars.is_empty());
}

fn mount_fstype(path: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines().find_map(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        let sep = fields.iter().position(|f| *f == "-")?;
        (Path::new(fields[4]) == path).then(|| fields[sep + 1].to_string())
    })
}

#[tokio::test]
async fn memory_volumes_are_tmpfs_mounts() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipping: needs root");
        return;
    }
    let fake = Arc::new(Fake::default());
    fake.put_secret("creds", &[("k", "v")]);
    let volumes = Volumes::new(fake, Arc::new(HostMounter), BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let pod_dir = dir.path().join("uid-1");
    let p = pod(json!([
        {"name": "sec", "secret": {"secretName": "creds"}},
        {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}
    ]));
    let out = volumes.prepare(&p, &pod_dir).await;
    let result = std::panic::AssertUnwindSafe(|| {
        let out = out.as_ref().unwrap();
        assert_eq!(mount_fstype(&out[0].host_path).as_deref(), Some("tmpfs"));
        assert_eq!(read(&out[0].host_path.join("k")), "v");
        assert_eq!(mount_fstype(&out[1].host_path).as_deref(), Some("tmpfs"));
        let st = nix::sys::statvfs::statvfs(&out[1].host_path).unwrap();
        assert_eq!(st.blocks() as u64 * st.fragment_size() as u64, 1 << 20);
        assert_eq!(mode(&out[1].host_path), 0o777);
    });
    let checked = std::panic::catch_unwind(result);
    volumes.cleanup(&pod_dir).unwrap();
    assert!(mount_fstype(&pod_dir.join("volumes/kubernetes.io~secret/sec")).is_none());
    assert!(!pod_dir.exists());
    if let Err(e) = checked {
        std::panic::resume_unwind(e);
    }
}

#[tokio::test]
async fn host_path_block_devices() {
    let Some(dev) = std::fs::read_dir("/sys/block")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| Path::new("/dev").join(e.file_name()))
        .find(|p| p.exists())
    else {
        eprintln!("skipping: no block device in /dev");
        return;
    };
    let s = setup();
    let p = pod(json!([{"name": "disk", "hostPath": {"path": dev, "type": "BlockDevice"}}]));
    let out = s.volumes.prepare(&p, s.dir.path()).await.unwrap();
    assert_eq!(out[0].device.map(|d| d.kind), Some('b'));
    let p = pod(json!([{"name": "disk", "hostPath": {"path": dev, "type": "CharDevice"}}]));
    let err = s.volumes.prepare(&p, s.dir.path()).await.unwrap_err();
    assert!(
        err.source
            .to_string()
            .ends_with("is not a character device")
    );
}
