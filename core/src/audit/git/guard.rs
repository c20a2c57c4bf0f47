//! Guard rails (GIT040, info): does a pre-commit hook or a CI job run a secret scanner (ours,
//! gitleaks, trufflehog, detect-secrets, ggshield)? One `pass` finding per config that runs
//! one; a `warn` when none does.

use super::{GitFile, finding, line_at};
use crate::audit::{Finding, Scope, Severity, Status, Subject};

/// Names a scanner run by pre-commit or CI, lowercase.
const SCANNERS: [&str; 6] = [
    "kubectl secrets doctor",
    "kubectl-secrets doctor",
    "gitleaks",
    "trufflehog",
    "detect-secrets",
    "ggshield",
];

/// Whether `path` is a pre-commit or CI configuration.
pub(super) fn is_guard_config(path: &str) -> bool {
    let name = path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(
        name.as_str(),
        ".pre-commit-config.yaml"
            | ".pre-commit-config.yml"
            | ".gitlab-ci.yml"
            | "jenkinsfile"
            | "bitbucket-pipelines.yml"
            | "azure-pipelines.yml"
            | ".drone.yml"
            | "lefthook.yml"
            | ".lefthook.yml"
    ) || [
        ".github/workflows/",
        ".circleci/",
        ".husky/",
        ".buildkite/",
        ".woodpecker/",
    ]
    .iter()
    .any(|dir| path.starts_with(dir))
}

/// The GIT040 findings of a tree (none for an empty tree).
pub(super) fn check(files: &[GitFile<'_>]) -> Vec<Finding> {
    if files.is_empty() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for file in files.iter().filter(|f| is_guard_config(f.path)) {
        let Ok(text) = std::str::from_utf8(file.bytes) else {
            continue;
        };
        let lower = text.to_ascii_lowercase();
        let Some((scanner, at)) = SCANNERS
            .iter()
            .find_map(|s| lower.find(s).map(|at| (*s, at)))
        else {
            continue;
        };
        let mut f = finding(
            "GIT040",
            Severity::Info,
            file.path,
            line_at(text, at),
            Scope::Cluster,
        );
        f.status = Status::Pass;
        f.message = format!("{scanner} scans commits in {}", file.path);
        findings.push(f);
    }
    if findings.is_empty() {
        let mut f = finding(
            "GIT040",
            Severity::Info,
            ".pre-commit-config.yaml",
            1,
            Scope::Cluster,
        );
        f.status = Status::Warn;
        f.subject = Subject::new("File", ".pre-commit-config.yaml");
        f.location = None;
        f.message = "no secret scanner runs in pre-commit or CI: plaintext Secrets reach Git \
                     unchecked"
            .to_owned();
        f.hint = "add a pre-commit hook or CI step running kubectl secrets doctor --git . \
                  --no-cluster (or gitleaks)"
            .to_owned();
        findings.push(f);
    }
    findings
}
