//! `sync` and `sync create|now|status`: the ExternalSecret pattern's flags.

use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand, ValueEnum};
use secrets_core::api::external_secret::{CreationPolicy, DeletionPolicy};

use super::{OutputFormat, RemoteSecret, VaultFlags};

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
