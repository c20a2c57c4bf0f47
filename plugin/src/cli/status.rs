//! `status`: the SealedSecrets and ExternalSecrets in the cluster.

use clap::Args;

use super::OutputFormat;

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// SealedSecrets and ExternalSecrets of every namespace.
    #[arg(short = 'A', long)]
    pub(crate) all_namespaces: bool,
    /// Also list Bitnami SealedSecrets (bitnami.com/v1alpha1).
    #[arg(long)]
    pub(crate) bitnami: bool,
    /// Machine-readable output instead of the table.
    #[arg(short = 'o', long = "output", value_enum)]
    pub(crate) output: Option<OutputFormat>,
}
