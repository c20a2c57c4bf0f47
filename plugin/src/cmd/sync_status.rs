//! `sync status [NAME|-A]`: ExternalSecrets and what the agent last made of them.
//!
//! Flow: connect → GET one ExternalSecret, or list them in `-n` (else the context's
//! namespace) or every namespace → one [`Row`] each (pure: [`row`]) → a table on stdout
//! (NAMESPACE with -A, NAME, STORE, READY, REASON, LAST SYNC, NEXT REFRESH, MESSAGE) or, with
//! `-o json|yaml`, the rows themselves with RFC 3339 times.
//!
//! NEXT REFRESH is the agent's own schedule: `status.refreshTime` (the provider read the
//! object was last served from) plus the refresh interval plus the object's jitter
//! (`schedule::jitter`, from its uid); `-` when the object is not refreshed periodically
//! (`refreshInterval: 0`, `refreshPolicy` other than Periodic) or has not synced yet.

use std::process::ExitCode;

use anyhow::Context as _;
use kube::Api;
use kube::api::ListParams;
use secrets_core::api::external_secret::RefreshPolicy;
use secrets_core::api::{ExternalSecret, ready_condition};
use secrets_core::rfc3339;
use secrets_core::sync::schedule;
use secrets_core::sync::validate;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{GlobalFlags, SyncStatusArgs};
use crate::cluster::{self, api_error, is_not_found};
use crate::output::{age, emit, render, table};

/// Messages longer than this are cut in the table (`-o json` has them whole).
const MESSAGE_CHARS: usize = 60;

/// What the table shows of one ExternalSecret; also the `-o json|yaml` shape.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Row {
    namespace: String,
    name: String,
    store: String,
    store_kind: &'static str,
    target: String,
    /// `True`, `False`, or `Unknown` (no status yet, or the status is for an older spec).
    ready: String,
    reason: String,
    message: String,
    last_sync: Option<String>,
    next_refresh: Option<String>,
}

pub(crate) fn run(global: &GlobalFlags, args: SyncStatusArgs) -> anyhow::Result<ExitCode> {
    let (items, scope) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let ns = cluster.namespace.clone();
        let api: Api<ExternalSecret> = if args.all_namespaces {
            Api::all(cluster.client.clone())
        } else {
            Api::namespaced(cluster.client.clone(), &ns)
        };
        let scope = if args.all_namespaces {
            "any namespace".to_owned()
        } else {
            format!("namespace {ns}")
        };
        if let Some(name) = &args.name {
            let es = api.get(name).await.map_err(api_error).with_context(|| {
                format!("reading externalsecret {ns}/{name} in {}", cluster.describe)
            })?;
            return Ok((vec![es], scope));
        }
        match api.list(&ListParams::default()).await {
            Ok(list) => Ok((list.items, scope)),
            Err(err) if is_not_found(&err) => anyhow::bail!(
                "the ExternalSecret resource (kubectl-secrets.io/v1alpha1) is not served: is \
                 the agent's CRD installed?"
            ),
            Err(err) => Err(api_error(err))
                .with_context(|| format!("listing ExternalSecrets in {}", cluster.describe)),
        }
    })?;
    let now = OffsetDateTime::now_utc();
    let rows: Vec<Row> = items.iter().map(row).collect();
    if let Some(format) = args.output {
        let text = match (&args.name, rows.first()) {
            (Some(_), Some(one)) => render(one, format)?,
            _ => render(&rows, format)?,
        };
        emit(&text, None)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no ExternalSecrets found in {scope}");
        return Ok(ExitCode::SUCCESS);
    }
    emit(&table(&cells(&rows, args.all_namespaces, now)), None)?;
    Ok(ExitCode::SUCCESS)
}

fn row(es: &ExternalSecret) -> Row {
    let status = es.status.clone().unwrap_or_default();
    let condition = ready_condition(&status.conditions);
    let (ready, reason, message) = crate::output::ready_columns(
        condition.map(|c| (c.status.as_str(), c.reason.as_deref(), c.message.as_deref())),
        status.observed_generation,
        es.metadata.generation,
    );
    let read_at = status.refresh_time.as_deref().and_then(rfc3339::parse);
    let periodic = es.spec.refresh_policy.unwrap_or_default() == RefreshPolicy::Periodic;
    let next_refresh = match (read_at, validate::external_secret(&es.spec)) {
        (Some(at), Ok(interval)) if periodic && !interval.is_zero() => {
            let next = interval + schedule::jitter(es, interval);
            time::Duration::try_from(next)
                .ok()
                .map(|d| rfc3339::format(at + d))
        }
        _ => None,
    };
    let kind = es.store_kind();
    Row {
        namespace: es.metadata.namespace.clone().unwrap_or_default(),
        name: es.metadata.name.clone().unwrap_or_default(),
        store: es.spec.secret_store_ref.name.clone(),
        store_kind: kind.as_str(),
        target: es.target_name().to_owned(),
        ready,
        reason,
        message,
        // The agent's own text, as it wrote it (a fraction of a second included), once it parses.
        last_sync: read_at.and(status.refresh_time.clone()),
        next_refresh,
    }
}

/// The table's cells, header first.
fn cells(rows: &[Row], namespaces: bool, now: OffsetDateTime) -> Vec<Vec<String>> {
    let mut header = vec![
        "NAME",
        "STORE",
        "READY",
        "REASON",
        "LAST SYNC",
        "NEXT REFRESH",
        "MESSAGE",
    ];
    if namespaces {
        header.insert(0, "NAMESPACE");
    }
    let mut out = vec![header.into_iter().map(str::to_owned).collect::<Vec<_>>()];
    let parse = |t: &Option<String>| t.as_deref().and_then(rfc3339::parse);
    for row in rows {
        let store = match row.store_kind {
            "SecretStore" => row.store.clone(),
            kind => format!("{kind}/{}", row.store),
        };
        let last = parse(&row.last_sync)
            .map_or_else(|| "-".to_owned(), |t| age((now - t).whole_seconds()));
        let next = parse(&row.next_refresh).map_or_else(
            || "-".to_owned(),
            |t| match (t - now).whole_seconds() {
                s if s > 0 => format!("in {}", age(s)),
                _ => "due".to_owned(),
            },
        );
        let mut message: String = row.message.chars().take(MESSAGE_CHARS).collect();
        if row.message.chars().count() > MESSAGE_CHARS {
            message.push('…');
        }
        let mut line = vec![
            row.name.clone(),
            store,
            row.ready.clone(),
            row.reason.clone(),
            last,
            next,
            message,
        ];
        if namespaces {
            line.insert(0, row.namespace.clone());
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es(yaml: &str) -> ExternalSecret {
        serde_yaml_ng::from_str(&format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: db, namespace: team, uid: u1, generation: 1}}\n{yaml}"
        ))
        .unwrap()
    }

    const SPEC: &str = "spec:\n  secretStoreRef: {name: vault}\n  refreshInterval: 1h\n  dataFrom: [{extract: {key: app/db}}]\n";

    fn at(text: &str) -> OffsetDateTime {
        rfc3339::parse(text).unwrap()
    }

    #[test]
    fn a_synced_object_shows_its_schedule() {
        let o = es(&format!(
            "{SPEC}status:\n  refreshTime: '2030-01-01T10:00:00Z'\n  observedGeneration: 1\n  conditions: [{{type: Ready, status: 'True', reason: SecretSynced, message: secret created}}]\n"
        ));
        let now = at("2030-01-01T10:05:00Z");
        let r = row(&o);
        let jitter = schedule::jitter(&o, std::time::Duration::from_secs(3600));
        let next = at("2030-01-01T11:00:00Z") + time::Duration::try_from(jitter).unwrap();
        assert_eq!(
            r.next_refresh.as_deref(),
            Some(rfc3339::format(next).as_str())
        );
        assert_eq!(
            (r.ready.as_str(), r.reason.as_str()),
            ("True", "SecretSynced")
        );
        let table = cells(&[r], false, now);
        assert_eq!(table[1][..5], ["db", "vault", "True", "SecretSynced", "5m"]);
        assert!(
            table[1][5].starts_with("in 5") || table[1][5].starts_with("in 6"),
            "{:?}",
            table[1]
        );
    }

    #[test]
    fn no_periodic_refresh_and_no_status_show_dashes() {
        let once = es(&SPEC.replace("1h", "'0'"));
        let r = row(&once);
        assert_eq!(
            (r.ready.as_str(), r.reason.as_str()),
            ("Unknown", "NotObserved")
        );
        let table = cells(&[r], true, at("2030-01-01T10:05:00Z"));
        assert_eq!(table[0][0], "NAMESPACE");
        assert_eq!(table[1][5..7], ["-", "-"]);
    }

    #[test]
    fn a_status_for_an_older_spec_is_pending_and_long_messages_are_cut() {
        let mut o = es(&format!(
            "{SPEC}status:\n  observedGeneration: 1\n  conditions: [{{type: Ready, status: 'False', reason: SecretSyncedError, message: '{}'}}]\n",
            "x".repeat(100)
        ));
        let now = at("2030-01-01T10:05:00Z");
        let table = cells(&[row(&o)], false, now);
        assert_eq!(table[1][6].chars().count(), MESSAGE_CHARS + 1);
        o.metadata.generation = Some(2);
        assert_eq!(row(&o).reason, "Pending");
    }
}
