//! The four PATCH content types of the Kubernetes API, applied to stored objects held as
//! `serde_json::Value`.
//!
//! Data flow: the HTTP layer picks the function by `Content-Type`, hands it the stored object
//! and the decoded body, and stores what comes back. Every fallible function works on a copy
//! and only touches the target on success, so a rejected patch (a 422 for the caller) leaves
//! the stored object as it was.
//!
//! - `application/merge-patch+json` ([`merge_patch`]): RFC 7386, `null` deletes, objects merge
//!   recursively, anything else (lists included) replaces.
//! - `application/json-patch+json` ([`json_patch`]): RFC 6902 through the `json-patch` crate,
//!   atomic (a failed `test` or bad path applies nothing).
//! - `application/strategic-merge-patch+json` ([`strategic_merge_patch`]): a subset. Real
//!   kube-apiserver reads the merge strategy of each list from the Go type's struct tags; this
//!   stand-in has no schemas, so it decides by field name alone, anywhere in the object:
//!   `containers`, `initContainers`, `ephemeralContainers`, `env`, `volumes`,
//!   `imagePullSecrets` merge by `name`; `ports` by `containerPort` when the items have it,
//!   else by `port` (Service ports); `volumeMounts` by `mountPath`; `ownerReferences` by
//!   `uid`; `conditions` by `type`; `finalizers` is a set of strings (union, existing order
//!   first). Every other list is replaced, as are keyed lists whose patch items are not all
//!   objects (which lets custom resources with, say, a `volumes: ["a"]` field still patch).
//!   Maps merge recursively and `null` deletes a key. The directives kubectl sends are
//!   honoured: `$patch: delete` on a list item (removes the item with that key) or a map
//!   (removes the map; at the top level it empties the object, as Kubernetes does),
//!   `$patch: replace` on a map (the patch replaces it) or as a lone list item (the rest of
//!   the patch list replaces the list), `$patch: merge` (the default), `$retainKeys` (drops the
//!   map's keys not listed, before merging), `$deleteFromPrimitiveList/<field>` (removes
//!   those values from the list, before merging) and `$setElementOrder/<field>` (reorders the
//!   listed items into the positions they occupy, items not listed stay where they are). Any
//!   other `$` key is an error, so no directive can end up in a stored object.
//! - `application/apply-patch+yaml` ([`apply`], server-side apply): a simplification. Without
//!   an existing object the applied configuration is the result. Otherwise the fields this
//!   manager's previous apply owned (its `metadata.managedFields` entry, operation `Apply`)
//!   but the new configuration omits are removed, unless another manager's entry also owns
//!   them or something beneath them; then the configuration is merged in with the strategic
//!   rules above. The manager's entry is replaced by
//!   `{manager, operation: "Apply", apiVersion, time, fieldsType: "FieldsV1", fieldsV1}`, whose
//!   set has the Kubernetes FieldsV1 shape (`f:<field>`, `k:{"<key>":<value>}` with a `.`
//!   member for items of keyed lists, `v:<json>` for finalizers, a leaf `{}` for scalars and
//!   other lists); `apiVersion`, `kind` and the identity/system fields of `metadata` are not
//!   owned, as in Kubernetes. An apply to the status subresource sets (and owns) `status`
//!   only and is recorded in its own entry with `subresource: status`, as kube-apiserver
//!   records one entry per manager and subresource. Entries of other managers are kept as they are. There is no
//!   conflict detection (every apply behaves as `force=true` without taking ownership away
//!   from others) and writers without a managedFields entry are unknown to the removal step.
//!   Directives (`$` keys) are rejected in applied configurations.

use serde_json::{Map, Value};

type Object = Map<String, Value>;

const PATCH_DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// `metadata` fields that identify or are maintained by the server; server-side apply never
/// records them as owned (Kubernetes strips the same ones), so they are never removed.
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

/// Why a patch could not be applied. The target is left unchanged in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// A JSON patch body was not a list of operations.
    #[error("decoding json patch: expected an array of operations, found {found}")]
    JsonPatchNotArray {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A JSON patch operation was malformed (unknown `op`, missing `path` or `value`, ...).
    #[error("decoding json patch operations: {0}")]
    JsonPatchDecode(serde_json::Error),
    /// A JSON patch operation failed (a `test` mismatch, a path that does not exist).
    #[error("applying json patch: {0}")]
    JsonPatchApply(json_patch::PatchError),
    /// A strategic merge patch body was not an object.
    #[error("applying strategic merge patch: expected an object, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A `$` directive was unknown or had a value of the wrong shape.
    #[error("applying strategic merge patch at {path}: {reason}")]
    InvalidDirective {
        /// Dotted path of the map holding the directive (`.` for the top level).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An item of a list merged by key lacks the key.
    #[error("applying strategic merge patch at {path}: list item has no merge key {key:?}")]
    MissingMergeKey {
        /// Dotted path of the list.
        path: String,
        /// The merge key the list's items need.
        key: &'static str,
    },
    /// A server-side apply body was not an object.
    #[error("server-side apply: expected the applied configuration to be an object, found {found}")]
    ApplyNotObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A server-side apply body contained a strategic merge directive.
    #[error(
        "server-side apply: {path} is a patch directive; applied configurations cannot have one"
    )]
    ApplyDirective {
        /// Dotted path of the directive key.
        path: String,
    },
}

/// Applies an `application/merge-patch+json` (RFC 7386) patch: `null` deletes, objects merge
/// recursively, anything else replaces. Cannot fail: every JSON value is a valid merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Applies an `application/json-patch+json` (RFC 6902) patch, which must be an array of
/// operations. All or nothing: on error the target is unchanged.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    if !patch.is_array() {
        return Err(PatchError::JsonPatchNotArray {
            found: json_type(patch),
        });
    }
    let operations: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(PatchError::JsonPatchDecode)?;
    json_patch::patch(target, &operations).map_err(PatchError::JsonPatchApply)
}

/// Applies an `application/strategic-merge-patch+json` patch (the subset described in the
/// module documentation). On error the target is unchanged.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::NotAnObject {
            found: json_type(patch),
        });
    };
    let mut result = match target {
        Value::Object(object) => object.clone(),
        _ => Object::new(),
    };
    if merge_map(&mut result, patch, "")? == Outcome::Delete {
        result.clear();
    }
    *target = Value::Object(result);
    Ok(())
}

/// Server-side apply of `applied` by field manager `manager` at time `now_rfc3339` (the
/// simplification described in the module documentation), to the object itself
/// (`subresource` `None`) or to a subresource (`Some("status")`). Returns the object to store.
pub fn apply(
    existing: Option<&Value>,
    applied: &Value,
    manager: &str,
    subresource: Option<&str>,
    now_rfc3339: &str,
) -> Result<Value, PatchError> {
    let Value::Object(applied) = applied else {
        return Err(PatchError::ApplyNotObject {
            found: json_type(applied),
        });
    };
    reject_directives(applied, "")?;
    let mut config = applied.clone();
    // managedFields are the server's record; a client cannot set them through apply.
    if let Some(Value::Object(metadata)) = config.get_mut("metadata") {
        metadata.remove("managedFields");
    }
    if subresource == Some("status") {
        // An apply to /status sets the status only; the rest of the configuration is ignored,
        // as the API server's status strategy does, and so is not owned.
        config.retain(|field, _| matches!(field.as_str(), "apiVersion" | "kind" | "status"));
    }
    let owned_now = applied_field_set(&config);

    let (mut result, mut entries) = match existing {
        None => (config.clone(), Vec::new()),
        Some(existing) => {
            let mut object = match existing {
                Value::Object(object) => object.clone(),
                _ => Object::new(),
            };
            let managed = object
                .get("metadata")
                .and_then(|metadata| metadata.get("managedFields"));
            let entries = match managed {
                Some(Value::Array(entries)) => entries.clone(),
                _ => Vec::new(),
            };
            let previous = entries
                .iter()
                .find(|entry| is_apply_entry_of(entry, manager, subresource))
                .and_then(|entry| entry.get("fieldsV1"))
                .and_then(Value::as_object);
            if let Some(previous) = previous {
                let mut keep: Vec<&Object> = vec![&owned_now];
                keep.extend(
                    entries
                        .iter()
                        .filter(|entry| !is_apply_entry_of(entry, manager, subresource))
                        .filter_map(|entry| entry.get("fieldsV1"))
                        .filter_map(Value::as_object),
                );
                let mut root = Value::Object(object);
                remove_dropped(&mut root, previous, &keep);
                object = match root {
                    Value::Object(object) => object,
                    _ => Object::new(),
                };
            }
            // No directives survive `reject_directives`, so the outcome is always Keep.
            merge_map(&mut object, &config, "")?;
            (object, entries)
        }
    };

    let mut entry = serde_json::json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": config.get("apiVersion").cloned().unwrap_or_else(|| Value::from("")),
        "time": now_rfc3339,
        "fieldsType": "FieldsV1",
        "fieldsV1": owned_now,
    });
    if let Some(subresource) = subresource {
        entry["subresource"] = Value::from(subresource);
    }
    match entries
        .iter_mut()
        .find(|existing| is_apply_entry_of(existing, manager, subresource))
    {
        Some(slot) => *slot = entry,
        None => entries.push(entry),
    }
    let metadata = result
        .entry("metadata")
        .or_insert_with(|| Value::Object(Object::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Object::new());
    }
    if let Value::Object(metadata) = metadata {
        metadata.insert("managedFields".to_owned(), Value::Array(entries));
    }
    Ok(Value::Object(result))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        ".".to_owned()
    } else {
        path.to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Strategic merge
// ---------------------------------------------------------------------------------------------

/// What the parent must do with a map after merging a patch into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Keep,
    /// The patch said `$patch: delete`: the map (or list item) goes away.
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    /// Merged item by item, matching items by this key.
    Keyed(&'static str),
    /// A set of primitives: union.
    Set,
    /// Replaced by the patch.
    Atomic,
}

/// The merge key of a list field, by name (the stand-in has no schemas; see the module doc).
/// `ports` depends on the items: container ports have `containerPort`, Service ports `port`.
fn merge_key(field: &str, existing: &[Value], patch: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "ports" => {
            let container_ports = existing
                .iter()
                .chain(patch)
                .any(|item| item.get("containerPort").is_some());
            Some(if container_ports {
                "containerPort"
            } else {
                "port"
            })
        }
        "volumeMounts" => Some("mountPath"),
        "ownerReferences" => Some("uid"),
        "conditions" => Some("type"),
        _ => None,
    }
}

fn list_kind(field: &str, existing: &[Value], patch: &[Value]) -> ListKind {
    let primitive = |item: &Value| !item.is_object() && !item.is_array();
    if field == "finalizers" && existing.iter().chain(patch).all(primitive) {
        return ListKind::Set;
    }
    match merge_key(field, existing, patch) {
        Some(key) if patch.iter().all(Value::is_object) => ListKind::Keyed(key),
        _ => ListKind::Atomic,
    }
}

/// Merges patch map `patch` into `target`, honouring the map-level directives.
fn merge_map(target: &mut Object, patch: &Object, path: &str) -> Result<Outcome, PatchError> {
    match patch.get(PATCH_DIRECTIVE) {
        None => {}
        Some(Value::String(directive)) if directive == "merge" => {}
        Some(Value::String(directive)) if directive == "delete" => return Ok(Outcome::Delete),
        // Replacing is merging into nothing: nested directives are still processed (and so
        // stripped), and nulls simply do not appear.
        Some(Value::String(directive)) if directive == "replace" => target.clear(),
        Some(other) => {
            return Err(PatchError::InvalidDirective {
                path: shown(path),
                reason: format!("$patch is {other}, expected \"replace\", \"delete\" or \"merge\""),
            });
        }
    }

    if let Some(keys) = patch.get(RETAIN_KEYS) {
        let keys = string_list(keys).ok_or_else(|| PatchError::InvalidDirective {
            path: shown(path),
            reason: "$retainKeys must be a list of strings".to_owned(),
        })?;
        target.retain(|key, _| keys.contains(&key.as_str()));
    }

    for (name, values) in patch {
        let Some(field) = name.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) else {
            continue;
        };
        let Value::Array(values) = values else {
            return Err(PatchError::InvalidDirective {
                path: shown(path),
                reason: format!("{name} must be a list"),
            });
        };
        if let Some(Value::Array(items)) = target.get_mut(field) {
            items.retain(|item| !values.contains(item));
        }
    }

    for (name, value) in patch {
        if name.starts_with('$') {
            if is_known_directive(name) {
                continue;
            }
            return Err(PatchError::InvalidDirective {
                path: shown(path),
                reason: format!("unknown directive {name:?}"),
            });
        }
        merge_field(target, name, value, path)?;
    }

    for (name, order) in patch {
        let Some(field) = name.strip_prefix(SET_ELEMENT_ORDER) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(PatchError::InvalidDirective {
                path: shown(path),
                reason: format!("{name} must be a list"),
            });
        };
        if let Some(Value::Array(items)) = target.get_mut(field) {
            set_element_order(field, items, order);
        }
    }
    Ok(Outcome::Keep)
}

fn is_known_directive(name: &str) -> bool {
    name == PATCH_DIRECTIVE
        || name == RETAIN_KEYS
        || name.starts_with(SET_ELEMENT_ORDER)
        || name.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

fn string_list(value: &Value) -> Option<Vec<&str>> {
    value.as_array()?.iter().map(Value::as_str).collect()
}

fn merge_field(
    target: &mut Object,
    name: &str,
    value: &Value,
    path: &str,
) -> Result<(), PatchError> {
    let field_path = join(path, name);
    match value {
        Value::Null => {
            target.remove(name);
        }
        Value::Object(patch) => {
            let slot = target
                .entry(name)
                .or_insert_with(|| Value::Object(Object::new()));
            if !slot.is_object() {
                *slot = Value::Object(Object::new());
            }
            let outcome = match slot {
                Value::Object(existing) => merge_map(existing, patch, &field_path)?,
                _ => Outcome::Keep,
            };
            if outcome == Outcome::Delete {
                target.remove(name);
            }
        }
        Value::Array(patch) => {
            // Taken in place rather than removed, so the key keeps its position when
            // serde_json preserves order.
            let existing = match target.get_mut(name) {
                Some(Value::Array(items)) => std::mem::take(items),
                _ => Vec::new(),
            };
            let merged = merge_list(name, existing, patch, &field_path)?;
            target.insert(name.to_owned(), Value::Array(merged));
        }
        scalar => {
            target.insert(name.to_owned(), scalar.clone());
        }
    }
    Ok(())
}

fn merge_list(
    field: &str,
    existing: Vec<Value>,
    patch: &[Value],
    path: &str,
) -> Result<Vec<Value>, PatchError> {
    // A lone `{"$patch": "replace"}` item makes the rest of the patch list the new list.
    let is_replace_marker = |item: &Value| {
        item.as_object().is_some_and(|item| {
            item.len() == 1 && item.get(PATCH_DIRECTIVE) == Some(&Value::from("replace"))
        })
    };
    if patch.iter().any(is_replace_marker) {
        let rest: Vec<Value> = patch
            .iter()
            .filter(|item| !is_replace_marker(item))
            .cloned()
            .collect();
        return fresh_items(&rest, path);
    }
    match list_kind(field, &existing, patch) {
        ListKind::Atomic => fresh_items(patch, path),
        ListKind::Set => {
            let mut merged = existing;
            for item in patch {
                if !merged.contains(item) {
                    merged.push(item.clone());
                }
            }
            Ok(merged)
        }
        ListKind::Keyed(key) => merge_keyed_list(existing, patch, key, path),
    }
}

fn merge_keyed_list(
    existing: Vec<Value>,
    patch: &[Value],
    key: &'static str,
    path: &str,
) -> Result<Vec<Value>, PatchError> {
    let mut merged = existing;
    for item in patch {
        let Some(patch_item) = item.as_object() else {
            continue; // list_kind only picks Keyed when every item is an object
        };
        let Some(wanted) = patch_item.get(key) else {
            return Err(PatchError::MissingMergeKey {
                path: shown(path),
                key,
            });
        };
        let item_path = format!("{path}[{key}={wanted}]");
        let position = merged.iter().position(|e| e.get(key) == Some(wanted));
        let outcome = match position.and_then(|i| merged.get_mut(i)) {
            Some(Value::Object(current)) => merge_map(current, patch_item, &item_path)?,
            _ => {
                let mut fresh = Object::new();
                let outcome = merge_map(&mut fresh, patch_item, &item_path)?;
                if outcome == Outcome::Keep {
                    merged.push(Value::Object(fresh));
                }
                outcome
            }
        };
        if outcome == Outcome::Delete {
            merged.retain(|e| e.get(key) != Some(wanted));
        }
    }
    Ok(merged)
}

/// Items of a list that replaces whatever was there, with their directives processed as if
/// merged into nothing (so none is stored).
fn fresh_items(items: &[Value], path: &str) -> Result<Vec<Value>, PatchError> {
    let mut fresh = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Object(patch) => {
                let mut object = Object::new();
                if merge_map(&mut object, patch, path)? == Outcome::Keep {
                    fresh.push(Value::Object(object));
                }
            }
            other => fresh.push(other.clone()),
        }
    }
    Ok(fresh)
}

/// `$setElementOrder/<field>`: the items named in `order` are rearranged into the order given,
/// within the positions they already occupy; items not named (server-side additions) stay put.
fn set_element_order(field: &str, items: &mut [Value], order: &[Value]) {
    let key = merge_key(field, items, order);
    let identity = |value: &Value| -> Option<Value> {
        match key {
            Some(key) => value.get(key).cloned(),
            None => Some(value.clone()),
        }
    };
    let order_ids: Vec<Option<Value>> = order.iter().map(identity).collect();
    let ranks: Vec<Option<usize>> = items
        .iter()
        .map(|item| {
            let id = identity(item)?;
            order_ids.iter().position(|o| o.as_ref() == Some(&id))
        })
        .collect();
    let mut listed: Vec<(usize, Value)> = items
        .iter()
        .zip(&ranks)
        .filter_map(|(item, rank)| rank.map(|rank| (rank, item.clone())))
        .collect();
    listed.sort_by_key(|(rank, _)| *rank);
    let mut listed = listed.into_iter().map(|(_, item)| item);
    for (slot, rank) in items.iter_mut().zip(&ranks) {
        if rank.is_some()
            && let Some(item) = listed.next()
        {
            *slot = item;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Server-side apply
// ---------------------------------------------------------------------------------------------

fn reject_directives(object: &Object, path: &str) -> Result<(), PatchError> {
    for (name, value) in object {
        let field_path = join(path, name);
        if name.starts_with('$') {
            return Err(PatchError::ApplyDirective { path: field_path });
        }
        reject_directives_in(value, &field_path)?;
    }
    Ok(())
}

fn reject_directives_in(value: &Value, path: &str) -> Result<(), PatchError> {
    match value {
        Value::Object(object) => reject_directives(object, path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| reject_directives_in(item, &format!("{path}[{i}]"))),
        _ => Ok(()),
    }
}

/// Whether `entry` is the record of `manager`'s applies to `subresource` (an entry per
/// manager and subresource, as in Kubernetes).
fn is_apply_entry_of(entry: &Value, manager: &str, subresource: Option<&str>) -> bool {
    entry.get("manager").and_then(Value::as_str) == Some(manager)
        && entry.get("operation").and_then(Value::as_str) == Some("Apply")
        && entry.get("subresource").and_then(Value::as_str) == subresource
}

/// The FieldsV1 set of an applied configuration: every field it sets, minus the ones the
/// server owns (`apiVersion`, `kind`, identity metadata).
fn applied_field_set(config: &Object) -> Object {
    let mut set = Object::new();
    for (name, value) in config {
        match name.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                if let Value::Object(metadata) = value {
                    let owned: Object = metadata
                        .iter()
                        .filter(|(field, _)| !UNOWNED_METADATA.contains(&field.as_str()))
                        .map(|(field, value)| (field.clone(), value.clone()))
                        .collect();
                    let owned = fields_of(&owned);
                    if !owned.is_empty() {
                        set.insert("f:metadata".to_owned(), Value::Object(owned));
                    }
                }
            }
            _ => {
                if let Some(member) = field_member(name, value) {
                    set.insert(format!("f:{name}"), member);
                }
            }
        }
    }
    set
}

fn fields_of(object: &Object) -> Object {
    object
        .iter()
        .filter_map(|(name, value)| Some((format!("f:{name}"), field_member(name, value)?)))
        .collect()
}

/// The set member for one field; `None` for `null`, which sets nothing.
fn field_member(name: &str, value: &Value) -> Option<Value> {
    let member = match value {
        Value::Null => return None,
        Value::Object(object) => fields_of(object),
        Value::Array(items) => match list_kind(name, &[], items) {
            ListKind::Keyed(key) => items
                .iter()
                .filter_map(|item| {
                    let object = item.as_object()?;
                    let key_value = object.get(key)?;
                    // `.` marks the item itself as owned, so dropping it removes the item.
                    let mut member = Object::new();
                    member.insert(".".to_owned(), Value::Object(Object::new()));
                    member.extend(fields_of(object));
                    let id = serde_json::json!({ key: key_value });
                    Some((format!("k:{id}"), Value::Object(member)))
                })
                .collect(),
            ListKind::Set => items
                .iter()
                .map(|item| (format!("v:{item}"), Value::Object(Object::new())))
                .collect(),
            ListKind::Atomic => Object::new(),
        },
        _ => Object::new(),
    };
    Some(Value::Object(member))
}

/// One step of a FieldsV1 path.
enum Step {
    /// `f:<name>`: a map field.
    Field(String),
    /// `k:{...}`: the item of a keyed list whose fields equal these.
    Key(Object),
    /// `v:<json>`: the item of a set list equal to this.
    Value(Value),
}

impl Step {
    /// `None` for `.` and for members this stand-in does not write (`i:` indexes) or that do
    /// not parse; those are left alone rather than guessed at.
    fn parse(member: &str) -> Option<Self> {
        if let Some(name) = member.strip_prefix("f:") {
            Some(Self::Field(name.to_owned()))
        } else if let Some(key) = member.strip_prefix("k:") {
            serde_json::from_str(key).ok().map(Self::Key)
        } else if let Some(value) = member.strip_prefix("v:") {
            serde_json::from_str(value).ok().map(Self::Value)
        } else {
            None
        }
    }

    fn selects(&self, item: &Value) -> bool {
        match self {
            Self::Field(_) => false,
            Self::Key(key) => key.iter().all(|(k, v)| item.get(k) == Some(v)),
            Self::Value(value) => item == value,
        }
    }

    fn child<'a>(&self, node: &'a mut Value) -> Option<&'a mut Value> {
        match (self, node) {
            (Self::Field(name), Value::Object(object)) => object.get_mut(name),
            (_, Value::Array(items)) => items.iter_mut().find(|item| self.selects(item)),
            _ => None,
        }
    }

    fn remove(&self, node: &mut Value) {
        match (self, node) {
            (Self::Field(name), Value::Object(object)) => {
                object.remove(name);
            }
            (_, Value::Array(items)) => items.retain(|item| !self.selects(item)),
            _ => {}
        }
    }
}

/// Removes from `node` what `previous` owned and no set in `keep` (the new apply, other
/// managers) owns at or beneath the same place. Containers left empty by the removal go too,
/// unless someone still owns something in them.
fn remove_dropped(node: &mut Value, previous: &Object, keep: &[&Object]) {
    for (member, owned) in previous {
        let (Some(step), Some(owned)) = (Step::parse(member), owned.as_object()) else {
            continue;
        };
        let kept: Vec<&Object> = keep
            .iter()
            .filter_map(|set| set.get(member))
            .filter_map(Value::as_object)
            .collect();
        let owned_itself = owned.is_empty() || owned.contains_key(".");
        if owned_itself && kept.is_empty() {
            step.remove(node);
            continue;
        }
        let emptied = match step.child(node) {
            Some(child) => {
                remove_dropped(child, owned, &kept);
                match child {
                    Value::Object(object) => object.is_empty(),
                    Value::Array(items) => items.is_empty(),
                    _ => false,
                }
            }
            None => false,
        };
        if emptied && kept.is_empty() {
            step.remove(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Fails the test if any key anywhere starts with `$`.
    fn assert_no_directives(value: &Value) {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    assert!(!key.starts_with('$'), "directive {key} left in {value}");
                    assert_no_directives(child);
                }
            }
            Value::Array(items) => items.iter().for_each(assert_no_directives),
            _ => {}
        }
    }

    fn strategic(target: Value, patch: Value) -> Value {
        let mut target = target;
        strategic_merge_patch(&mut target, &patch).unwrap();
        assert_no_directives(&target);
        target
    }

    #[test]
    fn merge_patch_deletes_nests_and_replaces() {
        let mut object = json!({
            "metadata": {"labels": {"a": "1", "b": "2"}, "name": "x"},
            "spec": {"list": [1, 2, 3], "keep": true},
        });
        merge_patch(
            &mut object,
            &json!({
                "metadata": {"labels": {"a": null, "c": "3"}},
                "spec": {"list": [9], "new": {"deep": 1}},
            }),
        );
        assert_eq!(
            object,
            json!({
                "metadata": {"labels": {"b": "2", "c": "3"}, "name": "x"},
                "spec": {"list": [9], "keep": true, "new": {"deep": 1}},
            })
        );
    }

    #[test]
    fn json_patch_operations() {
        let mut object = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {}});
        json_patch(
            &mut object,
            &json!([
                {"op": "add", "path": "/data/k", "value": "v"},
                {"op": "remove", "path": "/metadata/labels/a"},
                {"op": "replace", "path": "/metadata/name", "value": "y"},
                {"op": "test", "path": "/data/k", "value": "v"},
            ]),
        )
        .unwrap();
        assert_eq!(
            object,
            json!({"metadata": {"name": "y", "labels": {}}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn json_patch_failures_leave_target_unchanged() {
        let original = json!({"data": {"k": "v"}});
        let mut object = original.clone();
        let failing_test = json!([
            {"op": "add", "path": "/data/other", "value": "x"},
            {"op": "test", "path": "/data/k", "value": "not-v"},
        ]);
        let error = json_patch(&mut object, &failing_test).unwrap_err();
        assert!(matches!(error, PatchError::JsonPatchApply(_)), "{error:?}");
        assert_eq!(object, original);

        let missing_path = json!([{"op": "remove", "path": "/data/nope"}]);
        assert!(matches!(
            json_patch(&mut object, &missing_path),
            Err(PatchError::JsonPatchApply(_))
        ));
        let bad_op = json!([{"op": "frobnicate", "path": "/data"}]);
        assert!(matches!(
            json_patch(&mut object, &bad_op),
            Err(PatchError::JsonPatchDecode(_))
        ));
        let error = json_patch(&mut object, &json!({"op": "add"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoding json patch: expected an array of operations, found an object"
        );
        assert_eq!(object, original);
    }

    fn deployment() -> Value {
        json!({
            "metadata": {"name": "web", "finalizers": ["a", "b"]},
            "spec": {"template": {"spec": {
                "containers": [
                    {"name": "app", "image": "app:1", "env": [
                        {"name": "A", "value": "1"},
                        {"name": "B", "value": "2"},
                    ]},
                    {"name": "sidecar", "image": "proxy:1"},
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
            }}},
        })
    }

    #[test]
    fn strategic_merge_containers_and_env_by_name() {
        let result = strategic(
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "app:2", "env": [
                    {"name": "B", "value": "two"},
                    {"name": "C", "value": "3"},
                ]},
                {"name": "new", "image": "new:1"},
            ]}}}}),
        );
        assert_eq!(
            result.pointer("/spec/template/spec/containers").unwrap(),
            &json!([
                {"name": "app", "image": "app:2", "env": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "value": "two"},
                    {"name": "C", "value": "3"},
                ]},
                {"name": "sidecar", "image": "proxy:1"},
                {"name": "new", "image": "new:1"},
            ])
        );
        // A list without a merge key replaces.
        let result = strategic(
            json!({"spec": {"args": ["a", "b"]}}),
            json!({"spec": {"args": ["c"]}}),
        );
        assert_eq!(result, json!({"spec": {"args": ["c"]}}));
    }

    #[test]
    fn strategic_merge_delete_directives() {
        let result = strategic(
            deployment(),
            json!({"spec": {"template": {"spec": {
                "containers": [
                    {"name": "sidecar", "$patch": "delete"},
                    {"name": "app", "env": [{"name": "A", "$patch": "delete"}]},
                ],
                "volumes": [{"name": "data", "emptyDir": {"$patch": "delete"}}],
            }}}}),
        );
        assert_eq!(
            result.pointer("/spec/template/spec").unwrap(),
            &json!({
                "containers": [
                    {"name": "app", "image": "app:1", "env": [{"name": "B", "value": "2"}]},
                ],
                "volumes": [{"name": "data"}],
            })
        );
        // Deleting an item that is not there is not an error.
        let unchanged = strategic(
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "ghost", "$patch": "delete"},
            ]}}}}),
        );
        assert_eq!(unchanged, deployment());
        // Null deletes a map key.
        let result = strategic(deployment(), json!({"spec": {"template": null}}));
        assert_eq!(result.get("spec").unwrap(), &json!({}));
    }

    #[test]
    fn strategic_merge_set_element_order_is_stripped_and_orders() {
        let result = strategic(
            deployment(),
            json!({
                "metadata": {"$setElementOrder/finalizers": ["b", "a"]},
                "spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                    "containers": [{"name": "app", "image": "app:3"}],
                }}},
            }),
        );
        assert_eq!(
            result.pointer("/spec/template/spec/containers").unwrap(),
            &json!([
                {"name": "sidecar", "image": "proxy:1"},
                {"name": "app", "image": "app:3", "env": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "value": "2"},
                ]},
            ])
        );
        assert_eq!(
            result.pointer("/metadata/finalizers").unwrap(),
            &json!(["b", "a"])
        );
    }

    #[test]
    fn strategic_merge_finalizers() {
        let result = strategic(
            deployment(),
            json!({"metadata": {"finalizers": ["c", "a"]}}),
        );
        assert_eq!(
            result.pointer("/metadata/finalizers").unwrap(),
            &json!(["a", "b", "c"])
        );
        let result = strategic(
            deployment(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}}),
        );
        assert_eq!(
            result.pointer("/metadata/finalizers").unwrap(),
            &json!(["b"])
        );
    }

    #[test]
    fn strategic_merge_retain_keys_and_replace() {
        let result = strategic(
            json!({"spec": {"strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1},
            }}}),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(result, json!({"spec": {"strategy": {"type": "Recreate"}}}));

        let result = strategic(
            json!({"spec": {"selector": {"a": "1", "b": "2"}}}),
            json!({"spec": {"selector": {"$patch": "replace", "c": "3"}}}),
        );
        assert_eq!(result, json!({"spec": {"selector": {"c": "3"}}}));

        let result = strategic(
            deployment(),
            json!({"spec": {"template": {"spec": {"volumes": [
                {"$patch": "replace"},
                {"name": "only", "secret": {"secretName": "s"}},
            ]}}}}),
        );
        assert_eq!(
            result.pointer("/spec/template/spec/volumes").unwrap(),
            &json!([{"name": "only", "secret": {"secretName": "s"}}])
        );
    }

    #[test]
    fn strategic_merge_ports_and_other_keys() {
        let result = strategic(
            json!({"spec": {
                "ports": [{"port": 80, "targetPort": 8080}, {"port": 443}],
                "containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}],
            }}),
            json!({"spec": {
                "ports": [{"port": 80, "targetPort": 9090}],
                "containers": [{"name": "c", "ports": [{"containerPort": 81}]}],
            }}),
        );
        assert_eq!(
            result,
            json!({"spec": {
                "ports": [{"port": 80, "targetPort": 9090}, {"port": 443}],
                "containers": [{"name": "c", "ports": [
                    {"containerPort": 80, "name": "http"},
                    {"containerPort": 81},
                ]}],
            }})
        );
        let result = strategic(
            json!({"status": {"conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "Synced", "status": "True"},
            ]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        assert_eq!(
            result,
            json!({"status": {"conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Synced", "status": "True"},
            ]}})
        );
    }

    #[test]
    fn strategic_merge_top_level_directives_and_new_objects() {
        let result = strategic(
            json!({"a": 1}),
            json!({"b": {"c": null, "d": {"$patch": "delete"}, "e": 2}}),
        );
        assert_eq!(result, json!({"a": 1, "b": {"e": 2}}));
        let result = strategic(json!({"a": 1}), json!({"$patch": "delete"}));
        assert_eq!(result, json!({}));
    }

    #[test]
    fn strategic_merge_errors_leave_target_unchanged() {
        let original = deployment();
        let mut object = original.clone();
        let cases = [
            json!({"metadata": {"labels": {"x": "1"}}, "spec": {"$bogus": 1}}),
            json!({"spec": {"$patch": "explode"}}),
            json!({"spec": {"$retainKeys": "template"}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
            json!(["not", "an", "object"]),
        ];
        for patch in cases {
            assert!(
                strategic_merge_patch(&mut object, &patch).is_err(),
                "{patch} should fail"
            );
            assert_eq!(object, original);
        }
        let error = strategic_merge_patch(
            &mut object,
            &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "applying strategic merge patch at spec.template.spec.containers: \
             list item has no merge key \"name\""
        );
    }

    #[test]
    fn apply_creates_with_managed_fields() {
        let applied = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}},
            },
        });
        let created = apply(None, &applied, "ci", None, "2024-01-01T00:00:00Z").unwrap();
        let mut expected = applied.clone();
        expected["metadata"]["managedFields"] = json!([{
            "manager": "ci",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": "2024-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:image": {}},
                    }}},
                },
            },
        }]);
        assert_eq!(created, expected);
    }

    #[test]
    fn apply_removes_what_the_manager_dropped_and_keeps_others() {
        let first = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "labels": {"app": "web", "tier": "front"},
                "finalizers": ["example.com/a", "example.com/b"],
            },
            "spec": {
                "replicas": 2,
                "paused": false,
                "template": {"spec": {"containers": [
                    {"name": "app", "image": "app:1", "args": ["--v"]},
                    {"name": "sidecar", "image": "proxy:1"},
                ]}},
            },
        });
        let mut object = apply(None, &first, "ci", None, "t1").unwrap();
        // Another manager labels the object and also sets `paused`; a writer without
        // managedFields (the server, say) adds status.
        object["metadata"]["labels"]["team"] = json!("blue");
        object["status"] = json!({"replicas": 2});
        let other = json!({
            "manager": "kubectl-label",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": "t0",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:team": {}}},
                "f:spec": {"f:paused": {}},
            },
        });
        object["metadata"]["managedFields"]
            .as_array_mut()
            .unwrap()
            .insert(0, other.clone());

        let second = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "labels": {"app": "web"},
                "finalizers": ["example.com/b"],
            },
            "spec": {
                "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}},
            },
        });
        let updated = apply(Some(&object), &second, "ci", None, "t2").unwrap();

        assert_eq!(
            updated["metadata"]["labels"],
            json!({"app": "web", "team": "blue"})
        );
        assert_eq!(updated["metadata"]["finalizers"], json!(["example.com/b"]));
        assert_eq!(updated["metadata"]["name"], json!("web"));
        // Dropped by ci and owned by nobody else: gone.
        assert!(updated["spec"].get("replicas").is_none(), "{updated}");
        // Dropped by ci but co-owned by kubectl-label: stays.
        assert_eq!(updated["spec"]["paused"], json!(false));
        assert_eq!(
            updated["spec"]["template"]["spec"]["containers"],
            json!([{"name": "app", "image": "app:2"}])
        );
        assert_eq!(updated["status"], json!({"replicas": 2}));

        let entries = updated["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], other);
        assert_eq!(entries[1]["manager"], json!("ci"));
        assert_eq!(entries[1]["time"], json!("t2"));
        assert_eq!(
            entries[1]["fieldsV1"],
            json!({
                "f:metadata": {
                    "f:labels": {"f:app": {}},
                    "f:finalizers": {"v:\"example.com/b\"": {}},
                },
                "f:spec": {"f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:image": {}},
                }}}},
            })
        );
    }

    #[test]
    fn apply_prunes_containers_left_empty() {
        let first = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {"a": "1"}},
            "data": {"k": "v"},
        });
        let object = apply(None, &first, "ci", None, "t1").unwrap();
        let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let updated = apply(Some(&object), &second, "ci", None, "t2").unwrap();
        assert!(updated.get("data").is_none(), "{updated}");
        assert!(
            updated["metadata"].get("annotations").is_none(),
            "{updated}"
        );
        assert_eq!(
            updated["metadata"]["managedFields"][0]["fieldsV1"],
            json!({})
        );
    }

    #[test]
    fn apply_rejects_directives_and_non_objects() {
        let error = apply(
            None,
            &json!({"metadata": {"name": "x"}, "spec": {"$patch": "replace"}}),
            "ci",
            None,
            "t",
        )
        .unwrap_err();
        assert!(
            matches!(&error, PatchError::ApplyDirective { path } if path == "spec.$patch"),
            "{error:?}"
        );
        assert!(matches!(
            apply(None, &json!([1]), "ci", None, "t"),
            Err(PatchError::ApplyNotObject { found: "an array" })
        ));
    }

    #[test]
    fn a_status_apply_owns_only_the_status_in_its_own_entry() {
        let object = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "managedFields": [{
                "manager": "agent", "operation": "Apply", "apiVersion": "example.com/v1",
                "time": "t0", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:size": {}}}
            }]},
            "spec": {"size": 1}
        });
        let applied = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "labels": {"ignored": "yes"}},
            "spec": {"size": 2},
            "status": {"ready": true}
        });
        let first = apply(Some(&object), &applied, "agent", Some("status"), "t1").unwrap();
        assert_eq!(first["status"], json!({"ready": true}));
        assert_eq!(
            first["spec"],
            json!({"size": 1}),
            "spec is not applied through /status"
        );
        assert!(first["metadata"]["labels"].is_null(), "{first}");
        let entries = first["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(
            entries.len(),
            2,
            "the main entry and the status entry: {entries:?}"
        );
        assert_eq!(entries[0]["fieldsV1"], json!({"f:spec": {"f:size": {}}}));
        assert_eq!(
            entries[1],
            json!({
                "manager": "agent", "operation": "Apply", "apiVersion": "example.com/v1",
                "time": "t1", "fieldsType": "FieldsV1", "subresource": "status",
                "fieldsV1": {"f:status": {"f:ready": {}}}
            })
        );
        // The next status apply replaces its own entry and drops what it no longer sets.
        let second =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "status": {"phase": "x"}});
        let next = apply(Some(&first), &second, "agent", Some("status"), "t2").unwrap();
        assert_eq!(next["status"], json!({"phase": "x"}));
        assert_eq!(
            next["metadata"]["managedFields"].as_array().unwrap().len(),
            2
        );
    }
}
