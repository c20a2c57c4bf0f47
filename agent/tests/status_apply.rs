//! Status is written by server-side apply as field manager `secrets-agent`: after the agent
//! reconciles a SecretStore, an ExternalSecret and a SealedSecret on kube-standin, each
//! object's `metadata.managedFields` holds the agent's entry for the status subresource
//! (`operation: Apply`, `subresource: status`), owning the status and nothing else.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::sync::sync_env;
use common::{PASSWORD, plain, ready, wait_for, wait_keys};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use secrets_core::api::SecretStore;
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::seal::crypto::Scope;
use serde_json::json;

/// The agent's status entry is there, and owns `status` only.
fn assert_status_applied(what: &str, meta: &ObjectMeta) {
    let entries = meta.managed_fields.clone().unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| {
            e.manager.as_deref() == Some("secrets-agent")
                && e.operation.as_deref() == Some("Apply")
                && e.subresource.as_deref() == Some("status")
        })
        .unwrap_or_else(|| panic!("{what}: no status entry of secrets-agent in {entries:?}"));
    let fields = entry
        .fields_v1
        .as_ref()
        .map(|f| f.0.clone())
        .unwrap_or_default();
    let owned: Vec<&String> = fields
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(owned, ["f:status"], "{what}: {fields}");
    assert!(
        fields["f:status"].get("f:conditions").is_some(),
        "{what}: {fields}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_applies_every_status_as_secrets_agent() {
    let env = sync_env(&[]).await;

    // The store `sync_env` waited for: Ready already.
    let stores: Api<SecretStore> = Api::namespaced(env.client.clone(), "team");
    let store = stores.get("vault").await.unwrap();
    assert_status_applied("SecretStore", &store.metadata);

    // An ExternalSecret, synced.
    env.bao
        .kv2_put("secret", "app/db", json!({"password": "pw-status-apply"}));
    env.apply("apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {name: app, namespace: team}\nspec:\n  secretStoreRef: {name: vault}\n  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n").await;
    let (reason, _) = env.es_ready("team", "app", true).await;
    assert_eq!(reason, "SecretSynced");
    let es = env.es("team", "app").await;
    assert_status_applied("ExternalSecret", &es.metadata);
    assert!(es.status.unwrap().refresh_time.is_some());

    // A SealedSecret, unsealed.
    let cert = wait_keys(&env.client, 1).await;
    let sealed = secrets_core::seal::seal_secret(
        &plain("db", "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    let sealed_api: Api<SealedSecret> = Api::namespaced(env.client.clone(), "team");
    sealed_api
        .create(&PostParams::default(), &sealed)
        .await
        .unwrap();
    let unsealed = wait_for("the SealedSecret's Ready=True", || {
        let api = sealed_api.clone();
        async move {
            let ss = api.get("db").await.ok()?;
            ready(&ss).filter(|r| r.0 == "True").map(|_| ss)
        }
    })
    .await;
    assert_status_applied("SealedSecret", &unsealed.metadata);
}
