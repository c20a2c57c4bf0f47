//! The agent's sealing key Secrets as the plugin sees them: `kubernetes.io/tls` Secrets in the
//! agent namespace labelled `kubectl-secrets.io/sealing-key` ([`list`], for `keys rotate` to
//! find the newest). Only the certificate is parsed there; private keys are left alone.
//!
//! Data flow: list by label → parse `tls.crt` → sort oldest first by certificate notBefore,
//! then creationTimestamp (the agent's own order, `secrets_core::seal::keys::KeyRing`).
//!
//! [`read_listed`] is the other way in, for `keys backup`: the agent's own [`KeyList`] names
//! the Secrets it uses (Bitnami's too, in compat mode), and each is read by name with the
//! person's credentials; any one that cannot be read fails the whole read, by name.

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::ListParams;
use secrets_core::seal::keys::{Certificate, KEY_LABEL, KeyList};
use time::OffsetDateTime;

use crate::cluster::{Cluster, api_error};

/// One key Secret.
pub(crate) struct KeySecret {
    pub(crate) name: String,
    /// `None` when `tls.crt` is missing or unreadable (listed as broken).
    pub(crate) certificate: Option<Certificate>,
    pub(crate) created: Option<OffsetDateTime>,
}

/// Every key Secret in `namespace`, oldest first; the last one with a certificate seals.
pub(crate) async fn list(cluster: &Cluster, namespace: &str) -> anyhow::Result<Vec<KeySecret>> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let secrets = api
        .list(&ListParams::default().labels(KEY_LABEL))
        .await
        .map_err(api_error)
        .with_context(|| {
            format!(
                "listing sealing keys in namespace {namespace} in {}",
                cluster.describe
            )
        })?;
    let mut keys: Vec<KeySecret> = secrets
        .items
        .into_iter()
        .map(|secret| {
            let certificate = secret
                .data
                .as_ref()
                .and_then(|d| d.get("tls.crt"))
                .and_then(|pem| Certificate::from_pem(&pem.0).ok());
            let created = secret
                .metadata
                .creation_timestamp
                .as_ref()
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t.0.as_second()).ok());
            KeySecret {
                name: secret.metadata.name.clone().unwrap_or_default(),
                certificate,
                created,
            }
        })
        .collect();
    keys.sort_by_key(|k| {
        (
            k.certificate.as_ref().map(Certificate::not_before),
            k.created,
        )
    });
    Ok(keys)
}

/// Read every Secret `list` names, in its order, each checked to hold the key the agent
/// reported (a Secret replaced since would otherwise back up a different key).
pub(crate) async fn read_listed(cluster: &Cluster, list: &KeyList) -> anyhow::Result<Vec<Secret>> {
    let mut secrets = Vec::with_capacity(list.keys.len());
    for entry in &list.keys {
        let (namespace, name) = (&entry.secret.namespace, &entry.secret.name);
        let context = || {
            format!(
                "reading key Secret {namespace}/{name} (the agent uses it) in {}",
                cluster.describe
            )
        };
        let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
        let secret = api
            .get_opt(name)
            .await
            .map_err(api_error)
            .with_context(context)?
            .ok_or_else(|| anyhow::anyhow!("it no longer exists; run the command again"))
            .with_context(context)?;
        let fingerprint = secret
            .data
            .as_ref()
            .and_then(|d| d.get("tls.crt"))
            .and_then(|pem| Certificate::from_pem(&pem.0).ok())
            .map(|cert| cert.public_key().fingerprint());
        if fingerprint.as_deref() != Some(entry.fingerprint.as_str()) {
            return Err(anyhow::anyhow!(
                "its tls.crt is not the key {} the agent loaded from it; run the command again",
                entry.fingerprint
            ))
            .with_context(context);
        }
        secrets.push(secret);
    }
    Ok(secrets)
}

/// The index of the newest key with a readable certificate.
pub(crate) fn newest(keys: &[KeySecret]) -> Option<usize> {
    keys.iter().rposition(|k| k.certificate.is_some())
}
