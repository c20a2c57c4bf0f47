//! The command line: kubectl's global flags (kubectl passes none of its own to plugins) and one
//! subcommand per verb. This module holds the top level ([`Cli`], [`GlobalFlags`], [`parse`],
//! [`exit_on_parse_error`]); each command group's flags live in their own file, re-exported
//! here so commands name them as `crate::cli::SealArgs` and so on.

use clap::{Args, Parser, Subcommand, ValueEnum};

mod completion;
mod doctor;
mod fetch;
mod keys;
mod mount;
mod seal;
mod status;
mod store;
mod sync;

pub(crate) use completion::CompletionArgs;
pub(crate) use doctor::{DoctorArgs, DoctorOutput, FailOn};
pub(crate) use fetch::{FetchCertArgs, FetchCommand, FetchRemoteArgs, FetchSecretArgs};
pub(crate) use keys::{
    KeysBackupArgs, KeysCommand, KeysGenerateArgs, KeysListArgs, KeysRestoreArgs,
};
pub(crate) use mount::{MountArgs, MountCommand, MountStatusArgs, SourceArg};
pub(crate) use seal::{ResealArgs, SealArgs, SealFormat, UnsealArgs, VerifyArgs};
pub(crate) use status::StatusArgs;
pub(crate) use store::{RemoteSecret, StoreKindArg, VaultFlags};
pub(crate) use sync::{
    ManifestOutput, SyncArgs, SyncCommand, SyncCreateArgs, SyncNowArgs, SyncStatusArgs,
};

/// Seal, sync and mount Kubernetes secrets.
#[derive(Debug, Parser)]
#[command(name = "kubectl secrets", bin_name = "kubectl secrets", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalFlags,
    #[command(subcommand)]
    pub(crate) command: Command,
}

const DEFAULT_AGENT_NAMESPACE: &str = "kubectl-secrets";
const DEFAULT_AGENT_SERVICE: &str = "secrets-agent";
/// The `--help` heading of [`GlobalFlags`].
pub(crate) const GLOBAL_HEADING: &str = "Global options";

/// The kubectl flags every plugin should honour. `--help` lists them after a command's own
/// options, under their own heading.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = GLOBAL_HEADING)]
pub(crate) struct GlobalFlags {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(
        long,
        global = true,
        env = "KUBECONFIG",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub(crate) kubeconfig: Option<String>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) context: Option<String>,
    /// The kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) user: Option<String>,
    /// Namespace of the objects.
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub(crate) namespace: Option<String>,
    /// Never prompt; fail with the flags to pass instead.
    #[arg(short = 'y', long, global = true)]
    pub(crate) yes: bool,
    /// How long to wait for one request to the API server (e.g. 30s).
    #[arg(long, global = true, value_name = "DURATION")]
    pub(crate) request_timeout: Option<String>,
    /// Namespace of the secrets agent (its Service and sealing keys).
    #[arg(
        long,
        global = true,
        value_name = "NS",
        env = "KUBECTL_SECRETS_AGENT_NAMESPACE",
        hide_env_values = true,
        default_value = DEFAULT_AGENT_NAMESPACE
    )]
    pub(crate) agent_namespace: String,
    /// Name of the secrets agent's Service.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "KUBECTL_SECRETS_AGENT_SERVICE",
        hide_env_values = true,
        default_value = DEFAULT_AGENT_SERVICE
    )]
    pub(crate) agent_service: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Encrypt Secrets into SealedSecrets that only the cluster can open.
    Seal(SealArgs),
    /// Decrypt SealedSecrets offline with private keys (recovery); prints plaintext.
    Unseal(UnsealArgs),
    /// Re-encrypt SealedSecret files to the newest key, in place (online or offline).
    Reseal(ResealArgs),
    /// Ask the agent whether it can open SealedSecrets; never returns plaintext.
    Verify(VerifyArgs),
    /// Read from the cluster: the sealing certificate or a Secret.
    #[command(subcommand)]
    Fetch(FetchCommand),
    /// Show the SealedSecrets and ExternalSecrets in the cluster and whether their Secrets were
    /// made.
    Status(StatusArgs),
    /// Manage sealing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sync secrets from Vault / OpenBao: a wizard at a terminal, else `create`, `now`, `status`.
    Sync(SyncArgs),
    /// Mount secrets into a workload's pods through the Secrets Store CSI Driver (no Secret
    /// is made): a wizard at a terminal, else `mount KIND/NAME --store … --key …`, `status`.
    Mount(MountArgs),
    /// Audit who can read Secrets, encryption at rest, and plaintext Secrets in Git (with
    /// fixes).
    Doctor(DoctorArgs),
    /// Print a shell completion script for `kubectl-secrets` (bash, zsh or fish).
    ///
    /// The script completes `kubectl-secrets …` run by that name. For `kubectl secrets <TAB>`
    /// (kubectl 1.26 or newer), kubectl runs `kubectl_complete-secrets` from PATH instead.
    Completion(CompletionArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    #[default]
    Yaml,
    Json,
}

/// Global flags that only commands talking to the cluster read.
const CLUSTER_FLAGS: [&str; 9] = [
    "kubeconfig",
    "context",
    "cluster",
    "user",
    "namespace",
    "yes",
    "request_timeout",
    "agent_namespace",
    "agent_service",
];

/// Parse the command line. The kubectl flags are global (kubectl passes them anywhere), but
/// the help of commands that never touch the cluster should not offer them: those get their
/// own hidden copy (clap does not propagate a global flag to a command that has its own).
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches as _;
    let matches = command().try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.unset_empty();
    if let (Command::Mount(mount), Some(("mount", sub))) = (&mut cli.command, matches.subcommand())
    {
        mount.order = mount::source_order(sub);
    }
    Ok(cli)
}

/// The command line as parsed: [`Cli`] with the cluster flags hidden where unused.
pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory as _;
    let command = Cli::command();
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| CLUSTER_FLAGS.contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().hide(true))
        .collect();
    let hide = |sub: clap::Command| sub.args(hidden.clone());
    command
        .mut_subcommand("unseal", hide)
        .mut_subcommand("completion", hide)
        .mut_subcommand("keys", |keys| keys.mut_subcommand("generate", hide))
}

impl Cli {
    /// An empty value (most often an exported but empty environment variable such as
    /// `KUBECTL_SECRETS_AGENT_NAMESPACE=`) means "not set", as kubectl reads `KUBECONFIG=`.
    fn unset_empty(&mut self) {
        let global = &mut self.global;
        if global.kubeconfig.as_deref() == Some("") {
            global.kubeconfig = None;
        }
        if global.agent_namespace.is_empty() {
            global.agent_namespace = DEFAULT_AGENT_NAMESPACE.to_owned();
        }
        if global.agent_service.is_empty() {
            global.agent_service = DEFAULT_AGENT_SERVICE.to_owned();
        }
        if let Command::Seal(seal) = &mut self.command
            && seal.cert.as_deref() == Some("")
        {
            seal.cert = None;
        }
    }
}

/// `--help` and `--version` print as clap does; a usage error becomes one
/// `kubectl-secrets: …` line (with the possible values, when clap lists them) and exit code 2.
pub(crate) fn exit_on_parse_error(err: clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return std::process::ExitCode::SUCCESS;
    }
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = err.print();
        return std::process::ExitCode::from(2);
    }
    let rendered = err.render().to_string();
    // clap's text: "error: <what>\n\n  tip…\n\nUsage: …\n\nFor more information…"; keep the
    // first paragraph (and a possible-values line), drop usage boilerplate.
    let mut parts = rendered.split("\n\n");
    let first = parts
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    let first = first.split_whitespace().collect::<Vec<_>>().join(" ");
    let values = rendered
        .lines()
        .find(|l| l.trim_start().starts_with("[possible values"));
    match values {
        Some(values) if !first.contains("possible values") => {
            eprintln!("kubectl-secrets: {} {}", first.trim(), values.trim())
        }
        _ => eprintln!("kubectl-secrets: {}", first.trim()),
    }
    std::process::ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
        super::command().debug_assert();
    }
}
