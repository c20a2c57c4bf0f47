//! Collecting for the Git checks: the checkout's files (tracked and untracked-but-not-ignored
//! when it is a Git work tree, else every file under the root), and with `--history` every blob
//! any commit reachable from a ref added or changed. Only files the core's cheap path filter
//! wants are read; their bytes are wiped after the scan.
//!
//! History comes from two `git` processes: `git log --all --raw -z` names each commit's added
//! and modified blobs with their paths; `git cat-file --batch` streams the wanted ones (its
//! stdin is fed from a thread so neither side blocks on a full pipe). A blob is scanned once,
//! for the first (newest) commit that names it, and skipped when the working tree holds the
//! same blob (GIT010 already reports it there).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use secrets_core::audit::Finding;
use secrets_core::audit::git::{
    GitFile, MAX_FILE_BYTES, kustomize_references, scan_blob, scan_tree, wanted_path,
};
use zeroize::Zeroize as _;

/// A file read for scanning: its path relative to the root, its bytes.
struct Read {
    path: String,
    bytes: Vec<u8>,
}

fn git(root: &Path) -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(root);
    command
}

fn is_work_tree(root: &Path) -> bool {
    git(root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
}

/// Paths relative to `root`, `/`-separated.
fn list_files(root: &Path) -> anyhow::Result<Vec<String>> {
    if is_work_tree(root) {
        let out = git(root)
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .output()
            .context("running git ls-files")?;
        if !out.status.success() {
            bail!(
                "git ls-files failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut paths: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        paths.dedup();
        return Ok(paths);
    }
    let mut paths = Vec::new();
    walk(root, root, &mut paths)?;
    Ok(paths)
}

fn walk(root: &Path, dir: &Path, paths: &mut Vec<String>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                walk(root, &path, paths)?;
            }
        } else if kind.is_file()
            && let Ok(relative) = path.strip_prefix(root)
        {
            paths.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn as_files(read: &[Read]) -> Vec<GitFile<'_>> {
    read.iter()
        .map(|r| GitFile {
            path: &r.path,
            bytes: &r.bytes,
        })
        .collect()
}

/// The file at `path` under `root` when it is a regular file whose length `wanted` accepts.
fn read_file(
    root: &Path,
    path: &str,
    wanted: impl Fn(u64) -> bool,
) -> anyhow::Result<Option<Read>> {
    let full: PathBuf = root.join(path);
    let Ok(meta) = std::fs::symlink_metadata(&full) else {
        return Ok(None); // listed by git but deleted in the work tree
    };
    if !meta.is_file() || !wanted(meta.len()) {
        return Ok(None);
    }
    let bytes = std::fs::read(&full).with_context(|| format!("reading {}", full.display()))?;
    Ok(Some(Read {
        path: path.to_owned(),
        bytes,
    }))
}

/// GIT0xx over the working tree under `root`.
pub(crate) fn audit_tree(root: &Path) -> anyhow::Result<Vec<Finding>> {
    let listed = list_files(root)?;
    let mut read = Vec::new();
    for path in &listed {
        read.extend(read_file(root, path, |len| wanted_path(path, len))?);
    }
    // Kustomize generators may read files of any name: read those too, once.
    let known: BTreeSet<String> = read.iter().map(|r| r.path.clone()).collect();
    let listed: BTreeSet<&String> = listed.iter().collect();
    for path in kustomize_references(&as_files(&read)) {
        if listed.contains(&path) && !known.contains(&path) {
            read.extend(read_file(root, &path, |len| len <= MAX_FILE_BYTES)?);
        }
    }
    let findings = scan_tree(&as_files(&read));
    for r in &mut read {
        r.bytes.zeroize();
    }
    Ok(findings)
}

/// Blob id → (commit, path) of the newest commit that added or changed it.
fn history_blobs(root: &Path) -> anyhow::Result<BTreeMap<String, (String, String)>> {
    let out = git(root)
        .args([
            "log",
            "--all",
            "--no-renames",
            "--diff-filter=AM",
            "--format=commit %H",
            "--raw",
            "--no-abbrev",
            "-z",
        ])
        .output()
        .context("running git log")?;
    if !out.status.success() {
        bail!(
            "git log failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut blobs = BTreeMap::new();
    let mut commit = String::new();
    let mut tokens = text.split('\0');
    while let Some(token) = tokens.next() {
        let token = token.trim_start_matches('\n');
        if let Some(hash) = token.strip_prefix("commit ") {
            commit = hash.to_owned();
        } else if token.starts_with(':') {
            // `:100644 100644 <old> <new> M`, then the path.
            let Some(path) = tokens.next() else { break };
            let Some(blob) = token.split(' ').nth(3) else {
                continue;
            };
            if !wanted_path(path, 0) || blob.bytes().all(|b| b == b'0') {
                continue;
            }
            blobs
                .entry(blob.to_owned())
                .or_insert_with(|| (commit.clone(), path.to_owned()));
        }
    }
    Ok(blobs)
}

/// Blob ids of the tracked files as they are in the index.
fn current_blobs(root: &Path) -> anyhow::Result<BTreeSet<String>> {
    let out = git(root)
        .args(["ls-files", "-s", "-z"])
        .output()
        .context("running git ls-files -s")?;
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let entry = std::str::from_utf8(entry).ok()?;
            entry.split(' ').nth(1).map(str::to_owned)
        })
        .collect())
}

/// GIT020 over every blob of history under `root`.
pub(crate) fn audit_history(root: &Path) -> anyhow::Result<Vec<Finding>> {
    if !is_work_tree(root) {
        bail!(
            "--history needs a Git checkout, and {} is not one",
            root.display()
        );
    }
    let current = current_blobs(root)?;
    let blobs: Vec<(String, (String, String))> = history_blobs(root)?
        .into_iter()
        .filter(|(blob, _)| !current.contains(blob))
        .collect();
    if blobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = git(root)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("running git cat-file")?;
    let mut stdin = child.stdin.take().context("git cat-file has no stdin")?;
    let ids: Vec<String> = blobs.iter().map(|(blob, _)| blob.clone()).collect();
    let feeder = std::thread::spawn(move || {
        for id in ids {
            if writeln!(stdin, "{id}").is_err() {
                break;
            }
        }
    });
    let stdout = child.stdout.take().context("git cat-file has no stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut findings = Vec::new();
    for (blob, (commit, path)) in &blobs {
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .context("reading git cat-file")?;
        // `<id> blob <size>`, or `<id> missing`.
        let size: Option<u64> = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok());
        let Some(size) = size else { continue };
        let mut bytes = vec![0; usize::try_from(size).context("blob size")?];
        reader
            .read_exact(&mut bytes)
            .with_context(|| format!("reading blob {blob}"))?;
        let mut newline = [0u8; 1];
        reader
            .read_exact(&mut newline)
            .context("reading git cat-file")?;
        if wanted_path(path, size) {
            findings.extend(scan_blob(
                &GitFile {
                    path,
                    bytes: &bytes,
                },
                commit,
            ));
        }
        bytes.zeroize();
    }
    let _ = feeder.join();
    let status = child.wait().context("waiting for git cat-file")?;
    if !status.success() {
        bail!("git cat-file failed ({status})");
    }
    Ok(findings)
}
