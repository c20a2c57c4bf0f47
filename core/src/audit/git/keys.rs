//! Committed private keys (GIT030): PEM blocks `-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED
//! )?PRIVATE KEY-----` in any file, one finding per block. A block whose body is too short to be
//! a key (documentation writes `...`) is not reported. A key in `master.key` or in a file that
//! carries a sealing-key label is named as the sealing key: it opens every SealedSecret.

use super::{GitFile, finding, line_at};
use crate::audit::{Finding, Scope, Severity};
use crate::seal::keys::{BITNAMI_KEY_LABEL, KEY_LABEL};

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END";
const KINDS: [&str; 6] = ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "];
/// Fewer base64 characters than this between the markers: not a key (the smallest real one,
/// an Ed25519 PKCS#8 key, has 64).
const MIN_BODY: usize = 64;

/// GIT030 findings of one file.
pub(super) fn check(file: &GitFile<'_>) -> Vec<Finding> {
    let bytes = file.bytes;
    let mut findings = Vec::new();
    let mut from = 0;
    while let Some(at) = find(bytes, BEGIN, from) {
        from = at + BEGIN.len();
        let rest = bytes.get(from..).unwrap_or_default();
        let Some(kind) = KINDS.iter().find(|kind| {
            let header = format!("{kind}PRIVATE KEY-----");
            rest.starts_with(header.as_bytes())
        }) else {
            continue;
        };
        if !has_body(rest) {
            continue;
        }
        let found = key_finding(file, at, kind.trim(), findings.len() + 1);
        // One finding per line: a one-line JSON file may hold several keys.
        if findings.last().map(|f: &Finding| &f.location) != Some(&found.location) {
            findings.push(found);
        }
    }
    findings
}

fn key_finding(file: &GitFile<'_>, at: usize, kind: &str, block: usize) -> Finding {
    let line = line_at_bytes(file.bytes, at);
    let name = file.path.rsplit('/').next().unwrap_or_default();
    let sealing = name.eq_ignore_ascii_case("master.key")
        || find(file.bytes, KEY_LABEL.as_bytes(), 0).is_some()
        || find(file.bytes, BITNAMI_KEY_LABEL.as_bytes(), 0).is_some();
    let what = if kind.is_empty() {
        "a private key".to_owned()
    } else {
        format!("a private key ({kind})")
    };
    let mut f = finding(
        "GIT030",
        Severity::Critical,
        file.path,
        line,
        Scope::Cluster,
    );
    f.via = vec![format!("PEM block {block}")];
    if sealing {
        f.message = format!(
            "{what} is committed, and it looks like the sealing key: it opens every SealedSecret \
             sealed for it"
        );
        f.hint = "remove it (git rm) and keep key backups out of Git; rotate: kubectl secrets \
                  keys rotate, then kubectl secrets reseal, and treat every value sealed for \
                  the old key as exposed"
            .to_owned();
    } else {
        f.message = format!("{what} is committed");
        f.hint = "remove it (git rm), revoke it and issue a new key pair: the old one stays \
                  in Git history"
            .to_owned();
    }
    f
}

/// Enough base64 between the header and the `-----END` marker (escaped `\n`s of JSON strings
/// and YAML indentation do not count).
fn has_body(after_begin: &[u8]) -> bool {
    let body_start = after_begin
        .iter()
        .position(|&b| b == b'\n' || b == b'\\')
        .unwrap_or(after_begin.len());
    let body = after_begin.get(body_start..).unwrap_or_default();
    let body = match find(body, END, 0) {
        Some(end) => body.get(..end).unwrap_or_default(),
        None => body,
    };
    let mut count = 0;
    let mut escaped = false;
    for &b in body {
        if escaped {
            escaped = false;
            continue;
        }
        if b == b'\\' {
            escaped = true;
        } else if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') {
            count += 1;
        }
    }
    count >= MIN_BODY
}

/// The first `needle` in `hay` at or after `from`.
pub(super) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while let Some(offset) = hay.get(at..)?.iter().position(|&b| b == first) {
        let candidate = at + offset;
        if hay.get(candidate..)?.starts_with(needle) {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

fn line_at_bytes(bytes: &[u8], offset: usize) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(text) => line_at(text, offset),
        Err(_) => {
            bytes
                .get(..offset)
                .map_or(0, |head| head.iter().filter(|&&b| b == b'\n').count())
                + 1
        }
    }
}
