//! SARIF 2.1.0 for the findings that sit in files (the Git checks), for code-scanning upload
//! (`doctor -o sarif`).
//!
//! Data flow:
//!
//! ```text
//!  Report ──[findings with a location]──▶ one rule per id (first finding's hint as help,
//!                                          the id's most severe finding as default level)
//!                                      ──▶ one result per finding: level, message, path and
//!                                          line, partial fingerprint, `suppressions` when the
//!                                          suppression file matched it
//!                                      ──▶ one run of one log (serde_json::Value)
//! ```
//!
//! Cluster findings (RBAC, encryption, our install) have no place in a checkout, so code
//! scanning could not show them; they stay in the text and JSON outputs.
//!
//! Fingerprints: code scanning tracks a result across commits by `partialFingerprints`. Ours is
//! a SHA-256 over the check id, the path and the `via` chain only. A finding never holds a
//! value, and the fingerprint is built from none: a hash of a short secret is a way to guess
//! it, so it must never be derived from file content (gitleaks' fingerprints are not).
//! The line is left out on purpose, so a result keeps its identity when lines above it move.

use serde_json::{Map, Value, json};

use crate::audit::{Finding, Report, Severity, Status};

#[cfg(test)]
mod tests;

/// The schema the output follows (OASIS SARIF 2.1.0, errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where the rules are explained.
const INFORMATION_URI: &str =
    "https://github.com/kubectl-secrets/kubectl-secrets/blob/main/docs/doctor.md";

/// The name of our partial fingerprint; the version changes if what it hashes ever does.
const FINGERPRINT_KEY: &str = "kubectlSecretsDoctor/v1";

/// The SARIF log of `report`'s findings that have a location, as one run of
/// `kubectl-secrets doctor` version `tool_version`.
pub fn to_sarif(report: &Report, tool_version: &str) -> Value {
    let located: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.location.is_some())
        .collect();
    let mut rule_ids: Vec<&str> = Vec::new();
    for finding in &located {
        if !rule_ids.contains(&finding.id.as_str()) {
            rule_ids.push(&finding.id);
        }
    }
    let rules: Vec<Value> = rule_ids.iter().map(|id| rule(id, &located)).collect();
    let results: Vec<Value> = located
        .iter()
        .map(|finding| {
            let index = rule_ids
                .iter()
                .position(|id| *id == finding.id)
                .unwrap_or_default();
            result(finding, index)
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubectl-secrets doctor",
                "version": tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// One rule: what the id checks, how to fix it, and its level by default.
fn rule(id: &str, located: &[&Finding]) -> Value {
    let of_id = || located.iter().filter(|f| f.id == id);
    let severity = of_id()
        .map(|f| f.severity)
        .min() // Severity sorts most severe first
        .unwrap_or(Severity::Info);
    let hint = of_id()
        .map(|f| f.hint.as_str())
        .find(|h| !h.is_empty())
        .unwrap_or("see the documentation of this check");
    let category = of_id().map(|f| f.category).next();
    let mut tags = vec![json!("security")];
    if let Some(category) = category.and_then(|c| serde_json::to_value(c).ok()) {
        tags.push(category);
    }
    json!({
        "id": id,
        "name": id,
        "shortDescription": {"text": short_description(id)},
        "help": {"text": hint},
        "helpUri": INFORMATION_URI,
        "defaultConfiguration": {"level": level(severity)},
        "properties": {"tags": tags, "security-severity": security_severity(severity)},
    })
}

/// One result. Only `fail` is a SARIF failure; the other statuses are kept with kind and no
/// level, as the format asks for results that are not failures.
fn result(finding: &Finding, rule_index: usize) -> Value {
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(finding.id));
    result.insert("ruleIndex".into(), json!(rule_index));
    let kind = match finding.status {
        Status::Fail | Status::Warn => None,
        Status::Pass => Some("pass"),
        Status::Incomplete | Status::Unknown => Some("review"),
    };
    match kind {
        None => {
            result.insert("level".into(), json!(level(finding.severity)));
        }
        Some(kind) => {
            result.insert("kind".into(), json!(kind));
            result.insert("level".into(), json!("none"));
        }
    }
    result.insert("message".into(), json!({"text": message(finding)}));
    if let Some(location) = &finding.location {
        let mut physical = json!({"artifactLocation": {
            "uri": uri_path(&location.path),
            "uriBaseId": "%SRCROOT%",
        }});
        if location.line >= 1 {
            physical["region"] = json!({"startLine": location.line});
        }
        result.insert("locations".into(), json!([{"physicalLocation": physical}]));
        result.insert(
            "partialFingerprints".into(),
            json!({FINGERPRINT_KEY: fingerprint(&finding.id, &location.path, &finding.via)}),
        );
        let mut properties = json!({
            "severity": finding.severity,
            "status": finding.status,
            "scope": finding.scope,
        });
        if let Some(commit) = &location.commit {
            properties["commit"] = json!(commit);
        }
        if !finding.via.is_empty() {
            properties["via"] = json!(finding.via);
        }
        result.insert("properties".into(), properties);
    }
    if finding.suppressed {
        result.insert(
            "suppressions".into(),
            json!([{"kind": "external", "justification": "matched by the suppression file"}]),
        );
    }
    Value::Object(result)
}

/// The result's text: the finding's line of why, and the hint, since code scanning shows the
/// message and not always the rule's help.
fn message(finding: &Finding) -> String {
    match (finding.message.is_empty(), finding.hint.is_empty()) {
        (false, false) => format!("{} — {}", finding.message, finding.hint),
        (false, true) => finding.message.clone(),
        (true, false) => finding.hint.clone(),
        (true, true) => finding.id.clone(),
    }
}

/// SARIF's three levels: what fails the build (critical, high) is an error.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's CVSS-like score (a string), which sorts alerts by severity.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// What each Git-side check looks for; ids not listed name themselves.
fn short_description(id: &str) -> String {
    let text = match id {
        "GIT010" => "Plaintext Secret manifest committed",
        "GIT011" => "Secret generator with literal values or files committed",
        "GIT012" => "SOPS file with values left unencrypted",
        "GIT020" => "Plaintext Secret in Git history",
        "GIT030" => "Private key committed",
        "DOC001" => "Suppression entry without a reason",
        "DOC002" => "Expired suppression entry",
        "DOC003" => "Suppression entry that matches nothing",
        _ => return format!("kubectl-secrets doctor check {id}"),
    };
    text.to_owned()
}

/// Hex SHA-256 of the id, the path and the chain, each ended by a NUL so no two inputs join
/// into the same bytes. Never a value (see the module doc).
fn fingerprint(id: &str, path: &str, via: &[String]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in std::iter::once(id)
        .chain(std::iter::once(path))
        .chain(via.iter().map(String::as_str))
    {
        context.update(part.as_bytes());
        context.update(&[0]);
    }
    context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A relative path as a URI reference: `/` kept, unreserved characters kept, everything else
/// percent-encoded (a space, `#` or `%` in a file name would otherwise change the URI).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
