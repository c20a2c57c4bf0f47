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
use zeroize::Zeroizing;

use crate::cli::{FetchSecretArgs, GlobalFlags};
use crate::cluster::{self, api_error};
use crate::output::emit;

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
        if args.reveal {
            eprintln!("warning: printing a secret value");
            let mut stdout = std::io::stdout().lock();
            std::io::Write::write_all(&mut stdout, &value.0)?;
            std::io::Write::flush(&mut stdout)?;
        } else {
            println!("{key}\t{} bytes", value.0.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let type_ = secret.type_.as_deref().unwrap_or("Opaque");
    eprintln!(
        "secret {namespace}/{} ({type_}, {} key(s))",
        args.name,
        data.len()
    );
    let width = data.keys().map(String::len).max().unwrap_or(3).max(3);
    let mut out = Zeroizing::new(String::new());
    if args.reveal {
        eprintln!("warning: the output holds plaintext secret values; do not share it");
        out.push_str(&format!("{:<width$}  {:>8}  VALUE\n", "KEY", "SIZE"));
    } else {
        out.push_str(&format!("{:<width$}  {:>8}\n", "KEY", "SIZE"));
    }
    for (key, value) in &data {
        let size = format!("{}B", value.0.len());
        if args.reveal {
            let shown = String::from_utf8_lossy(&value.0);
            out.push_str(&format!(
                "{key:<width$}  {size:>8}  {}\n",
                shown.escape_debug()
            ));
        } else {
            out.push_str(&format!("{key:<width$}  {size:>8}\n"));
        }
    }
    emit(&out, None)?;
    Ok(ExitCode::SUCCESS)
}
