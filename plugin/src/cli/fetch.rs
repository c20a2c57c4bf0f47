//! `fetch cert|secret|remote`: reading from the cluster (and a store) without changing it.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{OutputFormat, RemoteSecret, VaultFlags};

#[derive(Debug, Subcommand)]
pub(crate) enum FetchCommand {
    /// Print the agent's newest sealing certificate (PEM).
    Cert(FetchCertArgs),
    /// Show a Secret's keys and sizes; values only with --reveal.
    Secret(FetchSecretArgs),
    /// Read a secret through a store (Vault / OpenBao, AWS, Azure Key Vault, GCP), with your
    /// own credentials; values only with --reveal.
    Remote(FetchRemoteArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FetchCertArgs {
    /// Write the PEM to this file (atomically) instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub(crate) output_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct FetchSecretArgs {
    /// Name of the Secret (in -n, else the context's namespace).
    pub(crate) name: String,
    /// Only this key; with --reveal its value is printed raw.
    #[arg(long, value_name = "KEY")]
    pub(crate) key: Option<String>,
    /// Show the values (plaintext on your screen).
    #[arg(long)]
    pub(crate) reveal: bool,
    /// Machine-readable output instead of the table (values masked unless --reveal).
    #[arg(short = 'o', long = "output", value_enum)]
    pub(crate) output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub(crate) struct FetchRemoteArgs {
    #[command(flatten)]
    pub(crate) remote: RemoteSecret,
    /// Only this property (a key, or a dotted path); with --reveal its value is printed raw.
    #[arg(long, value_name = "PROPERTY")]
    pub(crate) property: Option<String>,
    /// Show the values (plaintext on your screen).
    #[arg(long)]
    pub(crate) reveal: bool,
    #[command(flatten)]
    pub(crate) vault: VaultFlags,
}
