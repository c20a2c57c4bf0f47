//! `verify FILE...`: ask the agent whether it can open each SealedSecret. Only a yes or no
//! (with the agent's reason) comes back, never plaintext.
//!
//! Flow: read and parse every file first (a bad file is an error before any request) →
//! connect → POST each document's JSON to `/v1/verify` (429s waited out) → one line per
//! document on stdout → exit 0 when all open, 1 when any does not.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use http::{Method, StatusCode};
use secrets_core::api::sealed_secret::{AnySealedSecret, parse_sealed_secrets};

use crate::agent::Agent;
use crate::cli::{GlobalFlags, VerifyArgs};
use crate::cluster;
use crate::input::{describe, read_text};

pub(crate) fn run(global: &GlobalFlags, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let text = read_text(file)?;
        let sealed =
            parse_sealed_secrets(&text).with_context(|| format!("reading {}", describe(file)))?;
        files.push((describe(file).to_owned(), sealed));
    }
    let all_open = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let agent = Agent::new(&cluster, global);
        let mut all_open = true;
        for (file, sealed) in &files {
            for item in sealed {
                let label = if sealed.len() == 1 {
                    file.clone()
                } else {
                    format!("{file}: {}", object_name(item))
                };
                match verify_one(&agent, item).await? {
                    None => println!("{label}: ok"),
                    Some(reason) => {
                        all_open = false;
                        println!("{label}: cannot be opened: {reason}");
                    }
                }
            }
        }
        Ok(all_open)
    })?;
    Ok(if all_open {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `namespace/name`, or `name` for a cluster-wide one.
fn object_name(item: &AnySealedSecret) -> String {
    match item.object.name_and_namespace() {
        (name, "") => name.to_owned(),
        (name, namespace) => format!("{namespace}/{name}"),
    }
}

/// `None` when the agent can open it, else its reason.
async fn verify_one(agent: &Agent<'_>, item: &AnySealedSecret) -> anyhow::Result<Option<String>> {
    let body = serde_json::to_vec(&item.to_value(item.flavor)).context("encoding the request")?;
    let reply = agent.call_retrying(Method::POST, "v1/verify", body).await?;
    match reply.status {
        StatusCode::OK => Ok(None),
        StatusCode::CONFLICT => {
            let reason = reply.text();
            Ok(Some(if reason.is_empty() {
                "no key of the agent opens it".to_owned()
            } else {
                reason
            }))
        }
        status => bail!(
            "verifying {}: the agent {} answered {status}: {}",
            object_name(item),
            agent.name(),
            reply.text()
        ),
    }
}
