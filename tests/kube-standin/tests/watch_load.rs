//! Load check: 1,000 objects written (created, some updated, some deleted) while 20 watchers
//! follow; every watcher must end with exactly the store's final state, resourceVersions
//! included. Prints how long the writes and the convergence took (a figure, not an assertion).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt as _;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;
use tokio::sync::watch;

const OBJECTS: usize = 1_000;
const WATCHERS: usize = 20;
const WRITERS: usize = 8;

type State = BTreeMap<String, String>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_watchers_follow_a_thousand_objects() {
    let (_standin, client) = common::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let start_rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();

    // Each watcher folds its events into name → resourceVersion and publishes the map.
    let mut views = Vec::new();
    for _ in 0..WATCHERS {
        let (tx, rx) = watch::channel(State::new());
        let api = cms.clone();
        let rv = start_rv.clone();
        tokio::spawn(async move {
            let mut state = State::new();
            let mut stream = api
                .watch(&WatchParams::default().timeout(120), &rv)
                .await
                .unwrap()
                .boxed();
            while let Some(event) = stream.try_next().await.unwrap() {
                match event {
                    WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                        state.insert(o.name_any(), o.resource_version().unwrap());
                    }
                    WatchEvent::Deleted(o) => {
                        state.remove(&o.name_any());
                    }
                    WatchEvent::Bookmark(_) => continue,
                    WatchEvent::Error(e) => panic!("watch error: {e:?}"),
                }
                let _ = tx.send(state.clone());
            }
        });
        views.push(rx);
    }

    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let api = cms.clone();
        writers.push(tokio::spawn(async move {
            for i in (w..OBJECTS).step_by(WRITERS) {
                let name = format!("cm-{i:04}");
                let cm: ConfigMap = serde_json::from_value(
                    json!({"metadata": {"name": name}, "data": {"n": i.to_string()}}),
                )
                .unwrap();
                api.create(&PostParams::default(), &cm).await.unwrap();
                if i % 5 == 0 {
                    api.patch(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"data": {"n": "updated"}})),
                    )
                    .await
                    .unwrap();
                }
                if i % 10 == 3 {
                    api.delete(&name, &DeleteParams::default()).await.unwrap();
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let written = started.elapsed();

    let expected: State = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| (o.name_any(), o.resource_version().unwrap()))
        .collect();
    assert_eq!(expected.len(), OBJECTS - OBJECTS / 10);
    for (i, view) in views.iter_mut().enumerate() {
        let converged = tokio::time::timeout(
            Duration::from_secs(60),
            view.wait_for(|state| *state == expected),
        )
        .await
        .is_ok();
        assert!(
            converged,
            "watcher {i} did not converge: {} objects seen, {} expected",
            view.borrow().len(),
            expected.len()
        );
    }
    eprintln!(
        "watch load: {OBJECTS} objects ({} writes) with {WATCHERS} watchers: writes took {:?}, all watchers converged {:?} after start",
        OBJECTS + OBJECTS / 5 + OBJECTS / 10,
        written,
        started.elapsed()
    );
}
