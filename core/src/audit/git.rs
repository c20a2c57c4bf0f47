//! Plaintext Secrets in Git (reference `doctor.md` §3): the checks over a checkout's files and
//! over blobs of its history, and the `--fix` rewrite into SealedSecrets. Pure: the plugin walks
//! the tree and the history, reads the files [`wanted_path`] asks for, and hands them over.
//!
//! Data flow:
//!
//! ```text
//!  GitFile (path, bytes) ──[wanted_path: name, size]──▶ cheap byte filter (`Secret`, `sops`,
//!   from the plugin's walk                              `secretGenerator`, `PRIVATE KEY`, …)
//!                                                                    │
//!          ┌────────────────────────────┬────────────────────────────┼──────────────────┐
//!          ▼                            ▼                            ▼                  ▼
//!   document::split + parse     kustomize (literals,          helm (values.yaml   keys (PEM
//!   (YAML `---` / JSON stream,   files, envs of the tree)     ⇢ Secret templates)  blocks)
//!    byte offsets → lines)              │                            │                  │
//!          ▼                            ▼                            ▼                  ▼
//!   shape: Secret, List items,        GIT011 (high)              GIT011 (medium)    GIT030
//!   data/stringData decoded,                                                      (critical)
//!   placeholders and SOPS `ENC[…]` left out ──▶ GIT010 / GIT012 ──▶ Vec<Finding>
//!                                    (scan_blob: the same hits as GIT020, with the commit)
//! ```
//!
//! Findings name keys, never values: decoded values are checked and wiped on the spot. What
//! counts as a placeholder is listed in [`placeholder`]. The fix ([`plan_fix`]) rewrites only
//! the Secret documents of a file; every other byte stays.

mod document;
mod fix;
mod guard;
mod helm;
mod keys;
mod kustomize;
pub mod placeholder;
mod shape;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_edge;
#[cfg(test)]
mod tests_fix;

pub use fix::{FixChange, FixError, FixPlan, FixSkip, plan_fix, plan_fix_as};

use crate::audit::{Category, Finding, Location, Scope, Severity, Status, Subject};

/// Largest file worth reading: manifests are small, and a Secret is at most 1 MiB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The hint of every history finding.
pub const HISTORY_HINT: &str =
    "rotate it: the value is in every clone; removing the file does not remove it";

/// One file of a checkout or one blob of history.
#[derive(Clone, Copy)]
pub struct GitFile<'a> {
    /// Relative to the `--git` root, `/`-separated.
    pub path: &'a str,
    /// The file's content.
    pub bytes: &'a [u8],
}

// Hand-written: the bytes may be a plaintext Secret.
impl std::fmt::Debug for GitFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitFile")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Whether the plugin should read a file at all, by its path and size: YAML and JSON
/// manifests, kustomizations, Helm values, `.env` files, PEM and key files (`*.pem`, `*.key`,
/// `master.key`, `id_rsa`, …), files named like credentials (kustomize `files:` point at such),
/// and the pre-commit and CI configs GIT040 reads. Larger than [`MAX_FILE_BYTES`]: no.
pub fn wanted_path(path: &str, len: u64) -> bool {
    if len > MAX_FILE_BYTES {
        return false;
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments
        .iter()
        .any(|s| matches!(*s, ".git" | "node_modules"))
    {
        return false;
    }
    let name = segments
        .last()
        .copied()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    matches!(
        ext,
        "yaml" | "yml" | "json" | "env" | "pem" | "key" | "p8" | "properties"
    ) || matches!(
        name.as_str(),
        "kustomization"
            | "master.key"
            | "jenkinsfile"
            | ".env"
            | "id_rsa"
            | "id_dsa"
            | "id_ecdsa"
            | "id_ed25519"
    ) || name.starts_with(".env.")
        || ["secret", "password", "passwd", "token", "credential"]
            .iter()
            .any(|word| name.contains(word))
        || guard::is_guard_config(path)
}

/// The files the tree's Kustomize `secretGenerator`s read (`files`, `envs`), as paths relative
/// to the root. They may have any name, so [`wanted_path`] can miss them: the plugin reads
/// these too (when present and not larger than [`MAX_FILE_BYTES`]) and passes them to
/// [`scan_tree`] with the rest.
pub fn kustomize_references(files: &[GitFile<'_>]) -> Vec<String> {
    kustomize::references(files)
}

/// The working tree: GIT010 (plaintext Secret manifests, and files that could not be parsed),
/// GIT011 (Kustomize generators, Helm values feeding Secret templates), GIT012 (half-encrypted
/// SOPS files), GIT030 (private keys) and GIT040 (no secret scanner in pre-commit or CI).
/// Every file at once: generators and charts refer to other files of the tree.
pub fn scan_tree(files: &[GitFile<'_>]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for file in files {
        if is_binary(file.bytes) {
            continue;
        }
        findings.extend(scan_self_contained(file, true));
    }
    findings.extend(kustomize::check(files));
    findings.extend(helm::check(files));
    findings.extend(guard::check(files));
    findings
}

/// One blob from history, added by `commit` (its full hash): plaintext Secret manifests,
/// half-encrypted SOPS files and private keys, each as a GIT020 finding (critical for the
/// critical kinds, else high) that says to rotate. Files that do not parse are not reported:
/// history holds every draft.
pub fn scan_blob(file: &GitFile<'_>, commit: &str) -> Vec<Finding> {
    if is_binary(file.bytes) {
        return Vec::new();
    }
    scan_self_contained(file, false)
        .into_iter()
        .filter(|f| f.status == Status::Fail)
        .map(|mut f| {
            f.severity = if f.severity == Severity::Critical {
                Severity::Critical
            } else {
                Severity::High
            };
            f.message = format!("in history ({}): {}", f.id, f.message);
            f.id = "GIT020".to_owned();
            f.hint = HISTORY_HINT.to_owned();
            if let Some(location) = &mut f.location {
                location.commit = Some(commit.to_owned());
            }
            f
        })
        .collect()
}

/// The checks that need only the file itself.
fn scan_self_contained(file: &GitFile<'_>, report_parse_errors: bool) -> Vec<Finding> {
    let mut findings = keys::check(file);
    if let Ok(text) = std::str::from_utf8(file.bytes)
        && shape::worth_parsing(text)
    {
        findings.extend(shape::check(file.path, text, report_parse_errors));
    }
    findings
}

/// NUL bytes early on: a binary file, not a manifest.
fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|&b| b == 0)
}

/// A Git finding about `path`, status fail; callers fill in `via`, `message` and `hint`.
fn finding(id: &str, severity: Severity, path: &str, line: usize, scope: Scope) -> Finding {
    Finding {
        id: id.to_owned(),
        category: Category::Git,
        severity,
        status: Status::Fail,
        suppressed: false,
        subject: Subject::new("File", path),
        scope,
        location: Some(Location {
            path: path.to_owned(),
            line: u32::try_from(line.max(1)).unwrap_or(u32::MAX),
            commit: None,
        }),
        via: Vec::new(),
        message: String::new(),
        hint: String::new(),
    }
}

/// The scope of a manifest: its namespace, or `cluster` when it names none.
fn scope_of(namespace: Option<&str>) -> Scope {
    match namespace {
        Some(ns) if !ns.is_empty() => Scope::Namespace(ns.to_owned()),
        _ => Scope::Cluster,
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map_or(0, |head| head.iter().filter(|&&b| b == b'\n').count())
        + 1
}
