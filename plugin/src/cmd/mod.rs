//! One module per subcommand; each takes parsed flags and returns an exit code.

use std::process::ExitCode;

use crate::cli::{Cli, Command, KeysCommand};

mod keys;
mod seal;
mod unseal;

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Seal(args) => seal::run(&cli.global, args),
        Command::Unseal(args) => unseal::run(args),
        Command::Keys(KeysCommand::Generate(args)) => keys::generate(args),
    }
}
