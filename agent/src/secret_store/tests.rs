//! The shared read cache over the in-memory store: one read per identity, path and version;
//! concurrent requests wait for one read; one identity's read is never served to another;
//! "not found" is an answer, every other error is a failure.

use std::sync::Arc;
use std::time::Duration;

use secrets_core::api::secret_store::StoreKind;
use secrets_core::store::{ErrorKind, ReadKey, Store};
use secrets_store_fake::FakeStore;
use serde_json::json;

use super::session::{Identity, Session, StoreKey};
use super::{Ask, ReadCache, ReadError, Urgency};

fn session(fake: &FakeStore, store: &str, credentials: &str) -> Session {
    let identity = Identity {
        store: StoreKey {
            kind: StoreKind::SecretStore,
            namespace: "team".into(),
            name: store.into(),
        },
        credentials: credentials.into(),
    };
    let store: Arc<dyn Store> = Arc::new(fake.clone());
    Session::new(identity, "uid/1".into(), store, 1000)
}

fn read(key: &str) -> ReadKey {
    ReadKey {
        key: key.into(),
        version: None,
        metadata: false,
    }
}

const WINDOW: Duration = Duration::from_secs(60);

/// A first sync of an object refreshed every ten minutes: reads up to a minute old serve it.
const URGENT: Ask = Ask {
    interval: Duration::from_secs(600),
    urgency: Urgency::Urgent,
    not_before: None,
};

#[tokio::test]
async fn one_identitys_read_is_never_served_to_another() {
    let fake = FakeStore::new();
    fake.set("app/db", json!({"password": "p"}));
    let cache = ReadCache::default();
    let a = session(&fake, "vault", "token from Secret team/a key \"token\"");
    let b = session(&fake, "vault", "token from Secret team/b key \"token\"");
    let other_store = session(&fake, "other", "token from Secret team/a key \"token\"");
    for _ in 0..3 {
        cache.get(&a, &read("app/db"), URGENT).await.unwrap();
    }
    assert_eq!(fake.calls().read, 1, "one identity reads once per window");
    cache.get(&b, &read("app/db"), URGENT).await.unwrap();
    cache
        .get(&other_store, &read("app/db"), URGENT)
        .await
        .unwrap();
    assert_eq!(
        fake.calls().read,
        3,
        "other credentials and other stores read for themselves"
    );
    // A versioned read is its own read.
    let v1 = ReadKey {
        key: "app/db".into(),
        version: Some("1".into()),
        metadata: false,
    };
    let got = cache.get(&a, &v1, URGENT).await.unwrap();
    assert_eq!(got.secret.as_ref().and_then(|s| s.version()), Some("1"));
    assert_eq!(fake.calls().read, 4);
}

#[tokio::test]
async fn concurrent_requests_wait_for_one_read() {
    let fake = FakeStore::new();
    fake.set("app/db", json!({"password": "p"}));
    let cache = Arc::new(ReadCache::default());
    let s = Arc::new(session(&fake, "vault", "token"));
    let gate = fake.hold_reads().await;
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let (cache, s) = (cache.clone(), s.clone());
            tokio::spawn(async move {
                cache
                    .get(&s, &read("app/db"), URGENT)
                    .await
                    .map(|f| f.secret.is_some())
            })
        })
        .collect();
    tokio::task::yield_now().await;
    drop(gate);
    for w in waiters {
        assert!(
            tokio::time::timeout(WINDOW, w)
                .await
                .unwrap()
                .unwrap()
                .unwrap()
        );
    }
    assert_eq!(fake.calls().read, 1);
}

#[tokio::test]
async fn not_found_is_an_answer_and_other_errors_are_failures() {
    let fake = FakeStore::new();
    let cache = ReadCache::default();
    let s = session(&fake, "vault", "token");
    let gone = cache.get(&s, &read("nothing/here"), URGENT).await.unwrap();
    assert!(gone.secret.is_none());
    for kind in ErrorKind::ALL
        .into_iter()
        .filter(|k| *k != ErrorKind::NotFound)
    {
        fake.fail_key("app/x", Some(kind));
        match cache.get(&s, &read("app/x"), URGENT).await {
            Err(ReadError::Store(err)) => assert_eq!(err.kind(), kind),
            Err(other) => panic!("{kind:?}: {other}"),
            Ok(_) => panic!("{kind:?}: an error was cached as an answer"),
        }
    }
}

/// Periodic refreshes of objects refreshed every two seconds: reads up to one second old.
fn periodic() -> Ask {
    Ask {
        interval: Duration::from_secs(2),
        urgency: Urgency::Refresh,
        not_before: None,
    }
}

/// First syncs of `keys` (latest versions) and of version 1 of `app/0`, with the periodic
/// interval; then wait until every read is too old for a periodic refresh, and force a fresh
/// read of the last key.
async fn aged(cache: &ReadCache, s: &Session, keys: usize) {
    let first = Ask {
        urgency: Urgency::Urgent,
        ..periodic()
    };
    for i in 0..keys {
        cache
            .get(s, &read(&format!("app/{i}")), first)
            .await
            .unwrap();
    }
    let pinned = ReadKey::new("app/0", Some("1".into()));
    cache.get(s, &pinned, first).await.unwrap();
    let window = secrets_core::sync::schedule::reuse_window(periodic().interval, true);
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let forced = Ask {
        not_before: Some(std::time::Instant::now()),
        ..first
    };
    let last = read(&format!("app/{}", keys - 1));
    cache.get(s, &last, forced).await.unwrap();
}

#[tokio::test]
async fn a_batching_stores_refresh_brings_its_soon_due_siblings_along() {
    let fake = FakeStore::new();
    for i in 0..10 {
        fake.set(&format!("app/{i}"), json!({"n": i.to_string()}));
    }
    fake.set_coalescing(true);
    let cache = ReadCache::default();
    let s = session(&fake, "aws", "irsa");
    aged(&cache, &s, 10).await;
    assert_eq!(
        fake.calls().read,
        12,
        "ten first syncs, one pinned, one forced"
    );
    // The first periodic refresh reads its key and app/1..8 beside it: not the pinned
    // version (it is not batched) and not app/9 (just read).
    cache.get(&s, &read("app/0"), periodic()).await.unwrap();
    assert_eq!(fake.calls().read, 12 + 1 + 8);
    // The other objects' refreshes, spread by their jitter, find their reads done.
    for i in 1..10 {
        let got = cache
            .get(&s, &read(&format!("app/{i}")), periodic())
            .await
            .unwrap();
        let value = got.secret.as_ref().unwrap().select(Some("n")).unwrap();
        assert_eq!(value.as_slice(), i.to_string().as_bytes());
    }
    assert_eq!(fake.calls().read, 21, "no read of its own for any sibling");
}

#[tokio::test]
async fn other_stores_refresh_each_key_when_its_own_objects_are_due() {
    let fake = FakeStore::new();
    for i in 0..4 {
        fake.set(&format!("app/{i}"), json!({"n": "x"}));
    }
    let cache = ReadCache::default();
    let s = session(&fake, "vault", "token");
    aged(&cache, &s, 4).await;
    assert_eq!(fake.calls().read, 6);
    cache.get(&s, &read("app/0"), periodic()).await.unwrap();
    assert_eq!(fake.calls().read, 7, "a refresh reads only its own key");
}

#[tokio::test]
async fn without_sharing_every_request_reads() {
    let fake = FakeStore::new();
    fake.set("app/db", json!({"password": "p"}));
    fake.set_coalescing(true);
    let cache = ReadCache::new(false);
    let s = session(&fake, "aws", "irsa");
    for _ in 0..3 {
        cache.get(&s, &read("app/db"), URGENT).await.unwrap();
        cache.get(&s, &read("app/db"), periodic()).await.unwrap();
    }
    assert_eq!(fake.calls().read, 6);
}
