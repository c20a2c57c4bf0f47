//! `keys restore FILE`: put sealing keys back from a backup (after losing the cluster, or to
//! share keys between clusters on purpose).
//!
//! Flow: read FILE → `secrets_core::seal::keys::parse_private_keys` (is there a usable key at all?)
//! → every Secret document (a `v1 List` is unpacked) checked: `tls.key` and `tls.crt` present
//! and belonging together → connect → create each in the agent namespace, type
//! `kubernetes.io/tls`, labelled `kubectl-secrets.io/sealing-key=active`. A Secret that already
//! exists is left as it is and reported; nothing is overwritten.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;
use secrets_core::seal::keys::{self, ACTIVE, KEY_LABEL, SealingKey};
use serde_json::Value;

use crate::cli::{GlobalFlags, KeysRestoreArgs};
use crate::cluster::{self, api_error, is_conflict};
use crate::input::read_bytes;

pub(crate) fn run(global: &GlobalFlags, args: KeysRestoreArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.display().to_string();
    let bytes = read_bytes(&file)?;
    keys::parse_private_keys(&bytes).with_context(|| format!("reading backup {file}"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("reading backup {file}: not UTF-8 text"))?;
    let secrets = key_secrets(text, &global.agent_namespace)
        .with_context(|| format!("reading backup {file}"))?;
    let ns = global.agent_namespace.clone();
    let (created, existing) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &ns);
        let (mut created, mut existing) = (0, 0);
        for secret in &secrets {
            let name = secret.metadata.name.clone().unwrap_or_default();
            match api.create(&PostParams::default(), secret).await {
                Ok(_) => {
                    created += 1;
                    eprintln!("created secret {ns}/{name}");
                }
                Err(err) if is_conflict(&err) => {
                    existing += 1;
                    eprintln!("secret {ns}/{name} already exists; left as it is");
                }
                Err(err) => {
                    return Err(api_error(err)).with_context(|| {
                        format!("creating secret {ns}/{name} in {}", cluster.describe)
                    });
                }
            }
        }
        Ok((created, existing))
    })?;
    eprintln!(
        "restored {created} sealing key(s) into namespace {}, {existing} already there",
        global.agent_namespace
    );
    Ok(ExitCode::SUCCESS)
}

/// The Secrets to create: each document of the backup checked and re-labelled.
fn key_secrets(text: &str, namespace: &str) -> anyhow::Result<Vec<Secret>> {
    if text.trim_start().starts_with("-----BEGIN") {
        bail!("a PEM key alone is not a backup: restore needs key Secrets (tls.key and tls.crt)");
    }
    let docs: Vec<Value> = secrets_core::manifest::parse_documents(text)?;
    let mut items = Vec::new();
    for doc in docs {
        match doc.get("kind").and_then(Value::as_str) {
            Some("List") | Some("SecretList") => {
                items.extend(
                    doc.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            _ => items.push(doc),
        }
    }
    let mut out = Vec::new();
    let now = time::OffsetDateTime::now_utc();
    for (index, item) in items.into_iter().enumerate() {
        let kind = item.get("kind").and_then(Value::as_str).unwrap_or("<none>");
        if kind != "Secret" {
            bail!("item {}: expected a Secret, found {kind}", index + 1);
        }
        let secret: Secret = serde_json::from_value(item)
            .map_err(|_| anyhow::anyhow!("item {}: malformed Secret", index + 1))?;
        let name = secret.metadata.name.clone();
        let display = name
            .clone()
            .unwrap_or_else(|| format!("item {}", index + 1));
        let data = secret.data.unwrap_or_default();
        let decoded: BTreeMap<String, Vec<u8>> =
            data.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect();
        // Checks tls.key and tls.crt are there and belong together.
        SealingKey::from_secret_data(&display, now, &decoded)
            .with_context(|| format!("secret {display}"))?;
        let mut labels = secret.metadata.labels.unwrap_or_default();
        labels.insert(KEY_LABEL.to_owned(), ACTIVE.to_owned());
        let tls: BTreeMap<String, ByteString> = ["tls.crt", "tls.key"]
            .into_iter()
            .filter_map(|k| data.get(k).map(|v| (k.to_owned(), v.clone())))
            .collect();
        out.push(Secret {
            metadata: ObjectMeta {
                generate_name: name.is_none().then(|| "sealing-key-".to_owned()),
                name,
                namespace: Some(namespace.to_owned()),
                labels: Some(labels),
                annotations: secret.metadata.annotations,
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/tls".to_owned()),
            data: Some(tls),
            ..Secret::default()
        });
    }
    if out.is_empty() {
        bail!("no key Secret in the backup");
    }
    Ok(out)
}
