//! `seal`, `unseal`, `reseal` and `verify`: the SealedSecret pattern's flags.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use secrets_core::seal::crypto::Scope;

use super::OutputFormat;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// SealedSecret manifest(s), native or Bitnami, multi-document; `-` for stdin.
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ResealArgs {
    /// SealedSecret files to rewrite in place (YAML or JSON, multi-document).
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<std::path::PathBuf>,
    /// Re-seal offline with this private key (repeatable; PEM or a key backup) instead of
    /// asking the agent. Needs --cert.
    #[arg(long, value_name = "PATH", requires = "cert")]
    pub(crate) private_key: Vec<PathBuf>,
    /// Offline: the certificate to re-seal to (the newest key's), a PEM file or URL.
    #[arg(long, value_name = "PATH|URL", requires = "private_key")]
    pub(crate) cert: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum SealFormat {
    /// apiVersion kubectl-secrets.io/v1alpha1.
    #[default]
    Native,
    /// apiVersion bitnami.com/v1alpha1, for clusters still running Bitnami's controller.
    Bitnami,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScopeArg {
    Strict,
    NamespaceWide,
    ClusterWide,
}

impl From<ScopeArg> for Scope {
    fn from(value: ScopeArg) -> Self {
        match value {
            ScopeArg::Strict => Scope::Strict,
            ScopeArg::NamespaceWide => Scope::NamespaceWide,
            ScopeArg::ClusterWide => Scope::ClusterWide,
        }
    }
}

#[derive(Debug, Args, Default)]
pub(crate) struct SealArgs {
    /// Secret manifest(s) to seal, YAML or JSON, multi-document; `-` for stdin; repeatable; a
    /// directory means its .yaml, .yml and .json files. Other kinds pass through unchanged.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    pub(crate) file: Vec<String>,
    /// A value given on the command line (visible in shell history: prefer --from-file).
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) from_literal: Vec<String>,
    /// A value read from a file; the key defaults to the file name.
    #[arg(long, value_name = "[KEY=]PATH")]
    pub(crate) from_file: Vec<String>,
    /// KEY=VALUE lines read from a file.
    #[arg(long, value_name = "PATH")]
    pub(crate) from_env_file: Vec<String>,
    /// Name of the Secret (required with --from-* unless --merge-into; overrides the
    /// manifest's).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Secret type (default Opaque with --from-*).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) type_: Option<String>,
    /// Where the sealed values may be opened [default: strict, or the input's annotation].
    #[arg(long, value_enum)]
    pub(crate) scope: Option<ScopeArg>,
    /// Sealing certificate: a PEM file or an http(s):// URL.
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "KUBECTL_SECRETS_CERT",
        hide_env_values = true
    )]
    pub(crate) cert: Option<String>,
    /// apiVersion of the SealedSecret written.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: SealFormat,
    /// Add or replace the keys in this existing SealedSecret file, keeping the rest; its
    /// name, namespace and scope are used (and its own format, YAML or JSON).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["raw", "output_file", "output"])]
    pub(crate) merge_into: Option<PathBuf>,
    /// Print only the base64 ciphertext of one value.
    #[arg(long, conflicts_with = "output")]
    pub(crate) raw: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub(crate) output: OutputFormat,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub(crate) output_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct UnsealArgs {
    /// SealedSecret manifest(s), native or Bitnami; `-` for stdin.
    #[arg(short = 'f', long = "filename", value_name = "FILE|-", required = true)]
    pub(crate) file: String,
    /// A private key: PEM (PKCS#1 or PKCS#8) or a key backup (Secret or List, YAML or JSON).
    #[arg(long, value_name = "PATH", required = true)]
    pub(crate) private_key: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub(crate) output: OutputFormat,
}
