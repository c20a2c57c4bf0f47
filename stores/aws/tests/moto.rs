//! The store against the real moto server (Secrets Manager and STS): static keys, IRSA and
//! role chains, versions and stages, text, JSON and binary values, tags, not found versus
//! scheduled for deletion, browsing, batching (≤ 20 ids a call, per-id errors), the
//! credential cache, and the observer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use secrets_core::api::secret_store::{AwsAuth, AwsJwtAuth, AwsProvider};
use secrets_core::store::{
    CredentialSource, Credentials, ErrorKind, FederatedToken, OpenOptions, ReadKey, Store,
};
use secrets_store_aws::{AwsStore, Op, ROLE_ARN_ANNOTATION, open_store};
use test_support::{Moto, SecretValue};
use zeroize::Zeroizing;

fn provider() -> AwsProvider {
    AwsProvider {
        service: "SecretsManager".into(),
        region: Moto::REGION.into(),
        ..AwsProvider::default()
    }
}

fn options(moto: &Moto) -> OpenOptions {
    let mut options = OpenOptions::new("SecretStore test/aws");
    options.endpoints.aws_endpoint_url = Some(moto.url().to_owned());
    options
}

fn static_keys() -> Arc<dyn CredentialSource> {
    Arc::new(Credentials::Keys(BTreeMap::from([
        (
            "accessKeyID".to_owned(),
            Zeroizing::new("AKIAEXAMPLE".to_owned()),
        ),
        (
            "secretAccessKey".to_owned(),
            Zeroizing::new("hunter2-secret-key".to_owned()),
        ),
    ])))
}

fn irsa(annotated: bool) -> Arc<dyn CredentialSource> {
    let mut annotations = BTreeMap::new();
    if annotated {
        annotations.insert(
            ROLE_ARN_ANNOTATION.to_owned(),
            format!("arn:aws:iam::{}:role/irsa", Moto::ACCOUNT),
        );
    }
    Arc::new(Credentials::Federated(Box::new(FederatedToken {
        token: Zeroizing::new("header.hunter2-token.sig".to_owned()),
        audiences: vec!["sts.amazonaws.com".into()],
        namespace: "apps".into(),
        service_account: "reader".into(),
        annotations,
        ..FederatedToken::default()
    })))
}

fn store(moto: &Moto, provider: &AwsProvider, creds: Arc<dyn CredentialSource>) -> AwsStore {
    open_store(provider, creds, options(moto)).unwrap()
}

fn read(key: &str, version: Option<&str>) -> ReadKey {
    ReadKey::new(key, version.map(str::to_owned))
}

#[tokio::test]
async fn values_versions_binary_and_tags_with_static_keys() {
    let moto = Moto::start();
    moto.create_string("app/db", r#"{"user": "app", "tls": {"ca": "x"}}"#);
    moto.create_string("plain", "just text hunter2");
    moto.create_binary("bin", &[0, 1, 255]);
    let v2_id = moto.put_secret_value_staged("plain", SecretValue::String("v2"), &[]);
    moto.create_secret_tagged("tagged", SecretValue::String("t"), &[("team", "payments")]);
    let store = store(&moto, &provider(), static_keys());

    let db = store.read(&read("app/db", None)).await.unwrap();
    assert_eq!(db.select(Some("user")).unwrap().as_slice(), b"app");
    assert_eq!(db.select(Some("tls.ca")).unwrap().as_slice(), b"x");
    // No property: the SecretString exactly as stored.
    assert_eq!(
        db.select(None).unwrap().as_slice(),
        br#"{"user": "app", "tls": {"ca": "x"}}"#
    );
    assert_eq!(db.entries()["user"].as_slice(), b"app");

    let plain = store.read(&read("plain", None)).await.unwrap();
    assert_eq!(plain.select(None).unwrap().as_slice(), b"v2");
    assert_eq!(plain.version(), Some(format!("uuid/{v2_id}").as_str()));
    let previous = store
        .read(&read("plain", Some("AWSPREVIOUS")))
        .await
        .unwrap();
    assert_eq!(
        previous.select(None).unwrap().as_slice(),
        b"just text hunter2"
    );
    let pinned = store
        .read(&read("plain", Some(&format!("uuid/{v2_id}"))))
        .await
        .unwrap();
    assert_eq!(pinned.select(None).unwrap().as_slice(), b"v2");
    // A stage no version carries: the asked-for version is gone (the seam's NotFound).
    let err = store
        .read(&read("plain", Some("NOSUCHSTAGE")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    let bin = store.read(&read("bin", None)).await.unwrap();
    assert_eq!(bin.select(None).unwrap().as_slice(), &[0, 1, 255]);

    let mut tags = read("tagged", None);
    tags.metadata = true;
    let tags = store.read(&tags).await.unwrap();
    assert_eq!(tags.select(Some("team")).unwrap().as_slice(), b"payments");

    // Pinned versions and stages went through GetSecretValue, current ones through the batch.
    assert_eq!(store.calls(Op::GetSecretValue), 3);
    assert_eq!(store.calls(Op::BatchGetSecretValue), 3);
    assert_eq!(store.calls(Op::DescribeSecret), 1);
    assert_eq!(store.calls(Op::AssumeRoleWithWebIdentity), 0);
    // A check proves static keys with GetCallerIdentity (a chain proves itself).
    store.check().await.unwrap();
    assert_eq!(store.calls(Op::GetCallerIdentity), 1);
}

#[tokio::test]
async fn gone_and_scheduled_for_deletion_are_not_found() {
    let moto = Moto::start();
    moto.create_string("doomed", "x");
    moto.schedule_deletion("doomed");
    for batch in [true, false] {
        let mut opts = options(&moto);
        opts.batch = batch;
        let store = open_store(&provider(), static_keys(), opts).unwrap();
        for key in ["doomed", "never-written"] {
            let err = store.read(&read(key, None)).await.unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::NotFound,
                "batch {batch} {key}: {err}"
            );
            assert!(err.to_string().contains(key), "{err}");
        }
        let mut meta = read("doomed", None);
        meta.metadata = true;
        let err = store.read(&meta).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
}

#[tokio::test]
async fn concurrent_current_reads_are_batched_twenty_ids_a_call() {
    let moto = Moto::start();
    for i in 0..45 {
        moto.create_string(&format!("svc/s{i:02}"), &format!("value {i}"));
    }
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut opts = options(&moto);
    let log = Arc::clone(&seen);
    opts.observer = Some(Arc::new(move |store, op, outcome| {
        log.lock()
            .unwrap()
            .push((format!("{store}/{op}"), outcome.to_owned()));
    }));
    let store = Arc::new(open_store(&provider(), static_keys(), opts).unwrap());
    let mut reads = Vec::new();
    // 45 secrets, 5 of them read twice, and one that does not exist: 46 distinct ids.
    for i in (0..45).chain(0..5) {
        let store = Arc::clone(&store);
        reads.push(tokio::spawn(async move {
            store
                .read(&read(&format!("svc/s{i:02}"), None))
                .await
                .map(|v| (i, v))
        }));
    }
    let missing = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.read(&read("svc/missing", None)).await })
    };
    for r in reads {
        let (i, value) = r.await.unwrap().unwrap();
        assert_eq!(
            value.select(None).unwrap().as_slice(),
            format!("value {i}").as_bytes()
        );
    }
    let err = missing.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        store.calls(Op::BatchGetSecretValue),
        3,
        "46 ids = 20 + 20 + 6"
    );
    assert_eq!(store.calls(Op::GetSecretValue), 0);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter()
            .filter(|(op, outcome)| op == "aws/batch_get_secret_value" && outcome == "ok")
            .count(),
        3,
        "{seen:?}"
    );

    // Batching off: one GetSecretValue each.
    let mut opts = options(&moto);
    opts.batch = false;
    let single = Arc::new(open_store(&provider(), static_keys(), opts).unwrap());
    let reads: Vec<_> = (0..10)
        .map(|i| {
            let single = Arc::clone(&single);
            tokio::spawn(async move { single.read(&read(&format!("svc/s{i:02}"), None)).await })
        })
        .collect();
    for r in reads {
        r.await.unwrap().unwrap();
    }
    assert_eq!(single.calls(Op::GetSecretValue), 10);
    assert_eq!(single.calls(Op::BatchGetSecretValue), 0);
}

#[tokio::test]
async fn irsa_and_role_chains_log_in_once_per_store() {
    let moto = Moto::start();
    moto.create_string("team/key", "k");
    let chained = AwsProvider {
        additional_roles: Some(vec![format!("arn:aws:iam::{}:role/hop", Moto::ACCOUNT)]),
        role: Some(format!("arn:aws:iam::{}:role/final", Moto::ACCOUNT)),
        external_id: Some("ext-1".into()),
        prefix: Some("team/".into()),
        auth: Some(AwsAuth {
            jwt: Some(AwsJwtAuth::default()),
            ..AwsAuth::default()
        }),
        ..provider()
    };
    let store = store(&moto, &chained, irsa(true));
    store.login().await.unwrap();
    store.check().await.unwrap();
    assert_eq!(store.calls(Op::GetCallerIdentity), 0);
    for _ in 0..3 {
        let value = store.read(&read("key", None)).await.unwrap();
        assert_eq!(value.select(None).unwrap().as_slice(), b"k");
    }
    assert_eq!(store.calls(Op::AssumeRoleWithWebIdentity), 1);
    assert_eq!(store.calls(Op::AssumeRole), 2);
    assert_eq!(store.list("").await.unwrap(), ["key"]);

    // Without the cache (ESO's pattern, for the benchmark): the whole chain per read.
    let mut opts = options(&moto);
    opts.credential_cache = false;
    opts.batch = false;
    let uncached = open_store(&chained, irsa(true), opts).unwrap();
    for _ in 0..3 {
        uncached.read(&read("key", None)).await.unwrap();
    }
    assert_eq!(uncached.calls(Op::AssumeRoleWithWebIdentity), 3);
    assert_eq!(uncached.calls(Op::AssumeRole), 6);

    // No role annotation on the account: a clear error naming it, and no call.
    let unannotated = store_for(&moto, irsa(false));
    let err = unannotated.read(&read("team/key", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("apps/reader"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(unannotated.calls(Op::AssumeRoleWithWebIdentity), 0);
}

fn store_for(moto: &Moto, creds: Arc<dyn CredentialSource>) -> AwsStore {
    store(moto, &provider(), creds)
}

#[tokio::test]
async fn browsing_lists_names_under_the_prefix_across_pages() {
    let moto = Moto::start();
    for i in 0..105 {
        moto.create_string(&format!("app/{i:03}"), "x");
    }
    moto.create_string("other/x", "x");
    moto.create_string("app/doomed", "x");
    moto.schedule_deletion("app/doomed");
    let all = store_for(&moto, static_keys());
    let names = all.list("app/").await.unwrap();
    assert_eq!(names.len(), 105, "{names:?}");
    assert_eq!(names.first().map(String::as_str), Some("app/000"));
    assert!(all.calls(Op::ListSecrets) >= 2, "moto pages by 100");
    let prefixed = AwsProvider {
        prefix: Some("app/".into()),
        ..provider()
    };
    let under = store(&moto, &prefixed, static_keys());
    let names = under.list("10").await.unwrap();
    assert_eq!(names, ["100", "101", "102", "103", "104"]);
}
