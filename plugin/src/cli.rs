//! The command line: kubectl's global flags (kubectl passes none of its own to plugins) and one
//! subcommand per verb.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use secrets_core::api::external_secret::{CreationPolicy, DeletionPolicy};
use secrets_core::api::secret_store::StoreKind;
use secrets_core::seal::crypto::Scope;

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

/// The kubectl flags every plugin should honour.
#[derive(Debug, Args, Clone, Default)]
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
    /// Show the SealedSecrets in the cluster and whether their Secrets were made.
    Status(StatusArgs),
    /// Manage sealing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sync secrets from Vault / OpenBao: a wizard at a terminal, else `create`, `now`, `status`.
    Sync(SyncArgs),
}

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

#[derive(Debug, Subcommand)]
pub(crate) enum FetchCommand {
    /// Print the agent's newest sealing certificate (PEM).
    Cert(FetchCertArgs),
    /// Show a Secret's keys and sizes; values only with --reveal.
    Secret(FetchSecretArgs),
    /// Read a Vault / OpenBao path through a store, with your own Vault credentials; values
    /// only with --reveal.
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

/// A secret in a store: which store, and the path under its mount.
#[derive(Debug, Args, Clone)]
pub(crate) struct RemoteSecret {
    /// The SecretStore (in -n) or ClusterSecretStore to read through.
    #[arg(long, value_name = "NAME")]
    pub(crate) store: String,
    /// Kind of --store [ESO's default: SecretStore].
    #[arg(long, value_enum, value_name = "KIND")]
    pub(crate) store_kind: Option<StoreKindArg>,
    /// Path of the secret under the store's mount, e.g. app/db.
    #[arg(long, value_name = "PATH")]
    pub(crate) key: String,
}

/// How the plugin reaches Vault from this machine.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct VaultFlags {
    /// Vault address to use from here instead of the store's `server` (e.g. through a
    /// port-forward, when the store's address only resolves inside the cluster).
    #[arg(long, value_name = "URL")]
    pub(crate) vault_addr: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// SealedSecrets of every namespace.
    #[arg(short = 'A', long)]
    pub(crate) all_namespaces: bool,
    /// Also list Bitnami SealedSecrets (bitnami.com/v1alpha1).
    #[arg(long)]
    pub(crate) bitnami: bool,
    /// Machine-readable output instead of the table.
    #[arg(short = 'o', long = "output", value_enum)]
    pub(crate) output: Option<OutputFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SyncArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SyncCommand>,
    #[command(flatten)]
    pub(crate) manifest: ManifestOutput,
    #[command(flatten)]
    pub(crate) vault: VaultFlags,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SyncCommand {
    /// Create (server-side apply) an ExternalSecret from flags, or print it.
    Create(SyncCreateArgs),
    /// Ask the agent to read an ExternalSecret's remote secrets again now.
    Now(SyncNowArgs),
    /// Show ExternalSecrets: ready, reason, last sync, next refresh, store.
    Status(SyncStatusArgs),
}

/// Apply to the cluster, or (with any of these) write the manifest instead.
#[derive(Debug, Args, Default)]
pub(crate) struct ManifestOutput {
    /// Print the manifest in this format instead of applying it.
    #[arg(short = 'o', long = "output", value_enum)]
    pub(crate) output: Option<OutputFormat>,
    /// Write the manifest to this file (atomically) instead of applying it.
    #[arg(long, value_name = "PATH")]
    pub(crate) output_file: Option<PathBuf>,
    /// Print the manifest (YAML unless -o) and apply nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl ManifestOutput {
    /// The format to write in, or `None` to apply to the cluster.
    pub(crate) fn format(&self) -> Option<OutputFormat> {
        (self.output.is_some() || self.output_file.is_some() || self.dry_run)
            .then(|| self.output.unwrap_or_default())
    }
}

#[derive(Debug, Args)]
pub(crate) struct SyncCreateArgs {
    /// Name of the ExternalSecret (in -n, else the context's namespace).
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) remote: RemoteSecret,
    /// A property of the remote secret (a key, or a dotted path); repeat for several. None:
    /// every key of the remote secret (dataFrom.extract).
    #[arg(long, value_name = "PROPERTY")]
    pub(crate) property: Vec<String>,
    /// The Secret key for the --property at the same position [default: the property's last
    /// path segment]. Without --property: the whole remote secret as one JSON value.
    #[arg(long, value_name = "KEY")]
    pub(crate) secret_key: Vec<String>,
    /// How often to read again, a Go duration (1h, 15m, 0 = once) [ESO's default: 1h].
    #[arg(long, value_name = "DURATION")]
    pub(crate) refresh: Option<String>,
    /// Name of the Secret to write [default: the ExternalSecret's name].
    #[arg(long, value_name = "NAME")]
    pub(crate) target: Option<String>,
    /// Who owns the Secret [ESO's default: Owner].
    #[arg(long, value_enum, value_name = "POLICY")]
    pub(crate) creation_policy: Option<CreationPolicyArg>,
    /// What happens to the Secret when the remote secret is gone [ESO's default: Retain].
    #[arg(long, value_enum, value_name = "POLICY")]
    pub(crate) deletion_policy: Option<DeletionPolicyArg>,
    /// Replace an ExternalSecret of the same name (without it, an existing one is refused).
    #[arg(long)]
    pub(crate) overwrite: bool,
    #[command(flatten)]
    pub(crate) manifest: ManifestOutput,
}

#[derive(Debug, Args)]
pub(crate) struct SyncNowArgs {
    /// Name of the ExternalSecret (in -n, else the context's namespace).
    pub(crate) name: String,
    /// Wait for the agent's answer (--wait=false: only ask).
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = ArgAction::Set
    )]
    pub(crate) wait: bool,
    /// How long to wait, a Go duration.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub(crate) timeout: String,
}

#[derive(Debug, Args)]
pub(crate) struct SyncStatusArgs {
    /// Only this ExternalSecret.
    pub(crate) name: Option<String>,
    /// ExternalSecrets of every namespace.
    #[arg(short = 'A', long, conflicts_with = "name")]
    pub(crate) all_namespaces: bool,
    /// Machine-readable output instead of the table.
    #[arg(short = 'o', long = "output", value_enum)]
    pub(crate) output: Option<OutputFormat>,
}

/// `SecretStore` or `ClusterSecretStore`, spelled as in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreKindArg {
    #[value(name = "SecretStore")]
    SecretStore,
    #[value(name = "ClusterSecretStore")]
    ClusterSecretStore,
}

impl From<StoreKindArg> for StoreKind {
    fn from(value: StoreKindArg) -> Self {
        match value {
            StoreKindArg::SecretStore => StoreKind::SecretStore,
            StoreKindArg::ClusterSecretStore => StoreKind::ClusterSecretStore,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CreationPolicyArg {
    #[value(name = "Owner")]
    Owner,
    #[value(name = "Orphan")]
    Orphan,
    #[value(name = "Merge")]
    Merge,
    #[value(name = "None")]
    None,
}

impl From<CreationPolicyArg> for CreationPolicy {
    fn from(value: CreationPolicyArg) -> Self {
        match value {
            CreationPolicyArg::Owner => CreationPolicy::Owner,
            CreationPolicyArg::Orphan => CreationPolicy::Orphan,
            CreationPolicyArg::Merge => CreationPolicy::Merge,
            CreationPolicyArg::None => CreationPolicy::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DeletionPolicyArg {
    #[value(name = "Retain")]
    Retain,
    #[value(name = "Delete")]
    Delete,
}

impl From<DeletionPolicyArg> for DeletionPolicy {
    fn from(value: DeletionPolicyArg) -> Self {
        match value {
            DeletionPolicyArg::Retain => DeletionPolicy::Retain,
            DeletionPolicyArg::Delete => DeletionPolicy::Delete,
        }
    }
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
    Ok(cli)
}

/// The command line as parsed: [`Cli`] with the cluster flags hidden where unused.
fn command() -> clap::Command {
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
