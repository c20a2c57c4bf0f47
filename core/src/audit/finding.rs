//! What a check found, and the report the command prints.
//!
//! Checks return [`Finding`]s in any order; [`Report::new`] sorts them (category, severity, id,
//! scope, subject, then the rest, so two runs over the same objects print the same bytes) and
//! counts them. The serde shape is the stable `-o json` contract of issue 13: lowercase enum
//! values, `location` only for findings in files, `subject.namespace` only when there is one.

use std::cmp::Ordering;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which best practice a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Category {
    /// Who can read Secrets.
    Rbac,
    /// Encryption at rest.
    Encryption,
    /// Plaintext Secrets in Git.
    Git,
    /// Our own install.
    Agent,
}

/// How bad a finding is. Ordered most severe first, so sorting puts critical findings on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Secret values are readable by (nearly) anyone, or by a path to cluster admin.
    Critical,
    /// A real reader or path that needs a decision.
    High,
    /// Worth fixing; often a reader of one namespace.
    Medium,
    /// Hygiene.
    Low,
    /// Expected, or reported so the picture is complete.
    Info,
}

impl Severity {
    /// Whether `self` is as severe as `threshold` or more (`High.at_least(Medium)` is true).
    pub fn at_least(self, threshold: Severity) -> bool {
        self <= threshold
    }
}

/// What the check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The practice is broken; counts toward the exit code.
    Fail,
    /// Worth a look; never changes the exit code.
    Warn,
    /// Checked and fine (expected readers are reported this way).
    Pass,
    /// The check could not see everything it needs; never reported as a pass.
    Incomplete,
    /// The API cannot tell (managed clusters); the hint names the command that can.
    Unknown,
}

/// Who or what a finding is about: a RBAC subject, a role, a file, …
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// `User`, `Group`, `ServiceAccount`, `ClusterRole`, `File`, …
    pub kind: String,
    /// The subject's name; for files, the path relative to the `--git` root.
    pub name: String,
    /// Set for namespaced subjects (ServiceAccounts, Roles, bindings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Subject {
    /// A subject without a namespace.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            namespace: None,
        }
    }

    /// A subject in a namespace.
    pub fn namespaced(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            namespace: Some(namespace.into()),
        }
    }
}

/// Where a finding applies: the whole cluster, or one namespace. Serialized as the string
/// `"cluster"` or the namespace's name. A namespace literally called `cluster` would read back
/// as [`Scope::Cluster`]; the JSON shape is fixed by the issue, so that ambiguity stays.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every namespace, and cluster-scoped objects.
    Cluster,
    /// One namespace.
    Namespace(String),
}

impl Scope {
    /// The namespace, if the scope is one.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Self::Cluster => None,
            Self::Namespace(ns) => Some(ns),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cluster => f.write_str("cluster"),
            Self::Namespace(ns) => f.write_str(ns),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(if text == "cluster" {
            Self::Cluster
        } else {
            Self::Namespace(text)
        })
    }
}

/// A place in a checkout, for Git findings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the `--git` root.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// The commit, for findings in history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// One result of one check about one subject in one scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// The check id, e.g. `RBAC011`.
    pub id: String,
    /// The best practice it belongs to.
    pub category: Category,
    /// How bad it is.
    pub severity: Severity,
    /// What the check concluded.
    pub status: Status,
    /// Matched by an entry of the suppression file (which the plugin applies).
    pub suppressed: bool,
    /// Who or what.
    pub subject: Subject,
    /// Where.
    pub scope: Scope,
    /// For findings in files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The chain that leads to it, e.g. `ClusterRoleBinding/x → ClusterRole/y (rule 2)`.
    pub via: Vec<String>,
    /// One line of why.
    pub message: String,
    /// The smallest change that removes it; never applied by doctor.
    pub hint: String,
}

impl Finding {
    /// Whether this finding makes the command exit 1 at threshold `fail_on`.
    pub fn fails_at(&self, fail_on: Severity) -> bool {
        !self.suppressed && self.status == Status::Fail && self.severity.at_least(fail_on)
    }

    /// The report order: category, severity, id, scope, subject, then every other field so
    /// the order is total.
    fn report_order(&self, other: &Self) -> Ordering {
        (
            self.category,
            self.severity,
            &self.id,
            &self.scope,
            &self.subject,
        )
            .cmp(&(
                other.category,
                other.severity,
                &other.id,
                &other.scope,
                &other.subject,
            ))
            .then_with(|| self.location.cmp(&other.location))
            .then_with(|| self.status.cmp(&other.status))
            .then_with(|| self.via.cmp(&other.via))
            .then_with(|| self.message.cmp(&other.message))
            .then_with(|| self.hint.cmp(&other.hint))
            .then_with(|| self.suppressed.cmp(&other.suppressed))
    }
}

/// Unsuppressed `fail` and `warn` findings per severity, plus unsuppressed `incomplete` ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
    /// Info findings that still ask for a look (`warn`), e.g. name-restricted readers.
    pub info: usize,
    /// Checks that could not see everything; their results are not a pass.
    pub incomplete: usize,
}

impl Summary {
    fn count(findings: &[Finding]) -> Self {
        let mut summary = Self::default();
        for finding in findings.iter().filter(|f| !f.suppressed) {
            match finding.status {
                Status::Fail | Status::Warn => {
                    let slot = match finding.severity {
                        Severity::Critical => &mut summary.critical,
                        Severity::High => &mut summary.high,
                        Severity::Medium => &mut summary.medium,
                        Severity::Low => &mut summary.low,
                        Severity::Info => &mut summary.info,
                    };
                    *slot += 1;
                }
                Status::Incomplete => summary.incomplete += 1,
                Status::Pass | Status::Unknown => {}
            }
        }
        summary
    }
}

/// Every finding of a run, in report order, and their counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Sorted by [`Report::new`].
    pub findings: Vec<Finding>,
    /// Counted by [`Report::new`].
    pub summary: Summary,
}

impl Report {
    /// Sort the findings into report order and count them.
    pub fn new(mut findings: Vec<Finding>) -> Self {
        findings.sort_by(Finding::report_order);
        let summary = Summary::count(&findings);
        Self { findings, summary }
    }

    /// The command's exit code for threshold `fail_on`: 1 iff an unsuppressed `fail` finding is
    /// at or above it, else 0 (warnings, incomplete and unknown checks never fail the run; 2,
    /// for errors, is the plugin's business).
    pub fn exit_code(&self, fail_on: Severity) -> u8 {
        u8::from(self.findings.iter().any(|f| f.fails_at(fail_on)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, severity: Severity, status: Status) -> Finding {
        Finding {
            id: id.to_owned(),
            category: Category::Rbac,
            severity,
            status,
            suppressed: false,
            subject: Subject::new("User", "alice"),
            scope: Scope::Cluster,
            location: None,
            via: vec![],
            message: String::new(),
            hint: String::new(),
        }
    }

    #[test]
    fn report_serializes_in_the_issue_shape() {
        let rbac = Finding {
            id: "RBAC011".to_owned(),
            category: Category::Rbac,
            severity: Severity::High,
            status: Status::Fail,
            suppressed: false,
            subject: Subject::namespaced("ServiceAccount", "ci", "deployer"),
            scope: Scope::Cluster,
            location: None,
            via: vec!["ClusterRoleBinding/x → ClusterRole/y (rule 2)".to_owned()],
            message: "can list secrets in every namespace".to_owned(),
            hint: "remove it from ClusterRoleBinding/x".to_owned(),
        };
        let git = Finding {
            id: "GIT020".to_owned(),
            category: Category::Git,
            severity: Severity::High,
            status: Status::Fail,
            suppressed: true,
            subject: Subject::new("File", "deploy/secret.yaml"),
            scope: Scope::Namespace("prod".to_owned()),
            location: Some(Location {
                path: "deploy/secret.yaml".to_owned(),
                line: 3,
                commit: Some("abc123".to_owned()),
            }),
            via: vec![],
            message: "plaintext Secret in history".to_owned(),
            hint: "rotate it".to_owned(),
        };
        let incomplete = Finding {
            category: Category::Encryption,
            ..finding("ENC010", Severity::High, Status::Incomplete)
        };
        let report = Report::new(vec![git, incomplete, rbac]);
        let expected = serde_json::json!({
            "findings": [
                {
                    "id": "RBAC011", "category": "rbac", "severity": "high", "status": "fail",
                    "suppressed": false,
                    "subject": {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
                    "scope": "cluster",
                    "via": ["ClusterRoleBinding/x → ClusterRole/y (rule 2)"],
                    "message": "can list secrets in every namespace",
                    "hint": "remove it from ClusterRoleBinding/x"
                },
                {
                    "id": "ENC010", "category": "encryption", "severity": "high",
                    "status": "incomplete", "suppressed": false,
                    "subject": {"kind": "User", "name": "alice"},
                    "scope": "cluster", "via": [], "message": "", "hint": ""
                },
                {
                    "id": "GIT020", "category": "git", "severity": "high", "status": "fail",
                    "suppressed": true,
                    "subject": {"kind": "File", "name": "deploy/secret.yaml"},
                    "scope": "prod",
                    "location": {"path": "deploy/secret.yaml", "line": 3, "commit": "abc123"},
                    "via": [], "message": "plaintext Secret in history", "hint": "rotate it"
                }
            ],
            "summary": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0, "incomplete": 1}
        });
        let actual = serde_json::to_value(&report).unwrap();
        assert_eq!(actual, expected);
        let back: Report = serde_json::from_value(actual).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn findings_sort_by_category_severity_id_scope_subject() {
        let mut ns = finding("RBAC012", Severity::Medium, Status::Fail);
        ns.scope = Scope::Namespace("a".to_owned());
        let mut bob = finding("RBAC011", Severity::High, Status::Fail);
        bob.subject = Subject::new("User", "bob");
        let alice = finding("RBAC011", Severity::High, Status::Fail);
        let critical = finding("RBAC020", Severity::Critical, Status::Fail);
        let git = Finding {
            category: Category::Git,
            ..finding("GIT010", Severity::Critical, Status::Fail)
        };
        let report = Report::new(vec![git, ns, bob, alice, critical]);
        let order: Vec<_> = report
            .findings
            .iter()
            .map(|f| format!("{} {} {}", f.id, f.scope, f.subject.name))
            .collect();
        assert_eq!(
            order,
            [
                "RBAC020 cluster alice",
                "RBAC011 cluster alice",
                "RBAC011 cluster bob",
                "RBAC012 a alice",
                "GIT010 cluster alice"
            ]
        );
    }

    #[test]
    fn summary_counts_unsuppressed_fail_and_warn_per_severity() {
        let suppressed = Finding {
            suppressed: true,
            ..finding("A", Severity::Critical, Status::Fail)
        };
        let report = Report::new(vec![
            suppressed,
            finding("B", Severity::Critical, Status::Warn),
            finding("C", Severity::Low, Status::Fail),
            finding("D", Severity::Info, Status::Pass),
            finding("E", Severity::High, Status::Unknown),
            finding("F", Severity::High, Status::Incomplete),
        ]);
        let expected = Summary {
            critical: 1,
            low: 1,
            incomplete: 1,
            ..Summary::default()
        };
        assert_eq!(report.summary, expected);
    }

    #[test]
    fn exit_code_is_one_only_for_an_unsuppressed_fail_at_or_above_the_threshold() {
        let medium = Report::new(vec![finding("A", Severity::Medium, Status::Fail)]);
        assert_eq!(medium.exit_code(Severity::High), 0);
        assert_eq!(medium.exit_code(Severity::Medium), 1);
        assert_eq!(medium.exit_code(Severity::Low), 1);
        assert_eq!(medium.exit_code(Severity::Critical), 0);

        let warn = Report::new(vec![finding("A", Severity::Critical, Status::Warn)]);
        assert_eq!(warn.exit_code(Severity::Low), 0);
        let incomplete = Report::new(vec![finding("A", Severity::Critical, Status::Incomplete)]);
        assert_eq!(incomplete.exit_code(Severity::Low), 0);
        let suppressed = Report::new(vec![Finding {
            suppressed: true,
            ..finding("A", Severity::Critical, Status::Fail)
        }]);
        assert_eq!(suppressed.exit_code(Severity::Low), 0);
        assert_eq!(Report::new(vec![]).exit_code(Severity::Info), 0);
    }

    #[test]
    fn scope_reads_back_from_its_string() {
        let scopes: Vec<Scope> = serde_json::from_str(r#"["cluster", "kube-system"]"#).unwrap();
        assert_eq!(
            scopes,
            [Scope::Cluster, Scope::Namespace("kube-system".to_owned())]
        );
    }
}
