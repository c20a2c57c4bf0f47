//! Helm values feeding Secret templates (GIT011, medium): a chart (a folder with `Chart.yaml`)
//! whose `templates/` hold a file with `kind: Secret` that reads `.Values.a.b`, while the
//! chart's `values.yaml` has a real value at `a.b`. The template itself is not a finding
//! (`{{ .Values.a.b | b64enc }}` holds nothing); the default value is.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::shape::untag;
use super::{GitFile, document, finding, line_at, placeholder};
use crate::audit::{Finding, Scope, Severity};

/// GIT011 findings of every chart in the tree.
pub(super) fn check(files: &[GitFile<'_>]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for chart in files.iter().filter(|f| is_chart_yaml(f.path)) {
        let dir = chart.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let prefix = |p: &str| {
            if dir.is_empty() {
                p.to_owned()
            } else {
                format!("{dir}/{p}")
            }
        };
        let values_paths = [prefix("values.yaml"), prefix("values.yml")];
        let Some(values) = files
            .iter()
            .find(|f| values_paths.iter().any(|p| p == f.path))
        else {
            continue;
        };
        let templates = prefix("templates/");
        let mut refs: BTreeSet<(String, &str)> = BTreeSet::new();
        for template in files.iter().filter(|f| f.path.starts_with(&templates)) {
            let Ok(text) = std::str::from_utf8(template.bytes) else {
                continue;
            };
            if text.lines().any(|l| l.trim() == "kind: Secret") {
                refs.extend(value_refs(text).into_iter().map(|r| (r, template.path)));
            }
        }
        if refs.is_empty() {
            continue;
        }
        let Ok(text) = std::str::from_utf8(values.bytes) else {
            continue;
        };
        let parsed = document::parse(text);
        let Some(doc) = parsed.docs.first() else {
            continue;
        };
        let mut seen = BTreeSet::new();
        for (reference, template) in &refs {
            if !seen.insert(reference.clone()) {
                continue;
            }
            let segments: Vec<&str> = reference.split('.').collect();
            let Some(node) = lookup(&doc.value, &segments) else {
                continue;
            };
            if !has_real(node) {
                continue;
            }
            let line = line_of_path(text, &segments);
            let mut f = finding(
                "GIT011",
                Severity::Medium,
                values.path,
                line,
                Scope::Cluster,
            );
            f.via = vec![(*template).to_owned(), format!(".Values.{reference}")];
            f.message = format!(
                "Helm values hold a plaintext value for .Values.{reference}, which {template} \
                 puts into a Secret"
            );
            f.hint = "keep the value out of values.yaml: give it at install time, point the \
                      chart at an existing Secret made from a SealedSecret or an ExternalSecret, \
                      or encrypt the values file with SOPS; then rotate it"
                .to_owned();
            findings.push(f);
        }
    }
    findings
}

fn is_chart_yaml(path: &str) -> bool {
    path.rsplit('/').next() == Some("Chart.yaml")
}

/// The paths after every `.Values.` in a template (`db.password` for `.Values.db.password`).
fn value_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".Values.") {
        let after = rest.get(at + ".Values.".len()..).unwrap_or_default();
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(after.len());
        let path = after.get(..len).unwrap_or_default().trim_end_matches('.');
        if !path.is_empty() {
            out.push(path.to_owned());
        }
        rest = after;
    }
    out
}

fn lookup<'v>(value: &'v Value, segments: &[&str]) -> Option<&'v Value> {
    segments
        .iter()
        .try_fold(untag(value), |node, segment| node.get(*segment).map(untag))
}

/// A real scalar, or a map or list holding one.
fn has_real(value: &Value) -> bool {
    match untag(value) {
        Value::String(s) => placeholder::is_real_text(s),
        Value::Number(_) => true,
        Value::Mapping(map) => map.values().any(has_real),
        Value::Sequence(items) => items.iter().any(has_real),
        Value::Null | Value::Bool(_) | Value::Tagged(_) => false,
    }
}

/// The line of the last segment's key, found segment after segment.
fn line_of_path(text: &str, segments: &[&str]) -> usize {
    let mut offset = 0;
    for segment in segments {
        let mut at = offset;
        let mut found = None;
        for line in text.get(offset..).unwrap_or_default().split_inclusive('\n') {
            let key = line.trim_start().trim_matches(['"', '\'']);
            if key.starts_with(&format!("{segment}:"))
                || line.trim_start().starts_with(&format!("\"{segment}\":"))
            {
                found = Some(at);
                break;
            }
            at += line.len();
        }
        match found {
            Some(at) => offset = at,
            None => break,
        }
    }
    line_at(text, offset)
}
