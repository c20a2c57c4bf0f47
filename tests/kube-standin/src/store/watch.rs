//! Watch events and the start of a watch: which stored events to replay and the live channel
//! to continue from. Filtering by selectors happens in the HTTP layer, per watcher.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use super::Inner;
use crate::api::ApiError;
use crate::registry::{ResKey, ResourceDef};

/// `ADDED`, `MODIFIED` or `DELETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object.
#[derive(Debug)]
pub struct WatchEvent {
    /// resourceVersion after the change.
    pub resource_version: u64,
    /// Which resource.
    pub key: ResKey,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (before it, for deletes).
    pub object: Arc<Value>,
    /// The object before the change, so selector watches can see objects leave their set.
    pub previous: Option<Arc<Value>>,
}

impl WatchEvent {
    /// Is this event about `def` (in `ns`, when given)?
    pub fn concerns(&self, key: &ResKey, ns: Option<&str>) -> bool {
        self.key == *key && ns.is_none_or(|ns| ns == self.namespace)
    }
}

/// What a new watch starts with.
pub struct WatchStart {
    /// Events to send first, oldest first.
    pub replay: Vec<Arc<WatchEvent>>,
    /// Live events; skip those at or below `after`.
    pub live: broadcast::Receiver<Arc<WatchEvent>>,
    /// The resourceVersion the replay brings the watcher to.
    pub after: u64,
}

pub(super) fn start(
    inner: &Inner,
    def: &ResourceDef,
    ns: Option<&str>,
    resource_version: Option<u64>,
    live: broadcast::Receiver<Arc<WatchEvent>>,
) -> Result<WatchStart, ApiError> {
    let key = def.key();
    match resource_version {
        // "0" or absent: the current state as ADDED events, then changes.
        None | Some(0) => {
            let replay = inner
                .objects
                .iter()
                .filter(|((k, obj_ns, _), _)| *k == key && ns.is_none_or(|ns| ns == obj_ns))
                .map(|((k, obj_ns, _), obj)| {
                    Arc::new(WatchEvent {
                        resource_version: obj["metadata"]["resourceVersion"]
                            .as_str()
                            .and_then(|rv| rv.parse().ok())
                            .unwrap_or(0),
                        key: k.clone(),
                        namespace: obj_ns.clone(),
                        kind: EventType::Added,
                        object: obj.clone(),
                        previous: None,
                    })
                })
                .collect();
            Ok(WatchStart {
                replay,
                live,
                after: inner.rv,
            })
        }
        Some(rv) if rv < inner.compacted => Err(ApiError::gone(format!(
            "too old resource version: {rv} ({})",
            inner.compacted
        ))),
        Some(rv) => {
            let replay = inner
                .log
                .iter()
                .filter(|e| e.resource_version > rv && e.concerns(&key, ns))
                .cloned()
                .collect();
            Ok(WatchStart {
                replay,
                live,
                after: inner.rv,
            })
        }
    }
}
