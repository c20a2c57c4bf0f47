//! The mount key's life in the cluster: every replica watches the Secret
//! (`--mount-key-secret`) and loads it into a channel the TLS server and the answers read;
//! the leader creates the Secret when it is missing (first start, or deleted to rotate) and
//! publishes its certificate (never the key) in the ConfigMap (`--mount-config-map`) the CSI
//! provider pins, by server-side apply with field manager `secrets-agent`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use secrets_core::mount::mount_key::{self, MountKey};
use tokio::sync::watch;
use zeroize::Zeroize as _;

use crate::runtime::FIELD_MANAGER;
use crate::telemetry::error_chain;

/// Where the mount key lives and what its certificate names.
#[derive(Debug, Clone)]
pub struct KeyPlace {
    /// The agent namespace.
    pub namespace: String,
    /// The Secret holding the key pair and the version key.
    pub secret: String,
    /// The ConfigMap publishing the certificate.
    pub config_map: String,
    /// The Service the provider calls (`<service>.<namespace>.svc` in the certificate).
    pub service: String,
}

impl KeyPlace {
    fn dns_names(&self) -> Vec<String> {
        let base = format!("{}.{}", self.service, self.namespace);
        vec![
            format!("{base}.svc"),
            format!("{base}.svc.cluster.local"),
            base,
            self.service.clone(),
        ]
    }
}

/// The loaded key (`None` until the Secret exists and parses).
pub type KeyChannel = watch::Receiver<Option<Arc<MountKey>>>;

/// Watch the Secret and keep `tx` at what it holds, until the future is dropped.
pub async fn watch_key(
    client: kube::Client,
    place: KeyPlace,
    tx: watch::Sender<Option<Arc<MountKey>>>,
) {
    let api: Api<Secret> = Api::namespaced(client, &place.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={}", place.secret));
    let mut stream = watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(secret) | watcher::Event::InitApply(secret)) => {
                load(&place, &secret, &tx);
            }
            Ok(watcher::Event::Delete(_)) => {
                tracing::warn!(secret = %place.secret, "the mount key Secret was deleted; mounts wait for a new one");
                let _ = tx.send(None);
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(err) => {
                tracing::debug!(error = %error_chain(&err), "watching the mount key Secret");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn load(place: &KeyPlace, secret: &Secret, tx: &watch::Sender<Option<Arc<MountKey>>>) {
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .data
        .as_ref()
        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
        .unwrap_or_default();
    let loaded = MountKey::from_secret_data(&data);
    data.values_mut().for_each(|v| v.zeroize());
    match loaded {
        Ok(key) => {
            let changed = tx
                .borrow()
                .as_ref()
                .is_none_or(|old| old.fingerprint() != key.fingerprint());
            if changed {
                tracing::info!(secret = %place.secret, key = %key.fingerprint(), "mount key loaded");
                let _ = tx.send(Some(Arc::new(key)));
            }
        }
        Err(err) => {
            tracing::warn!(secret = %place.secret, error = %error_chain(&err), "the mount key Secret is unusable; delete it and the leader makes a new one");
            let _ = tx.send(None);
        }
    }
}

/// While leading: create the Secret when missing and keep the ConfigMap at its certificate.
pub async fn keep_key(client: kube::Client, place: KeyPlace, mut key: KeyChannel) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &place.namespace);
    let maps: Api<ConfigMap> = Api::namespaced(client, &place.namespace);
    let mut published: Option<String> = None;
    loop {
        let current = key.borrow_and_update().clone();
        let step = match current {
            None => create_if_missing(&secrets, &place).await,
            Some(key) if published.as_deref() != Some(key.cert_pem()) => {
                publish(&maps, &place, &key).await.map(|()| {
                    published = Some(key.cert_pem().to_owned());
                })
            }
            Some(_) => Ok(()),
        };
        if let Err(err) = step {
            tracing::warn!(error = %error_chain(&*err), "keeping the mount key; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        // Woken by a new key, or every 30 s: a missing Secret is looked for again, and the
        // ConfigMap is applied again (a no-op unless someone deleted or changed it).
        if tokio::time::timeout(Duration::from_secs(30), key.changed())
            .await
            .is_err()
        {
            published = None;
        }
    }
}

async fn create_if_missing(secrets: &Api<Secret>, place: &KeyPlace) -> anyhow::Result<()> {
    if secrets.get_opt(&place.secret).await?.is_some() {
        return Ok(()); // the watch loads it (or says why it cannot)
    }
    let key = MountKey::generate(&place.dns_names(), time::OffsetDateTime::now_utc())?;
    let data = key
        .secret_data()
        .into_iter()
        .map(|(k, v)| (k, ByteString(v.to_vec())))
        .collect();
    let mut secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(place.secret.clone()),
            namespace: Some(place.namespace.clone()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/component".to_owned(),
                "mount-key".to_owned(),
            )])),
            ..Default::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(data),
        ..Default::default()
    };
    let created = secrets.create(&PostParams::default(), &secret).await;
    crate::wipe::wipe(&mut secret);
    match created {
        Ok(mut answer) => {
            crate::wipe::wipe(&mut answer);
            tracing::info!(secret = %place.secret, key = %key.fingerprint(), "made a new mount key");
            Ok(())
        }
        // Another leader (or an operator) was first: theirs is loaded by the watch.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(err) => Err(err.into()),
    }
}

async fn publish(maps: &Api<ConfigMap>, place: &KeyPlace, key: &MountKey) -> anyhow::Result<()> {
    let map = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": place.config_map, "namespace": place.namespace},
        "data": {mount_key::CERT_FIELD: key.cert_pem()},
    });
    maps.patch(
        &place.config_map,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&map),
    )
    .await?;
    tracing::info!(config_map = %place.config_map, key = %key.fingerprint(), "published the mount certificate");
    Ok(())
}
