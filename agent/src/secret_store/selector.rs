//! Label selectors as a ClusterSecretStore's `spec.conditions[].namespaceSelector` uses them,
//! matched against a namespace's labels (sync: from the reflector cache, no API call per read;
//! mounts: the namespace as read for the mount).

use std::collections::BTreeMap;

use secrets_core::api::SecretStoreSpec;
use secrets_core::selector::matches;

/// Whether a ClusterSecretStore's `spec.conditions` admit `namespace` (labelled `labels`):
/// no conditions admit every namespace, else one condition must list it or select it. Used
/// by sync and by mounts alike.
pub(crate) fn namespace_admitted(
    spec: &SecretStoreSpec,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let Some(conditions) = &spec.conditions else {
        return true;
    };
    conditions.iter().any(|c| {
        c.namespaces.iter().flatten().any(|n| n == namespace)
            || c.namespace_selector
                .as_ref()
                .is_some_and(|selector| matches(selector, labels))
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

    use super::*;

    #[test]
    fn selectors_match_labels_and_expressions() {
        let labels: BTreeMap<String, String> = [("team".to_owned(), "a".to_owned())].into();
        let mut s = LabelSelector {
            match_labels: Some(labels.clone()),
            ..Default::default()
        };
        assert!(matches(&s, &labels));
        assert!(!matches(&s, &BTreeMap::new()));
        s.match_expressions = Some(vec![LabelSelectorRequirement {
            key: "env".into(),
            operator: "DoesNotExist".into(),
            values: None,
        }]);
        assert!(matches(&s, &labels));
        s.match_expressions = Some(vec![LabelSelectorRequirement {
            key: "team".into(),
            operator: "NotIn".into(),
            values: Some(vec!["a".into()]),
        }]);
        assert!(!matches(&s, &labels));
    }
}
