//! `seal`: Secrets → SealedSecrets with the cluster's certificate.
//!
//! Flow: gather input (manifests, `--from-*` flags, or the wizard) → settle each Secret's name,
//! namespace (kubeseal's rules) and scope → load the certificate (`--cert`, else the agent's,
//! fetched through the API server's service proxy and cached) → seal → print, write or merge
//! (`--merge-into`: `seal_merge`).

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrets_core::api::sealed_secret::{AnySealedSecret, Flavor};
use secrets_core::seal::crypto::{self, Scope};
use secrets_core::seal::keys::Certificate;
use secrets_core::seal::{self, resolve_namespace};
use secrets_core::secret::{self, Document, PlainSecret};
use secrets_core::secret_type;

use super::seal_merge;
use crate::cli::{GlobalFlags, SealArgs, SealFormat};
use crate::input::{self, load_certificate};
use crate::output::{emit, render, render_all};
use crate::{agent, kubeconfig, prompt};

const DATA_FLAGS: &str = "-f FILE (or -f - for stdin), --from-literal KEY=VALUE, \
                          --from-file [KEY=]PATH or --from-env-file PATH";

pub(crate) fn run(global: &GlobalFlags, mut args: SealArgs) -> anyhow::Result<ExitCode> {
    let from_flags = !args.from_literal.is_empty()
        || !args.from_file.is_empty()
        || !args.from_env_file.is_empty();
    if !args.file.is_empty() && from_flags {
        bail!("give either -f or --from-literal/--from-file/--from-env-file, not both");
    }
    if args.file.is_empty() && !from_flags {
        if args.raw || args.merge_into.is_some() || !prompt::attended(global.yes) {
            bail!("no data to seal: pass {DATA_FLAGS} (with --name and --cert PATH|URL)");
        }
        return wizard(global, args);
    }
    // `--merge-into FILE`: FILE names the object; read it (and refuse conflicting flags)
    // before fetching a certificate or reading any value.
    let target = match args.merge_into.take() {
        Some(path) => Some(seal_merge::target(global, &mut args, path)?),
        None => None,
    };
    let certificate = certificate(global, &args)?;
    if args.raw {
        return raw(global, &args, &certificate);
    }
    let documents = gather(&args, from_flags)?;
    if let Some(target) = target {
        return seal_merge::merge(target, secrets_only(documents)?, &certificate);
    }
    let mut objects = Vec::with_capacity(documents.len());
    let mut passed = 0usize;
    for document in documents {
        match document {
            Document::Secret(mut secret) => {
                let scope = settle(global, &mut secret, args.scope.map(Into::into))?;
                objects.push(seal_one(&secret, &certificate, scope, args.format)?);
            }
            Document::Other(object) => {
                passed += 1;
                objects.push(object);
            }
        }
    }
    emit(
        &render_all(&objects, args.output)?,
        args.output_file.as_deref(),
    )?;
    if passed > 0 {
        eprintln!("passed {passed} object(s) that are not Secrets through unchanged");
    }
    Ok(ExitCode::SUCCESS)
}

/// `--cert`, else the agent's certificate (fetched through the API server, or cached).
fn certificate(global: &GlobalFlags, args: &SealArgs) -> anyhow::Result<Certificate> {
    match &args.cert {
        Some(spec) => load_certificate(spec),
        None => agent::sealing_certificate(global)
            .context("no sealing certificate (pass --cert PATH|URL or set KUBECTL_SECRETS_CERT)"),
    }
}

/// The documents of every `-f` (Secrets and, passed through unchanged, anything else; a
/// stream must hold at least one Secret) or the Secret built from `--from-*`, with
/// `--name`/`--type` applied to the Secrets.
fn gather(args: &SealArgs, from_flags: bool) -> anyhow::Result<Vec<Document>> {
    if from_flags {
        let Some(name) = &args.name else {
            bail!("--name is required with --from-literal/--from-file/--from-env-file");
        };
        let data =
            input::values_from_flags(&args.from_literal, &args.from_file, &args.from_env_file)?;
        return Ok(vec![Document::Secret(Box::new(input::secret_from_values(
            name,
            args.type_.as_deref(),
            data,
        )))]);
    }
    let mut documents = Vec::new();
    for file in input::manifest_files(&args.file)? {
        let text = input::read_text(&file)?;
        let source = input::describe(&file);
        let read = secret::parse_stream(&text).with_context(|| format!("reading {source}"))?;
        documents.extend(read);
    }
    let source = match args.file.as_slice() {
        [one] => input::describe(one).to_owned(),
        _ => "the input".to_owned(),
    };
    let count = documents
        .iter()
        .filter(|d| matches!(d, Document::Secret(_)))
        .count();
    if count == 0 {
        bail!("no Secret found in {source}: nothing to seal");
    }
    if args.name.is_some() && count > 1 {
        bail!("--name can only rename a single Secret, {source} holds {count}");
    }
    for document in &mut documents {
        let Document::Secret(secret) = document else {
            continue;
        };
        if let Some(name) = &args.name {
            secret.metadata.name = Some(name.clone());
        }
        if let Some(type_) = &args.type_ {
            secret.type_ = Some(type_.clone());
        }
        if secret.metadata.name.is_none() {
            bail!("a Secret in {source} has no metadata.name (pass --name)");
        }
    }
    Ok(documents)
}

/// `--merge-into` takes Secrets only.
fn secrets_only(documents: Vec<Document>) -> anyhow::Result<Vec<PlainSecret>> {
    documents
        .into_iter()
        .map(|document| match document {
            Document::Secret(secret) => Ok(*secret),
            Document::Other(object) => bail!(
                "--merge-into takes Secrets only, the input holds a {}",
                object["kind"].as_str().unwrap_or("document without a kind")
            ),
        })
        .collect()
}

/// Fix the namespace (kubeseal's precedence) and the scope (flag, else the input's
/// annotation, else strict).
fn settle(
    global: &GlobalFlags,
    secret: &mut PlainSecret,
    scope: Option<Scope>,
) -> anyhow::Result<Scope> {
    let scope =
        scope.unwrap_or_else(|| Scope::from_annotations(secret.metadata.annotations.as_ref()));
    let input_ns = secret.metadata.namespace.clone();
    let flag = global.namespace.as_deref();
    let namespace = if scope == Scope::ClusterWide && input_ns.is_none() && flag.is_none() {
        None // a cluster-wide value is bound to no namespace: don't invent one
    } else {
        let context = if input_ns.is_none() && flag.is_none() {
            kubeconfig::context_namespace(global)?
        } else {
            None
        };
        let resolved = resolve_namespace(input_ns.as_deref(), flag, context.as_deref())
            .with_context(|| format!("sealing {}", secret.display_name()))?;
        Some(resolved)
    };
    secret.metadata.namespace = namespace;
    Ok(scope)
}

fn flavor(format: SealFormat) -> Flavor {
    match format {
        SealFormat::Native => Flavor::Native,
        SealFormat::Bitnami => Flavor::Bitnami,
    }
}

fn seal_one(
    secret: &PlainSecret,
    certificate: &Certificate,
    scope: Scope,
    format: SealFormat,
) -> anyhow::Result<serde_json::Value> {
    if let Some(type_) = &secret.type_ {
        secret_type::check_required_keys(type_, secret.data.keys().map(String::as_str))
            .with_context(|| format!("sealing {}", secret.display_name()))?;
    }
    // The core error names the Secret already.
    let sealed = seal::seal_secret(secret, certificate.public_key(), scope).context("sealing")?;
    let any = AnySealedSecret {
        object: sealed,
        flavor: flavor(format),
    };
    Ok(any.to_value(any.flavor))
}

/// `--raw`: one value's ciphertext, no newline (kubeseal's contract, for templating tools).
fn raw(
    global: &GlobalFlags,
    args: &SealArgs,
    certificate: &Certificate,
) -> anyhow::Result<ExitCode> {
    if !args.file.is_empty() {
        bail!("--raw seals one value: give it with --from-literal or --from-file, not -f");
    }
    let data = input::values_from_flags(&args.from_literal, &args.from_file, &args.from_env_file)?;
    let mut values = data.into_values();
    let (Some(value), None) = (values.next(), values.next()) else {
        bail!("--raw seals exactly one value (one --from-literal or --from-file)");
    };
    let scope: Scope = args.scope.map(Into::into).unwrap_or_default();
    let name = match (scope, &args.name) {
        (Scope::Strict, None) => bail!("--raw with strict scope needs --name"),
        (_, name) => name.clone().unwrap_or_default(),
    };
    let mut secret = PlainSecret::default();
    secret.metadata.name = Some(if name.is_empty() {
        "raw".to_owned()
    } else {
        name.clone()
    });
    settle(global, &mut secret, Some(scope))?;
    let namespace = secret.metadata.namespace.unwrap_or_default();
    if !name.is_empty() {
        secret::validate_name(&name)?;
    }
    let label = scope.label(&namespace, &name);
    let sealed =
        crypto::seal(certificate.public_key(), &label, &value).context("sealing the value")?;
    emit(&crypto::encode(&sealed), args.output_file.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// The attended path: ask for everything, show a summary without values, then seal.
fn wizard(global: &GlobalFlags, args: SealArgs) -> anyhow::Result<ExitCode> {
    let default_ns = kubeconfig::namespace(global)?;
    let answers = prompt::seal_wizard(&prompt::SealDefaults {
        name: args.name.clone(),
        namespace: default_ns,
        type_: args.type_.clone(),
        scope: args.scope.map(Into::into),
        cert: args.cert.clone(),
    })?;
    let certificate = load_certificate(&answers.cert)?;
    let mut secret = input::secret_from_values(&answers.name, Some(&answers.type_), answers.data);
    secret.metadata.namespace = (answers.scope != Scope::ClusterWide
        || !answers.namespace.is_empty())
    .then(|| answers.namespace.clone());
    let sealed = seal_one(&secret, &certificate, answers.scope, args.format)?;
    emit(&render(&sealed, args.output)?, args.output_file.as_deref())?;
    if let Some(path) = &args.output_file {
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
