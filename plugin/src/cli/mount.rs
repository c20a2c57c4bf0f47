//! `mount WORKLOAD …` and `mount status`: the mount pattern's flags.
//!
//! `--property`, `--file` and `--mode` belong to the `--key` or `--sealed-secret` before them,
//! which clap cannot express: the values are parsed as plain repeated flags and
//! [`source_order`] puts them back in the order they were typed (from clap's indices), so
//! `cmd::mount` can group them.

use clap::{ArgAction, ArgMatches, Args, Subcommand};

use super::{ManifestOutput, OutputFormat, VaultFlags, store::StoreKindArg};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct MountArgs {
    #[command(subcommand)]
    pub(crate) command: Option<MountCommand>,
    /// The workload whose pods mount the files: deployment/NAME, statefulset/NAME or
    /// daemonset/NAME (also deploy/, sts/, ds/). Nothing at all: the wizard.
    #[arg(value_name = "KIND/NAME")]
    pub(crate) workload: Option<String>,
    /// The SecretStore (in -n) or ClusterSecretStore the --key objects are read through.
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// Kind of --store [default: SecretStore].
    #[arg(long, value_enum, value_name = "KIND", requires = "store")]
    pub(crate) store_kind: Option<StoreKindArg>,
    /// A remote secret's path in the store (repeatable); the --property, --file and --mode
    /// after it belong to it. No --property: the whole secret as one JSON file.
    #[arg(long, value_name = "REMOTE_KEY", action = ArgAction::Append, requires = "store")]
    pub(crate) key: Vec<String>,
    /// A SealedSecret in the namespace annotated kubectl-secrets.io/mount-only: "true"
    /// (repeatable); the --property after it are its keys. No --property: every key.
    #[arg(long, value_name = "NAME", action = ArgAction::Append)]
    pub(crate) sealed_secret: Vec<String>,
    /// A property of the --key (or a key of the --sealed-secret) before it: one file each.
    #[arg(long, value_name = "PROPERTY", action = ArgAction::Append)]
    pub(crate) property: Vec<String>,
    /// The file name (a relative path) for the --property before it [default: the
    /// property, else the key's last path segment].
    #[arg(long, value_name = "NAME", action = ArgAction::Append)]
    pub(crate) file: Vec<String>,
    /// Octal mode of the file before it (before any --key: of every file) [default: 0644].
    #[arg(long, value_name = "OCTAL", action = ArgAction::Append)]
    pub(crate) mode: Vec<String>,
    /// Which of the pod's service-account tokens the store login uses [default: the store's
    /// serviceAccountRef audience, else vault].
    #[arg(long, value_name = "AUDIENCE")]
    pub(crate) audience: Option<String>,
    /// Where the volume is mounted in the containers [default: /mnt/secrets/<spc>].
    #[arg(long, value_name = "MOUNTPOINT")]
    pub(crate) mount_path: Option<String>,
    /// A container to mount it in (repeatable) [default: every container].
    #[arg(long, value_name = "NAME", action = ArgAction::Append)]
    pub(crate) container: Vec<String>,
    /// Name of the SecretProviderClass [default: <workload name>-secrets].
    #[arg(long, value_name = "NAME")]
    pub(crate) spc: Option<String>,
    /// Undo an earlier mount: drop the volume and its mounts, delete the SecretProviderClass.
    #[arg(long, conflicts_with_all = ["store", "key", "sealed_secret", "property", "file", "mode", "audience", "mount_path", "container"])]
    pub(crate) remove: bool,
    #[command(flatten)]
    pub(crate) manifest: ManifestOutput,
    #[command(flatten)]
    pub(crate) vault: VaultFlags,
    /// The object flags in the order typed (filled by [`source_order`]).
    #[arg(skip)]
    pub(crate) order: Vec<SourceArg>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MountCommand {
    /// Show our SecretProviderClasses, the workloads using them and their pods' mounts.
    Status(MountStatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MountStatusArgs {
    /// SecretProviderClasses of every namespace.
    #[arg(short = 'A', long)]
    pub(crate) all_namespaces: bool,
    /// Machine-readable output instead of the table.
    #[arg(short = 'o', long = "output", value_enum)]
    pub(crate) output: Option<OutputFormat>,
}

/// One object flag, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceArg {
    Key(String),
    SealedSecret(String),
    Property(String),
    File(String),
    Mode(String),
}

/// The object flags of `mount`'s matches in command-line order.
pub(crate) fn source_order(matches: &ArgMatches) -> Vec<SourceArg> {
    let mut indexed: Vec<(usize, SourceArg)> = Vec::new();
    let mut collect = |id: &str, make: fn(String) -> SourceArg| {
        let (Ok(Some(values)), Some(indices)) =
            (matches.try_get_many::<String>(id), matches.indices_of(id))
        else {
            return;
        };
        for (value, index) in values.zip(indices) {
            indexed.push((index, make(value.clone())));
        }
    };
    collect("key", SourceArg::Key);
    collect("sealed_secret", SourceArg::SealedSecret);
    collect("property", SourceArg::Property);
    collect("file", SourceArg::File);
    collect("mode", SourceArg::Mode);
    indexed.sort_by_key(|(index, _)| *index);
    indexed.into_iter().map(|(_, arg)| arg).collect()
}
