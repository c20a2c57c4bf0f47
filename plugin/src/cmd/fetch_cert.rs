//! `fetch cert`: the agent's newest sealing certificate, for `seal --cert` elsewhere (CI, an
//! air-gapped machine).
//!
//! Flow: connect → GET `/v1/cert.pem` through the service proxy → check it parses and is
//! valid now → PEM to stdout or `--output-file` (atomic); its fingerprint on stderr.

use std::process::ExitCode;

use anyhow::Context as _;
use secrets_core::keys::Certificate;

use crate::agent::Agent;
use crate::cli::{FetchCertArgs, GlobalFlags};
use crate::cluster;
use crate::output::emit;

pub(crate) fn run(global: &GlobalFlags, args: FetchCertArgs) -> anyhow::Result<ExitCode> {
    let (pem, agent_name) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let agent = Agent::new(&cluster, global);
        Ok((agent.certificate_pem().await?, agent.name()))
    })?;
    let context = || format!("loading the certificate from the agent {agent_name}");
    let certificate = Certificate::from_pem(pem.as_bytes()).with_context(context)?;
    certificate
        .ensure_valid_at(time::OffsetDateTime::now_utc())
        .with_context(context)?;
    emit(&pem, args.output_file.as_deref())?;
    eprintln!(
        "certificate {} from {agent_name}, expires {}",
        certificate.public_key().fingerprint(),
        certificate.not_after().date()
    );
    Ok(ExitCode::SUCCESS)
}
