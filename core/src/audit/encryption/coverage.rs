//! ENC020: what an EncryptionConfiguration does to Secrets.
//!
//! The apiserver looks a resource up as `secrets` (exact, also written `secrets.`), then the
//! core-group wildcard `*.`, then `*.*`; with none, Secrets are stored by `identity`. Listing an
//! exact resource after a wildcard that already covers it is refused at startup ("masked by an
//! earlier rule"), so in a file the apiserver accepts, the first matching entry wins, and an
//! `identity`-only entry for `secrets` placed before `*.*` opts Secrets out. Only the first
//! provider of that entry encrypts writes; the others only read what was written before.

use super::{Draft, EncryptionConfig, KmsVersion, ProviderKind, REWRITE, ResourceRule};
use crate::audit::{Finding, Severity, Status, Subject};

/// Keys for AES-256 and XSalsa20 are 32 bytes; the apiserver accepts 16 and 24 for aescbc.
const KEY_BYTES: usize = 32;

const STRONG: &str = "put `- kms: {apiVersion: v2, name: <plugin>, endpoint: unix:///<socket>}` \
     (or `- secretbox: {keys: [{name: key1, secret: <32 random bytes, base64>}]}`) first in the \
     providers of the entry covering secrets and `- identity: {}` last, restart every apiserver, ";

/// How a pattern covers core-group `secrets`, in the apiserver's lookup order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Exact,
    CoreWildcard,
    AnyWildcard,
}

fn matches_secrets(pattern: &str) -> Option<Match> {
    match pattern {
        "secrets" | "secrets." => Some(Match::Exact),
        "*." => Some(Match::CoreWildcard),
        "*.*" => Some(Match::AnyWildcard),
        _ => None,
    }
}

/// The entry that stores Secrets: its index and the pattern that matched.
fn covering(config: &EncryptionConfig) -> Option<(usize, &ResourceRule, &str, Match)> {
    config
        .resources
        .iter()
        .enumerate()
        .flat_map(|(index, rule)| {
            rule.resources
                .iter()
                .filter_map(move |p| matches_secrets(p).map(|m| (index, rule, p.as_str(), m)))
        })
        .min_by_key(|(index, _, _, m)| (*m, *index))
}

/// Every ENC020 finding for `config`; `source` names it (the `--encryption-config` path).
pub fn analyse_config(config: &EncryptionConfig, source: &str) -> Vec<Finding> {
    let draft = |severity, status| Draft {
        id: "ENC020",
        severity,
        status,
        subject: Subject::new("EncryptionConfiguration", source),
    };
    let mut findings = Vec::new();
    if let Some(finding) = masked(config, draft(Severity::High, Status::Fail)) {
        findings.push(finding);
    }
    let Some((index, rule, pattern, _)) = covering(config) else {
        let covered: Vec<&str> = config
            .resources
            .iter()
            .flat_map(|r| r.resources.iter().map(String::as_str))
            .collect();
        let what = if covered.is_empty() {
            "no resources at all".to_owned()
        } else {
            covered.join(", ")
        };
        findings.push(
            draft(Severity::Critical, Status::Fail).finding(
                vec![format!(
                    "resources[*] cover {what}; none matches secrets, *. or *.*"
                )],
                "Secrets are not covered by any resources entry: they are written in plaintext"
                    .to_owned(),
                format!(
                    "add an entry `- resources: [secrets]` before the others: {STRONG}{REWRITE}"
                ),
            ),
        );
        return findings;
    };
    let entry = format!("resources[{index}] ({pattern})");
    let Some(first) = rule.providers.first() else {
        findings.push(draft(Severity::Critical, Status::Fail).finding(
            vec![format!("{entry} → no providers")],
            "the entry covering Secrets has no providers".to_owned(),
            format!("{STRONG}{REWRITE}"),
        ));
        return findings;
    };
    let via = vec![format!("{entry} → providers[0] {}", describe(&first.kind))];
    let (severity, status, message, hint) = match &first.kind {
        ProviderKind::Identity => (
            Severity::Critical,
            Status::Fail,
            if rule.providers.len() > 1 {
                "identity is the first provider: new writes are plaintext, whatever follows it"
            } else {
                "Secrets are opted out with identity only: they are written in plaintext"
            },
            format!("{STRONG}{REWRITE}"),
        ),
        ProviderKind::Kms {
            version: KmsVersion::V1,
            ..
        } => (
            Severity::Medium,
            Status::Fail,
            "KMS v1 writes Secrets: deprecated since 1.28 and off by default since 1.29",
            format!(
                "move to `apiVersion: v2` on the kms provider (plugin must speak v2), \
                 restart every apiserver, {REWRITE}"
            ),
        ),
        ProviderKind::Aescbc => (
            Severity::Low,
            Status::Fail,
            "aescbc writes Secrets: weak per upstream docs (padding oracle, key on the host)",
            format!("{STRONG}{REWRITE}"),
        ),
        ProviderKind::Aesgcm => (
            Severity::Medium,
            Status::Warn,
            "aesgcm writes Secrets: its key must rotate every 200,000 writes",
            format!("automate key rotation, or {STRONG}{REWRITE}"),
        ),
        ProviderKind::Secretbox
        | ProviderKind::Kms {
            version: KmsVersion::V2,
            ..
        } => (
            Severity::Info,
            Status::Pass,
            "Secrets are written with a strong provider",
            "nothing to do; rotate keys per the upstream encrypt-data guide".to_owned(),
        ),
    };
    findings.push(draft(severity, status).finding(via, message.to_owned(), hint));
    findings.extend(short_keys(
        rule,
        &entry,
        draft(Severity::Medium, Status::Fail),
    ));
    findings
}

fn describe(kind: &ProviderKind) -> String {
    match kind {
        ProviderKind::Kms { version, name } => {
            let version = match version {
                KmsVersion::V1 => "v1",
                KmsVersion::V2 => "v2",
            };
            format!("kms {version} {name}").trim_end().to_owned()
        }
        other => other.as_str().to_owned(),
    }
}

/// Keys shorter than 32 bytes in any provider of the covering entry: they encrypt (first
/// provider) or can decrypt (the rest) Secrets.
fn short_keys(rule: &ResourceRule, entry: &str, draft: Draft<'_>) -> Option<Finding> {
    let via: Vec<String> = rule
        .providers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind.has_local_keys())
        .flat_map(|(index, provider)| {
            provider
                .keys
                .iter()
                .filter(|key| key.length < KEY_BYTES)
                .map(move |key| {
                    format!(
                        "{entry} → providers[{index}] {} key {:?}: {} bytes",
                        provider.kind.as_str(),
                        key.name,
                        key.length
                    )
                })
        })
        .collect();
    (!via.is_empty()).then(|| {
        draft.finding(
            via,
            format!("keys shorter than {KEY_BYTES} bytes protect Secrets"),
            format!(
                "add a new first key of 32 random bytes (`head -c 32 /dev/urandom | base64`), \
                 restart every apiserver, {REWRITE}, then remove the short keys"
            ),
        )
    })
}

/// An exact `secrets` entry after a wildcard that covers it: the apiserver refuses the file.
fn masked(config: &EncryptionConfig, draft: Draft<'_>) -> Option<Finding> {
    let mut wildcard: Option<(usize, &str)> = None;
    for (index, rule) in config.resources.iter().enumerate() {
        for pattern in &rule.resources {
            match (matches_secrets(pattern), wildcard) {
                (Some(Match::Exact), Some((earlier, by))) => {
                    return Some(draft.finding(
                        vec![format!("resources[{index}] ({pattern}) after resources[{earlier}] ({by})")],
                        "the apiserver refuses this file: secrets is masked by an earlier wildcard"
                            .to_owned(),
                        "move the secrets entry before the wildcard entries".to_owned(),
                    ));
                }
                (Some(Match::CoreWildcard | Match::AnyWildcard), None) => {
                    wildcard = Some((index, pattern));
                }
                _ => {}
            }
        }
    }
    None
}
