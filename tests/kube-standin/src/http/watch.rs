//! Watch streams: newline-delimited JSON events. The replay (current state for
//! resourceVersion 0, the log after a given version otherwise) goes first, then live events;
//! selector watches see objects enter (ADDED) and leave (DELETED) their set, as on a real
//! API server. Bookmarks every second when asked; a too-old version or a lagging watcher gets
//! an `ERROR` event with a 410 `Status`, which tells clients to list again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::resources::selectors;
use super::{Body, BoxError};
use crate::api::ApiError;
use crate::registry::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{EventType, Store, WatchEvent, is_events_view, versioned};

const BOOKMARK_EVERY: Duration = Duration::from_secs(1);

struct Filter {
    def: ResourceDef,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    /// What this watcher sees of an event, if anything.
    fn translate(&self, event: &WatchEvent) -> Option<(&'static str, Value)> {
        if !event.concerns(&self.def.key(), self.namespace.as_deref()) {
            return None;
        }
        // Selectors and the client see the object in the view it watches through; only
        // events.k8s.io events differ from storage, so only they are converted to match.
        let events_view = is_events_view(&self.def);
        let matches = |object: &Value| {
            if events_view {
                self.matches(&versioned(&self.def, object))
            } else {
                self.matches(object)
            }
        };
        let now = matches(&event.object);
        let before = event.previous.as_ref().is_some_and(|p| matches(p));
        let kind = match (event.kind, before, now) {
            (EventType::Deleted, _, true) => "DELETED",
            (EventType::Added, _, true) => "ADDED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            _ => return None,
        };
        Some((kind, versioned(&self.def, &event.object)))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"type": "BOOKMARK", "object": {"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": metadata}})
    }
}

pub(super) fn serve(
    store: &Arc<Store>,
    def: &ResourceDef,
    ns: Option<&str>,
    query: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let (labels, fields) = selectors(query)?;
    let send_initial = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let rv = match query
        .get("resourceVersion")
        .map(String::as_str)
        .filter(|v| !v.is_empty())
    {
        _ if send_initial => None,
        None => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {v:?}")))?,
        ),
    };
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true" || v == "1");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let filter = Filter {
        def: def.clone(),
        namespace: ns.map(str::to_owned),
        labels,
        fields,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    match store.watch(def, ns, rv) {
        Ok(start) => {
            tokio::spawn(stream(filter, start, tx, bookmarks, send_initial, timeout));
        }
        Err(err) => {
            // kube-apiserver answers 200 and then an ERROR event carrying the 410.
            let event = line(&json!({"type": "ERROR", "object": err.to_status()}));
            tokio::spawn(async move {
                let _ = tx.send(event).await;
            });
        }
    }
    let body = StreamBody::new(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, BoxError>(Frame::data(bytes)), rx))
    }));
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn line(value: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

async fn stream(
    filter: Filter,
    start: crate::store::WatchStart,
    tx: mpsc::Sender<Bytes>,
    bookmarks: bool,
    send_initial: bool,
    timeout: Duration,
) {
    let mut live = start.live;
    let mut seen = start.after;
    for event in &start.replay {
        if let Some((kind, object)) = filter.translate(event)
            && tx
                .send(line(&json!({"type": kind, "object": object})))
                .await
                .is_err()
        {
            return;
        }
    }
    if send_initial && bookmarks && tx.send(line(&filter.bookmark(seen, true))).await.is_err() {
        return;
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(BOOKMARK_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            () = &mut deadline => return,
            () = tx.closed() => return,
            received = live.recv() => match received {
                Ok(event) => {
                    if event.resource_version <= start.after {
                        continue;
                    }
                    seen = seen.max(event.resource_version);
                    if let Some((kind, object)) = filter.translate(&event)
                        && tx.send(line(&json!({"type": kind, "object": object}))).await.is_err() {
                            return;
                        }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let gone = ApiError::gone("the watcher fell behind; list again");
                    let _ = tx.send(line(&json!({"type": "ERROR", "object": gone.to_status()}))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick(), if bookmarks => {
                if tx.send(line(&filter.bookmark(seen, false))).await.is_err() {
                    return;
                }
            }
        }
    }
}
