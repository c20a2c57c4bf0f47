//! Canned answers where kube-apiserver computes one: SubjectAccessReviews (kube-standin has no
//! authorizer), the verbose health checks, and `/metrics`. Tests set them through
//! [`crate::Control`] or `PUT /_standin/{authz,healthchecks,metrics}` so that code reading
//! them (the plugin's `doctor`) can be tested against both answers.
//!
//! Data flow: review attributes (from a SubjectAccessReview body, or the requester for a
//! SelfSubjectAccessReview) → [`AuthzTable::decide`] (first matching rule, else
//! `defaultAllowed`) → `status`. Health: the fixed check list of each endpoint, with the
//! extra checks after `etcd` (where kube-apiserver puts its KMS checks) → [`health`]. Metrics:
//! a small default exposition plus what the test set → [`metrics`].

use serde::{Deserialize, Serialize};

/// One rule of the authorization table. Unset fields match anything; `*` matches any verb
/// or resource. `resource` is `plural` or `plural/subresource` (`pods/exec`); for
/// non-resource requests it is the path (`/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthzRule {
    /// The user asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Matches when the subject is in any of these groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// `get`, `list`, …, or `*`.
    pub verb: String,
    /// `secrets`, `pods/exec`, `/metrics`, or `*`.
    pub resource: String,
    /// Unset: any namespace, cluster-wide requests included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Unset: any name, and requests for no name (lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The answer.
    pub allowed: bool,
    /// An explicit deny (`status.denied`), as a deny-capable webhook gives; RBAC never does.
    #[serde(default)]
    pub denied: bool,
    /// `status.reason`; default `kube-standin rule N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The rules, first match wins, and the answer when none matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthzTable {
    /// In order.
    #[serde(default)]
    pub rules: Vec<AuthzRule>,
    /// The answer when no rule matches; `true` by default, as kube-standin lets every
    /// request through.
    #[serde(default = "yes")]
    pub default_allowed: bool,
}

fn yes() -> bool {
    true
}

impl Default for AuthzTable {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            default_allowed: true,
        }
    }
}

/// What a review asks: who, and what request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// The user.
    pub user: String,
    /// Their groups.
    pub groups: Vec<String>,
    /// The verb.
    pub verb: String,
    /// `plural[/subresource]`, or the path of a non-resource request.
    pub resource: String,
    /// Empty for cluster-wide.
    pub namespace: String,
    /// Empty for none.
    pub name: String,
}

/// A review's `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzDecision {
    /// `status.allowed`.
    pub allowed: bool,
    /// `status.denied`.
    pub denied: bool,
    /// `status.reason`.
    pub reason: String,
}

impl AuthzTable {
    /// The first matching rule's answer, else the default.
    pub fn decide(&self, attributes: &Attributes) -> AuthzDecision {
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.matches(attributes) {
                return AuthzDecision {
                    allowed: rule.allowed,
                    denied: rule.denied && !rule.allowed,
                    reason: rule
                        .reason
                        .clone()
                        .unwrap_or_else(|| format!("kube-standin rule {}", index + 1)),
                };
            }
        }
        AuthzDecision {
            allowed: self.default_allowed,
            denied: false,
            reason: if self.default_allowed {
                "kube-standin has no authorizer: every request is allowed".to_owned()
            } else {
                String::new()
            },
        }
    }
}

impl AuthzRule {
    fn matches(&self, a: &Attributes) -> bool {
        let any_or = |want: &str, have: &str| want == "*" || want == have;
        self.user.as_deref().is_none_or(|u| u == a.user)
            && self
                .groups
                .as_ref()
                .is_none_or(|gs| gs.iter().any(|g| a.groups.contains(g)))
            && any_or(&self.verb, &a.verb)
            && any_or(&self.resource, &a.resource)
            && self.namespace.as_deref().is_none_or(|ns| ns == a.namespace)
            && self.name.as_deref().is_none_or(|n| n == a.name)
    }
}

/// An extra health check, shown on `/healthz`, `/livez` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    /// `kms-provider-0`, `kms-providers`, …
    pub name: String,
    /// Passing or not.
    pub ok: bool,
}

/// The checks kube-apiserver registers on every endpoint, in its order (a subset of the post-
/// start hooks); the extra checks go after `etcd`.
const BEFORE: [&str; 3] = ["ping", "log", "etcd"];
const AFTER: [&str; 4] = [
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/start-kube-apiserver-admission-initializer",
    "poststarthook/rbac/bootstrap-roles",
];

/// The body and success of `endpoint` (`healthz`, `livez`, `readyz`) as kube-apiserver
/// answers it: `ok` when all pass and `verbose` is not asked for; else one line per check
/// (`[+]name ok`, `[-]name failed: reason withheld`) and `<endpoint> check passed|failed`.
/// Failing checks are listed even without `verbose`, as the real server does.
pub fn health(endpoint: &str, extra: &[HealthCheck], verbose: bool) -> (bool, String) {
    let mut checks: Vec<(&str, bool)> = BEFORE.iter().map(|name| (*name, true)).collect();
    if endpoint == "readyz" {
        checks.extend([("etcd-readiness", true), ("informer-sync", true)]);
    }
    checks.extend(extra.iter().map(|c| (c.name.as_str(), c.ok)));
    checks.extend(AFTER.iter().map(|name| (*name, true)));
    if endpoint == "readyz" {
        checks.push(("shutdown", true));
    }
    let ok = checks.iter().all(|(_, ok)| *ok);
    if ok && !verbose {
        return (true, "ok".to_owned());
    }
    let mut body = String::new();
    for (name, passed) in checks {
        if passed {
            body.push_str(&format!("[+]{name} ok\n"));
        } else {
            body.push_str(&format!("[-]{name} failed: reason withheld\n"));
        }
    }
    let verdict = if ok { "passed" } else { "failed" };
    body.push_str(&format!("{endpoint} check {verdict}\n"));
    (ok, body)
}

/// The default `/metrics` exposition: a few series every kube-apiserver has, and no
/// `apiserver_storage_transformation_*` series (as without an encryption configuration).
pub const DEFAULT_METRICS: &str = "\
# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.
# TYPE apiserver_request_total counter
apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"secrets\",scope=\"namespace\",subresource=\"\",verb=\"GET\",version=\"v1\"} 42
apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"secrets\",scope=\"resource\",subresource=\"\",verb=\"POST\",version=\"v1\"} 7
# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.
# TYPE apiserver_storage_objects gauge
apiserver_storage_objects{resource=\"secrets\"} 12
# HELP process_start_time_seconds [ALPHA] Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.7e+09
";

/// The `/metrics` body: the defaults, then the series the test set (Prometheus text).
pub fn metrics(extra: &str) -> String {
    let mut body = DEFAULT_METRICS.to_owned();
    body.push_str(extra);
    if !body.ends_with('\n') {
        body.push('\n');
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(user: &str, groups: &[&str], verb: &str, resource: &str, namespace: &str) -> Attributes {
        Attributes {
            user: user.into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: String::new(),
        }
    }

    #[test]
    fn first_matching_rule_wins_else_the_default() {
        let table: AuthzTable = serde_json::from_value(serde_json::json!({
            "defaultAllowed": false,
            "rules": [
                {"user": "alice", "verb": "get", "resource": "secrets", "namespace": "team", "allowed": true},
                {"groups": ["ops"], "verb": "*", "resource": "secrets", "allowed": true, "reason": "ops"},
                {"verb": "*", "resource": "*", "allowed": false, "denied": true, "reason": "webhook says no"}
            ]
        }))
        .unwrap();
        let alice = table.decide(&ask("alice", &[], "get", "secrets", "team"));
        assert!(alice.allowed);
        assert_eq!(alice.reason, "kube-standin rule 1");
        let elsewhere = table.decide(&ask("alice", &[], "get", "secrets", "other"));
        assert_eq!((elsewhere.allowed, elsewhere.denied), (false, true));
        let ops = table.decide(&ask("bob", &["ops"], "list", "secrets", ""));
        assert_eq!((ops.allowed, ops.reason.as_str()), (true, "ops"));
        let open = AuthzTable::default().decide(&ask("x", &[], "get", "secrets", ""));
        assert!(open.allowed && !open.denied);
        let closed = AuthzTable {
            default_allowed: false,
            ..AuthzTable::default()
        };
        assert!(!closed.decide(&ask("x", &[], "get", "secrets", "")).allowed);
        let unknown = serde_json::from_value::<AuthzTable>(serde_json::json!({"rulez": []}));
        assert!(unknown.is_err());
    }

    #[test]
    fn health_is_ok_or_the_verbose_list() {
        assert_eq!(health("readyz", &[], false), (true, "ok".to_owned()));
        let (ok, body) = health("readyz", &[], true);
        assert!(ok);
        assert!(body.starts_with("[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]etcd-readiness ok\n"));
        assert!(body.ends_with("[+]shutdown ok\nreadyz check passed\n"));
        let kms = [HealthCheck {
            name: "kms-provider-0".into(),
            ok: false,
        }];
        let (ok, body) = health("livez", &kms, false);
        assert!(!ok);
        assert!(body.starts_with(
            "[+]ping ok\n[+]log ok\n[+]etcd ok\n[-]kms-provider-0 failed: reason withheld\n"
        ));
        assert!(body.ends_with("livez check failed\n"));
        assert!(!body.contains("shutdown"));
    }

    #[test]
    fn metrics_append_to_the_defaults() {
        assert!(!metrics("").contains("apiserver_storage_transformation"));
        let body = metrics("x_total 1");
        assert!(body.starts_with("# HELP apiserver_request_total"));
        assert!(body.ends_with("\nx_total 1\n"));
    }
}
