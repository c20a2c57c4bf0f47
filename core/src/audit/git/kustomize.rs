//! Kustomize `secretGenerator`s (GIT011, high): `literals` with real values, and `files`,
//! `envs` (and the older `env`) that point at files of the tree holding real values. The
//! generated Secret never appears in the checkout; its values do.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;
use zeroize::Zeroizing;

use super::shape::{scalar_text, untag};
use super::{GitFile, document, finding, line_at, placeholder, scope_of};
use crate::audit::{Finding, Severity};

const HINT_SEAL: &str = "replace the generator with a SealedSecret (kubectl secrets seal \
                         --from-literal/--from-file …) or an ExternalSecret, then rotate the \
                         values: they stay in Git history";

/// Whether `path` names a kustomization.
pub(super) fn is_kustomization(path: &str) -> bool {
    matches!(
        path.rsplit('/').next().unwrap_or_default(),
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

/// GIT011 findings of every kustomization in the tree.
pub(super) fn check(files: &[GitFile<'_>]) -> Vec<Finding> {
    let by_path: BTreeMap<&str, &[u8]> = files.iter().map(|f| (f.path, f.bytes)).collect();
    let mut findings = Vec::new();
    for file in files.iter().filter(|f| is_kustomization(f.path)) {
        let Ok(text) = std::str::from_utf8(file.bytes) else {
            continue;
        };
        if !text.contains("secretGenerator") {
            continue;
        }
        let parsed = document::parse(text);
        for doc in &parsed.docs {
            generators(file.path, text, &doc.value, &by_path, &mut findings);
        }
    }
    findings
}

fn generators(
    path: &str,
    text: &str,
    value: &Value,
    by_path: &BTreeMap<&str, &[u8]>,
    findings: &mut Vec<Finding>,
) {
    let Some(Value::Sequence(entries)) = value.get("secretGenerator").map(untag) else {
        return;
    };
    let top_namespace = value.get("namespace").and_then(scalar_text);
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let generator_at = text.find("secretGenerator").unwrap_or(0);
    for entry in entries {
        let name = entry
            .get("name")
            .and_then(scalar_text)
            .unwrap_or_else(|| "<unnamed>".to_owned());
        let namespace = entry
            .get("namespace")
            .and_then(scalar_text)
            .or_else(|| top_namespace.clone());
        let scope = scope_of(namespace.as_deref());
        let generator = format!("secretGenerator/{name}");

        let literals: Vec<String> = list(entry, "literals")
            .into_iter()
            .filter_map(|literal| {
                let (key, value) = literal.split_once('=')?;
                let value = Zeroizing::new(value.trim().trim_matches(['"', '\'']).to_owned());
                placeholder::is_real_text(&value).then(|| key.trim().to_owned())
            })
            .collect();
        if let Some(first) = literals.first() {
            let line = line_of(text, &format!("{first}="), generator_at);
            let mut f = finding("GIT011", Severity::High, path, line, scope.clone());
            f.via = vec![generator.clone()];
            f.via
                .extend(literals.iter().map(|k| format!("literal {k}")));
            f.message = format!(
                "Kustomize {generator} has plaintext literals: {}",
                literals.join(", ")
            );
            f.hint = HINT_SEAL.to_owned();
            findings.push(f);
        }

        for (field, source) in sources(entry) {
            let Some(resolved) = join(dir, source.trim()) else {
                continue;
            };
            let Some(bytes) = by_path.get(resolved.as_str()) else {
                continue;
            };
            let real = if field == "files" {
                placeholder::is_real(bytes)
            } else {
                env_has_real_value(bytes)
            };
            if !real {
                continue;
            }
            let line = line_of(text, source.trim(), generator_at);
            let mut f = finding("GIT011", Severity::High, path, line, scope.clone());
            f.via = vec![generator.clone(), format!("{field}: {resolved}")];
            f.message = format!("Kustomize {generator} reads plaintext file {resolved} from Git");
            f.hint = format!(
                "remove {resolved} from Git (git rm --cached, then .gitignore); {HINT_SEAL}"
            );
            findings.push(f);
        }
    }
}

/// The `files`, `envs` and `env` sources of a generator entry, as written (`key=path` reduced to
/// the path).
fn sources(entry: &Value) -> Vec<(&'static str, String)> {
    let mut sources: Vec<(&'static str, String)> = list(entry, "files")
        .into_iter()
        .map(|file| {
            let file = file.split_once('=').map_or(file.as_str(), |(_, p)| p);
            ("files", file.trim().to_owned())
        })
        .collect();
    sources.extend(
        list(entry, "envs")
            .into_iter()
            .map(|env| ("envs", env.trim().to_owned())),
    );
    sources.extend(
        entry
            .get("env")
            .and_then(scalar_text)
            .map(|env| ("env", env)),
    );
    sources
}

/// Every path the tree's `secretGenerator`s read, resolved against their kustomization's
/// folder, sorted and deduplicated.
pub(super) fn references(files: &[GitFile<'_>]) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for file in files.iter().filter(|f| is_kustomization(f.path)) {
        let Ok(text) = std::str::from_utf8(file.bytes) else {
            continue;
        };
        if !text.contains("secretGenerator") {
            continue;
        }
        let dir = file.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for doc in &document::parse(text).docs {
            let Some(Value::Sequence(entries)) = doc.value.get("secretGenerator").map(untag) else {
                continue;
            };
            for entry in entries {
                out.extend(
                    sources(entry)
                        .into_iter()
                        .filter_map(|(_, s)| join(dir, s.trim())),
                );
            }
        }
    }
    out.into_iter().collect()
}

/// A list of strings under `key`, wiped when dropped (`literals` hold values).
fn list(entry: &Value, key: &str) -> Vec<Zeroizing<String>> {
    match entry.get(key).map(untag) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(scalar_text)
            .map(Zeroizing::new)
            .collect(),
        _ => Vec::new(),
    }
}

/// An env file (`KEY=value` lines) with at least one real value.
fn env_has_real_value(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return true;
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .any(|line| match line.split_once('=') {
            Some((_, value)) => placeholder::is_real_text(value.trim().trim_matches(['"', '\''])),
            // A bare `KEY` takes the value from the environment of whoever runs kustomize.
            None => false,
        })
}

/// `dir/rel` with `.` and `..` resolved; `None` when it leaves the root or is absolute.
pub(super) fn join(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in rel.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// The line of the first `needle` at or after byte `from`, else the line of `from`.
fn line_of(text: &str, needle: &str, from: usize) -> usize {
    let at = text
        .get(from..)
        .and_then(|rest| rest.find(needle))
        .map_or(from, |offset| from + offset);
    line_at(text, at)
}
