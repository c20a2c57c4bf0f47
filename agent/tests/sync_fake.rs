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

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use secrets_agent::external_secret::{Settings, run_with};
use secrets_agent::metrics::Metrics;
use secrets_agent::secret_store::{OpenRequest, StoreFactory};
use secrets_core::api::{ExternalSecret, SecretStore};
use secrets_core::store::{ErrorKind, Store, StoreError};
use secrets_store_fake::FakeStore;
use serde_json::json;

use common::wait_for;

/// Every store built is the one fake.
struct Fake(FakeStore);

impl StoreFactory for Fake {
    fn open(&self, _: OpenRequest<'_>) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(self.0.clone()))
    }
}

struct Env {
    _cluster: test_support::Cluster,
    client: kube::Client,
    fake: FakeStore,
    metrics: Arc<Metrics>,
    _agent: tokio::task::JoinHandle<()>,
}

async fn env() -> Env {
    let (cluster, client) = common::cluster().await;
    let fake = FakeStore::new();
    let metrics = Arc::new(Metrics::new());
    let settings = Settings {
        concurrency: 4,
        store_rate: 1000,
        provider_timeout: Duration::from_secs(2),
    };
    let agent = tokio::spawn(run_with(
        client.clone(),
        metrics.clone(),
        "sync-fake".into(),
        settings,
        Arc::new(Fake(fake.clone())),
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
        let api: Api<ExternalSecret> = Api::namespaced(self.client.clone(), "team");
        wait_for(
            &format!("{name} Ready {reason} with {needle:?}"),
            || async {
                let es = api.get_opt(name).await.ok()??;
                let c = es
                    .status?
                    .conditions
                    .into_iter()
                    .find(|c| c.type_ == "Ready")?;
                let message = c.message.unwrap_or_default();
                (c.reason.as_deref() == Some(reason) && message.contains(needle))
                    .then(|| (c.status == "True", message))
            },
        )
        .await
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
