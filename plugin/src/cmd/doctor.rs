//! `doctor`: who can read Secrets, whether etcd encrypts them, whether Git holds them in
//! plaintext, and whether our own install is healthy.
//!
//! Flow: flags checked (ids exist) → `--fix` goes its own way (`crate::doctor::fix`) → the
//! EncryptionConfiguration file, if given, is read → the cluster's facts are collected (unless
//! `--no-cluster`) and judged → the checkout (and its history) is scanned → `--check`/`--skip`
//! and `-n` narrow the findings → the suppression file marks and adds findings → `Report` →
//! text, JSON or SARIF on stdout → exit 0, or 1 when an unsuppressed failure is at or above
//! `--fail-on` (2, for errors, is `main`'s).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrets_core::audit::encryption::{self, EncryptionConfig};
use secrets_core::audit::suppress::Suppressions;
use secrets_core::audit::{CHECKS, Finding, Report, Severity};

use crate::cli::{DoctorArgs, DoctorOutput, FailOn, GlobalFlags};
use crate::doctor;

/// The suppression file's name at the `--git` root.
const SUPPRESSIONS_FILE: &str = ".kubectl-secrets-doctor.yaml";

fn threshold(fail_on: FailOn) -> Severity {
    match fail_on {
        FailOn::Critical => Severity::Critical,
        FailOn::High => Severity::High,
        FailOn::Medium => Severity::Medium,
        FailOn::Low => Severity::Low,
    }
}

fn check_ids(args: &DoctorArgs) -> anyhow::Result<()> {
    for id in args.checks.iter().chain(&args.skips) {
        if !CHECKS.iter().any(|(known, _)| known == id) {
            let known: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
            bail!(
                "unknown check id {id:?} (ids are exact: {})",
                known.join(", ")
            );
        }
    }
    Ok(())
}

fn encryption_config(path: &Path) -> anyhow::Result<EncryptionConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(crate::report::plain_io)
        .with_context(|| format!("reading {}", path.display()))?;
    // The error names the file and the cause, never the key material (core redacts it).
    EncryptionConfig::from_text(&text)
        .with_context(|| format!("reading the EncryptionConfiguration {}", path.display()))
}

fn cluster_findings(
    global: &GlobalFlags,
    config: Option<(&EncryptionConfig, &str)>,
) -> anyhow::Result<Vec<Finding>> {
    crate::cluster::block_on(async {
        let cluster = crate::cluster::connect(global).await?;
        let mut findings = doctor::rbac::audit(&cluster, global).await;
        let facts = doctor::encryption::facts(&cluster).await;
        findings.extend(encryption::audit(&facts, config));
        let agent = doctor::agent::facts(&cluster, global).await;
        findings.extend(secrets_core::audit::agent::audit(
            &agent,
            time::OffsetDateTime::now_utc(),
        ));
        Ok(findings)
    })
}

fn suppressions_path(args: &DoctorArgs) -> Option<PathBuf> {
    if let Some(path) = &args.suppressions {
        return Some(path.clone());
    }
    let path = args.git.as_ref()?.join(SUPPRESSIONS_FILE);
    path.is_file().then_some(path)
}

/// Keep what `--check`, `--skip` and `-n` ask for. Cluster-wide findings stay under `-n`.
fn narrow(findings: &mut Vec<Finding>, args: &DoctorArgs, namespace: Option<&str>) {
    findings.retain(|f| {
        (args.checks.is_empty() || args.checks.contains(&f.id))
            && !args.skips.contains(&f.id)
            && match (namespace, f.scope.namespace()) {
                (Some(wanted), Some(ns)) => wanted == ns,
                _ => true,
            }
    });
}

pub(crate) fn run(global: &GlobalFlags, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    check_ids(&args)?;
    if args.fix {
        let root = args.git.clone().context("--fix needs --git PATH")?;
        return doctor::fix::run(global, &args, &root);
    }
    let config = match &args.encryption_config {
        Some(path) => Some((encryption_config(path)?, path.display().to_string())),
        None => None,
    };
    let config_ref = config.as_ref().map(|(c, p)| (c, p.as_str()));
    let mut findings = Vec::new();
    if args.no_cluster {
        if let Some((config, path)) = config_ref {
            findings.extend(encryption::analyse_config(config, path));
        }
    } else {
        findings.extend(cluster_findings(global, config_ref)?);
    }
    if let Some(root) = &args.git {
        findings.extend(doctor::git::audit_tree(root)?);
        if args.history {
            findings.extend(doctor::git::audit_history(root)?);
        }
    }
    let namespace = if args.all_namespaces {
        None
    } else {
        global.namespace.as_deref()
    };
    narrow(&mut findings, &args, namespace);
    if let Some(path) = suppressions_path(&args) {
        let text = std::fs::read_to_string(&path)
            .map_err(crate::report::plain_io)
            .with_context(|| format!("reading {}", path.display()))?;
        let source = path.display().to_string();
        let suppressions = Suppressions::from_yaml(&text, &source)
            .with_context(|| format!("reading the suppression file {source}"))?;
        suppressions.apply(&mut findings, time::OffsetDateTime::now_utc().date());
    }
    let report = Report::new(findings);
    let out = match args.output {
        DoctorOutput::Text => doctor::render::text(&report),
        DoctorOutput::Json => serde_json::to_string_pretty(&report)? + "\n",
        DoctorOutput::Sarif => {
            let sarif = secrets_core::audit::sarif::to_sarif(&report, env!("CARGO_PKG_VERSION"));
            serde_json::to_string_pretty(&sarif)? + "\n"
        }
    };
    crate::output::emit(&out, None)?;
    Ok(ExitCode::from(report.exit_code(threshold(args.fail_on))))
}
