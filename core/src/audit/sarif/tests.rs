use serde_json::Value;

use super::*;
use crate::audit::Location;

/// The fixture report: every status, a suppressed finding, a commit, a path with a space, a
/// line 0, and findings without a location (RBAC, encryption, the suppression file).
fn fixture() -> Report {
    let text = include_str!("../../../tests/fixtures/audit/sarif/report.json");
    let report: Report = serde_json::from_str(text).unwrap();
    Report::new(report.findings)
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

fn result_for<'a>(log: &'a Value, path: &str) -> &'a Value {
    results(log)
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path)
        .unwrap_or_else(|| panic!("no result at {path}"))
}

#[test]
fn only_findings_with_a_location_become_results() {
    let log = to_sarif(&fixture(), "1.2.3");
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["$schema"], SARIF_SCHEMA);
    let ids: Vec<&str> = results(&log)
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["GIT010", "GIT010", "GIT020", "GIT012", "GIT030", "GIT011"]
    );
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "kubectl-secrets doctor");
    assert_eq!(driver["version"], "1.2.3");
    assert_eq!(driver["informationUri"], INFORMATION_URI);
}

#[test]
fn one_rule_per_id_with_hint_and_most_severe_level() {
    let log = to_sarif(&fixture(), "1.2.3");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["GIT010", "GIT020", "GIT012", "GIT030", "GIT011"]);
    let git010 = &rules[0];
    // critical and high findings of GIT010: the rule defaults to the more severe one.
    assert_eq!(git010["defaultConfiguration"]["level"], "error");
    assert_eq!(
        git010["help"]["text"],
        "kubectl secrets doctor --git . --fix seals it in place"
    );
    assert_eq!(
        git010["shortDescription"]["text"],
        "Plaintext Secret manifest committed"
    );
    assert_eq!(git010["properties"]["security-severity"], "9.5");
    assert_eq!(
        git010["properties"]["tags"],
        serde_json::json!(["security", "git"])
    );
    // A rule whose only finding has no hint still has help text (SARIF requires it).
    assert_eq!(
        rules[3]["help"]["text"],
        "see the documentation of this check"
    );
    for result in results(&log) {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
}

#[test]
fn levels_follow_severity_and_non_failures_have_a_kind() {
    let log = to_sarif(&fixture(), "1");
    let critical = result_for(&log, "deploy/db%20secret.yaml");
    assert_eq!(critical["level"], "error");
    assert!(critical.get("kind").is_none());
    assert_eq!(result_for(&log, "old/secret.json")["level"], "error");
    assert_eq!(result_for(&log, "secrets/app.enc.yaml")["level"], "warning");
    let pass = result_for(&log, "certs/ca.crt");
    assert_eq!(
        (&pass["kind"], &pass["level"]),
        (&"pass".into(), &"none".into())
    );
    let unknown = result_for(&log, "kustomize/kustomization.yaml");
    assert_eq!(unknown["kind"], "review");
    for (severity, expected) in [
        (Severity::Critical, "error"),
        (Severity::High, "error"),
        (Severity::Medium, "warning"),
        (Severity::Low, "note"),
        (Severity::Info, "note"),
    ] {
        assert_eq!(level(severity), expected);
    }
}

#[test]
fn locations_are_relative_to_the_source_root() {
    let log = to_sarif(&fixture(), "1");
    let located = result_for(&log, "deploy/db%20secret.yaml");
    let physical = &located["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(physical["region"]["startLine"], 7);
    // Line 0 means "somewhere in the file": no region rather than an invalid one.
    let no_line = result_for(&log, "kustomize/kustomization.yaml");
    assert!(
        no_line["locations"][0]["physicalLocation"]
            .get("region")
            .is_none()
    );
    let history = result_for(&log, "old/secret.json");
    assert_eq!(
        history["properties"]["commit"],
        "3f2a9c1d0b7e4a5f6c8d9e0f1a2b3c4d5e6f7a8b"
    );
    assert_eq!(uri_path("a b/c#d%e/ü.yaml"), "a%20b/c%23d%25e/%C3%BC.yaml");
}

#[test]
fn suppressed_findings_are_results_with_an_external_suppression() {
    let log = to_sarif(&fixture(), "1");
    let suppressed = result_for(&log, "charts/app/examples/secret.yaml");
    assert_eq!(suppressed["suppressions"][0]["kind"], "external");
    let open = result_for(&log, "deploy/db%20secret.yaml");
    assert!(open.get("suppressions").is_none());
}

#[test]
fn fingerprints_come_from_id_path_and_via_only() {
    let base = Finding {
        id: "GIT010".to_owned(),
        category: crate::audit::Category::Git,
        severity: Severity::Critical,
        status: Status::Fail,
        suppressed: false,
        subject: crate::audit::Subject::new("File", "a.yaml"),
        scope: crate::audit::Scope::Cluster,
        location: Some(Location {
            path: "a.yaml".to_owned(),
            line: 3,
            commit: None,
        }),
        via: vec!["Secret/db".to_owned()],
        message: "plaintext Secret: key password".to_owned(),
        hint: "seal it".to_owned(),
    };
    let print = |finding: &Finding| {
        let log = to_sarif(&Report::new(vec![finding.clone()]), "1");
        results(&log)[0]["partialFingerprints"][FINGERPRINT_KEY]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let original = print(&base);
    assert_eq!(original.len(), 64);
    // Moving lines, another commit, another message or hint: the same result.
    let mut moved = base.clone();
    moved.location = Some(Location {
        path: "a.yaml".to_owned(),
        line: 40,
        commit: Some("abc".to_owned()),
    });
    moved.message = "plaintext Secret: keys password, user".to_owned();
    moved.hint = "other".to_owned();
    assert_eq!(print(&moved), original);
    // Another id, path or chain: another result.
    let other_via = Finding {
        via: vec!["Secret/other".to_owned()],
        ..base.clone()
    };
    let other_id = Finding {
        id: "GIT020".to_owned(),
        ..base.clone()
    };
    assert_ne!(print(&other_via), original);
    assert_ne!(print(&other_id), original);
    // The NUL separators keep ("ab", "c") and ("a", "bc") apart.
    assert_ne!(fingerprint("ab", "c", &[]), fingerprint("a", "bc", &[]));
}

#[test]
fn a_report_without_file_findings_is_an_empty_run() {
    let report = Report::new(
        fixture()
            .findings
            .into_iter()
            .filter(|f| f.location.is_none())
            .collect(),
    );
    let log = to_sarif(&report, "1");
    assert_eq!(results(&log).len(), 0);
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"],
        serde_json::json!([])
    );
}
