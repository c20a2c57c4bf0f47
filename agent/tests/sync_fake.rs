//! The agent's sync path against the in-memory store (`secrets-store-fake`) instead of
//! OpenBao: the real ExternalSecret and store controllers (`external_secret::run_with`, the
//! store factory swapped for the fake) against kube-standin. Every error kind a store can
//! return: what `Ready`, the Event and `secrets_agent_sync_failures_total` say, and that the
//! Secret is kept; "not found" under deletionPolicy Retain and Delete; versions as strings the
//! store judges.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use secrets_agent::external_secret::{Settings, run_with};
use secrets_agent::metrics::Metrics;
use secrets_agent::secret_store::{OpenRequest, StoreFactory};
use secrets_core::api::{ClusterSecretStore, ExternalSecret, SecretStore};
use secrets_core::store::{ErrorKind, Store, StoreError};
use secrets_store_fake::FakeStore;
use serde_json::json;

use common::sync::es_ready_when;
use common::wait_for;

/// Every store built is the one fake; the CA bundle each store was built with is kept.
struct Fake(FakeStore, CaSeen);

type CaSeen = Arc<std::sync::Mutex<Vec<(String, Option<Vec<u8>>)>>>;

impl StoreFactory for Fake {
    fn open(&self, request: OpenRequest<'_>) -> Result<Arc<dyn Store>, StoreError> {
        self.1.lock().unwrap().push((request.label, request.ca_pem));
        Ok(Arc::new(self.0.clone()))
    }
}

struct Env {
    _cluster: test_support::Cluster,
    client: kube::Client,
    fake: FakeStore,
    metrics: Arc<Metrics>,
    ca_seen: CaSeen,
    _agent: tokio::task::JoinHandle<()>,
}

async fn env() -> Env {
    let (cluster, client) = common::cluster().await;
    let fake = FakeStore::new();
    let metrics = Arc::new(Metrics::new());
    let ca_seen = CaSeen::default();
    let settings = Settings {
        concurrency: 4,
        store_rate: 1000,
        provider_timeout: Duration::from_secs(2),
        share_reads: true,
    };
    let agent = tokio::spawn(run_with(
        client.clone(),
        metrics.clone(),
        "sync-fake".into(),
        settings,
        Arc::new(Fake(fake.clone(), ca_seen.clone())),
    ));
    // A Vault-shaped store spec: the factory ignores it, the agent's checks do not.
    let store: SecretStore = serde_yaml_ng::from_str(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: fake, namespace: team}\nspec:\n  provider:\n    vault:\n      server: http://127.0.0.1:1\n      auth:\n        tokenSecretRef: {name: unused, key: token}\n",
    )
    .unwrap();
    Api::<SecretStore>::namespaced(client.clone(), "team")
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
    Env {
        _cluster: cluster,
        client,
        fake,
        metrics,
        ca_seen,
        _agent: agent,
    }
}

impl Env {
    async fn apply_es(&self, name: &str, body: &str) {
        let es: ExternalSecret = serde_yaml_ng::from_str(&format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  secretStoreRef: {{name: fake}}\n{body}"
        ))
        .unwrap();
        Api::<ExternalSecret>::namespaced(self.client.clone(), "team")
            .create(&PostParams::default(), &es)
            .await
            .unwrap();
    }

    /// Wait until `Ready` has `reason` and a message containing `needle`; (true?, message).
    async fn ready(&self, name: &str, reason: &str, needle: &str) -> (bool, String) {
        let what = format!("Ready {reason} with {needle:?}");
        let (ok, _, message) = es_ready_when(&self.client, "team", name, &what, |_, r, m| {
            r == reason && m.contains(needle)
        })
        .await;
        (ok, message)
    }

    async fn force_sync(&self, name: &str, value: &str) {
        let patch = json!({"metadata": {"annotations": {"kubectl-secrets.io/force-sync": value}}});
        Api::<ExternalSecret>::namespaced(self.client.clone(), "team")
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    async fn value(&self, name: &str, key: &str) -> Option<String> {
        let s = Api::<Secret>::namespaced(self.client.clone(), "team")
            .get_opt(name)
            .await
            .unwrap()?;
        let bytes = s.data?.remove(key)?;
        Some(String::from_utf8(bytes.0).unwrap())
    }

    async fn event_reasons(&self) -> Vec<String> {
        Api::<Event>::namespaced(self.client.clone(), "team")
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|e| e.reason)
            .collect()
    }
}

const PASSWORD: &str = "pw-fake-5c1e";

/// Each kind but "not found": `Ready=False SecretSyncedError` naming the failure, an Event
/// whose reason is the category, the failure counted by store type and category, and the
/// Secret kept even under deletionPolicy Delete.
#[tokio::test(flavor = "multi_thread")]
async fn every_store_error_keeps_the_secret_and_is_named_by_its_category() {
    let env = env().await;
    env.fake.set("app/db", json!({"password": PASSWORD}));
    env.apply_es(
        "app",
        "  target: {deletionPolicy: Delete}\n  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n",
    )
    .await;
    env.ready("app", "SecretSynced", "").await;
    assert_eq!(
        env.value("app", "password").await.as_deref(),
        Some(PASSWORD)
    );
    let mut round = 0;
    for kind in ErrorKind::ALL
        .into_iter()
        .filter(|k| *k != ErrorKind::NotFound)
    {
        let category = kind.category();
        env.fake.fail(Some(kind));
        round += 1;
        env.force_sync("app", &round.to_string()).await;
        let (ok, message) = env
            .ready("app", "SecretSyncedError", &format!("({category})"))
            .await;
        assert!(!ok);
        assert!(
            message.starts_with("could not get secret data from SecretStore \"fake\": "),
            "{message}"
        );
        assert_eq!(
            env.value("app", "password").await.as_deref(),
            Some(PASSWORD),
            "{category}: the Secret is kept"
        );
        wait_for(&format!("an Event {category}"), || async {
            env.event_reasons()
                .await
                .contains(&category.to_owned())
                .then_some(())
        })
        .await;
        let series =
            format!("secrets_agent_sync_failures_total{{store=\"fake\",category=\"{category}\"}}");
        assert!(env.metrics.encode().contains(&series), "no {series}");
        env.fake.fail(None);
        round += 1;
        env.force_sync("app", &round.to_string()).await;
        env.ready("app", "SecretSynced", "").await;
    }
    // No metric label carries an object name.
    let text = env.metrics.encode();
    for line in text
        .lines()
        .filter(|l| l.starts_with("secrets_agent_sync_failures_total"))
    {
        assert!(!line.contains("app") && !line.contains("team"), "{line}");
    }
}

/// "Not found" is the one answer that may delete: Retain keeps the Secret and says so,
/// Delete deletes it and says `SecretDeleted`.
#[tokio::test(flavor = "multi_thread")]
async fn not_found_under_retain_and_delete() {
    let env = env().await;
    env.fake.set("gone/retain", json!({"password": PASSWORD}));
    env.fake.set("gone/delete", json!({"password": PASSWORD}));
    for (name, policy) in [("retain", "Retain"), ("delete", "Delete")] {
        env.apply_es(
            name,
            &format!("  target: {{deletionPolicy: {policy}}}\n  data:\n  - secretKey: password\n    remoteRef: {{key: gone/{name}, property: password}}\n"),
        )
        .await;
        env.ready(name, "SecretSynced", "").await;
    }
    env.fake.delete("gone/retain");
    env.fake.delete("gone/delete");
    env.force_sync("retain", "1").await;
    env.force_sync("delete", "1").await;
    let (ok, message) = env.ready("retain", "SecretSyncedError", "Retain").await;
    assert!(!ok && message.contains("not found"), "{message}");
    assert_eq!(
        env.value("retain", "password").await.as_deref(),
        Some(PASSWORD)
    );
    let (ok, message) = env.ready("delete", "SecretDeleted", "").await;
    assert!(ok, "{message}");
    wait_for("the Secret deleted", || async {
        env.value("delete", "password")
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

/// Versions are strings: the store reads the one asked for and refuses what it cannot read,
/// naming the field, before any read.
#[tokio::test(flavor = "multi_thread")]
async fn versions_are_strings_the_store_checks() {
    let env = env().await;
    env.fake.set("app/v", json!({"password": "first"}));
    env.fake.set("app/v", json!({"password": "second"}));
    env.apply_es(
        "pinned",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/v, property: password, version: '1'}\n",
    )
    .await;
    env.ready("pinned", "SecretSynced", "").await;
    assert_eq!(
        env.value("pinned", "password").await.as_deref(),
        Some("first")
    );
    let reads = env.fake.calls().read;
    env.apply_es(
        "latest",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/v, property: password, version: latest}\n",
    )
    .await;
    let (ok, _) = env
        .ready(
            "latest",
            "SecretSyncedError",
            "invalid spec: spec.data[0].remoteRef.version \"latest\" must be a version number",
        )
        .await;
    assert!(!ok);
    assert_eq!(
        env.fake.calls().read,
        reads,
        "nothing was read for the refused version"
    );
}

/// Wait until the store's `Ready` reason is `reason`; its message.
async fn store_reason<K>(api: Api<K>, name: &str, reason: &str) -> String
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    wait_for(&format!("store {name} Ready reason {reason}"), || async {
        let value = serde_json::to_value(api.get_opt(name).await.ok()??).ok()?;
        let ready = value["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready")?
            .clone();
        (ready["reason"] == reason)
            .then(|| ready["message"].as_str().unwrap_or_default().to_owned())
    })
    .await
}

/// A store's `caProvider` is read where `secrets_core::store::refs` says, for both kinds: a
/// SecretStore's in its own namespace, a ClusterSecretStore's in the namespace it names; a
/// ClusterSecretStore's without one is refused by name.
#[tokio::test(flavor = "multi_thread")]
async fn ca_provider_namespaces_for_both_store_kinds() {
    let env = env().await;
    let client = &env.client;
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "pki"}})).unwrap(),
        )
        .await
        .unwrap();
    for (ns, pem) in [("team", "PEM-OF-TEAM"), ("pki", "PEM-OF-PKI")] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "ca"}, "data": {"ca.crt": pem}}))
                .unwrap();
        Api::<ConfigMap>::namespaced(client.clone(), ns)
            .create(&PostParams::default(), &cm)
            .await
            .unwrap();
    }
    let vault = |ca: &str, ns: &str| {
        format!(
            "  provider:\n    vault:\n      server: https://127.0.0.1:1\n      caProvider: {ca}\n      auth:\n        tokenSecretRef: {{name: t, key: token{ns}}}\n"
        )
    };
    let ss: SecretStore = serde_yaml_ng::from_str(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: with-ca, namespace: team}}\nspec:\n{}",
        vault("{type: ConfigMap, name: ca, key: ca.crt}", "")
    ))
    .unwrap();
    let ss_api = Api::<SecretStore>::namespaced(client.clone(), "team");
    ss_api.create(&PostParams::default(), &ss).await.unwrap();
    let css_api = Api::<ClusterSecretStore>::all(client.clone());
    for (name, ca) in [
        (
            "css-named",
            "{type: ConfigMap, name: ca, key: ca.crt, namespace: pki}",
        ),
        ("css-unnamed", "{type: ConfigMap, name: ca, key: ca.crt}"),
    ] {
        let css: ClusterSecretStore = serde_yaml_ng::from_str(&format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ClusterSecretStore\nmetadata: {{name: {name}}}\nspec:\n{}",
            vault(ca, ", namespace: team")
        ))
        .unwrap();
        css_api.create(&PostParams::default(), &css).await.unwrap();
    }
    store_reason(ss_api, "with-ca", "Valid").await;
    store_reason(css_api.clone(), "css-named", "Valid").await;
    let message = store_reason(css_api, "css-unnamed", "InvalidProviderConfig").await;
    assert!(
        message.contains(
            "spec.provider.vault.caProvider.namespace is required on a ClusterSecretStore"
        ),
        "{message}"
    );
    let seen = env.ca_seen.lock().unwrap().clone();
    let ca_of = |label: &str| {
        seen.iter()
            .find(|(l, _)| l == label)
            .and_then(|(_, pem)| pem.clone())
            .map(|pem| String::from_utf8(pem).unwrap())
    };
    assert_eq!(
        ca_of("SecretStore \"with-ca\"").as_deref(),
        Some("PEM-OF-TEAM")
    );
    assert_eq!(
        ca_of("ClusterSecretStore \"css-named\"").as_deref(),
        Some("PEM-OF-PKI")
    );
    assert!(ca_of("ClusterSecretStore \"css-unnamed\"").is_none());
}
