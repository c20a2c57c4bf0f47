//! `fetch remote --store S --key PATH [--property P] [--reveal]`: what a Vault / OpenBao
//! secret holds, read through a store's coordinates with the person's own credentials.
//!
//! Flow: the person's token (environment or `~/.vault-token`; checked first, so a missing one
//! fails before any network call) → connect → GET the store → its server, mount, KV version,
//! namespace and CA → log in with the person's token → KV read → keys and sizes on stdout
//! (values only with `--reveal`, after a warning), or one property (raw with `--reveal`),
//! exactly as `fetch secret` shows a Secret.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{FetchRemoteArgs, GlobalFlags};
use crate::cluster;
use crate::output::{emit_entries, emit_value};
use crate::remote::stores;
use crate::remote::vault::{Credentials, Session};

pub(crate) fn run(global: &GlobalFlags, args: FetchRemoteArgs) -> anyhow::Result<ExitCode> {
    let credentials = Credentials::from_env()?;
    let remote = &args.remote;
    let kind = remote.store_kind.map(Into::into).unwrap_or_default();
    let (secret, source) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let store = stores::get(&cluster, kind, &remote.store, &cluster.namespace).await?;
        let coordinates = store.coordinates(&cluster).await?;
        let session =
            Session::open(coordinates, &credentials, args.vault.vault_addr.as_deref()).await?;
        let secret = session.read(&remote.key).await?;
        let source = format!(
            "{} at {} mount {} (your token from {})",
            store.describe(),
            session.server(),
            session.mount(),
            credentials.source()
        );
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
