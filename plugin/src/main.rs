//! `kubectl-secrets`: the person's tool for sealed, synced and mounted Kubernetes secrets.
//!
//! `main` only parses, runs and maps the outcome to kubectl-style exit codes: 0 ok, 1 a check
//! said no, 2 usage or runtime error (printed once as `kubectl-secrets: <what>: <cause>`).

use std::process::ExitCode;

mod agent;
mod cert_cache;
mod cli;
mod cluster;
mod cmd;
mod doctor;
mod input;
mod kubeconfig;
mod mount;
mod output;
mod paths;
mod prompt;
mod remote;
mod report;
mod sealing_keys;
mod sync;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(err) => return cli::exit_on_parse_error(err),
    };
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kubectl-secrets: {}", report::render(&err));
            ExitCode::from(2)
        }
    }
}
