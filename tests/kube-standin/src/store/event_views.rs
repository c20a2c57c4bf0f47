//! Events are one resource with two API views, as in kube-apiserver: `v1` `events` and
//! `events.k8s.io/v1` `events` are the same objects (one storage key, see
//! [`ResourceDef::key`]), so what a controller records through events.k8s.io is what
//! `kubectl describe` lists through the core API, and the other way round.
//!
//! Data flow: writes through the events.k8s.io view are renamed to the core field names
//! before they are stored ([`to_storage`]); every read through that view (get, list, watch,
//! a patch's starting point) is renamed back ([`to_view`]). The core view is the storage
//! shape. Fields both views share (`reason`, `type`, `action`, `eventTime`, `series`,
//! `related`, `reportingInstance`, `metadata`) pass unchanged.

use serde_json::Value;

use crate::registry::ResourceDef;

/// The group of the second view.
pub(crate) const EVENTS_GROUP: &str = "events.k8s.io";

/// `(events.k8s.io name, core name)` of every field the two views name differently.
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Is `def` the events.k8s.io view of events?
pub(crate) fn is_events_view(def: &ResourceDef) -> bool {
    def.group == EVENTS_GROUP && def.plural == "events"
}

/// A body written through `def`, in the storage (core) shape.
pub(super) fn to_storage(def: &ResourceDef, body: Value) -> Value {
    if !is_events_view(def) {
        return body;
    }
    rename(body, false)
}

/// A stored object as `def` shows it.
pub(super) fn to_view(def: &ResourceDef, stored: Value) -> Value {
    if !is_events_view(def) {
        return stored;
    }
    rename(stored, true)
}

/// Rename the view's names to the core ones, or with `to_view` the other way.
fn rename(mut object: Value, to_view: bool) -> Value {
    if let Some(map) = object.as_object_mut() {
        for (view, core) in RENAMED {
            let (from, to) = if to_view { (core, view) } else { (view, core) };
            if let Some(value) = map.remove(from) {
                map.insert(to.to_owned(), value);
            }
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::Registry;

    #[test]
    fn the_two_views_rename_each_other_and_share_storage() {
        let registry = Registry::default();
        let core = registry.find("", "v1", "events").unwrap().clone();
        let new = registry.find(EVENTS_GROUP, "v1", "events").unwrap().clone();
        assert_eq!(core.key(), new.key(), "one storage for both views");
        let written = json!({
            "metadata": {"name": "e"},
            "regarding": {"kind": "SealedSecret", "name": "db"},
            "note": "Secret unsealed",
            "reason": "Unsealed",
            "reportingController": "secrets-agent",
            "deprecatedCount": 2,
        });
        let stored = to_storage(&new, written.clone());
        assert_eq!(stored["involvedObject"]["name"], "db");
        assert_eq!(stored["message"], "Secret unsealed");
        assert_eq!(stored["reportingComponent"], "secrets-agent");
        assert_eq!(stored["count"], 2);
        assert_eq!(stored["reason"], "Unsealed");
        assert!(stored.get("note").is_none() && stored.get("regarding").is_none());
        assert_eq!(to_view(&new, stored.clone()), written);
        assert_eq!(to_view(&core, stored.clone()), stored);
    }
}
