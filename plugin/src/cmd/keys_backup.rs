//! `keys backup --output-file PATH`: the sealing key Secrets (private keys!) as one `v1 List`,
//! ready for `keys restore`, `unseal --private-key` or `kubectl apply`.
//!
//! Flow: connect → list the key Secrets → strip what the server owns (uid, resourceVersion,
//! managedFields, …) → render YAML/JSON → write atomically with mode 0600 (refusing to replace
//! a file without `--force`) → warn on stderr that the file holds private keys.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cli::{GlobalFlags, KeysBackupArgs};
use crate::cluster;
use crate::output::{render, write_atomic};
use crate::sealing_keys;

pub(crate) fn run(global: &GlobalFlags, args: KeysBackupArgs) -> anyhow::Result<ExitCode> {
    if args.output_file.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to replace it",
            args.output_file.display()
        );
    }
    let keys = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        sealing_keys::list(&cluster, &global.agent_namespace).await
    })?;
    if keys.is_empty() {
        bail!(
            "no sealing keys in namespace {} to back up",
            global.agent_namespace
        );
    }
    let items: Vec<serde_json::Value> = keys
        .into_iter()
        .map(|key| {
            let mut secret = key.secret;
            let meta = secret.metadata;
            secret.metadata = ObjectMeta {
                name: meta.name,
                namespace: meta.namespace,
                labels: meta.labels,
                annotations: meta.annotations,
                ..ObjectMeta::default()
            };
            let mut value = serde_json::to_value(&secret).unwrap_or_default();
            value["apiVersion"] = "v1".into();
            value["kind"] = "Secret".into();
            value
        })
        .collect();
    let count = items.len();
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
    });
    let text = render(&list, args.output)?;
    write_atomic(&args.output_file, text.as_bytes(), Some(0o600))
        .with_context(|| format!("writing backup {}", args.output_file.display()))?;
    eprintln!(
        "wrote {count} sealing key(s) to {} (mode 0600)",
        args.output_file.display()
    );
    eprintln!(
        "warning: this file holds private keys that open every SealedSecret of the cluster; \
         store it encrypted and offline"
    );
    Ok(ExitCode::SUCCESS)
}
