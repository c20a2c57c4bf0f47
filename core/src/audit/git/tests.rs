//! The Git checks from fixture trees (`core/tests/fixtures/audit/git/<case>/`): each Secret
//! shape of the reference's §3.2 and each form that must not be reported. Every test also
//! checks that no value, plain or base64, reaches the serialized findings.

use std::path::Path;

use super::*;
use crate::audit::Report;

/// Every file under the fixture `case`, paths relative to it.
pub(super) fn tree(case: &str) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_str().unwrap();
                // The repository ignores `*.pem`, so such fixtures are stored as `*.pem.in`.
                let rel = rel.strip_suffix(".in").unwrap_or(rel);
                out.push((rel.replace('\\', "/"), std::fs::read(&path).unwrap()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audit/git")
        .join(case);
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

pub(super) fn files(tree: &[(String, Vec<u8>)]) -> Vec<GitFile<'_>> {
    tree.iter()
        .map(|(path, bytes)| GitFile { path, bytes })
        .collect()
}

/// scan_tree over a fixture, sorted, with the no-values check applied.
pub(super) fn scan(case: &str) -> Vec<Finding> {
    let tree = tree(case);
    let findings = Report::new(scan_tree(&files(&tree))).findings;
    assert_no_values(&tree, &findings);
    findings
}

/// No fixture value appears in the findings: the marker `S3CRET` every fixture value carries,
/// and every base64-looking token of the fixtures (encoded values, PEM bodies).
pub(super) fn assert_no_values(tree: &[(String, Vec<u8>)], findings: &[Finding]) {
    let json = serde_json::to_string(findings).unwrap();
    let debug = format!("{findings:?}");
    for out in [&json, &debug] {
        assert!(!out.contains("S3CRET"), "a value leaked: {out}");
        for (_, bytes) in tree {
            let text = String::from_utf8_lossy(bytes);
            for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c))) {
                // Key names (`dockerconfigjson`) are fine; encoded values hold digits.
                if token.len() >= 16 && token.bytes().any(|b| b.is_ascii_digit()) {
                    assert!(!out.contains(token), "{token} leaked: {out}");
                }
            }
        }
    }
}

pub(super) fn ids(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            let line = f.location.as_ref().map_or(0, |l| l.line);
            format!(
                "{} {:?} {:?} {}:{line} {}",
                f.id, f.severity, f.status, f.subject.name, f.scope
            )
        })
        .collect()
}

fn only<'f>(findings: &'f [Finding], id: &str, path: &str) -> Vec<&'f Finding> {
    findings
        .iter()
        .filter(|f| f.id == id && f.subject.name == path)
        .collect()
}

#[test]
fn secret_shapes_yaml_json_lists_and_late_kind() {
    let findings = scan("shapes");
    let git010: Vec<_> = findings.iter().filter(|f| f.id == "GIT010").collect();
    assert_eq!(git010.len(), 6, "{:#?}", ids(&findings));

    let app = only(&findings, "GIT010", "deploy/app.yaml");
    assert_eq!(app.len(), 2);
    let db = app.iter().find(|f| f.via[1] == "Secret/prod/db").unwrap();
    assert_eq!(db.via, ["document 2", "Secret/prod/db", "data.password"]);
    assert_eq!(db.severity, Severity::High);
    assert_eq!(db.status, Status::Fail);
    assert_eq!(db.scope, Scope::Namespace("prod".into()));
    assert_eq!(db.location.as_ref().unwrap().line, 12, "the kind: line");
    assert_eq!(db.subject, Subject::new("File", "deploy/app.yaml"));
    assert!(db.hint.contains("kubectl secrets doctor --git . --fix"));
    let api = app.iter().find(|f| f.via[1] == "Secret/prod/api").unwrap();
    assert_eq!(
        api.via[2..],
        ["stringData.token"],
        "the empty value is left out"
    );
    assert_eq!(api.location.as_ref().unwrap().line, 22);

    let json = only(&findings, "GIT010", "deploy/secret.json");
    assert_eq!(json[0].via[1], "Secret/staging/json-db");
    assert_eq!(json[0].location.as_ref().unwrap().line, 3);

    let list = only(&findings, "GIT010", "deploy/list.yaml");
    assert_eq!(list[0].via[1..], ["Secret/tools/listed", "data.key"]);
    assert_eq!(
        list[0].location.as_ref().unwrap().line,
        9,
        "the item's kind: line"
    );
    let json_list = only(&findings, "GIT010", "deploy/list.json");
    assert_eq!(json_list[0].scope, Scope::Cluster, "no namespace");
    assert_eq!(json_list[0].via[1], "Secret/json-listed");

    let late = only(&findings, "GIT010", "deploy/late-kind.yaml");
    assert_eq!(late[0].via[2..], ["data.a", "data.b", "data.c"]);
    assert_eq!(late[0].location.as_ref().unwrap().line, 9);
}

#[test]
fn critical_kinds() {
    let findings = scan("critical");
    for (path, why) in [
        ("tls.yaml", "TLS private key"),
        ("sa-token.yaml", "service-account token"),
        ("registry.yaml", "registry credentials"),
        ("sealing-key.yaml", "sealing key"),
    ] {
        let found = only(&findings, "GIT010", path);
        assert_eq!(found.len(), 1, "{path}: {:#?}", ids(&findings));
        assert_eq!(found[0].severity, Severity::Critical, "{path}");
        assert!(
            found[0].message.contains(why),
            "{path}: {}",
            found[0].message
        );
    }
    // The PEM block in the sealing key's stringData is a committed key as well.
    let pem = only(&findings, "GIT030", "sealing-key.yaml");
    assert_eq!(pem.len(), 1);
    assert_eq!(pem[0].location.as_ref().unwrap().line, 12);
    assert!(pem[0].message.contains("sealing key"), "{}", pem[0].message);
}

#[test]
fn kustomize_literals_files_and_envs() {
    let findings = scan("kustomize");
    let git011: Vec<_> = findings.iter().filter(|f| f.id == "GIT011").collect();
    assert_eq!(git011.len(), 3, "{:#?}", ids(&findings));
    assert!(git011.iter().all(|f| f.severity == Severity::High
        && f.scope == Scope::Namespace("shop".into())
        && f.subject.name == "base/kustomization.yaml"));
    let literals = git011
        .iter()
        .find(|f| f.via[0] == "secretGenerator/literals")
        .unwrap();
    assert_eq!(
        literals.via[1..],
        ["literal DB_PASSWORD"],
        "${{DB_USER}} is a placeholder"
    );
    assert_eq!(literals.location.as_ref().unwrap().line, 9);
    let sources: Vec<_> = git011
        .iter()
        .filter(|f| f.via[0] == "secretGenerator/from-files")
        .map(|f| f.via[1].as_str())
        .collect();
    assert_eq!(
        sources,
        ["files: base/secrets/db-password.txt", "envs: base/app.env"],
        "a missing file is not reported"
    );
    let tree = tree("kustomize");
    assert_eq!(
        kustomize_references(&files(&tree)),
        [
            "base/app.env",
            "base/empty.env",
            "base/secrets/db-password.txt",
            "base/secrets/missing.txt"
        ]
    );
}

#[test]
fn helm_values_feeding_a_secret_template() {
    let findings = scan("helm");
    let git011: Vec<_> = findings.iter().filter(|f| f.id == "GIT011").collect();
    assert_eq!(git011.len(), 1, "{:#?}", ids(&findings));
    let found = git011[0];
    assert_eq!(found.severity, Severity::Medium);
    assert_eq!(found.subject.name, "charts/app/values.yaml");
    assert_eq!(
        found.via,
        ["charts/app/templates/secret.yaml", ".Values.db.password"]
    );
    assert_eq!(found.location.as_ref().unwrap().line, 4);
    assert!(
        !findings.iter().any(|f| f.id == "GIT010"),
        "templates are not manifests"
    );
}

#[test]
fn half_encrypted_sops_names_the_plain_keys() {
    let findings = scan("sops");
    let git012: Vec<_> = findings.iter().filter(|f| f.id == "GIT012").collect();
    assert_eq!(git012.len(), 1, "{:#?}", ids(&findings));
    assert_eq!(git012[0].subject.name, "half.enc.yaml");
    assert_eq!(git012[0].via[2..], ["data.api-key"]);
    assert_eq!(git012[0].severity, Severity::High);
    assert!(git012[0].hint.contains("sops -e"));
    assert!(
        !findings
            .iter()
            .any(|f| f.id == "GIT010" || f.id == "GIT030")
    );
}

#[test]
fn private_keys_and_the_sealing_key_file() {
    let findings = scan("pem");
    let git030: Vec<_> = findings.iter().filter(|f| f.id == "GIT030").collect();
    assert_eq!(git030.len(), 2, "{:#?}", ids(&findings));
    let master = only(&findings, "GIT030", "master.key");
    assert_eq!(master[0].severity, Severity::Critical);
    assert!(master[0].message.contains("sealing key"));
    let ops = only(&findings, "GIT030", "ops/id_deploy.pem");
    assert_eq!(ops[0].location.as_ref().unwrap().line, 2);
    assert!(ops[0].message.contains("OPENSSH"));
    assert!(!ops[0].message.contains("sealing key"));
}

#[test]
fn a_file_that_does_not_parse_is_a_low_warning_without_its_content() {
    let findings = scan("broken");
    let warn = only(&findings, "GIT010", "deploy/broken.yaml");
    assert_eq!(warn.len(), 1, "{:#?}", ids(&findings));
    assert_eq!(
        (warn[0].severity, warn[0].status),
        (Severity::Low, Status::Warn)
    );
    assert!(
        warn[0]
            .message
            .starts_with("could not be parsed as YAML/JSON: "),
        "{}",
        warn[0].message
    );
}

#[test]
fn non_findings_sealed_external_sops_placeholders_templates() {
    let findings = scan("clean");
    assert_eq!(
        ids(&findings),
        ["GIT040 Info Pass .pre-commit-config.yaml:2 cluster"],
        "only the guard rail"
    );
}

#[test]
fn guard_rail_missing_is_an_info_warning() {
    let findings = scan("shapes");
    let guard: Vec<_> = findings.iter().filter(|f| f.id == "GIT040").collect();
    assert_eq!(guard.len(), 1);
    assert_eq!(
        (guard[0].severity, guard[0].status),
        (Severity::Info, Status::Warn)
    );
    assert!(guard[0].location.is_none());
    assert!(scan_tree(&[]).is_empty());
}

#[test]
fn history_blobs_are_git020_with_the_commit() {
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let mut all = Vec::new();
    for case in ["shapes", "critical", "sops", "pem", "broken", "clean"] {
        let tree = tree(case);
        let mut found = Vec::new();
        for file in files(&tree) {
            found.extend(scan_blob(&file, commit));
        }
        assert_no_values(&tree, &found);
        all.extend(found);
    }
    assert!(all.iter().all(|f| f.id == "GIT020"
        && f.hint == HISTORY_HINT
        && f.location.as_ref().unwrap().commit.as_deref() == Some(commit)));
    // shapes 6 + critical 4 Secrets and 1 key + sops 1 + pem 2; no parse warnings.
    assert_eq!(all.len(), 14, "{:#?}", ids(&all));
    let critical = all
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .count();
    assert_eq!(critical, 7);
    assert!(
        all.iter()
            .all(|f| matches!(f.severity, Severity::Critical | Severity::High))
    );
}
