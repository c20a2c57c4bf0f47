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
use super::{ReadCache, ReadError, Urgency};

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

#[tokio::test]
async fn one_identitys_read_is_never_served_to_another() {
    let fake = FakeStore::new();
    fake.set("app/db", json!({"password": "p"}));
    let cache = ReadCache::default();
    let a = session(&fake, "vault", "token from Secret team/a key \"token\"");
    let b = session(&fake, "vault", "token from Secret team/b key \"token\"");
    let other_store = session(&fake, "other", "token from Secret team/a key \"token\"");
    for _ in 0..3 {
        cache
            .get(&a, &read("app/db"), WINDOW, None, Urgency::Urgent)
            .await
            .unwrap();
    }
    assert_eq!(fake.calls().read, 1, "one identity reads once per window");
    cache
        .get(&b, &read("app/db"), WINDOW, None, Urgency::Urgent)
        .await
        .unwrap();
    cache
        .get(&other_store, &read("app/db"), WINDOW, None, Urgency::Urgent)
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
    let got = cache
        .get(&a, &v1, WINDOW, None, Urgency::Urgent)
        .await
        .unwrap();
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
                    .get(&s, &read("app/db"), WINDOW, None, Urgency::Urgent)
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
    let gone = cache
        .get(&s, &read("nothing/here"), WINDOW, None, Urgency::Urgent)
        .await
        .unwrap();
    assert!(gone.secret.is_none());
    for kind in ErrorKind::ALL
        .into_iter()
        .filter(|k| *k != ErrorKind::NotFound)
    {
        fake.fail_key("app/x", Some(kind));
        match cache
            .get(&s, &read("app/x"), WINDOW, None, Urgency::Urgent)
            .await
        {
            Err(ReadError::Store(err)) => assert_eq!(err.kind(), kind),
            Err(other) => panic!("{kind:?}: {other}"),
            Ok(_) => panic!("{kind:?}: an error was cached as an answer"),
        }
    }
}
