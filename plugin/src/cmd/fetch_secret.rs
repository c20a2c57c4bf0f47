//! `fetch secret NAME`: what a Secret holds, by key and size. Values are shown only with
//! `--reveal` (and then with a warning on stderr); `--key K --reveal` prints one value raw,
//! for piping.
//!
//! Flow: connect → GET the Secret in `-n` (else the context's namespace) → table of keys and
//! sizes (values only with `--reveal`) on stdout, or with `-o json|yaml` a [`Report`] (sizes;
//! values only with `--reveal`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{FetchSecretArgs, GlobalFlags};
use crate::cluster::{self, api_error};
use crate::output::{emit, emit_entries, emit_value, render};

/// `-o json|yaml`: the Secret by key (docs/seal.md documents this shape).
#[derive(Serialize)]
struct Report<'a> {
    namespace: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    type_: &'a str,
    data: BTreeMap<&'a str, Entry<'a>>,
}

/// One key: its size, and its value only with `--reveal`: as text when it is UTF-8, else
/// base64 (`valueBase64`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_base64: Option<Zeroizing<String>>,
}

impl<'a> Entry<'a> {
    fn new(bytes: &'a [u8], reveal: bool) -> Entry<'a> {
        let text = reveal.then(|| std::str::from_utf8(bytes).ok()).flatten();
        let binary = (reveal && text.is_none()).then(|| {
            use base64::Engine as _;
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes))
        });
        Entry {
            size: bytes.len(),
            value: text,
            value_base64: binary,
        }
    }
}

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
    if let Some(key) = &args.key
        && !data.contains_key(key)
    {
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        bail!(
            "secret {namespace}/{} has no key {key:?} (keys: {})",
            args.name,
            keys.join(", ")
        );
    }
    if let Some(format) = args.output {
        let report = Report {
            namespace: &namespace,
            name: &args.name,
            type_: secret.type_.as_deref().unwrap_or("Opaque"),
            data: data
                .iter()
                .filter(|(k, _)| args.key.as_ref().is_none_or(|only| only == *k))
                .map(|(k, v)| (k.as_str(), Entry::new(&v.0, args.reveal)))
                .collect(),
        };
        if args.reveal {
            eprintln!("warning: the output holds plaintext secret values; do not share it");
        }
        emit(&render(&report, format)?, None)?;
        return Ok(ExitCode::SUCCESS);
    }
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
