use time::{Date, Month};

use super::*;

const FIXTURE: &str = include_str!("../../../tests/fixtures/audit/suppress/doctor.yaml");
const SOURCE: &str = ".kubectl-secrets-doctor.yaml";

fn day(year: i32, month: Month, day: u8) -> Date {
    Date::from_calendar_date(year, month, day).unwrap()
}

fn today() -> Date {
    day(2026, Month::December, 2)
}

fn finding(id: &str, subject: Subject) -> Finding {
    Finding {
        id: id.to_owned(),
        category: category(id).unwrap(),
        severity: Severity::High,
        status: Status::Fail,
        suppressed: false,
        subject,
        scope: Scope::Cluster,
        location: None,
        via: vec![],
        message: String::new(),
        hint: String::new(),
    }
}

fn file(path: &str) -> Subject {
    Subject::new("File", path)
}

/// The fixture applied to one finding for each entry (and some near misses); returns the
/// findings after `apply`.
fn applied(today: Date) -> Vec<Finding> {
    let suppressions = Suppressions::from_yaml(FIXTURE, SOURCE).unwrap();
    assert_eq!(suppressions.len(), 6);
    let mut findings = vec![
        finding(
            "RBAC011",
            Subject::namespaced("ServiceAccount", "cert-manager", "cert-manager"),
        ),
        finding(
            "RBAC011",
            Subject::namespaced("ServiceAccount", "other", "cert-manager"),
        ),
        finding("GIT010", file("charts/app/examples/deep/secret.yaml")),
        finding("GIT010", file("charts/app/templates/secret.yaml")),
        finding("RBAC012", Subject::new("User", "bob")),
        finding("GIT020", file("old/secret.json")),
        finding("RBAC012", Subject::namespaced("Group", "team-a", "ops")),
        finding("RBAC011", Subject::new("Group", "ops")),
    ];
    suppressions.apply(&mut findings, today);
    findings
}

fn suppressed(findings: &[Finding]) -> Vec<(String, String)> {
    findings
        .iter()
        .filter(|f| f.suppressed)
        .map(|f| (f.id.clone(), f.subject.name.clone()))
        .collect()
}

fn about_file(findings: &[Finding]) -> Vec<(String, Category, Severity, Status, String)> {
    findings
        .iter()
        .filter(|f| f.id.starts_with("DOC"))
        .map(|f| {
            (
                f.id.clone(),
                f.category,
                f.severity,
                f.status,
                f.message.clone(),
            )
        })
        .collect()
}

#[test]
fn entries_suppress_by_subject_and_by_path_glob() {
    let findings = applied(today());
    let pair = |id: &str, name: &str| (id.to_owned(), name.to_owned());
    assert_eq!(
        suppressed(&findings),
        [
            pair("RBAC011", "cert-manager"),
            pair("GIT010", "charts/app/examples/deep/secret.yaml"),
            pair("RBAC012", "ops"),
        ],
        "namespace given: only that one; pathGlob: only File subjects under it; no \
         namespace: any; another id (RBAC011 for Group/ops): never"
    );
}

#[test]
fn the_file_gets_findings_for_missing_reasons_expiry_and_dead_entries() {
    let findings = applied(today());
    assert_eq!(
        about_file(&findings),
        [
            (
                "DOC001".to_owned(),
                Category::Rbac,
                Severity::Medium,
                Status::Fail,
                "suppression entry 3 has no reason".to_owned()
            ),
            (
                "DOC002".to_owned(),
                Category::Git,
                Severity::Low,
                Status::Warn,
                "suppression entry 4 (GIT020) expired on 2026-06-30: it no longer suppresses"
                    .to_owned()
            ),
            (
                "DOC003".to_owned(),
                Category::Encryption,
                Severity::Info,
                Status::Warn,
                "suppression entry 5 (ENC010) matches no finding of this run".to_owned()
            ),
        ]
    );
    for doc in findings.iter().filter(|f| f.id.starts_with("DOC")) {
        assert_eq!(doc.subject, Subject::new("File", SOURCE));
        assert!(!doc.suppressed);
    }
    // Without a reason, entry 3 left Bob's finding open; expired entry 4 left GIT020 open.
    let open: Vec<&str> = findings
        .iter()
        .filter(|f| !f.suppressed && !f.id.starts_with("DOC"))
        .map(|f| f.subject.name.as_str())
        .collect();
    assert!(open.contains(&"bob") && open.contains(&"old/secret.json"));
}

#[test]
fn an_entry_applies_through_its_expiry_day_and_not_after() {
    let on_the_day = applied(day(2027, Month::January, 31));
    assert!(
        on_the_day
            .iter()
            .any(|f| f.id == "RBAC011" && f.subject.name == "cert-manager" && f.suppressed)
    );
    let after = applied(day(2027, Month::February, 1));
    let cert_manager = after
        .iter()
        .find(|f| f.id == "RBAC011" && f.subject.namespace.as_deref() == Some("cert-manager"))
        .unwrap();
    assert!(!cert_manager.suppressed);
    let expired: Vec<String> = about_file(&after)
        .into_iter()
        .filter(|f| f.0 == "DOC002")
        .map(|f| f.4)
        .collect();
    assert_eq!(
        expired.len(),
        3,
        "entries 1, 4 and 6 (RFC 3339, its own date)"
    );
    assert!(
        expired
            .iter()
            .any(|m| m.contains("entry 6 (RBAC012) expired on 2026-12-31"))
    );
}

#[test]
fn a_blank_reason_is_no_reason() {
    let text = "suppressions:\n  - id: GIT010\n    pathGlob: \"**\"\n    reason: \"  \"\n";
    let suppressions = Suppressions::from_yaml(text, "s.yaml").unwrap();
    let mut findings = vec![finding("GIT010", file("a.yaml"))];
    suppressions.apply(&mut findings, today());
    assert!(!findings.iter().any(|f| f.suppressed));
    assert_eq!(about_file(&findings)[0].0, "DOC001");
    assert_eq!(about_file(&findings)[0].1, Category::Git);
}

#[test]
fn path_globs_accept_a_leading_dot_slash() {
    let text = "suppressions:\n  - id: GIT030\n    pathGlob: ./keys/*.pem\n    reason: test keys\n";
    let suppressions = Suppressions::from_yaml(text, "s.yaml").unwrap();
    let mut findings = vec![finding("GIT030", file("keys/test.pem"))];
    suppressions.apply(&mut findings, today());
    assert!(findings.iter().all(|f| f.suppressed));
}

fn error(text: &str) -> String {
    Suppressions::from_yaml(text, "doctor.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn unknown_fields_are_refused_naming_the_entry() {
    let text = "suppressions:\n  - id: GIT010\n    pathGlob: a\n    reason: r\n  - id: GIT010\n    \
                pathglob: a\n    reason: r\n";
    let message = error(text);
    assert!(
        message
            .starts_with("reading suppression file doctor.yaml: entry 2: unknown field `pathglob`"),
        "{message}"
    );
    let message = error(
        "suppressions:\n  - id: RBAC011\n    subject: {kind: User, name: a, ns: b}\n    reason: r\n",
    );
    assert!(message.contains("entry 1: unknown field `ns`"), "{message}");
    let message = error("suppression:\n  - id: RBAC011\n");
    assert!(message.contains("unknown field `suppression`"), "{message}");
}

#[test]
fn entries_are_checked() {
    let cases = [
        (
            "- id: RBAC011\n  reason: r\n",
            "needs a `subject` or a `pathGlob`",
        ),
        (
            "- id: GIT010\n  pathGlob: a\n  subject: {kind: File, name: a}\n  reason: r\n",
            "not both",
        ),
        (
            "- id: DOC001\n  pathGlob: a\n  reason: r\n",
            "must be a check id",
        ),
        (
            "- id: GIT\n  pathGlob: a\n  reason: r\n",
            "must be a check id",
        ),
        (
            "- id: GIT01a\n  pathGlob: a\n  reason: r\n",
            "must be a check id",
        ),
        (
            "- id: GIT010\n  pathGlob: \"./\"\n  reason: r\n",
            "`pathGlob` is empty",
        ),
        (
            "- id: GIT010\n  pathGlob: a\n  expires: 2027-02-30\n",
            "not a valid one",
        ),
        (
            "- id: GIT010\n  pathGlob: a\n  expires: 31/01/2027\n",
            "not a valid one",
        ),
        (
            "- id: GIT010\n  pathGlob: a\n  expires: 20270131\n",
            "must be a date",
        ),
        ("- pathGlob: a\n  reason: r\n", "missing field `id`"),
    ];
    for (entries, expected) in cases {
        let message = error(&format!("suppressions:\n{entries}"));
        assert!(
            message.starts_with("reading suppression file doctor.yaml: entry 1: ")
                && message.contains(expected),
            "{entries}: {message}"
        );
    }
}

#[test]
fn files_that_are_not_one_document_are_refused() {
    assert!(error("suppressions: []\n---\nsuppressions: []\n").contains("2 documents"));
    assert!(error("suppressions: [").starts_with("reading suppression file doctor.yaml: "));
    // The parser's quoted scalars never reach the message.
    let message = error("suppressions: \"hunter2\"\n");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(Suppressions::from_yaml("", "s").unwrap().is_empty());
    assert!(
        Suppressions::from_yaml("suppressions:\n", "s")
            .unwrap()
            .is_empty()
    );
    assert!(
        Suppressions::from_yaml(r#"{"suppressions": []}"#, "s")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn expiry_spellings() {
    assert_eq!(
        calendar_date("2027-01-31"),
        Some(day(2027, Month::January, 31))
    );
    assert_eq!(calendar_date("2027-1-31"), None);
    assert_eq!(calendar_date("2027-01-31-01"), None);
    assert_eq!(
        expiry(&Value::from("2027-01-31T23:00:00-05:00")),
        Ok(day(2027, Month::January, 31))
    );
    assert_eq!(
        expiry(&Value::from("2027-01-31T00:00:00Z")),
        Ok(day(2027, Month::January, 31))
    );
}

#[test]
fn yaml_1_1_readings_are_refused_not_guessed() {
    // kubectl-style readers take an unquoted `no` as false: the reason must be quoted.
    let message = error("suppressions:\n  - id: GIT010\n    pathGlob: a\n    reason: no\n");
    assert!(message.contains("quote it"), "{message}");
    // A quoted date and an unquoted one read the same.
    let quoted = "suppressions:\n  - id: GIT010\n    pathGlob: a\n    reason: r\n    expires: \"2027-01-31\"\n";
    let plain = quoted.replace("\"2027-01-31\"", "2027-01-31");
    assert_eq!(
        Suppressions::from_yaml(quoted, "s").unwrap(),
        Suppressions::from_yaml(&plain, "s").unwrap()
    );
}
