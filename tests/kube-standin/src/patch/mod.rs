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
//! - `application/apply-patch+yaml` ([`apply`], server-side apply; `apply.rs`): a
//!   simplification. Without an existing object the applied configuration is the result.
//!   An existing object without managedFields first has its fields given to
//!   `before-first-apply` (an `Update` entry), as kube-apiserver does. Then the fields this
//!   manager's previous apply owned (its `metadata.managedFields` entry, operation `Apply`)
//!   but the new configuration omits are removed, unless any other entry (another applier's,
//!   or an `Update` entry of a create, update or patch) also owns them or something beneath
//!   them; then the configuration is merged in with the strategic rules above. The manager's
//!   entry becomes `{manager, operation: "Apply", apiVersion, time, fieldsType: "FieldsV1",
//!   fieldsV1}` (the set of what the configuration sets, see `managed_fields`), and what the
//!   apply changed is taken away from the other entries, as a forced apply does. An apply to
//!   the status subresource sets (and owns) `status` only and is recorded in its own entry with
//!   `subresource: status`, as kube-apiserver records one entry per manager and subresource.
//!   There is no conflict detection: every apply behaves as `force=true`. Directives (`$`
//!   keys) are rejected in applied configurations.

mod apply;
#[cfg(test)]
mod apply_tests;
mod strategic;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use apply::apply;
pub use strategic::strategic_merge_patch;
pub(crate) use strategic::{ListKind, list_kind};

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
