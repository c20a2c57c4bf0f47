//! `fetch remote --store S --key KEY [--version V] [--property P] [--reveal]`: what a
//! remote secret holds, in any store (Vault / OpenBao, AWS Secrets Manager, Azure Key Vault,
//! GCP Secret Manager), read with the person's own credentials.
//!
//! Flow: connect → GET the store → its provider → the key and version checked against the
//! store type → the person's credentials where that provider's tools keep them (Vault: the
//! environment or `~/.vault-token`, with the store's server, mount, KV version, namespace and
//! CA; the clouds: `remote::{aws,azure,gcp}`) → log in → read → keys and sizes on stdout
//! (values only with `--reveal`, after a warning), or one property (raw with `--reveal`),
//! exactly as `fetch secret` shows a Secret.

use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::cli::{FetchRemoteArgs, GlobalFlags};
use crate::cluster;
use crate::output::{emit_entries, emit_value};
use crate::remote::session::{self, Layout};
use crate::remote::{keys, stores};

pub(crate) fn run(global: &GlobalFlags, args: FetchRemoteArgs) -> anyhow::Result<ExitCode> {
    let remote = &args.remote;
    let kind = remote.store_kind.map(Into::into).unwrap_or_default();
    let version = remote.remote_version.as_deref();
    let (secret, source) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let store = stores::get(&cluster, kind, &remote.store, &cluster.namespace).await?;
        let provider = store.provider()?;
        if let Err(problem) = keys::check(provider.name(), &remote.key, version) {
            bail!(
                "{} ({} store): {problem}",
                store.describe(),
                provider.name()
            );
        }
        let session = session::open(&store, &cluster, args.vault.vault_addr.as_deref()).await?;
        if let Some(v) = version {
            session
                .check_version(v)
                .map_err(|problem| anyhow::anyhow!("--version {v:?}: {problem}"))?;
        }
        let secret = session.read(&remote.key, version).await?;
        let source = match session.layout() {
            Layout::Mount => format!(
                "{} at {} mount {} (your token from {})",
                store.describe(),
                session.location(),
                session.root(),
                session.source()
            ),
            Layout::Flat => format!(
                "{} at {} (your credentials from {})",
                store.describe(),
                session.location(),
                session.source()
            ),
        };
        Ok((secret, source))
    })?;
    // Said only once everything worked, so a failure stays one line.
    match &args.property {
        Some(property) => {
            let value = secret
                .select(Some(property))
                .context("selecting the property")?;
            eprintln!("{source}");
            emit_value(property, &value, args.reveal)?;
        }
        None if secret.require_object().is_err() => {
            // A flat value (text or binary, not JSON): it has no keys, so show it whole.
            let value = secret.select(None).context("reading the value")?;
            eprintln!("{source}");
            eprintln!("{} (one value, not JSON keys)", secret.path());
            emit_value(secret.path(), &value, args.reveal)?;
        }
        None => {
            let entries = secret.entries();
            eprintln!("{source}");
            eprintln!("{} ({} key(s))", secret.path(), entries.len());
            emit_entries(
                entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
                args.reveal,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
