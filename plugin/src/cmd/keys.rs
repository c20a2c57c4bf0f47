//! `keys generate`: an offline sealing key pair, for bring-your-own-key setups and tests.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrets_core::keys::{self, KeyBits};
use time::{Duration, OffsetDateTime};

use crate::cli::KeysGenerateArgs;
use crate::output::write_atomic;

/// Ten years, as Sealed Secrets' `--key-ttl` default.
const VALIDITY: Duration = Duration::days(3650);

pub(crate) fn generate(args: KeysGenerateArgs) -> anyhow::Result<ExitCode> {
    for path in [&args.key_out, &args.cert_out] {
        if path.exists() && !args.force {
            bail!(
                "{} already exists; pass --force to replace it",
                path.display()
            );
        }
    }
    let now = OffsetDateTime::now_utc();
    let key = keys::generate(KeyBits::Rsa4096, &args.common_name, now, VALIDITY)
        .context("generating the key pair")?;
    // The key first: a certificate without its key would seal values nobody can open.
    write_atomic(&args.key_out, key.key_pem.as_bytes(), Some(0o600))
        .with_context(|| format!("writing private key {}", args.key_out.display()))?;
    write_atomic(
        &args.cert_out,
        key.certificate.pem().as_bytes(),
        Some(0o644),
    )
    .with_context(|| format!("writing certificate {}", args.cert_out.display()))?;
    eprintln!(
        "wrote certificate {} ({}, expires {}) and private key {} (mode 0600: keep it safe)",
        args.cert_out.display(),
        key.certificate.public_key().fingerprint(),
        key.certificate.not_after().date(),
        args.key_out.display(),
    );
    Ok(ExitCode::SUCCESS)
}
