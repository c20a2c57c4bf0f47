//! `metadata.managedFields`: which field manager owns which fields of an object, in the
//! Kubernetes FieldsV1 shape, recorded for every write as kube-apiserver records it.
//!
//! Data flow: a write computes the object it will store; then [`record_update`] (create,
//! update, non-apply patch) or the apply in `patch::apply` turns the stored and the new object
//! into field paths ([`leaves`]) and compares them. What the write added or changed goes to
//! the writer's entry and is taken away from every other entry (the write now owns it); what it
//! removed is taken away from every entry. Entries left empty are dropped, and the list is
//! kept in kube-apiserver's order (`Apply` entries first, then by time, manager, apiVersion,
//! subresource).
//!
//! Field paths are the members of FieldsV1: `f:<field>` for a map field, `k:{"<key>":<value>}`
//! for an item of a list merged by key (the strategic merge keys of `patch`; the item itself is
//! owned, written `.` in FieldsV1), `v:<json>` for an item of a set (finalizers), and a leaf for
//! a scalar, an atomic list or an empty map. Without schemas every map is treated as a struct:
//! a map field is never owned itself, only what is in it. `apiVersion`, `kind` and the identity
//! and system fields of `metadata` are never owned. An entry is one per manager, operation
//! (`Update`, `Apply`), subresource and (for `Update`) apiVersion, as in Kubernetes; a write to
//! the main resource of a kind with a status subresource owns no `status`, a write to `/status`
//! owns only `status`, and such a write is recorded with `subresource: status`.
//!
//! [`remove_dropped`] is the removal step of server-side apply: it removes what the applier
//! owned and no longer applies, unless some other entry (of any operation) also owns it.

mod removal;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

pub(crate) use removal::remove_dropped;

use crate::patch::{ListKind, list_kind};

type Object = Map<String, Value>;

/// The manager that gets the fields of an object which had no managedFields when it first
/// receives an apply.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// The longest `fieldManager` kube-apiserver accepts, in bytes.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// `metadata` fields that identify or are maintained by the server; no manager owns them
/// (Kubernetes strips the same ones), so server-side apply never removes them.
const UNOWNED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
];

/// One write, as managedFields record it.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// The field manager.
    pub manager: &'a str,
    /// `Some("status")` for a write to `/status`.
    pub subresource: Option<&'a str>,
    /// The kind has a status subresource (then writes to the main resource own no status).
    pub status_subresource: bool,
    /// The apiVersion of the request.
    pub api_version: &'a str,
    /// RFC 3339, seconds.
    pub now: &'a str,
}

impl Write<'_> {
    /// Whether a top-level field of the object is owned by writes of this kind.
    fn owns(&self, field: &str) -> bool {
        match field {
            "apiVersion" | "kind" => false,
            "status" => self.subresource.is_some() || !self.status_subresource,
            _ => self.subresource.is_none(),
        }
    }
}

/// A field path: FieldsV1 members from the top (`f:spec`, `k:{"name":"app"}`, ...).
pub(crate) type Path = Vec<String>;

/// What an object holds at an owned path.
#[derive(Debug, PartialEq)]
enum Leaf {
    /// A scalar, an atomic list or an empty map: changed when the value changes.
    Value(Value),
    /// An item of a keyed list or a set: identified by its path; its fields are paths of their
    /// own.
    Item,
}

/// Every path of `object` that a write of this kind owns, with what is there.
fn leaves(object: &Value, write: &Write<'_>) -> BTreeMap<Path, Leaf> {
    let mut out = BTreeMap::new();
    let Value::Object(object) = object else {
        return out;
    };
    for (name, value) in object {
        if !write.owns(name) {
            continue;
        }
        let mut path = vec![format!("f:{name}")];
        match (name.as_str(), value) {
            ("metadata", Value::Object(metadata)) => {
                for (field, value) in metadata {
                    if UNOWNED_METADATA.contains(&field.as_str()) {
                        continue;
                    }
                    path.push(format!("f:{field}"));
                    collect(field, value, &mut path, &mut out);
                    path.pop();
                }
            }
            ("metadata", _) => {}
            _ => collect(name, value, &mut path, &mut out),
        }
    }
    out
}

fn collect(name: &str, value: &Value, path: &mut Path, out: &mut BTreeMap<Path, Leaf>) {
    match value {
        // `null` sets nothing.
        Value::Null => {}
        Value::Object(object) if !object.is_empty() => {
            for (field, child) in object {
                path.push(format!("f:{field}"));
                collect(field, child, path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match list_kind(name, &[], items) {
            ListKind::Keyed(key) => {
                for object in items.iter().filter_map(Value::as_object) {
                    let Some(id) = object.get(key) else {
                        continue;
                    };
                    path.push(format!("k:{}", json!({ key: id })));
                    out.insert(path.clone(), Leaf::Item);
                    for (field, child) in object {
                        path.push(format!("f:{field}"));
                        collect(field, child, path, out);
                        path.pop();
                    }
                    path.pop();
                }
            }
            ListKind::Set => {
                for item in items {
                    path.push(format!("v:{item}"));
                    out.insert(path.clone(), Leaf::Item);
                    path.pop();
                }
            }
            ListKind::Atomic => {
                out.insert(path.clone(), Leaf::Value(value.clone()));
            }
        },
        _ => {
            out.insert(path.clone(), Leaf::Value(value.clone()));
        }
    }
}

/// The FieldsV1 set of what `config` sets (an applied configuration), for a write of this kind.
pub(crate) fn field_set(config: &Value, write: &Write<'_>) -> Object {
    to_fields_v1(leaves(config, write).keys())
}

/// What a write did, as paths.
#[derive(Debug, Default)]
pub(crate) struct Change {
    /// Added or given another value: the writer owns these now.
    pub(crate) changed: BTreeSet<Path>,
    /// Changed or removed: nobody else owns these any more.
    pub(crate) touched: BTreeSet<Path>,
}

/// Compares the stored object (`None`: there was none) with the one to store.
pub(crate) fn compare(old: Option<&Value>, new: &Value, write: &Write<'_>) -> Change {
    let before = old.map(|old| leaves(old, write)).unwrap_or_default();
    let after = leaves(new, write);
    let mut change = Change::default();
    for (path, leaf) in &after {
        if before.get(path) != Some(leaf) {
            change.changed.insert(path.clone());
        }
    }
    change.touched = before
        .keys()
        .filter(|path| !after.contains_key(*path))
        .cloned()
        .collect();
    change.touched.extend(change.changed.iter().cloned());
    change
}

/// The paths of a FieldsV1 set. A member is in the set when it is a leaf (`{}`) or marked `.`.
pub(crate) fn paths_of(fields: &Object) -> BTreeSet<Path> {
    fn walk(node: &Object, prefix: &mut Path, out: &mut BTreeSet<Path>) {
        for (member, child) in node {
            if member == "." {
                continue;
            }
            prefix.push(member.clone());
            match child.as_object() {
                Some(child) => {
                    if child.is_empty() || child.contains_key(".") {
                        out.insert(prefix.clone());
                    }
                    walk(child, prefix, out);
                }
                None => {
                    out.insert(prefix.clone());
                }
            }
            prefix.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

/// The FieldsV1 set of these paths (`.` marks a member that is owned and has owned members).
pub(crate) fn to_fields_v1<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Object {
    let paths: BTreeSet<&Path> = paths.into_iter().collect();
    let mut root = Object::new();
    for path in &paths {
        let mut node = &mut root;
        for member in path.iter() {
            let child = node
                .entry(member.clone())
                .or_insert_with(|| Value::Object(Object::new()));
            if !child.is_object() {
                *child = Value::Object(Object::new());
            }
            let Value::Object(child) = child else {
                break;
            };
            node = child;
        }
    }
    for path in &paths {
        if let Some(node) = node_at(&mut root, path)
            && !node.is_empty()
        {
            node.insert(".".to_owned(), Value::Object(Object::new()));
        }
    }
    root
}

fn node_at<'a>(root: &'a mut Object, path: &Path) -> Option<&'a mut Object> {
    let mut node = root;
    for member in path {
        node = node.get_mut(member)?.as_object_mut()?;
    }
    Some(node)
}

/// The paths an entry owns; `None` when it is not a FieldsV1 entry this stand-in reads.
fn entry_paths(entry: &Value) -> Option<BTreeSet<Path>> {
    let fields_type = entry.get("fieldsType").and_then(Value::as_str);
    if fields_type.is_some_and(|t| t != "FieldsV1") {
        return None;
    }
    Some(paths_of(entry.get("fieldsV1")?.as_object()?))
}

fn is_entry_of(entry: &Value, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
    entry.get("manager").and_then(Value::as_str) == Some(manager)
        && entry.get("operation").and_then(Value::as_str) == Some(operation)
        && entry.get("subresource").and_then(Value::as_str) == subresource
}

/// Whether `entry` is the record of `manager`'s applies to `subresource`.
pub(crate) fn is_apply_entry_of(entry: &Value, manager: &str, subresource: Option<&str>) -> bool {
    is_entry_of(entry, manager, "Apply", subresource)
}

/// Whether `entry` is where this write's `Update` is recorded (one per manager, subresource
/// and apiVersion).
fn is_update_entry_of(entry: &Value, write: &Write<'_>) -> bool {
    is_entry_of(entry, write.manager, "Update", write.subresource)
        && entry.get("apiVersion").and_then(Value::as_str) == Some(write.api_version)
}

/// A new entry of `write` owning `fields`.
pub(crate) fn entry(write: &Write<'_>, operation: &str, fields: Object) -> Value {
    let mut entry = json!({
        "manager": write.manager,
        "operation": operation,
        "apiVersion": write.api_version,
        "time": write.now,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    });
    if let Some(subresource) = write.subresource {
        entry["subresource"] = Value::from(subresource);
    }
    entry
}

/// The managedFields of an object after a create, update or non-apply patch `write` turned
/// `old` (`None` for a create) into `new`, starting from `entries` (the stored object's, or the
/// ones the client sent).
pub fn record_update(
    entries: &[Value],
    old: Option<&Value>,
    new: &Value,
    write: &Write<'_>,
) -> Vec<Value> {
    let change = compare(old, new, write);
    let mut out = take_away(entries, &change.touched, |_| false);
    let own = out
        .iter_mut()
        .find(|entry| is_update_entry_of(entry, write));
    if !change.changed.is_empty() {
        match own {
            Some(own) => {
                let mut paths = entry_paths(own).unwrap_or_default();
                paths.extend(change.changed.iter().cloned());
                own["fieldsV1"] = Value::Object(to_fields_v1(&paths));
                own["time"] = Value::from(write.now);
            }
            None => out.push(entry(write, "Update", to_fields_v1(&change.changed))),
        }
    }
    sorted(out)
}

/// `entries` without `paths`, except the entries `spare` names; entries left owning nothing go.
pub(crate) fn take_away(
    entries: &[Value],
    paths: &BTreeSet<Path>,
    spare: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    entries
        .iter()
        .filter_map(|entry| {
            if spare(entry) {
                return Some(entry.clone());
            }
            let Some(mut owned) = entry_paths(entry) else {
                return Some(entry.clone());
            };
            let before = owned.len();
            owned.retain(|path| !paths.contains(path));
            if owned.is_empty() {
                return None;
            }
            let mut entry = entry.clone();
            if owned.len() != before {
                entry["fieldsV1"] = Value::Object(to_fields_v1(&owned));
            }
            Some(entry)
        })
        .collect()
}

/// The entries in kube-apiserver's order: by operation (`Apply` before `Update`), time,
/// manager, apiVersion, subresource.
pub(crate) fn sorted(mut entries: Vec<Value>) -> Vec<Value> {
    let text = |entry: &Value, field: &str| {
        entry
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    entries.sort_by_key(|entry| {
        ["operation", "time", "manager", "apiVersion", "subresource"].map(|f| text(entry, f))
    });
    entries
}

/// The entries of a stored object or a request body; `None` when it has none (absent, `null`,
/// an empty list or something that is no list of entries).
pub fn entries_of(object: &Value) -> Option<&Vec<Value>> {
    let entries = object.get("metadata")?.get("managedFields")?.as_array()?;
    let valid = entries.iter().all(|entry| {
        entry.get("manager").is_some_and(Value::is_string)
            && entry.get("operation").is_some_and(Value::is_string)
    });
    (valid && !entries.is_empty()).then_some(entries)
}

/// Whether a request asks for the managedFields to be cleared: a list of one empty entry, as
/// kube-apiserver documents (an empty list means "keep them").
pub fn is_reset(object: &Value) -> bool {
    object
        .get("metadata")
        .and_then(|metadata| metadata.get("managedFields"))
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries.len() == 1 && entries[0].as_object().is_some_and(Map::is_empty)
        })
}

/// Why a `fieldManager` is refused, in kube-apiserver's words; `None` when it is valid.
pub fn invalid_field_manager(manager: &str) -> Option<String> {
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        return Some(format!(
            "Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"
        ));
    }
    manager
        .char_indices()
        .find(|(_, c)| c.is_control())
        .map(|(at, c)| {
            format!(
                "Invalid value: {manager:?}: invalid character U+{:04X} (at position {at})",
                u32::from(c)
            )
        })
}

/// The manager of a write without `fieldManager`, from its User-Agent as kube-apiserver
/// derives it: what precedes the first `/`, without unprintable characters, cut to 128 bytes.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or_default();
    let mut manager = String::new();
    for c in prefix.chars().filter(|c| !c.is_control()) {
        if manager.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        manager.push(c);
    }
    manager
}
