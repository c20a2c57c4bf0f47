//! `completion bash|zsh|fish`: clap_complete's script for the command tree, on stdout. It
//! completes `kubectl-secrets …` typed directly; `kubectl secrets <TAB>` goes through kubectl
//! and `kubectl_complete-secrets` instead (see `crate::kubectl_complete`).

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::CompletionArgs;
use crate::output::emit;

pub(crate) fn run(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut command = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(args.shell),
        &mut command,
        "kubectl-secrets",
        &mut script,
    );
    let script = String::from_utf8(script).context("writing the completion script")?;
    emit(&script, None)?;
    Ok(ExitCode::SUCCESS)
}
