//! The mount pattern's provider end to end: kube-standin (pod-bound tokens), a real OpenBao
//! with kubernetes auth reviewing against it, and the real `secrets-agent csi-provider`
//! binary on its socket, called as driver v1.6 calls it.
//!
//! Version; kubernetes auth with the pod's own token; modes, properties, whole secrets;
//! versions stable across calls and a provider restart, changed after a change in OpenBao;
//! a warm mount does no login (counted as the TokenReviews OpenBao asks of the stand-in);
//! socket mode 0600, a stale socket replaced, SIGTERM removes the socket; no value in the
//! debug log. Refusals: another service account (OpenBao's reason), a store of another
//! namespace, ClusterSecretStore conditions, a shared-credential store, a missing token
//! (names tokenRequests), another pod's token, shadowed parameters, unclean and duplicate
//! paths, the 4 MiB bound.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};

use common::provider::{MountEnv, connect, mount, mount_env, mount_request, params};
use csi_provider_proto::v1alpha1::VersionRequest;
use serde_json::json;

const DB_PASSWORD: &str = "pw-5e1f0c-mount";
const API_TOKEN: &str = "tok-77aa31-mount";
const NEW_PASSWORD: &str = "pw-rotated-9c0d";

const OBJECTS: &str = "- path: db/password\n  remoteRef: {key: team/db, property: password}\n  mode: \"0440\"\n- path: db.json\n  remoteRef: {key: team/db}\n- path: api/token\n  remoteRef: {key: team/api, property: token}\n";

fn app_params() -> std::collections::BTreeMap<String, String> {
    params(&[("store", "vault"), ("objects", OBJECTS)])
}

fn files(answer: &csi_provider_proto::v1alpha1::MountResponse) -> Vec<(String, i32, String)> {
    answer
        .files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.mode,
                String::from_utf8(f.contents.clone()).unwrap(),
            )
        })
        .collect()
}

fn versions(answer: &csi_provider_proto::v1alpha1::MountResponse) -> Vec<(String, String)> {
    answer
        .object_version
        .iter()
        .map(|v| (v.id.clone(), v.version.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn mounts_as_the_pod_with_modes_versions_a_warm_login_and_restarts() {
    let env = mount_env().await;
    env.bao.kv2_put(
        "secret",
        "team/db",
        json!({"username": "app", "password": DB_PASSWORD}),
    );
    env.bao
        .kv2_put("secret", "team/api", json!({"token": API_TOKEN}));
    env.spc("app", &app_params());
    let pod = env.pod("web-0", "web").await;
    let token = env.token(&pod, "vault");

    // A stale socket from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(env.socket()).unwrap());
    assert!(env.socket().exists());
    let provider = env.start_provider();
    let mut client = connect(&env.socket()).await;
    let meta = std::fs::symlink_metadata(env.socket()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let version = client
        .version(VersionRequest {
            version: "v1alpha1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (version.version.as_str(), version.runtime_name.as_str()),
        ("v1alpha1", "kubectl-secrets")
    );
    assert_eq!(version.runtime_version, env!("CARGO_PKG_VERSION"));

    // The first mount logs in as the pod: one TokenReview.
    let reviews = env.token_reviews();
    let request = || mount_request("app", &app_params(), &[], &pod, &[("vault", &token)]);
    let first = mount(&mut client, request()).await.unwrap();
    assert_eq!(env.token_reviews(), reviews + 1, "one login");
    assert_eq!(
        files(&first),
        [
            ("db/password".into(), 0o440, DB_PASSWORD.into()),
            (
                "db.json".into(),
                0o644,
                format!(r#"{{"password":"{DB_PASSWORD}","username":"app"}}"#)
            ),
            ("api/token".into(), 0o644, API_TOKEN.into()),
        ]
    );
    assert_eq!(
        versions(&first),
        [
            ("db/password".into(), "team/db#password@v1".into()),
            ("db.json".into(), "team/db@v1".into()),
            ("api/token".into(), "team/api#token@v1".into()),
        ]
    );

    // Warm: the same token, no login, the same versions.
    let second = mount(&mut client, request()).await.unwrap();
    assert_eq!(
        env.token_reviews(),
        reviews + 1,
        "a warm mount does no login"
    );
    assert_eq!(versions(&second), versions(&first));
    assert_eq!(
        provider
            .metric("secrets_agent_provider_calls_total{provider=\"vault\",call=\"login\"")
            .await,
        1.0
    );
    // Two reads per mount: team/db once for both of its objects, team/api once.
    assert_eq!(
        provider
            .metric("secrets_agent_provider_calls_total{provider=\"vault\",call=\"read\"")
            .await,
        4.0
    );

    // A change in OpenBao: new content and a new version for team/db's objects only.
    env.bao.kv2_put(
        "secret",
        "team/db",
        json!({"username": "app", "password": NEW_PASSWORD}),
    );
    let changed = mount(&mut client, request()).await.unwrap();
    assert_eq!(files(&changed)[0].2, NEW_PASSWORD);
    let changed_versions = versions(&changed);
    assert_eq!(changed_versions[0].1, "team/db#password@v2");
    assert_eq!(changed_versions[2], versions(&first)[2]);

    // A new token of the pod (the kubelet rotated it) logs in once, then is warm too.
    let rotated = env.token(&pod, "vault");
    assert_ne!(rotated, token);
    let with = |t: &str| mount_request("app", &app_params(), &[], &pod, &[("vault", t)]);
    mount(&mut client, with(&rotated)).await.unwrap();
    mount(&mut client, with(&rotated)).await.unwrap();
    assert_eq!(env.token_reviews(), reviews + 2);

    assert_eq!((provider.get("/healthz").await).0, 200);
    assert_eq!(
        provider
            .metric("secrets_agent_mounts_total{result=\"success\"")
            .await,
        5.0
    );
    assert_eq!(
        provider
            .metric("secrets_agent_mount_duration_seconds_count")
            .await,
        5.0
    );

    // SIGTERM: clean exit, the socket is gone.
    drop(client);
    let log = provider.stop();
    assert!(!env.socket().exists(), "the socket is removed at shutdown");

    // A restart answers the same versions (the store's own).
    let provider = env.start_provider();
    let mut client = connect(&env.socket()).await;
    let again = mount(&mut client, with(&rotated)).await.unwrap();
    assert_eq!(versions(&again), changed_versions);
    drop(client);
    let log2 = provider.stop();

    for text in [&log, &log2] {
        assert!(text.contains("\"mounted\""), "debug logging was on: {text}");
        for value in [DB_PASSWORD, NEW_PASSWORD, API_TOKEN, &token, &rotated] {
            assert!(!text.contains(value), "a secret reached the provider's log");
        }
    }
}

/// Mount and expect a refusal whose message holds every `needle`.
async fn refused(
    client: &mut csi_provider_proto::v1alpha1::csi_driver_provider_client::CsiDriverProviderClient<
        tonic::transport::Channel,
    >,
    request: csi_provider_proto::v1alpha1::MountRequest,
    needles: &[&str],
) -> tonic::Code {
    let (code, message) = mount(client, request).await.unwrap_err();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} missing in: {message}");
    }
    code
}

fn spc_objects(
    store: &str,
    kind: Option<&str>,
    objects: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut p = params(&[("store", store), ("objects", objects)]);
    if let Some(kind) = kind {
        p.insert("storeKind".into(), kind.into());
    }
    p
}

const ONE: &str = "- path: password\n  remoteRef: {key: team/db, property: password}\n";

async fn setup_refusals(env: &MountEnv) {
    env.bao
        .kv2_put("secret", "team/db", json!({"password": DB_PASSWORD}));
    // A store named like ours, in another namespace.
    env.cluster.create_service_accounts("ops", &[]);
    env.apply(
        &env.store("elsewhere", "web", "")
            .replace("namespace: team", "namespace: ops"),
    );
    // Shared credentials.
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: shared, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      auth:\n        tokenSecretRef: {{name: vault-token}}\n",
        env.bao.addr()
    ));
    // ClusterSecretStores: one for ops only, one for namespaces labelled mounts=yes.
    let css = |name: &str, conditions: &str| {
        format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ClusterSecretStore\nmetadata: {{name: {name}}}\nspec:\n  conditions:\n{conditions}  provider:\n    vault:\n      server: {}\n      path: secret\n      auth:\n        kubernetes: {{role: web}}\n",
            env.bao.addr()
        )
    };
    env.apply(&css("ops-only", "  - namespaces: [ops]\n"));
    env.apply(&css(
        "labelled",
        "  - namespaceSelector: {matchLabels: {mounts: \"yes\"}}\n",
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_name_the_pod_the_objects_the_store_and_the_category() {
    let env = mount_env().await;
    setup_refusals(&env).await;
    let web = env.pod("web-0", "web").await;
    let other = env.pod("other-0", "other").await;
    let web_token = env.token(&web, "vault");
    let provider = env.start_provider();
    let mut client = connect(&env.socket()).await;

    let base = spc_objects("vault", None, ONE);
    env.spc("one", &base);

    // Another service account: OpenBao refuses the login, and says why.
    let other_token = env.token(&other, "vault");
    let code = refused(
        &mut client,
        mount_request("one", &base, &[], &other, &[("vault", &other_token)]),
        &[
            "mount for pod team/other-0",
            "object \"password\" from SecretStore \"vault\"",
            "service account other",
            "not authorized",
            "[permission_denied]",
        ],
    )
    .await;
    assert_eq!(code, tonic::Code::PermissionDenied);

    // No token for the audience: the CSIDriver's tokenRequests entry to add.
    let code = refused(
        &mut client,
        mount_request("one", &base, &[], &web, &[("other-audience", &web_token)]),
        &[
            "team/web-0",
            "tokenRequests",
            "{audience: vault}",
            "[credentials]",
        ],
    )
    .await;
    assert_eq!(code, tonic::Code::Unauthenticated);

    // Another pod's token under this pod's name.
    refused(
        &mut client,
        mount_request("one", &base, &[], &web, &[("vault", &other_token)]),
        &["issued to pod team/other-0", "[credentials]"],
    )
    .await;

    // The pod's volumeAttributes may not redirect the mount.
    refused(
        &mut client,
        mount_request(
            "one",
            &base,
            &[("store", "shared")],
            &web,
            &[("vault", &web_token)],
        ),
        &[
            "volumeAttributes",
            "\"store\"",
            "SecretProviderClass \"one\"",
            "[invalid_config]",
        ],
    )
    .await;

    // A store of another namespace is never used.
    let p = spc_objects("elsewhere", None, ONE);
    env.spc("elsewhere", &p);
    refused(
        &mut client,
        mount_request("elsewhere", &p, &[], &web, &[("vault", &web_token)]),
        &[
            "SecretStore \"elsewhere\" not found in namespace \"team\"",
            "[invalid_config]",
        ],
    )
    .await;

    // Shared credentials are refused, with the reason.
    let p = spc_objects("shared", None, ONE);
    env.spc("shared", &p);
    refused(
        &mut client,
        mount_request("shared", &p, &[], &web, &[("vault", &web_token)]),
        &[
            "SecretStore \"shared\"",
            "shared credentials",
            "tokenSecretRef",
            "[invalid_config]",
        ],
    )
    .await;

    // ClusterSecretStores: conditions decide.
    let p = spc_objects("ops-only", Some("ClusterSecretStore"), ONE);
    env.spc("ops-only", &p);
    let code = refused(
        &mut client,
        mount_request("ops-only", &p, &[], &web, &[("vault", &web_token)]),
        &[
            "ClusterSecretStore \"ops-only\" does not allow namespace \"team\"",
            "[permission_denied]",
        ],
    )
    .await;
    assert_eq!(code, tonic::Code::PermissionDenied);
    let p = spc_objects("labelled", Some("ClusterSecretStore"), ONE);
    env.spc("labelled", &p);
    let request = || mount_request("labelled", &p, &[], &web, &[("vault", &web_token)]);
    refused(&mut client, request(), &["does not allow namespace"]).await;
    env.cluster
        .kubectl_ok(&["label", "namespace", "team", "mounts=yes"]);
    let answer = mount(&mut client, request()).await.unwrap();
    assert_eq!(answer.files[0].contents, DB_PASSWORD.as_bytes());

    // Unclean and duplicate paths, named with their index.
    for (objects, needle) in [
        (
            "- path: ../escape\n  remoteRef: {key: team/db}\n",
            "parameters.objects[0] (../escape)",
        ),
        (
            "- path: ..data/x\n  remoteRef: {key: team/db}\n",
            "atomic writer",
        ),
        (
            "- path: a\n  remoteRef: {key: team/db}\n- path: a\n  remoteRef: {key: team/db}\n",
            "parameters.objects[1] (a): path is used by an earlier object",
        ),
    ] {
        let p = spc_objects("vault", None, objects);
        env.spc("paths", &p);
        refused(
            &mut client,
            mount_request("paths", &p, &[], &web, &[("vault", &web_token)]),
            &[needle, "[invalid_config]"],
        )
        .await;
    }

    // The 4 MiB bound: two files of 2.5 MiB each.
    let big = "x".repeat(5 * 512 * 1024);
    env.bao.kv2_put("secret", "team/big", json!({ "v": big }));
    let p = spc_objects(
        "vault",
        None,
        "- path: a\n  remoteRef: {key: team/big, property: v}\n- path: b\n  remoteRef: {key: team/big, property: v}\n",
    );
    env.spc("big", &p);
    let code = refused(
        &mut client,
        mount_request("big", &p, &[], &web, &[("vault", &web_token)]),
        &[
            "team/web-0",
            "over the driver's limit of 4194304 bytes",
            "[too_large]",
        ],
    )
    .await;
    assert_eq!(code, tonic::Code::ResourceExhausted);

    assert!(
        provider
            .metric("secrets_agent_mounts_total{result=\"error\",category=\"invalid_config\"}")
            .await
            >= 6.0
    );
    drop(client);
    let log = provider.stop();
    assert!(!log.contains(DB_PASSWORD), "a value reached the log");
    assert!(!log.contains(&web_token) && !log.contains(&other_token));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_an_in_flight_mount_finish_then_removes_the_socket() {
    let env = mount_env().await;
    env.bao
        .kv2_put("secret", "team/db", json!({"password": DB_PASSWORD}));
    let p = spc_objects("vault", None, ONE);
    env.spc("one", &p);
    let pod = env.pod("web-0", "web").await;
    let token = env.token(&pod, "vault");
    let provider = env.start_provider();
    let mut client = connect(&env.socket()).await;

    // OpenBao's TokenReview (inside the pod's login) is held for two seconds.
    env.cluster
        .standin()
        .control()
        .inject(kube_standin::control::Fault {
            resource: Some("tokenreviews".into()),
            verb: Some("create".into()),
            latency_ms: 2000,
            times: Some(1),
            ..Default::default()
        });
    let reviews = env.token_reviews();
    let request = mount_request("one", &p, &[], &pod, &[("vault", &token)]);
    let in_flight = tokio::spawn(async move { mount(&mut client, request).await });
    common::wait_for("the login to reach the TokenReview", || async {
        (env.token_reviews() > reviews).then_some(())
    })
    .await;
    let pid = provider.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    // The socket goes at once (no new connections), the call in flight still completes.
    common::wait_for("the socket to be removed", || async {
        (!env.socket().exists()).then_some(())
    })
    .await;
    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.files[0].contents, DB_PASSWORD.as_bytes());
    let log = provider.stop();
    assert!(!log.contains(DB_PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_cache_renews_and_revokes_what_it_evicts() {
    let env = mount_env().await;
    env.bao
        .kv2_put("secret", "team/db", json!({"password": DB_PASSWORD}));
    // Short store tokens, so renewal comes within the test; two service accounts.
    env.bao.write(
        "auth/kubernetes/role/web",
        json!({"bound_service_account_names": ["web", "web2"],
               "bound_service_account_namespaces": ["team"], "policies": ["team"],
               "audience": "vault", "token_ttl": "3s", "token_max_ttl": "120s"}),
    );
    env.cluster.create_service_accounts("team", &["web2"]);
    let p = spc_objects("vault", None, ONE);
    env.spc("one", &p);
    let web = env.pod("web-0", "web").await;
    let web2 = env.pod("web2-0", "web2").await;
    let (t1, t2) = (env.token(&web, "vault"), env.token(&web2, "vault"));
    let provider = env.start_provider_with(&["--token-cache-size", "1"]);
    let mut client = connect(&env.socket()).await;
    let calls = |call: &str, status: &str| {
        format!(
            "secrets_agent_provider_calls_total{{provider=\"vault\",call=\"{call}\",status=\"{status}\"}}"
        )
    };
    let logins = calls("login", "ok");

    let as_web = || mount_request("one", &p, &[], &web, &[("vault", &t1)]);
    mount(&mut client, as_web()).await.unwrap();
    // Mounting on, the store token is renewed past two thirds of its 3 s lease, never
    // replaced by a login. (OpenBao reviews the JWT again when it renews, so here the
    // provider's own login count tells logins apart, not the stand-in's TokenReviews.)
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while provider.metric(&calls("renew", "ok")).await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "no renewal");
        mount(&mut client, as_web()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        provider.metric(&logins).await,
        1.0,
        "renewed, not logged in again"
    );

    // A second identity in a cache of one evicts the first, whose token is revoked.
    mount(
        &mut client,
        mount_request("one", &p, &[], &web2, &[("vault", &t2)]),
    )
    .await
    .unwrap();
    assert_eq!(provider.metric(&logins).await, 2.0);
    let revoked = calls("revoke", "ok");
    common::wait_for("the evicted login's revocation", || async {
        (provider.metric(&revoked).await >= 1.0).then_some(())
    })
    .await;
    // The evicted identity logs in again.
    mount(&mut client, as_web()).await.unwrap();
    assert_eq!(provider.metric(&logins).await, 3.0);
    drop(client);
    provider.stop();
}
