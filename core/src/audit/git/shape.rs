//! Which documents are plaintext Secrets (GIT010) or half-encrypted SOPS Secrets (GIT012).
//!
//! A document is a Secret when its `kind` is `Secret` and its `apiVersion` is `v1` (or
//! missing), wherever those keys sit in the mapping; `List` and `*List` documents count as
//! their `items`. Its `data` values are base64-decoded, then every value is judged by
//! [`placeholder::is_real`]. Not Secrets, so never reported: SealedSecrets, ExternalSecrets,
//! SecretProviderClasses and every other kind.

use base64::Engine as _;
use serde_yaml_ng::Value;
use zeroize::Zeroizing;

use super::document::{self, Doc};
use super::{finding, line_at, placeholder, scope_of};
use crate::audit::{Finding, Severity, Status};
use crate::seal::keys::{BITNAMI_KEY_LABEL, KEY_LABEL};

/// Cheap test before any parsing: a Secret document (SOPS-encrypted ones included) names its
/// kind, `kind: Secret` with any quoting, in block, flow or JSON style. Files without one are
/// never parsed, which keeps a large checkout fast.
pub(super) fn worth_parsing(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices("Secret").any(|(at, _)| {
        let after = bytes.get(at + "Secret".len()).copied();
        if after.is_some_and(|b| b.is_ascii_alphanumeric()) {
            return false; // SecretList is found by its items; SecretProviderClass is not one
        }
        let before = bytes.get(..at).unwrap_or_default();
        let skip = |s: &[u8]| {
            let n = s
                .iter()
                .rev()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'"' | b'\''))
                .count();
            s.len() - n
        };
        let Some(colon) = skip(before).checked_sub(1) else {
            return false;
        };
        if before.get(colon) != Some(&b':') {
            return false;
        }
        let key_end = skip(before.get(..colon).unwrap_or_default());
        before.get(..key_end).is_some_and(|k| k.ends_with(b"kind"))
    })
}

/// One Secret object found in a document.
pub(super) struct SecretInfo {
    pub(super) namespace: Option<String>,
    pub(super) name: String,
    /// `data.k` / `stringData.k` of the keys with real values.
    pub(super) real_keys: Vec<String>,
    /// Why it is critical, if it is.
    pub(super) critical: Option<&'static str>,
    /// The document has a top-level `sops` map.
    pub(super) sops: bool,
    /// Its index among the Secrets of the document, for locating its `kind` line.
    pub(super) nth: usize,
}

impl SecretInfo {
    /// `ns/name` or `name`.
    pub(super) fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Every Secret of a document tree, `List` items included.
pub(super) fn secrets_in(value: &Value) -> Vec<SecretInfo> {
    let sops = matches!(value.get("sops"), Some(Value::Mapping(_)));
    let mut out = Vec::new();
    collect(value, sops, &mut out);
    out
}

fn collect(value: &Value, sops: bool, out: &mut Vec<SecretInfo>) {
    let value = untag(value);
    // A top-level JSON array of objects, as some tools write them.
    if let Value::Sequence(items) = value {
        for item in items {
            collect(item, sops, out);
        }
        return;
    }
    let kind = text_at(value, "kind");
    let api_version = text_at(value, "apiVersion");
    if kind.is_some_and(|k| k == "List" || k.ends_with("List")) {
        if let Some(Value::Sequence(items)) = value.get("items").map(untag) {
            for item in items {
                collect(item, sops, out);
            }
        }
        return;
    }
    if kind != Some("Secret") || !matches!(api_version, None | Some("v1")) {
        return;
    }
    let metadata = value.get("metadata").map(untag);
    let meta = |key: &str| metadata.and_then(|m| text_at(m, key)).map(str::to_owned);
    let type_ = text_at(value, "type").unwrap_or_default();
    let mut real_keys = Vec::new();
    let mut private_key = false;
    let mut tls_key = false;
    for (field, base64_encoded) in [("data", true), ("stringData", false)] {
        let Some(Value::Mapping(map)) = value.get(field).map(untag) else {
            continue;
        };
        for (key, raw) in map {
            let key = scalar_text(key).unwrap_or_default();
            let (real, is_pem) = judge(untag(raw), base64_encoded);
            if real {
                private_key |= is_pem;
                tls_key |= key == "tls.key";
                real_keys.push(format!("{field}.{key}"));
            }
        }
    }
    let labels = metadata.and_then(|m| m.get("labels")).map(untag);
    let sealing_key = [KEY_LABEL, BITNAMI_KEY_LABEL]
        .iter()
        .any(|label| labels.and_then(|l| l.get(*label)).is_some());
    let critical = if sealing_key {
        Some("a sealing key: it opens every SealedSecret sealed for it")
    } else if type_ == "kubernetes.io/service-account-token" {
        Some("a service-account token")
    } else if type_ == "kubernetes.io/tls" && tls_key {
        Some("a TLS private key")
    } else if matches!(
        type_,
        "kubernetes.io/dockerconfigjson" | "kubernetes.io/dockercfg"
    ) {
        Some("registry credentials")
    } else if private_key {
        Some("a private key")
    } else {
        None
    };
    out.push(SecretInfo {
        namespace: meta("namespace").filter(|ns| !ns.is_empty()),
        name: meta("name").unwrap_or_else(|| "<unnamed>".to_owned()),
        real_keys,
        critical,
        sops,
        nth: out.len(),
    });
}

/// Whether a value is real, and whether it is a PEM private key. Decoded bytes are wiped here.
fn judge(raw: &Value, base64_encoded: bool) -> (bool, bool) {
    let text: Zeroizing<String> = match raw {
        Value::Null => return (false, false),
        Value::String(s) => Zeroizing::new(s.clone()),
        // A number or boolean where a string belongs is still a value someone committed.
        Value::Number(_) | Value::Bool(_) => return (true, false),
        _ => return (false, false),
    };
    if !placeholder::is_real_text(&text) {
        return (false, false);
    }
    if !base64_encoded {
        return (true, text.contains("PRIVATE KEY-----"));
    }
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        Ok(decoded) => {
            let decoded = Zeroizing::new(decoded);
            let is_pem = decoded.windows(16).any(|w| w == b"PRIVATE KEY-----");
            (placeholder::is_real(&decoded), is_pem)
        }
        // Not base64: plaintext pasted under `data`, a value all the same.
        Err(_) => (true, false),
    }
}

/// GIT010 and GIT012 findings of one file, and (when asked) a low warning for each part that
/// does not parse. Helm templates (`{{`) are not manifests: their parse failures are silent.
pub(super) fn check(path: &str, text: &str, report_parse_errors: bool) -> Vec<Finding> {
    let parsed = document::parse(text);
    let mut findings = Vec::new();
    for doc in &parsed.docs {
        for secret in secrets_in(&doc.value) {
            if let Some(found) = secret_finding(path, text, doc, &secret) {
                findings.push(found);
            }
        }
    }
    if report_parse_errors && !text.contains("{{") {
        for failure in &parsed.failures {
            let line = first_content_line(text, failure.start);
            let mut warn = finding("GIT010", Severity::Low, path, line, scope_of(None));
            warn.status = Status::Warn;
            warn.message = format!("could not be parsed as YAML/JSON: {}", failure.message);
            warn.hint = "fix the syntax so Secrets in it can be checked (kubectl apply would \
                         refuse it too)"
                .to_owned();
            findings.push(warn);
        }
    }
    findings
}

fn secret_finding(path: &str, text: &str, doc: &Doc, secret: &SecretInfo) -> Option<Finding> {
    if secret.real_keys.is_empty() {
        return None;
    }
    let line = kind_line(text, doc.start, doc.end, secret.nth);
    let mut via = vec![
        format!("document {}", doc.number),
        format!("Secret/{}", secret.display()),
    ];
    via.extend(secret.real_keys.iter().cloned());
    let keys = secret.real_keys.join(", ");
    let scope = scope_of(secret.namespace.as_deref());
    let found = if secret.sops {
        let mut f = finding("GIT012", Severity::High, path, line, scope);
        f.message = format!(
            "Secret {} is SOPS-encrypted only in part: {keys} in plaintext",
            secret.display()
        );
        f.hint = format!(
            "encrypt every value: sops -e -i {path} (check encrypted_regex in .sops.yaml), then \
             rotate the values committed in plaintext"
        );
        f
    } else {
        let severity = if secret.critical.is_some() {
            Severity::Critical
        } else {
            Severity::High
        };
        let mut f = finding("GIT010", severity, path, line, scope);
        let what = secret
            .critical
            .map(|why| format!(" ({why})"))
            .unwrap_or_default();
        f.message = format!(
            "plaintext Secret {}{what} with values for {keys}",
            secret.display()
        );
        f.hint = format!(
            "seal it in place: kubectl secrets doctor --git . --fix (or kubectl secrets seal -f \
             {path}), then rotate the values: they stay in Git history"
        );
        f
    };
    Some(Finding { via, ..found })
}

/// The line of the `nth` `kind: Secret` key in `text[start..end]`, else the document's first
/// content line.
pub(super) fn kind_line(text: &str, start: usize, end: usize, nth: usize) -> usize {
    let part = text.get(start..end).unwrap_or_default();
    let mut offset = start;
    let mut seen = 0;
    for line in part.split_inclusive('\n') {
        if is_kind_secret_line(line) {
            if seen == nth {
                return line_at(text, offset);
            }
            seen += 1;
        }
        offset += line.len();
    }
    first_content_line(text, start)
}

/// `kind: Secret`, `- kind: "Secret"`, `"kind": "Secret",` …
fn is_kind_secret_line(line: &str) -> bool {
    let line = line
        .trim()
        .trim_start_matches(['-', ' ', '{', '['])
        .trim_start();
    let Some(rest) = line
        .strip_prefix("\"kind\"")
        .or_else(|| line.strip_prefix("'kind'"))
        .or_else(|| line.strip_prefix("kind"))
    else {
        return false;
    };
    let Some(value) = rest.trim_start().strip_prefix(':') else {
        return false;
    };
    let value = value
        .split(['#', ',', '}'])
        .next()
        .unwrap_or_default()
        .trim();
    value.trim_matches(['"', '\'']) == "Secret"
}

/// The first line at or after `start` that is not a marker, a comment or blank.
fn first_content_line(text: &str, start: usize) -> usize {
    let mut offset = start.min(text.len());
    for line in text.get(offset..).unwrap_or_default().split_inclusive('\n') {
        let trimmed = line.trim();
        if !(trimmed.is_empty() || trimmed.starts_with('#') || document::is_marker(line)) {
            break;
        }
        offset += line.len();
    }
    line_at(text, offset.min(text.len().saturating_sub(1)))
}

/// Local tags are dropped, as kubectl does.
pub(super) fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

fn text_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).map(untag).and_then(Value::as_str)
}

/// A mapping key as text (kubectl turns `true` and `1` keys into strings).
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match untag(value) {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
