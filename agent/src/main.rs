//! `secrets-agent`: parse, set up logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser as _;
use secrets_agent::args::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Controller(args) => *args,
        Command::CsiProvider(args) => return csi_provider(*args).await,
        Command::Crds(crds) => {
            return match crds.output_dir {
                None => {
                    print!("{}", secrets_agent::crds());
                    ExitCode::SUCCESS
                }
                Some(dir) => match secrets_agent::write_crds(&dir) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(err) => {
                        eprintln!("secrets-agent: {err:#}");
                        ExitCode::FAILURE
                    }
                },
            };
        }
    };
    if let Err(message) = args.validate() {
        eprintln!("secrets-agent: {message}");
        return ExitCode::from(2);
    }
    if let Err(err) = secrets_agent::telemetry::init(&args.log_filter) {
        eprintln!("secrets-agent: {err:#}");
        return ExitCode::from(2);
    }
    match secrets_agent::run_controller(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "secrets-agent stopped");
            ExitCode::FAILURE
        }
    }
}

async fn csi_provider(args: secrets_agent::args::CsiProviderArgs) -> ExitCode {
    if let Err(err) = secrets_agent::telemetry::init(&args.log_filter) {
        eprintln!("secrets-agent: {err:#}");
        return ExitCode::from(2);
    }
    match secrets_agent::run::csi_provider::run_csi_provider(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(
                error = format!("{err:#}"),
                "secrets-agent csi-provider stopped"
            );
            ExitCode::FAILURE
        }
    }
}
