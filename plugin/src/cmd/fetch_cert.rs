//! `fetch cert`: the agent's newest sealing certificate, for `seal --cert` elsewhere (CI, an
//! air-gapped machine).
//!
//! Flow: connect → GET `/v1/cert.pem` through the service proxy → check it parses and is
//! valid now → remember it in the certificate cache (as `seal` does) → PEM to stdout or
//! `--output-file` (atomic); its fingerprint on stderr.

use std::process::ExitCode;

use crate::agent::{self, Agent};
use crate::cli::{FetchCertArgs, GlobalFlags};
use crate::cluster;
use crate::output::emit;

pub(crate) fn run(global: &GlobalFlags, args: FetchCertArgs) -> anyhow::Result<ExitCode> {
    let (certificate, pem, agent_name) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let agent = Agent::new(&cluster, global);
        let (certificate, pem) = agent::fetch_and_remember(&cluster, &agent).await?;
        Ok((certificate, pem, agent.name()))
    })?;
    emit(&pem, args.output_file.as_deref())?;
    eprintln!(
        "certificate {} from {agent_name}, expires {}",
        certificate.public_key().fingerprint(),
        certificate.not_after().date()
    );
    Ok(ExitCode::SUCCESS)
}
