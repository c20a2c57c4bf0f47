//! `doctor --git PATH --fix`: each file with a plaintext Secret manifest (GIT010) becomes the
//! same file with SealedSecrets in their place.
//!
//! Flow: scan the working tree → the files GIT010 names → for each, core's `plan_fix` seals
//! its plaintext Secrets with the certificate (`--cert`, else the cluster's) and says what it
//! changed and skipped → the plan is shown, values masked → the person confirms (`--yes` for
//! scripts) → each file is replaced atomically (0600 temporary file in the same folder, the
//! file's own mode kept) → a reminder that the old values stay in Git history.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrets_core::audit::git::{FixPlan, plan_fix};
use secrets_core::seal::keys::Certificate;
use zeroize::Zeroize as _;

use crate::cli::{DoctorArgs, GlobalFlags};
use crate::output::write_atomic;

fn certificate(global: &GlobalFlags, args: &DoctorArgs) -> anyhow::Result<Certificate> {
    match &args.cert {
        Some(spec) => crate::input::load_certificate(spec),
        None if args.no_cluster => bail!("--fix with --no-cluster needs --cert PATH|URL"),
        None => crate::agent::sealing_certificate(global)
            .context("no sealing certificate (pass --cert PATH|URL)"),
    }
}

fn confirm(global: &GlobalFlags, count: usize) -> anyhow::Result<bool> {
    if global.yes {
        return Ok(true);
    }
    if !crate::prompt::attended(false) {
        bail!("--fix rewrites {count} file(s): pass --yes to do it without asking");
    }
    dialoguer::Confirm::new()
        .with_prompt(format!("Rewrite {count} file(s) as shown?"))
        .default(false)
        .interact()
        .context("asking whether to rewrite the files")
}

pub(crate) fn run(
    global: &GlobalFlags,
    args: &DoctorArgs,
    root: &Path,
) -> anyhow::Result<ExitCode> {
    let findings = super::git::audit_tree(root)?;
    let files: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.id == "GIT010" && f.subject.kind == "File")
        .map(|f| f.subject.name.clone())
        .collect();
    if files.is_empty() {
        eprintln!(
            "no plaintext Secret manifest under {}: nothing to fix",
            root.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let certificate = certificate(global, args)?;
    let mut plans: Vec<(String, FixPlan)> = Vec::new();
    for file in &files {
        let path = root.join(file);
        let mut text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let plan = plan_fix(&text, global.namespace.as_deref(), certificate.public_key())
            .with_context(|| format!("sealing the Secrets of {file}"));
        text.zeroize();
        let plan = plan?;
        for change in &plan.changes {
            eprintln!(
                "{file}: document {}: Secret {} → SealedSecret (keys {}; values masked)",
                change.document,
                change.secret,
                change.keys.join(", ")
            );
        }
        for skip in &plan.skipped {
            eprintln!(
                "{file}: document {}: Secret {} left as it is: {}",
                skip.document, skip.secret, skip.reason
            );
        }
        if !plan.changes.is_empty() {
            plans.push((file.clone(), plan));
        }
    }
    if plans.is_empty() {
        eprintln!("nothing to rewrite");
        return Ok(ExitCode::SUCCESS);
    }
    if !confirm(global, plans.len())? {
        eprintln!("nothing written");
        return Ok(ExitCode::SUCCESS);
    }
    for (file, plan) in &plans {
        write_atomic(&root.join(file), plan.text.as_bytes(), None)?;
        eprintln!("rewrote {file}");
    }
    eprintln!(
        "the old values are still in Git history and in every clone: rotate them (new passwords, keys, tokens), then seal the new ones"
    );
    Ok(ExitCode::SUCCESS)
}
