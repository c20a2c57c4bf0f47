//! ENC030 from `/readyz?verbose` and `/metrics` bodies, and the Prometheus text reader.

use super::*;
use crate::audit::encryption::prom::samples;

fn run(readyz: Collected<String>, metrics: Collected<String>) -> Vec<Finding> {
    let facts = ClusterFacts {
        readyz,
        metrics,
        ..ClusterFacts::default()
    };
    sorted(audit(&facts, None))
}

fn got(text: &str) -> Collected<String> {
    Collected::Got(text.to_owned())
}

fn about<'f>(findings: &'f [Finding], endpoint: &str) -> &'f Finding {
    let found: Vec<_> = findings
        .iter()
        .filter(|f| f.subject.name == endpoint)
        .collect();
    assert_eq!(found.len(), 1, "{endpoint} in {findings:#?}");
    found[0]
}

#[test]
fn a_failing_kms_check_is_high() {
    let findings = run(got(fixture!("readyz-kms-failing.txt")), Collected::NotAsked);
    let f = one(&findings, "ENC030");
    assert_eq!(verdict(f), (Severity::High, Status::Fail));
    assert_eq!(f.via, ["kms-provider-0 failed: reason withheld"]);
}

#[test]
fn healthy_kms_passes_and_no_kms_says_nothing() {
    let findings = run(got(fixture!("readyz-kms-ok.txt")), Collected::NotAsked);
    let f = one(&findings, "ENC030");
    assert_eq!(verdict(f), (Severity::Info, Status::Pass));
    assert_eq!(f.via, ["kms-providers ok"]);
    assert!(run(got(fixture!("readyz-no-kms.txt")), Collected::NotAsked).is_empty());
}

#[test]
fn identity_writes_in_metrics_are_high() {
    let findings = run(Collected::NotAsked, got(fixture!("metrics-identity.txt")));
    let f = one(&findings, "ENC030");
    assert_eq!(verdict(f), (Severity::High, Status::Fail));
    assert!(f.via[0].ends_with("= 1000"), "{:?}", f.via);
}

#[test]
fn encrypted_prefixes_only_pass_and_zero_reload_failures_are_quiet() {
    let findings = run(Collected::NotAsked, got(fixture!("metrics-encrypted.txt")));
    let f = one(&findings, "ENC030");
    assert_eq!(verdict(f), (Severity::Info, Status::Pass));
    assert_eq!(
        f.via,
        [
            "to_storage prefix k8s:enc:kms:v2:vault-kms:",
            "to_storage prefix k8s:enc:secretbox:v1:key1:"
        ]
    );
}

#[test]
fn reload_failures_are_medium() {
    let findings = run(
        Collected::NotAsked,
        got(fixture!("metrics-reload-failure.txt")),
    );
    let found = with_id(&findings, "ENC030");
    assert_eq!(found.len(), 2, "{findings:#?}");
    assert!(
        found
            .iter()
            .any(|f| verdict(f) == (Severity::Medium, Status::Fail))
    );
    assert!(
        found
            .iter()
            .any(|f| verdict(f) == (Severity::Info, Status::Pass))
    );
}

#[test]
fn unavailable_endpoints_are_incomplete_and_name_what_is_needed() {
    let findings = run(
        Collected::Unavailable("forbidden".to_owned()),
        Collected::Unavailable("forbidden: User \"bob\" cannot get path \"/metrics\"".to_owned()),
    );
    assert_eq!(with_id(&findings, "ENC030").len(), 2);
    let metrics = about(&findings, "/metrics");
    assert_eq!(verdict(metrics), (Severity::High, Status::Incomplete));
    assert!(
        metrics.hint.contains("nonResourceURL /metrics"),
        "{}",
        metrics.hint
    );
    assert!(
        metrics.hint.contains("system:monitoring"),
        "{}",
        metrics.hint
    );
    assert_eq!(
        about(&findings, "/readyz?verbose").status,
        Status::Incomplete
    );
    assert!(run(Collected::NotAsked, Collected::NotAsked).is_empty());
}

#[test]
fn metrics_without_transformation_series_ask_for_a_look() {
    let findings = run(Collected::NotAsked, got("# nothing here\nup 1\n"));
    assert_eq!(
        verdict(one(&findings, "ENC030")),
        (Severity::Info, Status::Warn)
    );
}

#[test]
fn the_prometheus_reader_handles_escapes_spacing_exponents_and_junk() {
    let text = concat!(
        "# HELP m help with \"quotes\"\n",
        "m{a=\"x \\\"y\\\" \\\\ }\",b=\"\"} 1e+03\n",
        "m { a = \"spaced\" , } -2.5 1700000000000\n",
        "m 7\n",
        "m{a=\"unterminated} 3\n",
        "m{a=\"x\"} not-a-number\n",
        "other{a=\"x\"} 1\n",
        "   \n",
        "m{a=\"inf\"} +Inf\n",
    );
    let found = samples(text, &["m"]);
    let values: Vec<(String, f64)> = found
        .iter()
        .map(|s| (s.label("a").to_owned(), s.value))
        .collect();
    assert_eq!(
        values,
        [
            ("x \"y\" \\ }".to_owned(), 1000.0),
            ("spaced".to_owned(), -2.5),
            (String::new(), 7.0),
            ("inf".to_owned(), f64::INFINITY),
        ]
    );
    assert_eq!(found[0].label("b"), "");
}

proptest::proptest! {
    /// No input makes a reader or a check panic.
    #[test]
    fn no_body_or_file_panics(text in "[\\[\\]+\\-a-z_{}=\",:\\\\ \n0-9.e]{0,200}") {
        let _ = samples(&text, &["a", "m_total"]);
        let _ = EncryptionConfig::from_text(&text);
        let _ = run(Collected::Got(text.clone()), Collected::Got(text));
    }
}
