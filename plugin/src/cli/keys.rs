//! `keys generate|list|rotate|backup|restore`: the sealing keys.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::OutputFormat;

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate an RSA-4096 sealing key pair offline (self-signed certificate, 10 years).
    Generate(KeysGenerateArgs),
    /// List the sealing keys the agent holds, Bitnami's too in compat mode (never private
    /// keys).
    List(KeysListArgs),
    /// Ask the agent for a new sealing key now (annotates the newest key Secret).
    Rotate,
    /// Save the key Secrets the agent uses (private keys!) to a file, mode 0600.
    Backup(KeysBackupArgs),
    /// Create the key Secrets from a backup in the agent namespace.
    Restore(KeysRestoreArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeysListArgs {
    /// Machine-readable output instead of the table: the agent's key list, `{"keys": [...]}`.
    #[arg(short = 'o', long = "output", value_enum)]
    pub(crate) output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub(crate) struct KeysBackupArgs {
    /// Where to write the backup (a `v1 List` of Secrets).
    #[arg(long, value_name = "PATH")]
    pub(crate) output_file: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub(crate) force: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub(crate) output: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct KeysRestoreArgs {
    /// A backup made by `keys backup` (or `kubectl get secret -o yaml`).
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct KeysGenerateArgs {
    /// Where to write the certificate (PEM); `-` for stdout.
    #[arg(long, value_name = "PATH|-")]
    pub(crate) cert_out: PathBuf,
    /// Where to write the private key (PEM PKCS#8, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub(crate) key_out: PathBuf,
    /// Replace existing files (a lost private key cannot be recovered, so this is opt-in).
    #[arg(long)]
    pub(crate) force: bool,
    /// Subject common name of the certificate.
    #[arg(long, default_value = "kubectl-secrets")]
    pub(crate) common_name: String,
}
