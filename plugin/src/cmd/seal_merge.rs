//! `seal --merge-into FILE`: add or replace keys in an existing SealedSecret file.
//!
//! Flow: [`target`] reads FILE first (before any certificate or value) and takes its name,
//! namespace and scope, refusing a `--name`, `-n` or `--scope` that says otherwise → `seal`
//! gathers the values → [`merge`] checks the Secret type's required keys over FILE's keys and
//! the new ones, seals with FILE's identity (`seal::merge_into`) and rewrites FILE atomically
//! in its own format (YAML or JSON) and flavor.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrets_core::api::sealed_secret::{AnySealedSecret, parse_sealed_secrets};
use secrets_core::seal;
use secrets_core::seal::crypto::Scope;
use secrets_core::seal::keys::Certificate;
use secrets_core::secret::PlainSecret;
use secrets_core::secret_type;

use crate::cli::{GlobalFlags, OutputFormat, SealArgs};
use crate::output::{render, write_atomic};

/// The SealedSecret file `--merge-into` updates, as read.
pub(super) struct MergeTarget {
    path: std::path::PathBuf,
    text: String,
    item: AnySealedSecret,
}

/// Read `--merge-into FILE`; its name, namespace and scope are the ones sealed with. `--name`,
/// `-n` and `--scope` may repeat them but not contradict them. Without `--name`, FILE's name
/// is used for `--from-*` values.
pub(super) fn target(
    global: &GlobalFlags,
    args: &mut SealArgs,
    path: std::path::PathBuf,
) -> anyhow::Result<MergeTarget> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {shown}"))?;
    let mut existing = parse_sealed_secrets(&text).with_context(|| format!("reading {shown}"))?;
    if existing.len() != 1 {
        bail!(
            "{shown} must hold exactly one SealedSecret, it holds {}",
            existing.len()
        );
    }
    let item = existing.remove(0);
    let (name, namespace) = item.object.name_and_namespace();
    let scope = item.object.scope();
    if let Some(flag) = &args.name
        && flag != name
    {
        bail!(
            "--name {flag:?} conflicts with {shown}, which seals {name:?}: --merge-into takes \
             the name from the file"
        );
    }
    if let Some(flag) = &global.namespace
        && flag != namespace
    {
        bail!(
            "--namespace {flag:?} conflicts with {shown}, whose namespace is {namespace:?}: \
             --merge-into takes the namespace from the file"
        );
    }
    if let Some(flag) = args.scope.map(Scope::from)
        && flag != scope
    {
        bail!(
            "--scope {} conflicts with {shown}, whose scope is {}: --merge-into takes the scope \
             from the file",
            scope_name(flag),
            scope_name(scope)
        );
    }
    if args.name.is_none() && !name.is_empty() {
        args.name = Some(name.to_owned());
    }
    Ok(MergeTarget { path, text, item })
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Strict => "strict",
        Scope::NamespaceWide => "namespace-wide",
        Scope::ClusterWide => "cluster-wide",
    }
}

/// `--merge-into FILE`: seal with FILE's identity and scope, update FILE in place.
pub(super) fn merge(
    target: MergeTarget,
    secrets: Vec<PlainSecret>,
    certificate: &Certificate,
) -> anyhow::Result<ExitCode> {
    let MergeTarget {
        path,
        text,
        mut item,
    } = target;
    let [secret] = <[PlainSecret; 1]>::try_from(secrets)
        .map_err(|s| anyhow::anyhow!("--merge-into takes exactly one Secret, got {}", s.len()))?;
    let template_type = item
        .object
        .spec
        .template
        .as_ref()
        .and_then(|t| t.type_.clone());
    // merge_into keeps FILE's type; the flags' default (Opaque) does not replace it.
    if let Some(type_) = template_type.or_else(|| secret.type_.clone()) {
        let existing = item.object.spec.encrypted_data.keys();
        let keys: std::collections::BTreeSet<&str> = existing
            .chain(secret.data.keys())
            .map(String::as_str)
            .collect();
        secret_type::check_required_keys(&type_, keys)
            .with_context(|| format!("merging into {}", path.display()))?;
    }
    seal::merge_into(&mut item.object, &secret, certificate.public_key())
        .with_context(|| format!("merging into {}", path.display()))?;
    let format = if text.trim_start().starts_with('{') {
        OutputFormat::Json
    } else {
        OutputFormat::Yaml
    };
    let rendered = render(&item.to_value(item.flavor), format)?;
    write_atomic(&path, rendered.as_bytes(), None)?;
    eprintln!("updated {}", path.display());
    Ok(ExitCode::SUCCESS)
}
