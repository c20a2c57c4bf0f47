//! Strategic merge patch (the subset the parent module describes), and the list kinds by
//! field name that server-side apply and managedFields share.

use serde_json::{Map, Value};

use super::{PatchError, join, json_type, shown};

type Object = Map<String, Value>;

const PATCH_DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

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

/// What the parent must do with a map after merging a patch into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Keep,
    /// The patch said `$patch: delete`: the map (or list item) goes away.
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
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

pub(crate) fn list_kind(field: &str, existing: &[Value], patch: &[Value]) -> ListKind {
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
pub(crate) fn merge_map(
    target: &mut Object,
    patch: &Object,
    path: &str,
) -> Result<Outcome, PatchError> {
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
