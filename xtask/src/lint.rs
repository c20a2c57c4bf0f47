//! `cargo xtask lint`: the checks that need no test tools, cheapest first — merge-conflict
//! markers in tracked text files (each hit named `file:line`), `cargo fmt --check`, clippy with
//! `-D warnings` over every target and feature, and CRD drift (the CRDs the agent generates,
//! written into a temp dir, against the committed `charts/secrets-agent/crds/`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::generate;
use crate::util::{self, root};

pub(crate) fn run() -> anyhow::Result<()> {
    no_conflict_markers(&root())?;
    util::cargo(&["fmt", "--all", "--", "--check"])
        .map_err(|e| e.context("formatting differs: run `cargo fmt --all`"))?;
    util::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ])?;
    crd_drift()
}

/// Fail when a tracked text file under `repo` holds a line a merge conflict leaves
/// (`<<<<<<< …`, `=======` alone, `>>>>>>> …`): such a file once landed, README and all.
/// Binary files (a NUL byte, as git decides) and untracked files are not read.
pub(crate) fn no_conflict_markers(repo: &Path) -> anyhow::Result<()> {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo)
        .output()
        .context("starting git ls-files")?;
    if !output.status.success() {
        bail!(
            "git ls-files failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut hits = Vec::new();
    for name in output.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name);
        let path = repo.join(name.as_ref());
        // Deleted but still tracked, a symlink or a submodule: nothing of ours to read.
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {name}"))?;
        hits.extend(
            marker_lines(&bytes)
                .into_iter()
                .map(|(n, line)| format!("{name}:{n}: {line}")),
        );
    }
    if hits.is_empty() {
        return Ok(());
    }
    bail!(
        "merge-conflict markers are committed (resolve them):\n{}",
        hits.join("\n")
    )
}

/// 1-based numbers and text of the marker lines in a text file; none in a binary one.
fn marker_lines(bytes: &[u8]) -> Vec<(usize, String)> {
    // git's own test: a NUL in the first 8000 bytes means binary.
    if bytes.iter().take(8000).any(|b| *b == 0) {
        return Vec::new();
    }
    String::from_utf8_lossy(bytes)
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            line.starts_with("<<<<<<< ") || *line == "=======" || line.starts_with(">>>>>>> ")
        })
        .map(|(n, line)| (n + 1, line.to_owned()))
        .collect()
}

/// Regenerate the CRDs into a temp dir and compare them with the committed ones.
fn crd_drift() -> anyhow::Result<()> {
    generate::build_agent()?;
    let fresh = tempfile::tempdir().context("making a temp dir for the CRDs")?;
    generate::write_crds(fresh.path())?;
    let committed_dir = generate::crd_dir();
    let drift = compare(&yaml_files(fresh.path())?, &yaml_files(&committed_dir)?);
    if drift.is_empty() {
        return Ok(());
    }
    bail!(
        "the committed CRDs differ from the code; run `cargo xtask gen` and commit the result:\n{}",
        drift
            .iter()
            .map(|(file, what)| format!("charts/secrets-agent/crds/{file}: {what}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// The `.yaml` files of `dir` by name.
fn yaml_files(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            out.insert(name.into_owned(), text);
        }
    }
    Ok(out)
}

/// Per file name, what differs between the generated and the committed set.
fn compare(
    generated: &BTreeMap<String, String>,
    committed: &BTreeMap<String, String>,
) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for (name, text) in generated {
        match committed.get(name) {
            None => out.push((name.clone(), "missing (the code makes it)")),
            Some(old) if old != text => out.push((name.clone(), "differs from the code")),
            Some(_) => {}
        }
    }
    for name in committed.keys().filter(|n| !generated.contains_key(*n)) {
        out.push((name.clone(), "stale (the code no longer makes it)"));
    }
    out
}

#[cfg(test)]
mod tests;
