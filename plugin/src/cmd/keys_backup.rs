//! `keys backup --output-file PATH`: the sealing key Secrets (private keys!) as one `v1 List`,
//! ready for `keys restore`, `unseal --private-key` or `kubectl apply`.
//!
//! Flow: connect → ask the agent which key Secrets it uses (`GET /v1/keys`: ours, and
//! Bitnami's in compat mode; only the agent knows its flags) → read each of those by name
//! with the person's own credentials, all or nothing → strip what the server owns (uid,
//! resourceVersion, managedFields, …) → render YAML/JSON → write atomically with mode 0600
//! (refusing to replace a file without `--force`) → warn on stderr that the file holds the
//! private keys of every key the agent opens with — true because the list is the agent's.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::agent::Agent;
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
    let secrets = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let agent = Agent::new(&cluster, global);
        let list = agent
            .key_list()
            .await
            .context("asking the agent which sealing keys it uses")?;
        if list.keys.is_empty() {
            bail!("the agent {} holds no sealing key to back up", agent.name());
        }
        sealing_keys::read_listed(&cluster, &list).await
    })?;
    let items: Vec<serde_json::Value> = secrets
        .into_iter()
        .map(|mut secret| {
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
        "warning: this file holds the private keys of every sealing key the agent uses, which \
         open every SealedSecret of the cluster; store it encrypted and offline"
    );
    Ok(ExitCode::SUCCESS)
}
