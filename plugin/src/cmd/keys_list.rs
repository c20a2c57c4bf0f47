//! `keys list`: the agent's sealing keys, from their certificates (never the private keys).
//!
//! Flow: connect → list the key Secrets in the agent namespace → table on stdout: fingerprint,
//! created, not-after, active (the label says `active`), and `NEWEST` on the key that seals.

use std::process::ExitCode;

use secrets_core::keys::{ACTIVE, KEY_LABEL};

use crate::cli::GlobalFlags;
use crate::cluster;
use crate::output::emit;
use crate::sealing_keys;

pub(crate) fn run(global: &GlobalFlags) -> anyhow::Result<ExitCode> {
    let keys = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        sealing_keys::list(&cluster, &global.agent_namespace).await
    })?;
    if keys.is_empty() {
        eprintln!(
            "no sealing keys in namespace {} (is the agent installed there?)",
            global.agent_namespace
        );
        return Ok(ExitCode::SUCCESS);
    }
    let newest = sealing_keys::newest(&keys);
    let mut rows = vec![[
        "NAME".to_owned(),
        "FINGERPRINT".to_owned(),
        "CREATED".to_owned(),
        "NOT-AFTER".to_owned(),
        "ACTIVE".to_owned(),
        String::new(),
    ]];
    for (index, key) in keys.iter().enumerate() {
        let active = key
            .secret
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(KEY_LABEL))
            .is_some_and(|v| v == ACTIVE);
        let (fingerprint, not_after) = match &key.certificate {
            Some(cert) => (
                cert.public_key().fingerprint(),
                cert.not_after().date().to_string(),
            ),
            None => ("<unreadable tls.crt>".to_owned(), "-".to_owned()),
        };
        rows.push([
            key.name.clone(),
            fingerprint,
            key.created
                .map(|t| t.date().to_string())
                .unwrap_or_else(|| "-".to_owned()),
            not_after,
            if active { "yes" } else { "no" }.to_owned(),
            if newest == Some(index) { "NEWEST" } else { "" }.to_owned(),
        ]);
    }
    emit(&crate::output::table(&rows), None)?;
    Ok(ExitCode::SUCCESS)
}
