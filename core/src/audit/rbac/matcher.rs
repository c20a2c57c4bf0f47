//! The RBAC authorizer's matching rules for one `PolicyRule` (label selectors for aggregation
//! are `crate::selector`'s). Kept apart so every rule of the reference's §1.1 has one small function and one
//! test: verbs exact or `*`, apiGroups exact or `*`, resources exact, `*` or `*/<sub>`,
//! `resourceNames` empty meaning every name.

use k8s_openapi::api::rbac::v1::PolicyRule;

const ALL: &str = "*";

/// Whether the rule grants `verb`: an exact string or `*`, nothing else (no prefixes, no
/// comma lists; `"get,list"` in a rule is a verb nobody sends).
pub(crate) fn verb(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == ALL || v == verb)
}

/// Whether the rule covers API group `group` (`""` is the core group).
pub(crate) fn group(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups
        .iter()
        .flatten()
        .any(|g| g == ALL || g == group)
}

/// Whether the rule covers `resource`, which may name a subresource (`pods/exec`): `*` covers
/// everything, `*/exec` every resource's `exec` subresource, else the string must be equal.
pub(crate) fn resource(rule: &PolicyRule, resource: &str) -> bool {
    let sub = resource.split_once('/').map(|(_, sub)| sub);
    rule.resources.iter().flatten().any(|r| {
        r == ALL || r == resource || sub.is_some_and(|sub| r.strip_prefix("*/") == Some(sub))
    })
}

/// The names a rule is restricted to, or `None` when it covers every name.
pub(crate) fn names(rule: &PolicyRule) -> Option<&[String]> {
    rule.resource_names
        .as_deref()
        .filter(|names| !names.is_empty())
}

/// Whether the rule has a `*` in verbs, resources or apiGroups, and where.
pub(crate) fn wildcards(rule: &PolicyRule) -> Vec<&'static str> {
    let has = |list: Option<&Vec<String>>| list.into_iter().flatten().any(|s| s == ALL);
    let mut found = Vec::new();
    if has(Some(&rule.verbs)) {
        found.push("verbs");
    }
    if has(rule.resources.as_ref()) {
        found.push("resources");
    }
    if has(rule.api_groups.as_ref()) {
        found.push("apiGroups");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        PolicyRule {
            api_groups: Some(owned(groups)),
            resources: Some(owned(resources)),
            verbs: owned(verbs),
            ..PolicyRule::default()
        }
    }

    #[test]
    fn verbs_match_exactly_or_by_star() {
        let r = rule(&[""], &["secrets"], &["list", "get,watch"]);
        assert!(verb(&r, "list"));
        assert!(!verb(&r, "get"), "a comma list is one odd verb, not two");
        assert!(!verb(&r, "watch"));
        assert!(
            !verb(&rule(&[""], &["secrets"], &["li*"]), "list"),
            "no prefixes"
        );
        assert!(verb(&rule(&[""], &["secrets"], &["*"]), "watch"));
    }

    #[test]
    fn groups_and_resources_match_like_the_authorizer() {
        let core = rule(&[""], &["secrets"], &["get"]);
        assert!(group(&core, ""));
        assert!(!group(&core, "apps"));
        assert!(group(&rule(&["*"], &["x"], &["get"]), "apps"));
        assert!(resource(&core, "secrets"));
        assert!(!resource(&core, "secrets/status"));
        let star = rule(&[""], &["*"], &["get"]);
        assert!(resource(&star, "secrets"));
        assert!(resource(&star, "pods/exec"));
        let sub = rule(&[""], &["*/exec"], &["create"]);
        assert!(resource(&sub, "pods/exec"));
        assert!(!resource(&sub, "pods"));
        assert!(!resource(&rule(&[""], &["pods"], &["create"]), "pods/exec"));
    }

    #[test]
    fn empty_resource_names_mean_every_name() {
        let mut r = rule(&[""], &["secrets"], &["get"]);
        assert_eq!(names(&r), None);
        r.resource_names = Some(vec![]);
        assert_eq!(names(&r), None);
        r.resource_names = Some(vec!["tls".to_owned()]);
        assert_eq!(names(&r), Some(&["tls".to_owned()][..]));
    }

    #[test]
    fn wildcards_are_named_by_field() {
        assert_eq!(
            wildcards(&rule(&["*"], &["*"], &["*"])),
            ["verbs", "resources", "apiGroups"]
        );
        assert!(wildcards(&rule(&[""], &["secrets"], &["get"])).is_empty());
    }
}
