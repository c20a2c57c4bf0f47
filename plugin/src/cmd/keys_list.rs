//! `keys list`: the sealing keys the agent holds, from its `GET /v1/keys` (public facts only,
//! never private keys): ours, and Bitnami's when the agent runs with `--bitnami-compat` — the
//! agent's flags decide, so the agent is asked rather than guessed at from labels.
//!
//! Flow: connect → `GET /v1/keys` through the service proxy → a table on stdout (the Secret,
//! whose label selected it, fingerprint, created, not-after, and `SEALING yes` on the one key
//! that seals new values), or with `-o json|yaml` the agent's [`KeyList`] as it is:
//! `{"keys": [{fingerprint, created, notBefore, notAfter, newest, secret: {namespace, name},
//! origin: ours|bitnami}]}`, oldest first.

use std::process::ExitCode;

use anyhow::Context as _;
use secrets_core::seal::keys::{KeyEntry, KeyList, KeyOrigin};

use crate::agent::Agent;
use crate::cli::{GlobalFlags, KeysListArgs};
use crate::cluster;
use crate::output::{emit, render, table};

pub(crate) fn run(global: &GlobalFlags, args: &KeysListArgs) -> anyhow::Result<ExitCode> {
    let (list, agent) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let agent = Agent::new(&cluster, global);
        let list = agent
            .key_list()
            .await
            .context("asking the agent which sealing keys it holds")?;
        Ok((list, agent.name()))
    })?;
    if let Some(format) = args.output {
        emit(&render(&list, format)?, None)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.keys.is_empty() {
        eprintln!("the agent {agent} holds no sealing key yet");
        return Ok(ExitCode::SUCCESS);
    }
    emit(&table(&rows(&list)), None)?;
    Ok(ExitCode::SUCCESS)
}

/// The table: a header, then one row per key, oldest first.
fn rows(list: &KeyList) -> Vec<[String; 6]> {
    let mut rows = vec![[
        "SECRET".to_owned(),
        "ORIGIN".to_owned(),
        "FINGERPRINT".to_owned(),
        "CREATED".to_owned(),
        "NOT-AFTER".to_owned(),
        "SEALING".to_owned(),
    ]];
    rows.extend(list.keys.iter().map(|key: &KeyEntry| {
        [
            key.secret.display(),
            match key.origin {
                KeyOrigin::Ours => "kubectl-secrets",
                KeyOrigin::Bitnami => "bitnami",
            }
            .to_owned(),
            key.fingerprint.clone(),
            date(&key.created),
            date(&key.not_after),
            if key.newest { "yes" } else { "no" }.to_owned(),
        ]
    }));
    rows
}

/// The day of an RFC 3339 instant, or the text as it came when it is not one.
fn date(text: &str) -> String {
    secrets_core::rfc3339::parse(text)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use secrets_core::seal::keys::SecretRef;

    use super::*;

    #[test]
    fn every_column_has_a_header_and_the_sealing_key_says_so() {
        let entry = |name: &str, origin, newest| KeyEntry {
            fingerprint: format!("SHA256:{name}"),
            created: "2026-01-02T03:04:05Z".to_owned(),
            not_before: "2026-01-02T03:04:05Z".to_owned(),
            not_after: "2036-01-02T03:04:05Z".to_owned(),
            newest,
            secret: SecretRef {
                namespace: "ns".to_owned(),
                name: name.to_owned(),
            },
            origin,
        };
        let list = KeyList {
            keys: vec![
                entry("old", KeyOrigin::Bitnami, false),
                entry("new", KeyOrigin::Ours, true),
            ],
        };
        let rows = rows(&list);
        assert!(rows[0].iter().all(|h| !h.is_empty()), "{rows:?}");
        assert_eq!(
            rows[1],
            [
                "ns/old",
                "bitnami",
                "SHA256:old",
                "2026-01-02",
                "2036-01-02",
                "no"
            ]
        );
        assert_eq!(rows[2][1], "kubectl-secrets");
        assert_eq!(rows[2][5], "yes");
    }
}
