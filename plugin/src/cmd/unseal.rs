//! `unseal`: offline recovery. Opens SealedSecrets (ours or Bitnami's) with the private keys
//! given and prints the Secrets. It prints plaintext, and says so on stderr.

use std::process::ExitCode;

use anyhow::Context as _;
use secrets_core::api::sealed_secret::parse_sealed_secrets;
use secrets_core::seal;
use secrets_core::seal::keys::{self, PrivateKey};
use secrets_core::secret::SecretManifest;

use crate::cli::UnsealArgs;
use crate::input::{read_bytes, read_text};
use crate::output::{emit, render_all};

pub(crate) fn run(args: UnsealArgs) -> anyhow::Result<ExitCode> {
    let mut private_keys: Vec<PrivateKey> = Vec::new();
    for path in &args.private_key {
        let context = || format!("reading private key {}", path.display());
        let bytes = read_bytes(&path.to_string_lossy()).with_context(context)?;
        let found = keys::parse_private_keys(&bytes).with_context(context)?;
        private_keys.extend(found);
    }
    let text = read_text(&args.file)?;
    let sealed = parse_sealed_secrets(&text)
        .with_context(|| format!("reading {}", crate::input::describe(&args.file)))?;
    let secrets = sealed
        .iter()
        .map(|item| seal::unseal(&item.object, &private_keys).context("unsealing"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let manifests: Vec<SecretManifest<'_>> = secrets.iter().map(SecretManifest::new).collect();
    let out = render_all(&manifests, args.output)?;
    eprintln!("warning: the output holds plaintext secret values; do not commit or share it");
    emit(&out, None)?;
    Ok(ExitCode::SUCCESS)
}
