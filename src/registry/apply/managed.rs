//! `metadata.managedFields`: who owns which fields, and how each kind of
//! write changes that, as upstream's field manager does.

use serde_json::{Map, Value, json};

use super::fieldpath::{Path, Pe, Set, path_string};
use super::walk;
use crate::schema::Node;

/// Upstream keeps at most this many `Update` entries; older ones are
/// folded into one entry per API version named [`ANCIENT`].
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT: &str = "ancient-changes";
/// Owner of what an object held before its first recorded write.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) manager: String,
    pub(crate) operation: Operation,
    pub(crate) api_version: String,
    pub(crate) time: Option<String>,
    pub(crate) subresource: String,
    pub(crate) set: Set,
}

impl Entry {
    /// Whether `self` is the entry of this writer. Appliers are one entry
    /// whatever API version they used; updaters one per version.
    fn is(&self, manager: &str, op: Operation, sub: &str, api_version: &str) -> bool {
        self.manager == manager
            && self.operation == op
            && self.subresource == sub
            && (op == Operation::Apply || self.api_version == api_version)
    }

    /// How upstream names the entry in conflict messages.
    pub(crate) fn describe(&self) -> String {
        let mut s = Value::String(self.manager.clone()).to_string();
        if !self.subresource.is_empty() {
            s = format!(
                "{s} with subresource {}",
                Value::String(self.subresource.clone())
            );
        }
        if self.operation == Operation::Update {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }
}

/// All entries of an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Managed(pub(crate) Vec<Entry>);

/// A request's `managedFields` asks for a reset when it is an empty list
/// or a list of one empty entry.
pub(crate) fn is_reset(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(a)) => {
            a.is_empty() || (a.len() == 1 && a[0].as_object().is_some_and(Map::is_empty))
        }
        _ => false,
    }
}

impl Managed {
    /// Reads `metadata.managedFields` of `obj`.
    pub(crate) fn decode(obj: &Value) -> Result<Managed, String> {
        let Some(list) = obj.pointer("/metadata/managedFields") else {
            return Ok(Managed::default());
        };
        let Value::Array(items) = list else {
            return Err("managedFields is not a list".into());
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let s = |k: &str| {
                item.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let operation = match s("operation").as_str() {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                other => return Err(format!("unsupported operation {other:?}")),
            };
            if s("fieldsType") != "FieldsV1" {
                return Err(format!("unsupported fieldsType {:?}", s("fieldsType")));
            }
            let set = match item.get("fieldsV1") {
                Some(v) => Set::from_fields_v1(v)?,
                None => Set::new(),
            };
            out.push(Entry {
                manager: s("manager"),
                operation,
                api_version: s("apiVersion"),
                time: item.get("time").and_then(Value::as_str).map(String::from),
                subresource: s("subresource"),
                set,
            });
        }
        Ok(Managed(out))
    }

    /// The wire form, sorted as upstream sorts it: by operation, time,
    /// manager, API version, subresource.
    pub(crate) fn encode(&self) -> Value {
        let mut entries: Vec<&Entry> = self.0.iter().collect();
        entries.sort_by(|a, b| {
            (
                a.operation,
                &a.time,
                &a.manager,
                &a.api_version,
                &a.subresource,
            )
                .cmp(&(
                    b.operation,
                    &b.time,
                    &b.manager,
                    &b.api_version,
                    &b.subresource,
                ))
        });
        Value::Array(
            entries
                .into_iter()
                .map(|e| {
                    let mut m = Map::new();
                    m.insert("manager".into(), json!(e.manager));
                    m.insert("operation".into(), json!(e.operation.as_str()));
                    m.insert("apiVersion".into(), json!(e.api_version));
                    if let Some(t) = &e.time {
                        m.insert("time".into(), json!(t));
                    }
                    m.insert("fieldsType".into(), json!("FieldsV1"));
                    m.insert("fieldsV1".into(), e.set.to_fields_v1());
                    if !e.subresource.is_empty() {
                        m.insert("subresource".into(), json!(e.subresource));
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }

    fn position(
        &self,
        manager: &str,
        op: Operation,
        sub: &str,
        api_version: &str,
    ) -> Option<usize> {
        self.0
            .iter()
            .position(|e| e.is(manager, op, sub, api_version))
    }

    fn drop_empty(&mut self) {
        self.0.retain(|e| !e.set.is_empty());
    }

    /// Folds the oldest `Update` entries beyond the cap into one
    /// `ancient-changes` entry per API version.
    fn cap(&mut self) {
        let mut updaters: Vec<usize> = (0..self.0.len())
            .filter(|&i| self.0[i].operation == Operation::Update)
            .collect();
        if updaters.len() <= MAX_UPDATE_MANAGERS {
            return;
        }
        updaters.sort_by(|&a, &b| {
            let (a, b) = (&self.0[a], &self.0[b]);
            (&a.time, &a.manager).cmp(&(&b.time, &b.manager))
        });
        let mut length = updaters.len();
        let mut first_of_version: Vec<(String, usize)> = Vec::new();
        let mut gone = vec![false; self.0.len()];
        for &i in &updaters {
            if length <= MAX_UPDATE_MANAGERS {
                break;
            }
            let version = self.0[i].api_version.clone();
            match first_of_version.iter().find(|(v, _)| *v == version) {
                Some(&(_, first)) => {
                    let (set, time) = (self.0[i].set.clone(), self.0[i].time.clone());
                    let bucket = &mut self.0[first];
                    bucket.manager = ANCIENT.into();
                    bucket.subresource.clear();
                    bucket.set = bucket.set.union(&set);
                    bucket.time = time;
                    gone[i] = true;
                    length -= 1;
                }
                None => first_of_version.push((version, i)),
            }
        }
        let mut i = 0;
        self.0.retain(|_| {
            i += 1;
            !gone[i - 1]
        });
    }
}

/// What a write is: which schema, API version and subresource.
pub(crate) struct Scope<'a> {
    pub(crate) node: Option<Node<'a>>,
    pub(crate) api_version: String,
    /// "" for the main resource, "status" or "scale".
    pub(crate) subresource: &'a str,
    /// Status is written through its own subresource, so the main resource's
    /// writers own none of it (and status writers own only it).
    pub(crate) has_status: bool,
    /// A built-in kind (see [`walk::compare`]).
    pub(crate) go_structs: bool,
}

impl Scope<'_> {
    /// Drops the fields no manager owns: type and system metadata always,
    /// and what the endpoint resets.
    fn owned_part(&self, set: &Set) -> Set {
        let set = match (self.subresource, self.has_status) {
            ("status", _) => set.filter_top(|pe| *pe == Pe::field("status")),
            ("", true) => set.filter_top(|pe| *pe != Pe::field("status")),
            _ => set.clone(),
        };
        set.difference(strip_set())
    }
}

fn strip_set() -> &'static Set {
    static STRIP: std::sync::OnceLock<Set> = std::sync::OnceLock::new();
    STRIP.get_or_init(|| {
        let mut s = Set::new();
        for p in [&["apiVersion"][..], &["kind"], &["metadata"]] {
            s.insert(&p.iter().map(|f| Pe::field(f)).collect::<Path>());
        }
        for f in [
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        ] {
            s.insert(&[Pe::field("metadata"), Pe::field(f)]);
        }
        s
    })
}

fn without_managed(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    if o.is_null() {
        o = Value::Object(Map::new());
    }
    o
}

/// Records a create, update or patch by `manager`: the fields it changed
/// become its own (in its `Update` entry) and nobody else's, and fields it
/// removed are nobody's. `now` stamps the entry when it changed anything.
pub(crate) fn update(
    scope: &Scope<'_>,
    mut managed: Managed,
    live: &Value,
    new: &Value,
    manager: &str,
    now: &str,
) -> Managed {
    let cmp = walk::compare(
        scope.node,
        &without_managed(live),
        &without_managed(new),
        scope.go_structs,
    );
    let changed = scope.owned_part(&cmp.modified.union(&cmp.added));
    let removed = scope.owned_part(&cmp.removed);
    for e in &mut managed.0 {
        e.set = e.set.difference(&changed).difference(&removed);
    }
    if !changed.is_empty() {
        let sub = scope.subresource;
        match managed.position(manager, Operation::Update, sub, &scope.api_version) {
            Some(i) => {
                let e = &mut managed.0[i];
                e.set = e.set.union(&changed);
                e.time = Some(now.to_string());
            }
            None => managed.0.push(Entry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version: scope.api_version.clone(),
                time: Some(now.to_string()),
                subresource: sub.to_string(),
                set: changed,
            }),
        }
    }
    managed.drop_empty();
    managed.cap();
    managed
}

/// Fields another manager owns that an apply would change.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Conflict {
    /// The other manager as upstream names it (see [`Entry::describe`]).
    pub(crate) manager: String,
    /// Sort key: the manager, then the kind of entry.
    order: (String, Operation, String, String),
    pub(crate) path: Path,
}

impl Conflict {
    #[cfg(test)]
    pub(crate) fn for_test(manager: &str, path: Path) -> Conflict {
        Conflict {
            manager: manager.to_string(),
            order: (
                manager.to_string(),
                Operation::Update,
                String::new(),
                String::new(),
            ),
            path,
        }
    }

    /// `.spec.replicas`, `.spec.containers[name="nginx"].image`.
    pub(crate) fn field(&self) -> String {
        path_string(&self.path)
    }
}

/// Upstream's message for a set of conflicts.
pub(crate) fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [one] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            one.manager,
            one.field()
        );
    }
    let mut lines = Vec::new();
    let mut last: Option<&str> = None;
    for c in conflicts {
        if last != Some(c.manager.as_str()) {
            lines.push(format!("conflicts with {}:", c.manager));
            last = Some(&c.manager);
        }
        lines.push(format!("- {}", c.field()));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// The manager `kubectl apply --server-side` uses, the only one whose
/// applies interact with client-side apply's annotation.
const KUBECTL: &str = "kubectl";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn last_applied(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// The fields of the last client-side applied configuration whose live
/// values it still matches.
fn last_applied_fields(scope: &Scope<'_>, live: &Value) -> Option<Set> {
    let config: Value = serde_json::from_str(last_applied(live)?).ok()?;
    let set = walk::fields(scope.node, &config);
    let cmp = walk::compare(scope.node, live, &config, scope.go_structs);
    Some(
        set.difference(&cmp.modified)
            .difference(&cmp.added)
            .difference(&cmp.removed),
    )
}

/// Keeps client-side apply's annotation in step with what kubectl applies
/// server-side, when the object has one.
fn sync_last_applied(merged: &mut Value, cfg: &Value) {
    if last_applied(merged).is_none() {
        return;
    }
    let mut config = cfg.clone();
    if let Some(a) = config
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED);
    }
    let text = format!("{config}\n");
    if let Some(a) = merged
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.insert(LAST_APPLIED.into(), Value::String(text));
    }
}

/// The result of an apply.
pub(crate) struct Applied {
    /// The live object with the configuration merged in and the fields the
    /// applier gave up removed.
    pub(crate) object: Value,
    pub(crate) managed: Managed,
}

/// Applies configuration `cfg` of `manager` to `live` (`Null` when the
/// object does not exist yet).
pub(crate) fn apply(
    scope: &Scope<'_>,
    mut managed: Managed,
    live: &Value,
    cfg: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Applied, Vec<Conflict>> {
    if managed.0.is_empty() && live.is_object() {
        // An object nobody was recorded for yet (written before tracking):
        // what it holds is owned by "before-first-apply", so the apply
        // conflicts with it rather than silently taking it.
        let empty = json!({ "apiVersion": live["apiVersion"], "kind": live["kind"] });
        managed = update(scope, managed, &empty, live, BEFORE_FIRST_APPLY, now);
    }
    let live = without_managed(live);
    let mut merged = walk::merge(scope.node, &live, cfg);
    let cfg_set = scope.owned_part(&walk::fields(scope.node, cfg));
    let sub = scope.subresource;
    let mine = managed.position(manager, Operation::Apply, sub, "");
    let last = mine.map(|i| managed.0[i].set.clone()).unwrap_or_default();
    let mine = match mine {
        Some(i) => {
            managed.0[i].set = cfg_set;
            managed.0[i].api_version = scope.api_version.clone();
            i
        }
        None => {
            managed.0.push(Entry {
                manager: manager.to_string(),
                operation: Operation::Apply,
                api_version: scope.api_version.clone(),
                time: None,
                subresource: sub.to_string(),
                set: cfg_set,
            });
            managed.0.len() - 1
        }
    };
    // Fields this manager applied before and no longer does go, unless
    // some manager (this one included, through its new configuration)
    // still owns them or something below them.
    if !last.is_empty() {
        let owned = managed
            .0
            .iter()
            .fold(Set::new(), |acc, e| acc.union(&e.set));
        let mut prune = Set::new();
        for p in last.paths() {
            if !owned.has(&p) && !owned.has_below(&p) {
                prune.insert(&p);
            }
        }
        walk::remove(scope.node, &mut merged, &prune);
    }
    let cmp = walk::compare(scope.node, &live, &merged, scope.go_structs);
    let changed = scope.owned_part(&cmp.modified.union(&cmp.added));
    let removed = scope.owned_part(&cmp.removed);
    let mut conflicts = Vec::new();
    for (i, e) in managed.0.iter().enumerate() {
        if i == mine {
            continue;
        }
        for path in e.set.intersection(&changed).paths() {
            conflicts.push(Conflict {
                manager: e.describe(),
                order: (
                    e.manager.clone(),
                    e.operation,
                    e.subresource.clone(),
                    e.api_version.clone(),
                ),
                path,
            });
        }
    }
    if !conflicts.is_empty() && !force {
        // kubectl moving from client-side to server-side apply: fields
        // whose live value is still what the last client-side apply set
        // are taken over without a conflict.
        if manager == KUBECTL
            && let Some(allowed) = last_applied_fields(scope, &live)
        {
            conflicts.retain(|c| !allowed.has(&c.path));
        }
        if !conflicts.is_empty() {
            conflicts.sort_by(|a, b| a.order.cmp(&b.order));
            return Err(conflicts);
        }
    }
    for (i, e) in managed.0.iter_mut().enumerate() {
        if i != mine {
            e.set = e.set.difference(&changed).difference(&removed);
        }
    }
    if merged != live || managed.0[mine].time.is_none() {
        managed.0[mine].time = Some(now.to_string());
    }
    if manager == KUBECTL {
        sync_last_applied(&mut merged, cfg);
    }
    managed.drop_empty();
    managed.cap();
    Ok(Applied {
        object: merged,
        managed,
    })
}
