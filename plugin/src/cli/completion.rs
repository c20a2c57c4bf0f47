//! `completion bash|zsh|fish`: the shell script for `kubectl-secrets` run directly.

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell to print the script for.
    #[arg(value_enum)]
    pub(crate) shell: ShellArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

impl From<ShellArg> for clap_complete::Shell {
    fn from(value: ShellArg) -> Self {
        match value {
            ShellArg::Bash => clap_complete::Shell::Bash,
            ShellArg::Zsh => clap_complete::Shell::Zsh,
            ShellArg::Fish => clap_complete::Shell::Fish,
        }
    }
}
