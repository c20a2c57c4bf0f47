//! `doctor`: audit who can read Secrets, encryption at rest and plaintext Secrets in Git.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Also audit this checkout (its working tree; with --history every reachable blob).
    #[arg(long, value_name = "PATH")]
    pub(crate) git: Option<PathBuf>,
    /// With --git: also scan every blob reachable from any ref (`git log --all`).
    #[arg(long, requires = "git")]
    pub(crate) history: bool,
    /// Audit only the checkout, offline: no cluster is contacted.
    #[arg(long, requires = "git")]
    pub(crate) no_cluster: bool,
    /// Analyse this EncryptionConfiguration file (from a control-plane host).
    #[arg(long, value_name = "FILE")]
    pub(crate) encryption_config: Option<PathBuf>,
    /// Report namespaced findings of every namespace (default: every namespace too; with -n,
    /// only that namespace's).
    #[arg(short = 'A', long)]
    pub(crate) all_namespaces: bool,
    /// Run only this check (exact id, e.g. RBAC011); repeatable.
    #[arg(long = "check", value_name = "ID")]
    pub(crate) checks: Vec<String>,
    /// Skip this check (exact id); repeatable.
    #[arg(long = "skip", value_name = "ID")]
    pub(crate) skips: Vec<String>,
    /// Exit 1 when an unsuppressed failure is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub(crate) fail_on: FailOn,
    /// Suppression file (default: .kubectl-secrets-doctor.yaml at the --git root).
    #[arg(long, value_name = "FILE")]
    pub(crate) suppressions: Option<PathBuf>,
    /// Output: text (grouped, with hints), json (stable shape) or sarif (Git findings).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = DoctorOutput::Text)]
    pub(crate) output: DoctorOutput,
    /// With --git: turn each plaintext Secret manifest into a SealedSecret in place (asks
    /// first; --yes for scripts).
    #[arg(long, requires = "git")]
    pub(crate) fix: bool,
    /// With --fix: seal with this certificate (PATH or URL) instead of the cluster's.
    #[arg(long, value_name = "PATH|URL", requires = "fix")]
    pub(crate) cert: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    Critical,
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DoctorOutput {
    Text,
    Json,
    Sarif,
}
