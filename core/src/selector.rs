//! Label selectors (`matchLabels`, `matchExpressions`) matched against an object's labels:
//! one rule for every place that reads them — ClusterSecretStore conditions in the agent and
//! ClusterRole aggregation in `doctor`. Pure.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `labels` match `selector` as Kubernetes reads one (the aggregation controller, a
/// ClusterSecretStore's `namespaceSelector`): `matchLabels` AND every `matchExpressions`
/// entry; an empty selector matches everything. A selector the API
/// would reject (unknown operator, `In` without values) matches nothing, since the controller
/// cannot use it either.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    by_labels
        && selector.match_expressions.iter().flatten().all(|expr| {
            let values = expr.values.as_deref().unwrap_or_default();
            let value = labels.get(&expr.key);
            match expr.operator.as_str() {
                "In" => !values.is_empty() && value.is_some_and(|v| values.contains(v)),
                "NotIn" => !values.is_empty() && value.is_none_or(|v| !values.contains(v)),
                "Exists" => values.is_empty() && value.is_some(),
                "DoesNotExist" => values.is_empty() && value.is_none(),
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    #[test]
    fn selectors_and_labels_and_expressions() {
        let labels: BTreeMap<_, _> = [
            ("aggregate".to_owned(), "true".to_owned()),
            ("tier".to_owned(), "a".to_owned()),
        ]
        .into();
        let expr = |key: &str, op: &str, values: &[&str]| LabelSelectorRequirement {
            key: key.to_owned(),
            operator: op.to_owned(),
            values: Some(values.iter().map(|s| (*s).to_owned()).collect()),
        };
        let sel = |exprs: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: Some([("aggregate".to_owned(), "true".to_owned())].into()),
            match_expressions: Some(exprs),
        };
        assert!(matches(&sel(vec![]), &labels));
        assert!(matches(
            &sel(vec![expr("tier", "In", &["a", "b"])]),
            &labels
        ));
        assert!(!matches(&sel(vec![expr("tier", "NotIn", &["a"])]), &labels));
        assert!(matches(&sel(vec![expr("zone", "NotIn", &["a"])]), &labels));
        assert!(matches(&sel(vec![expr("tier", "Exists", &[])]), &labels));
        assert!(!matches(
            &sel(vec![expr("tier", "DoesNotExist", &[])]),
            &labels
        ));
        assert!(!matches(&sel(vec![expr("tier", "Gt", &["1"])]), &labels));
        assert!(!matches(&sel(vec![expr("tier", "In", &[])]), &labels));
        assert!(matches(&LabelSelector::default(), &BTreeMap::new()));
        assert!(
            !matches(&sel(vec![]), &BTreeMap::new()),
            "matchLabels must all be present"
        );
    }
}
