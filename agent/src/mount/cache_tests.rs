use std::sync::atomic::AtomicUsize;

use secrets_core::store::{ReadKey, RemoteValue};

use super::*;

/// A store that counts logins and closes, and refuses tokens starting with `bad`.
struct Counting {
    logins: Arc<AtomicUsize>,
    closes: Arc<AtomicUsize>,
    credentials: Arc<dyn CredentialSource>,
}

impl Store for Counting {
    fn store_type(&self) -> StoreType {
        StoreType::new("fake")
    }
    fn check_version(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn read<'a>(&'a self, _: &'a ReadKey) -> StoreFuture<'a, RemoteValue> {
        Box::pin(async { Err(StoreError::new(self.store_type(), ErrorKind::NotFound, "x")) })
    }
    fn list<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn check(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
    fn login(&self) -> StoreFuture<'_, ()> {
        Box::pin(async {
            let Credentials::ServiceAccountToken { token, .. } =
                self.credentials.credentials().await?
            else {
                unreachable!()
            };
            if token.starts_with("bad") {
                return Err(StoreError::new(
                    self.store_type(),
                    ErrorKind::PermissionDenied,
                    "denied",
                ));
            }
            self.logins.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
    fn close(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async {
            self.closes.fetch_add(1, Ordering::SeqCst);
        })
    }
}

struct Harness {
    cache: SessionCache,
    logins: Arc<AtomicUsize>,
    closes: Arc<AtomicUsize>,
}

impl Harness {
    fn new(capacity: usize) -> Self {
        Harness {
            cache: SessionCache::new(capacity),
            logins: Arc::default(),
            closes: Arc::default(),
        }
    }

    async fn lease(
        &self,
        sa: &str,
        token: &str,
        expires: i64,
        now: i64,
        version: &str,
    ) -> Result<Arc<Lease>, StoreError> {
        let identity = Identity {
            store: "SecretStore team/vault".into(),
            namespace: "team".into(),
            service_account: sa.into(),
            login: "vault role \"web\" (auth mount \"kubernetes\")".into(),
            annotations: BTreeMap::new(),
        };
        let token = Zeroizing::new(token.to_owned());
        let (logins, closes) = (Arc::clone(&self.logins), Arc::clone(&self.closes));
        self.cache
            .lease(
                &identity,
                Presented {
                    token: &token,
                    expires,
                    now,
                    spec_version: version,
                    federated: None,
                },
                move |credentials| {
                    Ok(Arc::new(Counting {
                        logins,
                        closes,
                        credentials,
                    }) as Arc<dyn Store>)
                },
            )
            .await
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.logins.load(Ordering::SeqCst),
            self.closes.load(Ordering::SeqCst),
        )
    }
}

async fn settle() {
    // Revocations of dropped leases run as spawned tasks; let them finish.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_proven_token_reuses_the_login_and_a_new_token_logs_in_once() {
    let h = Harness::new(8);
    let first = h.lease("web", "jwt-1", 100, 10, "u/1").await.unwrap();
    assert_eq!(h.counts(), (1, 0));
    let again = h.lease("web", "jwt-1", 100, 20, "u/1").await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "a warm mount reuses the login");
    assert_eq!(h.counts(), (1, 0));
    drop((first, again));

    // A new token (the kubelet rotated it, or another pod of the account): one login, the old
    // login revoked.
    let second = h.lease("web", "jwt-2", 200, 30, "u/1").await.unwrap();
    settle().await;
    assert_eq!(h.counts(), (2, 1));
    // Both tokens are proven now; neither logs in.
    h.lease("web", "jwt-1", 100, 40, "u/1").await.unwrap();
    h.lease("web", "jwt-2", 200, 40, "u/1").await.unwrap();
    assert_eq!(h.counts(), (2, 1));
    drop(second);

    // Past its expiry a token is no longer a proof: it must log in again (the store decides).
    h.lease("web", "jwt-1", 100, 150, "u/1").await.unwrap();
    settle().await;
    assert_eq!(h.counts(), (3, 2));
}

#[tokio::test]
async fn a_refused_token_is_never_proven_and_leaves_the_login_alone() {
    let h = Harness::new(8);
    let good = h.lease("web", "jwt-1", 100, 10, "u/1").await.unwrap();
    for _ in 0..2 {
        let err = h
            .lease("web", "bad-forged", 100, 10, "u/1")
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    }
    // The refused login's own store was closed; the proven login stays.
    assert_eq!(h.counts(), (1, 2));
    let again = h.lease("web", "jwt-1", 100, 10, "u/1").await.unwrap();
    assert!(Arc::ptr_eq(&good, &again));
}

#[tokio::test]
async fn identities_and_store_edits_never_share_a_login() {
    let h = Harness::new(8);
    let web = h.lease("web", "jwt-1", 100, 10, "u/1").await.unwrap();
    // Another service account presenting the same bytes (it cannot, but the key keeps them
    // apart anyway) logs in on its own.
    let other = h.lease("other", "jwt-1", 100, 10, "u/1").await.unwrap();
    assert!(!Arc::ptr_eq(&web, &other));
    assert_eq!(h.counts(), (2, 0));
    drop((web, other));
    // The store was edited: a fresh login, the old one revoked.
    h.lease("web", "jwt-1", 100, 10, "u/2").await.unwrap();
    settle().await;
    assert_eq!(h.counts(), (3, 1));
}

#[tokio::test]
async fn the_least_recently_used_identity_is_evicted_and_revoked() {
    let h = Harness::new(2);
    h.lease("a", "jwt-a", 100, 10, "u/1").await.unwrap();
    h.lease("b", "jwt-b", 100, 10, "u/1").await.unwrap();
    h.lease("a", "jwt-a", 100, 11, "u/1").await.unwrap();
    h.lease("c", "jwt-c", 100, 12, "u/1").await.unwrap();
    settle().await;
    assert_eq!(h.cache.len(), 2);
    assert_eq!(h.counts(), (3, 1), "b was evicted and revoked");
    // a is still warm; b logs in again.
    h.lease("a", "jwt-a", 100, 13, "u/1").await.unwrap();
    assert_eq!(h.counts(), (3, 1));
    h.lease("b", "jwt-b", 100, 14, "u/1").await.unwrap();
    assert_eq!(h.counts().0, 4);

    h.cache.close_all().await;
    settle().await;
    assert!(h.cache.is_empty());
    assert_eq!(h.counts(), (4, 4), "every login revoked at shutdown");
}

#[tokio::test]
async fn concurrent_first_mounts_of_one_identity_log_in_once() {
    let h = Harness::new(8);
    let (a, b) = tokio::join!(
        h.lease("web", "jwt-1", 100, 10, "u/1"),
        h.lease("web", "jwt-1", 100, 10, "u/1")
    );
    assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
    assert_eq!(h.counts(), (1, 0));
}
