//! The provider in process (as a benchmark runs it: `mount::Provider::new` + `bind` +
//! `serve`) with a test link to the controller: HMAC versions with the cluster key for values
//! the store does not version (KV v1), stable across a provider restart and changed after a
//! change in OpenBao, the key fetched once; mount-only SealedSecret objects go to the link with
//! the pod's own `kubectl-secrets` token; the link's refusals reach the driver.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::provider::{MountEnv, PodInfo, connect, mount, mount_env, mount_request, params};
use secrets_agent::metrics::Metrics;
use secrets_agent::mount::link::{ControllerLink, LinkError, LinkFuture, SealedFile, SealedItem};
use secrets_agent::mount::{self, Provider, Settings};
use secrets_agent::secret_store::Providers;
use secrets_core::mount::files::hmac_version;
use secrets_core::mount::request::{PodIdentity, PodToken};
use serde_json::json;
use zeroize::Zeroizing;

const KEY: &[u8] = b"cluster-key-for-tests-0123456789";

/// What the link was asked: (pod, the token's audiences, the paths).
type Asked = (String, Vec<String>, Vec<String>);

/// A controller that answers every SealedSecret item with `opened:<name>/<key>` (or refuses
/// when `refuse` is set) and hands out a fixed key, counting what it was asked.
#[derive(Default)]
struct TestLink {
    key_fetches: AtomicUsize,
    seen: Mutex<Vec<Asked>>,
    refuse: Mutex<bool>,
}

impl ControllerLink for TestLink {
    fn open_sealed<'a>(
        &'a self,
        pod: &'a PodIdentity,
        token: &'a PodToken,
        items: &'a [SealedItem],
    ) -> LinkFuture<'a, Vec<SealedFile>> {
        Box::pin(async move {
            let claims = secrets_core::mount::token::claims(&token.token, "kubectl-secrets")
                .map_err(|e| LinkError {
                    category: "credentials",
                    message: e.to_string(),
                })?;
            self.seen.lock().unwrap().push((
                format!("{}/{}", pod.namespace, pod.name),
                claims.audiences,
                items.iter().map(|i| i.path.clone()).collect(),
            ));
            if *self.refuse.lock().unwrap() {
                return Err(LinkError {
                    category: "permission_denied",
                    message: "the controller refused: SealedSecret \"db\" is not mount-only".into(),
                });
            }
            Ok(items
                .iter()
                .map(|i| SealedFile {
                    path: i.path.clone(),
                    contents: Zeroizing::new(format!("opened:{}/{}", i.name, i.key).into_bytes()),
                    version: format!("sealed:{}", i.name),
                })
                .collect())
        })
    }

    fn version_key(&self) -> LinkFuture<'_, Zeroizing<Vec<u8>>> {
        self.key_fetches.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Zeroizing::new(KEY.to_vec())) })
    }
}

/// A provider on the env's socket; dropping the sender shuts it down.
async fn start(
    env: &MountEnv,
    link: Arc<TestLink>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let provider = Arc::new(Provider::new(
        env.cluster.client().await,
        link,
        Arc::new(Providers::default()),
        Arc::new(Metrics::new()),
        Settings::default(),
    ));
    let socket = mount::bind(&env.socket()).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(mount::serve(provider, socket, async move {
        let _ = rx.await;
    }));
    (tx, task)
}

const OBJECTS: &str = "- path: kv1/token\n  remoteRef: {key: team/app, property: token}\n- path: sealed/db\n  sealedSecret: {name: db, key: password}\n  mode: \"0400\"\n";

fn request(pod: &PodInfo, tokens: &[(&str, &str)]) -> csi_provider_proto::v1alpha1::MountRequest {
    let p = params(&[("store", "kv1"), ("objects", OBJECTS)]);
    mount_request("mixed", &p, &[], pod, tokens)
}

#[tokio::test(flavor = "multi_thread")]
async fn hmac_versions_and_sealed_objects_through_the_link() {
    let env = mount_env().await;
    env.apply(&env.store("kv1", "web", "").replace(
        "path: secret\n      version: v2",
        "path: kv1\n      version: v1",
    ));
    env.bao
        .write("kv1/team/app", json!({"token": "kv1-value-1"}));
    env.spc("mixed", &params(&[("store", "kv1"), ("objects", OBJECTS)]));
    let pod = env.pod("web-0", "web").await;
    let vault = env.token(&pod, "vault");
    let ours = env.token(&pod, "kubectl-secrets");
    let tokens = [
        ("vault", vault.as_str()),
        ("kubectl-secrets", ours.as_str()),
    ];

    let link = Arc::new(TestLink::default());
    let (stop, task) = start(&env, Arc::clone(&link)).await;
    let mut client = connect(&env.socket()).await;
    let first = mount(&mut client, request(&pod, &tokens)).await.unwrap();
    let got: Vec<_> = first
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.mode, f.contents.as_slice()))
        .collect();
    assert_eq!(
        got,
        [
            ("kv1/token", 0o644, b"kv1-value-1".as_slice()),
            ("sealed/db", 0o400, b"opened:db/password".as_slice()),
        ]
    );
    let version = first.object_version[0].version.clone();
    assert_eq!(version, hmac_version(KEY, "kv1/token", b"kv1-value-1"));
    assert_eq!(first.object_version[1].version, "sealed:db");
    // The link got the pod and its own token for the controller's audience.
    assert_eq!(
        link.seen.lock().unwrap()[0],
        (
            "team/web-0".into(),
            vec!["kubectl-secrets".to_owned()],
            vec!["sealed/db".to_owned()]
        )
    );
    let second = mount(&mut client, request(&pod, &tokens)).await.unwrap();
    assert_eq!(second.object_version, first.object_version);
    assert_eq!(link.key_fetches.load(Ordering::SeqCst), 1, "fetched once");

    // A restart: a new provider, the same key from the controller, the same version.
    drop(client);
    drop(stop);
    task.await.unwrap();
    assert!(!env.socket().exists());
    let (stop, task) = start(&env, Arc::clone(&link)).await;
    let mut client = connect(&env.socket()).await;
    let restarted = mount(&mut client, request(&pod, &tokens)).await.unwrap();
    assert_eq!(restarted.object_version[0].version, version);

    // A change in OpenBao changes the version.
    env.bao
        .write("kv1/team/app", json!({"token": "kv1-value-2"}));
    let changed = mount(&mut client, request(&pod, &tokens)).await.unwrap();
    assert_eq!(changed.files[0].contents, b"kv1-value-2");
    assert_ne!(changed.object_version[0].version, version);

    // Without a token for the controller's audience, the sealed objects say what to add.
    let (code, message) = mount(&mut client, request(&pod, &tokens[..1]))
        .await
        .unwrap_err();
    assert_eq!(code, tonic::Code::Unauthenticated);
    for needle in [
        "object \"sealed/db\" from SealedSecret \"db\"",
        "{audience: kubectl-secrets}",
        "[credentials]",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }

    // The controller's refusal reaches the driver with its category.
    *link.refuse.lock().unwrap() = true;
    let (code, message) = mount(&mut client, request(&pod, &tokens))
        .await
        .unwrap_err();
    assert_eq!(code, tonic::Code::PermissionDenied);
    assert!(
        message.contains("mount for pod team/web-0: object \"sealed/db\" from SealedSecret \"db\"")
            && message.contains("not mount-only [permission_denied]"),
        "{message}"
    );
    drop(client);
    drop(stop);
    task.await.unwrap();
}
