//! The GCP store against gcp-standin: every way to log in, versions and the selection
//! policy, properties and raw payloads, metadata, regional secrets, listing, the checksum,
//! errors in Google's words, token caching, and call counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::time::Duration;

use common::{READER, env, key_store, wif_store};
use gcp_standin::{Fault, FaultError, Route, VersionState};
use secrets_core::store::{Credentials, ErrorKind, ReadKey, Store};
use secrets_store_gcp::Call;
use serde_json::json;
use zeroize::Zeroizing;

fn read(key: &str, version: Option<&str>) -> ReadKey {
    ReadKey::new(key, version.map(str::to_owned))
}

fn text(bytes: Zeroizing<Vec<u8>>) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn a_key_json_reads_latest_pinned_raw_and_json_payloads() {
    let env = env();
    let control = env.standin.control();
    control.add_version(
        None,
        "db",
        br#"{"user":"app","password":"pw-1","nested":{"port":5432}}"#,
    );
    control.add_version(None, "db", br#"{"user":"app", "password":"pw-2"}"#);
    control.add_version(None, "plain", b"just text");
    control.add_version(None, "blob", &[0, 159, 146, 150, 255]);
    let store = env.open(key_store(), env.key(READER));

    let latest = store.read(&read("db", None)).await.unwrap();
    assert_eq!(
        latest.version(),
        Some("2"),
        "latest resolves to the number in the answer"
    );
    assert_eq!(latest.path(), "projects/my-project/secrets/db/versions/2");
    assert_eq!(text(latest.select(Some("password")).unwrap()), "pw-2");
    assert_eq!(
        text(latest.select(None).unwrap()),
        r#"{"user":"app", "password":"pw-2"}"#,
        "bytes as stored"
    );
    let pinned = store.read(&read("db", Some("1"))).await.unwrap();
    assert_eq!(text(pinned.select(Some("nested.port")).unwrap()), "5432");
    assert_eq!(
        text(
            store
                .read(&read("plain", None))
                .await
                .unwrap()
                .select(None)
                .unwrap()
        ),
        "just text"
    );
    let blob = store.read(&read("blob", Some("latest"))).await.unwrap();
    assert_eq!(
        blob.select(None).unwrap().as_slice(),
        &[0, 159, 146, 150, 255]
    );

    assert_eq!(control.count(Route::Access), 4);
    assert_eq!(
        control.count(Route::StsToken),
        0,
        "a key JSON needs no token call"
    );
    let principals = control.principals_seen();
    assert!(
        principals
            .iter()
            .all(|p| p == &format!("serviceAccount:{READER}")),
        "{principals:?}"
    );
    assert_eq!(store.calls(Call::Access), 4);
    assert_eq!(env.calls_of("access"), ["ok", "ok", "ok", "ok"]);
}

#[tokio::test]
async fn names_and_versions_are_checked_before_any_call() {
    let env = env();
    let store = env.open(key_store(), env.key(READER));
    for (key, version) in [
        ("a/b", None),
        ("../x", None),
        ("db", Some("v1")),
        ("db", Some("0")),
    ] {
        let err = store.read(&read(key, version)).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidConfig,
            "{key} {version:?}: {err}"
        );
    }
    assert!(store.check_version("latest").is_ok() && store.check_version("12").is_ok());
    assert!(store.check_version("AWSCURRENT").is_err());
    assert_eq!(env.standin.control().count(Route::Access), 0);
}

#[tokio::test]
async fn workload_identity_federation_exchanges_and_impersonates_once_per_token() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"v1");
    let pool = env.pool();
    control.allow_impersonation(&env.principal(), READER);
    let store = env.open(wif_store(&pool, Some(READER)), env.federated(&pool, &[]));
    for _ in 0..3 {
        assert_eq!(
            text(
                store
                    .read(&read("db", None))
                    .await
                    .unwrap()
                    .select(None)
                    .unwrap()
            ),
            "v1"
        );
    }
    assert_eq!(control.count(Route::StsToken), 1, "the token is cached");
    assert_eq!(control.count(Route::GenerateAccessToken), 1);
    let form = control.last_sts_form().unwrap();
    assert_eq!(form["audience"], pool);
    assert_eq!(
        form["subject_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    let (email, body) = control.last_generate().unwrap();
    assert_eq!(email, READER);
    assert_eq!(
        body["scope"],
        json!(["https://www.googleapis.com/auth/cloud-platform"])
    );
    assert_eq!(
        control.principals_seen().last().unwrap(),
        &format!("serviceAccount:{READER}")
    );
    assert_eq!(
        (env.calls_of("sts"), env.calls_of("impersonate")),
        (vec!["ok".to_owned()], vec!["ok".to_owned()])
    );

    // Without an email, the account's annotation names the account; without either, the
    // federated principal reads directly.
    let annotated = env.open(
        wif_store(&pool, None),
        env.federated(&pool, &[("iam.gke.io/gcp-service-account", READER)]),
    );
    annotated.read(&read("db", None)).await.unwrap();
    assert_eq!(control.count(Route::GenerateAccessToken), 2);
    let direct = env.open(wif_store(&pool, None), env.federated(&pool, &[]));
    direct.read(&read("db", None)).await.unwrap();
    assert_eq!(control.count(Route::GenerateAccessToken), 2);
    assert_eq!(control.principals_seen().last().unwrap(), &env.principal());
}

#[tokio::test]
async fn tokens_are_made_again_near_expiry_and_without_the_cache() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"v");
    let pool = env.pool();
    let mut options = env.options();
    options.credential_cache = false;
    let uncached = env.open_with(wif_store(&pool, None), env.federated(&pool, &[]), options);
    uncached.read(&read("db", None)).await.unwrap();
    uncached.read(&read("db", None)).await.unwrap();
    assert_eq!(
        control.count(Route::StsToken),
        2,
        "ESO's pattern: a login per read"
    );

    control.set_token_lifetime(Duration::from_secs(299));
    let short = env.open(wif_store(&pool, None), env.federated(&pool, &[]));
    short.read(&read("db", None)).await.unwrap();
    short.read(&read("db", None)).await.unwrap();
    assert_eq!(
        control.count(Route::StsToken),
        4,
        "a token within 5 minutes of expiry is not kept"
    );

    control.set_token_lifetime(Duration::from_secs(301));
    let long = env.open(wif_store(&pool, None), env.federated(&pool, &[]));
    long.login().await.unwrap();
    long.read(&read("db", None)).await.unwrap();
    assert_eq!(
        control.count(Route::StsToken),
        5,
        "login() logs in once for the reads after it"
    );
}

#[tokio::test]
async fn sts_and_iam_failures_carry_googles_words_and_no_token() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"value-7f3a");
    let pool = env.pool();
    let wrong = env.federated("https://kubernetes.default.svc", &[]);
    let token = match &wrong {
        Credentials::Federated(f) => f.token.to_string(),
        _ => unreachable!(),
    };
    let store = env.open(wif_store(&pool, None), wrong);
    let err = store.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let message = err.to_string();
    assert!(message.starts_with("exchanging the token of service account team/app at STS for audience //iam.googleapis.com/"), "{message}");
    assert!(
        message.contains("400 invalid_grant: The audience in ID Token"),
        "{message}"
    );
    assert!(
        !message.contains(&token) && !message.contains("value-7f3a"),
        "{message}"
    );

    let denied = env.open(wif_store(&pool, Some(READER)), env.federated(&pool, &[]));
    let err = denied.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "impersonating {READER} with the federated token of service account team/app"
        )),
        "{message}"
    );
    assert!(
        message.contains(
            "403 PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied"
        ),
        "{message}"
    );
    assert!(
        message.contains("(IAM_PERMISSION_DENIED)") && !message.contains("ya29."),
        "{message}"
    );
    assert_eq!(control.count(Route::Access), 0);
}

#[tokio::test]
async fn not_found_denied_throttled_and_down_are_told_apart() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"v");
    let store = env.open(key_store(), env.key(READER));
    let err = store.read(&read("missing", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string()
            .contains("404 NOT_FOUND: Secret [projects/123456789012/secrets/missing] not found"),
        "{err}"
    );
    let err = store.read(&read("db", Some("9"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        env.calls_of("access").last().map(String::as_str),
        Some("not_found")
    );

    control.inject(Fault {
        times: Some(1),
        ..Fault::on(Route::Access, FaultError::PermissionDenied)
    });
    let err = store.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(
        err.to_string()
            .contains("Permission 'secretmanager.versions.access' denied"),
        "{err}"
    );

    control.inject(Fault {
        times: Some(1),
        ..Fault::on(
            Route::Access,
            FaultError::ResourceExhausted {
                retry_after: Some(1),
            },
        )
    });
    let err = store.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert!(err.to_string().contains("429 RESOURCE_EXHAUSTED"), "{err}");
    let started = std::time::Instant::now();
    store.read(&read("db", None)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the next access waits out Retry-After"
    );

    control.inject(Fault::everywhere(FaultError::Unavailable));
    assert_eq!(
        store.read(&read("db", None)).await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    control.clear_faults();
    control.inject(Fault::on(Route::Access, FaultError::NotFound));
    assert_eq!(
        store.read(&read("db", None)).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    control.clear_faults();

    let url = env.standin.url();
    drop(env);
    let err = store.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err} ({url} is gone)");
}

#[tokio::test]
async fn a_checksum_mismatch_is_a_bad_response_without_the_value() {
    let env = env();
    env.standin
        .control()
        .add_version(None, "db", b"s3cret-value-91");
    env.standin.control().corrupt_crc(true);
    let store = env.open(key_store(), env.key(READER));
    let err = store.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    let message = err.to_string();
    assert!(
        message.contains("does not match its dataCrc32c"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn latest_disabled_fails_or_fetches_the_newest_enabled() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"one");
    control.add_version(None, "db", b"two");
    control.add_version(None, "db", b"three");
    control.set_state(None, "db", 3, VersionState::Disabled);
    control.set_state(None, "db", 2, VersionState::Destroyed);
    let fail = env.open(key_store(), env.key(READER));
    let err = fail.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected, "never a deletion");
    assert!(
        err.to_string().contains("is in DISABLED state")
            && err.to_string().contains("LatestOrFetch"),
        "{err}"
    );
    let err = fail.read(&read("db", Some("2"))).await.unwrap_err();
    assert!(err.to_string().contains("DESTROYED"), "{err}");

    let mut spec = key_store();
    spec["secretVersionSelectionPolicy"] = json!("LatestOrFetch");
    let fetch = env.open(spec, env.key(READER));
    let value = fetch.read(&read("db", None)).await.unwrap();
    assert_eq!(
        (value.version(), text(value.select(None).unwrap()).as_str()),
        (Some("1"), "one")
    );
    assert_eq!(control.count(Route::ListVersions), 1);
    control.set_state(None, "db", 1, VersionState::Disabled);
    let err = fetch.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.to_string().contains("has no ENABLED version"), "{err}");
    let err = fetch.read(&read("db", Some("3"))).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Rejected,
        "a pinned version is never replaced"
    );
}

#[tokio::test]
async fn metadata_fetch_returns_labels_and_annotations() {
    let env = env();
    env.standin
        .control()
        .set_metadata(None, "db", &[("team", "payments")], &[("owner", "ops")]);
    let store = env.open(key_store(), env.key(READER));
    let value = store
        .read(&ReadKey {
            metadata: true,
            ..read("db", None)
        })
        .await
        .unwrap();
    assert_eq!(text(value.select(Some("labels.team")).unwrap()), "payments");
    assert_eq!(
        text(value.select(Some("annotations")).unwrap()),
        r#"{"owner":"ops"}"#
    );
    assert_eq!(env.standin.control().count(Route::GetSecret), 1);
    assert_eq!(env.standin.control().count(Route::Access), 0);
    assert_eq!(env.calls_of("metadata"), ["ok"]);
}

#[tokio::test]
async fn a_location_is_on_every_path() {
    let env = env();
    let control = env.standin.control();
    control.add_version(Some("europe-west4"), "db", b"regional");
    control.add_version(None, "db", b"global");
    control.set_metadata(Some("europe-west4"), "db", &[("where", "eu")], &[]);
    let mut spec = key_store();
    spec["location"] = json!("europe-west4");
    spec["secretVersionSelectionPolicy"] = json!("LatestOrFetch");
    let store = env.open(spec.clone(), env.key(READER));
    assert_eq!(
        store.secret_manager_endpoint(),
        env.standin.url(),
        "the override replaces the regional host"
    );
    let value = store.read(&read("db", None)).await.unwrap();
    assert_eq!(text(value.select(None).unwrap()), "regional");
    assert_eq!(
        value.path(),
        "projects/my-project/locations/europe-west4/secrets/db/versions/1"
    );
    let meta = store
        .read(&ReadKey {
            metadata: true,
            ..read("db", None)
        })
        .await
        .unwrap();
    assert_eq!(text(meta.select(Some("labels.where")).unwrap()), "eu");
    control.set_state(Some("europe-west4"), "db", 1, VersionState::Disabled);
    control.add_version(Some("europe-west4"), "db", b"x");
    control.set_state(Some("europe-west4"), "db", 2, VersionState::Disabled);
    assert!(
        store
            .read(&read("db", None))
            .await
            .unwrap_err()
            .to_string()
            .contains("locations/europe-west4/secrets/db")
    );
    assert_eq!(store.list("").await.unwrap(), ["db"]);

    let mut options = env.options();
    options.endpoints.gcp_secretmanager_url = None;
    let public = env.open_with(spec, env.key(READER), options);
    assert_eq!(
        public.secret_manager_endpoint(),
        "https://secretmanager.europe-west4.rep.googleapis.com"
    );
}

#[tokio::test]
async fn listing_pages_through_and_filters_by_prefix() {
    let env = env();
    let control = env.standin.control();
    for name in ["app-db", "app-api", "other", "app-cache", "zeta"] {
        control.create_secret(None, name);
    }
    control.set_max_page_size(2);
    let store = env.open(key_store(), env.key(READER));
    assert_eq!(
        store.list("app-").await.unwrap(),
        ["app-api", "app-cache", "app-db"]
    );
    assert_eq!(store.list("").await.unwrap().len(), 5);
    assert_eq!(
        control.count(Route::ListSecrets),
        6,
        "three pages a listing"
    );
}

#[tokio::test]
async fn a_persons_token_a_revoked_token_and_the_check() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"v");
    control.add_access_token(
        "ya29.person",
        "user:me@example.com",
        Duration::from_secs(3600),
    );
    let person = env.open(
        key_store(),
        Credentials::Token(Zeroizing::new("ya29.person".into())),
    );
    person.read(&read("db", None)).await.unwrap();
    assert_eq!(
        control.principals_seen().last().unwrap(),
        "user:me@example.com"
    );

    let pool = env.pool();
    let store = env.open(wif_store(&pool, None), env.federated(&pool, &[]));
    store.check().await.unwrap();
    control.revoke_tokens();
    let err = store.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("401 UNAUTHENTICATED"), "{err}");
    store.read(&read("db", None)).await.unwrap();
    assert_eq!(
        control.count(Route::StsToken),
        2,
        "a refused token is dropped and made again"
    );

    control.restrict_readers(Some(&["someone-else"]));
    store
        .check()
        .await
        .expect("a 403 on listing still shows the token is accepted");
    control.revoke_tokens();
    control.inject(Fault::on(Route::StsToken, FaultError::Unavailable));
    let err = store.check().await.unwrap_err();
    assert!(
        err.to_string().contains("401 UNAUTHENTICATED"),
        "the cached token is refused: {err}"
    );
    let err = store.check().await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "then a new login: {err}"
    );
}

#[tokio::test]
async fn endpoints_must_be_https_outside_loopback_and_keys_must_be_keys() {
    let env = env();
    let pool = env.pool();
    let mut options = env.options();
    options.endpoints.gcp_sts_url = Some("http://sts.example.com".into());
    let provider: secrets_core::api::secret_store::GcpSmProvider =
        serde_json::from_value(wif_store(&pool, None)).unwrap();
    let err = secrets_store_gcp::open(
        &provider,
        std::sync::Arc::new(env.federated(&pool, &[])),
        options,
    )
    .err()
    .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("must be https://"), "{err}");

    env.standin.control().add_version(None, "db", b"v");
    let bad = Credentials::Keys(
        [(
            "secretAccessKey".to_owned(),
            Zeroizing::new(r#"{"type":"external_account"}"#.to_owned()),
        )]
        .into(),
    );
    let store = env.open(key_store(), bad);
    let err = store.read(&read("db", None)).await.unwrap_err();
    assert!(err.to_string().contains("external_account"), "{err}");
    let wrong = env.open(key_store(), env.federated(&pool, &[]));
    let err = wrong.read(&read("db", None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(
        err.to_string()
            .contains("secretRef login was given federated-token credentials"),
        "{err}"
    );
}
