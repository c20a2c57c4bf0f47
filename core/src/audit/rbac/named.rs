//! Readers of particular Secrets: our sealing keys (RBAC013) and legacy service-account token
//! Secrets (RBAC031). A grant reads a named Secret when it is in scope there (cluster-wide, or
//! bound in the Secret's namespace) and allows get, list or watch on `secrets` for every name
//! or for that name (`list`/`watch` with `resourceNames` still return the object when the
//! client selects it by name).

use std::collections::{BTreeMap, BTreeSet};

use super::checks::{READ_VERBS, binding_fix, expected, finding};
use super::model::{Grant, Model, Who};
use super::{AuditConfig, SecretRef, matcher};
use crate::audit::{Finding, Scope, Severity, Status};

/// Whether `grant` lets its subject read `secret`.
fn reads(grant: &Grant<'_, '_>, secret: &SecretRef) -> bool {
    let in_scope = match &grant.bound.scope {
        Scope::Cluster => true,
        Scope::Namespace(ns) => *ns == secret.namespace,
    };
    let rule = grant.rule.rule;
    in_scope
        && matcher::group(rule, "")
        && matcher::resource(rule, "secrets")
        && READ_VERBS.iter().any(|verb| matcher::verb(rule, verb))
        && matcher::names(rule).is_none_or(|names| names.contains(&secret.name))
}

/// Subjects that hold every power anyway: bound cluster-wide to `cluster-admin`, or in
/// `system:masters` (which bypasses RBAC altogether).
fn cluster_admins(model: &Model<'_>) -> BTreeSet<Who> {
    let mut admins: BTreeSet<Who> = model
        .bound
        .iter()
        .filter(|b| {
            b.binding.kind == "ClusterRoleBinding" && b.role.display == "ClusterRole/cluster-admin"
        })
        .flat_map(|b| b.who.iter().cloned())
        .collect();
    admins.insert(Who::Group("system:masters".to_owned()));
    admins
}

#[derive(Default)]
struct Readers {
    secrets: BTreeSet<String>,
    via: BTreeSet<String>,
    fixes: BTreeSet<String>,
    why_expected: Option<&'static str>,
}

/// Every subject that can read one of `secrets`, with the grants that let it.
fn readers<'m>(
    model: &'m Model<'_>,
    secrets: &[SecretRef],
    config: &AuditConfig,
) -> BTreeMap<&'m Who, Readers> {
    let mut found: BTreeMap<&Who, Readers> = BTreeMap::new();
    for grant in model.grants() {
        for secret in secrets.iter().filter(|s| reads(&grant, s)) {
            let entry = found.entry(grant.who).or_default();
            entry
                .secrets
                .insert(format!("{}/{}", secret.namespace, secret.name));
            entry.via.insert(grant.via());
            entry.fixes.insert(binding_fix(&grant));
            if let Some(why) = expected(&grant, config) {
                entry.why_expected.get_or_insert(why);
            }
        }
    }
    found
}

fn list(items: &BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// RBAC013: who can read a sealing key beyond our agent, cluster admins and the built-in
/// control plane. Such a reader can open every SealedSecret ever committed.
pub(crate) fn sealing_key_readers(model: &Model<'_>, config: &AuditConfig) -> Vec<Finding> {
    let Some(namespace) = config.sealing_keys.first().map(|k| k.namespace.clone()) else {
        return Vec::new();
    };
    let admins = cluster_admins(model);
    let scope = Scope::Namespace(namespace);
    readers(model, &config.sealing_keys, config)
        .into_iter()
        .map(|(who, r)| {
            let expected = if admins.contains(who) {
                Some("cluster admin")
            } else {
                r.why_expected
            };
            let mut f = match expected {
                Some(why) => {
                    let mut f = finding("RBAC013", Severity::Info, Status::Pass, who.subject(), scope.clone());
                    f.message = format!("expected ({why}): can read the sealing keys");
                    f.hint = "nothing to do".to_owned();
                    f
                }
                None => {
                    let mut f = finding("RBAC013", Severity::Critical, Status::Fail, who.subject(), scope.clone());
                    f.message = format!(
                        "can read the sealing key(s) {}, which open every SealedSecret in Git, past and future",
                        list(&r.secrets)
                    );
                    f.hint = format!(
                        "smallest change: {}; then rotate the sealing key (kubectl secrets keys rotate) and reseal, since the old key may have been read",
                        list(&r.fixes).replace(", ", "; ")
                    );
                    f
                }
            };
            f.via = r.via.into_iter().collect();
            f
        })
        .collect()
}

/// RBAC031: legacy token Secrets (type `kubernetes.io/service-account-token`), standing
/// credentials since TokenRequest exists. Present: medium; readable by a subject that is not
/// expected (nor a cluster admin): high, naming the readers.
pub(crate) fn token_secrets(model: &Model<'_>, config: &AuditConfig) -> Vec<Finding> {
    let admins = cluster_admins(model);
    config
        .token_secrets
        .iter()
        .map(|secret| {
            let targets = std::slice::from_ref(secret);
            let unexpected: BTreeMap<&Who, Readers> = readers(model, targets, config)
                .into_iter()
                .filter(|(who, r)| r.why_expected.is_none() && !admins.contains(who))
                .collect();
            let subject = crate::audit::Subject::namespaced("Secret", secret.namespace.as_str(), secret.name.as_str());
            let scope = Scope::Namespace(secret.namespace.clone());
            let mut f = if unexpected.is_empty() {
                let mut f = finding("RBAC031", Severity::Medium, Status::Warn, subject, scope);
                f.message = "a long-lived service-account token Secret; tokens from the TokenRequest API expire, this one does not".to_owned();
                f
            } else {
                let mut f = finding("RBAC031", Severity::High, Status::Fail, subject, scope);
                let who: BTreeSet<String> = unexpected.keys().map(|w| w.display()).collect();
                f.message = format!(
                    "a long-lived service-account token Secret readable by {}: whoever reads it acts as that service account",
                    list(&who)
                );
                f.via = unexpected.values().flat_map(|r| r.via.iter().cloned()).collect::<BTreeSet<_>>().into_iter().collect();
                f
            };
            f.hint = format!(
                "delete Secret {}/{} if nothing uses it (pods get projected tokens); a client outside the cluster can use `kubectl create token` instead",
                secret.namespace, secret.name
            );
            f
        })
        .collect()
}
