//! Server-side apply (the simplification the parent module describes): before-first-apply,
//! the removal step, the merge, and the applier's `Apply` entry.

use serde_json::{Map, Value};

use super::strategic::merge_map;
use super::{PatchError, join, json_type};
use crate::managed_fields::{self, BEFORE_FIRST_APPLY, Write};

type Object = Map<String, Value>;

/// Server-side apply of `applied` by `write.manager` to the object itself (`subresource`
/// `None`) or to `/status`. Returns the object to store, with its managedFields.
pub fn apply(
    existing: Option<&Value>,
    applied: &Value,
    write: &Write<'_>,
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
    if write.subresource == Some("status") {
        // An apply to /status sets the status only; the rest of the configuration is ignored,
        // as the API server's status strategy does, and so is not owned.
        config.retain(|field, _| matches!(field.as_str(), "apiVersion" | "kind" | "status"));
    }
    let config = Value::Object(config);
    let owned_now = managed_fields::field_set(&config, write);
    let own =
        |entry: &Value| managed_fields::is_apply_entry_of(entry, write.manager, write.subresource);

    let (result, entries, unchanged) = match existing {
        None => (config.clone(), Vec::new(), false),
        Some(existing) => {
            let entries = match managed_fields::entries_of(existing) {
                Some(entries) => entries.clone(),
                // Fields that predate any recorded write belong to someone: kube-apiserver
                // gives them to before-first-apply, so this apply cannot remove them.
                None => managed_fields::record_update(
                    &[],
                    None,
                    existing,
                    &Write {
                        manager: BEFORE_FIRST_APPLY,
                        ..*write
                    },
                ),
            };
            let mut object = existing.clone();
            let previous = entries
                .iter()
                .find(|entry| own(entry))
                .and_then(|entry| entry.get("fieldsV1"))
                .and_then(Value::as_object);
            if let Some(previous) = previous {
                let mut keep: Vec<&Object> = vec![&owned_now];
                keep.extend(
                    entries
                        .iter()
                        .filter(|entry| !own(entry))
                        .filter_map(|entry| entry.get("fieldsV1"))
                        .filter_map(Value::as_object),
                );
                managed_fields::remove_dropped(&mut object, previous, &keep);
            }
            let mut object = match object {
                Value::Object(object) => object,
                _ => Object::new(),
            };
            if let Value::Object(config) = &config {
                // No directives survive `reject_directives`, so the outcome is always Keep.
                merge_map(&mut object, config, "")?;
            }
            let object = Value::Object(object);
            // A forced apply takes what it changed (or removed) away from everyone else.
            let change = managed_fields::compare(Some(existing), &object, write);
            let entries = managed_fields::take_away(&entries, &change.touched, own);
            (object, entries, change.touched.is_empty())
        }
    };

    let mut entry = managed_fields::entry(write, "Apply", owned_now);
    let previous = entries.iter().find(|entry| own(entry));
    if let Some(previous) = previous
        && unchanged
        && previous.get("fieldsV1") == entry.get("fieldsV1")
    {
        // Applying the same again changes nothing, not even the time of the entry.
        entry["time"] = previous.get("time").cloned().unwrap_or(Value::Null);
    }
    let mut entries: Vec<Value> = entries.into_iter().filter(|entry| !own(entry)).collect();
    entries.push(entry);
    let mut result = match result {
        Value::Object(result) => result,
        _ => Object::new(),
    };
    let metadata = result
        .entry("metadata")
        .or_insert_with(|| Value::Object(Object::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Object::new());
    }
    if let Value::Object(metadata) = metadata {
        metadata.insert(
            "managedFields".to_owned(),
            Value::Array(managed_fields::sorted(entries)),
        );
    }
    Ok(Value::Object(result))
}

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
