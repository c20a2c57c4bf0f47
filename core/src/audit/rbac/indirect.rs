//! RBAC020: permissions that reveal Secret values without a read on `secrets` (reference
//! `doctor.md` §1.3). One finding per subject and scope, naming every path it has.
//!
//! A path on cluster-scoped objects (nodes, CSRs, webhooks, users and groups) only counts for
//! ClusterRoleBindings: a RoleBinding's rules apply to requests inside its namespace, and those
//! objects live in none. `create` can never be name-restricted, so a rule with `resourceNames`
//! never grants a `create` path.

use std::collections::{BTreeMap, BTreeSet};

use super::checks::{binding_fix, broad, expected, finding};
use super::model::{Grant, Model, Who};
use super::{AuditConfig, matcher};
use crate::audit::{Finding, Scope, Severity, Status};

/// One way to reach Secret values: any of `targets` (group, resource) with any of `verbs`.
struct Path {
    what: &'static str,
    targets: &'static [(&'static str, &'static str)],
    verbs: &'static [&'static str],
    cluster_only: bool,
}

const WORKLOADS: &[(&str, &str)] = &[
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
];

const PATHS: &[Path] = &[
    Path {
        what: "create pods (a pod mounts any Secret of its namespace)",
        targets: &[("", "pods")],
        verbs: &["create"],
        cluster_only: false,
    },
    Path {
        what: "create or change workloads (their pods mount any Secret of the namespace)",
        targets: WORKLOADS,
        verbs: &["create", "update", "patch"],
        cluster_only: false,
    },
    Path {
        what: "change pods (swap the image of a pod that mounts Secrets)",
        targets: &[("", "pods")],
        verbs: &["update", "patch"],
        cluster_only: false,
    },
    Path {
        // The websocket form of exec and attach is authorized as `get`.
        what: "exec into or attach to pods (reads mounted Secret files and env)",
        targets: &[("", "pods/exec"), ("", "pods/attach")],
        verbs: &["create", "get"],
        cluster_only: false,
    },
    Path {
        what: "add ephemeral containers to pods",
        targets: &[("", "pods/ephemeralcontainers")],
        verbs: &["patch", "update"],
        cluster_only: false,
    },
    Path {
        what: "mint service account tokens (act as any service account of the namespace)",
        targets: &[("", "serviceaccounts/token")],
        verbs: &["create"],
        cluster_only: false,
    },
    Path {
        what: "impersonate service accounts",
        targets: &[("", "serviceaccounts")],
        verbs: &["impersonate"],
        cluster_only: false,
    },
    Path {
        what: "impersonate users or groups (system:masters included)",
        targets: &[("", "users"), ("", "groups")],
        verbs: &["impersonate"],
        cluster_only: true,
    },
    Path {
        what: "bind or escalate roles (grant itself a Secret reader role)",
        targets: &[
            ("rbac.authorization.k8s.io", "roles"),
            ("rbac.authorization.k8s.io", "clusterroles"),
        ],
        verbs: &["bind", "escalate"],
        cluster_only: false,
    },
    Path {
        // `get` is enough: the kubelet authorizes exec through nodes/proxy by the HTTP method.
        what: "proxy to kubelets (exec in any pod of a node, unaudited)",
        targets: &[("", "nodes/proxy")],
        verbs: &["get", "create"],
        cluster_only: true,
    },
    Path {
        what: "create or change admission webhooks (they receive every admitted Secret)",
        targets: &[
            (
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
            (
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
        ],
        verbs: &["create", "update", "patch"],
        cluster_only: true,
    },
];

const CSR_APPROVAL: &str = "approve client certificates (a certificate for any user name)";

/// Whether the rule grants `verb` on any target, honouring `resourceNames` for `create`.
fn grants(
    rule: &k8s_openapi::api::rbac::v1::PolicyRule,
    targets: &[(&str, &str)],
    verb: &str,
) -> bool {
    if verb == "create" && matcher::names(rule).is_some() {
        return false;
    }
    matcher::verb(rule, verb)
        && targets.iter().any(|(group, resource)| {
            matcher::group(rule, group) && matcher::resource(rule, resource)
        })
}

/// The paths of one grant, plus the two halves of CSR approval (updating the approval
/// subresource, and `approve` on a signer that issues API client certificates).
fn paths_of(grant: &Grant<'_, '_>) -> (Vec<&'static str>, bool, bool) {
    let rule = grant.rule.rule;
    let cluster = grant.bound.scope == Scope::Cluster;
    let found = PATHS
        .iter()
        .filter(|p| cluster || !p.cluster_only)
        .filter(|p| p.verbs.iter().any(|verb| grants(rule, p.targets, verb)))
        .map(|p| p.what)
        .collect();
    let certs = "certificates.k8s.io";
    let approval = cluster
        && ["update", "patch"].iter().any(|verb| {
            grants(
                rule,
                &[(certs, "certificatesigningrequests/approval")],
                verb,
            )
        });
    let signer = cluster
        && grants(rule, &[(certs, "signers")], "approve")
        && matcher::names(rule).is_none_or(|names| {
            names
                .iter()
                .any(|n| n == "kubernetes.io/kube-apiserver-client" || n == "kubernetes.io/*")
        });
    (found, approval, signer)
}

#[derive(Default)]
struct Reach {
    paths: BTreeSet<&'static str>,
    approval: bool,
    signer: bool,
    via: BTreeSet<String>,
    fixes: BTreeSet<String>,
    reasons: BTreeSet<&'static str>,
}

impl Reach {
    fn all_paths(&self) -> Vec<&'static str> {
        let mut paths: Vec<_> = self.paths.iter().copied().collect();
        if self.approval && self.signer {
            paths.push(CSR_APPROVAL);
        }
        paths
    }
}

/// RBAC020 for every subject and scope with at least one path.
pub(crate) fn paths(model: &Model<'_>, config: &AuditConfig) -> Vec<Finding> {
    let mut by_subject: BTreeMap<(&Who, &Scope), (Reach, Reach)> = BTreeMap::new();
    for grant in model.grants() {
        let (paths, approval, signer) = paths_of(&grant);
        if paths.is_empty() && !approval && !signer {
            continue;
        }
        let reason = expected(&grant, config);
        let entry = by_subject
            .entry((grant.who, &grant.bound.scope))
            .or_default();
        let reach = if reason.is_some() {
            &mut entry.1
        } else {
            &mut entry.0
        };
        reach.paths.extend(paths);
        reach.approval |= approval;
        reach.signer |= signer;
        reach.via.insert(grant.via());
        reach.fixes.insert(binding_fix(&grant));
        reach.reasons.extend(reason);
    }

    let mut findings = Vec::new();
    for ((who, scope), (unexpected, expected)) in by_subject {
        let privileged = match scope {
            // Cluster-wide includes kube-system and the agent's namespace.
            Scope::Cluster => true,
            Scope::Namespace(ns) => {
                ns == "kube-system" || config.agent_namespace.as_deref() == Some(ns)
            }
        };
        let where_ = match scope {
            Scope::Cluster => "cluster-wide".to_owned(),
            Scope::Namespace(ns) => format!("in namespace {ns}"),
        };
        let bad = unexpected.all_paths();
        let mut f = if !bad.is_empty() {
            let severity = if privileged {
                Severity::Critical
            } else {
                Severity::High
            };
            let mut f = finding(
                "RBAC020",
                severity,
                Status::Fail,
                who.subject(),
                scope.clone(),
            );
            let who_words = broad(who).map(|g| format!("{g} ")).unwrap_or_default();
            f.message = format!(
                "{who_words}can read Secret values without a read on secrets {where_}: can {}",
                bad.join("; ")
            );
            f.hint = format!(
                "smallest change: {}; or drop those verbs from the rules named in via",
                unexpected
                    .fixes
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            f.via = unexpected.via.iter().cloned().collect();
            f
        } else {
            let good = expected.all_paths();
            if good.is_empty() {
                // Only one half of CSR approval: not a path.
                continue;
            }
            let mut f = finding(
                "RBAC020",
                Severity::Info,
                Status::Pass,
                who.subject(),
                scope.clone(),
            );
            f.message = format!(
                "expected ({}): can {} {where_}",
                expected
                    .reasons
                    .iter()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
                good.join("; ")
            );
            f.hint = "nothing to do".to_owned();
            f
        };
        f.via.extend(expected.via.iter().cloned());
        f.via.sort();
        f.via.dedup();
        findings.push(f);
    }
    findings
}
