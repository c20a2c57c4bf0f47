//! One module per subcommand; each takes parsed flags and returns an exit code. Offline
//! commands never touch the cluster; online ones build their client (and a current-thread
//! runtime) themselves, through `crate::cluster`.

use std::process::ExitCode;

use crate::cli::{Cli, Command, FetchCommand, KeysCommand, SyncCommand};

mod completion;
mod doctor;
mod fetch_cert;
mod fetch_remote;
mod fetch_secret;
mod keys;
mod keys_backup;
mod keys_list;
mod keys_restore;
mod keys_rotate;
mod mount;
mod mount_remove;
mod mount_status;
mod mount_wizard;
mod reseal;
mod seal;
mod seal_merge;
mod status;
mod sync;
mod sync_create;
mod sync_now;
mod sync_status;
mod unseal;
mod verify;

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Seal(args) => seal::run(global, args),
        Command::Unseal(args) => unseal::run(args),
        Command::Reseal(args) => reseal::run(global, args),
        Command::Verify(args) => verify::run(global, args),
        Command::Fetch(FetchCommand::Cert(args)) => fetch_cert::run(global, args),
        Command::Fetch(FetchCommand::Secret(args)) => fetch_secret::run(global, args),
        Command::Fetch(FetchCommand::Remote(args)) => fetch_remote::run(global, args),
        Command::Status(args) => status::run(global, args),
        Command::Keys(KeysCommand::Generate(args)) => keys::generate(args),
        Command::Keys(KeysCommand::List(args)) => keys_list::run(global, &args),
        Command::Keys(KeysCommand::Rotate) => keys_rotate::run(global),
        Command::Keys(KeysCommand::Backup(args)) => keys_backup::run(global, args),
        Command::Keys(KeysCommand::Restore(args)) => keys_restore::run(global, args),
        Command::Sync(args) => match args.command {
            None => sync::run(global, args),
            Some(SyncCommand::Create(create)) => sync_create::run(global, create),
            Some(SyncCommand::Now(now)) => sync_now::run(global, now),
            Some(SyncCommand::Status(status)) => sync_status::run(global, status),
        },
        Command::Mount(args) => mount::run(global, args),
        Command::Doctor(args) => doctor::run(global, args),
        Command::Completion(args) => completion::run(args),
    }
}
