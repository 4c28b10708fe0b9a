//! CustomResourceDefinitions end to end: kubectl 1.27 and 1.33 create a
//! CRD (upstream's CronTab example), use its resource at once, and see
//! upstream's defaulting, pruning, validation, versions, printer columns,
//! subresources, categories, deletion and restart behaviour.

mod common;

use std::time::{Duration, Instant};

use common::{KUBECTL_VERSIONS, Server};
use serde_json::Value;

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                cronSpec:
                  type: string
                  pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
                image:
                  type: string
                replicas:
                  type: integer
                  minimum: 1
                  maximum: 10
                  default: 1
            status:
              type: object
              properties:
                replicas:
                  type: integer
                labelSelector:
                  type: string
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
          labelSelectorPath: .status.labelSelector
      additionalPrinterColumns:
      - name: Spec
        type: string
        jsonPath: .spec.cronSpec
      - name: Replicas
        type: integer
        jsonPath: .spec.replicas
      - name: Image
        type: string
        priority: 1
        jsonPath: .spec.image
      - name: Age
        type: date
        jsonPath: .metadata.creationTimestamp
      selectableFields:
      - jsonPath: .spec.image
    - name: v1beta1
      served: true
      storage: false
      deprecated: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
    categories:
    - all
"#;

/// Upstream's example object, plus a field the schema does not know.
const CRONTAB: &str = r#"
apiVersion: "stable.example.com/v1"
kind: CronTab
metadata:
  name: my-new-cron-object
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
  someRandomField: 42
"#;

/// A CRD whose `spec` property has no type: not structural.
const BAD_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              properties:
                size: {type: integer}
"#;

/// kubectl with a cache directory of its own, so discovery is never stale
/// from another server on the same port.
struct Kubectl<'a> {
    s: &'a Server,
    v: &'a str,
}

impl Kubectl<'_> {
    fn args<'b>(&self, args: &[&'b str], cache: &'b str) -> Vec<&'b str> {
        let mut all = vec!["--cache-dir", cache];
        all.extend_from_slice(args);
        all
    }

    fn cache(&self) -> String {
        self.s
            .data_dir()
            .join(format!("kubectl-cache-{}", self.v))
            .display()
            .to_string()
    }

    fn ok(&self, args: &[&str]) -> String {
        let cache = self.cache();
        self.s.ok(self.v, &self.args(args, &cache))
    }

    fn fails(&self, args: &[&str]) -> String {
        let cache = self.cache();
        self.s.fails(self.v, &self.args(args, &cache))
    }

    fn succeeds(&self, args: &[&str]) -> bool {
        let cache = self.cache();
        self.s
            .kubectl(self.v, &self.args(args, &cache))
            .status
            .success()
    }

    fn apply(&self, manifest: &str, extra: &[&str]) -> std::process::Output {
        let cache = self.cache();
        let mut args = vec!["apply", "-f", "-"];
        args.extend_from_slice(extra);
        self.s
            .kubectl_stdin(self.v, &self.args(&args, &cache), manifest)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.ok(&a)).expect("kubectl printed JSON")
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn create_crontab_crd(k: &Kubectl) {
    let out = k.apply(CRD, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Served at once: no waiting for discovery or conditions.
    k.ok(&["get", "crontabs"]);
    k.ok(&["get", "ct"]);
}

#[test]
fn crd_status_is_set_by_the_server() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        let k = Kubectl { s: &s, v };
        create_crontab_crd(&k);
        let crd = k.json(&["get", "crd", "crontabs.stable.example.com"]);
        let conditions = crd["status"]["conditions"].as_array().unwrap();
        let cond = |t: &str| {
            conditions
                .iter()
                .find(|c| c["type"] == t)
                .unwrap_or_else(|| panic!("condition {t}"))
        };
        assert_eq!(cond("NamesAccepted")["status"], "True");
        assert_eq!(cond("NamesAccepted")["reason"], "NoConflicts");
        assert_eq!(cond("Established")["status"], "True");
        assert_eq!(cond("Established")["reason"], "InitialNamesAccepted");
        assert_eq!(crd["status"]["acceptedNames"]["kind"], "CronTab");
        assert_eq!(crd["status"]["acceptedNames"]["listKind"], "CronTabList");
        assert_eq!(crd["status"]["acceptedNames"]["shortNames"][0], "ct");
        assert_eq!(crd["status"]["storedVersions"], serde_json::json!(["v1"]));
        assert_eq!(crd["spec"]["conversion"]["strategy"], "None");
        k.ok(&[
            "wait",
            "--for=condition=Established",
            "crd/crontabs.stable.example.com",
            "--timeout=10s",
        ]);
        // Discovery and the api-resources table know the new resource.
        let resources = k.ok(&["api-resources", "--api-group=stable.example.com"]);
        let line = resources
            .lines()
            .find(|l| l.starts_with("crontabs"))
            .expect("crontabs listed");
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cols,
            ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"]
        );
        let versions = k.ok(&["api-versions"]);
        assert!(
            versions.lines().any(|l| l == "stable.example.com/v1"),
            "{versions}"
        );
        assert!(
            versions.lines().any(|l| l == "stable.example.com/v1beta1"),
            "{versions}"
        );
        let crds = k.ok(&["get", "crd"]);
        let header: Vec<&str> = crds.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["NAME", "CREATED", "AT"]);

        // A new version is served as soon as the CRD says so; moving the
        // storage version keeps the old one in storedVersions.
        k.ok(&[
            "patch",
            "crd",
            "crontabs.stable.example.com",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/versions/0/storage","value":false},
                {"op":"add","path":"/spec/versions/-","value":{"name":"v2","served":true,"storage":true,
                 "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}]"#,
        ]);
        k.ok(&["get", "crontabs.v2.stable.example.com"]);
        let crd = k.json(&["get", "crd", "crontabs.stable.example.com"]);
        assert_eq!(
            crd["status"]["storedVersions"],
            serde_json::json!(["v1", "v2"])
        );
        assert_eq!(crd["metadata"]["generation"], 2);
    }
}

#[test]
fn custom_objects_are_pruned_defaulted_and_validated() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        let k = Kubectl { s: &s, v };
        create_crontab_crd(&k);

        // kubectl validates strictly by default: the unknown field is refused.
        let out = k.apply(CRONTAB, &[]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains(
                r#"CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec.someRandomField""#
            ),
            "{}",
            stderr(&out)
        );
        k.fails(&["get", "ct", "my-new-cron-object"]);

        // Warn: stored pruned, the client warned as upstream warns.
        let out = k.apply(CRONTAB, &["--validate=warn"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(r#"Warning: unknown field "spec.someRandomField""#),
            "{}",
            stderr(&out)
        );
        k.ok(&["delete", "ct", "my-new-cron-object"]);

        // Without validation the unknown field is pruned, the default applied.
        let out = k.apply(CRONTAB, &["--validate=false"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let obj = k.json(&["get", "ct", "my-new-cron-object"]);
        assert_eq!(obj["apiVersion"], "stable.example.com/v1");
        assert_eq!(obj["kind"], "CronTab");
        assert_eq!(obj["metadata"]["namespace"], "default");
        assert_eq!(obj["metadata"]["generation"], 1);
        assert_eq!(
            obj["spec"],
            serde_json::json!({"cronSpec": "* * * * */5", "image": "my-awesome-cron-image", "replicas": 1})
        );
        assert!(obj.get("status").is_none());

        // Values outside the schema are refused with upstream's messages.
        let bad = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: bad\nspec:\n  cronSpec: 5\n  replicas: 15\n";
        let out = k.apply(bad, &[]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains(r#"spec.cronSpec: Invalid value: "integer": spec.cronSpec in body must be of type string: "integer""#),
            "{err}"
        );
        assert!(
            err.contains("spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10"),
            "{err}"
        );
        let err = k.fails(&["get", "ct", "bad"]);
        assert!(err.contains("NotFound"), "{err}");
        let pattern = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: bad\nspec:\n  cronSpec: sometimes\n";
        let err = stderr(&k.apply(pattern, &[]));
        assert!(
            err.contains(
                r#"spec.cronSpec: Invalid value: "sometimes": spec.cronSpec in body should match"#
            ),
            "{err}"
        );

        // A CRD whose schema is not structural is refused, naming the field.
        let out = k.apply(BAD_CRD, &[]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains(r#"The CustomResourceDefinition "widgets.stable.example.com" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"#),
            "{err}"
        );
        k.fails(&["get", "crd", "widgets.stable.example.com"]);
    }
}

#[test]
fn versions_columns_scale_status_and_categories() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        let k = Kubectl { s: &s, v };
        create_crontab_crd(&k);
        let out = k.apply(CRONTAB, &["--validate=false"]);
        assert!(out.status.success(), "{}", stderr(&out));

        // The same object at both served versions.
        let v1 = k.json(&["get", "ct", "my-new-cron-object"]);
        let beta = k.json(&[
            "get",
            "crontabs.v1beta1.stable.example.com",
            "my-new-cron-object",
        ]);
        assert_eq!(beta["apiVersion"], "stable.example.com/v1beta1");
        assert_eq!(beta["metadata"]["uid"], v1["metadata"]["uid"]);
        assert_eq!(beta["spec"], v1["spec"]);
        // The deprecated version warns on every request.
        let cache = k.cache();
        let out = s.kubectl(
            v,
            &k.args(&["get", "crontabs.v1beta1.stable.example.com"], &cache),
        );
        assert!(out.status.success());
        assert!(
            stderr(&out).contains(
                "Warning: stable.example.com/v1beta1 CronTab is deprecated; use stable.example.com/v1 CronTab"
            ),
            "{}",
            stderr(&out)
        );

        // Re-applying sends a merge patch; strategic merge is refused.
        let changed = CRONTAB.replace("my-awesome-cron-image", "my-other-image");
        let out = k.apply(&changed, &["--validate=false"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let obj = k.json(&["get", "ct", "my-new-cron-object"]);
        assert_eq!(obj["spec"]["image"], "my-other-image");
        assert_eq!(obj["metadata"]["generation"], 2);
        let err = k.fails(&[
            "patch",
            "ct",
            "my-new-cron-object",
            "-p",
            r#"{"spec":{"image":"x"}}"#,
        ]);
        assert!(
            err.contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
            "{err}"
        );
        k.ok(&[
            "patch",
            "ct",
            "my-new-cron-object",
            "--type=merge",
            "-p",
            r#"{"spec":{"image":"my-awesome-cron-image"}}"#,
        ]);

        // A version without printer columns shows NAME and AGE.
        let beta = k.ok(&["get", "crontabs.v1beta1.stable.example.com"]);
        let header: Vec<&str> = beta.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["NAME", "AGE"]);

        // Printer columns; priority 1 only with -o wide.
        let plain = k.ok(&["get", "ct"]);
        let header: Vec<&str> = plain.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["NAME", "SPEC", "REPLICAS", "AGE"]);
        let row: Vec<&str> = plain.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(&row[..2], ["my-new-cron-object", "*"]);
        assert_eq!(row[6], "1");
        let wide = k.ok(&["get", "ct", "-o", "wide"]);
        let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["NAME", "SPEC", "REPLICAS", "IMAGE", "AGE"]);
        assert!(wide.contains("my-awesome-cron-image"), "{wide}");

        // kubectl scale goes through the scale subresource.
        k.ok(&["scale", "ct", "my-new-cron-object", "--replicas=3"]);
        let obj = k.json(&["get", "ct", "my-new-cron-object"]);
        assert_eq!(obj["spec"]["replicas"], 3);
        assert_eq!(obj["metadata"]["generation"], 4);

        // /status changes only status; the main resource ignores status.
        k.ok(&[
            "patch",
            "ct",
            "my-new-cron-object",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":2,"labelSelector":"app=cron"},"spec":{"replicas":7}}"#,
        ]);
        let obj = k.json(&["get", "ct", "my-new-cron-object"]);
        assert_eq!(obj["status"]["replicas"], 2);
        assert_eq!(obj["spec"]["replicas"], 3);
        assert_eq!(obj["metadata"]["generation"], 4);
        k.ok(&[
            "patch",
            "ct",
            "my-new-cron-object",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":9},"spec":{"image":"other"}}"#,
        ]);
        let obj = k.json(&["get", "ct", "my-new-cron-object"]);
        assert_eq!(obj["status"]["replicas"], 2);
        assert_eq!(obj["spec"]["image"], "other");
        assert_eq!(obj["metadata"]["generation"], 5);
        let scale: Value = serde_json::from_str(&k.ok(&[
            "get",
            "--raw",
            "/apis/stable.example.com/v1/namespaces/default/crontabs/my-new-cron-object/scale",
        ]))
        .unwrap();
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["spec"]["replicas"], 3);
        assert_eq!(scale["status"]["replicas"], 2);
        assert_eq!(scale["status"]["selector"], "app=cron");

        // selectableFields extend field selectors.
        let selected = k.ok(&[
            "get",
            "ct",
            "--field-selector",
            "spec.image=other",
            "-o",
            "name",
        ]);
        assert_eq!(
            selected.trim(),
            "crontab.stable.example.com/my-new-cron-object"
        );
        let none = k.ok(&[
            "get",
            "ct",
            "--field-selector",
            "spec.image=nothing",
            "-o",
            "name",
        ]);
        assert_eq!(none.trim(), "");
        let err = k.fails(&["get", "ct", "--field-selector", "spec.cronSpec=x"]);
        assert!(
            err.contains("field label not supported: spec.cronSpec"),
            "{err}"
        );

        // Category "all".
        let all = k.ok(&["get", "all"]);
        assert!(
            all.contains("crontab.stable.example.com/my-new-cron-object"),
            "{all}"
        );
    }
}

#[test]
fn deleting_a_crd_deletes_its_objects_then_itself() {
    for v in KUBECTL_VERSIONS {
        let s = Server::start();
        let k = Kubectl { s: &s, v };
        create_crontab_crd(&k);
        assert!(k.apply(CRONTAB, &["--validate=false"]).status.success());
        let held = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\nspec:\n  cronSpec: '* * * * *'\n";
        let out = k.apply(held, &[]);
        assert!(out.status.success(), "{}", stderr(&out));

        k.ok(&[
            "delete",
            "crd",
            "crontabs.stable.example.com",
            "--wait=false",
        ]);
        // The object without finalizers goes; the held one waits, so does the CRD.
        wait_until("the unheld object to go", || {
            !k.succeeds(&["get", "ct", "my-new-cron-object"])
        });
        let crd = k.json(&["get", "crd", "crontabs.stable.example.com"]);
        assert!(crd["metadata"]["deletionTimestamp"].is_string());
        assert!(
            crd["metadata"]["finalizers"]
                .as_array()
                .unwrap()
                .contains(&"customresourcecleanup.apiextensions.k8s.io".into())
        );
        let terminating = crd["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Terminating")
            .expect("Terminating condition")
            .clone();
        assert_eq!(terminating["status"], "True");
        let held = k.json(&["get", "ct", "held"]);
        assert!(held["metadata"]["deletionTimestamp"].is_string());
        // No new objects while the CRD terminates.
        let late = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: late\nspec:\n  cronSpec: '* * * * *'\n";
        let err = stderr(&k.apply(late, &[]));
        assert!(
            err.contains("create not allowed while custom resource definition is terminating"),
            "{err}"
        );

        k.ok(&[
            "patch",
            "ct",
            "held",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ]);
        wait_until("the CRD to go", || {
            !k.succeeds(&["get", "crd", "crontabs.stable.example.com"])
        });
        let resources = k.ok(&["api-resources"]);
        assert!(!resources.contains("stable.example.com"), "{resources}");
        let groups = k.ok(&["get", "--raw", "/apis"]);
        assert!(!groups.contains("stable.example.com"), "{groups}");
    }
}

#[test]
fn namespace_deletion_deletes_custom_objects() {
    let s = Server::start();
    let k = Kubectl { s: &s, v: "1.33" };
    create_crontab_crd(&k);
    k.ok(&["create", "namespace", "jobs"]);
    let obj = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: nightly\n  namespace: jobs\nspec:\n  cronSpec: '0 0 * * *'\n";
    assert!(k.apply(obj, &[]).status.success());
    k.ok(&["delete", "namespace", "jobs", "--wait=false"]);
    wait_until("the namespace to go", || {
        !k.succeeds(&["get", "namespace", "jobs"])
    });
    let all = k.ok(&["get", "ct", "-A"]);
    assert!(!all.contains("nightly"), "{all}");
}

#[test]
fn crds_are_served_after_a_restart() {
    let mut s = Server::start();
    {
        let k = Kubectl { s: &s, v: "1.33" };
        create_crontab_crd(&k);
        assert!(k.apply(CRONTAB, &["--validate=false"]).status.success());
    }
    s.kill();
    s.spawn();
    let k = Kubectl { s: &s, v: "1.33" };
    let obj = k.json(&["get", "ct", "my-new-cron-object"]);
    assert_eq!(obj["spec"]["replicas"], 1);
    let out = k.ok(&["get", "crontabs.v1beta1.stable.example.com"]);
    assert!(out.contains("my-new-cron-object"), "{out}");
    // Validation survives too.
    let bad = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: bad\nspec:\n  cronSpec: '* * * * *'\n  replicas: 0\n";
    let err = stderr(&k.apply(bad, &[]));
    assert!(
        err.contains("spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"),
        "{err}"
    );
}

/// A CRD of the same group as `crontabs` that asks for the same kind.
const RIVAL: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontables.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontables, singular: crontable, kind: CronTab}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

#[test]
fn conflicting_names_wait_until_they_are_free() {
    let s = Server::start();
    let k = Kubectl { s: &s, v: "1.33" };
    create_crontab_crd(&k);
    let out = k.apply(RIVAL, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rival = k.json(&["get", "crd", "crontables.stable.example.com"]);
    let cond = |crd: &Value, t: &str| {
        crd["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .cloned()
            .unwrap_or_else(|| panic!("condition {t}"))
    };
    assert_eq!(cond(&rival, "NamesAccepted")["status"], "False");
    assert_eq!(cond(&rival, "NamesAccepted")["reason"], "KindConflict");
    assert_eq!(
        cond(&rival, "NamesAccepted")["message"],
        "\"CronTab\" is already in use"
    );
    assert_eq!(cond(&rival, "Established")["status"], "False");
    let err = k.fails(&["get", "crontables"]);
    assert!(
        err.contains("the server doesn't have a resource type"),
        "{err}"
    );

    k.ok(&["delete", "crd", "crontabs.stable.example.com"]);
    wait_until("the rival CRD to be accepted", || {
        let crd = k.json(&["get", "crd", "crontables.stable.example.com"]);
        cond(&crd, "NamesAccepted")["status"] == "True"
            && cond(&crd, "Established")["status"] == "True"
    });
    k.ok(&["get", "crontables"]);
}

#[test]
fn server_side_apply_follows_the_crd_schema() {
    let s = Server::start();
    let k = Kubectl { s: &s, v: "1.33" };
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: routers.net.example.com\nspec:\n  group: net.example.com\n  scope: Namespaced\n  names: {plural: routers, singular: router, kind: Router}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              ports:\n                type: array\n                x-kubernetes-list-type: map\n                x-kubernetes-list-map-keys: [name]\n                items:\n                  type: object\n                  required: [name]\n                  properties:\n                    name: {type: string}\n                    port: {type: integer}\n";
    let out = k.apply(crd, &["--server-side"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let one = "apiVersion: net.example.com/v1\nkind: Router\nmetadata:\n  name: r\nspec:\n  ports:\n  - {name: http, port: 80}\n";
    let two = "apiVersion: net.example.com/v1\nkind: Router\nmetadata:\n  name: r\nspec:\n  ports:\n  - {name: https, port: 443}\n";
    for (manager, body) in [("one", one), ("two", two)] {
        let field_manager = format!("--field-manager={manager}");
        let out = k.apply(body, &["--server-side", &field_manager]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A map list: each manager's item stays, keyed by name.
    let router = k.json(&["get", "router", "r"]);
    assert_eq!(
        router["spec"]["ports"],
        serde_json::json!([{"name": "http", "port": 80}, {"name": "https", "port": 443}])
    );
}

const RULES_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: scalers.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: scalers, singular: scaler, kind: Scaler}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "self.minReplicas <= self.replicas"
              message: "replicas should be greater than or equal to minReplicas."
            - rule: "self.replicas <= self.maxReplicas"
              message: "replicas should be smaller than or equal to maxReplicas."
            properties:
              minReplicas: {type: integer}
              replicas: {type: integer}
              maxReplicas: {type: integer}
              name:
                type: string
                x-kubernetes-validations:
                - rule: "self == oldSelf"
                  message: "Value is immutable"
"#;

#[test]
fn validation_rules_are_enforced() {
    let s = Server::start();
    let k = Kubectl { s: &s, v: "1.33" };
    let out = k.apply(RULES_CRD, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let obj = |replicas: u32, name: &str| {
        format!(
            "apiVersion: stable.example.com/v1\nkind: Scaler\nmetadata:\n  name: s\nspec:\n  minReplicas: 0\n  replicas: {replicas}\n  maxReplicas: 10\n  name: {name}\n"
        )
    };
    let err = stderr(&k.apply(&obj(20, "a"), &[]));
    assert!(
        err.contains(r#"spec: Invalid value: "object": replicas should be smaller than or equal to maxReplicas."#),
        "{err}"
    );
    assert!(!k.succeeds(&["get", "scaler", "s"]));
    let out = k.apply(&obj(5, "a"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A transition rule holds on update only.
    let err = stderr(&k.apply(&obj(5, "b"), &[]));
    assert!(
        err.contains(r#"spec.name: Invalid value: "string": Value is immutable"#),
        "{err}"
    );
    let out = k.apply(&obj(6, "a"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A rule that does not compile refuses the CRD.
    let bad = RULES_CRD
        .replace("scalers", "badscalers")
        .replace("scaler,", "badscaler,")
        .replace("Scaler}", "BadScaler}")
        .replace("self.replicas <= self.maxReplicas", "self.replicas <=");
    let err = stderr(&k.apply(&bad, &[]));
    assert!(
        err.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[1]: Invalid value: apiextensions.ValidationRule{Rule:\"self.replicas <=\""),
        "{err}"
    );
    assert!(
        err.contains("compilation failed: ERROR: <input>:1:"),
        "{err}"
    );
}
