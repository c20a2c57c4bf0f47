//! The Secret-reader checks (RBAC010, RBAC011, RBAC012) and the hygiene checks (RBAC030
//! wildcards, RBAC032 dangling bindings), plus the classification they share with the
//! indirect-path check: broad groups, expected subjects, and the smallest fix of a grant.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::model::{DanglingProblem, Grant, Model, Who, is_default};
use super::{AuditConfig, RbacObjects, matcher};
use crate::audit::{Category, Finding, Scope, Severity, Status, Subject};

/// The verbs that return Secret values: `list` and `watch` return whole objects, values
/// included, so they are reads as much as `get` is.
pub(crate) const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

pub(crate) fn finding(
    id: &str,
    severity: Severity,
    status: Status,
    subject: Subject,
    scope: Scope,
) -> Finding {
    Finding {
        id: id.to_owned(),
        category: Category::Rbac,
        severity,
        status,
        suppressed: false,
        subject,
        scope,
        location: None,
        via: Vec::new(),
        message: String::new(),
        hint: String::new(),
    }
}

/// What a broad group stands for, or `None` when the identity is not one.
pub(crate) fn broad(who: &Who) -> Option<String> {
    match who {
        Who::Group(g) if g == "system:authenticated" => {
            Some("every authenticated user and service account".to_owned())
        }
        Who::Group(g) if g == "system:unauthenticated" => {
            Some("every anonymous request".to_owned())
        }
        Who::User(u) if u == "system:anonymous" => Some("every anonymous request".to_owned()),
        Who::Group(g) if g == "system:serviceaccounts" => {
            Some("every service account of every namespace".to_owned())
        }
        Who::Group(g) => g
            .strip_prefix("system:serviceaccounts:")
            .map(|ns| format!("every service account of namespace {ns}")),
        _ => None,
    }
}

/// Why a grant is expected, or `None`. Expected: our agent's service accounts, and built-in
/// (`rbac-defaults`) roles bound to control-plane identities. A service account's user name
/// always starts with `system:`, so for service accounts "control plane" means `kube-system`;
/// otherwise binding any SA to `cluster-admin` would pass as expected. Broad groups are never
/// expected.
pub(crate) fn expected(grant: &Grant<'_, '_>, config: &AuditConfig) -> Option<&'static str> {
    if let Who::ServiceAccount { namespace, name } = grant.who {
        let ours = config
            .agent_service_accounts
            .iter()
            .any(|sa| &sa.namespace == namespace && &sa.name == name);
        if ours {
            return Some("our agent");
        }
    }
    if !grant.bound.role.default || broad(grant.who).is_some() {
        return None;
    }
    let system = match grant.who {
        Who::User(name) | Who::Group(name) => name.starts_with("system:"),
        Who::ServiceAccount { namespace, .. } => namespace == "kube-system",
    };
    system.then_some("built-in role bound to a control-plane identity")
}

/// The smallest change that takes this grant away from this subject, touching no one else.
pub(crate) fn binding_fix(grant: &Grant<'_, '_>) -> String {
    let binding = &grant.bound.binding;
    if binding.subjects <= 1 {
        format!("delete {}", binding.display)
    } else {
        format!(
            "remove {} from the subjects of {}",
            grant.who.display(),
            binding.display
        )
    }
}

/// What a subject may read in one scope, through the grants of one class (expected or not).
#[derive(Default)]
struct Access {
    /// Verbs granted on every Secret of the scope.
    all: BTreeSet<&'static str>,
    /// Verbs granted only on some names.
    named: BTreeMap<&'static str, BTreeSet<String>>,
    via: BTreeSet<String>,
    fixes: BTreeSet<String>,
    reasons: BTreeSet<&'static str>,
}

impl Access {
    fn is_empty(&self) -> bool {
        self.all.is_empty() && self.named.is_empty()
    }

    /// `get, list secrets` / `get only the secrets named a, b`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.all.is_empty() {
            parts.push(format!("{} every secret", join(&self.all)));
        }
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for set in self.named.values() {
            names.extend(set.iter().map(String::as_str));
        }
        if !names.is_empty() {
            let verbs: BTreeSet<&str> = self.named.keys().copied().collect();
            parts.push(format!(
                "{} only the secrets named {}",
                join(&verbs),
                join(&names)
            ));
        }
        parts.join(", and ")
    }
}

fn join<'s>(items: impl IntoIterator<Item = &'s &'s str>) -> String {
    items.into_iter().copied().collect::<Vec<_>>().join(", ")
}

fn scope_words(scope: &Scope) -> String {
    match scope {
        Scope::Cluster => "in every namespace".to_owned(),
        Scope::Namespace(ns) => format!("in namespace {ns}"),
    }
}

/// The read verbs this rule grants on Secrets: every name, or only the rule's names.
fn secret_reads(rule: &PolicyRule) -> Vec<&'static str> {
    if !matcher::group(rule, "") || !matcher::resource(rule, "secrets") {
        return Vec::new();
    }
    READ_VERBS
        .into_iter()
        .filter(|verb| matcher::verb(rule, verb))
        .collect()
}

/// RBAC010, RBAC011 and RBAC012: one finding per subject and scope that can read Secrets.
pub(crate) fn reads(model: &Model<'_>, config: &AuditConfig) -> Vec<Finding> {
    // (subject, scope) → (unexpected, expected) access.
    let mut by_subject: BTreeMap<(&Who, &Scope), (Access, Access)> = BTreeMap::new();
    for grant in model.grants() {
        let verbs = secret_reads(grant.rule.rule);
        if verbs.is_empty() {
            continue;
        }
        let reason = expected(&grant, config);
        let entry = by_subject
            .entry((grant.who, &grant.bound.scope))
            .or_default();
        let access = if reason.is_some() {
            &mut entry.1
        } else {
            &mut entry.0
        };
        for verb in verbs {
            match matcher::names(grant.rule.rule) {
                None => {
                    access.all.insert(verb);
                }
                Some(names) => access
                    .named
                    .entry(verb)
                    .or_default()
                    .extend(names.iter().cloned()),
            }
        }
        access.via.insert(grant.via());
        access.fixes.insert(binding_fix(&grant));
        access.reasons.extend(reason);
    }

    let mut findings = Vec::new();
    for ((who, scope), (unexpected, expected)) in by_subject {
        let via: Vec<String> = unexpected.via.union(&expected.via).cloned().collect();
        let id = if *scope == Scope::Cluster {
            "RBAC011"
        } else {
            "RBAC012"
        };
        let mut f = if let Some(group) = broad(who) {
            let mut f = finding(
                "RBAC010",
                Severity::Critical,
                Status::Fail,
                who.subject(),
                scope.clone(),
            );
            f.message = format!(
                "{group} can {} {}",
                unexpected.describe(),
                scope_words(scope)
            );
            f.hint = format!(
                "{}; grant the access to the subjects that need it",
                join_fixes(&unexpected)
            );
            f
        } else if !unexpected.all.is_empty() {
            let lists = unexpected.all.contains("list") || unexpected.all.contains("watch");
            let severity = match scope {
                Scope::Cluster if lists => Severity::High,
                _ => Severity::Medium,
            };
            let mut f = finding(id, severity, Status::Fail, who.subject(), scope.clone());
            f.message = format!("can {} {}", unexpected.describe(), scope_words(scope));
            if lists {
                f.message.push_str(" (list and watch return every value)");
            }
            f.hint = join_fixes(&unexpected);
            if *scope == Scope::Cluster {
                f.hint.push_str(
                    "; if it needs some Secrets only, bind a Role with get and resourceNames in their namespace instead",
                );
            }
            f
        } else if !unexpected.is_empty() {
            let mut f = finding(
                id,
                Severity::Info,
                Status::Warn,
                who.subject(),
                scope.clone(),
            );
            f.message = format!(
                "can {} {} (name-restricted)",
                unexpected.describe(),
                scope_words(scope)
            );
            f.hint = format!(
                "nothing to do if it needs exactly these Secrets; else {}",
                join_fixes(&unexpected)
            );
            f
        } else {
            let mut f = finding(
                id,
                Severity::Info,
                Status::Pass,
                who.subject(),
                scope.clone(),
            );
            f.message = format!(
                "expected ({}): can {} {}",
                join(&expected.reasons),
                expected.describe(),
                scope_words(scope)
            );
            f.hint = "nothing to do".to_owned();
            f
        };
        f.via = via;
        findings.push(f);
    }
    findings
}

fn join_fixes(access: &Access) -> String {
    format!(
        "smallest change: {}",
        access.fixes.iter().cloned().collect::<Vec<_>>().join("; ")
    )
}

/// RBAC030: `*` in verbs, resources or apiGroups of a role that is not built in. Aggregated
/// ClusterRoles are skipped: their rules are copies, reported on the roles they come from.
pub(crate) fn wildcards(objects: &RbacObjects, default_namespace: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut check = |subject: Subject, scope: Scope, display: String, rules: &[PolicyRule]| {
        let mut via = Vec::new();
        let mut parts = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let fields = matcher::wildcards(rule);
            if !fields.is_empty() {
                via.push(format!("{display} (rule {})", i + 1));
                parts.push(format!("rule {} has * in {}", i + 1, fields.join(", ")));
            }
        }
        if via.is_empty() {
            return;
        }
        let mut f = finding("RBAC030", Severity::Medium, Status::Warn, subject, scope);
        f.message = format!(
            "{}; a wildcard also grants every resource and verb added later, Secrets included",
            parts.join("; ")
        );
        f.hint = format!(
            "in {display}, replace each * with the exact verbs, resources and apiGroups it needs"
        );
        f.via = via;
        findings.push(f);
    };
    for role in &objects.roles {
        if is_default(&role.metadata) {
            continue;
        }
        let ns = role
            .metadata
            .namespace
            .as_deref()
            .unwrap_or(default_namespace);
        let name = role.metadata.name.as_deref().unwrap_or_default();
        check(
            Subject::namespaced("Role", ns, name),
            Scope::Namespace(ns.to_owned()),
            format!("Role/{ns}/{name}"),
            role.rules.as_deref().unwrap_or_default(),
        );
    }
    for role in &objects.cluster_roles {
        if is_default(&role.metadata) || role.aggregation_rule.is_some() {
            continue;
        }
        let name = role.metadata.name.as_deref().unwrap_or_default();
        check(
            Subject::new("ClusterRole", name),
            Scope::Cluster,
            format!("ClusterRole/{name}"),
            role.rules.as_deref().unwrap_or_default(),
        );
    }
    findings
}

/// RBAC032: bindings to roles that do not exist (they become live the moment someone creates
/// the role), and ServiceAccount subjects a ClusterRoleBinding can never match.
pub(crate) fn dangling(model: &Model<'_>) -> Vec<Finding> {
    model
        .dangling
        .iter()
        .map(|d| {
            let b = &d.binding;
            let subject = match &b.namespace {
                Some(ns) => Subject::namespaced(b.kind, ns.as_str(), b.name.as_str()),
                None => Subject::new(b.kind, b.name.as_str()),
            };
            let mut f = finding("RBAC032", Severity::Low, Status::Warn, subject, d.scope.clone());
            match &d.problem {
                DanglingProblem::MissingRole(role) => {
                    f.via = vec![format!("{} → {role} (missing)", b.display)];
                    f.message = format!(
                        "references {role}, which does not exist; whoever creates it grants its rules to the binding's subjects"
                    );
                    f.hint = format!("delete {} if nothing needs it", b.display);
                }
                DanglingProblem::SubjectWithoutNamespace { index, name } => {
                    f.via = vec![format!("{} (subject {index})", b.display)];
                    f.message = format!(
                        "subject {index} is ServiceAccount {name} without a namespace, which a ClusterRoleBinding never matches"
                    );
                    f.hint = format!(
                        "set the namespace of subject {index} of {}, or remove the subject",
                        b.display
                    );
                }
            }
            f
        })
        .collect()
}
