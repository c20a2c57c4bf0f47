//! `keys generate`: an offline sealing key pair, for bring-your-own-key setups and tests.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrets_core::seal::keys::{self, KeyBits};
use time::{Duration, OffsetDateTime};

use crate::cli::KeysGenerateArgs;
use crate::output::{emit, write_atomic};
use crate::paths;

/// Ten years, as Sealed Secrets' `--key-ttl` default.
const VALIDITY: Duration = Duration::days(3650);

pub(crate) fn generate(args: KeysGenerateArgs) -> anyhow::Result<ExitCode> {
    // `-`: the certificate (public) on stdout; never the private key.
    let cert_to_stdout = args.cert_out.as_os_str() == "-";
    if args.key_out.as_os_str() == "-" {
        bail!(
            "--key-out - would print the private key: give a file path (it is written with \
             mode 0600); only --cert-out accepts - for stdout"
        );
    }
    if !cert_to_stdout && paths::same_file(&args.cert_out, &args.key_out) {
        bail!(
            "--cert-out {} and --key-out {} are the same file: the certificate would replace \
             the private key; give two different paths",
            args.cert_out.display(),
            args.key_out.display()
        );
    }
    let mut outputs = vec![&args.key_out];
    if !cert_to_stdout {
        outputs.push(&args.cert_out);
    }
    for path in outputs {
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
        .context("writing the private key")?;
    let only_key = || {
        format!(
            "the private key {} was written, but not the certificate",
            args.key_out.display()
        )
    };
    let pem = key.certificate.pem();
    let cert_place = if cert_to_stdout {
        emit(pem, None).with_context(only_key)?;
        "on stdout".to_owned()
    } else {
        write_atomic(&args.cert_out, pem.as_bytes(), Some(0o644)).with_context(only_key)?;
        args.cert_out.display().to_string()
    };
    // Only now, with both written, say so.
    eprintln!(
        "wrote private key {} (mode 0600: keep it safe) and certificate {cert_place} ({}, \
         expires {})",
        args.key_out.display(),
        key.certificate.public_key().fingerprint(),
        key.certificate.not_after().date(),
    );
    Ok(ExitCode::SUCCESS)
}
