//! `fetch secret NAME`: what a Secret holds, by key and size. Values are shown only with
//! `--reveal` (and then with a warning on stderr); `--key K --reveal` prints one value raw,
//! for piping.
//!
//! Flow: connect → GET the Secret in `-n` (else the context's namespace) → table of keys and
//! sizes (values only with `--reveal`) on stdout.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::cli::{FetchSecretArgs, GlobalFlags};
use crate::cluster::{self, api_error};
use crate::output::{emit_entries, emit_value};

pub(crate) fn run(global: &GlobalFlags, args: FetchSecretArgs) -> anyhow::Result<ExitCode> {
    let (secret, namespace) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        let secret = api
            .get(&args.name)
            .await
            .map_err(api_error)
            .with_context(|| {
                format!(
                    "reading secret {}/{} in {}",
                    cluster.namespace, args.name, cluster.describe
                )
            })?;
        Ok((secret, cluster.namespace.clone()))
    })?;
    // `stringData` never comes back from the API server; `data` holds everything.
    let data = secret.data.unwrap_or_default();
    if let Some(key) = &args.key {
        let Some(value) = data.get(key) else {
            let keys: Vec<&str> = data.keys().map(String::as_str).collect();
            bail!(
                "secret {namespace}/{} has no key {key:?} (keys: {})",
                args.name,
                keys.join(", ")
            );
        };
        emit_value(key, &value.0, args.reveal)?;
        return Ok(ExitCode::SUCCESS);
    }
    let type_ = secret.type_.as_deref().unwrap_or("Opaque");
    eprintln!(
        "secret {namespace}/{} ({type_}, {} key(s))",
        args.name,
        data.len()
    );
    emit_entries(
        data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())),
        args.reveal,
    )?;
    Ok(ExitCode::SUCCESS)
}
