//! The encryption checks from fixtures (`core/tests/fixtures/audit/encryption/`), one per trap
//! of the reference's §2: each asserts the findings that must appear and those that must not,
//! and that no key, token or env value of the fixtures reaches any finding.

mod cluster;
mod config;
mod runtime;

use super::*;
use crate::audit::Report;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../../tests/fixtures/audit/encryption/",
            $name
        ))
    };
}
pub(super) use fixture;

/// Strings planted in the fixtures that must never appear in a finding: key material (as
/// written and decoded), a token, an env value.
const PLANTED: [&str; 9] = [
    "FIXTURE-KEY",
    "FIXTURE-SHORT-KEY",
    "RklYVFVSRS1LRVkt",
    "RklYVFVSRS1TSE9SVC",
    "FIXTURE-NOT-BASE64",
    "sekret",
    "FIXTURE-K3S-TOKEN",
    "FIXTURE-ENV-VALUE",
    "FIXTURE-TOKEN-FILE",
];

/// Panics if any planted string appears in the findings' JSON.
fn assert_no_material(findings: &[Finding]) {
    let json = serde_json::to_string(findings).unwrap();
    for planted in PLANTED {
        assert!(!json.contains(planted), "{planted} leaked into {json}");
    }
}

/// Every finding is in the encryption category, says why on one line and how to fix it.
fn assert_well_formed(findings: &[Finding]) {
    for f in findings {
        assert_eq!(f.category, crate::audit::Category::Encryption, "{f:#?}");
        assert!(!f.message.is_empty() && !f.message.contains('\n'), "{f:#?}");
        assert!(!f.hint.is_empty() && !f.hint.contains('\n'), "{f:#?}");
    }
}

fn sorted(findings: Vec<Finding>) -> Vec<Finding> {
    assert_no_material(&findings);
    assert_well_formed(&findings);
    Report::new(findings).findings
}

fn with_id<'f>(findings: &'f [Finding], id: &str) -> Vec<&'f Finding> {
    findings.iter().filter(|f| f.id == id).collect()
}

fn one<'f>(findings: &'f [Finding], id: &str) -> &'f Finding {
    let found = with_id(findings, id);
    assert_eq!(found.len(), 1, "one {id} in {findings:#?}");
    found[0]
}

fn verdict(finding: &Finding) -> (Severity, Status) {
    (finding.severity, finding.status)
}
