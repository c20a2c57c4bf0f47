//! `reseal FILE...`: re-encrypt SealedSecret files to the newest sealing key, in place.
//!
//! Flow per file: read → parse every document (ours or Bitnami's) → re-seal each, online
//! (POST to the agent's `/v1/rotate`) or offline (`--private-key` + `--cert`, with
//! `secrets_core::seal::rotate`) → render in the file's own format (YAML or JSON) and each
//! document's own flavor → replace the file atomically, keeping its permissions (through a
//! symlink: the link stays, its target is replaced). A file whose every object comes back
//! unchanged (already on the newest key: `seal::rotate` keeps such values, online in the
//! agent and offline when the newest private key is among `--private-key`) is left byte for
//! byte as it was, so Git sees no churn. A file with any failing document is reported and
//! left untouched; the others are still rewritten.
//! Exit 1 when any file failed. Nothing is ever decrypted into the output: offline, the
//! plaintext lives only in zeroizing buffers inside `rotate`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use http::{Method, StatusCode};
use secrets_core::api::sealed_secret::{AnySealedSecret, SealedSecret, parse_sealed_secrets};
use secrets_core::seal;
use secrets_core::seal::keys::{self, Certificate, PrivateKey};

use crate::agent::Agent;
use crate::cli::{GlobalFlags, OutputFormat, ResealArgs};
use crate::cluster;
use crate::input::{load_certificate, read_bytes};
use crate::output::{render_all, write_atomic};

/// More files than this get a progress line (on a terminal).
const PROGRESS_FROM: usize = 3;

/// Where the new ciphertext comes from.
enum Mode<'a> {
    Online(Agent<'a>),
    Offline {
        keys: Vec<PrivateKey>,
        certificate: Certificate,
    },
}

pub(crate) fn run(global: &GlobalFlags, args: ResealArgs) -> anyhow::Result<ExitCode> {
    if args.private_key.is_empty() {
        cluster::block_on(async {
            let cluster = cluster::connect(global).await?;
            let mode = Mode::Online(Agent::new(&cluster, global));
            reseal_files(&mode, &args.files).await
        })
    } else {
        let mut keys = Vec::new();
        for path in &args.private_key {
            let context = || format!("reading private key {}", path.display());
            let bytes = read_bytes(&path.to_string_lossy()).with_context(context)?;
            keys.extend(keys::parse_private_keys(&bytes).with_context(context)?);
        }
        let Some(spec) = &args.cert else {
            bail!("--private-key needs --cert PATH|URL: the certificate to re-seal to");
        };
        let certificate = load_certificate(spec)?;
        let mode = Mode::Offline { keys, certificate };
        cluster::block_on(reseal_files(&mode, &args.files))
    }
}

async fn reseal_files(mode: &Mode<'_>, files: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    let term = console::Term::stderr();
    let progress = files.len() > PROGRESS_FROM && term.is_term();
    let mut failed = 0usize;
    for (index, path) in files.iter().enumerate() {
        if progress {
            let _ = term.clear_line();
            let _ = term.write_str(&format!("resealing {}/{}", index + 1, files.len()));
        }
        let outcome = reseal_file(mode, path).await;
        if progress {
            let _ = term.clear_line();
        }
        match outcome {
            Ok(Resealed::Rewritten(count)) => {
                eprintln!("resealed {} ({count} object(s))", path.display())
            }
            Ok(Resealed::Unchanged(count)) => eprintln!(
                "{} is already on the newest key ({count} object(s)); left unchanged",
                path.display()
            ),
            Err(err) if err.is::<Fatal>() => return Err(err),
            Err(err) => {
                failed += 1;
                eprintln!(
                    "{}: not resealed, left untouched: {}",
                    path.display(),
                    crate::report::render(&err)
                );
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} file(s) failed", files.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// An error that stops the whole run (the agent cannot be reached at all).
#[derive(Debug)]
struct Fatal;

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot continue")
    }
}

impl std::error::Error for Fatal {}

/// Re-seal every document of one file and replace it, unless nothing changed.
async fn reseal_file(mode: &Mode<'_>, path: &Path) -> anyhow::Result<Resealed> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let items = parse_sealed_secrets(&text)?;
    let format = if text.trim_start().starts_with('{') {
        OutputFormat::Json
    } else {
        OutputFormat::Yaml
    };
    let mut resealed = Vec::with_capacity(items.len());
    let mut changed = false;
    for item in &items {
        let object = reseal_one(mode, item).await?;
        let any = AnySealedSecret {
            object,
            flavor: item.flavor,
        };
        let value = any.to_value(item.flavor);
        changed |= value != item.to_value(item.flavor);
        resealed.push(value);
    }
    if !changed {
        return Ok(Resealed::Unchanged(items.len()));
    }
    let out = render_all(&resealed, format)?;
    let mode = std::fs::metadata(path).ok().and_then(|m| permissions(&m));
    write_atomic(path, out.as_bytes(), mode)?;
    Ok(Resealed::Rewritten(items.len()))
}

/// What became of one file.
enum Resealed {
    /// Rewritten; this many objects.
    Rewritten(usize),
    /// Every object was already on the newest key (and nothing else changed): the file is
    /// left byte for byte as it was.
    Unchanged(usize),
}

#[cfg(unix)]
fn permissions(metadata: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(metadata.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn permissions(_: &std::fs::Metadata) -> Option<u32> {
    None
}

fn describe(item: &AnySealedSecret) -> String {
    match item.object.name_and_namespace() {
        (name, "") => name.to_owned(),
        (name, namespace) => format!("{namespace}/{name}"),
    }
}

async fn reseal_one(mode: &Mode<'_>, item: &AnySealedSecret) -> anyhow::Result<SealedSecret> {
    match mode {
        Mode::Offline { keys, certificate } => {
            let refs: Vec<&PrivateKey> = keys.iter().collect();
            seal::rotate(&item.object, &refs, certificate.public_key())
                .with_context(|| format!("resealing {}", describe(item)))
        }
        Mode::Online(agent) => {
            let body =
                serde_json::to_vec(&item.to_value(item.flavor)).context("encoding the request")?;
            let reply = agent
                .call_retrying(Method::POST, "v1/rotate", body)
                .await
                .map_err(|err| err.context(Fatal))?;
            match reply.status {
                StatusCode::OK => parse_reply(&reply.body)
                    .with_context(|| format!("reading the agent's answer for {}", describe(item))),
                StatusCode::CONFLICT => {
                    bail!("the agent cannot open {}: {}", describe(item), reply.text())
                }
                status => bail!(
                    "resealing {}: the agent {} answered {status}: {}",
                    describe(item),
                    agent.name(),
                    reply.text()
                ),
            }
        }
    }
}

/// The agent sends a whole SealedSecret; Bitnami's controller leaves out apiVersion/kind, so
/// a bare object is accepted too.
fn parse_reply(body: &[u8]) -> anyhow::Result<SealedSecret> {
    let text = std::str::from_utf8(body).context("the answer is not UTF-8")?;
    match parse_sealed_secrets(text) {
        Ok(mut items) if items.len() == 1 => Ok(items.remove(0).object),
        Ok(items) => bail!("expected one SealedSecret, got {}", items.len()),
        Err(first) => serde_json::from_str::<SealedSecret>(text).map_err(|_| first.into()),
    }
}
