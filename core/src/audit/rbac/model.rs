//! Bindings resolved the way the authorizer resolves them: each binding's role looked up
//! (a RoleBinding's ClusterRole applies only inside the binding's namespace), aggregated
//! ClusterRoles filled in from the roles their selectors pick, subjects normalized to the
//! identities requests carry. The checks then walk [`Model::grants`]: one per subject, binding
//! and effective rule.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, Subject as RbacSubject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::RbacObjects;
use crate::audit::{Scope, Subject};

/// The label every built-in role and binding carries.
pub(crate) const DEFAULTS_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");

/// An identity a request can carry, as a binding's subject names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Who {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl Who {
    pub(crate) fn subject(&self) -> Subject {
        match self {
            Self::User(name) => Subject::new("User", name.as_str()),
            Self::Group(name) => Subject::new("Group", name.as_str()),
            Self::ServiceAccount { namespace, name } => {
                Subject::namespaced("ServiceAccount", namespace.as_str(), name.as_str())
            }
        }
    }

    /// How a hint names it (`User/alice`, `ServiceAccount/ci/deployer`).
    pub(crate) fn display(&self) -> String {
        match self {
            Self::User(name) => format!("User/{name}"),
            Self::Group(name) => format!("Group/{name}"),
            Self::ServiceAccount { namespace, name } => {
                format!("ServiceAccount/{namespace}/{name}")
            }
        }
    }
}

/// A binding, named the way `via` and hints print it.
#[derive(Debug, Clone)]
pub(crate) struct BindingRef {
    /// `ClusterRoleBinding/x` or `RoleBinding/ns/x`.
    pub(crate) display: String,
    pub(crate) kind: &'static str,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    /// How many subjects it lists: with one, deleting the binding is the smallest change.
    pub(crate) subjects: usize,
}

/// One effective rule of a role. For aggregated ClusterRoles, `chain` names the ClusterRoles the
/// rule was aggregated through (outermost first), so `via` can show where it came from.
#[derive(Debug, Clone)]
pub(crate) struct EffectiveRule<'a> {
    pub(crate) chain: Vec<&'a str>,
    /// 1-based index in the role that holds the rule (the last of `chain`, or the role itself).
    pub(crate) index: usize,
    pub(crate) rule: &'a PolicyRule,
}

/// A role a binding resolved to.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedRole<'a> {
    /// `ClusterRole/y` or `Role/ns/y`.
    pub(crate) display: String,
    /// Carries the `rbac-defaults` label.
    pub(crate) default: bool,
    pub(crate) rules: Vec<EffectiveRule<'a>>,
}

impl EffectiveRule<'_> {
    /// `ClusterRole/admin → ClusterRole/edit (rule 3)`.
    pub(crate) fn display(&self, role: &ResolvedRole<'_>) -> String {
        let mut text = role.display.clone();
        for name in &self.chain {
            text.push_str(&format!(" → ClusterRole/{name}"));
        }
        text.push_str(&format!(" (rule {})", self.index));
        text
    }
}

/// A binding whose role resolved, with the subjects that can match it.
#[derive(Debug)]
pub(crate) struct Bound<'a> {
    pub(crate) binding: BindingRef,
    pub(crate) scope: Scope,
    pub(crate) who: Vec<Who>,
    pub(crate) role: ResolvedRole<'a>,
}

/// Something in the objects that matches nothing: a binding to a missing role, or a subject no
/// request can carry.
#[derive(Debug)]
pub(crate) struct Dangling {
    pub(crate) binding: BindingRef,
    pub(crate) scope: Scope,
    pub(crate) problem: DanglingProblem,
}

#[derive(Debug)]
pub(crate) enum DanglingProblem {
    /// The referenced role does not exist (`Role/ns/x`, `ClusterRole/x`), or a
    /// ClusterRoleBinding references a Role, which the API never resolves.
    MissingRole(String),
    /// A ServiceAccount subject without a namespace in a ClusterRoleBinding (1-based index).
    SubjectWithoutNamespace { index: usize, name: String },
}

/// The resolved view of every binding.
#[derive(Debug, Default)]
pub(crate) struct Model<'a> {
    pub(crate) bound: Vec<Bound<'a>>,
    pub(crate) dangling: Vec<Dangling>,
}

/// One subject of one binding through one effective rule.
pub(crate) struct Grant<'m, 'a> {
    pub(crate) who: &'m Who,
    pub(crate) bound: &'m Bound<'a>,
    pub(crate) rule: &'m EffectiveRule<'a>,
}

impl Grant<'_, '_> {
    /// `ClusterRoleBinding/x → ClusterRole/y (rule 2)`.
    pub(crate) fn via(&self) -> String {
        format!(
            "{} → {}",
            self.bound.binding.display,
            self.rule.display(&self.bound.role)
        )
    }
}

pub(crate) fn is_default(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(DEFAULTS_LABEL.0))
        .map(String::as_str)
        == Some(DEFAULTS_LABEL.1)
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

impl<'a> Model<'a> {
    /// Resolve every binding of `objects`. RoleBindings without a namespace (manifests meant for
    /// `kubectl apply -n`) are placed in `default_namespace`.
    pub(crate) fn build(objects: &'a RbacObjects, default_namespace: &str) -> Self {
        let mut roles: BTreeMap<(&str, &str), &Role> = BTreeMap::new();
        for role in &objects.roles {
            let ns = role
                .metadata
                .namespace
                .as_deref()
                .unwrap_or(default_namespace);
            roles.entry((ns, name(&role.metadata))).or_insert(role);
        }
        let mut cluster_roles: BTreeMap<&str, &ClusterRole> = BTreeMap::new();
        for role in &objects.cluster_roles {
            cluster_roles.entry(name(&role.metadata)).or_insert(role);
        }
        let mut aggregated = Aggregator {
            roles: &cluster_roles,
            done: BTreeMap::new(),
        };
        let mut model = Model::default();

        for crb in &objects.cluster_role_bindings {
            let subjects = crb.subjects.as_deref().unwrap_or_default();
            let binding = BindingRef {
                display: format!("ClusterRoleBinding/{}", name(&crb.metadata)),
                kind: "ClusterRoleBinding",
                namespace: None,
                name: name(&crb.metadata).to_owned(),
                subjects: subjects.len(),
            };
            let mut who = Vec::new();
            for (index, subject) in subjects.iter().enumerate() {
                match normalize(subject, None) {
                    Some(w) => who.push(w),
                    None if subject.kind == "ServiceAccount" => model.dangling.push(Dangling {
                        binding: binding.clone(),
                        scope: Scope::Cluster,
                        problem: DanglingProblem::SubjectWithoutNamespace {
                            index: index + 1,
                            name: subject.name.clone(),
                        },
                    }),
                    None => {}
                }
            }
            let role_ref = &crb.role_ref;
            let found = (role_ref.kind == "ClusterRole")
                .then(|| cluster_roles.get(role_ref.name.as_str()).copied())
                .flatten();
            match found {
                Some(role) => model.bound.push(Bound {
                    binding,
                    scope: Scope::Cluster,
                    who,
                    role: aggregated.resolve(role),
                }),
                None => model.dangling.push(Dangling {
                    binding,
                    scope: Scope::Cluster,
                    problem: DanglingProblem::MissingRole(format!(
                        "{}/{}",
                        role_ref.kind, role_ref.name
                    )),
                }),
            }
        }

        for rb in &objects.role_bindings {
            let ns = rb
                .metadata
                .namespace
                .as_deref()
                .unwrap_or(default_namespace);
            let subjects = rb.subjects.as_deref().unwrap_or_default();
            let binding = BindingRef {
                display: format!("RoleBinding/{ns}/{}", name(&rb.metadata)),
                kind: "RoleBinding",
                namespace: Some(ns.to_owned()),
                name: name(&rb.metadata).to_owned(),
                subjects: subjects.len(),
            };
            let who = subjects
                .iter()
                .filter_map(|s| normalize(s, Some(ns)))
                .collect();
            let role_ref = &rb.role_ref;
            let role = match role_ref.kind.as_str() {
                "ClusterRole" => cluster_roles
                    .get(role_ref.name.as_str())
                    .copied()
                    .map(|r| aggregated.resolve(r)),
                "Role" => roles
                    .get(&(ns, role_ref.name.as_str()))
                    .copied()
                    .map(|role| ResolvedRole {
                        display: format!("Role/{ns}/{}", name(&role.metadata)),
                        default: is_default(&role.metadata),
                        rules: own_rules(role.rules.as_deref()),
                    }),
                _ => None,
            };
            let scope = Scope::Namespace(ns.to_owned());
            match role {
                Some(role) => model.bound.push(Bound {
                    binding,
                    scope,
                    who,
                    role,
                }),
                None => {
                    let missing = match role_ref.kind.as_str() {
                        "Role" => format!("Role/{ns}/{}", role_ref.name),
                        kind => format!("{kind}/{}", role_ref.name),
                    };
                    model.dangling.push(Dangling {
                        binding,
                        scope,
                        problem: DanglingProblem::MissingRole(missing),
                    });
                }
            }
        }
        model
    }

    /// Every (subject, binding, effective rule), in binding order.
    pub(crate) fn grants(&self) -> impl Iterator<Item = Grant<'_, 'a>> {
        self.bound.iter().flat_map(|bound| {
            bound.who.iter().flat_map(move |who| {
                bound
                    .role
                    .rules
                    .iter()
                    .map(move |rule| Grant { who, bound, rule })
            })
        })
    }
}

/// The identity a subject matches, or `None` when no request can carry it: a ServiceAccount
/// without a namespace matches in the RoleBinding's namespace and never in a ClusterRoleBinding;
/// unknown kinds match nothing. A User named like a service account (`system:serviceaccount:
/// ns:name`) is that service account, since the authorizer compares user names.
fn normalize(subject: &RbacSubject, binding_namespace: Option<&str>) -> Option<Who> {
    match subject.kind.as_str() {
        "User" => Some(match service_account_user(&subject.name) {
            Some((namespace, name)) => Who::ServiceAccount {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
            None => Who::User(subject.name.clone()),
        }),
        "Group" => Some(Who::Group(subject.name.clone())),
        "ServiceAccount" => {
            let namespace = subject
                .namespace
                .as_deref()
                .filter(|ns| !ns.is_empty())
                .or(binding_namespace)?;
            Some(Who::ServiceAccount {
                namespace: namespace.to_owned(),
                name: subject.name.clone(),
            })
        }
        _ => None,
    }
}

fn service_account_user(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = rest.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

fn own_rules(rules: Option<&[PolicyRule]>) -> Vec<EffectiveRule<'_>> {
    rules
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, rule)| EffectiveRule {
            chain: Vec::new(),
            index: i + 1,
            rule,
        })
        .collect()
}

/// Computes aggregated ClusterRoles once each, with cycle protection: a role reached again
/// while it is being computed contributes nothing more (the controller would converge on the
/// union; a cycle of aggregating roles with empty rules has no rules to converge on anyway).
struct Aggregator<'r, 'a> {
    roles: &'r BTreeMap<&'a str, &'a ClusterRole>,
    done: BTreeMap<&'a str, Vec<EffectiveRule<'a>>>,
}

impl<'a> Aggregator<'_, 'a> {
    fn resolve(&mut self, role: &'a ClusterRole) -> ResolvedRole<'a> {
        let mut visiting = BTreeSet::new();
        ResolvedRole {
            display: format!("ClusterRole/{}", name(&role.metadata)),
            default: is_default(&role.metadata),
            rules: self.rules(role, &mut visiting),
        }
    }

    /// The stored rules, unless the role aggregates and has none stored yet (a manifest from
    /// Git, before the aggregation controller filled it in): then the union of the effective
    /// rules of every other ClusterRole its selectors match, in name order.
    fn rules(
        &mut self,
        role: &'a ClusterRole,
        visiting: &mut BTreeSet<&'a str>,
    ) -> Vec<EffectiveRule<'a>> {
        let own = name(&role.metadata);
        let stored = role.rules.as_deref().unwrap_or_default();
        let selectors = role
            .aggregation_rule
            .as_ref()
            .and_then(|a| a.cluster_role_selectors.as_deref())
            .unwrap_or_default();
        if !stored.is_empty() || selectors.is_empty() {
            return own_rules(Some(stored));
        }
        if let Some(done) = self.done.get(own) {
            return done.clone();
        }
        visiting.insert(own);
        let mut rules = Vec::new();
        let roles = self.roles;
        let no_labels = BTreeMap::new();
        for (source_name, source) in roles.iter() {
            if visiting.contains(source_name) {
                continue;
            }
            let labels = source.metadata.labels.as_ref().unwrap_or(&no_labels);
            if !selectors
                .iter()
                .any(|s| crate::selector::matches(s, labels))
            {
                continue;
            }
            for mut rule in self.rules(source, visiting) {
                rule.chain.insert(0, *source_name);
                rules.push(rule);
            }
        }
        visiting.remove(own);
        self.done.insert(own, rules.clone());
        rules
    }
}
